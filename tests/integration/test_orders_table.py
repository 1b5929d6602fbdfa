"""The orders table as lock and ledger, on moto with the table the template declares: what the claim
refuses, what it answers, and what a write from a stale version does."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from ordersync.aws.orders import DynamoOrders
from ordersync.errors import ConcurrentUpdate, OrderClaimed, ResourceThrottled
from ordersync.local.stack import LocalStack
from ordersync.models import Cause, FailureReason, OrderEnvelope, OrderStatus, Platform
from ordersync.records import Attempt, OrderRecord

T0 = datetime(2026, 11, 27, 12, 20, tzinfo=UTC)
_numbers = itertools.count(1)


def _envelope(cause: Cause = Cause.PULL) -> OrderEnvelope:
    number = next(_numbers)
    return OrderEnvelope(
        connection_id="acme--northwind",
        buyer_id="acme",
        buyer_name="Acme",
        buyer_platform=Platform.SHOPIFY,
        seller_id="northwind",
        seller_name="Northwind",
        seller_platform=Platform.WOOCOMMERCE,
        order_id=str(number),
        order_number=f"#{number}",
        payload={"id": number},
        pulled_at=T0,
        cause=cause,
    )


def _attempt(name: str, at: datetime, seconds: int = 30) -> Attempt:
    return Attempt(name, at, int((at + timedelta(seconds=seconds)).timestamp() * 1000))


# Every state the claim must tell apart, as (status, reason, execution_arn, disregard_confirmed).
STATES = [
    (OrderStatus.RECEIVED, None, None, False),
    (OrderStatus.SYNCED, None, None, False),
    (OrderStatus.POSTED_MANUALLY, None, "arn:aws:states:us-east-1:123456789012:execution:m:x", False),
    (OrderStatus.CANCELLED, None, None, False),
    (OrderStatus.FAILED, FailureReason.SKU_MISMATCH, None, False),
    (
        OrderStatus.FAILED,
        FailureReason.UNSUPPORTED_PLATFORM,
        "arn:aws:states:us-east-1:123456789012:execution:m:y",
        False,
    ),
    (OrderStatus.MANUAL_POSTING_PENDING, FailureReason.UNSUPPORTED_PLATFORM, None, False),
    (
        OrderStatus.MANUAL_POSTING_PENDING,
        FailureReason.UNSUPPORTED_PLATFORM,
        "arn:aws:states:us-east-1:1:execution:m:z",
        False,
    ),
    (OrderStatus.DISREGARDED, FailureReason.MISSING_SHIPPING_ADDRESS, None, False),
    (OrderStatus.DISREGARDED, FailureReason.MISSING_SHIPPING_ADDRESS, None, True),
]


@pytest.fixture(scope="module")
def orders() -> DynamoOrders:
    with LocalStack.start({"LogLevel": "ERROR"}) as stack:
        yield DynamoOrders(stack.output("OrdersTableName"))


@pytest.mark.parametrize("entry", ["claim", "claim_seen"])
def test_the_claim_refuses_exactly_the_records_the_service_calls_settled(orders: DynamoOrders, entry: str) -> None:
    """Both ways in: the claim (which reads the record from the refused put) and the guarded update
    alone (what holds when the record was settled between that read and the update)."""
    cases = itertools.product(STATES, list(Cause), (False, True))  # reopen: a change to a posted order
    for (status, reason, execution_arn, confirmed), cause, reopen in cases:
        envelope = _envelope(cause)
        record = orders.claim(envelope, _attempt("first", T0))
        record.release()
        record.note(T0, status, reason, "set up", Cause.PROCESS)
        record.execution_arn, record.disregard_confirmed = execution_arn, confirmed
        orders.save(record)
        case = (status, reason, execution_arn, confirmed, cause, reopen)
        try:
            claimed = getattr(orders, entry)(envelope, _attempt("second", T0 + timedelta(seconds=1)), reopen)
        except OrderClaimed as refused:
            assert refused.record.settled_for(cause, reopen), case
            assert refused.record.status is status  # the refusal answers the record, without a read
        else:
            assert not claimed.settled_for(cause, reopen), case
            assert claimed.status is status and claimed.claimed_by == "second"


def test_a_live_claim_holds_off_another_attempt_until_it_lapses_and_is_then_reported(orders: DynamoOrders) -> None:
    envelope = _envelope()
    first = orders.claim(envelope, _attempt("first", T0, seconds=30))
    assert first.status is OrderStatus.RECEIVED and first.post_unconfirmed_at is None
    with pytest.raises(OrderClaimed) as refused:
        orders.claim(envelope, _attempt("second", T0 + timedelta(seconds=10)))
    assert refused.value.record.claimed_by == "first"
    assert orders.claim(envelope, _attempt("first", T0 + timedelta(seconds=1), 29)).claimed_by == "first"  # its retry
    later = orders.claim(envelope, _attempt("third", T0 + timedelta(seconds=31)))
    # the first attempt never recorded an outcome: it may have posted, up to the end of its claim
    assert later.claimed_by == "third" and later.post_unconfirmed_at == T0 + timedelta(seconds=30)


def test_two_saves_from_one_version_the_second_is_refused(orders: DynamoOrders) -> None:
    envelope = _envelope()
    record = orders.claim(envelope, _attempt("first", T0))
    stale = record.model_copy(deep=True)
    record.release()
    record.note(T0, OrderStatus.SYNCED, None, "posted as order S1", Cause.PROCESS)
    orders.save(record)
    stale.release()
    stale.note(T0, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "from an old read", Cause.PROCESS)
    with pytest.raises(ConcurrentUpdate):
        orders.save(stale)
    stored = orders.get(envelope.order_key)
    assert stored is not None and stored.status is OrderStatus.SYNCED and stored.claimed_by is None


def test_a_refused_write_leaves_the_record_at_the_version_it_was_read(orders: DynamoOrders) -> None:
    envelope = _envelope()
    record = orders.claim(envelope, _attempt("first", T0))
    version = record.version
    intruder = orders.claim(envelope, _attempt("other", T0 + timedelta(seconds=60)))  # took over after a lapse
    with pytest.raises(ConcurrentUpdate):
        orders.save(record)
    assert record.version == version and intruder.version == version + 1
    intruder.release()
    orders.save(intruder)
    assert orders.get(envelope.order_key).version == version + 2  # type: ignore[union-attr]


def test_release_frees_the_order_and_keeps_what_the_next_attempt_must_know(orders: DynamoOrders) -> None:
    envelope = _envelope()
    record = orders.claim(envelope, _attempt("first", T0))
    record.post_unconfirmed_at = T0 + timedelta(seconds=2)
    orders.release(record)
    next_one = orders.claim(envelope, _attempt("second", T0 + timedelta(seconds=3)))  # not held off: released
    assert next_one.post_unconfirmed_at == T0 + timedelta(seconds=2)
    assert orders.get(envelope.order_key) is not None
    assert OrderRecord.model_validate(next_one.model_dump()).claimed_by == "second"


@pytest.fixture(scope="module")
def paged(orders: DynamoOrders) -> set[str]:
    """~4 KB failed orders of one seller, incompressible: more than one 1 MB page of the table."""
    keys = set()
    for _ in range(300):
        record = OrderRecord.first_seen(_envelope(), T0)
        record.seller_id = "pagewind"
        record.envelope["payload"] = {"noise": os.urandom(5000).hex()}
        record.note(T0, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "SKU X not found", Cause.PROCESS)
        orders.save(record)
        keys.add(record.order_key)
    return keys


def test_a_query_past_its_first_page_returns_every_order(orders: DynamoOrders, paged: set[str]) -> None:
    """DynamoDB answers a query 1 MB at a time; the catalog sync replays from this list: the keys
    from the keys-only index, every page (moto pages it by the whole items, so 300 do), then the
    records whole, 100 a BatchGetItem."""
    found = orders.by_seller_status("pagewind", OrderStatus.FAILED)
    assert {r.order_key for r in found} == paged
    assert all(r.envelope.get("payload", {}).get("noise") for r in found)  # whole records, not the index's keys
    first_page = orders._table.query(  # the paging really happened
        IndexName="by_seller_status_keys",
        KeyConditionExpression="seller_id = :s AND #st = :f",
        ExpressionAttributeNames={"#st": "status"},
        ExpressionAttributeValues={":s": "pagewind", ":f": "FAILED"},
    )
    assert "LastEvaluatedKey" in first_page and len(first_page["Items"]) < 300


def test_a_release_by_an_attempt_that_lost_its_claim_leaves_the_new_claim_alone(orders: DynamoOrders) -> None:
    envelope = _envelope()
    late = orders.claim(envelope, _attempt("late", T0))
    orders.claim(envelope, _attempt("taker", T0 + timedelta(seconds=60)))  # the late one's claim lapsed
    orders.release(late)  # its refused release is not an error: there is nothing of its own to free
    with pytest.raises(OrderClaimed) as refused:
        orders.claim(envelope, _attempt("third", T0 + timedelta(seconds=61)))
    assert refused.value.record.claimed_by == "taker"


def test_a_released_order_is_free_at_once_and_its_record_can_still_be_written(orders: DynamoOrders) -> None:
    envelope = _envelope()
    record = orders.claim(envelope, _attempt("first", T0))
    orders.release(record)
    again = orders.claim(envelope, _attempt("second", T0 + timedelta(seconds=1)))  # within first's 30 s
    assert again.claimed_by == "second" and again.post_unconfirmed_at is None
    orders.release(again)
    again.note(T0, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "SKU X not found", Cause.PROCESS)
    orders.save(again)  # the release moved the version on exactly as the table did
    again.note(T0, OrderStatus.SYNCED, None, "posted as order S1", Cause.REPLAY)
    orders.save(again)  # and so did the save: ops' next edit goes through
    assert orders.get(envelope.order_key).status is OrderStatus.SYNCED  # type: ignore[union-attr]


def test_a_record_written_twice_as_new_is_refused_the_second_time(orders: DynamoOrders) -> None:
    """A record saved without a claim (version 0) must not overwrite one that appeared meanwhile."""
    envelope = _envelope()
    first, second = OrderRecord.first_seen(envelope, T0), OrderRecord.first_seen(envelope, T0)
    first.note(T0, OrderStatus.SYNCED, None, "posted as order S1", Cause.PROCESS)
    orders.save(first)
    second.note(T0, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "SKU X not found", Cause.PROCESS)
    with pytest.raises(ConcurrentUpdate, match=envelope.order_key):
        orders.save(second)
    assert orders.get(envelope.order_key).status is OrderStatus.SYNCED  # type: ignore[union-attr]


def test_an_unknown_order_reads_as_none(orders: DynamoOrders) -> None:
    assert orders.get("acme--northwind--no-such-order") is None


def test_a_failed_order_keeps_its_buyer_payload_for_the_replay_and_a_synced_one_drops_it(orders: DynamoOrders) -> None:
    failed, synced = _envelope(), _envelope()
    for envelope, status in ((failed, OrderStatus.FAILED), (synced, OrderStatus.SYNCED)):
        record = orders.claim(envelope, _attempt("first", T0))
        record.release()
        record.note(T0, status, None, "outcome", Cause.PROCESS)
        orders.save(record)
    assert orders.get(failed.order_key).envelope == failed.model_dump(mode="json")  # type: ignore[union-attr]
    assert orders.get(synced.order_key).envelope == {}  # type: ignore[union-attr]


def test_the_claim_writes_no_payload_the_message_carries_it(orders: DynamoOrders) -> None:
    """A claim is one small write: the payload is stored only with an outcome that may be replayed."""
    envelope = _envelope()
    orders.claim(envelope, _attempt("first", T0))
    assert orders.get(envelope.order_key).envelope == {}  # type: ignore[union-attr]


def test_a_big_failed_order_is_stored_compressed_at_a_fraction_of_its_write_units(orders: DynamoOrders) -> None:
    """DynamoDB bills a write per KB of the item: a 2,000-line order (near SQS's 256 KB, the largest
    that can arrive) is kept for its replay, in under a third of the units its JSON would cost."""
    envelope = _envelope()
    lines = [{"sku": f"SKU-{n:05d}", "title": "Cotton tee, heather grey, size M", "quantity": 1} for n in range(2000)]
    envelope.payload = {"id": envelope.order_id, "line_items": lines}
    record = orders.claim(envelope, _attempt("first", T0))
    record.envelope = envelope.model_dump(mode="json")
    record.release()
    record.note(T0, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "SKU-00001 not found", Cause.PROCESS)
    orders.save(record)
    assert orders.get(envelope.order_key).envelope["payload"]["line_items"] == lines  # type: ignore[union-attr]
    stored = orders._table.get_item(Key={"order_key": envelope.order_key})["Item"]
    assert _item_size(stored) < len(json.dumps(record.envelope)) / 3


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (binary as its bytes, the rest as text)."""
    return sum(
        len(name) + (len(bytes(value)) if hasattr(value, "value") else len(json.dumps(value, default=str)))
        for name, value in item.items()
    )


def test_a_settled_order_is_refused_in_one_call(orders: DynamoOrders) -> None:
    """Every redelivery of a synced order costs one DynamoDB call, no more (the bench's calls/order)."""
    envelope = _envelope()
    record = orders.claim(envelope, _attempt("first", T0))
    record.release()
    record.note(T0, OrderStatus.SYNCED, None, "posted as order S1", Cause.PROCESS)
    orders.save(record)
    calls: list[str] = []
    events = orders._table.meta.client.meta.events
    events.register("before-call.dynamodb", _count(calls), unique_id="count-calls")
    try:
        with pytest.raises(OrderClaimed):
            orders.claim(envelope, _attempt("redelivery", T0 + timedelta(minutes=5)))
    finally:
        events.unregister("before-call.dynamodb", unique_id="count-calls")
    assert calls == ["PutItem"]


def _count(calls: list[str]) -> Any:
    def counted(model: Any, **_: Any) -> None:
        calls.append(model.name)

    return counted


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _throttled_table(orders: DynamoOrders, trouble: str) -> DynamoOrders:
    """The same table through a client whose every call DynamoDB throttles (or the network drops),
    without botocore's retries: what the adapter makes of it."""
    resource = boto3.resource("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 1}))

    def refuse(request: Any, **_: Any) -> AWSResponse:
        if trouble == "network":
            raise EndpointConnectionError(endpoint_url=request.url)
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow"})
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, _Body(body.encode()))

    resource.meta.client.meta.events.register("before-send.dynamodb", refuse)
    return DynamoOrders(orders._table.name, resource)


_OPERATIONS = [
    pytest.param("order claim", lambda o, e: o.claim(e, _attempt("first", T0)), id="claim"),
    pytest.param("order claim", lambda o, e: o.claim_seen(e, _attempt("first", T0)), id="claim_seen"),
    pytest.param("order release", lambda o, e: o.release(OrderRecord.first_seen(e, T0)), id="release"),
    pytest.param("order read", lambda o, e: o.get(e.order_key), id="get"),
    pytest.param("order write", lambda o, e: o.save(OrderRecord.first_seen(e, T0)), id="save"),
    pytest.param("order query", lambda o, e: o.by_seller_status("northwind", OrderStatus.FAILED), id="query"),
    pytest.param("order query", lambda o, e: o.statuses_since("acme--northwind", T0), id="last_day"),
    pytest.param("order scan", lambda o, e: o.all(), id="scan"),
]


@pytest.mark.parametrize("trouble", ["ThrottlingException", "network"])
@pytest.mark.parametrize(("what", "operation"), _OPERATIONS)
def test_a_throttled_call_is_transient_and_says_which_order_operation_it_was(
    orders: DynamoOrders, what: str, operation: Any, trouble: str
) -> None:
    """Transient: the message goes back to the queue instead of failing the order; the reason names
    the call so ops know which table call was refused."""
    said = "EndpointConnectionError" if trouble == "network" else trouble
    with pytest.raises(ResourceThrottled, match=f"^{what}: {said}$"):
        operation(_throttled_table(orders, trouble), _envelope())


def test_ops_find_every_order_past_the_first_page_of_the_scan(orders: DynamoOrders, paged: set[str]) -> None:
    """`ordersync orders show` scans the table; an order beyond its first 1 MB page must be found."""
    assert "LastEvaluatedKey" in orders._table.scan(Select="COUNT")  # the scan really pages
    assert paged <= {record.order_key for record in orders.all()}


def test_a_connections_last_day_counts_each_order_by_its_latest_status(orders: DynamoOrders) -> None:
    """`connection list`: the by_connection index, from the last timeline entry's time, other
    connections' orders apart."""
    now = datetime.now(UTC)

    def order(connection_id: str, status: OrderStatus, at: datetime) -> None:
        envelope = _envelope().model_copy(update={"connection_id": connection_id})
        record = OrderRecord.first_seen(envelope, at - timedelta(minutes=5))
        record.note(at, status, None, "outcome", Cause.PROCESS)
        orders.save(record)

    order("daily--north", OrderStatus.SYNCED, now - timedelta(hours=2))
    order("daily--north", OrderStatus.SYNCED, now - timedelta(hours=23))
    order("daily--north", OrderStatus.FAILED, now - timedelta(minutes=1))
    order("daily--north", OrderStatus.SYNCED, now - timedelta(hours=25))  # older than a day
    order("other--north", OrderStatus.FAILED, now)
    statuses = orders.statuses_since("daily--north", now - timedelta(hours=24))
    assert sorted(statuses) == [OrderStatus.FAILED, OrderStatus.SYNCED, OrderStatus.SYNCED]


def test_an_order_enters_each_index_once_with_its_outcome_and_its_parcel_moves_none(stack: LocalStack) -> None:
    """`make bench`'s whole life, write by write on the real table: a new order's claim is in no
    index (no status, no updated_at: read back, it is RECEIVED); its outcome enters each index once
    — not at the claim and again as the key moves —; a parcel written (a log entry, no change of
    state) moves no index key; the record stays one write unit throughout (its lines compressed)."""
    from ordersync.local.capacity_meter import CapacityMeter
    from ordersync.models import PostedLine
    from ordersync.records import LineView, ParcelEntry

    meter = CapacityMeter("us-east-1").install()
    orders = DynamoOrders(stack.output("OrdersTableName"), boto3.resource("dynamodb"))
    table = stack.output("OrdersTableName")
    envelope = _envelope()
    with meter.metering() as claim:
        record = orders.claim(envelope, _attempt("a1", T0))
    assert claim.by_index == {"by_seller_status_keys": 0, "by_connection": 0, "by_seller_copy": 0}
    read_back = orders.get(envelope.order_key)
    assert read_back is not None and read_back.status is OrderStatus.RECEIVED and read_back.claimed_by == "a1"
    record.lines = [LineView(line_id=f"1440{i}88273", sku=f"NW-SKU-{i}", title=f"Product {i}", quantity=1,
                             outcome="matched") for i in range(3)]  # fmt: skip
    record.posted_lines = [PostedLine(buyer_line_id=f"1440{i}88273", variant_id=f"48{i}", quantity=1) for i in range(3)]
    record.seller_order_id = "9001"
    record.note(T0 + timedelta(seconds=2), OrderStatus.SYNCED, None, "posted as order 9001", Cause.PULL)
    record.release()
    with meter.metering() as outcome:
        orders.save(record)
    assert outcome.by_index == {"by_seller_status_keys": 1, "by_connection": 1, "by_seller_copy": 1}
    assert outcome.write[table] == 1
    record.parcels = [ParcelEntry(key="northwind:9001-1", carrier="UPS", tracking_number="1Z999AA10123456784",
                                  lines=[(f"1440{i}88273", 1) for i in range(3)], in_buyer_store_at=T0)]  # fmt: skip
    record.log(T0 + timedelta(days=1), "parcel 1Z999AA10123456784 written into the buyer's store", Cause.PROCESS)
    with meter.metering() as parcel:
        orders.save(record)
    assert parcel.by_index == {"by_seller_status_keys": 0, "by_connection": 0, "by_seller_copy": 0}
    assert parcel.write[table] == 1
    again = orders.get(envelope.order_key)
    assert again is not None and (again.lines, again.posted_lines, again.parcels) == (
        record.lines, record.posted_lines, record.parcels
    )  # fmt: skip
    assert again.updated_at == T0 + timedelta(seconds=2)  # the parcel is no change of state
