"""The buyer's edits of a posted order, in the details a seller would notice (tests that bite,
round three): a rise never applied, a deleted line a removal, what the seller was only told of
leaving the posted lines as the copy holds them, a second change told again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ordersync.models import FailureReason, OrderStatus, Parcel, ParcelLine, iso
from ordersync.records import Attempt
from ordersync.services.process import ProcessDependencies, process_message
from ordersync.services.shipments import ShipmentDependencies, check_seller_copy

from .test_process import ADDRESS, MOVED, deps, message  # noqa: F401  (deps: the fixture)


def _version(minutes: int, quantities: list[int | None], address: dict | None = None) -> str:
    """Order #1001 of two lines of A again, `minutes` after it was posted: each line's quantity (None:
    the line deleted outright, as WooCommerce and BigCommerce let a retailer do)."""
    body = json.loads(message("A", "A"))
    payload = body["payload"]
    payload["updatedAt"] = iso(datetime.now(UTC) + timedelta(minutes=minutes))
    nodes = payload["lineItems"]["nodes"]
    for node, quantity in zip(nodes, quantities, strict=True):
        node["quantity"] = node["currentQuantity"] = quantity or 0
    payload["lineItems"]["nodes"] = [n for n, q in zip(nodes, quantities, strict=True) if q is not None]
    if address is not None:
        payload["shippingAddress"] = address
    return json.dumps(body)


def _posted(deps: ProcessDependencies, quantities: list[int | None]) -> None:  # noqa: F811
    assert process_message(_version(0, quantities), "m0", 1, deps).status is OrderStatus.SYNCED


def test_lowering_one_line_and_raising_another_applies_nothing_and_tells_exactly_what_changed(
    deps: ProcessDependencies,  # noqa: F811
) -> None:
    _posted(deps, [2, 2])
    record = process_message(_version(5, [1, 3]), "m1", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.SYNCED, FailureReason.LINES_CHANGED)
    assert deps.stores.seller_store.reduced == {}  # type: ignore[attr-defined]  # the copy untouched
    assert "A A: 2 -> 1; A A: 2 -> 3 (a rise or a new line: not to ship until our team confirms)" in record.detail
    assert [(line.quantity) for line in record.posted_lines] == [2, 2]


def test_a_line_the_retailer_deletes_outright_is_a_removal_taken_off_the_copy_before_shipment(
    deps: ProcessDependencies,  # noqa: F811
) -> None:
    _posted(deps, [2, 1])
    record = process_message(_version(5, [2, None]), "m1", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.SYNCED, FailureReason.LINES_REDUCED), record.detail
    assert "line removed: 1 x" in record.detail
    (reduced,) = deps.stores.seller_store.reduced["S1"]  # type: ignore[attr-defined]
    assert reduced[1] == 0 and [line.quantity for line in record.posted_lines] == [2]


def test_after_a_rise_the_seller_was_only_told_of_the_copy_s_parcel_still_ships_the_order(
    deps: ProcessDependencies,  # noqa: F811
) -> None:
    _posted(deps, [1, 1])
    told = process_message(_version(5, [3, 1]), "m1", 1, deps)
    assert told.reason is FailureReason.LINES_CHANGED
    assert [line.quantity for line in told.posted_lines] == [1, 1]  # what the seller's copy still holds
    seller = deps.stores.seller_store  # type: ignore[attr-defined]
    variant = told.posted_lines[0].variant_id
    seller.parcels["S1"] = [Parcel("f1", (ParcelLine(variant, 2),), "UPS", "1Z999AA10123456784")]
    shipments = ShipmentDependencies(deps.orders, deps.connections, _buyer(deps), deps.alerts, deps.clock)  # type: ignore[arg-type]
    now = deps.clock()
    attempt = Attempt("check", now, int((now + timedelta(minutes=5)).timestamp() * 1000))
    assert check_seller_copy("northwind", "S1", attempt, shipments).problems == ()
    assert deps.orders.get("acme--northwind#1001").shipping == "shipped"


def test_a_second_new_address_and_a_second_reduction_are_each_told_again(
    deps: ProcessDependencies,  # noqa: F811
) -> None:
    _posted(deps, [3, 3])
    process_message(_version(5, [3, 3], MOVED), "m1", 1, deps)
    again = {**MOVED, "address1": "7 Third Ave"}
    record = process_message(_version(6, [3, 3], again), "m2", 1, deps)
    assert record.reason is FailureReason.ADDRESS_UPDATED
    assert deps.stores.seller_store.addresses["S1"].address1 == "7 Third Ave"  # type: ignore[attr-defined]
    process_message(_version(7, [2, 3], again), "m3", 1, deps)
    process_message(_version(8, [1, 3], again), "m4", 1, deps)
    subjects = [a["subject"] for a in deps.alerts.published]  # type: ignore[attr-defined]
    assert subjects.count("The shipping address of order #1001 from Acme changed - updated in your store") == 2
    assert subjects.count("Order #1001 from Acme now has fewer units - reduced in your store") == 2


def _buyer(deps: ProcessDependencies) -> object:  # noqa: F811
    from .test_shipments import BothStores, FakeBuyerStore

    record = deps.orders.get("acme--northwind#1001")
    buyer = FakeBuyerStore({line.buyer_line_id: 2 if i == 0 else 1 for i, line in enumerate(record.posted_lines)})
    return BothStores(deps.stores.seller_store, buyer_store=buyer)  # type: ignore[attr-defined]
