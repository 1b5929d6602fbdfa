"""Orders flow for real: pulled over HTTP from a buyer's store, matched in DynamoDB, posted over
HTTP to the seller's store, recorded SYNCED - once, however often the hour comes round."""

from __future__ import annotations

import json
from pathlib import Path

from ordersync.aws.orders import DynamoOrders
from ordersync.local.fakes.shopify import order_node
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import OrderStatus

from .marketplace import ADDRESS, WOO_ADDRESS, run_hour, shopify_to_woocommerce, woocommerce_to_shopify


def test_shopify_buyer_order_is_posted_to_a_woocommerce_seller(stack: LocalStack, world: World) -> None:
    buyer, seller = shopify_to_woocommerce(world)
    buyer.add_order(
        order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 1, "89.50"), ("NW-SOCK-L", "Socks", 2, "19.00")], ADDRESS)
    )
    run_hour(stack)

    record = DynamoOrders(stack.output("OrdersTableName")).get("acme--northwind#1001")
    assert record is not None and record.status is OrderStatus.SYNCED
    (posted,) = seller.created_orders()
    assert record.seller_order_id == str(posted["id"])
    assert [(li["product_id"], li["variation_id"], li["quantity"]) for li in posted["line_items"]] == [
        (102, 0, 1),
        (103, 1032, 2),
    ]
    assert posted["shipping"]["address_1"] == "410 Terry Ave N" and posted["shipping"]["postcode"] == "98109"
    assert posted["meta_data"][0]["value"] == "ordersync-acme--northwind-1001"
    assert [entry.status for entry in record.timeline] == [OrderStatus.RECEIVED, OrderStatus.SYNCED]

    run_hour(stack)  # the next hour re-reads the order (overlap): still exactly one copy
    run_hour(stack)
    assert len(seller.created_orders()) == 1


def test_woocommerce_buyer_order_is_posted_to_a_shopify_seller(stack: LocalStack, world: World) -> None:
    buyer, seller = woocommerce_to_shopify(world)
    buyer.add_order(
        woocommerce_order(
            2001,
            [("PK-JACKET-M", "Storm Jacket", 1, "180.00", 55, 0), ("PK-PACK-30", "Daypack", 3, "95.00", 56, 0)],
            WOO_ADDRESS,
        )
    )
    run_hour(stack)

    record = DynamoOrders(stack.output("OrdersTableName")).get("brightside--peak#2001")
    assert record is not None and record.status is OrderStatus.SYNCED
    (posted,) = seller.created_orders()
    assert record.seller_order_id == posted["legacyResourceId"]
    assert [(li["sku"], li["quantity"]) for li in posted["lineItems"]["nodes"]] == [
        ("PK-JACKET-M", 1),
        ("PK-PACK-30", 3),
    ]
    assert posted["shippingAddress"]["city"] == "São Paulo" and posted["shippingAddress"]["countryCodeV2"] == "BR"
    assert posted["tags"] == ["ordersync-brightside--peak-2001"]
    run_hour(stack)
    assert len(seller.created_orders()) == 1


def test_the_sample_sqs_event_is_handled_as_lambda_would(stack: LocalStack, world: World) -> None:
    """events/sqs_orders_batch.json (also for `sam local invoke`): a good order and a malformed record."""
    _, seller = shopify_to_woocommerce(world)
    event = json.loads((Path(__file__).parents[2] / "events" / "sqs_orders_batch.json").read_text())
    assert stack.runner.invoke("ProcessOrderFunction", event) == {"batchItemFailures": []}
    assert len(seller.created_orders()) == 1
    orders = {r.order_key: r for r in DynamoOrders(stack.output("OrdersTableName")).all()}
    assert orders["acme--northwind#1001"].status is OrderStatus.SYNCED
    assert orders["unreadable#2e1424d4-f796-459a-8184-9c92662be6da"].reason == "INVALID_ORDER"


def test_an_unpaid_order_waits_quietly_and_reaches_the_seller_once_paid(stack: LocalStack, world: World) -> None:
    """A redirect gateway's order is `pending` when WooCommerce lists it; a Shopify order can be
    payment-pending. Neither goes to the seller until the retailer is paid."""
    brightside, peak = woocommerce_to_shopify(world)
    acme, northwind = shopify_to_woocommerce(world)
    world.subscribe_seller("peak", "orders@peak.example")
    world.subscribe_seller("northwind", "orders@northwind.example")
    brightside.add_order(
        woocommerce_order(2401, [("PK-PACK-30", "Daypack", 1, "95.00", 56, 0)], WOO_ADDRESS, status="pending")
    )
    acme.add_order(
        order_node(1401, "#1401", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS, financial_status="PENDING")
    )
    run_hour(stack)
    orders = DynamoOrders(stack.output("OrdersTableName"))
    for key in ("brightside--peak#2401", "acme--northwind#1401"):
        record = orders.get(key)
        assert record is not None and (record.status, record.reason) == (OrderStatus.AWAITING_PAYMENT, None), key
    assert peak.created_orders() == [] and northwind.created_orders() == []
    assert world.delivered_emails() == []  # not a failure: nobody is told

    brightside.update_order(2401, status="processing", date_paid_gmt="2026-11-27T10:00:00")
    acme.mark_paid(1401)
    run_hour(stack)
    for key in ("brightside--peak#2401", "acme--northwind#1401"):
        record = orders.get(key)
        assert record is not None and record.status is OrderStatus.SYNCED, key
        assert [e.status for e in record.timeline] == [
            OrderStatus.RECEIVED,
            OrderStatus.AWAITING_PAYMENT,
            OrderStatus.SYNCED,
        ]
    assert len(peak.created_orders()) == 1 and len(northwind.created_orders()) == 1
    assert world.delivered_emails() == []


def test_an_edit_to_a_blocked_order_is_kept_and_the_fix_posts_the_latest_version(
    stack: LocalStack, world: World, cli
) -> None:
    """Reproduced on main: an order fails on SKU_MISMATCH, the buyer changes its address and its
    quantity (1 -> 3), ops add the alias, and the replay posted the old address and one unit."""
    from datetime import UTC, datetime

    from ordersync.models import FailureReason, iso

    buyer, seller = shopify_to_woocommerce(world)
    buyer.add_order(order_node(1301, "#1301", [("NW-STOVE-OLD", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    orders = DynamoOrders(stack.output("OrdersTableName"))
    record = orders.get("acme--northwind#1301")
    assert record is not None and record.reason is FailureReason.SKU_MISMATCH

    node = buyer.orders["gid://shopify/Order/1301"]  # the buyer's edit, in their shop's admin
    node["lineItems"]["nodes"][0]["quantity"] = node["lineItems"]["nodes"][0]["currentQuantity"] = 3
    node["shippingAddress"] = {**node["shippingAddress"], "address1": "1 New Street", "city": "Portland"}
    node["updatedAt"] = iso(datetime.now(UTC))
    run_hour(stack)  # the edit is pulled: the order still fails the same way, and its latest version is kept
    kept = orders.get("acme--northwind#1301")
    assert kept is not None and kept.status is OrderStatus.FAILED
    assert kept.envelope["payload"]["shippingAddress"]["address1"] == "1 New Street"

    code, out = cli("sku", "alias", "add", "northwind", "NW-STOVE-OLD", "NW-STOVE")
    assert code == 0 and "replayed 1" in out
    stack.runner.drain()
    synced = orders.get("acme--northwind#1301")
    assert synced is not None and synced.status is OrderStatus.SYNCED
    (posted,) = seller.created_orders()
    assert posted["shipping"]["address_1"] == "1 New Street" and posted["shipping"]["city"] == "Portland"
    assert [line["quantity"] for line in posted["line_items"]] == [3]


def _two_posted_orders(stack: LocalStack, world: World, shopify_number: int, woo_number: int, packs: int = 1) -> tuple:  # type: ignore[type-arg]
    """Acme (Shopify) -> Northwind (WooCommerce) and Brightside (WooCommerce) -> Peak (Shopify), one
    order each, posted; both sellers' alert emails subscribed. The stores and the sellers' copies."""
    acme, northwind = shopify_to_woocommerce(world)
    brightside, peak = woocommerce_to_shopify(world)
    world.subscribe_seller("northwind", "orders@northwind.example")
    world.subscribe_seller("peak", "orders@peak.example")
    acme.add_order(order_node(shopify_number, f"#{shopify_number}", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    brightside.add_order(woocommerce_order(woo_number, [("PK-PACK-30", "Daypack", packs, "95.00", 56, 0)], WOO_ADDRESS))
    run_hour(stack)
    (woo_copy,) = northwind.created_orders()
    (shop_copy,) = peak.created_orders()
    return acme, northwind, brightside, peak, woo_copy, shop_copy


def test_a_cancellation_after_posting_reaches_the_seller_s_store_or_is_told_too_late(
    stack: LocalStack, world: World
) -> None:
    """Reproduced on main: a buyer's cancellation of a posted order changed nothing and told nobody."""
    from ordersync.models import FailureReason

    acme, northwind, brightside, peak, copy, shipped = _two_posted_orders(stack, world, 1401, 2401)
    peak.fulfil(int(shipped["legacyResourceId"]))  # the Shopify seller ships before the buyer cancels

    acme.cancel_order(1401)
    brightside.update_order(2401, status="cancelled")
    run_hour(stack)  # the pull brings both cancellations
    orders = DynamoOrders(stack.output("OrdersTableName"))
    cancelled = orders.get("acme--northwind#1401")
    assert cancelled is not None and (cancelled.status, cancelled.reason) == (
        OrderStatus.CANCELLED,
        FailureReason.BUYER_CANCELLED,
    )
    assert northwind.orders[copy["id"]]["status"] == "cancelled"  # the seller's copy, in the seller's store
    too_late = orders.get("brightside--peak#2401")
    assert too_late is not None and (too_late.status, too_late.reason) == (
        OrderStatus.SYNCED,
        FailureReason.CANCEL_TOO_LATE,
    )
    assert peak.orders[shipped["id"]]["cancelledAt"] is None  # told, not touched
    subjects = {e["to"][0]: e["subject"] for e in world.delivered_emails()}
    assert (
        subjects["orders@northwind.example"]
        == "Order #1401 from Acme Outfitters was cancelled - don't ship it (cancelled in your store)"
    )
    assert subjects["orders@peak.example"] == "Order #2401 from Brightside Home was cancelled after it shipped"
    told = len(world.delivered_emails())
    run_hour(stack)  # seen again: nothing more, nobody told twice
    assert len(world.delivered_emails()) == told and len(northwind.created_orders()) == 1


def test_a_new_address_and_fewer_units_after_posting_reach_the_seller_s_copy(stack: LocalStack, world: World) -> None:
    """Issue 25.3 on the stack: the buyer changes a posted order; the pull brings each change."""
    from ordersync.models import FailureReason

    acme, northwind, brightside, peak, woo_copy, shop_copy = _two_posted_orders(stack, world, 1501, 2501, packs=2)

    node = acme.orders["gid://shopify/Order/1501"]
    node["shippingAddress"] = {**node["shippingAddress"], "address1": "99 New Rd", "city": "Portland"}
    acme.mark_paid(1501)  # any save of the order: orders/updated, updatedAt moves
    brightside.orders[2501]["line_items"][0]["quantity"] = 1  # the buyer reduced 2 -> 1 in its admin
    brightside.update_order(2501)
    run_hour(stack)
    orders = DynamoOrders(stack.output("OrdersTableName"))
    moved = orders.get("acme--northwind#1501")
    assert moved is not None and (moved.status, moved.reason) == (OrderStatus.SYNCED, FailureReason.ADDRESS_UPDATED)
    assert northwind.orders[woo_copy["id"]]["shipping"]["address_1"] == "99 New Rd"  # in the seller's store
    changed = orders.get("brightside--peak#2501")
    assert changed is not None and changed.reason is FailureReason.LINES_REDUCED and ": 2 -> 1" in changed.detail
    copy_line = peak.orders[shop_copy["id"]]["lineItems"]["nodes"][0]
    assert (copy_line["quantity"], copy_line["currentQuantity"]) == (2, 1)  # Shopify's order edit: 1 left to ship
    assert peak.orders[shop_copy["id"]]["_edit_notified_customer"] is False  # the end customer not emailed
    (told,) = [e for e in world.delivered_emails() if e["to"] == ["orders@peak.example"]]
    assert told["subject"] == "Order #2501 from Brightside Home now has fewer units - reduced in your store"
    emails = len(world.delivered_emails())
    run_hour(stack)  # seen again: nothing more, nobody told twice
    assert len(world.delivered_emails()) == emails
    assert orders.get("acme--northwind#1501").timeline == moved.timeline  # type: ignore[union-attr]
