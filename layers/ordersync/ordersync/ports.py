"""What the services need from the outside world. Adapters (aws/, platforms/) implement these;
unit tests pass in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ordersync.domain.catalog import CatalogSlice, CatalogVariant, StoreVariant
from ordersync.domain.decide import Decision, LineMatch
from ordersync.domain.listings import Listing
from ordersync.domain.onboarding import StoreAccess
from ordersync.domain.shipments import BuyerShipments
from ordersync.models import (
    BuyerParcel,
    CanonicalOrder,
    CatalogSyncRequest,
    Connection,
    CopyLine,
    DriftRequest,
    OrderEnvelope,
    OrderStatus,
    Platform,
    PostedCopy,
    SellerOrderState,
    ShipmentRequest,
    ShippingAddress,
    StoreRecord,
    StoreRef,
)
from ordersync.records import Attempt, OrderRecord

if TYPE_CHECKING:  # annotations only: the alert models stay out of functions that send none
    from ordersync.alerts.digest import OutgoingEmail, QueuedAlert
    from ordersync.alerts.drift import DriftFindings
    from ordersync.alerts.messages import Alert


class CatalogRepository(Protocol):
    def lookup(self, seller_id: str, skus: Sequence[str]) -> CatalogSlice: ...
    def lookup_sellers(self, seller_ids: Sequence[str], skus: Sequence[str]) -> dict[str, CatalogSlice]:
        """lookup() for several sellers in one read: whose is a buyer's line?"""
        ...

    def active_skus(self, seller_id: str) -> list[str]: ...
    def retire(self, variants: Iterable[CatalogVariant]) -> None: ...


class ListingRepository(Protocol):
    """Whose product each buyer variant is (domain/listings.py)."""

    def get_with_catalog(
        self, buyer_id: str, variant_ids: Sequence[str], seller_id: str, skus: Sequence[str]
    ) -> tuple[dict[str, Listing], CatalogSlice]:
        """The listings of these buyer variants, and the seller's catalog of these SKUs (aliases
        included), in one round trip."""
        ...

    def put_matched(self, listings: Sequence[Listing]) -> None:
        """Listings a match made at a product's first sight (never one ops decided)."""
        ...


class OrderRepository(Protocol):
    def claim(
        self, envelope: OrderEnvelope, attempt: Attempt, reopen: bool = False, create: bool = True
    ) -> OrderRecord:
        """Claims the order for `attempt` (creating its record on first sight) and returns the record
        as it was, with this attempt's claim on it; raises OrderClaimed while another claim is live.
        create=False: an order with no record is not made one (LookupError)."""
        ...

    def discard(self, record: OrderRecord) -> None:
        """Deletes the record this attempt's claim made (the order turned out to be none of the
        seller's); a record anybody else touched since is kept."""
        ...

    def release(self, record: OrderRecord) -> None:
        """Frees the order this attempt claimed, recording nothing else."""
        ...

    def get(self, order_key: str) -> OrderRecord | None: ...
    def save(self, record: OrderRecord) -> None:
        """Writes the record if nobody else wrote it since it was read (optimistic, by version)."""
        ...


class PostedOrders(Protocol):
    """The orders table as the shipment sync uses it: orders already in a seller's store."""

    def key_of_seller_copy(self, seller_id: str, seller_order_id: str) -> str | None:
        """The order whose copy in this seller's store this is, or None (not one we posted)."""
        ...

    def claim_posted(self, order_key: str, attempt: Attempt, copy: tuple[str, str]) -> OrderRecord:
        """Claims an order that is in the seller's store (posted, or cancelled after) as `copy`
        (seller id, seller order id): raises OrderClaimed while another attempt holds it,
        LookupError when it is not that copy's."""
        ...

    def release(self, record: OrderRecord) -> None: ...
    def save(self, record: OrderRecord) -> None: ...
    def get(self, order_key: str) -> OrderRecord | None:
        """Another seller's part of the same buyer order (has the whole order shipped?)."""
        ...


class ShipmentRequests(Protocol):
    def request(self, requests: Sequence[ShipmentRequest], delay_seconds: int = 0) -> None:
        """Checks and sweeps, on ShipmentsQueue (after `delay_seconds`: a check retried later)."""
        ...


class StoreLookup(Protocol):
    def get(self, store_id: str) -> StoreRecord | None: ...


class ShopLookup(Protocol):
    def of_shop(self, shop_domain: str) -> StoreRecord | None:
        """The store of a Shopify shop whose webhooks were registered, or None."""
        ...


class SweepLedger(Protocol):
    """Where each seller store's shipment sweep left off (the stores table)."""

    def all(self) -> list[StoreRecord]: ...
    def swept(self, store_id: str, cursor: datetime) -> None: ...


class CatalogStore(Protocol):
    """The catalog as the catalog sync writes it."""

    def variants_of(self, seller_id: str) -> dict[str, list[CatalogVariant]]: ...
    def groups(self, seller_id: str, skus: Sequence[str]) -> dict[str, list[CatalogVariant]]: ...
    def put_groups(self, grouped: dict[tuple[str, str], list[CatalogVariant]]) -> None: ...


class OrderQueries(Protocol):
    def by_seller_status(self, seller_id: str, status: OrderStatus) -> list[OrderRecord]: ...


class DlqRemover(Protocol):
    def remove(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Deletes the DLQ messages the predicate picks; returns them."""
        ...


class AlertOutbox(Protocol):
    def take_all(self) -> tuple[list[QueuedAlert | DriftFindings], list[str]]:
        """The queued alerts (and drift findings) and the handles that delete them once sent."""
        ...

    def delete(self, handles: list[str]) -> None: ...


class OrderHistory(Protocol):
    """The orders table as the drift check reads it."""

    def posted_since(
        self, connection_id: str, since: datetime, until: datetime | None = None, after: str | None = None
    ) -> list[OrderRecord]:
        """A connection's orders in the seller's store, last touched since `since` (and before
        `until`), in order-key order, those after the key `after` only."""
        ...


class DriftRequests(Protocol):
    def request(self, requests: Sequence[DriftRequest]) -> None:
        """Connections' compares (or one's continuation), on DriftQueue."""
        ...


class DriftFindingsOutbox(Protocol):
    def publish_findings(self, findings: DriftFindings) -> None:
        """What one connection's compare found, into AlertsQueue: the dispatch digests it."""
        ...


class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


class ConnectionRepository(Protocol):
    def get(self, connection_id: str, fresh: bool = False) -> Connection:
        """fresh: bypass any cache (a pull needs the current cursor)."""
        ...

    def all(self) -> list[Connection]: ...
    def save_cursor(self, connection_id: str, cursor: datetime) -> None: ...
    def pulled(self, connection_id: str, at: datetime, orders: int) -> None:
        """The pull went through: recorded, and the connection is no longer broken."""

    def refused(self, connection_id: str, at: datetime, error: str) -> bool:
        """The buyer's store refused the credentials: recorded; True if it was not broken before."""

    def store_failed(self, connection_id: str, at: datetime, error: str, progressed: bool) -> None:
        """The buyer's store said no midway through a pull: recorded, with since when it has made no
        progress (kept, unless this pull read pages before it failed: then now)."""

    def failing_reported(self, connection_id: str, at: datetime) -> bool:
        """Marks the store as reported failing past the budget: True only the first time (until a
        pull goes through, which clears it)."""
        ...

    def of_buyer(self, store_id: str, fresh: bool = False) -> list[Connection]:
        """The connections whose buyer is this store (its webhooks and its pull bring orders for
        each). fresh: bypass any cache (the pull needs the cursors as checkpointed)."""
        ...

    def of_shop(self, shop_domain: str) -> list[Connection]:
        """The connections of the Shopify buyer whose events name this shop (webhooks registered)."""
        ...


class OrderQueue(Protocol):
    def enqueue(self, envelopes: Sequence[OrderEnvelope]) -> None: ...


class OrderRetries(Protocol):
    def retry_later(self, body: str, delay_seconds: int) -> None:
        """The message again, as a new delivery, after `delay_seconds` (at most 900)."""
        ...


class PullQueue(Protocol):
    def request_pulls(
        self, connection_ids: Sequence[str], resume: dict[str, str] | None = None, delay_seconds: int = 0
    ) -> None:
        """resume: {"since", "page"} to continue one connection's query where an invocation stopped
        ("page" left out: at its first page; "failures": the store's refusals in a row, for the backoff)."""
        ...


class DeadLetters(Protocol):
    def send(self, body: dict[str, Any], attributes: dict[str, str]) -> str: ...


class Alerts(Protocol):
    def publish(self, record: OrderRecord, alert: Alert) -> None: ...


class ManualPosting(Protocol):
    def start(self, record: OrderRecord, order: CanonicalOrder, decision: Decision) -> str:
        """Starts (or finds already started) the order's manual posting flow; returns its execution ARN."""
        ...


class SellerStore(Protocol):
    # How long after a create the store's look-up (find_posted_order) may still miss the order.
    search_lag_seconds: float

    def find_posted_order(self, source_key: str, since: datetime) -> str | None:
        """The id of an order created in this store for the buyer order since `since`, if any,
        found by a key the platform stores exactly (never by free-text search)."""
        ...

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> PostedCopy:
        """The copy made, with its lines' ids where the store's answer names them."""
        ...

    def reduce_lines(self, order_id: str, quantities: Sequence[tuple[CopyLine, int]]) -> None:
        """Sets each named line of our copy to a lower quantity (0: removed). StoreRejected with the
        store's words when it can't, or when the copy, read back, didn't change as asked."""
        ...

    def copy_address(self, order_id: str) -> ShippingAddress | None:
        """The shipping address on our copy, as the seller's store has it now (the drift check)."""
        ...

    def order_state(self, order_id: str) -> SellerOrderState:
        """What became of an order we posted: cancelled in the store, or shipped (some of it)."""
        ...

    def cancel_order(self, order_id: str) -> None:
        """Cancels an order we posted, its stock as the platform restores it, without emailing the end customer;
        StoreRejected with the store's words when it refuses."""
        ...

    def update_shipping_address(self, order_id: str, address: ShippingAddress) -> None:
        """The buyer's new address onto an order we posted; StoreRejected with the store's words."""
        ...

    def variants_present(self, variants: Sequence[CatalogVariant]) -> frozenset[str]:
        """Which of these variant ids still exist in the store."""
        ...

    def catalog_pages(
        self, changed_since: datetime | None = None, resume: str | None = None
    ) -> Iterator[tuple[list[StoreVariant], str | None]]:
        """Pages of every variant (with a SKU or not) the store has now, or of those changed since
        `changed_since`, each with the token that resumes after it (None after the last)."""
        ...


class BuyerStore(Protocol):
    def orders_updated_since(
        self, since: datetime, resume: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Pages of raw order payloads updated since `since`, oldest first, each with the token that
        resumes the same query at the next page (None after the last); `resume` starts there."""
        ...

    def catalog_pages(
        self, changed_since: datetime | None = None, resume: str | None = None
    ) -> Iterator[tuple[list[StoreVariant], str | None]]:
        """As a seller's (SellerStore.catalog_pages): the buyer's variants, read into its listings."""
        ...

    def order(self, order_id: str) -> dict[str, Any]:
        """One order's raw payload, as the pull reads it (a webhook named only its id)."""
        ...

    def shipments(self, order_id: str) -> BuyerShipments:
        """The shipments the store holds for the order, and what it leaves unfulfilled per line
        (None where the platform doesn't say)."""
        ...

    def write_shipment(self, order_id: str, parcel: BuyerParcel, there: BuyerShipments | None = None) -> str:
        """Records the parcel as the platform's shipment; its id. StoreRejected with the store's words.
        `there`: what shipments() just answered for the order (read again when not given)."""
        ...

    def add_note(self, order_id: str, text: str) -> None:
        """A note for the retailer's staff on its order (never shown to its customer)."""
        ...

    def update_tracking(self, order_id: str, shipment_id: str, parcel: BuyerParcel) -> str:
        """The seller corrected the parcel's tracking: the same shipment gets it, never a second one
        (where the platform can only replace it, the old is removed first); the shipment's id after."""
        ...


class StoreFactory(Protocol):
    def seller(self, store: StoreRef) -> SellerStore: ...
    def buyer(self, store: StoreRef) -> BuyerStore: ...
    def forget(self, store: StoreRef) -> None:
        """The store refused its credentials: read them afresh for the next client (rotated?)."""


class StorePace(Protocol):
    """A seller store's "come back at", shared by every invocation: one that was throttled says
    so, the others wait instead of spending requests on the same refusal."""

    def paced_until(self, store_id: str) -> datetime | None: ...
    def slow_down(self, store_id: str, until: datetime) -> None: ...


class CatalogSyncQueue(Protocol):
    def request_syncs(self, requests: Sequence[CatalogSyncRequest]) -> None: ...


class CatalogSyncLedger(Protocol):
    """Where each store's catalog runs are recorded (the stores table): a seller's, and a buyer's
    read into its listings (`as_buyer`)."""

    def all(self) -> list[StoreRecord]: ...
    def catalog_started(self, store_id: str, started: datetime, as_buyer: bool = False) -> bool: ...
    def catalog_synced(
        self, store_id: str, started: datetime, full: bool, variants: int, as_buyer: bool = False
    ) -> bool: ...


class StoreRegistry(Protocol):
    def get(self, store_id: str) -> StoreRecord | None: ...
    def all(self) -> list[StoreRecord]: ...
    def add(self, store: StoreRecord) -> None:
        """Raises OnboardingRefused when the store exists."""

    def checked(self, store_id: str, at: datetime, result: str) -> None: ...
    def remove(self, store_id: str) -> None: ...
    def set_webhooks(self, store_id: str, on: bool, shop_domain: str | None) -> None:
        """Whether the buyer's order webhooks are registered (new connections of it inherit this)."""


class CredentialsVault(Protocol):
    def create(self, store_id: str, credentials: dict[str, str]) -> str:
        """The new secret's ARN."""

    def read(self, secret_arn: str) -> dict[str, Any]: ...
    def replace(self, secret_arn: str, credentials: dict[str, str]) -> None: ...
    def remove(self, secret_arn: str) -> None: ...
    def webhook_keys(self, store_id: str) -> dict[str, str]:
        """The store's webhook keys (a secret of their own, all the webhook door reads); {} if none."""

    def keep_webhook_keys(self, store_id: str, keys: dict[str, str]) -> None: ...
    def remove_webhook_keys(self, store_id: str) -> None:
        """Gone with the store (recoverable as its credentials are); nothing if it has none."""


class ConnectionAdmin(Protocol):
    def get(self, connection_id: str, fresh: bool = False) -> Connection: ...
    def all(self) -> list[Connection]: ...
    def add(self, connection: Connection) -> None:
        """Raises OnboardingRefused when the pair exists."""

    def set_paused(self, connection_id: str, paused: bool) -> None: ...
    def remove(self, connection_id: str) -> None: ...


class OrderActivity(Protocol):
    def statuses_since(self, connection_id: str, since: datetime) -> list[OrderStatus]: ...


class AccessChecker(Protocol):
    def __call__(self, platform: Platform, base_url: str, credentials: dict[str, str]) -> StoreAccess:
        """What the store says these credentials may do; raises StoreCredentialsError if it refuses them."""
