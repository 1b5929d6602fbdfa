"""Catalog sync: each seller's products and variants, from their store into the catalog table (and
each buyer's, into its listings: services/listings_read.py).

Every hour the fan-out asks for one run per seller (as the pull does per connection) and one per buyer: what changed
since the seller's last run, or the whole catalog once a day (what retires deleted variants) and
every hour for a small one. A run writes page by page and, short of time, hands the rest to a
continuation; its end retires what it didn't see. SKUs that appear are what FAILED orders may
have been waiting for, and those orders are replayed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ordersync.domain.catalog import (
    CatalogSyncPlan,
    CatalogVariant,
    StoreVariant,
    merge_seen,
    plan_catalog_sync,
    retire_unseen,
)
from ordersync.models import CatalogSyncRequest, OrderStatus, Platform, StoreRecord, StoreRef, utc_now
from ordersync.observability import logger, metrics
from ordersync.ports import (
    CatalogStore,
    CatalogSyncLedger,
    CatalogSyncQueue,
    ConnectionRepository,
    DlqRemover,
    OrderQueries,
    OrderQueue,
    StoreFactory,
)
from ordersync.services.catalog_runs import read_pages
from ordersync.services.listings_read import ListingsReadDependencies, read_buyer_catalog
from ordersync.services.replay import replay

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_processor = BatchProcessor(event_type=EventType.SQS)


@dataclass
class CatalogFanOutDependencies:
    connections: ConnectionRepository
    ledger: CatalogSyncLedger
    sync_queue: CatalogSyncQueue
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass
class CatalogSyncDependencies:
    stores: StoreFactory
    catalog: CatalogStore
    orders: OrderQueries
    queue: OrderQueue
    dlq: DlqRemover
    ledger: CatalogSyncLedger
    sync_queue: CatalogSyncQueue | None = None  # None: the run goes to its end in one go (ops' commands)
    clock: Callable[[], datetime] = field(default=utc_now)
    listings_read: ListingsReadDependencies | None = None  # a buyer's run (its catalog into its listings)


@dataclass
class SellerSync:
    """What one invocation of a seller's run did."""

    seller_id: str
    full: bool
    variants: int = 0  # read from the store by this invocation
    changed_skus: int = 0
    retired: int = 0
    replayed: list[str] = field(default_factory=list)
    continued: bool = False  # the rest of the run was handed to a continuation


def request_catalog_syncs(deps: CatalogFanOutDependencies) -> list[CatalogSyncRequest]:
    """The scheduled run: one request per seller of an active connection, and one per buyer of one
    (its catalog read into its listings), each planned from its last runs."""
    active = [c for c in deps.connections.all() if not c.paused]
    sellers: dict[str, StoreRef] = {c.seller.store_id: c.seller for c in active}
    buyers: dict[str, StoreRef] = {c.buyer.store_id: c.buyer for c in active}
    records = {record.store_id: record for record in deps.ledger.all()}
    now = deps.clock()
    runs = [(store, False) for store in sellers.values()] + [(store, True) for store in buyers.values()]
    requests = []
    for store, as_buyer in runs:
        plan = _plan(store, records.get(store.store_id), as_buyer, now)
        if plan is None:
            logger.info("catalog run still going: not started again", extra={"store_id": store.store_id})
            continue
        record = records.get(store.store_id)
        rule = record.vendor_sellers if as_buyer and record is not None else {}
        requests.append(
            CatalogSyncRequest(
                seller=store,
                full=plan.full,
                changed_since=plan.changed_since,
                buyer_listings=as_buyer,
                vendor_sellers=rule,
            )
        )
    deps.sync_queue.request_syncs(requests)
    full = sum(r.full for r in requests)
    metrics.add_metric(name="CatalogSyncsRequested", unit=MetricUnit.Count, value=len(requests))
    logger.info("catalog syncs requested", extra={"runs": len(requests), "buyers": len(buyers), "full": full})
    return requests


def _plan(store: StoreRef, record: StoreRecord | None, as_buyer: bool, now: datetime) -> CatalogSyncPlan | None:
    if record is None:
        return plan_catalog_sync(None, None, None, now)
    run = "listings" if as_buyer else "catalog"
    return plan_catalog_sync(
        getattr(record, f"{run}_synced_at"),
        getattr(record, f"{run}_full_at"),
        getattr(record, f"{run}_variants"),
        now,
        getattr(record, f"{run}_running_since"),
        variants_dated=store.platform is Platform.SHOPIFY,
    )


def sync_seller_batch(event: dict[str, Any], context: LambdaContext, deps: CatalogSyncDependencies) -> dict[str, Any]:
    """CatalogSyncQueue's batch (one seller per record): a store that fails fails its own record;
    SQS retries it with backoff and, after MaxReceiveCount, keeps it in CatalogSyncDLQ."""

    def handle(record: SQSRecord) -> None:
        request = CatalogSyncRequest.model_validate(json.loads(record.body))
        if request.buyer_listings:
            assert deps.listings_read is not None, "built without the listings read"
            read_buyer_catalog(request, deps.listings_read, context.get_remaining_time_in_millis)
        else:
            sync_seller(request, deps, context.get_remaining_time_in_millis)

    return dict(process_partial_response(event=event, record_handler=handle, processor=_processor, context=context))


def sync_seller(
    request: CatalogSyncRequest, deps: CatalogSyncDependencies, time_left_ms: Callable[[], int] = lambda: sys.maxsize
) -> SellerSync:
    """Page by page, each page merged into the stored groups of its SKUs; the orders its new SKUs
    unblock replayed once per invocation. At the end of the read, what wasn't seen is retired."""
    seller_id = request.seller.store_id
    started = request.started or deps.clock()
    if request.started is None:
        deps.ledger.catalog_started(seller_id, started)
    result = SellerSync(seller_id, full=request.full)
    new_skus: set[str] = set()

    def take(page: list[StoreVariant]) -> None:
        new_skus.update(_merge(seller_id, page, started, deps, result))

    pages = deps.stores.seller(request.seller).catalog_pages(request.changed_since, request.resume)
    ended, _ = read_pages(request, started, pages, take, deps.sync_queue, time_left_ms)
    result.continued = not ended
    if ended:
        result.retired = _retire(seller_id, started, request.full, deps)
        deps.ledger.catalog_synced(seller_id, started, request.full, request.variants + result.variants)
    result.replayed = _replay_waiting(seller_id, new_skus, deps)
    metrics.add_metric(name="CatalogSkusChanged", unit=MetricUnit.Count, value=result.changed_skus)
    metrics.add_metric(name="CatalogVariantsRetired", unit=MetricUnit.Count, value=result.retired)
    logger.info(
        "catalog synced",
        extra={
            "seller_id": seller_id,
            "full": request.full,
            "variants": result.variants,
            "skus_changed": result.changed_skus,
            "retired": result.retired,
            "replayed": len(result.replayed),
            "continued": result.continued,
        },
    )
    return result


def _merge(
    seller_id: str, page: list[StoreVariant], started: datetime, deps: CatalogSyncDependencies, result: SellerSync
) -> frozenset[str]:
    stored = deps.catalog.groups(seller_id, [v.sku for v in page if v.sku])
    change = merge_seen(seller_id, stored, page, started)
    deps.catalog.put_groups({(seller_id, sku): group for sku, group in change.groups.items()})
    result.variants += len(page)
    result.changed_skus += len(change.changed)
    return change.new_skus


def _retire(seller_id: str, started: datetime, full: bool, deps: CatalogSyncDependencies) -> int:
    stored = deps.catalog.variants_of(seller_id)
    change = retire_unseen(stored, started, full)
    deps.catalog.put_groups({(seller_id, sku): group for sku, group in change.groups.items()})
    return sum(_deleted(group) - _deleted(stored[sku]) for sku, group in change.groups.items())


def _deleted(group: list[CatalogVariant]) -> int:
    return sum(not v.active for v in group)


def _replay_waiting(seller_id: str, new_skus: set[str], deps: CatalogSyncDependencies) -> list[str]:
    if not new_skus:
        return []
    waiting = [
        record
        for record in deps.orders.by_seller_status(seller_id, OrderStatus.FAILED)
        if new_skus & set(record.blocked_skus)
    ]
    return [r.order_key for r in replay(waiting, deps.queue, deps.dlq)]
