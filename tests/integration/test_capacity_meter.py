"""The bench's capacity meter on the real OrdersTable (its three indexes as the template declares
them): each call priced as DynamoDB bills it, read from the items as moto holds them."""

from __future__ import annotations

import contextlib
import math

import boto3

from ordersync.aws.item_size import item_bytes
from ordersync.local.capacity_meter import CapacityMeter
from ordersync.local.stack import LocalStack


def _item(order_key: str, status: str, lines: int) -> dict[str, dict[str, str]]:
    return {
        "order_key": {"S": order_key},
        "seller_id": {"S": "northwind"},
        "status": {"S": status},
        "connection_id": {"S": "acme--northwind"},
        "updated_at": {"S": "2026-12-07T05:00:00+00:00"},
        "lines": {"S": "x" * (300 * lines)},
    }


def test_writes_reads_and_refused_writes_are_priced_by_item_size_and_index(stack: LocalStack) -> None:
    meter = CapacityMeter("us-east-1").install()  # before the client: a client copies the hooks it is made with
    dynamodb = boto3.client("dynamodb")
    table = stack.output("OrdersTableName")
    first = _item("acme--northwind#1", "RECEIVED", 8)  # ~2.6 KB
    size = item_bytes(first)
    with meter.metering() as units:
        dynamodb.put_item(TableName=table, Item=first)
    # the table: ceil(size / 1 KB); by_seller_status_keys (KEYS_ONLY) and by_connection (INCLUDE status): a small
    # entry, 1 unit each; by_seller_copy: the item has no seller_copy, so it is not in that index
    assert units.write[table] == math.ceil(size / 1024)
    assert units.index_write[table] == 2

    with meter.metering() as units:  # the status moves: by_seller_status_keys's key changes (a delete and a put)
        dynamodb.update_item(
            TableName=table,
            Key={"order_key": first["order_key"]},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "SYNCED"}},
        )
    assert units.write[table] == math.ceil(size / 1024)
    assert units.index_write[table] == 2 + 1  # by_connection: its projected status, 1
    assert units.by_index == {"by_seller_status_keys": 2, "by_connection": 1, "by_seller_copy": 0}

    refused = contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException)
    with meter.metering() as units, refused:  # a claim refused by its condition: the item's size, no index
        dynamodb.put_item(TableName=table, Item=first, ConditionExpression="attribute_not_exists(order_key)")
    assert (units.write[table], units.index_write[table], units.refused_writes) == (math.ceil(size / 1024), 0, 1)

    with meter.metering() as units:
        dynamodb.get_item(TableName=table, Key={"order_key": first["order_key"]}, ProjectionExpression="order_key")
        dynamodb.get_item(TableName=table, Key={"order_key": {"S": "nobody#0"}})
    assert units.read[table] == 0.5 + 0.5  # eventually consistent, whole item (~2.6 KB) then not found

    with meter.metering() as units:  # outside the span: nothing counted
        pass
    dynamodb.get_item(TableName=table, Key={"order_key": first["order_key"]})
    assert units.read_total == 0 and units.write_total == 0


def test_a_call_through_the_resource_api_is_priced_as_the_same_call_through_the_client(stack: LocalStack) -> None:
    """Our adapters use boto3.resource's Table, whose plain values are serialized after the meter's
    hook sees them: an update that changes no index key must not be priced as a new item."""
    meter = CapacityMeter("us-east-1").install()
    table = boto3.resource("dynamodb").Table(stack.output("OrdersTableName"))
    first = _item("acme--northwind#2", "SYNCED", 8)
    plain = {name: value["S"] for name, value in first.items()}
    size = item_bytes(first)
    with meter.metering() as put:
        table.put_item(Item=plain)
    assert (put.write[table.name], put.index_write[table.name]) == (math.ceil(size / 1024), 2)
    with meter.metering() as claim:  # a claim: the record rewritten, no index entry changed (none is an insert)
        table.update_item(
            Key={"order_key": plain["order_key"]},
            UpdateExpression="SET claimed_by = :a",
            ExpressionAttributeValues={":a": "attempt-1"},
        )
    assert claim.write[table.name] == math.ceil((size + 20) / 1024)
    assert claim.by_index == {"by_seller_status_keys": 0, "by_connection": 0, "by_seller_copy": 0}
