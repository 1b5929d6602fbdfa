from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ordersync.cli import LOCAL_STATE, main
from ordersync.local import iam
from ordersync.local.stack import LocalStack
from ordersync.local.world import World

# Statements the suite's calls can't use: the platform's own calls made with the role (Lambda's
# logs and the event source mapping, SNS's use of the topic key, X-Ray when on) and ops' actions
# outside the local stack (finding a deployed stack; the console procedures of docs/runbook.md).
NOT_CALLED_BY_OUR_CODE = ("Logs", "Tracing", "EventSourceMapping", "AlertsKey", "FindTheStack", "Console")
_deselected: list[pytest.Item] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    _deselected.extend(items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole integration suite: every grant was needed by some call (least privilege)."""
    here = Path(__file__).parent
    modules = {Path(str(item.path)).name for item in session.items if Path(str(item.path)).parent == here}
    everything = {path.name for path in here.glob("test_*.py")}
    if _deselected or modules != everything or exitstatus != 0:
        return  # a part of the suite can't tell an unused grant from an unexercised one
    by_principal: dict[str, list[iam.AwsCall]] = {}
    for call in iam.LOG.calls:
        by_principal.setdefault(call.principal.name, []).append(call)
    unused = [
        f"{name}: {line}"
        for name, calls in sorted(by_principal.items())
        for line in iam.unused(
            tuple(s for s in calls[-1].principal.statements if not s.get("Sid", "").startswith(NOT_CALLED_BY_OUR_CODE)),
            calls,
        )
    ]
    if unused:
        print("\ngrants no call of the integration suite needed (remove them, or exercise them):\n" + "\n".join(unused))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
def stack() -> Iterator[LocalStack]:
    with LocalStack.start({"LogLevel": "ERROR", "MaxReceiveCount": "3"}) as local:
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
    LOCAL_STATE.write_text(json.dumps({"endpoint": stack.moto.endpoint, "outputs": stack.deployment.outputs}))

    def run(*argv: str) -> tuple[int, str]:
        with iam.acting_as(stack.deployment.principal("OpsPolicy")):
            code = main([*argv, "--local"])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run
