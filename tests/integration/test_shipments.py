"""The seller ships, and the retailer's store knows: each parcel written into the buyer's store as
that platform's shipment, exactly once, on the real stack (the sweep at :40, ShipmentsQueue drained
by SyncShipmentsFunction) against the fake stores over HTTP."""

from __future__ import annotations

import json

import boto3
import requests

from ordersync.aws.orders import DynamoOrders
from ordersync.local.fakes.bigcommerce import bigcommerce_order
from ordersync.local.fakes.server import Fault
from ordersync.local.fakes.shopify import gid, order_node
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus

from .marketplace import ADDRESS, WOO_ADDRESS, run_hour, shopify_to_woocommerce, woocommerce_to_shopify


def _record(stack: LocalStack, key: str):  # type: ignore[no-untyped-def]
    record = DynamoOrders(stack.output("OrdersTableName")).get(key)
    assert record is not None, key
    return record


def sweep(stack: LocalStack) -> None:
    """The :40 sweep: each seller store's changed orders looked through, every check drained."""
    stack.runner.fire_schedules("SweepShipmentsFunction")
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")


def _fulfilments(shop, order_id: int) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(shop.orders[gid("Order", order_id)].get("fulfillments") or [])


def test_a_parcel_the_buyer_s_shop_holds_back_waits_and_goes_in_once_the_hold_is_released(
    stack: LocalStack, world: World
) -> None:
    """The retailer put the order's fulfilment on hold: the parcel is PARCEL_WAITING (the shop's
    reason named, the seller told there's nothing to do), its check comes back by itself — not in
    ShipmentsDLQ for ops to redrive — and once the hold is released the parcel goes in, once."""
    buyer, seller = shopify_to_woocommerce(world)
    world.subscribe_seller("northwind", "orders@northwind.example")
    buyer.add_order(order_node(1040, "#1040", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    (copy,) = seller.created_orders()
    buyer.hold_fulfillment(1040, "INCORRECT_ADDRESS", "customer to confirm the flat number")
    seller.ship(copy["id"], tracking=("UPS", "1Z999AA10123456784", None))
    stack.runner.fire_schedules("SweepShipmentsFunction")
    (shipments,) = [s for s in stack.deployment.queue_sources if s.function == "SyncShipmentsFunction"]
    while _record(stack, "acme--northwind#1040").parcels == [] and stack.runner.poll_once(shipments):
        pass  # the sweep, then the order's check
    held = _record(stack, "acme--northwind#1040")
    assert held.parcels[0].reason is FailureReason.PARCEL_WAITING
    assert "on hold in the buyer's shop (INCORRECT_ADDRESS (customer to confirm the flat number))" in held.detail
    sqs = boto3.client("sqs")
    dlq = stack.output("ShipmentsDLQUrl")
    assert (
        sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    )  # not for ops: it comes back by itself
    stack.runner.poll_once(shipments)  # checked again, still held: nothing new, nothing told twice
    assert _fulfilments(buyer, 1040) == []
    buyer.hold_fulfillment(1040, None)  # the retailer confirmed the address
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")
    (parcel,) = _fulfilments(buyer, 1040)
    assert parcel["_tracking"][0]["number"] == "1Z999AA10123456784"
    written = _record(stack, "acme--northwind#1040").parcels[0]
    assert written.in_buyer_store_at is not None and written.reason is None
    (told,) = [e for e in world.delivered_emails() if "waits for the retailer" in e["subject"]]
    assert "nothing to do" in told["body"]


def test_a_woocommerce_sellers_two_parcels_reach_the_shopify_buyer_once_each_with_tracking(
    stack: LocalStack, world: World, cli
) -> None:
    buyer, seller = shopify_to_woocommerce(world)
    seller.fulfilments = True  # the seller's store has core Order Fulfillments on
    buyer.add_order(
        order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 2, "89.50"), ("NW-LAMP", "Lamp", 1, "34.00")], ADDRESS)
    )
    world.add_catalog("northwind", [("104", "104", "NW-LAMP", "Headlamp", "")])
    seller.delete_product(105)  # one headlamp only: the order posts
    run_hour(stack)
    record = _record(stack, "acme--northwind#1001")
    assert record.status is OrderStatus.SYNCED, record.detail
    (copy,) = seller.created_orders()
    stove, lamp = copy["line_items"]

    seller.ship(copy["id"], {stove["id"]: 1}, ("UPS", "1Z999AA10123456784", None))  # one stove first
    sweep(stack)
    (first,) = _fulfilments(buyer, 1001)
    assert first["_tracking"] == [{"company": "UPS", "number": "1Z999AA10123456784", "url": None}]
    assert [(line["lineItem"]["sku"], line["quantity"]) for line in first["_lines"]] == [("NW-STOVE", 1)]
    assert buyer.notified_fulfilments(1001) == 1  # the buyer's own shipping confirmation, once
    record = _record(stack, "acme--northwind#1001")
    assert record.shipping == "partly shipped"
    assert record.parcels[0].tracking_number == "1Z999AA10123456784" and record.parcels[0].in_buyer_store_at
    code, shown = cli("order", "show", "1001")
    assert code == 0 and "status SYNCED, partly shipped" in shown
    assert "northwind:fulfillment-" in shown and "UPS 1Z999AA10123456784  [1 x line 100101]" in shown
    assert "in the buyer's store at" in shown

    seller.ship(
        copy["id"], {stove["id"]: 1, lamp["id"]: 1}, ("Royal Mail", "RM123456785GB", "https://track.example/RM1")
    )
    sweep(stack)
    sweep(stack)  # the next hour's sweep (and the order touched again): nothing written twice
    first, second = _fulfilments(buyer, 1001)
    assert second["_tracking"][0]["company"] == "Royal Mail" and second["_tracking"][0]["number"] == "RM123456785GB"
    assert sorted((line["lineItem"]["sku"], line["quantity"]) for line in second["_lines"]) == [
        ("NW-LAMP", 1),
        ("NW-STOVE", 1),
    ]
    assert buyer.orders[gid("Order", 1001)]["displayFulfillmentStatus"] == "FULFILLED"
    assert _record(stack, "acme--northwind#1001").shipping == "shipped"


def test_a_shopify_sellers_parcel_reaches_the_woocommerce_buyer_as_a_note_and_completed(
    stack: LocalStack, world: World
) -> None:
    buyer, seller = woocommerce_to_shopify(world)
    seller.search_lag_seconds = 0  # the sweep comes 20 minutes after the post, long past Shopify's index lag
    buyer.add_order(woocommerce_order(2001, [("PK-JACKET-M", "Storm Jacket", 1, "180.00", 55, 0)], WOO_ADDRESS))
    run_hour(stack)
    assert _record(stack, "brightside--peak#2001").status is OrderStatus.SYNCED
    (copy,) = seller.created_orders()
    seller.fulfil(int(copy["legacyResourceId"]), tracking=("Canada Post", "7023 2109 9999 1234", None))
    sweep(stack)
    sweep(stack)
    announced, note = buyer.notes[2001]
    assert "Canada Post 7023 2109 9999 1234" in note["note"] and note["customer_note"]
    assert "peak" not in note["note"] and "ordersync" not in note["note"]  # nothing of ours for the customer
    assert not announced["customer_note"] and announced["note"].endswith(note["note"])  # ours: private, before it
    assert buyer.orders[2001]["status"] == "completed"
    assert buyer.customer_emails.count((2001, "customer_completed_order")) == 1


def _delta_buys_jackets_from_peak(world: World, jackets: int):  # type: ignore[no-untyped-def]
    """Delta (BigCommerce buyer) -> Peak (Shopify seller), order 4001 of `jackets` storm jackets."""
    buyer = world.add_bigcommerce("delta", "Delta Goods")
    seller = world.add_shopify("peak", "Peak Gear")
    seller.search_lag_seconds = 0  # the sweep comes long after the post: past Shopify's index lag
    seller.add_variant(7001, "PK-JACKET-M", 700, "Storm Jacket", "M", "180.00")
    world.add_catalog("peak", [("700", "7001", "PK-JACKET-M", "Storm Jacket", "M")])
    world.connect("delta", "peak")
    product = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "PK-JACKET-M", "name": "Storm Jacket",
               "quantity": jackets, "price_inc_tax": "180.0000", "type": "physical"}  # fmt: skip
    address = {"first_name": "Ada", "last_name": "L", "street_1": "1 Main St", "city": "Austin", "state": "Texas",
               "zip": "78751", "country": "United States", "country_iso2": "US"}  # fmt: skip
    buyer.add_order(bigcommerce_order(4001), [product], [address])
    return buyer, seller


def test_a_bigcommerce_buyer_gets_the_shipment_and_a_parcel_that_doesnt_fit_is_named(
    stack: LocalStack, world: World, cli
) -> None:
    buyer, seller = _delta_buys_jackets_from_peak(world, 2)
    world.subscribe_seller("peak", "orders@peak.example")
    run_hour(stack)
    assert _record(stack, "delta--peak#4001").status is OrderStatus.SYNCED
    (copy,) = seller.created_orders()
    seller.fulfil(int(copy["legacyResourceId"]), lines={1: 1}, tracking=("FedEx", "123456789012", None))
    sweep(stack)
    (shipment,) = buyer.order_shipments[4001]
    assert (shipment["tracking_number"], shipment["shipping_provider"], shipment["tracking_carrier"]) == (
        "123456789012",
        "fedex",
        "fedex",
    )
    assert shipment["items"] == [{"order_product_id": 1, "product_id": 1, "quantity": 1}]
    assert shipment["order_address_id"] == 1 and "[peak:fulfillment-" in shipment["comments"]
    assert buyer.orders[4001]["status"] == "Partially Shipped"

    # The seller's second parcel claims three jackets where one is left: named, told, kept in the DLQ.
    node = seller.orders[gid("Order", int(copy["legacyResourceId"]))]
    node["lineItems"]["nodes"][0]["quantity"] = 4  # edited by hand in the seller's admin
    seller.fulfil(int(copy["legacyResourceId"]), lines={1: 3}, tracking=("FedEx", "999999999999", None))
    sweep(stack)
    assert len(buyer.order_shipments[4001]) == 1
    record = _record(stack, "delta--peak#4001")
    assert record.reason is FailureReason.PARCEL_DOESNT_FIT and "more than the buyer's order has left" in record.detail
    (dead,) = boto3.client("sqs").receive_message(
        QueueUrl=stack.output("ShipmentsDLQUrl"), MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    assert json.loads(dead["Body"])["reason"] == "PARCEL_DOESNT_FIT"
    (told,) = [e for e in world.delivered_emails() if e["seller_id"] == "peak"]
    assert told["subject"] == "Your parcel for order #4001 from Delta Goods hasn't reached the retailer"
    assert "The parcel 999999999999 (FedEx): 2 unit(s) of variant 7001 more than the buyer's order" in told["body"]

    # ops list and redrive ShipmentsDLQ from the CLI: a parcel's reason names the queue by itself
    code, out = cli("dlq", "list", "--queue", "shipments")
    assert (
        code == 0 and "PARCEL_DOESNT_FIT" in out and "delta--peak#4001" in out and "1 message(s) in ShipmentsDLQ" in out
    )
    code, out = cli("dlq", "redrive", "--reason", "PARCEL_DOESNT_FIT", "--queue", "orders")
    assert code != 0 and "PARCEL_DOESNT_FIT is a reason of shipments" in out
    code, out = cli("dlq", "redrive", "--reason", "PARCEL_DOESNT_FIT")
    assert code == 0 and "moved 1 message(s) back to ShipmentsQueue" in out
    stack.runner.drain()  # checked again: still doesn't fit, kept again with its reason
    assert "1 message(s) in ShipmentsDLQ" in cli("dlq", "list", "--queue", "shipments")[1]


def test_each_seller_platforms_own_webhook_brings_its_parcel_to_the_buyer_without_the_sweep(
    stack: LocalStack, world: World
) -> None:
    """The fast path back: WooCommerce's order.updated (a fulfilment re-saves the order), BigCommerce's
    store/shipment/created, Shopify's fulfillments/create through EventBridge — each a check on
    ShipmentsQueue, drained as its event source mapping runs it; no sweep fires."""
    acme, northwind = shopify_to_woocommerce(world)  # Woo seller
    brightside, peak = woocommerce_to_shopify(world)  # Shopify seller
    peak.search_lag_seconds = 0
    for seller_id in ("northwind", "peak"):
        change = world.register_webhooks(seller_id)
        assert change.connections == []  # a seller's webhooks change no connection's pull
    assert "FULFILLMENTS_CREATE" in {s["topic"] for s in peak.events.subscriptions.values()}
    acme.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    brightside.add_order(woocommerce_order(2001, [("PK-JACKET-M", "Storm Jacket", 1, "180.00", 55, 0)], WOO_ADDRESS))
    run_hour(stack)
    northwind.deliveries.wait()  # order.created of our copy: acknowledged, nothing to look at
    stack.runner.drain()
    (woo_copy,) = northwind.created_orders()
    (shop_copy,) = peak.created_orders()

    northwind.ship(woo_copy["id"], tracking=("USPS", "9400100000000000000000", None))
    peak.fulfil(int(shop_copy["legacyResourceId"]), tracking=("DHL Express", "JD014600003828", None))
    assert [topic for topic, _ in northwind.deliveries.wait()][-1] == "order.updated"
    stack.runner.drain()
    (fulfilment,) = _fulfilments(acme, 1001)
    assert (
        fulfilment["_tracking"][0]["company"] == "USPS"
        and fulfilment["_tracking"][0]["number"] == "9400100000000000000000"
    )
    _, note = brightside.notes[2001]  # ours, private; then the customer's
    assert "DHL JD014600003828" in note["note"]  # Shopify's "DHL Express" is WooCommerce's "DHL"
    sweep(stack)  # the net finds both already there: nothing twice
    assert len(_fulfilments(acme, 1001)) == 1 and len(brightside.notes[2001]) == 2


def test_a_corrected_tracking_number_updates_the_same_shipment_never_a_second_one(
    stack: LocalStack, world: World
) -> None:
    """WooCommerce seller -> Shopify buyer (fulfillmentTrackingInfoUpdate) and Shopify seller ->
    BigCommerce buyer (PUT the shipment): each correction lands on the shipment written before."""
    acme, northwind = shopify_to_woocommerce(world)
    northwind.fulfilments = True
    delta, peak = _delta_buys_jackets_from_peak(world, 1)
    acme.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    (woo_copy,) = northwind.created_orders()
    (shop_copy,) = peak.created_orders()
    northwind.ship(woo_copy["id"], tracking=("UPS", "1Z-WRONG", None))
    peak.fulfil(int(shop_copy["legacyResourceId"]), tracking=("FedEx", "FX-WRONG", None))
    sweep(stack)
    northwind.correct_tracking(woo_copy["id"], "1Z999AA10123456784")
    peak.correct_tracking(int(shop_copy["legacyResourceId"]), ("FedEx", "123456789012", None))
    sweep(stack)
    sweep(stack)  # again: the correction is recorded, nothing written twice
    (fulfilment,) = _fulfilments(acme, 1001)
    assert fulfilment["_tracking"][0]["number"] == "1Z999AA10123456784" and fulfilment["_tracking_updates"] == 1
    (shipment,) = delta.order_shipments[4001]
    assert shipment["tracking_number"] == "123456789012" and shipment["shipping_provider"] == "fedex"
    record = _record(stack, "acme--northwind#1001")
    assert record.parcels[0].tracking_number == "1Z999AA10123456784"
    corrected = "the parcel 1Z-WRONG (UPS): the seller corrected its tracking to 1Z999AA10123456784 (UPS)"
    assert any(e.detail.startswith(corrected) for e in record.timeline)


def test_a_seller_cancelling_its_copy_is_told_to_the_retailer_by_a_note_on_its_order_and_an_email(
    stack: LocalStack, world: World, cli
) -> None:
    """The seller cancels in its own store (WooCommerce order.updated, by its webhook): the buyer's
    Shopify order gets a staff note, the retailer's own subscription an email, ops too; nothing else moves."""
    acme, northwind = shopify_to_woocommerce(world)
    world.register_webhooks("northwind")
    code, out = cli("buyer", "add", "acme", "--email", "orders@acme.example")
    assert code == 0 and "acme: alerts for its orders as a buyer, and only those, go to orders@acme.example" in out
    acme.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    northwind.deliveries.wait()
    (copy,) = northwind.created_orders()
    northwind.update_order(copy["id"], status="cancelled")  # in the seller's admin
    northwind.deliveries.wait()
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")
    record = _record(stack, "acme--northwind#1001")
    assert (record.status, record.reason) == (OrderStatus.CANCELLED, FailureReason.SELLER_CANCELLED)
    buyer_order = acme.orders[gid("Order", 1001)]
    assert "Northwind Supply cancelled order" in buyer_order["note"] and buyer_order["cancelledAt"] is None
    (told,) = [e for e in world.delivered_emails() if e["to"] == ["orders@acme.example"]]
    assert told["subject"] == "Order #1001 was cancelled by its supplier (Northwind Supply)"

    # a mistake: the seller restores its copy and ships it — live again, its parcel carried, the retailer told
    northwind.update_order(copy["id"], status="processing")
    northwind.ship(copy["id"], tracking=("UPS", "1Z999AA10123456784", None))
    northwind.deliveries.wait()
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")
    record = _record(stack, "acme--northwind#1001")
    assert (record.status, record.shipping) == (OrderStatus.SYNCED, "shipped"), record.detail
    (fulfilment,) = _fulfilments(acme, 1001)
    assert fulfilment["_tracking"][0]["number"] == "1Z999AA10123456784"
    assert "Northwind Supply restored order" in acme.orders[gid("Order", 1001)]["note"]
    _, back = [e for e in world.delivered_emails() if e["to"] == ["orders@acme.example"]]
    assert back["subject"] == "Order #1001 is live again: its supplier (Northwind Supply) restored it"


def test_a_sellers_tracking_no_store_may_show_reaches_no_buyer_store_and_the_seller_is_asked_to_correct_it(
    stack: LocalStack, world: World
) -> None:
    """What a seller's store lets through is checked before the buyer's store sees it: a WooCommerce
    seller's `javascript:` link into a Shopify buyer, a Shopify seller's 60-character number into a
    BigCommerce buyer (which keeps 50: refused, never cut). Each PARCEL_INVALID, told, kept in the DLQ."""
    acme, northwind = shopify_to_woocommerce(world)
    northwind.fulfilments = True
    delta, peak = _delta_buys_jackets_from_peak(world, 1)
    world.subscribe_seller("northwind", "orders@northwind.example")
    world.subscribe_seller("peak", "orders@peak.example")
    acme.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    (woo_copy,) = northwind.created_orders()
    (shop_copy,) = peak.created_orders()
    northwind.ship(woo_copy["id"], tracking=("UPS", "1Z999AA10123456784", "javascript:alert(document.cookie)"))
    sixty = "9" * 60
    peak.fulfil(int(shop_copy["legacyResourceId"]), tracking=("FedEx", sixty, None))
    sweep(stack)
    sweep(stack)  # the next hour: still nothing written, nobody told twice
    assert _fulfilments(acme, 1001) == [] and delta.order_shipments.get(4001, []) == []
    woo = _record(stack, "acme--northwind#1001")
    assert woo.parcels[0].reason is FailureReason.PARCEL_INVALID and "is not an http(s) address" in woo.detail
    shop = _record(stack, "delta--peak#4001")
    assert "the tracking number is 60 characters, and a BigCommerce store keeps 50" in shop.detail
    dead = boto3.client("sqs").receive_message(
        QueueUrl=stack.output("ShipmentsDLQUrl"), MaxNumberOfMessages=10, VisibilityTimeout=0
    )["Messages"]
    assert {(json.loads(m["Body"])["reason"], json.loads(m["Body"])["order_key"]) for m in dead} == {
        ("PARCEL_INVALID", "acme--northwind#1001"),
        ("PARCEL_INVALID", "delta--peak#4001"),
    }
    told = {e["seller_id"]: e for e in world.delivered_emails() if e["seller_id"] in ("northwind", "peak")}
    assert told["peak"]["subject"] == "Please correct the tracking of your parcel for order #4001 from Delta Goods"
    assert len([e for e in world.delivered_emails() if e["seller_id"] == "peak"]) == 1

    peak.correct_tracking(int(shop_copy["legacyResourceId"]), ("FedEx", "123456789012", None))
    sweep(stack)
    (shipment,) = delta.order_shipments[4001]
    assert shipment["tracking_number"] == "123456789012"
    assert _record(stack, "delta--peak#4001").parcels[0].reason is None


def test_a_fulfilment_the_sellers_store_lets_through_malformed_is_named_and_the_drift_check_goes_on(
    stack: LocalStack, world: World, cli
) -> None:
    """WooCommerce keeps a fulfilment's items as loosely typed meta: one edited through its REST API
    to `qty: "abc"` is PARCEL_INVALID on its order (the order's other parcel still goes across), and
    `ordersync drift` names the order it can't compare and compares the rest."""
    acme, northwind = shopify_to_woocommerce(world)
    northwind.fulfilments = True
    acme.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 2, "89.50")], ADDRESS))
    acme.add_order(order_node(1002, "#1002", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    (first_copy,) = (  # 1001's copy: the batch posts its orders at once, in no given order
        o
        for o in northwind.created_orders()
        if {"key": "_ordersync_source", "value": "ordersync-acme--northwind-1001"}
        in [{"key": m["key"], "value": m["value"]} for m in o["meta_data"]]
    )
    (stove,) = first_copy["line_items"]
    northwind.ship(first_copy["id"], {stove["id"]: 1}, ("UPS", "1Z999AA10123456784", None))
    api = f"{northwind.base_url}/wp-json/wc/v3/orders/{first_copy['id']}/fulfillments"
    auth = ("ck_northwind", "cs_northwind")
    items = {"id": 0, "key": "_items", "value": [{"item_id": stove["id"], "qty": 1}]}
    made = requests.post(api, json={"status": "fulfilled", "meta_data": [items]}, auth=auth, timeout=5)
    assert made.status_code == 201, made.text
    malformed = {"id": 1, "key": "_items", "value": [{"item_id": stove["id"], "qty": "abc"}]}
    edited = requests.put(f"{api}/{made.json()['id']}", json={"meta_data": [malformed]}, auth=auth, timeout=5)
    assert edited.status_code == 200, edited.text
    sweep(stack)
    (written,) = _fulfilments(acme, 1001)  # the readable parcel went across
    assert written["_tracking"][0]["number"] == "1Z999AA10123456784"
    record = _record(stack, "acme--northwind#1001")
    assert record.reason is FailureReason.PARCEL_INVALID
    assert f"item {stove['id']}'s qty 'abc', not a whole number of units" in record.detail
    dead = boto3.client("sqs").receive_message(QueueUrl=stack.output("ShipmentsDLQUrl"), VisibilityTimeout=0)
    assert json.loads(dead["Messages"][0]["Body"])["reason"] == "PARCEL_INVALID"
    code, out = cli("drift")
    assert code == 0, out
    assert "could not compare acme--northwind#1001: can't be compared: the seller's store shows a parcel with" in out
    assert "compared 1 posted orders of 1 connections" in out  # #1002, as ever


def test_an_untracked_parcel_whose_answer_is_lost_is_in_the_buyers_store_once_on_each_platform(
    stack: LocalStack, world: World
) -> None:
    """The buyer's store makes the shipment and its answer is lost (a stall past the read timeout):
    the retry looks for what was made since the write began — Shopify keeps no key of ours, so by
    lines and units; BigCommerce by our key in the comments — and writes nothing twice."""
    acme, northwind = shopify_to_woocommerce(world)
    northwind.fulfilments = True
    delta, peak = _delta_buys_jackets_from_peak(world, 3)
    acme.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 3, "89.50")], ADDRESS))
    run_hour(stack)
    (woo_copy,) = northwind.created_orders()
    (shop_copy,) = peak.created_orders()
    (stove,) = woo_copy["line_items"]
    acme.server.faults.add(Fault(after_write=True, stall_seconds=3, matching="fulfillmentCreate"))
    delta.server.faults.add(
        Fault(after_write=True, stall_seconds=3, matching="POST /stores/hashdelta/v2/orders/4001/shipments")
    )
    northwind.ship(woo_copy["id"], {stove["id"]: 1})  # 1 of 3, no tracking
    peak.fulfil(int(shop_copy["legacyResourceId"]), lines={1: 1})  # 1 of 3, no tracking
    sweep(stack)
    assert acme.server.faults.pending == [] and delta.server.faults.pending == []  # both answers were lost
    sweep(stack)
    (fulfilment,) = _fulfilments(acme, 1001)
    assert [(line["lineItem"]["sku"], line["quantity"]) for line in fulfilment["_lines"]] == [("NW-STOVE", 1)]
    (shipment,) = delta.order_shipments[4001]
    assert shipment["items"][0]["quantity"] == 1
    for key in ("acme--northwind#1001", "delta--peak#4001"):
        record = _record(stack, key)
        assert record.shipping == "partly shipped" and record.parcels[0].in_buyer_store_at, key
        assert record.post_unconfirmed_at is None


def test_a_parcel_for_a_buyer_order_cancelled_in_its_store_but_not_yet_pulled_is_written_nowhere(
    stack: LocalStack, world: World
) -> None:
    """The retailer cancels in its WooCommerce admin, or its BigCommerce order is declined, and the
    seller ships before the next pull: the buyer's order is not set `completed` (its customer never
    told "your order is complete"), no shipment is added — PARCEL_FOR_CANCELLED_ORDER."""
    brightside, peak = woocommerce_to_shopify(world)
    peak.search_lag_seconds = 0
    brightside.add_order(woocommerce_order(2001, [("PK-JACKET-M", "Storm Jacket", 1, "180.00", 55, 0)], WOO_ADDRESS))
    run_hour(stack)
    (copy,) = peak.created_orders()
    brightside.orders[2001]["status"] = "cancelled"  # in its admin; no pull since
    peak.fulfil(int(copy["legacyResourceId"]), tracking=("UPS", "1Z999AA10123456784", None))
    sweep(stack)
    assert brightside.orders[2001]["status"] == "cancelled" and brightside.notes.get(2001, []) == []
    assert (2001, "customer_completed_order") not in brightside.customer_emails
    record = _record(stack, "brightside--peak#2001")
    assert record.parcels[0].reason is FailureReason.PARCEL_FOR_CANCELLED_ORDER


def test_a_hung_buyer_store_at_production_s_read_timeout_ends_no_shipment_check_late_and_the_parcel_lands_once(
    stack: LocalStack, world: World, monkeypatch
) -> None:
    """Every store-calling function keeps to its invocation's time, not ProcessOrder alone: the
    buyer's store hangs on the check's first request, which is cut to what the invocation can
    spare (production reads for 20 s); the check comes back and writes the parcel once."""
    buyer, seller = shopify_to_woocommerce(world)
    buyer.add_order(order_node(1030, "#1030", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    (copy,) = seller.created_orders()
    seller.ship(copy["id"], {copy["line_items"][0]["id"]: 1}, ("UPS", "1Z999AA10123456784", None))
    monkeypatch.setenv("ORDERSYNC_HTTP_READ_TIMEOUT", "20")
    stack.runner.timeouts["SyncShipmentsFunction"] = 6.5  # a scale model of a batch near its end
    buyer.server.faults.add(Fault(stall_seconds=8))  # longer than the whole invocation
    sweep(stack)
    assert stack.runner.overruns == []  # no invocation ran past its timeout
    assert buyer.server.faults.pending == []  # the hang happened
    (parcel,) = _fulfilments(buyer, 1030)
    link = "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784"  # the extension builds it
    assert parcel["_tracking"] == [{"company": "UPS", "number": "1Z999AA10123456784", "url": link}]
