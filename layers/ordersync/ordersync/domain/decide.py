"""Deciding what happens to one order. The order of checks is explicit and documented:

1. invalid payload      -> FAILED / INVALID_ORDER              (decided before this module: no order)
   more than MAX_LINES  -> FAILED / INVALID_ORDER              (more than one order record can hold)
2. cancelled            -> CANCELLED, nothing posted
   not paid yet         -> AWAITING_PAYMENT (no alert; decided again when the order comes back
                           paid), or DISREGARDED / PAYMENT_NOT_RECEIVED once past the time limit
3. no shipping address  -> DISREGARDED / MISSING_SHIPPING_ADDRESS
4. SKU problems         -> FAILED / SKU_MISMATCH or DUPLICATE_SKU, every failing line at once
   (stale duplicates, where only one candidate is still in the seller's store, are retired and matched)
5. seller platform      -> MANUAL_POSTING_PENDING / UNSUPPORTED_PLATFORM when it can't be posted automatically
6. otherwise            -> post the matched lines
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ordersync.domain.catalog import CatalogSlice, CatalogVariant
from ordersync.models import CanonicalOrder, FailureReason, OrderLine, OrderStatus, Platform, platform_label

# The most lines of one seller's part an order record holds (each line shown, each posted line kept
# for its parcels) and stays within DynamoDB's 400 KB item: tested at this limit. B2B orders of
# more are split by the retailer, or posted by hand.
MAX_LINES = 250


class LineOutcome(StrEnum):
    MATCHED = "matched"
    SKU_MISMATCH = "sku_mismatch"
    DUPLICATE_SKU = "duplicate_sku"
    NOT_SHIPPED = "not_shipped"  # tips, gift cards: neither posted nor failed


@dataclass(frozen=True)
class LineMatch:
    line: OrderLine
    outcome: LineOutcome
    resolved_sku: str | None = None
    variant: CatalogVariant | None = None
    candidates: tuple[CatalogVariant, ...] = ()
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    status: OrderStatus
    reason: FailureReason | None = None
    detail: str = ""
    lines: tuple[LineMatch, ...] = ()
    retired: tuple[CatalogVariant, ...] = field(default=())  # stale duplicates to mark deleted

    @property
    def should_post(self) -> bool:
        return self.status is OrderStatus.RECEIVED

    @property
    def failing_lines(self) -> tuple[LineMatch, ...]:
        return tuple(m for m in self.lines if m.outcome in (LineOutcome.SKU_MISMATCH, LineOutcome.DUPLICATE_SKU))

    @property
    def postable_lines(self) -> tuple[LineMatch, ...]:
        return tuple(m for m in self.lines if m.outcome is LineOutcome.MATCHED)


def skus_to_look_up(order: CanonicalOrder) -> list[str]:
    """The distinct SKUs of the lines that will be posted, in order of appearance."""
    return list(dict.fromkeys(line.sku for line in _shipped(order.lines) if line.sku))


def duplicate_candidates(order: CanonicalOrder, catalog: CatalogSlice) -> dict[str, tuple[CatalogVariant, ...]]:
    """SKUs that match several active variants: the store is asked which of them still exist."""
    found = {}
    for sku in skus_to_look_up(order):
        variants = catalog.active_variants(sku)
        if len(variants) > 1:
            found[catalog.resolve(sku)] = variants
    return found


def decide(
    order: CanonicalOrder,
    catalog: CatalogSlice,
    seller_platform: Platform,
    *,
    present_in_store: Mapping[str, frozenset[str]] | None = None,
    seller_active_skus: Iterable[str] = (),
    auto_post_platforms: frozenset[Platform] = frozenset({Platform.SHOPIFY, Platform.WOOCOMMERCE}),
    unpaid_past_limit: bool = False,
) -> Decision:
    """present_in_store: per duplicated SKU, the candidate variant ids the seller's store still has.
    seller_active_skus: the seller's active SKUs, for suggestions on a mismatch (may be empty).
    unpaid_past_limit: the order has waited for payment longer than the limit (see unpaid_too_long)."""
    if len(order.lines) > MAX_LINES:
        detail = (
            f"{len(order.lines)} lines for this seller: more than ordersync holds in one order ({MAX_LINES});"
            " split the order in the buyer's store, or post it by hand"
        )
        return Decision(OrderStatus.FAILED, FailureReason.INVALID_ORDER, detail)
    if order.cancelled:
        return Decision(OrderStatus.CANCELLED, detail="the buyer cancelled the order before it was posted")
    if order.awaiting_payment:
        return _awaiting_payment(unpaid_past_limit)
    if order.shipping_address is None:
        return Decision(OrderStatus.DISREGARDED, FailureReason.MISSING_SHIPPING_ADDRESS, _missing_address_detail(order))
    matches = [_match_line(line, catalog, present_in_store or {}, list(seller_active_skus)) for line in order.lines]
    retired = tuple(stale for m in matches if m.outcome is LineOutcome.MATCHED for stale in _stale(m))
    failing = [m for m in matches if m.outcome in (LineOutcome.SKU_MISMATCH, LineOutcome.DUPLICATE_SKU)]
    if failing:
        # A mismatch is reported before a duplicate: it is the one a seller can fix by telling us a SKU.
        has_mismatch = any(m.outcome is LineOutcome.SKU_MISMATCH for m in failing)
        reason = FailureReason.SKU_MISMATCH if has_mismatch else FailureReason.DUPLICATE_SKU
        return Decision(OrderStatus.FAILED, reason, describe_failing_lines(failing), tuple(matches), retired)
    if not any(m.outcome is LineOutcome.MATCHED for m in matches):
        detail = "no line of the order needs shipping (tips, gift cards or digital goods only)"
        return Decision(OrderStatus.DISREGARDED, None, detail, tuple(matches))
    if seller_platform not in auto_post_platforms:
        detail = (
            f"the seller's store is {platform_label(seller_platform)}; automated posting is off, ops post it by hand"
        )
        return Decision(
            OrderStatus.MANUAL_POSTING_PENDING, FailureReason.UNSUPPORTED_PLATFORM, detail, tuple(matches), retired
        )
    return Decision(OrderStatus.RECEIVED, lines=tuple(matches), retired=retired)


def unpaid_too_long(order: CanonicalOrder, now: datetime, limit: timedelta) -> bool:
    return order.awaiting_payment and now - order.created_at >= limit


def _awaiting_payment(past_limit: bool) -> Decision:
    if past_limit:
        detail = "the buyer's store was never paid for the order within the time limit; it was not posted"
        return Decision(OrderStatus.DISREGARDED, FailureReason.PAYMENT_NOT_RECEIVED, detail)
    detail = "the buyer's store has not been paid for the order yet; it is posted once it is"
    return Decision(OrderStatus.AWAITING_PAYMENT, detail=detail)


def _shipped(lines: Iterable[OrderLine]) -> list[OrderLine]:
    return [line for line in lines if line.requires_shipping and line.quantity > 0]


def _match_line(
    line: OrderLine,
    catalog: CatalogSlice,
    present: Mapping[str, frozenset[str]],
    active_skus: list[str],
) -> LineMatch:
    if not line.requires_shipping or line.quantity == 0:
        return LineMatch(line, LineOutcome.NOT_SHIPPED)
    if line.sku is None:
        return LineMatch(line, LineOutcome.SKU_MISMATCH)
    resolved = catalog.resolve(line.sku)
    candidates = catalog.active_variants(line.sku)
    if len(candidates) == 1:
        return LineMatch(line, LineOutcome.MATCHED, resolved, candidates[0])
    if not candidates:
        return LineMatch(line, LineOutcome.SKU_MISMATCH, resolved, suggestions=suggest_skus(resolved, active_skus))
    still_there = [v for v in candidates if v.variant_id in present.get(resolved, frozenset())]
    if len(still_there) == 1:  # deleted-and-recreated product: the others are stale copies
        return LineMatch(line, LineOutcome.MATCHED, resolved, still_there[0], candidates)
    return LineMatch(line, LineOutcome.DUPLICATE_SKU, resolved, candidates=candidates)


def _stale(match: LineMatch) -> tuple[CatalogVariant, ...]:
    return tuple(v for v in match.candidates if match.variant and v.variant_id != match.variant.variant_id)


def suggest_skus(sku: str, active_skus: Iterable[str], limit: int = 3) -> tuple[str, ...]:
    """Up to `limit` of the seller's closest SKUs; a case-only difference comes first."""
    pool = list(dict.fromkeys(active_skus))
    same_but_case = [s for s in pool if s.casefold() == sku.casefold() and s != sku]
    close = difflib.get_close_matches(sku.upper(), [s.upper() for s in pool], n=limit + len(same_but_case), cutoff=0.6)
    by_upper = {s.upper(): s for s in pool}
    ordered = same_but_case + [by_upper[c] for c in close if by_upper[c] not in same_but_case]
    return tuple(ordered[:limit])


def describe_failing_lines(failing: Iterable[LineMatch]) -> str:
    parts = []
    for m in failing:
        label = f"line {m.line.line_id} ({m.line.title or 'untitled'})"
        if m.outcome is LineOutcome.DUPLICATE_SKU:
            ids = ", ".join(f"product {v.product_id} / variant {v.variant_id}" for v in m.candidates)
            parts.append(f"{label}: SKU {m.resolved_sku!r} matches {len(m.candidates)} variants ({ids})")
        elif m.line.sku is None:
            parts.append(f"{label}: the line has no SKU")
        else:
            hint = f"; closest: {', '.join(m.suggestions)}" if m.suggestions else ""
            alias = f" (via alias to {m.resolved_sku!r})" if m.resolved_sku != m.line.sku else ""
            parts.append(f"{label}: SKU {m.line.sku!r}{alias} matches no active variant{hint}")
    return "; ".join(parts)


def _missing_address_detail(order: CanonicalOrder) -> str:
    hints = []
    if order.test:
        hints.append("the buyer's store marks it as a test order")
    if order.source and order.source.lower() in {"pos", "shopify_draft_order", "admin", "in-store", "manual"}:
        hints.append(f"it was created from {order.source!r}, probably an in-store (POS) order")
    suffix = f": {'; '.join(hints)}" if hints else ": probably a test order or an in-store order posted online"
    return "the order has no shipping address" + suffix
