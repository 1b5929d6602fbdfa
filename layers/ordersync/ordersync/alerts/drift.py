"""The drift check's emails: one digest for ops with every divergence and the command that mends
it, and one for each seller with its own orders only. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from ordersync.alerts.digest import MAX_BODY_BYTES, OutgoingEmail, capped
from ordersync.alerts.messages import to_the_seller
from ordersync.domain.drift import Divergence, DriftKind

# What one connection's findings may carry into AlertsQueue (an SQS message: 256 KiB): the first of
# each list, each detail cut; the rest counted and named in the digest.
FINDINGS_KEPT = 150
DETAIL_KEPT = 600

KIND_WORDS = {
    DriftKind.CANCELLED_BY_BUYER_ONLY: "cancelled by the buyer; the seller's copy is not cancelled",
    DriftKind.CANCELLED_BY_SELLER_ONLY: "the seller's copy is cancelled; the buyer's order is not",
    DriftKind.ADDRESS_DIFFERS: "shipping address differs",
    DriftKind.PARCEL_NOT_IN_BUYER_STORE: "a parcel is not in the buyer's store",
    DriftKind.TRACKING_DIFFERS: "tracking number differs",
    DriftKind.SHIPPED_UNITS_DIFFER: "units shipped differ",
    DriftKind.COPY_NOT_IN_SELLER_STORE: "the seller's store has no such order",
    DriftKind.ORDER_NOT_IN_BUYER_STORE: "the buyer's store has no such order any more",
}


class FoundDivergence(BaseModel):
    order_key: str
    seller_id: str
    buyer_name: str
    kind: DriftKind
    detail: str
    mend: str


class DriftFindings(BaseModel):
    """What one connection's compare found, as it waits in AlertsQueue for the dispatch's digest."""

    kind: Literal["DRIFT"] = "DRIFT"
    connection_id: str
    compared: int
    divergences: list[FoundDivergence]
    unreadable: list[str]
    left_out: int = 0  # divergences and unreadable orders past what a message carries

    @classmethod
    def of(
        cls, connection_id: str, compared: int, found: Sequence[Divergence], unreadable: Sequence[str]
    ) -> DriftFindings:
        kept = [
            FoundDivergence(
                order_key=d.order_key, seller_id=d.seller_id, buyer_name=d.buyer_name, kind=d.kind,
                detail=d.detail[:DETAIL_KEPT], mend=d.mend[:DETAIL_KEPT],
            )
            for d in found[:FINDINGS_KEPT]
        ]  # fmt: skip
        left_out = max(len(found) - FINDINGS_KEPT, 0) + max(len(unreadable) - FINDINGS_KEPT, 0)
        unread = [u[:DETAIL_KEPT] for u in unreadable[:FINDINGS_KEPT]]
        return cls(
            connection_id=connection_id, compared=compared, divergences=kept, unreadable=unread, left_out=left_out
        )


def findings_emails(findings: Sequence[DriftFindings]) -> list[OutgoingEmail]:
    """The drift digests of every connection's findings that arrived since the last dispatch."""
    found = list(  # once each: a compare retried after it queued its findings queues them again
        {
            (d.order_key, d.kind): Divergence(d.order_key, d.seller_id, d.buyer_name, d.kind, d.detail, d.mend)
            for f in findings
            for d in f.divergences
        }.values()
    )
    unreadable = list(dict.fromkeys(u for f in findings for u in f.unreadable))
    left_out = sum(f.left_out for f in findings)
    if left_out:
        unreadable.append(f"{left_out} more, past what one connection's findings carry: `ordersync drift` names each")
    return drift_emails(found, sum(f.compared for f in findings), unreadable)


def drift_emails(found: Sequence[Divergence], compared: int, unreadable: Sequence[str]) -> list[OutgoingEmail]:
    """Nothing when both stores agree on every order compared and every order could be read."""
    if not found and not unreadable:
        return []
    orders = len({d.order_key for d in found})
    # Both lists share one message (SNS: 256 KiB): each gets half, the rest named by a count
    listing = capped(
        [
            f"{d.order_key} [{d.seller_id}]: {KIND_WORDS[d.kind]} ({d.kind.value})\n  {d.detail}\n  mend: {d.mend}"
            for d in found
        ],
        "\n\n",
        "... and {n} more divergences, not shown here (SNS takes 256 KiB a message):"
        " `ordersync drift --json` lists every one",
        MAX_BODY_BYTES // 2,
    )
    skipped = (
        "\n  - "
        + capped(
            list(unreadable),
            "\n  - ",
            "and {n} more, not shown here: `ordersync drift` names each",
            MAX_BODY_BYTES // 2,
        )
        if unreadable
        else ""
    )
    body = (
        f"The drift check compared {compared} posted orders in both stores: {len(found)} divergences in"
        f" {orders} orders. Nothing was changed in either store.\n\n{listing}\n"
        + (f"\nCould not be compared (each with why; the next run tries them again):{skipped}\n" if skipped else "")
    )
    subject = f"[ops] Drift check: {len(found)} divergence{'' if len(found) == 1 else 's'} in {_orders(orders)}"
    emails = [OutgoingEmail("ops", None, subject, body, "DRIFT")]
    by_seller: dict[str, list[Divergence]] = defaultdict(list)
    for divergence in found:
        by_seller[divergence.seller_id].append(divergence)
    for seller_id, own in by_seller.items():
        lines = capped(
            [
                to_the_seller(f"  - order {d.order_key.split('#', 1)[-1]}: {KIND_WORDS[d.kind]}: {d.detail}")
                for d in own
            ],
            "\n",
            "  - and {n} more orders: ask us for the list",
        )
        text = (
            f"Hello,\n\nOur daily check found {len(own)} difference(s) between your store and the retailer's"
            f" for orders we synced:\n\n{lines}\n\nOur team is on it and will contact you if your store"
            " needs a change. Nothing was changed in your store.\n\n- The ordersync team\n"
        )
        buyers = ", ".join(sorted({d.buyer_name for d in own}))
        count = len({d.order_key for d in own})
        verb = "differs" if count == 1 else "differ"
        subject = f"{_orders(count)} from {buyers} {verb} between your store and theirs"
        emails.append(OutgoingEmail("seller", seller_id, subject, text, "DRIFT"))
    return emails


def _orders(count: int) -> str:
    return f"{count} order" if count == 1 else f"{count} orders"
