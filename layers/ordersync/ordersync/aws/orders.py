"""The orders table: one item per buyer order (per connection), written with optimistic locking."""

from __future__ import annotations

import json
import zlib
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from ordersync.aws.errors import all_items, aws_errors, error_code
from ordersync.errors import ConcurrentUpdate
from ordersync.models import OrderStatus
from ordersync.records import OrderRecord


class DynamoOrders:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def get(self, order_key: str) -> OrderRecord | None:
        with aws_errors("order read"):
            item = self._table.get_item(Key={"order_key": order_key}, ConsistentRead=True).get("Item")
        return None if item is None else _record(item)

    def save(self, record: OrderRecord) -> None:
        expected = record.version
        record.version = expected + 1
        item = record.model_dump(mode="json", exclude={"envelope"})
        # The buyer's payload is kept for replays; compressed, it costs a third of the write units.
        item["envelope_z"] = zlib.compress(json.dumps(record.envelope, default=str).encode(), 6)
        condition = Attr("order_key").not_exists() if expected == 0 else Attr("version").eq(expected)
        try:
            with aws_errors("order write"):
                self._table.put_item(Item=item, ConditionExpression=condition)
        except ClientError as error:
            record.version = expected
            if error_code(error) == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(f"order {record.order_key} changed while it was processed") from error
            raise

    def by_seller_status(self, seller_id: str, status: OrderStatus) -> list[OrderRecord]:
        condition = Key("seller_id").eq(seller_id) & Key("status").eq(status.value)
        items = all_items(
            self._table.query, "order query", IndexName="by_seller_status", KeyConditionExpression=condition
        )
        return [_record(item) for item in items]

    def all(self) -> list[OrderRecord]:
        return [_record(item) for item in all_items(self._table.scan, "order scan")]


def _record(item: dict[str, Any]) -> OrderRecord:
    fields = dict(item)
    packed = fields.pop("envelope_z", None)
    fields["envelope"] = json.loads(zlib.decompress(bytes(packed)).decode()) if packed is not None else {}
    return OrderRecord.model_validate(fields)
