"""BigCommerce V2 orders, with the products and shipping_addresses sub-resources embedded as lists
(the pull adapter fetches them; an order whose sub-resources are still links has them unread)."""

from __future__ import annotations

from typing import Any

from ordersync.normalize.common import address, mapping, money, quantity, text, timestamp, variant_key

# Incomplete (an abandoned payment page), Refunded, Cancelled, Declined: nothing to ship.
NOT_TO_SHIP_STATUS_IDS = frozenset({0, 4, 5, 6})
NOT_SHIPPED_TYPES = frozenset({"digital", "giftcertificate"})
# Pending, Awaiting Payment, Manual Verification Required: the payment is not (yet) the merchant's.
UNPAID_STATUS_IDS = frozenset({1, 7, 12})


def to_canonical(order: dict[str, Any]) -> dict[str, Any]:
    products = order.get("products")
    addresses = order.get("shipping_addresses")
    if int(order.get("shipping_address_count") or 0) == 0 and not isinstance(addresses, list):
        addresses = []  # digital order: there is no shipping address to fetch
    if not isinstance(products, list):
        products = []
    if not isinstance(addresses, list):
        raise ValueError("shipping_addresses were not fetched (sub-resource link only)")
    return {
        "order_id": str(order["id"]),
        "platform": "bigcommerce",
        "order_number": str(order["id"]),
        "created_at": timestamp(order["date_created"]),
        "updated_at": timestamp(order.get("date_modified") or order["date_created"]),
        # default_currency_code is what the shopper paid in; currency_code is only the display currency.
        "currency": order.get("default_currency_code") or order["currency_code"],
        "email": text((order.get("billing_address") or {}).get("email")),
        "test": False,
        "source": text(order.get("order_source")),
        "cancelled": text(order.get("status")) == "Cancelled" or _status_id(order) in NOT_TO_SHIP_STATUS_IDS,
        "awaiting_payment": _status_id(order) in UNPAID_STATUS_IDS,
        "shipping_address": _address(mapping(addresses[0], "shipping_addresses[]")) if addresses else None,
        "lines": [_line(mapping(product, "products[]")) for product in products],
    }


def _line(product: dict[str, Any]) -> dict[str, Any]:
    units = quantity(product["quantity"]) - quantity(product.get("quantity_refunded") or 0)
    return {
        "line_id": str(product["id"]),
        "sku": text(product.get("sku")),
        "variant_id": variant_key(product.get("variant_id"), product.get("product_id")),
        "title": text(product.get("name")) or "",
        "quantity": max(units, 0),
        "unit_price": money(product.get("price_inc_tax", product.get("base_price"))),
        "requires_shipping": text(product.get("type")) not in NOT_SHIPPED_TYPES,
    }


def _status_id(order: dict[str, Any]) -> int | None:
    value = order.get("status_id")
    if value is None:
        return None
    return quantity(value)


def _address(ship: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(part for part in (text(ship.get("first_name")), text(ship.get("last_name"))) if part)
    return address(
        {
            "name": name,
            "company": ship.get("company"),
            "address1": ship.get("street_1"),
            "address2": ship.get("street_2"),
            "city": ship.get("city"),
            "province_code": ship.get("state"),
            "postal_code": ship.get("zip"),
            "country_code": ship.get("country_iso2"),
            "phone": ship.get("phone"),
        }
    )
