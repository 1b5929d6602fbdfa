"""Every dead-letter queue of the stack, what each can hold, and what one of its messages says — so
`ordersync dlq list/redrive` reaches them all the way the SQS console does (pure: no I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ordersync.alerts.messages import message_fields
from ordersync.models import FailureReason

PARCEL_REASONS = tuple(
    r.value for r in FailureReason if r.value.startswith("PARCEL_") or r is FailureReason.FULFILLED_BY_HAND
)
ORDER_REASONS = tuple(r.value for r in FailureReason if r.value not in PARCEL_REASONS)


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str  # as `--queue` takes it
    title: str  # the template's logical id, as the console and the alarms name it
    source_title: str | None  # the queue a redrive sends its messages back to; None: not redriven
    reasons: tuple[str, ...]  # what `--reason` may choose among (empty: its messages carry none)
    by_seller: bool  # whether its messages name a seller (`--seller`)
    not_redriven: str = ""  # why there is no redrive, and what to do instead

    # The stack outputs holding their URLs: each queue's logical id + "Url" (template.yaml's Outputs).
    @property
    def dlq_output(self) -> str:
        return f"{self.title}Url"

    @property
    def source_output(self) -> str | None:
        return None if self.source_title is None else f"{self.source_title}Url"


DEAD_LETTER_QUEUES = {
    q.name: q
    for q in (
        DeadLetterQueue("orders", "OrdersDLQ", "OrdersQueue", ORDER_REASONS, True),
        DeadLetterQueue("shipments", "ShipmentsDLQ", "ShipmentsQueue", PARCEL_REASONS, True),
        DeadLetterQueue("pull", "PullDLQ", "PullQueue", (), False),
        DeadLetterQueue("catalog", "CatalogSyncDLQ", "CatalogSyncQueue", (), True),
        DeadLetterQueue("drift", "DriftDLQ", "DriftQueue", (), False),  # a connection's compare of the day
        DeadLetterQueue("alerts", "AlertsDLQ", "AlertsQueue", tuple(r.value for r in FailureReason), True),
        # EventBridge's target is OrdersQueue: an event redriven there is processed as if just delivered.
        DeadLetterQueue("shopify-events", "ShopifyEventsDLQ", "OrdersQueue", (), False),
        DeadLetterQueue(
            "scheduled-runs",
            "ScheduledRunsDLQ",
            None,
            (),
            False,
            not_redriven="a scheduled run is not run twice: its schedule comes round and runs afresh. "
            "Once its cause is fixed, `ordersync dlq delete --queue scheduled-runs` clears the records "
            "(a failed drift check: `ordersync drift` runs it now)",
        ),
    )
}


class DeadLetterChoiceError(ValueError):
    """A `--queue` / `--reason` / `--seller` combination that no message could match."""


def queue_for(queue: str | None, reason: str | None) -> DeadLetterQueue:
    """The queue ops named — or, named by a reason alone, the one that holds that reason (a parcel's
    reason is ShipmentsDLQ's, any other OrdersDLQ's)."""
    if queue is None:
        queue = "shipments" if reason in PARCEL_REASONS else "orders"
    chosen = DEAD_LETTER_QUEUES[queue]
    if reason is not None and reason not in chosen.reasons:
        if not chosen.reasons:
            raise DeadLetterChoiceError(f"{chosen.title}'s messages carry no reason: leave out --reason")
        holders = [q.name for q in DEAD_LETTER_QUEUES.values() if reason in q.reasons and q.name != "alerts"]
        raise DeadLetterChoiceError(
            f"{reason} is a reason of {', '.join(holders) or 'no queue'} "
            f"({', '.join(DEAD_LETTER_QUEUES[h].title for h in holders)}), not of {queue}"
        )
    return chosen


def check_seller_filter(queue: DeadLetterQueue, seller_id: str | None) -> None:
    if seller_id is not None and not queue.by_seller:
        raise DeadLetterChoiceError(f"{queue.title}'s messages name no seller: leave out --seller")


def describe(queue: DeadLetterQueue, message: dict[str, Any]) -> dict[str, Any]:
    """What one message of `queue` is about, in the fields `dlq list` prints: `key` (an order, a
    connection, a store, a function), `seller_id`, `reason`, `summary`, `detail`, `what_to_do`."""
    body = _json(message.get("Body", ""))
    attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
    described = _DESCRIBERS[queue.name](body, attributes) if queue.name in _DESCRIBERS else None
    if described is None:
        fields = message_fields(message)
        return {**fields, "key": fields["order_key"], "queue": queue.name}
    return {
        "message_id": message.get("MessageId", ""),
        "queue": queue.name,
        "seller_id": None,
        "reason": "",
        "detail": "",
        "what_to_do": "",
        "payload": None,
        **described,
    }


def chosen_by(message_fields_: dict[str, Any], reason: str | None, seller_id: str | None) -> bool:
    return reason in (None, message_fields_["reason"]) and seller_id in (None, message_fields_["seller_id"])


def _json(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _pull(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
    connection = str(body.get("connection_id", "?"))
    resumed = " (a continuation: it goes on from the page it names)" if body.get("resume") else ""
    return {
        "key": connection,
        "summary": f"the pull of {connection} failed on every delivery{resumed}",
        "what_to_do": "`ordersync connection list` says what the store answered; once it answers, redrive "
        "(or let the next :20 pull read on from the cursor)",
    }


def _catalog(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
    store = str((body.get("seller") or {}).get("store_id", "?"))
    what = "listings (as a buyer)" if body.get("buyer_listings") else "catalog"
    run = "whole" if body.get("full") else f"changes since {body.get('changed_since')}"
    went = f", {body.get('variants', 0)} variant(s) read before it stopped" if body.get("resume") else ""
    return {
        "key": store,
        "seller_id": None if body.get("buyer_listings") else store,
        "summary": f"the {what} run of {store} ({run}) failed on every delivery{went}",
        "what_to_do": f"`ordersync store check {store}`; then redrive, or `ordersync catalog sync {store} --full`",
    }


def _alert(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any] | None:
    if "order_key" not in body:
        return None
    return {
        "key": body["order_key"],
        "seller_id": body.get("seller_id"),
        "reason": body.get("reason", ""),
        "summary": f"alert not sent: {body.get('subject', '')}",
        "what_to_do": "the dispatch's logs say why SNS refused; redrive and the next dispatch sends it",
    }


def _shopify_event(body: dict[str, Any], attributes: dict[str, str]) -> dict[str, Any]:
    detail = body.get("detail") or {}
    metadata = detail.get("metadata") or {}
    order = detail.get("payload") or {}
    shop = metadata.get("X-Shopify-Shop-Domain", "?")
    topic = metadata.get("X-Shopify-Topic", "?")
    return {
        "key": f"{shop}#{order.get('id', '?')}",
        "summary": f"{topic} of order {order.get('name', order.get('id', '?'))} not delivered to OrdersQueue",
        "detail": f"{attributes.get('ERROR_CODE', '')} {attributes.get('ERROR_MESSAGE', '')}".strip(),
        "what_to_do": "fix what the error names; the hourly pull brings the order anyway, a redrive hurries it",
    }


def _scheduled_run(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
    context = body.get("requestContext") or {}
    function = str(context.get("functionArn", "?")).split(":function:")[-1].split(":")[0]
    error = body.get("responsePayload") or {}
    return {
        "key": function,
        "summary": f"the run of {body.get('timestamp', '?')} failed after "
        f"{context.get('approximateInvokeCount', '?')} tries ({context.get('condition', '?')})",
        "detail": f"{error.get('errorType', '')}: {error.get('errorMessage', '')}".strip(": "),
        "what_to_do": "the function's log group has the traceback; fix the cause — the next schedule runs afresh",
    }


_DESCRIBERS = {
    "pull": _pull,
    "catalog": _catalog,
    "alerts": _alert,
    "shopify-events": _shopify_event,
    "scheduled-runs": _scheduled_run,
}
