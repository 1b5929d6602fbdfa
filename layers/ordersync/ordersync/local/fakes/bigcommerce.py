"""A fake BigCommerce store speaking the V2 Orders API (and the V3 catalog): bare-array lists,
204 for an empty page, RFC 2822 dates, X-Auth-Token. Every request body and every answer is checked
against the compact schema transcribed from BigCommerce's OpenAPI files (tests/contracts/bigcommerce):
a request the real API would refuse gets BigCommerce's 4xx error body, and an answer of ours that
breaks the contract is a 500 (the fake is the bug). Requests spend a quota per window, reported in
X-Rate-Limit-* headers; past it, 429 with X-Rate-Limit-Time-Reset-Ms and X-Retry-After."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ordersync.local.contracts import json_contract
from ordersync.local.fakes.server import FakeServer
from ordersync.local.fakes.webhooks import Deliveries

_ROUTES = Map(
    [
        Rule("/stores/<store_hash>/v2/store", endpoint="store", methods=["GET"]),
        Rule("/stores/<store_hash>/v2/orders", endpoint="orders", methods=["GET", "POST"]),
        Rule("/stores/<store_hash>/v2/orders/<int:order_id>", endpoint="order", methods=["GET", "PUT"]),
        Rule("/stores/<store_hash>/v3/hooks", endpoint="hooks", methods=["GET", "POST"]),
        Rule("/stores/<store_hash>/v3/hooks/<int:hook_id>", endpoint="hook", methods=["GET", "PUT", "DELETE"]),
        Rule("/stores/<store_hash>/v2/orders/<int:order_id>/products", endpoint="products", methods=["GET"]),
        Rule("/stores/<store_hash>/v2/orders/<int:order_id>/shipping_addresses", endpoint="addresses", methods=["GET"]),
        Rule("/stores/<store_hash>/v2/orders/<int:order_id>/shipments", endpoint="shipments", methods=["GET", "POST"]),
        Rule(
            "/stores/<store_hash>/v2/orders/<int:order_id>/shipments/<int:shipment_id>",
            endpoint="shipment",
            methods=["GET", "PUT"],
        ),
        Rule(
            "/stores/<store_hash>/v2/orders/<int:order_id>/shipping_addresses/<int:address_id>",
            endpoint="address",
            methods=["GET", "PUT"],
        ),
        Rule("/stores/<store_hash>/v3/catalog/products", endpoint="catalog", methods=["GET"]),
        Rule("/stores/<store_hash>/v3/catalog/products/<int:product_id>/variants/<int:variant_id>", endpoint="variant"),
    ]
)
QUOTA = 150  # requests per window on the Standard and Plus plans
# An API account's OAuth scopes (the contracts' securitySchemes); "modify" includes "read-only".
FULL_SCOPES = frozenset({"store_v2_information_read_only", "store_v2_orders", "store_v2_products_read_only"})
_SCOPE_OF = {"store": "store_v2_information", "catalog": "store_v2_products", "variant": "store_v2_products"}
_FORBIDDEN = {
    "status": 403,
    "title": "You don't have a required scope to access the endpoint",
    "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
    "errors": {},
}
WINDOW_SECONDS = 30.0
FAILURES_BEFORE_DEACTIVATION = 5  # the fake's stand-in for two days of failed retries


def _public_hook(hook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hook.items() if k != "failures"}


def contract(name: str) -> Draft202012Validator:
    """A validator for one definition of the compact schema."""
    defs = json_contract("bigcommerce", "compact.json")["$defs"]
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs})


def contract_problem(name: str, value: Any) -> str | None:
    """The first way `value` breaks the contract, with the field's path, or None."""
    error = next(iter(sorted(contract(name).iter_errors(value), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "body"
    return f"{where}: {error.message}"


def rfc2822(moment: datetime | None = None) -> str:
    return format_datetime(moment or datetime.now(UTC))


# The sort keys the contract lists (the fake orders by id whichever is asked).
CATALOG_SORTS = frozenset(
    {
        "id",
        "name",
        "sku",
        "price",
        "date_modified",
        "date_last_imported",
        "inventory_level",
        "is_visible",
        "total_sold",
        "calculated_price",
    }
)


def _parse_date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parsedate_to_datetime(value)


class FakeBigCommerce:
    def __init__(
        self,
        store_hash: str,
        access_token: str,
        *,
        quota: int = QUOTA,
        window_seconds: float = WINDOW_SECONDS,
        scopes: frozenset[str] = FULL_SCOPES,
        name: str | None = None,
    ) -> None:
        self.store_hash = store_hash
        self.name = name or store_hash
        self.scopes = scopes
        self.access_token = access_token
        self.quota = quota
        self.window_seconds = window_seconds
        self.throttled = 0  # requests answered 429
        self.hooks: dict[int, dict[str, Any]] = {}
        self._hook_ids = itertools.count(20_000_000)
        self.deliveries = Deliveries()
        self.windows_spent = 0  # quota windows whose every request was spent (answered "0 left")
        self.malformed: set[int] = set()  # order ids seeded broken on purpose
        self._window_start = time.monotonic()
        self._window_used = 0
        self.orders: dict[int, dict[str, Any]] = {}
        self.order_products: dict[int, list[dict[str, Any]]] = {}
        self.order_addresses: dict[int, list[dict[str, Any]]] = {}
        self.order_shipments: dict[int, list[dict[str, Any]]] = {}
        self.variants: dict[tuple[int, int], dict[str, Any]] = {}  # (product id, variant id) -> variant
        self.product_modified: dict[int, datetime] = {}  # product id -> its date_modified
        self.brands: dict[int, int] = {}  # product id -> its brand_id (0: none)
        self.minimum_quantity: dict[int, int] = {}  # product id -> its order_quantity_minimum
        self._ids = itertools.count(100)
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    @property
    def base_url(self) -> str:
        return f"{self.server.base_url}/stores/{self.store_hash}"

    # --- seeding -------------------------------------------------------------------------------------
    def add_variant(
        self,
        product_id: int,
        variant_id: int,
        sku: str,
        name: str,
        price: str,
        options: tuple[str, ...] = (),
        brand_id: int = 0,
    ) -> None:
        """options: the variant's option values' labels (e.g. ("L", "Red")); brand_id: its product's
        brand (0: none, as the contract's examples write it)."""
        self.brands[product_id] = brand_id or self.brands.get(product_id, 0)
        self.variants[(product_id, variant_id)] = {
            "id": variant_id,
            "product_id": product_id,
            "sku": sku,
            "name": name,
            "price": price,
            "options": options,
        }
        self.product_modified[product_id] = datetime.now(UTC)  # adding a variant saves its product

    def set_variant_sku(self, product_id: int, variant_id: int, sku: str) -> None:
        """A variant edited through its own endpoint: the product's date_modified is not promised
        to move (the contract says nothing), so the fake leaves it; only a full read sees it."""
        self.variants[(product_id, variant_id)]["sku"] = sku

    def delete_product(self, product_id: int) -> None:
        for key in [k for k in self.variants if k[0] == product_id]:
            del self.variants[key]
        self.product_modified.pop(product_id, None)

    def add_order(
        self,
        order: dict[str, Any],
        products: list[dict[str, Any]],
        addresses: list[dict[str, Any]],
        *,
        malformed: bool = False,
    ) -> None:
        """malformed: a deliberately broken order (bad input from a store, for the tests of how it is
        handled): answered as it is, outside the contract check of the fake's own answers."""
        if malformed:
            self.malformed.add(int(order["id"]))
        self.orders[int(order["id"])] = order
        self.order_products[int(order["id"])] = products
        # every address the store keeps has its id (orderShippingAddress): a shipment names it
        self.order_addresses[int(order["id"])] = [
            {"id": index, "order_id": int(order["id"]), **address} for index, address in enumerate(addresses, start=1)
        ]
        self._deliver("store/order/created", int(order["id"]))

    def created_orders(self) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o.get("external_source") == "ordersync"]

    def update_order(self, order_id: int, **changes: Any) -> None:
        """A change in the control panel: store/order/updated goes to the hooks."""
        self.orders[order_id].update(changes, date_modified=rfc2822())
        self._deliver("store/order/updated", order_id)

    # --- webhooks ------------------------------------------------------------------------------------
    def _deliver(self, scope: str, order_id: int, data: dict[str, Any] | None = None) -> None:
        """As BigCommerce sends a hook: the order's id only (a shipment's: its id and its order's),
        with the headers the hook was made with."""
        data = data or {"type": "order", "id": order_id}
        body = {
            "scope": scope,
            "store_id": "1025646",
            "data": data,
            "hash": hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest(),
            "created_at": int(time.time()),
            "producer": f"stores/{self.store_hash}",
        }
        for hook in list(self.hooks.values()):
            if hook["is_active"] and hook["scope"] == scope:
                headers = {"Content-Type": "application/json", **hook["headers"]}
                answered = functools.partial(self._answered, hook["id"])
                self.deliveries.post(scope, hook["destination"], headers, json.dumps(body).encode(), 0.0, answered)

    def _answered(self, hook_id: int, status: int) -> None:
        """BigCommerce retries a failed delivery for about two days, then deactivates the hook
        (is_active false) and emails the store owner; here a run of failures stands for that."""
        with self._lock:
            hook = self.hooks.get(hook_id)
            if hook is None:
                return
            hook["failures"] = 0 if 200 <= status <= 299 else hook.get("failures", 0) + 1
            if hook["failures"] >= FAILURES_BEFORE_DEACTIVATION:
                hook["is_active"] = False

    def _hooks(self, request: Request, hook_id: int | None) -> Response:
        if hook_id is None and request.method == "GET":
            hooks = [_public_hook(self.hooks[i]) for i in sorted(self.hooks)]
            meta = {
                "pagination": {
                    "total": len(hooks),
                    "count": len(hooks),
                    "per_page": 250,
                    "current_page": 1,
                    "total_pages": 1,
                }
            }
            return self._json({"data": hooks, "meta": meta})
        if hook_id is None:
            body = request.get_json(silent=True) or {}
            destination = str(body.get("destination") or "")
            # BigCommerce delivers to HTTPS on port 443 only; the local stack's URL is the exception here
            if not (destination.startswith("https://") or destination.startswith("http://127.0.0.1:")):
                return self._json({"status": 422, "title": "destination must be an https URL"}, 422)
            if not str(body.get("scope") or "").startswith("store/"):
                return self._json({"status": 422, "title": "scope is invalid"}, 422)
            with self._lock:
                new_id = next(self._hook_ids)
            now = int(time.time())
            hook = {
                "id": new_id,
                "client_id": "ordersync",
                "store_hash": self.store_hash,
                "scope": body["scope"],
                "destination": destination,
                "headers": dict(body.get("headers") or {}),
                "is_active": bool(body.get("is_active", True)),
                "created_at": now,
                "updated_at": now,
            }
            self.hooks[new_id] = hook
            return self._json({"data": _public_hook(hook), "meta": {}})
        found = self.hooks.get(hook_id)
        if found is None:
            return self._json({"status": 404, "title": "Webhook not found"}, 404)
        if request.method == "DELETE":
            del self.hooks[hook_id]
        if request.method == "PUT":
            changes = request.get_json(silent=True) or {}
            with self._lock:
                if changes.get("is_active") and not found["is_active"]:
                    found["failures"] = 0
                for name in ("is_active", "destination", "headers"):
                    if name in changes:
                        found[name] = changes[name]
                found["updated_at"] = int(time.time())
        return self._json({"data": _public_hook(found), "meta": {}})

    # --- HTTP ----------------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        if request.headers.get("X-Auth-Token") != self.access_token:
            return self._json({"status": 401, "title": "Unauthorized"}, 401)
        if not self._spend():
            self.throttled += 1
            headers = self._rate_headers()
            headers["X-Retry-After"] = str(max(1, -(-int(headers["X-Rate-Limit-Time-Reset-Ms"]) // 1000)))
            body = [{"status": 429, "message": "You have exceeded your request quota."}]
            return Response(json.dumps(body), 429, headers=headers, content_type="application/json")
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except (NotFound, HTTPException):
            return self._json([{"status": 404, "message": "The requested resource was not found."}], 404)
        if args.get("store_hash") != self.store_hash:
            return self._json([{"status": 404, "message": "Store not found."}], 404)
        if not self._in_scope(endpoint, request.method):  # checked before the body is read
            return self._json(_FORBIDDEN, 403)
        if endpoint == "store":
            return self._json(self._information())
        if endpoint in ("hooks", "hook"):
            return self._hooks(request, args.get("hook_id"))
        if endpoint == "order":
            order = self.orders.get(args["order_id"])
            if order is None:
                return self._json([{"status": 404, "message": "The requested resource was not found."}], 404)
            if request.method == "PUT":  # order_Put: the status by its id (the order statuses table), staff notes
                changes: dict[str, Any] = request.get_json(silent=True) or {}
                status_id = changes.get("status_id", order["status_id"])
                names = {number: name for name, number in STATUS_IDS.items()}
                if not isinstance(status_id, int) or status_id not in names:
                    return self._json([{"status": 400, "message": "The field 'status_id' is invalid."}], 400)
                if not isinstance(changes.get("staff_notes", ""), str):
                    return self._json([{"status": 400, "message": "The field 'staff_notes' is invalid."}], 400)
                refused = self._set_products(args["order_id"], changes.get("products") or [])
                if refused is not None:
                    return refused
                order.update(status_id=status_id, status=names[status_id], date_modified=rfc2822())
                if "staff_notes" in changes:
                    order["staff_notes"] = changes["staff_notes"]
                # an order saved through the API is saved as in the control panel: its hooks are told
                self._deliver("store/order/updated", args["order_id"])
            return self._json(order, item=None if args["order_id"] in self.malformed else "order")
        if endpoint == "orders":
            return self._list(request) if request.method == "GET" else self._create(request)
        if endpoint == "products":
            checked = None if args["order_id"] in self.malformed else "order_product"
            return self._page(request, self.order_products.get(args["order_id"], []), checked)
        if endpoint == "shipments":
            if args["order_id"] not in self.orders:
                return self._json([{"status": 404, "message": "The requested resource was not found."}], 404)
            if request.method == "GET":
                return self._page(request, self.order_shipments.get(args["order_id"], []), "shipment")
            return self._ship_by_api(request, args["order_id"])
        if endpoint == "shipment":
            return self._shipment(request, args["order_id"], args["shipment_id"])
        if endpoint == "address":
            return self._address(request, args["order_id"], args["address_id"])
        if endpoint == "addresses":
            return self._page(request, self.order_addresses.get(args["order_id"], []), "shipping_address")
        if endpoint == "catalog":
            return self._catalog(request)
        variant = self.variants.get((args["product_id"], args["variant_id"]))
        return (
            self._json({"data": variant}) if variant else self._json({"status": 404, "title": "Variant not found"}, 404)
        )

    def _in_scope(self, endpoint: str, method: str) -> bool:
        if endpoint in ("hooks", "hook"):  # /v3/hooks needs no OAuth scope (BigCommerce's webhooks guide)
            return True
        scope = _SCOPE_OF.get(endpoint, "store_v2_orders")
        writes = method not in ("GET", "HEAD")
        return scope in self.scopes or (not writes and f"{scope}_read_only" in self.scopes)

    def _information(self) -> dict[str, Any]:
        """GET /v2/store, the fields of the contract's example we have an answer for."""
        return {
            "id": self.store_hash,
            "domain": f"{self.store_hash}.mybigcommerce.com",
            "secure_url": f"https://{self.store_hash}.mybigcommerce.com",
            "control_panel_base_url": f"https://store-{self.store_hash}.mybigcommerce.com",
            "status": "live",
            "name": self.name,
            "currency": "USD",
            "language": "en",
        }

    def _list(self, request: Request) -> Response:
        orders = [o for o in self.orders.values() if self.server.listed(o["id"])]
        if request.args.get("external_order_id") is not None:
            orders = [o for o in orders if o.get("external_order_id") == request.args["external_order_id"]]
        for arg, field in (("min_date_modified", "date_modified"), ("min_date_created", "date_created")):
            if request.args.get(arg):
                bound = _parse_date(request.args[arg])
                orders = [o for o in orders if _parse_date(o[field]) >= bound]
        sort = request.args.get("sort", "id:asc")
        field, _, direction = sort.partition(":")
        key = (lambda o: _parse_date(o[field])) if field.startswith("date_") else (lambda o: o["id"])
        orders.sort(key=key, reverse=direction == "desc")
        return self._page(request, orders, "order")

    def _page(self, request: Request, items: list[dict[str, Any]], definition: str | None) -> Response:
        limit = max(1, min(int(request.args.get("limit", 50)), 250))
        page = max(1, int(request.args.get("page", 1)))
        chunk = items[(page - 1) * limit : page * limit]
        return Response(status=204, headers=self._rate_headers()) if not chunk else self._json(chunk, item=definition)

    def _create(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return self._json([{"status": 400, "message": "The request body is not valid JSON."}], 400)
        problem = contract_problem("order_post", body)
        if problem:
            return self._json([{"status": 400, "message": f"The field is invalid: {problem}"}], 400)
        products = []
        for index, item in enumerate(body["products"], start=1):
            variant = self.variants.get((int(item.get("product_id", 0)), int(item.get("variant_id", 0))))
            if variant is None:
                return self._json([{"status": 400, "message": f"Product {item.get('product_id')} was not found."}], 400)
            products.append(
                {
                    "id": index,
                    "product_id": variant["product_id"],
                    "variant_id": variant["id"],
                    "sku": variant["sku"],
                    "name": variant["name"],
                    "quantity": int(item["quantity"]),
                    "price_inc_tax": variant["price"],
                    "type": "physical",
                }
            )
        with self._lock:
            order_id = next(self._ids)
        order = bigcommerce_order(order_id, status="Awaiting Fulfillment")
        order.update(
            external_source=body.get("external_source"),
            external_order_id=body.get("external_order_id") or "",
            staff_notes=body.get("staff_notes", ""),
            billing_address=body["billing_address"],
        )
        addresses = [
            {
                "id": i + 1,
                "order_id": order_id,
                **{k: "" for k in ("first_name", "last_name", "street_1", "city", "zip", "country_iso2")},
                **a,
            }
            for i, a in enumerate(body.get("shipping_addresses") or [])
        ]
        self.add_order(order, products, addresses)
        self.server.created(order_id)
        return self._json(order, 201, item="order")

    def _set_products(self, order_id: int, posted: list[Any]) -> Response | None:
        """order_Put's products: one with an `id` is updated (only the fields given), quantity 0
        removes it; an id not on the order is refused."""
        lines = self.order_products.get(order_id, [])
        for item in posted:
            line = next((p for p in lines if isinstance(item, dict) and p["id"] == item.get("id")), None)
            if line is None:
                return self._json([{"status": 400, "message": "The field 'products' is invalid."}], 400)
            quantity = item.get("quantity", line["quantity"])
            if not isinstance(quantity, int) or quantity < 0:
                return self._json([{"status": 400, "message": "The field 'quantity' is invalid."}], 400)
            if quantity < self.minimum_quantity.get(line["product_id"], 0):
                continue  # as users report: 200, and nothing changed below the product's minimum
            if quantity == 0:
                lines.remove(line)
            else:
                line["quantity"] = quantity
        return None

    def _shipment(self, request: Request, order_id: int, shipment_id: int) -> Response:
        """GET / PUT one shipment (orderShipment_Put: no items; tracking, provider, comments)."""
        found = next((s for s in self.order_shipments.get(order_id, []) if s["id"] == shipment_id), None)
        if found is None:
            return self._json([{"status": 404, "message": "The requested resource was not found."}], 404)
        if request.method == "PUT":
            body = request.get_json(silent=True)
            problem = contract_problem("shipment_put", body)
            if problem:
                return self._json([{"status": 400, "message": f"The field is invalid: {problem}"}], 400)
            found.update(body or {})
            self.orders[order_id]["date_modified"] = rfc2822()
        return self._json(found, item="shipment")

    def correct_tracking(
        self, order_id: int, shipment_id: int, tracking: tuple[str | None, str | None, str | None]
    ) -> None:
        """The store's staff change a shipment's tracking: store/shipment/updated goes out."""
        found = next(s for s in self.order_shipments[order_id] if s["id"] == shipment_id)
        provider, number, url = tracking
        found.update(shipping_provider=provider or "", tracking_number=number or "", tracking_link=url or "")
        self._deliver("store/shipment/updated", order_id, {"type": "shipment", "id": shipment_id, "orderId": order_id})

    def _address(self, request: Request, order_id: int, address_id: int) -> Response:
        """GET / PUT one of an order's shipping addresses (shippingAddress_Put: the address's fields)."""
        found = next((a for a in self.order_addresses.get(order_id, []) if a["id"] == address_id), None)
        if found is None:
            return self._json([{"status": 404, "message": "The requested resource was not found."}], 404)
        if request.method == "PUT":
            body = request.get_json(silent=True)
            problem = contract_problem("shipping_address_post", body)
            if problem:
                return self._json([{"status": 400, "message": f"The field is invalid: {problem}"}], 400)
            found.update(body or {})
            self.orders[order_id]["date_modified"] = rfc2822()
        return self._json(found, item="shipping_address")

    def _ship_by_api(self, request: Request, order_id: int) -> Response:
        """POST /orders/{id}/shipments: the body as orderShipment_Post allows it; the address one of
        the order's; each item one of its products, for no more than is left to ship."""
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return self._json([{"status": 400, "message": "The request body is not valid JSON."}], 400)
        problem = contract_problem("shipment_post", body)
        if problem:
            return self._json([{"status": 400, "message": f"The field is invalid: {problem}"}], 400)
        if body["order_address_id"] not in {a["id"] for a in self.order_addresses.get(order_id, [])}:
            return self._json([{"status": 400, "message": "The field 'order_address_id' is invalid."}], 400)
        products = {p["id"]: p for p in self.order_products.get(order_id, [])}
        for item in body["items"]:
            product = products.get(item["order_product_id"])
            if product is None:
                return self._json([{"status": 400, "message": "The field 'order_product_id' is invalid."}], 400)
            if item["quantity"] > product["quantity"] - product.get("quantity_shipped", 0):
                message = (
                    "The quantity specified is greater than the quantity of the product that is available to ship."
                )
                return self._json([{"status": 400, "message": message}], 400)
        shipment = self._ship(order_id, {i["order_product_id"]: i["quantity"] for i in body["items"]}, body)
        return self._json(shipment, 201, item="shipment")

    def ship(
        self,
        order_id: int,
        items: dict[int, int] | None = None,
        tracking: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> dict[str, Any]:
        """The shop ships in its control panel: `items` (order product id: units; all left when None)."""
        products = self.order_products[order_id]
        chosen = items or {p["id"]: p["quantity"] - p.get("quantity_shipped", 0) for p in products}
        provider, number, url = tracking
        return self._ship(
            order_id,
            chosen,
            {
                "order_address_id": self.order_addresses[order_id][0]["id"],
                "shipping_provider": provider or "",
                "tracking_number": number or "",
                "tracking_link": url or "",
            },
        )

    def _ship(self, order_id: int, items: dict[int, int], body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            shipment_id = next(self._ids)
        products = {p["id"]: p for p in self.order_products[order_id]}
        for product_id, units in items.items():
            products[product_id]["quantity_shipped"] = products[product_id].get("quantity_shipped", 0) + units
        shipment = {
            "id": shipment_id,
            "order_id": order_id,
            "order_address_id": body["order_address_id"],
            "date_created": rfc2822(),
            "tracking_number": body.get("tracking_number", ""),
            "shipping_provider": body.get("shipping_provider", ""),
            "tracking_carrier": body.get("tracking_carrier", ""),
            "tracking_link": body.get("tracking_link", ""),
            "comments": body.get("comments", ""),
            "items": [
                {"order_product_id": k, "product_id": products[k]["product_id"], "quantity": v}
                for k, v in items.items()
            ],
        }
        self.order_shipments.setdefault(order_id, []).append(shipment)
        hook = {"type": "shipment", "id": shipment_id, "orderId": order_id}
        assert contract_problem("shipment_hook", {"scope": "store/shipment/created", "data": hook}) is None
        self._deliver("store/shipment/created", order_id, hook)
        shipped = sum(p.get("quantity_shipped", 0) for p in products.values())
        whole = all(p.get("quantity_shipped", 0) >= p["quantity"] for p in products.values())
        status = "Shipped" if whole else "Partially Shipped"
        self.update_order(order_id, items_shipped=shipped, status=status, status_id=STATUS_IDS[status])
        return shipment

    def _catalog(self, request: Request) -> Response:
        """V3: products with their variants, {"data": [...], "meta": {"pagination": ...}}."""
        products: dict[int, dict[str, Any]] = {}
        with_variants = "variants" in request.args.get("include", "").split(",")  # only when asked for
        for (product_id, _), variant in sorted(self.variants.items()):
            product = products.setdefault(
                product_id, {"id": product_id, "name": variant["name"], "brand_id": self.brands.get(product_id, 0)}
            )
            if with_variants:
                options = [
                    {"id": n, "label": label, "option_id": n, "option_display_name": f"Option {n}"}
                    for n, label in enumerate(variant.get("options", ()), start=1)
                ]
                listed = {"id": variant["id"], "product_id": product_id, "sku": variant["sku"]}
                if options:  # optional in the contract: a base variant's is left out
                    listed["option_values"] = options
                product.setdefault("variants", []).append(listed)
        if request.args.get("sort", "id") not in CATALOG_SORTS or request.args.get("direction", "asc") not in (
            "asc",
            "desc",
        ):
            return self._json({"status": 422, "title": "Invalid sort or direction"}, 422)
        ordered = list(products.values())
        try:
            if request.args.get("date_modified:min"):
                bound = _parse_date(request.args["date_modified:min"])
                ordered = [p for p in ordered if self.product_modified[p["id"]] >= bound]
            if request.args.get("id:greater"):
                ordered = [p for p in ordered if p["id"] > int(request.args["id:greater"])]
        except ValueError:
            return self._json({"status": 422, "title": "Invalid filter"}, 422)
        ordered.sort(key=lambda p: p["id"], reverse=request.args.get("direction", "asc") == "desc")
        limit = max(1, min(int(request.args.get("limit", 50)), 250))
        page = max(1, int(request.args.get("page", 1)))
        pages = max(1, -(-len(ordered) // limit))
        meta = {"pagination": {"total": len(ordered), "current_page": page, "total_pages": pages, "per_page": limit}}
        return self._json({"data": ordered[(page - 1) * limit : page * limit], "meta": meta}, schema="catalog_page")

    def _roll_window(self) -> float:
        now = time.monotonic()
        if now - self._window_start >= self.window_seconds:
            self._window_start, self._window_used = now, 0
        return now

    def _spend(self) -> bool:
        with self._lock:
            self._roll_window()
            if self._window_used >= self.quota:
                return False
            self._window_used += 1
            self.windows_spent += self._window_used == self.quota
            return True

    def _rate_headers(self) -> dict[str, str]:
        with self._lock:
            now = self._roll_window()
            reset_ms = max(int((self._window_start + self.window_seconds - now) * 1000), 1)
            return {
                "X-Rate-Limit-Requests-Left": str(max(self.quota - self._window_used, 0)),
                "X-Rate-Limit-Requests-Quota": str(self.quota),
                "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
                "X-Rate-Limit-Time-Window-Ms": str(int(self.window_seconds * 1000)),
            }

    def _json(self, value: Any, status: int = 200, *, item: str | None = None, schema: str | None = None) -> Response:
        """An answer, checked against the contract first: one that breaks it is the fake's bug."""
        values = value if isinstance(value, list) else [value]
        problems = (
            [contract_problem(item, v) for v in values if not (item == "order" and _order_id(v) in self.malformed)]
            if item
            else []
        )
        if schema:
            problems.append(contract_problem(schema, value))
        if status >= 400 and isinstance(value, list):
            problems.append(contract_problem("error", value))
        broken = next((p for p in problems if p), None)
        if broken:
            value, status = [{"status": 500, "message": f"fake BigCommerce broke its contract: {broken}"}], 500
        return Response(json.dumps(value), status, headers=self._rate_headers(), content_type="application/json")


STATUS_IDS = {
    "Incomplete": 0,
    "Pending": 1,
    "Shipped": 2,
    "Refunded": 4,
    "Cancelled": 5,
    "Declined": 6,
    "Awaiting Payment": 7,
    "Awaiting Shipment": 9,
    "Completed": 10,
    "Awaiting Fulfillment": 11,
    "Partially Shipped": 3,
}


def bigcommerce_order(
    order_id: int,
    *,
    status: str = "Awaiting Fulfillment",
    currency: str = "USD",
    display_currency: str | None = None,
    moment: datetime | None = None,
) -> dict[str, Any]:
    """A V2 order as the API returns it: RFC 2822 dates, 4-decimal money strings, sub-resource links.
    `currency` is what the shopper paid in (default_currency_code); currency_code is the display one."""
    stamp = rfc2822(moment)
    return {
        "id": order_id,
        "date_created": stamp,
        "date_modified": stamp,
        "status": status,
        "status_id": STATUS_IDS[status],
        "currency_code": display_currency or currency,
        "default_currency_code": currency,
        "external_source": None,
        "external_order_id": "",  # order_Shared: a string; "" when no other system named it
        "staff_notes": "",
        "order_source": "www",
        "billing_address": {
            "first_name": "Jane",
            "last_name": "Doe",
            "street_1": "123 Main Street",
            "city": "Austin",
            "state": "Texas",
            "zip": "78751",  # billingAddress_Base: required
            "country": "United States",
            "country_iso2": "US",
            "email": "",
        },
        "products": {"url": f"/v2/orders/{order_id}/products", "resource": f"/orders/{order_id}/products"},
        "shipping_addresses": {
            "url": f"/v2/orders/{order_id}/shipping_addresses",
            "resource": f"/orders/{order_id}/shipping_addresses",
        },
        "shipping_address_count": 1,
    }


def _order_id(value: Any) -> int | None:
    raw = value.get("id") if isinstance(value, dict) else None
    return raw if isinstance(raw, int) else None
