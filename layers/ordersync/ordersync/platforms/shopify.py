"""Shopify through the GraphQL Admin API 2025-10 (the REST Admin API is legacy since 2024-10).

Every document here stays under Shopify's 1,000-point single-query limit (a contract test computes
each one's cost from the published schema); orders with more lines than a page holds have the rest
of their lines read page by page; and the client paces itself from the throttle status Shopify
sends with every answer instead of running into THROTTLED."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ordersync.domain.carriers import carrier_named
from ordersync.domain.catalog import CatalogVariant, StoreVariant
from ordersync.domain.decide import LineMatch
from ordersync.domain.onboarding import StoreAccess, granted_shopify_scopes
from ordersync.domain.shipments import BuyerShipment, BuyerShipments, shipment_ids
from ordersync.domain.webhooks import WebhookSubscription
from ordersync.errors import (
    BuyerOrderWaiting,
    StoreCredentialsError,
    StoreNotFound,
    StoreRejected,
    StoreThrottled,
    StoreUnavailable,
)
from ordersync.invocation import can_wait
from ordersync.models import (
    BuyerParcel,
    CanonicalOrder,
    CopyLine,
    Parcel,
    ParcelLine,
    Platform,
    PostedCopy,
    SellerOrderState,
    ShippingAddress,
    iso,
)
from ordersync.normalize import shipping_address_of
from ordersync.normalize.common import timestamp
from ordersync.normalize.shopify import legacy_id
from ordersync.platforms.http import call, json_body, session, wait_in_place
from ordersync.platforms.values import lines_to_change

API_VERSION = "2025-10"
ORDERS_PER_PAGE = 20  # 20 orders x (10 lines each, with their variants) costs 882 points: under the 1,000 limit
LINES_PER_ORDER = 10  # lines read with the order; the rest are read with ORDER_LINES_QUERY
LINES_PER_PAGE = 200  # with their variants, 200 lines cost under 1,000 points
VARIANTS_PER_PAGE = 250
RECENT_ORDERS_PER_PAGE = 100
SELLABLE_PRODUCT_STATUSES = frozenset({"ACTIVE", "UNLISTED"})  # DRAFT and ARCHIVED products can't be sold
_MAX_THROTTLE_WAIT = 10.0
_MAX_ATTEMPTS = 4
_CLOCK_SKEW = timedelta(minutes=5)
_LOOKBACK_PAGES = 50  # 5,000 orders created since the first attempt: more is not a store we can search by time

_LINE_FIELDS = """
      id sku title name quantity currentQuantity requiresShipping isGiftCard variant { id }
      originalUnitPriceSet { shopMoney { amount currencyCode } }"""

_ORDER_FIELDS = f"""
      id legacyResourceId name createdAt updatedAt currencyCode email test sourceName sourceIdentifier cancelledAt
      displayFinancialStatus
      shippingAddress {{ name company address1 address2 city provinceCode zip countryCodeV2 phone }}
      lineItems(first: $lines) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{{_LINE_FIELDS}
        }}
      }}"""

ORDERS_QUERY = f"""
query OrdersUpdatedSince($first: Int!, $after: String, $query: String!, $lines: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{{_ORDER_FIELDS}
    }}
  }}
}}"""

# One order, as the pull reads it: what a webhook names by its admin_graphql_api_id.
ORDER_QUERY = f"""
query Order($id: ID!, $lines: Int!) {{
  order(id: $id) {{{_ORDER_FIELDS}
  }}
}}"""

WEBHOOKS_QUERY = """
query Webhooks($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}"""

# The webhook subscription mutation; an EventBridge event source ARN as its uri delivers to it
# (eventBridgeWebhookSubscriptionCreate, which did this before, is deprecated in 2025-10).
WEBHOOK_CREATE_MUTATION = """
mutation WebhookCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id }
    userErrors { field message }
  }
}"""

WEBHOOK_DELETE_MUTATION = """
mutation WebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"""

SHOP_DOMAIN_QUERY = """
query ShopDomain {
  shop { myshopifyDomain }
}"""

ACCESS_QUERY = """
query Access {
  shop { name }
  currentAppInstallation { accessScopes { handle } }
}"""

ORDER_LINES_QUERY = f"""
query OrderLines($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $first, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{{_LINE_FIELDS}
      }}
    }}
  }}
}}"""

# Newest first, with no search filter: Shopify's search index lags a just-created order, the
# list itself does not. The seller's copy is recognised by its sourceIdentifier, compared exactly.
RECENT_ORDERS_QUERY = """
query RecentOrders($first: Int!, $after: String) {
  orders(first: $first, after: $after, sortKey: CREATED_AT, reverse: true) {
    pageInfo { hasNextPage endCursor }
    nodes { legacyResourceId createdAt sourceIdentifier }
  }
}"""

CATALOG_QUERY = """
query Catalog($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku title product { id title status vendor } }
  }
}"""

VARIANTS_QUERY = """
query VariantsPresent($ids: [ID!]!) {
  nodes(ids: $ids) { ... on ProductVariant { id product { status } } }
}"""

ORDER_CREATE_MUTATION = """
mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput, $lines: Int!) {
  orderCreate(order: $order, options: $options) {
    order { id legacyResourceId name lineItems(first: $lines) { nodes { id variant { id } } } }
    userErrors { field message code }
  }
}"""

# The seller's copy: cancelled?, and its fulfilments (parcels), each line by the variant we posted.
ORDER_STATE_QUERY = """
query OrderState($id: ID!) {
  order(id: $id) {
    id cancelledAt displayFulfillmentStatus
    fulfillments(first: 10) {
      id createdAt status
      trackingInfo(first: 1) { company number url }
      fulfillmentLineItems(first: 20) { nodes { quantity lineItem { id variant { id } } } }
    }
  }
}"""

COPY_ADDRESS_QUERY = """
query CopyAddress($id: ID!) {
  order(id: $id) { shippingAddress { name company address1 address2 city provinceCode zip countryCodeV2 phone } }
}"""

# The buyer's order: the fulfilments it holds, and its fulfillment orders' lines left to fulfil.
SHIPMENTS_QUERY = """
query OrderShipments($id: ID!) {
  order(id: $id) {
    cancelledAt
    fulfillments(first: 10) {
      id createdAt status
      trackingInfo(first: 1) { number }
      fulfillmentLineItems(first: 20) { nodes { quantity lineItem { id } } }
    }
    fulfillmentOrders(first: 5) {
      nodes {
        id status fulfillAt fulfillmentHolds { reason reasonNotes }
        assignedLocation { name location { id } }
        lineItems(first: 50) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}"""

ORDER_NOTE_QUERY = """
query OrderNote($id: ID!) {
  order(id: $id) { id note }
}"""

ORDER_UPDATE_MUTATION = """
mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id }
    userErrors { field message }
  }
}"""

FULFILLMENT_TRACKING_MUTATION = """
mutation FulfillmentTracking($fulfillmentId: ID!, $trackingInfoInput: FulfillmentTrackingInput!, $notifyCustomer: Boolean) {
  fulfillmentTrackingInfoUpdate(
    fulfillmentId: $fulfillmentId, trackingInfoInput: $trackingInfoInput, notifyCustomer: $notifyCustomer
  ) {
    fulfillment { id }
    userErrors { field message }
  }
}"""

FULFILLMENT_CREATE_MUTATION = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id legacyResourceId }
    userErrors { field message }
  }
}"""

# Restock, no refund (money moves only by a person), and no email to the end customer from the
# seller's shop: the buyer's store speaks to its customer.
# No refund argument: `refund` is deprecated, and the seller's copy was never paid by a customer of
# the seller's (refundMethod left out: nothing refunded).
ORDER_CANCEL_MUTATION = """
mutation OrderCancel($orderId: ID!, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: CUSTOMER, restock: true, notifyCustomer: false, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}"""

JOB_QUERY = """
query Job($id: ID!) {
  job(id: $id) { id done }
}"""

ORDER_CANCELLED_QUERY = """
query OrderCancelled($id: ID!) {
  order(id: $id) { id cancelledAt }
}"""

# orderCancel "asynchronously cancels the order": its job polled after these waits (seconds), each
# only while the invocation can spare it; still running after them, the copy is looked at again later.
CANCEL_JOB_WAITS = (0.25, 0.5, 1.0, 2.0)

# Order editing: a session begun, each line's quantity set (restocked), committed without emailing
# the end customer from the seller's shop.
ORDER_EDIT_BEGIN_MUTATION = """
mutation OrderEditBegin($id: ID!) {
  orderEditBegin(id: $id) {
    calculatedOrder { id lineItems(first: 250) { nodes { id quantity variant { id } } } }
    userErrors { field message }
  }
}"""

ORDER_EDIT_SET_QUANTITY_MUTATION = """
mutation OrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!) {
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: true) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}"""

ORDER_EDIT_COMMIT_MUTATION = """
mutation OrderEditCommit($id: ID!, $staffNote: String) {
  orderEditCommit(id: $id, notifyCustomer: false, staffNote: $staffNote) {
    order { id }
    userErrors { field message }
  }
}"""

_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}  # codes people use that ISO 3166 (and Shopify's enum) don't


def _order_gid(order_id: str) -> str:
    return order_id if order_id.startswith("gid://") else f"gid://shopify/Order/{order_id}"


def variant_gid(variant_id: str) -> str:
    return variant_id if variant_id.startswith("gid://") else f"gid://shopify/ProductVariant/{variant_id}"


def country_code(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code as Shopify's CountryCode enum spells it, or None."""
    code = (value or "").strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    return code if re.fullmatch(r"[A-Z]{2}", code) else None


class ThrottlePacer:
    """What Shopify last said about the bucket; waits before a query the bucket can't pay for yet."""

    def __init__(self) -> None:
        self._available: float | None = None
        self._rate = 50.0
        self._at = 0.0
        self._costs: dict[str, float] = {}  # document -> its last requested cost
        self._lock = threading.Lock()

    def wait_for(self, query: str) -> float:
        with self._lock:
            needed = self._costs.get(query, 0.0)
            if self._available is None or needed == 0.0:
                return 0.0
            have = self._available + (time.monotonic() - self._at) * self._rate
            return min(max((needed - have) / self._rate, 0.0), _MAX_THROTTLE_WAIT)

    def observe(self, query: str, body: dict[str, Any]) -> None:
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        with self._lock:
            if cost.get("requestedQueryCost") is not None:
                self._costs[query] = float(cost["requestedQueryCost"])
            if status.get("currentlyAvailable") is not None:
                self._available = float(status["currentlyAvailable"])
                self._rate = float(status.get("restoreRate") or 50.0)
                self._at = time.monotonic()


class ShopifyStore:
    search_lag_seconds = 10.0  # the orders connection is served from Shopify's search index, updated asynchronously

    def __init__(self, base_url: str, access_token: str) -> None:
        self._url = f"{base_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"
        self._http = session(headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"})
        self.pacer = ThrottlePacer()

    # --- buyer side --------------------------------------------------------------------------
    def orders_updated_since(
        self, since: datetime, resume: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        after = resume
        search = f"updated_at:>='{iso(since)}'"
        while True:
            variables = {"first": ORDERS_PER_PAGE, "after": after, "query": search, "lines": LINES_PER_ORDER}
            page = self._graphql(ORDERS_QUERY, variables)["orders"]
            after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
            yield [self._with_every_line(node) for node in page["nodes"]], after
            if after is None:
                return

    def order(self, order_id: str) -> dict[str, Any]:
        gid = order_id if order_id.startswith("gid://") else f"gid://shopify/Order/{order_id}"
        found = self._graphql(ORDER_QUERY, {"id": gid, "lines": LINES_PER_ORDER})["order"]
        if found is None:
            raise StoreNotFound(f"Shopify has no order {legacy_id(gid)}")
        return self._with_every_line(found)

    def _with_every_line(self, order: dict[str, Any]) -> dict[str, Any]:
        """An order whose line items run past the first page gets the rest read, so no line is dropped."""
        lines = order.get("lineItems") or {}
        info = lines.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return order
        nodes = list(lines.get("nodes") or [])
        after = info.get("endCursor")
        while after:
            variables = {"id": order["id"], "first": LINES_PER_PAGE, "after": after}
            found = self._graphql(ORDER_LINES_QUERY, variables)["order"]
            if found is None:
                raise StoreUnavailable(f"Shopify order {legacy_id(order['id'])} vanished while its lines were read")
            page = found["lineItems"]
            nodes.extend(page["nodes"])
            after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
        return {**order, "lineItems": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}}

    # --- seller side -------------------------------------------------------------------------
    def find_posted_order(self, source_key: str, since: datetime) -> str | None:
        """The order created for `source_key` since `since` (the first attempt), newest first."""
        horizon = since - _CLOCK_SKEW
        after: str | None = None
        for _ in range(_LOOKBACK_PAGES):
            page = self._graphql(RECENT_ORDERS_QUERY, {"first": RECENT_ORDERS_PER_PAGE, "after": after})["orders"]
            for node in page["nodes"]:
                if node.get("sourceIdentifier") == source_key:
                    return str(node["legacyResourceId"])
                if timestamp(node["createdAt"]) < horizon:
                    return None
            if not page["pageInfo"]["hasNextPage"]:
                return None
            after = page["pageInfo"]["endCursor"]
        raise StoreUnavailable(f"more than {_LOOKBACK_PAGES * RECENT_ORDERS_PER_PAGE} orders since the first attempt")

    def variants_present(self, variants: Sequence[CatalogVariant]) -> frozenset[str]:
        """Which variants still exist in the store and belong to a product that can be sold."""
        found: set[str] = set()
        ids = [variant_gid(v.variant_id) for v in variants]
        for start in range(0, len(ids), 250):  # input arrays hold at most 250 items
            data = self._graphql(VARIANTS_QUERY, {"ids": ids[start : start + 250]})
            found.update(
                node["id"]
                for node in data["nodes"]
                if node and (node.get("product") or {}).get("status") in SELLABLE_PRODUCT_STATUSES
            )
        return frozenset(v.variant_id for v in variants if variant_gid(v.variant_id) in found)

    def catalog(self) -> Iterator[list[StoreVariant]]:
        for page, _ in self.catalog_pages():
            yield page

    def catalog_pages(
        self, changed_since: datetime | None = None, resume: str | None = None
    ) -> Iterator[tuple[list[StoreVariant], str | None]]:
        """Every variant of a product that can be sold (drafts and archived products are left out),
        or those updated since `changed_since`; each page with the cursor that resumes after it."""
        after = resume
        search = f"updated_at:>'{changed_since.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}'" if changed_since else None
        while True:
            variables = {"first": VARIANTS_PER_PAGE, "after": after, "query": search}
            page = self._graphql(CATALOG_QUERY, variables)["productVariants"]
            more = page["pageInfo"]["hasNextPage"]
            after = page["pageInfo"]["endCursor"]
            yield (
                [
                    StoreVariant(
                        product_id=legacy_id(node["product"]["id"]),
                        variant_id=legacy_id(node["id"]),
                        sku=(node.get("sku") or "").strip() or None,
                        product_title=node["product"]["title"],
                        variant_title="" if node["title"] == "Default Title" else node["title"],
                        vendor=(node["product"].get("vendor") or "").strip() or None,
                    )
                    for node in page["nodes"]
                    if node["product"].get("status") in SELLABLE_PRODUCT_STATUSES
                ],
                after if more else None,
            )
            if not more:
                return

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> PostedCopy:
        variables = order_create_variables(order, lines, source_key)
        data = self._graphql(ORDER_CREATE_MUTATION, variables, write=True)
        result = data["orderCreate"]
        if result["userErrors"]:
            problems = "; ".join(f"{'.'.join(e.get('field') or [])}: {e['message']}" for e in result["userErrors"])
            raise StoreRejected(f"Shopify orderCreate refused the order: {problems}")
        made = [
            (legacy_id((n.get("variant") or {}).get("id") or ""), legacy_id(n["id"])) for n in _nodes(result["order"])
        ]
        return PostedCopy(str(result["order"]["legacyResourceId"]), tuple(_line_ids(lines, made)))

    def order_state(self, order_id: str) -> SellerOrderState:
        found = self._graphql(ORDER_STATE_QUERY, {"id": _order_gid(order_id)})["order"]
        if found is None:
            raise StoreNotFound(f"Shopify has no order {order_id}")
        fulfilment = str(found.get("displayFulfillmentStatus") or "")
        parcels = tuple(_parcel(f) for f in found.get("fulfillments") or [] if f.get("status") == "SUCCESS")
        shipped = fulfilment in ("FULFILLED", "PARTIALLY_FULFILLED") or bool(parcels)
        return SellerOrderState(found.get("cancelledAt") is not None, shipped, fulfilment, parcels)

    def reduce_lines(self, order_id: str, quantities: Sequence[tuple[CopyLine, int]]) -> None:
        """Shopify's order editing: begin, set each line's quantity (restocked), commit (the end
        customer not emailed). A calculated line has its order line's number. Needs the
        write_order_edits scope."""
        begun = self._graphql(ORDER_EDIT_BEGIN_MUTATION, {"id": _order_gid(order_id)}, write=True)["orderEditBegin"]
        if begun["userErrors"]:
            raise StoreRejected(f"Shopify orderEditBegin refused: {_messages(begun['userErrors'])}")
        session = begun["calculatedOrder"]
        lines = [
            (legacy_id(n["id"]), legacy_id((n.get("variant") or {}).get("id") or ""), int(n.get("quantity") or 0))
            for n in session["lineItems"]["nodes"]
        ]
        for line_id, quantity in lines_to_change(order_id, quantities, lines):
            variables = {
                "id": session["id"],
                "lineItemId": f"gid://shopify/CalculatedLineItem/{line_id}",
                "quantity": quantity,
            }
            set_ = self._graphql(ORDER_EDIT_SET_QUANTITY_MUTATION, variables, write=True)["orderEditSetQuantity"]
            if set_["userErrors"]:
                raise StoreRejected(f"Shopify orderEditSetQuantity refused: {_messages(set_['userErrors'])}")
        variables = {"id": session["id"], "staffNote": "reduced as the buyer's order was (ordersync)"}
        done = self._graphql(ORDER_EDIT_COMMIT_MUTATION, variables, write=True)["orderEditCommit"]
        if done["userErrors"]:
            raise StoreRejected(f"Shopify orderEditCommit refused: {_messages(done['userErrors'])}")

    def copy_address(self, order_id: str) -> ShippingAddress | None:
        found = self._graphql(COPY_ADDRESS_QUERY, {"id": _order_gid(order_id)})["order"]
        if found is None:
            raise StoreNotFound(f"Shopify has no order {order_id}")
        return shipping_address_of(Platform.SHOPIFY, found.get("shippingAddress"))

    # --- buyer side: the seller's parcels ----------------------------------------------------
    def shipments(self, order_id: str) -> BuyerShipments:
        """The order's fulfilments (no room for our key: found by tracking number, or by lines and
        time after a lost answer) and what its open fulfillment orders leave to fulfil."""
        found = self._graphql(SHIPMENTS_QUERY, {"id": _order_gid(order_id)})["order"]
        if found is None:
            raise StoreNotFound(f"Shopify has no order {order_id}")
        shipments = tuple(
            BuyerShipment(
                legacy_id(f["id"]),
                next((t.get("number") for t in f.get("trackingInfo") or [] if t.get("number")), None),
                None,
                tuple(
                    (legacy_id(n["lineItem"]["id"]), int(n.get("quantity") or 0))
                    for n in f["fulfillmentLineItems"]["nodes"]
                ),
                timestamp(f["createdAt"]),
            )
            for f in found.get("fulfillments") or []
            if f.get("status") == "SUCCESS"
        )
        open_lines = tuple(_open_lines(found))
        left: dict[str, int] = {}
        for line_id, _, units in open_lines:
            left[line_id] = left.get(line_id, 0) + units
        waiting = _waiting_lines(found)
        for line_id, (units, _) in waiting.items():
            left[line_id] = left.get(line_id, 0) + units
        why = {line_id: words for line_id, (_, words) in waiting.items()}
        located = {fo["id"]: _location(fo) for fo in found["fulfillmentOrders"]["nodes"]}
        return BuyerShipments(shipments, left, open_lines, found.get("cancelledAt") is not None, why, located)

    def write_shipment(self, order_id: str, parcel: BuyerParcel, there: BuyerShipments | None = None) -> str:
        """fulfillmentCreate on the order's open fulfillment orders, for exactly the parcel's lines
        and units — one per location, as the mutation takes fulfillment orders "assigned to the same
        Location" (the ids joined by commas); a known carrier by Shopify's company name (it builds
        the link), any other by its name and tracking URL. Whether the customer is emailed is the
        buyer's setting (once per fulfilment). A location refused after another was written: the
        caller tries again (StoreUnavailable), finds the part written by its tracking or lines, and
        writes the rest."""
        there = there if there is not None else self.shipments(order_id)
        by_location: dict[str, dict[str, list[dict[str, Any]]]] = {}
        wanted = dict(parcel.lines)
        for line_id, (fulfillment_order, line_item), units in there.open_lines:
            take = min(wanted.get(line_id, 0), units)
            if take > 0:
                location = by_location.setdefault(there.locations.get(fulfillment_order, ""), {})
                location.setdefault(fulfillment_order, []).append({"id": line_item, "quantity": take})
                wanted[line_id] -= take
        short = {line_id: units for line_id, units in wanted.items() if units > 0}
        if short:  # held back by the shop (on hold, scheduled): it waits; anything else: refused
            waits = set(short) <= set(there.waiting)
            raise (BuyerOrderWaiting if waits else StoreRejected)(_why_short(short, there))
        made: list[str] = []
        for by_order in by_location.values():
            try:
                made.append(self._fulfil(by_order, parcel))
            except StoreRejected as refused:
                if not made:
                    raise
                raise StoreUnavailable(
                    f"fulfilment {', '.join(made)} written, the next location's refused: {refused}"
                ) from None
        return ",".join(made)

    def _fulfil(self, by_order: dict[str, list[dict[str, Any]]], parcel: BuyerParcel) -> str:
        fulfillment = {
            "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": items} for fo, items in by_order.items()
            ],
            "notifyCustomer": parcel.notify_customer,
            "trackingInfo": _tracking_input(parcel),
        }
        result = self._graphql(FULFILLMENT_CREATE_MUTATION, {"fulfillment": fulfillment}, write=True)[
            "fulfillmentCreate"
        ]
        if result["userErrors"]:
            raise StoreRejected(f"Shopify fulfillmentCreate refused the parcel: {_messages(result['userErrors'])}")
        return str(result["fulfillment"]["legacyResourceId"])

    def update_shipping_address(self, order_id: str, address: ShippingAddress) -> None:
        """orderUpdate with the new shippingAddress (Shopify recalculates nothing: no email, no money)."""
        variables = {"input": {"id": _order_gid(order_id), "shippingAddress": mailing_address(address)}}
        result = self._graphql(ORDER_UPDATE_MUTATION, variables, write=True)["orderUpdate"]
        if result["userErrors"]:
            raise StoreRejected(f"Shopify orderUpdate refused the address: {_messages(result['userErrors'])}")

    def add_note(self, order_id: str, text: str) -> None:
        """Appended to the order's note (staff-facing in the admin) with orderUpdate."""
        found = self._graphql(ORDER_NOTE_QUERY, {"id": _order_gid(order_id)})["order"]
        if found is None:
            raise StoreNotFound(f"Shopify has no order {order_id}")
        note = "\n".join(n for n in (str(found.get("note") or ""), text) if n)
        result = self._graphql(ORDER_UPDATE_MUTATION, {"input": {"id": _order_gid(order_id), "note": note}}, write=True)
        if result["orderUpdate"]["userErrors"]:
            raise StoreRejected(
                f"Shopify orderUpdate refused the note: {_messages(result['orderUpdate']['userErrors'])}"
            )

    def update_tracking(self, order_id: str, shipment_id: str, parcel: BuyerParcel) -> str:
        """fulfillmentTrackingInfoUpdate on the fulfilment we wrote (Shopify emails the customer the
        new number when notifyCustomer, as the buyer's setting says)."""
        for fulfillment_id in shipment_ids(shipment_id):  # a fulfilment per location the parcel spans
            variables = {
                "fulfillmentId": f"gid://shopify/Fulfillment/{int(fulfillment_id)}",
                "trackingInfoInput": _tracking_input(parcel),
                "notifyCustomer": parcel.notify_customer,
            }
            answer = self._graphql(FULFILLMENT_TRACKING_MUTATION, variables, write=True)
            result = answer["fulfillmentTrackingInfoUpdate"]
            if result["userErrors"]:
                raise StoreRejected(f"Shopify fulfillmentTrackingInfoUpdate refused: {_messages(result['userErrors'])}")
        return shipment_id

    def cancel_order(self, order_id: str) -> None:
        """orderCancel answers a job that cancels the order later (its refusals of the request come
        back at once): the job is polled until done, then the order read. Not cancelled then: the
        job failed (the mutation's own conditions: a pending payment authorisation, a return in
        progress, fulfilments that can't be cancelled, restocking to a deactivated location) —
        StoreRejected. Still running: StoreUnavailable, and the caller's next attempt reads the
        copy first."""
        variables = {"orderId": _order_gid(order_id), "staffNote": "cancelled by the buyer (ordersync)"}
        result = self._graphql(ORDER_CANCEL_MUTATION, variables, write=True)["orderCancel"]
        if result["orderCancelUserErrors"]:
            raise StoreRejected(f"Shopify orderCancel refused: {_messages(result['orderCancelUserErrors'])}")
        job = result.get("job")
        for wait in CANCEL_JOB_WAITS:
            if job is None or job.get("done"):
                break
            if not can_wait(wait):
                raise StoreUnavailable(f"Shopify's job cancelling order {order_id} is still running")
            time.sleep(wait)
            job = self._graphql(JOB_QUERY, {"id": job["id"]})["job"]
        else:
            if job is not None and not job.get("done"):
                raise StoreUnavailable(f"Shopify's job cancelling order {order_id} is still running")
        found = self._graphql(ORDER_CANCELLED_QUERY, {"id": _order_gid(order_id)})["order"]
        if found is None or found.get("cancelledAt") is None:
            raise StoreRejected(
                f"Shopify's cancellation job ended without cancelling order {order_id} (a pending payment"
                " authorisation, a return in progress, or a fulfilment that can't be cancelled)"
            )

    # --- webhooks ---------------------------------------------------------------------------
    def webhooks(self) -> list[WebhookSubscription]:
        found: list[WebhookSubscription] = []
        after: str | None = None
        while True:
            page = self._graphql(WEBHOOKS_QUERY, {"first": 100, "after": after})["webhookSubscriptions"]
            found += [WebhookSubscription(n["id"], n["topic"], n["uri"]) for n in page["nodes"]]
            after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
            if after is None:
                return found

    def subscribe(self, topic: str, url: str, secret: str) -> str:
        """`url`: the partner event source's ARN. Shopify signs nothing on that path (no secret)."""
        variables = {"topic": topic, "webhookSubscription": {"uri": url, "format": "JSON"}}
        result = self._graphql(WEBHOOK_CREATE_MUTATION, variables, write=True)["webhookSubscriptionCreate"]
        if result["userErrors"]:
            raise StoreRejected(f"Shopify refused the webhook subscription: {_messages(result['userErrors'])}")
        return str(result["webhookSubscription"]["id"])

    def unsubscribe(self, subscription_id: str) -> None:
        result = self._graphql(WEBHOOK_DELETE_MUTATION, {"id": subscription_id}, write=True)
        if result["webhookSubscriptionDelete"]["userErrors"]:
            raise StoreRejected(f"Shopify refused: {_messages(result['webhookSubscriptionDelete']['userErrors'])}")

    def shop_domain(self) -> str | None:
        return str(self._graphql(SHOP_DOMAIN_QUERY, {})["shop"]["myshopifyDomain"])

    def reactivate(self, subscription_id: str) -> None:
        """Shopify's subscriptions have no off state: one that exists delivers."""
        raise StoreRejected(f"Shopify subscription {subscription_id} has no state to change")

    # --- onboarding --------------------------------------------------------------------------
    def check_access(self) -> StoreAccess:
        """The shop's name and the access scopes the merchant granted the app."""
        data = self._graphql(ACCESS_QUERY, {})
        handles = [scope["handle"] for scope in data["currentAppInstallation"]["accessScopes"]]
        return StoreAccess(str(data["shop"]["name"]), granted_shopify_scopes(handles))

    # --- transport ---------------------------------------------------------------------------
    def _graphql(self, query: str, variables: dict[str, Any], write: bool = False) -> dict[str, Any]:
        for attempt in range(_MAX_ATTEMPTS):
            wait_in_place(self.pacer.wait_for(query), "Shopify's cost bucket")
            try:
                body = json_body(call(self._http, "POST", self._url, json={"query": query, "variables": variables}))
            except StoreUnavailable:
                # a mutation is never repeated blind (the caller looks first); a query, while there is time
                if write or attempt == _MAX_ATTEMPTS - 1 or not can_wait(_backoff(attempt)):
                    raise
                time.sleep(_backoff(attempt))
                continue
            self.pacer.observe(query, body)
            errors = body.get("errors") or []
            codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
            if "THROTTLED" in codes:
                wait_in_place(_throttle_wait(body), "Shopify's cost bucket")
                continue
            if "ACCESS_DENIED" in codes:  # a scope the merchant didn't grant: ops must fix the app
                raise StoreCredentialsError(f"Shopify denied access: {_messages(errors)}")
            if "MAX_COST_EXCEEDED" in codes:
                raise StoreRejected(f"Shopify refused a query as too expensive: {_messages(errors)}")
            if errors:
                raise StoreRejected(f"Shopify GraphQL error: {_messages(errors)}")
            return dict(body["data"])
        raise StoreThrottled("Shopify kept throttling the query", _throttle_wait(body))


def order_create_variables(order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> dict[str, Any]:
    """orderCreate's input. No currency: the seller's shop prices the lines from its own catalog in
    its own currency. Stock moves as for any sale (inventoryBehaviour; Shopify's default bypasses it)."""
    ship = order.shipping_address
    payload: dict[str, Any] = {
        "sourceIdentifier": source_key,
        "tags": [source_key],
        "note": f"Dropship order {order.order_number} (synced by ordersync)",
        "lineItems": [
            {"variantId": variant_gid(m.variant.variant_id), "quantity": m.line.quantity} for m in lines if m.variant
        ],
    }
    if ship is not None:
        payload["shippingAddress"] = mailing_address(ship)
    options = {"sendReceipt": False, "sendFulfillmentReceipt": False, "inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}
    return {"order": payload, "options": options, "lines": max(len(payload["lineItems"]), 1)}


def _tracking_input(parcel: BuyerParcel) -> dict[str, Any]:
    """A known carrier by Shopify's company name (it builds the link); any other by its name and URL."""
    carrier = carrier_named(parcel.carrier)
    tracking = {
        "company": carrier.shopify if carrier else parcel.carrier,
        "number": parcel.tracking_number,
        "url": parcel.tracking_url if parcel.tracking_number else None,
    }
    return {k: v for k, v in tracking.items() if v}


def mailing_address(ship: ShippingAddress) -> dict[str, Any]:
    """An address as orderCreate and orderUpdate take it (a country Shopify's enum lacks, by name)."""
    first, _, last = (ship.name or "").rpartition(" ")
    code = country_code(ship.country_code)
    return {
        "firstName": first or None,
        "lastName": last or None,
        "company": ship.company,
        "address1": ship.address1,
        "address2": ship.address2,
        "city": ship.city,
        "provinceCode": (ship.province_code or "").upper() or None,
        "zip": ship.postal_code,
        "countryCode": code,
        **({} if code or not ship.country_code else {"country": ship.country_code}),
        "phone": ship.phone,
    }


def _parcel(fulfillment: dict[str, Any]) -> Parcel:
    tracking: dict[str, Any] = next(iter(fulfillment.get("trackingInfo") or []), {})
    return Parcel(
        f"fulfillment-{legacy_id(fulfillment['id'])}",
        tuple(
            ParcelLine(
                legacy_id((n["lineItem"].get("variant") or {}).get("id") or "gid://shopify/ProductVariant/0"),
                int(n.get("quantity") or 0),
                legacy_id(n["lineItem"]["id"]),  # a variant deleted since leaves the line's id only
            )
            for n in fulfillment["fulfillmentLineItems"]["nodes"]
        ),
        carrier=tracking.get("company") or None,
        tracking_number=tracking.get("number") or None,
        tracking_url=tracking.get("url") or None,
        shipped_at=timestamp(fulfillment["createdAt"]),
    )


_OPEN = ("OPEN", "IN_PROGRESS")  # fulfillment orders that can take a fulfilment


def _waiting_lines(order: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """Buyer line id -> (units, why) of lines in fulfillment orders that can't be fulfilled now: on
    hold (the hold's reason and notes) or scheduled (until when)."""
    waiting: dict[str, tuple[int, str]] = {}
    for fulfillment_order in order["fulfillmentOrders"]["nodes"]:
        status = fulfillment_order.get("status")
        if status == "ON_HOLD":
            holds = fulfillment_order.get("fulfillmentHolds") or []
            reasons = ", ".join(
                str(h.get("reason")) + (f" ({h['reasonNotes']})" if h.get("reasonNotes") else "") for h in holds
            )
            words = f"on hold in the buyer's shop ({reasons or 'no reason given'})"
        elif status == "SCHEDULED":
            words = f"scheduled in the buyer's shop, fulfillable from {fulfillment_order.get('fulfillAt') or 'a later date'}"
        else:
            continue
        for line in fulfillment_order["lineItems"]["nodes"]:
            units = int(line.get("remainingQuantity") or 0)
            if units > 0:
                line_id = legacy_id(line["lineItem"]["id"])
                waiting[line_id] = (waiting.get(line_id, (0, words))[0] + units, words)
    return waiting


def _why_short(short: dict[str, int], there: BuyerShipments) -> str:
    """Why the shop can't take the parcel's units, as far as its fulfillment orders tell."""
    waiting = sorted({there.waiting[line_id] for line_id in short if line_id in there.waiting})
    if waiting:
        return f"Shopify can't fulfil line(s) {', '.join(sorted(short))} now: {'; '.join(waiting)}"
    seen = {line_id for line_id, _, _ in there.open_lines} | set(there.unfulfilled or {})
    unseen = sorted(line_id for line_id in short if line_id not in seen)
    if unseen and not any(s.lines for s in there.shipments if set(dict(s.lines)) & set(unseen)):
        return (
            f"line(s) {', '.join(unseen)} are in no fulfillment order the app can see (assigned to a fulfillment"
            " service's location?): grant the app read_third_party_fulfillment_orders and"
            " write_third_party_fulfillment_orders"
        )
    return f"Shopify's fulfillment orders leave too little to fulfil of line(s) {short}"


def _location(fulfillment_order: dict[str, Any]) -> str:
    """Where a fulfillment order is to be fulfilled: its location's id (its name where the location
    can't be read)."""
    assigned = fulfillment_order.get("assignedLocation") or {}
    return str((assigned.get("location") or {}).get("id") or assigned.get("name") or "")


def _open_lines(order: dict[str, Any]) -> Iterator[tuple[str, tuple[str, str], int]]:
    """(buyer line id, (fulfillment order id, its line item id), units left) of each open line."""
    for fulfillment_order in order["fulfillmentOrders"]["nodes"]:
        if fulfillment_order.get("status") not in _OPEN:
            continue
        for line in fulfillment_order["lineItems"]["nodes"]:
            if int(line.get("remainingQuantity") or 0) > 0:
                yield (
                    legacy_id(line["lineItem"]["id"]),
                    (fulfillment_order["id"], line["id"]),
                    int(line["remainingQuantity"]),
                )


def _nodes(order: dict[str, Any]) -> list[dict[str, Any]]:
    return list((order.get("lineItems") or {}).get("nodes") or [])


def _line_ids(lines: Sequence[LineMatch], made: Sequence[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """(buyer line id, the copy's line id): each posted line to the next line made of its variant."""
    left = list(made)
    for match in lines:
        if match.variant is None:
            continue
        found = next((made_line for made_line in left if made_line[0] == match.variant.variant_id), None)
        if found is not None:
            left.remove(found)
            yield match.line.line_id, found[1]


def _messages(errors: list[Any]) -> str:
    return "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in errors)[:500]


def _backoff(attempt: int) -> float:
    return float(os.environ.get("ORDERSYNC_HTTP_BACKOFF", "0.5")) * (2**attempt)


def _throttle_wait(body: dict[str, Any]) -> float:
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    needed = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
    rate = float(status.get("restoreRate") or 50) or 50.0
    return min(max(needed / rate, 0.05), _MAX_THROTTLE_WAIT)
