"""Every DynamoDB call made while the meter is on, priced in the units DynamoDB bills (capacity.py):
botocore's before- and after-call hooks see each call, and the item as it was before a write and
after it is read from moto's own state (the moto server runs in this process), so measuring adds
no AWS call. Reads are priced by the items they read whole (a projection doesn't make a read
cheaper), a KEYS_ONLY or INCLUDE index's reads by its entries."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer

from ordersync.aws.item_size import item_bytes
from ordersync.local.capacity import Index, index_writes, read_units, table_write_units
from ordersync.local.stack import reset_cached_clients
from ordersync.local.template import ACCOUNT_ID

WRITES = ("PutItem", "UpdateItem", "DeleteItem")
_SERIALIZER = TypeSerializer()


@dataclass
class Units:
    """What the metered calls cost, by table (index writes apart)."""

    read: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    write: Counter[str] = field(default_factory=Counter)
    index_write: Counter[str] = field(default_factory=Counter)
    by_index: Counter[str] = field(default_factory=Counter)  # the same index writes, by index name
    refused_writes: int = 0

    @property
    def read_total(self) -> float:
        return float(sum(self.read.values()))

    @property
    def write_total(self) -> int:
        return int(sum(self.write.values()) + sum(self.index_write.values()))


class CapacityMeter:
    """Installed once, before any client is made (a client copies its session's hooks when made);
    counts only while `metering()` is open."""

    def __init__(self, region: str) -> None:
        self._region = region
        self._lock = threading.Lock()
        self._active: list[Units] = []

    def install(self) -> CapacityMeter:
        events = boto3._get_default_session().events
        for event, hook, name in (
            ("before-parameter-build.dynamodb", self._before, "ordersync-capacity-before"),
            ("after-call.dynamodb", self._after, "ordersync-capacity-after"),
        ):  # the latest meter of the process is the one that counts (a hook registered twice is ignored)
            events.unregister(event, unique_id=name)
            events.register(event, hook, unique_id=name)
        reset_cached_clients()  # the functions' next clients carry the hooks
        return self

    @contextmanager
    def metering(self) -> Iterator[Units]:
        units = Units()
        with self._lock:
            self._active.append(units)
        try:
            yield units
        finally:
            with self._lock:
                self._active.remove(units)

    @property
    def _backend(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT_ID][self._region]

    # --- hooks ---------------------------------------------------------------------------------------
    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self._active:
            writes = [
                (table, typed, self._item(table, typed))
                for table, key in self._writes(model.name, params)
                for typed in (_typed(key),)
            ]
            context["ordersync_capacity"] = (dict(params), writes)

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self._active or "ordersync_capacity" not in context:
            return
        params, writes = context.pop("ordersync_capacity")
        code = parsed.get("Error", {}).get("Code")
        refused = code in ("ConditionalCheckFailedException", "TransactionCanceledException")
        if code and not refused:
            return  # refused before any work (a throttle, a validation error): not billed
        cost = Units()
        for table, key, before in writes:
            after = before if refused else self._item(table, key)
            table_units = table_write_units((), before, after, refused=refused)[0]  # the indexes apart, by name
            per_index = {} if refused else index_writes(self._indexes(table), before, after)
            cost.write[table] += table_units * (2 if model.name.startswith("Transact") else 1)
            cost.index_write[table] += sum(per_index.values())
            cost.by_index.update(per_index)
            cost.refused_writes += refused
        self._reads(model.name, parsed, params, cost)
        with self._lock:
            for units in self._active:
                for table, read in cost.read.items():
                    units.read[table] += read
                units.write.update(cost.write)
                units.index_write.update(cost.index_write)
                units.by_index.update(cost.by_index)
                units.refused_writes += cost.refused_writes

    # --- what a call touched ---------------------------------------------------------------------------
    def _writes(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        if operation in WRITES:
            table = params["TableName"]
            return [(table, params.get("Key") or self._key_of(table, params["Item"]))]
        if operation == "BatchWriteItem":
            return [
                (
                    table,
                    request.get("DeleteRequest", {}).get("Key") or self._key_of(table, request["PutRequest"]["Item"]),
                )
                for table, requests in params.get("RequestItems", {}).items()
                for request in requests
            ]
        if operation == "TransactWriteItems":
            found = []
            for entry in params.get("TransactItems", []):
                ((kind, body),) = entry.items()
                if kind != "ConditionCheck":
                    found.append((body["TableName"], body.get("Key") or self._key_of(body["TableName"], body["Item"])))
            return found
        return []

    def _reads(self, operation: str, parsed: dict[str, Any], params: dict[str, Any], cost: Units) -> None:
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            table = params.get("TableName", "")
            cost.read[table] += read_units([self._size(table, parsed.get("Item"))], consistent=consistent)
        elif operation == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                cost.read[table] += read_units([self._size(table, item) for item in items], consistent=consistent)
        elif operation in ("Query", "Scan"):
            table = params.get("TableName", "")
            index = next((i for i in self._indexes(table) if i.name == params.get("IndexName")), None)
            sizes = [
                item_bytes(index.entry(self._whole(table, item)) or item)
                if index is not None and index.projection != "ALL"
                else self._size(table, item)
                for item in parsed.get("Items", [])
            ]
            cost.read[table] += read_units(sizes, whole=True, consistent=consistent)

    def _table(self, name: str) -> Any:
        return self._backend.get_table(name)

    def _key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self._table(table).table_key_attrs if name in item}

    def _item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            found = self._backend.get_item(table, key)
        except Exception:  # a table or key moto refuses: the call itself fails the same way
            return None
        return None if found is None else dict(found.to_json()["Attributes"])

    def _whole(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return self._item(table, self._key_of(table, item)) or item

    def _size(self, table: str, item: dict[str, Any] | None) -> int:
        return 0 if not item else item_bytes(self._whole(table, item))

    def _indexes(self, table: str) -> list[Index]:
        described = self._table(table).describe()["TableDescription"]
        table_keys = tuple(k["AttributeName"] for k in described["KeySchema"])
        return [
            Index(
                index["IndexName"],
                tuple(k["AttributeName"] for k in index["KeySchema"]),
                table_keys,
                index.get("Projection", {}).get("ProjectionType", "ALL"),
                tuple(index.get("Projection", {}).get("NonKeyAttributes", [])),
            )
            for index in described.get("GlobalSecondaryIndexes", [])
        ]


def _typed(key: dict[str, Any]) -> dict[str, Any]:
    """A key as DynamoDB's wire form has it: a resource's call (boto3.resource's Table) reaches the
    hook with plain values, serialized later by the resource's own handler (registered after ours)."""
    return {name: value if isinstance(value, dict) else _SERIALIZER.serialize(value) for name, value in key.items()}
