"""A fake WooCommerce store speaking REST API v3: orders (list, create, search) and products."""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ordersync.local.fakes.server import FakeServer

_ROUTES = Map(
    [
        Rule("/wp-json/wc/v3/orders", endpoint="orders", methods=["GET", "POST"]),
        Rule("/wp-json/wc/v3/orders/<int:order_id>", endpoint="order", methods=["GET"]),
        Rule("/wp-json/wc/v3/products", endpoint="products", methods=["GET"]),
        Rule("/wp-json/wc/v3/products/<int:product_id>", endpoint="product", methods=["GET"]),
        Rule("/wp-json/wc/v3/products/<int:product_id>/variations", endpoint="variations", methods=["GET"]),
        Rule("/wp-json/wc/v3/products/<int:product_id>/variations/<int:variation_id>", endpoint="variation"),
    ]
)


def _gmt(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")


def _error(code: str, message: str, status: int) -> Response:
    body = {"code": code, "message": message, "data": {"status": status}}
    return Response(json.dumps(body), status, content_type="application/json")


class FakeWooCommerce:
    def __init__(self, name: str, consumer_key: str, consumer_secret: str) -> None:
        self.name = name
        self._credentials = (consumer_key, consumer_secret)
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}  # product id -> product, with "variations": {id: variation}
        self._ids = itertools.count(9000)
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    @property
    def base_url(self) -> str:
        return self.server.base_url

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
    ) -> None:
        product = self.products.setdefault(
            product_id, {"id": product_id, "name": name, "sku": sku, "price": price, "type": "simple", "variations": {}}
        )
        if variation_id is not None:
            product["variations"][variation_id] = {
                "id": variation_id,
                "sku": variation_sku or sku,
                "price": price,
                "name": variation_name,
                "attributes": [{"name": "Option", "option": variation_name}],
            }
            product["type"] = "variable"

    def delete_product(self, product_id: int, variation_id: int | None = None) -> None:
        if variation_id is None:
            self.products.pop(product_id, None)
        else:
            self.products.get(product_id, {}).get("variations", {}).pop(variation_id, None)

    def add_order(self, order: dict[str, Any]) -> None:
        self.orders[int(order["id"])] = order

    def created_orders(self) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o.get("created_via") == "rest-api"]

    # --- HTTP ----------------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except NotFound:
            return _error("rest_no_route", "No route was found matching the URL and request method.", 404)
        except HTTPException as error:
            return _error("rest_no_route", str(error), error.code or 404)
        if endpoint == "orders":
            return self._list_orders(request) if request.method == "GET" else self._create_order(request)
        if endpoint == "order":
            order = self.orders.get(args["order_id"])
            return _json(order) if order else _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        if endpoint == "products":
            sku = request.args.get("sku")
            products = [
                _public(p)
                for p in sorted(self.products.values(), key=lambda p: p["id"])
                if sku is None or p["sku"] == sku
            ]
            return _paged(request, products)
        if endpoint == "variations":
            product = self.products.get(args["product_id"])
            if product is None:
                return _error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            return _paged(request, [product["variations"][v] for v in sorted(product["variations"])])
        if endpoint == "product":
            product = self.products.get(args["product_id"])
            return (
                _json(_public(product))
                if product
                else _error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            )
        variation = self.products.get(args["product_id"], {}).get("variations", {}).get(args["variation_id"])
        return (
            _json(variation)
            if variation
            else _error("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (user, password) == self._credentials
        return (request.args.get("consumer_key"), request.args.get("consumer_secret")) == self._credentials

    def _list_orders(self, request: Request) -> Response:
        orders = list(self.orders.values())
        modified_after = request.args.get("modified_after")
        if modified_after:
            bound = datetime.fromisoformat(modified_after.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
            orders = [o for o in orders if datetime.fromisoformat(o["date_modified_gmt"]) > bound]
        search = request.args.get("search")
        if search:  # the store's search covers the _ordersync_source meta (see the adapter's docstring)
            orders = [o for o in orders if search in json.dumps(o.get("meta_data", [])) or search in str(o["number"])]
        key = "date_modified_gmt" if request.args.get("orderby") == "modified" else "date_created_gmt"
        orders.sort(key=lambda o: (o[key], o["id"]), reverse=request.args.get("order", "desc") == "desc")
        per_page = max(1, min(int(request.args.get("per_page", 10)), 100))
        page = max(1, int(request.args.get("page", 1)))
        pages = max(1, math.ceil(len(orders) / per_page))
        chunk = orders[(page - 1) * per_page : page * per_page]
        return _json(chunk, headers={"X-WP-Total": str(len(orders)), "X-WP-TotalPages": str(pages)})

    def _create_order(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True) or "{}")
        lines = []
        for item in body.get("line_items", []):
            product = self.products.get(int(item.get("product_id", 0)))
            variation_id = int(item.get("variation_id") or 0)
            if product is None or (variation_id and variation_id not in product["variations"]):
                return _error("woocommerce_rest_invalid_product_id", "Product ID provided is invalid.", 400)
            variation = product["variations"].get(variation_id) if variation_id else None
            lines.append((product, variation, int(item["quantity"])))
        with self._lock:
            order_id = next(self._ids)
        order = woocommerce_order(
            order_id,
            [((v or p)["sku"], p["name"], qty, (v or p)["price"], p["id"], variation_id_of(v)) for p, v, qty in lines],
            body.get("shipping"),
            status=body.get("status", "pending"),
            created_via="rest-api",
            currency=body.get("currency", "USD"),
        )
        order["meta_data"] = [{"id": i + 1, **m} for i, m in enumerate(body.get("meta_data", []))]
        order["customer_note"] = body.get("customer_note", "")
        self.orders[order_id] = order
        return _json(order, status=201)


def _paged(request: Request, items: list[dict[str, Any]]) -> Response:
    per_page = max(1, min(int(request.args.get("per_page", 10)), 100))
    page = max(1, int(request.args.get("page", 1)))
    pages = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    return _json(chunk, headers={"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)})


def variation_id_of(variation: dict[str, Any] | None) -> int:
    return int(variation["id"]) if variation else 0


def _public(product: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in product.items() if k != "variations"} | {"variations": sorted(product["variations"])}


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
) -> dict[str, Any]:
    """A WooCommerce v3 order. lines: (sku, name, quantity, price, product_id, variation_id).
    Like the real API, line `price` is a JSON number while other money fields are strings."""
    stamp = _gmt(modified)
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "status": status,
        "currency": currency,
        "created_via": created_via,
        "date_created": stamp,
        "date_created_gmt": stamp,
        "date_modified": stamp,
        "date_modified_gmt": stamp,
        "billing": {"email": email},
        "shipping": shipping
        if shipping is not None
        else {
            k: ""
            for k in (
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
        },
        "line_items": [
            {
                "id": order_id * 100 + index,
                "name": name,
                "product_id": product_id,
                "variation_id": variation_id,
                "quantity": quantity,
                "sku": sku or "",
                "price": json.loads(price),  # a number, as WooCommerce sends it
                "total": str(price),
            }
            for index, (sku, name, quantity, price, product_id, variation_id) in enumerate(lines, start=1)
        ],
        "meta_data": [],
        "refunds": [],
    }
