"""Shopify through the GraphQL Admin API (the REST Admin API is legacy since 2024-10)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ordersync.domain.catalog import CatalogVariant, StoreVariant
from ordersync.domain.decide import LineMatch
from ordersync.errors import StoreRejected, StoreUnavailable
from ordersync.models import CanonicalOrder, iso
from ordersync.normalize.shopify import legacy_id
from ordersync.platforms.http import call, json_body, session

API_VERSION = "2025-10"
PAGE_SIZE = 50
_MAX_THROTTLE_WAIT = 10.0

_ORDER_FIELDS = """
  id legacyResourceId name createdAt updatedAt currencyCode email test sourceName cancelledAt
  shippingAddress { name company address1 address2 city provinceCode zip countryCodeV2 phone }
  lineItems(first: 250) {
    nodes {
      id sku title name quantity currentQuantity requiresShipping
      originalUnitPriceSet { shopMoney { amount currencyCode } }
    }
  }
"""

ORDERS_QUERY = (
    """
query OrdersUpdatedSince($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {"""
    + _ORDER_FIELDS
    + """}
  }
}"""
)

FIND_BY_TAG_QUERY = """
query OrderByTag($query: String!) {
  orders(first: 1, query: $query) { nodes { legacyResourceId } }
}"""

CATALOG_QUERY = """
query Catalog($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku title product { id title } }
  }
}"""

VARIANTS_QUERY = """
query VariantsPresent($ids: [ID!]!) {
  nodes(ids: $ids) { ... on ProductVariant { id } }
}"""

ORDER_CREATE_MUTATION = """
mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id legacyResourceId name }
    userErrors { field message }
  }
}"""


def variant_gid(variant_id: str) -> str:
    return variant_id if variant_id.startswith("gid://") else f"gid://shopify/ProductVariant/{variant_id}"


class ShopifyStore:
    def __init__(self, base_url: str, access_token: str) -> None:
        self._url = f"{base_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"
        self._http = session(headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"})

    # --- buyer side --------------------------------------------------------------------------
    def orders_updated_since(
        self, since: datetime, resume: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        after = resume
        search = f"updated_at:>='{iso(since)}'"
        while True:
            data = self._graphql(ORDERS_QUERY, {"first": PAGE_SIZE, "after": after, "query": search})
            page = data["orders"]
            after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
            yield list(page["nodes"]), after
            if after is None:
                return

    # --- seller side -------------------------------------------------------------------------
    def find_posted_order(self, source_key: str) -> str | None:
        data = self._graphql(FIND_BY_TAG_QUERY, {"query": f"tag:'{source_key}'"})
        nodes = data["orders"]["nodes"]
        return str(nodes[0]["legacyResourceId"]) if nodes else None

    def variants_present(self, variants: Sequence[CatalogVariant]) -> frozenset[str]:
        data = self._graphql(VARIANTS_QUERY, {"ids": [variant_gid(v.variant_id) for v in variants]})
        found = {node["id"] for node in data["nodes"] if node}
        return frozenset(v.variant_id for v in variants if variant_gid(v.variant_id) in found)

    def catalog(self) -> Iterator[list[StoreVariant]]:
        after: str | None = None
        while True:
            page = self._graphql(CATALOG_QUERY, {"first": 250, "after": after})["productVariants"]
            yield [
                StoreVariant(
                    product_id=legacy_id(node["product"]["id"]),
                    variant_id=legacy_id(node["id"]),
                    sku=(node.get("sku") or "").strip() or None,
                    product_title=node["product"]["title"],
                    variant_title="" if node["title"] == "Default Title" else node["title"],
                )
                for node in page["nodes"]
            ]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> str:
        ship = order.shipping_address
        first, _, last = (ship.name or "").rpartition(" ") if ship else ("", "", "")
        payload = {
            "currency": order.currency,
            "tags": [source_key],
            "note": f"Dropship order {order.order_number} (synced by ordersync)",
            "lineItems": [
                {"variantId": variant_gid(m.variant.variant_id), "quantity": m.line.quantity}
                for m in lines
                if m.variant
            ],
            "shippingAddress": None
            if ship is None
            else {
                "firstName": first or None,
                "lastName": last or None,
                "company": ship.company,
                "address1": ship.address1,
                "address2": ship.address2,
                "city": ship.city,
                "provinceCode": ship.province_code,
                "zip": ship.postal_code,
                "countryCode": ship.country_code,
                "phone": ship.phone,
            },
        }
        options = {"sendReceipt": False, "sendFulfillmentReceipt": False}
        data = self._graphql(ORDER_CREATE_MUTATION, {"order": payload, "options": options}, write=True)
        result = data["orderCreate"]
        if result["userErrors"]:
            problems = "; ".join(f"{'.'.join(e.get('field') or [])}: {e['message']}" for e in result["userErrors"])
            raise StoreRejected(f"Shopify orderCreate refused the order: {problems}")
        return str(result["order"]["legacyResourceId"])

    # --- transport ---------------------------------------------------------------------------
    def _graphql(self, query: str, variables: dict[str, Any], write: bool = False) -> dict[str, Any]:
        """Query-cost throttling: wait for the bucket to refill (restoreRate) and try again."""
        for attempt in range(3):
            try:
                body = json_body(call(self._http, "POST", self._url, json={"query": query, "variables": variables}))
            except StoreUnavailable:
                if write or attempt == 2:  # a mutation is never repeated blind: the caller looks first
                    raise
                time.sleep(_backoff(attempt))
                continue
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                time.sleep(_throttle_wait(body))
                continue
            if errors:
                raise StoreRejected(f"Shopify GraphQL error: {'; '.join(str(e.get('message')) for e in errors)}")
            return dict(body["data"])
        raise StoreUnavailable("Shopify kept throttling the query")


def _backoff(attempt: int) -> float:
    return float(os.environ.get("ORDERSYNC_HTTP_BACKOFF", "0.5")) * (2**attempt)


def _throttle_wait(body: dict[str, Any]) -> float:
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    needed = float(cost.get("requestedQueryCost", 0)) - float(status.get("currentlyAvailable", 0))
    rate = float(status.get("restoreRate", 50)) or 50.0
    return min(max(needed / rate, 0.05), _MAX_THROTTLE_WAIT)
