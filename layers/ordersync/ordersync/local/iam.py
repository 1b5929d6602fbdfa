"""What moto can't check: may this principal make this AWS call?

Every boto3 call made while a principal acts (a function's invocation in the runner, ops' CLI) is
recorded as the IAM action and the resource ARNs AWS would authorize it against, and judged
against the statements the template gives that principal. moto enforces no IAM, so without this
a missing grant shows only on a real account, and an unused one never shows."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import botocore.client

from ordersync.local.template import ACCOUNT_ID

Statements = tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Principal:
    name: str  # a function's logical id, or the managed policy ops act under
    statements: Statements


_principal: ContextVar[Principal | None] = ContextVar("ordersync_iam_principal", default=None)


@dataclass(frozen=True)
class AwsCall:
    principal: Principal
    action: str  # as IAM names it: "dynamodb:PutItem"
    resources: tuple[str, ...]


@dataclass
class AwsCallLog:
    calls: list[AwsCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: AwsCall) -> None:
        with self._lock:
            self.calls.append(call)

    def since(self, mark: int) -> list[AwsCall]:
        with self._lock:
            return self.calls[mark:]


LOG = AwsCallLog()
# SQS authorizes a batch call as its single action (there is no sqs:SendMessageBatch in IAM).
_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_installed = False


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Calls made inside are made by `principal` (None: by the harness itself, not judged)."""
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)


def install() -> AwsCallLog:
    """Records every boto3 call made while a principal acts (every client, every session)."""
    global _installed
    if not _installed:
        original = botocore.client.BaseClient._make_api_call

        def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            principal = _principal.get()
            if principal is not None:
                model = self.meta.service_model
                LOG.record(
                    AwsCall(
                        principal,
                        f"{model.signing_name}:{_BATCH_ACTIONS.get(operation_name, operation_name)}",
                        resources_of(model.signing_name, api_params, self.meta.region_name),
                    )
                )
            return original(self, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = recording
        _installed = True
    return LOG


def resources_of(service: str, params: dict[str, Any], region: str) -> tuple[str, ...]:
    """The ARNs IAM authorizes a call against (the Service Authorization Reference's resource types)."""
    arn = f"arn:aws:{service}:{region}:{ACCOUNT_ID}"
    if service == "dynamodb":
        tables = (
            list(params["RequestItems"])
            if "RequestItems" in params
            else [params["TableName"]]
            if "TableName" in params
            else []
        )
        index = f"/index/{params['IndexName']}" if "IndexName" in params else ""
        return tuple(f"{arn}:table/{table}{index}" for table in tables) or ("*",)
    if service == "sqs" and "QueueUrl" in params:
        return (f"{arn}:{urlparse(params['QueueUrl']).path.rsplit('/', 1)[-1]}",)
    if service == "sns":
        if "TopicArn" in params:
            return (params["TopicArn"],)
        if "SubscriptionArn" in params:  # authorized against its topic
            return (params["SubscriptionArn"].rsplit(":", 1)[0],)
    if service == "states":
        for key in ("stateMachineArn", "executionArn"):
            if key in params:
                return (params[key],)
    if service == "secretsmanager" and ("SecretId" in params or "Name" in params):  # Name: CreateSecret's
        secret = params.get("SecretId") or params["Name"]
        return (secret if secret.startswith("arn:") else f"{arn}:secret:{secret}-AbCdEf",)
    if service == "cloudformation" and "StackName" in params:
        return (f"{arn}:stack/{params['StackName']}/local",)
    return ("*",)  # actions IAM can't scope to a resource (task tokens, list calls)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether Allow statements (no Deny, no conditions in ours) grant `action` on `resource`."""
    return any(
        statement.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), str(granted).lower()) for granted in _as_list(statement["Action"]))
        and any(fnmatch.fnmatchcase(resource, str(granted)) for granted in _as_list(statement["Resource"]))
        for statement in statements
    )


def refused(calls: list[AwsCall]) -> list[str]:
    """The calls their principal's statements don't allow, one line each."""
    return sorted(
        {
            f"{call.principal.name}: {call.action} on {resource} is not granted"
            for call in calls
            for resource in call.resources
            if not allows(list(call.principal.statements), call.action, resource)
        }
    )


def unused(statements: Statements, calls: list[AwsCall]) -> list[str]:
    """Each (statement, action) no call needed: a grant the code never uses."""
    lines = []
    for statement in statements:
        for action in _as_list(statement["Action"]):
            needed = any(
                allows([{**statement, "Action": action}], call.action, resource)
                for call in calls
                for resource in call.resources
            )
            if not needed:
                lines.append(f"{statement.get('Sid', '?')}: {action} on {statement['Resource']}")
    return lines
