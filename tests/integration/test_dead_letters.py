"""Every DLQ of the stack in reach of `ordersync dlq`: each one listed with what its messages are
about, redriven to the queue it failed from (and the work then done), a redrive that moves nothing
refused with the reason, and the records-only DLQ cleared rather than redriven."""

from __future__ import annotations

import json
from typing import Any

import boto3

from ordersync.aws.orders import DynamoOrders
from ordersync.local.fakes.shopify import order_node
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus

from .marketplace import ADDRESS, listed, shopify_to_woocommerce


def _dead_letter(source_url: str, dlq_url: str, attributes: dict[str, str] | None = None) -> int:
    """What SQS does with a message received maxReceiveCount times (and EventBridge with an event its
    target refused, adding the error as attributes): the body, as it was, now in the DLQ."""
    sqs = boto3.client("sqs")
    moved = 0
    while messages := sqs.receive_message(
        QueueUrl=source_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            kept = {
                k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
                for k, v in message.get("MessageAttributes", {}).items()
            }
            kept |= {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}
            sqs.send_message(QueueUrl=dlq_url, MessageBody=message["Body"], MessageAttributes=kept)
            sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def _status(stack: LocalStack, key: str) -> Any:
    record = DynamoOrders(stack.output("OrdersTableName")).get(key)
    return record and (record.status, record.reason)


def test_each_dlq_is_listed_and_redriven_to_its_queue_and_the_work_is_then_done(
    stack: LocalStack, world: World, cli
) -> None:
    buyer, seller = shopify_to_woocommerce(world)
    world.subscribe_seller("northwind", "orders@northwind.example")
    out = stack.output

    # a pull that failed every delivery: listed by its connection, redriven, the order then pulled
    buyer.add_order(order_node(1002, "#1002", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    stack.runner.fire_schedules("PullOrdersFunction")
    assert _dead_letter(out("PullQueueUrl"), out("PullDLQUrl")) == 1
    code, shown = cli("dlq", "list", "--queue", "pull")
    assert code == 0 and "acme--northwind  the pull of acme--northwind failed on every delivery" in shown
    assert "1 message(s) in PullDLQ" in shown
    code, said = cli("dlq", "list", "--queue", "pull", "--seller", "northwind")
    assert code == 1 and "PullDLQ's messages name no seller" in said
    code, said = cli("dlq", "redrive", "--queue", "pull", "--reason", "SKU_MISMATCH")
    assert code == 1 and "PullDLQ's messages carry no reason" in said
    assert _status(stack, "acme--northwind#1002") is None
    code, said = cli("dlq", "redrive", "--queue", "pull")
    assert code == 0 and "moved 1 message(s) back to PullQueue" in said
    stack.runner.drain()
    assert _status(stack, "acme--northwind#1002") == (OrderStatus.SYNCED, None)
    code, said = cli("dlq", "redrive", "--queue", "pull")
    assert code == 1 and "moved nothing: PullDLQ is empty" in said

    # a new product the seller's catalog run never brought: the order fails, its alert can't be sent
    seller.add_product(106, "NW-MUG", "Enamel Mug", "12.00")
    listed(stack, "acme", "northwind", "NW-MUG")  # the retailer lists it as Northwind's
    buyer.add_order(order_node(1003, "#1003", [("NW-MUG", "Enamel Mug", 2, "12.00")], ADDRESS))
    stack.runner.fire_schedules("PullOrdersFunction")
    stack.runner.drain()
    assert _status(stack, "acme--northwind#1003") == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)
    assert _dead_letter(out("AlertsQueueUrl"), out("AlertsDLQUrl")) == 1  # five dispatches refused by SNS
    code, shown = cli("dlq", "list", "--queue", "alerts", "--seller", "northwind")
    assert code == 0 and "SKU_MISMATCH" in shown and "acme--northwind#1003  alert not sent:" in shown
    code, said = cli("dlq", "redrive", "--reason", "DUPLICATE_SKU")
    assert (
        code == 1 and "none of the 1 message(s) in OrdersDLQ has reason DUPLICATE_SKU (it holds SKU_MISMATCH)" in said
    )
    code, said = cli("dlq", "redrive", "--queue", "alerts", "--reason", "SKU_MISMATCH")
    assert code == 0 and "moved 1 message(s) back to AlertsQueue" in said

    def told() -> list[str]:
        return [
            e["subject"] for e in world.delivered_emails() if e["seller_id"] == "northwind" and "#1003" in e["subject"]
        ]

    assert told() == []
    stack.runner.fire_schedules("AlertDispatchFunction")
    assert len(told()) == 1, told()

    # the hour's catalog runs failed every delivery: the seller's (and the retailer's listings read)
    stack.runner.fire_schedules("CatalogSyncFunction")
    assert _dead_letter(out("CatalogSyncQueueUrl"), out("CatalogSyncDLQUrl")) == 2
    code, shown = cli("dlq", "list", "--queue", "catalog")
    assert code == 0 and "the catalog run of northwind" in shown and "the listings (as a buyer) run of acme" in shown
    code, said = cli("dlq", "redrive", "--queue", "catalog", "--seller", "northwind")
    assert code == 0 and "moved 1 message(s) back to CatalogSyncQueue" in said
    stack.runner.drain()  # the run finds NW-MUG and replays the order that waited on it
    assert _status(stack, "acme--northwind#1003") == (OrderStatus.SYNCED, None)
    code, shown = cli("dlq", "list", "--queue", "catalog")
    assert "northwind" not in shown and "1 message(s) in CatalogSyncDLQ" in shown

    # a Shopify event EventBridge could not put on OrdersQueue: kept with its error, redriven there
    world.register_webhooks("acme")
    buyer.add_order(order_node(1004, "#1004", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    refused = {"ERROR_CODE": "SQS.AccessDeniedException", "ERROR_MESSAGE": "the queue's policy refused the rule"}
    assert _dead_letter(out("OrdersQueueUrl"), out("ShopifyEventsDLQUrl"), refused) == 1
    code, shown = cli("dlq", "list", "--queue", "shopify-events")
    assert code == 0 and "orders/create of order #1004 not delivered to OrdersQueue" in shown
    assert "why: SQS.AccessDeniedException the queue's policy refused the rule" in shown
    code, said = cli("dlq", "redrive", "--queue", "shopify-events")
    assert code == 0 and "moved 1 message(s) back to OrdersQueue" in said
    stack.runner.drain()
    assert _status(stack, "acme--northwind#1004") == (OrderStatus.SYNCED, None)
    assert len(seller.created_orders()) == 3  # #1002, #1003, #1004: each once


def test_a_parcel_reason_names_its_queue_and_a_reason_of_another_queue_is_a_sentence(cli) -> None:
    code, said = cli("dlq", "list", "--queue", "orders", "--reason", "PARCEL_DOESNT_FIT")
    assert code == 1 and "PARCEL_DOESNT_FIT is a reason of shipments (ShipmentsDLQ), not of orders" in said
    code, said = cli("dlq", "redrive", "--reason", "PARCEL_DOESNT_FIT")
    assert code == 1 and "moved nothing: ShipmentsDLQ is empty" in said
    code, said = cli("dlq", "delete", "--queue", "orders")
    assert code == 1 and "OrdersDLQ holds work that is not done: redrive it" in said
    assert json.loads(cli("dlq", "list", "--queue", "alerts", "--json")[1]) == []
