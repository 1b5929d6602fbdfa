"""In-memory adapters behind the ports, for unit tests of the services."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordersync.alerts.messages import Alert
from ordersync.domain.catalog import CatalogSlice, CatalogVariant, VariantStatus
from ordersync.domain.decide import LineMatch
from ordersync.domain.listings import LinkedBy, Listing
from ordersync.errors import (
    ConcurrentUpdate,
    OnboardingRefused,
    OrderClaimed,
    ResourceThrottled,
    StoreRejected,
    StoreThrottled,
    StoreUnavailable,
)
from ordersync.models import (
    CanonicalOrder,
    Connection,
    OrderEnvelope,
    OrderStatus,
    Parcel,
    PostedCopy,
    SellerOrderState,
    StoreRecord,
    StoreRef,
)
from ordersync.records import Attempt, OrderRecord


class InMemoryOrders:
    """The orders table's contract: a claim answers the record as it was and is refused while
    another attempt's claim is live; every claim and write moves the version on."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.throttle_next: Counter[str] = Counter()  # "claim" / "save" / "release": refuse the next n

    def _throttled(self, call: str) -> None:
        if self.throttle_next[call] > 0:
            self.throttle_next[call] -= 1
            raise ResourceThrottled(f"order {call}: ProvisionedThroughputExceededException")

    def claim(
        self, envelope: OrderEnvelope, attempt: Attempt, reopen: bool = False, create: bool = True
    ) -> OrderRecord:
        self._throttled("claim")
        old = self.get(envelope.order_key)
        if old is None and not create:
            raise LookupError(envelope.order_key)
        if old is not None and (attempt.blocked_by(old) or old.settled_for(envelope.cause, reopen)):
            raise OrderClaimed(old)
        record = old or OrderRecord.first_seen(envelope, attempt.started_at)
        record.take_over(attempt)
        record.version += 1
        item = record.model_dump(mode="json")
        if old is None:  # as DynamoOrders: a new order's claim writes its RECEIVED record without the payload
            item["envelope"] = {}
        self.items[record.order_key] = item
        return record

    def key_of_seller_copy(self, seller_id: str, seller_order_id: str) -> str | None:
        return next(
            (
                k
                for k, i in self.items.items()
                if (i["seller_id"], i.get("seller_order_id")) == (seller_id, seller_order_id)
            ),
            None,
        )

    def claim_posted(self, order_key: str, attempt: Attempt, copy: tuple[str, str]) -> OrderRecord:
        """As DynamoOrders: an order in a seller's store as `copy`, free; its record with this attempt's claim."""
        self._throttled("claim")
        old = self.get(order_key)
        posted = (OrderStatus.SYNCED, OrderStatus.POSTED_MANUALLY, OrderStatus.CANCELLED)
        if old is None or (old.seller_id, old.seller_order_id) != copy or old.status not in posted:
            raise LookupError(order_key)
        if attempt.blocked_by(old):
            raise OrderClaimed(old)
        old.take_over(attempt, writes_looked_for_since=True)
        old.version += 1
        self.items[order_key] = old.model_dump(mode="json")
        return old

    def release(self, record: OrderRecord) -> None:
        self._throttled("release")
        stored = self.items[record.order_key]
        if stored.get("claimed_by") == record.claimed_by:
            stored.update(claimed_by=None, claimed_at=None, claim_until_ms=None, version=stored["version"] + 1)
            if record.post_unconfirmed_at is not None:
                stored["post_unconfirmed_at"] = record.post_unconfirmed_at.isoformat()
            record.version += 1
        record.release()

    def discard(self, record: OrderRecord) -> None:
        stored = self.items.get(record.order_key) or {}
        if (stored.get("claimed_by"), stored.get("version")) == (record.claimed_by, record.version):
            del self.items[record.order_key]
        else:
            self.release(record)

    def get(self, order_key: str) -> OrderRecord | None:
        item = self.items.get(order_key)
        return None if item is None else OrderRecord.model_validate(item)

    def save(self, record: OrderRecord) -> None:
        self._throttled("save")
        stored = self.items.get(record.order_key)
        if (stored or {}).get("version", 0) != record.version:
            raise ConcurrentUpdate(record.order_key)
        record.version += 1
        self.items[record.order_key] = record.model_dump(mode="json")


@dataclass
class InMemoryCatalog:
    variants: list[CatalogVariant] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    lookups: int = 0

    def lookup(self, seller_id: str, skus: Sequence[str]) -> CatalogSlice:
        """As DynamoCatalog: only this seller's variants, only the SKUs asked for and their aliases' targets."""
        self.lookups += 1
        aliases = {s: self.aliases[s] for s in skus if s in self.aliases}
        wanted = set(skus) | set(aliases.values())
        by_sku: dict[str, tuple[CatalogVariant, ...]] = {}
        for v in self.variants:
            if v.seller_id == seller_id and v.sku in wanted:
                by_sku[v.sku] = (*by_sku.get(v.sku, ()), v)
        return CatalogSlice(by_sku, aliases)

    def lookup_sellers(self, seller_ids: Sequence[str], skus: Sequence[str]) -> dict[str, CatalogSlice]:
        """As DynamoCatalog: one read for every seller (counted once)."""
        slices = {seller: self.lookup(seller, skus) for seller in dict.fromkeys(seller_ids)}
        self.lookups -= len(slices) - 1
        return slices

    def active_skus(self, seller_id: str) -> list[str]:
        return [v.sku for v in self.variants if v.status is VariantStatus.ACTIVE and v.seller_id == seller_id]

    def retire(self, variants: Iterable[CatalogVariant]) -> None:
        gone = {v.variant_id for v in variants}
        self.variants = [
            CatalogVariant(**{**v.__dict__, "status": VariantStatus.DELETED}) if v.variant_id in gone else v
            for v in self.variants
        ]


@dataclass
class InMemoryListings:
    """The listings table's contract: a match never overwrites ops' decision. `catalog`: read with
    the listings (the catalog table, in the same round trip)."""

    catalog: InMemoryCatalog
    items: dict[tuple[str, str], Listing] = field(default_factory=dict)

    def get_with_catalog(
        self, buyer_id: str, variant_ids: Sequence[str], seller_id: str, skus: Sequence[str]
    ) -> tuple[dict[str, Listing], CatalogSlice]:
        return self.get_many(buyer_id, variant_ids), self.catalog.lookup(seller_id, skus)

    def get_many(self, buyer_id: str, variant_ids: Sequence[str]) -> dict[str, Listing]:
        return {v: self.items[(buyer_id, v)] for v in variant_ids if (buyer_id, v) in self.items}

    def put_matched(self, listings: Sequence[Listing]) -> None:
        for listing in listings:
            stored = self.items.get((listing.buyer_id, listing.variant_id))
            if stored is None or stored.linked_by is not LinkedBy.OPS:
                self.items[(listing.buyer_id, listing.variant_id)] = listing

    def put(self, listing: Listing) -> None:
        self.items[(listing.buyer_id, listing.variant_id)] = listing

    def of_buyer(self, buyer_id: str) -> list[Listing]:
        return [listing for (buyer, _), listing in self.items.items() if buyer == buyer_id]


@dataclass
class InMemoryConnections:
    connections: dict[str, Connection] = field(default_factory=dict)
    cursors: dict[str, datetime] = field(default_factory=dict)

    def get(self, connection_id: str, fresh: bool = False) -> Connection:
        return self.connections[connection_id]

    def all(self) -> list[Connection]:
        return list(self.connections.values())

    def of_buyer(self, store_id: str, fresh: bool = False) -> list[Connection]:
        return [c for c in self.connections.values() if c.buyer.store_id == store_id]

    def of_shop(self, shop_domain: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.buyer.webhooks and c.buyer.shop_domain == shop_domain]

    def save_cursor(self, connection_id: str, cursor: datetime) -> None:
        self.cursors[connection_id] = cursor

    def pulled(self, connection_id: str, at: datetime, orders: int) -> None:
        self._update(
            connection_id,
            last_pull_at=at,
            last_pull_orders=orders,
            last_pull_error=None,
            broken_since=None,
            store_failing_since=None,
            failing_reported_at=None,
        )

    def refused(self, connection_id: str, at: datetime, error: str) -> bool:
        first = self.connections[connection_id].broken_since is None
        since = at if first else self.connections[connection_id].broken_since
        self._update(connection_id, last_pull_at=at, last_pull_error=error, broken_since=since)
        return first

    def store_failed(self, connection_id: str, at: datetime, error: str, progressed: bool) -> None:
        since = self.connections[connection_id].store_failing_since
        since = at if progressed or since is None else since
        self._update(connection_id, last_pull_at=at, last_pull_error=error, store_failing_since=since)

    def failing_reported(self, connection_id: str, at: datetime) -> bool:
        first = self.connections[connection_id].failing_reported_at is None
        if first:
            self._update(connection_id, failing_reported_at=at)
        return first

    def add(self, connection: Connection) -> None:
        if connection.connection_id in self.connections:
            raise OnboardingRefused(f"connection {connection.connection_id} exists already")
        self.connections[connection.connection_id] = connection

    def set_paused(self, connection_id: str, paused: bool) -> None:
        if connection_id not in self.connections:
            raise OnboardingRefused(f"no connection {connection_id!r}")
        self._update(connection_id, paused=paused)

    def remove(self, connection_id: str) -> None:
        self.connections.pop(connection_id, None)

    def _update(self, connection_id: str, **fields: Any) -> None:
        self.connections[connection_id] = self.connections[connection_id].model_copy(update=fields)


@dataclass
class InMemoryStores:
    stores: dict[str, StoreRecord] = field(default_factory=dict)

    def get(self, store_id: str) -> StoreRecord | None:
        return self.stores.get(store_id)

    def all(self) -> list[StoreRecord]:
        return sorted(self.stores.values(), key=lambda s: s.store_id)

    def add(self, store: StoreRecord) -> None:
        if store.store_id in self.stores:
            raise OnboardingRefused(f"store {store.store_id} exists already")
        self.stores[store.store_id] = store

    def checked(self, store_id: str, at: datetime, result: str) -> None:
        self.stores[store_id] = self.stores[store_id].model_copy(update={"checked_at": at, "check_result": result})

    def remove(self, store_id: str) -> None:
        del self.stores[store_id]

    def set_webhooks(self, store_id: str, on: bool, shop_domain: str | None) -> None:
        self.stores[store_id] = self.stores[store_id].model_copy(update={"webhooks": on, "shop_domain": shop_domain})


@dataclass
class InMemoryVault:
    """Secrets by ARN; `removed` keeps what was deleted, as Secrets Manager's recovery window does."""

    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def create(self, store_id: str, credentials: dict[str, str]) -> str:
        arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:ordersync/stores/{store_id}-AbCdEf"
        assert arn not in self.secrets, f"secret for {store_id} exists"
        self.secrets[arn] = dict(credentials)
        return arn

    def read(self, secret_arn: str) -> dict[str, Any]:
        return dict(self.secrets[secret_arn])

    def replace(self, secret_arn: str, credentials: dict[str, str]) -> None:
        assert secret_arn in self.secrets, f"no secret {secret_arn}"
        self.secrets[secret_arn] = dict(credentials)

    def remove(self, secret_arn: str) -> None:
        del self.secrets[secret_arn]
        self.removed.append(secret_arn)

    def webhook_keys(self, store_id: str) -> dict[str, str]:
        return dict(self.secrets.get(self._keys_arn(store_id), {}))

    def keep_webhook_keys(self, store_id: str, keys: dict[str, str]) -> None:
        self.secrets[self._keys_arn(store_id)] = dict(keys)

    def remove_webhook_keys(self, store_id: str) -> None:
        if self._keys_arn(store_id) in self.secrets:
            self.remove(self._keys_arn(store_id))

    @staticmethod
    def _keys_arn(store_id: str) -> str:
        return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:ordersync/webhooks/{store_id}-AbCdEf"


@dataclass
class RecordingDeadLetters:
    sent: list[tuple[dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def send(self, body: dict[str, Any], attributes: dict[str, str]) -> str:
        self.sent.append((body, attributes))
        return f"dlq-{len(self.sent)}"


@dataclass
class RecordingRetries:
    later: list[tuple[str, int]] = field(default_factory=list)

    def retry_later(self, body: str, delay_seconds: int) -> None:
        self.later.append((body, delay_seconds))


@dataclass
class RecordingAlerts:
    published: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, record: OrderRecord, alert: Alert) -> None:
        self.published.append(
            {
                "seller_id": record.seller_id,
                "subject": alert.subject,
                "seller": alert.seller_body,
                "ops": alert.ops_body,
                "buyer": alert.buyer_body,
            }
        )


@dataclass
class FakeSellerStore:
    """Creates orders in memory; can fail the next creates, or create and then "time out"."""

    created: dict[str, str] = field(default_factory=dict)  # source key -> order id
    posted: dict[str, tuple[str, list[tuple[str | None, str, int]]]] = field(default_factory=dict)  # key -> what
    present: frozenset[str] = frozenset()
    search_lag_seconds: float = 5.0
    lookups: int = 0
    fail_next: int = 0
    delay: float = 0.0  # seconds each create takes (a store's round trip)
    throttle_next: int = 0  # answer the next creates with 429 (Retry-After: `retry_after`)
    retry_after: float | None = 30.0
    reject_next: int = 0  # answer the next creates with a refusal (a 4xx): retrying won't help
    timeout_after_create: int = 0
    shipped: set[str] = field(default_factory=set)  # seller order ids some of which has left
    cancelled: list[str] = field(default_factory=list)  # seller order ids cancelled, in order
    refuse_cancel: str | None = None  # the store's words when it refuses to cancel
    parcels: dict[str, list[Parcel]] = field(default_factory=dict)  # seller order id -> its shipments
    addresses: dict[str, Any] = field(default_factory=dict)  # seller order id -> the address last put on it
    refuse_address: str | None = None
    address_timeouts: int = 0  # the next address updates time out
    reduced: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # seller order id -> lines set lower
    created_with: dict[str, Any] = field(default_factory=dict)  # seller order id -> the address it was created with
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def order_state(self, order_id: str) -> SellerOrderState:
        gone = order_id in self.cancelled
        shipped = order_id in self.shipped or bool(self.parcels.get(order_id))
        return SellerOrderState(gone, shipped, "cancelled" if gone else "open", tuple(self.parcels.get(order_id, [])))

    def reduce_lines(self, order_id: str, quantities: Any) -> None:
        self.reduced.setdefault(order_id, []).extend(quantities)

    def copy_address(self, order_id: str) -> Any:
        return self.addresses.get(order_id) or self.created_with.get(order_id)

    def update_shipping_address(self, order_id: str, address: Any) -> None:
        if self.address_timeouts:
            self.address_timeouts -= 1
            raise StoreUnavailable(f"PUT /orders/{order_id} timed out")
        if self.refuse_address:
            raise StoreRejected(self.refuse_address)
        self.addresses[order_id] = address

    def cancel_order(self, order_id: str) -> None:
        if self.refuse_cancel:
            raise StoreRejected(self.refuse_cancel)
        self.cancelled.append(order_id)

    def find_posted_order(self, source_key: str, since: datetime) -> str | None:
        self.lookups += 1
        return self.created.get(source_key)

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> PostedCopy:
        assert lines and all(m.variant is not None for m in lines), "only matched lines are ever posted"
        time.sleep(self.delay)
        if self.fail_next:
            self.fail_next -= 1
            raise StoreUnavailable("POST /orders answered 503")
        if self.throttle_next:
            self.throttle_next -= 1
            raise StoreThrottled("POST /orders answered 429", self.retry_after)
        if self.reject_next:
            self.reject_next -= 1
            raise StoreRejected("POST /orders answered 422: line 1 is out of stock")
        self.created[source_key] = f"S{next(self._ids)}"
        self.created_with[self.created[source_key]] = order.shipping_address
        self.posted[source_key] = (
            order.order_id,
            [(m.line.sku, m.variant.variant_id, m.line.quantity) for m in lines if m.variant],
        )
        if self.timeout_after_create:
            self.timeout_after_create -= 1
            raise StoreUnavailable("POST /orders timed out")
        copy = self.created[source_key]
        return PostedCopy(copy, tuple((m.line.line_id, f"{copy}-{n}") for n, m in enumerate(lines, start=1)))

    def variants_present(self, variants: Sequence[CatalogVariant]) -> frozenset[str]:
        return frozenset(v.variant_id for v in variants if v.variant_id in self.present)


@dataclass
class FakeStores:
    """The seller stores by store id: asking for any other store is a test failure, not a default."""

    seller_store: FakeSellerStore
    seller_id: str = "northwind"

    def seller(self, store: StoreRef) -> FakeSellerStore:
        assert store.store_id == self.seller_id, f"asked for seller store {store.store_id!r}"
        return self.seller_store

    def buyer(self, store: StoreRef) -> Any:
        raise AssertionError(f"processing never reads a buyer store (asked for {store.store_id!r})")


@dataclass
class InMemoryPace:
    """The StorePace port: what every invocation of ProcessOrderFunction would read."""

    until: dict[str, datetime] = field(default_factory=dict)
    written: list[tuple[str, datetime]] = field(default_factory=list)

    def paced_until(self, store_id: str) -> datetime | None:
        return self.until.get(store_id)

    def slow_down(self, store_id: str, until: datetime) -> None:
        self.written.append((store_id, until))
        self.until[store_id] = max(until, self.until.get(store_id, until))
