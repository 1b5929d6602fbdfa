"""The store clients read past every page the platforms cut their answers into: a catalog cut
short marks real variants deleted (and orders then fail as SKU mismatches), a pull cut short
loses orders. Over HTTP against the fake stores only (no AWS): fast enough for `make mutate`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordersync.domain.catalog import StoreVariant
from ordersync.errors import StoreUnavailable
from ordersync.local.fakes.bigcommerce import FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.server import Fault
from ordersync.local.fakes.shopify import FakeShopify, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order
from ordersync.platforms import bigcommerce, shopify, woocommerce
from ordersync.platforms.bigcommerce import BigCommerceStore
from ordersync.platforms.shopify import ShopifyStore
from ordersync.platforms.woocommerce import WooCommerceStore

from .marketplace import start_fake

NOW = datetime.now(UTC)
SINCE = NOW - timedelta(hours=1)
ADDRESS = {"name": "Ada Lovelace", "address1": "1 Road", "city": "London", "zip": "N1 9GU", "countryCodeV2": "GB"}
WOO_ADDRESS = {"first_name": "Ada", "last_name": "L", "address_1": "1 Road", "city": "Sydney"}
WOO_ADDRESS |= {"postcode": "2000", "country": "AU"}
BC_ADDRESS = {"first_name": "A", "last_name": "B", "street_1": "1 Road", "city": "Austin", "zip": "78751"}
BC_ADDRESS |= {"country_iso2": "US"}


def _variants(pages: Iterator[list[StoreVariant]]) -> list[StoreVariant]:
    return [variant for page in pages for variant in page]


# --- WooCommerce: X-WP-TotalPages, 100 per page ------------------------------------------------------
def test_a_101_product_woocommerce_catalog_is_read_whole_variations_past_their_first_page_too(
    started: list[Any],
) -> None:
    woo = start_fake(started, FakeWooCommerce("north", "ck_n", "cs_n"))
    for n in range(1, woocommerce.PAGE_SIZE + 2):
        woo.add_product(n, f"NW-{n:03d}", f"Thing {n}", "1.00")
    for v in range(1, woocommerce.PAGE_SIZE + 3):  # a variable product with 102 variations
        woo.add_product(500, "NW-SOCK", "Socks", "9.00", 5000 + v, f"NW-SOCK-{v:03d}", f"size {v} / Grey")
    woo.add_product(500, "NW-SOCK", "Socks", "9.00", 5999, "  ", "size 0 / Grey")  # a variation without SKU
    woo.add_product(500, "NW-SOCK", "Socks", "9.00", 5998, "NW-SOCK-X", "X", variation_status="private")
    woo.add_product(900, "  ", "No SKU", "1.00")  # a blank SKU is no SKU
    woo.add_product(901, "", "Empty SKU", "1.00")
    woo.add_product(902, "", "Bare", "1.00", 9021, "", "one size")  # a variation shows its parent's SKU: none
    for n in range(1000, 1098):  # drafts the store keeps: not asked for, so two pages of products, not three
        woo.add_product(n, f"NW-DRAFT-{n}", "Draft", "1.00", status="draft")
    pages = list(WooCommerceStore(woo.base_url, "ck_n", "cs_n").catalog())
    variants = _variants(iter(pages))
    assert len(pages) == 2 and len(variants) == 101 + 102 + 1 + 1 + 2
    by_sku = {v.sku: v for v in variants}
    assert len(by_sku) == len(variants) - 3  # four have no SKU
    assert not any(str(sku).startswith("NW-DRAFT") for sku in by_sku)
    assert by_sku["NW-101"] == StoreVariant("101", "101", "NW-101", "Thing 101", "")
    assert by_sku["NW-SOCK-102"] == StoreVariant("500", "5102", "NW-SOCK-102", "Socks", "size 102 / Grey")
    assert StoreVariant("500", "5999", None, "Socks", "size 0 / Grey") in variants
    assert "NW-SOCK-X" not in by_sku  # a private variation can't be bought
    assert "  " not in by_sku and [v.product_id for v in variants if v.sku is None] == ["500", "900", "901", "902"]


def test_woocommerce_orders_are_pulled_page_after_page_and_a_pull_resumes_at_its_page(started: list[Any]) -> None:
    woo = start_fake(started, FakeWooCommerce("bright", "ck_b", "cs_b"))  # a store at UTC+10
    count = 2 * woocommerce.PAGE_SIZE + 5
    for n in range(1, count + 1):  # modified newest-id-first: the pull must go by modification
        modified = NOW - timedelta(seconds=n)
        woo.add_order(woocommerce_order(n, [("S-1", "Tent", 1, "10.00", 1, 0)], WOO_ADDRESS, modified=modified))
    for order in woo.orders.values():  # created in the opposite order: the pull must sort by modification
        order["date_created_gmt"] = order["date_created"] = (NOW - timedelta(days=1, seconds=-order["id"])).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    old = NOW - timedelta(hours=3)  # before the window, even in the store's local time
    woo.add_order(woocommerce_order(999, [("S-1", "Tent", 1, "10.00", 1, 0)], WOO_ADDRESS, modified=old))
    client = WooCommerceStore(woo.base_url, "ck_b", "cs_b")
    pages = list(client.orders_updated_since(SINCE))
    assert [len(page) for page, _ in pages] == [100, 100, 5]
    assert [following for _, following in pages] == ["2", "3", None]
    ids = [order["id"] for page, _ in pages for order in page]
    assert ids == list(range(count, 0, -1))  # oldest modification first, across pages; 999 not at all
    resumed = list(client.orders_updated_since(SINCE, "3"))
    assert [len(page) for page, _ in resumed] == [5] and resumed[0][0] == pages[2][0]


# --- BigCommerce: meta.pagination for the catalog, an empty page for V2 orders ---------------------
def test_a_250_plus_variant_bigcommerce_catalog_is_read_whole(started: list[Any]) -> None:
    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    for n in range(1, 2 * 250 + 2):
        bc.add_variant(n, 10_000 + n, f"RG-{n:04d}", f"Thing {n}", "1.0000", options=("L", "Red") if n == 7 else ())
    bc.add_variant(7, 20_007, "", "Thing 7", "1.0000")  # a variant without SKU
    pages = list(BigCommerceStore(bc.base_url, "bc_ridge").catalog())
    variants = _variants(iter(pages))
    assert len(pages) == 3 and len(variants) == 502  # 250 products a page; no fourth, empty request
    assert variants[-1] == StoreVariant("501", "10501", "RG-0501", "Thing 501", "")
    assert [v for v in variants if v.product_id == "7"] == [
        StoreVariant("7", "10007", "RG-0007", "Thing 7", "L / Red"),
        StoreVariant("7", "20007", None, "Thing 7", ""),
    ]


def test_bigcommerce_orders_are_pulled_until_an_empty_page_each_with_every_line(started: list[Any]) -> None:
    bc = start_fake(started, FakeBigCommerce("hashdelta", "bc_delta"))
    line = {"product_id": 1, "variant_id": 1, "name": "Tarp", "quantity": 1, "price_inc_tax": "1.0000"}
    line |= {"type": "physical"}
    many = bigcommerce.SUB_RESOURCE_PAGE + 1
    for n in range(1, bigcommerce.PAGE_SIZE + 4):
        count = many if n == 7 else 1
        products = [{"id": i, "sku": f"S-{i}", **line} for i in range(1, count + 1)]
        bc.add_order(bigcommerce_order(n, moment=NOW - timedelta(seconds=n)), products, [BC_ADDRESS])
    bc.add_order(bigcommerce_order(999, moment=NOW - timedelta(hours=3)), products, [BC_ADDRESS])  # before
    client = BigCommerceStore(bc.base_url, "bc_delta")
    pages = list(client.orders_updated_since(SINCE))
    assert [len(page) for page, _ in pages] == [50, 3] and [following for _, following in pages] == ["2", "3"]
    ids = [order["id"] for page, _ in pages for order in page]
    assert ids == list(range(bigcommerce.PAGE_SIZE + 3, 0, -1))  # oldest modification first; 999 not at all
    orders = {order["id"]: order for page, _ in pages for order in page}
    assert len(orders[7]["products"]) == many and len(orders[8]["products"]) == 1
    assert [len(page) for page, _ in client.orders_updated_since(SINCE, "2")] == [3]


# --- Shopify: cursors (pageInfo) ---------------------------------------------------------------------
def test_a_shopify_catalog_past_its_first_page_is_read_whole(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("peak", "shpat_peak", bucket_size=20_000, restore_rate=2_000))
    for n in range(1, shopify.VARIANTS_PER_PAGE + 3):
        shop.add_variant(70_000 + n, f"PK-{n:04d}", 700 + n, f"Thing {n}", "Default Title", "1.00")
    shop.add_variant(79_999, " PK-JACKET-M ", 5000, "Storm Jacket", "M", "180.00")
    shop.add_variant(79_998, "PK-OLD", 5001, "Old Thing", "Default Title", "1.00")
    shop.add_variant(79_997, "", 5002, "No SKU", "Default Title", "1.00")
    shop.set_product_status(5001, "ARCHIVED")  # not for sale: not in the catalog
    variants = _variants(ShopifyStore(shop.base_url, "shpat_peak").catalog())
    assert len(variants) == 254 and len({v.sku for v in variants}) == 254
    assert StoreVariant("5002", "79997", None, "No SKU", "") in variants
    by_sku = {v.sku: v for v in variants}
    assert by_sku["PK-0252"] == StoreVariant("952", "70252", "PK-0252", "Thing 252", "")  # no "Default Title"
    assert by_sku["PK-JACKET-M"] == StoreVariant("5000", "79999", "PK-JACKET-M", "Storm Jacket", "M")


def test_shopify_orders_are_pulled_cursor_after_cursor_with_every_line(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("acme", "shpat_acme", bucket_size=20_000, restore_rate=2_000))
    many = shopify.LINES_PER_ORDER + shopify.LINES_PER_PAGE + 1  # the first 10, a page of 250, one more
    for number in range(1, shopify.ORDERS_PER_PAGE + 3):
        count = many if number == 3 else 1
        lines = [(f"SKU-{i}", f"Thing {i}", 1, "1.00") for i in range(count)]
        shop.add_order(order_node(number, f"#{number}", lines, ADDRESS))
    client = ShopifyStore(shop.base_url, "shpat_acme")
    pages = list(client.orders_updated_since(SINCE))
    assert [len(page) for page, _ in pages] == [20, 2] and pages[0][1] is not None and pages[1][1] is None
    assert shop.server.requests == 2 + 2  # two pages of orders, two more of #3's lines: nothing asked twice
    orders = {node["legacyResourceId"]: node for page, _ in pages for node in page}
    assert len(orders["3"]["lineItems"]["nodes"]) == many
    assert orders["3"]["lineItems"]["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert all(isinstance(node, dict) for page, _ in pages for node in page)
    resumed = list(client.orders_updated_since(SINCE, pages[0][1]))
    assert [node["legacyResourceId"] for node in resumed[0][0]] == [n["legacyResourceId"] for n in pages[1][0]]


def test_a_shopify_order_deleted_while_its_lines_are_read_is_retried_not_cut_short(started: list[Any]) -> None:
    class Deleting(FakeShopify):
        """Answers the orders page, then the order is deleted before its lines are read."""

        def _orders(self, *args: Any, **kwargs: Any) -> Any:
            page = super()._orders(*args, **kwargs)
            self.orders.clear()
            return page

    shop = start_fake(started, Deleting("acme", "shpat_acme", bucket_size=20_000, restore_rate=2_000))
    lines = [(f"SKU-{i}", f"Thing {i}", 1, "1.00") for i in range(shopify.LINES_PER_ORDER + 1)]
    shop.add_order(order_node(3, "#3", lines, ADDRESS))
    with pytest.raises(StoreUnavailable) as vanished:
        list(ShopifyStore(shop.base_url, "shpat_acme").orders_updated_since(SINCE))
    assert str(vanished.value) == "Shopify order 3 vanished while its lines were read"


def test_an_empty_woocommerce_store_is_one_request_and_a_missing_page_count_is_not_a_short_list(
    started: list[Any],
) -> None:
    woo = start_fake(started, FakeWooCommerce("bright", "ck_b", "cs_b"))
    client = WooCommerceStore(woo.base_url, "ck_b", "cs_b")
    assert list(client.orders_updated_since(SINCE)) == [([], None)] and list(client.catalog()) == [[]]
    assert woo.server.requests == 2  # WooCommerce counts 0 pages; nothing is asked twice
    woo.server.faults.add(Fault(status=200, headers={"X-WP-TotalPages": ""}))
    with pytest.raises(StoreUnavailable, match="answered without X-WP-TotalPages"):
        list(client.catalog())


# --- a catalog's changes, and a long read resumed -----------------------------------------------------
YESTERDAY = NOW - timedelta(days=1)


def test_woocommerce_catalog_changes_are_the_products_modified_since_and_a_read_resumes_at_its_page(
    started: list[Any],
) -> None:
    woo = start_fake(started, FakeWooCommerce("north", "ck_n", "cs_n"))
    for n in range(150, 0, -1):  # added newest id first: the read must go by id
        woo.add_product(n, f"NW-{n:03d}", f"Thing {n}", "1.00")
    for product in woo.products.values():
        product["date_modified_gmt"] = YESTERDAY.strftime("%Y-%m-%dT%H:%M:%S")
    woo.set_sku(60, "NW-060-B")
    woo.set_sku(140, "NW-140-B")
    client = WooCommerceStore(woo.base_url, "ck_n", "cs_n")
    assert [([v.sku for v in page], token) for page, token in client.catalog_pages(SINCE)] == [
        (["NW-060-B", "NW-140-B"], None)
    ]
    pages = list(client.catalog_pages())
    assert [token for _, token in pages] == ["2", None]
    assert [v.product_id for v in pages[0][0]] == [str(n) for n in range(1, 101)]
    assert list(client.catalog_pages(resume="2")) == [pages[1]]


def test_bigcommerce_catalog_changes_are_the_products_modified_since_and_a_read_resumes_after_an_id(
    started: list[Any],
) -> None:
    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge"))
    for n in range(1, 301):
        bc.add_variant(n, 10_000 + n, f"RG-{n:04d}", f"Thing {n}", "1.0000")
        bc.product_modified[n] = YESTERDAY
    bc.add_variant(5, 20_005, "RG-0005-B", "Thing 5", "1.0000")  # a new variant saves its product
    bc.add_variant(260, 20_260, "RG-0260-B", "Thing 260", "1.0000")
    client = BigCommerceStore(bc.base_url, "bc_ridge")
    changed = list(client.catalog_pages(SINCE))
    assert [([v.variant_id for v in page], token) for page, token in changed] == [
        (["10005", "20005", "10260", "20260"], None)
    ]
    pages = list(client.catalog_pages())
    assert [token for _, token in pages] == ["250", None]
    assert [v.product_id for v in pages[1][0]][:1] == ["251"] and len(pages[1][0]) == 51
    bc.delete_product(3)  # deleted while the read is between pages: nothing shifts
    assert list(client.catalog_pages(resume="250")) == [pages[1]]


def test_shopify_catalog_changes_are_the_variants_updated_since_and_a_read_resumes_at_its_cursor(
    started: list[Any],
) -> None:
    shop = start_fake(started, FakeShopify("peak", "shpat_peak", bucket_size=20_000, restore_rate=2_000))
    for n in range(1, shopify.VARIANTS_PER_PAGE + 11):
        shop.add_variant(70_000 + n, f"PK-{n:04d}", 700 + n, f"Thing {n}", "Default Title", "1.00")
    for variant in shop.variants.values():
        variant["updatedAt"] = YESTERDAY.isoformat().replace("+00:00", "Z")
    shop.set_variant_sku(70_003, "PK-0003-B")
    shop.set_variant_sku(70_255, "PK-0255-B")
    client = ShopifyStore(shop.base_url, "shpat_peak")
    assert [([v.sku for v in page], token) for page, token in client.catalog_pages(SINCE)] == [
        (["PK-0003-B", "PK-0255-B"], None)
    ]
    pages = list(client.catalog_pages())
    assert len(pages) == 2 and pages[0][1] is not None and pages[1][1] is None
    assert [v.variant_id for v in pages[1][0]] == [str(70_000 + n) for n in range(251, 261)]
    assert list(client.catalog_pages(resume=pages[0][1])) == [pages[1]]
