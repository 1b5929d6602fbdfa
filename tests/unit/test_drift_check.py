"""The drift check's run (services/drift.py) on in-memory ports: it reads both stores of every
posted order, waits out a store that asks it to slow down, names an order a store no longer has,
stops comparing before the invocation's time runs out, and writes nothing anywhere."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordersync.alerts.drift import FINDINGS_KEPT, DriftFindings, findings_emails
from ordersync.domain.drift import Divergence, DriftKind, compare_windows
from ordersync.domain.shipments import BuyerShipments
from ordersync.errors import StoreNotFound, StoreThrottled
from ordersync.local.fakes.shopify import order_node
from ordersync.models import DriftRequest, OrderStatus, Parcel, SellerOrderState, ShippingAddress
from ordersync.records import OrderRecord
from ordersync.services.drift import (
    COMPARES_AT_ONCE,
    DriftDependencies,
    compare_both_stores,
    compare_connection,
    request_compares,
)

from .in_memory import InMemoryConnections
from .test_process import ADDRESS, CONNECTION

SAME = ShippingAddress(name="Dana W", address1="1 Main St", city="Seattle", country_code="US")


def _record(number: int) -> OrderRecord:
    return OrderRecord(
        order_key=f"acme--northwind#{number}", connection_id=CONNECTION.connection_id, order_id=str(number),
        buyer_id="acme", buyer_name="Acme", buyer_platform="shopify", seller_id="northwind",
        seller_name="Northwind", seller_platform="woocommerce", status=OrderStatus.SYNCED,
        seller_order_id=f"S{number}", envelope={},
    )  # fmt: skip


@dataclass
class Posted:
    records: list[OrderRecord]

    def posted_since(
        self, connection_id: str, since: datetime, until: datetime | None = None, after: str | None = None
    ) -> list[OrderRecord]:
        touched = [(r, r.updated_at or since) for r in self.records]
        return [
            r
            for r, at in touched
            if since <= at and (until is None or at <= until) and (after is None or r.order_key > after)
        ]


@dataclass
class Stores:
    """One buyer shop and one seller store; `throttle` answers the next reads 429; `gone` copies
    the seller's store doesn't have; every write is a test failure (the check is read-only)."""

    throttle: int = 0
    gone: set[str] = field(default_factory=set)
    moved: set[str] = field(default_factory=set)  # copies whose address was changed by hand
    unreadable: set[str] = field(default_factory=set)  # copies with a fulfilment whose qty is "abc"
    broken: set[str] = field(default_factory=set)  # copies whose read fails in a way nobody foresaw
    reads: int = 0

    def buyer(self, store: Any) -> Stores:
        return self

    def seller(self, store: Any) -> Stores:
        return self

    def order(self, order_id: str) -> dict[str, Any]:
        return order_node(int(order_id), f"#{order_id}", [("A", "A", 1, "5.00")], ADDRESS)

    def shipments(self, order_id: str) -> BuyerShipments:
        return BuyerShipments((), None)

    def order_state(self, order_id: str) -> SellerOrderState:
        self.reads += 1
        if self.throttle:
            self.throttle -= 1
            raise StoreThrottled("GET /orders answered 429", 2.0)
        if order_id in self.gone:
            raise StoreNotFound(f"GET /orders/{order_id} answered 404")
        if order_id in self.broken:
            raise ValueError("invalid literal for int() with base 10: 'abc'")
        if order_id in self.unreadable:
            parcel = Parcel("fulfillment-7", (), unreadable="item 3's qty 'abc', not a whole number of units")
            return SellerOrderState(False, True, "processing", (parcel,))
        return SellerOrderState(False, False, "processing")

    def copy_address(self, order_id: str) -> ShippingAddress:
        return SAME.model_copy(update={"address1": "9 Wrong Way"}) if order_id in self.moved else SAME

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the drift check called {name}: it writes nothing")


def _deps(stores: Stores, records: list[OrderRecord], slept: list[float]) -> DriftDependencies:
    return DriftDependencies(
        orders=Posted(records),
        connections=InMemoryConnections({CONNECTION.connection_id: CONNECTION}),
        stores=stores,  # type: ignore[arg-type]
        clock=lambda: datetime(2026, 12, 5, tzinfo=UTC),
        sleep=slept.append,
    )


def test_a_throttling_store_is_waited_for_and_a_missing_copy_is_a_divergence() -> None:
    stores, slept = Stores(throttle=2, gone={"S2"}, moved={"S3"}), []
    report = compare_both_stores(_deps(stores, [_record(1), _record(2), _record(3)], slept))
    assert slept == [5.0, 5.0]  # the store's word, no sooner than 5 s
    assert report.compared == 3 and report.unreadable == []
    assert [(d.order_key, d.kind) for d in report.divergences] == [
        ("acme--northwind#2", DriftKind.COPY_NOT_IN_SELLER_STORE),
        ("acme--northwind#3", DriftKind.ADDRESS_DIFFERS),
    ]


def test_a_store_that_keeps_throttling_leaves_the_order_for_the_next_run_and_the_time_is_kept() -> None:
    stores, slept = Stores(throttle=10), []
    report = compare_both_stores(_deps(stores, [_record(1)], slept))
    assert report.compared == 0 and report.unreadable[0].startswith("acme--northwind#1: the store kept asking")
    left = iter([10**9, 10])  # plenty for the first round of orders read at once, nothing for the next
    records = [_record(n) for n in range(1, COMPARES_AT_ONCE + 2)]
    late = compare_both_stores(_deps(Stores(), records, []), time_left_ms=lambda: next(left))
    last = f"acme--northwind#{COMPARES_AT_ONCE + 1}"
    assert late.compared == COMPARES_AT_ONCE and late.unreadable == [f"{last}: not compared: the run's time ran out"]


def test_the_daily_run_compares_an_order_at_the_ages_it_is_told_not_on_every_day() -> None:
    """Ages 1, 7 and 30: an order last changed 10 hours, 6.5 days or 29.2 days ago is compared today;
    one changed 3 or 12 days ago is not (it was at day 1, it will be at day 7 / day 30)."""
    now = datetime(2026, 12, 5, tzinfo=UTC)
    hours = {1: 10, 2: 72, 3: 156, 4: 288, 5: 701}
    records = [_record(n).model_copy(update={"updated_at": now - timedelta(hours=h)}) for n, h in hours.items()]
    report = compare_both_stores(_deps(Stores(), records, []), ages=(1, 7, 30))
    assert report.compared == 3 and report.unreadable == []
    assert compare_both_stores(_deps(Stores(), records, [])).compared == 5  # ops' check: every one of 30 days
    assert compare_windows(now, (7, 1)) == [
        (now - timedelta(days=1), now),
        (now - timedelta(days=7), now - timedelta(days=6)),
    ]


def test_orders_compared_at_once_are_reported_in_their_order() -> None:
    moved = {f"S{n}" for n in range(1, 20, 3)}
    records = [_record(n) for n in range(1, 20)]
    report = compare_both_stores(_deps(Stores(moved=moved), records, []))
    assert [d.order_key for d in report.divergences] == [f"acme--northwind#{n}" for n in range(1, 20, 3)]


def test_an_order_a_store_shows_malformed_is_named_and_every_other_order_is_still_compared() -> None:
    stores = Stores(unreadable={"S1"}, broken={"S2"}, moved={"S3"})
    report = compare_both_stores(_deps(stores, [_record(1), _record(2), _record(3)], []))
    assert report.unreadable == [
        "acme--northwind#1: can't be compared: the seller's store shows a parcel with item 3's qty 'abc',"
        " not a whole number of units",
        "acme--northwind#2: can't be compared: ValueError",
    ]
    assert report.compared == 1 and [d.kind for d in report.divergences] == [DriftKind.ADDRESS_DIFFERS]


@dataclass
class Queued:
    requests: list[DriftRequest] = field(default_factory=list)
    findings: list[DriftFindings] = field(default_factory=list)

    def request(self, requests: Any) -> None:
        self.requests += list(requests)

    def publish_findings(self, findings: DriftFindings) -> None:
        self.findings.append(findings)


def test_the_daily_run_asks_for_each_connection_s_compare_and_each_carries_on_past_its_time() -> None:
    """Fanned out: a DriftQueue message per connection; a compare short of time asks for the rest
    from its last compared order (nothing twice, nothing left); what it found queued for the digest."""
    now = datetime(2026, 12, 5, tzinfo=UTC)
    records = [_record(n).model_copy(update={"updated_at": now - timedelta(hours=2)}) for n in range(10, 30)]
    queued = Queued()
    deps = _deps(Stores(moved={"S12", "S27"}), records, [])
    deps.requests, deps.findings = queued, queued
    assert request_compares(deps) == 1
    (first,) = queued.requests
    assert (first.connection_id, first.run_at, first.after) == (CONNECTION.connection_id, now, None)
    left = iter([10**9, 10])  # one round of orders read at once, then no time
    report = compare_connection(first, deps, (1, 7), lambda: next(left))
    assert report.compared == COMPARES_AT_ONCE
    carried = queued.requests[-1]
    assert carried.after == f"acme--northwind#{10 + COMPARES_AT_ONCE - 1}" and carried.run_at == now
    rest = compare_connection(carried, deps, (1, 7))
    assert report.compared + rest.compared == 20 and len(queued.requests) == 2  # done: no more continuations
    assert [[d.order_key for d in f.divergences] for f in queued.findings] == [
        ["acme--northwind#12"],
        ["acme--northwind#27"],
    ]
    clean = Queued()
    deps.stores, deps.requests, deps.findings = Stores(), clean, clean  # type: ignore[assignment]
    compare_connection(first, deps, (1, 7))
    assert clean.findings == [] and clean.requests == []  # nothing found: nothing queued
    gone = DriftRequest(connection_id="acme--removed", run_at=now)  # removed since the run asked
    assert compare_connection(gone, deps, (1, 7)).compared == 0 and clean.requests == []


def test_a_compare_with_no_time_for_one_order_is_retried_rather_than_carried_on_from_where_it_was() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    deps = _deps(Stores(), [_record(1).model_copy(update={"updated_at": now})], [])
    deps.requests = deps.findings = Queued()  # type: ignore[assignment]
    with pytest.raises(TimeoutError):
        compare_connection(DriftRequest(connection_id=CONNECTION.connection_id, run_at=now), deps, (1,), lambda: 10)


def test_every_connection_s_findings_in_a_dispatch_make_one_ops_digest_and_one_email_per_seller() -> None:
    def found(key: str, seller: str) -> Divergence:
        return Divergence(
            key, seller, "Acme", DriftKind.ADDRESS_DIFFERS, "1 Main St / 9 Wrong Way", "ordersync order replay"
        )

    many = [found(f"acme--northwind#{n}", "northwind") for n in range(400)]
    findings = [
        DriftFindings.of("acme--northwind", 500, many, [f"acme--northwind#{n}: 503" for n in range(200)]),
        DriftFindings.of("acme--peak", 3, [found("acme--peak#1", "peak")], []),
    ]
    assert len(findings[0].divergences) == FINDINGS_KEPT and findings[0].left_out == 400 - FINDINGS_KEPT + 50
    assert len(findings[0].model_dump_json().encode()) < 256 * 1024  # an SQS message
    emails = findings_emails(findings)
    ops = [e for e in emails if e.audience == "ops"]
    assert len(ops) == 1 and "compared 503 posted orders" in ops[0].body and "300 more, past what" in ops[0].body
    assert sorted(e.seller_id for e in emails if e.audience == "seller") == ["northwind", "peak"]
    again = findings_emails([*findings, findings[1]])  # a compare retried after it queued its findings
    assert [e.subject for e in again] == [e.subject for e in emails]  # each divergence told once


def test_a_compare_reads_the_buyer_s_and_the_seller_s_store_at_once() -> None:
    """A compare mostly waits on the two stores: their reads are in flight together (Lambda bills
    the wait). Here each store answers only once the other is being read — in turn, neither would."""
    both = threading.Barrier(2, timeout=10)

    @dataclass
    class WaitingForEachOther(Stores):
        def order(self, order_id: str) -> dict[str, Any]:
            both.wait()
            return super().order(order_id)

        def order_state(self, order_id: str) -> SellerOrderState:
            both.wait()
            return super().order_state(order_id)

    report = compare_both_stores(_deps(WaitingForEachOther(moved={"S1"}), [_record(1)], []))
    assert report.compared == 1 and report.unreadable == []
    assert [d.kind for d in report.divergences] == [DriftKind.ADDRESS_DIFFERS]
