"""Store webhooks, pure: is a delivery genuine, and what does it ask for. WooCommerce signs the raw
body (`X-WC-Webhook-Signature`: base64 HMAC-SHA256 with the webhook's secret) and sends the order
itself; BigCommerce sends the headers the hook was registered with (our secret among them) and only
the order's id, which the receiver reads from the store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ordersync.models import MAX_ORDER_PAYLOAD_BYTES, Platform, Role, read_request

WEBHOOK_SECRET_KEY = "webhook_secret"  # in the store's webhook keys (before: beside its credentials)
CLIENT_SECRET_KEY = "client_secret"  # BigCommerce: the app's, which signs Standard Webhooks deliveries
MAX_BODY_BYTES = MAX_ORDER_PAYLOAD_BYTES  # a larger delivery is refused at the door (413)
WOO_SIGNATURE = "x-wc-webhook-signature"
WOO_TOPIC = "x-wc-webhook-topic"
BC_SECRET_HEADER = "X-Ordersync-Webhook-Secret"  # registered with the hook; BigCommerce sends it back
WOO_TOPICS = ("order.created", "order.updated")
BC_SCOPES = ("store/order/created", "store/order/updated")
SHOPIFY_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED")  # WebhookSubscriptionTopic values
SHOPIFY_EVENT_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")  # as the events name them
# A seller store's: its shipments (WooCommerce has no shipment topic: a fulfilment re-saves the order).
WOO_SELLER_TOPICS = ("order.updated",)
BC_SELLER_SCOPES = ("store/shipment/created", "store/shipment/updated")
SHOPIFY_SELLER_TOPICS = ("FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE")
SHOPIFY_FULFILLMENT_EVENT_TOPICS = ("fulfillments/create", "fulfillments/update")
_WOO_PING = re.compile(rb"webhook_id=\d+")  # WooCommerce's unsigned test delivery when a webhook is saved


def webhook_keys(kept: Mapping[str, Any], credentials: Mapping[str, Any]) -> dict[str, str]:
    """What the webhook door checks a store's deliveries with, and all it may read (its own secret
    per store, apart from the store's API credentials): the webhooks' secret as kept (or as the
    store's credentials held it before it had a secret of its own) and the app's client_secret as the
    credentials hold it now. {} for a store with no webhooks' secret."""
    secret = kept.get(WEBHOOK_SECRET_KEY) or credentials.get(WEBHOOK_SECRET_KEY)
    if not secret:
        return {}
    keys = {WEBHOOK_SECRET_KEY: str(secret)}
    if credentials.get(CLIENT_SECRET_KEY):
        keys[CLIENT_SECRET_KEY] = str(credentials[CLIENT_SECRET_KEY])
    return keys


@dataclass(frozen=True)
class Delivery:
    """What a genuine delivery asks for: an order (its body, or only its id), or nothing."""

    topic: str
    payload: Any = None  # WooCommerce: the order as its REST API shows it
    order_id: str | None = None  # BigCommerce: read the order from the store
    ignored: bool = False  # a topic we don't take, or a ping: acknowledged so the store stops retrying
    seller_order_id: str | None = None  # a seller store's shipment: its order's parcels to look at


@dataclass(frozen=True)
class WebhookSubscription:
    """One of a store's webhooks as its API lists it."""

    subscription_id: str
    topic: str
    url: str
    # False: the store stopped delivering to it (WooCommerce disables a webhook after more than five
    # failed deliveries in a row; BigCommerce deactivates a hook that keeps failing)
    active: bool = True
    state: str = "active"  # as the store words it (WooCommerce: active, paused, disabled)


def topics_for(platform: Platform, role: Role = Role.BUYER) -> tuple[str, ...]:
    """What each platform's API calls the topics we subscribe to: a buyer's orders, a seller's shipments."""
    buyer = {Platform.WOOCOMMERCE: WOO_TOPICS, Platform.BIGCOMMERCE: BC_SCOPES, Platform.SHOPIFY: SHOPIFY_TOPICS}
    seller = {
        Platform.WOOCOMMERCE: WOO_SELLER_TOPICS,
        Platform.BIGCOMMERCE: BC_SELLER_SCOPES,
        Platform.SHOPIFY: SHOPIFY_SELLER_TOPICS,
    }
    topics = (
        *(buyer[platform] if role.includes(Role.BUYER) else ()),
        *(seller[platform] if role.includes(Role.SELLER) else ()),
    )
    return tuple(dict.fromkeys(topics))


def hook_url(base_url: str, store_id: str) -> str:
    return f"{base_url.rstrip('/')}/hooks/{store_id}"


def subscriptions_to_make(
    platform: Platform, existing: list[WebhookSubscription], url: str, secret_is_new: bool, role: Role = Role.BUYER
) -> tuple[list[WebhookSubscription], list[str]]:
    """What registering changes: the subscriptions of ours to remove (all of them when the secret is
    new: they were made with another), and the topics to subscribe. Nothing when all are there."""
    wanted = topics_for(platform, role)
    ours = [s for s in existing if s.url == url]
    stale = ours if secret_is_new else [s for s in ours if s.topic not in wanted]
    kept = {s.topic for s in ours if s not in stale}
    return stale, [t for t in wanted if t not in kept]


def woocommerce_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_ping(platform: Platform, body: bytes) -> bool:
    return platform is Platform.WOOCOMMERCE and _WOO_PING.fullmatch(body) is not None


def genuine(
    platform: Platform,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    signing_key: str | None = None,
    now: float | None = None,
) -> bool:
    """Compared in constant time; `headers` with lower-case names (as a function URL passes them).
    BigCommerce: our registered header, and where the delivery is signed (Standard Webhooks, with
    the app's client secret, `signing_key`) the signature too."""
    if platform is Platform.WOOCOMMERCE:
        signature = headers.get(WOO_SIGNATURE, "")
        return bool(signature) and _same(signature, woocommerce_signature(secret, body))
    if platform is Platform.BIGCOMMERCE:
        sent = headers.get(BC_SECRET_HEADER.lower(), "")
        if not sent or not _same(sent, secret):
            return False
        if STANDARD_SIGNATURE in headers and signing_key:
            return standard_signature_holds(signing_key, headers, body, now)
        return True
    return False


STANDARD_SIGNATURE = "webhook-signature"  # Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature
STANDARD_TOLERANCE_SECONDS = 300  # a delivery older (or newer) than this is a replay


def standard_signature(key: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """v1,<base64 HMAC-SHA256 over "id.timestamp.body">; a `whsec_` key is base64, any other its bytes."""
    secret = base64.b64decode(key.removeprefix("whsec_")) if key.startswith("whsec_") else key.encode()
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()


def standard_signature_holds(key: str, headers: Mapping[str, str], body: bytes, now: float | None) -> bool:
    webhook_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not webhook_id or not timestamp.isdigit():
        return False
    if now is not None and abs(now - int(timestamp)) > STANDARD_TOLERANCE_SECONDS:
        return False
    expected = standard_signature(key, webhook_id, timestamp, body)
    return any(_same(sent, expected) for sent in headers.get(STANDARD_SIGNATURE, "").split())


def _same(sent: str, expected: str) -> bool:
    """Constant-time, as bytes: compare_digest refuses a str with a non-ASCII character (a forged
    header may have one), which would have been a 500 instead of a counted refusal."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def read_delivery(platform: Platform, headers: Mapping[str, str], body: bytes) -> Delivery:
    """A genuine delivery's meaning. A WooCommerce body that is not even JSON still travels as the
    order (recorded INVALID_ORDER like a pulled one); BigCommerce's has to name an order."""
    if platform is Platform.WOOCOMMERCE:
        topic = headers.get(WOO_TOPIC, "")
        if topic not in WOO_TOPICS:
            return Delivery(topic or "(none)", ignored=True)
        try:
            payload: Any = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested past what a parser should follow
            payload = {"unparseable_body": body[:2000].decode("utf-8", "replace")}
        return Delivery(topic, payload=payload)
    try:
        hook = BigCommerceHook.model_validate_json(body)
    except ValidationError:
        return Delivery("(unreadable)", ignored=True)
    if hook.scope in BC_SELLER_SCOPES and hook.data.type == "shipment" and hook.data.orderId:
        return Delivery(hook.scope, seller_order_id=str(hook.data.orderId))
    if hook.scope not in BC_SCOPES:
        return Delivery(hook.scope or "(none)", ignored=True)
    return Delivery(hook.scope, order_id=str(hook.data.id))


class _HookData(BaseModel):
    type: str = "order"
    id: int = Field(ge=1, strict=True)
    orderId: int | None = Field(default=None, ge=1, strict=True)


class BigCommerceHook(BaseModel):
    """A BigCommerce webhook's body: what happened (`scope`) and to which order (`data.id`)."""

    scope: str
    data: _HookData


@dataclass(frozen=True)
class ShopifyOrderEvent:
    """A Shopify webhook delivered through EventBridge: the shop it came from, its topic, and the
    REST-shaped order (the webhook schemas' body)."""

    shop_domain: str
    topic: str
    payload: Any
    ignored: bool = False


def is_shopify_event(message: Any) -> bool:
    """An EventBridge event from a Shopify partner event source (routed to OrdersQueue as it is)."""
    return (
        isinstance(message, dict)
        and "detail-type" in message
        and str(message.get("source", "")).startswith("aws.partner/shopify.com/")
    )


def read_shopify_event(message: dict[str, Any]) -> ShopifyOrderEvent:
    detail: dict[str, Any] = message["detail"] if isinstance(message.get("detail"), dict) else {}
    metadata: dict[str, Any] = detail["metadata"] if isinstance(detail.get("metadata"), dict) else {}
    topic = str(metadata.get("X-Shopify-Topic") or "")
    shop = str(metadata.get("X-Shopify-Shop-Domain") or "")
    payload = detail.get("payload")
    if topic not in SHOPIFY_EVENT_TOPICS or not shop or payload is None:
        return ShopifyOrderEvent(shop, topic or "(none)", None, ignored=True)
    if _id_only(payload):  # an order too large for the event: ProcessOrder reads it from the shop
        return ShopifyOrderEvent(shop, topic, read_request(str(payload["id"])))
    return ShopifyOrderEvent(shop, topic, payload)


def woo_copy_moved(payload: dict[str, Any]) -> bool:
    """A WooCommerce seller's copy worth a look: shipped, cancelled or refunded by status, or with a
    fulfilment or a Shipment Tracking item recorded on it (WooCommerce has no shipment topic: every
    save of the order is an order.updated, our own create's among them)."""
    meta = {m.get("key") for m in payload.get("meta_data") or [] if isinstance(m, dict)}
    moved_status = payload.get("status") in ("completed", "cancelled", "refunded", "trash")
    return moved_status or bool(meta & {"_fulfillment_status", "_wc_shipment_tracking_items"})


def read_fulfillment_event(message: dict[str, Any]) -> tuple[str, str] | None:
    """A seller shop's fulfilments/* event: (shop domain, the order's id), or None."""
    detail: dict[str, Any] = message["detail"] if isinstance(message.get("detail"), dict) else {}
    metadata: dict[str, Any] = detail["metadata"] if isinstance(detail.get("metadata"), dict) else {}
    payload = detail.get("payload")
    order_id = payload.get("order_id") if isinstance(payload, dict) else None
    shop = str(metadata.get("X-Shopify-Shop-Domain") or "")
    if metadata.get("X-Shopify-Topic") not in SHOPIFY_FULFILLMENT_EVENT_TOPICS or not shop:
        return None
    if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id <= 0:
        return None
    return shop, str(order_id)


def _id_only(payload: Any) -> bool:
    """Shopify's event for an order over its inline limit: the order's id, and nothing of the order."""
    return (
        isinstance(payload, dict)
        and set(payload) <= {"id", "admin_graphql_api_id"}
        and isinstance(payload.get("id"), int)
        and not isinstance(payload.get("id"), bool)
        and payload["id"] > 0
    )
