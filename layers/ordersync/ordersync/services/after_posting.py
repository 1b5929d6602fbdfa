"""An order's life after it was posted: the buyer cancels it. Under the same discipline as the
post — claimed, the seller's copy read first (a retry after a lost answer finds it cancelled and
calls that matched), written, recorded — each change ends in one result on the record: applied
(the copy cancelled), matched (it was already), too late (some of it had shipped: told, not
touched) or refused by the store (its words). Nothing moves money: no refund is made anywhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordersync.errors import StoreCredentialsError, StoreRejected
from ordersync.models import CanonicalOrder, Cause, FailureReason, OrderEnvelope, OrderStatus, platform_label
from ordersync.observability import logger
from ordersync.records import OrderRecord

if TYPE_CHECKING:
    from ordersync.services.process import ProcessDependencies

# What a change to a posted order was, once recorded: acted on, nothing more to do for it.
FINAL = frozenset({FailureReason.CANCEL_TOO_LATE, FailureReason.CANCEL_REFUSED})


def apply_to_posted(
    order: CanonicalOrder, envelope: OrderEnvelope, record: OrderRecord, deps: ProcessDependencies
) -> OrderRecord:
    """The buyer's latest version of an order already in the seller's store."""
    from ordersync.services.process import _alert_once, _record, count_outcome

    if not order.cancelled or record.reason in FINAL or record.seller_order_id is None:
        deps.orders.release(record)  # an edit after posting is not acted on yet: nothing to record
        return record
    connection = deps.connections.get(envelope.connection_id)
    store = deps.stores.seller(connection.seller)
    where = f"the seller's {platform_label(envelope.seller_platform)} store"
    seller_order = record.seller_order_id
    try:
        state = store.order_state(seller_order)
        if state.cancelled:
            status, reason, detail = (
                OrderStatus.CANCELLED,
                FailureReason.BUYER_CANCELLED,
                (f"the buyer cancelled the order; {where} had cancelled order {seller_order} already"),
            )
        elif state.shipped:
            status, reason, detail = (
                OrderStatus.SYNCED,
                FailureReason.CANCEL_TOO_LATE,
                (
                    f"the buyer cancelled the order after {where} shipped it (order {seller_order}: {state.words});"
                    " nothing was cancelled"
                ),
            )
        else:
            store.cancel_order(seller_order)
            status, reason, detail = (
                OrderStatus.CANCELLED,
                FailureReason.BUYER_CANCELLED,
                (f"the buyer cancelled the order; order {seller_order} was cancelled in {where}, its stock restored"),
            )
    except StoreCredentialsError:
        raise
    except StoreRejected as refused:
        status, reason, detail = (
            OrderStatus.SYNCED,
            FailureReason.CANCEL_REFUSED,
            (f"the buyer cancelled the order; {where} refused to cancel order {seller_order}: {refused}"),
        )
    record.note(deps.clock(), status, reason, detail, envelope.cause if envelope.cause else Cause.PROCESS)
    _alert_once(record, deps)
    _record(record, deps)
    count_outcome(record)
    logger.info("buyer's cancellation applied", extra={"order_key": record.order_key, "reason": reason})
    return record
