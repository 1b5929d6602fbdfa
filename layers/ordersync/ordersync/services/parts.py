"""A buyer order's part for one seller: only the lines whose listing (or, at first sight, whose SKU)
makes them that seller's (domain/listings.py). Everything after it — the record, the post, the
alerts, the DLQ message, the copy, the parcels — sees the part alone, so a seller never sees another
seller's lines nor the retailer's own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.domain.catalog import CatalogSlice
from ordersync.domain.listings import Split, skus_to_match, split_order, variant_ids
from ordersync.models import CanonicalOrder, OrderEnvelope, utc_now
from ordersync.normalize import payload_with_lines
from ordersync.observability import logger, metrics
from ordersync.ports import CatalogRepository, ConnectionRepository, ListingRepository


@dataclass
class PartDependencies:
    listings: ListingRepository
    catalog: CatalogRepository
    connections: ConnectionRepository
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class Part:
    envelope: OrderEnvelope  # its payload cut to the part's lines
    order: CanonicalOrder  # the part's lines only (none: nothing of the order is the seller's)
    catalog: CatalogSlice  # the seller's catalog of every SKU of the order, as read for the split


def split(order: CanonicalOrder, buyer_id: str, seller_id: str, deps: PartDependencies) -> tuple[Split, CatalogSlice]:
    """Every line's owner among the buyer's connected sellers. One read for the listings and this
    seller's catalog; the other sellers' catalogs only for lines no listing settles (a product's
    first sight); the links that first sight made are written."""
    skus = list(dict.fromkeys(line.sku for line in order.lines if line.sku))
    listings, own_catalog = deps.listings.get_with_catalog(buyer_id, variant_ids(order), seller_id, skus)
    unsettled = skus_to_match(order, listings)
    others = [c.seller.store_id for c in deps.connections.of_buyer(buyer_id) if c.seller.store_id != seller_id]
    catalogs = {seller_id: own_catalog}
    if unsettled and others:
        catalogs |= deps.catalog.lookup_sellers(list(dict.fromkeys(others)), unsettled)
    result = split_order(order, buyer_id, listings, catalogs, deps.clock)
    if result.listings:
        deps.listings.put_matched(result.listings)
    if result.ambiguous_lines:
        metrics.add_metric(name="LinesAmbiguous", unit=MetricUnit.Count, value=len(result.ambiguous_lines))
        logger.warning(
            "lines whose SKU matches several sellers: left for ops (ordersync listing list --ambiguous)",
            extra={"buyer_id": buyer_id, "order_id": order.order_id, "lines": len(result.ambiguous_lines)},
        )
    return result, own_catalog


def part_of(envelope: OrderEnvelope, order: CanonicalOrder, deps: PartDependencies) -> Part:
    """The envelope and order with the seller's lines only (the raw payload cut to them too, so the
    record, a replay and the DLQ message carry nothing of another's)."""
    result, catalog = split(order, envelope.buyer_id, envelope.seller_id, deps)
    lines = result.lines_of(envelope.seller_id)
    if len(lines) == len(order.lines):
        return Part(envelope, order, catalog)
    kept = {line.line_id for line in lines}
    payload: Any = payload_with_lines(envelope.buyer_platform, envelope.payload, kept)
    cut = envelope.model_copy(update={"payload": payload})
    return Part(cut, order.model_copy(update={"lines": lines}), catalog)
