"""Alert and DLQ texts per failure reason. Pure: records in, text out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ordersync.domain.decide import Decision
from ordersync.models import CanonicalOrder, FailureReason, OrderEnvelope, OrderStatus, platform_label, read_request
from ordersync.records import LineView, OrderRecord

REASON_LABEL = {
    FailureReason.SKU_MISMATCH: "SKU mismatch",
    FailureReason.DUPLICATE_SKU: "duplicate SKU",
    FailureReason.MISSING_SHIPPING_ADDRESS: "no shipping address",
    FailureReason.UNSUPPORTED_PLATFORM: "to be posted by our team",
    FailureReason.INVALID_ORDER: "unreadable order",
    FailureReason.PLATFORM_UNAVAILABLE: "store unavailable",
    FailureReason.PAYMENT_NOT_RECEIVED: "never paid",
    FailureReason.BUYER_CANCELLED: "cancelled by the buyer",
    FailureReason.CANCEL_TOO_LATE: "cancelled after it shipped",
    FailureReason.CANCEL_REFUSED: "cancellation refused by the store",
    FailureReason.ADDRESS_UPDATED: "shipping address changed (updated)",
    FailureReason.ADDRESS_CHANGE_TOO_LATE: "shipping address changed after it shipped",
    FailureReason.ADDRESS_CHANGE_REFUSED: "new shipping address refused by the store",
    FailureReason.LINES_CHANGED: "lines changed after posting",
    FailureReason.LINES_REDUCED: "fewer units after posting (reduced)",
    FailureReason.SELLER_CANCELLED: "cancelled by the seller",
    FailureReason.SELLER_RESTORED: "restored by the seller after it cancelled",
    FailureReason.PARCEL_FOR_CANCELLED_ORDER: "parcel shipped for a cancelled order",
    FailureReason.PARCEL_DOESNT_FIT: "parcel doesn't fit the retailer's order",
    FailureReason.PARCEL_REFUSED: "parcel refused by the retailer's store",
    FailureReason.PARCEL_WAITING: "parcel waits: the retailer's store holds the order",
    FailureReason.FULFILLED_BY_HAND: "already fulfilled by hand, other tracking",
    FailureReason.PARCEL_INVALID: "parcel's tracking not fit to show",
}

# What ops do, per reason: the same words go in the DLQ message and the ops email.
OPS_FIX = {
    FailureReason.SKU_MISMATCH: (
        "Ask the seller for the new SKU, then: ordersync sku alias add {seller_id} OLD_SKU NEW_SKU "
        "(replays every order the old SKU blocked)."
    ),
    FailureReason.DUPLICATE_SKU: (
        "Have the seller remove or rename the extra variant (candidates listed), then: "
        "ordersync order replay {order_key}"
    ),
    FailureReason.MISSING_SHIPPING_ADDRESS: (
        "Confirm with the seller: ordersync order disregard {order_key}; "
        "if the order was real: ordersync order replay {order_key}"
    ),
    FailureReason.UNSUPPORTED_PLATFORM: (
        "Enter the order in the seller's BigCommerce store by hand, then complete the manual posting task."
    ),
    FailureReason.INVALID_ORDER: (
        "Inspect the payload in the DLQ message (ordersync dlq list); fix the cause, then ordersync dlq redrive."
    ),
    FailureReason.PLATFORM_UNAVAILABLE: (
        "Check the store is back (and the connection's credentials), then: ordersync dlq redrive "
        "--reason PLATFORM_UNAVAILABLE (or the console's Start DLQ redrive)."
    ),
    FailureReason.PAYMENT_NOT_RECEIVED: (
        "Nothing, unless the buyer says it was paid after all: then ordersync order replay {order_key}."
    ),
    FailureReason.BUYER_CANCELLED: "Nothing: the seller's copy is cancelled (its stock as the detail says); no money moved.",
    FailureReason.CANCEL_TOO_LATE: (
        "Settle it between buyer and seller: the parcel left (a return, or a refund decided by people); "
        "ordersync changed nothing in either store. ordersync order show {order_key}"
    ),
    FailureReason.CANCEL_REFUSED: (
        "Cancel the seller's copy by hand (the store's words are in the detail), or have the seller do it: "
        "ordersync order show {order_key}"
    ),
    FailureReason.ADDRESS_UPDATED: "Nothing: the seller's copy has the new address; the seller was told.",
    FailureReason.ADDRESS_CHANGE_TOO_LATE: (
        "Some of it had shipped to the old address: buyer and seller settle a redirection or a reship; "
        "ordersync changed nothing. ordersync order show {order_key}"
    ),
    FailureReason.ADDRESS_CHANGE_REFUSED: (
        "Put the new address on the seller's copy by hand (the store's words are in the detail), or have the "
        "seller do it: ordersync order show {order_key}"
    ),
    FailureReason.LINES_REDUCED: "Nothing: the seller's copy was reduced to the buyer's order; the seller was told.",
    FailureReason.LINES_CHANGED: (
        "The seller was told what to change in their copy. A quantity raised or a line added is not applied: "
        "decide with buyer and seller whether it ships (a new order, or the seller adds it). "
        "ordersync order show {order_key}"
    ),
    FailureReason.SELLER_CANCELLED: (
        "The seller cancelled its copy: confirm with the seller why and with the retailer what the end customer "
        "is told (ordersync refunded nothing, changed nothing in the retailer's store but a note). "
        "ordersync order show {order_key}"
    ),
    FailureReason.SELLER_RESTORED: (
        "Nothing to mend: the seller restored the copy it had cancelled; its parcels are carried as usual and "
        "the retailer was told (a note on its order, an email). ordersync order show {order_key}"
    ),
    FailureReason.PARCEL_FOR_CANCELLED_ORDER: (
        "A parcel left for an order the buyer cancelled: settle the return between buyer and seller; nothing "
        "was written into the buyer's store. ordersync order show {order_key}"
    ),
    FailureReason.PARCEL_DOESNT_FIT: (
        "Compare the seller's shipment with the buyer's order (ordersync order show {order_key}); once the "
        "buyer's order can take it (or the seller corrected the shipment), redrive ShipmentsDLQ."
    ),
    FailureReason.PARCEL_REFUSED: (
        "Fix what the buyer's store said (the detail; a missing scope: ordersync store check BUYER), then "
        "redrive ShipmentsDLQ (console: SQS -> ShipmentsDLQ -> Start DLQ redrive)."
    ),
    FailureReason.PARCEL_WAITING: (
        "The buyer's store holds the order's fulfilment (on hold, or scheduled; the detail says which): the "
        "parcel is checked again by itself until that is released, for ParcelWaitDays. In ShipmentsDLQ, it waited "
        "that long: ask the retailer to release it, then redrive ShipmentsDLQ. ordersync order show {order_key}"
    ),
    FailureReason.FULFILLED_BY_HAND: (
        "Someone fulfilled the order in the buyer's store with other tracking: check which tracking the end "
        "customer should have and correct it there by hand. ordersync order show {order_key}"
    ),
    FailureReason.PARCEL_INVALID: (
        "The seller's tracking (number, carrier or link; the detail says which) can't go to the buyer's store: "
        "the seller corrects it in its store (the correction's webhook or the :40 sweep carries it), or write "
        "the right tracking in the buyer's store by hand; then redrive ShipmentsDLQ. ordersync order show {order_key}"
    ),
}
# After posting: what the seller is told, in the subject and the body.
AFTER_POSTING_SUBJECT = {
    FailureReason.BUYER_CANCELLED: "Order {order} from {buyer} was cancelled - don't ship it (cancelled in your store)",
    FailureReason.CANCEL_TOO_LATE: "Order {order} from {buyer} was cancelled after it shipped",
    FailureReason.CANCEL_REFUSED: "Order {order} from {buyer} was cancelled - please cancel it in your store",
    FailureReason.ADDRESS_UPDATED: "The shipping address of order {order} from {buyer} changed - updated in your store",
    FailureReason.ADDRESS_CHANGE_TOO_LATE: "The shipping address of order {order} from {buyer} changed after it shipped",
    FailureReason.ADDRESS_CHANGE_REFUSED: "Order {order} from {buyer} has a new shipping address - please update it",
    FailureReason.LINES_CHANGED: "Order {order} from {buyer} was changed - please adjust your copy",
    FailureReason.LINES_REDUCED: "Order {order} from {buyer} now has fewer units - reduced in your store",
    FailureReason.PARCEL_FOR_CANCELLED_ORDER: "A parcel left for order {order} from {buyer}, which was cancelled",
    FailureReason.PARCEL_DOESNT_FIT: "Your parcel for order {order} from {buyer} hasn't reached the retailer",
    FailureReason.PARCEL_REFUSED: "Your parcel for order {order} from {buyer} hasn't reached the retailer",
    FailureReason.PARCEL_WAITING: "Your parcel for order {order} from {buyer} waits for the retailer",
    FailureReason.FULFILLED_BY_HAND: "Order {order} from {buyer} shows other tracking at the retailer",
    FailureReason.PARCEL_INVALID: "Please correct the tracking of your parcel for order {order} from {buyer}",
}
# What the seller did of its own accord, told to the retailer (subject, what follows its words):
TO_THE_RETAILER = {
    FailureReason.SELLER_CANCELLED: (
        "Order {order} was cancelled by its supplier ({seller})",
        "The order in your store is as it was, with a note saying so; nothing was refunded\nor cancelled there."
        " Please tell your customer and decide what to do; our team has been told too.",
    ),
    FailureReason.SELLER_RESTORED: (
        "Order {order} is live again: its supplier ({seller}) restored it",
        "Its parcels will reach your store as usual. If you told your customer it was cancelled,\nplease tell"
        " them it is on its way after all; our team has been told too.",
    ),
}
# Reasons nobody is emailed about: the seller never saw the order, and nothing is wrong.
SILENT_REASONS = frozenset({FailureReason.PAYMENT_NOT_RECEIVED})


@dataclass(frozen=True)
class Alert:
    subject: str
    seller_body: str | None  # None: the seller can't act on it, only ops hear of it
    ops_body: str | None  # None: ops have nothing to do (a seller's all-clear)
    about: FailureReason  # the reason it tells of (an all-clear: the reason that is over)
    kind: str = "failure"  # or SYNCED_NOTICE: the order a seller was told of is in their store now
    buyer_subject: str | None = None  # the retailer's own email (its store's subscription), when it is told
    buyer_body: str | None = None


def compose_alert(record: OrderRecord) -> Alert | None:
    reason = record.reason
    if reason is None or reason in SILENT_REASONS:
        return None
    order = f"#{record.order_number.lstrip('#')}" if record.order_number else record.order_id
    subject = (
        f"Order {order} from {record.buyer_name} couldn't be synced to your "
        f"{platform_label(record.seller_platform)} store ({REASON_LABEL[reason]})"
    )
    if reason is FailureReason.UNSUPPORTED_PLATFORM:
        subject = f"Order {order} from {record.buyer_name} is ready to process - our team will post it for you"
    if reason in TO_THE_RETAILER:  # the seller did it: the retailer is the one to tell
        buyer_subject, then = TO_THE_RETAILER[reason]
        said = record.detail[:1].upper() + record.detail[1:] + "." + shipped_before(record)
        buyer_body = f"Hello {record.buyer_name},\n\n{said}\n\n{then}\n\n- The ordersync team\n"
        buyer_subject = buyer_subject.format(order=order, seller=record.seller_name)
        return Alert(
            email_subject(subject), None, _ops_body(record), reason, "failure", email_subject(buyer_subject), buyer_body
        )
    if reason in AFTER_POSTING_SUBJECT:
        subject = AFTER_POSTING_SUBJECT[reason].format(order=order, buyer=record.buyer_name)
        said = to_the_seller(record.detail[:1].upper() + record.detail[1:])
        body = f"Hello {record.seller_name},\n\n{said}.\n\n{AFTER_POSTING_GUIDANCE[reason]}\n\n- The ordersync team\n"
        return Alert(email_subject(subject), body, _ops_body(record), reason)
    seller_body = _seller_body(record, order) if reason in SELLER_GUIDANCE else None
    return Alert(email_subject(subject), seller_body, _ops_body(record), reason)


def shipped_before(record: OrderRecord) -> str:
    """What of the order had already left (parcels in the retailer's store), each line as its page
    names it: what the customer still gets, whatever the seller cancelled. Empty when nothing had."""
    titles = {line.line_id: f"{line.sku or '(no SKU)'} {line.title}" for line in record.lines}
    parcels = [
        f"- {', '.join(f'{units} x {titles.get(line_id, line_id)}' for line_id, units in entry.lines)}"
        f" ({' '.join(filter(None, (entry.carrier, entry.tracking_number))) or 'no tracking'})"
        for entry in record.parcels
        if entry.in_buyer_store_at is not None
    ]
    if not parcels:
        return ""
    return "\n\nWhat had already shipped (its tracking is on your order):\n" + "\n".join(parcels)


SYNCED_NOTICE = "SYNCED"  # its key in a record's `alerted`: sent once


def compose_synced_notice(record: OrderRecord) -> Alert | None:
    """The seller was emailed that this order couldn't be synced, and now it is: tell them, once, so
    they don't enter it by hand too. (The manual posting flow says so itself for BigCommerce.)"""
    told = [
        reason
        for reason in FailureReason
        if reason.value in record.alerted
        and reason in SELLER_GUIDANCE
        and reason is not FailureReason.UNSUPPORTED_PLATFORM
    ]
    if not told or SYNCED_NOTICE in record.alerted or record.status is not OrderStatus.SYNCED:
        return None
    order = f"#{record.order_number.lstrip('#')}" if record.order_number else record.order_id
    store = f"{platform_label(record.seller_platform)} store"
    body = (
        f"Hello {record.seller_name},\n\n"
        f"Order {order} from {record.buyer_name}, which we told you couldn't be synced ({REASON_LABEL[told[-1]]}),\n"
        f"is now in your {store} as order {record.seller_order_id}. Process it as usual; there is\n"
        "nothing to enter by hand.\n\n- The ordersync team\n"
    )
    subject = f"Order {order} from {record.buyer_name} is now in your {store}"
    return Alert(email_subject(subject), body, None, told[-1], SYNCED_NOTICE)


AFTER_POSTING_GUIDANCE = {
    FailureReason.BUYER_CANCELLED: "Please don't ship it. Nothing else to do: no money was moved.",
    FailureReason.CANCEL_TOO_LATE: (
        "Part or all of it had already shipped, so nothing was changed in your store. If the parcel can still be\n"
        "stopped, stop it; otherwise the retailer and you settle a return. Our team has been told too."
    ),
    FailureReason.CANCEL_REFUSED: (
        "Your store refused the cancellation (its words are above). Please cancel the order in your store and\n"
        "don't ship it; our team has been told too."
    ),
    FailureReason.ADDRESS_UPDATED: (
        "The order in your store has the new address already. If you printed a label for the old one, print it\n"
        "again. Nothing else to do."
    ),
    FailureReason.ADDRESS_CHANGE_TOO_LATE: (
        "Part or all of it had already shipped to the old address, so nothing was changed in your store. If the\n"
        "parcel can still be redirected, please do; our team has been told too."
    ),
    FailureReason.ADDRESS_CHANGE_REFUSED: (
        "Your store refused the new address (its words are above). Please put it on the order by hand before you\n"
        "ship; our team has been told too."
    ),
    FailureReason.LINES_REDUCED: (
        "The retailer's order now has fewer units, as listed above; your copy was reduced to match. Ship what it\n"
        "says now."
    ),
    FailureReason.LINES_CHANGED: (
        "Please change your copy as listed above before you ship (fewer units or a line removed: ship less; a\n"
        "line added or more units: wait for our team, who will confirm with the retailer)."
    ),
    FailureReason.PARCEL_FOR_CANCELLED_ORDER: (
        "The retailer had cancelled this order. If the parcel can still be stopped, stop it; otherwise the\n"
        "retailer and you settle a return. Our team has been told too."
    ),
    FailureReason.PARCEL_DOESNT_FIT: (
        "Its lines or quantities don't match what the retailer's order has left to ship, so the retailer's store\n"
        "doesn't show it yet. Please check the shipment in your store; our team has been told and will follow up."
    ),
    FailureReason.PARCEL_REFUSED: (
        "The retailer's store refused it (its words are above), so the end customer has no tracking yet. Our\n"
        "team has been told and will write it once that is fixed; nothing to do on your side."
    ),
    FailureReason.PARCEL_WAITING: (
        "The retailer's store holds the order (on hold, or scheduled for later; its words are above), so the\n"
        "end customer has no tracking yet. It goes across by itself once the retailer releases it; nothing to do\n"
        "on your side."
    ),
    FailureReason.FULFILLED_BY_HAND: (
        "Someone at the retailer had already marked it shipped with other tracking. Nothing was changed; our\n"
        "team has been told and will check which tracking is right."
    ),
    FailureReason.PARCEL_INVALID: (
        "Its tracking can't be shown to the end customer as it is (what is wrong is above), so nothing was written\n"
        "at the retailer. Please correct the tracking number, carrier or link on the shipment in your store; it\n"
        "goes across once corrected."
    ),
}


SUBJECT_LIMIT = 100  # SNS refuses a longer Subject (InvalidParameter), and one with a line break


def email_subject(text: str) -> str:
    """One line of at most SUBJECT_LIMIT characters; a cut one ends in '...' so readers see it."""
    line = " ".join(text.split())
    return line if len(line) <= SUBJECT_LIMIT else line[: SUBJECT_LIMIT - 3].rstrip() + "..."


def manual_posting_subjects(record: OrderRecord) -> dict[str, str]:
    """Every subject the manual posting flow sends, made here because a state machine can't cut text."""
    number = record.order_number or record.order_id
    alert = compose_alert(record)
    subjects = {
        "seller_pending": alert.subject if alert else f"Order {number} is ready to process",
        "seller_posted": f"Order {number} from {record.buyer_name} is now in your BigCommerce store",
        "ops_task": f"[ops] Post order {number} to {record.seller_name}'s BigCommerce store by hand",
        "ops_escalation": f"[ops] ESCALATION: order {number} still waits to be posted by hand",
        "ops_gave_up": f"[ops] Order {number} was not posted by hand and is now FAILED",
        "ops_rejected": f"[ops] Manual posting of order {number} was rejected",
        "ops_flow_failed": f"[ops] The manual posting flow of order {number} failed",
        "ops_not_recorded": f"[ops] Order {number} was posted by hand but its record was not written",
    }
    return {key: email_subject(subject) for key, subject in subjects.items()}


SELLER_GUIDANCE = {
    FailureReason.SKU_MISMATCH: (
        "What happened: a product on this order has a SKU that none of your active products carries.\n"
        "What it means: you probably changed the SKU in your store. On the order it shows with a blank\n"
        "title and the old SKU.\n"
        "What you can do now: if you know which product it is, you may process the order now.\n"
        "Please reply with the new SKU. Editing the SKU on the order itself does not stick: the hourly\n"
        "sync overwrites it.\n"
        "What our team will do: map the old SKU to the new one, and the order (and any other order\n"
        "waiting for it) syncs on its own."
    ),
    FailureReason.DUPLICATE_SKU: (
        "What happened: a product on this order has a SKU that more than one of your products carries,\n"
        'so we can\'t tell which one was ordered. On the order its title shows as "Undefined".\n'
        "What you can do now: search your store for the SKU below. If you find it twice, remove or\n"
        "rename the extra one and tell us.\n"
        "What our team will do: replay the order as soon as the SKU is unique."
    ),
    FailureReason.MISSING_SHIPPING_ADDRESS: (
        "What happened: the buyer's order has no shipping address.\n"
        "What it means: this is most likely a test order or an in-store order that was also posted\n"
        "online. You can disregard it.\n"
        "What our team will do: confirm with the buyer and close it; if it was a real order after all,\n"
        "we will sync it once it has an address."
    ),
    FailureReason.UNSUPPORTED_PLATFORM: (
        "What happened: your store is on BigCommerce, where orders are posted by our team for now.\n"
        "What you can do now: you can start processing this order straight away.\n"
        "What our team will do: enter the order in your BigCommerce store and let you know."
    ),
}


def to_the_seller(detail: str) -> str:
    """The record's words (written for ops: "the seller's WooCommerce store") as the seller reads them."""
    return (
        detail.replace("in the seller's ", "in your ")
        .replace("the seller's ", "your ")
        .replace("The seller's ", "Your ")
    )


def _seller_body(record: OrderRecord, order: str) -> str:
    reason = record.reason
    assert reason is not None
    lines = "\n".join(_seller_line(line) for line in record.lines if line.outcome != "not_shipped") or "  (none)"
    return (
        f"Hello {record.seller_name},\n\n"
        f"Order {order} from {record.buyer_name} (placed in their {platform_label(record.buyer_platform)} store)\n"
        f"could not be synced to your {platform_label(record.seller_platform)} store automatically.\n\n"
        f"Lines:\n{lines}\n\n"
        f"{SELLER_GUIDANCE[reason]}\n\n"
        "- The ordersync team\n"
    )


def _seller_line(line: LineView) -> str:
    mark = {"sku_mismatch": "  <- SKU not found", "duplicate_sku": "  <- SKU on several products"}.get(line.outcome, "")
    hint = f" (did you mean {', '.join(line.suggestions)}?)" if line.suggestions else ""
    return f"  - {line.quantity} x SKU {line.sku or '(none)'} {line.title or '(blank title)'}{mark}{hint}"


def _ops_body(record: OrderRecord) -> str:
    reason = record.reason
    assert reason is not None
    fix = OPS_FIX[reason].format(seller_id=record.seller_id, order_key=record.order_key)
    failing = [line for line in record.lines if line.outcome in ("sku_mismatch", "duplicate_sku")]
    lines = "\n".join(f"  - line {li.line_id} sku={li.sku} {li.outcome} {li.candidates or ''}" for li in failing)
    return (
        f"order_key: {record.order_key}\norder: {record.order_number} ({record.order_id})\n"
        f"buyer: {record.buyer_id} ({record.buyer_platform})  seller: {record.seller_id} ({record.seller_platform})\n"
        f"status: {record.status}  reason: {reason}\ndetail: {record.detail}\n"
        f"failing lines:\n{lines or '  (none)'}\n"
        f"DLQ message id: {record.dlq_message_id or '-'}\n"
        f"fix: {fix}\n"
    )


def dlq_message(record: OrderRecord, envelope: OrderEnvelope | None) -> tuple[dict[str, Any], dict[str, str]]:
    """A DLQ body a person reading it in the SQS console understands; `envelope` lets a redrive replay it."""
    reason = record.reason or FailureReason.INVALID_ORDER
    failing = [line.model_dump() for line in record.lines if line.outcome in ("sku_mismatch", "duplicate_sku")]
    body: dict[str, Any] = {
        "summary": (
            f"Order {record.order_number or record.order_id} from {record.buyer_name} to {record.seller_name} "
            f"failed: {reason.value}"
        ),
        "reason": reason.value,
        "detail": record.detail,
        "order_key": record.order_key,
        "order_id": record.order_id,
        "seller_id": record.seller_id,
        "failing_lines": failing[:DLQ_LINES_SHOWN],
        "what_to_do": OPS_FIX[reason].format(seller_id=record.seller_id, order_key=record.order_key),
        "envelope": _replayable(envelope.model_dump(mode="json") if envelope else record.envelope),
    }
    if len(failing) > DLQ_LINES_SHOWN:
        body["failing_lines_not_shown"] = len(failing) - DLQ_LINES_SHOWN  # all of them: ordersync order show
    attributes = {"order_id": record.order_id, "seller_id": record.seller_id, "reason": reason.value}
    return body, attributes


# A DLQ body stays well inside SQS's 256 KiB message (what every region takes): the first failing
# lines, and the buyer's payload only while it is small — past that, a read request, which a
# redrive or replay answers by reading the order from the buyer's store again.
DLQ_LINES_SHOWN = 50
DLQ_PAYLOAD_MAX = 120_000


def _replayable(envelope: dict[str, Any]) -> dict[str, Any]:
    payload = envelope.get("payload")
    if payload is None or len(json.dumps(payload, separators=(",", ":"), default=str)) <= DLQ_PAYLOAD_MAX:
        return envelope
    return {**envelope, "payload": read_request(str(envelope.get("order_id") or ""))}


def manual_posting_instructions(record: OrderRecord, order: CanonicalOrder, decision: Decision, execution: str) -> str:
    """Everything ops need to enter the order by hand, and how to say it is done; the task token is appended."""
    ship = order.shipping_address
    address = "\n".join(
        f"  {value}"
        for value in (
            ship.name if ship else None,
            ship.company if ship else None,
            ship.address1 if ship else None,
            ship.address2 if ship else None,
            " ".join(p for p in ((ship.postal_code or "") if ship else "", (ship.city or "") if ship else "") if p),
            " ".join(
                p for p in ((ship.province_code or "") if ship else "", (ship.country_code or "") if ship else "") if p
            ),
            f"phone {ship.phone}" if ship and ship.phone else None,
        )
        if value
    )
    lines = "\n".join(
        f"  - {m.line.quantity} x SKU {m.resolved_sku}: {m.variant.title} (product {m.variant.product_id}, "
        f"variant {m.variant.variant_id}) at {m.line.unit_price} {order.currency}"
        for m in decision.postable_lines
        if m.variant
    )
    return (
        f"Order {record.order_number} from {record.buyer_name} must be entered by hand in "
        f"{record.seller_name}'s BigCommerce store (seller {record.seller_id}).\n\n"
        f"Lines:\n{lines}\n\nShip to:\n{address}\n\n"
        f"When it is entered: ordersync manual complete {record.order_key} --bigcommerce-order-id N\n"
        f'If it can\'t be: ordersync manual reject {record.order_key} --reason "..."\n'
        f"From the console: Step Functions > ManualPostingStateMachine > execution {execution}: "
        'send task success with output {"bigcommerce_order_id": "N"} (or task failure, error '
        '"ManualPostingRejected") and this task token:\n'
    )


def message_fields(message: dict[str, Any]) -> dict[str, Any]:
    """order_key / order_id / reason of a DLQ message, whether we wrote it (a failure) or SQS moved
    it there after maxReceiveCount (a bare envelope)."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = {}
    attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
    if not isinstance(body, dict):
        body = {}
    envelope = body.get("envelope", body)
    order_key = body.get("order_key") or (
        f"{envelope.get('connection_id')}#{envelope.get('order_id')}" if isinstance(envelope, dict) else None
    )
    return {
        "message_id": message["MessageId"],
        "order_key": order_key,
        "order_id": attributes.get("order_id") or body.get("order_id"),
        "seller_id": attributes.get("seller_id") or body.get("seller_id"),
        "reason": attributes.get("reason") or body.get("reason") or "PLATFORM_UNAVAILABLE",
        "summary": body.get("summary", ""),
        "detail": body.get("detail", ""),  # why, in the record's words (which field, which SKU)
        "what_to_do": body.get("what_to_do", ""),
        # the buyer's order as it came (INVALID_ORDER: what ops inspect); a bare envelope is one itself
        "payload": envelope.get("payload") if isinstance(envelope, dict) else None,
    }
