"""The drift check: posted orders read in both stores and compared (domain/drift.py). The daily run
fans out one compare per connection (DriftQueue: each connection at its stores' pace, carried on
past an invocation's time by a continuation from the last order compared); each connection's
findings go to AlertsQueue, where the dispatch makes one digest for ops and one per seller. Ops'
on-demand check (`ordersync drift`) compares in-process. Read-only: nothing is written to either
store or to the order records."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from ordersync.alerts.drift import DriftFindings
from ordersync.domain.drift import (
    DEFAULT_DAYS,
    BothStores,
    Divergence,
    Recorded,
    compare_windows,
    divergences,
    gone,
)
from ordersync.errors import InvalidOrder, StoreNotFound, StoreRejected, StoreThrottled, StoreUnavailable
from ordersync.models import Connection, DriftRequest, SellerOrderState, ShippingAddress, utc_now
from ordersync.normalize import normalize
from ordersync.observability import logger, metrics
from ordersync.ports import (
    ConnectionRepository,
    DriftFindingsOutbox,
    DriftRequests,
    OrderHistory,
    StoreFactory,
)
from ordersync.records import OrderRecord

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

PACED_TRIES = 4  # a store that asks to slow down is waited for, this many times an order
COMPARES_AT_ONCE = 8  # orders read at once (each its own store clients; a store's 429 is waited out)
MAX_PACE_WAIT = 60.0  # seconds
TIME_RESERVE_MS = 90_000  # a paced wait and the findings still fit in what is left


@dataclass
class DriftDependencies:
    orders: OrderHistory
    connections: ConnectionRepository
    stores: StoreFactory
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep  # a store's pace is waited out: the check is in no hurry
    requests: DriftRequests | None = None  # the daily run's: DriftQueue
    findings: DriftFindingsOutbox | None = None  # ... and AlertsQueue


@dataclass
class DriftReport:
    connections: int = 0
    compared: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "<order key>: <what the store said>"


def compare_both_stores(
    deps: DriftDependencies,
    days: int = DEFAULT_DAYS,
    connection_id: str | None = None,
    time_left_ms: Callable[[], int] = lambda: sys.maxsize,
    ages: Sequence[int] | None = None,
) -> DriftReport:
    """Every order touched in the last `days` (ops' on-demand check, in-process), or — `ages` — only
    those reaching one of these ages today (domain.drift.compare_windows). Orders are compared
    COMPARES_AT_ONCE at a time: each waits on its stores, and a Lambda second is billed while it waits."""
    now = deps.clock()
    windows = compare_windows(now, ages) if ages else [(now - timedelta(days=days), None)]
    connections = [deps.connections.get(connection_id)] if connection_id else deps.connections.all()
    report = DriftReport(connections=len(connections))
    work = [
        (record, connection)
        for connection in connections
        for since, until in windows
        for record in deps.orders.posted_since(connection.connection_id, since, until)
    ]

    done = _compare_all(work, deps, report, time_left_ms)
    report.unreadable += [f"{r.order_key}: not compared: the run's time ran out" for r, _ in work[done:]]
    metrics.add_metric(name="DriftDivergences", unit=MetricUnit.Count, value=len(report.divergences))
    logger.info(
        "drift checked",
        extra={"orders": report.compared, "divergences": len(report.divergences), "unreadable": len(report.unreadable)},
    )
    return report


def drift_event(
    event: dict[str, Any], context: LambdaContext, deps: DriftDependencies, ages: Sequence[int]
) -> dict[str, Any]:
    """The schedule's event: the fan-out. A DriftQueue batch (of one): that connection's compare."""
    if "Records" not in event:
        return {"connections": request_compares(deps)}

    def handle(record: SQSRecord) -> None:
        compare_connection(
            DriftRequest.model_validate_json(record.body), deps, ages, context.get_remaining_time_in_millis
        )

    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(process_partial_response(event=event, record_handler=handle, processor=processor, context=context))


def request_compares(deps: DriftDependencies) -> int:
    """The daily run: a compare of each connection's due orders on DriftQueue, its windows fixed now."""
    assert deps.requests is not None
    now = deps.clock()
    requests = [DriftRequest(connection_id=c.connection_id, run_at=now) for c in deps.connections.all()]
    deps.requests.request(requests)
    logger.info("drift compares requested", extra={"connections": len(requests)})
    return len(requests)


def compare_connection(
    request: DriftRequest,
    deps: DriftDependencies,
    ages: Sequence[int],
    time_left_ms: Callable[[], int] = lambda: sys.maxsize,
) -> DriftReport:
    """One connection's orders reaching one of `ages` on the run's day, in order-key order from
    `request.after`; short of time, the rest asked for again (a continuation from the last compared).
    What it found goes to AlertsQueue for the dispatch's digest."""
    assert deps.requests is not None and deps.findings is not None
    try:
        connection = deps.connections.get(request.connection_id)
    except KeyError:  # removed since the run asked: nothing of it to compare
        logger.info("drift: connection gone", extra={"connection_id": request.connection_id})
        return DriftReport()
    windows = compare_windows(request.run_at, ages)
    due = {
        record.order_key: record
        for since, until in windows
        for record in deps.orders.posted_since(connection.connection_id, since, until, request.after)
    }
    work = [(due[key], connection) for key in sorted(due)]
    report = DriftReport(connections=1)
    done = _compare_all(work, deps, report, time_left_ms)
    if done == 0 and work:  # not one order's time left: a retry (SQS's), never a continuation that moves nothing
        raise TimeoutError(f"no time left to compare connection {connection.connection_id}'s orders")
    # the findings first: a retry after them repeats them (the digest dedupes), never loses them
    if report.divergences or report.unreadable:
        findings = DriftFindings.of(connection.connection_id, report.compared, report.divergences, report.unreadable)
        deps.findings.publish_findings(findings)
    if done < len(work):
        deps.requests.request([request.model_copy(update={"after": work[done - 1][0].order_key})])
    metrics.add_metric(name="DriftDivergences", unit=MetricUnit.Count, value=len(report.divergences))
    logger.info(
        "connection compared",
        extra={"connection_id": connection.connection_id, "orders": report.compared, "left": len(work) - done},
    )
    return report


def _compare_all(
    work: Sequence[tuple[OrderRecord, Connection]],
    deps: DriftDependencies,
    report: DriftReport,
    time_left_ms: Callable[[], int],
) -> int:
    """Compares COMPARES_AT_ONCE at a time into `report` while time is left; how many it compared."""
    with ThreadPoolExecutor(max_workers=COMPARES_AT_ONCE) as pool:
        for start in range(0, len(work), COMPARES_AT_ONCE):  # a round at a time: the clock is read between
            if time_left_ms() < TIME_RESERVE_MS:
                return start
            # each in a copy of this context: what the caller set for its calls (Powertools' keys, the
            # local stack's IAM principal) holds in the pool's threads too
            compares = [
                pool.submit(copy_context().run, _compared, record, connection, deps)
                for record, connection in work[start : start + COMPARES_AT_ONCE]
            ]
            for one in (compare.result() for compare in compares):  # in order: the report reads as before
                report.compared += one.compared
                report.divergences += one.divergences
                report.unreadable += one.unreadable
    return len(work)


def _compared(record: OrderRecord, connection: Connection, deps: DriftDependencies) -> DriftReport:
    """One order's own report: the orders compared at once each fill their own."""
    report = DriftReport()
    _compare(record, connection, deps, report)
    return report


def _compare(record: OrderRecord, connection: Connection, deps: DriftDependencies, report: DriftReport) -> None:
    for attempt in range(1, PACED_TRIES + 1):
        try:
            seen = _read_both(record, connection, deps)
            break
        except _Gone as missing:  # one store has no such order: that is the divergence
            assert record.seller_order_id is not None
            report.compared += 1
            report.divergences.append(gone(_recorded(record), missing.side, record.seller_order_id, str(missing)))
            return
        except StoreThrottled as throttled:
            if attempt == PACED_TRIES:
                report.unreadable.append(f"{record.order_key}: the store kept asking to slow down: {throttled}")
                return
            deps.sleep(min(throttled.delay_seconds(), MAX_PACE_WAIT))
        except (StoreUnavailable, StoreRejected, InvalidOrder) as error:
            report.unreadable.append(f"{record.order_key}: {type(error).__name__}: {str(error)[:200]}")
            return
        except Exception as error:  # one order's surprise never stops everyone's check
            # its type only: a store's words may hold an address
            logger.warning(
                "drift: order not compared", extra={"order_key": record.order_key, "error": type(error).__name__}
            )
            report.unreadable.append(f"{record.order_key}: can't be compared: {type(error).__name__}")
            return
    if unreadable := [p.unreadable for p in seen.seller.parcels if p.unreadable]:
        report.unreadable.append(
            f"{record.order_key}: can't be compared: the seller's store shows a parcel with {unreadable[0]}"
        )
        return
    report.compared += 1
    report.divergences += divergences(_recorded(record), seen)


def _read_both(record: OrderRecord, connection: Connection, deps: DriftDependencies) -> BothStores:
    """The two stores read at once (the seller's side on a thread of its own): a compare waits as
    long as the slower side's requests, not all of them in turn (Lambda bills the wait)."""
    seller_order = record.seller_order_id
    assert seller_order is not None  # posted_since answers posted orders only
    buyer = deps.stores.buyer(connection.buyer)
    seller = deps.stores.seller(connection.seller)

    def seller_side() -> tuple[SellerOrderState, ShippingAddress | None]:
        return seller.order_state(seller_order), seller.copy_address(seller_order)

    with ThreadPoolExecutor(max_workers=1) as side:
        reading_seller = side.submit(copy_context().run, seller_side)
        try:
            payload, missing = buyer.order(record.order_id), None
            shipments = buyer.shipments(record.order_id)
        except StoreNotFound as error:
            missing = _Gone("buyer", str(error))
        try:
            state, address = reading_seller.result()
        except StoreNotFound as error:  # the seller's copy gone is said first, as it was read first
            raise _Gone("seller", str(error)) from None
    if missing is not None:
        raise missing
    return BothStores(
        buyer_order=normalize(connection.buyer.platform, payload),
        buyer_shipments=shipments,
        seller=state,
        seller_address=address,
    )


class _Gone(Exception):
    def __init__(self, side: str, words: str) -> None:
        super().__init__(words[:200])
        self.side = side


def _recorded(record: OrderRecord) -> Recorded:
    return Recorded(
        order_key=record.order_key,
        seller_id=record.seller_id,
        buyer_name=record.buyer_name,
        posted_address=record.posted_address,
        written={p.key: p.buyer_shipment_id for p in record.parcels if p.buyer_shipment_id},
        reasons={p.key: p.reason.value for p in record.parcels if p.reason},
        lines=frozenset(line.buyer_line_id for line in record.posted_lines),
    )
