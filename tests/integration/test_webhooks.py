"""The fast path for real: ops register a buyer store's order webhooks through its own API; the
fake stores then send real deliveries (WooCommerce and BigCommerce: HTTP POSTs to the stack's
function URL; Shopify: PutPartnerEvents onto its partner event source, which EventBridge routes
to OrdersQueue); the order is synced without waiting for the hourly pull, and posted once however
often it comes, by webhook or by the pull."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

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
    """The store's webhook keys: a secret of their own, apart from its API credentials."""
    value = boto3.client("secretsmanager").get_secret_value(SecretId=f"ordersync/webhooks/{store_id}")
    assert (
        "webhook_secret"
        not in boto3.client("secretsmanager").get_secret_value(SecretId=world.stores[store_id].secret_arn)[
            "SecretString"
        ]
    )
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
    # WooCommerce pinged each webhook as it was saved (answered 200), then delivered the order
    assert buyer.deliveries.wait() == [("ping", 200), ("ping", 200), ("order.created", 202)]
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
        "delivery_url": "http://127.0.0.1:9/hook",  # an ERP that is not there (the discard port refuses)
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
    assert buyer.deliveries.wait()[-1] == ("order.created", 0)  # to the ERP, which is not there
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
    assert sorted(h["scope"] for h in buyer.hooks.values()) == [
        "store/order/created",
        "store/order/updated",
        "store/shipment/created",  # added as both buyer and seller: its parcels too
        "store/shipment/updated",
    ]
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
        "FULFILLMENTS_CREATE",  # added as both buyer and seller: its parcels too
        "FULFILLMENTS_UPDATE",
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


def test_a_woocommerce_webhook_disabled_after_failed_deliveries_is_shown_and_brought_back_by_register(
    stack: LocalStack, world: World, cli: Callable[..., tuple[int, str]]
) -> None:
    """WooCommerce never delivers again, and disables a webhook after more than five failures in a
    row; the pull is the net meanwhile, and registering again re-enables it."""
    buyer, seller = woocommerce_to_shopify(world)
    world.register_webhooks("brightside")
    buyer.deliveries.wait()
    for hook in buyer.webhooks.values():  # the store's copy of the secret goes wrong: every delivery a 401
        hook["secret"] = "not the registered one"
    for number in range(2101, 2108):
        buyer.add_order(woocommerce_order(number, JACKET, WOO_ADDRESS))
        buyer.deliveries.wait()
    assert [status for topic, status in buyer.deliveries.wait() if topic == "order.created"] == [401] * 7
    assert {h["topic"]: h["status"] for h in buyer.webhooks.values()}["order.created"] == "disabled"
    code, listed = cli("store", "webhooks", "list", "brightside")
    assert code == 0
    assert any(
        "order.created" in line and "disabled (register again to re-enable)" in line for line in listed.splitlines()
    )
    run_hour(stack)  # the pull is the net: all seven are synced
    assert len(seller.created_orders()) == 7

    for hook in buyer.webhooks.values():
        hook["secret"] = _secret(world, "brightside")
    change = world.register_webhooks("brightside")
    assert change.reactivated == ["order.created"] and change.made == []
    buyer.add_order(woocommerce_order(2108, JACKET, WOO_ADDRESS))
    assert buyer.deliveries.wait()[-1] == ("order.created", 202)
    stack.runner.drain()
    assert len(seller.created_orders()) == 8


def test_quick_changes_to_one_order_are_delivered_once_as_the_order_is_when_sent(
    stack: LocalStack, world: World
) -> None:
    """WC_Webhook::enqueue schedules no second delivery for a webhook and order while one is pending,
    and the body is built when the delivery runs."""
    buyer, seller = woocommerce_to_shopify(world)
    assert seller.created_orders() == []
    world.register_webhooks("brightside")
    buyer.deliveries.wait()
    buyer.delivery_delay = 0.5
    buyer.add_order(woocommerce_order(2201, JACKET, WOO_ADDRESS, status="pending"))
    buyer.update_order(2201, status="processing")  # paid a moment later: order.updated
    buyer.update_order(2201, customer_note="ring twice")  # and again, while that one is pending
    sent = buyer.deliveries.wait()
    assert sorted(t for t, _ in sent if t.startswith("order.")) == ["order.created", "order.updated"]
    assert buyer.coalesced == 1
    stack.runner.drain()
    record = _orders(stack).get("brightside--peak#2201")
    assert record is not None and record.status is OrderStatus.SYNCED  # the delivery carried the paid order
    assert len(seller.created_orders()) == 1


def test_a_shopify_order_too_large_for_its_event_is_read_from_the_shop_and_a_bigcommerce_one_by_process_order(
    stack: LocalStack, world: World
) -> None:
    """Shopify sends an order over its inline limit as its id only; BigCommerce always does. Neither
    is read at the door: ProcessOrder reads it, with SQS's retries behind it."""
    buyer, seller = shopify_to_woocommerce(world)
    world.register_webhooks("acme")
    buyer.events.inline_limit = 2_000  # an order this size comes as its id (1 MB on Shopify)
    lines = [("NW-STOVE", "Camp Stove " + "x" * 400, 1, "89.50"), ("NW-SOCK-L", "Socks " + "y" * 400, 2, "19.00")]
    buyer.add_order(order_node(1101, "#1101", lines, ADDRESS))
    (event,) = [
        json.loads(m["Body"])
        for m in boto3.client("sqs").receive_message(QueueUrl=stack.output("OrdersQueueUrl"), VisibilityTimeout=0)[
            "Messages"
        ]
    ]
    assert event["detail"]["payload"] == {"id": 1101, "admin_graphql_api_id": "gid://shopify/Order/1101"}
    stack.runner.drain()
    record = _orders(stack).get("acme--northwind#1101")
    assert record is not None and record.status is OrderStatus.SYNCED and record.order_number == "#1101"
    (posted,) = seller.created_orders()
    assert [(li["product_id"], li["quantity"]) for li in posted["line_items"]] == [(102, 1), (103, 2)]


def test_a_cancellation_made_through_the_buyer_store_s_own_api_reaches_the_seller_by_its_webhook(
    stack: LocalStack, world: World
) -> None:
    """A merchant (or its other apps) changes an order through the store's REST API, not its admin:
    WooCommerce saves it all the same and sends order.updated, so the seller's copy is cancelled
    within seconds, no pull needed."""
    buyer, seller = woocommerce_to_shopify(world)
    world.register_webhooks("brightside")
    buyer.add_order(woocommerce_order(2011, JACKET, WOO_ADDRESS))
    buyer.deliveries.wait()
    stack.runner.drain()
    record = _orders(stack).get("brightside--peak#2011")
    assert record is not None and record.status is OrderStatus.SYNCED
    answer = requests.put(
        f"{buyer.base_url}/wp-json/wc/v3/orders/2011",
        params=world.stores["brightside"].credentials,
        json={"status": "cancelled"},
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    buyer.deliveries.wait()
    stack.runner.drain()
    record = _orders(stack).get("brightside--peak#2011")
    assert record is not None and record.status is OrderStatus.CANCELLED, record.timeline
    assert record.timeline[-1].cause is Cause.WEBHOOK
    (copy,) = seller.created_orders()
    assert copy["cancelledAt"] is not None  # the seller's copy, cancelled in its store


def test_a_shopify_order_cancelled_by_the_merchant_s_app_through_graphql_reaches_the_seller_by_its_event(
    stack: LocalStack, world: World
) -> None:
    """orderCancel through the Admin API runs as a job; when it has run, Shopify sends
    orders/cancelled as for a cancellation in the admin, and the seller's copy follows."""
    buyer, seller = shopify_to_woocommerce(world)
    world.register_webhooks("acme")
    buyer.add_order(order_node(1021, "#1021", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    stack.runner.drain()
    assert _orders(stack).get("acme--northwind#1021").status is OrderStatus.SYNCED  # type: ignore[union-attr]

    def admin(query: str, variables: dict[str, object]) -> dict[str, Any]:
        answer = requests.post(
            f"{buyer.base_url}/admin/api/2025-10/graphql.json",
            headers={"X-Shopify-Access-Token": world.stores["acme"].credentials["access_token"]},
            json={"query": query, "variables": variables},
            timeout=5,
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["data"])

    cancel = admin(
        "mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true, refundMethod:"
        " {originalPaymentMethodsRefund: true}, notifyCustomer: false) { job { id done } userErrors { message } } }",
        {"id": "gid://shopify/Order/1021"},
    )["orderCancel"]
    assert cancel["userErrors"] == []
    deadline = time.monotonic() + 10
    while not admin("query($id: ID!) { job(id: $id) { done } }", {"id": cancel["job"]["id"]})["job"]["done"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stack.runner.drain()
    record = _orders(stack).get("acme--northwind#1021")
    assert record is not None and record.status is OrderStatus.CANCELLED, record and record.timeline
    (copy,) = seller.created_orders()
    assert copy["status"] == "cancelled"


def test_a_store_whose_secret_was_kept_beside_its_credentials_is_let_in_once_register_moves_it(
    stack: LocalStack, world: World
) -> None:
    """The README's upgrade step: a store that registered before webhook keys existed kept its
    secret in its credentials' secret, which the door may no longer read (401); `store webhooks
    register` moves it, unchanged, and the store's subscriptions deliver again."""
    buyer, seller = woocommerce_to_shopify(world)
    world.register_webhooks("brightside")
    secret = _secret(world, "brightside")
    vault, credentials_arn = boto3.client("secretsmanager"), world.stores["brightside"].secret_arn
    credentials = json.loads(vault.get_secret_value(SecretId=credentials_arn)["SecretString"])
    vault.put_secret_value(SecretId=credentials_arn, SecretString=json.dumps({**credentials, "webhook_secret": secret}))
    vault.delete_secret(SecretId="ordersync/webhooks/brightside", ForceDeleteWithoutRecovery=True)

    buyer.add_order(woocommerce_order(2101, JACKET, WOO_ADDRESS))
    assert buyer.deliveries.wait()[-1] == ("order.created", 401)  # the door can't read the old place
    change = world.register_webhooks("brightside")
    assert change.made == [] and change.removed == []  # the same secret: the subscriptions stay
    assert _secret(world, "brightside") == secret  # and it is gone from beside the credentials
    buyer.update_order(2101, customer_note="leave at the door")
    assert buyer.deliveries.wait()[-1] == ("order.updated", 202)
    stack.runner.drain()
    assert len(seller.created_orders()) == 1
