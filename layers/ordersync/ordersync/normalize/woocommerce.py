"""WooCommerce REST v3 orders (tests/contracts/woocommerce/FACTS.md)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ordersync.normalize.common import address, items, mapping, money, quantity, text, timestamp, variant_key

# created_via values that mean the order was not placed through the online checkout
_CANCELLED_STATUSES = {"cancelled", "refunded", "failed", "trash"}
# Not paid yet: pending payment (a redirect gateway), on-hold (awaiting confirmation, e.g. a bank
# transfer), or a block checkout's draft.
UNPAID_STATUSES = {"pending", "on-hold", "checkout-draft"}
REFUNDS_KEY = "ordersync_refunds"  # what GET /orders/{id}/refunds returned, embedded by the pull
_UNIT = Decimal("0.000001")


def to_canonical(order: dict[str, Any]) -> dict[str, Any]:
    ship = order.get("shipping")
    billing = order.get("billing") or {}
    refunded = _refunded_units(order)
    return {
        "order_id": str(order["id"]),
        "platform": "woocommerce",
        "order_number": str(order.get("number") or order["id"]),
        # The *_gmt fields are UTC without an offset; the plain ones are store-local time.
        "created_at": timestamp(order["date_created_gmt"], assume_utc=True),
        "updated_at": timestamp(order.get("date_modified_gmt") or order["date_created_gmt"], assume_utc=True),
        "currency": order["currency"],
        "email": text(billing.get("email")),
        "test": False,
        "source": text(order.get("created_via")),
        "cancelled": order.get("status") in _CANCELLED_STATUSES,
        "awaiting_payment": order.get("status") in UNPAID_STATUSES,
        "shipping_address": None if ship is None else _address(mapping(ship, "shipping")),
        "lines": [_line(mapping(line, "line_items[]"), refunded) for line in items(order["line_items"], "line_items")],
    }


def _line(line: dict[str, Any], refunded: dict[str, int]) -> dict[str, Any]:
    line_id = str(line["id"])
    return {
        "line_id": line_id,
        "sku": text(line.get("sku")),
        "variant_id": variant_key(line.get("variation_id"), line.get("product_id")),
        "title": text(line.get("name")) or "",
        "quantity": max(quantity(line["quantity"]) - refunded.get(line_id, 0), 0),
        "unit_price": _unit_price(line),
        "requires_shipping": True,  # line items carry no shipping flag; virtual products are rare here
    }


def _unit_price(line: dict[str, Any]) -> Decimal:
    """`price` is the float total / quantity (33.333333333333336 for 100.00 over 3): the unit price is
    taken from the decimal `total` string instead, to 6 places."""
    units = quantity(line["quantity"])
    if units > 0 and line.get("total") is not None:
        return (money(line["total"]) / units).quantize(_UNIT, rounding=ROUND_HALF_EVEN)
    price = line["price"]
    return money(price).quantize(_UNIT, rounding=ROUND_HALF_EVEN) if price is not None else money(price)


def _refunded_units(order: dict[str, Any]) -> dict[str, int]:
    """Units refunded per order line, from the refunds endpoint: each refund line has a negative
    quantity and names the order line in its `_refunded_item_id` meta."""
    if not order.get("refunds"):
        return {}
    if REFUNDS_KEY not in order:
        raise ValueError("the order has refunds but they were not read (GET /orders/{id}/refunds)")
    units: dict[str, int] = {}
    for refund in items(order[REFUNDS_KEY], REFUNDS_KEY):
        for item in items(mapping(refund, "refunds[]").get("line_items") or [], "refunds[].line_items"):
            meta = {m.get("key"): m.get("value") for m in item.get("meta_data") or [] if isinstance(m, dict)}
            key = str(meta.get("_refunded_item_id") or "")
            if key:
                units[key] = units.get(key, 0) + abs(quantity(item["quantity"]))
    return units


def _address(ship: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(part for part in (text(ship.get("first_name")), text(ship.get("last_name"))) if part)
    return address(
        {
            "name": name,
            "company": ship.get("company"),
            "address1": ship.get("address_1"),
            "address2": ship.get("address_2"),
            "city": ship.get("city"),
            "province_code": ship.get("state"),
            "postal_code": ship.get("postcode"),
            "country_code": ship.get("country"),
            "phone": ship.get("phone"),
        }
    )
