"""The catalog sync, replays and the alert dispatch over in-memory ports: what is written, what is
replayed (and only that), what is sent and when the outbox is emptied."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from ordersync.alerts.digest import OutgoingEmail, QueuedAlert
from ordersync.domain.catalog import CatalogVariant, StoreVariant, VariantStatus
from ordersync.errors import StoreUnavailable
from ordersync.models import Cause, Connection, OrderEnvelope, OrderStatus, Platform, StoreRef
from ordersync.records import OrderRecord
from ordersync.services.catalog_sync import CatalogSyncDependencies, SellerSync, sync_all, sync_seller
from ordersync.services.dispatch import DispatchDependencies, dispatch_alerts
from ordersync.services.replay import replay

from .catalog_builders import NOW, store_ref
from .in_memory import InMemoryConnections


def _connection(buyer: str, seller: str) -> Connection:
    return Connection(
        connection_id=f"{buyer}--{seller}", buyer=store_ref(buyer, Platform.SHOPIFY), seller=store_ref(seller)
    )


@dataclass
class SellerCatalogs:
    """Seller stores listing their variants in pages; a store in `down` answers as unavailable."""

    listings: dict[str, list[list[StoreVariant]]]
    down: set[str] = field(default_factory=set)

    def seller(self, store: StoreRef) -> Any:
        listing = self.listings[store.store_id]  # an unknown seller is a test failure
        down = store.store_id in self.down

        class Store:
            def catalog(self) -> Iterator[list[StoreVariant]]:
                if down:
                    raise StoreUnavailable(f"{store.store_id} is down")
                yield from listing

        return Store()

    def buyer(self, store: StoreRef) -> Any:
        raise AssertionError("the catalog sync never reads a buyer store")


@dataclass
class Catalog:
    stored: dict[str, dict[str, list[CatalogVariant]]] = field(default_factory=dict)
    written: list[dict[tuple[str, str], list[CatalogVariant]]] = field(default_factory=list)

    def variants_of(self, seller_id: str) -> dict[str, list[CatalogVariant]]:
        return self.stored.get(seller_id, {})

    def put_groups(self, grouped: dict[tuple[str, str], list[CatalogVariant]]) -> None:
        self.written.append(grouped)


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


def seller_world() -> CatalogSyncDependencies:
    """Two buyers into northwind (one new SKU in its store, three orders waiting), one into ridge."""
    return CatalogSyncDependencies(
        connections=InMemoryConnections(
            {c.connection_id: c for c in (_connection("acme", "northwind"), _connection("canyon", "northwind"))}
            | {"acme--ridge": _connection("acme", "ridge")}
        ),
        stores=SellerCatalogs(
            {"northwind": [[_listed("1", "NW-KETTLE")], [_listed("2", "NW-GRILL")]], "ridge": [[_listed("9", "R-1")]]}
        ),
        catalog=Catalog(
            {
                "northwind": {
                    "NW-GRILL": [
                        CatalogVariant("northwind", "P2", "2", "NW-GRILL", "Kettle", "", VariantStatus.ACTIVE, NOW)
                    ]
                }
            }
        ),
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
        clock=lambda: NOW,
    )


@pytest.fixture
def world() -> CatalogSyncDependencies:
    return seller_world()


def test_a_seller_s_new_sku_is_written_and_the_orders_it_unblocks_are_replayed(world: CatalogSyncDependencies) -> None:
    result = sync_seller(store_ref("northwind"), world)
    assert result == SellerSync("northwind", variants=2, changed_skus=1, replayed=["acme--northwind#1501"])
    (written,) = world.catalog.written  # type: ignore[attr-defined]
    assert list(written) == [("northwind", "NW-KETTLE")]
    assert world.orders.asked == [("northwind", OrderStatus.FAILED)]  # type: ignore[attr-defined]
    (replayed,) = world.queue.envelopes  # type: ignore[attr-defined]
    assert (replayed.order_key, replayed.cause) == ("acme--northwind#1501", Cause.REPLAY)
    assert [m["MessageId"] for m in world.dlq.messages] == ["acme--northwind#1502"]  # type: ignore[attr-defined]


def test_nothing_new_replays_nothing(world: CatalogSyncDependencies) -> None:
    world.stores.listings["northwind"] = [[_listed("2", "NW-GRILL")]]  # type: ignore[attr-defined]
    assert sync_seller(store_ref("northwind"), world) == SellerSync("northwind", variants=1, changed_skus=0)
    assert world.orders.asked == [] and world.queue.envelopes == []  # type: ignore[attr-defined]


def test_every_seller_is_synced_once_and_one_store_down_does_not_stop_the_others(
    world: CatalogSyncDependencies,
) -> None:
    world.stores.down.add("northwind")  # type: ignore[attr-defined]
    results = sync_all(world)
    assert [(r.seller_id, r.error) for r in results] == [("northwind", "northwind is down"), ("ridge", None)]
    assert results[1].variants == 1 and results[1].changed_skus == 1
    assert [list(w) for w in world.catalog.written] == [[("ridge", "R-1")]]  # type: ignore[attr-defined]


def test_a_replay_marks_the_orders_as_replays_and_takes_them_out_of_the_dlq() -> None:
    queue, dlq = Queue(), Dlq([_dlq_message("acme--northwind#1"), _dlq_message("acme--northwind#3")])
    records = [_failed("1", "northwind", []), _failed("2", "northwind", [])]
    assert replay(records, queue, dlq) == records
    assert [(e.order_key, e.cause) for e in queue.envelopes] == [
        ("acme--northwind#1", Cause.REPLAY),
        ("acme--northwind#2", Cause.REPLAY),
    ]
    assert [m["MessageId"] for m in dlq.messages] == ["acme--northwind#3"]


def test_nothing_to_replay_touches_nothing_and_a_synced_order_is_refused() -> None:
    queue, dlq = Queue(), Dlq([_dlq_message("acme--northwind#1")])
    assert replay([], queue, dlq) == [] and queue.envelopes == [] and len(dlq.messages) == 1
    synced = _failed("1", "northwind", [], OrderStatus.SYNCED)
    synced.envelope = {}  # a synced record keeps no payload
    with pytest.raises(ValueError, match=r"acme--northwind#1 is SYNCED: there is nothing to replay"):
        replay([synced], queue, dlq)
    assert queue.envelopes == [] and len(dlq.messages) == 1


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
    assert outbox.events == [
        "send seller about 1",
        "send seller about 2",
        "send ops [ops] about 1",
        "send ops [ops] about 2",
        "delete ['h0', 'h1']",
    ]
    digest = Outbox([_alert("1"), _alert("2")])
    assert dispatch_alerts(DispatchDependencies(digest, Emails(digest), digest_threshold=1)) == {
        "alerts": 2,
        "emails": 2,
    }
