"""A fake BigCommerce store speaking the V2 Orders API (and the V3 catalog variant look-up):
bare-array lists, 204 for an empty page, RFC 2822 dates, X-Auth-Token, X-Rate-Limit-* headers."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ordersync.local.fakes.server import FakeServer

_ROUTES = Map(
    [
        Rule("/stores/<store_hash>/v2/orders", endpoint="orders", methods=["GET", "POST"]),
        Rule("/stores/<store_hash>/v2/orders/<int:order_id>/products", endpoint="products", methods=["GET"]),
        Rule("/stores/<store_hash>/v2/orders/<int:order_id>/shipping_addresses", endpoint="addresses", methods=["GET"]),
        Rule("/stores/<store_hash>/v3/catalog/products", endpoint="catalog", methods=["GET"]),
        Rule("/stores/<store_hash>/v3/catalog/products/<int:product_id>/variants/<int:variant_id>", endpoint="variant"),
    ]
)
_QUOTA = 150


def rfc2822(moment: datetime | None = None) -> str:
    return format_datetime(moment or datetime.now(UTC))


def _parse_date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parsedate_to_datetime(value)


class FakeBigCommerce:
    def __init__(self, store_hash: str, access_token: str) -> None:
        self.store_hash = store_hash
        self.access_token = access_token
        self.orders: dict[int, dict[str, Any]] = {}
        self.order_products: dict[int, list[dict[str, Any]]] = {}
        self.order_addresses: dict[int, list[dict[str, Any]]] = {}
        self.variants: dict[tuple[int, int], dict[str, Any]] = {}  # (product id, variant id) -> variant
        self.requests_left = _QUOTA
        self._ids = itertools.count(100)
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    @property
    def base_url(self) -> str:
        return f"{self.server.base_url}/stores/{self.store_hash}"

    # --- seeding -------------------------------------------------------------------------------------
    def add_variant(self, product_id: int, variant_id: int, sku: str, name: str, price: str) -> None:
        self.variants[(product_id, variant_id)] = {
            "id": variant_id,
            "product_id": product_id,
            "sku": sku,
            "name": name,
            "price": price,
        }

    def add_order(self, order: dict[str, Any], products: list[dict[str, Any]], addresses: list[dict[str, Any]]) -> None:
        self.orders[int(order["id"])] = order
        self.order_products[int(order["id"])] = products
        self.order_addresses[int(order["id"])] = addresses

    def created_orders(self) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o.get("external_source") == "ordersync"]

    # --- HTTP ----------------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        if request.headers.get("X-Auth-Token") != self.access_token:
            return self._json({"status": 401, "title": "Unauthorized"}, 401)
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except (NotFound, HTTPException):
            return self._json([{"status": 404, "message": "The requested resource was not found."}], 404)
        if args.get("store_hash") != self.store_hash:
            return self._json([{"status": 404, "message": "Store not found."}], 404)
        if endpoint == "orders":
            return self._list(request) if request.method == "GET" else self._create(request)
        if endpoint == "products":
            return self._json(self.order_products.get(args["order_id"], []))
        if endpoint == "addresses":
            return self._json(self.order_addresses.get(args["order_id"], []))
        if endpoint == "catalog":
            return self._catalog(request)
        variant = self.variants.get((args["product_id"], args["variant_id"]))
        return (
            self._json({"data": variant}) if variant else self._json({"status": 404, "title": "Variant not found"}, 404)
        )

    def _list(self, request: Request) -> Response:
        orders = list(self.orders.values())
        for arg, field in (("min_date_modified", "date_modified"), ("min_date_created", "date_created")):
            if request.args.get(arg):
                bound = _parse_date(request.args[arg])
                orders = [o for o in orders if _parse_date(o[field]) >= bound]
        sort = request.args.get("sort", "id:asc")
        field, _, direction = sort.partition(":")
        key = (lambda o: _parse_date(o[field])) if field.startswith("date_") else (lambda o: o["id"])
        orders.sort(key=key, reverse=direction == "desc")
        limit = max(1, min(int(request.args.get("limit", 50)), 250))
        page = max(1, int(request.args.get("page", 1)))
        chunk = orders[(page - 1) * limit : page * limit]
        return Response(status=204, headers=self._rate_headers()) if not chunk else self._json(chunk)

    def _create(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True) or "{}")
        if not body.get("billing_address") or not body.get("products"):
            return self._json(
                [{"status": 400, "message": "The field 'billing_address' and 'products' are required."}], 400
            )
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
            staff_notes=body.get("staff_notes", ""),
            billing_address=body["billing_address"],
        )
        self.add_order(order, products, list(body.get("shipping_addresses") or []))
        return self._json(order, 201)

    def _catalog(self, request: Request) -> Response:
        """V3: products with their variants, {"data": [...], "meta": {"pagination": ...}}."""
        products: dict[int, dict[str, Any]] = {}
        for (product_id, _), variant in sorted(self.variants.items()):
            product = products.setdefault(product_id, {"id": product_id, "name": variant["name"], "variants": []})
            product["variants"].append(
                {"id": variant["id"], "product_id": product_id, "sku": variant["sku"], "option_values": []}
            )
        limit = max(1, min(int(request.args.get("limit", 50)), 250))
        page = max(1, int(request.args.get("page", 1)))
        ordered = list(products.values())
        pages = max(1, -(-len(ordered) // limit))
        meta = {"pagination": {"total": len(ordered), "current_page": page, "total_pages": pages, "per_page": limit}}
        return self._json({"data": ordered[(page - 1) * limit : page * limit], "meta": meta})

    def _rate_headers(self) -> dict[str, str]:
        self.requests_left = max(self.requests_left - 1, 0) or _QUOTA
        return {
            "X-Rate-Limit-Requests-Left": str(self.requests_left),
            "X-Rate-Limit-Requests-Quota": str(_QUOTA),
            "X-Rate-Limit-Time-Reset-Ms": "30000",
            "X-Rate-Limit-Time-Window-Ms": "30000",
        }

    def _json(self, value: Any, status: int = 200) -> Response:
        return Response(json.dumps(value), status, headers=self._rate_headers(), content_type="application/json")


def bigcommerce_order(
    order_id: int, *, status: str = "Awaiting Fulfillment", currency: str = "USD", moment: datetime | None = None
) -> dict[str, Any]:
    """A V2 order as the API returns it: RFC 2822 dates, 4-decimal money strings, sub-resource links."""
    stamp = rfc2822(moment)
    return {
        "id": order_id,
        "date_created": stamp,
        "date_modified": stamp,
        "status": status,
        "status_id": 5 if status == "Cancelled" else 11,
        "currency_code": currency,
        "default_currency_code": currency,
        "order_source": "www",
        "billing_address": {"email": ""},
        "products": {"url": f"/v2/orders/{order_id}/products", "resource": f"/orders/{order_id}/products"},
        "shipping_addresses": {
            "url": f"/v2/orders/{order_id}/shipping_addresses",
            "resource": f"/orders/{order_id}/shipping_addresses",
        },
        "shipping_address_count": 1,
    }
