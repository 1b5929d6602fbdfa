"""A retailer buying from two sellers and selling products of its own: each buyer order is split by
its lines' listings, each seller gets its part alone, the retailer's own lines reach nobody."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ordersync.domain.catalog import CatalogSlice
from ordersync.domain.listings import LinkedBy, Listing, relink, split_order
from ordersync.local.fakes.shopify import buyer_variant_id, order_node
from ordersync.models import CanonicalOrder, Cause, Connection, FailureReason, OrderEnvelope, OrderStatus, Platform
from ordersync.normalize import normalize, payload_with_lines, raw_lines
from ordersync.services.listing_admin import ListingDependencies, link, unlink
from ordersync.services.process import ProcessDependencies, process_message

from .catalog_builders import store_ref, variant
from .in_memory import (
    FakeSellerStore,
    InMemoryCatalog,
    InMemoryConnections,
    InMemoryListings,
    InMemoryOrders,
    RecordingAlerts,
    RecordingDeadLetters,
    RecordingRetries,
)
from .test_catalog_sync_and_dispatch import Dlq, FailedOrders, Queue
from .test_process import ADDRESS, Clock

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TO_NORTHWIND = Connection(
    connection_id="acme--northwind", buyer=store_ref("acme", Platform.SHOPIFY), seller=store_ref("northwind")
)
TO_SOUTHWIND = Connection(
    connection_id="acme--southwind",
    buyer=store_ref("acme", Platform.SHOPIFY),
    seller=store_ref("southwind", Platform.SHOPIFY),
)
STOVE = ("NW-STOVE", "Camp stove (northwind)", 1, "80.00")
JACKET = ("SW-JACKET", "Rain jacket (southwind)", 2, "120.00")
CANDLE = ("ACME-CANDLE", "Beeswax candle (the retailer's own)", 3, "9.00")


@dataclasses.dataclass
class SellerStores:
    """One in-memory store per seller."""

    by_id: dict[str, FakeSellerStore]

    def seller(self, store: Any) -> FakeSellerStore:
        return self.by_id[store.store_id]

    def buyer(self, store: Any) -> Any:
        raise AssertionError("the split reads no buyer store")


def southwind(sku: str, variant_id: str, active: bool = True) -> Any:
    return dataclasses.replace(variant(sku, variant_id, active=active), seller_id="southwind")


@pytest.fixture
def deps() -> ProcessDependencies:
    catalog = InMemoryCatalog([variant("NW-STOVE", "11"), southwind("SW-JACKET", "21")])
    return ProcessDependencies(
        orders=InMemoryOrders(),
        catalog=catalog,
        connections=InMemoryConnections({c.connection_id: c for c in (TO_NORTHWIND, TO_SOUTHWIND)}),
        stores=SellerStores({"northwind": FakeSellerStore(), "southwind": FakeSellerStore()}),  # type: ignore[arg-type]
        dead_letters=RecordingDeadLetters(),
        alerts=RecordingAlerts(),
        retries=RecordingRetries(),
        listings=InMemoryListings(catalog),
        max_receive_count=3,
        clock=Clock(),
    )


def pulled(number: int, *lines: tuple[str, str, int, str]) -> dict[str, OrderEnvelope]:
    """The buyer order as the pull enqueues it: one envelope per connection of the buyer."""
    payload = order_node(number, f"#{number}", list(lines), ADDRESS)
    return {
        c.seller.store_id: OrderEnvelope(
            connection_id=c.connection_id,
            buyer_id="acme",
            buyer_name="Acme",
            buyer_platform=Platform.SHOPIFY,
            seller_id=c.seller.store_id,
            seller_name=c.seller.name,
            seller_platform=c.seller.platform,
            order_id=str(number),
            order_number=f"#{number}",
            payload=payload,
            pulled_at=NOW,
            cause=Cause.PULL,
        )
        for c in (TO_NORTHWIND, TO_SOUTHWIND)
    }


def process_all(deps: ProcessDependencies, number: int, *lines: tuple[str, str, int, str]) -> dict[str, Any]:
    return {
        seller: process_message(envelope.model_dump_json(), f"m{number}-{seller}", 1, deps)
        for seller, envelope in pulled(number, *lines).items()
    }


def posted(deps: ProcessDependencies, seller: str) -> dict[str, Any]:
    return deps.stores.by_id[seller].posted  # type: ignore[attr-defined,no-any-return]


def everything_sent_to(deps: ProcessDependencies, seller: str) -> str:
    """Every email body and DLQ message that concerns this seller, as one text."""
    mails = [m["seller"] or "" for m in deps.alerts.published if m["seller_id"] == seller]  # type: ignore[attr-defined]
    dead = [json.dumps(body) for body, attrs in deps.dead_letters.sent if attrs["seller_id"] == seller]  # type: ignore[attr-defined]
    return "\n".join(mails + dead)


def test_each_seller_gets_its_lines_alone_and_the_retailer_s_own_reach_nobody(deps: ProcessDependencies) -> None:
    jacket_only = process_all(deps, 1, JACKET)
    assert jacket_only["northwind"] is None  # nothing of northwind's: no record, no email
    assert jacket_only["southwind"].status is OrderStatus.SYNCED

    mixed = process_all(deps, 2, JACKET, STOVE, CANDLE)
    assert mixed["northwind"].status is mixed["southwind"].status is OrderStatus.SYNCED
    assert posted(deps, "northwind") == {"ordersync-acme--northwind-2": ("2", [("NW-STOVE", "11", 1)])}
    assert posted(deps, "southwind")["ordersync-acme--southwind-2"] == ("2", [("SW-JACKET", "21", 2)])
    assert [line.sku for line in mixed["northwind"].lines] == ["NW-STOVE"]  # the record: its part alone
    assert "SW-JACKET" not in json.dumps(mixed["northwind"].envelope)  # nor the order kept for a replay

    own = process_all(deps, 3, CANDLE)
    assert own == {"northwind": None, "southwind": None}
    assert not any(key.endswith("#3") for key in deps.orders.items)  # type: ignore[attr-defined]
    assert deps.alerts.published == [] and deps.dead_letters.sent == []  # type: ignore[attr-defined]


def test_a_seller_s_renamed_sku_blocks_its_part_alone_and_tells_it_alone(deps: ProcessDependencies) -> None:
    process_all(deps, 1, JACKET)  # first sight: the jacket's listing links it to southwind
    (listing,) = deps.listings.of_buyer("acme")  # type: ignore[attr-defined]
    assert (listing.seller_id, listing.linked_by, listing.seller_variant_id) == ("southwind", LinkedBy.SKU, "21")
    # southwind renames its SKU; the catalog sync has seen the new one only
    deps.catalog.variants = [variant("NW-STOVE", "11"), southwind("SW-JACKET-V2", "21")]  # type: ignore[attr-defined]

    parts = process_all(deps, 2, JACKET, STOVE)
    assert parts["northwind"].status is OrderStatus.SYNCED
    blocked = parts["southwind"]
    assert (blocked.status, blocked.reason) == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)
    assert [line.sku for line in blocked.lines] == ["SW-JACKET"]
    told = everything_sent_to(deps, "southwind")
    assert "SW-JACKET" in told and "NW-STOVE" not in told and "Camp stove" not in told
    assert everything_sent_to(deps, "northwind") == ""  # northwind hears nothing of southwind's trouble
    assert "SW-JACKET" not in json.dumps([b for b, _ in deps.dead_letters.sent if b["seller_id"] == "northwind"])  # type: ignore[attr-defined]


def test_a_sku_only_a_retired_variant_of_one_seller_had_is_that_seller_s_mismatch(deps: ProcessDependencies) -> None:
    """Never linked before, but the catalog saw the SKU and saw it go: the line is the seller's, stale."""
    deps.catalog.variants.append(southwind("SW-OLD-HAT", "29", active=False))  # type: ignore[attr-defined]
    parts = process_all(deps, 5, ("SW-OLD-HAT", "Hat", 1, "15.00"))
    assert parts["northwind"] is None
    assert (parts["southwind"].status, parts["southwind"].reason) == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)


def test_a_sku_two_sellers_sell_is_left_for_ops_and_posted_once_linked(deps: ProcessDependencies) -> None:
    deps.catalog.variants += [variant("MUG", "12"), southwind("MUG", "22")]  # type: ignore[attr-defined]
    mug = ("MUG", "Enamel mug", 1, "12.00")
    assert process_all(deps, 7, mug, STOVE)["southwind"] is None  # never guessed
    (ambiguous,) = [x for x in deps.listings.of_buyer("acme") if x.ambiguous]  # type: ignore[attr-defined]
    assert set(ambiguous.candidates) == {"northwind", "southwind"} and ambiguous.waiting_orders == ("7",)
    assert [line.sku for line in deps.orders.get("acme--northwind#7").lines] == ["NW-STOVE"]  # type: ignore[union-attr]

    deps.listings.put(relink(ambiguous, "southwind", NOW))  # type: ignore[attr-defined]  # ops decide
    again = process_all(deps, 8, mug)
    assert again["northwind"] is None and again["southwind"].status is OrderStatus.SYNCED
    assert posted(deps, "southwind")["ordersync-acme--southwind-8"] == ("8", [("MUG", "22", 1)])


def test_ops_decision_outlives_every_later_match(deps: ProcessDependencies) -> None:
    """A link ops made stands even when the SKU would match another seller; unlinked by ops, a line
    is the retailer's own for good."""
    stove = Listing("acme", str(buyer_variant_id("NW-STOVE")), None, LinkedBy.OWN, NOW, "NW-STOVE")
    deps.listings.put(relink(stove, None, NOW))  # type: ignore[attr-defined]  # "we sell these ourselves now"
    assert process_all(deps, 9, STOVE) == {"northwind": None, "southwind": None}
    deps.listings.put_matched([dataclasses.replace(stove, seller_id="northwind", linked_by=LinkedBy.SKU)])  # type: ignore[attr-defined]
    assert deps.listings.get_many("acme", [stove.variant_id])[stove.variant_id].linked_by is LinkedBy.OPS  # type: ignore[attr-defined]


def _order(*lines: tuple[str, str, int, str]) -> CanonicalOrder:
    return normalize(Platform.SHOPIFY, order_node(4, "#4", list(lines), ADDRESS))


def _catalogs(**by_seller: list[Any]) -> dict[str, CatalogSlice]:
    slices = {}
    for seller, variants in by_seller.items():
        grouped: dict[str, tuple[Any, ...]] = {}
        for v in variants:
            grouped[v.sku] = (*grouped.get(v.sku, ()), v)
        slices[seller] = CatalogSlice(grouped)
    return slices


def test_the_split_follows_the_listing_not_the_sku() -> None:
    order = _order(JACKET, STOVE, CANDLE)
    jacket_variant = str(buyer_variant_id("SW-JACKET"))
    linked = Listing("acme", jacket_variant, "northwind", LinkedBy.OPS, NOW, "SW-JACKET")  # ops said northwind's
    catalogs = _catalogs(northwind=[variant("NW-STOVE", "11")], southwind=[southwind("SW-JACKET", "21")])
    split = split_order(order.lines, "4", "acme", {jacket_variant: linked}, catalogs, lambda: NOW)
    assert [line.sku for line in split.lines_of("northwind")] == ["SW-JACKET", "NW-STOVE"]
    assert split.lines_of("southwind") == [] and [line.sku for line in split.own_lines] == ["ACME-CANDLE"]
    assert {(x.variant_id, x.seller_id, x.linked_by) for x in split.listings} == {
        (str(buyer_variant_id("NW-STOVE")), "northwind", LinkedBy.SKU),
        (str(buyer_variant_id("ACME-CANDLE")), None, LinkedBy.OWN),
    }


def test_an_alias_of_one_seller_links_the_line_to_it() -> None:
    order = _order(("OLD-STOVE", "Stove", 1, "80.00"))
    catalogs = _catalogs(northwind=[variant("NW-STOVE", "11")], southwind=[])
    catalogs["northwind"] = dataclasses.replace(catalogs["northwind"], aliases={"OLD-STOVE": "NW-STOVE"})
    split = split_order(order.lines, "4", "acme", {}, catalogs, lambda: NOW)
    assert [line.sku for line in split.lines_of("northwind")] == ["OLD-STOVE"]


def test_a_part_s_raw_payload_carries_its_own_lines_only() -> None:
    node = order_node(4, "#4", [JACKET, STOVE, CANDLE], ADDRESS)
    cut = payload_with_lines(Platform.SHOPIFY, node, {"402"})
    assert [n["sku"] for n in cut["lineItems"]["nodes"]] == ["NW-STOVE"]
    assert len(node["lineItems"]["nodes"]) == 3  # the buyer's order itself is left as it was
    rest = {"id": 4, "line_items": [{"id": 1, "sku": "A"}, {"id": 2, "sku": "B"}], "refunds": []}
    assert payload_with_lines(Platform.WOOCOMMERCE, rest, {"2"})["line_items"] == [{"id": 2, "sku": "B"}]
    products = {"id": 4, "products": [{"id": 1}, {"id": 2}]}
    assert payload_with_lines(Platform.BIGCOMMERCE, products, {"1"})["products"] == [{"id": 1}]


def test_a_broken_line_fails_only_the_part_it_belongs_to(deps: ProcessDependencies) -> None:
    """A price no one can read on the stove (northwind's line): northwind's part is INVALID_ORDER,
    southwind's jacket is posted, and the retailer's own candle, broken too, concerns nobody."""
    process_all(deps, 1, JACKET, STOVE)  # both products seen once: listed
    parts = process_all(deps, 11, JACKET, ("NW-STOVE", "Camp stove", 1, "call us"), (*CANDLE[:3], "n/a"))
    assert parts["southwind"].status is OrderStatus.SYNCED
    assert (parts["northwind"].status, parts["northwind"].reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    (dead,) = [body for body, attrs in deps.dead_letters.sent if attrs["order_id"] == "11"]  # type: ignore[attr-defined]
    assert "SW-JACKET" not in json.dumps(dead) and "ACME-CANDLE" not in json.dumps(dead)  # its own line only
    assert process_all(deps, 12, (*CANDLE[:3], "n/a")) == {"northwind": None, "southwind": None}


@pytest.mark.parametrize(
    ("platform", "payload", "expected"),
    [
        (
            Platform.WOOCOMMERCE,
            {"line_items": [{"id": 7, "sku": " A ", "product_id": 93, "variation_id": 0, "name": "Thing"}]},
            [("7", "A", "93", "Thing")],
        ),
        (
            Platform.BIGCOMMERCE,
            {"products": [{"id": 31, "sku": "", "product_id": 77, "variant_id": 412, "name": "Rope"}]},
            [("31", None, "412", "Rope")],
        ),
        (
            Platform.SHOPIFY,
            {"line_items": [{"id": 466157049, "sku": "IPOD", "variant_id": 39072856, "product_id": 632910392}]},
            [("466157049", "IPOD", "39072856", "")],
        ),
        (Platform.WOOCOMMERCE, {"line_items": [{"sku": "no id"}]}, None),  # can't be told apart: travels whole
        (Platform.BIGCOMMERCE, {"products": {"url": "/v2/orders/1/products"}}, None),  # not read yet
    ],
)
def test_a_payload_s_lines_are_read_for_the_split_before_it_is_validated(
    platform: Platform, payload: dict[str, Any], expected: list[tuple[str, str | None, str | None, str]] | None
) -> None:
    found = raw_lines(platform, payload)
    assert (None if found is None else [(x.line_id, x.sku, x.variant_id, x.title) for x in found]) == expected


def test_a_shopify_graphql_line_is_read_by_its_variant() -> None:
    node = order_node(4, "#4", [JACKET, ("", "Tip", 1, "2.00")], ADDRESS)
    found = raw_lines(Platform.SHOPIFY, node)
    assert found is not None
    assert [(x.line_id, x.sku, x.variant_id) for x in found] == [
        ("401", "SW-JACKET", str(buyer_variant_id("SW-JACKET"))),
        ("402", None, None),
    ]


def test_a_link_moved_by_ops_replays_both_parts_and_takes_the_blocked_one_out_of_the_dlq(
    deps: ProcessDependencies,
) -> None:
    """The jacket, linked to southwind, fails there (its SKU gone); ops say it is northwind's: both
    parts are read again (northwind's new part, southwind's blocked one), southwind's DLQ message
    leaves the DLQ as a replay's does, and northwind's copy is posted from the buyer's store."""
    process_all(deps, 1, JACKET)  # linked to southwind at first sight
    deps.catalog.variants = [variant("NW-STOVE", "11"), variant("SW-JACKET", "12")]  # type: ignore[attr-defined]
    blocked = process_all(deps, 21, JACKET)["southwind"]
    assert (blocked.status, blocked.reason) == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)
    dlq = Dlq([{"MessageId": "d1", "Body": json.dumps(body)} for body, _ in deps.dead_letters.sent])  # type: ignore[attr-defined]
    queue = Queue()
    admin = ListingDependencies(
        deps.listings, deps.connections, FailedOrders(list(_records(deps))), queue, dlq, lambda: NOW
    )  # type: ignore[arg-type]
    moved = link("acme", str(buyer_variant_id("SW-JACKET")), "northwind", admin)
    assert sorted(moved.replayed) == ["acme--northwind#21", "acme--southwind#21"]
    assert dlq.messages == [] and {e.cause for e in queue.envelopes} == {Cause.REPLAY}
    assert all(e.payload == {"ordersync_read_from_store": "21"} for e in queue.envelopes)  # read afresh, split again
    with pytest.raises(LookupError, match="buys from no seller 'nobody'"):
        link("acme", "42", "nobody", admin)
    with pytest.raises(LookupError, match="has no listing of variant '42'"):
        unlink("acme", "42", admin)


def test_a_link_moved_for_a_line_already_posted_keeps_it_with_its_seller_for_that_order(
    deps: ProcessDependencies,
) -> None:
    """The stove went into northwind's store with order 30; ops then say the stove is southwind's.
    Order 30 — pulled again after the buyer edited it — never reaches southwind with the stove, nor
    is the stove taken off northwind's copy; ops are told so; the next order's stove is southwind's."""
    deps.catalog.variants.append(southwind("NW-STOVE", "23"))  # type: ignore[attr-defined]  # linked before southwind sold it too
    stove = Listing("acme", str(buyer_variant_id("NW-STOVE")), "northwind", LinkedBy.SKU, NOW, "NW-STOVE")
    deps.listings.put(stove)  # type: ignore[attr-defined]
    first = process_all(deps, 30, STOVE, JACKET)
    assert first["northwind"].status is first["southwind"].status is OrderStatus.SYNCED
    admin = ListingDependencies(
        deps.listings, deps.connections, FailedOrders(list(_records(deps))), Queue(), Dlq([]), lambda: NOW
    )  # type: ignore[arg-type]
    moved = link("acme", stove.variant_id, "southwind", admin)
    assert moved.stays == ("acme--northwind#30",) and moved.listing.moved_from == ("northwind",)

    later = {
        seller: envelope.model_copy(update={"payload": {**envelope.payload, "updatedAt": "2099-01-01T00:00:00Z"}})
        for seller, envelope in pulled(30, STOVE, JACKET).items()
    }
    again = {s: process_message(e.model_dump_json(), f"m30b-{s}", 1, deps) for s, e in later.items()}
    assert posted(deps, "southwind")["ordersync-acme--southwind-30"] == ("30", [("SW-JACKET", "21", 2)])
    assert len(posted(deps, "southwind")) == 1  # never posted again, with the stove or without
    assert [line.sku for line in again["southwind"].lines] == ["SW-JACKET"]
    assert [line.sku for line in again["northwind"].lines] == ["NW-STOVE"]  # still northwind's, for order 30
    assert deps.stores.by_id["northwind"].reduced == {}  # type: ignore[attr-defined]  # not taken off its copy

    process_all(deps, 31, STOVE)
    assert posted(deps, "southwind")["ordersync-acme--southwind-31"] == ("31", [("NW-STOVE", "23", 1)])
    assert "ordersync-acme--northwind-31" not in posted(deps, "northwind")


def _records(deps: ProcessDependencies) -> list[Any]:
    return [deps.orders.get(key) for key in deps.orders.items]  # type: ignore[attr-defined]


def test_a_shopify_rest_part_carries_only_its_lines_refunds_and_fulfilments() -> None:
    payload = {
        "id": 4,
        "line_items": [{"id": 1, "sku": "NW-STOVE"}, {"id": 2, "sku": "SW-JACKET"}],
        "refunds": [
            {"id": 9, "refund_line_items": [{"line_item_id": 1, "quantity": 1}, {"line_item_id": 2, "quantity": 1}]}
        ],
        "fulfillments": [{"id": 7, "line_items": [{"id": 1, "sku": "NW-STOVE"}, {"id": 2, "sku": "SW-JACKET"}]}],
    }
    cut = payload_with_lines(Platform.SHOPIFY, payload, {"2"})
    assert "NW-STOVE" not in json.dumps(cut) and cut["refunds"][0]["refund_line_items"] == [
        {"line_item_id": 2, "quantity": 1}
    ]
    assert [line["id"] for line in cut["fulfillments"][0]["line_items"]] == [2]
