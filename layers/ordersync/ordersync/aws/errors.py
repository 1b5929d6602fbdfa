"""Translating botocore errors into domain errors."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from ordersync.errors import ResourceThrottled

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Throttling and network trouble become ResourceThrottled (transient); the rest propagate."""
    try:
        yield
    except ClientError as error:
        if error_code(error) in THROTTLING_CODES:
            raise ResourceThrottled(f"{what}: {error_code(error)}") from error
        raise
    except (ConnectionError, ReadTimeoutError) as error:
        raise ResourceThrottled(f"{what}: {type(error).__name__}") from error


EMPTY_SHORT_POLLS_TO_STOP = 3


def drain_receive(
    sqs: Any, queue_url: str, what: str, limit: int | None = None, **options: Any
) -> list[dict[str, Any]]:
    """Every message of a queue (up to `limit`), each left in flight. SQS answers a short poll from a
    sample of its servers, and may answer it empty while messages wait: so each read long-polls
    (ORDERSYNC_SQS_WAIT_SECONDS, 1 by default: every server asked), and an empty long poll ends the
    read; where short polls are configured (the local stack), only several empty answers in a row do."""
    wait = int(os.environ.get("ORDERSYNC_SQS_WAIT_SECONDS", "1"))
    received: list[dict[str, Any]] = []
    empty = 0
    while limit is None or len(received) < limit:
        with aws_errors(what):
            batch = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, **options
            ).get("Messages", [])
        if batch:
            empty = 0
            received.extend(batch)
            continue
        empty += 1
        if wait >= 1 or empty >= EMPTY_SHORT_POLLS_TO_STOP:
            break
    return received


def all_items(operation: Callable[..., dict[str, Any]], what: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a Query or Scan, page after page (LastEvaluatedKey)."""
    items: list[dict[str, Any]] = []
    while True:
        with aws_errors(what):
            response = operation(**kwargs)
        items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            return items
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
