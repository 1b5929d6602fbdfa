"""Shared fixtures. Nothing here talks to real AWS: the integration tests point boto3 at a local
moto server, and the rest use no AWS at all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "platform-orders"

# Never let a test reach a real account, whatever the developer's shell holds.
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture(scope="session")
def platform_fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"platform payload fixtures not found at {FIXTURES} (tests/fixtures/platform-orders)")
    return FIXTURES


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Any:
    """Each test starts from no metrics, as each Lambda invocation does (Powertools flushes at 100,
    which with metrics disabled would fail for want of a namespace)."""
    from ordersync.observability import metrics

    yield
    metrics.clear_metrics()


def pytest_configure(config: pytest.Config) -> None:
    """Across workers (pytest-xdist), the integration suite's unused-grant check needs every
    worker's calls: the controller names a folder for them before the workers start."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        import tempfile

        os.environ["ORDERSYNC_IAM_CALLS_DIR"] = tempfile.mkdtemp(prefix="ordersync-iam-calls-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The controller of a run across workers: judges every worker's calls together."""
    folder = os.environ.get("ORDERSYNC_IAM_CALLS_DIR")
    if not folder or hasattr(session.config, "workerinput"):
        return
    import importlib.util
    import json
    import shutil

    spec = importlib.util.spec_from_file_location(
        "ordersync_iam_audit", ROOT / "tests" / "integration" / "iam_audit.py"
    )
    assert spec is not None and spec.loader is not None
    audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audit)
    workers = [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))]
    shutil.rmtree(folder, ignore_errors=True)
    if workers:  # a run of the unit tests alone has none
        audit.judge(session, workers, int(exitstatus))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests first, each worker its share: a worker that took one last would run on alone
    after the others are done. pytest-xdist's worksteal hands each worker a contiguous block of the
    collection at first and steals from the blocks' ends, so every block starts with its long tests
    (the longest to the block with the fewest seconds so far): two long ones at the head of one
    block would run one after the other. The rest keep their order."""

    def seconds(item: pytest.Item) -> float:
        long = item.get_closest_marker("long")
        return float(long.kwargs.get("seconds", 10)) if long is not None else 0.0

    longest_first = sorted((item for item in items if seconds(item)), key=seconds, reverse=True)
    rest = [item for item in items if not seconds(item)]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    sizes, left = [], len(items)
    for worker in range(workers):  # worksteal's first split: what is left, shared by who is left
        sizes.append(left // (workers - worker))
        left -= sizes[-1]
    heads: list[list[pytest.Item]] = [[] for _ in sizes]
    for item in longest_first:
        open_blocks = [b for b in range(workers) if len(heads[b]) < sizes[b]]
        heads[min(open_blocks, key=lambda b: sum(map(seconds, heads[b])))].append(item)
    ordered: list[pytest.Item] = []
    for block, head in enumerate(heads):
        ordered += head + rest[: sizes[block] - len(head)]
        rest = rest[sizes[block] - len(head) :]
    items[:] = ordered
