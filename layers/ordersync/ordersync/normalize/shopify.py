"""Shopify: REST / webhook order JSON and the GraphQL Admin API order node."""

from __future__ import annotations

from typing import Any

from ordersync.normalize.common import address, items, mapping, money, quantity, text, timestamp, variant_key

# Shopify's financial statuses that mean the retailer holds no payment (nor an authorisation) yet.
UNPAID_FINANCIAL_STATUSES = frozenset({"pending", "expired", "voided"})


def to_canonical(order: dict[str, Any]) -> dict[str, Any]:
    return _from_graphql(order) if "lineItems" in order or "createdAt" in order else _from_rest(order)


def legacy_id(gid_or_id: Any) -> str:
    """gid://shopify/Order/450789469 -> 450789469 (the id REST and webhooks use)."""
    value = str(gid_or_id)
    return value.rsplit("/", 1)[-1]


def _from_rest(order: dict[str, Any]) -> dict[str, Any]:
    refunded = _refunded_units(order.get("refunds") or [])
    ship = order.get("shipping_address")
    return {
        "order_id": str(order["id"]),
        "platform": "shopify",
        "order_number": text(order.get("name")) or str(order.get("order_number", order["id"])),
        "created_at": timestamp(order["created_at"]),
        "updated_at": timestamp(order.get("updated_at") or order["created_at"]),
        "currency": order["currency"],
        "email": text(order.get("email")),
        "test": bool(order.get("test")),
        "source": text(order.get("source_name")),
        "cancelled": order.get("cancelled_at") is not None,
        "awaiting_payment": (text(order.get("financial_status")) or "").lower() in UNPAID_FINANCIAL_STATUSES,
        "shipping_address": None if ship is None else _rest_address(mapping(ship, "shipping_address")),
        "lines": [
            _rest_line(mapping(line, "line_items[]"), refunded) for line in items(order["line_items"], "line_items")
        ],
    }


def _rest_line(line: dict[str, Any], refunded: dict[str, int]) -> dict[str, Any]:
    line_id = str(line["id"])
    if "current_quantity" in line:  # already net of refunded and removed units
        units = quantity(line["current_quantity"])
    else:
        units = max(quantity(line["quantity"]) - refunded.get(line_id, 0), 0)
    return {
        "line_id": line_id,
        "sku": text(line.get("sku")),
        "variant_id": variant_key(line.get("variant_id"), line.get("product_id")),
        "title": text(line.get("name")) or text(line.get("title")) or "",
        "quantity": units,
        "unit_price": money(line["price"]),
        "requires_shipping": bool(line.get("requires_shipping", True)) and not line.get("gift_card"),
    }


def _refunded_units(refunds: list[dict[str, Any]]) -> dict[str, int]:
    units: dict[str, int] = {}
    for refund in refunds:
        for item in refund.get("refund_line_items") or []:
            key = str(item["line_item_id"])
            units[key] = units.get(key, 0) + quantity(item["quantity"])
    return units


def _rest_address(ship: dict[str, Any]) -> dict[str, Any]:
    name = text(ship.get("name")) or " ".join(
        part for part in (text(ship.get("first_name")), text(ship.get("last_name"))) if part
    )
    return address(
        {
            "name": name,
            "company": ship.get("company"),
            "address1": ship.get("address1"),
            "address2": ship.get("address2"),
            "city": ship.get("city"),
            "province_code": ship.get("province_code"),
            "postal_code": ship.get("zip"),
            "country_code": ship.get("country_code"),
            "phone": ship.get("phone"),
        }
    )


def _from_graphql(order: dict[str, Any]) -> dict[str, Any]:
    connection = mapping(order["lineItems"], "lineItems")
    nodes = (
        connection["nodes"]
        if "nodes" in connection
        else [edge["node"] for edge in items(connection["edges"], "lineItems.edges")]
    )
    ship = order.get("shippingAddress")
    return {
        "order_id": str(order.get("legacyResourceId") or legacy_id(order["id"])),
        "platform": "shopify",
        "order_number": text(order.get("name")) or legacy_id(order["id"]),
        "created_at": timestamp(order["createdAt"]),
        "updated_at": timestamp(order.get("updatedAt") or order["createdAt"]),
        "currency": order["currencyCode"],
        "email": text(order.get("email")),
        "test": bool(order.get("test")),
        "source": text(order.get("sourceName")),
        "cancelled": order.get("cancelledAt") is not None,
        "awaiting_payment": (text(order.get("displayFinancialStatus")) or "").lower() in UNPAID_FINANCIAL_STATUSES,
        "shipping_address": None if ship is None else _graphql_address(mapping(ship, "shippingAddress")),
        "lines": [_graphql_line(mapping(node, "lineItems.nodes[]")) for node in items(nodes, "lineItems.nodes")],
    }


def _graphql_line(node: dict[str, Any]) -> dict[str, Any]:
    units = node.get("currentQuantity", node.get("quantity"))
    return {
        "line_id": legacy_id(node["id"]),
        "sku": text(node.get("sku")),
        "variant_id": _graphql_variant(node),
        "title": text(node.get("name")) or text(node.get("title")) or "",
        "quantity": quantity(units),
        "unit_price": money(node["originalUnitPriceSet"]["shopMoney"]["amount"]),
        "requires_shipping": bool(node.get("requiresShipping", True)) and not node.get("isGiftCard"),
    }


def _graphql_variant(node: dict[str, Any]) -> str | None:
    """The line's variant (null once the merchant deleted it: then it is a line with no listing)."""
    variant = node.get("variant")
    if not isinstance(variant, dict) or not variant.get("id"):
        return None
    return legacy_id(variant["id"])


def _graphql_address(ship: dict[str, Any]) -> dict[str, Any]:
    return address(
        {
            "name": ship.get("name"),
            "company": ship.get("company"),
            "address1": ship.get("address1"),
            "address2": ship.get("address2"),
            "city": ship.get("city"),
            "province_code": ship.get("provinceCode"),
            "postal_code": ship.get("zip"),
            "country_code": ship.get("countryCodeV2") or ship.get("countryCode"),
            "phone": ship.get("phone"),
        }
    )
