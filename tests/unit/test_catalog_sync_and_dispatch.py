"""The catalog sync, replays and the alert dispatch over in-memory ports: what is written, what is
replayed (and only that), what is sent and when the outbox is emptied."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from ordersync.alerts.digest import OutgoingEmail, QueuedAlert
from ordersync.domain.catalog import (
    CATALOG_OVERLAP,
    RUN_GIVEN_UP_AFTER,
    SMALL_CATALOG_VARIANTS,
    CatalogVariant,
    StoreVariant,
    VariantStatus,
)
from ordersync.errors import StoreUnavailable
from ordersync.models import (
    CatalogSyncRequest,
    Cause,
    Connection,
    OrderEnvelope,
    OrderStatus,
    Platform,
    StoreRecord,
    StoreRef,
    requested_read,
)
from ordersync.observability import metrics
from ordersync.records import OrderRecord
from ordersync.services import catalog_runs
from ordersync.services.catalog_sync import (
    CatalogFanOutDependencies,
    CatalogSyncDependencies,
    SellerSync,
    request_catalog_syncs,
    sync_seller,
    sync_seller_batch,
)
from ordersync.services.dispatch import DispatchDependencies, dispatch_alerts
from ordersync.services.replay import replay

from .catalog_builders import NOW, LambdaContext, counted_metrics, sqs_record, store_ref
from .in_memory import InMemoryConnections

EARLIER = NOW - timedelta(hours=1)


def _connection(buyer: str, seller: str) -> Connection:
    return Connection(
        connection_id=f"{buyer}--{seller}", buyer=store_ref(buyer, Platform.SHOPIFY), seller=store_ref(seller)
    )


@dataclass
class SellerCatalogs:
    """Seller stores listing their variants in pages (resumed by page number); `changed` lists
    what a "changed since" read returns; a store in `down` answers as unavailable."""

    listings: dict[str, list[list[StoreVariant]]]
    changed: dict[str, list[list[StoreVariant]]] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    asked: list[tuple[str, datetime | None, str | None]] = field(default_factory=list)

    def seller(self, store: StoreRef) -> Any:
        catalogs = self

        class Store:
            def catalog_pages(
                self, changed_since: datetime | None = None, resume: str | None = None
            ) -> Iterator[tuple[list[StoreVariant], str | None]]:
                catalogs.asked.append((store.store_id, changed_since, resume))
                if store.store_id in catalogs.down:
                    raise StoreUnavailable(f"{store.store_id} is down")
                pages = (catalogs.changed if changed_since else catalogs.listings)[store.store_id]
                for number in range(int(resume or 0), len(pages)):
                    yield pages[number], str(number + 1) if number + 1 < len(pages) else None

        return Store()

    def buyer(self, store: StoreRef) -> Any:
        raise AssertionError("the catalog sync never reads a buyer store")


@dataclass
class Catalog:
    """The catalog table: groups by (seller, SKU); what each put_groups wrote, in order."""

    stored: dict[str, dict[str, list[CatalogVariant]]] = field(default_factory=dict)
    written: list[dict[tuple[str, str], list[CatalogVariant]]] = field(default_factory=list)

    def variants_of(self, seller_id: str) -> dict[str, list[CatalogVariant]]:
        return dict(self.stored.get(seller_id, {}))

    def groups(self, seller_id: str, skus: Sequence[str]) -> dict[str, list[CatalogVariant]]:
        return {sku: g for sku, g in self.stored.get(seller_id, {}).items() if sku in skus}

    def put_groups(self, grouped: dict[tuple[str, str], list[CatalogVariant]]) -> None:
        self.written.append(grouped)
        for (seller_id, sku), group in grouped.items():
            self.stored.setdefault(seller_id, {})[sku] = group


@dataclass
class Ledger:
    records: dict[str, StoreRecord] = field(default_factory=dict)
    runs: list[tuple[str, datetime, bool, int]] = field(default_factory=list)
    started: list[tuple[str, datetime]] = field(default_factory=list)

    def all(self) -> list[StoreRecord]:
        return list(self.records.values())

    buyer_runs: list[tuple[str, datetime, bool, int]] = field(default_factory=list)

    def catalog_started(self, store_id: str, started: datetime, as_buyer: bool = False) -> bool:
        self.started.append((store_id, started))
        return store_id in self.records

    def catalog_synced(
        self, store_id: str, started: datetime, full: bool, variants: int, as_buyer: bool = False
    ) -> bool:
        (self.buyer_runs if as_buyer else self.runs).append((store_id, started, full, variants))
        return store_id in self.records


@dataclass
class SyncRequests:
    requests: list[CatalogSyncRequest] = field(default_factory=list)

    def request_syncs(self, requests: Sequence[CatalogSyncRequest]) -> None:
        self.requests.extend(requests)


@dataclass
class FailedOrders:
    records: list[OrderRecord]
    asked: list[tuple[str, OrderStatus]] = field(default_factory=list)

    def by_seller_status(self, seller_id: str, status: OrderStatus) -> list[OrderRecord]:
        self.asked.append((seller_id, status))
        return [r for r in self.records if r.seller_id == seller_id and r.status is status]


@dataclass
class Queue:
    envelopes: list[OrderEnvelope] = field(default_factory=list)

    def enqueue(self, envelopes: Sequence[OrderEnvelope]) -> None:
        self.envelopes.extend(envelopes)


@dataclass
class Dlq:
    messages: list[dict[str, Any]]

    def remove(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        taken = [m for m in self.messages if predicate(m)]
        self.messages = [m for m in self.messages if not predicate(m)]
        return taken


def _failed(number: str, seller: str, blocked: list[str], status: OrderStatus = OrderStatus.FAILED) -> OrderRecord:
    envelope = OrderEnvelope(
        connection_id=f"acme--{seller}",
        buyer_id="acme",
        buyer_name="Acme",
        buyer_platform=Platform.SHOPIFY,
        seller_id=seller,
        seller_name=seller.title(),
        seller_platform=Platform.WOOCOMMERCE,
        order_id=number,
        order_number=f"#{number}",
        payload={"id": number},
        pulled_at=NOW,
        cause=Cause.PULL,
    )
    record = OrderRecord.first_seen(envelope, NOW)
    record.status, record.blocked_skus = status, blocked
    return record


def _dlq_message(order_key: str) -> dict[str, Any]:
    return {"MessageId": order_key, "Body": json.dumps({"order_key": order_key})}


def _listed(variant_id: str, sku: str) -> StoreVariant:
    return StoreVariant(f"P{variant_id}", variant_id, sku, "Kettle", "")


def _kept(variant_id: str, sku: str, status: VariantStatus = VariantStatus.ACTIVE) -> CatalogVariant:
    return CatalogVariant("northwind", f"P{variant_id}", variant_id, sku, "Kettle", "", status, EARLIER)


def seller_world() -> CatalogSyncDependencies:
    """northwind lists a new SKU (three orders waiting, one for it) and one it had; ridge one."""
    return CatalogSyncDependencies(
        stores=SellerCatalogs(
            {"northwind": [[_listed("1", "NW-KETTLE")], [_listed("2", "NW-GRILL")]], "ridge": [[_listed("9", "R-1")]]}
        ),
        catalog=Catalog({"northwind": {"NW-GRILL": [_kept("2", "NW-GRILL")]}}),
        orders=FailedOrders(
            [
                _failed("1501", "northwind", ["NW-KETTLE"]),  # waits for the new SKU
                _failed("1502", "northwind", ["NW-PAN"]),  # waits for another
                _failed("1503", "ridge", ["NW-KETTLE"]),  # another seller's
                _failed("1504", "northwind", ["NW-KETTLE"], OrderStatus.SYNCED),
            ]
        ),
        queue=Queue(),
        dlq=Dlq([_dlq_message("acme--northwind#1501"), _dlq_message("acme--northwind#1502")]),
        ledger=Ledger(),
        sync_queue=SyncRequests(),
        clock=lambda: NOW,
    )


@pytest.fixture
def world() -> CatalogSyncDependencies:
    return seller_world()


def _full(seller: str = "northwind", **fields: Any) -> CatalogSyncRequest:
    return CatalogSyncRequest(seller=store_ref(seller), full=True, **fields)


def test_a_seller_s_new_sku_is_written_and_the_orders_it_unblocks_are_replayed(world: CatalogSyncDependencies) -> None:
    result = sync_seller(_full(), world)
    assert result == SellerSync("northwind", full=True, variants=2, changed_skus=1, replayed=["acme--northwind#1501"])
    assert world.catalog.stored["northwind"] == {  # type: ignore[attr-defined]
        "NW-KETTLE": [CatalogVariant("northwind", "P1", "1", "NW-KETTLE", "Kettle", "", VariantStatus.ACTIVE, NOW)],
        "NW-GRILL": [CatalogVariant("northwind", "P2", "2", "NW-GRILL", "Kettle", "", VariantStatus.ACTIVE, NOW)],
    }
    assert world.orders.asked == [("northwind", OrderStatus.FAILED)]  # type: ignore[attr-defined]
    (replayed,) = world.queue.envelopes  # type: ignore[attr-defined]
    assert (replayed.order_key, replayed.cause) == ("acme--northwind#1501", Cause.REPLAY)
    assert [m["MessageId"] for m in world.dlq.messages] == ["acme--northwind#1502"]  # type: ignore[attr-defined]
    assert world.ledger.started == [("northwind", NOW)]  # type: ignore[attr-defined]
    assert world.ledger.runs == [("northwind", NOW, True, 2)]  # type: ignore[attr-defined]


def test_nothing_new_replays_nothing(world: CatalogSyncDependencies) -> None:
    world.stores.listings["northwind"] = [[_listed("2", "NW-GRILL")]]  # type: ignore[attr-defined]
    assert sync_seller(_full(), world) == SellerSync("northwind", full=True, variants=1, changed_skus=0)
    assert world.orders.asked == [] and world.queue.envelopes == []  # type: ignore[attr-defined]


def test_a_full_read_retires_what_the_store_no_longer_lists(world: CatalogSyncDependencies) -> None:
    world.catalog.stored["northwind"]["NW-PAN"] = [_kept("3", "NW-PAN"), _kept("4", "NW-PAN", VariantStatus.DELETED)]  # type: ignore[attr-defined]
    result = sync_seller(_full(), world)
    assert result.retired == 1
    assert world.catalog.stored["northwind"]["NW-PAN"] == [  # type: ignore[attr-defined]
        _kept("3", "NW-PAN", VariantStatus.DELETED),
        _kept("4", "NW-PAN", VariantStatus.DELETED),
    ]


def test_a_read_of_changes_asks_the_store_for_them_and_retires_nothing_it_did_not_list(
    world: CatalogSyncDependencies,
) -> None:
    world.catalog.stored["northwind"]["NW-PAN"] = [_kept("3", "NW-PAN")]  # type: ignore[attr-defined]
    world.stores.changed["northwind"] = [[_listed("1", "NW-KETTLE")]]  # type: ignore[attr-defined]
    request = CatalogSyncRequest(seller=store_ref("northwind"), full=False, changed_since=EARLIER)
    result = sync_seller(request, world)
    assert result == SellerSync("northwind", full=False, variants=1, changed_skus=1, replayed=["acme--northwind#1501"])
    assert world.stores.asked == [("northwind", EARLIER, None)]  # type: ignore[attr-defined]
    assert world.catalog.stored["northwind"]["NW-PAN"] == [_kept("3", "NW-PAN")]  # type: ignore[attr-defined]
    assert world.ledger.runs == [("northwind", NOW, False, 1)]  # type: ignore[attr-defined]


def test_a_run_short_of_time_hands_the_rest_to_a_continuation_that_finishes_it(
    world: CatalogSyncDependencies,
) -> None:
    world.catalog.stored["northwind"]["NW-PAN"] = [_kept("3", "NW-PAN")]  # type: ignore[attr-defined]
    first = sync_seller(_full(), world, time_left_ms=lambda: catalog_runs.TIME_RESERVE_MS - 1)
    assert first == SellerSync(
        "northwind", full=True, variants=1, changed_skus=1, replayed=["acme--northwind#1501"], continued=True
    )
    (continuation,) = world.sync_queue.requests  # type: ignore[union-attr, attr-defined]
    assert continuation == _full(started=NOW, resume="1", variants=1)
    assert world.ledger.runs == []  # type: ignore[attr-defined]
    assert world.catalog.stored["northwind"]["NW-PAN"] == [_kept("3", "NW-PAN")]  # nothing retired yet  # type: ignore[attr-defined]

    later = replace(world, clock=lambda: NOW + timedelta(minutes=15))
    second = sync_seller(continuation, later, time_left_ms=lambda: catalog_runs.TIME_RESERVE_MS)
    assert (second.variants, second.retired, second.continued) == (1, 1, False)
    assert world.stores.asked[-1] == ("northwind", None, "1")  # type: ignore[attr-defined]
    assert world.ledger.runs == [("northwind", NOW, True, 2)]  # the run's start, every page's variants  # type: ignore[attr-defined]
    assert world.ledger.started == [("northwind", NOW)]  # once, by the run's first invocation  # type: ignore[attr-defined]
    assert world.catalog.stored["northwind"]["NW-GRILL"][0].last_seen_at == NOW  # type: ignore[attr-defined]


def test_without_a_queue_to_continue_on_a_run_goes_to_its_end(world: CatalogSyncDependencies) -> None:
    ops = replace(world, sync_queue=None)
    result = sync_seller(_full(), ops, time_left_ms=lambda: 0)
    assert (result.variants, result.continued) == (2, False)


def test_the_page_limit_continues_a_run_only_where_there_is_a_next_page(
    world: CatalogSyncDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_runs, "MAX_PAGES_PER_INVOCATION", 1)
    assert sync_seller(_full(), world).continued
    assert not sync_seller(_full("ridge"), world).continued
    assert [r.resume for r in world.sync_queue.requests] == ["1"]  # type: ignore[union-attr, attr-defined]


def _record(
    store_id: str,
    synced: datetime | None,
    full: datetime | None,
    variants: int | None,
    running: datetime | None = None,
) -> StoreRecord:
    ref = store_ref(store_id)
    return StoreRecord(
        **ref.model_dump(),
        added_at=EARLIER,
        checked_at=EARLIER,
        catalog_synced_at=synced,
        catalog_full_at=full,
        catalog_variants=variants,
        catalog_running_since=running,
    )


def test_the_hour_asks_one_run_per_seller_and_per_buyer_of_an_active_connection_planned_from_its_last_runs() -> None:
    connections = {
        c.connection_id: c
        for c in (
            _connection("acme", "northwind"),
            _connection("canyon", "northwind"),
            _connection("acme", "ridge"),
            _connection("acme", "summit").model_copy(update={"paused": True}),
        )
    }
    big = SMALL_CATALOG_VARIANTS + 1
    # acme's catalog was last read as a buyer's (into its listings): planned from that run, not a seller's
    acme = _record("acme", None, None, None).model_copy(
        update={"platform": Platform.SHOPIFY, "listings_synced_at": EARLIER, "listings_full_at": EARLIER}
    )
    ledger = Ledger(
        {
            "northwind": _record("northwind", EARLIER, EARLIER, big),
            "ridge": _record("ridge", None, None, None),
            "acme": acme,
        }
    )
    queue = SyncRequests()
    metrics.clear_metrics()
    requests = request_catalog_syncs(
        CatalogFanOutDependencies(InMemoryConnections(connections), ledger, queue, lambda: NOW)
    )
    assert (
        requests
        == queue.requests
        == [
            CatalogSyncRequest(seller=store_ref("northwind"), full=False, changed_since=EARLIER - CATALOG_OVERLAP),
            CatalogSyncRequest(seller=store_ref("ridge"), full=True),
            CatalogSyncRequest(
                seller=store_ref("acme", Platform.SHOPIFY),
                full=False,
                changed_since=EARLIER - CATALOG_OVERLAP,
                buyer_listings=True,
            ),
            CatalogSyncRequest(seller=store_ref("canyon", Platform.SHOPIFY), full=True, buyer_listings=True),
        ]
    )
    assert counted_metrics() == {"CatalogSyncsRequested": [4.0]}
    metrics.clear_metrics()


def test_a_seller_whose_run_is_still_going_is_not_started_again_until_the_run_looks_dead() -> None:
    connections = InMemoryConnections({"a": _connection("acme", "ridge")})
    for running, asked in (
        (NOW - RUN_GIVEN_UP_AFTER + timedelta(seconds=1), []),
        (NOW - RUN_GIVEN_UP_AFTER, ["ridge"]),
    ):
        ledger = Ledger({"ridge": _record("ridge", EARLIER, EARLIER, 10, running)})
        requests = request_catalog_syncs(CatalogFanOutDependencies(connections, ledger, SyncRequests(), lambda: NOW))
        assert [r.seller.store_id for r in requests if not r.buyer_listings] == asked


def test_a_seller_missing_from_the_stores_table_is_read_whole() -> None:
    queue = SyncRequests()
    deps = CatalogFanOutDependencies(
        InMemoryConnections({"a": _connection("acme", "ridge")}), Ledger(), queue, lambda: NOW
    )
    assert request_catalog_syncs(deps)[0] == CatalogSyncRequest(seller=store_ref("ridge"), full=True)


def test_one_store_down_fails_only_its_own_record(world: CatalogSyncDependencies) -> None:
    world.stores.down.add("northwind")  # type: ignore[attr-defined]
    records = [sqs_record("m-n", _full().model_dump_json()), sqs_record("m-r", _full("ridge").model_dump_json())]
    response = sync_seller_batch({"Records": records}, LambdaContext(600_000), world)  # type: ignore[arg-type]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-n"}]}
    assert world.ledger.runs == [("ridge", NOW, True, 1)]  # type: ignore[attr-defined]


def test_a_replay_marks_the_orders_as_replays_and_takes_them_out_of_the_dlq() -> None:
    queue, dlq = Queue(), Dlq([_dlq_message("acme--northwind#1"), _dlq_message("acme--northwind#3")])
    records = [_failed("1", "northwind", []), _failed("2", "northwind", [])]
    assert replay(records, queue, dlq) == records
    assert [(e.order_key, e.cause) for e in queue.envelopes] == [
        ("acme--northwind#1", Cause.REPLAY),
        ("acme--northwind#2", Cause.REPLAY),
    ]
    assert [m["MessageId"] for m in dlq.messages] == ["acme--northwind#3"]


def test_nothing_to_replay_touches_nothing_and_a_synced_order_is_read_from_the_buyer_store_again() -> None:
    queue, dlq = Queue(), Dlq([_dlq_message("acme--northwind#1")])
    assert replay([], queue, dlq) == [] and queue.envelopes == [] and len(dlq.messages) == 1
    synced = _failed("1", "northwind", [], OrderStatus.SYNCED)
    synced.envelope = {}  # a synced record keeps no payload
    replay([synced], queue, dlq)
    (again,) = queue.envelopes
    assert (again.order_key, again.cause, requested_read(again.payload)) == ("acme--northwind#1", Cause.REPLAY, "1")
    assert dlq.messages == []


# --- dispatch --------------------------------------------------------------------------------


@dataclass
class Outbox:
    alerts: list[QueuedAlert]
    events: list[str] = field(default_factory=list)

    def take_all(self) -> tuple[list[QueuedAlert], list[str]]:
        return self.alerts, [f"h{i}" for i in range(len(self.alerts))]

    def delete(self, handles: list[str]) -> None:
        self.events.append(f"delete {handles}")


@dataclass
class Emails:
    outbox: Outbox

    def send(self, email: OutgoingEmail) -> None:
        self.outbox.events.append(f"send {email.audience} {email.subject}")


def _alert(number: str) -> QueuedAlert:
    return QueuedAlert(
        order_key=f"acme--northwind#{number}",
        order_number=f"#{number}",
        buyer_name="Acme",
        seller_id="northwind",
        seller_name="Northwind",
        seller_platform="woocommerce",
        reason="SKU_MISMATCH",
        subject=f"about {number}",
        seller_body="b",
        ops_body="o",
    )


def test_alerts_are_sent_before_the_outbox_forgets_them() -> None:
    outbox = Outbox([_alert("1"), _alert("2")])
    assert dispatch_alerts(DispatchDependencies(outbox, Emails(outbox), digest_threshold=5)) == {
        "alerts": 2,
        "emails": 4,
    }
    assert outbox.events == [  # ops' first: a send failing midway has told ops and sent no seller twice
        "send ops [ops] Order #1 from Acme to Northwind's WooCommerce store: SKU mismatch",
        "send ops [ops] Order #2 from Acme to Northwind's WooCommerce store: SKU mismatch",
        "send seller about 1",
        "send seller about 2",
        "delete ['h0', 'h1']",
    ]
    digest = Outbox([_alert("1"), _alert("2")])
    assert dispatch_alerts(DispatchDependencies(digest, Emails(digest), digest_threshold=1)) == {
        "alerts": 2,
        "emails": 2,
    }


def test_a_small_shopify_catalog_is_read_for_changes_and_a_small_woocommerce_one_whole() -> None:
    connections = InMemoryConnections({"a": _connection("acme", "peak-shop"), "b": _connection("acme", "northwind")})
    shop = _record("peak-shop", EARLIER, EARLIER, 10).model_copy(update={"platform": Platform.SHOPIFY})
    ledger = Ledger({"peak-shop": shop, "northwind": _record("northwind", EARLIER, EARLIER, 10)})
    connections.connections["a"] = connections.connections["a"].model_copy(
        update={"seller": store_ref("peak-shop", Platform.SHOPIFY)}
    )
    requests = request_catalog_syncs(CatalogFanOutDependencies(connections, ledger, SyncRequests(), lambda: NOW))
    sellers = [(r.seller.store_id, r.full) for r in requests if not r.buyer_listings]
    assert sellers == [("peak-shop", False), ("northwind", True)]


def test_a_run_still_going_holds_only_its_own_seller() -> None:
    connections = InMemoryConnections({"a": _connection("acme", "ridge"), "b": _connection("acme", "northwind")})
    ledger = Ledger({"ridge": _record("ridge", EARLIER, EARLIER, 10, running=NOW)})
    requests = request_catalog_syncs(CatalogFanOutDependencies(connections, ledger, SyncRequests(), lambda: NOW))
    assert [r.seller.store_id for r in requests if not r.buyer_listings] == ["northwind"]


def test_the_page_limit_counts_pages_from_one_and_exactly_the_reserve_goes_on(
    world: CatalogSyncDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.stores.listings["northwind"] = [[_listed(str(n), f"NW-{n}")] for n in range(3)]  # type: ignore[attr-defined]
    monkeypatch.setattr(catalog_runs, "MAX_PAGES_PER_INVOCATION", 2)
    assert sync_seller(_full(), world, time_left_ms=lambda: catalog_runs.TIME_RESERVE_MS).variants == 2
    assert [r.resume for r in world.sync_queue.requests] == ["2"]  # type: ignore[union-attr, attr-defined]


def test_the_invocation_s_time_left_decides_when_a_run_continues(world: CatalogSyncDependencies) -> None:
    record = sqs_record("m-n", _full().model_dump_json())
    sync_seller_batch({"Records": [record]}, LambdaContext(catalog_runs.TIME_RESERVE_MS - 1), world)  # type: ignore[arg-type]
    assert [r.resume for r in world.sync_queue.requests] == ["1"]  # type: ignore[union-attr, attr-defined]
