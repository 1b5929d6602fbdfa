"""Pulling buyers' orders: per connection, everything updated since its cursor (minus an overlap),
enqueued page by page; the cursor advances only after the page it covers is safely enqueued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.errors import OrderSyncError
from ordersync.models import Cause, Connection, OrderEnvelope, utc_now
from ordersync.normalize import order_ref
from ordersync.observability import logger, metrics
from ordersync.ports import ConnectionRepository, OrderQueue, StoreFactory

# An order updated while the previous run read its page is still caught; the duplicates this
# makes are harmless because processing is idempotent.
OVERLAP = timedelta(minutes=10)
FIRST_PULL_LOOKBACK = timedelta(days=1)


@dataclass
class PullDependencies:
    connections: ConnectionRepository
    stores: StoreFactory
    queue: OrderQueue
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass
class PullResult:
    connection_id: str
    orders: int = 0
    error: str | None = None


def pull_all(deps: PullDependencies) -> list[PullResult]:
    """One broken store never stops the others: its error is logged and reported."""
    results = []
    for connection in deps.connections.all():
        try:
            results.append(pull_connection(connection, deps))
        except (OrderSyncError, KeyError, ValueError) as error:
            logger.exception("pull failed", extra={"connection_id": connection.connection_id})
            results.append(PullResult(connection.connection_id, error=f"{type(error).__name__}: {error}"))
    return results


def pull_connection(connection: Connection, deps: PullDependencies) -> PullResult:
    now = deps.clock()
    since = (connection.cursor or now - FIRST_PULL_LOOKBACK) - OVERLAP
    store = deps.stores.buyer(connection.buyer)
    result = PullResult(connection.connection_id)
    for page in store.orders_updated_since(since):
        envelopes = [envelope_for(connection, payload, now) for payload in page]
        deps.queue.enqueue([envelope for envelope, _ in envelopes])
        result.orders += len(envelopes)
        newest = max((updated for _, updated in envelopes if updated), default=None)
        if newest:
            deps.connections.save_cursor(connection.connection_id, min(newest, now))
    metrics.add_metric(name="OrdersPulled", unit=MetricUnit.Count, value=result.orders)
    logger.info("pulled", extra={"connection_id": connection.connection_id, "orders": result.orders})
    return result


def envelope_for(connection: Connection, payload: Any, now: datetime) -> tuple[OrderEnvelope, datetime | None]:
    order_id, order_number, updated = order_ref(connection.buyer.platform, payload)
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
        cause=Cause.PULL,
    )
    return envelope, updated
