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

from ordersync.domain.onboarding import STORE_ID
from ordersync.domain.webhooks import (
    CLIENT_SECRET_KEY,
    MAX_BODY_BYTES,
    WEBHOOK_SECRET_KEY,
    genuine,
    is_ping,
    is_shopify_event,
    read_delivery,
    read_shopify_event,
    woo_copy_moved,
)
from ordersync.models import Cause, Platform, Role, ShipmentRequest, StoreRef, read_request, requested_read, utc_now
from ordersync.normalize import order_key_of, posted_copy
from ordersync.observability import logger, metrics
from ordersync.ports import ConnectionRepository, OrderQueue, ShipmentRequests, StoreLookup
from ordersync.records import OrderRecord
from ordersync.services.process import ProcessDependencies, process_message
from ordersync.services.pull import envelope_for, payload_size

WEBHOOK_PLATFORMS = (Platform.WOOCOMMERCE, Platform.BIGCOMMERCE)  # Shopify's come through EventBridge
REFRESH_AT_MOST_EVERY = timedelta(minutes=1)
_REFRESHED: dict[str, datetime] = {}  # per container: when each store's webhook keys were last read afresh
# A store's webhook keys by its id (never its API credentials); True: read past the cache.
WebhookKeysReader = Callable[[str, bool], dict[str, Any]]


@dataclass
class WebhookDependencies:
    connections: ConnectionRepository
    webhook_keys: WebhookKeysReader
    queue: OrderQueue
    clock: Callable[[], datetime] = field(default=utc_now)
    stores: StoreLookup | None = None  # a seller store's deliveries (its shipments)
    shipments: ShipmentRequests | None = None


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    message: str
    orders: int = 0


def receive_webhook(store_id: str, headers: Mapping[str, str], body: bytes, deps: WebhookDependencies) -> WebhookAnswer:
    """One delivery to /hooks/{store_id}: refused unless the store's secret vouches for it; then the
    order enqueued for every connection of that buyer store, and answered 2xx at once. Nothing is
    read from the store here: WooCommerce never delivers again (and disables a hook after five
    failures), so an order that must be read (BigCommerce names only its id; a WooCommerce order
    with refunds) travels as a read request, read by ProcessOrder with SQS's retries behind it —
    once: one connection's message carries it, and the others' (`read_for`) get the order as read.
    Bad input gets its named 4xx, never a 500."""
    if not STORE_ID.fullmatch(store_id):  # before any look-up: DynamoDB refuses long keys
        return WebhookAnswer(404, "no such store")
    if len(body) > MAX_BODY_BYTES:
        return WebhookAnswer(413, f"body over {MAX_BODY_BYTES} bytes")
    # A seller's delivery (its shipments) is asked of the store's own item first: no connections query
    seller = _seller(store_id, deps) if _from_the_selling_side(body) else None
    connections = (
        [] if seller else [c for c in deps.connections.of_buyer(store_id) if c.buyer.platform in WEBHOOK_PLATFORMS]
    )
    store = seller or (connections[0].buyer if connections else _seller(store_id, deps))
    if store is not None and is_ping(store.platform, body):
        return WebhookAnswer(200, "ping acknowledged")
    if store is None or not _vouched_for(store, headers, body, deps):
        metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
        logger.warning("webhook refused: not signed by a known store", extra={"store_id": store_id})
        return WebhookAnswer(401, "not signed by a store ordersync knows")
    delivery = read_delivery(store.platform, headers, body)
    copy = posted_copy(store.platform, delivery.payload) if isinstance(delivery.payload, dict) else None
    seller_order = delivery.seller_order_id or (copy[0] if copy else None)
    if seller_order is not None:  # the seller's copy of an order we posted: its parcels to look at
        if delivery.seller_order_id is None and not woo_copy_moved(delivery.payload):
            return WebhookAnswer(200, f"topic {delivery.topic} acknowledged: nothing shipped")
        order_key = order_key_of(copy[1]) if copy else None
        return _parcels_to_look_at(
            ShipmentRequest(seller=store, seller_order_id=seller_order, order_key=order_key), delivery.topic, deps
        )
    if delivery.ignored or not connections:
        logger.info("webhook topic not taken: acknowledged", extra={"store_id": store_id, "topic": delivery.topic})
        return WebhookAnswer(200, f"topic {delivery.topic} acknowledged, not used")
    payload = _order(delivery.payload, delivery.order_id)
    if payload_size(payload) > MAX_BODY_BYTES:  # the body's bytes fit, its JSON in an envelope would not
        return WebhookAnswer(413, f"body over {MAX_BODY_BYTES} bytes")
    now = deps.clock()
    envelopes = [envelope_for(c, payload, now, Cause.WEBHOOK)[0] for c in connections if not c.paused]
    if requested_read(payload) is not None and len(envelopes) > 1:  # read once, for every part
        others = [e.connection_id for e in envelopes[1:]]
        envelopes = [envelopes[0].model_copy(update={"read_for": others})]
    deps.queue.enqueue(envelopes)
    metrics.add_metric(name="OrdersFromWebhooks", unit=MetricUnit.Count, value=len(envelopes))
    logger.info("webhook enqueued", extra={"store_id": store_id, "topic": delivery.topic, "orders": len(envelopes)})
    return WebhookAnswer(202, "accepted", len(envelopes))


def _from_the_selling_side(body: bytes) -> bool:
    """Whether a delivery looks like a seller store's (a BigCommerce shipment, or an order that
    carries the key our create gave it), read before anything vouches for it: only which store
    record is read first depends on it, never what is believed."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser: the door names it later
        return False
    if not isinstance(payload, dict):
        return False
    if str(payload.get("scope") or "").startswith("store/shipment/"):
        return True
    return any(posted_copy(platform, payload) is not None for platform in Platform)


def _seller(store_id: str, deps: WebhookDependencies) -> StoreRef | None:
    """A store that sells (its shipments' deliveries), as ops added it; None for any other id."""
    record = deps.stores.get(store_id) if deps.stores is not None else None
    if record is None or not record.role.includes(Role.SELLER) or record.platform not in WEBHOOK_PLATFORMS:
        return None
    return record.ref()


def _parcels_to_look_at(request: ShipmentRequest, topic: str, deps: WebhookDependencies) -> WebhookAnswer:
    """A check on ShipmentsQueue: SyncShipmentsFunction finds the order we posted as this one (a
    seller order of nobody's is nothing there) and writes its new parcels into the buyer's store."""
    if deps.shipments is None:
        return WebhookAnswer(200, f"topic {topic} acknowledged, not used")
    deps.shipments.request([request])
    metrics.add_metric(name="ShipmentChecksFromWebhooks", unit=MetricUnit.Count, value=1)
    logger.info("seller's order to check", extra={"store_id": request.seller.store_id, "topic": topic})
    return WebhookAnswer(202, "accepted")


def _vouched_for(buyer: StoreRef, headers: Mapping[str, str], body: bytes, deps: WebhookDependencies) -> bool:
    """Checked with the secret as cached (five minutes); if it does not vouch, with the secret read
    afresh (registered since it was cached?), at most once a minute per store: a stream of forged
    deliveries costs no more reads than that."""
    cached = deps.webhook_keys(buyer.store_id, False)
    secret = cached.get(WEBHOOK_SECRET_KEY)
    now = deps.clock()
    if secret and _genuine(buyer, cached, headers, body, now):
        return True
    last = _REFRESHED.get(buyer.store_id)
    if last is not None and now - last < REFRESH_AT_MOST_EVERY:
        # read afresh a moment ago (by a delivery that came at the same time?): the cache holds that
        again = deps.webhook_keys(buyer.store_id, False)
        return again != cached and bool(again.get(WEBHOOK_SECRET_KEY)) and _genuine(buyer, again, headers, body, now)
    _REFRESHED[buyer.store_id] = now
    fresh = deps.webhook_keys(buyer.store_id, True)
    changed = fresh.get(WEBHOOK_SECRET_KEY) != secret or fresh.get(CLIENT_SECRET_KEY) != cached.get(CLIENT_SECRET_KEY)
    return bool(fresh.get(WEBHOOK_SECRET_KEY)) and changed and _genuine(buyer, fresh, headers, body, now)


def _genuine(buyer: StoreRef, keys: dict[str, Any], headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    signing_key = keys.get(CLIENT_SECRET_KEY)
    secret = str(keys[WEBHOOK_SECRET_KEY])
    return genuine(buyer.platform, secret, headers, body, str(signing_key) if signing_key else None, now.timestamp())


def _order(payload: Any, order_id: str | None) -> Any:
    """BigCommerce named the order: ProcessOrder reads it as the pull would. A WooCommerce order with
    refunds is read again too (its refunded units live at /orders/{id}/refunds, as the pull reads
    them), when its id is an order id at all (else it travels as it is, and is recorded INVALID_ORDER)."""
    if order_id is not None:
        return read_request(order_id)
    woo_id = payload.get("id") if isinstance(payload, dict) and payload.get("refunds") else None
    if isinstance(woo_id, int) and not isinstance(woo_id, bool) and woo_id > 0:
        return read_request(str(woo_id))
    return payload


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
        record = process_message(body, f"{message_id}/{connection.connection_id}", receive_count, deps, deadline)
        records += [record] if record is not None else []
    return records
