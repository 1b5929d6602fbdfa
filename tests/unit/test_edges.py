"""Edges `make mutate` showed no test held: boundaries, fallbacks and the exact words at the rim of
each piece. Each test states what a seller, ops or the next attempt would see go wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from ordersync.alerts.messages import manual_posting_instructions
from ordersync.domain.catalog import CatalogVariant, VariantStatus
from ordersync.domain.decide import decide, duplicate_candidates, skus_to_look_up, suggest_skus
from ordersync.errors import InvalidOrder
from ordersync.local.fakes.shopify import order_node
from ordersync.models import (
    CatalogSyncRequest,
    Cause,
    FailureReason,
    OrderEnvelope,
    OrderStatus,
    Platform,
    ShippingAddress,
)
from ordersync.normalize import OVERSIZED_KEY, describe_validation_error, normalize, order_ref
from ordersync.observability import metrics
from ordersync.records import Attempt
from ordersync.services import pull
from ordersync.services.batch import process_order_batch
from ordersync.services.catalog_sync import sync_seller
from ordersync.services.dispatch import DispatchDependencies, dispatch_alerts
from ordersync.services.process import ProcessDependencies, process_message, source_key
from ordersync.services.pull import FanOutDependencies, fan_out, pull_connection

from .catalog_builders import NOW, LambdaContext, catalog, counted_metrics, line, order, sqs_record, store_ref, variant
from .in_memory import InMemoryConnections
from .test_alerts import record
from .test_catalog_sync_and_dispatch import Emails, Outbox, _alert, seller_world
from .test_process import CONNECTION, link_to_northwind, message
from .test_process import deps as deps
from .test_pull import PLENTY_OF_TIME, PagedBuyer, PullRequests, connection, deps_for, pages_of, shopify_order

# --- domain -----------------------------------------------------------------------------------


def test_only_shipped_lines_with_units_are_looked_up_and_only_true_duplicates_are_candidates() -> None:
    canonical = order(line("A"), line("TIP", requires_shipping=False), line("GONE", 0), line("A"), line("B"))
    assert skus_to_look_up(canonical) == ["A", "B"]
    slice_ = catalog(variant("A", "1"), variant("B", "2"), variant("B", "3"))
    assert list(duplicate_candidates(canonical, slice_)) == ["B"]


def test_a_stale_copy_is_retired_even_when_another_line_fails_and_the_match_keeps_its_sku() -> None:
    decision = decide(
        order(line("BOTTLE"), line("GONE")),
        catalog(variant("BOTTLE", "6"), variant("BOTTLE", "7")),
        Platform.WOOCOMMERCE,
        present_in_store={"BOTTLE": frozenset({"7"})},
        seller_active_skus=["GONE-1", "GONE-2"],
    )
    assert decision.status is OrderStatus.FAILED and [v.variant_id for v in decision.retired] == ["6"]
    assert decision.lines[0].resolved_sku == "BOTTLE"
    assert "closest: GONE-2, GONE-1" in decision.detail  # difflib's ranking


# --- normalize --------------------------------------------------------------------------------


def test_the_last_update_is_the_order_s_own_not_its_creation(platform_fixtures: Any) -> None:
    node = order_node(7, "#7", [("S", "T", 1, "1.00")], None) | {
        "createdAt": "2026-11-27T09:00:00Z",
        "updatedAt": "2026-11-27T11:00:00Z",
    }
    graphql = normalize(Platform.SHOPIFY, node)
    assert graphql.updated_at - graphql.created_at == timedelta(hours=2)
    assert graphql.shipping_address is None  # a null shippingAddress is no address, not an error
    rest_payload = json.loads(
        (platform_fixtures / "shopify_order_shopify_python_api.json").read_text(), parse_float=Decimal
    )["order"] | {"updated_at": "2008-01-11T11:00:00-05:00"}
    rest = normalize(Platform.SHOPIFY, rest_payload)
    assert rest.updated_at - rest.created_at == timedelta(days=1)
    assert order_ref(Platform.SHOPIFY, rest_payload)[2] == datetime(2008, 1, 11, 16, 0, tzinfo=UTC)


def test_broken_payloads_get_names_of_their_own_even_with_odd_values() -> None:
    first = order_ref(Platform.SHOPIFY, {"name": ["a"]})[0]
    second = order_ref(Platform.SHOPIFY, {"name": ["b"]})[0]
    assert first != second
    assert order_ref(Platform.SHOPIFY, {"price": Decimal("1.5")})[0].startswith("unidentified-")  # no crash


def test_an_oversized_order_says_how_big_it_was() -> None:
    why = "the order payload is 300000 bytes, over the 200000-byte limit"
    with pytest.raises(InvalidOrder, match=f"^{why}$"):
        normalize(Platform.SHOPIFY, {OVERSIZED_KEY: why})


def test_error_texts_are_cut_only_past_200_characters_and_a_short_list_has_no_count() -> None:
    for length, cut in ((200, False), (201, True)):
        sku = "S" * (length - len("timestamp '' is neither ISO 8601 nor RFC 2822"))
        with pytest.raises(InvalidOrder) as caught:
            normalize(Platform.SHOPIFY, order_node(7, "#7", [], None) | {"createdAt": sku})
        assert str(caught.value).endswith("...") is cut

    class Five(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int

    with pytest.raises(ValidationError) as caught_five:
        Five.model_validate({})
    assert describe_validation_error(caught_five.value).endswith("e: Field required")  # no "(+0 more)"


# --- alerts -----------------------------------------------------------------------------------


def test_instructions_show_the_second_address_line_and_leave_out_what_is_missing() -> None:
    ship = ShippingAddress(name="A", address1="1 Road", address2="Unit 4", city="T", province_code="ME")
    canonical = order(line("A"), shipping_address=ship)
    decision = decide(canonical, catalog(variant("A", "6")), Platform.BIGCOMMERCE)
    text = manual_posting_instructions(record("bigcommerce"), canonical, decision, "e")
    assert "Ship to:\n  A\n  1 Road\n  Unit 4\n  T\n  ME\n\n" in text  # no country, no phone: no line for them


# --- services ---------------------------------------------------------------------------------


def test_the_seller_s_copy_is_tagged_with_letters_digits_and_dashes_only() -> None:
    envelope = OrderEnvelope.model_validate_json(message("A")).model_copy(
        update={"connection_id": "Acme--North Wind", "order_id": "A/1#é"}
    )
    assert source_key(envelope) == "ordersync-Acme--North-Wind-A-1-"


def test_a_synced_order_says_where_it_went_and_keeps_its_envelope_as_json(deps: ProcessDependencies) -> None:
    record = process_message(message("A"), "m1", 1, deps)
    assert record.detail == "posted to the seller's WooCommerce store as order S1"
    failed = process_message(message("GONE", number=2), "m2", 1, deps)
    stored = deps.orders.get(failed.order_key)
    assert stored is not None and stored.envelope["pulled_at"] == "2026-11-27T12:20:00Z"  # json, for DynamoDB
    (published,) = deps.alerts.published  # type: ignore[attr-defined]
    assert published["subject"] == "Order #2 from Acme couldn't be synced to your WooCommerce store (SKU mismatch)"
    assert published["seller"].startswith("Hello Northwind,")
    ((body, _),) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert body["order_key"] == "acme--northwind#2"


def test_a_redriven_order_that_syncs_is_marked_out_of_the_dlq(deps: ProcessDependencies) -> None:
    process_message(message("GONE"), "m1", 1, deps)
    body, _ = deps.dead_letters.sent[0]  # type: ignore[attr-defined]
    deps.catalog.aliases["GONE"] = "A"  # type: ignore[attr-defined]
    record = process_message(json.dumps(body), "m2", 1, deps)
    assert record.status is OrderStatus.SYNCED and record.in_dlq is False


def test_a_settled_failure_seen_again_is_released_and_not_alerted_again(deps: ProcessDependencies) -> None:
    no_address = json.loads(message("A"))
    no_address["payload"]["shippingAddress"] = None
    first = process_message(json.dumps(no_address), "m1", 1, deps)
    again = process_message(json.dumps(no_address), "m2", 1, deps)
    assert first.status is again.status is OrderStatus.DISREGARDED
    assert len(again.timeline) == len(first.timeline)  # nothing new to say: nothing written
    assert len(deps.alerts.published) == 1  # type: ignore[attr-defined]
    stored = deps.orders.get(first.order_key)
    assert stored is not None and stored.claimed_by is None


def test_a_seller_store_opted_in_alone_is_posted_automatically(deps: ProcessDependencies) -> None:
    opted_in = CONNECTION.model_copy(
        update={"seller": CONNECTION.seller.model_copy(update={"platform": Platform.BIGCOMMERCE, "auto_post": True})}
    )
    deps.connections.connections[CONNECTION.connection_id] = opted_in  # type: ignore[attr-defined]
    envelope = json.loads(message("A")) | {"seller_platform": "bigcommerce"}
    record = process_message(json.dumps(envelope), "m1", 1, deps)
    assert record.status is OrderStatus.SYNCED and record.detail.startswith("posted to the seller's BigCommerce store")


def test_two_stale_copies_are_both_named_when_retired(deps: ProcessDependencies) -> None:
    deps.catalog.variants.append(variant("LAMP", "8"))  # type: ignore[attr-defined]
    deps.stores.seller_store.present = frozenset({"5"})  # type: ignore[attr-defined]
    record = process_message(message("LAMP"), "m1", 1, deps)
    assert "variant 4 (SKU LAMP), variant 8 (SKU LAMP)" in " ".join(e.detail for e in record.timeline)


def test_a_look_up_before_posting_again_asks_from_the_order_s_first_sight(deps: ProcessDependencies) -> None:
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    asked: list[datetime] = []
    original = store.find_posted_order

    def find(source_key: str, since: datetime) -> str | None:
        asked.append(since)
        return original(source_key, since)

    store.find_posted_order = find
    store.timeout_after_create = 1
    with pytest.raises(Exception):  # noqa: B017  (the store's timeout, as a transient error)
        process_message(message("A"), "m1", 1, deps)
    deps.clock.advance(store.search_lag_seconds + 1)  # type: ignore[attr-defined]  # the look can show it now
    record = process_message(message("A"), "m2", 2, deps)
    assert record.status is OrderStatus.SYNCED and asked == [record.timeline[0].at]


def test_a_refusal_after_an_unconfirmed_create_keeps_the_doubt_on_record(deps: ProcessDependencies) -> None:
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    store.timeout_after_create = 1
    with pytest.raises(Exception):  # noqa: B017
        process_message(message("A"), "m1", 1, deps)
    store.created.clear()  # the store did not keep it after all
    store.reject_next = 1
    deps.clock.advance(60)  # type: ignore[attr-defined]
    record = process_message(message("A"), "m2", 2, deps)
    assert record.status is OrderStatus.FAILED and record.post_unconfirmed_at is not None


def test_a_busy_order_comes_back_on_the_second_its_claim_lapses(deps: ProcessDependencies) -> None:
    now = deps.clock()
    until = int((now + timedelta(seconds=30.01)).timestamp() * 1000)
    deps.orders.claim(OrderEnvelope.model_validate_json(message("A")), Attempt("m0/other", now, until))
    process_message(message("A"), "m1", 1, deps)  # one tick later: 29.01 s left
    ((_, delay),) = deps.retries.later  # type: ignore[attr-defined]
    assert delay == 30


def test_a_body_that_is_not_json_says_so(deps: ProcessDependencies) -> None:
    record = process_message("{not json", "m1", 1, deps)
    assert record.detail.startswith("message body is not JSON: Expecting property name")


def test_the_pull_the_catalog_sync_and_the_dispatch_count_under_the_dashboard_s_names() -> None:
    metrics.clear_metrics()
    pull_connection(connection(), deps_for(PagedBuyer(pages_of(3)), connection()), lambda: PLENTY_OF_TIME)
    assert counted_metrics() == {"OrdersPulled": [3.0]}
    metrics.clear_metrics()
    fan_out(FanOutDependencies(InMemoryConnections({"acme--northwind": connection()}), PullRequests()))
    assert counted_metrics() == {"PullsRequested": [1.0]}
    metrics.clear_metrics()
    world = seller_world()
    world.catalog.stored["northwind"]["NW-PAN"] = [  # type: ignore[attr-defined]
        CatalogVariant("northwind", "P3", "3", "NW-PAN", "Pan", "", VariantStatus.ACTIVE, NOW - timedelta(hours=1))
    ]
    result = sync_seller(CatalogSyncRequest(seller=store_ref("northwind"), full=True), world)
    assert counted_metrics() == {"CatalogSkusChanged": [1.0], "CatalogVariantsRetired": [1.0]}
    (kettle,) = world.catalog.stored["northwind"]["NW-KETTLE"]  # type: ignore[attr-defined]
    assert (kettle.seller_id, kettle.last_seen_at) == ("northwind", NOW) and result.changed_skus == 1
    metrics.clear_metrics()
    outbox = Outbox([_alert("1")])
    dispatch_alerts(DispatchDependencies(outbox, Emails(outbox), digest_threshold=5))
    assert counted_metrics() == {"AlertEmailsSent": [2.0]}
    metrics.clear_metrics()


def test_an_order_exactly_at_the_size_limit_is_still_carried_whole() -> None:
    payload = shopify_order(1, NOW)
    padding = pull.MAX_PAYLOAD_BYTES - len(json.dumps(payload | {"note": ""}, default=str))
    exact = payload | {"note": "x" * padding}
    assert len(json.dumps(exact, default=str)) == pull.MAX_PAYLOAD_BYTES
    envelope, _ = pull.envelope_for(connection(), exact, NOW)
    assert envelope.payload == exact and envelope.cause is Cause.PULL


def test_the_cursor_is_the_newest_update_across_pages_whatever_their_order() -> None:
    newest = NOW - timedelta(minutes=5)
    pages = [[shopify_order(1, newest)], [shopify_order(2, NOW - timedelta(minutes=50))]]
    deps = deps_for(PagedBuyer(pages), connection())
    pull.pull_connection(connection(), deps, lambda: PLENTY_OF_TIME)
    assert deps.connections.cursors == {"acme--northwind": newest}  # type: ignore[attr-defined]


def test_every_case_only_twin_of_a_sku_is_suggested_first_in_the_seller_s_order() -> None:
    assert suggest_skus("tent-2p", ["TENT-2P-XL", "Tent-2P", "TENT-2P"]) == ("Tent-2P", "TENT-2P", "TENT-2P-XL")


def test_an_order_whose_first_attempt_failed_is_recorded_with_its_payload_for_a_replay(
    deps: ProcessDependencies,
) -> None:
    deps.stores.seller_store.fail_next = 2  # type: ignore[attr-defined]
    with pytest.raises(Exception):  # noqa: B017  (transient: SQS redelivers it)
        process_message(message("A"), "m1", 1, deps)
    assert deps.orders.get("acme--northwind#1001").envelope == {}  # type: ignore[union-attr]  # the claim's record
    deps.clock.advance(60)  # type: ignore[attr-defined]  # past the look-up lag: it looks, then tries again
    process_message(message("A"), "m1", deps.max_receive_count, deps)  # the last delivery fails too
    stored = deps.orders.get("acme--northwind#1001")
    assert stored is not None and stored.status is OrderStatus.FAILED
    assert stored.envelope["order_id"] == "1001" and stored.envelope["pulled_at"] == "2026-11-27T12:20:00Z"


def test_an_unreadable_message_is_recorded_as_from_nobody_known(deps: ProcessDependencies) -> None:
    record = process_message("[]", "m-bad", 1, deps)
    assert (record.buyer_name, record.buyer_platform, record.seller_name) == ("unknown", "unknown", "unknown")
    ((body, _),) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert body["reason"] == "INVALID_ORDER" and body["order_key"] == "unreadable#m-bad"


def test_a_mismatch_in_processing_suggests_the_seller_s_own_skus(deps: ProcessDependencies) -> None:
    link_to_northwind(deps, "a")  # the retailer listed northwind's product under a SKU gone stale
    record = process_message(message("a"), "m1", 1, deps)
    assert record.reason is FailureReason.SKU_MISMATCH and record.lines[0].suggestions == ["A"]


def test_a_bigcommerce_seller_not_opted_in_waits_for_ops(deps: ProcessDependencies) -> None:
    bigcommerce = CONNECTION.model_copy(
        update={"seller": CONNECTION.seller.model_copy(update={"platform": Platform.BIGCOMMERCE})}
    )
    deps.connections.connections[CONNECTION.connection_id] = bigcommerce  # type: ignore[attr-defined]
    metrics.clear_metrics()
    envelope = json.loads(message("A")) | {"seller_platform": "bigcommerce"}
    record = process_message(json.dumps(envelope), "m1", 1, deps)
    assert record.status is OrderStatus.MANUAL_POSTING_PENDING and deps.stores.seller_store.created == {}  # type: ignore[attr-defined]
    assert counted_metrics() == {"OrdersManualPostingPending": [1.0], "ReasonUnsupportedPlatform": [1.0]}
    metrics.clear_metrics()


def test_an_unexpected_error_on_the_last_delivery_is_recorded_as_an_unreadable_order(
    deps: ProcessDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any) -> str:
        raise RuntimeError("the client broke")

    monkeypatch.setattr(deps.stores.seller_store, "create_order", explode)
    record = process_message(message("A"), "m1", deps.max_receive_count, deps)
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    assert record.detail == f"gave up after {deps.max_receive_count} deliveries: RuntimeError: the client broke"


def test_a_claim_about_to_lapse_is_waited_for_at_least_a_second(deps: ProcessDependencies) -> None:
    now = deps.clock()
    until = int((now + timedelta(seconds=1.5)).timestamp() * 1000)
    deps.orders.claim(OrderEnvelope.model_validate_json(message("A")), Attempt("m0/other", now, until))
    process_message(message("A"), "m1", 1, deps)  # one tick later: half a second left
    ((_, delay),) = deps.retries.later  # type: ignore[attr-defined]
    assert delay == 1


def test_an_unreadable_record_in_a_batch_is_named_by_its_message_id(deps: ProcessDependencies) -> None:
    process_order_batch({"Records": [sqs_record("m-77", "not json", 1)]}, LambdaContext(30_000), deps)  # type: ignore[arg-type]
    assert deps.orders.get("unreadable#m-77") is not None


def test_a_create_whose_answer_never_came_is_looked_for_only_once_it_can_have_landed(deps: ProcessDependencies) -> None:
    """A create cut short (the invocation's deadline, a lost answer) may still land in the store for
    as long as the store is given to answer: no look, and no second create, before that."""
    store = deps.stores.seller_store  # type: ignore[attr-defined]
    deps.write_lands_within = timedelta(seconds=60)  # longer than the attempt's own 30 s
    store.timeout_after_create = 1
    with pytest.raises(Exception):  # noqa: B017  (the store's timeout, as a transient error)
        process_message(message("A"), "m1", 1, deps)
    deps.clock.advance(30 + store.search_lag_seconds + 1)  # type: ignore[attr-defined]  # past the attempt's end
    record = process_message(message("A"), "m2", 2, deps)
    assert record.status is OrderStatus.RECEIVED and store.lookups == 0 and len(store.created) == 1
    ((_, delay),) = deps.retries.later  # type: ignore[attr-defined]
    assert 20 <= delay <= 60  # until the create's window and the look-up's lag have passed
    deps.clock.advance(delay)  # type: ignore[attr-defined]
    record = process_message(message("A"), "m3", 3, deps)
    assert record.status is OrderStatus.SYNCED and store.lookups == 1 and len(store.created) == 1
