"""Each break found by reading the platforms' contracts, tried over HTTP against the stricter fakes:
every test here fails on the clients that trusted the lenient fakes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ordersync.domain.catalog import CatalogVariant, VariantStatus
from ordersync.domain.decide import LineMatch, LineOutcome
from ordersync.errors import StoreCredentialsError, StoreRejected, StoreThrottled, StoreUnavailable
from ordersync.invocation import RESERVE_SECONDS, SHORTEST_REQUEST, invocation_ends_in
from ordersync.local.fakes.bigcommerce import FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.server import Fault
from ordersync.local.fakes.shopify import FakeShopify, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order
from ordersync.models import CanonicalOrder, OrderLine, Platform, ShippingAddress
from ordersync.normalize import normalize
from ordersync.platforms.bigcommerce import BigCommerceStore
from ordersync.platforms.shopify import ShopifyStore
from ordersync.platforms.woocommerce import WooCommerceStore

from .marketplace import start_fake

NOW = datetime.now(UTC)
ADDRESS = {"name": "Ada Lovelace", "address1": "1 Road", "city": "London", "zip": "N1 9GU", "countryCodeV2": "GB"}
WOO_ADDRESS = {
    "first_name": "Ada",
    "last_name": "L",
    "address_1": "1 Road",
    "city": "Sydney",
    "postcode": "2000",
    "country": "AU",
}


def _order(country: str = "uk", postcode: str | None = "N1 9GU", currency: str = "gbp") -> CanonicalOrder:
    return CanonicalOrder(
        order_id="1001",
        platform=Platform.WOOCOMMERCE,
        order_number="1001",
        created_at=NOW,
        updated_at=NOW,
        currency=currency,
        shipping_address=ShippingAddress(
            name="Ada Lovelace", address1="1 Road", city="London", postal_code=postcode, country_code=country
        ),
        lines=[OrderLine(line_id="1", sku="S-1", title="Tent", quantity=2, unit_price=Decimal("10.00"))],
    )


def _match(order: CanonicalOrder, product_id: str, variant_id: str) -> list[LineMatch]:
    variant = CatalogVariant("seller", product_id, variant_id, "S-1", "Tent", "", VariantStatus.ACTIVE, NOW)
    return [LineMatch(order.lines[0], LineOutcome.MATCHED, "S-1", variant)]


# --- Shopify ---------------------------------------------------------------------------------------


def test_shopify_pull_stays_under_the_cost_limit_and_reads_every_line(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    for number in range(1, 31):
        lines = [(f"SKU-{i}", f"Thing {i}", 1, "1.00") for i in range(1, (13 if number == 7 else 2))]
        shop.add_order(order_node(number, f"#{number}", lines, ADDRESS))
    pages = list(ShopifyStore(shop.base_url, shop.access_token).orders_updated_since(NOW - timedelta(hours=1)))
    orders = {node["legacyResourceId"]: node for page, _ in pages for node in page}
    assert len(orders) == 30
    assert len(normalize(Platform.SHOPIFY, orders["7"]).lines) == 12  # past the first page of 10 lines


def test_shopify_client_paces_itself_from_the_throttle_status(started: list[Any]) -> None:
    """A bucket that holds barely one page: the client waits for it to refill instead of being refused."""
    shop = start_fake(started, FakeShopify("acme", "shpat_acme", bucket_size=1000, restore_rate=400))
    for number in range(1, 101):
        shop.add_order(order_node(number, f"#{number}", [("SKU", "Thing", 1, "1.00")], ADDRESS))
    pages = list(ShopifyStore(shop.base_url, shop.access_token).orders_updated_since(NOW - timedelta(hours=1)))
    assert sum(len(page) for page, _ in pages) == 100
    assert shop.throttled == 0


def test_shopify_order_is_created_with_shopifys_enums_moves_stock_and_is_found_despite_search_lag(
    started: list[Any],
) -> None:
    shop = start_fake(started, FakeShopify("peak", "shpat_peak", search_lag_seconds=600))
    shop.add_variant(7001, "S-1", 700, "Tent", "Default Title", "10.00", inventory=5)
    client = ShopifyStore(shop.base_url, shop.access_token)
    order = _order(country="uk", currency="gbp")
    attempt_started = datetime.now(UTC)
    created = client.create_order(order, _match(order, "700", "7001"), "ordersync-acme--peak-1001").order_id
    (node,) = shop.created_orders()
    assert node["shippingAddress"]["countryCodeV2"] == "GB"
    assert shop.variants["gid://shopify/ProductVariant/7001"]["inventoryQuantity"] == 3  # the seller's stock moved
    assert client.find_posted_order("ordersync-acme--peak-1001", attempt_started) == created
    assert client.find_posted_order("ordersync-acme--peak-1002", attempt_started) is None


def test_shopify_variants_of_draft_or_archived_products_are_not_sellable(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("peak", "shpat_peak"))
    shop.add_variant(1, "LIVE", 10, "Live", "Default Title", "1.00")
    shop.add_variant(2, "DRAFT", 20, "Draft", "Default Title", "1.00", status="DRAFT")
    shop.add_variant(3, "OLD", 30, "Old", "Default Title", "1.00", status="ARCHIVED")
    client = ShopifyStore(shop.base_url, shop.access_token)
    assert [v.sku for page in client.catalog() for v in page] == ["LIVE"]
    variants = [
        CatalogVariant("s", str(p), str(v), "X", "", "", VariantStatus.ACTIVE, NOW) for p, v in ((10, 1), (20, 2))
    ]
    assert client.variants_present(variants) == frozenset({"1"})


def test_shopify_refuses_a_query_over_the_cost_limit_by_name(started: list[Any]) -> None:
    shop = start_fake(started, FakeShopify("acme", "shpat_acme"))
    client = ShopifyStore(shop.base_url, shop.access_token)
    from ordersync.platforms import shopify

    with pytest.raises(StoreRejected, match="too expensive"):
        client._graphql(shopify.ORDERS_QUERY, {"first": 50, "after": None, "query": "", "lines": 250})


# --- WooCommerce -----------------------------------------------------------------------------------


def _woo(started: list[Any]) -> tuple[FakeWooCommerce, WooCommerceStore]:
    woo = start_fake(started, FakeWooCommerce("brightside", "ck_b", "cs_b"))  # a store at UTC+10
    return woo, WooCommerceStore(woo.base_url, "ck_b", "cs_b")


def test_woocommerce_window_is_sent_in_naive_utc_so_the_store_offset_does_not_shift_it(started: list[Any]) -> None:
    woo, client = _woo(started)
    woo.add_order(
        woocommerce_order(1, [("S", "Thing", 1, "1.00", 1, 0)], WOO_ADDRESS, modified=NOW - timedelta(hours=1))
    )
    pulled = [order["id"] for page, _ in client.orders_updated_since(NOW - timedelta(hours=2)) for order in page]
    assert pulled == [1]


def test_woocommerce_refunded_units_are_read_from_the_refunds_endpoint_and_not_shipped(started: list[Any]) -> None:
    woo, client = _woo(started)
    woo.add_order(
        woocommerce_order(2, [("S", "Thing", 3, "10.00", 1, 0), ("T", "Other", 1, "5.00", 2, 0)], WOO_ADDRESS)
    )
    woo.refund(2, 201, 2)
    (page, _), *_ = list(client.orders_updated_since(NOW - timedelta(hours=1)))
    order = normalize(Platform.WOOCOMMERCE, page[0])
    assert {line.sku: line.quantity for line in order.lines} == {"S": 1, "T": 1}


def test_woocommerce_posted_order_is_found_by_its_meta_not_by_search(started: list[Any]) -> None:
    woo, client = _woo(started)
    woo.add_product(55, "S-1", "Tent", "10.00")
    woo.currency = "AUD"
    order = _order(currency="GBP")
    attempt_started = datetime.now(UTC)
    for other in range(3):  # orders of other buyers created in between
        client.create_order(order, _match(order, "55", "55"), f"ordersync-other-{other}")
    created = client.create_order(order, _match(order, "55", "55"), "ordersync-acme--brightside-1001").order_id
    assert client.find_posted_order("ordersync-acme--brightside-1001", attempt_started) == created
    assert client.find_posted_order("ordersync-acme--brightside-1002", attempt_started) is None
    assert {o["currency"] for o in woo.created_orders()} == {"AUD"}  # not relabelled with the buyer's currency


def test_woocommerce_line_for_a_product_the_store_lacks_is_reported_not_passed_off(started: list[Any]) -> None:
    """The plugin creates a line with no product instead of refusing an unknown product id."""
    woo, client = _woo(started)
    order = _order()
    assert 999 not in woo.products
    with pytest.raises(StoreRejected, match=r"created order \d+ but 1 line\(s\) have no product"):
        client.create_order(order, _match(order, "999", "999"), "ordersync-k")


def test_woocommerce_trashed_and_draft_products_are_not_sellable(started: list[Any]) -> None:
    woo, client = _woo(started)
    woo.add_product(1, "LIVE", "Live", "1.00")
    woo.add_product(2, "DRAFT", "Draft", "1.00", status="draft")
    woo.add_product(3, "BIN", "Binned", "1.00")
    woo.set_product_status(3, "trash")
    assert [v.sku for page in client.catalog() for v in page] == ["LIVE"]
    variants = [CatalogVariant("s", str(p), str(p), "X", "", "", VariantStatus.ACTIVE, NOW) for p in (1, 2, 3)]
    assert client.variants_present(variants) == frozenset({"1"})


# --- BigCommerce -----------------------------------------------------------------------------------


def _bc(started: list[Any], **options: Any) -> tuple[FakeBigCommerce, BigCommerceStore]:
    bc = start_fake(started, FakeBigCommerce("hashridge", "bc_ridge", **options))
    bc.add_variant(501, 5011, "S-1", "Tarp", "42.0000")
    return bc, BigCommerceStore(bc.base_url, "bc_ridge")


def test_bigcommerce_order_without_a_postcode_is_accepted_and_found_by_external_order_id(started: list[Any]) -> None:
    bc, client = _bc(started)
    order = _order(country="ie", postcode=None)
    created = client.create_order(order, _match(order, "501", "5011"), "ordersync-acme--ridge-1001").order_id
    for number in range(2000, 3100):  # 1,100 newer orders: more than a newest-first scan reads
        bc.orders[number] = bigcommerce_order(number)
    assert client.find_posted_order("ordersync-acme--ridge-1001", NOW) == created
    assert client.find_posted_order("ordersync-acme--ridge-1002", NOW) is None


def test_bigcommerce_line_items_past_the_first_page_are_read(started: list[Any]) -> None:
    bc, client = _bc(started)
    products = [
        {
            "id": i,
            "product_id": 501,
            "variant_id": 5011,
            "sku": f"S-{i}",
            "name": "Tarp",
            "quantity": 1,
            "price_inc_tax": "1.0000",
            "type": "physical",
        }
        for i in range(1, 261)
    ]
    address = {
        "first_name": "A",
        "last_name": "B",
        "street_1": "1 Road",
        "city": "Austin",
        "zip": "78751",
        "country_iso2": "US",
    }
    bc.add_order(bigcommerce_order(42), products, [address])
    (page, _), *_ = list(client.orders_updated_since(NOW - timedelta(hours=1)))
    assert len(normalize(Platform.BIGCOMMERCE, page[0]).lines) == 260


def test_bigcommerce_429_with_x_retry_after_is_waited_out(started: list[Any]) -> None:
    bc, client = _bc(started)
    bc.server.faults.add(Fault(status=429, headers={"X-Retry-After": "1"}))
    order = _order()
    assert client.create_order(order, _match(order, "501", "5011"), "ordersync-k")  # waited, then created
    assert len(bc.created_orders()) == 1


def test_bigcommerce_client_paces_itself_from_the_rate_limit_headers(started: list[Any]) -> None:
    bc, client = _bc(started, quota=3, window_seconds=1.0)
    for number in range(1, 4):
        bc.add_order(bigcommerce_order(number), [], [])
    for _ in range(3):
        list(client.orders_updated_since(NOW - timedelta(hours=1)))
    assert bc.throttled == 0


# --- waits bounded by the invocation ------------------------------------------------------------


def test_a_retry_after_longer_than_the_invocation_is_a_throttle_at_once_not_a_hang(started: list[Any]) -> None:
    """urllib3 used to sleep a whole Retry-After (300 s, three times) before anything saw it."""
    woo, client = _woo(started)
    woo.server.faults.add(Fault(status=503, retry_after="300"), Fault(status=429, retry_after="300"))
    for _ in range(2):
        began = time.monotonic()
        with invocation_ends_in(30), pytest.raises(StoreThrottled) as refused:
            list(client.orders_updated_since(NOW - timedelta(hours=1)))
        assert time.monotonic() - began < 5
        assert refused.value.retry_after == 300
        assert refused.value.delay_seconds() == 300  # the order or the pull comes back then, delayed


def test_a_store_that_failed_just_after_a_good_answer_is_asked_again_soon_one_that_never_answered_later(
    started: list[Any],
) -> None:
    """How long the work waits grows with how long the store has been failing — counted from its last
    good answer where that is later than the work's first failure: a store failing one call in three
    has bad moments, not an outage, and an order held back by it never waits 15 minutes for it."""
    woo, client = _woo(started)
    woo.add_order(woocommerce_order(1, [("S", "Thing", 1, "1.00", 1, 0)], WOO_ADDRESS, modified=NOW))
    woo.server.faults.add(Fault(status=503))
    with pytest.raises(StoreUnavailable) as never:  # a write (never retried in place) before any good answer
        client.add_note("1", "a note")
    assert never.value.answered_ago is None and never.value.delay_seconds(600) == 600  # as long as it has failed
    list(client.orders_updated_since(NOW - timedelta(hours=1)))  # the store answers well
    woo.server.faults.add(Fault(status=503))
    with pytest.raises(StoreUnavailable) as moment:
        client.add_note("1", "a note")
    assert moment.value.answered_ago is not None and moment.value.delay_seconds(600) == 5  # a bad moment


def test_a_read_that_fails_once_is_asked_again_on_its_own(started: list[Any]) -> None:
    woo, client = _woo(started)
    woo.add_order(woocommerce_order(1, [("S", "Thing", 1, "1.00", 1, 0)], WOO_ADDRESS, modified=NOW))
    woo.server.faults.add(Fault(status=500), Fault(status=503), Fault(status=502))
    with invocation_ends_in(30):
        ((page, _),) = list(client.orders_updated_since(NOW - timedelta(hours=1)))
    assert [order["id"] for order in page] == [1]
    assert woo.server.faults.pending == []


def test_a_failing_read_is_not_retried_past_the_invocation_s_time(started: list[Any]) -> None:
    woo, client = _woo(started)
    woo.server.faults.add(Fault(status=500), Fault(status=500))
    # time for the read, none for a backoff and another: the store's answer goes up as it is
    with invocation_ends_in(RESERVE_SECONDS + SHORTEST_REQUEST + 0.2), pytest.raises(StoreUnavailable, match="500"):
        list(client.orders_updated_since(NOW - timedelta(hours=1)))
    assert len(woo.server.faults.pending) == 1


def test_bigcommerce_is_waited_the_longer_of_its_two_headers(started: list[Any]) -> None:
    bc, client = _bc(started)
    bc.server.faults.add(Fault(status=429, headers={"X-Retry-After": "1", "X-Rate-Limit-Time-Reset-Ms": "120000"}))
    with invocation_ends_in(30), pytest.raises(StoreThrottled) as refused:
        list(client.orders_updated_since(NOW - timedelta(hours=1)))
    assert refused.value.retry_after == 120


# --- onboarding's WooCommerce probe ---------------------------------------------------------------


def test_woocommerce_access_is_read_from_its_codes_and_statuses_never_from_its_english(started: list[Any]) -> None:
    german = start_fake(started, FakeWooCommerce("kaufhaus", "ck_k", "cs_k", permissions="read", locale="de_DE"))
    access = WooCommerceStore(german.base_url, "ck_k", "cs_k").check_access()
    assert access.granted == frozenset({"read", "manage_woocommerce"})  # not "the key is refused"
    assert access.name == "kaufhaus"  # the site's title (WordPress's REST index), not "127.0.0.1"
    with pytest.raises(StoreCredentialsError):  # a key the store doesn't know: both probes refused
        WooCommerceStore(german.base_url, "ck_wrong", "cs_wrong").check_access()
    # the key's user is no shop manager: it authenticates, and every controller answers 403
    customer = start_fake(started, FakeWooCommerce("corner", "ck_c", "cs_c", user_role="customer"))
    assert WooCommerceStore(customer.base_url, "ck_c", "cs_c").check_access().granted == frozenset({"write"})
    # a wrong base URL: the site's HTML 404, not a permission
    with pytest.raises(StoreRejected, match="check the store's URL"):
        WooCommerceStore(customer.base_url + "/shop", "ck_c", "cs_c").check_access()
