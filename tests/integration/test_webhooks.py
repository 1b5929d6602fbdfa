"""The fast path for real: ops register a buyer store's order webhooks through its own API; the
fake stores then send real deliveries (WooCommerce and BigCommerce: HTTP POSTs to the stack's
function URL; Shopify: PutPartnerEvents onto its partner event source, which EventBridge routes
to OrdersQueue); the order is synced without waiting for the hourly pull, and posted once however
often it comes, by webhook or by the pull."""

from __future__ import annotations

import json

import boto3
import requests

from ordersync.aws.orders import DynamoOrders
from ordersync.domain.webhooks import BC_SECRET_HEADER, MAX_BODY_BYTES, woocommerce_signature
from ordersync.local.fakes.bigcommerce import bigcommerce_order
from ordersync.local.fakes.shopify import order_node
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import Cause, FailureReason, OrderStatus

from .marketplace import ADDRESS, BC_ADDRESS, WOO_ADDRESS, run_hour, shopify_to_woocommerce, woocommerce_to_shopify

JACKET = [("PK-JACKET-M", "Storm Jacket", 1, "180.00", 55, 0)]


def _orders(stack: LocalStack) -> DynamoOrders:
    return DynamoOrders(stack.output("OrdersTableName"))


def _waiting(stack: LocalStack) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.output("OrdersQueueUrl"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _hook_url(stack: LocalStack, store_id: str) -> str:
    return f"{stack.output('WebhookUrl').rstrip('/')}/hooks/{store_id}"


def _secret(world: World, store_id: str) -> str:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=world.stores[store_id].secret_arn)
    return str(json.loads(value["SecretString"])["webhook_secret"])


def test_a_woocommerce_order_comes_by_webhook_and_is_posted_once_by_it_and_the_pull(
    stack: LocalStack, world: World
) -> None:
    buyer, seller = woocommerce_to_shopify(world)
    change = world.register_webhooks("brightside")
    assert change.made == ["order.created", "order.updated"] and change.connections == ["brightside--peak"]
    assert {(h["topic"], h["delivery_url"]) for h in buyer.webhooks.values()} == {
        ("order.created", _hook_url(stack, "brightside")),
        ("order.updated", _hook_url(stack, "brightside")),
    }

    buyer.add_order(woocommerce_order(2001, JACKET, WOO_ADDRESS))  # the checkout
    assert buyer.deliveries.wait() == [("order.created", 202)]
    stack.runner.drain()  # OrdersQueue's consumer, as the event source mapping runs it: no pull at all
    record = _orders(stack).get("brightside--peak#2001")
    assert record is not None and record.status is OrderStatus.SYNCED
    assert [e.cause for e in record.timeline] == [Cause.WEBHOOK, Cause.WEBHOOK]
    assert len(seller.created_orders()) == 1

    run_hour(stack)  # the pull finds it again: the record says it is done
    buyer.update_order(2001, customer_note="leave at the door")  # order.updated: the same order again
    buyer.deliveries.wait()
    stack.runner.drain()
    assert len(seller.created_orders()) == 1


def test_registering_twice_changes_nothing_and_unregistering_leaves_other_webhooks(
    stack: LocalStack, world: World
) -> None:
    buyer, _ = woocommerce_to_shopify(world)
    buyer.webhooks[99] = {  # someone else's webhook on the same store
        "id": 99,
        "topic": "order.created",
        "status": "active",
        "delivery_url": "https://erp.example/hook",
        "secret": "theirs",
    }
    world.register_webhooks("brightside")
    secret = _secret(world, "brightside")
    again = world.register_webhooks("brightside")
    assert again.made == [] and again.removed == [] and len(again.subscriptions) == 2
    assert _secret(world, "brightside") == secret  # the stores already sign with it
    assert len(buyer.webhooks) == 3

    gone = world.unregister_webhooks("brightside")
    assert sorted(gone.removed) == ["order.created", "order.updated"] and gone.subscriptions == []
    assert list(buyer.webhooks) == [99]
    buyer.add_order(woocommerce_order(2002, JACKET, WOO_ADDRESS))
    assert buyer.deliveries.wait() == [("order.created", 0)]  # to the ERP, which is not there
    assert _waiting(stack) == 0


def test_a_delivery_not_signed_with_the_store_s_secret_is_refused_and_enqueues_nothing(
    stack: LocalStack, world: World
) -> None:
    woocommerce_to_shopify(world)
    world.register_webhooks("brightside")
    body = json.dumps(woocommerce_order(2003, JACKET, WOO_ADDRESS)).encode()
    url = _hook_url(stack, "brightside")
    topic = {"X-WC-Webhook-Topic": "order.created", "Content-Type": "application/json"}
    forged = woocommerce_signature("not-the-secret", body)
    assert requests.post(url, data=body, headers={**topic, "X-WC-Webhook-Signature": forged}).status_code == 401
    assert requests.post(url, data=body, headers=topic).status_code == 401
    signed = woocommerce_signature(_secret(world, "brightside"), body)
    tampered = body.replace(b"180.00", b"1.00")
    assert requests.post(url, data=tampered, headers={**topic, "X-WC-Webhook-Signature": signed}).status_code == 401
    assert requests.post(_hook_url(stack, "nobody"), data=body, headers=topic).status_code == 401
    assert _waiting(stack) == 0

    huge = b'{"id": 1, "note": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert requests.post(url, data=huge, headers=topic).status_code == 413
    unknown = {**topic, "X-WC-Webhook-Topic": "product.updated"}
    answer = requests.post(
        url,
        data=b'{"id": 7}',
        headers={
            **unknown,
            "X-WC-Webhook-Signature": woocommerce_signature(_secret(world, "brightside"), b'{"id": 7}'),
        },
    )
    assert answer.status_code == 200 and "acknowledged" in answer.json()["message"]
    ping = requests.post(url, data=b"webhook_id=12", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ping.status_code == 200
    assert _waiting(stack) == 0

    # the genuine delivery, twice (a store retries when our answer is slow): one order, posted once
    for _ in range(2):
        assert requests.post(url, data=body, headers={**topic, "X-WC-Webhook-Signature": signed}).status_code == 202
    stack.runner.drain()
    record = _orders(stack).get("brightside--peak#2003")
    assert record is not None and record.status is OrderStatus.SYNCED


def test_a_webhook_body_that_breaks_the_order_schema_is_recorded_invalid_and_kept_in_the_dlq(
    stack: LocalStack, world: World
) -> None:
    buyer, seller = woocommerce_to_shopify(world)
    world.register_webhooks("brightside")
    order = woocommerce_order(2004, JACKET, WOO_ADDRESS)
    order["line_items"][0]["quantity"] = "lots"
    buyer.add_order(order)
    buyer.deliveries.wait()
    stack.runner.drain()
    record = _orders(stack).get("brightside--peak#2004")
    assert record is not None and (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    assert record.in_dlq and "'lots'" in record.detail and seller.created_orders() == []


def test_a_bigcommerce_webhook_names_the_order_and_the_order_is_read_from_the_store(
    stack: LocalStack, world: World
) -> None:
    buyer = world.add_bigcommerce("delta", "Delta Goods")
    seller = world.add_woocommerce("northwind", "Northwind Supply")
    seller.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    world.add_catalog("northwind", [("102", "102", "NW-STOVE", "Camp Stove", "")])
    world.connect("delta", "northwind")
    world.register_webhooks("delta")
    assert sorted(h["scope"] for h in buyer.hooks.values()) == ["store/order/created", "store/order/updated"]
    assert all(BC_SECRET_HEADER in h["headers"] for h in buyer.hooks.values())

    line = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "NW-STOVE", "name": "Stove", "quantity": 2}
    buyer.add_order(bigcommerce_order(4001), [{**line, "price_inc_tax": "89.5000", "type": "physical"}], [BC_ADDRESS])
    assert buyer.deliveries.wait() == [("store/order/created", 202)]
    stack.runner.drain()
    record = _orders(stack).get("delta--northwind#4001")
    assert record is not None and record.status is OrderStatus.SYNCED
    (posted,) = seller.created_orders()
    assert posted["line_items"][0]["quantity"] == 2 and posted["shipping"]["city"] == BC_ADDRESS["city"]

    body = json.dumps({"scope": "store/order/created", "data": {"type": "order", "id": 4001}}).encode()
    wrong = {"Content-Type": "application/json", BC_SECRET_HEADER: "guess"}
    assert requests.post(_hook_url(stack, "delta"), data=body, headers=wrong).status_code == 401


def test_a_shopify_order_comes_through_eventbridge_and_a_cancel_settles_an_unposted_one(
    stack: LocalStack, world: World
) -> None:
    buyer, seller = shopify_to_woocommerce(world)
    change = world.register_webhooks("acme")
    assert change.url == stack.output("ShopifyEventSourceArn")
    assert sorted(s["topic"] for s in buyer.events.subscriptions.values()) == [
        "ORDERS_CANCELLED",
        "ORDERS_CREATE",
        "ORDERS_UPDATED",
    ]
    buyer.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    assert _waiting(stack) == 1  # the event, routed by the rule to OrdersQueue as it is
    stack.runner.drain()
    record = _orders(stack).get("acme--northwind#1001")
    assert record is not None and record.status is OrderStatus.SYNCED
    assert record.timeline[-1].cause is Cause.WEBHOOK and len(seller.created_orders()) == 1

    # an order that can't be posted yet (its SKU is unknown), then cancelled by the buyer
    buyer.add_order(order_node(1002, "#1002", [("NW-GONE", "Old Stove", 1, "89.50")], ADDRESS))
    stack.runner.drain()
    held = _orders(stack).get("acme--northwind#1002")
    assert held is not None and held.reason is FailureReason.SKU_MISMATCH
    buyer.cancel_order(1002)
    stack.runner.drain()
    cancelled = _orders(stack).get("acme--northwind#1002")
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED

    run_hour(stack)  # the pull sees both again: nothing new reaches the seller
    assert len(seller.created_orders()) == 1
    assert [topic for topic, _ in buyer.events.sent] == [
        "orders/create",
        "orders/create",
        "orders/cancelled",
        "orders/updated",
    ]
