"""The fast path: a store's webhook becomes the envelope the pull would have made (cause WEBHOOK),
one per connection of the buyer store, on the same OrdersQueue: processing is the same, so an
order that arrives by webhook and again by the pull, or twice by webhook, is posted once."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.domain.webhooks import (
    MAX_BODY_BYTES,
    WEBHOOK_SECRET_KEY,
    genuine,
    is_ping,
    is_shopify_event,
    read_delivery,
    read_shopify_event,
)
from ordersync.errors import StoreRejected, StoreThrottled, StoreUnavailable
from ordersync.models import Cause, Connection, Platform, StoreRef, utc_now
from ordersync.observability import logger, metrics
from ordersync.ports import ConnectionRepository, OrderQueue, StoreFactory
from ordersync.records import OrderRecord
from ordersync.services.process import ProcessDependencies, process_message
from ordersync.services.pull import envelope_for

WEBHOOK_PLATFORMS = (Platform.WOOCOMMERCE, Platform.BIGCOMMERCE)  # Shopify's come through EventBridge
REFRESH_AT_MOST_EVERY = timedelta(minutes=1)
_REFRESHED: dict[str, datetime] = {}  # per container: when each store's secret was last read afresh
# A store's secret by its ARN, the webhook secret beside the credentials; True: read past the cache.
SecretReader = Callable[[str, bool], dict[str, Any]]


@dataclass
class WebhookDependencies:
    connections: ConnectionRepository
    stores: StoreFactory
    credentials: SecretReader
    queue: OrderQueue
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    message: str
    orders: int = 0


def receive_webhook(store_id: str, headers: Mapping[str, str], body: bytes, deps: WebhookDependencies) -> WebhookAnswer:
    """One delivery to /hooks/{store_id}: refused unless the store's secret vouches for it; then the
    order enqueued for every connection of that buyer store. The answer's status is the platform's
    cue: 2xx done, 401/413 never retried by us, 503 retried by the store later."""
    if len(body) > MAX_BODY_BYTES:
        return WebhookAnswer(413, f"body over {MAX_BODY_BYTES} bytes")
    connections = [c for c in deps.connections.of_buyer(store_id) if c.buyer.platform in WEBHOOK_PLATFORMS]
    buyer = connections[0].buyer if connections else None
    if buyer is not None and is_ping(buyer.platform, body):
        return WebhookAnswer(200, "ping acknowledged")
    if buyer is None or not _vouched_for(buyer, headers, body, deps):
        metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
        logger.warning("webhook refused: not signed by a known store", extra={"store_id": store_id})
        return WebhookAnswer(401, "not signed by a store ordersync knows")
    delivery = read_delivery(buyer.platform, headers, body)
    if delivery.ignored:
        logger.info("webhook topic not taken: acknowledged", extra={"store_id": store_id, "topic": delivery.topic})
        return WebhookAnswer(200, f"topic {delivery.topic} acknowledged, not used")
    try:
        payload = _order(delivery.payload, delivery.order_id, connections[0], deps)
    except (StoreUnavailable, StoreThrottled) as error:  # the store delivers again later
        logger.warning("webhook's order not readable yet", extra={"store_id": store_id, "error": str(error)})
        return WebhookAnswer(503, "the store's order could not be read; deliver again")
    except StoreRejected as error:
        logger.warning("webhook names an order the store does not have", extra={"store_id": store_id})
        return WebhookAnswer(200, f"acknowledged: {error}")
    now = deps.clock()
    envelopes = [envelope_for(c, payload, now, Cause.WEBHOOK)[0] for c in connections if not c.paused]
    deps.queue.enqueue(envelopes)
    metrics.add_metric(name="OrdersFromWebhooks", unit=MetricUnit.Count, value=len(envelopes))
    logger.info("webhook enqueued", extra={"store_id": store_id, "topic": delivery.topic, "orders": len(envelopes)})
    return WebhookAnswer(202, "accepted", len(envelopes))


def _vouched_for(buyer: StoreRef, headers: Mapping[str, str], body: bytes, deps: WebhookDependencies) -> bool:
    """Checked with the secret as cached (five minutes); if it does not vouch, with the secret read
    afresh (registered since it was cached?), at most once a minute per store: a stream of forged
    deliveries costs no more reads than that."""
    secret = deps.credentials(buyer.secret_arn, False).get(WEBHOOK_SECRET_KEY)
    if secret and genuine(buyer.platform, str(secret), headers, body):
        return True
    now = deps.clock()
    last = _REFRESHED.get(buyer.secret_arn)
    if last is not None and now - last < REFRESH_AT_MOST_EVERY:
        return False
    _REFRESHED[buyer.secret_arn] = now
    fresh = deps.credentials(buyer.secret_arn, True).get(WEBHOOK_SECRET_KEY)
    return bool(fresh) and fresh != secret and genuine(buyer.platform, str(fresh), headers, body)


def _order(payload: Any, order_id: str | None, connection: Connection, deps: WebhookDependencies) -> Any:
    """BigCommerce named the order: read it as the pull would. A WooCommerce order with refunds is
    read again too (its refunded units live at /orders/{id}/refunds, as the pull reads them)."""
    if order_id is None and not (isinstance(payload, dict) and payload.get("refunds") and payload.get("id")):
        return payload
    return deps.stores.buyer(connection.buyer).order(str(order_id or payload["id"]))


def shopify_event(body: str) -> dict[str, Any] | None:
    """The message as a Shopify EventBridge event, or None (an envelope, or anything else)."""
    if '"detail-type"' not in body:  # an envelope never has it: no parse needed for the usual message
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return message if is_shopify_event(message) else None


def process_shopify_event(
    message: dict[str, Any],
    message_id: str,
    receive_count: int,
    deps: ProcessDependencies,
    deadline: datetime | None = None,
) -> list[OrderRecord]:
    """A Shopify order webhook, routed by EventBridge to OrdersQueue: the envelope the pull would
    make for each connection of the shop, processed here and now (one hop less than enqueueing
    them). Each is claimed and settled on its own record, so a redelivery after a failure redoes
    only what was not done; on the last delivery each envelope's failure goes to the DLQ with its
    reason, as any order's does."""
    event = read_shopify_event(message)
    if event.ignored:
        logger.info("Shopify event not used: acknowledged", extra={"topic": event.topic})
        return []
    connections = [c for c in deps.connections.of_shop(event.shop_domain) if not c.paused]
    if not connections:
        logger.warning("Shopify event from a shop with no connection taking webhooks", extra={"topic": event.topic})
        return []
    metrics.add_metric(name="OrdersFromWebhooks", unit=MetricUnit.Count, value=len(connections))
    now = deps.clock()
    records = []
    for connection in connections:
        envelope, _ = envelope_for(connection, event.payload, now, Cause.WEBHOOK)
        body = envelope.model_dump_json()
        records.append(process_message(body, f"{message_id}/{connection.connection_id}", receive_count, deps, deadline))
    return records
