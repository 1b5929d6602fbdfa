"""Every field of the canonical order, as the seller's store will receive it, for one payload of
each shape: a mapping slip in any field (an address line, a province, a phone, a price) shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ordersync.local.fakes.shopify import buyer_variant_id, order_node
from ordersync.models import CanonicalOrder, OrderLine, Platform, ShippingAddress
from ordersync.normalize import normalize, split_payloads


def _first(path: Path) -> dict:
    return split_payloads(json.loads(path.read_text(), parse_float=Decimal))[0]


def test_a_shopify_rest_order_field_by_field(platform_fixtures: Path) -> None:
    order = normalize(Platform.SHOPIFY, _first(platform_fixtures / "shopify_order_shopify_python_api.json"))
    ipod = "IPod Nano - 8gb - {}"
    assert order == CanonicalOrder(
        order_id="450789469",
        platform=Platform.SHOPIFY,
        order_number="#1001",
        created_at=datetime(2008, 1, 10, 16, 0, tzinfo=UTC),  # 11:00-05:00
        updated_at=datetime(2008, 1, 10, 16, 0, tzinfo=UTC),
        currency="USD",
        email="bob.norman@hostmail.com",
        test=False,
        source="web",
        cancelled=False,
        shipping_address=ShippingAddress(
            name="Bob Norman",
            company=None,
            address1="Chestnut Street 92",
            address2=None,  # "" in the payload
            city="Louisville",
            province_code="KY",
            postal_code="40202",
            country_code="US",
            phone="555-625-1199",
        ),
        lines=[
            OrderLine(
                line_id=line_id,
                sku=f"IPOD2008{color.upper()}",
                variant_id=variant_id,  # the buyer's variant: what its listing is keyed by
                title=ipod.format(color),
                quantity=1,
                unit_price=Decimal("199.00"),
                requires_shipping=True,
            )
            for line_id, color, variant_id in (
                ("466157049", "green", "39072856"),
                ("518995019", "red", "49148385"),
                ("703073504", "black", "457924702"),
            )
        ],
    )


def test_a_shopify_graphql_order_field_by_field() -> None:
    address = {
        "name": "Dana Whitfield",
        "company": "Acme",
        "address1": "410 Terry Ave N",
        "address2": "Suite 200",
        "city": "Seattle",
        "provinceCode": "WA",
        "zip": "98109",
        "countryCodeV2": "US",
        "phone": "+1 206 555 0142",
    }
    node = order_node(7, "#7", [("SKU-1", "Thing", 3, "12.50"), ("", "Tip", 1, "2.00")], address)
    order = normalize(Platform.SHOPIFY, node)
    assert (order.order_id, order.platform, order.order_number, order.currency) == ("7", Platform.SHOPIFY, "#7", "USD")
    assert (order.test, order.source, order.cancelled, order.email) == (False, "web", False, None)
    assert order.created_at.tzinfo is UTC and order.updated_at >= order.created_at
    assert order.shipping_address == ShippingAddress(
        name="Dana Whitfield",
        company="Acme",
        address1="410 Terry Ave N",
        address2="Suite 200",
        city="Seattle",
        province_code="WA",
        postal_code="98109",
        country_code="US",
        phone="+1 206 555 0142",
    )
    assert [line.model_dump() for line in order.lines] == [
        {
            "line_id": "701",
            "sku": "SKU-1",
            "variant_id": str(buyer_variant_id("SKU-1")),
            "title": "Thing",
            "quantity": 3,
            "unit_price": Decimal("12.50"),
            "requires_shipping": True,
        },
        {
            "line_id": "702",
            "sku": None,
            "variant_id": None,  # a custom item: no variant, so no listing
            "title": "Tip",
            "quantity": 1,
            "unit_price": Decimal("2.00"),
            "requires_shipping": True,
        },
    ]


def test_a_woocommerce_order_field_by_field(platform_fixtures: Path) -> None:
    order = normalize(Platform.WOOCOMMERCE, _first(platform_fixtures / "woocommerce_orders_rest_api_docs.json"))
    assert order == CanonicalOrder(
        order_id="727",
        platform=Platform.WOOCOMMERCE,
        order_number="727",
        created_at=datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC),  # date_created_gmt
        updated_at=datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC),
        currency="USD",
        email="john.doe@example.com",  # the billing email: the shipping address has none
        test=False,
        source="rest-api",
        cancelled=False,
        shipping_address=ShippingAddress(
            name="John Doe",
            company=None,
            address1="969 Market",
            address2=None,
            city="San Francisco",
            province_code="CA",
            postal_code="94103",
            country_code="US",
            phone=None,  # billing's phone is not the recipient's
        ),
        lines=[
            OrderLine(
                line_id="315",
                sku=None,
                variant_id="93",  # variation_id 0: the product itself
                title="Woo Single #1",
                quantity=2,
                unit_price=Decimal("3"),
                requires_shipping=True,
            ),
            OrderLine(
                line_id="316",
                sku="Bar3",
                variant_id="23",  # the variation
                title="Ship Your Idea &ndash; Color: Black, Size: M Test",
                quantity=1,
                unit_price=Decimal("12"),  # total 12.00 over 1
                requires_shipping=True,
            ),
        ],
    )


def test_a_bigcommerce_order_field_by_field() -> None:
    payload = {
        "id": 5,
        "date_created": "Fri, 27 Nov 2026 09:00:00 +0000",
        "date_modified": "Fri, 27 Nov 2026 09:30:00 +0000",
        "status_id": 11,
        "status": "Awaiting Fulfillment",
        "currency_code": "USD",
        "default_currency_code": "USD",
        "order_source": "www",
        "billing_address": {"email": "mina@example.com"},
        "shipping_addresses": [
            {
                "first_name": "Mina",
                "last_name": "Okafor",
                "company": "Harbour Co",
                "street_1": "12 Harbour Rd",
                "street_2": "Unit 4",
                "city": "Portland",
                "state": "Maine",  # BigCommerce gives the state's name, and we pass it on as it is
                "zip": "04101",
                "country_iso2": "US",
                "phone": "207 555 0100",
            }
        ],
        "products": [
            {
                "id": 31,
                "product_id": 77,
                "variant_id": 412,
                "sku": "SU-ROPE-60",
                "name": "Climbing Rope 60m",
                "quantity": 2,
                "price_inc_tax": "210.0000",
                "type": "physical",
            },
            {"id": 32, "sku": "", "name": "Gift", "quantity": 1, "price_inc_tax": "25.0000", "type": "giftcertificate"},
        ],
    }
    assert normalize(Platform.BIGCOMMERCE, payload) == CanonicalOrder(
        order_id="5",
        platform=Platform.BIGCOMMERCE,
        order_number="5",
        created_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        currency="USD",
        email="mina@example.com",
        test=False,
        source="www",
        cancelled=False,
        shipping_address=ShippingAddress(
            name="Mina Okafor",
            company="Harbour Co",
            address1="12 Harbour Rd",
            address2="Unit 4",
            city="Portland",
            province_code="Maine",
            postal_code="04101",
            country_code="US",
            phone="207 555 0100",
        ),
        lines=[
            OrderLine(
                line_id="31",
                sku="SU-ROPE-60",
                variant_id="412",
                title="Climbing Rope 60m",
                quantity=2,
                unit_price=Decimal("210.0000"),
                requires_shipping=True,
            ),
            OrderLine(
                line_id="32", sku=None, title="Gift", quantity=1, unit_price=Decimal("25"), requires_shipping=False
            ),
        ],
    )
