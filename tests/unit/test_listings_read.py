"""A buyer's catalog read into its listings: each of its variants linked to the one seller whose
product it is before any order carries it; ambiguous ones left for ops; the rest the retailer's own.
A link outlives a later SKU rename: the renamed product's next order is that seller's SKU_MISMATCH."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from ordersync.domain.catalog import StoreVariant
from ordersync.domain.listings import LinkedBy, Listing, relink, split_order
from ordersync.models import CatalogSyncRequest, Platform, StoreRecord, requested_read
from ordersync.services import catalog_runs
from ordersync.services.catalog_sync import CatalogSyncDependencies, sync_seller_batch
from ordersync.services.listing_admin import ListingDependencies, set_vendor_rule, vendor_rule_of
from ordersync.services.listings_read import CatalogVariantLine, ListingsReadDependencies, read_buyer_catalog

from .catalog_builders import NOW, LambdaContext, sqs_record, store_ref, variant
from .in_memory import InMemoryCatalog, InMemoryConnections, InMemoryListings
from .test_catalog_sync_and_dispatch import Dlq, FailedOrders, Ledger, Queue, SyncRequests
from .test_parts import TO_NORTHWIND, TO_SOUTHWIND

ACME = store_ref("acme", Platform.SHOPIFY)


@dataclass
class BuyerCatalog:
    """The buyer's store, as its catalog pages answer (two variants a page)."""

    variants: list[StoreVariant]
    asked: list[tuple[datetime | None, str | None]] = field(default_factory=list)

    def catalog_pages(
        self, changed_since: datetime | None = None, resume: str | None = None
    ) -> Iterator[tuple[list[StoreVariant], str | None]]:
        self.asked.append((changed_since, resume))
        start = int(resume or 0)
        for at in range(start, len(self.variants), 2):
            yield self.variants[at : at + 2], (str(at + 2) if at + 2 < len(self.variants) else None)


@dataclass
class BuyerStores:
    store: BuyerCatalog

    def buyer(self, store: Any) -> BuyerCatalog:
        assert store.store_id == "acme"
        return self.store

    def seller(self, store: Any) -> Any:
        raise AssertionError("a buyer's listings read reads no seller store")

    def forget(self, store: Any) -> None: ...


def _buyer_variant(variant_id: str, sku: str | None, title: str = "Stove", vendor: str | None = None) -> StoreVariant:
    return StoreVariant(f"P{variant_id}", variant_id, sku, title, "", vendor)


def _southwind(sku: str, variant_id: str, active: bool = True) -> Any:
    return dataclasses.replace(variant(sku, variant_id, active=active), seller_id="southwind")


def _world(*buyer_variants: StoreVariant) -> ListingsReadDependencies:
    catalog = InMemoryCatalog(
        [
            variant("NW-STOVE", "71"),
            variant("SHARED-MUG", "72"),
            _southwind("SW-JACKET", "81"),
            _southwind("SHARED-MUG", "82"),
        ],
        aliases={"OLD-STOVE": "NW-STOVE"},
    )
    connections = InMemoryConnections({c.connection_id: c for c in (TO_NORTHWIND, TO_SOUTHWIND)})
    return ListingsReadDependencies(
        stores=BuyerStores(BuyerCatalog(list(buyer_variants))),  # type: ignore[arg-type]
        listings=InMemoryListings(catalog),
        catalog=catalog,
        connections=connections,
        ledger=Ledger(),
        orders=FailedOrders([]),
        queue=Queue(),
        dlq=Dlq([]),
        sync_queue=SyncRequests(),
        clock=lambda: NOW,
    )


def _listings(deps: ListingsReadDependencies) -> dict[str, Listing]:
    return {x.variant_id: x for x in deps.listings.of_buyer("acme")}  # type: ignore[attr-defined]


def _full(rule: dict[str, str] | None = None) -> CatalogSyncRequest:
    return CatalogSyncRequest(seller=ACME, full=True, buyer_listings=True, vendor_sellers=rule or {})


def test_each_buyer_variant_is_linked_to_the_one_seller_whose_sku_it_carries_before_any_order() -> None:
    deps = _world(
        _buyer_variant("1", "NW-STOVE", "Camp stove"),
        _buyer_variant("2", "SW-JACKET", "Rain jacket"),
        _buyer_variant("3", "SHARED-MUG", "Mug"),
        _buyer_variant("4", "ACME-CANDLE", "Candle"),
        _buyer_variant("5", "OLD-STOVE", "Stove, old SKU"),  # northwind's alias of NW-STOVE
        _buyer_variant("6", None, "Gift wrap"),
    )
    result = read_buyer_catalog(_full(), deps)
    listings = _listings(deps)
    assert {v: (x.seller_id, x.linked_by) for v, x in listings.items()} == {
        "1": ("northwind", LinkedBy.SKU),
        "2": ("southwind", LinkedBy.SKU),
        "3": (None, LinkedBy.AMBIGUOUS),
        "4": (None, LinkedBy.OWN),
        "5": ("northwind", LinkedBy.SKU),
        "6": (None, LinkedBy.OWN),
    }
    assert listings["1"].seller_variant_id == "71" and listings["1"].title == "Camp stove"
    assert listings["3"].candidates == ("northwind", "southwind") and listings["3"].waiting_orders == ()
    assert (result.variants, result.linked, result.own, result.ambiguous) == (6, 3, 2, 1)
    assert deps.ledger.buyer_runs == [("acme", NOW, True, 6)]  # type: ignore[attr-defined]
    assert deps.ledger.runs == []  # type: ignore[attr-defined]  # a buyer's run is recorded apart from a seller's


def test_a_link_outlives_the_sellers_renamed_sku_so_the_next_order_is_that_sellers_mismatch() -> None:
    deps = _world(_buyer_variant("1", "NW-STOVE"))
    read_buyer_catalog(_full(), deps)
    # northwind renames its SKU (a full catalog run retires the old one); the buyer's still says NW-STOVE
    deps.catalog.variants = [  # type: ignore[attr-defined]
        v
        for v in deps.catalog.variants
        if v.sku != "NW-STOVE"  # type: ignore[attr-defined]
    ] + [variant("NW-STOVE-2", "71")]
    again = read_buyer_catalog(_full(), deps)
    assert again.linked == 0 and _listings(deps)["1"].seller_id == "northwind"  # not re-matched: not own
    line = CatalogVariantLine(_buyer_variant("1", "NW-STOVE"))
    split = split_order([line], "1001", "acme", _listings(deps), {}, lambda: NOW)
    assert split.lines_of("northwind") == [line] and split.own_lines == []


def test_ops_decisions_and_sku_links_are_kept_whatever_the_read_finds_later() -> None:
    deps = _world(_buyer_variant("1", "NW-STOVE"), _buyer_variant("2", "ACME-CANDLE"))
    deps.listings.put_matched(  # type: ignore[attr-defined]
        [Listing("acme", "2", None, LinkedBy.OWN, NOW, "ACME-CANDLE")]
    )
    deps.listings.put(relink(Listing("acme", "1", "northwind", LinkedBy.SKU, NOW), None, NOW))  # type: ignore[attr-defined]
    read_buyer_catalog(_full(), deps)
    assert _listings(deps)["1"].seller_id is None and _listings(deps)["1"].linked_by is LinkedBy.OPS
    # the buyer renames its own candle's SKU to one southwind sells: a listing of the retailer's own
    # by a match is looked at again (a seller may list it since)
    deps.stores.store.variants[1] = _buyer_variant("2", "SW-JACKET")  # type: ignore[attr-defined]
    read_buyer_catalog(_full(), deps)
    assert _listings(deps)["2"].seller_id == "southwind"


def test_an_ambiguity_the_read_settles_replays_the_orders_that_waited_on_it() -> None:
    deps = _world(_buyer_variant("3", "SHARED-MUG"))
    waiting = Listing(
        "acme", "3", None, LinkedBy.AMBIGUOUS, NOW, "SHARED-MUG", candidates=("northwind", "southwind"),
        waiting_orders=("1001", "1002"),
    )  # fmt: skip
    deps.listings.put_matched([waiting])  # type: ignore[attr-defined]
    deps.catalog.variants = [  # type: ignore[attr-defined]
        v
        for v in deps.catalog.variants
        if (v.seller_id, v.sku) != ("southwind", "SHARED-MUG")  # type: ignore[attr-defined]
    ]
    result = read_buyer_catalog(_full(), deps)
    assert _listings(deps)["3"].seller_id == "northwind"
    envelopes = deps.queue.envelopes  # type: ignore[attr-defined]
    assert {(e.seller_id, requested_read(e.payload)) for e in envelopes} == {
        ("northwind", "1001"),
        ("northwind", "1002"),
    }
    assert sorted(result.replayed) == ["acme--northwind#1001", "acme--northwind#1002"]


def test_a_long_catalog_is_continued_from_its_page_and_recorded_only_at_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deps = _world(*[_buyer_variant(str(n), f"ACME-{n}") for n in range(1, 6)])
    monkeypatch.setattr(catalog_runs, "MAX_PAGES_PER_INVOCATION", 2)
    first = read_buyer_catalog(_full(), deps)
    (continuation,) = deps.sync_queue.requests  # type: ignore[union-attr, attr-defined]
    assert first.continued and continuation.resume == "4" and continuation.variants == 4 and continuation.buyer_listings
    assert deps.ledger.buyer_runs == []  # type: ignore[attr-defined]
    last = read_buyer_catalog(continuation, deps)
    assert not last.continued and deps.ledger.buyer_runs == [("acme", NOW, True, 5)]  # type: ignore[attr-defined]
    assert deps.ledger.started == [("acme", NOW)]  # type: ignore[attr-defined]  # once, by the run's first invocation
    assert len(_listings(deps)) == 5


def test_the_catalog_runs_queue_takes_a_buyers_run_to_its_listings() -> None:
    reads = _world(_buyer_variant("1", "NW-STOVE"))
    deps = CatalogSyncDependencies(
        stores=reads.stores,
        catalog=None,  # type: ignore[arg-type]  # a seller's run would need it: none here
        orders=reads.orders,
        queue=reads.queue,
        dlq=reads.dlq,
        ledger=reads.ledger,
        listings_read=reads,
    )
    body = json.dumps(_full().model_dump(mode="json"))
    assert sync_seller_batch({"Records": [sqs_record("m1", body)]}, LambdaContext(900_000), deps) == {  # type: ignore[arg-type]
        "batchItemFailures": []
    }
    assert _listings(reads)["1"].seller_id == "northwind"


def test_the_buyer_s_vendor_rule_names_the_seller_before_any_sku_is_matched() -> None:
    deps = _world(
        _buyer_variant("1", "NW-STOVE", "Stove, Southwind's make", vendor=" southwind co "),  # SKU: northwind's
        _buyer_variant("2", "NO-SUCH-SKU", "Jacket", vendor="Southwind Co"),  # no SKU anyone sells
        _buyer_variant("3", "SW-JACKET", "Mug", vendor="Acme Own Brand"),  # no rule: by its SKU
        _buyer_variant("4", "ACME-CANDLE", "Candle", vendor="Ghost Supply"),  # a seller it doesn't buy from
        _buyer_variant("5", "NW-STOVE", "Stove", vendor="Southwind Co"),  # ops decided: stands
    )
    deps.listings.put(relink(Listing("acme", "5", "northwind", LinkedBy.SKU, NOW), "northwind", NOW))  # type: ignore[attr-defined]
    rule = {"Southwind Co": "southwind", "Ghost Supply": "ghost"}
    read_buyer_catalog(_full(rule), deps)
    listings = _listings(deps)
    assert {v: (x.seller_id, x.linked_by) for v, x in listings.items()} == {
        "1": ("southwind", LinkedBy.VENDOR),
        "2": ("southwind", LinkedBy.VENDOR),
        "3": ("southwind", LinkedBy.SKU),
        "4": (None, LinkedBy.OWN),
        "5": ("northwind", LinkedBy.OPS),
    }
    # an order's first sight never re-matches a vendor's link by its SKU
    line = CatalogVariantLine(_buyer_variant("1", "NW-STOVE"))
    assert split_order([line], "7", "acme", listings, {}, lambda: NOW).lines_of("southwind") == [line]

    read_buyer_catalog(_full(), deps)  # the rule gone: its links are matched by their SKUs again
    after = _listings(deps)
    assert (after["1"].seller_id, after["1"].linked_by, after["1"].moved_from) == (
        "northwind",
        LinkedBy.SKU,
        ("southwind",),
    )
    assert (after["2"].seller_id, after["2"].linked_by) == (None, LinkedBy.OWN)


def test_a_vendor_rule_moving_a_product_remembers_the_seller_it_moved_from() -> None:
    deps = _world(_buyer_variant("1", "NW-STOVE", vendor="Southwind Co"))
    read_buyer_catalog(_full(), deps)
    assert _listings(deps)["1"].seller_id == "northwind"
    read_buyer_catalog(_full({"southwind co": "southwind"}), deps)
    moved = _listings(deps)["1"]
    assert (moved.seller_id, moved.moved_from) == ("southwind", ("northwind",))  # its posted orders stay there


@dataclass
class Stores:
    records: dict[str, StoreRecord]

    def get(self, store_id: str) -> StoreRecord | None:
        return self.records.get(store_id)

    def set_vendor_sellers(self, store_id: str, rule: dict[str, str]) -> bool:
        self.records[store_id] = self.records[store_id].model_copy(
            update={"vendor_sellers": rule, "listings_full_at": None}
        )
        return True


def test_ops_set_a_vendor_rule_in_sentences_and_the_next_run_reads_every_product() -> None:
    reads = _world()
    acme = StoreRecord(**ACME.model_dump(), added_at=NOW, checked_at=NOW, listings_full_at=NOW)
    stores = Stores({"acme": acme})
    admin = ListingDependencies(
        reads.listings, reads.connections, FailedOrders([]), Queue(), Dlq([]), lambda: NOW, stores
    )  # type: ignore[arg-type]
    assert set_vendor_rule("acme", " Southwind Co ", "southwind", admin) == {"Southwind Co": "southwind"}
    assert stores.records["acme"].listings_full_at is None  # the next hourly run is a full read
    assert vendor_rule_of("acme", admin) == {"Southwind Co": "southwind"}
    with pytest.raises(LookupError, match="buys from no seller 'ghost' \\(its sellers: northwind, southwind\\)"):
        set_vendor_rule("acme", "Ghost", "ghost", admin)
    with pytest.raises(ValueError, match="is not a vendor or brand"):
        set_vendor_rule("acme", "  ", "southwind", admin)
    with pytest.raises(LookupError, match="has no vendor rule for 'Peak'"):
        set_vendor_rule("acme", "Peak", None, admin)
    assert set_vendor_rule("acme", "southwind CO", None, admin) == {}  # case aside, it is the same vendor
    with pytest.raises(LookupError, match="is the buyer of no connection"):
        vendor_rule_of("nobody", admin)
