"""Onboarding rules, without I/O: what each platform's credentials must allow for the role a store
plays, which store names and URLs are acceptable, when a connection may be made, and how a
connection's last day reads in `connection list`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address
from urllib.parse import urlsplit

from ordersync.models import Connection, OrderStatus, Platform, Role

# Exactly what the functions may read: secret:ordersync/stores/<store id> (see StoreRef).
STORE_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}", re.ASCII)
CREDENTIAL_KEYS = {
    Platform.SHOPIFY: ("access_token",),
    Platform.WOOCOMMERCE: ("consumer_key", "consumer_secret"),
    Platform.BIGCOMMERCE: ("access_token",),
}


@dataclass(frozen=True)
class StoreAccess:
    """What a store told us about a set of credentials: its own name and what they may do, in the
    grants' names below (NEEDS)."""

    name: str
    granted: frozenset[str]


@dataclass(frozen=True)
class Need:
    """One thing the credentials must allow: the platform's name for it and why ordersync needs it."""

    grant: str
    why: str
    role: Role


# Shopify: access scopes (write_x includes read_x).
SHOPIFY_NEEDS = (
    Need("read_orders", "to pull the buyer's orders", Role.BUYER),
    Need("read_products", "to read the seller's catalog, and the buyer's into its listings", Role.BOTH),
    Need("write_orders", "to create orders in the seller's shop (and find those already created)", Role.SELLER),
    Need(
        "write_merchant_managed_fulfillment_orders",
        "to write the sellers' parcels and tracking into the buyer's shop (fulfilments)",
        Role.BUYER,
    ),
)
# WooCommerce: a REST API key's permission (Read, Write or Read/Write).
WOOCOMMERCE_NEEDS = (
    Need("read", "to pull the buyer's orders and read the seller's catalog", Role.BOTH),
    Need("write", "to create orders in the seller's store, and write the sellers' parcels into the buyer's", Role.BOTH),
)
# BigCommerce: an API account's OAuth scopes, named as the control panel shows them.
BIGCOMMERCE_NEEDS = (
    Need("Orders: read-only", "to pull the buyer's orders", Role.BUYER),
    Need("Products: read-only", "to read the seller's catalog, and the buyer's into its listings", Role.BOTH),
    Need(
        "Orders: modify", "to create orders in the seller's store, and the sellers' shipments in the buyer's", Role.BOTH
    ),
)
NEEDS = {
    Platform.SHOPIFY: SHOPIFY_NEEDS,
    Platform.WOOCOMMERCE: WOOCOMMERCE_NEEDS,
    Platform.BIGCOMMERCE: BIGCOMMERCE_NEEDS,
}


# Registering a buyer store's order webhooks through its own API (`store webhooks register`).
WEBHOOK_NEEDS = {
    Platform.WOOCOMMERCE: (
        Need("write", "to register the store's order webhooks", Role.BUYER),
        Need("manage_woocommerce", "to register the store's order webhooks (WooCommerce's webhooks API)", Role.BUYER),
    ),
    Platform.SHOPIFY: (Need("read_orders", "to subscribe to the shop's order webhooks", Role.BUYER),),
    Platform.BIGCOMMERCE: (),  # /v3/hooks needs no scope; the orders read the pull needs is checked by store add
}


def missing_for_webhooks(platform: Platform, granted: Iterable[str]) -> list[Need]:
    have = set(granted)
    return [need for need in WEBHOOK_NEEDS[platform] if need.grant not in have]


def needed(platform: Platform, role: Role) -> tuple[Need, ...]:
    return tuple(need for need in NEEDS[platform] if role.includes(need.role) or need.role is Role.BOTH)


def granted_shopify_scopes(handles: Iterable[str]) -> frozenset[str]:
    """Shopify lists what the merchant granted; a write scope includes its read scope."""
    scopes = set(handles)
    scopes |= {"read_" + s.removeprefix("write_") for s in scopes if s.startswith("write_")}
    return frozenset(scopes)


def missing(platform: Platform, role: Role, granted: Iterable[str]) -> list[Need]:
    have = set(granted)
    return [need for need in needed(platform, role) if need.grant not in have]


def missing_in_words(platform: Platform, missing_needs: Iterable[Need]) -> list[str]:
    """What a person does about each missing grant, in the platform's own words."""
    where = {
        Platform.SHOPIFY: "add the `{grant}` access scope to the app and reinstall it in the shop",
        Platform.WOOCOMMERCE: "give the REST API key {grant} permission (WooCommerce > Settings > Advanced > REST API)",
        Platform.BIGCOMMERCE: "give the API account the `{grant}` OAuth scope (Settings > API > Store-level API accounts)",
    }[platform]
    manager = "make the REST API key's user a Shop manager (or create the key as one)"
    return [
        f"{manager if need.grant == 'manage_woocommerce' else where.format(grant=need.grant)}: needed {need.why}"
        for need in missing_needs
    ]


# Keys a credentials document may also hold: BigCommerce's app client secret, which signs its
# webhooks (Standard Webhooks) when the store's hooks come from an app.
OPTIONAL_CREDENTIAL_KEYS: dict[Platform, tuple[str, ...]] = {Platform.BIGCOMMERCE: ("client_secret",)}


def credential_problem(platform: Platform, credentials: Mapping[str, object]) -> str | None:
    """The credentials document's shape (never its values, nor an unexpected key's name: a key
    pasted in the wrong place may be the secret itself): the keys the platform's client reads."""
    wanted = CREDENTIAL_KEYS[platform]
    absent = [key for key in wanted if not isinstance(credentials.get(key), str) or not credentials.get(key)]
    if absent:
        return f"{platform.label} credentials need {', '.join(wanted)}; missing or empty: {', '.join(absent)}"
    allowed = (*wanted, *OPTIONAL_CREDENTIAL_KEYS.get(platform, ()))
    extra = set(credentials) - set(allowed)
    if not extra:
        return None
    named = sorted(key for key in extra if _PLAIN_KEY.fullmatch(key))
    hidden = len(extra) - len(named)
    parts = named + ([f"{hidden} more not shown (a key like that may be a secret itself)"] if hidden else [])
    return f"{platform.label} credentials hold only {', '.join(allowed)}; unexpected: {', '.join(parts)}"


_PLAIN_KEY = re.compile(r"[a-z][a-z_]{0,24}")  # a field's name, not a token pasted where a name goes


def store_id_problem(store_id: str) -> str | None:
    if not STORE_ID.fullmatch(store_id):
        return (
            f"store id {store_id!r}: use 2-63 lowercase letters, digits and dashes, starting with a letter"
            " or digit (it names the store's secret, ordersync/stores/<id>)"
        )
    return None


def url_problem(platform: Platform, url: str) -> str | None:
    """Stores are reached over HTTPS (WooCommerce accepts its keys only there); the local fakes on
    this machine's loopback are the one exception."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"store URL {url!r} is not an http(s) URL"
    if parts.query or parts.fragment:
        return f"store URL {url!r}: give the store's base URL, without a query or fragment"
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return f"store URL {url!r}: {platform.label} stores are reached over HTTPS only"
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def connection_id(buyer_id: str, seller_id: str) -> str:
    return f"{buyer_id}--{seller_id}"


def connection_problem(buyer_id: str, seller_id: str, known: Mapping[str, Role], existing: Iterable[str]) -> str | None:
    """Why a buyer -> seller connection can't be made, or None. `known`: each store's role."""
    if buyer_id == seller_id:
        return f"a store can't sell to itself: buyer and seller are both {buyer_id}"
    unknown = [store for store in (buyer_id, seller_id) if store not in known]
    if unknown:
        return f"unknown store {', '.join(unknown)}: add it first with `ordersync store add`"
    if not known[buyer_id].includes(Role.BUYER):
        return f"{buyer_id} was added as a {known[buyer_id]} store: its credentials were not checked for pulling orders"
    if not known[seller_id].includes(Role.SELLER):
        return f"{seller_id} was added as a {known[seller_id]} store: its credentials were not checked for posting"
    if connection_id(buyer_id, seller_id) in set(existing):
        return f"{buyer_id} already sells through {seller_id} (connection {connection_id(buyer_id, seller_id)})"
    return None


@dataclass(frozen=True)
class DayCounts:
    synced: int = 0
    failed: int = 0
    pending: int = 0


_SYNCED = {OrderStatus.SYNCED, OrderStatus.POSTED_MANUALLY}
_PENDING = {OrderStatus.RECEIVED, OrderStatus.MANUAL_POSTING_PENDING}


def day_counts(statuses: Iterable[OrderStatus]) -> DayCounts:
    """Orders last touched in the window, by what ops care about (cancelled and disregarded aside)."""
    counts = Counter(statuses)
    return DayCounts(
        synced=sum(counts[s] for s in _SYNCED),
        failed=counts[OrderStatus.FAILED],
        pending=sum(counts[s] for s in _PENDING),
    )


def connection_state(connection: Connection) -> str:
    if connection.paused:
        return "paused"
    if connection.broken_since:
        return "broken"
    if connection.store_failing_since:  # the store fails pulls midway; the pull goes on from its checkpoint
        return "failing"
    if connection.last_pull_at is None:
        return "new"
    return "ok"


def age(moment: datetime | None, now: datetime) -> str:
    """A duration people read at a glance: 45s, 12m, 3h, 2d."""
    if moment is None:
        return "-"
    seconds = max(int((now - moment).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


DAY = timedelta(hours=24)
