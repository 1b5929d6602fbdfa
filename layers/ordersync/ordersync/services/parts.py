"""A buyer order's part for one seller: only the lines whose listing (or, at first sight, whose SKU)
makes them that seller's (domain/listings.py). The raw payload is cut to the part's lines before
the order is validated, so everything after it — the record, the post, the alerts, the DLQ message,
the copy, the parcels — sees the part alone: a seller never sees another seller's lines nor the
retailer's own, and a broken line fails only the part it belongs to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.domain.catalog import CatalogSlice
from ordersync.domain.listings import (
    Line,
    Split,
    kept_where_posted,
    moved_lines,
    skus_to_match,
    split_order,
    variant_ids,
)
from ordersync.models import OrderEnvelope, OrderStatus, utc_now
from ordersync.normalize import order_ref, payload_with_lines, raw_lines
from ordersync.observability import logger, metrics
from ordersync.ports import CatalogRepository, ConnectionRepository, ListingRepository
from ordersync.records import OrderRecord


class PartRecords(Protocol):
    def get(self, order_key: str) -> OrderRecord | None: ...


@dataclass
class PartDependencies:
    listings: ListingRepository
    catalog: CatalogRepository
    connections: ConnectionRepository
    clock: Callable[[], datetime] = field(default=utc_now)
    orders: PartRecords | None = None  # the other sellers' parts, read only for a line ops moved


@dataclass(frozen=True)
class Part:
    envelope: OrderEnvelope  # its payload cut to the part's lines
    lines: int  # how many (0: nothing of the order is the seller's)
    catalog: CatalogSlice  # the seller's catalog of every SKU of the order, as read for the split


def part_of(envelope: OrderEnvelope, deps: PartDependencies) -> Part | None:
    """The envelope with the seller's lines only. None where the payload's lines can't be told
    apart (a read request, or no readable list of lines): it travels whole, and is read or fails
    as INVALID_ORDER where it is acted on."""
    lines = raw_lines(envelope.buyer_platform, envelope.payload)
    if lines is None:
        return None
    order_id = order_ref(envelope.buyer_platform, envelope.payload)[0]
    result, catalog = split(lines, order_id, envelope.buyer_id, envelope.seller_id, deps)
    mine = result.lines_of(envelope.seller_id)
    if len(mine) == len(lines):
        return Part(envelope, len(mine), catalog)
    cut = payload_with_lines(envelope.buyer_platform, envelope.payload, {line.line_id for line in mine})
    return Part(envelope.model_copy(update={"payload": cut}), len(mine), catalog)


def split(
    lines: Sequence[Line], order_id: str, buyer_id: str, seller_id: str, deps: PartDependencies
) -> tuple[Split, CatalogSlice]:
    """Every line's owner among the buyer's connected sellers. One read for the listings and this
    seller's catalog; the other sellers' catalogs only for lines no listing settles (a product's
    first sight); the links that first sight made are written."""
    skus = list(dict.fromkeys(line.sku for line in lines if line.sku))
    listings, own_catalog = deps.listings.get_with_catalog(buyer_id, variant_ids(lines), seller_id, skus)
    unsettled = skus_to_match(lines, listings)
    connections = {c.seller.store_id: c.connection_id for c in deps.connections.of_buyer(buyer_id)}
    others = [seller for seller in connections if seller != seller_id]
    catalogs = {seller_id: own_catalog}
    if unsettled and others:
        catalogs |= deps.catalog.lookup_sellers(others, unsettled)
    result = split_order(lines, order_id, buyer_id, listings, catalogs, deps.clock)
    moved = moved_lines(result, listings)
    if moved and deps.orders is not None:
        result = kept_where_posted(result, _posted_elsewhere(moved, order_id, connections, deps.orders))
    if result.listings:
        deps.listings.put_matched(result.listings)
    if result.ambiguous_lines:
        metrics.add_metric(name="LinesAmbiguous", unit=MetricUnit.Count, value=len(result.ambiguous_lines))
        logger.warning(
            "lines whose SKU matches several sellers: left for ops (ordersync listing list --ambiguous)",
            extra={"buyer_id": buyer_id, "order_id": order_id, "lines": len(result.ambiguous_lines)},
        )
    return result, own_catalog


def _posted_elsewhere(
    moved: dict[str, tuple[str, ...]], order_id: str, connections: dict[str, str], orders: PartRecords
) -> dict[str, str]:
    """line id -> the earlier seller whose part of this order holds the line and may be in its
    store (posted, being posted, or posted by hand): the line stays there, never posted twice."""
    records: dict[str, OrderRecord | None] = {}
    posted = {}
    for line_id, sellers in moved.items():
        for seller in sellers:
            if seller not in connections:
                continue
            if seller not in records:
                records[seller] = orders.get(f"{connections[seller]}#{order_id}")
            record = records[seller]
            if record is not None and _may_hold(record, line_id):
                posted[line_id] = seller
                logger.info(
                    "a line ops moved to another seller stays with the seller it was posted to, for this order",
                    extra={"order_key": record.order_key, "line_id": line_id},
                )
                break
    return posted


def _may_hold(record: OrderRecord, line_id: str) -> bool:
    reached = record.seller_order_id is not None or record.post_unconfirmed_at is not None
    reached = reached or record.status in (OrderStatus.MANUAL_POSTING_PENDING, OrderStatus.POSTED_MANUALLY)
    lines = {p.buyer_line_id for p in record.posted_lines} | {line.line_id for line in record.lines}
    return reached and line_id in lines
