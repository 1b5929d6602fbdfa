"""The seller's parcels into the buyer's store: the pure mapping and look-up (domain/shipments.py,
domain/carriers.py) and the service's discipline (services/shipments.py) on in-memory ports."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordersync.domain.carriers import CARRIERS, Carrier, carrier_named
from ordersync.domain.edits import copy_lines, with_copy_line_ids
from ordersync.domain.shipments import (
    BuyerShipment,
    BuyerShipments,
    Found,
    Misfit,
    already_there,
    buyer_lines,
    lines_left,
    parcel_ref,
    shipment_ids,
)
from ordersync.errors import (
    BuyerOrderWaiting,
    InvalidOrder,
    ResourceThrottled,
    RetryLater,
    StoreRejected,
    StoreThrottled,
    StoreUnavailable,
)
from ordersync.models import (
    BuyerParcel,
    CopyLine,
    FailureReason,
    OrderStatus,
    Parcel,
    ParcelLine,
    PostedLine,
    ShipmentRequest,
    StoreRef,
)
from ordersync.records import Attempt
from ordersync.services.process import ProcessDependencies, process_message
from ordersync.services.shipment_sync import ShipmentSyncDependencies, check, sync_shipments_batch
from ordersync.services.shipments import ShipmentDependencies, check_seller_copy

from .catalog_builders import LambdaContext, sqs_record, store_ref
from .in_memory import FakeStores, RecordingDeadLetters
from .test_process import deps as process_deps  # noqa: F401  (the fixture)
from .test_process import message

POSTED = [
    PostedLine(buyer_line_id="1", variant_id="V1", quantity=2),
    PostedLine(buyer_line_id="2", variant_id="V1", quantity=1),
]


# --- the mapping ----------------------------------------------------------------------------------


def test_a_parcel_maps_back_line_by_line_through_the_variant_it_was_posted_as() -> None:
    parcel = Parcel("p1", (ParcelLine("V1", 3),))
    assert buyer_lines(parcel, POSTED, {}) == (("1", 2), ("2", 1))  # two buyer lines of one variant, in order
    assert buyer_lines(parcel, POSTED, {"1": 1}) == Misfit(
        "1 unit(s) of variant V1 more than the buyer's order has left to ship"
    )
    assert buyer_lines(Parcel("p2", (ParcelLine("V9", 1),)), POSTED, {}) == Misfit(
        "variant V9 is on no line of the buyer's order"
    )
    assert buyer_lines(Parcel("c", (), whole_order=True), POSTED, {"1": 2}) == (("2", 1),)  # what is left
    assert buyer_lines(Parcel("c", (), whole_order=True), POSTED, {"1": 2, "2": 1}) == ()


def test_a_parcel_line_maps_to_the_buyer_line_posted_as_that_very_line_of_the_copy() -> None:
    """The copy's line ids kept at the post: the seller's second line is the buyer's second line
    (never the first of the same variant), and a line whose variant was deleted still maps."""
    kept = [line.model_copy(update={"seller_line_id": f"L{line.buyer_line_id}"}) for line in POSTED]
    assert buyer_lines(Parcel("p1", (ParcelLine("V1", 1, "L2"),)), kept, {}) == (("2", 1),)
    assert buyer_lines(Parcel("p1", (ParcelLine("0", 2, "L1"),)), kept, {}) == (("1", 2),)  # variant deleted
    assert buyer_lines(Parcel("p1", (ParcelLine("V1", 1, "L9"),)), kept, {}) == (("1", 1),)  # unknown id: by variant
    assert buyer_lines(Parcel("p1", (ParcelLine("V1", 2, "L2"),)), kept, {}) == Misfit(
        "1 unit(s) of variant V1 more than the buyer's order has left to ship"
    )


def test_a_change_finds_the_copy_s_line_by_its_id_else_by_its_place_among_its_variant_s_lines() -> None:
    copy = [("11", "V1", 2), ("12", "V1", 0), ("13", "V1", 4), ("14", "V2", 1)]
    lines = copy_lines([*POSTED, PostedLine(buyer_line_id="3", variant_id="V1", quantity=4)])
    assert [lines[b].nth for b in ("1", "2", "3")] == [0, 1, 2]
    assert CopyLine("V1", nth=1).find(copy) == "13"  # a line at 0 units is no longer one of them
    assert CopyLine("V1", nth=2).find(copy) is None
    assert CopyLine("V1", "12").find(copy) == "12" and CopyLine("V1", "99").find(copy) is None  # by id: that one only
    with_ids = with_copy_line_ids(POSTED, (("2", "12"),))
    assert [line.seller_line_id for line in with_ids] == [None, "12"]


def test_the_buyer_store_holds_a_parcel_by_our_key_its_tracking_or_else_by_hand() -> None:
    lines = (("1", 2),)
    ours = BuyerShipment("s1", None, "northwind:p1", lines)
    assert already_there("northwind:p1", None, lines, [ours], None) == (Found.OURS, ours)
    by_ref = BuyerShipment("n1", None, parcel_ref("northwind:p1"), ())
    assert already_there("northwind:p1", None, lines, [by_ref], None)[0] is Found.OURS
    by_hand = BuyerShipment("s2", "1z 999 aa1", None, lines)
    assert already_there("northwind:p1", "1Z999AA1", lines, [by_hand], {"1": 0}) == (Found.BY_HAND, by_hand)
    other = BuyerShipment("s3", "OTHER", None, lines)
    assert already_there("northwind:p1", "1Z999AA1", lines, [other], {"1": 0}) == (Found.OTHER_TRACKING, other)
    assert already_there("northwind:p1", "1Z999AA1", lines, [other], {"1": 2}) == (Found.NOTHING, None)
    # no key on the platform (Shopify): after a lost answer, the same lines and tracking since then
    since = datetime(2026, 12, 4, 12, tzinfo=UTC)
    written = BuyerShipment("f1", None, None, lines, since + timedelta(seconds=3))
    assert already_there("northwind:p1", None, lines, [written], {"1": 0}, since) == (Found.OURS, written)
    older = dataclasses.replace(written, created_at=since - timedelta(hours=1))
    assert already_there("northwind:p1", None, lines, [older], {"1": 2}, since) == (Found.NOTHING, None)


def test_a_parcel_written_as_a_fulfilment_per_location_is_found_whole_or_in_part() -> None:
    """Shopify: one fulfilment per location. Both there (an answer lost): the parcel, their ids
    joined; only one (the other location refused, or its answer lost before it was made): the part,
    and what is left to write."""
    lines = (("1", 2), ("2", 5))
    since = datetime(2026, 12, 4, 12, tzinfo=UTC)
    first = BuyerShipment("f1", "1Z9", None, (("1", 2),), since + timedelta(seconds=2))
    second = BuyerShipment("f2", "1Z9", None, (("2", 5),), since + timedelta(seconds=3))
    found, whole = already_there("northwind:p1", "1Z9", lines, [first, second], {}, since)
    assert (
        found is Found.OURS and whole is not None and (whole.shipment_id, dict(whole.lines)) == ("f1,f2", dict(lines))
    )
    assert already_there("northwind:p1", "1Z9", lines, [first], {"2": 5}, since) == (Found.PART, first)
    assert already_there("northwind:p1", "1Z9", lines, [first], {"2": 5}) == (Found.PART, first)  # by tracking
    assert lines_left(lines, first.lines) == (("2", 5),) and lines_left(lines, lines) == ()
    more = BuyerShipment("f3", "1Z9", None, (("1", 2), ("3", 1)))  # more than the parcel: by hand, as before
    assert already_there("northwind:p1", "1Z9", lines, [more], {"2": 5}) == (Found.BY_HAND, more)
    assert shipment_ids("f1,f2") == ["f1", "f2"] and shipment_ids("77") == ["77"]


@pytest.mark.parametrize(
    ("name", "key"),
    [("UPS", "ups"), ("upsready", "ups"), ("FedEx", "fedex"), ("fedex", "fedex"), ("Australia Post", "australia-post"),
     ("auspost", "australia-post"), ("australia-post", "australia-post"), ("DHL Express", "dhl-express"),
     ("dhl", "dhl-express"), ("Royal  Mail", "royal-mail"), ("canadapost", "canada-post")],
)  # fmt: skip
def test_each_platforms_name_for_a_carrier_is_one_carrier(name: str, key: str) -> None:
    carrier = carrier_named(name)
    assert carrier is not None and carrier.key == key


def test_an_unknown_carrier_is_none_never_a_guess() -> None:
    assert carrier_named("Bob's Couriers") is None and carrier_named(None) is None and carrier_named("") is None


# --- the service ----------------------------------------------------------------------------------


@dataclass
class FakeBuyerStore:
    """The buyer's store: its shipments, what it leaves unfulfilled; can lose the next answer."""

    ordered: dict[str, int]  # buyer line id -> units
    written: list[BuyerParcel] = field(default_factory=list)
    by_hand: list[BuyerShipment] = field(default_factory=list)
    lose_next_answer: int = 0
    refuse_next: str | None = None
    held: str | None = None  # the shop holds the order's fulfilment back (its words) until set to None
    throttle_next: int = 0  # the next writes answered 429
    fail_next: int = 0  # the next writes answered 503 (nothing written)
    notes: list[str] = field(default_factory=list)
    keyless: bool = False  # keeps no key of ours on a shipment (Shopify): only when it was made
    corrected: list[tuple[str, BuyerParcel]] = field(default_factory=list)
    made_at: datetime = datetime(2026, 12, 4, 12, tzinfo=UTC)

    def add_note(self, order_id: str, text: str) -> None:
        self.notes.append(text)

    def shipments(self, order_id: str) -> BuyerShipments:
        ours = [
            BuyerShipment(f"S{i}", p.tracking_number, None if self.keyless else p.key, p.lines, self.made_at)
            for i, p in enumerate(self.written)
        ]
        left = dict(self.ordered)
        for shipment in [*ours, *self.by_hand]:
            for line_id, units in shipment.lines:
                left[line_id] -= units
        return BuyerShipments(tuple([*self.by_hand, *ours]), left)

    def order(self, order_id: str) -> Any:
        raise InvalidOrder("the buyer's order is not read in these tests")  # a WooCommerce buyer completes by hand

    def update_tracking(self, order_id: str, shipment_id: str, parcel: BuyerParcel) -> str:
        self.corrected.append((shipment_id, parcel))
        return shipment_id

    def write_shipment(self, order_id: str, parcel: BuyerParcel, there: BuyerShipments | None = None) -> str:
        if self.throttle_next:
            self.throttle_next -= 1
            raise StoreThrottled("POST answered 429", retry_after=12)
        if self.fail_next:
            self.fail_next -= 1
            raise StoreUnavailable("POST answered 503")
        if self.refuse_next:
            words, self.refuse_next = self.refuse_next, None
            raise StoreRejected(words)
        if self.held:
            raise BuyerOrderWaiting(self.held)
        self.written.append(parcel)
        if self.lose_next_answer:
            self.lose_next_answer -= 1
            raise StoreUnavailable("POST timed out")
        return f"S{len(self.written) - 1}"


@dataclass
class BothStores(FakeStores):
    buyer_store: Any = None

    def buyer(self, store: StoreRef) -> Any:
        assert store.store_id == "acme", store.store_id
        return self.buyer_store


@pytest.fixture
def posted(process_deps: ProcessDependencies) -> tuple[ShipmentDependencies, Any, Any]:  # noqa: F811
    """Order #1001 (2 x A) posted to Northwind as S1; the stores and the shipment service's ports."""
    process_deps.orders.items.clear()  # type: ignore[attr-defined]
    record = process_message(message("A", "A"), "m1", 1, process_deps)
    assert record.status is OrderStatus.SYNCED and record.seller_order_id == "S1"
    seller = process_deps.stores.seller_store  # type: ignore[attr-defined]
    buyer = FakeBuyerStore({line.buyer_line_id: line.quantity for line in record.posted_lines})
    stores = BothStores(seller, buyer_store=buyer)
    deps = ShipmentDependencies(
        process_deps.orders, process_deps.connections, stores, process_deps.alerts, process_deps.clock
    )  # type: ignore[arg-type]
    return deps, seller, buyer


def _check(deps: ShipmentDependencies, n: int = 1) -> Any:
    now = deps.clock()
    return check_seller_copy(
        "northwind", "S1", Attempt(f"a{n}", now, int((now + timedelta(minutes=5)).timestamp() * 1000)), deps
    )


def test_a_parcel_is_written_once_however_often_it_is_checked(posted: Any) -> None:
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1", None)]
    assert _check(deps, 1).written == 1
    assert _check(deps, 2).written == 0
    (written,) = buyer.written
    assert (written.key, written.carrier, written.tracking_number) == ("northwind:f1", "ups", "1Z1")
    assert written.notify_customer and not written.completes_order  # one of two units: not the whole order
    record = deps.orders.get("acme--northwind#1001")
    assert record.shipping == "partly shipped" and record.status is OrderStatus.SYNCED and record.claimed_by is None


def test_a_write_whose_answer_was_lost_is_found_not_written_again(posted: Any) -> None:
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "Bob's Couriers", "B-1", "https://bob.example/B-1")]
    buyer.lose_next_answer = 1
    with pytest.raises(StoreUnavailable):
        _check(deps, 1)
    assert _check(deps, 2).written == 1  # found by its key: recorded, not written
    assert len(buyer.written) == 1 and buyer.written[0].carrier == "Bob's Couriers"  # unknown: its own name
    assert deps.orders.get("acme--northwind#1001").shipping == "shipped"


def test_a_write_whose_answer_never_came_is_looked_for_only_once_it_can_have_landed(posted: Any) -> None:
    """A store may make a write late (after the client gave up on it): looked for at once, it could be
    missed and written again; the check comes back once the write's answer window has passed."""
    deps, seller, buyer = posted
    deps.write_lands_within = timedelta(seconds=20)
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1")]
    buyer.lose_next_answer = 1
    with pytest.raises(StoreUnavailable):
        _check(deps, 1)
    with pytest.raises(RetryLater) as later:  # the next delivery, moments later: no look, no write
        _check(deps, 2)
    assert 10 < later.value.seconds <= 20 and len(buyer.written) == 1
    deps.clock.advance(later.value.seconds)  # type: ignore[attr-defined]
    assert _check(deps, 3).written == 1 and len(buyer.written) == 1  # found, recorded, not written again


def test_a_parcel_for_a_cancelled_order_is_told_once_and_written_nowhere(posted: Any) -> None:
    deps, seller, buyer = posted
    record = deps.orders.get("acme--northwind#1001")
    record.status = OrderStatus.CANCELLED
    deps.orders.items[record.order_key] = record.model_dump(mode="json")
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1")]
    assert _check(deps, 1).problems == (FailureReason.PARCEL_FOR_CANCELLED_ORDER,)
    assert _check(deps, 2).problems == (FailureReason.PARCEL_FOR_CANCELLED_ORDER,)  # still: for the DLQ
    assert buyer.written == []
    (alert,) = deps.alerts.published
    assert alert["subject"] == "A parcel left for order #1001 from Acme, which was cancelled"
    assert "The parcel 1Z1 (UPS) left for an order the buyer had cancelled" in alert["seller"]


def test_a_refused_parcel_is_named_with_the_stores_words_and_written_once_the_cause_is_fixed(posted: Any) -> None:
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1")]
    buyer.refuse_next = "fulfillmentCreate: access denied"
    assert _check(deps, 1).problems == (FailureReason.PARCEL_REFUSED,)
    record = deps.orders.get("acme--northwind#1001")
    assert record.parcels[0].reason is FailureReason.PARCEL_REFUSED and "access denied" in record.parcels[0].detail
    assert _check(deps, 2).written == 1 and len(buyer.written) == 1
    assert deps.orders.get("acme--northwind#1001").parcels[0].reason is None


def test_a_parcel_fulfilled_by_hand_with_its_tracking_is_matched_silently_with_other_tracking_told(posted: Any) -> None:
    deps, seller, buyer = posted
    buyer.by_hand.append(BuyerShipment("H1", "1Z1", None, (("100101", 1),)))
    seller.parcels["S1"] = [
        Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1"),
        Parcel("f2", (ParcelLine("1", 1),), "UPS", "1Z2"),
    ]
    buyer.by_hand.append(BuyerShipment("H2", "9X9", None, (("100102", 1),)))
    result = _check(deps, 1)
    assert (result.written, result.problems) == (1, (FailureReason.FULFILLED_BY_HAND,))
    assert buyer.written == []
    (alert,) = deps.alerts.published
    assert "other tracking (9X9)" in alert["ops"]


def test_a_seller_who_cancels_of_its_own_accord_has_the_retailer_told_once_by_a_note_and_an_email(posted: Any) -> None:
    deps, seller, buyer = posted
    seller.cancelled.append("S1")
    _check(deps, 1)
    _check(deps, 2)  # seen again: nothing more
    record = deps.orders.get("acme--northwind#1001")
    assert (record.status, record.reason) == (OrderStatus.CANCELLED, FailureReason.SELLER_CANCELLED)
    (note,) = buyer.notes
    assert note.startswith("Northwind cancelled order S1 in the seller's WooCommerce store") and "refunded" in note
    (alert,) = deps.alerts.published
    assert alert["seller"] is None and alert["ops"] and "nothing was refunded" in alert["buyer"]
    assert alert["buyer"].startswith("Hello Acme,\n\nNorthwind cancelled order S1")


def test_a_check_that_finds_nothing_new_reads_and_writes_nothing(posted: Any) -> None:
    """The :40 sweep sees most orders again with nothing new: the seller's copy is read, the record
    read, and the order is neither claimed nor released (two writes of the whole record, saved)."""
    deps, seller, _buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1", None)]
    _check(deps, 1)
    before = deps.orders.get("acme--northwind#1001")
    assert _check(deps, 2).written == 0
    after = deps.orders.get("acme--northwind#1001")
    assert after.version == before.version and after.claimed_by is None
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z2", None)]  # its tracking corrected: new
    _check(deps, 3)
    assert deps.orders.get("acme--northwind#1001").version > before.version


def test_the_retailer_told_of_a_seller_s_cancellation_is_told_what_had_already_shipped(posted: Any) -> None:
    deps, seller, _buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1", None)]
    _check(deps, 1)
    seller.cancelled.append("S1")
    _check(deps, 2)
    (alert,) = deps.alerts.published
    line = deps.orders.get("acme--northwind#1001").lines[0]
    shipped = f"What had already shipped (its tracking is on your order):\n- 1 x A {line.title} (UPS 1Z1)"
    assert shipped in alert["buyer"] and alert["buyer"].index(shipped) < alert["buyer"].index("nothing was refunded")


def test_a_seller_cancelling_by_hand_what_its_store_refused_to_cancel_completes_the_buyer_s_cancellation(
    posted: Any,
) -> None:
    deps, seller, buyer = posted
    record = deps.orders.get("acme--northwind#1001")
    record.reason = FailureReason.CANCEL_REFUSED
    deps.orders.items[record.order_key] = record.model_dump(mode="json")
    seller.cancelled.append("S1")
    _check(deps, 1)
    record = deps.orders.get("acme--northwind#1001")
    assert (record.status, record.reason) == (OrderStatus.CANCELLED, FailureReason.BUYER_CANCELLED)
    assert buyer.notes == [] and deps.alerts.published == []


def test_a_check_kept_in_shipments_dlq_is_redriven_as_the_runbook_says_and_writes_its_parcel(posted: Any) -> None:
    """ordersync keeps a check that left a parcel out in ShipmentsDLQ wrapped with its reason; ops
    redrive it to ShipmentsQueue once the cause is fixed: the consumer reads the check it carries."""
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1")]
    buyer.refuse_next = "fulfillmentCreate: access denied"
    dead = RecordingDeadLetters()
    sync = ShipmentSyncDependencies(
        shipments=deps,
        stores=deps.stores,
        ledger=None,
        requests=None,
        dead_letters=dead,
        clock=deps.clock,  # type: ignore[arg-type]
    )
    request = ShipmentRequest(seller=store_ref("northwind"), seller_order_id="S1")
    later = deps.clock() + timedelta(minutes=5)
    assert check(request, "m1", later, sync).problems == (FailureReason.PARCEL_REFUSED,)
    ((body, attributes),) = dead.sent
    assert attributes["reason"] == "PARCEL_REFUSED" and body["request"]["seller_order_id"] == "S1"
    # the app's scope is granted again; ops redrive the message, body as it was
    answer = sync_shipments_batch({"Records": [sqs_record("m2", json.dumps(body), 1)]}, LambdaContext(60_000), sync)  # type: ignore[arg-type]
    assert answer == {"batchItemFailures": []}
    assert len(buyer.written) == 1 and deps.orders.get("acme--northwind#1001").parcels[0].reason is None


@dataclass
class SentAgain:
    sent: list[tuple[ShipmentRequest, int]] = field(default_factory=list)

    def request(self, requests: Any, delay_seconds: int = 0) -> None:
        self.sent += [(r, delay_seconds) for r in requests]


def test_a_check_a_store_throttles_is_sent_again_later_spending_no_delivery_until_the_day_is_out(
    posted: Any,
) -> None:
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1")]  # one of the two units
    buyer.throttle_next = 1
    again = SentAgain()
    sync = ShipmentSyncDependencies(deps, deps.stores, None, again, RecordingDeadLetters(), deps.clock)  # type: ignore[arg-type]
    request = ShipmentRequest(seller=store_ref("northwind"), seller_order_id="S1")
    later = deps.clock() + timedelta(minutes=5)
    check(request, "m1", later, sync)  # no exception: the delivery is not spent
    ((resent, delay),) = again.sent
    assert delay == 12 and resent.throttled_since is not None and buyer.written == []
    assert check(resent, "m2", later, sync).written == 1  # its pace kept: written the next time

    buyer.throttle_next = 1  # throttled for more than the budget: a failure as any other, SQS's retries then
    seller.parcels["S1"].append(Parcel("f2", (ParcelLine("1", 1),), "UPS", "1Z2"))
    old = resent.model_copy(update={"throttled_since": deps.clock() - timedelta(hours=25)})
    with pytest.raises(StoreThrottled):
        check(old, "m3", later, sync)


def test_a_parcel_the_buyer_s_store_holds_back_is_checked_again_by_itself_until_released_within_its_days(
    posted: Any,
) -> None:
    """PARCEL_WAITING: the check comes back every ParcelWaitRecheckSeconds, no DLQ, the seller told
    once; released, the parcel goes in. Held past ParcelWaitDays: ShipmentsDLQ, as any refusal."""
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1")]  # one of the two units
    buyer.held = "on hold in the buyer's shop (INCORRECT_ADDRESS)"
    again, dead = SentAgain(), RecordingDeadLetters()
    sync = ShipmentSyncDependencies(deps, deps.stores, None, again, dead, deps.clock,  # type: ignore[arg-type]
                                    parcel_wait=timedelta(days=14), parcel_recheck_seconds=900)  # fmt: skip
    later = deps.clock() + timedelta(minutes=5)
    assert check(ShipmentRequest(seller=store_ref("northwind"), seller_order_id="S1"), "m1", later, sync).problems == (
        FailureReason.PARCEL_WAITING,
    )
    ((resent, delay),) = again.sent
    assert delay == 900 and resent.waiting_since is not None and dead.sent == []
    record = deps.orders.get("acme--northwind#1001")
    assert record.parcels[0].reason is FailureReason.PARCEL_WAITING and "INCORRECT_ADDRESS" in record.detail
    check(resent, "m2", later, sync)  # still held: back again, told once only
    assert len(again.sent) == 2 and len(deps.alerts.published) == 1 and dead.sent == []
    buyer.held = None
    assert check(again.sent[-1][0], "m3", later, sync).written == 1 and len(buyer.written) == 1

    seller.parcels["S1"].append(Parcel("f2", (ParcelLine("1", 1),), "UPS", "1Z2"))
    buyer.held = "scheduled in the buyer's shop, fulfillable from 2027-02-01T00:00:00Z"
    long_ago = ShipmentRequest(seller=store_ref("northwind"), seller_order_id="S1",
                               waiting_since=deps.clock() - timedelta(days=15))  # fmt: skip
    check(long_ago, "m4", later, sync)
    ((_, attributes),) = dead.sent
    assert attributes["reason"] == "PARCEL_WAITING" and len(again.sent) == 2  # waited long enough: for ops


def test_a_check_a_failing_store_could_not_take_is_sent_again_later_spending_no_delivery_within_its_budget(
    posted: Any,
) -> None:
    """A 5xx or a time-out: as a throttle, no delivery spent, for StoreDownBudgetMinutes (0: none)."""
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1")]
    buyer.fail_next = 1
    again = SentAgain()
    sync = ShipmentSyncDependencies(
        deps,
        deps.stores,
        None,
        again,
        RecordingDeadLetters(),
        deps.clock,
        store_down_budget=timedelta(minutes=30),  # type: ignore[arg-type]
    )
    request = ShipmentRequest(seller=store_ref("northwind"), seller_order_id="S1")
    later = deps.clock() + timedelta(minutes=5)
    check(request, "m1", later, sync)  # no exception: the delivery is not spent
    ((resent, delay),) = again.sent
    assert delay == 5 and resent.throttled_since is not None and buyer.written == []
    assert check(resent, "m2", later, sync).written == 1  # written once the store is back

    seller.parcels["S1"].append(Parcel("f2", (ParcelLine("1", 1),), "UPS", "1Z2"))
    buyer.fail_next = 1  # failing for longer than the budget: SQS's deliveries, then ShipmentsDLQ
    old = resent.model_copy(update={"throttled_since": deps.clock() - timedelta(minutes=31)})
    with pytest.raises(StoreUnavailable):
        check(old, "m3", later, sync)
    sync.store_down_budget = timedelta(0)  # no budget: the first failure spends a delivery
    buyer.fail_next = 1
    with pytest.raises(StoreUnavailable):
        check(request, "m4", later, sync)
    assert len(again.sent) == 1


def test_a_check_our_table_throttled_is_sent_again_later_spending_no_delivery_and_written_once(posted: Any) -> None:
    """DynamoDB throttling past the SDK's retries (the claim; the record after the buyer-side write):
    as a failing store's, within StoreDownBudgetMinutes — not a delivery, and never a second write."""
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1")]
    again = SentAgain()
    sync = ShipmentSyncDependencies(
        deps, deps.stores, None, again, RecordingDeadLetters(), deps.clock, store_down_budget=timedelta(minutes=30)
    )
    request = ShipmentRequest(seller=store_ref("northwind"), seller_order_id="S1")
    later = deps.clock() + timedelta(minutes=5)
    deps.orders.throttle_next.update({"claim": 1})
    check(request, "m1", later, sync)  # no exception: the delivery is not spent
    deps.orders.throttle_next.update({"save": 1})
    check(again.sent[-1][0], "m2", later, sync)  # written in the buyer's store; its record refused
    ((first, delay), (second, _)) = again.sent
    assert delay == 5 and first.throttled_since is not None and second.throttled_since == first.throttled_since
    assert len(buyer.written) == 1
    check(second, "m3", later, sync)  # found there, not written again
    assert len(buyer.written) == 1 and len(again.sent) == 2
    record = deps.orders.get("acme--northwind#1001")
    assert [p.in_buyer_store_at is not None for p in record.parcels] == [True]


@pytest.mark.parametrize("release_refused", [False, True], ids=["released", "claim-lapsed"])
def test_an_untracked_parcel_written_and_not_recorded_is_found_next_time_not_taken_for_one_by_hand(
    posted: Any, release_refused: bool
) -> None:
    """A Shopify buyer keeps no key of ours, and the parcel has no tracking: only when it was made
    tells it is ours. Written, then its record's write refused (DynamoDB throttling) — and even the
    claim's release refused, so the claim lapses —: the next check looks for what was made since
    the write began (or since the lapsed claim began), finds it, and writes nothing twice."""
    deps, seller, buyer = posted
    buyer.keyless, buyer.made_at = True, deps.clock()  # made as the first check writes it
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), None, None)]
    deps.orders.throttle_next.update({"save": 1, "release": int(release_refused)})
    with pytest.raises(ResourceThrottled):
        _check(deps, 1)
    assert len(buyer.written) == 1
    deps.clock.advance(6 * 60)  # past the first attempt's claim (5 min), and the write's landing
    result = _check(deps, 2)
    assert (result.written, result.problems, len(buyer.written)) == (1, (), 1)
    (entry,) = deps.orders.get("acme--northwind#1001").parcels
    assert entry.in_buyer_store_at is not None and entry.reason is None and "found in" in entry.detail


def test_a_parcel_whose_tracking_no_store_may_show_is_told_once_never_written_and_goes_once_corrected(
    posted: Any,
) -> None:
    deps, seller, buyer = posted
    huge = "1Z" * 105_000  # 210 kB: past DynamoDB's 400 KB item once kept, as it was before
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS\r\nBcc: x@example.com", huge, "javascript:x()")]
    assert _check(deps, 1).problems == (FailureReason.PARCEL_INVALID,)
    assert _check(deps, 2).problems == (FailureReason.PARCEL_INVALID,)  # still: the check stays in the DLQ
    assert buyer.written == []
    record = deps.orders.get("acme--northwind#1001")
    assert len(json.dumps(record.model_dump(mode="json"))) < 8_000  # the record holds what is shown, bounded
    (entry,) = record.parcels
    assert entry.reason is FailureReason.PARCEL_INVALID and entry.in_buyer_store_at is None
    assert "the tracking number is 210000 characters" in entry.detail and "\r" not in entry.detail
    assert "UPS\\r\\nBcc" in entry.detail and "not an http(s) address" in entry.detail
    (alert,) = deps.alerts.published
    assert alert["subject"] == "Please correct the tracking of your parcel for order #1001 from Acme"
    assert (
        "the tracking number is 210000 characters" in alert["seller"] and "\r\n" not in alert["seller"].split("\n\n")[1]
    )
    # the seller corrects the shipment in its store: the same parcel goes across, once
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z999AA10123456784", None)]
    assert _check(deps, 3).written == 1
    (written,) = buyer.written
    assert written.tracking_number == "1Z999AA10123456784" and written.carrier == "ups"
    assert deps.orders.get("acme--northwind#1001").parcels[0].reason is None


def test_a_tracking_correction_no_store_may_show_leaves_the_written_parcel_as_it_was(posted: Any) -> None:
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1", None)]
    assert _check(deps, 1).written == 1
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "<img src=x onerror=alert(1)>", None)]
    assert _check(deps, 2).problems == (FailureReason.PARCEL_INVALID,)
    (entry,) = deps.orders.get("acme--northwind#1001").parcels
    assert entry.tracking_number == "1Z1" and entry.in_buyer_store_at is not None  # what the buyer's store holds
    assert "has characters other than letters" in entry.detail
    assert [p.tracking_number for p in buyer.written] == ["1Z1"]


def test_an_untracked_parcel_whose_answer_was_lost_is_found_by_its_lines_since_the_write_began(posted: Any) -> None:
    """A store that keeps no key of ours (Shopify) and a parcel with no tracking number: the failed
    write leaves on the record when it began, and the retry finds what was made since then."""
    deps, seller, buyer = posted
    buyer.keyless, buyer.made_at = True, deps.clock()
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),))]  # 1 of 2 units, no tracking
    buyer.lose_next_answer = 1
    with pytest.raises(StoreUnavailable):
        _check(deps, 1)
    since = deps.orders.get("acme--northwind#1001").post_unconfirmed_at
    assert since is not None and since <= buyer.made_at + timedelta(seconds=5)  # the clock ticks per call
    assert _check(deps, 2).written == 1  # found, recorded
    assert len(buyer.written) == 1
    record = deps.orders.get("acme--northwind#1001")
    assert record.parcels[0].buyer_shipment_id == "S0" and record.post_unconfirmed_at is None


def test_a_copy_its_seller_restores_is_live_again_its_parcel_carried_and_the_retailer_told(posted: Any) -> None:
    deps, seller, buyer = posted
    seller.cancelled.append("S1")
    _check(deps, 1)
    assert deps.orders.get("acme--northwind#1001").status is OrderStatus.CANCELLED
    seller.cancelled.remove("S1")  # restored in the seller's admin, then shipped
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1")]
    result = _check(deps, 2)
    assert (result.written, result.problems) == (1, ())
    assert [p.tracking_number for p in buyer.written] == ["1Z1"]
    record = deps.orders.get("acme--northwind#1001")
    assert (record.status, record.shipping) == (OrderStatus.SYNCED, "shipped")
    assert any(e.reason is FailureReason.SELLER_RESTORED for e in record.timeline)
    assert buyer.notes[-1].startswith("Northwind restored order S1 in the seller's WooCommerce store")
    _, restored = deps.alerts.published
    assert restored["buyer"].startswith("Hello Acme,\n\nNorthwind restored order S1") and restored["seller"] is None
    seller.cancelled.append("S1")  # and cancels once more: the retailer is told again
    _check(deps, 3)
    assert len(deps.alerts.published) == 3 and deps.orders.get("acme--northwind#1001").status is OrderStatus.CANCELLED


def test_an_earlier_parcel_is_recognised_by_its_exact_key_only() -> None:
    """`northwind:fulfillment-1` is not "already there" because `northwind:fulfillment-12` is."""
    lines = (("1", 1),)
    twelve = BuyerShipment("s12", None, "northwind:fulfillment-12", lines)
    assert already_there("northwind:fulfillment-1", None, lines, [twelve], {"1": 1}) == (Found.NOTHING, None)
    by_ref = BuyerShipment("n12", None, parcel_ref("northwind:fulfillment-12"), ())
    assert already_there("northwind:fulfillment-1", None, lines, [by_ref], {"1": 1}) == (Found.NOTHING, None)


def test_a_parcel_that_never_reached_the_buyer_store_is_not_counted_as_delivered(posted: Any) -> None:
    """Refused by the buyer's store: the order doesn't read shipped, and the seller's next parcel
    maps onto what is really still open there."""
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1")]
    buyer.refuse_next = "fulfillmentCreate: the fulfillment order is on hold"
    assert _check(deps, 1).problems == (FailureReason.PARCEL_REFUSED,)
    record = deps.orders.get("acme--northwind#1001")
    assert record.units_in_buyer_store() == {} and record.shipping != "shipped"
    # the seller cancels that shipment and ships the same units again: it fits what is open
    seller.parcels["S1"] = [Parcel("f2", (ParcelLine("1", 2),), "UPS", "1Z2")]
    assert _check(deps, 2).written == 1 and deps.orders.get("acme--northwind#1001").shipping == "shipped"


def test_a_correction_of_the_carrier_alone_reaches_the_buyer_store_and_tells_the_customer_only_if_asked(
    posted: Any,
) -> None:
    deps, seller, buyer = posted
    connection = deps.connections.get("acme--northwind")
    deps.connections.connections[connection.connection_id] = connection.model_copy(update={"notify_customer": False})
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z999AA10123456784")]
    assert _check(deps, 1).written == 1
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "FedEx", "1Z999AA10123456784")]  # the same number
    assert _check(deps, 2).written == 1
    ((shipment_id, corrected),) = buyer.corrected
    assert (shipment_id, corrected.carrier, corrected.tracking_number) == ("S0", "fedex", "1Z999AA10123456784")
    assert corrected.notify_customer is False  # the connection says not to email the end customer
    assert deps.orders.get("acme--northwind#1001").parcels[0].carrier == "FedEx"


def _shopify_tracking_companies() -> set[str]:
    """The companies FulfillmentTrackingInfo.company lists (the 2025-10 schema): Shopify builds
    tracking links for these names, spelled exactly so."""
    import gzip
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "contracts" / "shopify" / "admin_2025-10.json.gz"
    schema = json.loads(gzip.decompress(path.read_bytes()))
    types = (schema.get("data") or schema)["__schema"]["types"]
    info = next(t for t in types if t["name"] == "FulfillmentTrackingInfo")
    company = next(f for f in info["fields"] if f["name"] == "company")
    return {line.strip()[2:] for line in company["description"].splitlines() if line.strip().startswith("* ")}


def _bigcommerce_providers() -> set[str]:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "contracts" / "bigcommerce" / "compact.json"
    post = json.loads(path.read_text())["$defs"]["shipment_post"]["properties"]["shipping_provider"]
    return set(post["anyOf"][0]["enum"])


# AfterShip's courier slugs (BigCommerce's tracking_carrier, per its OpenAPI file's link to
# aftership.com/docs/tracking/others/supported-couriers) and Shipment Tracking's provider names (its
# class-wc-shipment-tracking.php list), for the carriers we know.
AFTERSHIP = {"ups": "ups", "usps": "usps", "fedex": "fedex", "dhl-express": "dhl", "australia-post": "australia-post",
             "canada-post": "canada-post", "royal-mail": "royal-mail"}  # fmt: skip
SHIPMENT_TRACKING = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl-express": "DHL",
                     "australia-post": "Australia Post", "canada-post": "Canada Post", "royal-mail": "Royal Mail"}  # fmt: skip


@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda c: c.key)
def test_each_carrier_goes_out_by_each_platform_s_exact_published_code(carrier: Carrier) -> None:
    assert carrier.shopify in _shopify_tracking_companies()
    assert carrier.bigcommerce_provider in _bigcommerce_providers()  # "" where it has no integration
    assert carrier.bigcommerce_carrier == AFTERSHIP[carrier.key]
    assert carrier.woocommerce == SHIPMENT_TRACKING[carrier.key]
    assert carrier.woocommerce_slug == carrier.bigcommerce_carrier  # core fulfilments' provider slugs
    assert carrier_named(carrier.woocommerce_slug) is carrier  # read back as the same carrier


def test_a_parcel_the_seller_edits_after_it_went_across_is_named_once_never_silently_kept(posted: Any) -> None:
    deps, seller, buyer = posted
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1")]
    assert _check(deps, 1).written == 1
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1")]  # edited to 1 unit in its admin
    assert _check(deps, 2).problems == (FailureReason.PARCEL_DOESNT_FIT,)
    assert _check(deps, 3).problems == (FailureReason.PARCEL_DOESNT_FIT,)
    assert len(buyer.written) == 1 and buyer.corrected == []
    record = deps.orders.get("acme--northwind#1001")
    assert "was changed in the seller's store after it was written into the buyer's (1 x line" in record.detail
    assert len(deps.alerts.published) == 1


def test_a_parcel_past_the_most_an_order_keeps_is_named_once_and_not_kept(posted: Any) -> None:
    from ordersync.records import MAX_PARCELS, ParcelEntry

    deps, seller, buyer = posted
    record = deps.orders.get("acme--northwind#1001")
    record.parcels = [
        ParcelEntry(key=f"northwind:old-{n}", reason=FailureReason.PARCEL_REFUSED) for n in range(MAX_PARCELS)
    ]
    deps.orders.items[record.order_key] = record.model_dump(mode="json")
    seller.parcels["S1"] = [Parcel("f-new", (ParcelLine("1", 1),), "UPS", "1Z1")]
    assert _check(deps, 1).problems == (FailureReason.PARCEL_DOESNT_FIT,)
    assert _check(deps, 2).problems == (FailureReason.PARCEL_DOESNT_FIT,)
    record = deps.orders.get("acme--northwind#1001")
    assert len(record.parcels) == MAX_PARCELS and buyer.written == []
    assert f"the order has {MAX_PARCELS} parcels already" in record.detail and len(deps.alerts.published) == 1


def test_a_parcel_edited_after_it_went_across_is_corrected_where_the_buyer_platform_allows_it(posted: Any) -> None:
    """A WooCommerce buyer's core fulfilment takes new lines (its `_items` meta, sent whole): the
    same shipment corrected, never a second one; elsewhere it is named (the test above)."""
    from ordersync.models import Platform

    deps, seller, buyer = posted
    connection = deps.connections.get("acme--northwind")
    woo_buyer = connection.buyer.model_copy(update={"platform": Platform.WOOCOMMERCE})
    deps.connections.connections[connection.connection_id] = connection.model_copy(update={"buyer": woo_buyer})
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 2),), "UPS", "1Z1")]
    assert _check(deps, 1).written == 1
    record = deps.orders.get("acme--northwind#1001")
    record.parcels[0].buyer_shipment_id = "501"  # a core fulfilment's id
    deps.orders.items[record.order_key] = record.model_dump(mode="json")
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine("1", 1),), "UPS", "1Z1")]  # edited to 1 unit
    assert _check(deps, 2).written == 1 and _check(deps, 3).written == 0
    ((shipment_id, corrected),) = buyer.corrected
    assert shipment_id == "501" and sum(units for _, units in corrected.lines) == 1 and len(buyer.written) == 1
    record = deps.orders.get("acme--northwind#1001")
    assert record.parcels[0].reason is None and sum(u for _, u in record.parcels[0].lines) == 1
    assert "shipment 501 in the buyer's WooCommerce store corrected" in record.timeline[-1].detail
