"""How the seller's parcels are noticed: the hourly sweep of each seller store (the net) reads its
orders changed since the last sweep and asks a check of each one we posted; a check
(shipments.check_seller_copy) writes the order's new parcels into the buyer's store. A check that
leaves a parcel out with a reason is kept in ShipmentsDLQ with it; one that fails (a store down)
is retried by SQS and, after MaxReceiveCount, moved there by the redrive policy."""

from __future__ import annotations

import json
import math
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.domain.webhooks import is_shopify_event, read_fulfillment_event
from ordersync.errors import OrderClaimed, ResourceThrottled, RetryLater, StoreThrottled, StoreUnavailable
from ordersync.models import FailureReason, Role, ShipmentRequest, StoreRef, utc_now
from ordersync.normalize import order_key_of, posted_copy
from ordersync.observability import logger, metrics
from ordersync.ports import (
    ConnectionRepository,
    DeadLetters,
    ShipmentRequests,
    ShopLookup,
    StoreFactory,
    SweepLedger,
)
from ordersync.records import Attempt
from ordersync.services.at_once import process_at_once
from ordersync.services.shipments import ShipmentCheck, ShipmentDependencies, check_seller_copy

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

FIRST_SWEEP = timedelta(days=1)  # a seller store never swept: its orders changed in the last day
_SKEW = timedelta(minutes=5)  # a store's clock, and an order saved while the sweep read its list
TIME_RESERVE_MS = 60_000  # past this, a sweep leaves the rest to its continuation
CLAIMED_RETRY_SECONDS = 30  # a check that found the order held looks again then (held longer: again)
THROTTLE_BUDGET = timedelta(hours=24)  # as orders' (ThrottleBudgetHours): a throttled check waits this long at most


@dataclass
class SweepFanOutDependencies:
    connections: ConnectionRepository
    ledger: SweepLedger
    requests: ShipmentRequests
    clock: Callable[[], datetime] = utc_now


@dataclass
class ShipmentSyncDependencies:
    shipments: ShipmentDependencies
    stores: StoreFactory
    ledger: SweepLedger
    requests: ShipmentRequests
    dead_letters: DeadLetters
    clock: Callable[[], datetime] = field(default=utc_now)
    shops: ShopLookup | None = None  # a Shopify seller's fulfilment events name its shop
    # How long a check whose store keeps failing (5xx, time-outs) is sent again later without a
    # delivery spent (StoreDownBudgetMinutes); 0: each failure spends a delivery.
    store_down_budget: timedelta = timedelta(0)
    # How long a parcel the buyer's store holds back (PARCEL_WAITING) is checked again, and how
    # often (ParcelWaitDays, ParcelWaitRecheckSeconds); 0 days: kept in ShipmentsDLQ at once.
    parcel_wait: timedelta = timedelta(0)
    parcel_recheck_seconds: int = 900


def request_sweeps(deps: SweepFanOutDependencies) -> list[ShipmentRequest]:
    """The scheduled run: one sweep per seller store of an active connection, from its last sweep."""
    sellers: dict[str, StoreRef] = {c.seller.store_id: c.seller for c in deps.connections.all() if not c.paused}
    swept = {record.store_id: record.shipments_swept_at for record in deps.ledger.all()}
    now = deps.clock()
    requests = [
        ShipmentRequest(seller=seller, since=swept.get(seller.store_id) or now - FIRST_SWEEP, started=now)
        for seller in sellers.values()
    ]
    deps.requests.request(requests)
    logger.info("shipment sweeps requested", extra={"sellers": len(requests)})
    return requests


def sync_shipments_batch(
    event: dict[str, Any], context: LambdaContext, deps: ShipmentSyncDependencies
) -> dict[str, Any]:
    """ShipmentsQueue's batch: each record a check or a sweep; one that fails fails alone."""

    def handle(record: SQSRecord) -> None:
        message = _unwrapped(json.loads(record.body))
        request = _from_shopify(message, deps) if is_shopify_event(message) else ShipmentRequest.model_validate(message)
        if request is None:
            return  # a fulfilment of a shop that is no seller of ours, or not one of our orders' topics
        if request.seller_order_id is None:
            sweep(request, deps, context.get_remaining_time_in_millis)
            return
        deadline = deps.clock() + timedelta(milliseconds=max(context.get_remaining_time_in_millis() - 5_000, 1_000))
        check(request, record.message_id, deadline, deps)

    return process_at_once(event, handle, context)  # the batch's store calls overlap


def _unwrapped(message: Any) -> Any:
    """A check ordersync kept in ShipmentsDLQ with its reason ({"order_key", "reason", "request"}),
    redriven to ShipmentsQueue as the runbook says: the check it carries, as OrdersDLQ's reader does."""
    if isinstance(message, dict) and isinstance(message.get("request"), dict) and "reason" in message:
        return message["request"]
    return message


def _from_shopify(message: dict[str, Any], deps: ShipmentSyncDependencies) -> ShipmentRequest | None:
    """A Shopify seller's fulfilments/* event (EventBridge, as the shop sent it): a check of its order."""
    read = read_fulfillment_event(message)
    store = deps.shops.of_shop(read[0]) if read and deps.shops is not None else None
    if read is None or store is None or not store.role.includes(Role.SELLER):
        logger.info("fulfilment event not ours: acknowledged", extra={"shop": read[0] if read else None})
        return None
    return ShipmentRequest(seller=store.ref(), seller_order_id=read[1])


def check(
    request: ShipmentRequest, message_id: str, deadline: datetime, deps: ShipmentSyncDependencies
) -> ShipmentCheck:
    assert request.seller_order_id is not None
    started = deps.clock()
    attempt = Attempt(f"{message_id}/{uuid.uuid4().hex[:12]}", started, int(deadline.timestamp() * 1000))
    try:
        result = check_seller_copy(
            request.seller.store_id, request.seller_order_id, attempt, deps.shipments, request.order_key
        )
    except OrderClaimed as claimed:  # a check or the order's own processing at work: after it, not a failure
        wait = ((claimed.record.claim_until_ms or 0) - attempt.started_ms) / 1000
        deps.requests.request([request], delay_seconds=min(max(1, math.ceil(wait)), CLAIMED_RETRY_SECONDS))
        metrics.add_metric(name="ShipmentChecksRetriedLater", unit=MetricUnit.Count, value=1)
        return ShipmentCheck(claimed.record.order_key)
    except RetryLater as later:  # an earlier write may still be landing: after it, not a failure
        deps.requests.request([request], delay_seconds=min(max(1, math.ceil(later.seconds)), CLAIMED_RETRY_SECONDS))
        metrics.add_metric(name="ShipmentChecksRetriedLater", unit=MetricUnit.Count, value=1)
        return ShipmentCheck(request.order_key)
    except (StoreUnavailable, ResourceThrottled) as trouble:  # a store's pace or bad moment, or DynamoDB's: as
        since = request.throttled_since or started  # an order's, no delivery spent
        throttled = isinstance(trouble, StoreThrottled)
        if started - since >= (THROTTLE_BUDGET if throttled else deps.store_down_budget):
            raise  # past its budget (0: none): SQS's deliveries, then ShipmentsDLQ, as any other failure
        again = request.model_copy(update={"throttled_since": since})
        deps.requests.request(
            [again], delay_seconds=math.ceil(trouble.delay_seconds((started - since).total_seconds()))
        )
        if throttled:  # each metric named where it is emitted (the dashboard's test reads the names)
            metrics.add_metric(name="ShipmentChecksThrottledDelayed", unit=MetricUnit.Count, value=1)
        elif isinstance(trouble, ResourceThrottled):
            metrics.add_metric(name="ShipmentChecksAwsThrottledDelayed", unit=MetricUnit.Count, value=1)
        else:
            metrics.add_metric(name="ShipmentChecksStoreDownDelayed", unit=MetricUnit.Count, value=1)
        logger.info("a store could not take the check: sent again later", extra={"order_key": request.order_key})
        return ShipmentCheck(request.order_key)
    if result.problems and _waits(request, result, deps):
        return result
    if result.problems:  # kept with its reason, to be redriven once the cause is fixed
        body = {
            "order_key": result.order_key,
            "reason": result.problems[0].value,
            "request": request.model_dump(mode="json"),
        }
        attributes = {"order_key": result.order_key or "", "seller_id": request.seller.store_id}
        deps.dead_letters.send(body, attributes | {"reason": result.problems[0].value})
    return result


def _waits(request: ShipmentRequest, result: ShipmentCheck, deps: ShipmentSyncDependencies) -> bool:
    """A check whose every problem is a parcel the buyer's store holds back (on hold, scheduled)
    comes back by itself until the hold is released (no redrive), within ParcelWaitDays."""
    if any(problem is not FailureReason.PARCEL_WAITING for problem in result.problems):
        return False
    since = request.waiting_since or deps.clock()
    if deps.clock() - since >= deps.parcel_wait:
        return False  # waited long enough: ShipmentsDLQ, ops told (as any other refusal)
    again = request.model_copy(update={"waiting_since": since, "throttled_since": None})
    deps.requests.request([again], delay_seconds=deps.parcel_recheck_seconds)
    metrics.add_metric(name="ParcelsWaitingRechecked", unit=MetricUnit.Count, value=1)
    logger.info("a parcel waits on the buyer's hold: checked again later", extra={"order_key": result.order_key})
    return True


@dataclass
class Sweep:
    seller_id: str
    orders: int = 0
    ours: int = 0
    continued: bool = False


def sweep(
    request: ShipmentRequest, deps: ShipmentSyncDependencies, time_left_ms: Callable[[], int] = lambda: sys.maxsize
) -> Sweep:
    """The seller's orders changed since `since`, page by page: a check asked for each one we
    posted. At the end the store's cursor moves to the sweep's start (less the clock skew)."""
    started = request.started or deps.clock()
    since = (request.since or started - FIRST_SWEEP) - _SKEW
    result = Sweep(request.seller.store_id)
    store = deps.stores.buyer(request.seller)  # its orders list, as the pull reads a buyer's
    for page, next_page in store.orders_updated_since(since, request.resume):
        ours = [copy for copy in (posted_copy(request.seller.platform, raw) for raw in page) if copy is not None]
        deps.requests.request(
            [ShipmentRequest(seller=request.seller, seller_order_id=i, order_key=order_key_of(k)) for i, k in ours]
        )
        result.orders += len(page)
        result.ours += len(ours)
        if next_page and time_left_ms() < TIME_RESERVE_MS:
            deps.requests.request([request.model_copy(update={"resume": next_page, "started": started})])
            result.continued = True
            break
    else:
        deps.ledger.swept(request.seller.store_id, started)
    metrics.add_metric(name="ShipmentChecksRequested", unit=MetricUnit.Count, value=result.ours)
    logger.info("seller swept", extra={"seller_id": result.seller_id, "orders": result.orders, "ours": result.ours})
    return result
