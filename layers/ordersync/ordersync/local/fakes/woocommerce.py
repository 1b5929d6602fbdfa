"""A fake WooCommerce store speaking REST API v3 as the plugin's source implements it
(tests/contracts/woocommerce/FACTS.md): line prices as float numbers, refunds at their own endpoint,
HPOS order search over the address index only, products with a status (trash and drafts answered,
not hidden), a store timezone other than UTC, and a `currency` on create that only relabels."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import math
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ordersync.domain.carriers import carrier_named
from ordersync.domain.webhooks import woocommerce_signature
from ordersync.local.fakes.server import FakeServer
from ordersync.local.fakes.webhooks import Deliveries

_ROUTES = Map(
    [
        Rule("/wp-json/wc/v3/orders", endpoint="orders", methods=["GET", "POST"]),
        Rule("/wp-json/wc/v3/orders/<int:order_id>", endpoint="order", methods=["GET", "PUT", "DELETE"]),
        Rule("/wp-json/wc/v3/orders/<int:order_id>/refunds", endpoint="refunds", methods=["GET"]),
        Rule("/wp-json/wc/v3/orders/<int:order_id>/notes", endpoint="notes", methods=["GET", "POST"]),
        Rule("/wp-json/wc/v3/orders/<int:order_id>/fulfillments", endpoint="fulfillments", methods=["GET", "POST"]),
        Rule(
            "/wp-json/wc/v3/orders/<int:order_id>/fulfillments/<int:fulfillment_id>",
            endpoint="fulfillment",
            methods=["GET", "PUT", "POST", "PATCH"],
        ),
        Rule("/wp-json/wc/v3", endpoint="index", methods=["GET"]),
        # The Shipment Tracking extension's (fact sheet §2), there only where it is installed
        Rule(
            "/wp-json/wc-shipment-tracking/v3/orders/<int:order_id>/shipment-trackings",
            endpoint="trackings",
            methods=["GET", "POST"],
        ),
        Rule(
            "/wp-json/wc-shipment-tracking/v3/orders/<int:order_id>/shipment-trackings/<tracking_id>",
            endpoint="tracking",
            methods=["GET", "DELETE"],
        ),
        Rule("/wp-json/wc/v3/webhooks", endpoint="webhooks", methods=["GET", "POST"]),
        Rule("/wp-json/wc/v3/webhooks/<int:webhook_id>", endpoint="webhook", methods=["GET", "PUT", "DELETE"]),
        Rule("/wp-json/wc/v3/products", endpoint="products", methods=["GET"]),
        Rule("/wp-json/wc/v3/products/<int:product_id>", endpoint="product", methods=["GET"]),
        Rule("/wp-json/wc/v3/products/<int:product_id>/variations", endpoint="variations", methods=["GET"]),
        Rule("/wp-json/wc/v3/products/<int:product_id>/variations/<int:variation_id>", endpoint="variation"),
    ]
)
# The order topics of WooCommerce's webhook topic list (wc_get_webhook_topics), the ones we use.
WEBHOOK_TOPICS = frozenset({"order.created", "order.updated", "order.deleted", "order.restored"})
ORDERBY = frozenset({"date", "modified", "id", "include", "title", "slug"})
ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)
ADDRESS_INDEX = (*ADDRESS_FIELDS, "email", "phone")  # what HPOS order search looks at
DEFAULT_UTC_OFFSET = timedelta(hours=10)  # a store in Sydney: a window sent with "Z" lands 10 hours late


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _error(code: str, message: str, status: int) -> Response:
    body = {"code": code, "message": message, "data": {"status": status}}
    return Response(json.dumps(body), status, content_type="application/json")


class FakeWooCommerce:
    def __init__(
        self,
        name: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        utc_offset: timedelta = DEFAULT_UTC_OFFSET,
        currency: str = "USD",
        permissions: str = "read_write",
        user_role: str = "shop_manager",
        locale: str = "en_US",
        fulfilments: bool = False,
        shipment_tracking: bool = False,
    ) -> None:
        self.name = name
        self.shipment_tracking = shipment_tracking  # the paid extension installed
        # Core "Order Fulfillments": off by default (woocommerce_feature_fulfillments_enabled); off,
        # its routes don't exist (rest_no_route) and the wc/v3 index doesn't list them.
        self.fulfilments = fulfilments
        self.fulfilment_records: dict[int, list[dict[str, Any]]] = {}  # order id -> its fulfilments
        self.notes: dict[int, list[dict[str, Any]]] = {}  # order id -> its notes, oldest first
        self.customer_emails: list[tuple[int, str]] = []  # (order id, which email) the store sent
        self.permissions = permissions  # the REST API key's: "read", "write" or "read_write"
        # The WordPress user the key belongs to: only a shop manager (or administrator) has the shop's
        # capabilities; any other user's key authenticates, and each controller answers it 403.
        self.user_role = user_role
        self.locale = locale  # WooCommerce translates its messages; its error codes stay
        self.utc_offset = utc_offset
        self.currency = currency
        self._credentials = (consumer_key, consumer_secret)
        self.orders: dict[int, dict[str, Any]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}  # order id -> refunds as GET /orders/{id}/refunds reads
        self.products: dict[int, dict[str, Any]] = {}  # product id -> product, with "variations": {id: variation}
        self._ids = itertools.count(9000)
        self._refund_ids = itertools.count(70000)
        self._lock = threading.Lock()
        # WooCommerce itself never limits; its host does, under load (429 with Retry-After in seconds).
        self.host_limit: tuple[int, float] | None = None  # (requests, per window seconds)
        self.throttled = 0
        self._window = (0.0, 0)  # (window start, requests in it)
        self.webhooks: dict[int, dict[str, Any]] = {}
        self._webhook_ids = itertools.count(1)
        self.deliveries = Deliveries()
        # Action Scheduler runs a delivery a moment after the order changed; one still pending for a
        # webhook and an order takes the next change with it (WC_Webhook::enqueue schedules no second).
        self.delivery_delay = 0.05
        self.coalesced = 0
        self._pending: set[tuple[int, int]] = set()
        self.server = FakeServer(self._handle)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    # --- webhooks ------------------------------------------------------------------------------------
    def _deliver(self, topic: str, order: dict[str, Any]) -> None:
        """As WC_Webhook::process and ::deliver: a delivery is scheduled (Action Scheduler), unless one
        for this webhook and order is still pending; when it runs, the order is read as the REST API
        shows it then, and signed with the webhook's secret. Never delivered again if it fails."""
        for hook in list(self.webhooks.values()):
            if hook["status"] != "active" or hook["topic"] != topic:
                continue
            key = (hook["id"], int(order["id"]))
            with self._lock:
                if key in self._pending:
                    self.coalesced += 1
                    continue
                self._pending.add(key)
            build = functools.partial(self._delivery, hook, topic, key)
            answered = functools.partial(self._answered, hook["id"])
            self.deliveries.post(topic, hook["delivery_url"], {}, build, self.delivery_delay, answered)

    def _delivery(self, hook: dict[str, Any], topic: str, key: tuple[int, int]) -> tuple[dict[str, str], bytes]:
        with self._lock:
            self._pending.discard(key)
        body = json.dumps(self.orders[key[1]]).encode()  # built at sending time
        resource, _, event = topic.partition(".")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
            "X-WC-Webhook-Source": f"{self.base_url}/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": woocommerce_signature(hook["secret"], body),
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        }
        return headers, body

    def _answered(self, webhook_id: int, status: int) -> None:
        """WC_Webhook::deliver: a 2xx resets the failure count; any other answer (or none) is a failure,
        and a webhook already past five failures in a row is disabled (failed_delivery)."""
        with self._lock:
            hook = self.webhooks.get(webhook_id)
            if hook is None:
                return
            failures = int(hook.get("failure_count") or 0)
            if 200 <= status <= 299:
                hook["failure_count"] = 0
            elif failures > MAX_DELIVERY_FAILURES:
                hook["status"] = "disabled"
            else:
                hook["failure_count"] = failures + 1

    def _ping(self, hook: dict[str, Any]) -> None:
        """WC_Webhook::deliver_ping, when an active webhook is saved: `webhook_id=N`, unsigned."""
        body = f"webhook_id={hook['id']}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "WooCommerce/9.4.2 Hookshot"}
        self.deliveries.post("ping", hook["delivery_url"], headers, body)

    def update_order(self, order_id: int, **changes: Any) -> None:
        """A change in the store's admin (a status, a note): order.updated goes out."""
        order = self.orders[order_id]
        order.update(changes)
        order["date_modified_gmt"] = _stamp(datetime.now(UTC))
        self._deliver("order.updated", order)

    def _webhooks(self, request: Request, webhook_id: int | None) -> Response:
        if webhook_id is None and request.method == "GET":
            return _paged(request, [_public_hook(h) for _, h in sorted(self.webhooks.items())])
        if webhook_id is None:
            body = request.get_json(silent=True) or {}
            topic = body.get("topic")
            if topic not in WEBHOOK_TOPICS:
                return _error("rest_invalid_param", "Invalid parameter(s): topic", 400)
            if not str(body.get("delivery_url") or "").startswith(("http://", "https://")):
                return _error("rest_invalid_param", "Invalid parameter(s): delivery_url", 400)
            with self._lock:
                new_id = next(self._webhook_ids)
            hook = {
                "id": new_id,
                "name": body.get("name") or f"Webhook created on {_stamp(datetime.now(UTC))}",
                "status": body.get("status") or "active",
                "topic": topic,
                "resource": topic.partition(".")[0],
                "event": topic.partition(".")[2],
                "hooks": [f"woocommerce_new_{topic.partition('.')[0]}"],
                "delivery_url": body["delivery_url"],
                "secret": body.get("secret") or uuid.uuid4().hex,
                "date_created_gmt": _stamp(datetime.now(UTC)),
                "failure_count": 0,
            }
            self.webhooks[new_id] = hook
            if hook["status"] == "active":
                self._ping(hook)
            return _json(_public_hook(hook), 201)
        found = self.webhooks.get(webhook_id)
        if found is None:
            return _error("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
        if request.method == "GET":
            return _json(_public_hook(found))
        if request.method == "PUT":
            changes = request.get_json(silent=True) or {}
            status = changes.get("status", found["status"])
            if status not in WEBHOOK_STATUSES:
                return _error("rest_invalid_param", "Invalid parameter(s): status", 400)
            with self._lock:
                if status == "active" and found["status"] != "active":
                    found["failure_count"] = 0  # re-enabled: counted afresh
                found["status"] = status
                for name in ("name", "delivery_url", "secret"):
                    if name in changes:
                        found[name] = changes[name]
            return _json(_public_hook(found))
        if request.args.get("force") not in ("true", "1"):
            return _error("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        del self.webhooks[webhook_id]
        return _json(_public_hook(found))

    def _within_host_limit(self) -> bool:
        if self.host_limit is None:
            return True
        quota, seconds = self.host_limit
        with self._lock:
            now = time.monotonic()
            start, used = self._window
            if now - start >= seconds:
                start, used = now, 0
            self._window = (start, used + 1)
            return used < quota

    def _window_reset(self) -> float:
        assert self.host_limit is not None
        return self._window[0] + self.host_limit[1] - time.monotonic()

    # --- seeding -------------------------------------------------------------------------------------
    def add_product(
        self,
        product_id: int,
        sku: str,
        name: str,
        price: str,
        variation_id: int | None = None,
        variation_sku: str | None = None,
        variation_name: str = "",
        *,
        status: str = "publish",
        variation_status: str = "publish",
        vendor: str | None = None,
    ) -> None:
        """variation_name: the variation's attribute options, " / " between two (e.g. "L / Red");
        vendor: a product attribute "Vendor" holding it (a product attribute as the REST API lists it)."""
        product = self.products.setdefault(
            product_id,
            {
                "id": product_id,
                "name": name,
                "sku": sku,
                "price": price,
                "regular_price": price,
                "status": status,
                "type": "simple",
                "variations": {},
                "attributes": [],
                "date_created_gmt": _stamp(datetime.now(UTC).replace(tzinfo=None)),
            },
        )
        if vendor is not None:
            product["attributes"] = [
                {"id": 0, "name": "Vendor", "position": 0, "visible": True, "variation": False, "options": [vendor]}
            ]
        product["date_modified_gmt"] = _stamp(datetime.now(UTC).replace(tzinfo=None))
        if variation_id is not None:
            product["variations"][variation_id] = {
                "id": variation_id,
                "sku": variation_sku or sku,
                "price": price,
                "regular_price": price,
                "status": variation_status,
                "name": variation_name,
                "attributes": [
                    {"name": f"Option {n}", "option": option}
                    for n, option in enumerate(variation_name.split(" / "), start=1)
                ],
            }
            product["type"] = "variable"

    def set_product_status(self, product_id: int, status: str) -> None:
        self.products[product_id]["status"] = status
        self.products[product_id]["date_modified_gmt"] = _stamp(datetime.now(UTC).replace(tzinfo=None))

    def set_sku(self, product_id: int, sku: str, variation_id: int | None = None) -> None:
        """The merchant edits a SKU. A variation's own edit leaves its product's date_modified as it
        was (WooCommerce saves the variation's post; whether the parent is touched depends on the
        route and the version): only a full read is sure to see it."""
        product = self.products[product_id]
        if variation_id is None:
            product["sku"], product["date_modified_gmt"] = sku, _stamp(datetime.now(UTC).replace(tzinfo=None))
        else:
            product["variations"][variation_id]["sku"] = sku

    def delete_product(self, product_id: int, variation_id: int | None = None) -> None:
        """Deleted for good (DELETE ...?force=true); a product moved to the bin is set_product_status("trash")."""
        if variation_id is None:
            self.products.pop(product_id, None)
        else:
            self.products.get(product_id, {}).get("variations", {}).pop(variation_id, None)

    def add_order(self, order: dict[str, Any]) -> None:
        """A checkout: the order is saved, then order.created goes to the store's webhooks."""
        self.orders[int(order["id"])] = order
        self._deliver("order.created", order)

    def refund(self, order_id: int, line_id: int, quantity: int, reason: str = "") -> None:
        """A refund of `quantity` units of one line, as WooCommerce records it."""
        order = self.orders[order_id]
        line = next(item for item in order["line_items"] if item["id"] == line_id)
        amount = Decimal(line["total"]) / line["quantity"] * quantity
        refund_id = next(self._refund_ids)
        order["refunds"].append({"id": refund_id, "reason": reason, "total": f"-{amount:.2f}"})
        self.refunds.setdefault(order_id, []).append(
            {
                "id": refund_id,
                "date_created_gmt": _stamp(datetime.now(UTC)),
                "amount": f"{amount:.2f}",
                "reason": reason,
                "line_items": [
                    {
                        "id": refund_id * 10,
                        "name": line["name"],
                        "product_id": line["product_id"],
                        "variation_id": line["variation_id"],
                        "quantity": -quantity,
                        "total": f"-{amount:.2f}",
                        "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": str(line_id)}],
                    }
                ],
            }
        )

    def created_orders(self) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o.get("created_via") == "rest-api"]

    # --- HTTP ----------------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        if not request.path.startswith("/wp-json/"):  # not the REST API: WordPress's theme answers, in HTML
            page = "<!DOCTYPE html><html><head><title>Page not found</title></head><body>Nothing here</body></html>"
            return Response(page, 404, content_type="text/html; charset=UTF-8")
        if request.path in ("/wp-json", "/wp-json/"):  # WordPress's REST index: public, the site's title
            namespaces = ["wc/v3", "wp/v2"] + (["wc-shipment-tracking/v3"] if self.shipment_tracking else [])
            tracking = ["/wc-shipment-tracking/v3/orders/(?P<order_id>[\\d]+)/shipment-trackings"]
            routes = self._routes() + (tracking if self.shipment_tracking else [])
            index = {"name": self.name, "description": "", "url": self.base_url, "namespaces": namespaces,
                     "routes": {route: {} for route in routes}}  # fmt: skip
            return _json(index)
        if not self._within_host_limit():
            self.throttled += 1
            body = {"code": "too_many_requests", "message": "Too Many Requests", "data": {"status": 429}}
            wait = str(max(1, math.ceil(self._window_reset())))
            return Response(json.dumps(body), 429, headers={"Retry-After": wait}, content_type="application/json")
        # As WC_REST_Authentication does, before any route is matched: a key that is not this store's
        # is refused; a known key without the permission the method needs is refused; no key at all
        # reaches the controller as a visitor, whose permission check refuses it.
        authorized = self._authorized(request)
        if authorized is None:
            return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        if not authorized:
            return _error("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        needs = "read" if request.method in ("GET", "HEAD") else "write"
        if self.permissions not in (needs, "read_write"):
            return _error("woocommerce_rest_authentication_error", self._words(f"no {needs} permission"), 401)
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except NotFound:
            return _error("rest_no_route", "No route was found matching the URL and request method.", 404)
        except HTTPException as error:
            return _error("rest_no_route", str(error), error.code or 404)
        if self.user_role not in SHOP_MANAGERS:  # the controller's permission callback (wc_rest_check_*)
            code = "woocommerce_rest_cannot_view" if request.method == "GET" else "woocommerce_rest_cannot_create"
            return _error(code, self._words("cannot " + ("list" if request.method == "GET" else "create")), 403)
        per_page = request.args.get("per_page", "10")
        if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
            return _error("rest_invalid_param", "Invalid parameter(s): per_page", 400)
        if endpoint in ("webhooks", "webhook"):
            return self._webhooks(request, args.get("webhook_id"))
        if endpoint == "orders":
            return self._list_orders(request) if request.method == "GET" else self._create_order(request)
        if endpoint == "order":
            order = self.orders.get(args["order_id"])
            if order is None:
                return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
            if request.method == "PUT":
                return self._update_order(order, request.get_json(silent=True) or {})
            if request.method == "DELETE":
                return self._delete_order(order, request.args.get("force", "false").lower() in ("true", "1"))
            return _json(order)
        if endpoint == "index":
            return _json({"namespace": "wc/v3", "routes": {route: {} for route in self._routes()}})
        if endpoint == "notes":
            return self._notes(request, args["order_id"])
        if endpoint in ("fulfillments", "fulfillment"):
            if not self.fulfilments:  # the feature off: the route is not registered
                return _error("rest_no_route", "No route was found matching the URL and request method.", 404)
            if endpoint == "fulfillment":
                return self._fulfillment(request, args["order_id"], args["fulfillment_id"])
            return self._fulfillments(request, args["order_id"])
        if endpoint in ("trackings", "tracking"):
            if not self.shipment_tracking:
                return _error("rest_no_route", "No route was found matching the URL and request method.", 404)
            return self._trackings(request, args["order_id"], args.get("tracking_id"))
        if endpoint == "refunds":
            if args["order_id"] not in self.orders:
                return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            return _paged(request, list(reversed(self.refunds.get(args["order_id"], []))))
        if endpoint == "products":
            return self._list_products(request)
        if endpoint == "variations":
            product = self.products.get(args["product_id"])
            if product is None:
                return _error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            return _paged(request, [product["variations"][v] for v in sorted(product["variations"])])
        if endpoint == "product":
            product = self.products.get(args["product_id"])
            return (
                _json(_public(product))  # a trashed product answers 200 with status "trash"
                if product
                else _error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            )
        variation = self.products.get(args["product_id"], {}).get("variations", {}).get(args["variation_id"])
        return (
            _json(variation)
            if variation
            else _error("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
        )

    def _update_order(self, order: dict[str, Any], changes: dict[str, Any]) -> Response:
        """PUT /orders/{id}: a status among WooCommerce's (wc_get_order_statuses), else 400.
        Completed from any other status sends the customer the Completed Order email."""
        status = changes.get("status", order["status"])
        if status not in ORDER_STATUSES:
            return _error("rest_invalid_param", "Invalid parameter(s): status", 400)
        shipping = changes.get("shipping")
        if shipping is not None:
            if not isinstance(shipping, dict) or set(shipping) - {*ADDRESS_FIELDS, "phone"}:
                return _error("rest_invalid_param", "Invalid parameter(s): shipping", 400)
            order["shipping"] = {**order.get("shipping", {}), **shipping}
        for item in changes.get("line_items") or []:
            refused = self._set_line_item(order, item)
            if refused is not None:
                return refused
        if status == "completed" and order["status"] != "completed":
            self.customer_emails.append((int(order["id"]), "customer_completed_order"))
        order["status"] = status
        order["date_modified_gmt"] = _stamp(datetime.now(UTC))
        self._deliver("order.updated", order)  # saved through the REST API as in the admin: woocommerce_update_order
        return _json(order)

    def _trackings(self, request: Request, order_id: int, tracking_id: str | None) -> Response:
        """Shipment Tracking's routes as its order controller answers them (fact sheet §2)."""
        order = self.orders.get(order_id)
        if order is None:
            return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
        items = self._tracking_items(order)
        if tracking_id is not None:
            item = next((i for i in items if i["tracking_id"] == tracking_id), None)
            if item is None or not re.fullmatch(r"[a-fA-F0-9]{0,32}", tracking_id):
                return _error("woocommerce_rest_order_shipment_tracking_invalid_id", "Invalid tracking ID.", 404)
            if request.method == "DELETE":
                items.remove(item)
                order["date_modified_gmt"] = _stamp(datetime.now(UTC))
                self._deliver("order.updated", order)  # the order saved with its meta
            return _json(_tracking_view(item))
        if request.method == "GET":
            return _json([_tracking_view(i) for i in items])
        body = request.get_json(silent=True) or {}
        if body.get("tracking_id"):
            return _error(
                "woocommerce_rest_shop_order_shipment_tracking_exists", "Cannot create existing tracking item.", 400
            )
        if not str(body.get("tracking_number") or "").strip():
            return _error("rest_missing_callback_param", "Missing parameter(s): tracking_number", 400)
        shipped = body.get("date_shipped")
        try:
            when = datetime.strptime(shipped, "%Y-%m-%d").replace(tzinfo=UTC) if shipped else datetime.now(UTC)
        except (TypeError, ValueError):
            when = datetime.now(UTC)  # strtotime of something it can't read: false, then "now"
        item = self._add_tracking_item(
            order,
            str(body.get("tracking_provider") or ""),
            str(body.get("custom_tracking_provider") or ""),
            str(body.get("custom_tracking_link") or ""),
            str(body["tracking_number"]),
            when,
        )
        self._deliver("order.updated", order)  # the order saved with its meta
        return _json(_tracking_view(item), 201)

    @staticmethod
    def _tracking_items(order: dict[str, Any]) -> list[dict[str, Any]]:
        """The order meta `_wc_shipment_tracking_items`, made when first needed."""
        tracked = next((m for m in order["meta_data"] if m.get("key") == "_wc_shipment_tracking_items"), None)
        if tracked is None:
            tracked = {"id": len(order["meta_data"]) + 1, "key": "_wc_shipment_tracking_items", "value": []}
            order["meta_data"].append(tracked)
        items: list[dict[str, Any]] = tracked["value"]
        return items

    def _add_tracking_item(
        self,
        order: dict[str, Any],
        provider: str,
        custom: str,
        link: str,
        number: str,
        shipped: datetime,
        admin: bool = False,
    ) -> dict[str, Any]:
        """add_tracking_item: the provider through sanitize_title (REST) or by its list name (the
        admin's meta box), never a link of its own; an md5 hex id; the order saved."""
        item = {
            "tracking_provider": provider if admin else _sanitize_title(provider),
            "custom_tracking_provider": custom,
            "custom_tracking_link": link,
            "tracking_number": number,
            "date_shipped": int(shipped.timestamp()),
            "tracking_id": uuid.uuid4().hex,
        }
        self._tracking_items(order).append(item)
        order["date_modified_gmt"] = _stamp(datetime.now(UTC))
        return item

    @staticmethod
    def _set_line_item(order: dict[str, Any], posted: Any) -> Response | None:
        """A line item by its id: quantity 0 (or product_id null) removes it (item_is_null_or_zero),
        another quantity replaces it — and its totals only as posted: the REST controller sets the
        props it is sent on an existing item and computes totals from the price on create only, so a
        quantity alone leaves the line billing its old total. An id not on the order is refused."""
        if not isinstance(posted, dict) or not isinstance(posted.get("id"), int):
            return _error("rest_invalid_param", "Invalid parameter(s): line_items", 400)
        line = next((i for i in order["line_items"] if i["id"] == posted["id"]), None)
        if line is None:
            return _error(
                "woocommerce_rest_invalid_item_id", "Order item ID provided is not associated with order.", 400
            )
        quantity = posted.get("quantity", line["quantity"])
        if not isinstance(quantity, int) or quantity < 0:
            return _error("rest_invalid_param", "Invalid parameter(s): line_items", 400)
        if quantity == 0 or ("product_id" in posted and posted["product_id"] is None):
            order["line_items"].remove(line)
            return None
        line["quantity"] = quantity
        for total in ("subtotal", "total"):
            if total in posted:
                if not isinstance(posted[total], str):
                    return _error("rest_invalid_param", f"Invalid parameter(s): line_items[{total}]", 400)
                line[total] = posted[total]
        line["price"] = float(Decimal(line["total"]) / quantity)
        return None

    def _routes(self) -> list[str]:
        routes = ["/wc/v3", "/wc/v3/orders", "/wc/v3/orders/(?P<id>[\\d]+)", "/wc/v3/orders/(?P<order_id>[\\d]+)/notes"]
        if self.fulfilments:
            routes += [
                "/wc/v3/orders/(?P<order_id>[\\d]+)/fulfillments",
                "/wc/v3/orders/(?P<order_id>[\\d]+)/fulfillments/(?P<fulfillment_id>[\\d]+)",
            ]
        return routes

    def _notes(self, request: Request, order_id: int) -> Response:
        """GET/POST /orders/{id}/notes; a customer note emails the billing address."""
        if order_id not in self.orders:
            return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
        if request.method == "GET":
            return _json(list(reversed(self.notes.get(order_id, []))))  # newest first
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("note"), str) or not body["note"]:
            return _error("rest_missing_callback_param", "Missing parameter(s): note", 400)
        with self._lock:
            note_id = next(self._ids)
        note = {
            "id": note_id,
            "author": "system",
            "date_created": _stamp(datetime.now(UTC) + self.utc_offset),
            "date_created_gmt": _stamp(datetime.now(UTC)),
            "note": body["note"],
            "customer_note": bool(body.get("customer_note")),
        }
        self.notes.setdefault(order_id, []).append(note)
        if note["customer_note"]:
            self.customer_emails.append((order_id, "customer_note"))
        return _json(note, status=201)

    def _fulfillments(self, request: Request, order_id: int) -> Response:
        """Core fulfilments, as the fact sheet reads the controller: meta entries without an id are
        dropped, validation errors carry the integer code 0, no quantity is checked, the customer is
        emailed only with notify_customer (query or body) on a fulfilled one."""
        if order_id not in self.orders:
            return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
        if request.method == "GET":
            return _json(self.fulfilment_records.get(order_id, []))
        body = request.get_json(silent=True) or {}
        meta = [m for m in body.get("meta_data") or [] if isinstance(m, dict) and {"id", "key", "value"} <= set(m)]
        items = next((m["value"] for m in meta if m["key"] == "_items"), None)
        if body.get("status") is None:
            return _error_code_zero("Invalid fulfillment status.")
        if not items:
            return _error_code_zero("The fulfillment should contain at least one item.")
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("item_id"), int) or item["item_id"] <= 0:
                return _error_code_zero("Invalid item.")
            if not isinstance(item.get("qty"), int | float) or item["qty"] <= 0:
                return _error_code_zero("Invalid item.")
        fulfilled = body["status"] == "fulfilled"
        with self._lock:
            fulfilment_id = next(self._ids)
        record = {
            "id": fulfilment_id,
            "entity_type": "WC_Order",
            "entity_id": str(order_id),
            "status": "fulfilled" if fulfilled else "unfulfilled",
            "is_fulfilled": fulfilled,
            "date_updated": _stamp(datetime.now(UTC) + self.utc_offset),
            "meta_data": [{**m, "id": i + 1} for i, m in enumerate(meta)],
        }
        self.fulfilment_records.setdefault(order_id, []).append(record)
        self._fulfilment_status(order_id)
        notify = str(request.args.get("notify_customer", body.get("notify_customer", "false"))).lower() in ("true", "1")
        if fulfilled and notify:
            self.customer_emails.append((order_id, "customer_fulfillment_created"))
        self.update_order(order_id)  # the order is saved again: order.updated goes out
        return _json(record, status=201)

    def _fulfillment(self, request: Request, order_id: int, fulfillment_id: int) -> Response:
        """One fulfilment; an update's meta entries become its complete set (those left out are
        deleted), entries without an id dropped, as on create."""
        if order_id not in self.orders:
            return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
        found = next((f for f in self.fulfilment_records.get(order_id, []) if f["id"] == fulfillment_id), None)
        if found is None:
            return _error_code_zero("Fulfillment not found.")
        if request.method != "GET":
            body = request.get_json(silent=True) or {}
            meta = [m for m in body.get("meta_data") or [] if isinstance(m, dict) and {"id", "key", "value"} <= set(m)]
            found["meta_data"] = [{**m, "id": i + 1} for i, m in enumerate(meta)]
            found["date_updated"] = _stamp(datetime.now(UTC) + self.utc_offset)
            notify = str(request.args.get("notify_customer", body.get("notify_customer", "false"))).lower() in (
                "true",
                "1",
            )
            if found["is_fulfilled"] and notify:
                self.customer_emails.append((order_id, "customer_fulfillment_updated"))
            self.update_order(order_id)
        return _json(found)

    def correct_tracking(self, order_id: int, number: str, index: int = 0) -> None:
        """The shop's staff change a fulfilment's tracking number: the order is saved (order.updated)."""
        record = self.fulfilment_records[order_id][index]
        for entry in record["meta_data"]:
            if entry["key"] == "_tracking_number":
                entry["value"] = number
        self.update_order(order_id)

    def ship(
        self,
        order_id: int,
        items: dict[int, int] | None = None,
        tracking: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> None:
        """The shop ships in its admin: with fulfilments on, a fulfilment of `items` (line item id:
        units; all when None) and its tracking; without, a Shipment Tracking item when tracking is
        given; and `completed` once it all left (a partial shipment without fulfilments leaves no trace)."""
        order = self.orders[order_id]
        lines = {int(line["id"]): int(line["quantity"]) for line in order["line_items"]}
        chosen = items or lines
        provider, number, url = tracking
        if self.fulfilments:
            meta = [{"id": 0, "key": "_items", "value": [{"item_id": k, "qty": v} for k, v in chosen.items()]}]
            meta += [
                {"id": 0, "key": key, "value": value}
                for key, value in (
                    ("_tracking_number", number),
                    *_admin_provider(provider),
                    ("_tracking_url", url),
                )
                if value
            ]
            with self._lock:
                fulfilment_id = next(self._ids)
            self.fulfilment_records.setdefault(order_id, []).append(
                {
                    "id": fulfilment_id,
                    "entity_type": "WC_Order",
                    "entity_id": str(order_id),
                    "status": "fulfilled",
                    "is_fulfilled": True,
                    "date_updated": _stamp(datetime.now(UTC)),
                    "meta_data": [{**m, "id": i + 1} for i, m in enumerate(meta)],
                }
            )
            self._fulfilment_status(order_id)
        elif number and self.shipment_tracking:  # the admin's meta box: a listed provider by its name, no link
            listed = _listed_provider(provider)
            custom, link = ("", "") if listed else (provider or "", url or "")
            self._add_tracking_item(order, listed or "", custom, link, number, datetime.now(UTC), admin=True)
        whole = items is None or all(chosen.get(k, 0) >= v for k, v in lines.items())
        self.update_order(order_id, **({"status": "completed"} if whole else {}))

    def _fulfilment_status(self, order_id: int) -> None:
        """The order meta `_fulfillment_status` the feature recomputes after each fulfilment."""
        order = self.orders[order_id]
        left = {int(line["id"]): int(line["quantity"]) for line in order["line_items"]}
        for record in self.fulfilment_records.get(order_id, []):
            items: list[dict[str, Any]] = next((m["value"] for m in record["meta_data"] if m["key"] == "_items"), [])
            for item in items if record["is_fulfilled"] else []:
                left[int(item["item_id"])] = left.get(int(item["item_id"]), 0) - int(item["qty"])
        status = "fulfilled" if all(v <= 0 for v in left.values()) else "partially_fulfilled"
        kept = [m for m in order["meta_data"] if m.get("key") != "_fulfillment_status"]
        order["meta_data"] = [*kept, {"id": len(kept) + 1, "key": "_fulfillment_status", "value": status}]

    def _delete_order(self, order: dict[str, Any], force: bool) -> Response:
        """DELETE /orders/{id}: to the bin (status "trash", still readable) unless force=true."""
        if force:
            del self.orders[order["id"]]
        else:
            order["status"] = "trash"
            order["date_modified_gmt"] = _stamp(datetime.now(UTC))
        return _json(order)

    def _words(self, what: str) -> str:
        return MESSAGES[what][self.locale if self.locale in MESSAGES[what] else "en_US"]

    def _authorized(self, request: Request) -> bool | None:
        """None: no credentials given; False: given, not this store's key."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (user, password) == self._credentials
        if request.args.get("consumer_key") is None:
            return None
        return (request.args.get("consumer_key"), request.args.get("consumer_secret")) == self._credentials

    def _bound(self, value: str, dates_are_gmt: bool) -> datetime:
        """WordPress's rest_parse_date + date query: a value with an offset (or Z) is turned into the
        site's local time, and then compared with the GMT column as it is when dates_are_gmt is set."""
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            local = moment.astimezone(UTC).replace(tzinfo=None) + self.utc_offset
            return local if dates_are_gmt else local - self.utc_offset
        return moment if dates_are_gmt else moment - self.utc_offset

    def _list_args(self, request: Request) -> tuple[str, bool] | Response:
        """orderby and dates_are_gmt as the REST controllers sanitize them, or their 400."""
        orderby = request.args.get("orderby", "date")
        if orderby not in ORDERBY:
            return _error("rest_invalid_param", "Invalid parameter(s): orderby", 400)
        # rest_sanitize_boolean: "true"/"1" (any case) is true, "false"/"0" false, anything else invalid
        flag = request.args.get("dates_are_gmt", "false").lower()
        if flag not in ("true", "1", "false", "0"):
            return _error("rest_invalid_param", "Invalid parameter(s): dates_are_gmt", 400)
        if request.args.get("order", "desc") not in ("asc", "desc"):
            return _error("rest_invalid_param", "Invalid parameter(s): order", 400)
        return orderby, flag in ("true", "1")

    def _dated(self, request: Request, items: list[dict[str, Any]], gmt: bool) -> list[dict[str, Any]] | Response:
        for arg, column in (("modified_after", "date_modified_gmt"), ("after", "date_created_gmt")):
            if request.args.get(arg):
                try:
                    bound = self._bound(request.args[arg], gmt)
                except ValueError:
                    return _error("rest_invalid_param", f"Invalid parameter(s): {arg}", 400)
                items = [o for o in items if datetime.fromisoformat(o[column]) > bound]
        return items

    def _list_products(self, request: Request) -> Response:
        checked = self._list_args(request)
        if isinstance(checked, Response):
            return checked
        orderby, gmt = checked
        sku = request.args.get("sku")
        status = request.args.get("status", "any")  # lists default to any status: drafts, trash included
        products = self._dated(
            request,
            [p for p in self.products.values() if (sku is None or p["sku"] == sku) and status in ("any", p["status"])],
            gmt,
        )
        if isinstance(products, Response):
            return products
        key = {"modified": "date_modified_gmt", "id": "id", "title": "name"}.get(orderby, "date_created_gmt")
        products.sort(key=lambda p: (p[key], p["id"]), reverse=request.args.get("order", "desc") == "desc")
        return _paged(request, [_public(p) for p in products])

    def _list_orders(self, request: Request) -> Response:
        checked = self._list_args(request)
        if isinstance(checked, Response):
            return checked
        orderby, gmt = checked
        # `any` (the default) is every status of wc_get_order_statuses(): the bin is listed only when asked
        status = request.args.get("status", "any")
        if status not in (*ORDER_STATUSES, "any", "trash"):
            return _error("rest_invalid_param", "Invalid parameter(s): status", 400)
        listed = [
            o
            for o in self.orders.values()
            if self.server.listed(o["id"]) and (o["status"] == status or (status == "any" and o["status"] != "trash"))
        ]
        orders = self._dated(request, listed, gmt)
        if isinstance(orders, Response):
            return orders
        search = request.args.get("search")
        if search:  # HPOS: the address index only, a substring match; meta is never searched
            needle = search.lower()
            orders = [
                o
                for o in orders
                if any(
                    needle in str((o.get(part) or {}).get(key, "")).lower()
                    for part in ("billing", "shipping")
                    for key in ADDRESS_INDEX
                )
            ]
            orders.sort(key=lambda o: o["id"], reverse=True)
        key = {"modified": "date_modified_gmt", "id": "id"}.get(orderby, "date_created_gmt")
        orders.sort(key=lambda o: (o[key], o["id"]), reverse=request.args.get("order", "desc") == "desc")
        return _paged(request, orders)

    def _create_order(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True) or "{}")
        lines = []
        for item in body.get("line_items", []):
            product = self.products.get(int(item.get("product_id") or 0))
            variation_id = int(item.get("variation_id") or 0)
            variation = product["variations"].get(variation_id) if product and variation_id else None
            lines.append((product, variation, int(item["quantity"])))  # an unknown product: a line with no product
        with self._lock:
            order_id = next(self._ids)
        order = woocommerce_order(
            order_id,
            [
                (
                    (v or p or {}).get("sku"),
                    (p or {}).get("name", ""),
                    qty,
                    (v or p or {}).get("price", "0"),
                    (p or {}).get("id", 0),
                    variation_id_of(v),
                )
                for p, v, qty in lines
            ],
            body.get("shipping"),
            status=body.get("status", "pending"),
            created_via="rest-api",
            currency=body.get("currency", self.currency),  # relabels the order; the prices stay the store's
            utc_offset=self.utc_offset,
        )
        order["meta_data"] = [{"id": i + 1, **m} for i, m in enumerate(body.get("meta_data", []))]
        order["customer_note"] = body.get("customer_note", "")
        self.orders[order_id] = order
        self.server.created(order_id)
        self._deliver("order.created", order)  # woocommerce_new_order, as for a checkout
        return _json(order, status=201)


def _error_code_zero(message: str) -> Response:
    """The fulfilments controller's validation errors: the integer code 0."""
    return Response(
        json.dumps({"code": 0, "message": message, "data": {"status": 400}}), 400, content_type="application/json"
    )


def _paged(request: Request, items: list[dict[str, Any]]) -> Response:
    per_page = int(request.args.get("per_page", 10))
    page = max(1, int(request.args.get("page", 1)))
    pages = math.ceil(len(items) / per_page)  # as WooCommerce's controllers count: 0 for no items
    chunk = items[(page - 1) * per_page : page * per_page]
    return _json(chunk, headers={"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)})


def variation_id_of(variation: dict[str, Any] | None) -> int:
    return int(variation["id"]) if variation else 0


WEBHOOK_STATUSES = ("active", "paused", "disabled")
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft")
SHOP_MANAGERS = ("administrator", "shop_manager")  # the roles with manage_woocommerce
MESSAGES = {  # WooCommerce's strings, as its translations give them
    "no read permission": {
        "en_US": "The API key provided does not have read permissions.",
        "de_DE": "Der angegebene API-Schlüssel hat keine Leseberechtigungen.",
    },
    "no write permission": {
        "en_US": "The API key provided does not have write permissions.",
        "de_DE": "Der angegebene API-Schlüssel hat keine Schreibberechtigungen.",
    },
    "cannot list": {
        "en_US": "Sorry, you cannot list resources.",
        "de_DE": "Du kannst leider keine Ressourcen auflisten.",
    },
    "cannot create": {
        "en_US": "Sorry, you are not allowed to create resources.",
        "de_DE": "Du bist leider nicht berechtigt, Ressourcen zu erstellen.",
    },
}
MAX_DELIVERY_FAILURES = 5  # woocommerce_max_webhook_delivery_failures


def _public_hook(hook: dict[str, Any]) -> dict[str, Any]:
    """As the REST API answers a webhook: its secret and failure count are not read back."""
    return {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}


def _public(product: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in product.items() if k != "variations"} | {"variations": sorted(product["variations"])}


def _tracking_view(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the routes answer it (get_formatted_tracking_item): a custom provider by its name
    and its link template filled in; a listed one (stored by slug or by name) by its list name and
    its template; one not on the list by nothing at all. The date as YYYY-MM-DD."""
    if item["custom_tracking_provider"]:
        name, link = item["custom_tracking_provider"], item["custom_tracking_link"]
    else:
        stored = _sanitize_title(item["tracking_provider"])
        name, link = next(((n, f) for n, f in TRACKING_PROVIDERS.items() if _sanitize_title(n) == stored), ("", ""))
    return {
        "tracking_id": item["tracking_id"],
        "tracking_provider": name,
        "tracking_link": link.replace("%1$s", item["tracking_number"]),
        "tracking_number": item["tracking_number"],
        "date_shipped": f"{datetime.fromtimestamp(item['date_shipped'], UTC):%Y-%m-%d}",
    }


# A few of Shipment Tracking's providers (GET /shipment-trackings/providers), by their list names
TRACKING_PROVIDERS = {
    "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=%1$s",
    "UPS": "https://www.ups.com/track?loc=en_US&tracknum=%1$s",
    "Fedex": "https://www.fedex.com/apps/fedextrack/?action=track&tracknumbers=%1$s",
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB=%1$s",
    "Australia Post": "https://auspost.com.au/mypost/track/#/details/%1$s",
}


def _sanitize_title(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-")


def _listed_provider(name: str | None) -> str | None:
    """The list name of the provider a carrier name stands for, if the extension lists it."""
    known = carrier_named(name)
    wanted = {_sanitize_title(n) for n in (name or "", *((known.woocommerce, known.key) if known else ())) if n}
    return next((n for n in TRACKING_PROVIDERS if _sanitize_title(n) in wanted), None)


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(value), status, headers=headers, content_type="application/json")


def woocommerce_order(
    order_id: int,
    lines: list[tuple[str | None, str, int, str, int, int]],
    shipping: dict[str, Any] | None,
    *,
    status: str = "processing",
    created_via: str = "checkout",
    currency: str = "USD",
    email: str = "",
    modified: datetime | None = None,
    utc_offset: timedelta = DEFAULT_UTC_OFFSET,
) -> dict[str, Any]:
    """A WooCommerce v3 order. lines: (sku, name, quantity, unit price, product_id, variation_id).
    As the plugin does, a line's `price` is the JSON number total / quantity (unrounded float),
    other money fields are strings; plain dates are the store's local time, *_gmt are UTC."""
    moment = modified or datetime.now(UTC)
    local, gmt = _stamp(moment.astimezone(UTC) + utc_offset), _stamp(moment.astimezone(UTC))
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "status": status,
        "currency": currency,
        "created_via": created_via,
        "date_created": local,
        "date_created_gmt": gmt,
        "date_modified": local,
        "date_modified_gmt": gmt,
        "billing": {"email": email},
        "shipping": shipping if shipping is not None else dict.fromkeys(ADDRESS_FIELDS, ""),
        "line_items": [
            {
                "id": order_id * 100 + index,
                "name": name,
                "product_id": product_id,
                "variation_id": variation_id,
                "quantity": quantity,
                "sku": sku or "",
                "subtotal": f"{Decimal(price) * quantity:.2f}",
                "total": f"{Decimal(price) * quantity:.2f}",
                "total_tax": "0.00",
                "price": float(Decimal(price) * quantity) / quantity if quantity else 0.0,
            }
            for index, (sku, name, quantity, price, product_id, variation_id) in enumerate(lines, start=1)
        ],
        "meta_data": [],
        "refunds": [],
    }


def _admin_provider(name: str | None) -> list[tuple[str, str | None]]:
    """What the admin's fulfilment form stores for a carrier: a provider it lists by its slug, any
    other as "other" and the name typed."""
    if not name:
        return []
    known = carrier_named(name)
    return (
        [("_shipment_provider", known.woocommerce_slug)]
        if known
        else [("_shipment_provider", "other"), ("_provider_name", name)]
    )
