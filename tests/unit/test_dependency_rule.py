"""One dependency rule, checked on the source: the core (models, records, domain, normalize, alerts)
and the services never reach I/O. Services talk to ports; only adapters (aws/, platforms/), the
wiring, the CLI and the local harness import boto3, requests or the adapters."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "ordersync" / "ordersync"
IO = ("boto3", "botocore", "requests", "urllib3", "ordersync.aws", "ordersync.platforms", "ordersync.local")
CORE = ("models.py", "records.py", "errors.py", "domain", "normalize", "alerts")
SERVICES = ("services", "ports.py")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(*parts: str) -> list[Path]:
    found: list[Path] = []
    for part in parts:
        target = PACKAGE / part
        found.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target])
    return found


def test_the_core_and_the_services_import_no_io() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(name for name in _imports(path) if name.startswith(IO))
        for path in _files(*CORE, *SERVICES)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_domain_imports_only_the_domain_models_and_errors() -> None:
    allowed = ("ordersync.domain", "ordersync.models", "ordersync.errors")
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in _imports(path) if n.startswith("ordersync") and not n.startswith(allowed)
        )
        for path in _files("domain")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_rule_sees_an_offending_import(tmp_path: Path) -> None:
    offending = tmp_path / "bad.py"
    offending.write_text("import json\nfrom ordersync.aws.orders import DynamoOrders\n")
    assert {name for name in _imports(offending) if name.startswith(IO)} == {"ordersync.aws.orders"}
