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


def test_the_cli_is_one_module_per_command_group_with_no_import_cycle() -> None:
    """A group imports the shared modules (output, target, arguments) and never another group, except
    main, which assembles them, and connections, which onboards as stores does."""
    modules = {path.stem: _imports(path) for path in _files("cli")}
    edges = {
        name: {imported.rsplit(".", 1)[-1] for imported in names if imported.startswith("ordersync.cli.")}
        for name, names in modules.items()
    }

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges.get(start, ()))

    assert [name for name in edges if name != "__init__" and reaches(name, name)] == []
    shared = {"output", "target", "arguments"}
    assert {name: sorted(edges[name] - shared) for name in edges if edges[name] - shared} == {
        "__init__": ["local", "main"],
        "connections": ["stores"],
        "local": ["local_env", "mail"],
        "main": sorted(set(edges) - shared - {"__init__", "main", "mail", "local_env"}),  # both part of local
    }
