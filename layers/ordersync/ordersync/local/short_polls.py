"""Real SQS answers a short poll (WaitTimeSeconds 0) from a sample of its servers: it can answer
empty while messages wait. moto never does, so code that stops at the first empty answer passes
here and misses messages on AWS. The local stack answers every other short poll a function or ops
make empty (per queue), as AWS may; a long poll (WaitTimeSeconds >= 1) asks every server and is
answered as moto holds it. The harness's own reads (no principal acting) are left alone."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from ordersync.local.iam import acting_principal

_UNIQUE = "ordersync-short-polls"
_lock = threading.Lock()
short_polls: Counter[str] = Counter()  # per queue URL: short polls made by the code
answered_empty: Counter[str] = Counter()  # ... of which answered empty by this sampling


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["ordersync_receive"] = dict(params)


def _maybe_empty(context: dict[str, Any], **_: Any) -> Any:
    params = context.get("ordersync_receive") or {}
    if acting_principal() is None or int(params.get("WaitTimeSeconds") or 0) >= 1:
        return None
    queue = str(params.get("QueueUrl"))
    with _lock:
        short_polls[queue] += 1
        if short_polls[queue] % 2:  # the first, third, ... short poll of a queue: a sample that missed
            return None
        answered_empty[queue] += 1
    return AWSResponse("https://sqs.local", 200, {}, None), {"Messages": [], "ResponseMetadata": {}}


def install() -> None:
    """On the default session, which the functions' and ops' clients are made from (idempotent)."""
    events = boto3._get_default_session().events
    events.register("before-parameter-build.sqs.ReceiveMessage", _keep_params, unique_id=f"{_UNIQUE}-params")
    events.register("before-call.sqs.ReceiveMessage", _maybe_empty, unique_id=f"{_UNIQUE}-call")
