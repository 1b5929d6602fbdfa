"""The drift check's comparison (domain/drift.py): each divergence a user would notice is named,
with the command or step that mends it; two stores that agree — however each spells an address —
report nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ordersync.domain.drift import BothStores, DriftKind, Recorded, divergences
from ordersync.domain.edits import address_digest
from ordersync.domain.shipments import BuyerShipment, BuyerShipments
from ordersync.models import CanonicalOrder, OrderLine, Parcel, ParcelLine, Platform, SellerOrderState, ShippingAddress

NOW = datetime(2026, 12, 5, tzinfo=UTC)
HOME = ShippingAddress(name="Ada Lovelace", address1="12 George St", city="Sydney", province_code="NSW",
                       postal_code="2000", country_code="AU", phone="+61 2 9999 0000")  # fmt: skip
KEY = "acme--north#1001"


def _order(cancelled: bool = False, address: ShippingAddress = HOME) -> CanonicalOrder:
    return CanonicalOrder(
        order_id="1001", platform=Platform.SHOPIFY, order_number="#1001", created_at=NOW, updated_at=NOW,
        currency="AUD", cancelled=cancelled, shipping_address=address,
        lines=[OrderLine(line_id="11", sku="S-1", title="Tent", quantity=2, unit_price=Decimal("10.00"))],
    )  # fmt: skip


def _recorded(**changes: object) -> Recorded:
    fields: dict[str, object] = {"order_key": KEY, "seller_id": "north", "buyer_name": "Acme",
                                 "posted_address": address_digest(HOME)}  # fmt: skip
    return Recorded(**(fields | changes))  # type: ignore[arg-type]


def _seen(
    order: CanonicalOrder | None = None,
    parcels: tuple[Parcel, ...] = (),
    there: tuple[BuyerShipment, ...] = (),
    seller_cancelled: bool = False,
    seller_address: ShippingAddress | None = HOME,
) -> BothStores:
    state = SellerOrderState(seller_cancelled, bool(parcels), "processing", parcels)
    return BothStores(order or _order(), BuyerShipments(there, None), state, seller_address)


def _kinds(recorded: Recorded, seen: BothStores) -> list[DriftKind]:
    return [d.kind for d in divergences(recorded, seen)]


PARCEL = Parcel("f-1", (ParcelLine("v-1", 2),), "UPS", "1Z1")
WRITTEN = BuyerShipment("501", "1Z1", None, (("11", 2),))


def test_two_stores_that_agree_report_nothing_however_each_spells_the_address() -> None:
    spelled = HOME.model_copy(update={"name": "Ada  Lovelace", "province_code": "New South Wales", "phone": None,
                                      "address1": "12 george st"})  # fmt: skip
    recorded = _recorded(written={"north:f-1": "501"})
    assert divergences(recorded, _seen(parcels=(PARCEL,), there=(WRITTEN,), seller_address=spelled)) == []


def test_a_cancellation_on_one_side_only_is_named_with_what_mends_it() -> None:
    (buyer_only,) = divergences(_recorded(), _seen(order=_order(cancelled=True)))
    assert buyer_only.kind is DriftKind.CANCELLED_BY_BUYER_ONLY and "order replay " + KEY in buyer_only.mend
    shipped = divergences(_recorded(), _seen(order=_order(cancelled=True), parcels=(PARCEL,), there=(WRITTEN,)))
    assert "nothing can be cancelled" in shipped[0].mend  # shipped: a replay can't help
    (seller_only,) = divergences(_recorded(), _seen(seller_cancelled=True))
    assert seller_only.kind is DriftKind.CANCELLED_BY_SELLER_ONLY
    assert _kinds(_recorded(), _seen(order=_order(cancelled=True), seller_cancelled=True)) == []


def test_an_address_changed_in_either_store_is_named_and_the_mend_says_which_way() -> None:
    moved = HOME.model_copy(update={"address1": "9 Wrong Way"})
    (by_hand,) = divergences(_recorded(), _seen(seller_address=moved))
    assert by_hand.kind is DriftKind.ADDRESS_DIFFERS and "9 Wrong Way" in by_hand.detail
    assert "seller's store back to the buyer's" in by_hand.mend
    (buyer_moved,) = divergences(_recorded(), _seen(order=_order(address=moved)))
    assert "order replay" in buyer_moved.mend  # the buyer's newer address never reached the copy


def test_a_parcel_missing_from_the_buyer_store_or_with_other_tracking_is_named() -> None:
    recorded = _recorded(written={"north:f-1": "501"})
    assert _kinds(recorded, _seen(parcels=(PARCEL,))) == [DriftKind.PARCEL_NOT_IN_BUYER_STORE]  # deleted there
    other = BuyerShipment("501", "1Z9", None, (("11", 2),))
    (tracking,) = divergences(recorded, _seen(parcels=(PARCEL,), there=(other,)))
    assert tracking.kind is DriftKind.TRACKING_DIFFERS and "1Z1" in tracking.mend
    kept = _recorded(reasons={"north:f-1": "PARCEL_DOESNT_FIT"})
    (known,) = divergences(kept, _seen(parcels=(PARCEL,)))
    assert "PARCEL_DOESNT_FIT" in known.detail and known.mend.startswith(
        "ordersync dlq redrive --queue shipments --reason PARCEL_DOESNT_FIT"
    )


def test_more_units_shipped_in_one_store_than_the_other_is_named() -> None:
    by_hand = BuyerShipment("777", None, None, (("11", 1),))  # a fulfilment made by hand in the buyer's store
    recorded = _recorded(written={"north:f-1": "501"})
    assert _kinds(recorded, _seen(parcels=(PARCEL,), there=(WRITTEN, by_hand))) == [DriftKind.SHIPPED_UNITS_DIFFER]


def test_another_seller_s_parcels_in_the_same_buyer_order_are_not_this_part_s_units() -> None:
    """A buyer order of two sellers: the buyer's store holds both sellers' fulfilments; this part
    compares its own lines' units only."""
    other_seller = BuyerShipment("502", "JD1", None, (("12", 3),))  # another seller's line, shipped
    recorded = _recorded(written={"north:f-1": "501"}, lines=frozenset({"11"}))
    assert _kinds(recorded, _seen(parcels=(PARCEL,), there=(WRITTEN, other_seller))) == []
    by_hand = BuyerShipment("777", None, None, (("11", 1),))  # one more unit of this part's line, by hand
    assert _kinds(recorded, _seen(parcels=(PARCEL,), there=(WRITTEN, other_seller, by_hand))) == [
        DriftKind.SHIPPED_UNITS_DIFFER
    ]


def test_an_address_that_differs_only_in_its_postcode_is_another_door() -> None:
    elsewhere = HOME.model_copy(update={"postal_code": "2010"})
    found = divergences(_recorded(), _seen(seller_address=elsewhere))
    assert [d.kind for d in found] == [DriftKind.ADDRESS_DIFFERS] and "2010" in found[0].detail


def test_each_seller_s_drift_email_lists_its_own_orders_only() -> None:
    from ordersync.alerts.drift import drift_emails
    from ordersync.domain.drift import Divergence

    found = [
        Divergence("acme--north#1001", "north", "Acme", DriftKind.ADDRESS_DIFFERS, "north's detail", "mend"),
        Divergence("acme--south#2002", "south", "Acme", DriftKind.TRACKING_DIFFERS, "south's detail", "mend"),
    ]
    emails = {e.seller_id: e for e in drift_emails(found, 2, [])}
    assert "order 1001" in emails["north"].body and "2002" not in emails["north"].body
    assert "south's detail" in emails["south"].body and "north's detail" not in emails["south"].body
    assert "north's detail" in emails[None].body and "south's detail" in emails[None].body  # ops see both

    cancelled = Divergence("acme--north#1003", "north", "Acme", DriftKind.CANCELLED_BY_BUYER_ONLY,
                           "cancelled in the buyer's store; open in the seller's store (processing)", "mend")  # fmt: skip
    (told,) = [e for e in drift_emails([cancelled], 1, []) if e.seller_id == "north"]
    assert "order 1003: cancelled by the buyer; your copy is not cancelled" in told.body
    assert "open in your store (processing)" in told.body and "the seller's" not in told.body


def test_a_drift_digest_of_thousands_of_orders_stays_under_sns_s_256_kib_and_says_how_many_it_left_out() -> None:
    """Past SNS's limit the publish is refused and nobody hears of any divergence: each body is cut
    and names the rest by a count and the command that lists them."""
    from ordersync.alerts.drift import drift_emails
    from ordersync.domain.drift import Divergence

    detail = "buyer's store: 410 Terry Ave N, Suite 200, Seattle, 98109, US; seller's store: " + "x" * 200
    found = [
        Divergence(f"acme--north#{n}", "north", "Acme", DriftKind.ADDRESS_DIFFERS, detail, "ordersync order replay")
        for n in range(3_000)
    ]
    unreadable = [f"acme--north#{n}: StoreUnavailable: " + "y" * 150 for n in range(3_000, 6_000)]
    emails = drift_emails(found, 3_000, unreadable)
    assert all(len(e.body.encode()) < 256 * 1024 - 2_000 for e in emails)
    ops = next(e for e in emails if e.seller_id is None)
    assert "more divergences, not shown here" in ops.body and "`ordersync drift --json` lists every one" in ops.body
    assert "more, not shown here: `ordersync drift` names each" in ops.body
    (north,) = [e for e in emails if e.seller_id == "north"]
    assert "more orders: ask us for the list" in north.body


def test_a_tracking_number_spaced_or_cased_otherwise_in_the_buyer_store_is_the_same_number() -> None:
    recorded = _recorded(written={"north:f-1": "501"})
    spaced = Parcel("f-1", (ParcelLine("v-1", 2),), "UPS", "1z 999 aa1 0123456784")
    there = BuyerShipment("501", "1Z999AA10123456784", None, (("11", 2),))
    assert divergences(recorded, _seen(parcels=(spaced,), there=(there,))) == []
    unrecorded = _recorded()  # found by its number alone
    assert divergences(unrecorded, _seen(parcels=(spaced,), there=(there,))) == []
