"""Catalog sync: each seller's products and variants, from their store into the catalog table.
Variants gone from the store are marked deleted; SKUs that appear are what FAILED orders may have
been waiting for, and those orders are replayed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.domain.catalog import reconcile
from ordersync.errors import OrderSyncError
from ordersync.models import OrderStatus, StoreRef, utc_now
from ordersync.observability import logger, metrics
from ordersync.ports import CatalogStore, ConnectionRepository, DlqRemover, OrderQueries, OrderQueue, StoreFactory
from ordersync.services.replay import replay


@dataclass
class CatalogSyncDependencies:
    connections: ConnectionRepository
    stores: StoreFactory
    catalog: CatalogStore
    orders: OrderQueries
    queue: OrderQueue
    dlq: DlqRemover
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass
class SellerSync:
    seller_id: str
    variants: int = 0
    changed_skus: int = 0
    replayed: list[str] = field(default_factory=list)
    error: str | None = None


def sync_all(deps: CatalogSyncDependencies) -> list[SellerSync]:
    """Every seller store named by a connection, once; one failing store doesn't stop the others."""
    sellers: dict[str, StoreRef] = {c.seller.store_id: c.seller for c in deps.connections.all()}
    results = []
    for seller in sellers.values():
        try:
            results.append(sync_seller(seller, deps))
        except OrderSyncError as error:
            logger.warning("catalog sync failed", extra={"seller_id": seller.store_id, "error": str(error)})
            results.append(SellerSync(seller.store_id, error=str(error)))
    return results


def sync_seller(seller: StoreRef, deps: CatalogSyncDependencies) -> SellerSync:
    in_store = [variant for page in deps.stores.seller(seller).catalog() for variant in page]
    change = reconcile(seller.store_id, deps.catalog.variants_of(seller.store_id), in_store, deps.clock())
    deps.catalog.put_groups({(seller.store_id, sku): group for sku, group in change.groups.items()})
    result = SellerSync(seller.store_id, variants=len(in_store), changed_skus=len(change.groups))
    if change.new_skus:
        waiting = [
            record
            for record in deps.orders.by_seller_status(seller.store_id, OrderStatus.FAILED)
            if change.new_skus & set(record.blocked_skus)
        ]
        result.replayed = [r.order_key for r in replay(waiting, deps.queue, deps.dlq)]
    metrics.add_metric(name="CatalogSkusChanged", unit=MetricUnit.Count, value=result.changed_skus)
    logger.info(
        "catalog synced",
        extra={"seller_id": seller.store_id, "skus_changed": result.changed_skus, "replayed": len(result.replayed)},
    )
    return result
