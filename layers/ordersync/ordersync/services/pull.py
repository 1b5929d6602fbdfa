"""Pulling buyers' orders: per connection, everything updated since its cursor (minus an overlap),
enqueued page by page; the cursor advances only after the page it covers is safely enqueued."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.alerts.connections import store_failing_email
from ordersync.errors import StoreThrottled, StoreUnavailable
from ordersync.models import MAX_ORDER_PAYLOAD_BYTES, Cause, Connection, OrderEnvelope, iso, read_request, utc_now
from ordersync.normalize import OVERSIZED_KEY, UNIDENTIFIED, order_ref, seller_copy_id
from ordersync.observability import logger, metrics
from ordersync.ports import ConnectionRepository, EmailSender, OrderQueue, PullQueue, StoreFactory

# An order updated while the previous run read its page is still caught; the duplicates this
# makes are harmless because processing is idempotent.
OVERLAP = timedelta(minutes=10)
FIRST_PULL_LOOKBACK = timedelta(days=1)


MAX_PAYLOAD_BYTES = MAX_ORDER_PAYLOAD_BYTES
ENQUEUE_BATCH = 10  # SendMessageBatch's most

# Stop taking pages when less than this is left of the invocation, and continue in a new one.
TIME_RESERVE_MS = 60_000
# Or after this many pages (None: only the time left decides). The local campaign sets it.
MAX_PAGES_PER_INVOCATION: int | None = None
# A buyer store that says no for now (5xx, time-outs, 429 past the client's own waits): the rest of
# the pull is asked again later, after its Retry-After or a backoff, while the store has made no
# progress for less than the budget (PullFailureBudgetMinutes); past it, the pull fails to PullDLQ.
DEFAULT_FAILURE_BUDGET = timedelta(hours=1)
FAILURE_BACKOFF_SECONDS = (5, 900)  # the first delay, doubled per failure without progress, and SQS's most


@dataclass
class FanOutDependencies:
    connections: ConnectionRepository
    pull_queue: PullQueue


@dataclass
class PullDependencies:
    connections: ConnectionRepository
    stores: StoreFactory
    queue: OrderQueue
    pull_queue: PullQueue
    ops_alerts: EmailSender | None = None  # a connection whose buyer store refuses its credentials
    clock: Callable[[], datetime] = field(default=utc_now)
    failure_budget: timedelta = DEFAULT_FAILURE_BUDGET


@dataclass
class PullResult:
    connection_id: str
    orders: int = 0
    pages: int = 0
    continued: bool = False
    store_error: str | None = None  # the store said no midway; the rest is asked again later


def fan_out(deps: FanOutDependencies) -> int:
    """The scheduled run: one pull request per buyer store, each pulled by its own invocation for
    every (unpaused) connection of that buyer: a store is read once an hour, however many sellers
    it buys from. The request names the buyer's first connection (a message of the old shape)."""
    connections = deps.connections.all()
    active = sorted((c for c in connections if not c.paused), key=lambda c: c.connection_id)
    if len(active) < len(connections):
        logger.info("paused connections not pulled", extra={"paused": len(connections) - len(active)})
    by_buyer: dict[str, str] = {}
    for connection in active:
        by_buyer.setdefault(connection.buyer.store_id, connection.connection_id)
    deps.pull_queue.request_pulls(list(by_buyer.values()))
    metrics.add_metric(name="PullsRequested", unit=MetricUnit.Count, value=len(by_buyer))
    logger.info("pulls requested", extra={"buyer_stores": len(by_buyer), "connections": len(active)})
    return len(by_buyer)


def buyer_group(connection: Connection, deps: PullDependencies) -> list[Connection]:
    """The connections one read of the buyer's store serves: every unpaused one of the buyer, its
    cursor as checkpointed; `connection` (read fresh by the caller) as it is."""
    others = deps.connections.of_buyer(connection.buyer.store_id, fresh=True)
    group = {c.connection_id: c for c in others if not c.paused and c.buyer.store_id == connection.buyer.store_id}
    group[connection.connection_id] = connection
    return [group[key] for key in sorted(group)]


def pull_connection(
    connection: Connection,
    deps: PullDependencies,
    time_left_ms: Callable[[], int],
    resume: dict[str, str] | None = None,
    group: list[Connection] | None = None,
) -> PullResult:
    """Page by page, enqueued in full batches; the cursor is checkpointed once everything read is
    enqueued. When the invocation runs short of time, a follow-up pull is queued that resumes the
    same query at the next page (`resume`), and this one stops; when the store throttles past the
    client's waits or fails (5xx, time-out), one is queued for later, at the page it refused.
    `group`: the buyer's connections this read serves (default: all of them, buyer_group); each
    gets an envelope of every order updated since its own cursor."""
    now = deps.clock()
    group = group or buyer_group(connection, deps)
    starts = {c.connection_id: (c.cursor or now - FIRST_PULL_LOOKBACK) - OVERLAP for c in group}
    since = datetime.fromisoformat(resume["since"]) if resume else min(starts.values())
    store = deps.stores.buyer(connection.buyer)
    result = PullResult(connection.connection_id)
    held: list[OrderEnvelope] = []  # sent in full batches of ten across pages, the rest at the end
    newest: datetime | None = None
    page_token = resume.get("page") if resume else None  # the page being read
    refused: StoreUnavailable | None = None
    try:
        for page, next_page in store.orders_updated_since(since, page_token):
            for payload in page:
                if _our_copy(connection, payload):  # an order ordersync posted into this store (it sells too)
                    continue
                for member in group:
                    envelope, updated = envelope_for(member, payload, now)
                    if len(group) == 1 or updated is None or updated >= starts[member.connection_id]:
                        held.append(envelope)
            updates = [order_ref(connection.buyer.platform, payload)[2] for payload in page]
            full = len(held) - len(held) % ENQUEUE_BATCH
            deps.queue.enqueue(held[:full])
            held = held[full:]
            result.orders += len(page)
            result.pages += 1
            newest = max([u for u in updates if u] + ([newest] if newest else []), default=None)
            page_token = next_page
            out_of_pages = MAX_PAGES_PER_INVOCATION is not None and result.pages >= MAX_PAGES_PER_INVOCATION
            if next_page and (out_of_pages or time_left_ms() < TIME_RESERVE_MS):  # enqueued and checkpointed below
                deps.pull_queue.request_pulls(
                    [connection.connection_id], resume={"since": iso(since), "page": next_page}
                )
                result.continued = True
                break
    except StoreUnavailable as error:  # what was read is kept; the rest is asked again later
        refused = error
    deps.queue.enqueue(held)
    _checkpoint(group, newest, now, deps)
    if refused is not None:
        result.store_error = str(refused)
        result.continued = _continue_after_refusal(connection, group, deps, since, page_token, resume, refused, result)
    metrics.add_metric(name="OrdersPulled", unit=MetricUnit.Count, value=result.orders)
    logger.info(
        "pulled",
        extra={
            "connection_id": connection.connection_id,
            "connections": len(group),
            "orders": result.orders,
            "continued": result.continued,
        },
    )
    return result


def _continue_after_refusal(
    connection: Connection,
    group: list[Connection],
    deps: PullDependencies,
    since: datetime,
    page: str | None,
    resume: dict[str, str] | None,
    refused: StoreUnavailable,
    result: PullResult,
) -> bool:
    """One mechanism for "the store said no for now": what was read is enqueued and checkpointed,
    and the page the store refused is asked again as a delayed continuation (no failed delivery, no
    PullDLQ) after its Retry-After, or a backoff that doubles with each failure in a row. The
    connection records since when the store has made no progress; past the budget, ops are told
    once and the pull fails (SQS's retries, then PullDLQ)."""
    now = deps.clock()
    progressed = result.pages > 0
    failing_since = now if progressed else (connection.store_failing_since or now)  # read fresh by the batch
    for member in group:  # one store, one state: every connection it feeds says so
        deps.connections.store_failed(member.connection_id, now, str(refused), progressed)
    if now - failing_since >= deps.failure_budget:
        metrics.add_metric(name="PullsFailedPastBudget", unit=MetricUnit.Count, value=1)
        if deps.connections.failing_reported(connection.connection_id, now) and deps.ops_alerts is not None:
            deps.ops_alerts.send(store_failing_email(connection, str(refused), failing_since, now))
        logger.warning("buyer store kept failing past the budget", extra={"connection_id": connection.connection_id})
        raise refused
    failures = 0 if progressed or not resume else int(resume.get("failures", "0"))
    delay = _delay_after(refused, failures)
    request = {"since": iso(since), "failures": str(failures + 1)} | ({"page": page} if page else {})
    deps.pull_queue.request_pulls([connection.connection_id], resume=request, delay_seconds=delay)
    throttled = isinstance(refused, StoreThrottled)
    metrics.add_metric(
        name="PullsThrottledDelayed" if throttled else "PullsFailedDelayed", unit=MetricUnit.Count, value=1
    )
    logger.info(
        "buyer store said no for now: pull continued later",
        extra={"connection_id": connection.connection_id, "delay": delay, "throttled": throttled},
    )
    return True


def _delay_after(refused: StoreUnavailable, failures: int) -> int:
    """The store's own word when it gave one (a throttle), else a backoff doubling per failure in a row."""
    if isinstance(refused, StoreThrottled):
        return round(refused.delay_seconds())
    first, most = FAILURE_BACKOFF_SECONDS
    return min(first * 2 ** min(failures, 10), most)


def _checkpoint(group: list[Connection], newest: datetime | None, now: datetime, deps: PullDependencies) -> None:
    """The cursors move once per invocation, after everything read is enqueued: an invocation that
    dies midway is pulled again from the old cursors, and its duplicates are harmless. A cursor
    only moves forward (a connection added since with a later --since keeps its own)."""
    if newest is None:
        return
    for member in group:
        if member.cursor is None or newest > member.cursor or len(group) == 1:
            deps.connections.save_cursor(member.connection_id, min(newest, now))


def payload_size(payload: Any) -> int:
    """What the payload weighs in an envelope (SQS takes 256 KB a message, the record 400 KB)."""
    return len(json.dumps(payload, default=str))


def _our_copy(connection: Connection, payload: Any) -> bool:
    return isinstance(payload, dict) and seller_copy_id(connection.buyer.platform, payload) is not None


def envelope_for(
    connection: Connection, payload: Any, now: datetime, cause: Cause = Cause.PULL
) -> tuple[OrderEnvelope, datetime | None]:
    order_id, order_number, updated = order_ref(connection.buyer.platform, payload)
    size = payload_size(payload)
    if size > MAX_PAYLOAD_BYTES and not order_id.startswith(UNIDENTIFIED):  # read again when processed
        payload = read_request(order_id)
    elif size > MAX_PAYLOAD_BYTES:  # nothing to read it again by: carried as an invalid one
        payload = {OVERSIZED_KEY: f"the order payload is {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit"}
    envelope = OrderEnvelope(
        connection_id=connection.connection_id,
        buyer_id=connection.buyer.store_id,
        buyer_name=connection.buyer.name,
        buyer_platform=connection.buyer.platform,
        seller_id=connection.seller.store_id,
        seller_name=connection.seller.name,
        seller_platform=connection.seller.platform,
        order_id=order_id,
        order_number=order_number,
        payload=payload,
        pulled_at=now,
        cause=cause,
    )
    return envelope, updated
