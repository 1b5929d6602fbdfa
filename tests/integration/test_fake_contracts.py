"""Each fake's contract checks, tested on their own: for every rule of the published contract our
clients rely on, a request that breaks it gets the platform's own 4xx (or GraphQL error) from the
fake. A fake that stopped checking would let a broken client pass every other test."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from ordersync.local.fakes.bigcommerce import FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.shopify import FakeShopify, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order

from .marketplace import start_fake

GOOD_BC_ORDER = {
    "billing_address": {"first_name": "A", "zip": "78751", "country_iso2": "US", "email": "a@b.invalid"},
    "shipping_addresses": [{"first_name": "A", "street_1": "1 Road", "city": "Austin", "zip": "78751"}],
    "products": [{"product_id": 501, "variant_id": 5011, "quantity": 1}],
    "external_order_id": "ordersync-k",
    "status_id": 11,
}


def _bc(started: list[Any]) -> tuple[FakeBigCommerce, str, dict[str, str]]:
    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    bc.add_variant(501, 5011, "S-1", "Tarp", "42.0000")
    return bc, f"{bc.base_url}/v2/orders", {"X-Auth-Token": "bc_ridge"}


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        ({"billing_address": {"first_name": "A"}}, "zip"),  # billingAddress_Base: zip is required
        ({"billing_address": {"zip": "7"}}, "zip"),  # ... two characters at least
        ({"products": []}, "products"),  # order_Post: products required, none is not an order
        ({"products": [{"product_id": 501, "quantity": 0}]}, "quantity"),  # at least one unit
        ({"shipping_addresses": [{"street_1": "1 Road", "postcode": "78751"}]}, "postcode"),  # no such field
        ({"billing_address": {"zip": "78751", "country_iso2": "usa"}}, "country_iso2"),  # two letters
    ],
)
def test_the_fake_bigcommerce_refuses_an_order_body_that_breaks_order_post(
    started: list[Any], broken: dict[str, Any], rule: str
) -> None:
    bc, url, auth = _bc(started)
    answer = requests.post(url, json={**GOOD_BC_ORDER, **broken}, headers=auth, timeout=5)
    assert answer.status_code == 400 and rule in answer.json()[0]["message"]
    assert bc.created_orders() == []
    assert requests.post(url, json=GOOD_BC_ORDER, headers=auth, timeout=5).status_code == 201  # the rule, no more


def test_the_fake_woocommerce_refuses_what_the_plugin_refuses(started: list[Any]) -> None:
    woo = start_fake(started, FakeWooCommerce("north", "ck", "cs"))
    api, auth = f"{woo.base_url}/wp-json/wc/v3", ("ck", "cs")
    too_many = requests.get(f"{api}/orders", params={"per_page": 101}, auth=auth, timeout=5)
    assert (too_many.status_code, too_many.json()["code"]) == (400, "rest_invalid_param")  # per_page is 1..100
    hook = requests.post(
        f"{api}/webhooks", json={"topic": "order.paid", "delivery_url": "https://x"}, auth=auth, timeout=5
    )
    assert (hook.status_code, hook.json()["code"]) == (400, "rest_invalid_param")  # no such topic
    trash = requests.delete(f"{api}/webhooks/1", auth=auth, timeout=5)
    assert trash.status_code == 404  # no webhook 1; and one that exists can't be trashed without force:
    made = requests.post(
        f"{api}/webhooks", json={"topic": "order.created", "delivery_url": "http://127.0.0.1:9/h"}, auth=auth, timeout=5
    ).json()
    refused = requests.delete(f"{api}/webhooks/{made['id']}", auth=auth, timeout=5)
    assert (refused.status_code, refused.json()["code"]) == (501, "woocommerce_rest_trash_not_supported")
    unknown_key = requests.get(f"{api}/orders", auth=("ck_other", "cs_other"), timeout=5)
    assert (unknown_key.status_code, unknown_key.json()["code"]) == (401, "woocommerce_rest_authentication_error")
    read_only = start_fake(started, FakeWooCommerce("south", "ck_s", "cs_s", permissions="read"))
    write = requests.post(f"{read_only.base_url}/wp-json/wc/v3/orders", json={}, auth=("ck_s", "cs_s"), timeout=5)
    assert (write.status_code, write.json()["code"]) == (401, "woocommerce_rest_authentication_error")


def test_the_fake_shopify_validates_every_document_against_the_2025_10_schema(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    url = f"{shop.base_url}/admin/api/2025-10/graphql.json"
    headers = {"X-Shopify-Access-Token": "shpat_peak"}

    def ask(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = requests.post(url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=5)
        assert answer.status_code == 200  # GraphQL says no in its body
        return dict(answer.json())

    unknown_field = ask("{ shop { name notAField } }")
    assert "notAField" in unknown_field["errors"][0]["message"] and "data" not in unknown_field
    bad_input = ask(
        "mutation($o: OrderCreateOrderInput!) { orderCreate(order: $o) { order { id } } }",
        {"o": {"lineItems": [{"variantId": "gid://shopify/ProductVariant/1", "quantity": "two"}]}},
    )
    assert "quantity" in bad_input["errors"][0]["message"]
    unbounded = ask("{ orders { nodes { id } } }")  # a connection needs first or last
    assert unbounded["errors"]
    wrong_token = requests.post(
        url, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": "x"}, timeout=5
    )
    assert wrong_token.status_code == 401
    cursor = base64.b64encode(b"not a cursor").decode()
    assert ask("query($a: String) { orders(first: 1, after: $a) { nodes { id } } }", {"a": cursor}).get("errors")


def test_the_fakes_refuse_a_shipment_their_contracts_refuse(started: list[Any]) -> None:
    """BigCommerce: orderShipment_Post (items required, tracking_number at most 50 characters, a
    standard provider code), an address and a product of the order, no more than is left to ship.
    WooCommerce: fulfilments only where the feature is on; validation errors with the integer code 0;
    a meta entry without an id dropped. Shopify: fulfillmentCreate for no more than is left."""
    bc = start_fake(started, FakeBigCommerce("hashdelta", "bc_delta"))
    product = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "S", "name": "T", "quantity": 1,
               "price_inc_tax": "1.0000", "type": "physical"}  # fmt: skip
    address = {"id": 7, "order_id": 4001, "first_name": "A", "last_name": "L", "street_1": "1", "city": "C",
               "zip": "12", "country": "US", "country_iso2": "US"}  # fmt: skip
    bc.add_order(bigcommerce_order(4001), [product], [address])
    url, headers = f"{bc.base_url}/v2/orders/4001/shipments", {"X-Auth-Token": "bc_delta"}
    item = [{"order_product_id": 1, "quantity": 1}]
    for body in (
        {"order_address_id": 7},  # no items
        {"order_address_id": 7, "items": item, "tracking_number": "1" * 51},
        {"order_address_id": 7, "items": item, "shipping_provider": "dhl"},  # not a provider code
        {"order_address_id": 8, "items": item},  # not the order's address
        {"order_address_id": 7, "items": [{"order_product_id": 1, "quantity": 2}]},  # more than is left
    ):
        assert requests.post(url, json=body, headers=headers, timeout=5).status_code == 400, body
    assert (
        requests.post(url, json={"order_address_id": 7, "items": item}, headers=headers, timeout=5).status_code == 201
    )

    woo = start_fake(started, FakeWooCommerce("north", "ck", "cs"))
    woo.orders[2001] = woocommerce_order(2001, [("S", "T", 1, "1.00", 55, 0)], None)
    api, auth = f"{woo.base_url}/wp-json/wc/v3", ("ck", "cs")
    off = requests.post(f"{api}/orders/2001/fulfillments", json={"status": "fulfilled"}, auth=auth, timeout=5)
    assert (off.status_code, off.json()["code"]) == (404, "rest_no_route")  # off by default
    woo.fulfilments = True
    no_id = [{"key": "_items", "value": [{"item_id": 200101, "qty": 1}]}]  # dropped: no "id"
    refused = requests.post(
        f"{api}/orders/2001/fulfillments", json={"status": "fulfilled", "meta_data": no_id}, auth=auth, timeout=5
    )
    assert refused.status_code == 400 and refused.json()["code"] == 0
    assert refused.json()["message"] == "The fulfillment should contain at least one item."

    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    shop.add_order(order_node(1001, "#1001", [("S", "T", 1, "1.00")], None))
    mutation = "mutation F($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { fulfillment { id } userErrors { message } } }"
    too_many = {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1001",
                "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/100101", "quantity": 2}]}]}  # fmt: skip
    answer = requests.post(
        f"{shop.base_url}/admin/api/2025-10/graphql.json",
        json={"query": mutation, "variables": {"f": too_many}},
        headers={"X-Shopify-Access-Token": "shpat_acme"},
        timeout=5,
    ).json()["data"]["fulfillmentCreate"]
    assert answer["fulfillment"] is None and "quantity" in answer["userErrors"][0]["message"]


def test_the_fakes_refuse_the_edits_and_tracking_items_their_contracts_refuse(started: list[Any]) -> None:
    """WooCommerce: a line item id not on the order (woocommerce_rest_invalid_item_id); Shipment
    Tracking's routes only where the extension is installed, a tracking number required.
    BigCommerce order_Put: a product id not on the order. Shopify: an order edit can't set a line
    below what has been fulfilled."""
    woo = start_fake(started, FakeWooCommerce("north", "ck", "cs"))
    woo.orders[2001] = woocommerce_order(2001, [("S", "T", 2, "1.00", 55, 0)], None)
    api, auth = f"{woo.base_url}/wp-json/wc/v3", ("ck", "cs")
    wrong = requests.put(f"{api}/orders/2001", json={"line_items": [{"id": 1, "quantity": 1}]}, auth=auth, timeout=5)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "woocommerce_rest_invalid_item_id")
    trackings = f"{woo.base_url}/wp-json/wc-shipment-tracking/v3/orders/2001/shipment-trackings"
    off = requests.post(trackings, json={"tracking_number": "1Z"}, auth=auth, timeout=5)
    assert (off.status_code, off.json()["code"]) == (404, "rest_no_route")  # the extension not installed
    woo.shipment_tracking = True
    bare = requests.post(trackings, json={"tracking_provider": "UPS"}, auth=auth, timeout=5)
    assert (bare.status_code, bare.json()["code"]) == (400, "rest_missing_callback_param")
    again = requests.post(trackings, json={"tracking_number": "1Z", "tracking_id": "ab"}, auth=auth, timeout=5)
    assert again.json()["code"] == "woocommerce_rest_shop_order_shipment_tracking_exists"

    bc = start_fake(started, FakeBigCommerce("hashdelta", "bc_delta"))
    product = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "S", "name": "T", "quantity": 2,
               "price_inc_tax": "1.0000", "type": "physical"}  # fmt: skip
    bc.add_order(bigcommerce_order(4001), [product], [])
    put = requests.put(f"{bc.base_url}/v2/orders/4001", json={"products": [{"id": 9, "quantity": 1}]},
                       headers={"X-Auth-Token": "bc_delta"}, timeout=5)  # fmt: skip
    assert put.status_code == 400 and bc.order_products[4001][0]["quantity"] == 2

    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    shop.add_order(order_node(1001, "#1001", [("S", "T", 2, "1.00")], None))
    shop.fulfil(1001, lines={1: 1})
    url, headers = f"{shop.base_url}/admin/api/2025-10/graphql.json", {"X-Shopify-Access-Token": "shpat_acme"}
    begin = "mutation B($id: ID!) { orderEditBegin(id: $id) { calculatedOrder { id lineItems(first: 5) { nodes { id } } } userErrors { message } } }"
    begun = requests.post(url, json={"query": begin, "variables": {"id": "gid://shopify/Order/1001"}},
                          headers=headers, timeout=5).json()["data"]["orderEditBegin"]["calculatedOrder"]  # fmt: skip
    below = "mutation S($id: ID!, $line: ID!) { orderEditSetQuantity(id: $id, lineItemId: $line, quantity: 0) { userErrors { message } } }"
    variables = {"id": begun["id"], "line": begun["lineItems"]["nodes"][0]["id"]}
    answer = requests.post(url, json={"query": below, "variables": variables}, headers=headers, timeout=5).json()
    assert answer["data"]["orderEditSetQuantity"]["userErrors"][0]["message"].startswith("Cannot reduce")
