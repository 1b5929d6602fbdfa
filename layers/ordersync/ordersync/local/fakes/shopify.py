"""A fake Shopify shop speaking the GraphQL Admin API 2025-10 as Shopify publishes it: every
document is validated and executed against the real schema (tests/contracts/shopify), its cost is
computed by Shopify's rules and refused over 1,000, every answer carries `extensions.cost` from a
leaky bucket per shop, input arrays over 250 are refused, and an order created here becomes
searchable (`query:`) only after a lag, as Shopify's search index does."""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import zlib
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, execute_sync, parse, validate
from werkzeug.wrappers import Request, Response

from ordersync.local.contracts import shopify_admin_schema
from ordersync.local.fakes.server import FakeServer
from ordersync.local.fakes.shopify_cost import MAX_QUERY_COST, actual_cost, requested_cost
from ordersync.local.fakes.shopify_webhooks import ShopifyEventBridge

_MAX_PAGE = 250
MAX_INPUT_ARRAY = 250
STANDARD_BUCKET = 2000.0  # the Standard plan: 2,000 points, restoring 100 points/s
STANDARD_RESTORE_RATE = 100.0
PLUS_BUCKET, PLUS_RESTORE_RATE = 20_000.0, 1_000.0  # Shopify Plus: ten times the points, restored ten times faster


# The access scopes a merchant grants an app, and the one each root field we serve requires.
FULL_ACCESS = frozenset(
    {"read_orders", "write_orders", "read_products", "write_merchant_managed_fulfillment_orders", "write_order_edits"}
)
REQUIRED_SCOPE = {
    "orders": "read_orders",
    "order": "read_orders",
    "nodes": "read_products",  # our client asks nodes() for product variants only
    "productVariants": "read_products",
    "orderCreate": "write_orders",
    "orderCancel": "write_orders",
    "orderUpdate": "write_orders",
    "orderEditBegin": "write_order_edits",
    "orderEditSetQuantity": "write_order_edits",
    "orderEditCommit": "write_order_edits",
    "fulfillmentCreate": "write_merchant_managed_fulfillment_orders",
    "fulfillmentTrackingInfoUpdate": "write_merchant_managed_fulfillment_orders",
    # a subscription to an orders topic needs the orders read scope
    "webhookSubscriptions": "read_orders",
    "webhookSubscriptionCreate": "read_orders",
    "webhookSubscriptionDelete": "read_orders",
}


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"last": index}).encode()).decode()


def _index(cursor: str | None) -> int:
    return int(json.loads(base64.b64decode(cursor))["last"]) + 1 if cursor else 0


class LeakyBucket:
    """Shopify's per-app, per-shop cost bucket."""

    def __init__(self, size: float, restore_rate: float) -> None:
        self.size = size
        self.restore_rate = restore_rate
        self._available = size
        self._at = time.monotonic()
        self._lock = threading.Lock()
        # The least the bucket held after a query was paid: near empty when the shop's pace bound
        # its clients (they waited for it, or were refused), whether or not a query was refused.
        self.lowest = float(size)

    def _refill(self) -> None:
        now = time.monotonic()
        self._available = min(self.size, self._available + (now - self._at) * self.restore_rate)
        self._at = now

    def try_take(self, cost: float) -> bool:
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            self.lowest = min(self.lowest, self._available)
            return True

    def refund(self, points: float) -> None:
        with self._lock:
            self._available = min(self.size, self._available + points)

    def status(self) -> dict[str, float]:
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.size,
                "currentlyAvailable": round(self._available, 1),
                "restoreRate": self.restore_rate,
            }


@dataclass
class _CancelJob:
    order_id: str
    reason: str
    restock: bool
    runs_at: float  # time.monotonic()
    fails: bool
    done: bool = False


class FakeShopify:
    """One shop. Buyer side: its orders. Seller side: its products, variants and the orders created in it."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        *,
        bucket_size: float = STANDARD_BUCKET,
        restore_rate: float = STANDARD_RESTORE_RATE,
        search_lag_seconds: float = 2.0,
        currency: str = "USD",
        scopes: frozenset[str] = FULL_ACCESS,
        name: str | None = None,
    ) -> None:
        self.shop = shop
        self.name = name or shop
        self.access_token = access_token
        self.scopes = scopes  # what the merchant granted the app: a field outside them is ACCESS_DENIED
        self.currency = currency
        self.orders: dict[str, dict[str, Any]] = {}  # gid -> order node
        self.variants: dict[str, dict[str, Any]] = {}  # gid -> variant node
        self.bucket = LeakyBucket(bucket_size, restore_rate)
        self.search_lag_seconds = search_lag_seconds
        self.throttle_next = 0  # forced THROTTLED answers, whatever the bucket holds
        self.throttled = 0  # how many queries were refused for cost
        self._ids = itertools.count(5_000_000)
        self._lock = threading.Lock()
        self.jobs: dict[str, _CancelJob] = {}  # orderCancel's jobs, by id
        self.cancel_job_seconds = 0.2  # how long after orderCancel its job runs
        self.cancel_job_fails = False  # the next cancellation job ends without cancelling
        self.edits: dict[str, dict[str, Any]] = {}  # order-edit sessions (calculated orders), until committed
        self.events = ShopifyEventBridge(f"{shop}.myshopify.com")
        self.server = FakeServer(self._handle)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    # --- seeding -----------------------------------------------------------------------------------
    def add_variant(
        self,
        variant_id: int,
        sku: str,
        product_id: int,
        product_title: str,
        title: str,
        price: str,
        *,
        status: str = "ACTIVE",
        inventory: int = 100,
        vendor: str = "",
    ) -> None:
        """vendor: the product's (Product.vendor, a String! the merchant may leave empty)."""
        self.variants[gid("ProductVariant", variant_id)] = {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant_id),
            "legacyResourceId": str(variant_id),
            "sku": sku,
            "title": title,
            "price": price,
            "inventoryQuantity": inventory,
            "updatedAt": _now_iso(),
            "product": {
                "__typename": "Product",
                "id": gid("Product", product_id),
                "title": product_title,
                "status": status,
                "vendor": vendor,
            },
        }

    def set_product_status(self, product_id: int, status: str) -> None:
        for variant in self.variants.values():
            if variant["product"]["id"] == gid("Product", product_id):
                variant["product"]["status"] = status

    def set_variant_sku(self, variant_id: int, sku: str) -> None:
        """The merchant edits a variant's SKU: its updatedAt moves (a product's status does not)."""
        variant = self.variants[gid("ProductVariant", variant_id)]
        variant["sku"], variant["updatedAt"] = sku, _now_iso()

    def delete_variant(self, variant_id: int) -> None:
        """Gone from the catalog; the orders' lines of it keep their ids with a null `variant`, as
        the schema says of LineItem.variant ("null ... where the variant has been deleted")."""
        deleted = self.variants.pop(gid("ProductVariant", variant_id), None)
        for order in self.orders.values():
            for line in order["lineItems"]["nodes"]:
                if deleted is not None and line.get("variant") is deleted:
                    line["variant"] = None

    def add_order(self, node: dict[str, Any]) -> None:
        """A checkout: the order is saved, then orders/create goes to the subscriptions."""
        self.orders[node["id"]] = node
        self.events.deliver("ORDERS_CREATE", node)

    def cancel_order(self, order_id: int) -> None:
        """Cancelled in the admin: orders/cancelled and orders/updated go out."""
        node = self.orders[gid("Order", order_id)]
        node["cancelledAt"] = node["updatedAt"] = _now()
        self.events.deliver("ORDERS_CANCELLED", node)
        self.events.deliver("ORDERS_UPDATED", node)

    def hold_fulfillment(
        self, order_id: int, reason: str | None, notes: str | None = None, location: str | None = None
    ) -> None:
        """The merchant holds (reason, as FulfillmentHoldReason) or releases (None) the order's
        fulfillment orders — or only the one at `location`."""
        node = self.orders[gid("Order", order_id)]
        if location is None:
            node["_hold"] = (reason, notes) if reason else None
        else:
            node.setdefault("_location_holds", {})[location] = (reason, notes) if reason else None

    def schedule_fulfillment(self, order_id: int, fulfill_at: str | None) -> None:
        """A fulfillment order fulfillable only from `fulfill_at` (a pre-order; None: open now)."""
        self.orders[gid("Order", order_id)]["_fulfill_at"] = fulfill_at

    def assign_locations(self, order_id: int, locations: dict[int, str]) -> None:
        """The order's lines stocked at several of the shop's locations ({line index from 1: location
        name}; the others at the shop's first): a fulfillment order per location, as Shopify splits them."""
        node = self.orders[gid("Order", order_id)]
        nodes = node["lineItems"]["nodes"]
        node["_locations"] = {nodes[i - 1]["id"]: name for i, name in locations.items()}

    def mark_paid(self, order_id: int) -> None:
        """The payment is captured (a pending order paid): orders/updated goes out."""
        node = self.orders[gid("Order", order_id)]
        node["displayFinancialStatus"], node["updatedAt"] = "PAID", _now()
        self.events.deliver("ORDERS_UPDATED", node)

    def created_orders(self) -> list[dict[str, Any]]:
        """Orders created through orderCreate (the seller side)."""
        return [o for o in self.orders.values() if o.get("_created_by_api")]

    # --- resolvers -----------------------------------------------------------------------------------
    def _orders(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        query: str | None = None,
        sortKey: str | None = None,
        reverse: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        size = _page_size(first, last)
        now = time.monotonic()
        matching = [
            o
            for o in self.orders.values()
            if not query or (o.get("_searchable_at", 0.0) <= now and _matches(o, query))  # the index lags
            if self.server.listed(o["id"])
        ]
        key = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt"}.get(sortKey or "ID")
        matching.sort(
            key=lambda o: (o[key], int(o["legacyResourceId"])) if key else int(o["legacyResourceId"]), reverse=reverse
        )
        return _connection([_order_view(o) for o in matching], after, size)

    def _order(self, _info: Any, id: str) -> dict[str, Any] | None:
        order = self.orders.get(id)
        return _order_view(order) if order else None

    def _product_variants(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        query: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        matching = [v for v in self.variants.values() if not query or _matches(v, query)]
        return _connection(sorted(matching, key=lambda v: int(v["legacyResourceId"])), after, _page_size(first, last))

    def _nodes(self, _info: Any, ids: list[str]) -> list[dict[str, Any] | None]:
        found = [self.variants.get(i) or self.orders.get(i) for i in ids]
        return [_order_view(n) if n and n.get("__typename") == "Order" else n for n in found]

    def _order_create(self, _info: Any, order: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
        errors = []
        lines = []
        for index, item in enumerate(order.get("lineItems") or []):
            variant = self.variants.get(str(item.get("variantId")))
            if variant is None:
                errors.append(
                    {
                        "field": ["order", "lineItems", str(index), "variantId"],
                        "message": "Variant not found",
                        "code": "INVALID",
                    }
                )
                continue
            lines.append((variant, int(item["quantity"])))
        if not lines and not errors:
            errors.append({"field": ["order", "lineItems"], "message": "Line items can't be blank", "code": "INVALID"})
        if errors:
            return {"order": None, "userErrors": errors}
        behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"  # Shopify's default
        if behaviour != "BYPASS":
            for variant, units in lines:
                variant["inventoryQuantity"] = int(variant.get("inventoryQuantity") or 0) - units
        with self._lock:
            number = next(self._ids)
        ship = order.get("shippingAddress")
        currency = order.get("currency") or self.currency
        node = order_node(
            number,
            f"#{number}",
            [(v["sku"], _line_name(v), qty, v["price"]) for v, qty in lines],
            None if ship is None else _stored_address(ship),
            currency=currency,
            source="shopify_draft_order",
            tags=list(order.get("tags") or []),
        )
        for line, (variant, _) in zip(node["lineItems"]["nodes"], lines, strict=True):
            line["variant"] = variant  # an order created from variants knows them
        node.update(
            note=order.get("note"),
            sourceIdentifier=order.get("sourceIdentifier"),
            _created_by_api=True,
            _inventory_behaviour=behaviour,
            _searchable_at=time.monotonic() + self.search_lag_seconds,
        )
        self.orders[node["id"]] = node
        self.server.created(node["id"])
        self.events.deliver("ORDERS_CREATE", node)  # an order made by the API is announced as a checkout's
        return {"order": _order_view(node), "userErrors": []}

    def _order_cancel(self, _info: Any, orderId: str, reason: str, restock: bool, **kwargs: Any) -> dict[str, Any]:
        """orderCancel: the request checked at once, the cancellation a job run `cancel_job_seconds`
        later, on the shop's own time (a timer) or when it is next asked anything, whichever comes
        first; `cancel_job_fails` makes the next job end without cancelling, as the mutation's
        conditions say it may."""
        assert "refund" not in kwargs, "refund is deprecated: use refundMethod"
        order = self.orders.get(orderId)
        refused = None
        if order is None:
            refused = {"field": ["orderId"], "message": "Order does not exist", "code": "NOT_FOUND"}
        elif order.get("cancelledAt"):
            refused = {"field": ["orderId"], "message": "Order has already been cancelled", "code": "INVALID"}
        if refused:
            return {"job": None, "orderCancelUserErrors": [refused], "userErrors": [refused]}
        with self._lock:
            job = gid("Job", next(self._ids))
            fails, self.cancel_job_fails = self.cancel_job_fails, False
            self.jobs[job] = _CancelJob(orderId, reason, restock, time.monotonic() + self.cancel_job_seconds, fails)
        self._run_due_jobs()
        timer = threading.Timer(self.cancel_job_seconds + 0.01, self._run_due_jobs)
        timer.daemon = True
        timer.start()
        return {"job": {"id": job, "done": self.jobs[job].done}, "orderCancelUserErrors": [], "userErrors": []}

    def _run_due_jobs(self) -> None:
        with self._lock:
            due = [job for job in self.jobs.values() if not job.done and job.runs_at <= time.monotonic()]
            for job in due:
                job.done = True
        for job in due:
            if not job.fails:
                self._cancel_now(self.orders[job.order_id], job.reason, job.restock)

    def _cancel_now(self, order: dict[str, Any], reason: str, restock: bool) -> None:
        """The job's work: the order cancelled, its stock back when `restock`."""
        order["cancelledAt"] = order["updatedAt"] = _now()
        order["cancelReason"] = reason
        if restock and order.get("_inventory_behaviour") != "BYPASS":
            for line in order["lineItems"]["nodes"]:
                for variant in self.variants.values():
                    if variant["sku"] == line["sku"]:
                        variant["inventoryQuantity"] = int(variant.get("inventoryQuantity") or 0) + line["quantity"]
        self.events.deliver("ORDERS_CANCELLED", order)  # as a cancellation in the admin
        self.events.deliver("ORDERS_UPDATED", order)

    def _job(self, _info: Any, id: str) -> dict[str, Any] | None:
        """job(id:): done once it has run (an unknown id: null)."""
        job = self.jobs.get(id)
        return None if job is None else {"id": id, "done": job.done}

    def _order_update(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        """orderUpdate: the fields given replace the order's (here its shipping address)."""
        order = self.orders.get(str(input.get("id")))
        if order is None:
            return {"order": None, "userErrors": [{"field": ["id"], "message": "Order does not exist"}]}
        ship = input.get("shippingAddress")
        if ship is not None:
            order["shippingAddress"] = _stored_address(ship)
        if input.get("note") is not None:
            order["note"] = input["note"]
        order["updatedAt"] = _now()
        self.events.deliver("ORDERS_UPDATED", order)
        return {"order": _order_view(order), "userErrors": []}

    # --- order editing: a session (a calculated order) of staged quantities, applied on commit ---------
    def _order_edit_begin(self, _info: Any, id: str) -> dict[str, Any]:
        order = self.orders.get(id)
        if order is None:
            return {"calculatedOrder": None, "userErrors": [{"field": ["id"], "message": "Order does not exist"}]}
        if order.get("cancelledAt"):
            return {"calculatedOrder": None, "userErrors": [{"field": ["id"], "message": "Order cannot be edited"}]}
        with self._lock:
            session = gid("CalculatedOrder", next(self._ids))
        self.edits[session] = {"order": id, "quantities": {}}
        return {"calculatedOrder": self._calculated(session), "userErrors": []}

    def _calculated(self, session: str) -> dict[str, Any]:
        edit = self.edits[session]
        nodes = self.orders[edit["order"]]["lineItems"]["nodes"]
        lines = [
            {
                "id": gid("CalculatedLineItem", _legacy(line["id"])),
                "quantity": edit["quantities"].get(line["id"], line.get("currentQuantity", line["quantity"])),
                "variant": line.get("variant"),
                "sku": line.get("sku"),
                "title": line.get("title") or line.get("name") or "",
            }
            for line in nodes
        ]
        return {"id": session, "committed": False, "lineItems": _connection(lines, None, _MAX_PAGE)}

    def _order_edit_set_quantity(
        self, _info: Any, id: str, lineItemId: str, quantity: int, restock: bool | None = None, **_: Any
    ) -> dict[str, Any]:
        edit = self.edits.get(id)
        if edit is None:
            return {"calculatedLineItem": None, "userErrors": [{"field": ["id"], "message": "Edit session not found"}]}
        line_id = gid("LineItem", _legacy(lineItemId))
        line = next((n for n in self.orders[edit["order"]]["lineItems"]["nodes"] if n["id"] == line_id), None)
        if line is None or quantity < 0:
            message = "Line item not found" if line is None else "Quantity must be 0 or greater"
            return {"calculatedLineItem": None, "userErrors": [{"field": ["lineItemId"], "message": message}]}
        shipped = line["quantity"] - _unfulfilled(self.orders[edit["order"]])[line_id]
        if quantity < shipped:
            message = "Cannot reduce the quantity below the fulfilled quantity"
            return {"calculatedLineItem": None, "userErrors": [{"field": ["quantity"], "message": message}]}
        edit["quantities"][line_id] = quantity
        calculated = self._calculated(id)
        item = next(n for n in calculated["lineItems"]["nodes"] if _legacy(n["id"]) == _legacy(line_id))
        return {"calculatedLineItem": item, "calculatedOrder": calculated, "userErrors": []}

    def _order_edit_commit(
        self, _info: Any, id: str, notifyCustomer: bool | None = None, staffNote: str | None = None, **_: Any
    ) -> dict[str, Any]:
        edit = self.edits.pop(id, None)
        if edit is None:
            return {"order": None, "userErrors": [{"field": ["id"], "message": "Edit session not found"}]}
        order = self.orders[edit["order"]]
        for line in order["lineItems"]["nodes"]:
            if line["id"] in edit["quantities"]:
                line["currentQuantity"] = edit["quantities"][line["id"]]
        order["updatedAt"] = _now()
        order["_edit_notified_customer"] = bool(notifyCustomer)  # what the test reads: was the customer emailed
        self.events.deliver("ORDERS_UPDATED", order)
        return {"order": _order_view(order), "userErrors": []}

    def fulfil(
        self,
        order_id: int,
        partly: bool = False,
        lines: dict[int, int] | None = None,
        tracking: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> str:
        """The shop ships (some of) the order in its admin: a fulfilment of `lines` ({line item
        index from 1: units}; all that is left when None) with (company, number, url)."""
        node = self.orders[gid("Order", order_id)]
        left = _unfulfilled(node)
        nodes = node["lineItems"]["nodes"]
        wanted = {nodes[i - 1]["id"]: units for i, units in lines.items()} if lines else dict(left)
        if partly and lines is None:  # half of the first line
            first = nodes[0]["id"]
            wanted = {first: max(left.get(first, 0) // 2, 1)}
        return self._fulfil(node, wanted, tracking, notify=False)

    def _fulfil(
        self,
        node: dict[str, Any],
        wanted: dict[str, int],
        tracking: tuple[str | None, str | None, str | None],
        notify: bool,
    ) -> str:
        with self._lock:
            number = next(self._ids)
        company, tracking_number, url = tracking
        fulfillment = {
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", number),
            "legacyResourceId": str(number),
            "name": f"{node['name']}-F{len(node.get('fulfillments') or []) + 1}",
            "createdAt": _now(),
            "status": "SUCCESS",
            "_tracking": [{"company": company, "number": tracking_number, "url": url}]
            if tracking_number or company
            else [],
            "_lines": [
                {
                    "quantity": units,
                    "lineItem": next(line for line in node["lineItems"]["nodes"] if line["id"] == line_id),
                }
                for line_id, units in wanted.items()
                if units > 0
            ],
            "_notified": notify,
        }
        node.setdefault("fulfillments", []).append(fulfillment)
        left = _unfulfilled(node)
        node["displayFulfillmentStatus"] = "FULFILLED" if not any(left.values()) else "PARTIALLY_FULFILLED"
        node["updatedAt"] = _now()
        self.events.deliver("FULFILLMENTS_CREATE", node, fulfillment)
        return str(number)

    def _fulfillment_create(self, _info: Any, fulfillment: dict[str, Any], **_: Any) -> dict[str, Any]:
        """fulfillmentCreate: every fulfillment order named must be open, the order's and at one
        location (the mutation takes those "assigned to the same Location"); each line item its
        own, for no more than it has left; the order's fulfillments then hold it."""
        groups = fulfillment.get("lineItemsByFulfillmentOrder") or []
        found = [self._fulfillment_order(str(g.get("fulfillmentOrderId"))) for g in groups]
        orders = {f[0] if f else None for f in found}
        if not groups or None in orders or len(orders) != 1:
            message = "Fulfillment order does not exist." if None in orders else "Invalid fulfillment order line items."
            return {"fulfillment": None, "userErrors": [{"field": ["fulfillment"], "message": message}]}
        if len({f[1]["location"] for f in found if f}) != 1:
            message = "All fulfillment orders must be assigned to a single location."
            return {"fulfillment": None, "userErrors": [{"field": ["fulfillment"], "message": message}]}
        node = self.orders[orders.pop()]  # type: ignore[index]
        left = _unfulfilled(node)
        if node.get("cancelledAt") or not any(left[line] for f in found if f for line in f[1]["lines"]):
            message = "Fulfillment order has an unfulfillable status= closed."
            return {"fulfillment": None, "userErrors": [{"field": ["fulfillment"], "message": message}]}
        held = any(_hold_of(node, f[1]) for f in found if f)
        if held or node.get("_fulfill_at"):  # only OPEN and IN_PROGRESS take a fulfilment
            state = "on_hold" if held else "scheduled"
            message = f"Fulfillment order has an unfulfillable status= {state}."
            return {"fulfillment": None, "userErrors": [{"field": ["fulfillment"], "message": message}]}
        wanted: dict[str, int] = {}
        for group, (_order_id, fulfillment_order) in zip(groups, [f for f in found if f], strict=True):
            own = {line: units for line, units in left.items() if line in fulfillment_order["lines"]}
            items = group.get("fulfillmentOrderLineItems")
            chosen: list[dict[str, Any]] = (
                items if items is not None else [{"id": _fo_line_gid(k), "quantity": v} for k, v in own.items() if v]
            )
            for item in chosen:
                line_id = _line_of_fo_line(str(item["id"]))
                units = int(item["quantity"])
                if line_id not in own or units <= 0 or wanted.get(line_id, 0) + units > own[line_id]:
                    message = "Invalid fulfillment order line item quantity requested."
                    return {"fulfillment": None, "userErrors": [{"field": ["fulfillment"], "message": message}]}
                wanted[line_id] = wanted.get(line_id, 0) + units
        info = fulfillment.get("trackingInfo") or {}
        if info.get("url") and not info.get("number"):
            message = "Tracking number must be present when a tracking url is provided."
            return {"fulfillment": None, "userErrors": [{"field": ["fulfillment", "trackingInfo"], "message": message}]}
        number = self._fulfil(
            node,
            wanted,
            (info.get("company"), info.get("number"), info.get("url")),
            bool(fulfillment.get("notifyCustomer")),
        )
        return {"fulfillment": _fulfillment_view(node["fulfillments"][-1]), "userErrors": [], "_number": number}

    def _tracking_update(
        self, _info: Any, fulfillmentId: str, trackingInfoInput: dict[str, Any], notifyCustomer: bool | None = None
    ) -> dict[str, Any]:
        """fulfillmentTrackingInfoUpdate: the fulfilment's tracking replaced; the customer told again when asked."""
        found = self._fulfillment(fulfillmentId)
        if found is None:
            return {
                "fulfillment": None,
                "userErrors": [{"field": ["fulfillmentId"], "message": "Fulfillment not found."}],
            }
        node, fulfillment = found
        info = trackingInfoInput
        if info.get("url") and not info.get("number"):
            message = "Tracking number must be present when a tracking url is provided."
            return {"fulfillment": None, "userErrors": [{"field": ["trackingInfoInput"], "message": message}]}
        fulfillment["_tracking"] = [
            {"company": info.get("company"), "number": info.get("number"), "url": info.get("url")}
        ]
        fulfillment["_tracking_updates"] = fulfillment.get("_tracking_updates", 0) + 1
        fulfillment["_notified"] = fulfillment["_notified"] or bool(notifyCustomer)
        node["updatedAt"] = _now()
        return {"fulfillment": _fulfillment_view(fulfillment), "userErrors": []}

    def correct_tracking(
        self, order_id: int, tracking: tuple[str | None, str | None, str | None], index: int = 0
    ) -> None:
        """The shop's staff change a fulfilment's tracking in the admin: fulfillments/update goes out."""
        node = self.orders[gid("Order", order_id)]
        fulfillment = node["fulfillments"][index]
        company, number, url = tracking
        fulfillment["_tracking"] = [{"company": company, "number": number, "url": url}]
        node["updatedAt"] = _now()
        self.events.deliver("FULFILLMENTS_UPDATE", node, fulfillment)

    def _fulfillment(self, fulfillment_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for node in self.orders.values():
            for fulfillment in node.get("fulfillments") or []:
                if fulfillment["id"] == fulfillment_id:
                    return node, fulfillment
        return None

    def _fulfillment_order(self, fulfillment_order_id: str) -> tuple[str, dict[str, Any]] | None:
        """(the order's id, the fulfillment order) of an id, or None."""
        for order_id, node in self.orders.items():
            for fulfillment_order in fulfillment_orders_of(node):
                if fulfillment_order["id"] == fulfillment_order_id:
                    return order_id, fulfillment_order
        return None

    def notified_fulfilments(self, order_id: int) -> int:
        """How many shipping confirmations the shop sent its customer for the order."""
        return sum(1 for f in self.orders[gid("Order", order_id)].get("fulfillments") or [] if f["_notified"])

    def _scoped(self, field: str, resolve: Any) -> Any:
        """Shopify answers a field the app's scopes don't cover with ACCESS_DENIED (write_x covers read_x)."""
        required = REQUIRED_SCOPE[field]

        def resolver(*args: Any, **kwargs: Any) -> Any:
            granted = self.scopes | {"read_" + s.removeprefix("write_") for s in self.scopes if s.startswith("write_")}
            if required not in granted:
                access = f"`{required}` access scope."
                raise GraphQLError(
                    f"Access denied for {field} field. Required access: {access}",
                    extensions={
                        "code": "ACCESS_DENIED",
                        "documentation": "https://shopify.dev/api/usage/access-scopes",
                        "requiredAccess": access,
                    },
                )
            return resolve(*args, **kwargs)

        return resolver

    # --- HTTP ----------------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        if not re.fullmatch(r"/admin/api/2025-10/graphql\.json", request.path) or request.method != "POST":
            return Response('{"errors": "Not Found"}', 404, content_type="application/json")
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            refused = '{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}'
            return Response(refused, 401, content_type="application/json")
        self._run_due_jobs()  # the shop's background work goes on whatever is asked
        try:
            payload = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return _answer({"errors": [{"message": "Invalid JSON in request body"}]}, status=400)
        variables = payload.get("variables") or {}
        try:
            document = parse(payload.get("query") or "")
        except GraphQLError as error:
            return _answer({"errors": [_error(error, "PARSE_ERROR")]})
        schema = shopify_admin_schema()
        problems = validate(schema, document)
        if problems:
            return _answer({"errors": [_error(e, "GRAPHQL_VALIDATION_FAILED") for e in problems]})
        oversized = _oversized_array(variables)
        if oversized:
            message = f"The input array size of {oversized} is greater than the maximum allowed of {MAX_INPUT_ARRAY}."
            return _answer({"errors": [{"message": message, "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"}}]})
        try:
            requested = requested_cost(schema, document, variables)
        except GraphQLError as error:  # a variable of the wrong type
            return _answer({"errors": [_error(error, "BAD_REQUEST")]})
        if requested > MAX_QUERY_COST:
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\n"
                "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
                "cost of a query is calculated."
            )
            code = {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST}
            return _answer({"errors": [{"message": message, "extensions": code}]})
        if self.throttle_next > 0 or not self.bucket.try_take(requested):
            self.throttle_next = max(self.throttle_next - 1, 0)
            self.throttled += 1
            cost = {"requestedQueryCost": requested, "actualQueryCost": None, "throttleStatus": self.bucket.status()}
            throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
            return _answer({**throttled, "extensions": {"cost": cost}})
        root = {
            "orders": self._scoped("orders", self._orders),
            "order": self._scoped("order", self._order),
            "nodes": self._scoped("nodes", self._nodes),
            "productVariants": self._scoped("productVariants", self._product_variants),
            "orderCreate": self._scoped("orderCreate", self._order_create),
            "orderCancel": self._scoped("orderCancel", self._order_cancel),
            "job": self._job,
            "orderUpdate": self._scoped("orderUpdate", self._order_update),
            "orderEditBegin": self._scoped("orderEditBegin", self._order_edit_begin),
            "orderEditSetQuantity": self._scoped("orderEditSetQuantity", self._order_edit_set_quantity),
            "orderEditCommit": self._scoped("orderEditCommit", self._order_edit_commit),
            "fulfillmentCreate": self._scoped("fulfillmentCreate", self._fulfillment_create),
            "fulfillmentTrackingInfoUpdate": self._scoped("fulfillmentTrackingInfoUpdate", self._tracking_update),
            "webhookSubscriptions": self._scoped("webhookSubscriptions", self.events.list),
            "webhookSubscriptionCreate": self._scoped("webhookSubscriptionCreate", self.events.create),
            "webhookSubscriptionDelete": self._scoped("webhookSubscriptionDelete", self.events.delete),
            "shop": lambda _info: {"name": self.name, "myshopifyDomain": f"{self.shop}.myshopify.com"},
            "currentAppInstallation": lambda _info: {"accessScopes": [{"handle": h} for h in sorted(self.scopes)]},
        }
        result = execute_sync(schema, document, root_value=root, variable_values=variables)
        actual = actual_cost(schema, document, variables, result.data) if result.data else requested
        self.bucket.refund(max(requested - actual, 0))  # charged the actual cost, as Shopify does
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [
                _error(e, (e.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")) for e in result.errors
            ]
        cost = {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": self.bucket.status()}
        body["extensions"] = {"cost": cost}
        return _answer(body)


def _page_size(first: int | None, last: int | None) -> int:
    size = first if first is not None else last
    if size is None:
        raise GraphQLError("you must provide one of first or last")
    if size > _MAX_PAGE:
        raise GraphQLError(f"The maximum page size is {_MAX_PAGE}.")
    return size


def _oversized_array(value: Any) -> int:
    if isinstance(value, list):
        return len(value) if len(value) > MAX_INPUT_ARRAY else max((_oversized_array(v) for v in value), default=0)
    if isinstance(value, dict):
        return max((_oversized_array(v) for v in value.values()), default=0)
    return 0


def _error(error: GraphQLError, code: str) -> dict[str, Any]:
    shaped: dict[str, Any] = {"message": error.message, "extensions": {**(error.extensions or {}), "code": code}}
    if error.locations:
        shaped["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        shaped["path"] = list(error.path)
    return shaped


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status, content_type="application/json")


def _order_view(order: dict[str, Any]) -> dict[str, Any]:
    """An order as the resolvers see it: its line items a connection with its own paging; its
    fulfilments; one fulfillment order (the shop's one location) with what is left to fulfil."""
    nodes = order["lineItems"]["nodes"]

    def line_items(_info: Any, first: int | None = None, after: str | None = None, last: int | None = None, **_: Any):
        return _connection(nodes, after, _page_size(first, last))

    def fulfillments(_info: Any, first: int | None = None, **_: Any) -> list[dict[str, Any]]:
        return [_fulfillment_view(f) for f in (order.get("fulfillments") or [])[: first or 250]]

    def fulfillment_orders(
        _info: Any, first: int | None = None, after: str | None = None, last: int | None = None, **_: Any
    ):
        views = [_fulfillment_order_view(order, f) for f in fulfillment_orders_of(order)]
        return _connection(views, after, _page_size(first, last))

    return {**order, "lineItems": line_items, "fulfillments": fulfillments, "fulfillmentOrders": fulfillment_orders}


FIRST_LOCATION = "Shop location"


def fulfillment_orders_of(order: dict[str, Any]) -> list[dict[str, Any]]:
    """One fulfillment order per location the order's lines are at, in the order of its lines; the
    first has the order's number, any other the order's number times 1000 plus its place."""
    located = order.get("_locations") or {}
    by_location: dict[str, list[str]] = {}
    for line in order["lineItems"]["nodes"]:
        by_location.setdefault(located.get(line["id"], FIRST_LOCATION), []).append(line["id"])
    legacy = int(order["legacyResourceId"])
    return [
        {
            "id": gid("FulfillmentOrder", legacy if place == 0 else legacy * 1000 + place),
            "location": name,
            "lines": lines,
        }
        for place, (name, lines) in enumerate(by_location.items())
    ]


def _hold_of(order: dict[str, Any], fulfillment_order: dict[str, Any]) -> tuple[str, str | None] | None:
    hold: tuple[str, str | None] | None = order.get("_hold") or (order.get("_location_holds") or {}).get(
        fulfillment_order["location"]
    )
    return hold


def _fulfillment_order_view(order: dict[str, Any], fulfillment_order: dict[str, Any]) -> dict[str, Any]:
    """A fulfillment order as the resolvers see it: CLOSED once its lines are all fulfilled (or the
    order cancelled), IN_PROGRESS once some are, ON_HOLD or SCHEDULED as the merchant set it."""
    left = {line: units for line, units in _unfulfilled(order).items() if line in fulfillment_order["lines"]}
    touched = any(
        line["lineItem"]["id"] in fulfillment_order["lines"]
        for f in order.get("fulfillments") or []
        for line in f["_lines"]
    )
    status = "CLOSED" if not any(left.values()) else ("IN_PROGRESS" if touched else "OPEN")
    if order.get("cancelledAt"):
        status = "CLOSED"
    hold, fulfill_at = _hold_of(order, fulfillment_order), order.get("_fulfill_at")
    if status != "CLOSED" and hold:
        status = "ON_HOLD"
    elif status == "OPEN" and fulfill_at:
        status = "SCHEDULED"
    fo_lines = [
        {"id": _fo_line_gid(line["id"]), "remainingQuantity": left[line["id"]], "totalQuantity": line["quantity"],
         "lineItem": line}
        for line in order["lineItems"]["nodes"]
        if line["id"] in fulfillment_order["lines"]
    ]  # fmt: skip

    def fo_line_items(
        _info: Any, first: int | None = None, after: str | None = None, last: int | None = None, **_: Any
    ):
        return _connection(fo_lines, after, _page_size(first, last))

    name = fulfillment_order["location"]
    return {
        "id": fulfillment_order["id"],
        "status": status,
        "fulfillAt": fulfill_at,
        "fulfillmentHolds": [{"reason": hold[0], "reasonNotes": hold[1]}] if hold else [],
        "assignedLocation": {"name": name, "location": {"id": gid("Location", zlib.crc32(name.encode()))}},
        "lineItems": fo_line_items,
    }


def _stored_address(ship: dict[str, Any]) -> dict[str, Any]:
    """A MailingAddressInput as the order's shippingAddress then reads."""
    return {
        "name": " ".join(p for p in (ship.get("firstName"), ship.get("lastName")) if p),
        "company": ship.get("company"),
        "address1": ship.get("address1"),
        "address2": ship.get("address2"),
        "city": ship.get("city"),
        "provinceCode": ship.get("provinceCode"),
        "zip": ship.get("zip"),
        "countryCodeV2": ship.get("countryCode"),
        "phone": ship.get("phone"),
    }


def _fulfillment_view(fulfillment: dict[str, Any]) -> dict[str, Any]:
    lines = fulfillment["_lines"]

    def tracking_info(_info: Any, first: int | None = None, **_: Any) -> list[dict[str, Any]]:
        return fulfillment["_tracking"][: first or 250]

    def line_items(_info: Any, first: int | None = None, after: str | None = None, last: int | None = None, **_: Any):
        return _connection(lines, after, _page_size(first, last))

    return {**fulfillment, "trackingInfo": tracking_info, "fulfillmentLineItems": line_items}


def _unfulfilled(order: dict[str, Any]) -> dict[str, int]:
    """Each line item's units not yet in a successful fulfilment."""
    left = {line["id"]: int(line.get("currentQuantity", line["quantity"])) for line in order["lineItems"]["nodes"]}
    for fulfillment in order.get("fulfillments") or []:
        if fulfillment["status"] == "SUCCESS":
            for line in fulfillment["_lines"]:
                left[line["lineItem"]["id"]] -= int(line["quantity"])
    return left


def _legacy(global_id: str) -> str:
    return global_id.rsplit("/", 1)[-1]


def _fo_line_gid(line_item_gid: str) -> str:
    return gid("FulfillmentOrderLineItem", line_item_gid.rsplit("/", 1)[-1])


def _line_of_fo_line(fo_line_gid: str) -> str:
    return gid("LineItem", fo_line_gid.rsplit("/", 1)[-1])


def _connection(items: list[dict[str, Any]], after: str | None, size: int) -> dict[str, Any]:
    """A GraphQL connection page: edges, nodes and pageInfo with opaque cursors."""
    start = _index(after)
    page = items[start : start + size]
    return {
        "edges": [{"cursor": _cursor(start + i), "node": node} for i, node in enumerate(page)],
        "nodes": page,
        "pageInfo": {
            "hasNextPage": start + size < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if page else None,
            "endCursor": _cursor(start + len(page) - 1) if page else None,
        },
    }


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _matches(order: dict[str, Any], query: str) -> bool:
    """The subset of Shopify's search syntax ordersync uses: updated_at:>=, created_at:>=, tag:
    (on orders, and updated_at on variants)."""
    for field, op, value in re.findall(r"(\w+):(>=|<=|>|<)?'?([^'\s]+)'?", query):
        if field in ("updated_at", "created_at"):
            stored = datetime.fromisoformat(
                order["updatedAt" if field == "updated_at" else "createdAt"].replace("Z", "+00:00")
            )
            bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if not {
                ">=": stored >= bound,
                ">": stored > bound,
                "<=": stored <= bound,
                "<": stored < bound,
                "": stored == bound,
            }[op]:
                return False
        elif field == "tag" and value not in order.get("tags", []):
            return False
    return True


def _line_name(variant: dict[str, Any]) -> str:
    """A line's name: its product's title, and its variant's unless that is the lone "Default Title"."""
    title = variant["product"]["title"]
    return title if variant["title"] == "Default Title" else f"{title} - {variant['title']}"


def buyer_variant_id(sku: str) -> int:
    """The retailer's variant of a product it lists under this SKU, the same in every fake order
    (a stand-in for the buyer's catalog: a renamed SKU is another variant here)."""
    return 700_000_000 + zlib.crc32(sku.encode()) % 100_000_000


def order_node(
    number: int,
    name: str,
    lines: list[tuple[str | None, str, int, str]],
    shipping: dict[str, Any] | None,
    *,
    currency: str = "USD",
    source: str = "web",
    tags: list[str] | None = None,
    test: bool = False,
    cancelled: bool = False,
    email: str | None = None,
    created_at: str | None = None,
    financial_status: str = "PAID",
) -> dict[str, Any]:
    """A GraphQL Admin API order node, as Shopify returns it. lines: (sku, title, quantity, unit price)."""
    moment = created_at or _now()
    return {
        "__typename": "Order",
        "id": gid("Order", number),
        "legacyResourceId": str(number),
        "name": name,
        "createdAt": moment,
        "updatedAt": moment,
        "currencyCode": currency,
        "email": email,
        "test": test,
        "sourceName": source,
        "cancelledAt": moment if cancelled else None,
        "displayFinancialStatus": financial_status,
        "displayFulfillmentStatus": "UNFULFILLED",
        "tags": tags or [],
        "note": None,
        "sourceIdentifier": None,
        "shippingAddress": deepcopy(shipping),
        "lineItems": {
            "nodes": [
                {
                    "__typename": "LineItem",
                    "id": gid("LineItem", number * 100 + index),
                    "sku": sku,
                    "title": title,
                    "name": title,
                    "quantity": quantity,
                    "currentQuantity": quantity,
                    "requiresShipping": True,
                    "isGiftCard": False,
                    "originalUnitPriceSet": {
                        "shopMoney": {"amount": price, "currencyCode": currency},
                        "presentmentMoney": {"amount": price, "currencyCode": currency},
                    },
                    # the retailer's listing of the product (a custom item, with no SKU, has none)
                    "variant": {"id": gid("ProductVariant", buyer_variant_id(sku))} if sku else None,
                }
                for index, (sku, title, quantity, price) in enumerate(lines, start=1)
            ],
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None, "startCursor": None},
        },
    }
