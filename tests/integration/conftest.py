from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ordersync.cli import LOCAL_STATE, main
from ordersync.local import iam
from ordersync.local.stack import LocalStack
from ordersync.local.world import World

from .iam_audit import as_json, judge

CALLS_DIR = "ORDERSYNC_IAM_CALLS_DIR"  # set by tests/conftest.py for a run across workers (pytest-xdist)
_deselected: list[pytest.Item] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    _deselected.extend(items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole integration suite: every grant was needed by some call (least privilege).
    Across workers, each worker leaves what it saw; the controller judges them together
    (tests/conftest.py); alone, this process judges its own."""
    here = Path(__file__).parent
    modules = sorted({Path(str(item.path)).name for item in session.items if Path(str(item.path)).parent == here})
    seen = {"deselected": len(_deselected), "modules": modules, "calls": [as_json(c) for c in iam.LOG.calls]}
    if os.environ.get(CALLS_DIR):
        name = getattr(session.config, "workerinput", {}).get("workerid", "main")
        (Path(os.environ[CALLS_DIR]) / f"{name}.json").write_text(json.dumps(seen))
        return
    judge(session, [seen], exitstatus)


@pytest.fixture(autouse=True)
def every_aws_call_is_granted() -> Iterator[iam.AwsCallLog]:
    """moto enforces no IAM: each call a function or ops' CLI makes in a test is judged here against
    the statements the template gives it, so a missing grant fails the test that needed it."""
    log = iam.install()
    mark = len(log.calls)
    yield log
    refused = iam.refused(log.since(mark))
    assert not refused, "calls the template does not grant:\n" + "\n".join(refused)


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """`@pytest.mark.stack(Parameter="value")` deploys the test's stack with those parameters too."""
    marker = request.node.get_closest_marker("stack")
    given = {name: str(value) for name, value in (marker.kwargs if marker else {}).items()}
    with LocalStack.start({"LogLevel": "ERROR", "MaxReceiveCount": "3", **given}) as local:
        yield local


@pytest.fixture
def started() -> Iterator[list[Any]]:
    """Fake stores a test started on its own (`marketplace.start_fake`), stopped after it."""
    fakes: list[Any] = []
    yield fakes
    for fake in fakes:
        fake.server.stop()


@pytest.fixture
def world(stack: LocalStack) -> Iterator[World]:
    marketplace = World(stack)
    yield marketplace
    marketplace.stop()


@pytest.fixture
def cli(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    """Runs `ordersync ... --local` against this test's stack: (exit code, what it printed)."""
    monkeypatch.chdir(tmp_path)
    LOCAL_STATE.parent.mkdir()
    LOCAL_STATE.write_text(
        json.dumps({"endpoint": stack.moto.endpoint, "outputs": stack.deployment.outputs, "pid": os.getpid()})
    )

    def run(*argv: str) -> tuple[int, str]:
        with iam.acting_as(stack.deployment.principal("OpsPolicy")):
            code = main([*argv, "--local"])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run
