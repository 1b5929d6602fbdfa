"""Translating botocore errors into domain errors."""

from __future__ import annotations

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
