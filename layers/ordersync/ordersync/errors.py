"""Domain errors. Adapters translate HTTP and AWS errors into these; nothing else leaks out."""

from __future__ import annotations

from typing import Any


class OrderSyncError(Exception):
    """Base of every error ordersync raises on purpose."""


class InvalidOrder(OrderSyncError):
    """The buyer's payload can't be read as an order (reason INVALID_ORDER)."""


class StoreDataInvalid(InvalidOrder):
    """A store answered with a value its own contract doesn't allow for it (a quantity "abc"): that
    order can't be read as it stands — a named failure of that order, never a crash of the run."""


THROTTLE_DELAY = (5, 900)  # seconds: at least, and at most (SQS's DelaySeconds)


class StoreUnavailable(OrderSyncError):
    """A store failed in a way that may pass: timeout, 429, 5xx. Asked again later.
    `answered_ago`: seconds since the store last answered well (as this container saw it), if it has."""

    def __init__(self, message: str, answered_ago: float | None = None) -> None:
        super().__init__(message)
        self.answered_ago = answered_ago

    def delay_seconds(self, failing_for: float = 0.0) -> float:
        """How long the work waits as a delayed SQS message before the store is asked again: as long
        as the store has been failing (so the waits double: 5, 5, 10, 20 ... s) — counted from its
        last good answer where that is later (a store that fails now and then, not one that is down:
        its work waits no longer than its bad moment) — no sooner than 5 s and never past SQS's
        DelaySeconds (15 min)."""
        if self.answered_ago is not None:
            failing_for = min(failing_for, self.answered_ago)
        return min(max(failing_for, THROTTLE_DELAY[0]), THROTTLE_DELAY[1])


class StoreThrottled(StoreUnavailable):
    """The store said "too many requests" (429, Shopify's THROTTLED) beyond what waiting in place
    covers: nothing is wrong but the pace. `retry_after`: seconds, when the store said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def delay_seconds(self, failing_for: float = 0.0) -> float:
        """The store's word (whatever the time it has been throttling), no sooner than 5 s and never
        past SQS's DelaySeconds (15 min)."""
        return min(max(self.retry_after or 0, THROTTLE_DELAY[0]), THROTTLE_DELAY[1])


class OutOfTime(StoreThrottled):
    """The invocation has too little time left to send the request: it was not sent. Handled as a
    throttle is: nothing happened, and the work comes back shortly as a new message."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=None)


class StoreRejected(OrderSyncError):
    """A store refused the request for good: 404, 422 validation. Retrying will not help."""


class BuyerOrderWaiting(StoreRejected):
    """The buyer's store can't take a parcel yet, by its own choice: its fulfilment is on hold or
    scheduled for later (Shopify's fulfillment orders). Nothing to fix: it goes in once released."""


class StoreNotFound(StoreRejected):
    """404: the store has no such thing (an order deleted, or an id that was never its)."""


class StoreCredentialsError(StoreRejected):
    """401 / 403: the connection's credentials are wrong or lack a scope (alerts ops, not the seller)."""


class ResourceThrottled(OrderSyncError):
    """An AWS service throttled us (past the SDK's own retries), or could not be reached; transient.
    Within StoreDownBudgetMinutes the work is sent again later, spending no delivery."""

    def delay_seconds(self, failing_for: float = 0.0) -> float:
        """5 s, whatever the time since the work was first held back: DynamoDB's throttling is a
        partition's moment, not a store's outage (and that `since` may be an earlier episode's, a
        store's); the budget (StoreDownBudgetMinutes) still bounds how long it goes on."""
        return THROTTLE_DELAY[0]


class ConcurrentUpdate(OrderSyncError):
    """Someone else wrote the order record since we read it; transient, SQS retries the message."""


class OrderClaimed(OrderSyncError):
    """Another attempt holds the order's claim (a concurrent delivery, or one still running)."""

    def __init__(self, record: Any) -> None:
        super().__init__(f"order {record.order_key} is being processed by another attempt")
        self.record = record


class RetryLater(OrderSyncError):
    """Nothing is wrong, but acting now could be wrong: try the message again after `seconds`."""

    def __init__(self, reason: str, seconds: float) -> None:
        super().__init__(reason)
        self.seconds = seconds


class OnboardingRefused(OrderSyncError):
    """Ops asked for something onboarding won't do (unknown store, a pair that exists, credentials
    a store refuses); the message says what to do instead."""
