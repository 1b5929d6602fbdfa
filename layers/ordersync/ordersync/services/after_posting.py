"""An order's life after it was posted: the buyer cancels it, or changes its address or its lines. Under the same discipline as the
post — claimed, the seller's copy read first (a retry after a lost answer finds it cancelled and
calls that matched), written, recorded — each change ends in one result on the record: applied
(the copy cancelled), matched (it was already), too late (some of it had shipped: told, not
touched) or refused by the store (its words). Nothing moves money: no refund is made anywhere.
Recording the result is process.py's, as for every outcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ordersync.domain.edits import Edit, copy_lines, edits_after_posting
from ordersync.errors import StoreCredentialsError, StoreRejected
from ordersync.models import CanonicalOrder, FailureReason, OrderStatus, Platform, PostedLine, ShippingAddress
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
    """A cancellation of a posted order not yet acted on."""
    return order.cancelled and record.reason not in FINAL and record.seller_order_id is not None


def edit_to_act_on(order: CanonicalOrder, record: OrderRecord) -> Edit:
    """The buyer's edit of a posted order not yet acted on (nothing, for a cancelled one: that path
    is the cancellation's): a new address, or line changes the seller has not been told of."""
    if order.cancelled or record.seller_order_id is None or record.status is not OrderStatus.SYNCED:
        return Edit(None)
    if record.acted_version is not None and order.updated_at < record.acted_version:
        return Edit(None)  # an older version arriving late (the same second is compared: stores date to the second)
    edit = edits_after_posting(order, record.posted_lines, record.posted_address)
    told = edit.lines and record.lines_told == edit.lines_digest()
    return Edit(edit.address, () if told else edit.lines)


def apply_edit(
    store: SellerStore, seller_order: str, edit: Edit, where: str, posted: Sequence[PostedLine] = ()
) -> list[Outcome]:
    """A new address onto the seller's copy, unless some of it has left (then told, not touched).
    Fewer units or a line removed, before anything shipped: the copy reduced to match (where the
    store refuses, told). A rise or a new line is never applied: told, for people to decide."""
    outcomes = []
    if edit.address is not None:
        outcomes.append(_new_address(store, seller_order, edit.address, where))
    if edit.lines and not any(c.increase for c in edit.lines) and posted:
        outcomes.append(_reduce(store, seller_order, edit, where, posted))
    elif edit.lines:
        changes = "; ".join(change.words() for change in edit.lines)
        rise = (
            " (a rise or a new line: not to ship until our team confirms)"
            if any(c.increase for c in edit.lines)
            else ""
        )
        detail = f"the buyer changed the order after it was posted: {changes}{rise}; order {seller_order} in {where} was not changed"
        outcomes.append(Outcome(FailureReason.LINES_CHANGED, detail))
    return outcomes


def _reduce(store: SellerStore, seller_order: str, edit: Edit, where: str, posted: Sequence[PostedLine]) -> Outcome:
    changes = "; ".join(change.words() for change in edit.lines)
    lines = copy_lines(posted)
    return _unless_shipped(
        store,
        seller_order,
        lambda: store.reduce_lines(seller_order, [(lines[c.buyer_line_id], c.now) for c in edit.lines]),
        lambda words: Outcome(
            FailureReason.LINES_CHANGED,
            f"the buyer reduced the order after {where} shipped (or cancelled) order {seller_order}"
            f" ({words}): {changes}; nothing was changed",
        ),
        (
            FailureReason.LINES_CHANGED,
            f"the buyer reduced the order: {changes}; {where} refused the change to order {seller_order}",
        ),
        Outcome(
            FailureReason.LINES_REDUCED,
            f"the buyer reduced the order: {changes}; order {seller_order} in {where} reduced to match",
        ),
    )


def _new_address(store: SellerStore, seller_order: str, address: ShippingAddress, where: str) -> Outcome:
    return _unless_shipped(
        store,
        seller_order,
        lambda: store.update_shipping_address(seller_order, address),
        lambda words: Outcome(
            FailureReason.ADDRESS_CHANGE_TOO_LATE,
            f"the buyer changed the shipping address after {where} shipped (or cancelled) order {seller_order}"
            f" ({words}); nothing was changed",
        ),
        (
            FailureReason.ADDRESS_CHANGE_REFUSED,
            f"the buyer changed the shipping address; {where} refused it on order {seller_order}",
        ),
        Outcome(
            FailureReason.ADDRESS_UPDATED,
            f"the buyer changed the shipping address; order {seller_order} in {where} has the new one",
        ),
    )


def _unless_shipped(
    store: SellerStore,
    seller_order: str,
    write: Callable[[], None],
    too_late: Callable[[str], Outcome],
    refused: tuple[FailureReason, str],
    applied: Outcome,
) -> Outcome:
    """One edit of the copy: read first — shipped or cancelled, too late (told, not touched; the
    store's status words passed on) —, then written, or refused with the store's words."""
    try:
        state = store.order_state(seller_order)
        if state.shipped or state.cancelled:
            return too_late(state.words)
        write()
    except StoreCredentialsError:
        raise
    except StoreRejected as error:
        return Outcome(refused[0], f"{refused[1]}: {error}")
    return applied


# What each platform does with the stock of an order cancelled through its API: only what it does.
RESTOCK_ON_CANCEL = {
    Platform.SHOPIFY: "its stock restored",  # orderCancel(restock: true)
    Platform.WOOCOMMERCE: "WooCommerce puts back the stock it had reduced for it, where it had",  # _order_stock_reduced
    Platform.BIGCOMMERCE: "its stock adjusted as the store's inventory settings say",
}


def cancel_seller_copy(store: SellerStore, seller_order: str, where: str, platform: Platform) -> Outcome:
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
        f"the buyer cancelled the order; order {seller_order} was cancelled in {where}, {RESTOCK_ON_CANCEL[platform]}",
    )
