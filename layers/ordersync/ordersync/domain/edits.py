"""What the buyer changed in an order after it was posted: its shipping address, and its lines
(a quantity reduced or raised, a line removed or added), against what the post sent. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ordersync.models import CanonicalOrder, CopyLine, PostedLine, ShippingAddress

UNCONFIRMED_ADDRESS = "unconfirmed"  # the copy's address is not known to be the posted one: any version moves it


def address_digest(address: ShippingAddress | None) -> str | None:
    """A digest of the address as posted: the record keeps this, never the address (no PII at rest
    after the post); equal addresses, equal digests."""
    if address is None:
        return None
    canonical = json.dumps(address.model_dump(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LineChange:
    buyer_line_id: str
    sku: str | None
    title: str
    posted: int  # 0: a line the buyer added after the post
    now: int  # 0: removed (or refunded whole)

    @property
    def increase(self) -> bool:
        return self.now > self.posted

    def words(self) -> str:
        what = f"{self.sku or '(no SKU)'} {self.title}".strip()
        if self.posted == 0:
            return f"new line: {self.now} x {what}"
        if self.now == 0:
            return f"line removed: {self.posted} x {what}"
        return f"{what}: {self.posted} -> {self.now}"


@dataclass(frozen=True)
class Edit:
    address: ShippingAddress | None  # the new address, when it changed
    lines: tuple[LineChange, ...] = ()

    def __bool__(self) -> bool:
        return self.address is not None or bool(self.lines)

    def lines_digest(self) -> str:
        """One per distinct set of line changes: each is told once."""
        text = ";".join(f"{c.buyer_line_id}:{c.posted}>{c.now}" for c in self.lines)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def edits_after_posting(order: CanonicalOrder, posted: Sequence[PostedLine], posted_address: str | None) -> Edit:
    """The buyer's latest version against the post: None of either when nothing changed. Lines that
    ship nothing (tips, gift cards) are not the seller's business; an address or lines not recorded
    at the post (orders posted before they were) are taken as unchanged rather than guessed."""
    digest = address_digest(order.shipping_address)
    moved = posted_address is not None and digest != posted_address and order.shipping_address is not None
    sent = {line.buyer_line_id: line.quantity for line in posted}
    changes = []
    for line in order.lines:
        if not line.requires_shipping:
            continue
        before = sent.pop(line.line_id, 0)
        if before != line.quantity:
            changes.append(LineChange(line.line_id, line.sku, line.title, before, line.quantity))
    changes += [LineChange(line_id, None, "", units, 0) for line_id, units in sent.items() if units]
    return Edit(order.shipping_address if moved else None, tuple(changes) if posted else ())


def reduced(posted: Sequence[PostedLine], edit: Edit) -> list[PostedLine]:
    """The posted lines once the seller's copy was reduced as `edit` says (a line at 0 is gone)."""
    now = {change.buyer_line_id: change.now for change in edit.lines}
    return [
        line.model_copy(update={"quantity": now.get(line.buyer_line_id, line.quantity)})
        for line in posted
        if now.get(line.buyer_line_id, line.quantity) > 0
    ]


def copy_lines(posted: Sequence[PostedLine]) -> dict[str, CopyLine]:
    """Buyer line id -> the copy's line it was posted as: by the id the create answered, else by its
    place among the posted lines of its variant (the copy holds them in posting order)."""
    seen: dict[str, int] = {}
    lines = {}
    for line in posted:
        nth = seen.get(line.variant_id, 0)
        seen[line.variant_id] = nth + 1
        lines[line.buyer_line_id] = CopyLine(line.variant_id, line.seller_line_id, nth)
    return lines


def with_copy_line_ids(posted: Sequence[PostedLine], line_ids: Sequence[tuple[str, str]]) -> list[PostedLine]:
    """The posted lines, each with the id of the copy's line the create answered for it."""
    ids = dict(line_ids)
    return [line.model_copy(update={"seller_line_id": ids.get(line.buyer_line_id)}) for line in posted]
