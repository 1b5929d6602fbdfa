"""An order's life after it was posted: the buyer cancels it. Under the same discipline as the
post — claimed, the seller's copy read first (a retry after a lost answer finds it cancelled and
calls that matched), written, recorded — each change ends in one result on the record: applied
(the copy cancelled), matched (it was already), too late (some of it had shipped: told, not
touched) or refused by the store (its words). Nothing moves money: no refund is made anywhere.
Recording the result is process.py's, as for every outcome."""

from __future__ import annotations

from dataclasses import dataclass

from ordersync.errors import StoreCredentialsError, StoreRejected
from ordersync.models import CanonicalOrder, FailureReason, OrderStatus
from ordersync.ports import SellerStore
from ordersync.records import OrderRecord

# What a change to a posted order was, once recorded: acted on, nothing more to do for it.
FINAL = frozenset({FailureReason.CANCEL_TOO_LATE, FailureReason.CANCEL_REFUSED})


@dataclass(frozen=True)
class Outcome:
    reason: FailureReason
    detail: str

    @property
    def status(self) -> OrderStatus:
        """Only a cancelled copy cancels the order; too late or refused, it stays posted."""
        return OrderStatus.CANCELLED if self.reason is FailureReason.BUYER_CANCELLED else OrderStatus.SYNCED


def to_act_on(order: CanonicalOrder, record: OrderRecord) -> bool:
    """A cancellation of a posted order not yet acted on (an edit after posting is not acted on yet)."""
    return order.cancelled and record.reason not in FINAL and record.seller_order_id is not None


def cancel_seller_copy(store: SellerStore, seller_order: str, where: str) -> Outcome:
    """The seller's copy read first, then cancelled unless it already is, or some of it has left."""
    try:
        state = store.order_state(seller_order)
        if state.cancelled:
            return Outcome(
                FailureReason.BUYER_CANCELLED,
                f"the buyer cancelled the order; {where} had cancelled order {seller_order} already",
            )
        if state.shipped:
            return Outcome(
                FailureReason.CANCEL_TOO_LATE,
                f"the buyer cancelled the order after {where} shipped it (order {seller_order}: {state.words});"
                " nothing was cancelled",
            )
        store.cancel_order(seller_order)
    except StoreCredentialsError:
        raise
    except StoreRejected as refused:
        return Outcome(
            FailureReason.CANCEL_REFUSED,
            f"the buyer cancelled the order; {where} refused to cancel order {seller_order}: {refused}",
        )
    return Outcome(
        FailureReason.BUYER_CANCELLED,
        f"the buyer cancelled the order; order {seller_order} was cancelled in {where}, its stock restored",
    )
