"""Processing one SQS message, through the ports with in-memory adapters."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordersync.domain.listings import LinkedBy, Listing, relink
from ordersync.errors import ResourceThrottled, StoreUnavailable
from ordersync.local.fakes.shopify import buyer_variant_id, order_node
from ordersync.models import (
    CanonicalOrder,
    Cause,
    Connection,
    CopyLine,
    FailureReason,
    OrderEnvelope,
    OrderStatus,
    Platform,
    iso,
)
from ordersync.observability import metrics
from ordersync.records import Attempt
from ordersync.services.batch import RECORD_NEEDS_SECONDS, process_order_batch
from ordersync.services.process import ProcessDependencies, process_message

from .catalog_builders import LambdaContext, counted_metrics, sqs_record, store_ref, variant
from .in_memory import (
    FakeSellerStore,
    FakeStores,
    InMemoryCatalog,
    InMemoryConnections,
    InMemoryListings,
    InMemoryOrders,
    InMemoryPace,
    RecordingAlerts,
    RecordingDeadLetters,
    RecordingRetries,
)

ADDRESS = {"name": "Dana W", "address1": "1 Main St", "city": "Seattle", "countryCodeV2": "US"}


CONNECTION = Connection(
    connection_id="acme--northwind",
    buyer=store_ref("acme", Platform.SHOPIFY),
    seller=store_ref("northwind", Platform.WOOCOMMERCE),
)


class Clock:
    """Now, moving one second per reading; `advance` is time passing between deliveries."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 20, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


REDELIVERY = 180  # OrdersQueue's visibility timeout: a failed delivery comes back after it


@pytest.fixture
def deps() -> ProcessDependencies:
    # GONE: a SKU the seller retired (renamed): a buyer line carrying it is still the seller's
    catalog = InMemoryCatalog(
        [variant("A", "1"), variant("LAMP", "4"), variant("LAMP", "5"), variant("GONE", "9", active=False)]
    )
    return ProcessDependencies(
        orders=InMemoryOrders(),
        catalog=catalog,
        connections=InMemoryConnections({CONNECTION.connection_id: CONNECTION}),
        stores=FakeStores(FakeSellerStore()),
        dead_letters=RecordingDeadLetters(),
        alerts=RecordingAlerts(),
        retries=RecordingRetries(),
        listings=InMemoryListings(catalog),
        max_receive_count=3,
        clock=Clock(),
    )


def link_to_northwind(deps: ProcessDependencies, *skus: str) -> None:
    """The buyer's variants of these SKUs, linked to northwind by ops (whatever their SKU says)."""
    for sku in skus:
        listing = Listing("acme", str(buyer_variant_id(sku)), None, LinkedBy.OPS, NOON, sku)
        deps.listings.put(relink(listing, "northwind", NOON))  # type: ignore[attr-defined]


NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def message(
    *skus: str,
    number: int = 1001,
    cause: Cause = Cause.PULL,
    financial_status: str = "PAID",
    created_at: str | None = None,
) -> str:
    lines = [(s, s, 1, "5.00") for s in skus]
    payload = order_node(number, f"#{number}", lines, ADDRESS, financial_status=financial_status, created_at=created_at)
    envelope = OrderEnvelope(
        connection_id=CONNECTION.connection_id,
        buyer_id="acme",
        buyer_name="Acme",
        buyer_platform=Platform.SHOPIFY,
        seller_id="northwind",
        seller_name="Northwind",
        seller_platform=Platform.WOOCOMMERCE,
        order_id=str(number),
        order_number=f"#{number}",
        payload=payload,
        pulled_at=datetime(2026, 11, 27, 12, 20, tzinfo=UTC),
        cause=cause,
    )
    return envelope.model_dump_json()


def test_matched_order_is_posted_once_and_recorded(deps: ProcessDependencies) -> None:
    record = process_message(message("A"), "m1", 1, deps)
    assert record.status is OrderStatus.SYNCED and record.seller_order_id == "S1"
    assert [e.status for e in record.timeline] == [OrderStatus.RECEIVED, OrderStatus.SYNCED]
    again = process_message(message("A"), "m2", 1, deps)  # the next hour's overlapping pull
    assert again.seller_order_id == "S1"
    assert deps.stores.seller_store.created == {"ordersync-acme--northwind-1001": "S1"}  # type: ignore[attr-defined]
    # what reached the seller's store: this order, its line as the seller's variant
    assert deps.stores.seller_store.posted == {  # type: ignore[attr-defined]
        "ordersync-acme--northwind-1001": ("1001", [("A", "1", 1)])
    }


def test_another_sellers_variant_with_the_same_sku_is_never_matched(deps: ProcessDependencies) -> None:
    """southwind sells it, but the buyer doesn't buy from southwind: the line is the retailer's own,
    so northwind gets no record, no copy and no email about it."""
    other = variant("ONLY-ELSEWHERE", "9")
    deps.catalog.variants.append(dataclasses.replace(other, seller_id="southwind"))  # type: ignore[attr-defined]
    assert process_message(message("ONLY-ELSEWHERE"), "m1", 1, deps) is None
    assert deps.orders.items == {} and deps.alerts.published == []  # type: ignore[attr-defined]
    assert deps.stores.seller_store.created == {}  # type: ignore[attr-defined]


def test_failure_goes_to_the_dlq_and_alerts_once_however_often_it_is_pulled(deps: ProcessDependencies) -> None:
    for attempt in range(3):
        record = process_message(message("GONE"), f"m{attempt}", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)
    dead = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert len(dead) == 1
    body, attributes = dead[0]
    assert attributes == {"order_id": "1001", "seller_id": "northwind", "reason": "SKU_MISMATCH"}
    assert body["failing_lines"][0]["sku"] == "GONE" and "sku alias add northwind" in body["what_to_do"]
    assert len(deps.alerts.published) == 1  # type: ignore[attr-defined]
    assert len(record.timeline) == 2


def test_a_redriven_dlq_message_is_processed_from_its_body_alone(deps: ProcessDependencies) -> None:
    process_message(message("GONE"), "m1", 1, deps)
    body, _ = deps.dead_letters.sent[0]  # type: ignore[attr-defined]
    deps.catalog.aliases["GONE"] = "A"  # type: ignore[attr-defined]
    record = process_message(json.dumps(body), "m2", 1, deps)
    assert record.status is OrderStatus.SYNCED
    assert record.timeline[-1].cause is Cause.REDRIVE


def test_a_seller_told_an_order_failed_hears_once_that_it_synced_after_the_fix(deps: ProcessDependencies) -> None:
    process_message(message("GONE"), "m1", 1, deps)
    body, _ = deps.dead_letters.sent[0]  # type: ignore[attr-defined]
    deps.catalog.aliases["GONE"] = "A"  # type: ignore[attr-defined]
    record = process_message(json.dumps(body), "m2", 1, deps)
    process_message(json.dumps(body), "m3", 1, deps)  # the redrive delivered again: told once
    failure, synced = deps.alerts.published  # type: ignore[attr-defined]
    assert "couldn't be synced" in failure["subject"]
    assert synced["seller_id"] == "northwind" and synced["ops"] is None  # ops have nothing to do
    assert synced["subject"] == "Order #1001 from Acme is now in your WooCommerce store"
    assert f"(SKU mismatch),\nis now in your WooCommerce store as order {record.seller_order_id}" in (synced["seller"])


def test_an_order_synced_at_its_first_try_sends_no_all_clear(deps: ProcessDependencies) -> None:
    assert process_message(message("A"), "m1", 1, deps).status is OrderStatus.SYNCED
    assert deps.alerts.published == []  # type: ignore[attr-defined]


def test_still_broken_after_redrive_goes_back_to_the_dlq(deps: ProcessDependencies) -> None:
    process_message(message("GONE"), "m1", 1, deps)
    body, _ = deps.dead_letters.sent[0]  # type: ignore[attr-defined]
    record = process_message(json.dumps(body), "m2", 1, deps)
    assert record.reason is FailureReason.SKU_MISMATCH and record.in_dlq
    assert len(deps.dead_letters.sent) == 2  # type: ignore[attr-defined]
    assert len(deps.alerts.published) == 1  # type: ignore[attr-defined]


def test_transient_store_failure_raises_until_the_last_delivery_sends_it_to_the_dlq_with_why(
    deps: ProcessDependencies,
) -> None:
    deps.stores.seller_store.fail_next = 5  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailable):
        process_message(message("A"), "m1", 1, deps)
    seen = deps.orders.get("acme--northwind#1001")
    assert seen is not None and seen.status is OrderStatus.RECEIVED  # claimed before anything happened
    deps.clock.advance(REDELIVERY)  # type: ignore[attr-defined]
    record = process_message(message("A"), "m1", 3, deps)  # the last delivery ends quietly: SQS deletes it
    stored = deps.orders.get("acme--northwind#1001")
    assert stored is not None and (stored.status, stored.reason) == (
        OrderStatus.FAILED,
        FailureReason.PLATFORM_UNAVAILABLE,
    )
    assert stored.in_dlq and "503" in stored.detail and record.dlq_message_id == "dlq-1"
    (dead,) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert dead[1]["reason"] == "PLATFORM_UNAVAILABLE" and "503" in dead[0]["detail"]
    assert deps.stores.seller_store.created == {}  # type: ignore[attr-defined]


def test_a_seller_store_refusing_the_order_fails_it_at_once_with_the_store_s_words(deps: ProcessDependencies) -> None:
    deps.stores.seller_store.reject_next = 1  # type: ignore[attr-defined]
    record = process_message(message("A"), "m1", 1, deps)  # the first delivery: no retry would help
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.PLATFORM_UNAVAILABLE)
    assert (
        record.detail
        == "the seller's WooCommerce store refused the order: POST /orders answered 422: line 1 is out of stock"
    )
    ((body, attributes),) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert attributes["reason"] == "PLATFORM_UNAVAILABLE" and body["order_key"] == "acme--northwind#1001"
    assert body["envelope"]["order_id"] == "1001"  # a redrive can replay it once the store takes it
    (alert,) = deps.alerts.published  # type: ignore[attr-defined]
    assert "refused the order" in alert["ops"]
    assert deps.stores.seller_store.created == {}  # type: ignore[attr-defined]
    assert deps.retries.later == []  # type: ignore[attr-defined]


def test_a_create_that_timed_out_after_the_store_saved_it_is_not_posted_twice(deps: ProcessDependencies) -> None:
    deps.stores.seller_store.timeout_after_create = 1  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailable):
        process_message(message("A"), "m1", 1, deps)
    deps.clock.advance(REDELIVERY)  # type: ignore[attr-defined]
    record = process_message(message("A"), "m1", 2, deps)  # SQS delivers it again
    assert record.status is OrderStatus.SYNCED and record.seller_order_id == "S1"
    assert len(deps.stores.seller_store.created) == 1  # type: ignore[attr-defined]


def test_a_copy_an_earlier_attempt_made_gets_the_address_the_buyer_gave_since(deps: ProcessDependencies) -> None:
    """The buyer moved the order while the first create's answer was lost: the version found in
    the store carries the old address, and the copy is given the new one (never posted twice)."""
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.timeout_after_create = 1
    with pytest.raises(StoreUnavailable):
        process_message(message("A"), "m1", 1, deps)
    deps.clock.advance(REDELIVERY)  # type: ignore[attr-defined]
    record = process_message(_edited(5, MOVED), "m2", 1, deps)  # the next read brings the new version
    assert record.status is OrderStatus.SYNCED and len(store.created) == 1
    assert (
        store.addresses["S1"].address1 == "99 New Rd" and "given the buyer's latest shipping address" in record.detail
    )


def test_an_order_cancelled_while_its_create_went_unanswered_has_the_copy_that_create_made_cancelled(
    deps: ProcessDependencies,
) -> None:
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.timeout_after_create = 1
    with pytest.raises(StoreUnavailable):
        process_message(message("A"), "m1", 1, deps)  # the copy is made; the answer lost
    deps.clock.advance(REDELIVERY)  # type: ignore[attr-defined]
    body = json.loads(_edited(5))
    body["payload"]["cancelledAt"] = body["payload"]["updatedAt"]  # the buyer cancels meanwhile
    record = process_message(json.dumps(body), "m2", 1, deps)
    assert (record.status, record.reason, record.seller_order_id) == (
        OrderStatus.CANCELLED,
        FailureReason.BUYER_CANCELLED,
        "S1",
    )
    assert store.cancelled == ["S1"] and len(store.created) == 1


def test_a_posted_order_whose_edit_fails_every_delivery_stays_in_the_seller_store_and_is_never_posted_again(
    deps: ProcessDependencies,
) -> None:
    """The store times out on the new address at every delivery: the change goes to the DLQ with its
    reason, the order stays SYNCED with its copy, and the redrive applies the change, posting nothing."""
    process_message(message("A"), "m1", 1, deps)
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.address_timeouts = 1
    record = process_message(_edited(5, MOVED), "m2", 3, deps)  # the last delivery
    assert (record.status, record.reason, record.seller_order_id) == (
        OrderStatus.SYNCED,
        FailureReason.PLATFORM_UNAVAILABLE,
        "S1",
    )
    ((body, _),) = deps.dead_letters.sent  # type: ignore[attr-defined]
    redriven = process_message(json.dumps(body["envelope"] | {"cause": "redrive"}), "m3", 1, deps)
    assert redriven.reason is FailureReason.ADDRESS_UPDATED and len(store.created) == 1


def test_a_post_whose_record_could_not_be_written_on_the_last_delivery_is_not_posted_again_on_redrive(
    deps: ProcessDependencies,
) -> None:
    deps.orders.throttle_next["save"] = 1  # type: ignore[attr-defined]
    record = process_message(message("A"), "m1", 3, deps)  # created in the store; the SYNCED write refused
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.PLATFORM_UNAVAILABLE)
    assert record.detail == (
        "gave up after 3 deliveries: ResourceThrottled: order save: ProvisionedThroughputExceededException;"
        " posted to the seller's WooCommerce store as order S1 before that (a redrive finds it there and posts nothing)"
    )
    stored = deps.orders.get("acme--northwind#1001")
    assert stored is not None and [e.status for e in stored.timeline] == [OrderStatus.RECEIVED, OrderStatus.FAILED]
    assert stored.version == record.version  # what the caller holds is what the table holds
    body, _ = deps.dead_letters.sent[0]  # type: ignore[attr-defined]
    deps.clock.advance(REDELIVERY)  # type: ignore[attr-defined]
    redriven = process_message(json.dumps(body), "m2", 1, deps)  # ops redrive what the outage failed
    assert redriven.status is OrderStatus.SYNCED and redriven.seller_order_id == "S1"
    assert len(deps.stores.seller_store.created) == 1  # type: ignore[attr-defined]


def test_a_post_whose_record_could_not_be_written_is_found_by_the_next_delivery(deps: ProcessDependencies) -> None:
    deps.orders.throttle_next["save"] = 1  # type: ignore[attr-defined]
    with pytest.raises(ResourceThrottled):
        process_message(message("A"), "m1", 1, deps)
    held = deps.orders.get("acme--northwind#1001")
    assert held is not None and held.claimed_by is None  # the attempt freed the order, saying it may have posted
    assert held.post_unconfirmed_at is not None
    deps.clock.advance(REDELIVERY)  # type: ignore[attr-defined]
    record = process_message(message("A"), "m1", 2, deps)
    assert record.status is OrderStatus.SYNCED and record.seller_order_id == "S1"
    assert len(deps.stores.seller_store.created) == 1  # type: ignore[attr-defined]


def test_stale_duplicate_is_retired_and_noted(deps: ProcessDependencies) -> None:
    deps.stores.seller_store.present = frozenset({"5"})  # type: ignore[attr-defined]
    record = process_message(message("LAMP"), "m1", 1, deps)
    assert record.status is OrderStatus.SYNCED
    assert any("retired stale duplicate variant 4" in e.detail for e in record.timeline)
    assert [v.status.value for v in deps.catalog.variants if v.sku == "LAMP"] == ["deleted", "active"]  # type: ignore[attr-defined]


def test_an_unreadable_message_is_recorded_kept_and_alerted_to_ops_only(deps: ProcessDependencies) -> None:
    record = process_message('{"not": "an envelope"}', "m-bad", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    assert record.order_key == "unreadable#m-bad" and "not an order envelope" in record.detail
    assert deps.dead_letters.sent[0][1]["reason"] == "INVALID_ORDER"  # type: ignore[attr-defined]
    (alert,) = deps.alerts.published  # type: ignore[attr-defined]
    assert alert["seller"] is None and "order_key: unreadable#m-bad" in alert["ops"]
    # recorded where ops look, with the raw body kept and the DLQ message it is in
    kept = deps.orders.get("unreadable#m-bad")
    assert kept is not None and kept.envelope == {"raw_body": '{"not": "an envelope"}'}
    assert (kept.in_dlq, kept.dlq_message_id, kept.order_id) == (True, "dlq-1", "m-bad")
    assert {kept.buyer_id, kept.seller_id, kept.connection_id, kept.seller_platform} == {"unknown"}
    huge = process_message("x" * 300_000, "m-huge", 1, deps)
    assert len(huge.envelope["raw_body"]) == 200_000  # the record stays under DynamoDB's item limit


def test_an_invalid_payload_fails_with_the_validation_error(deps: ProcessDependencies) -> None:
    envelope = json.loads(message("A"))
    envelope["payload"]["lineItems"]["nodes"][0]["currentQuantity"] = -1
    record = process_message(json.dumps(envelope), "m1", 1, deps)
    assert record.reason is FailureReason.INVALID_ORDER and "greater than or equal to 0" in record.detail
    assert record.order_number == "#1001"


def test_the_path_that_once_posted_twice_now_posts_once(deps: ProcessDependencies) -> None:
    """Issue 12's path, step by step: the post succeeds and recording it is throttled, every
    redelivery's claim is throttled until the message reaches the DLQ, then the next hour's pull
    brings a fresh message (receive count 1). The claim the first delivery left says an attempt
    may have posted: the store is read, and the order is not created a second time."""
    orders, store = deps.orders, deps.stores.seller_store  # type: ignore[attr-defined]
    orders.throttle_next.update({"save": 1, "release": 1})  # type: ignore[attr-defined]
    with pytest.raises(ResourceThrottled):
        process_message(message("A"), "m1", 1, deps)
    assert store.created == {"ordersync-acme--northwind-1001": "S1"}
    orders.throttle_next.update({"claim": 2, "save": 1})  # type: ignore[attr-defined]
    for receive_count in (2, 3):
        deps.clock.advance(REDELIVERY)  # type: ignore[attr-defined]
        if receive_count < 3:
            with pytest.raises(ResourceThrottled):
                process_message(message("A"), "m1", receive_count, deps)
        else:  # the last delivery: the reason goes to the DLQ with the message, though nothing could be recorded
            process_message(message("A"), "m1", receive_count, deps)
    ((body, attributes),) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert attributes["reason"] == "PLATFORM_UNAVAILABLE" and "ResourceThrottled" in body["detail"]
    deps.clock.advance(3600)  # type: ignore[attr-defined]
    record = process_message(message("A"), "m2", 1, deps)  # the next hour's pull
    assert record.status is OrderStatus.SYNCED and record.seller_order_id == "S1"
    assert store.created == {"ordersync-acme--northwind-1001": "S1"} and store.lookups == 1


def test_a_second_delivery_while_the_first_holds_the_order_waits_and_posts_nothing(
    deps: ProcessDependencies,
) -> None:
    first = deps.orders.claim(OrderEnvelope.model_validate_json(message("A")), _attempt(deps, "m1"))  # still running
    assert first.claimed_by is not None
    process_message(message("A"), "m1", 2, deps)
    ((body, delay),) = deps.retries.later  # type: ignore[attr-defined]
    # back when the first claim lapses: it was taken one tick earlier, for 30 s
    assert json.loads(body)["order_id"] == "1001" and delay == 29
    assert deps.stores.seller_store.created == {}  # type: ignore[attr-defined]


def test_an_attempt_that_may_have_posted_moments_ago_is_waited_for_not_guessed(deps: ProcessDependencies) -> None:
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.timeout_after_create = 1
    with pytest.raises(StoreUnavailable):
        process_message(message("A"), "m1", 1, deps)
    record = process_message(message("A"), "m1", 2, deps)  # redelivered at once: the look could miss it
    assert record.status is OrderStatus.RECEIVED and store.lookups == 0
    ((body, delay),) = deps.retries.later  # type: ignore[attr-defined]
    assert json.loads(body)["order_id"] == "1001" and delay <= store.search_lag_seconds  # the message, back later
    deps.clock.advance(delay)  # type: ignore[attr-defined]
    record = process_message(message("A"), "m3", 1, deps)
    assert record.status is OrderStatus.SYNCED and store.created == {"ordersync-acme--northwind-1001": "S1"}


def test_a_settled_order_is_recognised_from_the_claim_and_nothing_is_written(deps: ProcessDependencies) -> None:
    process_message(message("A"), "m1", 1, deps)
    before = deps.orders.items["acme--northwind#1001"]["version"]  # type: ignore[attr-defined]
    record = process_message(message("A"), "m2", 1, deps)
    assert record.status is OrderStatus.SYNCED
    assert deps.orders.items["acme--northwind#1001"]["version"] == before  # type: ignore[attr-defined]


def test_a_settled_order_changed_since_checkout_is_recognised_from_a_read_not_a_claim(
    deps: ProcessDependencies,
) -> None:
    """A paid or re-pulled order most often finds its record settled: read (a read unit), never
    claimed (a refused claim is billed as a write of the whole record). A new order, and a
    cancellation, still go straight to the claim."""
    claims: list[str] = []
    claim = deps.orders.claim
    deps.orders.claim = lambda envelope, *a, **k: claims.append(envelope.order_key) or claim(envelope, *a, **k)  # type: ignore[method-assign]
    process_message(message("A"), "m1", 1, deps)
    assert claims == ["acme--northwind#1001"]
    paid = json.loads(message("A"))
    checkout = datetime.fromisoformat(paid["payload"]["createdAt"].replace("Z", "+00:00"))
    paid["payload"]["updatedAt"] = iso(checkout + timedelta(hours=1))  # paid an hour after checkout: orders/updated
    record = process_message(json.dumps(paid), "m2", 1, deps)
    assert record is not None and record.status is OrderStatus.SYNCED and len(claims) == 1
    paid["payload"]["cancelledAt"] = paid["payload"]["updatedAt"]  # a cancellation may change it: claimed
    assert process_message(json.dumps(paid), "m3", 1, deps).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert len(claims) == 2


def _attempt(deps: ProcessDependencies, message_id: str) -> Attempt:
    now = deps.clock()
    return Attempt(f"{message_id}/other", now, int((now + timedelta(seconds=30)).timestamp() * 1000))


def test_a_batch_reports_only_the_record_that_failed_for_now(deps: ProcessDependencies) -> None:
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    create = store.create_order

    def create_failing_order_1(order: CanonicalOrder, lines: Any, source_key: str) -> Any:
        if order.order_id == "1":
            raise StoreUnavailable("POST /orders answered 503")
        return create(order, lines, source_key)

    store.create_order = create_failing_order_1
    event = {"Records": [sqs_record("m1", message("A", number=1), 1), sqs_record("m2", message("A", number=2), 1)]}
    response = process_order_batch(event, LambdaContext(30_000), deps)  # type: ignore[arg-type]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert deps.orders.get("acme--northwind#2").status is OrderStatus.SYNCED  # type: ignore[union-attr]
    assert deps.orders.get("acme--northwind#1").status is OrderStatus.RECEIVED  # type: ignore[union-attr]


def test_on_the_last_delivery_the_batch_reports_nothing_and_the_dlq_holds_the_order(deps: ProcessDependencies) -> None:
    deps.stores.seller_store.fail_next = 1  # type: ignore[attr-defined]
    event = {"Records": [sqs_record("m1", message("A"), deps.max_receive_count)]}
    assert process_order_batch(event, LambdaContext(30_000), deps) == {"batchItemFailures": []}  # type: ignore[arg-type]
    ((_, attributes),) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert attributes["reason"] == "PLATFORM_UNAVAILABLE"


def test_a_claim_lasts_until_the_invocation_s_deadline(deps: ProcessDependencies) -> None:
    seen: list[int | None] = []
    original = deps.orders.claim

    def claim(envelope: OrderEnvelope, attempt: Attempt, reopen: bool = False, create: bool = True):  # type: ignore[no-untyped-def]
        seen.append(attempt.until_ms)
        return original(envelope, attempt, reopen, create)

    deps.orders.claim = claim  # type: ignore[method-assign]
    clock_before = deps.clock.now  # type: ignore[attr-defined]
    process_order_batch({"Records": [sqs_record("m1", message("A"), 1)]}, LambdaContext(12_000), deps)  # type: ignore[arg-type]
    deadline = clock_before + timedelta(seconds=1) + timedelta(milliseconds=12_000)  # the clock ticks once first
    assert seen == [int(deadline.timestamp() * 1000)]


class RecordingManualPosting:
    def __init__(self) -> None:
        self.started: list[tuple[str, str, int, str]] = []

    def start(self, record, order, decision) -> str:  # type: ignore[no-untyped-def]
        self.started.append((record.order_key, order.order_id, record.manual_attempts, decision.status.value))
        return f"arn:execution:{record.order_key}"


def _bigcommerce_message(number: int = 1001) -> str:
    envelope = json.loads(message("A", number=number))
    return json.dumps(envelope | {"seller_platform": "bigcommerce"})


def test_a_bigcommerce_seller_s_order_is_recorded_pending_and_its_flow_started_once(deps: ProcessDependencies) -> None:
    flows = RecordingManualPosting()
    deps.manual_posting = flows
    record = process_message(_bigcommerce_message(), "m1", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.MANUAL_POSTING_PENDING, FailureReason.UNSUPPORTED_PLATFORM)
    assert record.manual_attempts == 1 and deps.stores.seller_store.created == {}  # type: ignore[attr-defined]
    assert flows.started == [("acme--northwind#1001", "1001", 1, "MANUAL_POSTING_PENDING")]
    stored = deps.orders.get("acme--northwind#1001")
    assert stored is not None and stored.status is OrderStatus.MANUAL_POSTING_PENDING and stored.claimed_by is None
    # delivered again before the flow wrote its ARN: the same flow is asked for again, nothing recorded anew
    again = process_message(_bigcommerce_message(), "m2", 1, deps)
    assert again.manual_attempts == 1 and len(again.timeline) == len(record.timeline)
    assert [s[2] for s in flows.started] == [1, 1]
    assert deps.orders.get("acme--northwind#1001").claimed_by is None  # type: ignore[union-attr]


def test_an_ended_manual_flow_replayed_by_ops_is_a_new_attempt(deps: ProcessDependencies) -> None:
    flows = RecordingManualPosting()
    deps.manual_posting = flows
    process_message(_bigcommerce_message(), "m1", 1, deps)
    ended = deps.orders.get("acme--northwind#1001")
    assert ended is not None
    ended.status, ended.execution_arn = OrderStatus.FAILED, "arn:old-flow"  # rejected by ops
    deps.orders.save(ended)
    replayed = json.dumps(json.loads(_bigcommerce_message()) | {"cause": "replay"})
    record = process_message(replayed, "m2", 1, deps)
    assert record.status is OrderStatus.MANUAL_POSTING_PENDING
    assert (record.manual_attempts, record.execution_arn) == (2, None)  # the new flow writes its own ARN
    assert [s[2] for s in flows.started] == [1, 2]
    assert record.timeline[-1].cause is Cause.REPLAY


def test_a_refused_automated_bigcommerce_post_falls_back_to_posting_by_hand(deps: ProcessDependencies) -> None:
    flows = RecordingManualPosting()
    deps.manual_posting = flows
    deps.auto_post_platforms = frozenset({Platform.SHOPIFY, Platform.WOOCOMMERCE, Platform.BIGCOMMERCE})
    deps.stores.seller_store.reject_next = 1  # type: ignore[attr-defined]
    record = process_message(_bigcommerce_message(), "m1", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.MANUAL_POSTING_PENDING, FailureReason.UNSUPPORTED_PLATFORM)
    assert record.detail == (
        "automated posting to BigCommerce failed (POST /orders answered 422: line 1 is out of stock); "
        "our team posts it by hand"
    )
    assert [line.outcome for line in record.lines] == ["matched"]  # ops see what to enter
    assert flows.started == [("acme--northwind#1001", "1001", 1, "MANUAL_POSTING_PENDING")]


def test_each_outcome_is_counted_under_the_dashboard_s_names(deps: ProcessDependencies) -> None:
    metrics.clear_metrics()
    process_message(message("A", number=1), "m1", 1, deps)
    assert counted_metrics() == {"OrdersSynced": [1.0]}
    metrics.clear_metrics()
    process_message(message("GONE", number=2), "m2", 1, deps)
    assert counted_metrics() == {"OrdersFailed": [1.0], "ReasonSkuMismatch": [1.0]}
    metrics.clear_metrics()
    deps.orders.claim(OrderEnvelope.model_validate_json(message("A", number=3)), _attempt(deps, "m3"))
    process_message(message("A", number=3), "m4", 1, deps)
    assert counted_metrics() == {"OrdersRetriedLater": [1.0]}
    metrics.clear_metrics()


def test_a_throttling_seller_store_delays_the_order_without_using_up_its_deliveries(
    deps: ProcessDependencies,
) -> None:
    """Black Friday: the hot seller answers 429 for longer than MaxReceiveCount deliveries would
    last. Each time the order is re-sent after the store's Retry-After, carrying when the throttling
    began, and this delivery succeeds (its receive count never climbs); it is posted once the store
    takes it."""
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.throttle_next, store.retry_after = 10, 2.0  # well past max_receive_count = 3
    body = message("A")
    for delivery in range(10):
        record = process_message(body, f"m{delivery}", 1, deps)
        assert record.status is OrderStatus.RECEIVED and not record.in_dlq
        (body, delay), *_ = deps.retries.later[-1:]  # type: ignore[attr-defined]
        assert delay == 5  # the store said 2 s; no sooner than 5 s, never past SQS's 900
        deps.clock.advance(delay)  # type: ignore[attr-defined]
    assert OrderEnvelope.model_validate_json(body).throttled_since == datetime(2026, 11, 27, 12, 20, 1, tzinfo=UTC)
    record = process_message(body, "m10", 1, deps)
    assert record.status is OrderStatus.SYNCED and deps.dead_letters.sent == []  # type: ignore[attr-defined]
    assert list(store.created) == ["ordersync-acme--northwind-1001"]
    assert deps.stores.seller_store.lookups == 0  # type: ignore[attr-defined]  # a 429 created nothing: no look


def test_a_seller_store_s_bad_hour_delays_the_order_without_using_up_its_deliveries_within_its_budget(
    deps: ProcessDependencies,
) -> None:
    """A store answering 503 for longer than MaxReceiveCount deliveries last: with a budget
    (StoreDownBudgetMinutes), the order is sent again later — 5 s, then as long as the store has been
    failing — spending no delivery, and posted once the store is back; past the budget it fails as
    PLATFORM_UNAVAILABLE, saying since when. No budget: each failure spends a delivery, as before."""
    deps.store_down_budget = timedelta(minutes=2)
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.fail_next = 5  # past max_receive_count = 3
    body, delays = message("A"), []
    for delivery in range(5):
        record = process_message(body, f"m{delivery}", 1, deps)
        assert record.status is OrderStatus.RECEIVED and not record.in_dlq
        (body, delay), *_ = deps.retries.later[-1:]  # type: ignore[attr-defined]
        delays.append(delay)
        deps.clock.advance(delay)  # type: ignore[attr-defined]
    assert delays[0] == 5 and all(later >= 2 * first for first, later in itertools.pairwise(delays))  # they double
    record = process_message(body, "m5", 1, deps)
    assert record.status is OrderStatus.SYNCED and deps.dead_letters.sent == []  # type: ignore[attr-defined]
    assert list(store.created) == ["ordersync-acme--northwind-1001"]

    store.fail_next = 50
    process_message(message("A", number=1002), "n1", 1, deps)
    for _ in range(6):
        body, delay = deps.retries.later[-1]  # type: ignore[attr-defined]
        deps.clock.advance(delay)  # type: ignore[attr-defined]
        record = process_message(body, "n2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.PLATFORM_UNAVAILABLE)
    assert record.detail.startswith("gave up its store failing since 2026-11-27T12:2") and "503" in record.detail
    assert record.in_dlq

    deps.store_down_budget = timedelta(0)
    with pytest.raises(StoreUnavailable):  # no budget: SQS's visibility timeout, a delivery spent
        process_message(message("A", number=1003), "o1", 1, deps)


def test_dynamodb_throttling_delays_the_order_without_using_up_its_deliveries_and_it_posts_once(
    deps: ProcessDependencies,
) -> None:
    """Our own table throttling past the SDK's retries — the claim, the record after the post, the
    claim again — is a bad minute, not a failure: within StoreDownBudgetMinutes the order is sent
    again later with no delivery spent, and the post whose record was refused is found, not made
    twice. Past the budget it fails with its reason in the DLQ, though its record can't be written."""
    deps.store_down_budget = timedelta(minutes=2)
    orders, store = deps.orders, deps.stores.seller_store  # type: ignore[attr-defined]
    orders.throttle_next.update({"claim": 2})  # type: ignore[attr-defined]
    body, delays = message("A"), []
    for delivery in range(2):  # nothing claimed: sent again as it came, saying since when
        assert process_message(body, f"m{delivery}", 1, deps) is None
        body, delay = deps.retries.later[-1]  # type: ignore[attr-defined]
        assert OrderEnvelope.model_validate_json(body).throttled_since is not None
        delays.append(delay)
        deps.clock.advance(delay)  # type: ignore[attr-defined]
    assert delays == [5, 5]  # a partition's moment: soon again, whenever it began
    orders.throttle_next.update({"save": 1})  # type: ignore[attr-defined]
    record = process_message(body, "m2", 1, deps)  # posted; the SYNCED write refused
    assert record is not None and record.claimed_by is None and record.post_unconfirmed_at is not None
    body, delay = deps.retries.later[-1]  # type: ignore[attr-defined]
    deps.clock.advance(max(delay, REDELIVERY))  # type: ignore[attr-defined]
    record = process_message(body, "m3", 1, deps)
    assert record is not None and record.status is OrderStatus.SYNCED and record.seller_order_id == "S1"
    assert len(store.created) == 1 and deps.dead_letters.sent == []  # type: ignore[attr-defined]

    orders.throttle_next.update({"claim": 50, "save": 50})  # type: ignore[attr-defined]
    process_message(message("A", number=1002), "n1", 1, deps)
    held = len(deps.retries.later)  # type: ignore[attr-defined]
    while not deps.dead_letters.sent and len(deps.retries.later) < held + 100:  # type: ignore[attr-defined]
        body, delay = deps.retries.later[-1]  # type: ignore[attr-defined]
        deps.clock.advance(delay)  # type: ignore[attr-defined]
        process_message(body, "n2", 1, deps)
    assert 15 < len(deps.retries.later) - held < 25  # type: ignore[attr-defined]  # every 5 s for the 2 minutes
    ((kept, attributes),) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert attributes["reason"] == "PLATFORM_UNAVAILABLE"
    assert (
        kept["detail"].startswith("gave up AWS throttling since 2026-11-27T12:2")
        and "ResourceThrottled" in kept["detail"]
    )


def test_throttled_past_the_budget_the_order_fails_as_platform_unavailable_saying_since_when(
    deps: ProcessDependencies,
) -> None:
    deps.throttle_budget = timedelta(hours=2)
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.throttle_next, store.retry_after = 1, 1_200.0  # the store asks for 20 min: SQS waits at most 15
    process_message(message("A"), "m1", 1, deps)
    ((body, delay),) = deps.retries.later  # type: ignore[attr-defined]
    assert delay == 900
    deps.clock.advance(2 * 3600)  # type: ignore[attr-defined]
    store.throttle_next = 1
    record = process_message(body, "m2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.PLATFORM_UNAVAILABLE)
    assert record.detail == ("gave up throttled since 2026-11-27T12:20:01Z: StoreThrottled: POST /orders answered 429")
    assert record.in_dlq and len(deps.retries.later) == 1  # type: ignore[attr-defined]


def test_the_throttle_budget_ends_exactly_when_it_says_and_the_dlq_keeps_the_order(
    deps: ProcessDependencies,
) -> None:
    from .catalog_builders import counted_metrics

    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.throttle_next = 3
    metrics.clear_metrics()
    process_message(message("A"), "m1", 1, deps)
    assert counted_metrics() == {"OrdersThrottledDelayed": [1.0], "OrdersRetriedLater": [1.0]}
    metrics.clear_metrics()
    body, _ = deps.retries.later[-1]  # type: ignore[attr-defined]
    since = OrderEnvelope.model_validate_json(body).throttled_since
    assert since is not None
    deps.throttle_budget = deps.clock.now + timedelta(seconds=1) - since  # type: ignore[attr-defined]  # the next reading
    record = process_message(body, "m2", 1, deps)
    stored = deps.orders.get("acme--northwind#1001")
    assert stored is not None and (stored.status, stored.reason) == (
        OrderStatus.FAILED,
        FailureReason.PLATFORM_UNAVAILABLE,
    )
    assert [e.status for e in stored.timeline] == [OrderStatus.RECEIVED, OrderStatus.FAILED]  # the same record
    (dead,) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert dead[0]["envelope"]["order_id"] == "1001"  # a redrive needs nothing else
    assert record.dlq_message_id == "dlq-1"
    metrics.clear_metrics()


def test_a_store_that_throttled_one_invocation_is_not_asked_by_the_others_before_it_said(
    deps: ProcessDependencies,
) -> None:
    """Shared pacing: the store's Retry-After, told to one invocation, holds every invocation's
    posts to that store until then; each waiting order is re-sent for when the store said."""
    pace = InMemoryPace()
    deps.pace = pace
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.throttle_next, store.retry_after = 1, 30.0
    process_message(message("A", number=1), "m1", 1, deps)  # throttled at 12:20:01 (+ the claim's tick)
    ((store_id, until),) = pace.written
    assert store_id == "northwind" and until == datetime(2026, 11, 27, 12, 20, 31, tzinfo=UTC)
    for number in (2, 3):  # other orders to the same seller, moments later: the store is not asked
        record = process_message(message("A", number=number), f"m{number}", 1, deps)
        assert record.status is OrderStatus.RECEIVED
    assert store.created == {} and len(pace.written) == 1  # the pace is not written again by those who read it
    delays = [delay for _, delay in deps.retries.later]  # type: ignore[attr-defined]
    assert delays == [30, 25, 23]  # each until the store's time, as each read the clock (no sooner than 5 s)
    paced = OrderEnvelope.model_validate_json(deps.retries.later[1][0])  # type: ignore[attr-defined]
    assert paced.throttled_since == datetime(2026, 11, 27, 12, 20, 5, tzinfo=UTC)  # counts toward the budget
    deps.clock.advance(30)  # type: ignore[attr-defined]
    for body, _ in list(deps.retries.later):  # type: ignore[attr-defined]
        assert process_message(body, "again", 1, deps).status is OrderStatus.SYNCED
    assert len(store.created) == 3


def test_a_store_pacing_another_seller_does_not_hold_this_one(deps: ProcessDependencies) -> None:
    deps.pace = InMemoryPace({"ridge": datetime(2026, 11, 27, 13, 0, tzinfo=UTC)})
    assert process_message(message("A"), "m1", 1, deps).status is OrderStatus.SYNCED


def test_a_store_s_pace_already_past_lets_the_post_through(deps: ProcessDependencies) -> None:
    deps.pace = InMemoryPace({"northwind": datetime(2026, 11, 27, 12, 20, 1, tzinfo=UTC)})  # the claim's reading
    assert process_message(message("A"), "m1", 1, deps).status is OrderStatus.SYNCED


def test_a_store_s_pace_ending_at_this_very_moment_lets_the_post_through(deps: ProcessDependencies) -> None:
    deps.pace = InMemoryPace({"northwind": datetime(2026, 11, 27, 12, 20, 2, tzinfo=UTC)})  # the pace check's reading
    assert process_message(message("A"), "m1", 1, deps).status is OrderStatus.SYNCED


def test_an_unpaid_order_waits_without_an_alert_and_is_posted_once_paid(deps: ProcessDependencies) -> None:
    for status in ("PENDING", "EXPIRED"):
        record = process_message(message("A", financial_status=status), "m1", 1, deps)
        assert (record.status, record.reason) == (OrderStatus.AWAITING_PAYMENT, None)
        assert "not been paid" in record.detail
    assert deps.stores.seller_store.created == {}  # type: ignore[attr-defined]
    assert deps.alerts.published == [] and deps.dead_letters.sent == []  # type: ignore[attr-defined]
    assert [e.status for e in record.timeline] == [OrderStatus.RECEIVED, OrderStatus.AWAITING_PAYMENT]
    paid = process_message(message("A", financial_status="AUTHORIZED"), "m2", 1, deps)  # the update: authorised
    assert paid.status is OrderStatus.SYNCED
    assert list(deps.stores.seller_store.created) == ["ordersync-acme--northwind-1001"]  # type: ignore[attr-defined]
    late = process_message(message("A", financial_status="PENDING"), "m3", 1, deps)  # an older copy, late
    assert late.status is OrderStatus.SYNCED and len(deps.stores.seller_store.created) == 1  # type: ignore[attr-defined]


def test_an_order_unpaid_past_the_limit_is_disregarded_quietly_and_a_cancelled_one_cancelled(
    deps: ProcessDependencies,
) -> None:
    deps.unpaid_limit = timedelta(hours=72)
    old = iso(datetime(2026, 11, 27, 12, 20, tzinfo=UTC) - timedelta(hours=72))
    record = process_message(message("A", number=1, financial_status="PENDING", created_at=old), "m1", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.DISREGARDED, FailureReason.PAYMENT_NOT_RECEIVED)
    young = iso(datetime(2026, 11, 27, 12, 20, tzinfo=UTC) - timedelta(hours=71))
    record = process_message(message("A", number=2, financial_status="PENDING", created_at=young), "m2", 1, deps)
    assert record.status is OrderStatus.AWAITING_PAYMENT
    assert deps.alerts.published == [] and deps.stores.seller_store.created == {}  # type: ignore[attr-defined]


def test_the_record_keeps_the_latest_version_and_an_older_one_arriving_late_is_never_acted_on(
    deps: ProcessDependencies,
) -> None:
    def version(quantity: int, updated: datetime, cause: Cause = Cause.PULL) -> str:
        body = json.loads(message("GONE", number=7, cause=cause))
        node = body["payload"]
        node["updatedAt"] = iso(updated)
        for line in node["lineItems"]["nodes"]:
            line["quantity"] = line["currentQuantity"] = quantity
        return json.dumps(body)

    first, edited = datetime(2026, 11, 27, 10, 0, tzinfo=UTC), datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    assert process_message(version(1, first), "m1", 1, deps).reason is FailureReason.SKU_MISMATCH
    kept = process_message(version(3, edited), "m2", 1, deps)  # the edit: fails the same way, and is kept
    assert kept.envelope["payload"]["lineItems"]["nodes"][0]["quantity"] == 3
    late = process_message(version(1, first), "m3", 1, deps)  # the first version again (a late page, a redrive)
    assert late.envelope["payload"]["lineItems"]["nodes"][0]["quantity"] == 3
    deps.catalog.aliases["GONE"] = "A"  # type: ignore[attr-defined]  # ops fix the SKU ...
    synced = process_message(version(1, first, Cause.REDRIVE), "m4", 1, deps)  # ... and an old copy comes first
    assert synced.status is OrderStatus.SYNCED
    ((_, posted_lines),) = deps.stores.seller_store.posted.values()  # type: ignore[attr-defined]
    assert [quantity for _, _, quantity in posted_lines] == [3]  # the latest version was posted


def _cancelled(number: int = 1001) -> str:
    """The buyer's order again, cancelled (orders/cancelled, or the pull's next read)."""
    body = json.loads(message("A", number=number))
    later = iso(datetime.now(UTC) + timedelta(minutes=5))  # after the version that was posted
    body["payload"]["cancelledAt"] = body["payload"]["updatedAt"] = later
    return json.dumps(body)


def test_a_cancellation_after_posting_cancels_the_seller_s_copy_once_and_tells_the_seller(
    deps: ProcessDependencies,
) -> None:
    """Reproduced on main: the record stayed SYNCED, nobody was told, the seller's copy stayed open."""
    assert process_message(message("A"), "m1", 1, deps).status is OrderStatus.SYNCED
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    record = process_message(_cancelled(), "m2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.CANCELLED, FailureReason.BUYER_CANCELLED)
    assert store.cancelled == ["S1"] and "was cancelled in the seller's WooCommerce store" in record.detail
    # only what WooCommerce does: it puts back the stock it had reduced for the order (never "restored" outright)
    assert record.detail.endswith("WooCommerce puts back the stock it had reduced for it, where it had")
    (alert,) = deps.alerts.published  # type: ignore[attr-defined]
    assert alert["subject"] == "Order #1001 from Acme was cancelled - don't ship it (cancelled in your store)"
    # the record speaks of "the seller's store" for ops; the seller reads "your store"
    assert "was cancelled in your WooCommerce store" in alert["seller"] and "the seller's" not in alert["seller"]
    assert "in the seller's WooCommerce store" in alert["ops"]
    assert "Please don't ship it" in alert["seller"]
    again = process_message(_cancelled(), "m3", 1, deps)  # the pull sees it again: nothing more
    assert again.status is OrderStatus.CANCELLED and store.cancelled == ["S1"] and len(deps.alerts.published) == 1  # type: ignore[attr-defined]
    unchanged = process_message(message("A", number=1002), "m4", 1, deps)  # an ordinary order is not touched
    assert process_message(message("A", number=1002), "m5", 1, deps).status is unchanged.status


def test_a_cancellation_after_shipment_is_too_late_told_and_touches_nothing(deps: ProcessDependencies) -> None:
    process_message(message("A"), "m1", 1, deps)
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.shipped.add("S1")
    record = process_message(_cancelled(), "m2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.SYNCED, FailureReason.CANCEL_TOO_LATE)
    assert store.cancelled == [] and "after the seller's WooCommerce store shipped it" in record.detail
    (alert,) = deps.alerts.published  # type: ignore[attr-defined]
    assert alert["subject"] == "Order #1001 from Acme was cancelled after it shipped" and "return" in alert["ops"]
    process_message(_cancelled(), "m3", 1, deps)  # told once
    assert len(deps.alerts.published) == 1  # type: ignore[attr-defined]


def test_a_change_to_a_posted_order_held_by_a_shipment_check_comes_back_and_is_acted_on(
    deps: ProcessDependencies,
) -> None:
    """Found by the chaos campaign: a cancellation (or a new address) arriving while a shipment
    check held the posted order was taken for a re-read of a settled order and dropped — the copy
    stayed open, nobody was told, and the pull that read it again was dropped the same way."""
    process_message(message("A"), "m1", 1, deps)
    process_message(message("A", number=1002), "m2", 1, deps)
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    for number in (1001, 1002):  # a shipment check holds each order
        copy = ("northwind", f"S{number - 1000}")
        deps.orders.claim_posted(f"acme--northwind#{number}", _attempt(deps, f"check{number}"), copy)
    process_message(_cancelled(), "m3", 1, deps)
    process_message(_edited(5, MOVED, number=1002), "m4", 1, deps)
    assert len(deps.retries.later) == 2  # type: ignore[attr-defined]  # both come back once the check is done
    assert store.cancelled == [] and "S2" not in store.addresses
    deps.clock.advance(31)  # type: ignore[attr-defined]  # the checks' claims lapse (or they record and release)
    for body, _ in list(deps.retries.later):  # type: ignore[attr-defined]
        process_message(body, "again", 1, deps)
    assert store.cancelled == ["S1"] and store.addresses["S2"].address1 == "99 New Rd"
    process_message(message("A", number=1002), "m5", 1, deps)  # a plain re-read of a posted order, held:
    deps.orders.claim_posted("acme--northwind#1002", _attempt(deps, "check"), ("northwind", "S2"))
    process_message(message("A", number=1002), "m6", 1, deps)  # settled: dropped, not retried
    assert len(deps.retries.later) == 2  # type: ignore[attr-defined]


def test_a_cancellation_the_seller_s_store_refuses_is_recorded_in_its_words(deps: ProcessDependencies) -> None:
    process_message(message("A"), "m1", 1, deps)
    deps.stores.seller_store.refuse_cancel = "PUT /orders/S1 answered 400: Invalid parameter(s): status"  # type: ignore[attr-defined]
    record = process_message(_cancelled(), "m2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.SYNCED, FailureReason.CANCEL_REFUSED)
    assert "Invalid parameter(s): status" in record.detail
    assert "please cancel it in your store" in deps.alerts.published[0]["subject"]  # type: ignore[attr-defined]


def _edited(minutes: int, address: dict | None = None, quantity: int = 1, number: int = 1001) -> str:
    """The buyer's order again, `minutes` after the posted version, with another address or quantity."""
    body = json.loads(message("A", number=number))
    payload = body["payload"]
    payload["updatedAt"] = iso(datetime.now(UTC) + timedelta(minutes=minutes))
    if address is not None:
        payload["shippingAddress"] = address
    payload["lineItems"]["nodes"][0]["quantity"] = payload["lineItems"]["nodes"][0]["currentQuantity"] = quantity
    return json.dumps(body)


MOVED = {**ADDRESS, "address1": "99 New Rd", "city": "Portland"}


def test_a_new_address_after_posting_goes_onto_the_seller_s_copy_once_and_a_late_older_version_changes_nothing(
    deps: ProcessDependencies,
) -> None:
    assert process_message(message("A"), "m1", 1, deps).status is OrderStatus.SYNCED
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    record = process_message(_edited(5, MOVED), "m2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.SYNCED, FailureReason.ADDRESS_UPDATED)
    assert store.addresses["S1"].address1 == "99 New Rd" and store.addresses["S1"].city == "Portland"
    (alert,) = deps.alerts.published  # type: ignore[attr-defined]
    assert alert["subject"] == "The shipping address of order #1001 from Acme changed - updated in your store"
    assert "print it\nagain" in alert["seller"] and "99 New Rd" not in alert["seller"]  # no address in email
    process_message(_edited(5, MOVED), "m3", 1, deps)  # the same version again: nothing
    process_message(message("A"), "m4", 1, deps)  # the posted version, arriving late: no edit back
    assert len(deps.alerts.published) == 1 and store.addresses["S1"].address1 == "99 New Rd"  # type: ignore[attr-defined]
    assert len(deps.orders.get("acme--northwind#1001").timeline) == 3


def test_a_new_address_after_a_parcel_left_is_told_not_applied_and_a_refusal_keeps_the_store_s_words(
    deps: ProcessDependencies,
) -> None:
    process_message(message("A"), "m1", 1, deps)
    process_message(message("A", number=1002), "m2", 1, deps)
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.shipped.add("S1")
    record = process_message(_edited(5, MOVED), "m3", 1, deps)
    assert record.reason is FailureReason.ADDRESS_CHANGE_TOO_LATE and "S1" not in store.addresses
    store.refuse_address = "PUT /orders/2 answered 400: Invalid parameter(s): shipping"
    refused = process_message(_edited(5, MOVED, number=1002), "m4", 1, deps)
    assert refused.reason is FailureReason.ADDRESS_CHANGE_REFUSED and "Invalid parameter(s): shipping" in refused.detail
    assert [a["subject"].split(" - ")[0] for a in deps.alerts.published] == [  # type: ignore[attr-defined]
        "The shipping address of order #1001 from Acme changed after it shipped",
        "Order #1002 from Acme has a new shipping address",
    ]


def test_changed_lines_after_posting_are_told_to_the_seller_once_and_never_applied(deps: ProcessDependencies) -> None:
    process_message(message("A"), "m1", 1, deps)
    record = process_message(_edited(5, quantity=3), "m2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.SYNCED, FailureReason.LINES_CHANGED)
    assert "A A: 1 -> 3 (a rise or a new line: not to ship until our team confirms)" in record.detail
    process_message(_edited(6, quantity=3), "m3", 1, deps)  # a later read of the same change: told already
    (alert,) = deps.alerts.published  # type: ignore[attr-defined]
    assert alert["subject"] == "Order #1001 from Acme was changed - please adjust your copy" and alert["ops"]
    assert deps.stores.seller_store.addresses == {}  # type: ignore[attr-defined]


def test_fewer_units_before_shipment_reduce_the_seller_s_copy_and_after_shipment_are_told(
    deps: ProcessDependencies,
) -> None:
    process_message(_edited(0, quantity=3), "m1", 1, deps)  # posted with 3 units
    record = process_message(_edited(5, quantity=1), "m2", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.SYNCED, FailureReason.LINES_REDUCED)
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    line = record.posted_lines[0]
    assert (
        store.reduced == {"S1": [(CopyLine(line.variant_id, "S1-1"), 1)]} and line.quantity == 1
    )  # by the copy's line id
    (alert,) = deps.alerts.published  # type: ignore[attr-defined]
    assert alert["subject"] == "Order #1001 from Acme now has fewer units - reduced in your store"
    process_message(_edited(6, quantity=1), "m3", 1, deps)  # read again: reduced already, nothing more
    assert len(store.reduced["S1"]) == 1 and len(deps.alerts.published) == 1  # type: ignore[attr-defined]
    store.shipped.add("S1")
    late = process_message(_edited(7, quantity=0), "m4", 1, deps)  # removed after a parcel left: told
    assert late.reason is FailureReason.LINES_CHANGED and "shipped" in late.detail and len(store.reduced["S1"]) == 1


def test_an_edit_in_the_same_second_as_the_posted_version_is_acted_on(deps: ProcessDependencies) -> None:
    """Stores date an order to the second (WooCommerce's date_modified): an edit made in the second
    the order was posted carries the same date, and is still an edit."""
    posted = json.loads(message("A"))
    process_message(json.dumps(posted), "m1", 1, deps)
    posted["payload"]["shippingAddress"] = MOVED  # the same updatedAt
    record = process_message(json.dumps(posted), "m2", 1, deps)
    assert record.reason is FailureReason.ADDRESS_UPDATED


class CountingDown:
    """Lambda's context as it is: the time left shrinks as the invocation runs."""

    def __init__(self, remaining_ms: int) -> None:
        self.ends = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.ends - time.monotonic()) * 1000), 0)


def test_records_the_invocation_has_no_time_for_go_back_untouched_spending_no_delivery(
    deps: ProcessDependencies,
) -> None:
    bodies = [message("A", number=n) for n in (1, 2, 3)]
    event = {"Records": [sqs_record(f"m{n}", body, 2) for n, body in enumerate(bodies, 1)]}
    context = CountingDown(int((RECORD_NEEDS_SECONDS + 0.5) * 1000))
    deps.stores.seller_store.delay = 0.6  # type: ignore[attr-defined]  # the first order takes the spare time
    assert process_order_batch(event, context, deps) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert deps.orders.get("acme--northwind#1").status is OrderStatus.SYNCED  # type: ignore[union-attr]
    assert deps.retries.later == [(bodies[1], 1), (bodies[2], 1)]  # type: ignore[attr-defined]
    assert deps.orders.get("acme--northwind#2") is None and deps.orders.get("acme--northwind#3") is None
