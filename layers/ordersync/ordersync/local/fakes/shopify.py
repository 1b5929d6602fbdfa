"""A fake Shopify shop speaking the GraphQL Admin API (a subset of its real schema, executed by
graphql-core, so a query with a wrong field or argument fails here as it would at Shopify)."""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

from graphql import build_schema, graphql_sync
from werkzeug.wrappers import Request, Response

from ordersync.local.fakes.server import FakeServer

SCHEMA = build_schema(
    """
scalar DateTime
scalar Decimal

interface Node { id: ID! }

enum OrderSortKeys { CREATED_AT UPDATED_AT ID }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! endCursor: String startCursor: String }

type MoneyV2 { amount: Decimal! currencyCode: String! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

type MailingAddress {
  name: String firstName: String lastName: String company: String address1: String address2: String
  city: String provinceCode: String zip: String countryCodeV2: String phone: String
}

type Product implements Node { id: ID! title: String! }
type ProductVariant implements Node { id: ID! sku: String title: String! price: Decimal! product: Product! }

type LineItem implements Node {
  id: ID! sku: String title: String! name: String! quantity: Int! currentQuantity: Int!
  requiresShipping: Boolean! originalUnitPriceSet: MoneyBag! variant: ProductVariant
}
type LineItemConnection { nodes: [LineItem!]! pageInfo: PageInfo! }

type Order implements Node {
  id: ID! legacyResourceId: String! name: String! createdAt: DateTime! updatedAt: DateTime!
  currencyCode: String! email: String test: Boolean! sourceName: String cancelledAt: DateTime
  tags: [String!]! note: String shippingAddress: MailingAddress
  lineItems(first: Int, after: String): LineItemConnection!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type ProductVariantConnection { nodes: [ProductVariant!]! pageInfo: PageInfo! }

type Query {
  productVariants(first: Int, after: String, query: String): ProductVariantConnection!
  orders(first: Int, after: String, last: Int, before: String, query: String, sortKey: OrderSortKeys,
         reverse: Boolean): OrderConnection!
  nodes(ids: [ID!]!): [Node]!
}

input MailingAddressInput {
  firstName: String lastName: String company: String address1: String address2: String city: String
  provinceCode: String zip: String countryCode: String phone: String
}
input OrderCreateLineItemInput { variantId: ID quantity: Int! title: String sku: String }
input OrderCreateOrderInput {
  lineItems: [OrderCreateLineItemInput!] shippingAddress: MailingAddressInput billingAddress: MailingAddressInput
  email: String currency: String tags: [String!] note: String test: Boolean sourceName: String
}
input OrderCreateOptionsInput { sendReceipt: Boolean sendFulfillmentReceipt: Boolean inventoryBehaviour: String }
type OrderCreateUserError { field: [String!] message: String! code: String }
type OrderCreatePayload { order: Order userErrors: [OrderCreateUserError!]! }

type Mutation {
  orderCreate(order: OrderCreateOrderInput!, options: OrderCreateOptionsInput): OrderCreatePayload
}
"""
)

_MAX_PAGE = 250
_BUCKET = 2000


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"last": index}).encode()).decode()


def _index(cursor: str | None) -> int:
    return int(json.loads(base64.b64decode(cursor))["last"]) + 1 if cursor else 0


class FakeShopify:
    """One shop. Buyer side: its orders. Seller side: its product variants and the orders created in it."""

    def __init__(self, shop: str, access_token: str) -> None:
        self.shop = shop
        self.access_token = access_token
        self.orders: dict[str, dict[str, Any]] = {}  # gid -> order node
        self.variants: dict[str, dict[str, Any]] = {}  # gid -> variant node
        self.throttle_next = 0  # how many coming queries are answered THROTTLED
        self._ids = itertools.count(5_000_000)
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    # --- seeding -----------------------------------------------------------------------------------
    def add_variant(
        self, variant_id: int, sku: str, product_id: int, product_title: str, title: str, price: str
    ) -> None:
        self.variants[gid("ProductVariant", variant_id)] = {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant_id),
            "sku": sku,
            "title": title,
            "price": price,
            "product": {"__typename": "Product", "id": gid("Product", product_id), "title": product_title},
        }

    def delete_variant(self, variant_id: int) -> None:
        self.variants.pop(gid("ProductVariant", variant_id), None)

    def add_order(self, node: dict[str, Any]) -> None:
        self.orders[node["id"]] = node

    def created_orders(self) -> list[dict[str, Any]]:
        """Orders created through orderCreate (the seller side)."""
        return [o for o in self.orders.values() if o["sourceName"] == "ordersync"]

    # --- resolvers -----------------------------------------------------------------------------------
    def _orders(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
        sortKey: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        size = min(first or 50, _MAX_PAGE)
        matching = [o for o in self.orders.values() if _matches(o, query or "")]
        key = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt"}.get(sortKey or "ID")
        matching.sort(key=lambda o: (o[key], int(o["legacyResourceId"])) if key else int(o["legacyResourceId"]))
        return _connection(matching, after, size)

    def _product_variants(
        self, _info: Any, first: int | None = None, after: str | None = None, **_: Any
    ) -> dict[str, Any]:
        return _connection(sorted(self.variants.values(), key=lambda v: v["id"]), after, min(first or 50, _MAX_PAGE))

    def _nodes(self, _info: Any, ids: list[str]) -> list[dict[str, Any] | None]:
        return [self.variants.get(i) or self.orders.get(i) for i in ids]

    def _order_create(self, _info: Any, order: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
        errors = []
        lines = []
        for index, item in enumerate(order.get("lineItems") or []):
            variant = self.variants.get(str(item.get("variantId")))
            if variant is None:
                errors.append(
                    {"field": ["order", "lineItems", str(index), "variantId"], "message": "Variant not found"}
                )
                continue
            lines.append((variant, int(item["quantity"])))
        if not lines and not errors:
            errors.append({"field": ["order", "lineItems"], "message": "Line items can't be blank"})
        if errors:
            return {"order": None, "userErrors": errors}
        with self._lock:
            number = next(self._ids)
        ship = order.get("shippingAddress")
        node = order_node(
            number,
            f"#{number}",
            [(v["sku"], f"{v['product']['title']} - {v['title']}", qty, v["price"]) for v, qty in lines],
            None
            if ship is None
            else {
                "name": " ".join(p for p in (ship.get("firstName"), ship.get("lastName")) if p),
                "company": ship.get("company"),
                "address1": ship.get("address1"),
                "address2": ship.get("address2"),
                "city": ship.get("city"),
                "provinceCode": ship.get("provinceCode"),
                "zip": ship.get("zip"),
                "countryCodeV2": ship.get("countryCode"),
                "phone": ship.get("phone"),
            },
            currency=order.get("currency") or "USD",
            source="ordersync",
            tags=list(order.get("tags") or []),
        )
        node["note"] = order.get("note")
        self.orders[node["id"]] = node
        return {"order": node, "userErrors": []}

    # --- HTTP ----------------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        if not re.fullmatch(r"/admin/api/[0-9]{4}-[0-9]{2}/graphql\.json", request.path) or request.method != "POST":
            return Response('{"errors": "Not Found"}', 404, content_type="application/json")
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            refused = '{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}'
            return Response(refused, 401, content_type="application/json")
        payload = json.loads(request.get_data(as_text=True) or "{}")
        cost: dict[str, Any] = {
            "requestedQueryCost": 10,
            "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": _BUCKET, "currentlyAvailable": _BUCKET - 10, "restoreRate": 100},
        }
        if self.throttle_next > 0:
            self.throttle_next -= 1
            cost["throttleStatus"]["currentlyAvailable"] = 0
            throttled = {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {"cost": cost},
            }
            return Response(json.dumps(throttled), 200, content_type="application/json")
        root = {
            "orders": self._orders,
            "nodes": self._nodes,
            "productVariants": self._product_variants,
            "orderCreate": self._order_create,
        }
        result = graphql_sync(
            SCHEMA, payload.get("query", ""), root_value=root, variable_values=payload.get("variables")
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [
                {"message": e.message, "locations": [loc._asdict() for loc in e.locations or []]} for e in result.errors
            ]
        body["extensions"] = {"cost": cost}
        return Response(json.dumps(body, default=str), 200, content_type="application/json")


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


def _matches(order: dict[str, Any], query: str) -> bool:
    """The subset of Shopify's search syntax ordersync uses: updated_at:>=, created_at:>=, tag:."""
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
        "tags": tags or [],
        "note": None,
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
                    "originalUnitPriceSet": {
                        "shopMoney": {"amount": price, "currencyCode": currency},
                        "presentmentMoney": {"amount": price, "currencyCode": currency},
                    },
                    "variant": None,
                }
                for index, (sku, title, quantity, price) in enumerate(lines, start=1)
            ],
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None, "startCursor": None},
        },
    }
