"""What moto can't check: may this principal make this AWS call?

Every boto3 call made while a principal acts (a function's invocation in the runner, ops' CLI) is
recorded as the IAM action and the resource ARNs AWS would authorize it against, and judged
against the statements the template gives that principal. moto enforces no IAM, so without this
a missing grant shows only on a real account, and an unused one never shows."""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import botocore.client
from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder

from ordersync.local.template import ACCOUNT_ID

Statements = tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Principal:
    name: str  # a function's logical id, or the managed policy ops act under
    statements: Statements


_principal: ContextVar[Principal | None] = ContextVar("ordersync_iam_principal", default=None)


# The request's condition keys, as IAM evaluates a statement's Condition block against them.
Context = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class AwsCall:
    principal: Principal
    action: str  # as IAM names it: "dynamodb:PutItem"
    resources: tuple[str, ...]
    context: Context = ()


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


def acting_principal() -> Principal | None:
    return _principal.get()


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
                        context_of(model.signing_name, operation_name, api_params),
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


UNREADABLE = "ordersync:unreadable-request"
_EXPRESSION_WORDS = frozenset(
    {"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN"}
    | {"if_not_exists", "list_append", "attribute_exists", "attribute_not_exists", "attribute_type"}
    | {"begins_with", "contains", "size"}
)
_NAME = re.compile(r"(?<![.:#\w])#?[A-Za-z_][A-Za-z0-9_]*")


def context_of(service: str, operation: str, params: dict[str, Any]) -> Context:
    """The condition keys a request carries that our statements judge: SNS's sns:Protocol on a
    Subscribe; DynamoDB's (its fine-grained access control): dynamodb:Attributes, the top-level attribute names the request names (its key, projection,
    update and condition); dynamodb:Select; dynamodb:ReturnValues when the request asks for any."""
    if service == "sns" and operation == "Subscribe":  # SNS's key for what the subscription delivers to
        return (("sns:Protocol", (str(params.get("Protocol", "")),)),)
    if service != "dynamodb" or "TableName" not in params:
        return ()
    try:
        attributes = _attributes_named(params)
    except Exception as error:  # never break the call: a context no condition admits, named in the refusal
        return ((UNREADABLE, (f"{type(error).__name__}: {error}",)),)
    context: dict[str, tuple[str, ...]] = {"dynamodb:Attributes": tuple(sorted(attributes))}

    if operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
        select = params.get("Select") or (
            "SPECIFIC_ATTRIBUTES" if "ProjectionExpression" in params else "ALL_ATTRIBUTES"
        )
        context["dynamodb:Select"] = (select,)
    if "ReturnValues" in params:
        context["dynamodb:ReturnValues"] = (params["ReturnValues"],)
    return tuple(sorted(context.items()))


def _attributes_named(params: dict[str, Any]) -> set[str]:
    """The top-level attribute names of a request. The Table resource's condition objects are still
    objects here (boto3 builds their expressions later, inside the call): built the same way."""
    names = dict(params.get("ExpressionAttributeNames", {}))
    attributes = set(params.get("Key", {}))
    for field_name in ("ProjectionExpression", "UpdateExpression", "ConditionExpression", "KeyConditionExpression"):
        expression = params.get(field_name, "")
        if isinstance(expression, ConditionBase):
            built = ConditionExpressionBuilder().build_expression(
                expression, is_key_condition=field_name == "KeyConditionExpression"
            )
            expression, names = built.condition_expression, {**names, **built.attribute_name_placeholders}
        for token in _NAME.findall(expression):
            if token not in _EXPRESSION_WORDS and token.upper() not in _EXPRESSION_WORDS:
                attributes.add(names.get(token, token))
    return attributes


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict[str, Any]], action: str, resource: str, context: Context = ()) -> bool:
    """Whether Allow statements (no Deny in ours) grant `action` on `resource` for a request with
    these condition keys: every condition of the statement must hold, as IAM evaluates them."""
    return any(
        statement.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), str(granted).lower()) for granted in as_list(statement["Action"]))
        and any(fnmatch.fnmatchcase(resource, str(granted)) for granted in as_list(statement["Resource"]))
        and conditions_hold(statement.get("Condition", {}), dict(context))
        for statement in statements
    )


def conditions_hold(condition: dict[str, dict[str, Any]], context: dict[str, tuple[str, ...]]) -> bool:
    """The operators our statements use. A key the request doesn't carry: ...IfExists and
    ForAllValues hold, the plain operators don't (IAM's rules for a missing key). A request this
    checker could not read meets no condition: refused, with what went wrong, rather than passed."""
    if condition and UNREADABLE in context:
        return False
    for operator, keys in condition.items():
        for key, wanted in keys.items():
            allowed = [str(value) for value in as_list(wanted)]
            values = context.get(key)
            if operator == "ForAllValues:StringEquals":
                holds = values is None or set(values) <= set(allowed)
            elif operator == "StringEqualsIfExists":
                holds = values is None or all(value in allowed for value in values)
            elif operator in ("StringEquals", "ArnEquals"):
                holds = values is not None and all(value in allowed for value in values)
            elif operator in ("StringLike", "ArnLike"):
                holds = values is not None and all(any(fnmatch.fnmatchcase(v, a) for a in allowed) for v in values)
            else:
                raise ValueError(f"condition operator {operator} is not evaluated here: teach ordersync.local.iam")
            if not holds:
                return False
    return True


def refused(calls: list[AwsCall]) -> list[str]:
    """The calls their principal's statements don't allow, one line each."""
    return sorted(
        {
            f"{call.principal.name}: {call.action} on {resource} is not granted" + _with(call.context)
            for call in calls
            for resource in call.resources
            if not allows(list(call.principal.statements), call.action, resource, call.context)
        }
    )


def _with(context: Context) -> str:
    return f" (with {dict(context)})" if context else ""


def unused(statements: Statements, calls: list[AwsCall]) -> list[str]:
    """Each (statement, action) no call needed: a grant the code never uses."""
    lines = []
    for statement in statements:
        for action in as_list(statement["Action"]):
            needed = any(
                allows([{**statement, "Action": action}], call.action, resource, call.context)
                for call in calls
                for resource in call.resources
            )
            if not needed:
                lines.append(f"{statement.get('Sid', '?')}: {action} on {statement['Resource']}")
    return lines
