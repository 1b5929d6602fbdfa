"""Onboarding: stores added with credentials the store itself has accepted, connections made
between known stores, and the table ops read every morning. Nothing is saved before the store
said yes; credentials go into Secrets Manager and nowhere else (not in a message, not in a log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordersync.domain.onboarding import (
    DAY,
    DayCounts,
    Need,
    StoreAccess,
    age,
    connection_id,
    connection_problem,
    connection_state,
    credential_problem,
    day_counts,
    missing,
    missing_in_words,
    store_id_problem,
    url_problem,
)
from ordersync.domain.webhooks import WEBHOOK_SECRET_KEY, webhook_keys
from ordersync.errors import OnboardingRefused, StoreCredentialsError, StoreUnavailable
from ordersync.models import Connection, Platform, Role, StoreRecord, StoreRef, iso, utc_now
from ordersync.ports import (
    AccessChecker,
    ConnectionAdmin,
    CredentialsVault,
    OrderActivity,
    StoreFactory,
    StoreRegistry,
)
from ordersync.services.pull import OVERLAP

FIRST_PULL_PAGES = 2  # the preview reads at most this many pages of the buyer's orders


@dataclass
class OnboardingDependencies:
    stores: StoreRegistry
    vault: CredentialsVault
    connections: ConnectionAdmin
    activity: OrderActivity
    check_access: AccessChecker
    # The seller's first catalog sync (answers how many variants it read), and the number of orders
    # the first pull of a buyer's store would bring from `since` (at most FIRST_PULL_PAGES pages).
    sync_catalog: Callable[[StoreRef], int]
    orders_since: Callable[[StoreRef, datetime], tuple[int, bool]]
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class AccessVerdict:
    access: StoreAccess
    missing: list[Need]

    @property
    def ok(self) -> bool:
        return not self.missing


# --- stores ----------------------------------------------------------------------------------------
def add_store(
    store_id: str,
    platform: Platform,
    base_url: str,
    role: Role,
    credentials: dict[str, Any],
    deps: OnboardingDependencies,
    name: str | None = None,
    auto_post: bool = False,
) -> StoreRecord:
    """Tries the credentials against the store, then saves them (secret) and the store (table)."""
    for problem in (store_id_problem(store_id), url_problem(platform, base_url)):
        if problem:
            raise OnboardingRefused(problem)
    if deps.stores.get(store_id) is not None:
        raise OnboardingRefused(
            f"store {store_id} exists already: `ordersync store rotate {store_id}` replaces its credentials"
        )
    verdict = _try(platform, base_url.rstrip("/"), role, credentials, deps)
    now = deps.clock()
    secret_arn = deps.vault.create(store_id, credentials)
    store = StoreRecord(
        store_id=store_id,
        name=name or verdict.access.name,
        platform=platform,
        base_url=base_url.rstrip("/"),
        secret_arn=secret_arn,
        role=role,
        auto_post=auto_post,
        added_at=now,
        checked_at=now,
    )
    try:
        deps.stores.add(store)
    except OnboardingRefused:
        deps.vault.remove(secret_arn)  # someone added it meanwhile: leave nothing of ours behind
        raise
    return store


def check_store(store_id: str, deps: OnboardingDependencies) -> StoreRecord:
    """Tries the stored credentials again and records the answer (refused: recorded, then raised)."""
    store = known_store(store_id, deps)
    try:
        saved = {k: v for k, v in deps.vault.read(store.secret_arn).items() if k != WEBHOOK_SECRET_KEY}
        _try(store.platform, store.base_url, store.role, saved, deps)
    except OnboardingRefused as refused:
        _checked(store, f"refused: {refused}", deps)
        raise
    return _checked(store, "ok", deps)


def rotate_store(store_id: str, credentials: dict[str, Any], deps: OnboardingDependencies) -> StoreRecord:
    """New credentials replace the old only once the store has accepted them."""
    store = known_store(store_id, deps)
    _try(store.platform, store.base_url, store.role, credentials, deps)
    before = deps.vault.read(store.secret_arn)
    deps.vault.replace(store.secret_arn, {k: v for k, v in credentials.items() if k != WEBHOOK_SECRET_KEY})
    # the webhooks' secret outlives a rotation (the stores sign with it); a new client_secret goes with it
    kept = deps.vault.webhook_keys(store_id)
    keys = webhook_keys(kept, {WEBHOOK_SECRET_KEY: before.get(WEBHOOK_SECRET_KEY), **credentials})
    if keys and keys != kept:
        deps.vault.keep_webhook_keys(store_id, keys)
    return _checked(store, "ok (rotated)", deps)


def _checked(store: StoreRecord, result: str, deps: OnboardingDependencies) -> StoreRecord:
    """Records when the credentials were tried and the answer; returns the store as now recorded."""
    at = deps.clock()
    deps.stores.checked(store.store_id, at, result)
    return store.model_copy(update={"checked_at": at, "check_result": result})


def remove_store(store_id: str, deps: OnboardingDependencies) -> StoreRecord:
    store = known_store(store_id, deps)
    using = [c.connection_id for c in deps.connections.all() if store_id in (c.buyer.store_id, c.seller.store_id)]
    if using:
        raise OnboardingRefused(f"store {store_id} is used by {', '.join(using)}: remove those connections first")
    deps.vault.remove(store.secret_arn)
    deps.vault.remove_webhook_keys(store_id)
    deps.stores.remove(store_id)
    return store


def known_store(store_id: str, deps: OnboardingDependencies) -> StoreRecord:
    store = deps.stores.get(store_id)
    if store is None:
        raise OnboardingRefused(f"unknown store {store_id}: add it first with `ordersync store add`")
    return store


def _try(
    platform: Platform, base_url: str, role: Role, credentials: dict[str, Any], deps: OnboardingDependencies
) -> AccessVerdict:
    shape = credential_problem(platform, credentials)
    if shape:
        raise OnboardingRefused(shape)
    try:
        access = deps.check_access(platform, base_url, credentials)
    except StoreCredentialsError as refused:
        raise OnboardingRefused(f"the {platform.label} store refused these credentials: {refused}") from None
    except StoreUnavailable as down:
        raise OnboardingRefused(f"could not reach the {platform.label} store at {base_url}: {down}") from None
    verdict = AccessVerdict(access, missing(platform, role, access.granted))
    if not verdict.ok:
        todo = "; ".join(missing_in_words(platform, verdict.missing))
        raise OnboardingRefused(f"the credentials of {access.name} can't do all a {role} store needs: {todo}")
    return verdict


# --- connections -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewConnection:
    connection: Connection
    catalog_variants: int
    first_pull_orders: int
    first_pull_more: bool  # more than the preview read


def add_connection(
    buyer_id: str, seller_id: str, deps: OnboardingDependencies, since: datetime | None = None
) -> NewConnection:
    """The pair, with its cursor (now, or `since` to bring in recent orders); then the seller's first
    catalog sync and a look at what the first pull will bring."""
    stores = {store.store_id: store for store in deps.stores.all()}
    existing = [c.connection_id for c in deps.connections.all()]
    problem = connection_problem(buyer_id, seller_id, {i: s.role for i, s in stores.items()}, existing)
    if problem:
        raise OnboardingRefused(problem)
    now = deps.clock()
    if since is not None and since > now:
        raise OnboardingRefused(f"--since {iso(since)} is in the future")
    cursor = since or now
    connection = Connection(
        connection_id=connection_id(buyer_id, seller_id),
        buyer=stores[buyer_id].ref(),
        seller=stores[seller_id].ref(),
        cursor=cursor,
        created_at=now,
    )
    deps.connections.add(connection)
    variants = deps.sync_catalog(connection.seller)
    orders, more = deps.orders_since(connection.buyer, cursor)
    return NewConnection(connection, variants, orders, more)


def pause_connection(connection_id_: str, paused: bool, deps: OnboardingDependencies) -> Connection:
    deps.connections.set_paused(connection_id_, paused)
    return deps.connections.get(connection_id_, fresh=True)


def remove_connection(connection_id_: str, deps: OnboardingDependencies) -> Connection:
    connection = known_connection(connection_id_, deps)
    deps.connections.remove(connection_id_)
    return connection


def known_connection(connection_id_: str, deps: OnboardingDependencies) -> Connection:
    try:
        return deps.connections.get(connection_id_, fresh=True)
    except KeyError:
        raise OnboardingRefused(f"no connection {connection_id_!r} (`ordersync connection list` shows them)") from None


@dataclass(frozen=True)
class ConnectionRow:
    """One line of `connection list`."""

    connection_id: str
    state: str  # ok, new, paused, broken, failing
    buyer: str
    seller: str
    cursor: str | None
    cursor_age: str | None
    last_pull_at: str | None
    last_pull: str
    last_day: DayCounts


def connection_rows(deps: OnboardingDependencies) -> list[ConnectionRow]:
    now = deps.clock()
    rows = []
    for c in deps.connections.all():
        if c.broken_since:
            last = f"refused since {iso(c.broken_since)}: {c.last_pull_error}"
        elif c.store_failing_since:
            told = ", ops told" if c.failing_reported_at else ""
            last = f"failing since {iso(c.store_failing_since)}{told}: {c.last_pull_error} (read up to the cursor)"
        elif c.last_pull_at:
            last = f"{c.last_pull_orders or 0} order(s)"
        else:
            last = "not pulled yet"
        rows.append(
            ConnectionRow(
                connection_id=c.connection_id,
                state=connection_state(c),
                buyer=f"{c.buyer.store_id} ({c.buyer.platform.value})",
                seller=f"{c.seller.store_id} ({c.seller.platform.value})",
                cursor=iso(c.cursor) if c.cursor else None,
                cursor_age=age(c.cursor, now) if c.cursor else None,
                last_pull_at=iso(c.last_pull_at) if c.last_pull_at else None,
                last_pull=last,
                last_day=day_counts(deps.activity.statuses_since(c.connection_id, now - DAY)),
            )
        )
    return rows


def first_pull_preview(stores: StoreFactory) -> Callable[[StoreRef, datetime], tuple[int, bool]]:
    """How many orders the first pull will bring (it reads from the cursor minus the overlap), as
    far as FIRST_PULL_PAGES pages show; True when there are more."""

    def preview(buyer: StoreRef, cursor: datetime) -> tuple[int, bool]:
        orders = 0
        pages = stores.buyer(buyer).orders_updated_since(cursor - OVERLAP)
        for read, (page, next_page) in enumerate(pages, start=1):
            orders += len(page)
            if next_page is None:
                return orders, False
            if read >= FIRST_PULL_PAGES:
                return orders, True
        return orders, False

    return preview
