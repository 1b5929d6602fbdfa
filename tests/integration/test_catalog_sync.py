"""CatalogSyncFunction: sellers' stores -> the catalog table, over HTTP; deleted variants retired;
orders waiting for a SKU that appears are replayed."""

from __future__ import annotations

from ordersync.alerts.messages import message_fields
from ordersync.aws.catalog import DynamoCatalog
from ordersync.aws.messaging import SqsDlqAdmin
from ordersync.aws.orders import DynamoOrders
from ordersync.local.fakes.shopify import order_node
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus

from .marketplace import ADDRESS, run_hour, shopify_to_woocommerce


def _sync(stack: LocalStack) -> dict:
    (result,) = stack.runner.fire_schedules("CatalogSyncFunction")
    return {seller["seller_id"]: seller for seller in result["sellers"]}


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
    results = _sync(stack)
    assert {s: r["variants"] for s, r in results.items()} == {"peak": 300, "northwind": 3, "ridge": 1}
    catalog = DynamoCatalog(stack.output("CatalogTableName"))
    assert set(catalog.variants_of("northwind")) == {"NW-STOVE", "NW-SOCK-M", "NW-SOCK-L"}
    (sock,) = catalog.lookup("northwind", ["NW-SOCK-L"]).active_variants("NW-SOCK-L")
    assert (sock.product_id, sock.variant_id, sock.variant_title) == ("103", "1032", "L")
    assert len(catalog.variants_of("peak")) == 300
    assert _sync(stack)["peak"]["changed_skus"] == 0  # nothing changed: nothing written
    assert catalog.variants_of("acme") == {}  # a buyer's own products are never synced


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
    buyer.add_order(order_node(1501, "#1501", [("NW-KETTLE", "Kettle", 1, "25.00")], ADDRESS))
    buyer.add_order(order_node(1502, "#1502", [("NW-GRILL", "Grill", 1, "80.00")], ADDRESS))
    run_hour(stack)
    orders = DynamoOrders(stack.output("OrdersTableName"))
    assert orders.get("acme--northwind#1501").reason is FailureReason.SKU_MISMATCH  # type: ignore[union-attr]

    seller.add_product(110, "NW-KETTLE", "Kettle", "25.00")  # the seller adds the product
    assert _sync(stack)["northwind"]["replayed"] == ["acme--northwind#1501"]
    stack.runner.drain()
    record = orders.get("acme--northwind#1501")
    assert record is not None and record.status is OrderStatus.SYNCED
    assert len(seller.created_orders()) == 1
    # the order the new SKU doesn't unblock stays in the DLQ for ops, with its reason
    left = SqsDlqAdmin(stack.output("OrdersDLQUrl"), stack.output("OrdersQueueUrl")).messages()
    assert [message_fields(m)["order_key"] for m in left] == ["acme--northwind#1502"]
