from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ordersync.cli import LOCAL_STATE, main
from ordersync.local import iam
from ordersync.local.stack import LocalStack
from ordersync.local.world import World


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
