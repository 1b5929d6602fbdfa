"""The layer is built from a lock: every dependency pinned, so two builds ship the same packages,
and the lock still satisfies what requirements.txt asks for (its ranges, with their extras)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LAYER = Path(__file__).resolve().parents[2] / "layers" / "ordersync"


def _lines(name: str) -> list[str]:
    return [
        line.strip() for line in (LAYER / name).read_text().splitlines() if line.strip() and not line.startswith("#")
    ]


def test_the_layer_is_built_from_a_lock_that_pins_every_package_and_satisfies_the_ranges() -> None:
    pinned = {}
    for line in _lines("requirements.lock"):
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{line}: not pinned"
        pinned[canonicalize_name(requirement.name)] = spec.version
    for line in _lines("requirements.txt"):
        wanted = Requirement(line)
        assert canonicalize_name(wanted.name) in pinned, f"{wanted.name} is not in the lock"
        assert wanted.specifier.contains(pinned[canonicalize_name(wanted.name)]), f"the lock breaks {line}"
    assert "aws-xray-sdk" in pinned  # the [tracer] extra's own dependency is locked too
    makefile = (LAYER / "Makefile").read_text()
    assert "--no-deps -r requirements.lock" in makefile and "-r requirements.txt" not in makefile
