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


def split(order: CanonicalOrder, buyer_id: str, seller_id: str, deps: PartDependencies) -> Split:
    """Every line's owner among the buyer's connected sellers; links a first sight made are written
    (a match never overwrites ops' decision)."""
    sellers = list(dict.fromkeys([seller_id, *(c.seller.store_id for c in deps.connections.of_buyer(buyer_id))]))
    listings = deps.listings.get_many(buyer_id, variant_ids(order)) if variant_ids(order) else {}
    skus = skus_to_match(order, listings)
    catalogs = deps.catalog.lookup_sellers(sellers, skus) if skus else {}
    result = split_order(order, buyer_id, listings, catalogs, deps.clock)
    if result.listings:
        deps.listings.put_matched(result.listings)
    if result.ambiguous_lines:
        metrics.add_metric(name="LinesAmbiguous", unit=MetricUnit.Count, value=len(result.ambiguous_lines))
        logger.warning(
            "lines whose SKU matches several sellers: left for ops (ordersync listing list --ambiguous)",
            extra={"buyer_id": buyer_id, "order_id": order.order_id, "lines": len(result.ambiguous_lines)},
        )
    return result


def part_of(
    envelope: OrderEnvelope, order: CanonicalOrder, deps: PartDependencies
) -> tuple[OrderEnvelope, CanonicalOrder]:
    """The envelope and order with the seller's lines only (the raw payload cut to them too, so the
    record, a replay and the DLQ message carry nothing of another's). No line: an empty part."""
    result = split(order, envelope.buyer_id, envelope.seller_id, deps)
    lines = result.lines_of(envelope.seller_id)
    if len(lines) == len(order.lines):
        return envelope, order
    kept = {line.line_id for line in lines}
    payload: Any = payload_with_lines(envelope.buyer_platform, envelope.payload, kept)
    return envelope.model_copy(update={"payload": payload}), order.model_copy(update={"lines": lines})
