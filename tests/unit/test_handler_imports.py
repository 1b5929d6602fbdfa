"""A cold start pays for every import: each handler, imported as Lambda imports it (a fresh
interpreter, the layer on the path, tracing off as the template's default), loads only what its
function uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("aws_xray_sdk", "requests", "ordersync.local", "ordersync.cli")
# What each function may load of those: only the ones that call a store carry an HTTP client.
ALLOWED = {
    "pull_orders": set(),
    "pull_connection": {"requests"},
    "process_order": {"requests"},
    "dispatch_alerts": set(),
    "catalog_sync": set(),
    "sync_seller_catalog": {"requests"},
    "receive_webhook": set(),  # the door reads no store: an order a webhook only names is read by ProcessOrder
}


def _loaded(function: str) -> set[str]:
    code = (
        "import json, sys; import app; "
        "print(json.dumps(sorted({m.split('.')[0] if not m.startswith('ordersync') else '.'.join(m.split('.')[:2]) for m in sys.modules})))"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    env["PYTHONPATH"] = str(ROOT / "layers" / "ordersync")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "functions" / function, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", sorted(ALLOWED))
def test_a_handler_loads_only_what_its_function_uses(function: str) -> None:
    heavy = {name for name in _loaded(function) if name in HEAVY}
    assert heavy <= ALLOWED[function]  # and never the X-Ray SDK, the CLI or the local harness
