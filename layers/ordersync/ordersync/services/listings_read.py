"""A buyer's catalog read into its listings: whose product each of its variants is, known before an
order carries it (domain/listings.py decides, as an order's split does at a product's first sight).

Read with the sellers' catalog machinery: the hourly fan-out plans it (what changed since the last
run, or the whole catalog once a day), it goes page by page and hands the rest to a continuation
when the invocation runs short. A variant linked for good (by a SKU, or by ops) is left as it is: a
link outlives a later SKU change on either side, which is what turns a seller's renamed SKU into
that seller's SKU_MISMATCH. A buyer's vendor rule (`ordersync listing vendor`) names the seller of
every product whose vendor / brand it lists, before any SKU is matched. What a read settles that
was ambiguous replays the orders waiting on it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.domain.catalog import StoreVariant
from ordersync.domain.listings import (
    LinkedBy,
    Listing,
    by_vendor,
    moved_on,
    skus_to_match,
    split_order,
    vendor_rule,
)
from ordersync.models import CatalogSyncRequest, Connection, utc_now
from ordersync.observability import logger, metrics
from ordersync.ports import (
    CatalogRepository,
    CatalogSyncLedger,
    CatalogSyncQueue,
    ConnectionRepository,
    DlqRemover,
    OrderQueries,
    OrderQueue,
    StoreFactory,
)
from ordersync.services.catalog_runs import read_pages
from ordersync.services.listing_admin import replay_relinked


class ListingsOfBuyer(Protocol):
    def get_many(self, buyer_id: str, variant_ids: Sequence[str]) -> dict[str, Listing]: ...
    def put_matched(self, listings: Sequence[Listing]) -> None: ...


@dataclass
class ListingsReadDependencies:
    stores: StoreFactory
    listings: ListingsOfBuyer
    catalog: CatalogRepository  # the sellers' catalogs, as the split reads them
    connections: ConnectionRepository
    ledger: CatalogSyncLedger
    orders: OrderQueries  # with queue and dlq: the orders a settled ambiguity unblocks, replayed
    queue: OrderQueue
    dlq: DlqRemover
    sync_queue: CatalogSyncQueue | None = None  # None: the run goes to its end in one go (ops' commands)
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class CatalogVariantLine:
    """A buyer's variant as the split sees a line: by its variant id, SKU and title."""

    variant: StoreVariant

    @property
    def line_id(self) -> str:
        return self.variant.variant_id

    @property
    def sku(self) -> str | None:
        return self.variant.sku

    @property
    def variant_id(self) -> str:
        return self.variant.variant_id

    @property
    def title(self) -> str:
        return " / ".join(t for t in (self.variant.product_title, self.variant.variant_title) if t)


@dataclass
class ListingsRead:
    """What one invocation of a buyer's listings read did."""

    buyer_id: str
    full: bool
    variants: int = 0  # read from the buyer's store by this invocation
    linked: int = 0  # listings made or changed to name a seller
    own: int = 0  # listings made of the retailer's own
    ambiguous: int = 0  # listings whose SKU several sellers carry: ops decide
    replayed: list[str] = field(default_factory=list)
    continued: bool = False


def read_buyer_catalog(
    request: CatalogSyncRequest, deps: ListingsReadDependencies, time_left_ms: Callable[[], int] = lambda: sys.maxsize
) -> ListingsRead:
    """Page by page: each page's variants not linked for good are matched against every seller the
    buyer buys from, in one read of their catalogs; the listings that changed are written."""
    buyer_id = request.seller.store_id
    started = request.started or deps.clock()
    if request.started is None:
        deps.ledger.catalog_started(buyer_id, started, as_buyer=True)
    result = ListingsRead(buyer_id, full=request.full)
    connections = {c.seller.store_id: c for c in deps.connections.of_buyer(buyer_id)}
    rule = vendor_rule(request.vendor_sellers, connections)

    def take(page: list[StoreVariant]) -> None:
        if connections:
            result.replayed += _link(buyer_id, page, connections, deps, result, rule)

    pages = deps.stores.buyer(request.seller).catalog_pages(request.changed_since, request.resume)
    ended, result.variants = read_pages(request, started, pages, take, deps.sync_queue, time_left_ms)
    result.continued = not ended
    if ended:
        seen = request.variants + result.variants
        deps.ledger.catalog_synced(buyer_id, started, request.full, seen, as_buyer=True)
    metrics.add_metric(name="ListingsLinked", unit=MetricUnit.Count, value=result.linked)
    metrics.add_metric(name="ListingsAmbiguous", unit=MetricUnit.Count, value=result.ambiguous)
    logger.info(
        "buyer's catalog read into its listings",
        extra={
            "buyer_id": buyer_id,
            "full": request.full,
            "variants": result.variants,
            "linked": result.linked,
            "own": result.own,
            "ambiguous": result.ambiguous,
            "replayed": len(result.replayed),
            "continued": result.continued,
        },
    )
    return result


def _link(
    buyer_id: str,
    page: list[StoreVariant],
    connections: dict[str, Connection],
    deps: ListingsReadDependencies,
    result: ListingsRead,
    rule: dict[str, str],
) -> list[str]:
    """The buyer's vendor rule first (a product whose vendor it names is that seller's, whatever
    its SKU matches), then the SKU match for the rest; ops' decisions stand."""
    lines = [CatalogVariantLine(v) for v in page]
    stored = deps.listings.get_many(buyer_id, [line.variant_id for line in lines])
    now = deps.clock()
    ruled = {
        line.variant_id: listing
        for line in lines
        if (listing := by_vendor(line, line.variant.vendor, rule, stored.get(line.variant_id), buyer_id, now))
    }
    changed = [x for v, x in ruled.items() if v not in stored or not x.same_link(stored[v])]
    rest = [line for line in lines if line.variant_id not in ruled]
    # a link a rule made that no rule makes now is matched again, by its SKU
    free = {v: x for v, x in stored.items() if x.linked_by is not LinkedBy.VENDOR}
    unsettled = skus_to_match(rest, free)
    catalogs = deps.catalog.lookup_sellers(list(connections), unsettled) if unsettled else {}
    matched = split_order(rest, None, buyer_id, free, catalogs, deps.clock).listings
    changed += [moved_on(stored[x.variant_id], x) if x.variant_id in stored else x for x in matched]
    deps.listings.put_matched(changed)
    result.linked += sum(1 for x in changed if x.seller_id is not None)
    result.own += sum(1 for x in changed if x.own)
    result.ambiguous += sum(1 for x in changed if x.ambiguous)
    # An ambiguity settled (a seller dropped the SKU): the orders that waited on it go on.
    settled = [(stored[x.variant_id], x) for x in changed if x.variant_id in stored and stored[x.variant_id].ambiguous]
    return [
        key
        for before, after in settled
        if not after.ambiguous
        for key in replay_relinked(before, after, connections, deps)
    ]
