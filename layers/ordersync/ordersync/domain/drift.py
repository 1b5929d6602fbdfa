"""The drift check: an order in both stores, compared as each store has it now — cancelled on one
side only, a different shipping address, a parcel of the seller's missing from the buyer's store, a
tracking number that differs, more units shipped on one side. Each divergence names the command or
the step that mends it. Read-only, and pure: the stores are read by the caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ordersync.domain.edits import address_digest
from ordersync.domain.shipments import (
    BuyerShipments,
    parcel_key,
    parcel_ref,
    same_tracking_number,
    shipment_ids,
    tracking_key,
)
from ordersync.models import CanonicalOrder, SellerOrderState, ShippingAddress

DEFAULT_DAYS = 30  # the drift check compares the orders posted in the last this many days
# The daily run compares an order at these ages (days since its status last changed), not every day of
# its DEFAULT_DAYS: three compares in a life instead of thirty, each a handful of store calls. A
# divergence made by hand in a store is found the next day, after a week, or after a month.
DEFAULT_AGES = (1, 7, 30)


def compare_windows(now: datetime, ages: Sequence[int]) -> list[tuple[datetime, datetime]]:
    """For each age (in days), the day-long window of last changes that reaches it today: age 1 is the
    last 24 hours, age 7 the day that ended six days ago. Disjoint: an order is in one at most."""
    return [(now - timedelta(days=age), now - timedelta(days=age - 1)) for age in sorted(set(ages))]


class DriftKind(StrEnum):
    CANCELLED_BY_BUYER_ONLY = "CANCELLED_BY_BUYER_ONLY"
    CANCELLED_BY_SELLER_ONLY = "CANCELLED_BY_SELLER_ONLY"
    ADDRESS_DIFFERS = "ADDRESS_DIFFERS"
    PARCEL_NOT_IN_BUYER_STORE = "PARCEL_NOT_IN_BUYER_STORE"
    TRACKING_DIFFERS = "TRACKING_DIFFERS"
    SHIPPED_UNITS_DIFFER = "SHIPPED_UNITS_DIFFER"
    COPY_NOT_IN_SELLER_STORE = "COPY_NOT_IN_SELLER_STORE"
    ORDER_NOT_IN_BUYER_STORE = "ORDER_NOT_IN_BUYER_STORE"


@dataclass(frozen=True)
class Divergence:
    order_key: str
    seller_id: str
    buyer_name: str
    kind: DriftKind
    detail: str  # what each store says (for ops and the seller: never logged)
    mend: str  # the command, or the step, that makes the stores agree


@dataclass(frozen=True)
class Recorded:
    """What our record says of the posted order."""

    order_key: str
    seller_id: str
    buyer_name: str
    posted_address: str | None  # the digest of the address last put on the copy
    written: Mapping[str, str] = field(default_factory=dict)  # parcel key -> the buyer shipment we wrote
    reasons: Mapping[str, str] = field(default_factory=dict)  # parcel key -> why it is not in the buyer's store
    # the buyer lines posted to this seller (its part of the buyer order): the only units compared
    # (empty: a record from before parts, every line)
    lines: frozenset[str] = frozenset()

    def parcel(self, key: str) -> tuple[str | None, str | None]:
        return self.written.get(key), self.reasons.get(key)


@dataclass(frozen=True)
class BothStores:
    """One posted order as each store has it now."""

    buyer_order: CanonicalOrder
    buyer_shipments: BuyerShipments
    seller: SellerOrderState
    seller_address: ShippingAddress | None


def divergences(record: Recorded, seen: BothStores) -> list[Divergence]:
    found = _cancelled(record, seen)
    if not seen.buyer_order.cancelled and not seen.seller.cancelled:
        found += _address(record, seen)
    found += _parcels(record, seen)
    return [
        Divergence(record.order_key, record.seller_id, record.buyer_name, kind, detail, mend)
        for kind, detail, mend in found
    ]


def _cancelled(record: Recorded, seen: BothStores) -> list[tuple[DriftKind, str, str]]:
    buyer, seller = seen.buyer_order.cancelled, seen.seller.cancelled
    if buyer and not seller:
        state = "shipped" if seen.seller.shipped else "open"
        mend = (
            f"it shipped: nothing can be cancelled; settle it with buyer and seller (ordersync order show {record.order_key})"
            if seen.seller.shipped
            else f"ordersync order replay {record.order_key}  (cancels the seller's copy)"
        )
        detail = f"cancelled in the buyer's store; {state} in the seller's store ({seen.seller.words or 'no status'})"
        return [(DriftKind.CANCELLED_BY_BUYER_ONLY, detail, mend)]
    if seller and not buyer:
        return [
            (
                DriftKind.CANCELLED_BY_SELLER_ONLY,
                "cancelled in the seller's store; still open in the buyer's",
                f"ordersync order show {record.order_key}, then decide with buyer and seller"
                " (nothing is cancelled or refunded in the buyer's store by itself)",
            )
        ]
    return []


def _address(record: Recorded, seen: BothStores) -> list[tuple[DriftKind, str, str]]:
    buyer, seller = seen.buyer_order.shipping_address, seen.seller_address
    if seller is None or buyer is None or same_address(buyer, seller):
        return []
    if address_digest(buyer) != record.posted_address:  # the buyer changed it since we last acted on it
        mend = f"ordersync order replay {record.order_key}  (puts the buyer's address on the seller's copy)"
    else:  # the copy was changed in the seller's store
        mend = "set the copy's shipping address in the seller's store back to the buyer's (below)"
    detail = f"buyer's store: {_words(buyer)}; seller's store: {_words(seller)}"
    return [(DriftKind.ADDRESS_DIFFERS, detail, mend)]


def same_address(a: ShippingAddress, b: ShippingAddress) -> bool:
    """The same door: street, city, postcode and country, folded (each platform spells a name, a
    phone or a state its own way, and none of those sends a parcel elsewhere)."""
    return _door(a) == _door(b)


def _door(address: ShippingAddress) -> tuple[str, ...]:
    parts = (address.address1, address.address2, address.city, address.postal_code, address.country_code)
    return tuple(" ".join((p or "").lower().replace(",", " ").split()) for p in parts)


def _words(address: ShippingAddress) -> str:
    return ", ".join(p for p in (address.address1, address.address2, address.city, address.postal_code,
                                  address.country_code) if p)  # fmt: skip


def _parcels(record: Recorded, seen: BothStores) -> list[tuple[DriftKind, str, str]]:
    there = seen.buyer_shipments.shipments
    by_id = {s.shipment_id: s for s in there}
    by_number = {tracking_key(s.tracking_number): s for s in there if s.tracking_number}
    found: list[tuple[DriftKind, str, str]] = []
    for parcel in seen.seller.parcels:
        key = parcel_key(record.seller_id, parcel.parcel_id)
        written_id, reason = record.parcel(key)
        shipment = (
            next((by_id[i] for i in shipment_ids(written_id or "") if i in by_id), None)
            or next((s for s in there if s.key in (key, parcel_ref(key))), None)
            or by_number.get(tracking_key(parcel.tracking_number or ""))
        )
        what = f"parcel {parcel.parcel_id}" + (f" ({parcel.tracking_number})" if parcel.tracking_number else "")
        if shipment is None:
            found.append(
                (
                    DriftKind.PARCEL_NOT_IN_BUYER_STORE,
                    f"{what} shipped in the seller's store; not in the buyer's"
                    + (f" (recorded: {reason})" if reason else ""),
                    f"ordersync dlq redrive --queue shipments --reason {reason}  (once that is fixed; see ordersync"
                    f" order show {record.order_key})"
                    + (
                        "; a parcel still waiting on the retailer's hold is checked again by itself for ParcelWaitDays"
                        if reason == "PARCEL_WAITING"
                        else ""
                    )
                    if reason
                    else f"add it in the buyer's store by hand (ordersync order show {record.order_key} has it)",
                )
            )
        elif (
            parcel.tracking_number
            and shipment.tracking_number
            and not same_tracking_number(shipment.tracking_number, parcel.tracking_number)
        ):
            found.append(
                (
                    DriftKind.TRACKING_DIFFERS,
                    f"{what}: the buyer's store has tracking {shipment.tracking_number}",
                    f"set tracking {parcel.tracking_number} on shipment {shipment.shipment_id} in the buyer's store",
                )
            )
    if not found:
        found += _units(record, seen)
    return found


def _units(record: Recorded, seen: BothStores) -> list[tuple[DriftKind, str, str]]:
    """Units shipped on each side, where both stores count them by line: in the buyer's store, only
    on this seller's lines (its part; another seller's parcels are that part's to compare)."""
    if any(p.whole_order or not p.lines for p in seen.seller.parcels):
        return []
    there = seen.buyer_shipments.shipments
    if not there or any(not s.lines for s in there):
        return []
    seller = sum(line.quantity for p in seen.seller.parcels for line in p.lines)
    buyer = sum(units for s in there for line_id, units in s.lines if not record.lines or line_id in record.lines)
    if seller == buyer:
        return []
    return [
        (
            DriftKind.SHIPPED_UNITS_DIFFER,
            f"{seller} units shipped in the seller's store, {buyer} in the buyer's",
            "find the fulfilment made by hand in the store with more, and correct it there",
        )
    ]


def gone(record: Recorded, side: str, copy: str, words: str) -> Divergence:
    """One store no longer has the order (deleted), or never had the id we hold (a copy posted by
    hand under a mistyped number): `side` is "seller" or "buyer"."""
    if side == "seller":
        return Divergence(
            record.order_key,
            record.seller_id,
            record.buyer_name,
            DriftKind.COPY_NOT_IN_SELLER_STORE,
            f"the seller's store has no order {copy} ({words})",
            f"ordersync order show {record.order_key}: if it was posted by hand, check the number given to"
            " `ordersync manual complete`; else ask the seller whether it was deleted",
        )
    return Divergence(
        record.order_key,
        record.seller_id,
        record.buyer_name,
        DriftKind.ORDER_NOT_IN_BUYER_STORE,
        f"the buyer's store has no such order any more ({words}); the seller's copy {copy} is still there",
        "ask the buyer whether it was deleted; decide with buyer and seller whether the copy ships",
    )
