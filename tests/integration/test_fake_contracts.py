"""Each fake's contract checks, tested on their own: for every rule of the published contract our
clients rely on, a request that breaks it gets the platform's own 4xx (or GraphQL error) from the
fake. A fake that stopped checking would let a broken client pass every other test."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from ordersync.local.fakes.bigcommerce import FakeBigCommerce
from ordersync.local.fakes.shopify import FakeShopify
from ordersync.local.fakes.woocommerce import FakeWooCommerce

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
