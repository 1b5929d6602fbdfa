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

# Statements the suite's calls can't use: the platform's own calls made with the role (Lambda's
# logs and the event source mapping, SNS's use of the topic key, X-Ray when on) and ops' actions
# outside the local stack (finding a deployed stack; the console procedures of docs/runbook.md).
NOT_CALLED_BY_OUR_CODE = ("Logs", "Tracing", "EventSourceMapping", "AlertsKey", "FindTheStack", "Console")
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
    seen = {"deselected": len(_deselected), "modules": modules, "calls": [_as_json(c) for c in iam.LOG.calls]}
    if os.environ.get(CALLS_DIR):
        name = getattr(session.config, "workerinput", {}).get("workerid", "main")
        (Path(os.environ[CALLS_DIR]) / f"{name}.json").write_text(json.dumps(seen))
        return
    problems = unused_grants([seen], exitstatus)
    if problems:
        print(
            "\ngrants no call of the integration suite needed (remove them, or exercise them):\n" + "\n".join(problems)
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def unused_grants(workers: list[dict[str, Any]], exitstatus: int) -> list[str]:
    """The grants no call needed, from every worker's calls; none when the run can't tell (a part of
    the suite, a deselection, a failure: an unused grant and an unexercised one look alike)."""
    everything = sorted(path.name for path in Path(__file__).parent.glob("test_*.py"))
    ran = sorted({module for seen in workers for module in seen["modules"]})
    if exitstatus != 0 or ran != everything or any(seen["deselected"] for seen in workers):
        return []
    by_principal: dict[str, list[iam.AwsCall]] = {}
    for seen in workers:
        for call in seen["calls"]:
            principal = iam.Principal(call["principal"], tuple(call["statements"]))
            context = tuple((key, tuple(values)) for key, values in call["context"])
            by_principal.setdefault(principal.name, []).append(
                iam.AwsCall(principal, call["action"], tuple(call["resources"]), context)
            )
    return [
        f"{name}: {line}"
        for name, calls in sorted(by_principal.items())
        for line in iam.unused(
            tuple(s for s in calls[-1].principal.statements if not s.get("Sid", "").startswith(NOT_CALLED_BY_OUR_CODE)),
            calls,
        )
    ]


def _as_json(call: iam.AwsCall) -> dict[str, Any]:
    return {
        "principal": call.principal.name,
        "statements": list(call.principal.statements),
        "action": call.action,
        "resources": list(call.resources),
        "context": [[key, list(values)] for key, values in call.context],
    }


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
