"""A seller's parcel, as the buyer's store must record it: its lines mapped back to the buyer's
lines it was posted from, never more than the buyer's order has left to ship; and, before anything
is written, whether the buyer's store holds it already. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ordersync.models import Parcel, ParcelLine, PostedLine


def parcel_key(seller_id: str, parcel_id: str) -> str:
    return f"{seller_id}:{parcel_id}"


def parcel_ref(key: str) -> str:
    """What the buyer's store may show of the key (a customer reads it): no seller's name in it."""
    return "ordersync-" + hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Misfit:
    """The parcel does not fit the buyer's order: why, in a sentence."""

    why: str


def buyer_lines(
    parcel: Parcel, posted: Sequence[PostedLine], sent: Mapping[str, int]
) -> tuple[tuple[str, int], ...] | Misfit:
    """(buyer line id, units) of the parcel: each seller line back to the buyer line posted as it
    (by the copy's line id, kept at the post), else to the buyer lines posted as its variant, in
    order, up to what each has left after `sent` (units already in the buyer's store by our other
    parcels). A whole-order parcel is whatever is left."""
    left = {line.buyer_line_id: line.quantity - sent.get(line.buyer_line_id, 0) for line in posted}
    if parcel.whole_order:
        return tuple((line_id, units) for line_id, units in left.items() if units > 0)
    taken: dict[str, int] = {}
    for line in parcel.lines:
        units = line.quantity
        for candidate in _posted_as(line, posted):
            take = min(units, left[candidate.buyer_line_id] - taken.get(candidate.buyer_line_id, 0))
            if take > 0:
                taken[candidate.buyer_line_id] = taken.get(candidate.buyer_line_id, 0) + take
                units -= take
        if units > 0:
            if not _posted_as(line, posted):
                return Misfit(f"variant {line.variant_id} is on no line of the buyer's order")
            return Misfit(f"{units} unit(s) of variant {line.variant_id} more than the buyer's order has left to ship")
    return tuple((line_id, units) for line_id, units in taken.items())


def _posted_as(line: ParcelLine, posted: Sequence[PostedLine]) -> list[PostedLine]:
    """The buyer lines a seller line may carry: the one posted as that very line where the copy's
    line ids were kept, else those posted as its variant."""
    by_id = [p for p in posted if line.line_id is not None and p.seller_line_id == line.line_id]
    return by_id or [p for p in posted if p.variant_id == line.variant_id]


class Found(StrEnum):
    NOTHING = "nothing"  # write it
    OURS = "ours"  # written before (an answer lost): record it, write nothing
    BY_HAND = "by_hand"  # fulfilled in the buyer's store with the same tracking: matched, no alert
    OTHER_TRACKING = "other_tracking"  # fulfilled there with other tracking: alert, write nothing
    PART = "part"  # some of its lines are there (written at one location of several): write the rest


@dataclass(frozen=True)
class BuyerShipment:
    """A shipment the buyer's store holds for the order."""

    shipment_id: str
    tracking_number: str | None
    key: str | None  # ours, where the platform keeps it (a comment, a meta entry, a note's ref)
    lines: tuple[tuple[str, int], ...]
    created_at: datetime | None = None


@dataclass(frozen=True)
class BuyerShipments:
    shipments: tuple[BuyerShipment, ...]
    unfulfilled: Mapping[str, int] | None  # units left to ship per buyer line; None: the store doesn't say
    # Where a platform fulfils through fulfillment orders (Shopify): (buyer line id, (fulfillment
    # order id, its line item id), units left) of each open line, as read with the shipments, so a
    # write right after needs no second read.
    open_lines: tuple[tuple[str, tuple[str, str], int], ...] = ()
    cancelled: bool = False  # the buyer's order is cancelled, refunded, declined or trashed there: no parcel onto it
    # Lines left to ship that can't be fulfilled now (Shopify: a fulfillment order on hold, or
    # scheduled): buyer line id -> why, in the store's words. Counted in `unfulfilled`.
    waiting: Mapping[str, str] = field(default_factory=dict)
    # Shopify: each open fulfillment order's location (one fulfilment can't span two).
    locations: Mapping[str, str] = field(default_factory=dict)


def already_there(
    key: str,
    tracking_number: str | None,
    lines: Sequence[tuple[str, int]],
    shipments: Sequence[BuyerShipment],
    unfulfilled: Mapping[str, int] | None,
    unconfirmed_since: datetime | None = None,
) -> tuple[Found, BuyerShipment | None]:
    """Whether the buyer's store holds this parcel: by our key, else by its tracking number, else —
    when what it leaves unfulfilled can't take the parcel — fulfilled by hand with other tracking.
    `unconfirmed_since`: an earlier attempt may have written since then without recording it; where
    the platform keeps no key of ours (Shopify), shipments since then of these lines and this
    tracking are that write — in part (PART) where they hold less than the parcel (a fulfilment per
    location, one not written)."""
    whole = _units(lines)
    for shipment in shipments:
        if shipment.key in (key, parcel_ref(key)):
            return Found.OURS, shipment
    if unconfirmed_since is not None:
        recent = [
            s
            for s in shipments
            if s.key is None
            and s.created_at is not None
            and s.created_at >= unconfirmed_since - _CLOCK_SKEW
            and same_tracking_number(s.tracking_number or "", tracking_number or "")
            and _within(s.lines, whole)
        ]
        if recent:
            return (Found.OURS if _units_of(recent) == whole else Found.PART), _together(recent)
    if tracking_number:
        same = [s for s in shipments if s.tracking_number and same_tracking_number(s.tracking_number, tracking_number)]
        if same and all(_within(s.lines, whole) for s in same) and _units_of(same) != whole:
            return Found.PART, _together(same)  # the same parcel's other fulfilments are still to write
        if same:
            return Found.BY_HAND, _together(same)
    others = [s for s in shipments if s.key is None]
    if others and unfulfilled is not None and any(unfulfilled.get(line_id, 0) < units for line_id, units in lines):
        return Found.OTHER_TRACKING, others[-1]
    return Found.NOTHING, None


_CLOCK_SKEW = timedelta(minutes=5)


def _units(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Units per buyer line."""
    units: dict[str, int] = {}
    for line_id, count in lines:
        units[line_id] = units.get(line_id, 0) + count
    return units


def _units_of(shipments: Sequence[BuyerShipment]) -> dict[str, int]:
    return _units(line for shipment in shipments for line in shipment.lines)


def _within(some: Sequence[tuple[str, int]], whole: Mapping[str, int]) -> bool:
    return bool(some) and all(whole.get(line_id, 0) >= units for line_id, units in _units(some).items())


def _together(shipments: Sequence[BuyerShipment]) -> BuyerShipment:
    """Several shipments of one parcel (a Shopify fulfilment per location) as the one the record keeps."""
    if len(shipments) == 1:
        return shipments[0]
    first = shipments[0]
    return BuyerShipment(
        ",".join(s.shipment_id for s in shipments),
        first.tracking_number,
        None,
        tuple(_units_of(shipments).items()),
        first.created_at,
    )


def shipment_ids(written: str) -> list[str]:
    """The buyer's shipments a parcel was written as (one per Shopify location it spans)."""
    return [part for part in written.split(",") if part]


def lines_left(lines: Sequence[tuple[str, int]], written: Sequence[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """The parcel's (buyer line, units) not yet in the shipments written of it."""
    done = _units(written)
    return tuple((line_id, units - done.get(line_id, 0)) for line_id, units in lines if units > done.get(line_id, 0))


def tracking_key(number: str) -> str:
    """A tracking number however a store spaces or cases it (the write path and the drift check agree)."""
    return "".join(number.split()).upper()


def same_tracking_number(a: str, b: str) -> bool:
    return tracking_key(a) == tracking_key(b)
