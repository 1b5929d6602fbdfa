"""A moto server on 127.0.0.1, on a free port, with Step Functions execution on."""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
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


def only_these_managed_policies(names: set[str]) -> None:
    """moto loads all ~1,500 AWS managed policies into every IAM backend it makes, again after each
    reset (over a second a stack): load the ones the template attaches, which is all IAM here needs."""
    import moto.iam.models

    every = _every_managed_policy()
    moto.iam.models.aws_managed_policies_data = json.dumps(
        {name: every[name] for name in sorted(names) if name in every}
    )


@functools.cache
def _every_managed_policy() -> dict[str, Any]:
    """moto's bundled list, parsed once a process (a sixth of a second each time)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def _validate_each_definition_once() -> None:
    """moto parses a state machine's ASL on every CreateStateMachine (half a second for ours): a
    definition it accepted once in this process is accepted again without parsing it anew."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    validate = StepFunctionsParserBackend._validate_definition
    if getattr(validate, "cached", False):
        return
    accepted: set[str] = set()

    def validate_once(definition: str) -> None:
        if definition not in accepted:
            validate(definition)
            accepted.add(definition)

    validate_once.cached = True  # type: ignore[attr-defined]
    StepFunctionsParserBackend._validate_definition = staticmethod(validate_once)  # type: ignore[method-assign]


def _one_signing_key_a_process() -> None:
    """moto makes a 2048-bit RSA key for every KMS key (asymmetric or not) and every SNS
    subscription (to sign HTTP deliveries): a sixth of a second a stack. Ours are symmetric keys
    and email / SQS subscriptions, which never use one: each kind is made once a process."""
    import moto.kms.models
    from moto.sns.models import Subscription

    if getattr(moto.kms.models.generate_private_key, "cached", False):
        return
    kms_key = functools.cache(moto.kms.models.generate_private_key)
    kms_key.cached = True  # type: ignore[attr-defined]
    moto.kms.models.generate_private_key = kms_key
    signing_key = functools.cache(Subscription.private_key.__wrapped__)
    Subscription.private_key = lambda self: signing_key(None)  # type: ignore[assignment,method-assign]


# SNS's quota (adjustable): moto has none.
FILTER_POLICIES_PER_TOPIC = 200
MAIL_SINK_PREFIX = "mailsink-"  # the local stack's queue beside each email subscription (local/provision.py)


def _filter_policies_per_topic() -> None:
    """SNS refuses a subscription with a filter policy past its topic's quota
    (FilterPolicyLimitExceeded, nothing subscribed); moto counts nothing. The local stack's mail
    sinks (its own SQS plumbing beside each email subscription) are not counted."""
    from moto.sns.exceptions import SNSException
    from moto.sns.responses import SNSResponse

    if getattr(SNSResponse.subscribe, "limited", False):
        return

    class FilterPolicyLimitExceeded(SNSException):
        code = "FilterPolicyLimitExceededException"

    subscribe = SNSResponse.subscribe

    def limited(self: SNSResponse) -> Any:
        sink = f":{MAIL_SINK_PREFIX}" in (self._get_param("Endpoint") or "")
        if (self._get_attributes() or {}).get("FilterPolicy") and not sink:
            topic = self._get_param("TopicArn")
            held = [
                s
                for s in list(self.backend.subscriptions.values())
                if s.topic.arn == topic and s._filter_policy and f":{MAIL_SINK_PREFIX}" not in s.endpoint
            ]
            if len(held) >= FILTER_POLICIES_PER_TOPIC:
                raise FilterPolicyLimitExceeded(f"Filter policy limit exceeded: {len(held)} on {topic}")
        return subscribe(self)

    limited.limited = True  # type: ignore[attr-defined]
    SNSResponse.subscribe = limited  # type: ignore[method-assign]


def _moto_modules_listed_once() -> None:
    """moto's dispatcher lists its package's folders (and stats each) on every request to find the
    service a host names: they don't change while the process runs."""
    import moto.backends

    if not getattr(moto.backends.list_of_moto_modules, "cached", False):
        listed = tuple(moto.backends.list_of_moto_modules())
        moto.backends.list_of_moto_modules = lambda: listed
        moto.backends.list_of_moto_modules.cached = True  # type: ignore[attr-defined]


@dataclass
class MotoServer:
    """One moto server (ThreadedMotoServer's app, on our thread). moto keeps its state per process, whatever the server, so a stack's
    start resets it; a server whose stack stopped is kept for the process's next stack (`serving`),
    which saves building moto's per-service apps again (about 2 s a stack)."""

    port: int = 0

    def __post_init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from ordersync.local.keep_alive import KeepAliveRequestHandler

        class KeepAliveMotoHandler(KeepAliveRequestHandler, MotoRequestHandler):
            pass

        _keep_task_failure_cause()
        _validate_each_definition_once()
        _one_signing_key_a_process()
        _moto_modules_listed_once()
        _filter_policies_per_topic()
        self.port = self.port or free_port()
        # ThreadedMotoServer's app and handler, served with connections kept open (local/keep_alive.py)
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=KeepAliveMotoHandler)
        self._running = False

    @classmethod
    def serving(cls) -> MotoServer:
        """The process's idle server, started from nothing, or a new one."""
        return (_IDLE.pop() if _IDLE else cls()).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        os.environ["MOTO_PORT"] = str(self.port)  # moto builds queue URLs and callbacks from it
        # a role may attach an AWS managed policy: those the template names (only_these_managed_policies)
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        if not self._running:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
            self._running = True
        # ThreadedMotoServer shares this process's moto state: start from nothing.
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        config = {"stepfunctions": {"execute_state_machine": True}}
        requests.post(f"{self.endpoint}/moto-api/config", json=config, timeout=10).raise_for_status()
        return self

    def stop(self) -> None:
        """The stack is done with it: kept, serving, for the process's next stack."""
        if self._running and self not in _IDLE:
            _IDLE.append(self)


_IDLE: list[MotoServer] = []


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
