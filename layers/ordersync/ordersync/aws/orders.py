"""The orders table: one item per buyer order (per connection). The item is both the lock and the
ledger: an attempt claims it before it does anything (one conditional UpdateItem), and records its
outcome with one conditional PutItem that also releases the claim."""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from ordersync.aws import clients
from ordersync.aws.errors import all_items, aws_errors, error_code
from ordersync.errors import ConcurrentUpdate, OrderClaimed
from ordersync.models import Cause, OrderEnvelope, OrderStatus, iso
from ordersync.records import Attempt, OrderRecord

_CLAIM_FIELDS = ("claimed_by", "claimed_at", "claim_until_ms")
_NO_LIVE_CLAIM = "(attribute_not_exists(claim_until_ms) OR claim_until_ms <= :started OR claimed_by = :attempt)"
_SETTLED_VALUES = {
    ":synced": OrderStatus.SYNCED.value,
    ":posted": OrderStatus.POSTED_MANUALLY.value,
    ":cancelled": OrderStatus.CANCELLED.value,
    ":pending": OrderStatus.MANUAL_POSTING_PENDING.value,
    ":disregarded": OrderStatus.DISREGARDED.value,
    ":failed": OrderStatus.FAILED.value,
    ":string": "S",
    ":true": True,
}
_deserialize = TypeDeserializer().deserialize
# The statuses of an order in a seller's store (posted, by us or by hand, or cancelled after)
IN_SELLER_STORE = (OrderStatus.SYNCED.value, OrderStatus.POSTED_MANUALLY.value, OrderStatus.CANCELLED.value)
_PACKED = ("lines", "posted_lines", "parcels")  # kept as one compressed attribute, lines_z
# What every lines_z holds (its field names, its common values), given to zlib as a preset
# dictionary: a few lines are too short to compress their own names away. Never changed in place —
# every record written reads with it; another dictionary would be another attribute.
_LINES_ZDICT = (
    b'"in_buyer_store_at":"20","tracking_url":"https://","tracking_number":"","carrier":"","key":"'
    b'"parcels":[{"lines":[["","buyer_line_id":"","variant_id":"","seller_line_id":"","quantity":1}'
    b'"posted_lines":[{"outcome":"matched"},{"line_id":"","sku":"","title":"","quantity":1,'
    b'{"lines":[{"line_id":"'
)


def _claim_condition(cause: Cause, reopen: bool = False) -> tuple[str, dict[str, Any]]:
    """An existing record is claimable when free (no live claim) and not settled for this cause. The
    settled part is OrderRecord.settled_for in DynamoDB's words (a test holds the two together): a
    record settled since it was read refuses the claim, and nothing is written. Returns the
    expression and the values it names."""
    settled = [
        "#status IN (:posted, :cancelled)" if reopen else "#status IN (:synced, :posted, :cancelled)",
        "(#status = :pending AND attribute_type(execution_arn, :string))",
        "(#status = :disregarded AND disregard_confirmed = :true)",
    ]
    values = {k: v for k, v in _SETTLED_VALUES.items() if k != ":failed" and not (reopen and k == ":synced")}
    if cause is not Cause.REPLAY:  # a manual flow that ended is only restarted by ops
        settled.append("(#status = :failed AND attribute_type(execution_arn, :string))")
        values[":failed"] = _SETTLED_VALUES[":failed"]
    return f"attribute_exists(order_key) AND {_NO_LIVE_CLAIM} AND NOT ({' OR '.join(settled)})", values


class DynamoOrders:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        self._resource = resource or clients.dynamodb()
        self._table = self._resource.Table(table_name)

    def claim(
        self, envelope: OrderEnvelope, attempt: Attempt, reopen: bool = False, create: bool = True
    ) -> OrderRecord:
        """Claims the order for `attempt` and answers the record as it was, with this attempt's claim
        on it; raises OrderClaimed, carrying the record, when it is settled or another attempt's
        claim is live. A new order costs one call: its RECEIVED record, claimed, put if absent. An
        order seen before: the refused put answers the record (settled or held: done, in one call),
        then one conditional update takes the claim. create=False: only an existing record is claimed
        (the one conditional update; LookupError when there is none)."""
        if not create:
            return self.claim_seen(envelope, attempt, reopen)
        record = OrderRecord.first_seen(envelope, attempt.started_at)
        record.take_over(attempt)
        try:
            with aws_errors("order claim"):
                self._table.put_item(
                    Item=claim_item(record),
                    ConditionExpression="attribute_not_exists(order_key)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            seen = _record({name: _deserialize(value) for name, value in error.response["Item"].items()})
            if seen.settled_for(envelope.cause, reopen) or attempt.blocked_by(seen):
                raise OrderClaimed(seen) from None
            return self.claim_seen(envelope, attempt, reopen)
        record.version = 1
        return record

    def claim_seen(self, envelope: OrderEnvelope, attempt: Attempt, reopen: bool = False) -> OrderRecord:
        """The claim on an existing record, guarded in DynamoDB against a claim or a settling write
        that came in since it was read."""
        condition, settled_values = _claim_condition(envelope.cause, reopen)
        values: dict[str, Any] = {
            ":started": attempt.started_ms,
            ":attempt": attempt.attempt_id,
            ":claimed_at": attempt.started_at.isoformat(),
            ":until": attempt.until_ms,
            ":one": 1,
            **settled_values,
        }
        try:
            with aws_errors("order claim"):
                old = self._table.update_item(
                    Key={"order_key": envelope.order_key},
                    UpdateExpression="SET claimed_by = :attempt, claimed_at = :claimed_at, claim_until_ms = :until"
                    " ADD version :one",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_OLD",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )["Attributes"]
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                if "Item" not in error.response:
                    raise LookupError(f"no order {envelope.order_key}") from None
                item = {name: _deserialize(value) for name, value in error.response["Item"].items()}
                raise OrderClaimed(_record(item)) from None
            raise
        record = _record(old)
        record.take_over(attempt)
        record.version += 1
        return record

    def discard(self, record: OrderRecord) -> None:
        """Deletes the record this attempt's claim made, unless anybody touched it since."""
        try:
            with aws_errors("order discard"):
                self._table.delete_item(
                    Key={"order_key": record.order_key},
                    ConditionExpression=Attr("claimed_by").eq(record.claimed_by) & Attr("version").eq(record.version),
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            self.release(record)  # touched since: kept, and freed

    def key_of_seller_copy(self, seller_id: str, seller_order_id: str) -> str | None:
        """By the by_seller_copy index (keys only): the order posted as this seller order."""
        with aws_errors("order query"):
            items = self._table.query(
                IndexName="by_seller_copy",
                KeyConditionExpression=Key("seller_copy").eq(seller_copy(seller_id, seller_order_id)),
                Limit=1,
            )["Items"]
        return str(items[0]["order_key"]) if items else None

    def claim_posted(self, order_key: str, attempt: Attempt, copy: tuple[str, str]) -> OrderRecord:
        """The claim on an order in a seller's store (SYNCED, POSTED_MANUALLY, or CANCELLED after
        it) as `copy` (seller id, seller order id): free, and with that seller order. OrderClaimed
        while another claim is live; LookupError when the order is not that copy."""
        values: dict[str, Any] = {
            ":started": attempt.started_ms,
            ":attempt": attempt.attempt_id,
            ":claimed_at": attempt.started_at.isoformat(),
            ":until": attempt.until_ms,
            ":one": 1,
            ":synced": OrderStatus.SYNCED.value,
            ":posted": OrderStatus.POSTED_MANUALLY.value,
            ":cancelled": OrderStatus.CANCELLED.value,
            ":copy": seller_copy(*copy),
        }
        try:
            with aws_errors("order claim"):
                old = self._table.update_item(
                    Key={"order_key": order_key},
                    UpdateExpression="SET claimed_by = :attempt, claimed_at = :claimed_at, claim_until_ms = :until"
                    " ADD version :one",
                    ConditionExpression=f"seller_copy = :copy AND {_NO_LIVE_CLAIM}"
                    " AND #status IN (:synced, :posted, :cancelled)",  # IN_SELLER_STORE
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_OLD",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )["Attributes"]
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            item = {name: _deserialize(value) for name, value in (error.response.get("Item") or {}).items()}
            seen = _record(item) if item else None
            if seen is not None and (seen.seller_id, seen.seller_order_id) == copy and attempt.blocked_by(seen):
                raise OrderClaimed(seen) from None
            raise LookupError(f"order {order_key} is not seller order {copy[1]}") from None
        record = _record(old)
        record.take_over(attempt, writes_looked_for_since=True)
        record.version += 1
        return record

    def release(self, record: OrderRecord) -> None:
        """Frees the order without recording anything new (the attempt found nothing to change)."""
        attempt = record.claimed_by
        values: dict[str, Any] = {":one": 1}
        keep = ""
        if record.post_unconfirmed_at is not None:  # what the next attempt must know before it posts
            values[":unconfirmed"] = record.post_unconfirmed_at.isoformat()
            keep = " SET post_unconfirmed_at = :unconfirmed"
        try:
            with aws_errors("order release"):
                self._table.update_item(
                    Key={"order_key": record.order_key},
                    UpdateExpression=f"REMOVE claimed_by, claimed_at, claim_until_ms{keep} ADD version :one",
                    ConditionExpression=Attr("claimed_by").eq(attempt),
                    ExpressionAttributeValues=values,
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            # another attempt took the order after this one's claim lapsed: nothing of ours to free
        else:
            record.version += 1
        record.release()

    def get(self, order_key: str) -> OrderRecord | None:
        with aws_errors("order read"):
            item = self._table.get_item(Key={"order_key": order_key}, ConsistentRead=True).get("Item")
        return None if item is None else _record(item)

    def save(self, record: OrderRecord) -> None:
        """Writes the whole record if nobody wrote it since it was read or claimed (every claim and
        every write moves the version on). The claim is written as the record holds it: the
        processing path releases it before it records an outcome; ops' edits leave it alone."""
        expected = record.version
        condition = Attr("order_key").not_exists() if expected == 0 else Attr("version").eq(expected)
        item = table_item(record) | {"version": expected + 1}
        try:
            with aws_errors("order write"):
                self._table.put_item(Item=item, ConditionExpression=condition)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(f"order {record.order_key} changed while it was processed") from error
            raise
        # Only a write that happened moves the record on: a refused or throttled one leaves it as read.
        record.version = expected + 1

    def by_seller_status(self, seller_id: str, status: OrderStatus) -> list[OrderRecord]:
        """A seller's orders of one status: the keys from by_seller_status_keys, then the records
        (read after the index: one whose status has moved on since is left out)."""
        condition = Key("seller_id").eq(seller_id) & Key("status").eq(status.value)
        items = all_items(
            self._table.query, "order query", IndexName="by_seller_status_keys", KeyConditionExpression=condition
        )
        records = self._batch_get([str(item["order_key"]) for item in items])
        return sorted((r for r in records if r.status is status), key=lambda r: r.order_key)

    def statuses_since(self, connection_id: str, since: datetime) -> list[OrderStatus]:
        """The status of each of a connection's orders last touched since `since` (the index holds
        only the status: a day of a busy connection is a few pages)."""
        return [OrderStatus(item["status"]) for item in self._touched_since(connection_id, since, "#status")]

    def posted_since(
        self, connection_id: str, since: datetime, until: datetime | None = None, after: str | None = None
    ) -> list[OrderRecord]:
        """A connection's orders in a seller's store (SYNCED, POSTED_MANUALLY, CANCELLED after it)
        last touched since `since` (before `until`), past the key `after`: the by_connection index's
        keys, then the records by BatchGetItem."""
        items = self._touched_since(connection_id, since, "order_key, #status", until)
        keys = [
            str(item["order_key"])
            for item in items
            if item["status"] in IN_SELLER_STORE and (after is None or str(item["order_key"]) > after)
        ]
        records = [r for r in self._batch_get(keys) if r.seller_order_id]
        return sorted(records, key=lambda r: r.order_key)

    def _touched_since(
        self, connection_id: str, since: datetime, projection: str, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        touched = (
            Key("updated_at").gte(iso(since)) if until is None else Key("updated_at").between(iso(since), iso(until))
        )
        condition = Key("connection_id").eq(connection_id) & touched
        return all_items(
            self._table.query,
            "order query",
            IndexName="by_connection",
            KeyConditionExpression=condition,
            ProjectionExpression=projection,
            ExpressionAttributeNames={"#status": "status"},
        )

    def _batch_get(self, keys: list[str]) -> list[OrderRecord]:
        found: list[OrderRecord] = []
        for start in range(0, len(keys), 100):  # BatchGetItem's most keys per call
            request = {self._table.name: {"Keys": [{"order_key": k} for k in keys[start : start + 100]]}}
            while request:
                with aws_errors("order batch read"):
                    answer = self._resource.batch_get_item(RequestItems=request)
                found += [_record(item) for item in answer["Responses"].get(self._table.name, [])]
                request = answer.get("UnprocessedKeys") or {}
        return found

    def all(self) -> list[OrderRecord]:
        return [_record(item) for item in all_items(self._table.scan, "order scan")]


def table_item(record: OrderRecord, with_envelope: bool = True) -> dict[str, Any]:
    # Defaults (None, "", [], 0, False) are left out: absent, not NULL, for the conditions that test
    # them, and a smaller item (DynamoDB bills every attribute name); reading restores them.
    item = record.model_dump(mode="json", exclude={"envelope", *_PACKED}, exclude_defaults=True)
    # The detail is most often the last timeline entry's words: kept once, there (read, restored).
    last = record.timeline[-1].detail if record.timeline else ""
    if record.detail and record.detail == last:
        del item["detail"]
    elif not record.detail and last:
        item["detail"] = ""  # none, though the last entry has words (a log entry after it)
    # The lines, as bought and as posted, and the parcels: read whole by our code, never named by a
    # condition, an index or the manual posting flow's updates (which append to `timeline`), and most
    # of an item's bytes — kept compressed, a 3-line order's record is one write unit, not two.
    if packed := record.model_dump(mode="json", include=set(_PACKED), exclude_defaults=True):
        compressor = zlib.compressobj(9, zdict=_LINES_ZDICT)
        text = json.dumps(packed, separators=(",", ":")).encode()
        item["lines_z"] = compressor.compress(text) + compressor.flush()
    if record.seller_order_id:  # the by_seller_copy index: a seller's order back to ours
        item["seller_copy"] = seller_copy(record.seller_id, record.seller_order_id)
    # The buyer's payload is kept for replays (compressed, it costs a third of the write units), and
    # only while the order may be replayed: a synced order never is, and the claim doesn't need it
    # (the message carries it until an outcome is recorded).
    if with_envelope and record.status is not OrderStatus.SYNCED and record.envelope:
        item["envelope_z"] = zlib.compress(json.dumps(record.envelope).encode(), 6)
    return item


def claim_item(record: OrderRecord) -> dict[str, Any]:
    """A new order's claim: its RECEIVED record without `status` and `updated_at` (read back, the
    status is RECEIVED), the keys of by_seller_status_keys and by_connection — so the order enters
    those indexes once, with its outcome, rather than at the claim and again as its key moves (one
    index write each instead of three: `make bench`'s whole life). An order mid-claim for seconds is
    in neither; nothing asks them for RECEIVED orders."""
    assert record.status is OrderStatus.RECEIVED
    item = table_item(record, with_envelope=False) | {"version": 1}
    del item["status"], item["updated_at"]
    return item


def seller_copy(seller_id: str, seller_order_id: str) -> str:
    return f"{seller_id}#{seller_order_id}"


def _record(item: dict[str, Any]) -> OrderRecord:
    fields = dict(item)
    fields.pop("seller_copy", None)
    fields.setdefault("status", OrderStatus.RECEIVED.value)  # a new order's claim carries none: claim_item
    if "detail" not in fields and fields.get("timeline"):  # kept once, as the last entry's (table_item)
        fields["detail"] = fields["timeline"][-1].get("detail", "")
    if (lines := fields.pop("lines_z", None)) is not None:
        fields |= json.loads(zlib.decompressobj(zdict=_LINES_ZDICT).decompress(bytes(lines)).decode())
    packed = fields.pop("envelope_z", None)
    fields["envelope"] = json.loads(zlib.decompress(bytes(packed)).decode()) if packed is not None else {}
    return OrderRecord.model_validate(fields)
