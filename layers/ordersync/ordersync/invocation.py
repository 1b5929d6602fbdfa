"""The invocation's deadline, for everything the store clients do in place: a wait (a store's quota
window, Shopify's bucket) that would outlast the invocation is not made, and no request is given
more time than the invocation has left. Lambda killing the invocation mid-request would spend a
delivery of every record of its batch and leave nothing said; instead the work comes back as a new
message (StoreThrottled's path), spending none."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools.middleware_factory import lambda_handler_decorator

from ordersync.errors import OutOfTime

RESERVE_SECONDS = 3.0  # what an attempt still needs after its request: the record, the resend
SHORTEST_REQUEST = 1.0  # seconds: a request given less would only time out

_deadline: ContextVar[float | None] = ContextVar("ordersync_invocation_deadline", default=None)


@contextmanager
def invocation_ends_in(seconds: float) -> Iterator[None]:
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """Until the invocation's deadline, or None outside an invocation (ops' machine, tests)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def can_wait(seconds: float) -> bool:
    """True outside an invocation, or while the wait leaves time for a request and the reserve
    (a wait with no request after it would only spend the invocation)."""
    left = seconds_left()
    return left is None or seconds + SHORTEST_REQUEST + RESERVE_SECONDS <= left


def request_timeout(connect: float, read: float) -> tuple[float, float]:
    """(connect, read) seconds for one request, cut to what the invocation can spare: a store that
    hangs takes no more than that, and the attempt still has its reserve to record what happened.
    Too little left for a request at all: OutOfTime, before anything is sent."""
    left = seconds_left()
    if left is None:
        return connect, read
    spare = left - RESERVE_SECONDS
    if spare < SHORTEST_REQUEST:
        raise OutOfTime(f"not sent: the invocation ends in {max(left, 0):.1f} s")
    return min(connect, spare), min(read, spare)


def has_time_for_a_record(needs: float) -> bool:
    """Whether a batch's next record is started: one begun with less would only be cut short."""
    left = seconds_left()
    return left is None or left >= needs


@lambda_handler_decorator
def within_its_deadline(handler: Callable[..., Any], event: Any, context: Any, **kwargs: Any) -> Any:
    """A handler whose stores are called within the invocation's time (every store-calling one but
    ProcessOrder, whose batch sets it per record beside its claim's deadline: services/batch.py)."""
    with invocation_ends_in(context.get_remaining_time_in_millis() / 1000):
        return handler(event, context, **kwargs)
