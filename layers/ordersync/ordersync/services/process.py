"""Processing one order message: decide, act, record. Called once per SQS record."""

from __future__ import annotations

import functools
import json
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from ordersync.alerts.messages import SYNCED_NOTICE, compose_synced_notice, dlq_message
from ordersync.domain.catalog import CatalogSlice
from ordersync.domain.decide import Decision, decide, duplicate_candidates, skus_to_look_up, unpaid_too_long
from ordersync.domain.drift import same_address
from ordersync.domain.edits import UNCONFIRMED_ADDRESS, Edit, address_digest, reduced, with_copy_line_ids
from ordersync.errors import (
    ConcurrentUpdate,
    InvalidOrder,
    OrderClaimed,
    OutOfTime,
    ResourceThrottled,
    RetryLater,
    StoreCredentialsError,
    StoreRejected,
    StoreThrottled,
    StoreUnavailable,
)
from ordersync.models import (
    CanonicalOrder,
    Cause,
    Connection,
    FailureReason,
    OrderEnvelope,
    OrderStatus,
    Platform,
    PostedCopy,
    iso,
    platform_label,
    requested_read,
    utc_now,
)
from ordersync.normalize import describe_validation_error, normalize, order_ref, seller_copy_id
from ordersync.observability import logger, metrics
from ordersync.ports import (
    Alerts,
    CatalogRepository,
    ConnectionRepository,
    DeadLetters,
    ListingRepository,
    ManualPosting,
    OrderQueue,
    OrderRepository,
    OrderRetries,
    SellerStore,
    StoreFactory,
    StorePace,
)
from ordersync.records import Attempt, OrderRecord
from ordersync.services.after_posting import apply_edit, cancel_seller_copy, edit_to_act_on, to_act_on
from ordersync.services.alerting import alert_once
from ordersync.services.parts import Part, PartDependencies, part_of
from ordersync.services.pull import envelope_for

AUTO_POSTED = frozenset({Platform.SHOPIFY, Platform.WOOCOMMERCE})
TRANSIENT = (StoreUnavailable, ResourceThrottled)
DEFAULT_LEASE = timedelta(seconds=30)  # without an invocation deadline: ProcessOrderFunction's timeout
THROTTLE_BUDGET = timedelta(hours=24)  # the template's ThrottleBudgetHours
UNPAID_LIMIT = timedelta(hours=168)  # the template's UnpaidOrderLimitHours


@dataclass
class ProcessDependencies:
    orders: OrderRepository
    catalog: CatalogRepository
    connections: ConnectionRepository
    stores: StoreFactory
    dead_letters: DeadLetters
    alerts: Alerts
    max_receive_count: int
    retries: OrderRetries
    listings: ListingRepository  # whose each line is: the message's order is cut to this seller's part
    manual_posting: ManualPosting | None = None  # None: the order is recorded pending, no flow is started
    auto_post_platforms: frozenset[Platform] = AUTO_POSTED
    throttle_budget: timedelta = THROTTLE_BUDGET
    # How long an order whose store keeps failing (5xx, time-outs) is sent again later without a
    # delivery spent (the template's StoreDownBudgetMinutes); 0: each failure spends a delivery.
    store_down_budget: timedelta = timedelta(0)
    unpaid_limit: timedelta = UNPAID_LIMIT  # an order still unpaid after this is disregarded
    pace: StorePace | None = None  # None: each invocation learns a store's pace on its own
    # How long a seller-store create may take to land (the store clients' read timeout): one whose
    # answer never came is looked for only after it, or the look could miss it and post it again.
    write_lands_within: timedelta = timedelta(0)
    clock: Callable[[], datetime] = field(default=utc_now)
    # The other parts of an order read once for all of them (a webhook's read request): enqueued
    # here with the order as read. None: each is enqueued as a read request of its own.
    parts_queue: OrderQueue | None = None


class PacedByAnother(StoreThrottled):
    """Another invocation was throttled by this seller's store, which said when to come back."""


def source_key(envelope: OrderEnvelope) -> str:
    """The tag / meta value that marks the seller's copy of a buyer order (letters, digits, dashes)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", f"ordersync-{envelope.connection_id}-{envelope.order_id}")


def read_envelope(body: str) -> tuple[OrderEnvelope, bool]:
    """A message body is an envelope, or a DLQ message wrapping one (a redrive): (envelope, came_from_dlq)."""
    try:
        document = json.loads(body, parse_float=Decimal)  # money never goes through float
    except (json.JSONDecodeError, RecursionError) as error:
        raise InvalidOrder(f"message body is not JSON: {error}") from None
    from_dlq = isinstance(document, dict) and "envelope" in document
    try:
        envelope = OrderEnvelope.model_validate(document["envelope"] if from_dlq else document)
    except ValidationError as error:
        raise InvalidOrder(f"message is not an order envelope: {describe_validation_error(error)}") from None
    if from_dlq:
        envelope = envelope.model_copy(update={"cause": Cause.REDRIVE})
    return envelope, from_dlq


def process_message(
    body: str, message_id: str, receive_count: int, deps: ProcessDependencies, deadline: datetime | None = None
) -> OrderRecord | None:
    """Claim, act, record: the order record is claimed before anything else happens (one call that
    also answers what the record held), so the record, not the store, says whether an earlier
    attempt may have posted. `deadline`: the invocation's, which bounds the claim. The message's
    order is first cut to the seller's part (services/parts.py): None when nothing of the order is
    the seller's and it never was (no record is made)."""
    try:
        envelope, from_dlq = read_envelope(body)
    except InvalidOrder as error:
        return _unreadable_message(body, message_id, str(error), deps)
    started = deps.clock()
    attempt = Attempt(f"{message_id}/{uuid.uuid4().hex[:12]}", started, _epoch_ms(deadline or started + DEFAULT_LEASE))
    record: OrderRecord | None = None
    message_order: CanonicalOrder | None = None
    try:
        part = part_of(envelope, _parts(deps))
        envelope = part.envelope if part is not None else envelope
        message_order = _readable(envelope)
        if (settled := _settled_re_read(envelope, message_order, deps)) is not None:
            return settled
        try:
            record = _claim(envelope, attempt, message_order, deps, create=part is None or part.lines > 0)
        except LookupError:  # an empty part, and no record of it: nothing of this order is the seller's
            metrics.add_metric(name="PartsEmpty", unit=MetricUnit.Count, value=1)
            logger.info("no line of the order is the seller's", extra={"order_key": envelope.order_key})
            return None
        acted_on, newer = latest_version(envelope, record)
        if newer:  # kept on the record whatever the outcome, so that a replay posts this version
            record.envelope = acted_on.model_dump(mode="json")
        known = (part, message_order) if acted_on is envelope and message_order is not None else None
        envelope = acted_on
        if from_dlq or envelope.cause is Cause.REPLAY:
            record.in_dlq = False  # a redrive moved it out of the DLQ; a replay removed it first
        return _process(envelope, record, attempt, deps, newer, known)
    except OrderClaimed as claimed:
        if claimed.record.settled_for(envelope.cause, _reopens(envelope, message_order, claimed.record)):
            return _already_settled(envelope, claimed.record, deps)
        wait = (claimed.record.claim_until_ms or 0) - attempt.started_ms
        return _retry_later(body, claimed.record, "another attempt holds the order", wait / 1000, deps)
    except RetryLater as later:
        assert record is not None
        _give_up_claim(record, deps)
        return _retry_later(body, record, str(later), later.seconds, deps)
    except StoreUnavailable as trouble:
        if isinstance(trouble, StoreThrottled) or (record is not None and deps.store_down_budget > timedelta(0)):
            assert record is not None  # only a store call throttles, and stores are called after the claim
            return _held_back(trouble, record, envelope, started, deps)
        return _delivery_spent(trouble, record, envelope, receive_count, deps)  # no budget, or before the claim
    except ResourceThrottled as throttled:
        if deps.store_down_budget > timedelta(0):
            return _held_back_by_aws(throttled, record, envelope, started, deps)
        return _delivery_spent(throttled, record, envelope, receive_count, deps)
    except Exception as error:
        return _delivery_spent(error, record, envelope, receive_count, deps)


def _delivery_spent(
    error: Exception, record: OrderRecord | None, envelope: OrderEnvelope, receive_count: int, deps: ProcessDependencies
) -> OrderRecord:
    """The message comes back after its visibility timeout, a delivery spent; the last one fails it."""
    if receive_count >= deps.max_receive_count:
        return _record_exhausted(record, envelope, error, deps)
    if record is not None:
        _give_up_claim(record, deps)
    raise error


def _held_back(
    trouble: StoreUnavailable,
    record: OrderRecord,
    envelope: OrderEnvelope,
    started: datetime,
    deps: ProcessDependencies,
) -> OrderRecord:
    """A store that throttles (its pace) or fails (5xx, a time-out): the order is asked again later,
    no delivery spent, carrying since when, for as long as its budget lasts (ThrottleBudgetHours,
    StoreDownBudgetMinutes): ops redrive no order for a store's bad hour. A create whose answer
    never came is looked for first on the next attempt (its answer window)."""
    since = envelope.throttled_since or started
    throttled = isinstance(trouble, StoreThrottled)
    if started - since >= (deps.throttle_budget if throttled else deps.store_down_budget):
        gave_up = f"throttled since {iso(since)}" if throttled else f"its store failing since {iso(since)}"
        return _record_exhausted(record, envelope, trouble, deps, gave_up)
    _give_up_claim(record, deps)
    asked = None if isinstance(trouble, PacedByAnother) else getattr(trouble, "retry_after", None)  # a 429's word
    if deps.pace is not None and asked:
        deps.pace.slow_down(envelope.seller_id, started + timedelta(seconds=asked))
    if throttled:  # each metric named where it is emitted (the dashboard's test reads the names)
        metrics.add_metric(name="OrdersThrottledDelayed", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="OrdersStoreDownDelayed", unit=MetricUnit.Count, value=1)
    again = envelope.model_copy(update={"throttled_since": since}).model_dump_json()
    why = (
        _paused("seller", trouble)
        if isinstance(trouble, StoreThrottled)
        else f"its store failed ({type(trouble).__name__})"
    )
    return _retry_later(again, record, why, trouble.delay_seconds((started - since).total_seconds()), deps)


def _held_back_by_aws(
    throttled: ResourceThrottled,
    record: OrderRecord | None,
    envelope: OrderEnvelope,
    started: datetime,
    deps: ProcessDependencies,
) -> OrderRecord | None:
    """Our own table or queue throttled past the SDK's retries (a hot key's moment): as for a
    failing store, the order is asked again later with no delivery spent, within the same budget
    (StoreDownBudgetMinutes) — ops redrive nothing for DynamoDB's bad minute. A claim taken is given
    up first (or lapses by itself), saying whether the attempt may have posted."""
    since = envelope.throttled_since or started
    if started - since >= deps.store_down_budget:
        return _record_exhausted(record, envelope, throttled, deps, f"AWS throttling since {iso(since)}")
    if record is not None:
        _give_up_claim(record, deps)
    metrics.add_metric(name="OrdersAwsThrottledDelayed", unit=MetricUnit.Count, value=1)
    again = envelope.model_copy(update={"throttled_since": since}).model_dump_json()
    seconds = throttled.delay_seconds((started - since).total_seconds())
    deps.retries.retry_later(again, max(1, math.ceil(seconds)))
    logger.info("order retried later: AWS throttled", extra={"order_key": envelope.order_key, "seconds": seconds})
    return record


def _settled_re_read(
    envelope: OrderEnvelope, order: CanonicalOrder | None, deps: ProcessDependencies
) -> OrderRecord | None:
    """An order changed since its checkout (paid, fulfilled, re-pulled) is most often one already
    settled with nothing in the change for its seller: its record is read first (a read unit) rather
    than claimed (a claim refused is billed as a write of the whole record). A new order, or a change
    that may touch a posted one (a cancellation, an order to read), goes straight to the claim."""
    if order is None or order.updated_at <= order.created_at or _may_change_a_posted_order(envelope, order):
        return None
    seen = deps.orders.get(envelope.order_key)
    if seen is None or not seen.settled_for(envelope.cause, _reopens(envelope, order, seen)):
        return None
    return _already_settled(envelope, seen, deps)


def _already_settled(envelope: OrderEnvelope, record: OrderRecord, deps: ProcessDependencies) -> OrderRecord:
    """Nothing to do for this message: the record is left as it is (read, or answered by a refused claim)."""
    logger.info("order already settled", extra={"order_key": envelope.order_key, "status": record.status})
    _pass_on_the_read(envelope, None, None, deps)  # not read here: each other part reads it
    return record


def _claim(
    envelope: OrderEnvelope,
    attempt: Attempt,
    message_order: CanonicalOrder | None,
    deps: ProcessDependencies,
    create: bool = True,
) -> OrderRecord:
    """The claim, open to a posted order only when the message may change it: a cancellation, an
    order to read, or — seen only once the refused claim answered the record — an edit of the
    address or the lines not yet acted on (no write at all for the usual re-read of a posted order).
    create=False (a part with no line): only a record the order has already is claimed."""
    reopen = _may_change_a_posted_order(envelope, message_order)
    try:
        return deps.orders.claim(envelope, attempt, reopen, create)
    except OrderClaimed as claimed:
        seen = claimed.record
        if reopen or not seen.settled_for(envelope.cause) or not _reopens(envelope, message_order, seen):
            raise
        return deps.orders.claim(envelope, attempt, True)


def _readable(envelope: OrderEnvelope) -> CanonicalOrder | None:
    """The message's own order, or None (a read request, or a payload that doesn't read: both are
    read again where they are acted on, and an unreadable one fails there with its reason)."""
    try:
        return normalize(envelope.buyer_platform, envelope.payload)
    except InvalidOrder:
        return None


def _reopens(envelope: OrderEnvelope, order: CanonicalOrder | None, seen: OrderRecord) -> bool:
    """The message may change the posted order it found (the one rule of the claim and of a refused
    claim): held by another attempt, it comes back after it; it is not a settled re-read."""
    return _may_change_a_posted_order(envelope, order) or (order is not None and bool(edit_to_act_on(order, seen)))


def _may_change_a_posted_order(envelope: OrderEnvelope, order: CanonicalOrder | None) -> bool:
    """A cancelled order (or one that must be read to know) may change an order already posted: its
    claim may take a SYNCED record. Anything else leaves a posted order alone, at no cost."""
    return requested_read(envelope.payload) is not None or (order is not None and order.cancelled)


def latest_version(incoming: OrderEnvelope, record: OrderRecord) -> tuple[OrderEnvelope, bool]:
    """The version of the buyer's order to act on: the one this message brings, or the one the record
    holds when that is newer (a late pull page, a redriven DLQ message, an overlap's copy), carried
    under this message's cause. True when the message's is newer than the record's."""
    if not record.envelope:
        return incoming, True
    stored = OrderEnvelope.model_validate(record.envelope)
    if incoming.payload == stored.payload:
        return incoming, False
    if _version(incoming) >= _version(stored):  # the same second, read later: at least as new
        return incoming, True
    return stored.model_copy(update={"cause": incoming.cause, "throttled_since": incoming.throttled_since}), False


def _version(envelope: OrderEnvelope) -> tuple[int, datetime]:
    """Orders versions by the buyer store's last update; a read request (read when processed) is as
    new as the store itself; a payload without a readable date comes last."""
    if requested_read(envelope.payload) is not None:
        return 2, datetime.min.replace(tzinfo=UTC)
    updated = order_ref(envelope.buyer_platform, envelope.payload)[2]
    return (1, updated) if updated is not None else (0, datetime.min.replace(tzinfo=UTC))


def _process(
    envelope: OrderEnvelope,
    record: OrderRecord,
    attempt: Attempt,
    deps: ProcessDependencies,
    newer: bool = False,
    known: tuple[Part | None, CanonicalOrder] | None = None,
) -> OrderRecord:
    """`known`: the envelope's part and its order, when the caller has read them already."""
    connection = deps.connections.get(envelope.connection_id)
    try:
        if known is not None:
            part, order = known
        else:
            payload = _buyer_payload(envelope, connection, deps)
            if isinstance(payload, dict) and seller_copy_id(envelope.buyer_platform, payload) is not None:
                return _not_a_buyer_order(record, envelope, deps)
            envelope = _pass_on_the_read(envelope, payload, record, deps)
            part = part_of(envelope.model_copy(update={"payload": payload}), _parts(deps))
            order = normalize(envelope.buyer_platform, part.envelope.payload if part else payload)
            if part is not None and requested_read(envelope.payload) is None:
                envelope = part.envelope  # a version the record held: its part (a read one is read again)
    except InvalidOrder as error:
        if record.status is OrderStatus.SYNCED:  # posted already: a broken later version changes nothing
            deps.orders.release(record)
            return record
        return _fail(record, envelope, Decision(OrderStatus.FAILED, FailureReason.INVALID_ORDER, str(error)), deps)
    if not order.lines and record.first_claim:  # read only now: nothing of it is the seller's
        deps.orders.discard(record)
        return record
    if record.status is OrderStatus.SYNCED:  # in the seller's store already: the buyer's change to it
        return _after_posting(order, envelope, record, connection, deps)
    record.order_number = order.order_number
    if envelope.cause is Cause.PULL and record.version == 1 and connection.buyer.webhooks:
        # first seen by the pull although the buyer store sends webhooks: the fast path missed it
        metrics.add_metric(name="OrdersMissedByWebhooks", unit=MetricUnit.Count, value=1)
    store = functools.cache(lambda: deps.stores.seller(connection.seller))  # only built when needed
    auto_post = deps.auto_post_platforms | ({connection.seller.platform} if connection.seller.auto_post else set())
    decision = _decide(order, envelope, store, deps, frozenset(auto_post), part.catalog if part else None)
    if decision.retired:
        deps.catalog.retire(decision.retired)
        stale = ", ".join(f"variant {v.variant_id} (SKU {v.sku})" for v in decision.retired)
        record.note(deps.clock(), record.status, None, f"retired stale duplicate {stale}", Cause.PROCESS)
    if decision.status is OrderStatus.FAILED:
        return _fail(record, envelope, decision, deps, newer)
    if decision.status is OrderStatus.MANUAL_POSTING_PENDING:
        return _hand_over(record, envelope, order, decision, deps)
    if not decision.should_post:
        # cancelled while an earlier attempt's create went unanswered: the copy it made is cancelled
        earlier = _earlier_copy(store, record, attempt, source_key(envelope)) if order.cancelled else None
        if earlier is not None:
            record.seller_order_id, record.post_unconfirmed_at = earlier, None
            return _after_posting(order, envelope, record, connection, deps)
        return _settle(record, envelope, decision, deps, newer)
    _wait_for_the_store_s_pace(envelope, deps)
    try:
        copy, created = _post_once(
            store(), order, decision, record, attempt, source_key(envelope), deps.clock, deps.write_lands_within
        )
    except StoreRejected as error:
        if envelope.seller_platform is not Platform.BIGCOMMERCE:  # retrying won't help: fail it, tell ops
            refused = f"the seller's {platform_label(envelope.seller_platform)} store refused the order: {error}"
            return _fail(
                record, envelope, Decision(OrderStatus.FAILED, FailureReason.PLATFORM_UNAVAILABLE, refused), deps
            )
        # An automated BigCommerce post that fails for good falls back to posting by hand.
        detail = f"automated posting to BigCommerce failed ({error}); our team posts it by hand"
        fallback = Decision(
            OrderStatus.MANUAL_POSTING_PENDING, FailureReason.UNSUPPORTED_PLATFORM, detail, decision.lines
        )
        return _hand_over(record, envelope, order, fallback, deps)
    seller_order_id = copy.order_id
    detail = f"posted to the seller's {platform_label(envelope.seller_platform)} store as order {seller_order_id}"
    # The record stays as it was (posted, unconfirmed) unless this is written. Only the timeline is
    # changed in place by the outcome: it is the one thing copied (not the buyer's payload).
    synced = record.model_copy(update={"timeline": list(record.timeline)})
    synced.show_lines(decision)
    synced.posted_lines = with_copy_line_ids(synced.posted_lines, copy.line_ids)
    synced.posted_address = address_digest(order.shipping_address)  # what an edit after the post is held to
    if not created:  # an earlier attempt's copy: it may carry an older version's address
        detail += _bring_the_copy_up_to_date(store(), seller_order_id, order, synced)
    synced.acted_version = order.updated_at
    synced.seller_order_id = seller_order_id
    synced.post_unconfirmed_at = None  # confirmed: the store answered with its order
    synced.note(deps.clock(), OrderStatus.SYNCED, None, detail, envelope.cause)
    _tell_seller_it_synced(synced, deps)
    record.seller_order_id = seller_order_id  # if the write fails, what gives the order up says so
    _record(synced, deps)
    count_outcome(synced)
    logger.info("order synced", extra={"order_key": synced.order_key, "seller_order_id": seller_order_id})
    return synced


def _edited_after_posting(
    order: CanonicalOrder,
    edit: Edit,
    envelope: OrderEnvelope,
    record: OrderRecord,
    connection: Connection,
    deps: ProcessDependencies,
) -> OrderRecord:
    """Each change's result on the record and told once: a new address applied (or too late, or
    refused), line changes told to the seller (and ops)."""
    assert record.seller_order_id is not None  # edit_to_act_on says so
    where = f"the seller's {platform_label(envelope.seller_platform)} store"
    store = deps.stores.seller(connection.seller)
    outcomes = apply_edit(store, record.seller_order_id, edit, where, record.posted_lines)
    for outcome in outcomes:
        record.note(deps.clock(), OrderStatus.SYNCED, outcome.reason, outcome.detail, envelope.cause)
        on_lines = outcome.reason in (FailureReason.LINES_CHANGED, FailureReason.LINES_REDUCED)
        told = edit.lines_digest() if on_lines else address_digest(edit.address)
        _alert_once(record, deps, f"{outcome.reason.value}:{told}")
        count_outcome(record)
    if edit.address is not None:
        # applied, or told: either way this address is acted on (the next edit is another one)
        record.posted_address = address_digest(edit.address)
    if edit.lines:
        record.lines_told = edit.lines_digest()
        if any(
            o.reason is FailureReason.LINES_REDUCED for o in outcomes
        ):  # the copy has these now: parcels map to them
            record.posted_lines = reduced(record.posted_lines, edit)
    record.acted_version = order.updated_at
    _record(record, deps)
    logger.info("buyer's edit acted on", extra={"order_key": record.order_key, "reason": record.reason})
    return record


def _pass_on_the_read(
    envelope: OrderEnvelope, payload: Any, record: OrderRecord | None, deps: ProcessDependencies
) -> OrderEnvelope:
    """The other parts a webhook's read serves, enqueued with the order as read (`payload`; None:
    as read requests of their own); answers the envelope without them, as the record keeps it (a
    replay of this part reads for this part alone). Another delivery may pass them on again: each
    part takes a version once."""
    if not envelope.read_for:
        return envelope
    now = deps.clock()
    others = []
    for connection_id in envelope.read_for:
        try:
            connection = deps.connections.get(connection_id)
        except LookupError:  # removed since the webhook came
            continue
        if not connection.paused:
            read = payload if payload is not None else envelope.payload
            others.append(envelope_for(connection, read, now, envelope.cause)[0])
    if others and deps.parts_queue is not None:
        deps.parts_queue.enqueue(others)
    for other in others if deps.parts_queue is None else ():  # through the retries' queue: OrdersQueue too
        deps.retries.retry_later(other.model_dump_json(), 0)
    alone = envelope.model_copy(update={"read_for": []})
    if record is not None and record.envelope and record.envelope.get("read_for"):
        record.envelope = {**record.envelope, "read_for": []}
    return alone


def _not_a_buyer_order(record: OrderRecord, envelope: OrderEnvelope, deps: ProcessDependencies) -> OrderRecord:
    """An order ordersync posted into this store, which sells too (its webhook, or a read of it):
    the seller's copy of another buyer's order, never posted anywhere as this store's own."""
    detail = "an order ordersync posted into this store as a seller: not one of its buyer orders"
    record.note(deps.clock(), OrderStatus.DISREGARDED, None, detail, envelope.cause)
    record.disregard_confirmed = True  # settled: nothing to confirm, nothing to replay
    _record(record, deps)
    return record


def _after_posting(
    order: CanonicalOrder,
    envelope: OrderEnvelope,
    record: OrderRecord,
    connection: Connection,
    deps: ProcessDependencies,
) -> OrderRecord:
    """The buyer's latest version of an order already in the seller's store (after_posting.py)."""
    edit = edit_to_act_on(order, record)
    if edit:
        return _edited_after_posting(order, edit, envelope, record, connection, deps)
    if not to_act_on(order, record):
        deps.orders.release(record)
        return record
    assert record.seller_order_id is not None  # to_act_on says so
    where = f"the seller's {platform_label(envelope.seller_platform)} store"
    outcome = cancel_seller_copy(
        deps.stores.seller(connection.seller), record.seller_order_id, where, envelope.seller_platform
    )
    record.note(deps.clock(), outcome.status, outcome.reason, outcome.detail, envelope.cause)
    _alert_once(record, deps)
    _record(record, deps)
    count_outcome(record)
    logger.info("buyer's cancellation applied", extra={"order_key": record.order_key, "reason": outcome.reason})
    return record


def _parts(deps: ProcessDependencies) -> PartDependencies:
    return PartDependencies(deps.listings, deps.catalog, deps.connections, deps.clock, deps.orders)


def _buyer_payload(envelope: OrderEnvelope, connection: Connection, deps: ProcessDependencies) -> Any:
    """The order as the envelope carries it, or, where it carries only a read request (a webhook
    that named the order, a Shopify event too large to hold it, an order too large to carry), as
    the buyer's store answers now. The store's trouble is transient (SQS retries; a throttle comes
    back later without using a delivery); an order the store doesn't have is INVALID_ORDER."""
    order_id = requested_read(envelope.payload)
    if order_id is None:
        return envelope.payload
    try:
        return deps.stores.buyer(connection.buyer).order(order_id)
    except StoreCredentialsError:
        raise
    except StoreThrottled as throttled:  # the buyer's pace, not the seller's: not shared as the seller's
        raise RetryLater(_paused("buyer", throttled), throttled.delay_seconds()) from None
    except StoreRejected as error:
        raise InvalidOrder(f"the buyer's store could not give order {order_id}: {error}") from None


def _wait_for_the_store_s_pace(envelope: OrderEnvelope, deps: ProcessDependencies) -> None:
    """A store that told another invocation to come back later is not asked before then."""
    until = deps.pace.paced_until(envelope.seller_id) if deps.pace is not None else None
    now = deps.clock()
    if until is not None and until > now:
        raise PacedByAnother(f"the store asked ordersync to come back at {iso(until)}", (until - now).total_seconds())


def _bring_the_copy_up_to_date(store: SellerStore, copy: str, order: CanonicalOrder, synced: OrderRecord) -> str:
    """The buyer may have changed the address while an earlier attempt's create was in flight: the
    copy it made gets this version's. Where that fails, the address stays unconfirmed, so the next
    version (or a replay) puts it on the copy."""
    try:
        there = store.copy_address(copy)
        if there is None or order.shipping_address is None or same_address(there, order.shipping_address):
            return "; found from an earlier attempt"
        store.update_shipping_address(copy, order.shipping_address)
    except (StoreRejected, StoreUnavailable) as error:
        synced.posted_address = UNCONFIRMED_ADDRESS
        return f"; found from an earlier attempt with an older address, not updated ({type(error).__name__})"
    return "; found from an earlier attempt, and given the buyer's latest shipping address"


def _earlier_copy(store: Callable[[], SellerStore], record: OrderRecord, attempt: Attempt, key: str) -> str | None:
    """The copy an earlier attempt made, if one may have: the record names it (an exhausted write
    said so), or the store is read by the exact key it indexes, from the order's first sight on, once
    its look-up can see an order that attempt made (a younger one waits: the look could miss it)."""
    if record.seller_order_id is not None:
        return record.seller_order_id
    unconfirmed = record.post_unconfirmed_at
    if unconfirmed is None:
        return None
    lag = store().search_lag_seconds
    age = (attempt.started_at - unconfirmed).total_seconds()
    if age < lag:
        raise RetryLater("an earlier attempt may have posted the order; the store may not show it yet", lag - age)
    return store().find_posted_order(key, record.timeline[0].at if record.timeline else unconfirmed)


def _post_once(
    store: SellerStore,
    order: CanonicalOrder,
    decision: Decision,
    record: OrderRecord,
    attempt: Attempt,
    key: str,
    clock: Callable[[], datetime],
    lands_within: timedelta,
) -> tuple[PostedCopy, bool]:
    """Creates the order unless an earlier attempt may have made it (_earlier_copy: its lines then
    found by variant when changed)."""
    found = _earlier_copy(lambda: store, record, attempt, key)
    if found is not None:
        return PostedCopy(found), False
    unconfirmed = record.post_unconfirmed_at
    # Stays with any outcome but SYNCED: the next post looks, once the create can have landed.
    record.create_sent(attempt.ends_at, clock() + lands_within)
    try:
        return store.create_order(order, decision.postable_lines, key), True
    except (StoreRejected, StoreThrottled):
        record.post_unconfirmed_at = unconfirmed  # refused, or not taken yet: nothing was created
        raise


def _decide(
    order: CanonicalOrder,
    envelope: OrderEnvelope,
    store: Callable[[], SellerStore],
    deps: ProcessDependencies,
    auto_post: frozenset[Platform],
    catalog: CatalogSlice | None,
) -> Decision:
    """`catalog`: the seller's, as the split read it (every SKU of the order); read here without one."""
    if catalog is None:
        catalog = deps.catalog.lookup(envelope.seller_id, skus_to_look_up(order))
    duplicates = duplicate_candidates(order, catalog)
    present = {sku: store().variants_present(variants) for sku, variants in duplicates.items()}

    def _with(active_skus: Sequence[str]) -> Decision:
        return decide(
            order,
            catalog,
            envelope.seller_platform,
            present_in_store=present,
            seller_active_skus=active_skus,
            auto_post_platforms=auto_post,
            unpaid_past_limit=order.awaiting_payment and unpaid_too_long(order, deps.clock(), deps.unpaid_limit),
        )

    decision = _with(())
    if decision.reason is FailureReason.SKU_MISMATCH:  # only then is the seller's SKU list worth reading
        decision = _with(deps.catalog.active_skus(envelope.seller_id))
    return decision


def _fail(
    record: OrderRecord, envelope: OrderEnvelope, decision: Decision, deps: ProcessDependencies, newer: bool = False
) -> OrderRecord:
    if record.in_dlq and record.same_failure_as(decision.reason, decision.detail):
        logger.info("order still fails the same way; already in the DLQ", extra={"order_key": record.order_key})
        _release_keeping(record, newer, deps)
        return record
    record.apply(decision, deps.clock(), envelope.cause)
    body, attributes = dlq_message(record, envelope)
    record.dlq_message_id = deps.dead_letters.send(body, attributes)
    record.in_dlq = True
    _alert_once(record, deps)
    _record(record, deps)
    count_outcome(record)
    logger.warning("order failed", extra={"order_key": record.order_key, "reason": record.reason})
    return record


def _settle(
    record: OrderRecord, envelope: OrderEnvelope, decision: Decision, deps: ProcessDependencies, newer: bool = False
) -> OrderRecord:
    """Cancelled, disregarded, or handed to the manual posting flow: recorded, alerted where useful."""
    if record.status is decision.status and record.reason == decision.reason:
        _release_keeping(record, newer, deps)
        return record
    record.apply(decision, deps.clock(), envelope.cause)
    _alert_once(record, deps)
    _record(record, deps)
    count_outcome(record)
    return record


def _release_keeping(record: OrderRecord, newer: bool, deps: ProcessDependencies) -> None:
    """Nothing new to record, but a newer version of the buyer's order is kept (the replay after the
    fix posts it): the write that keeps it frees the order; else the claim is simply released."""
    if newer:
        _record(record, deps)
    else:
        deps.orders.release(record)


def _hand_over(
    record: OrderRecord, envelope: OrderEnvelope, order: CanonicalOrder, decision: Decision, deps: ProcessDependencies
) -> OrderRecord:
    """To the manual posting flow: recorded first, then the flow started (it tells the seller and
    ops, and writes its execution ARN on the record). Starting is idempotent by execution name."""
    if record.status is not OrderStatus.MANUAL_POSTING_PENDING:
        if record.execution_arn:  # ops replay an order whose manual flow ended: a new attempt
            record.execution_arn = None
        record.manual_attempts += 1
        record.apply(decision, deps.clock(), envelope.cause)
        _record(record, deps)
        count_outcome(record)
    else:
        deps.orders.release(record)
    if deps.manual_posting is not None:
        deps.manual_posting.start(record, order, decision)
    return record


def count_outcome(record: OrderRecord) -> None:
    """One CloudWatch metric per status, and one per failure reason (the dashboard's series)."""
    metrics.add_metric(name=f"Orders{record.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    if record.reason:
        metrics.add_metric(name=f"Reason{record.reason.title().replace('_', '')}", unit=MetricUnit.Count, value=1)


def _alert_once(record: OrderRecord, deps: ProcessDependencies, key: str | None = None) -> None:
    alert_once(record, deps.alerts, key)


def _tell_seller_it_synced(record: OrderRecord, deps: ProcessDependencies) -> None:
    notice = compose_synced_notice(record)
    if notice is not None:
        deps.alerts.publish(record, notice)
        record.alerted.append(SYNCED_NOTICE)


def _record(record: OrderRecord, deps: ProcessDependencies) -> None:
    """The outcome, in one conditional write that also releases this attempt's claim. A write that
    fails leaves the record as it was, still this attempt's to give up."""
    outcome = record.model_copy()
    outcome.release()
    deps.orders.save(outcome)
    record.release()
    record.version = outcome.version


def _give_up_claim(record: OrderRecord, deps: ProcessDependencies) -> None:
    """A failed attempt frees the order for the redelivery, noting that it may have posted (a
    create whose answer was lost). If even that fails, its claim lapses at its deadline."""
    if record.post_unconfirmed_at is not None:
        record.attempt_over(deps.clock())
    try:
        deps.orders.release(record)
    except Exception:
        logger.warning("could not release the order's claim", extra={"order_key": record.order_key})


def _paused(whose: str, throttled: StoreThrottled) -> str:
    """Why the order waits: the store's pace, or the invocation's end before a request was sent."""
    return str(throttled) if isinstance(throttled, OutOfTime) else f"the {whose}'s store is throttling: {throttled}"


def _retry_later(body: str, record: OrderRecord, why: str, seconds: float, deps: ProcessDependencies) -> OrderRecord:
    """Not a failure: the message comes back after `seconds` as a new delivery (its receive count
    is not used up); this one is done."""
    deps.retries.retry_later(body, max(1, math.ceil(seconds)))
    logger.info("order retried later", extra={"order_key": record.order_key, "why": why, "seconds": seconds})
    metrics.add_metric(name="OrdersRetriedLater", unit=MetricUnit.Count, value=1)
    return record


def _record_exhausted(
    record: OrderRecord | None,
    envelope: OrderEnvelope,
    error: Exception,
    deps: ProcessDependencies,
    gave_up: str | None = None,
) -> OrderRecord:
    """Last delivery (or the end of the throttle budget: `gave_up` says how long): the order goes
    to the DLQ with its reason. Recorded on the order if the record can be written; if not, the DLQ
    message says why on its own, and this delivery ends quietly (SQS would otherwise move the bare
    message there, with no reason anywhere)."""
    transient = isinstance(error, (*TRANSIENT, StoreRejected, ConcurrentUpdate))
    reason = FailureReason.PLATFORM_UNAVAILABLE if transient else FailureReason.INVALID_ORDER
    after = gave_up or f"after {deps.max_receive_count} deliveries"
    detail = f"gave up {after}: {type(error).__name__}: {error}"
    if record is not None and record.seller_order_id and record.status is not OrderStatus.SYNCED:
        detail += (
            f"; posted to the seller's {platform_label(envelope.seller_platform)} store as order"
            f" {record.seller_order_id} before that (a redrive finds it there and posts nothing)"
        )
    record = record or OrderRecord.first_seen(envelope, deps.clock())
    # An order in the seller's store stays there: what failed is the change to it, kept in the DLQ
    posted = record.status in (OrderStatus.SYNCED, OrderStatus.POSTED_MANUALLY) and record.seller_order_id
    record.note(deps.clock(), record.status if posted else OrderStatus.FAILED, reason, detail, envelope.cause)
    body, attributes = dlq_message(record, envelope)
    record.dlq_message_id = deps.dead_letters.send(body, attributes)  # if this fails, SQS moves the message
    record.in_dlq = True
    try:
        _alert_once(record, deps)
        _record(record, deps)
    except Exception:  # the DLQ message carries the reason; ops see it there
        logger.exception("could not record the exhausted order", extra={"order_key": record.order_key})
    return record


def _epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _unreadable_message(body: str, message_id: str, problem: str, deps: ProcessDependencies) -> OrderRecord:
    """Not even an envelope: recorded under the message id, kept in the DLQ, ops alerted."""
    envelope_stub: dict[str, Any] = {"raw_body": body[:200_000]}
    record = OrderRecord(
        order_key=f"unreadable#{message_id}",
        connection_id="unknown",
        order_id=message_id,
        buyer_id="unknown",
        buyer_name="unknown",
        buyer_platform="unknown",
        seller_id="unknown",
        seller_name="unknown",
        seller_platform="unknown",
        status=OrderStatus.FAILED,
        envelope=envelope_stub,
    )
    record.note(deps.clock(), OrderStatus.FAILED, FailureReason.INVALID_ORDER, problem, Cause.PROCESS)
    body_out, attributes = dlq_message(record, None)
    record.dlq_message_id = deps.dead_letters.send(body_out, attributes)
    record.in_dlq = True
    _alert_once(record, deps)
    deps.orders.save(record)  # keyed by the message id: nothing else can hold it
    return record
