"""The fake shop's order webhooks through Amazon EventBridge: subscriptions made with Shopify's
webhookSubscriptionCreate (uri: a partner event source's ARN), and each order event sent as
Shopify sends it, with PutPartnerEvents: detail-type `shopifyWebhook`, detail {payload, metadata}.
The payload is the REST-shaped order of the webhook schemas (tests/contracts/shopify/
webhooks-2025-10), built from the contract's own example with this order's values, and checked
against the schema before it goes out: a body that breaks it is the fake's bug."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import uuid
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from jsonschema import Draft202012Validator

from ordersync.local.contracts import json_contract

EVENT_SOURCE_ARN = re.compile(r"arn:aws:events:[a-z0-9-]+::event-source/(aws\.partner/shopify\.com/\d+/[\w.-]+)")
TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_CANCELLED": "orders/cancelled",
    "FULFILLMENTS_CREATE": "fulfillments/create",
    "FULFILLMENTS_UPDATE": "fulfillments/update",
}
APP_SECRET = "shpss_local_app_secret"  # signs X-Shopify-Hmac-Sha256, as Shopify signs with the app's secret


def _schema(topic: str) -> Draft202012Validator:
    return Draft202012Validator(json_contract("shopify", "webhooks-2025-10", f"{topic.replace('/', '-')}.schema.json"))


@dataclass
class ShopifyEventBridge:
    """One shop's subscriptions and the events it sent (topic, order id)."""

    shop_domain: str
    subscriptions: dict[str, dict[str, str]] = field(default_factory=dict)  # gid -> {topic, uri}
    sent: list[tuple[str, str]] = field(default_factory=list)
    # Since 2026-11-17 Shopify puts an order inline in the EventBridge event up to 1 MB; a larger one
    # comes as its id only, for the receiver to read (a test lowers the limit)
    inline_limit: int = 1_000_000
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- GraphQL resolvers -----------------------------------------------------------------------------
    def create(self, _info: Any, topic: str, webhookSubscription: dict[str, Any]) -> dict[str, Any]:
        uri = str(webhookSubscription.get("uri") or "")
        if not EVENT_SOURCE_ARN.fullmatch(uri):
            message = "Address is invalid" if uri else "Address can't be blank"
            return {
                "webhookSubscription": None,
                "userErrors": [{"field": ["webhookSubscription", "uri"], "message": message}],
            }
        if any(s["topic"] == topic and s["uri"] == uri for s in self.subscriptions.values()):
            taken = "Address for this topic has already been taken"
            return {
                "webhookSubscription": None,
                "userErrors": [{"field": ["webhookSubscription", "uri"], "message": taken}],
            }
        with self._lock:
            subscription_id = f"gid://shopify/WebhookSubscription/{next(self._ids)}"
        self.subscriptions[subscription_id] = {"topic": topic, "uri": uri}
        return {"webhookSubscription": self._node(subscription_id), "userErrors": []}

    def delete(self, _info: Any, id: str) -> dict[str, Any]:
        if self.subscriptions.pop(id, None) is None:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
            }
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}

    def list(self, _info: Any, first: int | None = None, after: str | None = None, **_: Any) -> dict[str, Any]:
        nodes = [self._node(i) for i in sorted(self.subscriptions)]
        start = int(base64.b64decode(after).decode()) if after else 0
        page = nodes[start : start + (first or 50)]
        more = start + len(page) < len(nodes)
        end = base64.b64encode(str(start + len(page)).encode()).decode() if page else None
        return {
            "nodes": page,
            "pageInfo": {"hasNextPage": more, "endCursor": end, "hasPreviousPage": start > 0, "startCursor": None},
        }

    def _node(self, subscription_id: str) -> dict[str, Any]:
        subscription = self.subscriptions[subscription_id]
        return {"id": subscription_id, "topic": subscription["topic"], "uri": subscription["uri"], "format": "JSON"}

    # --- deliveries ------------------------------------------------------------------------------------
    def deliver(self, topic_enum: str, node: dict[str, Any], fulfillment: dict[str, Any] | None = None) -> None:
        """Every subscription to `topic_enum` gets the event on its partner event source: the order
        (orders/*), or the fulfilment of that order (fulfillments/*)."""
        for subscription in list(self.subscriptions.values()):
            if subscription["topic"] != topic_enum:
                continue
            source = EVENT_SOURCE_ARN.fullmatch(subscription["uri"])
            assert source is not None
            topic = TOPICS[topic_enum]
            payload = fulfillment_body(topic, node, fulfillment) if fulfillment else webhook_body(topic, node)
            raw = json.dumps(payload).encode()
            if len(raw) > self.inline_limit:
                payload = {"id": payload["id"], "admin_graphql_api_id": payload["admin_graphql_api_id"]}
                raw = json.dumps(payload).encode()
            metadata = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": self.shop_domain,
                "X-Shopify-Order-Id": str(payload["id"]),
                "X-Shopify-Test": "false",
                "X-Shopify-API-Version": "2025-10",
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": str(uuid.uuid4()),
                "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
                "X-Shopify-Hmac-SHA256": base64.b64encode(
                    hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).digest()
                ).decode(),
            }
            entry = {
                "Source": source.group(1),
                "DetailType": "shopifyWebhook",
                "Detail": json.dumps({"payload": payload, "metadata": metadata}),
                # Shopify calls PutPartnerEvents, which reaches the partner bus of the source. moto
                # delivers those to the default bus instead (whose schedule rules, with no pattern,
                # take every event and can't deliver it): the event goes onto the partner bus by name.
                "EventBusName": source.group(1),
            }
            boto3.client("events").put_events(Entries=[entry])
            self.sent.append((topic, str(payload["id"])))


def webhook_body(topic: str, node: dict[str, Any]) -> dict[str, Any]:
    """The order as the webhook schemas carry it: the contract's example, with this order's values."""
    body = deepcopy(json_contract("shopify", "webhooks-2025-10", f"{topic.replace('/', '-')}.example.json")["response"])
    legacy = int(node["legacyResourceId"])
    currency = node["currencyCode"]
    template_line = body["line_items"][0]
    body.update(
        id=legacy,
        admin_graphql_api_id=node["id"],
        name=node["name"],
        number=legacy,
        order_number=legacy,
        created_at=node["createdAt"],
        updated_at=node["updatedAt"],
        processed_at=node["createdAt"],
        cancelled_at=node["cancelledAt"],
        cancel_reason="customer" if node["cancelledAt"] else None,
        financial_status=str(node.get("displayFinancialStatus") or "PAID").lower(),
        currency=currency,
        presentment_currency=currency,
        test=bool(node["test"]),
        source_name=node["sourceName"] or "web",
        email=node.get("email") or "",
        contact_email=node.get("email") or "",
        note=node.get("note"),
        tags=", ".join(node.get("tags") or []),
        refunds=[],
        fulfillments=[],
        company=None,  # B2B orders only; the schema requires the key, the contract's own example omits it
        line_items=[_line(template_line, line, currency) for line in node["lineItems"]["nodes"]],
    )
    ship = node.get("shippingAddress")
    if ship is None:
        # The schema, generated from one example, requires it; Shopify leaves it out of an order
        # with nothing to ship to, and so does the fake (the one place it goes past the schema).
        del body["shipping_address"]
    else:
        first, _, last = (ship.get("name") or "").rpartition(" ")
        body["shipping_address"] = {
            **body["shipping_address"],
            "first_name": first or last,
            "last_name": last,
            "name": ship.get("name") or "",
            "company": ship.get("company"),
            "address1": ship.get("address1") or "",
            "address2": ship.get("address2"),
            "city": ship.get("city") or "",
            "province": ship.get("provinceCode") or "",
            "province_code": ship.get("provinceCode") or "",
            "zip": ship.get("zip") or "",
            "country": ship.get("countryCodeV2") or "",
            "country_code": ship.get("countryCodeV2") or "",
            "phone": ship.get("phone") or "",
            "latitude": None,
            "longitude": None,
        }
    problems = [
        e
        for e in _schema(topic).iter_errors(body)
        if not (ship is None and "'shipping_address'" in e.message and not e.path) and not _custom_item(e)
    ]
    if problems:
        raise AssertionError(
            f"fake Shopify's {topic} body breaks the webhook schema: {problems[0].message} at {list(problems[0].path)}"
        )
    return body


def fulfillment_body(topic: str, node: dict[str, Any], fulfillment: dict[str, Any]) -> dict[str, Any]:
    """A fulfilment as the fulfillments/* schemas carry it: the example, with this one's values."""
    body = deepcopy(json_contract("shopify", "webhooks-2025-10", f"{topic.replace('/', '-')}.example.json")["response"])
    template_line = body["line_items"][0]
    tracking = (fulfillment["_tracking"] or [{}])[0]
    number, url = tracking.get("number") or "", tracking.get("url") or ""
    body.update(
        id=int(fulfillment["legacyResourceId"]),
        admin_graphql_api_id=fulfillment["id"],
        order_id=int(node["legacyResourceId"]),
        name=fulfillment["name"],
        status="success",
        created_at=fulfillment["createdAt"],
        updated_at=fulfillment["createdAt"],
        tracking_company=tracking.get("company") or "",
        tracking_number=number,
        tracking_numbers=[number] if number else [],
        tracking_url=url,
        tracking_urls=[url] if url else [],
        line_items=[
            {
                **_line(template_line, line["lineItem"], node["currencyCode"]),
                "quantity": int(line["quantity"]),
                "variant_id": int((line["lineItem"].get("variant") or {}).get("legacyResourceId") or 0) or None,
            }
            for line in fulfillment["_lines"]
        ],
    )
    problem = next((e for e in _schema(topic).iter_errors(body) if not _custom_item(e)), None)
    if problem is not None:
        raise AssertionError(
            f"fake Shopify's {topic} body breaks the webhook schema: {problem.message} at {list(problem.path)}"
        )
    return body


def _line(template: dict[str, Any], node: dict[str, Any], currency: str) -> dict[str, Any]:
    """The line's own variant and product (a custom item, with no variant, has neither: both null,
    where the schema, generated from one example, types product_id as an integer)."""
    price = node["originalUnitPriceSet"]["shopMoney"]["amount"]
    money = {"amount": price, "currency_code": currency}
    variant = node.get("variant") or {}
    product = variant.get("product") or {}
    return {
        **deepcopy(template),
        "variant_id": _legacy_or_none(variant.get("id")),
        "product_id": _legacy_or_none(product.get("id")) or (template["product_id"] if variant else None),
        "id": int(node["id"].rsplit("/", 1)[-1]),
        "admin_graphql_api_id": node["id"],
        "sku": node.get("sku") or "",
        "title": node["title"],
        "name": node["name"],
        "quantity": int(node["quantity"]),
        "current_quantity": int(node.get("currentQuantity", node["quantity"])),
        "fulfillable_quantity": int(node.get("currentQuantity", node["quantity"])),
        "price": price,
        "price_set": {"shop_money": money, "presentment_money": money},
        "requires_shipping": bool(node.get("requiresShipping", True)),
        "gift_card": bool(node.get("isGiftCard")),
    }


def _legacy_or_none(gid: Any) -> int | None:
    return int(str(gid).rsplit("/", 1)[-1]) if gid else None


def _custom_item(error: Any) -> bool:
    """A custom item's null product_id: Shopify sends it; the schema, from one example, has no null."""
    return list(error.path)[-1:] == ["product_id"] and error.instance is None
