"""The invocation's deadline, for the waits the store clients make in place (a store's quota
window, Shopify's bucket): a wait that would outlast the invocation is not made. The store is
throttling, so the caller is told so (StoreThrottled), and the order comes back later as a
delayed message; Lambda killing the invocation mid-wait would have used a delivery instead."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

RESERVE_SECONDS = 3.0  # what an attempt still needs after its wait: the request itself, the record

_deadline: ContextVar[float | None] = ContextVar("ordersync_invocation_deadline", default=None)


@contextmanager
def invocation_ends_in(seconds: float) -> Iterator[None]:
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def can_wait(seconds: float) -> bool:
    """True outside an invocation (ops' machine, tests) or while the wait leaves the reserve."""
    deadline = _deadline.get()
    return deadline is None or time.monotonic() + seconds + RESERVE_SECONDS <= deadline
