"""Ops see and mend whose product each buyer variant is (`ordersync listing ...`). A change replays
the buyer orders it unblocks: those that waited on an ambiguous line, and those the seller it moved
from was blocked by (their parts are split again, the new seller's part is read and posted)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ordersync.alerts.messages import message_fields
from ordersync.domain.listings import LinkedBy, Listing, relink
from ordersync.models import Cause, Connection, OrderStatus, StoreRecord, read_request, utc_now
from ordersync.ports import ConnectionRepository, DlqRemover, OrderQueries, OrderQueue
from ordersync.services.pull import envelope_for


class VendorRules(Protocol):
    def get(self, store_id: str) -> StoreRecord | None: ...
    def set_vendor_sellers(self, store_id: str, rule: dict[str, str]) -> bool: ...


class ListingAdmin(Protocol):
    def get_many(self, buyer_id: str, variant_ids: Sequence[str]) -> dict[str, Listing]: ...
    def of_buyer(self, buyer_id: str) -> list[Listing]: ...
    def put(self, listing: Listing) -> None: ...


@dataclass
class ListingDependencies:
    listings: ListingAdmin
    connections: ConnectionRepository
    orders: OrderQueries
    queue: OrderQueue
    dlq: DlqRemover  # a part replayed leaves OrdersDLQ, as `order replay` does
    clock: Callable[[], datetime] = field(default=utc_now)
    stores: VendorRules | None = None  # the buyers' vendor rules (`listing vendor`)


@dataclass(frozen=True)
class Relinked:
    listing: Listing
    before: Listing
    replayed: tuple[str, ...]  # order keys enqueued again
    # The parts of the seller it moved from that hold the variant and are in (or going into) that
    # seller's store: for those orders the line stays there, never posted to a second seller.
    stays: tuple[str, ...] = ()


def listings_of(
    buyer_id: str, deps: ListingDependencies, seller_id: str | None = None, ambiguous: bool = False, own: bool = False
) -> list[Listing]:
    _connections_of(buyer_id, deps)
    found = deps.listings.of_buyer(buyer_id)
    if seller_id is not None:
        found = [x for x in found if x.seller_id == seller_id or seller_id in x.candidates]
    if ambiguous:
        found = [x for x in found if x.ambiguous]
    if own:
        found = [x for x in found if x.own]
    return sorted(found, key=lambda x: x.variant_id)


def link(
    buyer_id: str, variant_id: str, seller_id: str, deps: ListingDependencies, orders: Sequence[str] = ()
) -> Relinked:
    """The variant is this seller's, whatever its SKU says from now on. A variant no order carried
    yet is listed now (ops know the retailer's variant ids: a product listed under a SKU the seller
    renamed before the first pull would otherwise be taken for the retailer's own). `orders`: buyer
    orders decided before, whose line was taken for the retailer's own: read again, the seller's
    part made and posted."""
    connections = _connections_of(buyer_id, deps)
    if seller_id not in connections:
        sellers = ", ".join(sorted(connections)) or "none"
        raise LookupError(f"{buyer_id!r} buys from no seller {seller_id!r} (its sellers: {sellers})")
    return _relink(buyer_id, variant_id, seller_id, deps, connections, new=True, orders=orders)


def unlink(buyer_id: str, variant_id: str, deps: ListingDependencies) -> Relinked:
    """The variant is the retailer's own, whatever its SKU matches from now on."""
    return _relink(buyer_id, variant_id, None, deps, _connections_of(buyer_id, deps))


def _relink(
    buyer_id: str,
    variant_id: str,
    seller_id: str | None,
    deps: ListingDependencies,
    connections: dict[str, Connection],
    new: bool = False,
    orders: Sequence[str] = (),
) -> Relinked:
    if not variant_id.strip() or len(variant_id) > 200:
        raise ValueError(f"{variant_id!r} is not a variant id (the buyer store's id of the variant, or of its product)")
    before = deps.listings.get_many(buyer_id, [variant_id]).get(variant_id)
    if before is None and new:
        before = Listing(buyer_id, variant_id, None, LinkedBy.OWN, deps.clock())
    if before is None:
        raise LookupError(
            f"{buyer_id!r} has no listing of variant {variant_id!r} (one is made when an order carries it):"
            f" `ordersync listing list {buyer_id}` shows them"
        )
    after = relink(before, seller_id, deps.clock())
    deps.listings.put(after)
    replayed = tuple(replay_relinked(before, after, connections, deps, orders))
    return Relinked(after, before, replayed, tuple(_staying(before, after, deps)))


def _staying(before: Listing, after: Listing, deps: ListingDependencies) -> list[str]:
    """The moved-from seller's parts of this buyer whose lines carry the variant's SKU and that
    reached (or are reaching) its store."""
    if before.seller_id is None or before.seller_id == after.seller_id or not before.sku:
        return []
    reached = (OrderStatus.SYNCED, OrderStatus.MANUAL_POSTING_PENDING, OrderStatus.POSTED_MANUALLY)
    return sorted(
        record.order_key
        for status in reached
        for record in deps.orders.by_seller_status(before.seller_id, status)
        if record.buyer_id == before.buyer_id and any(line.sku == before.sku for line in record.lines)
    )


class ReplayDependencies(Protocol):
    @property
    def orders(self) -> OrderQueries: ...
    @property
    def queue(self) -> OrderQueue: ...
    @property
    def dlq(self) -> DlqRemover: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


def replay_relinked(
    before: Listing,
    after: Listing,
    connections: dict[str, Connection],
    deps: ReplayDependencies,
    orders: Sequence[str] = (),
) -> list[str]:
    """Each order the change concerns, read again from the buyer's store for the seller it moved to
    and the seller it moved from (a record of the old part is split again; nothing is posted twice:
    a part already in a seller's store is a settled record)."""
    order_ids = list(before.waiting_orders) + [o for o in orders if o.strip()]
    if before.seller_id is not None and before.sku:
        blocked = deps.orders.by_seller_status(before.seller_id, OrderStatus.FAILED)
        order_ids += [r.order_id for r in blocked if r.buyer_id == before.buyer_id and before.sku in r.blocked_skus]
    sellers = [s for s in dict.fromkeys((before.seller_id, after.seller_id)) if s is not None and s in connections]
    now = deps.clock()
    envelopes = [
        envelope_for(connections[seller], read_request(order_id), now, Cause.REPLAY)[0]
        for order_id in dict.fromkeys(order_ids)
        for seller in sellers
    ]
    keys = {envelope.order_key for envelope in envelopes}
    deps.dlq.remove(lambda message: message_fields(message)["order_key"] in keys)
    deps.queue.enqueue(envelopes)
    return [envelope.order_key for envelope in envelopes]


MAX_VENDOR_CHARS = 200


def set_vendor_rule(buyer_id: str, vendor: str, seller_id: str | None, deps: ListingDependencies) -> dict[str, str]:
    """The buyer's products of this vendor / brand are this seller's (None: the rule for it goes);
    applied to every product by the buyer's next catalog run, a full read. Answers the whole rule."""
    assert deps.stores is not None, "built without the stores table"
    connections = _connections_of(buyer_id, deps)
    name = vendor.strip()
    if not name or len(name) > MAX_VENDOR_CHARS:
        raise ValueError(f"{vendor!r} is not a vendor or brand (1 to {MAX_VENDOR_CHARS} characters)")
    if seller_id is not None and seller_id not in connections:
        sellers = ", ".join(sorted(connections))
        raise LookupError(f"{buyer_id!r} buys from no seller {seller_id!r} (its sellers: {sellers})")
    record = deps.stores.get(buyer_id)
    if record is None:
        raise LookupError(f"no store {buyer_id!r} (ordersync store list)")
    rule = {k: v for k, v in record.vendor_sellers.items() if k.casefold() != name.casefold()}
    if seller_id is None and len(rule) == len(record.vendor_sellers):
        raise LookupError(f"{buyer_id!r} has no vendor rule for {name!r}")
    if seller_id is not None:
        rule[name] = seller_id
    deps.stores.set_vendor_sellers(buyer_id, rule)
    return rule


def vendor_rule_of(buyer_id: str, deps: ListingDependencies) -> dict[str, str]:
    assert deps.stores is not None, "built without the stores table"
    _connections_of(buyer_id, deps)
    record = deps.stores.get(buyer_id)
    return dict(sorted(record.vendor_sellers.items())) if record is not None else {}


def _connections_of(buyer_id: str, deps: ListingDependencies) -> dict[str, Connection]:
    connections = {c.seller.store_id: c for c in deps.connections.of_buyer(buyer_id)}
    if not connections:
        raise LookupError(f"{buyer_id!r} is the buyer of no connection: `ordersync connection list` shows them")
    return connections
