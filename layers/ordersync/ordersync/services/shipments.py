"""The seller ships: each parcel of an order we posted goes into the buyer's store as that
platform's shipment, exactly once. Under the order's claim (the one the post and the buyer's
cancellation take): the seller's copy read, each parcel not yet in the buyer's store looked for
there by an exact key (a lost answer, a fulfilment by hand) and only then written, and the order
record written with every parcel's result before the claim is freed. A parcel that can't go in is
recorded with its reason, the seller and ops told once, and the check kept in ShipmentsDLQ."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.domain.carriers import carrier_named
from ordersync.domain.parcels import parcel_problems, shown
from ordersync.domain.shipments import (
    BuyerShipments,
    Found,
    Misfit,
    already_there,
    buyer_lines,
    lines_left,
    parcel_key,
)
from ordersync.errors import (
    BuyerOrderWaiting,
    InvalidOrder,
    RetryLater,
    StoreCredentialsError,
    StoreDataInvalid,
    StoreRejected,
)
from ordersync.models import (
    BuyerParcel,
    Cause,
    Connection,
    FailureReason,
    OrderStatus,
    Parcel,
    Platform,
    SellerOrderState,
    platform_label,
)
from ordersync.normalize import normalize
from ordersync.observability import logger, metrics
from ordersync.ports import Alerts, BuyerStore, ConnectionRepository, PostedOrders, StoreFactory
from ordersync.records import MAX_PARCELS, Attempt, OrderRecord, ParcelEntry
from ordersync.services.alerting import alert_once


@dataclass
class ShipmentDependencies:
    orders: PostedOrders
    connections: ConnectionRepository
    stores: StoreFactory
    alerts: Alerts
    clock: Callable[[], datetime]
    # How long a buyer-store write may take to land (the store clients' read timeout): one whose
    # answer never came is looked for only after it, or the look could miss it and write it again.
    write_lands_within: timedelta = timedelta(0)


# An order whose copy is in the seller's store: the ones claim_posted takes.
_IN_SELLER_STORE = (OrderStatus.SYNCED, OrderStatus.POSTED_MANUALLY, OrderStatus.CANCELLED)


@dataclass(frozen=True)
class ShipmentCheck:
    """What one check did: parcels written (or found there), parcels that could not go in."""

    order_key: str | None
    written: int = 0
    problems: tuple[FailureReason, ...] = ()  # every parcel that can't go in, newly or still


def check_seller_copy(
    seller_id: str, seller_order_id: str, attempt: Attempt, deps: ShipmentDependencies, named: str | None = None
) -> ShipmentCheck:
    """The seller's order `seller_order_id`: its parcels into the buyer's store. Not one of ours
    (an order the seller took elsewhere): nothing. `named`: the order key the seller's copy carries,
    claimed only if its record is this very copy (else the index says whose it is)."""
    copy = (seller_id, seller_order_id)
    seen = deps.orders.get(named) if named else None
    if seen is None or (seen.seller_id, seen.seller_order_id) != copy:  # not this copy's record: the index decides
        order_key = deps.orders.key_of_seller_copy(seller_id, seller_order_id)
        if order_key is None:
            return ShipmentCheck(None)
        seen = deps.orders.get(order_key)
        if seen is None or (seen.seller_id, seen.seller_order_id) != copy:
            return ShipmentCheck(order_key)  # posted by hand and not recorded yet, or gone: nothing to map parcels to
    # The seller's copy read first, and the order claimed only if it shows something new: most checks
    # (the :40 sweep, a seller's webhook for an edit of its own) find nothing, and a claim and its
    # release are two writes of the whole record. A record read stale only ever shows less done.
    _no_earlier_write_in_flight(seen, deps)
    connection = deps.connections.get(seen.connection_id)
    state = deps.stores.seller(connection.seller).order_state(seller_order_id)
    if seen.status in _IN_SELLER_STORE and _nothing_new(seen, state, seller_id):
        return ShipmentCheck(seen.order_key)
    try:
        record = deps.orders.claim_posted(seen.order_key, attempt, copy)
    except LookupError:  # no longer that copy, or not in the seller's store: nothing to map parcels to
        return ShipmentCheck(seen.order_key)
    try:
        return _sync_parcels(record, deps, state)
    except BaseException:
        record.attempt_failed()  # a parcel written and not recorded: looked for next time, never written twice
        deps.orders.release(record)
        raise


def _no_earlier_write_in_flight(record: OrderRecord, deps: ShipmentDependencies) -> None:
    """An earlier attempt's write whose answer never came (cut short by its invocation's end, or
    lost) may still be landing in the buyer's store: come back once it can have landed."""
    if record.post_unconfirmed_at is None:
        return
    latest = max(record.post_unconfirmed_at, record.lapsed_until or record.post_unconfirmed_at)
    lands_by, now = latest + deps.write_lands_within, deps.clock()
    if now < lands_by:
        raise RetryLater(
            "an earlier attempt's write may still land in the buyer's store", (lands_by - now).total_seconds()
        )


def _nothing_new(record: OrderRecord, state: SellerOrderState, seller_id: str) -> bool:
    """What _sync_parcels would find to do, in the negative: no cancellation or restore to record, no
    post to confirm, and every parcel in the buyer's store already, as the seller's store shows it now."""
    if record.post_unconfirmed_at is not None or (record.cancelled_by_seller and not state.cancelled):
        return False
    if state.cancelled and record.status is OrderStatus.SYNCED:
        return False
    for parcel in state.parcels:
        entry = record.parcel(parcel_key(seller_id, parcel.parcel_id))
        if entry is None or entry.in_buyer_store_at is None or parcel.unreadable:
            return False
        if _tracking_corrected(entry, parcel) or _units_changed(record, entry, parcel) is not None:
            return False
    return True


def _sync_parcels(record: OrderRecord, deps: ShipmentDependencies, state: SellerOrderState) -> ShipmentCheck:
    connection = deps.connections.get(record.connection_id)
    buyer = functools.cache(lambda: deps.stores.buyer(connection.buyer))  # built only when a parcel needs it
    written, problems, last = 0, [], record.timeline[-1] if record.timeline else None
    if record.cancelled_by_seller and not state.cancelled:
        _seller_restored(record, state.words, connection, buyer, deps)
    for parcel in state.parcels:
        outcome = _sync_parcel(record, parcel, connection, buyer, deps)
        if outcome is True:
            written += 1
        elif isinstance(outcome, FailureReason):
            problems.append(outcome)
    if state.cancelled and record.status is OrderStatus.SYNCED:
        _seller_cancelled(record, state.words, connection, buyer, deps)
    # something new to record (the timeline is bounded: its last entry tells, not its length)
    if (record.timeline[-1] if record.timeline else None) is not last or record.post_unconfirmed_at is not None:
        record.post_unconfirmed_at = None  # whatever an earlier attempt wrote is found and recorded now
        release_and_save(record, deps)
    else:
        deps.orders.release(record)
    return ShipmentCheck(record.order_key, written, tuple(problems))


def release_and_save(record: OrderRecord, deps: ShipmentDependencies) -> None:
    outcome = record.model_copy()
    outcome.release()
    deps.orders.save(outcome)
    record.version = outcome.version
    record.release()


def _sync_parcel(
    record: OrderRecord,
    parcel: Parcel,
    connection: Connection,
    buyer: Callable[[], BuyerStore],
    deps: ShipmentDependencies,
) -> bool | FailureReason | None:
    """True: written into (or found in) the buyer's store now; a reason: it can't go in; None:
    nothing to do (in the buyer's store already, or nothing of the order left to ship)."""
    key = parcel_key(connection.seller.store_id, parcel.parcel_id)
    entry = record.parcel(key)
    if entry is not None and entry.in_buyer_store_at is not None:
        if parcel.unreadable:  # edited in the seller's store since it went across, into what can't be read
            words = f"{_parcel_words(Parcel(key, (), entry.carrier, entry.tracking_number))}, written before"
            where = f"the buyer's {platform_label(connection.buyer.platform)} store"
            return _cannot(
                record,
                entry,
                FailureReason.PARCEL_INVALID,
                _invalid_words(words, parcel_problems(parcel, connection.buyer.platform), where),
                deps,
            )
        if entry.buyer_shipment_id and _tracking_corrected(entry, parcel):
            return _correct_tracking(record, entry, parcel, connection, buyer, deps)
        if (changed := _units_changed(record, entry, parcel)) is not None:
            lines_now = buyer_lines(parcel, record.posted_lines, record.units_in_buyer_store(but=entry.key))
            if _lines_editable(connection, entry) and not isinstance(lines_now, Misfit) and lines_now:
                return _correct_lines(record, entry, parcel, lines_now, connection, buyer, deps)
            return _cannot(record, entry, FailureReason.PARCEL_DOESNT_FIT, changed, deps)
        return None
    if entry is None and len(record.parcels) >= MAX_PARCELS:
        return _one_too_many(record, parcel, deps)
    entry = entry or ParcelEntry(key=key)
    problems = parcel_problems(parcel, connection.buyer.platform)
    _describe(entry, parcel, valid=not problems)
    entry.shipped_at = parcel.shipped_at
    where = f"the buyer's {platform_label(connection.buyer.platform)} store"
    if record.status is OrderStatus.CANCELLED:
        return _for_a_cancelled_order(record, entry, parcel, where, deps)
    if problems:
        return _invalid(record, entry, parcel, problems, where, deps)
    lines = buyer_lines(parcel, record.posted_lines, record.units_in_buyer_store(but=key))
    if isinstance(lines, Misfit):
        return _cannot(record, entry, FailureReason.PARCEL_DOESNT_FIT, f"{_parcel_words(parcel)}: {lines.why}", deps)
    if not lines:
        return None  # a whole-order parcel with nothing left: our other parcels carried it all
    entry.lines = list(lines)
    store = buyer()
    try:
        there = store.shipments(record.order_id)
        if there.cancelled:  # cancelled in the buyer's store, not yet pulled: a parcel for a cancelled order
            return _for_a_cancelled_order(record, entry, parcel, where, deps)
        found, shipment = already_there(
            key, parcel.tracking_number, lines, there.shipments, there.unfulfilled, record.post_unconfirmed_at
        )
        if found is Found.OTHER_TRACKING:
            other = f" ({shipment.tracking_number})" if shipment and shipment.tracking_number else ""
            return _cannot(
                record,
                entry,
                FailureReason.FULFILLED_BY_HAND,
                f"{_parcel_words(parcel)}: {where} shows it fulfilled already with other tracking{other}; nothing was written",
                deps,
            )
        if found in (Found.NOTHING, Found.PART):
            part = shipment if found is Found.PART else None  # written at one location, the rest not
            completes = _completes(record, key, lines, connection, store, deps)
            rest = lines_left(lines, part.lines if part else ())
            made = _write(
                record, _as_buyer_parcel(record, key, rest, parcel, connection, completes), store, there, deps
            )
            entry.buyer_shipment_id = f"{part.shipment_id},{made}" if part else made
            how = f"written into {where} as shipment {entry.buyer_shipment_id}"
        else:
            assert shipment is not None
            entry.buyer_shipment_id = shipment.shipment_id
            how = f"found in {where} already (shipment {shipment.shipment_id}" + (
                ", fulfilled by hand)" if found is Found.BY_HAND else ")"
            )
    except StoreCredentialsError:
        raise
    except StoreDataInvalid as unreadable:  # what the buyer's store shows of the order can't be read
        words = f"{_parcel_words(parcel)}: {where} can't be read ({unreadable}); nothing was written"
        return _cannot(record, entry, FailureReason.PARCEL_REFUSED, words, deps)
    except BuyerOrderWaiting as waiting:  # released later: checked again until then (shipment_sync)
        words = f"{_parcel_words(parcel)}: {where} can't take it yet: {waiting}"
        return _cannot(record, entry, FailureReason.PARCEL_WAITING, words, deps)
    except StoreRejected as refused:
        return _cannot(
            record, entry, FailureReason.PARCEL_REFUSED, f"{_parcel_words(parcel)}: {where} refused it: {refused}", deps
        )
    now = deps.clock()
    entry.in_buyer_store_at, entry.reason, entry.detail = now, None, how
    _keep(record, entry)
    record.log(now, f"{_parcel_words(parcel)} {_units(lines)}: {how}", Cause.PROCESS)
    metrics.add_metric(name="ParcelsSynced", unit=MetricUnit.Count, value=1)
    if parcel.shipped_at is not None:
        metrics.add_metric(
            name="ParcelLatencySeconds",
            unit=MetricUnit.Seconds,
            value=max((now - parcel.shipped_at).total_seconds(), 0.0),
        )
    logger.info("parcel synced", extra={"order_key": record.order_key, "parcel": key, "found": found.value})
    return True


def _as_buyer_parcel(
    record: OrderRecord,
    key: str,
    lines: tuple[tuple[str, int], ...],
    parcel: Parcel,
    connection: Connection,
    completes: bool = False,
) -> BuyerParcel:
    """The seller's parcel as a buyer's store is written it: its lines the buyer's (by the buyer's
    titles where words are written), a known carrier by the one vocabulary (any other by the
    seller's name), the customer told as the connection says."""
    carrier = carrier_named(parcel.carrier)
    titles = {line.line_id: line.title for line in record.lines}
    return BuyerParcel(
        key=key,
        lines=lines,
        titles=tuple((line_id, titles[line_id]) for line_id, _ in lines if titles.get(line_id)),
        carrier=carrier.key if carrier else parcel.carrier,
        tracking_number=parcel.tracking_number,
        tracking_url=parcel.tracking_url,
        notify_customer=connection.notify_customer,
        completes_order=completes,
        shipped_at=parcel.shipped_at,
    )


def _write(
    record: OrderRecord, parcel: BuyerParcel, store: BuyerStore, there: BuyerShipments, deps: ShipmentDependencies
) -> str:
    """The write; where its answer may be lost after the store made it, the record keeps when it
    began (freed with the claim), so that the retry looks for what was made since — by lines and
    units where the platform keeps no key of ours — before it writes."""
    started = deps.clock()
    try:
        made = store.write_shipment(record.order_id, parcel, there)
    except StoreRejected:  # a refusal: nothing was made
        raise
    except BaseException:
        record.may_have_written(started)
        raise
    record.wrote_unrecorded(started)
    return made


def _seller_cancelled(
    record: OrderRecord, words: str, connection: Connection, buyer: Callable[[], BuyerStore], deps: ShipmentDependencies
) -> None:
    """The seller cancelled its copy. Asked to (the buyer's cancellation its store had refused): that
    is now done. Of its own accord: the retailer gets a note on its order and an email, ops too; the
    retailer's order itself is left as it is, and no money moves."""
    seller_order = record.seller_order_id
    where = f"the seller's {platform_label(connection.seller.platform)} store"
    if record.reason is FailureReason.CANCEL_REFUSED:
        detail = f"the buyer cancelled the order; order {seller_order} was cancelled in {where} by hand, as asked"
        record.note(deps.clock(), OrderStatus.CANCELLED, FailureReason.BUYER_CANCELLED, detail, Cause.PROCESS)
        return
    detail = f"{connection.seller.name} cancelled order {seller_order} in {where} ({words}), the copy of this order"
    note = f"{detail}. Nothing was refunded or cancelled in this store by ordersync. [ordersync]"
    try:
        buyer().add_note(record.order_id, note[:1].upper() + note[1:])
    except StoreCredentialsError:
        raise
    except StoreRejected as refused:
        detail += f"; the note on the retailer's order was refused: {refused}"
    record.note(deps.clock(), OrderStatus.CANCELLED, FailureReason.SELLER_CANCELLED, detail, Cause.PROCESS)
    alert_once(record, deps.alerts)
    _news_again(record, FailureReason.SELLER_RESTORED)  # a restore after this is told as the first was
    metrics.add_metric(name="ReasonSellerCancelled", unit=MetricUnit.Count, value=1)
    logger.warning("seller cancelled a posted order", extra={"order_key": record.order_key})


def _seller_restored(
    record: OrderRecord, words: str, connection: Connection, buyer: Callable[[], BuyerStore], deps: ShipmentDependencies
) -> None:
    """The seller took back its cancellation: the order is live again (SYNCED), its parcels carried;
    the retailer, told of the cancellation, is told of this too (a note, an email), and ops."""
    where = f"the seller's {platform_label(connection.seller.platform)} store"
    detail = (
        f"{connection.seller.name} restored order {record.seller_order_id} in {where} ({words}), the copy of this"
        " order it had cancelled: it is live again"
    )
    try:
        buyer().add_note(
            record.order_id, f"{detail[:1].upper()}{detail[1:]}; its parcels will be carried here. [ordersync]"
        )
    except StoreCredentialsError:
        raise
    except StoreRejected as refused:
        detail += f"; the note on the retailer's order was refused: {refused}"
    record.note(deps.clock(), OrderStatus.SYNCED, FailureReason.SELLER_RESTORED, detail, Cause.PROCESS)
    _news_again(record, FailureReason.SELLER_CANCELLED)  # a cancellation after this is told as the first was
    alert_once(record, deps.alerts)
    logger.info("seller restored a cancelled copy", extra={"order_key": record.order_key})


def _lines_editable(connection: Connection, entry: ParcelEntry) -> bool:
    """Only a WooCommerce core fulfilment's lines can be changed once written (its `_items` meta, sent
    whole on update); Shopify's fulfilments and BigCommerce's shipments keep theirs, notes have none."""
    return connection.buyer.platform is Platform.WOOCOMMERCE and (entry.buyer_shipment_id or "").isdigit()


def _correct_lines(
    record: OrderRecord,
    entry: ParcelEntry,
    parcel: Parcel,
    lines: tuple[tuple[str, int], ...],
    connection: Connection,
    buyer: Callable[[], BuyerStore],
    deps: ShipmentDependencies,
) -> bool | FailureReason:
    """The same shipment in the buyer's store gets the parcel's lines as the seller changed them."""
    assert entry.buyer_shipment_id is not None
    corrected = _as_buyer_parcel(record, entry.key, lines, parcel, connection)
    where = f"the buyer's {platform_label(connection.buyer.platform)} store"
    try:
        buyer().update_tracking(record.order_id, entry.buyer_shipment_id, corrected)
    except StoreCredentialsError:
        raise
    except StoreRejected as refused:
        words = f"{_parcel_words(parcel)}: {where} refused its changed lines: {refused}"
        return _cannot(record, entry, FailureReason.PARCEL_REFUSED, words, deps)
    before = _units(tuple(entry.lines))
    entry.lines, entry.reason, entry.detail = list(lines), None, f"lines corrected in {where}"
    _keep(record, entry)
    what = f"the seller changed {_parcel_words(parcel)} from {before} to {_units(lines)}"
    record.log(deps.clock(), f"{what}; shipment {entry.buyer_shipment_id} in {where} corrected", Cause.PROCESS)
    return True


def _units_changed(record: OrderRecord, entry: ParcelEntry, parcel: Parcel) -> str | None:
    """The seller edited a parcel's units after it went across: corrected where the buyer's platform
    lets a written shipment's lines change, else named (its store keeps what was written), never silently."""
    if parcel.whole_order:
        return None
    now = buyer_lines(parcel, record.posted_lines, record.units_in_buyer_store(but=entry.key))
    if not isinstance(now, Misfit) and sorted(now) == sorted(entry.lines):
        return None
    words = _units(now) if not isinstance(now, Misfit) else now.why
    return (
        f"{_parcel_words(parcel)} was changed in the seller's store after it was written into the buyer's"
        f" ({words}; written: {_units(tuple(entry.lines))}); the buyer's store was not changed"
    )


def _one_too_many(record: OrderRecord, parcel: Parcel, deps: ShipmentDependencies) -> FailureReason:
    """More parcels than one order's record keeps: named once, not kept, nothing written."""
    detail = (
        f"{_parcel_words(parcel)}: the order has {len(record.parcels)} parcels already, the most ordersync keeps"
        " for one order; nothing was written into the buyer's store (add it there by hand)"
    )
    key = f"{FailureReason.PARCEL_DOESNT_FIT.value}:too-many"
    if key not in record.alerted:
        record.note(deps.clock(), record.status, FailureReason.PARCEL_DOESNT_FIT, detail, Cause.PROCESS)
        alert_once(record, deps.alerts, key)
    return FailureReason.PARCEL_DOESNT_FIT


def _news_again(record: OrderRecord, reason: FailureReason) -> None:
    record.alerted = [key for key in record.alerted if key != reason.value]


def _tracking_corrected(entry: ParcelEntry, parcel: Parcel) -> bool:
    """The seller changed the parcel's tracking number (or carrier) after it went across."""
    return bool(parcel.tracking_number) and (parcel.tracking_number, parcel.carrier) != (
        entry.tracking_number,
        entry.carrier,
    )


def _for_a_cancelled_order(
    record: OrderRecord, entry: ParcelEntry, parcel: Parcel, where: str, deps: ShipmentDependencies
) -> FailureReason:
    words = f"{_parcel_words(parcel)} left for an order the buyer had cancelled; nothing was written into {where}"
    return _cannot(record, entry, FailureReason.PARCEL_FOR_CANCELLED_ORDER, words, deps)


def _correct_tracking(
    record: OrderRecord,
    entry: ParcelEntry,
    parcel: Parcel,
    connection: Connection,
    buyer: Callable[[], BuyerStore],
    deps: ShipmentDependencies,
) -> bool | FailureReason:
    """The same shipment in the buyer's store gets the new tracking: never a second one."""
    assert entry.buyer_shipment_id is not None
    where = f"the buyer's {platform_label(connection.buyer.platform)} store"
    if problems := parcel_problems(parcel, connection.buyer.platform):
        words = f"the seller corrected the tracking of {_parcel_words(parcel)}"
        return _cannot(record, entry, FailureReason.PARCEL_INVALID, _invalid_words(words, problems, where), deps)
    corrected = _as_buyer_parcel(record, entry.key, tuple(entry.lines), parcel, connection)
    try:
        entry.buyer_shipment_id = buyer().update_tracking(record.order_id, entry.buyer_shipment_id, corrected)
    except StoreCredentialsError:
        raise
    except StoreRejected as refused:
        return _cannot(
            record,
            entry,
            FailureReason.PARCEL_REFUSED,
            f"{_parcel_words(parcel)}: {where} refused the corrected tracking: {refused}",
            deps,
        )
    before = _parcel_words(Parcel(entry.key, (), entry.carrier, entry.tracking_number))
    entry.carrier, entry.tracking_number, entry.tracking_url = (
        parcel.carrier,
        parcel.tracking_number,
        parcel.tracking_url,
    )
    entry.reason, entry.detail = None, f"tracking corrected in {where} (shipment {entry.buyer_shipment_id})"
    now = f"{parcel.tracking_number}" + (f" ({parcel.carrier})" if parcel.carrier else "")
    record.log(deps.clock(), f"{before}: the seller corrected its tracking to {now}; {entry.detail}", Cause.PROCESS)
    logger.info("parcel tracking corrected", extra={"order_key": record.order_key, "parcel": entry.key})
    return True


def _describe(entry: ParcelEntry, parcel: Parcel, valid: bool) -> None:
    """The parcel's tracking on its entry: as the seller gave it, or — refused — as shown (bounded)."""
    if valid:
        entry.carrier, entry.tracking_number, entry.tracking_url = (
            parcel.carrier,
            parcel.tracking_number,
            parcel.tracking_url,
        )
    else:
        entry.carrier, entry.tracking_number, entry.tracking_url = (
            shown(parcel.carrier) or None,
            shown(parcel.tracking_number) or None,
            shown(parcel.tracking_url, 80) or None,
        )


def _invalid(
    record: OrderRecord, entry: ParcelEntry, parcel: Parcel, problems: list[str], where: str, deps: ShipmentDependencies
) -> FailureReason:
    words = _invalid_words(_parcel_words(parcel), problems, where)
    return _cannot(record, entry, FailureReason.PARCEL_INVALID, words, deps)


def _invalid_words(what: str, problems: list[str], where: str) -> str:
    return f"{what}: {'; '.join(problems)}; nothing was written into {where}"


def _cannot(
    record: OrderRecord, entry: ParcelEntry, reason: FailureReason, detail: str, deps: ShipmentDependencies
) -> FailureReason:
    """Recorded on the parcel and the order (its status unchanged), alerted once per parcel and reason."""
    if (entry.reason, entry.detail) == (reason, ParcelEntry(key=entry.key, detail=detail).bounded().detail):
        return reason  # as the last check found it: nothing new to record or tell
    entry.reason, entry.detail = reason, detail
    _keep(record, entry)
    record.note(deps.clock(), record.status, reason, detail, Cause.PROCESS)
    alert_once(record, deps.alerts, f"{reason.value}:{entry.key}")
    metrics.add_metric(name=f"Reason{reason.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.warning("parcel not synced", extra={"order_key": record.order_key, "parcel": entry.key, "reason": reason})
    return reason


def _completes(
    record: OrderRecord,
    key: str,
    lines: tuple[tuple[str, int], ...],
    connection: Connection,
    store: BuyerStore,
    deps: ShipmentDependencies,
) -> bool:
    """Whether, with this parcel, the whole buyer order has shipped (a platform that completes an
    order by hand, WooCommerce, is told so): this seller's part, every other seller's part, and no
    line of the retailer's own (that order is left for the retailer to complete)."""
    sent = record.units_in_buyer_store(but=key)
    for line_id, units in lines:
        sent[line_id] = sent.get(line_id, 0) + units
    if not all(sent.get(line.buyer_line_id, 0) >= line.quantity for line in record.posted_lines):
        return False
    if connection.buyer.platform is not Platform.WOOCOMMERCE:  # the others complete the order themselves
        return True
    return _every_line_shipped(record, sent, connection, store, deps)


def _every_line_shipped(
    record: OrderRecord, sent: dict[str, int], connection: Connection, store: BuyerStore, deps: ShipmentDependencies
) -> bool:
    try:
        order = normalize(connection.buyer.platform, store.order(record.order_id))
    except InvalidOrder:
        return False  # the retailer completes an order we can't read
    for other in deps.connections.of_buyer(record.buyer_id):
        sibling = deps.orders.get(f"{other.connection_id}#{record.order_id}") if other != connection else None
        for line_id, units in (sibling.units_in_buyer_store() if sibling else {}).items():
            sent[line_id] = sent.get(line_id, 0) + units
    to_ship = [line for line in order.lines if line.requires_shipping and line.quantity > 0]
    return all(sent.get(line.line_id, 0) >= line.quantity for line in to_ship)


def _keep(record: OrderRecord, entry: ParcelEntry) -> None:
    record.parcels = [p for p in record.parcels if p.key != entry.key] + [entry.bounded()]


def _parcel_words(parcel: Parcel) -> str:
    tracking = f" {shown(parcel.tracking_number)}" if parcel.tracking_number else ""
    carrier = f" ({shown(parcel.carrier)})" if parcel.carrier else ""
    return f"the parcel{tracking}{carrier}"


def _units(lines: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{units} x line {line_id}" for line_id, units in lines)
