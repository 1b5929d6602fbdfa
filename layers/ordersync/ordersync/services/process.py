"""Processing one order message: decide, act, record. Called once per SQS record."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from ordersync.alerts.messages import compose_alert, dlq_message
from ordersync.domain.decide import Decision, LineMatch, decide, duplicate_candidates, skus_to_look_up
from ordersync.errors import InvalidOrder, ResourceThrottled, StoreRejected, StoreUnavailable
from ordersync.models import (
    CanonicalOrder,
    Cause,
    FailureReason,
    OrderEnvelope,
    OrderStatus,
    Platform,
    platform_label,
    utc_now,
)
from ordersync.normalize import describe_validation_error, normalize
from ordersync.observability import logger, metrics
from ordersync.ports import (
    Alerts,
    CatalogRepository,
    ConnectionRepository,
    DeadLetters,
    ManualPosting,
    OrderRepository,
    SellerStore,
    StoreFactory,
)
from ordersync.records import OrderRecord

AUTO_POSTED = frozenset({Platform.SHOPIFY, Platform.WOOCOMMERCE})
PostOnce = Callable[[SellerStore, CanonicalOrder, Sequence[LineMatch], str, datetime | None], str]
TRANSIENT = (StoreUnavailable, ResourceThrottled)


def post_to_store(
    store: SellerStore,
    order: CanonicalOrder,
    lines: Sequence[LineMatch],
    source_key: str,
    look_since: datetime | None = None,
) -> str:
    """Look before creating whenever an earlier attempt may have reached the store: a create that
    timed out after the store saved the order is then found, not repeated. `look_since` is when the
    first attempt could have started (the store is read from there on); None on an order's very
    first attempt, when nothing can be there yet and the look (a store call) is skipped."""
    found = store.find_posted_order(source_key, look_since) if look_since is not None else None
    return found or store.create_order(order, lines, source_key)


@dataclass
class ProcessDependencies:
    orders: OrderRepository
    catalog: CatalogRepository
    connections: ConnectionRepository
    stores: StoreFactory
    dead_letters: DeadLetters
    alerts: Alerts
    max_receive_count: int
    manual_posting: ManualPosting | None = None  # None: the order is recorded pending, no flow is started
    post_once: PostOnce = post_to_store
    auto_post_platforms: frozenset[Platform] = AUTO_POSTED
    clock: Callable[[], datetime] = field(default=utc_now)


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


def process_message(body: str, message_id: str, receive_count: int, deps: ProcessDependencies) -> OrderRecord:
    try:
        envelope, from_dlq = read_envelope(body)
    except InvalidOrder as error:
        return _unreadable_message(body, message_id, str(error), deps)
    record = deps.orders.get(envelope.order_key) or OrderRecord.first_seen(envelope, deps.clock())
    if from_dlq or envelope.cause is Cause.REPLAY:
        record.in_dlq = False  # a redrive moved it out of the DLQ; a replay removed it first
    if record.settled_for(envelope.cause):
        logger.info("order already settled", extra={"order_key": record.order_key, "status": record.status})
        return record
    try:
        return _process(envelope, record, deps, first_attempt=record.version == 0 and receive_count == 1)
    except Exception as error:
        if receive_count >= deps.max_receive_count:
            _record_exhausted(record, envelope, error, deps)
        raise


def _process(
    envelope: OrderEnvelope, record: OrderRecord, deps: ProcessDependencies, first_attempt: bool
) -> OrderRecord:
    try:
        order = normalize(envelope.buyer_platform, envelope.payload)
    except InvalidOrder as error:
        return _fail(record, envelope, Decision(OrderStatus.FAILED, FailureReason.INVALID_ORDER, str(error)), deps)
    record.order_number = order.order_number
    connection = deps.connections.get(envelope.connection_id)
    store = functools.cache(lambda: deps.stores.seller(connection.seller))  # only built when needed
    auto_post = deps.auto_post_platforms | ({connection.seller.platform} if connection.seller.auto_post else set())
    decision = _decide(order, envelope, store, deps, frozenset(auto_post))
    if decision.retired:
        deps.catalog.retire(decision.retired)
        stale = ", ".join(f"variant {v.variant_id} (SKU {v.sku})" for v in decision.retired)
        record.note(deps.clock(), record.status, None, f"retired stale duplicate {stale}", Cause.PROCESS)
    if decision.status is OrderStatus.FAILED:
        return _fail(record, envelope, decision, deps)
    if decision.status is OrderStatus.MANUAL_POSTING_PENDING:
        return _hand_over(record, envelope, order, decision, deps)
    if not decision.should_post:
        return _settle(record, envelope, decision, deps)
    try:
        look_since = None if first_attempt else record.timeline[0].at if record.timeline else envelope.pulled_at
        seller_order_id = deps.post_once(store(), order, decision.postable_lines, source_key(envelope), look_since)
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
    record.show_lines(decision)
    record.seller_order_id = seller_order_id
    detail = f"posted to the seller's {platform_label(envelope.seller_platform)} store as order {seller_order_id}"
    record.note(deps.clock(), OrderStatus.SYNCED, None, detail, envelope.cause)
    deps.orders.save(record)
    count_outcome(record)
    logger.info("order synced", extra={"order_key": record.order_key, "seller_order_id": seller_order_id})
    return record


def _decide(
    order: CanonicalOrder,
    envelope: OrderEnvelope,
    store: Callable[[], SellerStore],
    deps: ProcessDependencies,
    auto_post: frozenset[Platform],
) -> Decision:
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
        )

    decision = _with(())
    if decision.reason is FailureReason.SKU_MISMATCH:  # only then is the seller's SKU list worth reading
        decision = _with(deps.catalog.active_skus(envelope.seller_id))
    return decision


def _fail(record: OrderRecord, envelope: OrderEnvelope, decision: Decision, deps: ProcessDependencies) -> OrderRecord:
    if record.in_dlq and record.same_failure_as(decision.reason, decision.detail):
        logger.info("order still fails the same way; already in the DLQ", extra={"order_key": record.order_key})
        return record
    record.apply(decision, deps.clock(), envelope.cause)
    body, attributes = dlq_message(record, envelope)
    record.dlq_message_id = deps.dead_letters.send(body, attributes)
    record.in_dlq = True
    _alert_once(record, deps)
    deps.orders.save(record)
    count_outcome(record)
    logger.warning("order failed", extra={"order_key": record.order_key, "reason": record.reason})
    return record


def _settle(record: OrderRecord, envelope: OrderEnvelope, decision: Decision, deps: ProcessDependencies) -> OrderRecord:
    """Cancelled, disregarded, or handed to the manual posting flow: recorded, alerted where useful."""
    if record.status is decision.status and record.reason == decision.reason:
        return record
    record.apply(decision, deps.clock(), envelope.cause)
    _alert_once(record, deps)
    deps.orders.save(record)
    count_outcome(record)
    return record


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
        deps.orders.save(record)
        count_outcome(record)
    if deps.manual_posting is not None:
        deps.manual_posting.start(record, order, decision)
    return record


def count_outcome(record: OrderRecord) -> None:
    """One CloudWatch metric per status, and one per failure reason (the dashboard's series)."""
    metrics.add_metric(name=f"Orders{record.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    if record.reason:
        metrics.add_metric(name=f"Reason{record.reason.title().replace('_', '')}", unit=MetricUnit.Count, value=1)


def _alert_once(record: OrderRecord, deps: ProcessDependencies) -> None:
    key = (record.reason or record.status).value
    if key in record.alerted:
        return
    alert = compose_alert(record)
    if alert is None:
        return
    deps.alerts.publish(record, alert.subject, alert.seller_body, alert.ops_body)
    record.alerted.append(key)


def _record_exhausted(
    record: OrderRecord, envelope: OrderEnvelope, error: Exception, deps: ProcessDependencies
) -> None:
    """Last delivery: SQS moves the message to the DLQ after this; say so on the record, once."""
    transient = isinstance(error, (*TRANSIENT, StoreRejected))
    reason = FailureReason.PLATFORM_UNAVAILABLE if transient else FailureReason.INVALID_ORDER
    detail = f"gave up after {deps.max_receive_count} deliveries: {type(error).__name__}: {error}"
    try:
        record.note(deps.clock(), OrderStatus.FAILED, reason, detail, envelope.cause)
        record.in_dlq = True
        _alert_once(record, deps)
        deps.orders.save(record)
    except Exception:  # the original error is what matters; this is best effort
        logger.exception("could not record the exhausted order", extra={"order_key": record.order_key})


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
    deps.orders.save(record)
    return record
