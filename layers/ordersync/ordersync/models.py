"""The shared vocabulary: statuses, failure reasons, the canonical order, the queue envelope."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Platform(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    BIGCOMMERCE = "bigcommerce"

    @property
    def label(self) -> str:
        return {"shopify": "Shopify", "woocommerce": "WooCommerce", "bigcommerce": "BigCommerce"}[self.value]


def platform_label(value: str) -> str:
    """ "woocommerce" -> "WooCommerce"; anything unknown as it is."""
    try:
        return Platform(value).label
    except ValueError:
        return value


class OrderStatus(StrEnum):
    RECEIVED = "RECEIVED"
    SYNCED = "SYNCED"
    FAILED = "FAILED"
    DISREGARDED = "DISREGARDED"
    MANUAL_POSTING_PENDING = "MANUAL_POSTING_PENDING"
    POSTED_MANUALLY = "POSTED_MANUALLY"
    CANCELLED = "CANCELLED"
    # Not a failure: the retailer has not been paid (nor authorised) yet; posted once it is.
    AWAITING_PAYMENT = "AWAITING_PAYMENT"


class FailureReason(StrEnum):
    SKU_MISMATCH = "SKU_MISMATCH"
    DUPLICATE_SKU = "DUPLICATE_SKU"
    MISSING_SHIPPING_ADDRESS = "MISSING_SHIPPING_ADDRESS"
    UNSUPPORTED_PLATFORM = "UNSUPPORTED_PLATFORM"
    INVALID_ORDER = "INVALID_ORDER"
    PLATFORM_UNAVAILABLE = "PLATFORM_UNAVAILABLE"
    PAYMENT_NOT_RECEIVED = "PAYMENT_NOT_RECEIVED"  # disregarded: still unpaid past UnpaidOrderLimitHours
    # After posting: the buyer cancelled the order (CANCELLED: the seller's copy cancelled too) ...
    BUYER_CANCELLED = "BUYER_CANCELLED"
    CANCEL_TOO_LATE = "CANCEL_TOO_LATE"  # ... after some of it had shipped: told, not touched (stays SYNCED)
    CANCEL_REFUSED = "CANCEL_REFUSED"  # ... and the seller's store refused to cancel it (its words in the detail)
    # After posting: the buyer changed the order (it stays SYNCED; the seller is told each time) ...
    ADDRESS_UPDATED = "ADDRESS_UPDATED"  # ... its shipping address: the seller's copy updated
    ADDRESS_CHANGE_TOO_LATE = "ADDRESS_CHANGE_TOO_LATE"  # ... after some of it had shipped: told, not touched
    ADDRESS_CHANGE_REFUSED = "ADDRESS_CHANGE_REFUSED"  # ... and the seller's store refused the new address
    LINES_CHANGED = "LINES_CHANGED"  # ... its lines or quantities: the seller told what to change, ops decide a rise
    LINES_REDUCED = "LINES_REDUCED"  # ... fewer units or a line removed, before shipment: the seller's copy reduced
    # The seller cancelled (or refused) its copy in its store: CANCELLED; the retailer and ops told, no money moved.
    SELLER_CANCELLED = "SELLER_CANCELLED"
    # ... and then restored it: SYNCED again, its parcels carried; the retailer and ops told (not a failure)
    SELLER_RESTORED = "SELLER_RESTORED"
    # The seller shipped a parcel that could not be written into the buyer's store (the order stays
    # as it was; the parcel is recorded with the reason and kept in ShipmentsDLQ):
    PARCEL_FOR_CANCELLED_ORDER = "PARCEL_FOR_CANCELLED_ORDER"  # the buyer had cancelled the order
    PARCEL_DOESNT_FIT = "PARCEL_DOESNT_FIT"  # more than the buyer's order has left to ship, or an unknown line
    PARCEL_REFUSED = "PARCEL_REFUSED"  # the buyer's store refused the shipment (its words in the detail)
    PARCEL_WAITING = "PARCEL_WAITING"  # the buyer's store holds the order's fulfilment (on hold, scheduled)
    FULFILLED_BY_HAND = "FULFILLED_BY_HAND"  # already fulfilled in the buyer's store, with other tracking
    # its tracking number, carrier or link is not one a store may show a customer, or not one the
    # buyer's platform can hold whole (what was wrong in the detail; never written, never cut)
    PARCEL_INVALID = "PARCEL_INVALID"


class Cause(StrEnum):
    """What made a timeline entry happen."""

    PULL = "pull"
    WEBHOOK = "webhook"
    PROCESS = "process"
    REPLAY = "replay"
    REDRIVE = "redrive"
    OPS = "ops"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ShippingAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province_code: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None

    def is_blank(self) -> bool:
        return not any(self.model_dump().values())


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1)
    sku: str | None
    # The buyer store's variant (its product where the platform has none): what a listing links to a
    # seller, so that whose line it is outlives a SKU renamed on either side. None: a custom item.
    variant_id: str | None = Field(default=None, max_length=200)
    title: str
    quantity: int = Field(ge=0, le=100_000)
    unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=6)
    requires_shipping: bool = True

    @field_validator("sku", mode="before")
    @classmethod
    def _blank_sku_is_none(cls, value: Any) -> Any:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("unit_price", mode="before")
    @classmethod
    def _money_is_never_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("money must be a decimal string, not a float")
        return value


# In place of an order the envelope can't carry (too large, or only its id was sent): ProcessOrder
# reads it from the buyer's store by this id before anything else.
READ_FROM_STORE_KEY = "ordersync_read_from_store"


def read_request(order_id: str) -> dict[str, str]:
    return {READ_FROM_STORE_KEY: order_id}


def requested_read(payload: Any) -> str | None:
    """The order id to read from the buyer's store, when the payload is a read request."""
    if isinstance(payload, dict) and isinstance(payload.get(READ_FROM_STORE_KEY), str):
        return str(payload[READ_FROM_STORE_KEY])
    return None


# The most an order's JSON may weigh in an envelope (SQS takes 256 KB a message, with the envelope
# around it): past it the pull and the webhooks carry a read request instead, and the webhook door
# answers 413.
MAX_ORDER_PAYLOAD_BYTES = 200_000


@dataclass(frozen=True)
class ParcelLine:
    """Units of one of the seller's lines in a parcel, by the variant we posted it as and, where the
    store names it, the line's own id in the seller's store (a variant deleted since leaves only that)."""

    variant_id: str
    quantity: int
    line_id: str | None = None


@dataclass(frozen=True)
class Parcel:
    """One shipment in the seller's store, as its store records it."""

    parcel_id: str  # the seller store's shipment id: what makes a parcel the same one again
    lines: tuple[ParcelLine, ...]  # empty with whole_order
    carrier: str | None = None  # as the seller's store names it
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None
    whole_order: bool = False  # the store only says the order left (WooCommerce `completed`)
    # what the store shows of it that can't be read (why), where it isn't a parcel we can carry:
    # kept so that it is named, never dropped or guessed at
    unreadable: str | None = None


@dataclass(frozen=True)
class SellerOrderState:
    """What a seller's store says of an order we posted."""

    cancelled: bool
    shipped: bool  # some of it has left (fulfilled, shipped, completed)
    words: str  # the store's own status, as ops read it
    parcels: tuple[Parcel, ...] = ()


class PostedLine(BaseModel):
    """A buyer line as it was posted: which seller variant, how many (kept on the order record, so
    that the seller's parcels map back to the buyer's lines)."""

    buyer_line_id: str
    variant_id: str
    quantity: int
    seller_line_id: str | None = None  # the copy's line, as the create answered it (None: not known)


@dataclass(frozen=True)
class PostedCopy:
    """The order a create made in the seller's store: its id, and (buyer line id, the copy's line id)
    of each line where the store's answer names them."""

    order_id: str
    line_ids: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CopyLine:
    """A line of the seller's copy, as a change addresses it: by its id there, kept at the post; else
    (a copy found from an earlier attempt, a platform whose create doesn't answer its lines) the
    `nth` from 0, in posting order, of the copy's lines of `variant_id` that still hold units."""

    variant_id: str
    line_id: str | None = None
    nth: int = 0

    def find(self, lines: Sequence[tuple[str, str, int]]) -> str | None:
        """The id of this line among the copy's (line id, variant id, units), or None."""
        if self.line_id is not None:
            return self.line_id if any(line_id == self.line_id for line_id, _, _ in lines) else None
        of_variant = [line_id for line_id, variant_id, units in lines if variant_id == self.variant_id and units > 0]
        return of_variant[self.nth] if self.nth < len(of_variant) else None

    def words(self) -> str:
        return f"line {self.line_id}" if self.line_id is not None else f"variant {self.variant_id}"


@dataclass(frozen=True)
class BuyerParcel:
    """A parcel as it is written into the buyer's store: its lines the buyer's own."""

    key: str  # ours, exact: "<seller store>:<parcel id>"
    lines: tuple[tuple[str, int], ...]  # (buyer line id, units)
    carrier: str | None  # the carrier's name in the vocabulary (domain/carriers.py) or as the seller gave it
    tracking_number: str | None
    tracking_url: str | None
    notify_customer: bool
    completes_order: bool = False  # with it, every posted unit is in the buyer's store
    shipped_at: datetime | None = None  # when it left the seller (where the buyer's platform keeps a ship date)
    titles: tuple[tuple[str, str], ...] = ()  # (buyer line id, the buyer's title for it): words a customer reads


class CanonicalOrder(BaseModel):
    """One buyer order, whatever store it came from (DESIGN.md, "Canonical order")."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=200)
    platform: Platform
    order_number: str = Field(max_length=200)
    created_at: datetime
    updated_at: datetime
    currency: str = Field(min_length=3, max_length=3)
    email: str | None = None
    test: bool = False
    source: str | None = None
    cancelled: bool = False
    # The buyer's store has not been paid for it yet (nor an authorisation held): it waits.
    awaiting_payment: bool = False
    shipping_address: ShippingAddress | None
    lines: list[OrderLine] = Field(max_length=1000)

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp has no UTC offset")
        return value.astimezone(UTC)

    @field_validator("shipping_address")
    @classmethod
    def _blank_address_is_none(cls, value: ShippingAddress | None) -> ShippingAddress | None:
        return None if value is None or value.is_blank() else value


# A secret's name is 1-512 of letters, digits and /_+=.@- ; Secrets Manager appends -XXXXXX to its ARN.
STORE_SECRET_ARN = re.compile(
    r"arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ordersync/stores/[\w/+=.@-]+", re.ASCII
)


class StoreRef(BaseModel):
    """A store as a connection names it; credentials live in Secrets Manager, never here."""

    store_id: str
    name: str
    platform: Platform
    base_url: str
    secret_arn: str
    auto_post: bool = False  # BigCommerce sellers: post automatically even while BigCommerceAutoPost is off
    webhooks: bool = False  # buyers: the store sends its orders' webhooks (the pull is the safety net)
    shop_domain: str | None = None  # Shopify buyers with webhooks: the shop as its EventBridge events name it

    @field_validator("secret_arn")
    @classmethod
    def _credentials_live_in_secrets_manager(cls, value: str) -> str:
        # Exactly what the functions' StoreCredentials grant reads: secret:ordersync/stores/*.
        if not STORE_SECRET_ARN.fullmatch(value):
            raise ValueError(
                "store credentials must be a Secrets Manager ARN under ordersync/stores/ (the functions"
                " may read nothing else), never inline"
            )
        return value


class Connection(BaseModel):
    connection_id: str
    buyer: StoreRef
    seller: StoreRef
    cursor: datetime | None = None
    created_at: datetime | None = None
    paused: bool = False  # skipped by the pull until resumed (ops' `connection pause`)
    # The pull's last word on the connection (written by PullConnectionFunction).
    last_pull_at: datetime | None = None
    last_pull_orders: int | None = None
    last_pull_error: str | None = None
    # Set when the buyer's store refused its credentials; ops were told once, when it was set.
    broken_since: datetime | None = None
    # Set while the buyer's store fails pulls midway (5xx, time-outs, throttling): since when it has
    # made no progress; and when ops were told it was past the budget (once). A pull that goes
    # through clears both.
    store_failing_since: datetime | None = None
    failing_reported_at: datetime | None = None
    # Whether the buyer's store emails its customer when a parcel is written there (the buyer's
    # choice; default: as the buyer's store would when it ships itself).
    notify_customer: bool = True


class ShipmentRequest(BaseModel):
    """A ShipmentsQueue message: one seller order's parcels to look at (a check), or — without an
    order — the seller's orders changed since `since` to look through (a sweep, which resumes at
    `resume` where an invocation ran short of time)."""

    seller: StoreRef
    seller_order_id: str | None = None
    order_key: str | None = None  # ours, as the seller's copy names it: checked against the record
    since: datetime | None = None
    resume: str | None = None
    started: datetime | None = None  # the sweep's start: its cursor once it got to the end
    # When a store first throttled this check: sent again later (no delivery spent) until the
    # throttle budget has passed since.
    throttled_since: datetime | None = None
    # When the buyer's store first held the parcel back (on hold, scheduled): checked again until
    # the hold is released, for ParcelWaitDays.
    waiting_since: datetime | None = None


class DriftRequest(BaseModel):
    """A DriftQueue message: one connection's orders due for the daily compare — the windows of the
    run started at `run_at` — from the order after `after` (the last compared, where an invocation
    ran short of time) on."""

    connection_id: str
    run_at: datetime
    after: str | None = None


class CatalogSyncRequest(BaseModel):
    """One seller's catalog run, as CatalogSyncQueue carries it: planned by the hourly fan-out (or
    ops' `catalog sync`), and carried on by a continuation where an invocation ran short of time."""

    seller: StoreRef
    full: bool
    changed_since: datetime | None = None  # None: every variant
    started: datetime | None = None  # set by the run's first invocation; what "seen in this run" means
    resume: str | None = None  # the store's token for the next page
    variants: int = 0  # seen by the run so far
    # True: the store's catalog read as a buyer's, each of its variants linked to the seller whose
    # product it is (its listings, services/listings_read.py); `seller` is then the buyer store.
    buyer_listings: bool = False
    # A buyer's rule: its products' vendor / brand -> the seller it names (from its StoresTable item).
    vendor_sellers: dict[str, str] = Field(default_factory=dict)


class Role(StrEnum):
    BUYER = "buyer"  # its orders are pulled
    SELLER = "seller"  # orders are posted into it, its catalog is read
    BOTH = "both"

    def includes(self, other: Role) -> bool:
        return self is Role.BOTH or self is other


class StoreRecord(BaseModel):
    """A store ops added (`ordersync store add`): how to reach it and when its credentials were last
    tried. The credentials themselves are in Secrets Manager at `secret_arn`."""

    store_id: str
    name: str
    platform: Platform
    base_url: str
    secret_arn: str
    role: Role = Role.BOTH  # what the credentials were checked for
    auto_post: bool = False
    added_at: datetime
    checked_at: datetime
    check_result: str = "ok"
    # A seller's catalog sync (written by SyncSellerCatalogFunction): when the last run that got to
    # its end began, when the last full read began, and how many variants that full read saw.
    catalog_synced_at: datetime | None = None
    catalog_full_at: datetime | None = None
    catalog_variants: int | None = None
    catalog_running_since: datetime | None = None  # a run began and has not got to its end
    # A buyer's catalog read into its listings (the same run, as a buyer's): the same four.
    listings_synced_at: datetime | None = None
    listings_full_at: datetime | None = None
    listings_variants: int | None = None
    listings_running_since: datetime | None = None
    # A buyer's rule (`ordersync listing vendor`): a product's vendor / brand -> the seller whose it is.
    vendor_sellers: dict[str, str] = Field(default_factory=dict)
    # A seller's shipment sweep (SyncShipmentsFunction): its orders changed since then are looked at next.
    shipments_swept_at: datetime | None = None
    # A buyer whose order webhooks ops registered (`ordersync store webhooks register`).
    webhooks: bool = False
    shop_domain: str | None = None

    def ref(self) -> StoreRef:
        return StoreRef(
            store_id=self.store_id,
            name=self.name,
            platform=self.platform,
            base_url=self.base_url,
            secret_arn=self.secret_arn,
            auto_post=self.auto_post,
            webhooks=self.webhooks,
            shop_domain=self.shop_domain,
        )


class OrderEnvelope(BaseModel):
    """What travels on OrdersQueue: the buyer's raw payload plus who it goes from and to.

    The raw payload (not the canonical order) travels so that a payload that fails validation
    is still carried, recorded and kept in the DLQ, and a redriven message needs nothing else.
    """

    connection_id: str
    buyer_id: str
    buyer_name: str
    buyer_platform: Platform
    seller_id: str
    seller_name: str
    seller_platform: Platform
    order_id: str
    order_number: str = ""
    payload: Any
    pulled_at: datetime
    cause: Cause = Cause.PULL
    # When the seller's store first throttled this order: re-sent with a delay (not a failed
    # delivery) until ThrottleBudgetHours have passed since.
    throttled_since: datetime | None = None
    # A read request the webhook door sent for one part only: the other connections' ids whose parts
    # the same read serves (each enqueued with the order as read: the buyer's store read once).
    read_for: list[str] = Field(default_factory=list)

    @property
    def order_key(self) -> str:
        return f"{self.connection_id}#{self.order_id}"
