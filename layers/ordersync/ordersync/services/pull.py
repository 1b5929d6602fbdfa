"""Pulling buyers' orders: per connection, everything updated since its cursor (minus an overlap),
enqueued page by page; the cursor advances only after the page it covers is safely enqueued."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.errors import StoreThrottled
from ordersync.models import Cause, Connection, OrderEnvelope, iso, utc_now
from ordersync.normalize import OVERSIZED_KEY, order_ref
from ordersync.observability import logger, metrics
from ordersync.ports import ConnectionRepository, EmailSender, OrderQueue, PullQueue, StoreFactory

# An order updated while the previous run read its page is still caught; the duplicates this
# makes are harmless because processing is idempotent.
OVERLAP = timedelta(minutes=10)
FIRST_PULL_LOOKBACK = timedelta(days=1)


MAX_PAYLOAD_BYTES = 200_000
ENQUEUE_BATCH = 10  # SendMessageBatch's most

# Stop taking pages when less than this is left of the invocation, and continue in a new one.
TIME_RESERVE_MS = 60_000
# Or after this many pages (None: only the time left decides). The local campaign sets it.
MAX_PAGES_PER_INVOCATION: int | None = None
# A buyer store pacing us past the client's own waits: the rest of the pull is re-requested after
# its Retry-After (StoreThrottled.delay_seconds), for this long; then the next hour's pull goes on
# from the checkpointed cursor.
THROTTLED_PULL_BUDGET = timedelta(hours=1)


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


@dataclass
class PullResult:
    connection_id: str
    orders: int = 0
    pages: int = 0
    continued: bool = False


def fan_out(deps: FanOutDependencies) -> int:
    """The scheduled run: one pull request per connection, each pulled by its own invocation."""
    connections = deps.connections.all()
    connection_ids = [connection.connection_id for connection in connections if not connection.paused]
    if len(connection_ids) < len(connections):
        logger.info("paused connections not pulled", extra={"paused": len(connections) - len(connection_ids)})
    deps.pull_queue.request_pulls(connection_ids)
    metrics.add_metric(name="PullsRequested", unit=MetricUnit.Count, value=len(connection_ids))
    logger.info("pulls requested", extra={"connections": len(connection_ids)})
    return len(connection_ids)


def pull_connection(
    connection: Connection,
    deps: PullDependencies,
    time_left_ms: Callable[[], int],
    resume: dict[str, str] | None = None,
) -> PullResult:
    """Page by page, enqueued in full batches; the cursor is checkpointed once everything read is
    enqueued. When the invocation runs short of time, a follow-up pull is queued that resumes the
    same query at the next page (`resume`), and this one stops; when the store throttles past the
    client's waits, one is queued for after the store's reset, at the page it refused."""
    now = deps.clock()
    if resume:
        since = datetime.fromisoformat(resume["since"])
    else:
        since = (connection.cursor or now - FIRST_PULL_LOOKBACK) - OVERLAP
    store = deps.stores.buyer(connection.buyer)
    result = PullResult(connection.connection_id)
    held: list[OrderEnvelope] = []  # sent in full batches of ten across pages, the rest at the end
    newest: datetime | None = None
    page_token = resume.get("page") if resume else None  # the page being read
    throttled: StoreThrottled | None = None
    try:
        for page, next_page in store.orders_updated_since(since, page_token):
            envelopes = [envelope_for(connection, payload, now) for payload in page]
            held += [envelope for envelope, _ in envelopes]
            full = len(held) - len(held) % ENQUEUE_BATCH
            deps.queue.enqueue(held[:full])
            held = held[full:]
            result.orders += len(envelopes)
            result.pages += 1
            newest = max([updated for _, updated in envelopes if updated] + ([newest] if newest else []), default=None)
            page_token = next_page
            out_of_pages = MAX_PAGES_PER_INVOCATION is not None and result.pages >= MAX_PAGES_PER_INVOCATION
            if next_page and (out_of_pages or time_left_ms() < TIME_RESERVE_MS):  # enqueued and checkpointed below
                deps.pull_queue.request_pulls(
                    [connection.connection_id], resume={"since": iso(since), "page": next_page}
                )
                result.continued = True
                break
    except StoreThrottled as refused:  # what was read is kept; the rest comes after the store's reset
        throttled = refused
    deps.queue.enqueue(held)
    _checkpoint(connection, newest, now, deps)
    if throttled is not None:
        result.continued = _continue_after_throttling(connection, deps, since, page_token, resume, throttled)
    metrics.add_metric(name="OrdersPulled", unit=MetricUnit.Count, value=result.orders)
    logger.info(
        "pulled",
        extra={"connection_id": connection.connection_id, "orders": result.orders, "continued": result.continued},
    )
    return result


def _continue_after_throttling(
    connection: Connection,
    deps: PullDependencies,
    since: datetime,
    page: str | None,
    resume: dict[str, str] | None,
    throttled: StoreThrottled,
) -> bool:
    """What was read is enqueued and checkpointed; the page the store refused is asked again after
    its Retry-After, as a delayed continuation (no failed delivery, no PullDLQ), while the store
    has been pacing us for less than THROTTLED_PULL_BUDGET."""
    now = deps.clock()
    since_when = datetime.fromisoformat(resume["throttled_since"]) if resume and "throttled_since" in resume else now
    metrics.add_metric(name="PullsThrottledDelayed", unit=MetricUnit.Count, value=1)
    if now - since_when >= THROTTLED_PULL_BUDGET:
        logger.warning(
            "buyer store kept throttling: the next hour's pull goes on",
            extra={"connection_id": connection.connection_id},
        )
        return False
    delay = round(throttled.delay_seconds())
    request = {"since": iso(since), "throttled_since": iso(since_when)} | ({"page": page} if page else {})
    deps.pull_queue.request_pulls([connection.connection_id], resume=request, delay_seconds=delay)
    logger.info(
        "buyer store throttled: pull continued later", extra={"connection_id": connection.connection_id, "delay": delay}
    )
    return True


def _checkpoint(connection: Connection, newest: datetime | None, now: datetime, deps: PullDependencies) -> None:
    """The cursor moves once per invocation, after everything read is enqueued: an invocation that
    dies midway is pulled again from the old cursor, and its duplicates are harmless."""
    if newest:
        deps.connections.save_cursor(connection.connection_id, min(newest, now))


def envelope_for(
    connection: Connection, payload: Any, now: datetime, cause: Cause = Cause.PULL
) -> tuple[OrderEnvelope, datetime | None]:
    order_id, order_number, updated = order_ref(connection.buyer.platform, payload)
    size = len(json.dumps(payload, default=str))
    if size > MAX_PAYLOAD_BYTES:  # SQS takes 256 KB; the order is still carried, as an invalid one
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
