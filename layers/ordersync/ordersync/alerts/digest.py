"""Grouping queued alerts into emails: one per alert, or one digest per seller (and one for ops)
when a dispatch holds more than the threshold. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pydantic import BaseModel

from ordersync.alerts.messages import REASON_LABEL, SELLER_GUIDANCE, SYNCED_NOTICE, email_subject
from ordersync.models import FailureReason, platform_label


class QueuedAlert(BaseModel):
    """One (order, reason) alert, as it waits in AlertsQueue."""

    order_key: str
    order_number: str
    buyer_name: str
    seller_id: str
    seller_name: str
    seller_platform: str
    reason: FailureReason  # a failure's; an all-clear's, the failure that is over
    kind: str = "failure"  # or SYNCED_NOTICE
    subject: str
    seller_body: str | None
    ops_body: str | None = None  # None: nothing for ops (an all-clear)
    buyer_id: str = ""  # the retailer's store, when it is told too (its own subscription, filtered on its id)
    buyer_subject: str | None = None
    buyer_body: str | None = None


@dataclass(frozen=True)
class OutgoingEmail:
    # "seller" or "buyer" (SellerAlertsTopic, filtered on the store's id and the audience: a store
    # that sells and buys gets each email once, as what it is to that order), or "ops"
    audience: str
    seller_id: str | None
    subject: str
    body: str
    reason: str


def ops_subject(alert: QueuedAlert) -> str:
    """Ops' own words (the seller's subject says "your store"): whose order, whose store, and why."""
    number = f"#{alert.order_number.lstrip('#')}" if alert.order_number else alert.order_key
    store = f"{alert.seller_name}'s {platform_label(alert.seller_platform)} store"
    return email_subject(f"[ops] Order {number} from {alert.buyer_name} to {store}: {REASON_LABEL[alert.reason]}")


def plan_emails(alerts: list[QueuedAlert], digest_threshold: int) -> list[OutgoingEmail]:
    every = list({(a.order_key, a.reason, a.kind): a for a in alerts}.values())  # at-least-once delivery
    # an all-clear is its own email to the seller, never in a digest of failures, nothing for ops
    emails = [
        OutgoingEmail("seller", a.seller_id, a.subject, a.seller_body or "", a.kind)
        for a in every
        if a.kind == SYNCED_NOTICE
    ]
    # the retailer's own email: SellerAlertsTopic, filtered on the buyer store's id as a seller's is
    emails += [
        OutgoingEmail("buyer", a.buyer_id, a.buyer_subject or a.subject, a.buyer_body, a.reason.value)
        for a in every
        if a.buyer_body and a.buyer_id
    ]
    unique = [a for a in every if a.kind != SYNCED_NOTICE]
    by_seller: dict[str, list[QueuedAlert]] = defaultdict(list)
    for alert in unique:
        if alert.seller_body is not None:
            by_seller[alert.seller_id].append(alert)
    for seller_id, group in by_seller.items():
        if len(group) > digest_threshold:
            emails.append(_seller_digest(seller_id, group))
        else:
            emails.extend(
                OutgoingEmail("seller", seller_id, a.subject, a.seller_body or "", a.reason.value) for a in group
            )
    if len(unique) > digest_threshold:
        ops = [_ops_digest(unique)]
    else:
        ops = [OutgoingEmail("ops", a.seller_id, ops_subject(a), a.ops_body or "", a.reason.value) for a in unique]
    # ops' first: a dispatch that fails midway has told ops, and sends no seller the same email twice
    return ops + emails


# SNS refuses a message over 256 KiB (subject and attributes included): every body stays under this,
# the rest named by a count and where to read it. Bytes, not characters (UTF-8).
MAX_BODY_BYTES = 200_000


def capped(parts: list[str], separator: str, more: str, budget: int = MAX_BODY_BYTES) -> str:
    """As many of `parts` as fit in `budget` bytes, then `more` (with {n}: how many were left out)."""
    kept: list[str] = []
    size = 0
    for index, part in enumerate(parts):
        cost = len((part + separator).encode())
        if size + cost > budget - 1_000:  # room for the rest of the email around it
            return separator.join(kept) + separator + more.format(n=len(parts) - index)
        kept.append(part)
        size += cost
    return separator.join(kept)


def _seller_digest(seller_id: str, group: list[QueuedAlert]) -> OutgoingEmail:
    first = group[0]
    platform = platform_label(first.seller_platform)
    listing = capped(
        [f"  - Order {_number(a)} from {a.buyer_name}: {REASON_LABEL[a.reason]}" for a in group],
        "\n",
        "  - and {n} more orders: ask us for the list, or see them in your store's order list",
    )
    reasons = list(dict.fromkeys(a.reason for a in group))
    guidance = "\n\n".join(f'About "{REASON_LABEL[r]}":\n{SELLER_GUIDANCE[r]}' for r in reasons if r in SELLER_GUIDANCE)
    body = (
        f"Hello {first.seller_name},\n\n"
        f"{len(group)} orders could not be synced to your {platform} store automatically in the last run.\n"
        f"We are sending one email for all of them instead of {len(group)}.\n\n"
        f"{listing}\n\n{guidance}\n\n- The ordersync team\n"
    )
    subject = f"{len(group)} orders couldn't be synced to your {platform} store"
    return OutgoingEmail("seller", seller_id, subject, body, "DIGEST")


def _ops_digest(alerts: list[QueuedAlert]) -> OutgoingEmail:
    counts: dict[str, int] = defaultdict(int)
    for alert in alerts:
        counts[alert.reason.value] += 1
    summary = ", ".join(f"{reason} x{count}" for reason, count in sorted(counts.items()))
    body = f"{len(alerts)} order alerts in this dispatch ({summary}).\n\n" + capped(
        [a.ops_body or "" for a in alerts],
        "\n---\n",
        "... and {n} more alerts, not shown here (SNS takes 256 KiB a message): `ordersync dlq list` shows every failed order",
    )
    return OutgoingEmail("ops", None, f"[ops] {len(alerts)} order alerts: {summary}", body, "DIGEST")


def _number(alert: QueuedAlert) -> str:
    return f"#{alert.order_number.lstrip('#')}" if alert.order_number else alert.order_key
