"""The normaliser over real payloads written by the platforms' own docs and SDKs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordersync.cli import main
from ordersync.errors import InvalidOrder
from ordersync.local.fakes.shopify import order_node
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.models import Platform
from ordersync.normalize import describe_validation_error, normalize, order_ref, split_payloads
from ordersync.normalize.common import money, quantity, text, timestamp


def _orders(path: Path) -> list[dict]:
    return split_payloads(json.loads(path.read_text(), parse_float=Decimal))


def _platform(path: Path) -> Platform:
    return Platform(path.name.split("_")[0])


def test_every_fixture_normalizes_through_the_cli(platform_fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(platform_fixtures.glob("*.json"))
    assert len(files) >= 6
    for path in files:
        orders = _orders(path)
        unread_refunds = [o for o in orders if _platform(path) is Platform.WOOCOMMERCE and o.get("refunds")]
        code = main(["normalize", "--platform", _platform(path).value, str(path)])
        captured = capsys.readouterr()
        assert code == (1 if unread_refunds else 0), path.name
        if unread_refunds:  # a WooCommerce order's refunded units are only at its refunds endpoint
            assert "GET /orders/{id}/refunds" in captured.err
            continue
        printed = json.loads(captured.out)
        assert len(printed) == len(orders)
        for order in printed:
            assert order["created_at"].endswith("Z") and order["updated_at"].endswith("Z")
            for line in order["lines"]:
                assert isinstance(line["unit_price"], str)  # money is a decimal string, never a float
                Decimal(line["unit_price"])


def test_shopify_rest_order_with_addresses_and_skus(platform_fixtures: Path) -> None:
    (payload,) = _orders(platform_fixtures / "shopify_order_shopify_python_api.json")
    order = normalize(Platform.SHOPIFY, payload)
    assert order.order_id == "450789469" and order.order_number == "#1001"
    assert [line.sku for line in order.lines] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert order.lines[0].unit_price == Decimal("199.00")
    assert order.shipping_address is not None
    assert order.shipping_address.province_code == "KY" and order.shipping_address.postal_code == "40202"
    assert order.created_at.isoformat() == "2008-01-10T16:00:00+00:00"  # -05:00 converted to UTC


def test_refunded_units_are_not_to_be_fulfilled(platform_fixtures: Path) -> None:
    (payload,) = _orders(platform_fixtures / "shopify_orders_list_rest_docs.json")
    order = normalize(Platform.SHOPIFY, payload)
    assert {line.sku: line.quantity for line in order.lines} == {
        "IPOD2008GREEN": 0,
        "IPOD2008RED": 1,
        "IPOD2008BLACK": 0,
    }


def test_refunded_units_are_subtracted_where_the_payload_has_no_current_quantity(platform_fixtures: Path) -> None:
    """Older REST payloads (and API versions before 2023-01) carry no current_quantity: the units
    come from quantity less the refunds' refund_line_items."""
    (payload,) = _orders(platform_fixtures / "shopify_orders_list_rest_docs.json")
    for line in payload["line_items"]:
        del line["current_quantity"]
    order = normalize(Platform.SHOPIFY, payload)
    assert {line.sku: line.quantity for line in order.lines} == {
        "IPOD2008GREEN": 0,
        "IPOD2008RED": 1,
        "IPOD2008BLACK": 0,
    }
    payload["refunds"] = []  # nothing refunded: every unit ships
    assert [line.quantity for line in normalize(Platform.SHOPIFY, payload).lines] == [1, 1, 1]


def test_explicit_null_shipping_and_null_skus(platform_fixtures: Path) -> None:
    (payload,) = _orders(platform_fixtures / "shopify_order_rest_docs_custom_items_no_shipping.json")
    order = normalize(Platform.SHOPIFY, payload)
    assert order.shipping_address is None
    assert all(line.sku is None for line in order.lines)


def test_blank_skus_become_none(platform_fixtures: Path) -> None:
    (payload,) = _orders(platform_fixtures / "shopify_order_shopify_api_ruby_blank_sku.json")
    assert [line.sku for line in normalize(Platform.SHOPIFY, payload).lines] == [None, None]


def test_woocommerce_list_with_gmt_dates_and_number_prices(platform_fixtures: Path) -> None:
    first_payload, refunded_payload = _orders(platform_fixtures / "woocommerce_orders_rest_api_docs.json")
    first = normalize(Platform.WOOCOMMERCE, first_payload)
    assert first.order_id == "727" and first.updated_at.isoformat() == "2017-03-22T19:28:08+00:00"
    assert [line.sku for line in first.lines] == [None, "Bar3"]
    assert first.lines[0].unit_price == Decimal("3")
    assert first.email == "john.doe@example.com"
    with pytest.raises(InvalidOrder, match=r"refunds.*not read"):  # order 723 has refunds; their lines weren't read
        normalize(Platform.WOOCOMMERCE, refunded_payload)
    refund_of_line_311 = {
        "id": 726,
        "line_items": [{"id": 1, "quantity": -1, "meta_data": [{"key": "_refunded_item_id", "value": "311"}]}],
    }
    second = normalize(Platform.WOOCOMMERCE, {**refunded_payload, "ordersync_refunds": [refund_of_line_311]})
    assert {line.line_id: line.quantity for line in second.lines} == {"311": 0, "313": 1}
    assert second.shipping_address is not None and second.shipping_address.city


def test_woocommerce_uneven_unit_price_is_read_from_the_line_total() -> None:
    """The plugin sends price = total / quantity as a float: 100.00 over 3 is 33.333333333333336."""
    payload = json.loads(
        json.dumps(
            {
                "id": 9,
                "number": "9",
                "status": "processing",
                "currency": "EUR",
                "date_created_gmt": "2026-11-27T09:00:00",
                "date_modified_gmt": "2026-11-27T09:00:00",
                "shipping": {"first_name": "A", "address_1": "1 Road", "city": "Town", "country": "DE"},
                "line_items": [
                    {"id": 1, "name": "Tee", "sku": "T", "quantity": 3, "total": "100.00", "price": 100 / 3}
                ],
                "refunds": [],
            }
        ),
        parse_float=Decimal,
    )
    (line,) = normalize(Platform.WOOCOMMERCE, payload).lines
    assert line.unit_price == Decimal("33.333333")


def test_bigcommerce_currency_is_what_the_shopper_paid_and_unshippable_orders_are_not_posted() -> None:
    base = {
        "id": 5,
        "date_created": "Fri, 27 Nov 2026 09:00:00 +0000",
        "currency_code": "EUR",  # the display currency
        "default_currency_code": "USD",  # the transactional one
        "shipping_addresses": [{"first_name": "A", "last_name": "B", "street_1": "1 Road", "city": "T", "zip": "1"}],
        "products": [
            {"id": 1, "sku": "S", "name": "Tent", "quantity": 1, "price_inc_tax": "10.0000", "type": "physical"},
            {"id": 2, "sku": "", "name": "Gift", "quantity": 1, "price_inc_tax": "25.0000", "type": "giftcertificate"},
        ],
    }
    order = normalize(Platform.BIGCOMMERCE, {**base, "status_id": 11, "status": "Awaiting Fulfillment"})
    assert order.currency == "USD" and not order.cancelled
    assert [line.requires_shipping for line in order.lines] == [True, False]
    for status_id, status in ((0, "Incomplete"), (4, "Refunded"), (6, "Declined")):
        assert normalize(Platform.BIGCOMMERCE, {**base, "status_id": status_id, "status": status}).cancelled


def test_bigcommerce_digital_order_has_no_shipping_address(platform_fixtures: Path) -> None:
    (payload,) = _orders(platform_fixtures / "bigcommerce_orders_api_ruby_digital.json")
    order = normalize(Platform.BIGCOMMERCE, payload)
    assert order.shipping_address is None
    assert order.created_at.isoformat() == "2012-03-02T21:36:24+00:00"  # RFC 2822 read as UTC


def test_shopify_graphql_node() -> None:
    node = order_node(
        42, "#42", [("SKU-1", "Thing", 3, "12.50"), ("", "Tip", 1, "2.00")], {"name": "A B", "countryCodeV2": "US"}
    )
    order = normalize(Platform.SHOPIFY, node)
    assert order.order_id == "42" and order.order_number == "#42"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("SKU-1", 3, Decimal("12.50")),
        (None, 1, Decimal("2.00")),
    ]
    assert order.shipping_address is not None and order.shipping_address.country_code == "US"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.pop("currencyCode"), "missing the field 'currencyCode'"),
        (lambda o: o["lineItems"]["nodes"][0].update(currentQuantity=-2), "greater than or equal to 0"),
        (
            lambda o: o["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"].update(amount="call us"),
            "not a decimal",
        ),
        (lambda o: o["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"].update(amount=12.5), "float"),
        (lambda o: o.update(createdAt="yesterday"), "timestamp 'yesterday' is neither ISO 8601 nor RFC 2822"),
    ],
)
def test_bad_payloads_say_what_is_wrong(change, message: str) -> None:
    node = order_node(7, "#7", [("SKU-1", "Thing", 1, "1.00")], {"name": "A"})
    change(node)
    with pytest.raises(InvalidOrder) as caught:
        normalize(Platform.SHOPIFY, node)
    assert message in str(caught.value)


def test_cli_refuses_unreadable_files_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"orders": [{"id": 1')
    assert main(["normalize", "--platform", "shopify", str(broken)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("ordersync: ") and "not JSON" in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1
    assert main(["normalize", "--platform", "woocommerce", str(tmp_path / "missing.json")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_order_ref_survives_garbage() -> None:
    order_id, number, updated = order_ref(Platform.SHOPIFY, ["not", "an", "order"])
    assert order_id.startswith("unidentified-") and number == "" and updated is None
    assert (
        order_ref(Platform.WOOCOMMERCE, {"id": 9, "number": "9", "date_modified_gmt": "2024-01-01T00:00:00"})[0] == "9"
    )


def _graphql(**changes: Any) -> dict:
    node = order_node(7, "#7", [("SKU-1", "Thing", 1, "1.00")], {"name": "A", "countryCodeV2": "US"})
    return node | changes


def _rest(platform_fixtures: Path, **changes: Any) -> dict:
    (payload,) = _orders(platform_fixtures / "shopify_order_shopify_python_api.json")
    return payload | changes


@pytest.mark.parametrize(
    ("platform", "payload", "message"),
    [
        (Platform.SHOPIFY, lambda f: _graphql(lineItems=[]), "lineItems must be an object, got list"),
        (Platform.SHOPIFY, lambda f: _graphql(lineItems={"nodes": {}}), "lineItems.nodes must be a list, got dict"),
        (
            Platform.SHOPIFY,
            lambda f: _graphql(lineItems={"nodes": ["x"]}),
            "lineItems.nodes[] must be an object, got str",
        ),
        (Platform.SHOPIFY, lambda f: _graphql(lineItems={"edges": {}}), "lineItems.edges must be a list, got dict"),
        (
            Platform.SHOPIFY,
            lambda f: _graphql(shippingAddress="1 Main St"),
            "shippingAddress must be an object, got str",
        ),
        (Platform.SHOPIFY, lambda f: _rest(f, line_items={}), "line_items must be a list, got dict"),
        (Platform.SHOPIFY, lambda f: _rest(f, line_items=[7]), "line_items[] must be an object, got int"),
        (Platform.SHOPIFY, lambda f: _rest(f, shipping_address=[]), "shipping_address must be an object, got list"),
    ],
)
def test_a_malformed_order_names_the_field_that_is_wrong(platform_fixtures: Path, platform, payload, message) -> None:
    with pytest.raises(InvalidOrder) as caught:
        normalize(platform, payload(platform_fixtures))
    assert message in str(caught.value)


def test_a_graphql_order_may_list_its_lines_as_edges() -> None:
    node = _graphql()
    as_edges = node | {"lineItems": {"edges": [{"node": line} for line in node["lineItems"]["nodes"]]}}
    assert normalize(Platform.SHOPIFY, as_edges) == normalize(Platform.SHOPIFY, node)


def test_a_cancelled_graphql_order_is_read_as_cancelled() -> None:
    assert normalize(Platform.SHOPIFY, _graphql(cancelledAt="2026-11-27T10:00:00Z")).cancelled
    assert not normalize(Platform.SHOPIFY, _graphql(cancelledAt=None)).cancelled


def test_every_way_a_store_wraps_its_orders_is_unwrapped() -> None:
    one, two = {"id": 1}, {"id": 2}
    assert split_payloads([one, two]) == [one, two]
    assert split_payloads({"orders": [one, two]}) == [one, two]  # REST list
    assert split_payloads({"order": one}) == [one]  # REST single
    assert split_payloads({"data": {"orders": {"edges": [{"node": one}, {"node": two}]}}}) == [one, two]
    assert split_payloads({"data": {"orders": {"nodes": [one, two]}}}) == [one, two]
    assert split_payloads({"data": {"orders": {"edges": []}}}) == []
    assert split_payloads(one) == [one]  # a bare order
    assert split_payloads({"data": {"orders": [one]}}) == [{"data": {"orders": [one]}}]  # not GraphQL's shape
    with pytest.raises(InvalidOrder, match="expected an order, a wrapper or a list, got str"):
        split_payloads("order 1")


def test_a_payload_too_broken_to_name_still_gets_a_stable_name() -> None:
    broken = {"name": {"not": "text"}, "lineItems": 3}
    same_in_another_order = {"lineItems": 3, "name": {"not": "text"}}
    first, _, _ = order_ref(Platform.SHOPIFY, broken)
    assert first == order_ref(Platform.SHOPIFY, same_in_another_order)[0]  # the same content, the same name
    assert len(first) == len("unidentified-") + 16
    assert order_ref(Platform.SHOPIFY, {"id": {"nested": 1}})[0].startswith("unidentified-")
    assert order_ref(Platform.SHOPIFY, {"id": ""})[0].startswith("unidentified-")
    long_id = order_ref(Platform.WOOCOMMERCE, {"id": "9" * 300, "number": "8" * 300})
    assert (len(long_id[0]), len(long_id[1])) == (200, 200)
    assert order_ref(Platform.WOOCOMMERCE, {"id": 9, "number": 9})[1] == "9"


def test_the_last_update_is_read_as_each_store_dates_it() -> None:
    woo = order_ref(Platform.WOOCOMMERCE, {"id": 9, "date_modified_gmt": "2024-01-01T10:00:00"})
    assert woo[2] == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)  # WooCommerce's GMT dates carry no offset
    shopify = order_ref(Platform.SHOPIFY, {"id": 1, "updatedAt": "2024-01-01T10:00:00-05:00"})
    assert shopify[2] == datetime(2024, 1, 1, 15, 0, tzinfo=UTC)
    assert order_ref(Platform.SHOPIFY, {"id": 1, "updatedAt": "soon"})[2] is None


def test_a_woocommerce_unit_price_comes_from_the_total_to_six_places_else_from_the_price() -> None:
    def unit(**fields: Any) -> Decimal:
        line = {"id": 1, "name": "Tee", "sku": "T"} | fields
        return normalize(Platform.WOOCOMMERCE, _woo(line_items=[line])).lines[0].unit_price

    assert unit(quantity=3, total="100.00", price=Decimal("33.3")) == Decimal("33.333333")
    assert unit(quantity=3, total="2.00", price=Decimal("0.67")) == Decimal("0.666667")
    assert unit(quantity=1, price=Decimal("12.5")) == Decimal("12.500000")  # no total: the price
    assert unit(quantity=0, total="10.00", price=Decimal("2.5")) == Decimal("2.500000")  # nothing left to divide


def _bigcommerce(**changes: Any) -> dict:
    base = {
        "id": 5,
        "date_created": "Fri, 27 Nov 2026 09:00:00 +0000",
        "status_id": 11,
        "status": "Awaiting Fulfillment",
        "currency_code": "EUR",
        "shipping_address_count": 1,
        "shipping_addresses": [{"first_name": "A", "street_1": "1 Road", "city": "T", "country_iso2": "US"}],
        "products": [{"id": 1, "sku": "S", "name": "Tent", "quantity": 3, "price_inc_tax": "10.0000"}],
    }
    return base | changes


def test_bigcommerce_orders_read_as_the_v2_api_answers_them() -> None:
    plain = normalize(Platform.BIGCOMMERCE, _bigcommerce())
    assert plain.currency == "EUR"  # no default_currency_code: the only currency there is
    assert plain.updated_at == plain.created_at  # never modified: its creation
    assert (plain.email, plain.source, plain.test, plain.cancelled) == (None, None, False, False)
    assert normalize(Platform.BIGCOMMERCE, _bigcommerce(status="Cancelled", status_id=None)).cancelled
    assert not normalize(Platform.BIGCOMMERCE, _bigcommerce(status="Shipped", status_id=2)).cancelled
    refunded = {"id": 1, "sku": "S", "name": "Tent", "quantity": 3, "quantity_refunded": 2, "base_price": "9.5000"}
    (line,) = normalize(Platform.BIGCOMMERCE, _bigcommerce(products=[refunded])).lines
    assert (line.quantity, line.unit_price) == (1, Decimal("9.5"))  # refunded units aren't shipped
    over = normalize(Platform.BIGCOMMERCE, _bigcommerce(products=[refunded | {"quantity_refunded": 5}])).lines[0]
    assert over.quantity == 0
    digital = normalize(
        Platform.BIGCOMMERCE, _bigcommerce(shipping_address_count=0, shipping_addresses={"url": "/v2/x"})
    )
    assert digital.shipping_address is None
    assert normalize(Platform.BIGCOMMERCE, _bigcommerce(products={"url": "/v2/p"})).lines == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shipping_addresses": {"url": "/v2/orders/5/shipping_addresses"}}, "shipping_addresses were not fetched"),
        ({"shipping_addresses": ["x"]}, "shipping_addresses[] must be an object, got str"),
        ({"products": [3]}, "products[] must be an object, got int"),
    ],
)
def test_a_bigcommerce_order_not_fully_read_says_what_is_missing(changes: dict, message: str) -> None:
    with pytest.raises(InvalidOrder) as caught:
        normalize(Platform.BIGCOMMERCE, _bigcommerce(**changes))
    assert message in str(caught.value)


def _graphql_line(**changes: Any) -> Any:
    node = _graphql()
    line = node["lineItems"]["nodes"][0]
    for key, value in changes.items():
        if value is None:
            line.pop(key, None)
        else:
            line[key] = value
    return normalize(Platform.SHOPIFY, node).lines[0]


def test_a_shopify_line_s_title_quantity_and_shipping_as_the_buyer_s_store_has_them() -> None:
    assert _graphql_line(name="Thing - Large").title == "Thing - Large"  # the name carries the variant
    assert _graphql_line(name=None, title="Thing").title == "Thing"
    assert _graphql_line(name=None, title=None).title == ""
    assert _graphql_line(currentQuantity=None, quantity=4).quantity == 4  # older API versions
    assert _graphql_line(currentQuantity=2, quantity=4).quantity == 2  # net of refunds and removals
    assert _graphql_line(requiresShipping=None).requires_shipping is True
    assert _graphql_line(requiresShipping=False).requires_shipping is False
    assert _graphql_line(isGiftCard=True).requires_shipping is False


def test_a_shopify_rest_line_and_address_as_the_buyer_s_store_has_them(platform_fixtures: Path) -> None:
    payload = _rest(platform_fixtures)
    line = payload["line_items"][0]
    variants = [
        ({"name": None}, "title", "IPod Nano - 8gb"),
        ({"name": None, "title": None}, "title", ""),
        ({"requires_shipping": None}, "requires_shipping", True),
        ({"gift_card": True}, "requires_shipping", False),
    ]
    for changes, field_name, expected in variants:
        changed = {k: v for k, v in (line | changes).items() if v is not None}
        read = normalize(Platform.SHOPIFY, payload | {"line_items": [changed]}).lines[0]
        assert getattr(read, field_name) == expected, changes
    unnamed = {k: v for k, v in payload["shipping_address"].items() if k != "name"}
    address = normalize(Platform.SHOPIFY, payload | {"shipping_address": unnamed}).shipping_address
    assert address is not None and address.name == "Bob Norman"  # first and last name
    only_last = unnamed | {"first_name": None}
    address = normalize(Platform.SHOPIFY, payload | {"shipping_address": only_last}).shipping_address
    assert address is not None and address.name == "Norman"


def _woo(**changes: Any) -> dict:
    base = {
        "id": 9,
        "number": "W-9",
        "status": "processing",
        "currency": "EUR",
        "date_created_gmt": "2026-11-27T09:00:00",
        "created_via": "checkout",
        "billing": {"email": "b@example.com"},
        "shipping": {"first_name": "A", "last_name": "B", "address_1": "1 Road", "city": "Town", "country": "DE"},
        "line_items": [{"id": 31, "name": "Tee", "sku": "T", "quantity": 3, "total": "30.00", "price": 10}],
        "refunds": [],
    }
    return base | changes


def test_woocommerce_orders_as_the_rest_api_answers_them() -> None:
    plain = normalize(Platform.WOOCOMMERCE, _woo())
    assert (plain.order_number, plain.source, plain.email) == ("W-9", "checkout", "b@example.com")
    assert plain.updated_at == plain.created_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert normalize(Platform.WOOCOMMERCE, _woo(number=None)).order_number == "9"
    assert normalize(Platform.WOOCOMMERCE, _woo(billing=None)).email is None
    assert normalize(Platform.WOOCOMMERCE, _woo(shipping=None)).shipping_address is None
    for status in ("cancelled", "refunded", "failed", "trash"):
        assert normalize(Platform.WOOCOMMERCE, _woo(status=status)).cancelled, status
    for status in ("processing", "on-hold", "completed", "pending"):
        assert not normalize(Platform.WOOCOMMERCE, _woo(status=status)).cancelled, status
    (line,) = normalize(Platform.WOOCOMMERCE, _woo()).lines
    assert (line.line_id, line.sku, line.title, line.quantity, line.requires_shipping) == ("31", "T", "Tee", 3, True)
    assert normalize(Platform.WOOCOMMERCE, _woo(line_items=[{"id": 1, "quantity": 1, "price": 1}])).lines[0].title == ""


def test_woocommerce_refunds_are_summed_per_line_whatever_their_sign() -> None:
    def refund(line_id: str | None, units: int) -> dict:
        meta = [{"key": "_refunded_item_id", "value": line_id}] if line_id else [{"key": "other", "value": "x"}]
        return {"quantity": units, "meta_data": [*meta, "not a meta entry"]}

    refunds = [
        {"id": 1, "line_items": [refund("31", -1), refund(None, -5)]},
        {"id": 2, "line_items": [refund("31", 1)]},  # some stores write it positive
        {"id": 3},  # a refund of shipping only: no lines
    ]
    order = _woo(refunds=[{"id": 1}], ordersync_refunds=refunds)
    assert normalize(Platform.WOOCOMMERCE, order).lines[0].quantity == 1
    too_much = _woo(refunds=[{"id": 1}], ordersync_refunds=[{"id": 1, "line_items": [refund("31", -9)]}])
    assert normalize(Platform.WOOCOMMERCE, too_much).lines[0].quantity == 0
    with pytest.raises(InvalidOrder, match=r"ordersync_refunds must be a list, got dict"):
        normalize(Platform.WOOCOMMERCE, _woo(refunds=[{"id": 1}], ordersync_refunds={}))
    with pytest.raises(InvalidOrder, match=r"refunds\[\] must be an object, got int"):
        normalize(Platform.WOOCOMMERCE, _woo(refunds=[{"id": 1}], ordersync_refunds=[5]))
    with pytest.raises(InvalidOrder, match=r"refunds\[\]\.line_items must be a list, got str"):
        normalize(Platform.WOOCOMMERCE, _woo(refunds=[{"id": 1}], ordersync_refunds=[{"line_items": "x"}]))
    with pytest.raises(InvalidOrder, match=r"shipping must be an object, got str"):
        normalize(Platform.WOOCOMMERCE, _woo(shipping="1 Road"))


def test_a_shopify_order_s_identity_dates_and_flags_in_both_apis(platform_fixtures: Path) -> None:
    created = "2026-11-27T09:00:00Z"
    node = _graphql(email="dana@example.com", test=True, createdAt=created, cancelledAt=None)
    for key in ("legacyResourceId", "name", "updatedAt"):
        node.pop(key, None)
    node["id"] = "gid://shopify/Order/4242"
    graphql = normalize(Platform.SHOPIFY, node)
    assert (graphql.order_id, graphql.order_number) == ("4242", "4242")  # from the GID when nothing else names it
    assert graphql.updated_at == graphql.created_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert (graphql.email, graphql.test) == ("dana@example.com", True)
    assert normalize(Platform.SHOPIFY, _graphql(legacyResourceId="77")).order_id == "77"

    payload = _rest(platform_fixtures, test=True, cancelled_at="2008-01-11T11:00:00-05:00")
    for key in ("name", "updated_at"):
        payload.pop(key)
    rest = normalize(Platform.SHOPIFY, payload)
    assert (rest.order_number, rest.test, rest.cancelled) == ("1001", True, True)  # order_number when no name
    assert rest.updated_at == rest.created_at
    payload.pop("order_number")
    assert normalize(Platform.SHOPIFY, payload).order_number == "450789469"  # nothing else: the id


def test_timestamps_are_utc_whatever_the_machine_s_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert timestamp("2026-11-27T09:00:00", assume_utc=True) == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        assert timestamp("2026-11-27T09:00:00-05:00").tzinfo is UTC
        assert timestamp("Fri, 27 Nov 2026 09:00:00 +0000") == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    with pytest.raises(ValueError, match=r"^timestamp '2026-11-27T09:00:00' has no UTC offset$"):
        timestamp("2026-11-27T09:00:00")  # only WooCommerce's *_gmt fields may omit it
    with pytest.raises(ValueError, match=r"^missing or non-text timestamp: None$"):
        timestamp(None)


def test_bad_fields_are_named_in_words_ops_can_act_on() -> None:
    with pytest.raises(ValueError, match=r"^money came as a float; parse JSON with parse_float=Decimal$"):
        money(1.5)
    for bad in (True, None):
        with pytest.raises(ValueError, match=rf"^money must be a decimal, got {bad!r}$"):
            money(bad)
    with pytest.raises(ValueError, match=r"^quantity must be a whole number, got True$"):
        quantity(True)
    with pytest.raises(TypeError, match=r"^expected text, got dict$"):
        text({"a": 1})
    with pytest.raises(InvalidOrder, match=r"^a shopify order must be a JSON object, got list$"):
        normalize(Platform.SHOPIFY, [])
    with pytest.raises(InvalidOrder, match=r"^unreadable shopify order: TypeError: expected text, got list$"):
        normalize(Platform.SHOPIFY, _graphql(name=["#7"]))
    with pytest.raises(
        InvalidOrder,
        match=r"^unreadable bigcommerce order: shipping_addresses were not fetched \(sub-resource link only\)$",
    ):
        normalize(Platform.BIGCOMMERCE, _bigcommerce(shipping_addresses={"url": "/v2/orders/5/shipping_addresses"}))
    with pytest.raises(
        InvalidOrder,
        match=r"^unreadable woocommerce order: the order has refunds but they were not read \(GET /orders/\{id\}/refunds\)$",
    ):
        normalize(Platform.WOOCOMMERCE, _woo(refunds=[{"id": 1}]))
    long_sku = "S" * 300
    with pytest.raises(InvalidOrder) as caught:
        normalize(Platform.SHOPIFY, _graphql(createdAt=long_sku))
    problem = f"timestamp {long_sku!r} is neither ISO 8601 nor RFC 2822"
    assert str(caught.value) == "unreadable shopify order: " + problem[:200] + "..."  # one readable line


def test_a_validation_error_lists_five_problems_and_counts_the_rest() -> None:
    from pydantic import BaseModel, ValidationError

    class Six(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int
        f: int

    with pytest.raises(ValidationError) as caught:
        Six.model_validate({})
    assert describe_validation_error(caught.value) == (
        "a: Field required; b: Field required; c: Field required; d: Field required; e: Field required (+1 more)"
    )

    class Five(BaseModel):
        inner: Six | None = None

    with pytest.raises(ValidationError) as nested:
        Five.model_validate({"inner": {"a": 1, "b": 2, "c": 3, "d": 4, "e": "x"}})
    assert describe_validation_error(nested.value).startswith("inner.e: Input should be a valid integer")

    from pydantic import RootModel

    with pytest.raises(ValidationError) as root:
        RootModel[int].model_validate("x")
    assert describe_validation_error(root.value).startswith("order: ")


def test_what_the_older_apis_and_order_edits_leave_in_a_shopify_order(platform_fixtures: Path) -> None:
    older = _graphql(shippingAddress={"name": "A", "countryCode": "CA"})
    assert normalize(Platform.SHOPIFY, older).shipping_address.country_code == "CA"  # type: ignore[union-attr]
    payload = _rest(platform_fixtures)
    line = payload["line_items"][0] | {"quantity": 3}
    line.pop("current_quantity", None)
    twice = [
        {"refund_line_items": [{"line_item_id": line["id"], "quantity": 1}]},
        {"refund_line_items": [{"line_item_id": line["id"], "quantity": 1}]},
    ]
    read = normalize(Platform.SHOPIFY, payload | {"line_items": [line], "refunds": twice})
    assert read.lines[0].quantity == 1  # two refunds of one unit each
    removed = line | {"current_quantity": 0}  # removed by an order edit: no refund at all
    assert normalize(Platform.SHOPIFY, payload | {"line_items": [removed], "refunds": []}).lines[0].quantity == 0
    unshipped = line | {"requires_shipping": False}
    assert normalize(Platform.SHOPIFY, payload | {"line_items": [unshipped]}).lines[0].requires_shipping is False
    named = payload["shipping_address"] | {"name": "Robert N.", "company": "Acme", "address2": "Suite 5"}
    address = normalize(Platform.SHOPIFY, payload | {"shipping_address": named}).shipping_address
    assert address is not None and (address.name, address.company, address.address2) == ("Robert N.", "Acme", "Suite 5")
    no_line_items_yet = {k: v for k, v in _graphql().items() if k != "lineItems"}
    with pytest.raises(InvalidOrder, match=r"^shopify order is missing the field 'lineItems'$"):
        normalize(Platform.SHOPIFY, no_line_items_yet)  # recognised as GraphQL by its createdAt
    no_created_at = {k: v for k, v in _graphql().items() if k != "createdAt"}
    with pytest.raises(InvalidOrder, match=r"^shopify order is missing the field 'createdAt'$"):
        normalize(Platform.SHOPIFY, no_created_at)  # recognised as GraphQL by its lineItems


def test_what_woocommerce_and_bigcommerce_orders_may_carry() -> None:
    shipping = {"first_name": "A", "company": "Acme", "address_1": "1 Road", "address_2": "Unit 4", "phone": "555"}
    address = normalize(Platform.WOOCOMMERCE, _woo(shipping=shipping)).shipping_address
    assert address is not None and (address.company, address.address2, address.phone) == ("Acme", "Unit 4", "555")
    discounted = [{"id": 31, "name": "Tee", "quantity": 1, "total": "9.00", "price": 10}]
    assert normalize(Platform.WOOCOMMERCE, _woo(line_items=discounted)).lines[0].unit_price == Decimal("9")
    no_total = [{"id": 31, "name": "Tee", "quantity": 2, "price": Decimal("12.5")}]
    assert str(normalize(Platform.WOOCOMMERCE, _woo(line_items=no_total)).lines[0].unit_price) == "12.500000"
    for line_items, message in (
        ({}, "line_items must be a list, got dict"),
        ([1], "line_items[] must be an object, got int"),
    ):
        with pytest.raises(InvalidOrder, match=re.escape(message)):
            normalize(Platform.WOOCOMMERCE, _woo(line_items=line_items))
    unnamed = {"id": 1, "sku": "S", "quantity": 1, "price_inc_tax": "1.0000"}
    assert normalize(Platform.BIGCOMMERCE, _bigcommerce(products=[unnamed])).lines[0].title == ""


def test_an_order_the_retailer_has_not_been_paid_for_is_read_as_awaiting_payment(platform_fixtures: Path) -> None:
    """Only orders paid (captured or authorised) go to the seller (each platform's own words)."""
    (rest,) = _orders(platform_fixtures / "shopify_order_shopify_python_api.json")  # financial_status: authorized
    assert not normalize(Platform.SHOPIFY, rest).awaiting_payment
    for status, unpaid in (("pending", True), ("expired", True), ("voided", True), ("paid", False)):
        assert normalize(Platform.SHOPIFY, {**rest, "financial_status": status}).awaiting_payment is unpaid
    node = order_node(1, "#1", [("S", "T", 1, "1.00")], {"name": "A", "countryCodeV2": "US"})
    for display, unpaid in (("PENDING", True), ("AUTHORIZED", False), ("PARTIALLY_PAID", False), ("PAID", False)):
        assert normalize(Platform.SHOPIFY, {**node, "displayFinancialStatus": display}).awaiting_payment is unpaid
    woo = woocommerce_order(2, [("S", "T", 1, "1.00", 1, 0)], {"first_name": "A", "address_1": "1", "country": "US"})
    for status, unpaid in (("pending", True), ("on-hold", True), ("processing", False), ("completed", False)):
        assert normalize(Platform.WOOCOMMERCE, {**woo, "status": status}).awaiting_payment is unpaid
    bc = {
        "id": 5,
        "date_created": "Fri, 27 Nov 2026 09:00:00 +0000",
        "currency_code": "USD",
        "shipping_addresses": [{"first_name": "A", "last_name": "B", "street_1": "1 Road", "city": "T", "zip": "1"}],
        "products": [{"id": 1, "sku": "S", "name": "Tent", "quantity": 1, "price_inc_tax": "10.0000"}],
    }
    for status_id, unpaid in ((1, True), (7, True), (12, True), (11, False), (9, False), (10, False)):
        assert normalize(Platform.BIGCOMMERCE, {**bc, "status_id": status_id}).awaiting_payment is unpaid
