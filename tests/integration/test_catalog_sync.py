"""The catalog sync on the local stack: CatalogSyncFunction asks one run per seller on
CatalogSyncQueue, SyncSellerCatalogFunction reads the seller's store over HTTP into the catalog
table (changes only, for a big catalog read whole within the day), carries a long run on across
invocations, retires deleted variants and replays the orders a new SKU unblocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordersync.alerts.messages import message_fields
from ordersync.aws.catalog import DynamoCatalog
from ordersync.aws.messaging import SqsDlqAdmin
from ordersync.aws.orders import DynamoOrders
from ordersync.aws.stores import DynamoStores
from ordersync.domain import catalog as catalog_rules
from ordersync.local.fakes.shopify import order_node
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus, StoreRecord, iso
from ordersync.services import catalog_runs

from .marketplace import ADDRESS, listed, run_hour, shopify_to_woocommerce


def _sync(stack: LocalStack) -> dict[str, bool]:
    """The hour's catalog sync, to its end: {seller: whether the run was a full read}."""
    (asked,) = stack.runner.fire_schedules("CatalogSyncFunction")
    stack.runner.drain()
    return {seller["seller_id"]: seller["full"] for seller in asked["sellers"]}


def _record(stack: LocalStack, store_id: str) -> StoreRecord:
    record = DynamoStores(stack.output("StoresTableName")).get(store_id)
    assert record is not None
    return record


def _runs(stack: LocalStack) -> int:
    return sum(function == "SyncSellerCatalogFunction" for function, _, _ in stack.runner.invocations)


def test_every_platform_s_catalog_is_synced(stack: LocalStack, world: World) -> None:
    shopify_seller = world.add_shopify("peak", "Peak Gear")
    for i in range(300):  # two pages of 250
        shopify_seller.add_variant(7000 + i, f"PK-{i:03d}", 700 + i // 3, f"Product {i // 3}", f"Size {i % 3}", "10.00")
    woo = world.add_woocommerce("northwind", "Northwind Supply")
    woo.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    woo.add_product(103, "NW-SOCK", "Merino Socks", "19.00", 1031, "NW-SOCK-M", "M")
    woo.add_product(103, "NW-SOCK", "Merino Socks", "19.00", 1032, "NW-SOCK-L", "L")
    bc = world.add_bigcommerce("ridge", "Ridge Outdoor")
    bc.add_variant(501, 5011, "RG-TARP-3M", "Tarp", "42.0000")
    buyer = world.add_shopify("acme", "Acme")
    buyer.add_variant(9001, "AC-OWN", 900, "Acme's own product", "One size", "5.00")
    for seller in ("peak", "northwind", "ridge"):
        world.connect("acme", seller)
    assert _sync(stack) == {"peak": True, "northwind": True, "ridge": True}  # one run per seller, all never read
    assert _runs(stack) == 4  # and one of the buyer's catalog, into its listings
    assert {s: _record(stack, s).catalog_variants for s in ("peak", "northwind", "ridge")} == {
        "peak": 300,
        "northwind": 3,
        "ridge": 1,
    }
    catalog = DynamoCatalog(stack.output("CatalogTableName"))
    assert set(catalog.variants_of("northwind")) == {"NW-STOVE", "NW-SOCK-M", "NW-SOCK-L"}
    (sock,) = catalog.lookup("northwind", ["NW-SOCK-L"]).active_variants("NW-SOCK-L")
    assert (sock.product_id, sock.variant_id, sock.variant_title) == ("103", "1032", "L")
    assert len(catalog.variants_of("peak")) == 300
    assert catalog.variants_of("acme") == {}  # a buyer's own products are never synced
    assert _record(stack, "peak").catalog_running_since is None  # the run got to its end
    assert _record(stack, "acme").catalog_synced_at is None


def test_a_variant_gone_from_the_store_is_retired(stack: LocalStack, world: World) -> None:
    _, seller = shopify_to_woocommerce(world)
    _sync(stack)
    seller.delete_product(105)  # one of the two NW-LAMP products
    _sync(stack)
    catalog = DynamoCatalog(stack.output("CatalogTableName"))
    statuses = {v.variant_id: v.status.value for v in catalog.variants_of("northwind")["NW-LAMP"]}
    assert statuses == {"104": "active", "105": "deleted"}


def test_orders_waiting_for_a_sku_that_appears_are_replayed(stack: LocalStack, world: World) -> None:
    buyer, seller = shopify_to_woocommerce(world)
    listed(stack, "acme", "northwind", "NW-KETTLE", "NW-GRILL")  # the retailer lists them before Northwind does
    buyer.add_order(order_node(1501, "#1501", [("NW-KETTLE", "Kettle", 1, "25.00")], ADDRESS))
    buyer.add_order(order_node(1502, "#1502", [("NW-GRILL", "Grill", 1, "80.00")], ADDRESS))
    run_hour(stack)
    orders = DynamoOrders(stack.output("OrdersTableName"))
    assert orders.get("acme--northwind#1501").reason is FailureReason.SKU_MISMATCH  # type: ignore[union-attr]

    seller.add_product(110, "NW-KETTLE", "Kettle", "25.00")  # the seller adds the product
    _sync(stack)  # the catalog run replays the order, and the drain posts it
    record = orders.get("acme--northwind#1501")
    assert record is not None and record.status is OrderStatus.SYNCED
    assert len(seller.created_orders()) == 1
    # the order the new SKU doesn't unblock stays in the DLQ for ops, with its reason
    left = SqsDlqAdmin(stack.output("OrdersDLQUrl"), stack.output("OrdersQueueUrl")).messages()
    assert [message_fields(m)["order_key"] for m in left] == ["acme--northwind#1502"]


@pytest.fixture
def big_catalogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every catalog counts as big: read for changes within the day, whole once a day."""
    monkeypatch.setattr(catalog_rules, "SMALL_CATALOG_VARIANTS", 1)


def _seller_with_variants(world: World, count: int) -> Any:
    """A Shopify seller whose variants were last edited yesterday."""
    seller = world.add_shopify("peak", "Peak Gear")
    yesterday = iso(datetime.now(UTC) - timedelta(days=1))
    for i in range(count):
        seller.add_variant(7000 + i, f"PK-{i:03d}", 700 + i, f"Product {i}", "Default Title", "10.00")
    for variant in seller.variants.values():
        variant["updatedAt"] = yesterday
    world.add_woocommerce("brightside", "Brightside Home")
    world.connect("brightside", "peak")
    return seller


def test_a_big_catalog_is_read_for_what_changed_and_a_moved_sku_follows(
    stack: LocalStack, world: World, big_catalogs: None
) -> None:
    seller = _seller_with_variants(world, 300)
    assert _sync(stack) == {"peak": True}
    first = _record(stack, "peak")
    seller.set_variant_sku(7005, "PK-005-V2")  # the seller renames one SKU
    requests = seller.server.requests
    assert _sync(stack) == {"peak": False}  # within the day: only what changed
    catalog = DynamoCatalog(stack.output("CatalogTableName"))
    (renamed,) = catalog.lookup("peak", ["PK-005-V2"]).active_variants("PK-005-V2")
    assert renamed.variant_id == "7005"
    assert catalog.lookup("peak", ["PK-005"]).active_variants("PK-005") == ()  # the old SKU no longer matches
    assert seller.server.requests - requests == 1  # one page of changes, not two pages of everything
    second = _record(stack, "peak")
    assert second.catalog_full_at == first.catalog_full_at and second.catalog_variants == 300
    assert second.catalog_synced_at is not None and first.catalog_synced_at is not None
    assert second.catalog_synced_at > first.catalog_synced_at


@pytest.mark.long(seconds=13)
def test_a_long_read_is_carried_on_across_invocations_and_retires_only_at_its_end(
    stack: LocalStack, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = _seller_with_variants(world, 600)  # three pages of 250
    _sync(stack)
    seller.delete_variant(7599)  # on the last page
    monkeypatch.setattr(catalog_rules, "FULL_RECONCILE_EVERY", timedelta(0))  # the day's full read is due
    monkeypatch.setattr(catalog_runs, "MAX_PAGES_PER_INVOCATION", 1)
    runs = _runs(stack)
    (asked,) = stack.runner.fire_schedules("CatalogSyncFunction")
    assert asked["sellers"] == [{"seller_id": "peak", "full": True}]
    assert asked["buyers"] == [{"buyer_id": "brightside", "full": True}]  # its catalog, into its listings
    source = next(s for s in stack.deployment.queue_sources if s.function == "SyncSellerCatalogFunction")
    for _ in range(2):  # the seller's run and the buyer's, in whichever order SQS hands them
        if _record(stack, "peak").catalog_running_since is None:
            stack.runner.poll_once(source)
    assert _record(stack, "peak").catalog_running_since is not None  # a page read, the rest continued
    (again,) = stack.runner.fire_schedules("CatalogSyncFunction")
    assert again["sellers"] == []  # not started twice
    stack.runner.drain()
    buyer_runs = len(asked["buyers"]) + len(again["buyers"])  # each one page (the buyer lists nothing)
    assert _runs(stack) - runs - buyer_runs == 3  # the run and two continuations
    catalog = DynamoCatalog(stack.output("CatalogTableName"))
    variants = catalog.variants_of("peak")
    assert [v.status.value for v in variants["PK-599"]] == ["deleted"]
    assert sum(v.active for group in variants.values() for v in group) == 599
    assert _record(stack, "peak").catalog_variants == 599


def test_ops_read_a_catalog_whole_on_demand(
    stack: LocalStack, world: World, cli: Callable[..., tuple[int, str]], big_catalogs: None
) -> None:
    """A WooCommerce variation edited alone doesn't move its product's date_modified: the hour's
    read of changes can't see it, a full read does (`catalog sync --full`, or the day's)."""
    _, seller = shopify_to_woocommerce(world)
    for product in seller.products.values():  # last edited yesterday
        product["date_modified_gmt"] = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    _sync(stack)
    seller.set_sku(103, "NW-SOCK-LG", variation_id=1032)
    seller.set_sku(102, "NW-STOVE-2")  # a simple product's own edit moves its date_modified
    assert _sync(stack) == {"northwind": False}
    catalog = DynamoCatalog(stack.output("CatalogTableName"))
    assert [v.variant_id for v in catalog.lookup("northwind", ["NW-STOVE-2"]).active_variants("NW-STOVE-2")] == ["102"]
    assert catalog.lookup("northwind", ["NW-SOCK-LG"]).active_variants("NW-SOCK-LG") == ()
    code, out = cli("catalog", "sync", "northwind", "--full")
    assert code == 0, out
    assert out.splitlines() == [
        "northwind: read the whole catalog: 4 variant(s)",
        "  1 SKU(s) changed, 1 variant(s) retired",
        "  0 order(s) replayed",
    ]
    (sock,) = catalog.lookup("northwind", ["NW-SOCK-LG"]).active_variants("NW-SOCK-LG")
    assert sock.variant_id == "1032"
    assert catalog.lookup("northwind", ["NW-SOCK-L"]).active_variants("NW-SOCK-L") == ()
    assert cli("catalog", "sync", "nowhere")[1].strip() == "ordersync: no store 'nowhere' (ordersync store list)"
