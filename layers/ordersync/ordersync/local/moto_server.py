"""A moto server on 127.0.0.1, on a free port, with Step Functions execution on."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import requests

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _keep_task_failure_cause() -> None:
    """moto 5.2.5's SendTaskFailure handler drops `cause` before its executing backend (which
    takes it) sees it; pass it on, so a rejection's reason reaches the state machine as on AWS."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: StepFunctionResponse) -> EmptyResult:
        backend: Any = self.stepfunction_backend
        token, error, cause = self._get_param("taskToken"), self._get_param("error"), self._get_param("cause")
        try:
            backend.send_task_failure(token, error=error, cause=cause)
        except TypeError:  # the non-executing backend has no cause parameter
            backend.send_task_failure(token, error=error)
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]


@dataclass
class MotoServer:
    port: int = 0

    def __post_init__(self) -> None:
        from moto.server import ThreadedMotoServer

        _keep_task_failure_cause()
        self.port = self.port or free_port()
        os.environ["MOTO_PORT"] = str(self.port)  # moto builds queue URLs and callbacks from it
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # roles attach AWSLambdaBasicExecutionRole
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
        self._server.start()
        # ThreadedMotoServer shares this process's moto state: start from nothing.
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        config = {"stepfunctions": {"execute_state_machine": True}}
        requests.post(f"{self.endpoint}/moto-api/config", json=config, timeout=10).raise_for_status()
        return self

    def stop(self) -> None:
        self._server.stop()


def point_boto3_at(endpoint: str, region: str) -> dict[str, str | None]:
    """Every boto3 client made after this talks to `endpoint` (AWS_ENDPOINT_URL); returns what it replaced."""
    values = {**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    return previous


def restore_environment(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
