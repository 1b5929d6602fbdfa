"""BigCommerce both ways over its V2 API: pulled as a buyer (paged until 204, sub-resources),
posted as a seller when automated posting is on, and back to the manual flow when a post fails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ordersync.aws.orders import DynamoOrders
from ordersync.local.fakes.bigcommerce import FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.server import Fault
from ordersync.local.fakes.shopify import order_node
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import OrderStatus
from ordersync.platforms.bigcommerce import BigCommerceStore
from ordersync.records import OrderRecord

from .marketplace import ADDRESS, BC_ADDRESS, run_hour


def _bigcommerce_pair(world: World, auto_post: bool = True) -> tuple[FakeBigCommerce, FakeBigCommerce]:
    buyer = world.add_bigcommerce("delta", "Delta Goods")
    seller = world.add_bigcommerce("ridge", "Ridge Outdoor", auto_post=auto_post)
    seller.add_variant(501, 5011, "RG-TARP-3M", "Tarp 3m", "42.0000")
    seller.add_variant(502, 5021, "RG-CORD", "Paracord", "9.5000")
    world.add_catalog(
        "ridge", [("501", "5011", "RG-TARP-3M", "Tarp", "3m"), ("502", "5021", "RG-CORD", "Paracord", "")]
    )
    world.connect("delta", "ridge")
    return buyer, seller


def _buyer_order(buyer: FakeBigCommerce, order_id: int, skus: list[str], address: dict | None = BC_ADDRESS) -> None:
    products = [
        {
            "id": i,
            "product_id": 9,
            "variant_id": 9,
            "sku": sku,
            "name": sku,
            "quantity": 2,
            "price_inc_tax": "10.0000",
            "type": "physical",
        }
        for i, sku in enumerate(skus, start=1)
    ]
    buyer.add_order(bigcommerce_order(order_id), products, [address] if address else [])


def _record(stack: LocalStack, key: str) -> OrderRecord:
    record = DynamoOrders(stack.output("OrdersTableName")).get(key)
    assert record is not None, key
    return record


def test_bigcommerce_buyer_to_bigcommerce_seller_with_automated_posting(stack: LocalStack, world: World) -> None:
    buyer, seller = _bigcommerce_pair(world)
    _buyer_order(buyer, 700, ["RG-TARP-3M", "RG-CORD"])
    run_hour(stack)
    record = _record(stack, "delta--ridge#700")
    assert record.status is OrderStatus.SYNCED
    (posted,) = seller.created_orders()
    assert record.seller_order_id == str(posted["id"]) and posted["staff_notes"] == "ordersync-delta--ridge-700"
    products = seller.order_products[posted["id"]]
    assert [(p["product_id"], p["variant_id"], p["quantity"]) for p in products] == [(501, 5011, 2), (502, 5021, 2)]
    assert seller.order_addresses[posted["id"]][0]["street_1"] == "12 Harbour Rd"
    run_hour(stack)
    assert len(seller.created_orders()) == 1


def test_pull_pages_until_an_empty_page_and_waits_out_the_quota(stack: LocalStack, world: World) -> None:
    buyer, seller = _bigcommerce_pair(world)
    for order_id in range(800, 860):  # 60 orders: two pages of 50, then 204
        _buyer_order(buyer, order_id, ["RG-CORD"])
    buyer.server.faults.add(QUOTA_SPENT)
    run_hour(stack)
    records = [r for r in DynamoOrders(stack.output("OrdersTableName")).all() if r.connection_id == "delta--ridge"]
    assert len(records) == 60 and {r.status for r in records} == {OrderStatus.SYNCED}
    assert len(seller.created_orders()) == 60


QUOTA_SPENT = Fault(status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "200", "X-Rate-Limit-Requests-Left": "0"})


def test_a_429_outlasting_the_retries_in_place_is_waited_out_until_the_quota_resets(world: World) -> None:
    """Four 429s: past urllib3's three retries in place, so the quota wait itself must get through."""
    buyer = world.add_bigcommerce("delta", "Delta Goods")
    _buyer_order(buyer, 900, ["RG-CORD"])
    buyer.server.faults.add(*[QUOTA_SPENT] * 4)
    client = BigCommerceStore(buyer.base_url, buyer.access_token)
    ((page, _),) = list(client.orders_updated_since(datetime(2026, 1, 1, tzinfo=UTC)))  # waits; never raises
    assert [order["id"] for order in page] == [900] and buyer.server.faults.pending == []


def test_no_shipping_address_on_a_bigcommerce_order(stack: LocalStack, world: World) -> None:
    buyer, seller = _bigcommerce_pair(world)
    _buyer_order(buyer, 701, ["RG-CORD"], address=None)
    run_hour(stack)
    assert _record(stack, "delta--ridge#701").status is OrderStatus.DISREGARDED and seller.created_orders() == []


def test_a_permanently_failing_automated_post_falls_back_to_the_manual_flow(stack: LocalStack, world: World) -> None:
    buyer, seller = _bigcommerce_pair(world)
    seller.variants.pop((502, 5021))  # the catalog still lists it; the store refuses the order
    _buyer_order(buyer, 702, ["RG-CORD"])
    run_hour(stack)
    record = _record(stack, "delta--ridge#702")
    assert (record.status, record.reason) == (OrderStatus.MANUAL_POSTING_PENDING, "UNSUPPORTED_PLATFORM")
    fallback = [e.detail for e in record.timeline if "automated posting to BigCommerce failed" in e.detail]
    assert len(fallback) == 1 and "answered 400" in fallback[0]
    assert seller.created_orders() == []


def test_a_bigcommerce_create_that_times_out_is_not_posted_twice(stack: LocalStack, world: World) -> None:
    buyer, seller = _bigcommerce_pair(world)
    _buyer_order(buyer, 703, ["RG-CORD"])
    # the first attempt creates without looking; the store saves the order, then stalls past the read timeout
    seller.server.faults.add(Fault(after_write=True, stall_seconds=3))
    run_hour(stack)
    # the retry waits out BigCommerce's look-up lag in OrdersQueue (a delayed message); keep
    # polling while it does, as the event source mapping would (one CI run saw the hour's drain
    # end with it still waiting)
    deadline = time.monotonic() + 60
    while (record := _record(stack, "delta--ridge#703")).status is OrderStatus.RECEIVED:
        assert time.monotonic() < deadline, record.timeline
        time.sleep(1)
        stack.runner.drain()
    assert record.status is OrderStatus.SYNCED, record.timeline
    assert len(seller.created_orders()) == 1


@pytest.fixture
def auto_post_stack() -> Iterator[LocalStack]:
    with LocalStack.start({"LogLevel": "ERROR", "BigCommerceAutoPost": "true"}) as local:
        yield local


def test_the_stack_wide_switch_posts_every_bigcommerce_seller(auto_post_stack: LocalStack) -> None:
    world = World(auto_post_stack)
    try:
        shop = world.add_shopify("canyon", "Canyon Trading")
        seller = world.add_bigcommerce("summit", "Summit Supply", auto_post=False)
        seller.add_variant(301, 3011, "SU-ROPE-60", "Climbing Rope 60m", "210.0000")
        world.add_catalog("summit", [("301", "3011", "SU-ROPE-60", "Climbing Rope", "60 m")])
        world.connect("canyon", "summit")
        shop.add_order(order_node(3002, "#3002", [("SU-ROPE-60", "Rope", 1, "210.00")], ADDRESS))
        run_hour(auto_post_stack)
        assert _record(auto_post_stack, "canyon--summit#3002").status is OrderStatus.SYNCED
        assert len(seller.created_orders()) == 1
    finally:
        world.stop()
