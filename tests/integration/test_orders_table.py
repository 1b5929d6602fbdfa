"""The orders table as lock and ledger, on moto with the table the template declares: what the claim
refuses, what it answers, and what a write from a stale version does."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from ordersync.aws.orders import DynamoOrders
from ordersync.errors import ConcurrentUpdate, OrderClaimed
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
    for (status, reason, execution_arn, confirmed), cause in itertools.product(STATES, list(Cause)):
        envelope = _envelope(cause)
        record = orders.claim(envelope, _attempt("first", T0))
        record.release()
        record.note(T0, status, reason, "set up", Cause.PROCESS)
        record.execution_arn, record.disregard_confirmed = execution_arn, confirmed
        orders.save(record)
        try:
            claimed = getattr(orders, entry)(envelope, _attempt("second", T0 + timedelta(seconds=1)))
        except OrderClaimed as refused:
            assert refused.record.settled_for(cause), (status, reason, execution_arn, confirmed, cause)
            assert refused.record.status is status  # the refusal answers the record, without a read
        else:
            assert not claimed.settled_for(cause), (status, reason, execution_arn, confirmed, cause)
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


def test_a_query_past_its_first_page_returns_every_order(orders: DynamoOrders) -> None:
    """DynamoDB answers a query 1 MB at a time; the catalog sync replays from this list."""
    import os

    keys = set()
    for _ in range(300):  # ~4 KB each, incompressible: more than a 1 MB page
        record = OrderRecord.first_seen(_envelope(), T0)
        record.seller_id = "pagewind"
        record.envelope["payload"] = {"noise": os.urandom(5000).hex()}
        record.note(T0, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "SKU X not found", Cause.PROCESS)
        orders.save(record)
        keys.add(record.order_key)
    found = orders.by_seller_status("pagewind", OrderStatus.FAILED)
    assert {r.order_key for r in found} == keys
    first_page = orders._table.query(  # the paging really happened
        IndexName="by_seller_status",
        KeyConditionExpression="seller_id = :s AND #st = :f",
        ExpressionAttributeNames={"#st": "status"},
        ExpressionAttributeValues={":s": "pagewind", ":f": "FAILED"},
    )
    assert "LastEvaluatedKey" in first_page and len(first_page["Items"]) < 300
