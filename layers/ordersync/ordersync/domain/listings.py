"""Whose line it is: a buyer order split by its lines' listings into one part per seller, and the
retailer's own lines. Pure.

A listing links a buyer's variant to the seller whose product it is. The link, not the SKU, says
whose a line is, so it outlives a SKU renamed on either side: a linked line whose SKU went stale is
that seller's SKU_MISMATCH, never taken for the retailer's own. A line with no listing is linked at
first sight when its SKU (or a seller's alias of it) matches an active variant of exactly one
connected seller, or failing that a variant one seller retired; several sellers: ambiguous, for ops
to decide, never guessed; none: the retailer's own.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ordersync.domain.catalog import CatalogSlice

# An ambiguous listing keeps the buyer orders waiting on it (replayed when ops link it), at most this many.
MAX_WAITING_ORDERS = 50


class LinkedBy(StrEnum):
    SKU = "sku"  # its SKU matched an active variant of exactly one connected seller
    RETIRED_SKU = "retired_sku"  # its SKU matched only a variant one seller retired (renamed or deleted)
    OPS = "ops"  # `ordersync listing link` / `unlink`: never changed by a match again
    AMBIGUOUS = "ambiguous"  # its SKU matched several connected sellers: ops decide
    OWN = "own"  # matched no connected seller when last seen: the retailer's own, looked at again next time
    VENDOR = "vendor"  # the buyer's rule names the seller by the product's vendor / brand (its catalog read)


@dataclass(frozen=True)
class Listing:
    """(buyer store, buyer variant) -> the seller whose product it is (None: the retailer's own, or
    ambiguous between `candidates`)."""

    buyer_id: str
    variant_id: str
    seller_id: str | None
    linked_by: LinkedBy
    linked_at: datetime
    sku: str | None = None  # the buyer's SKU when it was linked
    title: str = ""  # the buyer's title for it, for ops reading the list
    seller_variant_id: str | None = None
    candidates: tuple[str, ...] = ()  # ambiguous: the sellers its SKU matched
    waiting_orders: tuple[str, ...] = ()  # ambiguous: buyer order ids that hold such a line
    # The sellers ops moved it from, oldest first: an order whose part for one of them already went
    # into that seller's store keeps the line there (never posted to a second seller).
    moved_from: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.linked_by is LinkedBy.AMBIGUOUS

    @property
    def own(self) -> bool:
        return self.seller_id is None and not self.ambiguous

    def same_link(self, other: Listing) -> bool:
        """Nothing an ops reader would see changed (when it was linked aside)."""
        keep = ("seller_id", "linked_by", "sku", "seller_variant_id", "candidates", "waiting_orders", "moved_from")
        return all(getattr(self, name) == getattr(other, name) for name in keep)


class Line(Protocol):
    """A buyer's line as the split needs it (the canonical line, or one read before validation)."""

    @property
    def line_id(self) -> str: ...
    @property
    def sku(self) -> str | None: ...
    @property
    def variant_id(self) -> str | None: ...
    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class LineOwner:
    line: Line
    seller_id: str | None  # None: the retailer's own, or ambiguous
    ambiguous: tuple[str, ...] = ()  # the sellers it could be


@dataclass(frozen=True)
class Split:
    owners: tuple[LineOwner, ...]
    listings: tuple[Listing, ...] = field(default=())  # new or changed: to be written

    def lines_of(self, seller_id: str) -> list[Line]:
        return [owner.line for owner in self.owners if owner.seller_id == seller_id]

    @property
    def own_lines(self) -> list[Line]:
        return [o.line for o in self.owners if o.seller_id is None and not o.ambiguous]

    @property
    def ambiguous_lines(self) -> list[LineOwner]:
        return [o for o in self.owners if o.ambiguous]


def skus_to_match(lines: Sequence[Line], listings: Mapping[str, Listing]) -> list[str]:
    """The SKUs of lines whose owner their listing doesn't settle: matched against every connected
    seller's catalog."""
    return list(dict.fromkeys(line.sku for line in lines if line.sku and _unsettled(line, listings)))


def split_order(
    lines: Sequence[Line],
    order_id: str | None,
    buyer_id: str,
    listings: Mapping[str, Listing],
    catalogs: Mapping[str, CatalogSlice],
    clock: Callable[[], datetime],
) -> Split:
    """Each line's owner. `order_id`: the buyer order the lines are of (None: the buyer's catalog,
    read into its listings before any order carries them); `listings`: the stored ones of the
    order's buyer variants, by variant id;
    `catalogs`: each connected seller's catalog for the order's SKUs (aliases included); `clock`
    dates a new listing (read once, and only when there is one)."""
    now = functools.cache(clock)
    owners: list[LineOwner] = []
    written: dict[str, Listing] = {}
    for line in lines:
        stored = listings.get(line.variant_id) if line.variant_id else None
        if stored is not None and not _unsettled(line, listings):
            owners.append(LineOwner(line, stored.seller_id))
            continue
        before = written.get(line.variant_id or "", stored)
        owner, listing = _match(line, buyer_id, catalogs, now, before, order_id)
        owners.append(owner)
        if listing is not None and (stored is None or not listing.same_link(stored)):
            written[listing.variant_id] = listing
    return Split(tuple(owners), tuple(written.values()))


def _unsettled(line: Line, listings: Mapping[str, Listing]) -> bool:
    """A line whose listing doesn't say whose it is for good: none, the retailer's own by a match
    (a seller may list the SKU since), or ambiguous (a seller may have dropped it since)."""
    stored = listings.get(line.variant_id) if line.variant_id else None
    return stored is None or stored.linked_by in (LinkedBy.OWN, LinkedBy.AMBIGUOUS)


def _match(
    line: Line,
    buyer_id: str,
    catalogs: Mapping[str, CatalogSlice],
    now: Callable[[], datetime],
    stored: Listing | None,
    order_id: str | None,
) -> tuple[LineOwner, Listing | None]:
    sku = line.sku
    active = [seller for seller, catalog in catalogs.items() if sku and catalog.active_variants(sku)]
    retired = [seller for seller, catalog in catalogs.items() if sku and _retired_only(catalog, sku)]
    listing = None
    if line.variant_id is not None:
        listing = Listing(buyer_id, line.variant_id, None, LinkedBy.OWN, now(), sku, line.title[:200])
    if len(active) == 1 or (not active and len(retired) == 1):
        seller = (active or retired)[0]
        how = LinkedBy.SKU if active else LinkedBy.RETIRED_SKU
        variants = catalogs[seller].active_variants(sku or "")
        seller_variant = variants[0].variant_id if len(variants) == 1 else None
        if listing is not None:
            listing = Listing(buyer_id, listing.variant_id, seller, how, now(), sku, listing.title, seller_variant)
        return LineOwner(line, seller), listing
    if len(active) > 1:
        if listing is not None:
            waiting = _waiting(stored, order_id)
            listing = Listing(
                buyer_id,
                listing.variant_id,
                None,
                LinkedBy.AMBIGUOUS,
                now(),
                sku,
                listing.title,
                None,
                tuple(active),
                waiting,
            )
        return LineOwner(line, None, tuple(active)), listing
    return LineOwner(line, None), listing


def _retired_only(catalog: CatalogSlice, sku: str) -> bool:
    """The seller had a variant with this SKU and has none active now (renamed, or deleted)."""
    variants = catalog.variants_by_sku.get(catalog.resolve(sku), ())
    return bool(variants) and not any(v.active for v in variants)


def _waiting(stored: Listing | None, order_id: str | None) -> tuple[str, ...]:
    before = stored.waiting_orders if stored is not None and stored.ambiguous else ()
    return tuple(dict.fromkeys((*before, *([order_id] if order_id else []))))[-MAX_WAITING_ORDERS:]


def relink(listing: Listing, seller_id: str | None, now: datetime) -> Listing:
    """Ops' decision (`listing link` / `unlink`): kept whatever a later match would say. A link
    moved away from a seller remembers it (`moved_from`)."""
    return Listing(
        listing.buyer_id,
        listing.variant_id,
        seller_id,
        LinkedBy.OPS,
        now,
        listing.sku,
        listing.title,
        None,
        moved_from=_moved_from(listing, seller_id),
    )


def vendor_rule(rules: Mapping[str, str], sellers: Iterable[str]) -> dict[str, str]:
    """A buyer's rule as it is matched: vendor (case and spaces aside) -> a seller it buys from."""
    connected = set(sellers)
    return {vendor.strip().casefold(): seller for vendor, seller in rules.items() if seller in connected}


def by_vendor(
    line: Line, vendor: str | None, rule: Mapping[str, str], stored: Listing | None, buyer_id: str, now: datetime
) -> Listing | None:
    """The listing the buyer's rule makes of a variant (None: no rule names its vendor, or ops
    decided it). `rule`: as vendor_rule answers."""
    seller = rule.get((vendor or "").strip().casefold())
    if seller is None or line.variant_id is None or (stored is not None and stored.linked_by is LinkedBy.OPS):
        return None
    before = stored or Listing(buyer_id, line.variant_id, None, LinkedBy.OWN, now)
    return Listing(
        buyer_id,
        line.variant_id,
        seller,
        LinkedBy.VENDOR,
        now,
        line.sku,
        line.title[:200],
        stored.seller_variant_id if stored is not None and stored.seller_id == seller else None,
        moved_from=_moved_from(before, seller),
    )


def moved_on(before: Listing, after: Listing) -> Listing:
    """`after` remembering the seller `before` named, when it names another (a rule's link matched
    again by its SKU): that seller's posted orders keep their lines."""
    return dataclasses.replace(after, moved_from=_moved_from(before, after.seller_id))


def _moved_from(listing: Listing, seller_id: str | None) -> tuple[str, ...]:
    moved = listing.moved_from
    if listing.seller_id is not None and listing.seller_id != seller_id:
        moved = (*(s for s in moved if s != listing.seller_id), listing.seller_id)
    return moved


def moved_lines(split: Split, listings: Mapping[str, Listing]) -> dict[str, tuple[str, ...]]:
    """The lines whose listing ops moved away from other sellers: line id -> those sellers (the
    latest first) whose part of the order may hold the line already."""
    moved = {}
    for owner in split.owners:
        listing = listings.get(owner.line.variant_id) if owner.line.variant_id else None
        if listing is not None and listing.moved_from:
            earlier = tuple(s for s in reversed(listing.moved_from) if s != owner.seller_id)
            if earlier:
                moved[owner.line.line_id] = earlier
    return moved


def kept_where_posted(split: Split, posted: Mapping[str, str]) -> Split:
    """`posted`: line id -> the seller whose store has the line of this order already (its part
    was posted before ops moved the listing): the line stays that seller's for this order."""
    owners = tuple(LineOwner(o.line, posted[o.line.line_id]) if o.line.line_id in posted else o for o in split.owners)
    return Split(owners, split.listings)


def variant_ids(lines: Sequence[Line]) -> list[str]:
    return list(dict.fromkeys(line.variant_id for line in lines if line.variant_id))
