"""The order record: current status plus the whole timeline, and the view ops and sellers see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from ordersync.domain.decide import Decision, LineMatch, LineOutcome
from ordersync.models import Cause, FailureReason, OrderEnvelope, OrderStatus, PostedLine, platform_label

# Once here, a new pull or a redelivered message changes nothing.
SETTLED = frozenset(
    {OrderStatus.SYNCED, OrderStatus.POSTED_MANUALLY, OrderStatus.CANCELLED, OrderStatus.MANUAL_POSTING_PENDING}
)


@dataclass(frozen=True)
class Attempt:
    """One attempt at processing an order; it holds the order's claim until `until_ms` (epoch ms),
    which is never later than its invocation's deadline, so a claim can't outlive its holder."""

    attempt_id: str
    started_at: datetime
    until_ms: int

    def blocked_by(self, record: OrderRecord) -> bool:
        """True when another attempt's claim on `record` is still live at this attempt's start."""
        live = record.claim_until_ms is not None and record.claim_until_ms > self.started_ms
        return live and record.claimed_by != self.attempt_id

    @property
    def started_ms(self) -> int:
        return int(self.started_at.timestamp() * 1000)

    @property
    def ends_at(self) -> datetime:
        return _from_ms(self.until_ms)


def _from_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


class TimelineEntry(BaseModel):
    at: datetime
    status: OrderStatus
    reason: FailureReason | None = None
    detail: str = ""
    cause: Cause = Cause.PROCESS


class LineView(BaseModel):
    """A line as the marketplace's order page shows it."""

    line_id: str
    sku: str | None
    title: str
    quantity: int
    outcome: str
    candidates: list[dict[str, str]] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, match: LineMatch) -> LineView:
        if match.outcome is LineOutcome.MATCHED and match.variant:
            title = match.variant.title
        elif match.outcome is LineOutcome.DUPLICATE_SKU:
            title = "Undefined"
        elif match.outcome is LineOutcome.SKU_MISMATCH:
            title = ""  # the marketplace shows a blank title and the buyer's (stale) SKU
        else:
            title = match.line.title
        return cls(
            line_id=match.line.line_id[:100],
            sku=match.line.sku[:200] if match.line.sku else None,
            title=title[:200],  # the record must stay well under DynamoDB's 400 KB item limit
            quantity=match.line.quantity,
            outcome=match.outcome.value,
            candidates=[
                {"product_id": v.product_id, "variant_id": v.variant_id, "title": v.title} for v in match.candidates
            ]
            if match.outcome is LineOutcome.DUPLICATE_SKU
            else [],
            suggestions=list(match.suggestions),
        )


class ParcelEntry(BaseModel):
    """One of the seller's parcels, as the order record keeps it: what left, and where it is in the
    buyer's store (or why it isn't)."""

    key: str  # "<seller store>:<its shipment id>"
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    lines: list[tuple[str, int]] = Field(default_factory=list)  # (buyer line id, units)
    shipped_at: datetime | None = None
    in_buyer_store_at: datetime | None = None  # written (or found there) at
    buyer_shipment_id: str | None = None
    reason: FailureReason | None = None  # why it is not in the buyer's store
    detail: str = ""

    def bounded(self) -> ParcelEntry:
        """As the record keeps it: its words and link cut for display (the stores keep them whole)."""
        self.detail = _cut(self.detail, PARCEL_DETAIL_MAX)
        self.tracking_url = _cut(self.tracking_url, PARCEL_URL_MAX) if self.tracking_url else self.tracking_url
        return self


# What one record holds at most, so that no order outgrows DynamoDB's 400 KB item however often it
# changes (tested at these limits, with MAX_LINES lines): its timeline's entries, each entry's
# detail, and the order's own detail (what its emails quote: a long list of changed lines fits).
TIMELINE_KEEP = 50
ENTRY_MAX = 1_000
DETAIL_MAX = 16_000
MAX_PARCELS = 100  # parcels kept on one order; a seller's 101st is named, not kept
PARCEL_DETAIL_MAX = 400
PARCEL_URL_MAX = 300


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 40]}… ({len(text) - limit + 40} characters more)"


# How an order's first sight is worded in its timeline, by what brought it.
_ARRIVED_BY = {Cause.PULL: "pulled from", Cause.WEBHOOK: "sent by a webhook of"}


class OrderRecord(BaseModel):
    order_key: str
    connection_id: str
    order_id: str
    order_number: str = ""
    buyer_id: str
    buyer_name: str
    buyer_platform: str
    seller_id: str
    seller_name: str
    seller_platform: str
    status: OrderStatus
    reason: FailureReason | None = None
    detail: str = ""
    seller_order_id: str | None = None
    lines: list[LineView] = Field(default_factory=list)
    blocked_skus: list[str] = Field(default_factory=list)
    alerted: list[str] = Field(default_factory=list)  # "REASON" keys already alerted, never repeated
    in_dlq: bool = False
    disregard_confirmed: bool = False
    execution_arn: str | None = None  # the manual posting flow's, set by the flow itself
    manual_attempts: int = 0
    dlq_message_id: str | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # When the status or reason last changed (note, not log): `connection list` counts the last day by
    # it, and the drift check compares an order at ages after it (the by_connection index's key)
    updated_at: datetime | None = None
    envelope: dict[str, Any]  # the buyer's latest version of the order seen (what a replay posts)
    version: int = 0
    # The claim: the attempt that holds the order now (written by the claim, removed by the record).
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    claim_until_ms: int | None = None
    # Set when an earlier attempt may have created the order in the seller's store without its
    # outcome being recorded: the latest moment that create could have happened. The next post
    # looks in the store before creating anything, once the store's look-up can show it.
    post_unconfirmed_at: datetime | None = None
    # This attempt's create, cut short or its answer lost, may land in the store until then (the
    # store's answer window since it was sent): the attempt's end can't bring the doubt before it.
    _create_may_land_until: datetime | None = PrivateAttr(default=None)
    _lapsed_until: datetime | None = PrivateAttr(default=None)  # take_over
    _unrecorded_since: datetime | None = PrivateAttr(default=None)  # wrote_unrecorded
    # After posting: the buyer lines as posted (seller variant, units), and the seller's parcels.
    posted_lines: list[PostedLine] = Field(default_factory=list)
    posted_address: str | None = None  # a digest of the shipping address as the seller's copy has it
    lines_told: str | None = None  # the buyer's line changes the seller was last told of (a digest)
    # The buyer store's last update of the version posted or last acted on: an older version that
    # arrives late (a pull page after a webhook) is no edit.
    acted_version: datetime | None = None
    parcels: list[ParcelEntry] = Field(default_factory=list)

    @classmethod
    def first_seen(cls, envelope: OrderEnvelope, at: datetime) -> OrderRecord:
        record = cls(
            order_key=envelope.order_key,
            connection_id=envelope.connection_id,
            order_id=envelope.order_id,
            order_number=envelope.order_number,
            buyer_id=envelope.buyer_id,
            buyer_name=envelope.buyer_name,
            buyer_platform=envelope.buyer_platform.value,
            seller_id=envelope.seller_id,
            seller_name=envelope.seller_name,
            seller_platform=envelope.seller_platform.value,
            status=OrderStatus.RECEIVED,
            envelope=envelope.model_dump(mode="json"),
        )
        record.note(
            at,
            OrderStatus.RECEIVED,
            None,
            f"{_ARRIVED_BY.get(envelope.cause, 'received from')} the buyer's {platform_label(envelope.buyer_platform)} store",
            envelope.cause,
        )
        return record

    def note(self, at: datetime, status: OrderStatus, reason: FailureReason | None, detail: str, cause: Cause) -> None:
        self.status, self.reason, self.detail, self.updated_at = status, reason, _cut(detail, DETAIL_MAX), at
        self._add(TimelineEntry(at=at, status=status, reason=reason, detail=_cut(detail, ENTRY_MAX), cause=cause))

    def log(self, at: datetime, detail: str, cause: Cause) -> None:
        """A timeline entry that changes neither the status nor the reason (a parcel written). It
        leaves `updated_at` — the by_connection index's key — where it was: a parcel is not a change
        of the order's state (`connection list` counts those), and a key that moved on every parcel
        cost two index writes each."""
        self._add(TimelineEntry(at=at, status=self.status, reason=None, detail=_cut(detail, ENTRY_MAX), cause=cause))

    def _add(self, entry: TimelineEntry) -> None:
        """The first entry (when the order arrived: what a look-up for an earlier post starts from)
        and the latest TIMELINE_KEEP - 1: an order edited every day never outgrows its item."""
        self.timeline.append(entry)
        if len(self.timeline) > TIMELINE_KEEP:
            del self.timeline[1 : len(self.timeline) - TIMELINE_KEEP + 1]

    def apply(self, decision: Decision, at: datetime, cause: Cause) -> None:
        self.show_lines(decision)
        self.note(at, decision.status, decision.reason, decision.detail, cause)

    def show_lines(self, decision: Decision) -> None:
        self.lines = [LineView.of(m) for m in decision.lines]
        self.blocked_skus = sorted({m.line.sku or "" for m in decision.failing_lines})
        self.posted_lines = [  # what a post sends: the seller's parcels map back through these
            PostedLine(buyer_line_id=m.line.line_id, variant_id=m.variant.variant_id, quantity=m.line.quantity)
            for m in decision.lines
            if m.outcome is LineOutcome.MATCHED and m.variant is not None
        ]

    def settled_for(self, cause: Cause, reopen: bool = False) -> bool:
        """True when nothing a message with this cause brings may change the order. `reopen`: the
        message may change an order already posted (the buyer cancelled it, or it must be read to
        know): a SYNCED order is open to it."""
        if reopen and self.status is OrderStatus.SYNCED:
            return False
        if self.status is OrderStatus.MANUAL_POSTING_PENDING:
            return self.execution_arn is not None  # not yet: the flow still has to be started
        if self.status in SETTLED:
            return True
        if self.status is OrderStatus.DISREGARDED:
            return self.disregard_confirmed
        manual_flow_ended = self.status is OrderStatus.FAILED and self.execution_arn is not None
        return manual_flow_ended and cause is not Cause.REPLAY  # only ops start a new manual flow

    @property
    def first_claim(self) -> bool:
        """Made by the claim that holds it now: nothing happened to the order yet."""
        return self.version == 1 and self.status is OrderStatus.RECEIVED and len(self.timeline) <= 1

    def take_over(self, attempt: Attempt, writes_looked_for_since: bool = False) -> None:
        """This attempt now holds the record. An earlier claim never released means an attempt that
        started and never recorded its outcome: it may have reached the store — a create, looked
        for once the claim's end is past (post_unconfirmed_at: then); or, `writes_looked_for_since`
        (a shipment check's buyer-side writes, found by when they were made), anything made from
        the claim's start (post_unconfirmed_at: then), waited for until its end (lapsed_until)."""
        if self.claimed_by is not None and self.claimed_by != attempt.attempt_id:
            ended = _from_ms(self.claim_until_ms) if self.claim_until_ms is not None else attempt.started_at
            if writes_looked_for_since:
                began = self.claimed_at or ended
                self.post_unconfirmed_at = min(self.post_unconfirmed_at or began, began)
                self._lapsed_until = ended
            else:
                self.post_unconfirmed_at = max(self.post_unconfirmed_at or ended, ended)
        self.claimed_by, self.claimed_at, self.claim_until_ms = attempt.attempt_id, attempt.started_at, attempt.until_ms

    @property
    def lapsed_until(self) -> datetime | None:
        """The end of an earlier claim this attempt took over unreleased (take_over), if it did."""
        return self._lapsed_until

    def wrote_unrecorded(self, since: datetime) -> None:
        """A write began at `since` and was made; until the record says so, a failure of this
        attempt (the record's own write refused) leaves the next one looking from there."""
        self._unrecorded_since = min(self._unrecorded_since or since, since)

    def attempt_failed(self) -> None:
        """The attempt ends without recording its outcome: what it made is looked for next time."""
        if self._unrecorded_since is not None:
            self.may_have_written(self._unrecorded_since)

    def may_have_written(self, since: datetime) -> None:
        """A write began at `since` and its answer never came: the next attempt looks from the earliest such."""
        self.post_unconfirmed_at = min(self.post_unconfirmed_at or since, since)

    def create_sent(self, attempt_ends_at: datetime, lands_by: datetime) -> None:
        """A create is about to be sent: until its outcome is recorded, the next post looks first."""
        self.post_unconfirmed_at = max(attempt_ends_at, lands_by)
        self._create_may_land_until = lands_by

    def attempt_over(self, now: datetime) -> None:
        """The attempt gave up: a create it sent could have happened until now, or until it can land."""
        if self.post_unconfirmed_at is not None:
            self.post_unconfirmed_at = min(self.post_unconfirmed_at, max(now, self._create_may_land_until or now))

    def release(self) -> None:
        """The attempt is about to record its outcome: the write that records it frees the order."""
        self.claimed_by = self.claimed_at = self.claim_until_ms = None

    @property
    def cancelled_by_seller(self) -> bool:
        """CANCELLED, and the cancellation that made it so was the seller's own (not the buyer's)."""
        if self.status is not OrderStatus.CANCELLED:
            return False
        ends = (FailureReason.SELLER_CANCELLED, FailureReason.BUYER_CANCELLED)
        last = next((e.reason for e in reversed(self.timeline) if e.reason in ends), None)
        return last is FailureReason.SELLER_CANCELLED

    def parcel(self, key: str) -> ParcelEntry | None:
        return next((p for p in self.parcels if p.key == key), None)

    def units_in_buyer_store(self, but: str | None = None) -> dict[str, int]:
        """Units of each buyer line our parcels put in the buyer's store (all but `but`'s)."""
        sent: dict[str, int] = {}
        for entry in self.parcels:
            if entry.in_buyer_store_at is not None and entry.key != but:
                for line_id, units in entry.lines:
                    sent[line_id] = sent.get(line_id, 0) + units
        return sent

    @property
    def shipping(self) -> str | None:
        """ "shipped" (every posted unit in a parcel in the buyer's store), "partly shipped", or None."""
        sent = self.units_in_buyer_store()
        if not sent:
            return None
        whole = all(sent.get(line.buyer_line_id, 0) >= line.quantity for line in self.posted_lines)
        return "shipped" if whole else "partly shipped"

    def same_failure_as(self, reason: FailureReason | None, detail: str) -> bool:
        return self.status is OrderStatus.FAILED and self.reason == reason and self.detail == detail
