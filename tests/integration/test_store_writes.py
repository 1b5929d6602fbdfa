"""What we write into a store, whole, and how we find it again (issue: tests that bite).

Each create is compared, body for body, with what the buyer's canonical order says (the expected
body is derived from that order, field by field, not retyped), so a dropped state or phone shows;
so are the writes after it: a cancellation, a new address, a parcel into a buyer's store and its
corrected tracking.
Each exact-key look-up is tried at its edges on every platform: the copy on a later page, a key
that is a prefix of another, a copy of another order with the same customer and items."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from ordersync.domain.carriers import carrier_named
from ordersync.domain.catalog import CatalogVariant, VariantStatus
from ordersync.domain.decide import LineMatch, LineOutcome
from ordersync.domain.edits import LineChange, copy_lines, with_copy_line_ids
from ordersync.domain.shipments import Found, Misfit, already_there, buyer_lines, lines_left, parcel_ref
from ordersync.errors import StoreRejected, StoreUnavailable
from ordersync.local.fakes.bigcommerce import FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.shopify import FakeShopify, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order
from ordersync.models import BuyerParcel, CanonicalOrder, CopyLine, OrderLine, Platform, PostedLine, ShippingAddress
from ordersync.platforms.bigcommerce import BigCommerceStore
from ordersync.platforms.shopify import FULFILLMENT_CREATE_MUTATION, ShopifyStore, variant_gid
from ordersync.platforms.woocommerce import WooCommerceStore

from .marketplace import start_fake

NOW = datetime.now(UTC)
KEY = "ordersync-acme--seller-1"


def _order(number: str = "1001") -> CanonicalOrder:
    return CanonicalOrder(
        order_id=number,
        platform=Platform.SHOPIFY,
        order_number=f"#{number}",
        created_at=NOW,
        updated_at=NOW,
        currency="AUD",
        shipping_address=ShippingAddress(
            name="Grace Brewster Hopper",
            company="Navy Yard",
            address1="12 George St",
            address2="Level 3",
            city="Sydney",
            province_code="NSW",
            postal_code="2000",
            country_code="AU",
            phone="+61 2 9999 0000",
        ),
        lines=[
            OrderLine(line_id="1", sku="S-1", title="Tent", quantity=2, unit_price=Decimal("10.00")),
            OrderLine(line_id="2", sku="S-2", title="Pegs", quantity=5, unit_price=Decimal("1.50")),
        ],
    )


def _matches(order: CanonicalOrder, variants: list[tuple[str, str]]) -> list[LineMatch]:
    return [
        LineMatch(
            line,
            LineOutcome.MATCHED,
            line.sku,
            CatalogVariant("s", p, v, line.sku or "", "", "", VariantStatus.ACTIVE, NOW),
        )
        for line, (p, v) in zip(order.lines, variants, strict=True)
    ]


def _posted(matches: list[LineMatch]) -> list[PostedLine]:
    """The posted lines as the record keeps them before the create answers."""
    return [PostedLine(buyer_line_id=m.line.line_id, variant_id=m.variant.variant_id, quantity=m.line.quantity)
            for m in matches if m.variant]  # fmt: skip


def _last_body(fake: Any, method: str, path_end: str) -> Any:
    bodies = [body for sent, path, body in fake.server.received if sent == method and path.endswith(path_end)]
    return json.loads(bodies[-1])


def _woo_seller(started: list[Any]) -> tuple[FakeWooCommerce, WooCommerceStore]:
    woo = start_fake(started, FakeWooCommerce("north", "ck", "cs"))
    woo.add_product(55, "S-1", "Tent", "10.00")
    woo.add_product(56, "S-2", "Pegs", "1.50")
    return woo, WooCommerceStore(woo.base_url, "ck", "cs")


# --- what a create sends, whole ----------------------------------------------------------------------


def test_a_woocommerce_create_carries_the_whole_address_every_line_and_the_key(started: list[Any]) -> None:
    woo = start_fake(started, FakeWooCommerce("north", "ck", "cs"))
    woo.add_product(55, "S-1", "Tent", "10.00")
    woo.add_product(56, "S-2", "Pegs", "1.50", 561, "S-2", "Steel")
    order = _order()
    WooCommerceStore(woo.base_url, "ck", "cs").create_order(order, _matches(order, [("55", "55"), ("56", "561")]), KEY)
    ship = order.shipping_address
    assert ship is not None and ship.name is not None
    first, _, last = ship.name.rpartition(" ")
    assert _last_body(woo, "POST", "/orders") == {
        "status": "processing",
        "set_paid": False,
        "customer_note": f"Dropship order {order.order_number} (synced by ordersync)",
        "shipping": {
            "first_name": first,
            "last_name": last,
            "company": ship.company,
            "address_1": ship.address1,
            "address_2": ship.address2,
            "city": ship.city,
            "state": ship.province_code,
            "postcode": ship.postal_code,
            "country": ship.country_code,
            "phone": ship.phone,
        },
        "line_items": [
            {"product_id": 55, "quantity": order.lines[0].quantity},
            {"product_id": 56, "variation_id": 561, "quantity": order.lines[1].quantity},
        ],
        "meta_data": [{"key": "_ordersync_source", "value": KEY}],
    }


def test_a_bigcommerce_create_carries_the_whole_address_every_line_and_the_key(started: list[Any]) -> None:
    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    bc.add_variant(501, 5011, "S-1", "Tent", "10.0000")
    bc.add_variant(502, 5021, "S-2", "Pegs", "1.5000")
    order = _order()
    BigCommerceStore(bc.base_url, "bc_ridge").create_order(
        order, _matches(order, [("501", "5011"), ("502", "5021")]), KEY
    )
    ship = order.shipping_address
    assert ship is not None and ship.name is not None
    first, _, last = ship.name.rpartition(" ")
    address = {
        "first_name": first,
        "last_name": last,
        "company": ship.company,
        "street_1": ship.address1,
        "street_2": ship.address2,
        "city": ship.city,
        "state": ship.province_code,
        "zip": ship.postal_code,
        "country_iso2": ship.country_code,
        "country": ship.country_code,
        "phone": ship.phone,
    }
    assert _last_body(bc, "POST", "/v2/orders") == {
        "billing_address": {**address, "email": "dropship-orders@ordersync.invalid"},
        "shipping_addresses": [address],
        "products": [
            {"product_id": 501, "variant_id": 5011, "quantity": order.lines[0].quantity},
            {"product_id": 502, "variant_id": 5021, "quantity": order.lines[1].quantity},
        ],
        "external_source": "ordersync",
        "external_order_id": KEY,
        "staff_notes": KEY,
        "customer_message": f"Dropship order {order.order_number} (synced by ordersync)",
        "status_id": 11,
    }


def test_a_shopify_create_carries_the_whole_address_every_line_and_the_key(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    order = _order()
    copy = ShopifyStore(shop.base_url, "shpat_peak").create_order(
        order, _matches(order, [("700", "7001"), ("701", "7002")]), KEY
    )
    lines = shop.orders[f"gid://shopify/Order/{copy.order_id}"]["lineItems"]["nodes"]
    assert copy.line_ids == (("1", lines[0]["id"].rsplit("/", 1)[1]), ("2", lines[1]["id"].rsplit("/", 1)[1]))
    ship = order.shipping_address
    assert ship is not None and ship.name is not None
    first, _, last = ship.name.rpartition(" ")
    variables = _last_body(shop, "POST", "/graphql.json")["variables"]
    assert variables == {
        "order": {
            "sourceIdentifier": KEY,
            "tags": [KEY],
            "note": f"Dropship order {order.order_number} (synced by ordersync)",
            "lineItems": [
                {"variantId": variant_gid("7001"), "quantity": order.lines[0].quantity},
                {"variantId": variant_gid("7002"), "quantity": order.lines[1].quantity},
            ],
            "shippingAddress": {
                "firstName": first,
                "lastName": last,
                "company": ship.company,
                "address1": ship.address1,
                "address2": ship.address2,
                "city": ship.city,
                "provinceCode": ship.province_code,
                "zip": ship.postal_code,
                "countryCode": ship.country_code,
                "phone": ship.phone,
            },
        },
        "options": {
            "sendReceipt": False,
            "sendFulfillmentReceipt": False,
            "inventoryBehaviour": "DECREMENT_OBEYING_POLICY",
        },
        "lines": 2,  # the answer's lines: as many as were sent
    }


# --- the exact-key look-up at its edges ------------------------------------------------------------


def test_woocommerce_finds_its_copy_on_a_later_page_by_the_exact_key_only(started: list[Any]) -> None:
    woo = start_fake(started, FakeWooCommerce("north", "ck", "cs"))
    woo.add_product(55, "S-1", "Tent", "10.00")
    woo.add_product(56, "S-2", "Pegs", "1.50")
    client = WooCommerceStore(woo.base_url, "ck", "cs")
    order = _order()
    lines = _matches(order, [("55", "55"), ("56", "56")])
    first_attempt = datetime.now(UTC)
    same_customer_same_items = client.create_order(
        order, lines, "ordersync-acme--seller-2"
    ).order_id  # another order's copy
    prefixed = client.create_order(order, lines, KEY + "0").order_id  # ...-10: the key's prefix is ours
    for n in range(105):  # other buyers' orders: ours lands past the first page of 100 (oldest first)
        client.create_order(order, lines, f"ordersync-other-{n}")
    ours = client.create_order(order, lines, KEY).order_id
    assert client.find_posted_order(KEY, first_attempt) == ours
    assert client.find_posted_order(KEY + "0", first_attempt) == prefixed
    assert client.find_posted_order("ordersync-acme--seller-2", first_attempt) == same_customer_same_items
    assert client.find_posted_order("ordersync-acme--seller-3", first_attempt) is None


def test_shopify_finds_its_copy_on_a_later_page_by_the_exact_key_only(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    client = ShopifyStore(shop.base_url, "shpat_peak")
    order = _order()
    lines = _matches(order, [("700", "7001"), ("701", "7002")])
    first_attempt = datetime.now(UTC) - timedelta(seconds=1)
    ours = client.create_order(order, lines, KEY).order_id
    prefixed = client.create_order(order, lines, KEY + "0").order_id
    for n in range(105):  # newer orders: ours is past the first page of 100 (newest first)
        client.create_order(order, lines, f"ordersync-other-{n}")
    assert client.find_posted_order(KEY, first_attempt) == ours
    assert client.find_posted_order(KEY + "0", first_attempt) == prefixed
    assert client.find_posted_order("ordersync-acme--seller-3", first_attempt) is None


def test_bigcommerce_finds_its_copy_by_the_exact_key_only(started: list[Any]) -> None:
    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    bc.add_variant(501, 5011, "S-1", "Tent", "10.0000")
    bc.add_variant(502, 5021, "S-2", "Pegs", "1.5000")
    client = BigCommerceStore(bc.base_url, "bc_ridge")
    order = _order()
    lines = _matches(order, [("501", "5011"), ("502", "5021")])
    prefixed = client.create_order(order, lines, KEY + "0").order_id
    other = client.create_order(order, lines, "ordersync-acme--seller-2").order_id
    assert client.find_posted_order(KEY, NOW) is None  # ...-10's copy is not ...-1's
    ours = client.create_order(order, lines, KEY).order_id
    assert {client.find_posted_order(k, NOW) for k in (KEY, KEY + "0", "ordersync-acme--seller-2")} == {
        ours,
        prefixed,
        other,
    }


def test_a_copy_the_seller_cancelled_is_still_found_so_the_order_is_never_posted_again(started: list[Any]) -> None:
    """A retry after a lost answer finds our copy even if the seller cancelled it meanwhile: that is
    the seller's decision about our order, not a reason to create a second one."""
    order = _order()
    woo, woo_client = _woo_seller(started)
    since = datetime.now(UTC)
    copy = woo_client.create_order(order, _matches(order, [("55", "55"), ("56", "56")]), KEY).order_id
    woo.update_order(int(copy), status="cancelled")
    assert woo_client.find_posted_order(KEY, since) == copy

    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    bc.add_variant(501, 5011, "S-1", "Tent", "10.0000")
    bc.add_variant(502, 5021, "S-2", "Pegs", "1.5000")
    bc_client = BigCommerceStore(bc.base_url, "bc_ridge")
    copy = bc_client.create_order(order, _matches(order, [("501", "5011"), ("502", "5021")]), KEY).order_id
    bc.update_order(int(copy), status="Cancelled", status_id=5)
    assert bc_client.find_posted_order(KEY, since) == copy

    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    shop_client = ShopifyStore(shop.base_url, "shpat_peak")
    copy = shop_client.create_order(order, _matches(order, [("700", "7001"), ("701", "7002")]), KEY).order_id
    shop.cancel_order(int(copy))
    assert shop_client.find_posted_order(KEY, since - timedelta(seconds=1)) == copy


def test_a_copy_the_seller_moved_to_the_bin_is_still_found_and_reads_as_cancelled(started: list[Any]) -> None:
    """WooCommerce's lists leave the bin out: a look-up that did not ask it would post the order again."""
    order = _order()
    woo, client = _woo_seller(started)
    since = datetime.now(UTC)
    copy = client.create_order(order, _matches(order, [("55", "55"), ("56", "56")]), KEY).order_id
    other = client.create_order(order, _matches(order, [("55", "55"), ("56", "56")]), KEY + "0").order_id
    binned = requests.delete(f"{woo.base_url}/wp-json/wc/v3/orders/{copy}", auth=("ck", "cs"), timeout=5)
    assert binned.json()["status"] == "trash"
    assert client.find_posted_order(KEY, since) == copy
    assert client.find_posted_order(KEY + "0", since) == other
    assert client.order_state(copy).cancelled


# --- what a parcel sends into a buyer's store, whole -----------------------------------------------


def _parcel(lines: tuple[tuple[str, int], ...], carrier: str = "UPS") -> BuyerParcel:
    return BuyerParcel(
        key="northwind:fulfillment-77",
        lines=lines,
        carrier=carrier,
        tracking_number="1Z999AA10123456784",
        tracking_url="https://track.example/1Z999AA10123456784",
        notify_customer=False,
        completes_order=False,
    )


def test_a_bigcommerce_shipment_carries_exactly_the_parcel_and_our_key(started: list[Any]) -> None:
    bc = start_fake(started, FakeBigCommerce("hashdelta", "bc_delta"))
    product = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "S-1", "name": "Tent", "quantity": 3,
               "price_inc_tax": "10.0000", "type": "physical"}  # fmt: skip
    address = {"id": 7, "order_id": 4001, "first_name": "Ada", "last_name": "L", "street_1": "1 Main St",
               "city": "Austin", "zip": "78751", "country": "United States", "country_iso2": "US"}  # fmt: skip
    bc.add_order(bigcommerce_order(4001), [product], [address])
    client = BigCommerceStore(bc.base_url, "bc_delta")
    for carrier, provider, slug in (("UPS", "ups", "ups"), ("Bob's Couriers", "", "")):
        parcel = _parcel((("1", 1),), carrier)
        client.write_shipment("4001", parcel)
        sent = _last_body(bc, "POST", "/shipments")
        assert sent == {
            "order_address_id": 7,  # the order's own shipping address
            "items": [{"order_product_id": int(line_id), "quantity": units} for line_id, units in parcel.lines],
            "tracking_number": parcel.tracking_number,
            "shipping_provider": provider,
            "tracking_carrier": slug,
            "tracking_link": parcel.tracking_url,
            "comments": f"[{parcel.key}] (synced by ordersync)"
            if provider
            else f"{carrier} [{parcel.key}] (synced by ordersync)",  # an unknown carrier: named, never guessed
        }
    shipments = client.shipments("4001")
    assert [s.key for s in shipments.shipments] == ["northwind:fulfillment-77"] * 2
    assert shipments.unfulfilled == {"1": 1}


def test_a_woocommerce_fulfilment_carries_exactly_the_parcel_and_our_key_or_a_note_without_the_feature(
    started: list[Any],
) -> None:
    order = woocommerce_order(2001, [("S-1", "Tent", 2, "10.00", 55, 0)], None)
    woo = start_fake(started, FakeWooCommerce("bright", "ck", "cs", fulfilments=True))
    woo.orders[2001] = order
    client = WooCommerceStore(woo.base_url, "ck", "cs")
    line_id = str(order["line_items"][0]["id"])
    parcel = _parcel(((line_id, 1),))
    client.write_shipment("2001", parcel)
    assert _last_body(woo, "POST", "/fulfillments") == {
        "status": "fulfilled",
        "meta_data": [  # each entry with "id": 0, or WooCommerce drops it
            {"id": 0, "key": "_items", "value": [{"item_id": int(line_id), "qty": 1}]},
            {"id": 0, "key": "_tracking_number", "value": parcel.tracking_number},
            {"id": 0, "key": "_shipment_provider", "value": "ups"},  # a provider WooCommerce lists: its slug
            {"id": 0, "key": "_tracking_url", "value": parcel.tracking_url},
            {"id": 0, "key": "_ordersync_parcel", "value": parcel.key},
        ],
    }
    assert woo.customer_emails == []  # notify_customer false: WooCommerce sends nothing
    assert client.shipments("2001").unfulfilled == {line_id: 1}
    client.write_shipment("2001", dataclasses.replace(parcel, key="n:f-2", carrier="Speedy Couriers"))
    meta = {m["key"]: m["value"] for m in _last_body(woo, "POST", "/fulfillments")["meta_data"]}
    assert (meta["_shipment_provider"], meta["_provider_name"]) == ("other", "Speedy Couriers")  # as the admin does
    # as a seller's store: what its admin stored reads back as the carrier's name
    woo.ship(2001, tracking=("Speedy Couriers", "SC-9", None))
    woo.ship(2001, tracking=("Royal Mail", "RM123456785GB", None))
    carriers = [p.carrier for p in client.order_state("2001").parcels]
    assert carriers[-2:] == ["Speedy Couriers", "Royal Mail"], carriers

    plain = start_fake(started, FakeWooCommerce("plain", "ck", "cs"))  # the feature off (the default)
    plain.orders[2001] = woocommerce_order(2001, [("S-1", "Tent", 2, "10.00", 55, 0)], None)
    whole = dataclasses.replace(
        parcel, lines=((line_id, 2),), notify_customer=True, completes_order=True, titles=((line_id, "Tent"),)
    )
    plain_client = WooCommerceStore(plain.base_url, "ck", "cs")
    written = plain_client.write_shipment("2001", whole)
    # found again under the id it was written as: a tracking correction then adds a note, not a PUT
    assert [s.shipment_id for s in plain_client.shipments("2001").shipments] == [written]
    announced, note = plain.notes[2001]
    words = f"Shipped: 2 x Tent. Tracking: UPS {whole.tracking_number} {whole.tracking_url}."  # the buyer's title
    assert (note["note"], note["customer_note"]) == (words, True)  # nothing of ours in the customer's sight
    assert announced["customer_note"] is False and announced["note"].endswith(words)
    assert parcel_ref(whole.key) in announced["note"]  # our reference, in the private note before it
    assert plain.customer_emails.count((2001, "customer_note")) == 1  # one note emailed (and its Completed Order)
    assert _last_body(plain, "PUT", "/orders/2001") == {"status": "completed"}
    # another parcel of the same words, not yet written: not taken for this one
    other = dataclasses.replace(whole, key="n:f-3")
    found = plain_client.shipments("2001").shipments
    assert [s.key for s in found] == [parcel_ref(whole.key)] and parcel_ref(other.key) not in {s.key for s in found}


def test_a_shopify_fulfilment_carries_exactly_the_parcel_on_the_open_fulfillment_order(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    shop.add_order(order_node(1001, "#1001", [("S-1", "Tent", 2, "10.00"), ("S-2", "Pegs", 5, "1.50")], None))
    client = ShopifyStore(shop.base_url, "shpat_acme")
    parcel = _parcel((("100102", 3),))
    client.write_shipment("1001", parcel)
    sent = json.loads([b for m, p, b in shop.server.received if m == "POST" and b"fulfillmentCreate" in b][-1])[
        "variables"
    ]["fulfillment"]
    assert sent == {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1001",
                "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/100102", "quantity": 3}],
            }
        ],
        "notifyCustomer": False,
        "trackingInfo": {"company": "UPS", "number": parcel.tracking_number, "url": parcel.tracking_url},
    }
    assert client.shipments("1001").unfulfilled == {"100101": 2, "100102": 2}


def test_a_shopify_parcel_over_two_locations_is_one_fulfilment_per_location(started: list[Any]) -> None:
    """fulfillmentCreate takes fulfillment orders "assigned to the same Location": a parcel whose
    lines sit at two is two fulfilments (the record keeps both ids), a mixed call is refused, and a
    corrected tracking goes onto both."""
    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    shop.add_order(order_node(1001, "#1001", [("S-1", "Tent", 2, "10.00"), ("S-2", "Pegs", 5, "1.50")], None))
    shop.assign_locations(1001, {2: "Warehouse B"})
    client = ShopifyStore(shop.base_url, "shpat_acme")
    there = client.shipments("1001")
    assert len(set(there.locations.values())) == 2
    mixed = {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in there.locations]}
    refused = requests.post(f"{shop.base_url}/admin/api/2025-10/graphql.json", timeout=5,
                            headers={"X-Shopify-Access-Token": "shpat_acme"},
                            json={"query": FULFILLMENT_CREATE_MUTATION, "variables": {"fulfillment": mixed}})  # fmt: skip
    assert refused.json()["data"]["fulfillmentCreate"]["userErrors"][0]["message"] == (
        "All fulfillment orders must be assigned to a single location."
    )
    written = client.write_shipment("1001", _parcel((("100101", 2), ("100102", 5))), there)
    made = shop.orders["gid://shopify/Order/1001"]["fulfillments"]
    assert written == ",".join(f["legacyResourceId"] for f in made) and len(made) == 2
    assert [[(line["lineItem"]["id"], line["quantity"]) for line in f["_lines"]] for f in made] == [
        [("gid://shopify/LineItem/100101", 2)],
        [("gid://shopify/LineItem/100102", 5)],
    ]
    assert client.shipments("1001").unfulfilled == {}
    client.update_tracking("1001", written, dataclasses.replace(_parcel(()), tracking_number="1ZNEW"))
    assert [f["_tracking"][0]["number"] for f in made] == ["1ZNEW", "1ZNEW"]


def test_a_shopify_parcel_refused_at_its_second_location_is_found_in_part_and_the_rest_written(
    started: list[Any],
) -> None:
    """The second location's fulfilment refused after the first was written (held between the read
    and the write): not taken for a refusal of the whole (the retry comes back), and the retry finds
    the part written by its tracking and writes only the rest."""
    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    shop.add_order(order_node(1001, "#1001", [("S-1", "Tent", 2, "10.00"), ("S-2", "Pegs", 5, "1.50")], None))
    shop.assign_locations(1001, {2: "Warehouse B"})
    client = ShopifyStore(shop.base_url, "shpat_acme")
    parcel = _parcel((("100101", 2), ("100102", 5)))
    there = client.shipments("1001")
    shop.hold_fulfillment(1001, "AWAITING_PAYMENT", location="Warehouse B")
    with pytest.raises(StoreUnavailable, match="written, the next location's refused"):
        client.write_shipment("1001", parcel, there)
    shop.hold_fulfillment(1001, None, location="Warehouse B")
    now = client.shipments("1001")
    found, part = already_there(parcel.key, parcel.tracking_number, parcel.lines, now.shipments, now.unfulfilled)
    assert found is Found.PART and part is not None and part.lines == (("100101", 2),)
    rest = lines_left(parcel.lines, part.lines)
    assert rest == (("100102", 5),)
    client.write_shipment("1001", dataclasses.replace(parcel, lines=rest), now)
    assert (
        client.shipments("1001").unfulfilled == {} and len(shop.orders["gid://shopify/Order/1001"]["fulfillments"]) == 2
    )


def test_a_shopify_buyer_s_held_or_scheduled_fulfillment_order_is_named_as_the_reason_a_parcel_waits(
    started: list[Any],
) -> None:
    """An ON_HOLD fulfillment order (its FulfillmentHoldReason) or a SCHEDULED one (its fulfillAt)
    takes no fulfilment: the refusal says which, in the shop's words — not "too little to fulfil",
    and the held units are still unfulfilled (never taken for fulfilled by hand)."""
    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    shop.add_order(order_node(1001, "#1001", [("S-1", "Tent", 2, "10.00")], None))
    client = ShopifyStore(shop.base_url, "shpat_acme")
    shop.hold_fulfillment(1001, "INCORRECT_ADDRESS", "customer to confirm the flat number")
    there = client.shipments("1001")
    assert there.unfulfilled == {"100101": 2} and there.open_lines == ()
    with pytest.raises(StoreRejected) as held:
        client.write_shipment("1001", _parcel((("100101", 2),)), there)
    assert "on hold in the buyer's shop (INCORRECT_ADDRESS (customer to confirm the flat number))" in str(held.value)
    shop.hold_fulfillment(1001, None)
    shop.schedule_fulfillment(1001, "2026-12-24T09:00:00Z")
    with pytest.raises(StoreRejected, match="scheduled in the buyer's shop, fulfillable from 2026-12-24T09:00:00Z"):
        client.write_shipment("1001", _parcel((("100101", 2),)))
    shop.schedule_fulfillment(1001, None)  # the date came: open
    client.write_shipment("1001", _parcel((("100101", 2),)))
    assert client.shipments("1001").unfulfilled == {}


# --- a new address onto the seller's copy, whole ----------------------------------------------------


def test_a_new_address_goes_onto_each_platforms_copy_whole(started: list[Any]) -> None:
    order = _order()
    moved = order.shipping_address.model_copy(
        update={"address1": "99 New Rd", "city": "Newcastle", "postal_code": "2300"}
    )  # type: ignore[union-attr]
    woo, woo_client = _woo_seller(started)
    copy = woo_client.create_order(order, _matches(order, [("55", "55"), ("56", "56")]), KEY).order_id
    woo_client.update_shipping_address(copy, moved)
    assert _last_body(woo, "PUT", f"/orders/{copy}") == {
        "shipping": {
            "first_name": "Grace Brewster",
            "last_name": "Hopper",
            "company": moved.company,
            "address_1": moved.address1,
            "address_2": moved.address2,
            "city": moved.city,
            "state": moved.province_code,
            "postcode": moved.postal_code,
            "country": moved.country_code,
            "phone": moved.phone,
        }
    }
    assert woo.orders[int(copy)]["shipping"]["address_1"] == "99 New Rd"

    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    bc.add_variant(501, 5011, "S-1", "Tent", "10.0000")
    bc.add_variant(502, 5021, "S-2", "Pegs", "1.5000")
    bc_client = BigCommerceStore(bc.base_url, "bc_ridge")
    copy = bc_client.create_order(order, _matches(order, [("501", "5011"), ("502", "5021")]), KEY).order_id
    bc_client.update_shipping_address(copy, moved)
    assert _last_body(bc, "PUT", f"/orders/{copy}/shipping_addresses/1") == {
        "first_name": "Grace Brewster",
        "last_name": "Hopper",
        "company": moved.company,
        "street_1": moved.address1,
        "street_2": moved.address2,
        "city": moved.city,
        "state": moved.province_code,
        "zip": moved.postal_code,
        "country_iso2": moved.country_code,
        "country": moved.country_code,
        "phone": moved.phone,
    }

    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    shop_client = ShopifyStore(shop.base_url, "shpat_peak")
    copy = shop_client.create_order(order, _matches(order, [("700", "7001"), ("701", "7002")]), KEY).order_id
    shop_client.update_shipping_address(copy, moved)
    sent = json.loads([b for m, p, b in shop.server.received if m == "POST" and b"orderUpdate" in b][-1])["variables"]
    assert sent == {
        "input": {
            "id": f"gid://shopify/Order/{copy}",
            "shippingAddress": {
                "firstName": "Grace Brewster",
                "lastName": "Hopper",
                "company": moved.company,
                "address1": moved.address1,
                "address2": moved.address2,
                "city": moved.city,
                "provinceCode": moved.province_code,
                "zip": moved.postal_code,
                "countryCode": moved.country_code,
                "phone": moved.phone,
            },
        }
    }


def test_a_woocommerce_seller_s_shipment_tracking_items_are_read_as_the_extension_shows_them(
    started: list[Any],
) -> None:
    """The extension stores a listed provider by its list name (the admin's meta box) or its slug
    (REST), and no link: its own route answers the formatted name and the link built from the
    provider's template. A custom link template is filled in; one that doesn't make a web address
    is dropped, the number kept. The day shipped is the item's."""
    woo = start_fake(started, FakeWooCommerce("north", "ck", "cs", shipment_tracking=True))
    woo.orders[3001] = woocommerce_order(3001, [("S-1", "Tent", 2, "10.00", 55, 0)], None)
    woo.ship(3001, tracking=("FedEx", "748912345", None))  # the admin: stored as "Fedex", no link
    stored = next(m["value"] for m in woo.orders[3001]["meta_data"] if m["key"] == "_wc_shipment_tracking_items")
    assert (stored[0]["tracking_provider"], stored[0]["custom_tracking_link"]) == ("Fedex", "")
    route = f"{woo.base_url}/wp-json/wc-shipment-tracking/v3/orders/3001/shipment-trackings"
    for body in (
        {"tracking_number": "SP-1", "custom_tracking_provider": "Speedy", "date_shipped": "2026-12-01",
         "custom_tracking_link": "https://speedy.example/t/%1$s"},
        {"tracking_number": "SP-2", "custom_tracking_provider": "Speedy", "custom_tracking_link": "speedy/%1$s"},
    ):  # fmt: skip
        assert requests.post(route, json=body, auth=("ck", "cs"), timeout=5).status_code == 201
    parcels = WooCommerceStore(woo.base_url, "ck", "cs").order_state("3001").parcels
    assert [(p.carrier, p.tracking_number, p.tracking_url) for p in parcels] == [
        ("Fedex", "748912345", "https://www.fedex.com/apps/fedextrack/?action=track&tracknumbers=748912345"),
        ("Speedy", "SP-1", "https://speedy.example/t/SP-1"),
        ("Speedy", "SP-2", None),  # "speedy/SP-2" is no web address: dropped, the number kept
    ]
    assert carrier_named(parcels[0].carrier) is carrier_named("fedex")  # the vocabulary reads the list name
    assert parcels[1].shipped_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_a_woocommerce_buyer_with_shipment_tracking_gets_a_tracking_item_found_again_by_its_number(
    started: list[Any],
) -> None:
    """Without core fulfilments but with the Shipment Tracking extension: its tracking item (a
    provider it knows by name, else the carrier as a custom provider with its link), `completed`
    once every line shipped, the item found again by its number (a lost answer writes nothing
    twice), and a corrected number replacing the item, never a second one."""
    woo = start_fake(started, FakeWooCommerce("bright", "ck", "cs", shipment_tracking=True))
    woo.orders[2001] = woocommerce_order(2001, [("S-1", "Tent", 2, "10.00", 55, 0)], None)
    client = WooCommerceStore(woo.base_url, "ck", "cs")
    line_id = str(woo.orders[2001]["line_items"][0]["id"])
    parcel = dataclasses.replace(_parcel(((line_id, 2),)), completes_order=True)
    written = client.write_shipment("2001", parcel)
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    assert _last_body(woo, "POST", "/shipment-trackings") == {
        "tracking_number": parcel.tracking_number,
        "date_shipped": today,
        "tracking_provider": "UPS",
    }
    assert _last_body(woo, "PUT", "/orders/2001") == {"status": "completed"}
    assert woo.notes.get(2001, []) == []  # the tracking item says it: no note besides
    (there,) = client.shipments("2001").shipments
    assert (there.shipment_id, there.tracking_number) == (written, parcel.tracking_number)

    unknown = dataclasses.replace(parcel, key="northwind:fulfillment-78", carrier="Speedy Couriers",
                                  tracking_number="SC-1", tracking_url="https://speedy.example/SC-1",
                                  shipped_at=datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # fmt: skip
    client.write_shipment("2001", unknown)
    assert _last_body(woo, "POST", "/shipment-trackings") == {
        "tracking_number": "SC-1",
        "date_shipped": "2026-12-01",  # the day it left the seller, not the day it was synced
        "custom_tracking_provider": "Speedy Couriers",
        "custom_tracking_link": "https://speedy.example/SC-1",
    }

    corrected = dataclasses.replace(parcel, tracking_number="1Z999AA10123456785")
    replaced = client.update_tracking("2001", written, corrected)
    again = client.update_tracking("2001", written, corrected)  # its answer lost: asked again
    numbers = sorted(s.tracking_number or "" for s in client.shipments("2001").shipments)
    assert numbers == ["1Z999AA10123456785", "SC-1"] and again == replaced != written


def test_a_corrected_tracking_number_goes_onto_the_shipment_written_before_whole(started: list[Any]) -> None:
    bc = start_fake(started, FakeBigCommerce("hashdelta", "bc_delta"))
    product = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "S-1", "name": "Tent", "quantity": 3,
               "price_inc_tax": "10.0000", "type": "physical"}  # fmt: skip
    bc.add_order(bigcommerce_order(4001), [product], [{"first_name": "A", "last_name": "L", "street_1": "1",
                 "city": "C", "zip": "12", "country": "US", "country_iso2": "US"}])  # fmt: skip
    bc_client = BigCommerceStore(bc.base_url, "bc_delta")
    parcel = _parcel((("1", 1),))
    written = bc_client.write_shipment("4001", parcel)
    corrected = dataclasses.replace(parcel, tracking_number="1Z999AA10123456785", tracking_url=None)
    bc_client.update_tracking("4001", written, corrected)
    assert _last_body(bc, "PUT", f"/shipments/{written}") == {
        "tracking_number": "1Z999AA10123456785",
        "shipping_provider": "ups",
        "tracking_carrier": "ups",
        "comments": f"[{parcel.key}] (synced by ordersync)",  # the key stays: it is how the shipment is found
    }
    assert len(bc.order_shipments[4001]) == 1

    woo = start_fake(started, FakeWooCommerce("bright", "ck", "cs", fulfilments=True))
    woo.orders[2001] = woocommerce_order(2001, [("S-1", "Tent", 2, "10.00", 55, 0)], None)
    woo_client = WooCommerceStore(woo.base_url, "ck", "cs")
    line_id = str(woo.orders[2001]["line_items"][0]["id"])
    fulfilment = woo_client.write_shipment("2001", _parcel(((line_id, 2),)))
    woo_client.update_tracking(
        "2001", fulfilment, dataclasses.replace(_parcel(((line_id, 2),)), tracking_number="NEW1")
    )
    sent = _last_body(woo, "PUT", f"/fulfillments/{fulfilment}")
    assert [m["key"] for m in sent["meta_data"]] == [  # the complete set again: those left out are deleted
        "_items",
        "_tracking_number",
        "_shipment_provider",
        "_tracking_url",
        "_ordersync_parcel",
    ]
    assert sent["meta_data"][1] == {"id": 0, "key": "_tracking_number", "value": "NEW1"}

    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    shop.add_order(order_node(1001, "#1001", [("S-1", "Tent", 2, "10.00")], None))
    shop_client = ShopifyStore(shop.base_url, "shpat_acme")
    fulfilled = shop_client.write_shipment("1001", _parcel((("100101", 2),)))
    shop_client.update_tracking(
        "1001", fulfilled, dataclasses.replace(_parcel((("100101", 2),)), tracking_number="NEW2")
    )
    sent = json.loads(
        [b for m, p, b in shop.server.received if m == "POST" and b"fulfillmentTrackingInfoUpdate" in b][-1]
    )
    assert sent["variables"] == {
        "fulfillmentId": f"gid://shopify/Fulfillment/{fulfilled}",
        "trackingInfoInput": {"company": "UPS", "number": "NEW2", "url": _parcel(()).tracking_url},
        "notifyCustomer": False,
    }
    assert len(shop.orders["gid://shopify/Order/1001"]["fulfillments"]) == 1


def test_a_cancellation_of_each_platforms_copy_is_sent_whole_restocked_refunding_nothing(started: list[Any]) -> None:
    order = _order()
    woo, woo_client = _woo_seller(started)
    copy = woo_client.create_order(order, _matches(order, [("55", "55"), ("56", "56")]), KEY).order_id
    woo_client.cancel_order(copy)
    assert _last_body(woo, "PUT", f"/orders/{copy}") == {"status": "cancelled"}  # WooCommerce restocks on it

    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    bc.add_variant(501, 5011, "S-1", "Tent", "10.0000")
    bc.add_variant(502, 5021, "S-2", "Pegs", "1.5000")
    bc_client = BigCommerceStore(bc.base_url, "bc_ridge")
    copy = bc_client.create_order(order, _matches(order, [("501", "5011"), ("502", "5021")]), KEY).order_id
    bc_client.cancel_order(copy)
    assert _last_body(bc, "PUT", f"/orders/{copy}") == {"status_id": 5}  # Cancelled

    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    shop_client = ShopifyStore(shop.base_url, "shpat_peak")
    copy = shop_client.create_order(order, _matches(order, [("700", "7001"), ("701", "7002")]), KEY).order_id
    shop_client.cancel_order(copy)
    sent = json.loads([b for m, p, b in shop.server.received if m == "POST" and b"orderCancel" in b][-1])
    assert sent["variables"] == {
        "orderId": f"gid://shopify/Order/{copy}",
        "staffNote": "cancelled by the buyer (ordersync)",
    }
    # restock, no email to the end customer, no deprecated `refund:` (nothing refunded): in the
    # document itself, checked on the schema
    assert "restock: true, notifyCustomer: false" in sent["query"] and "refund" not in sent["query"]
    assert shop.orders[f"gid://shopify/Order/{copy}"]["cancelledAt"] is not None
    asked = [b for m, p, b in shop.server.received if m == "POST" and b"query Job" in b]
    assert asked  # the job was polled until done: the copy cancelled when the call returned, not before


def test_shopify_s_cancellation_job_is_waited_for_and_one_that_fails_is_a_refusal(started: list[Any]) -> None:
    """orderCancel answers a job that cancels later; the mutation lists what makes it fail. A job
    that ends without cancelling is the store refusing (CANCEL_REFUSED upstream); one that runs past
    the waits is looked at again later (the copy is read first then)."""
    order = _order()
    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    client = ShopifyStore(shop.base_url, "shpat_peak")
    matches = _matches(order, [("700", "7001"), ("701", "7002")])

    refused = client.create_order(order, matches, KEY + "-a").order_id
    shop.cancel_job_fails = True  # e.g. a payment authorisation still pending
    with pytest.raises(StoreRejected, match="cancellation job ended without cancelling order"):
        client.cancel_order(refused)
    assert shop.orders[f"gid://shopify/Order/{refused}"]["cancelledAt"] is None

    slow = client.create_order(order, matches, KEY + "-b").order_id
    shop.cancel_job_seconds = 30  # past every wait
    with pytest.raises(StoreUnavailable, match="still running"):
        client.cancel_order(slow)
    assert not client.order_state(slow).cancelled  # not yet: the next attempt reads this first


def test_two_buyer_lines_posted_as_one_variant_are_reduced_each_by_its_own_line_of_the_copy(
    started: list[Any],
) -> None:
    """Two buyer lines of one seller variant (a gift-wrapped and a plain Tent): the second reduced
    changes the copy's second line, never the first — by the line id the create answered (Shopify,
    WooCommerce), by place among the variant's lines where it answers none (BigCommerce)."""
    order = _order().model_copy(update={"lines": [
        OrderLine(line_id="1", sku="S-1", title="Tent (gift)", quantity=2, unit_price=Decimal("10.00")),
        OrderLine(line_id="2", sku="S-1", title="Tent", quantity=4, unit_price=Decimal("10.00")),
    ]})  # fmt: skip
    second = [LineChange("2", "S-1", "Tent", 4, 1)]

    def reduce(client: Any, matches: list[LineMatch]) -> str:
        copy = client.create_order(order, matches, KEY)
        posted = with_copy_line_ids(_posted(matches), copy.line_ids)
        client.reduce_lines(copy.order_id, [(copy_lines(posted)[c.buyer_line_id], c.now) for c in second])
        return str(copy.order_id)

    woo, woo_client = _woo_seller(started)
    woo_id = reduce(woo_client, _matches(order, [("55", "55"), ("55", "55")]))
    assert [(i["product_id"], i["quantity"]) for i in woo.orders[int(woo_id)]["line_items"]] == [(55, 2), (55, 1)]

    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    bc.add_variant(501, 5011, "S-1", "Tent", "10.0000")
    bc_id = reduce(BigCommerceStore(bc.base_url, "bc_ridge"), _matches(order, [("501", "5011"), ("501", "5011")]))
    assert [p["quantity"] for p in bc.order_products[int(bc_id)]] == [2, 1]

    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop_id = reduce(ShopifyStore(shop.base_url, "shpat_peak"), _matches(order, [("700", "7001"), ("700", "7001")]))
    nodes = shop.orders[f"gid://shopify/Order/{shop_id}"]["lineItems"]["nodes"]
    assert [line["currentQuantity"] for line in nodes] == [2, 1]


def test_a_shopify_seller_s_parcel_maps_back_by_its_lines_after_the_variant_is_deleted(started: list[Any]) -> None:
    """The seller ships, then deletes the variant: the fulfilment's line reads `variant: null` (the
    schema's "null ... where the variant has been deleted"); the line id kept at the post still maps
    the parcel onto the buyer's line — never PARCEL_DOESNT_FIT."""
    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    client = ShopifyStore(shop.base_url, "shpat_peak")
    order, matches = _order(), _matches(_order(), [("700", "7001"), ("701", "7002")])
    copy = client.create_order(order, matches, KEY)
    posted = with_copy_line_ids(_posted(matches), copy.line_ids)
    shop.fulfil(int(copy.order_id), lines={1: 2}, tracking=("UPS", "1Z999", None))
    shop.delete_variant(7001)
    (parcel,) = client.order_state(copy.order_id).parcels
    assert parcel.lines[0].variant_id == "0"  # what the store says of the variant now: nothing
    assert buyer_lines(parcel, posted, {}) == (("1", 2),)
    assert isinstance(buyer_lines(parcel, _posted(matches), {}), Misfit)  # without the ids: it can't fit


def test_fewer_units_go_onto_each_platforms_copy_by_its_own_lines(started: list[Any]) -> None:
    """A reduction before shipment: WooCommerce PUTs the line by its item id (0 removes it),
    BigCommerce PUTs the order's products by their ids, Shopify edits the order (begin, set
    quantity with restock, commit without emailing the customer)."""
    woo, woo_client = _woo_seller(started)
    woo_id = woo_client.create_order(_order(), _matches(_order(), [("55", "55"), ("56", "56")]), KEY).order_id
    lines = {i["product_id"]: dict(i) for i in woo.orders[int(woo_id)]["line_items"]}
    items = {product: line["id"] for product, line in lines.items()}
    woo_client.reduce_lines(woo_id, [(CopyLine("55"), 1), (CopyLine("56"), 0)])
    # the totals from the line's own unit values: WooCommerce keeps the old ones unless they are sent
    unit = Decimal(lines[55]["total"]) / lines[55]["quantity"]
    assert _last_body(woo, "PUT", f"/orders/{woo_id}") == {
        "line_items": [
            {"id": items[55], "quantity": 1, "subtotal": f"{unit:.2f}", "total": f"{unit:.2f}"},
            {"id": items[56], "quantity": 0},
        ]
    }
    (left,) = woo.orders[int(woo_id)]["line_items"]
    assert (left["product_id"], left["quantity"], left["total"]) == (55, 1, f"{unit:.2f}")
    # a quantity alone, as a client kinder to itself would send it: the line keeps billing its old total
    requests.put(f"{woo.base_url}/wp-json/wc/v3/orders/{woo_id}", auth=("ck", "cs"), timeout=5,
                 json={"line_items": [{"id": items[55], "quantity": 3}]})  # fmt: skip
    (kept,) = woo.orders[int(woo_id)]["line_items"]
    assert (kept["quantity"], kept["total"]) == (3, f"{unit:.2f}")

    bc = start_fake(started, FakeBigCommerce("hashdelta", "bc_delta"))
    product = {"id": 7, "product_id": 1, "variant_id": 11, "sku": "S-1", "name": "Tent", "quantity": 3,
               "price_inc_tax": "10.0000", "type": "physical"}  # fmt: skip
    bc.add_order(bigcommerce_order(4001), [product], [{"first_name": "A", "last_name": "L", "street_1": "1",
                 "city": "C", "zip": "12", "country": "US", "country_iso2": "US"}])  # fmt: skip
    BigCommerceStore(bc.base_url, "bc_delta").reduce_lines("4001", [(CopyLine("11"), 2)])
    assert _last_body(bc, "PUT", "/orders/4001") == {"products": [{"id": 7, "quantity": 2}]}
    assert bc.order_products[4001][0]["quantity"] == 2
    # a product with a minimum order quantity: the PUT answers 200 and changes nothing — read back,
    # said with what the store kept (LINES_CHANGED upstream), never taken for done
    bc.minimum_quantity[1] = 2
    with pytest.raises(StoreRejected, match="kept order 4001 as it was: line 7 still has 2 \\(asked 1\\)"):
        BigCommerceStore(bc.base_url, "bc_delta").reduce_lines("4001", [(CopyLine("11"), 1)])

    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00")
    shop.add_variant(7002, "S-2", 701, "Pegs", "Default Title", "1.50")
    shop_client = ShopifyStore(shop.base_url, "shpat_peak")
    copy = shop_client.create_order(_order(), _matches(_order(), [("700", "7001"), ("701", "7002")]), KEY)
    shop_client.reduce_lines(copy.order_id, [(CopyLine("7001", dict(copy.line_ids)["1"]), 1)])
    sent = [json.loads(b)["variables"] for m, p, b in shop.server.received if m == "POST" and b"orderEdit" in b]
    assert sent[1]["quantity"] == 1 and sent[2]["staffNote"].endswith("(ordersync)")
    (set_quantity,) = [json.loads(b)["query"] for m, p, b in shop.server.received if b"orderEditSetQuantity(" in b]
    assert "restock: true" in set_quantity  # the units taken off go back to the seller's stock
    node = shop.orders[f"gid://shopify/Order/{copy.order_id}"]
    assert [line["currentQuantity"] for line in node["lineItems"]["nodes"]] == [1, 5]
    assert node["_edit_notified_customer"] is False


def test_a_note_on_the_retailer_s_order_is_appended_to_its_own_and_never_shown_to_its_customer(
    started: list[Any],
) -> None:
    """Shopify: orderUpdate's note replaces the whole note, so ours is appended to the retailer's own.
    WooCommerce: a private note (customer_note false), so the end customer is never emailed our words."""
    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    node = order_node(1001, "#1001", [("S-1", "Tent", 1, "10.00")], {"name": "A", "countryCodeV2": "US"})
    node["note"] = "Gift wrap, please"
    shop.add_order(node)
    ShopifyStore(shop.base_url, "shpat_acme").add_note("1001", "Northwind cancelled its copy. [ordersync]")
    assert shop.orders[node["id"]]["note"] == "Gift wrap, please\nNorthwind cancelled its copy. [ordersync]"

    woo = start_fake(started, FakeWooCommerce("brightside", "ck_b", "cs_b"))
    woo.add_order(woocommerce_order(2001, [("PK-1", "Jacket", 1, "180.00", 55, 0)], {"first_name": "A"}))
    WooCommerceStore(woo.base_url, "ck_b", "cs_b").add_note("2001", "Peak cancelled its copy. [ordersync]")
    (note,) = woo.notes[2001]
    assert note["customer_note"] is False and (2001, "customer_note") not in woo.customer_emails


def test_each_buyer_platform_s_shipment_read_says_whether_the_order_ended_unshipped(started: list[Any]) -> None:
    """WooCommerce `cancelled`, `refunded`, `failed` or in the trash; BigCommerce 4 Refunded,
    5 Cancelled, 6 Declined: a parcel is never written onto such an order."""
    bc = start_fake(started, FakeBigCommerce("hashdelta", "bc_delta"))
    product = {"id": 7, "product_id": 1, "variant_id": 11, "sku": "S-1", "name": "Tent", "quantity": 1,
               "price_inc_tax": "10.0000", "type": "physical"}  # fmt: skip
    address = {"first_name": "A", "last_name": "L", "street_1": "1", "city": "C", "zip": "12", "country": "US",
               "country_iso2": "US"}  # fmt: skip
    bc.add_order(bigcommerce_order(4001), [product], [address])
    client = BigCommerceStore(bc.base_url, "bc_delta")
    assert client.shipments("4001").cancelled is False
    bc.orders[4001].update(status="Declined", status_id=6)
    assert client.shipments("4001").cancelled is True
    assert client.order_state("4001").cancelled is True  # as a seller's copy: declined is the seller cancelling

    woo = start_fake(started, FakeWooCommerce("brightside", "ck_b", "cs_b"))
    woo.add_order(woocommerce_order(2001, [("PK-1", "Jacket", 1, "180.00", 55, 0)], {"first_name": "A"}))
    woo_client = WooCommerceStore(woo.base_url, "ck_b", "cs_b")
    assert woo_client.shipments("2001").cancelled is False
    for status in ("refunded", "failed", "trash"):
        woo.orders[2001]["status"] = status
        assert woo_client.shipments("2001").cancelled is True, status
