"""Onboarding without AWS or HTTP: what each platform's credentials must allow, what is refused and
why, that nothing is saved before the store said yes, and the pull's handling of paused and
broken connections."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from ordersync.alerts.connections import connection_broken_email
from ordersync.alerts.digest import OutgoingEmail
from ordersync.domain.onboarding import (
    DayCounts,
    StoreAccess,
    age,
    connection_problem,
    credential_problem,
    day_counts,
    granted_shopify_scopes,
    missing,
    missing_in_words,
    store_id_problem,
    url_problem,
)
from ordersync.errors import OnboardingRefused, StoreCredentialsError, StoreUnavailable
from ordersync.models import Connection, OrderStatus, Platform, Role, StoreRef
from ordersync.services import onboarding
from ordersync.services.onboarding import (
    OnboardingDependencies,
    add_connection,
    add_store,
    check_store,
    connection_rows,
    first_pull_preview,
    pause_connection,
    remove_connection,
    remove_store,
    rotate_store,
)
from ordersync.services.pull import OVERLAP, FanOutDependencies, PullDependencies, fan_out
from ordersync.services.pulls import pull_connection_batch

from .catalog_builders import NOW, LambdaContext, sqs_record
from .in_memory import InMemoryConnections, InMemoryStores, InMemoryVault

SHOPIFY_TOKEN = {"access_token": "shpat_secret_value"}
WOO_KEYS = {"consumer_key": "ck_secret", "consumer_secret": "cs_secret"}


# --- the rules -------------------------------------------------------------------------------------
def test_a_shopify_write_scope_includes_its_read_scope() -> None:
    granted = granted_shopify_scopes(["write_orders", "read_products", "write_merchant_managed_fulfillment_orders"])
    assert missing(Platform.SHOPIFY, Role.BOTH, granted) == []
    assert [n.grant for n in missing(Platform.SHOPIFY, Role.SELLER, granted_shopify_scopes(["read_orders"]))] == [
        "read_products",
        "write_orders",
    ]


@pytest.mark.parametrize(
    ("platform", "role", "granted", "wanting"),
    [
        (Platform.SHOPIFY, Role.BUYER, {"read_orders", "write_merchant_managed_fulfillment_orders"}, ["read_products"]),
        (Platform.SHOPIFY, Role.BUYER, {"read_products"}, ["read_orders", "write_merchant_managed_fulfillment_orders"]),
        (Platform.SHOPIFY, Role.SELLER, {"read_products", "read_orders"}, ["write_orders"]),
        (Platform.WOOCOMMERCE, Role.BUYER, {"read", "write"}, []),
        (Platform.WOOCOMMERCE, Role.BUYER, {"read"}, ["write"]),  # the sellers' parcels are written there
        (Platform.WOOCOMMERCE, Role.SELLER, {"read"}, ["write"]),
        (Platform.WOOCOMMERCE, Role.BOTH, {"write"}, ["read"]),
        (Platform.BIGCOMMERCE, Role.BUYER, {"Orders: read-only", "Orders: modify"}, ["Products: read-only"]),
        (Platform.BIGCOMMERCE, Role.SELLER, {"Orders: read-only", "Products: read-only"}, ["Orders: modify"]),
        (Platform.BIGCOMMERCE, Role.BOTH, set(), ["Orders: read-only", "Products: read-only", "Orders: modify"]),
    ],
)
def test_what_a_store_needs_depends_on_its_platform_and_role(
    platform: Platform, role: Role, granted: set[str], wanting: list[str]
) -> None:
    assert [need.grant for need in missing(platform, role, granted)] == wanting


def test_a_credentials_problem_names_the_keys_never_their_values() -> None:
    problem = credential_problem(Platform.WOOCOMMERCE, {"consumer_key": "ck_live_1234", "consumer_secret": ""})
    assert problem is not None and "consumer_secret" in problem and "ck_live_1234" not in problem
    extra = credential_problem(Platform.SHOPIFY, {"access_token": "shpat_1", "password": "hunter2"})
    assert extra is not None and "password" in extra and "hunter2" not in extra
    assert credential_problem(Platform.SHOPIFY, SHOPIFY_TOKEN) is None
    assert credential_problem(Platform.BIGCOMMERCE, {"access_token": 12}) is not None  # not a string


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://acme.myshopify.com", False),
        ("http://127.0.0.1:8123", False),  # the local fakes
        ("http://localhost:8123/stores/abc", False),
        ("http://shop.example.com", True),  # keys over plain HTTP: WooCommerce refuses them
        ("ftp://shop.example.com", True),
        ("https://shop.example.com/?consumer_key=ck_1", True),
        ("shop.example.com", True),
    ],
)
def test_stores_are_reached_over_https_only_except_this_machines_fakes(url: str, refused: bool) -> None:
    assert (url_problem(Platform.WOOCOMMERCE, url) is not None) is refused


@pytest.mark.parametrize(("store_id", "ok"), [("acme-outfitters", True), ("Acme", False), ("a", False), ("x/y", False)])
def test_a_store_id_is_what_can_name_its_secret(store_id: str, ok: bool) -> None:
    assert (store_id_problem(store_id) is None) is ok


def test_a_connection_needs_two_known_different_stores_in_the_right_roles_once() -> None:
    known = {"acme": Role.BUYER, "north": Role.SELLER, "both": Role.BOTH}
    assert connection_problem("acme", "north", known, []) is None
    assert (
        connection_problem("both", "both", known, []) == "a store can't sell to itself: buyer and seller are both both"
    )
    assert "unknown store ghost" in str(connection_problem("acme", "ghost", known, []))
    assert "added as a seller store" in str(connection_problem("north", "both", known, []))
    assert "added as a buyer store" in str(connection_problem("both", "acme", known, []))
    assert "already sells through" in str(connection_problem("acme", "north", known, ["acme--north"]))


def test_the_last_day_counts_what_ops_look_at() -> None:
    statuses = [OrderStatus.SYNCED, OrderStatus.POSTED_MANUALLY, OrderStatus.FAILED, OrderStatus.RECEIVED]
    statuses += [OrderStatus.MANUAL_POSTING_PENDING, OrderStatus.CANCELLED, OrderStatus.DISREGARDED]
    assert day_counts(statuses) == DayCounts(synced=2, failed=1, pending=2)


def test_ages_read_at_a_glance() -> None:
    assert [age(NOW - d, NOW) for d in (timedelta(seconds=5), timedelta(minutes=12), timedelta(hours=3))] == [
        "5s",
        "12m",
        "3h",
    ]
    assert age(NOW - timedelta(days=2, hours=5), NOW) == "2d" and age(None, NOW) == "-"


# --- the service -----------------------------------------------------------------------------------
@dataclass
class StoresThatAnswer:
    """Each store's answer to a set of credentials, keyed by base URL; records every try."""

    accepted: dict[str, tuple[dict[str, str], StoreAccess]] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    tries: list[tuple[Platform, str]] = field(default_factory=list)

    def __call__(self, platform: Platform, base_url: str, credentials: dict[str, str]) -> StoreAccess:
        self.tries.append((platform, base_url))
        if base_url in self.down:
            raise StoreUnavailable("GET /admin/api/2025-10/graphql.json timed out")
        expected, access = self.accepted[base_url]
        if credentials != expected:
            raise StoreCredentialsError("POST /admin/api/2025-10/graphql.json answered 401")
        return access


@dataclass
class Activity:
    by_connection: dict[str, list[OrderStatus]] = field(default_factory=dict)
    asked: list[tuple[str, datetime]] = field(default_factory=list)

    def statuses_since(self, connection_id: str, since: datetime) -> list[OrderStatus]:
        self.asked.append((connection_id, since))
        return self.by_connection.get(connection_id, [])


FULL_SHOPIFY = frozenset({"read_orders", "write_orders", "read_products", "write_merchant_managed_fulfillment_orders"})


def world() -> tuple[OnboardingDependencies, StoresThatAnswer]:
    answers = StoresThatAnswer(
        {
            "https://acme.myshopify.com": (SHOPIFY_TOKEN, StoreAccess("Acme Outfitters", FULL_SHOPIFY)),
            "https://north.example.com": (WOO_KEYS, StoreAccess("north.example.com", frozenset({"read", "write"}))),
        }
    )
    synced: list[str] = []
    deps = OnboardingDependencies(
        stores=InMemoryStores(),
        vault=InMemoryVault(),
        connections=InMemoryConnections(),
        activity=Activity(),
        check_access=answers,
        sync_catalog=lambda seller: synced.append(seller.store_id) or 7,
        orders_since=lambda buyer, since: (3, False),
        clock=lambda: NOW,
    )
    return deps, answers


def add_both(deps: OnboardingDependencies) -> None:
    add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com/", Role.BOTH, SHOPIFY_TOKEN, deps)
    add_store("north", Platform.WOOCOMMERCE, "https://north.example.com", Role.BOTH, WOO_KEYS, deps, name="North")


def test_a_store_is_saved_only_after_it_accepted_the_credentials() -> None:
    deps, answers = world()
    with pytest.raises(OnboardingRefused, match="refused these credentials"):
        add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com", Role.BOTH, {"access_token": "old"}, deps)
    assert deps.stores.all() == [] and deps.vault.secrets == {}  # type: ignore[attr-defined]
    answers.down.add("https://acme.myshopify.com")
    with pytest.raises(OnboardingRefused, match="could not reach the Shopify store"):
        add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com", Role.BOTH, SHOPIFY_TOKEN, deps)
    answers.down.clear()
    store = add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com/", Role.BOTH, SHOPIFY_TOKEN, deps)
    assert (store.name, store.base_url, store.checked_at, store.check_result) == (
        "Acme Outfitters",  # what the store calls itself
        "https://acme.myshopify.com",
        NOW,
        "ok",
    )
    assert deps.vault.read(store.secret_arn) == SHOPIFY_TOKEN
    assert "shpat" not in store.model_dump_json()  # the record holds the ARN, never the token


def test_missing_scopes_are_named_with_what_to_do_and_nothing_is_saved() -> None:
    deps, answers = world()
    answers.accepted["https://acme.myshopify.com"] = (SHOPIFY_TOKEN, StoreAccess("Acme", frozenset({"read_orders"})))
    with pytest.raises(OnboardingRefused) as refused:
        add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com", Role.SELLER, SHOPIFY_TOKEN, deps)
    message = str(refused.value)
    assert "`read_products` access scope" in message and "`write_orders` access scope" in message
    assert "to create orders in the seller's shop" in message and "shpat" not in message
    assert deps.stores.all() == [] and deps.vault.secrets == {}  # type: ignore[attr-defined]
    # a buyer's needs are others: its orders and catalog read, the sellers' parcels written
    buyer = frozenset({"read_orders", "read_products", "write_merchant_managed_fulfillment_orders"})
    answers.accepted["https://acme.myshopify.com"] = (SHOPIFY_TOKEN, StoreAccess("Acme", buyer))
    assert add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com", Role.BUYER, SHOPIFY_TOKEN, deps)


def test_a_store_is_added_once_and_bad_ids_urls_and_shapes_are_refused_before_any_call() -> None:
    deps, answers = world()
    add_both(deps)
    with pytest.raises(OnboardingRefused, match="exists already"):
        add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com", Role.BOTH, SHOPIFY_TOKEN, deps)
    tries = len(answers.tries)
    for store_id, url, credentials in (
        ("Bad Id", "https://acme.myshopify.com", SHOPIFY_TOKEN),
        ("new", "http://acme.example.com", SHOPIFY_TOKEN),
        ("new", "https://acme.myshopify.com", {"token": "x"}),
    ):
        with pytest.raises(OnboardingRefused):
            add_store(store_id, Platform.SHOPIFY, url, Role.BOTH, credentials, deps)
    assert len(answers.tries) == tries


def test_check_records_the_answer_and_rotate_replaces_credentials_only_once_accepted() -> None:
    deps, answers = world()
    add_both(deps)
    answers.accepted["https://acme.myshopify.com"] = (
        {"access_token": "shpat_new"},
        answers.accepted["https://acme.myshopify.com"][1],
    )
    with pytest.raises(OnboardingRefused):
        check_store("acme", deps)  # the shop revoked the old token
    assert deps.stores.get("acme").check_result.startswith("refused: ")  # type: ignore[union-attr]
    with pytest.raises(OnboardingRefused):
        rotate_store("acme", {"access_token": "shpat_wrong"}, deps)
    arn = deps.stores.get("acme").secret_arn  # type: ignore[union-attr]
    assert deps.vault.read(arn) == SHOPIFY_TOKEN  # a refused rotation changes nothing
    # `store webhooks register` made one, kept beside the credentials as it was before webhook keys
    deps.vault.replace(arn, {**SHOPIFY_TOKEN, "webhook_secret": "hooks"})
    assert rotate_store("acme", {"access_token": "shpat_new"}, deps).check_result == "ok (rotated)"
    assert deps.vault.read(arn) == {"access_token": "shpat_new"}  # the door can't read this secret...
    assert deps.vault.webhook_keys("acme") == {"webhook_secret": "hooks"}  # ...so the stores' secret moved here
    assert check_store("acme", deps).check_result == "ok"
    assert rotate_store("acme", {"access_token": "shpat_new"}, deps).check_result == "ok (rotated)"
    assert deps.vault.webhook_keys("acme") == {"webhook_secret": "hooks"}  # outlives every rotation


def test_a_connection_is_made_with_its_cursor_then_the_catalog_synced_and_the_first_pull_shown() -> None:
    deps, _ = world()
    add_both(deps)
    added = add_connection("acme", "north", deps, since=NOW - timedelta(days=2))
    assert added.connection.connection_id == "acme--north" and added.connection.cursor == NOW - timedelta(days=2)
    assert added.connection.seller.name == "North" and added.connection.created_at == NOW
    assert (added.catalog_variants, added.first_pull_orders, added.first_pull_more) == (7, 3, False)
    assert deps.connections.get("acme--north").buyer.secret_arn == deps.stores.get("acme").secret_arn  # type: ignore[union-attr]
    with pytest.raises(OnboardingRefused, match="already sells through"):
        add_connection("acme", "north", deps)
    with pytest.raises(OnboardingRefused, match="in the future"):
        add_connection("north", "acme", deps, since=NOW + timedelta(hours=1))
    assert add_connection("north", "acme", deps).connection.cursor == NOW  # default: from now on


def test_a_store_in_use_is_not_removed_and_a_removed_store_keeps_its_secret_recoverable() -> None:
    deps, _ = world()
    add_both(deps)
    add_connection("acme", "north", deps)
    with pytest.raises(OnboardingRefused, match="used by acme--north"):
        remove_store("north", deps)
    remove_connection("acme--north", deps)
    with pytest.raises(OnboardingRefused, match="no connection"):
        remove_connection("acme--north", deps)
    removed = remove_store("north", deps)
    assert deps.stores.get("north") is None and deps.vault.removed == [removed.secret_arn]  # type: ignore[attr-defined]


def test_the_morning_table_shows_state_cursor_age_last_pull_and_the_days_orders() -> None:
    deps, _ = world()
    add_both(deps)
    add_connection("acme", "north", deps, since=NOW - timedelta(hours=3))
    add_connection("north", "acme", deps)
    deps.activity.by_connection["acme--north"] = [OrderStatus.SYNCED, OrderStatus.SYNCED, OrderStatus.FAILED]  # type: ignore[attr-defined]
    deps.connections.pulled("acme--north", NOW, 3)  # type: ignore[attr-defined]
    pause_connection("north--acme", True, deps)
    first, second = connection_rows(deps)
    assert (first.state, first.cursor_age, first.last_pull, first.last_day) == (
        "ok",
        "3h",
        "3 order(s)",
        DayCounts(synced=2, failed=1),
    )
    assert first.buyer == "acme (shopify)" and first.seller == "north (woocommerce)"
    assert (second.state, second.last_pull) == ("paused", "not pulled yet")
    assert deps.activity.asked[0] == ("acme--north", NOW - timedelta(hours=24))  # type: ignore[attr-defined]
    deps.connections.refused("acme--north", NOW, "answered 401")  # type: ignore[attr-defined]
    assert connection_rows(deps)[0].state == "broken"
    assert connection_rows(deps)[0].last_pull.startswith("refused since 2026-11-27T12:20:00Z")
    with pytest.raises(OnboardingRefused):
        pause_connection("ghost--acme", True, deps)


def test_the_first_pull_preview_reads_from_the_cursor_minus_the_overlap_and_stops_early() -> None:
    @dataclass
    class Buyer:
        pages: int
        asked: list[datetime] = field(default_factory=list)

        def orders_updated_since(self, since: datetime, resume: str | None = None) -> Any:
            self.asked.append(since)
            for page in range(self.pages):
                yield [{"id": n} for n in range(10)], (str(page + 1) if page + 1 < self.pages else None)

    class Stores:
        def __init__(self, buyer: Buyer) -> None:
            self.store = buyer

        def buyer(self, store: StoreRef) -> Buyer:
            return self.store

    short, long = Buyer(pages=1), Buyer(pages=9)
    assert first_pull_preview(Stores(short))(_ref("acme"), NOW) == (10, False)  # type: ignore[arg-type]
    assert short.asked == [NOW - OVERLAP]
    expected = 10 * onboarding.FIRST_PULL_PAGES
    assert first_pull_preview(Stores(long))(_ref("acme"), NOW) == (expected, True)  # type: ignore[arg-type]


def _ref(store_id: str, platform: Platform = Platform.SHOPIFY) -> StoreRef:
    from .catalog_builders import store_ref

    return store_ref(store_id, platform)


# --- the pull ---------------------------------------------------------------------------------------
@dataclass
class OpsInbox:
    emails: list[OutgoingEmail] = field(default_factory=list)

    def send(self, email: OutgoingEmail) -> None:
        self.emails.append(email)


@dataclass
class Requests:
    asked: list[list[str]] = field(default_factory=list)

    def request_pulls(self, connection_ids: Any, resume: Any = None) -> None:
        self.asked.append(list(connection_ids))


def _connection(buyer: str, paused: bool = False) -> Connection:
    return Connection(
        connection_id=f"{buyer}--north",
        buyer=_ref(buyer),
        seller=_ref("north", Platform.WOOCOMMERCE),
        cursor=NOW - timedelta(hours=1),
        paused=paused,
    )


def test_the_hourly_run_skips_paused_connections() -> None:
    links = InMemoryConnections({c.connection_id: c for c in (_connection("acme"), _connection("bolt", True))})
    requests = Requests()
    assert fan_out(FanOutDependencies(connections=links, pull_queue=requests)) == 1
    assert requests.asked == [["acme--north"]]


@dataclass
class BuyerStores:
    """acme's store refuses the credentials while `refusing`; the others answer one empty page."""

    refusing: bool = True
    pulled: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)

    def forget(self, store: StoreRef) -> None:
        self.forgotten.append(store.store_id)

    def buyer(self, store: StoreRef) -> Any:
        self.pulled.append(store.store_id)
        outer = self

        class Buyer:
            def orders_updated_since(self, since: datetime, resume: str | None = None) -> Any:
                if store.store_id == "acme" and outer.refusing:
                    raise StoreCredentialsError("POST /admin/api/2025-10/graphql.json answered 401")
                yield [], None

        return Buyer()

    def seller(self, store: StoreRef) -> Any:
        raise AssertionError("the pull never posts")


def _pull(deps: PullDependencies, *connection_ids: str) -> dict[str, Any]:
    records = [sqs_record(f"p-{c}", json.dumps({"connection_id": c})) for c in connection_ids]
    return pull_connection_batch({"Records": records}, LambdaContext(600_000), deps)  # type: ignore[arg-type]


def test_a_store_refusing_its_credentials_breaks_its_connection_once_and_the_others_go_on() -> None:
    links = InMemoryConnections({c.connection_id: c for c in (_connection("acme"), _connection("bolt"))})
    inbox, stores = OpsInbox(), BuyerStores()
    deps = PullDependencies(links, stores, _NoQueue(), Requests(), ops_alerts=inbox, clock=lambda: NOW)  # type: ignore[arg-type]
    for _hour in range(3):
        assert _pull(deps, "acme--north", "bolt--north") == {"batchItemFailures": []}  # no retry, no PullDLQ
    (email,) = inbox.emails  # told once, not every hour
    assert email.audience == "ops" and "Acme refuses our credentials" in email.subject
    assert "ordersync store rotate acme" in email.body and "answered 401" in email.body
    assert links.get("acme--north").broken_since == NOW and links.get("bolt--north").last_pull_orders == 0
    assert stores.pulled.count("bolt") == 3  # the other connection was pulled every hour
    assert stores.forgotten == ["acme"] * 3  # each hour, tried once more with credentials read afresh
    stores.refusing = False  # the credentials were fixed: the next pull heals the connection
    _pull(deps, "acme--north")
    healed = links.get("acme--north")
    assert healed.broken_since is None and healed.last_pull_error is None and healed.last_pull_at == NOW


def test_a_pull_requested_before_the_connection_was_paused_pulls_nothing() -> None:
    links = InMemoryConnections({"acme--north": _connection("acme", paused=True)})
    stores = BuyerStores(refusing=False)
    deps = PullDependencies(links, stores, _NoQueue(), Requests(), clock=lambda: NOW)  # type: ignore[arg-type]
    assert _pull(deps, "acme--north") == {"batchItemFailures": []}
    assert stores.pulled == [] and links.get("acme--north").last_pull_at is None


class _NoQueue:
    def enqueue(self, envelopes: Any) -> None:
        assert not list(envelopes), "nothing was read, nothing is enqueued"


# --- the words ops read ----------------------------------------------------------------------------
def test_refusals_say_what_is_wrong_and_what_to_do_word_for_word() -> None:
    known = {"acme": Role.BUYER, "north": Role.SELLER}
    assert connection_problem("acme", "ghost", known, []) == (
        "unknown store ghost: add it first with `ordersync store add`"
    )
    assert connection_problem("ghost", "spook", known, []) == (
        "unknown store ghost, spook: add it first with `ordersync store add`"
    )
    assert connection_problem("north", "acme", {"north": Role.SELLER, "acme": Role.BOTH}, []) == (
        "north was added as a seller store: its credentials were not checked for pulling orders"
    )
    assert connection_problem("acme", "acme2", {"acme": Role.BOTH, "acme2": Role.BUYER}, []) == (
        "acme2 was added as a buyer store: its credentials were not checked for posting"
    )
    assert connection_problem("acme", "north", known, ["acme--north"]) == (
        "acme already sells through north (connection acme--north)"
    )
    assert store_id_problem("Acme") == (
        "store id 'Acme': use 2-63 lowercase letters, digits and dashes, starting with a letter or digit"
        " (it names the store's secret, ordersync/stores/<id>)"
    )
    assert url_problem(Platform.WOOCOMMERCE, "http://shop.example.com") == (
        "store URL 'http://shop.example.com': WooCommerce stores are reached over HTTPS only"
    )
    assert url_problem(Platform.SHOPIFY, "ftp://x") == "store URL 'ftp://x' is not an http(s) URL"
    assert url_problem(Platform.SHOPIFY, "https://x.example/#top") == (
        "store URL 'https://x.example/#top': give the store's base URL, without a query or fragment"
    )
    assert credential_problem(Platform.WOOCOMMERCE, {"consumer_key": "ck"}) == (
        "WooCommerce credentials need consumer_key, consumer_secret; missing or empty: consumer_secret"
    )
    assert credential_problem(Platform.BIGCOMMERCE, {"access_token": "t", "client_id": "c", "api": "a"}) == (
        "BigCommerce credentials hold only access_token, client_secret; unexpected: api, client_id"
    )
    # a key that looks like a token (pasted where a name goes) is counted, never printed
    leaked = credential_problem(Platform.SHOPIFY, {"access_token": "t", "shpat_0a1b2c3d4e5f": "x", "url": "u"})
    assert leaked == (
        "Shopify credentials hold only access_token; unexpected: url, 1 more not shown (a key like that may be a"
        " secret itself)"
    )
    assert credential_problem(Platform.BIGCOMMERCE, {"access_token": "t", "client_secret": "s"}) is None


@pytest.mark.parametrize(
    ("platform", "grant", "words"),
    [
        (
            Platform.SHOPIFY,
            "write_orders",
            "add the `write_orders` access scope to the app and reinstall it in the shop: needed to create orders"
            " in the seller's shop (and find those already created)",
        ),
        (
            Platform.WOOCOMMERCE,
            "read",
            "give the REST API key read permission (WooCommerce > Settings > Advanced > REST API): needed to pull"
            " the buyer's orders and read the seller's catalog",
        ),
        (
            Platform.BIGCOMMERCE,
            "Products: read-only",
            "give the API account the `Products: read-only` OAuth scope (Settings > API > Store-level API"
            " accounts): needed to read the seller's catalog, and the buyer's into its listings",
        ),
    ],
)
def test_each_missing_grant_is_said_in_the_platforms_own_words(platform: Platform, grant: str, words: str) -> None:
    (need,) = [n for n in missing(platform, Role.BOTH, set()) if n.grant == grant]
    assert missing_in_words(platform, [need]) == [words]


def test_the_ops_email_of_a_broken_connection_word_for_word() -> None:
    link = _connection("acme")
    email = connection_broken_email(link, "POST /admin/api/2025-10/graphql.json answered 401", NOW)
    assert (email.audience, email.seller_id, email.reason) == ("ops", None, "CONNECTION_BROKEN")
    assert email.subject == "[ordersync] Connection broken: Acme refuses our credentials"
    assert email.body == "\n".join(
        [
            "The Shopify store Acme (acme) refused ordersync's credentials at 2026-11-27T12:20:00Z, so no orders"
            " are pulled from it for North (north).",
            "",
            "What the store said: POST /admin/api/2025-10/graphql.json answered 401",
            "",
            "Orders are not lost: the pull resumes from its cursor once the credentials work again.",
            "Fix the credentials in the store, then: ordersync store rotate acme (or ordersync store check acme"
            " if they were fixed in the store).",
            "Connection acme--north: ordersync connection list shows it as broken until a pull succeeds.",
            "You are told once; not again every hour while it stays broken.",
        ]
    )


def test_the_services_refusals_word_for_word() -> None:
    deps, answers = world()
    add_both(deps)

    def refusal(call: Any) -> str:
        with pytest.raises(OnboardingRefused) as refused:
            call()
        return str(refused.value)

    url = "https://acme.myshopify.com"
    assert refusal(lambda: add_store("acme", Platform.SHOPIFY, url, Role.BOTH, SHOPIFY_TOKEN, deps)) == (
        "store acme exists already: `ordersync store rotate acme` replaces its credentials"
    )
    assert refusal(lambda: add_store("new", Platform.SHOPIFY, url, Role.BOTH, {"access_token": "x"}, deps)) == (
        "the Shopify store refused these credentials: POST /admin/api/2025-10/graphql.json answered 401"
    )
    answers.down.add(url)
    assert refusal(lambda: add_store("new", Platform.SHOPIFY, url, Role.BOTH, SHOPIFY_TOKEN, deps)) == (
        "could not reach the Shopify store at https://acme.myshopify.com: GET /admin/api/2025-10/graphql.json timed out"
    )
    answers.down.clear()
    no_orders_read = frozenset({"read_products", "write_orders", "write_merchant_managed_fulfillment_orders"})
    answers.accepted[url] = (SHOPIFY_TOKEN, StoreAccess("Acme", no_orders_read))
    assert refusal(lambda: add_store("new", Platform.SHOPIFY, url, Role.BUYER, SHOPIFY_TOKEN, deps)) == (
        "the credentials of Acme can't do all a buyer store needs: add the `read_orders` access scope to the"
        " app and reinstall it in the shop: needed to pull the buyer's orders"
    )
    assert refusal(lambda: check_store("ghost", deps)) == (
        "unknown store ghost: add it first with `ordersync store add`"
    )
    assert refusal(lambda: add_connection("acme", "north", deps, since=NOW + timedelta(seconds=1))) == (
        "--since 2026-11-27T12:20:01Z is in the future"
    )
    add_connection("acme", "north", deps)
    assert refusal(lambda: remove_store("acme", deps)) == (
        "store acme is used by acme--north: remove those connections first"
    )
    assert refusal(lambda: remove_connection("ghost--north", deps)) == (
        "no connection 'ghost--north' (`ordersync connection list` shows them)"
    )


def test_every_field_of_the_morning_table_per_state() -> None:
    deps, _ = world()
    add_both(deps)
    add_connection("acme", "north", deps, since=NOW - timedelta(minutes=30))
    assert connection_rows(deps) == [
        onboarding.ConnectionRow(
            connection_id="acme--north",
            state="new",
            buyer="acme (shopify)",
            seller="north (woocommerce)",
            cursor="2026-11-27T11:50:00Z",
            cursor_age="30m",
            last_pull_at=None,
            last_pull="not pulled yet",
            last_day=DayCounts(),
        )
    ]
    deps.connections.pulled("acme--north", NOW - timedelta(minutes=5), 0)  # type: ignore[attr-defined]
    (row,) = connection_rows(deps)
    assert (row.state, row.last_pull_at, row.last_pull) == ("ok", "2026-11-27T12:15:00Z", "0 order(s)")
    deps.connections.refused("acme--north", NOW, "answered 401")  # type: ignore[attr-defined]
    (row,) = connection_rows(deps)
    assert row.last_pull == "refused since 2026-11-27T12:20:00Z: answered 401" and row.state == "broken"
    pause_connection("acme--north", True, deps)
    assert connection_rows(deps)[0].state == "paused"  # paused says more than broken


# --- what the first mutation run of this code found unchecked ----------------------------------------
def test_ages_at_their_boundaries() -> None:
    seconds = [59, 60, 3599, 3600, 86399, 86400]
    assert [age(NOW - timedelta(seconds=s), NOW) for s in seconds] == ["59s", "1m", "59m", "1h", "23h", "1d"]
    assert age(NOW + timedelta(seconds=5), NOW) == "0s"  # a clock a little ahead is not negative


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def test_every_check_and_rotation_is_dated_and_a_store_keeps_its_role_path_and_posting_choice() -> None:
    deps, answers = world()
    deps.clock = Clock()
    woo = "https://north.example.com/shopX"  # WordPress in a subdirectory
    answers.accepted[woo] = (WOO_KEYS, StoreAccess("north", frozenset({"read", "write"})))
    store = add_store("north", Platform.WOOCOMMERCE, woo + "/", Role.BUYER, WOO_KEYS, deps)
    assert (store.base_url, store.role, store.auto_post) == (woo, Role.BUYER, False)
    assert answers.tries == [(Platform.WOOCOMMERCE, woo)]
    assert check_store("north", deps).checked_at == NOW + timedelta(minutes=2)
    assert rotate_store("north", WOO_KEYS, deps).checked_at == NOW + timedelta(minutes=3)
    with pytest.raises(OnboardingRefused) as refused:
        add_store("bolt", Platform.WOOCOMMERCE, woo, Role.BOTH, {"consumer_key": "ck"}, deps)
    assert str(refused.value) == credential_problem(Platform.WOOCOMMERCE, {"consumer_key": "ck"})


def test_a_store_added_twice_at_once_leaves_no_second_secret_behind() -> None:
    deps, _ = world()

    class Racing(InMemoryStores):
        def add(self, store: Any) -> None:
            raise OnboardingRefused(f"store {store.store_id} exists already")

    deps.stores = Racing()
    with pytest.raises(OnboardingRefused, match="exists already"):
        add_store("acme", Platform.SHOPIFY, "https://acme.myshopify.com", Role.BOTH, SHOPIFY_TOKEN, deps)
    assert deps.vault.secrets == {} and len(deps.vault.removed) == 1  # type: ignore[attr-defined]


def test_a_connection_reads_its_stores_afresh_and_previews_from_its_cursor() -> None:
    deps, _ = world()
    asked: list[tuple[str, datetime]] = []
    deps.orders_since = lambda buyer, since: asked.append((buyer.store_id, since)) or (0, False)  # type: ignore[func-returns-value]

    @dataclass
    class Fresh(InMemoryConnections):
        reads: list[bool] = field(default_factory=list)

        def get(self, connection_id: str, fresh: bool = False) -> Connection:
            self.reads.append(fresh)
            return super().get(connection_id, fresh)

    deps.connections = Fresh()
    add_both(deps)
    add_connection("acme", "north", deps, since=NOW)  # since == now is allowed
    assert asked == [("acme", NOW)]
    pause_connection("acme--north", True, deps)
    remove_connection("acme--north", deps)
    assert deps.connections.reads == [True, True]  # type: ignore[attr-defined]  # never a cached copy
    add_connection("acme", "north", deps)
    add_connection("north", "acme", deps)
    with pytest.raises(OnboardingRefused) as refused:
        remove_store("north", deps)
    assert str(refused.value) == "store north is used by acme--north, north--acme: remove those connections first"


def test_the_preview_of_an_empty_store_and_of_the_right_store() -> None:
    class Empty:
        def orders_updated_since(self, since: datetime, resume: str | None = None) -> Any:
            return iter(())

    class Stores:
        def buyer(self, store: StoreRef) -> Empty:
            assert store.store_id == "acme", store
            return Empty()

    assert first_pull_preview(Stores())(_ref("acme"), NOW) == (0, False)  # type: ignore[arg-type]


def test_a_refused_pull_is_counted_and_says_what_the_store_said() -> None:
    from ordersync.observability import metrics

    from .catalog_builders import counted_metrics

    links = InMemoryConnections({"acme--north": _connection("acme")})
    deps = PullDependencies(links, BuyerStores(), _NoQueue(), Requests(), ops_alerts=OpsInbox(), clock=lambda: NOW)  # type: ignore[arg-type]
    metrics.clear_metrics()
    _pull(deps, "acme--north")
    assert counted_metrics() == {"PullsRefusedCredentials": [1.0]}
    metrics.clear_metrics()
    assert links.get("acme--north").last_pull_error == "POST /admin/api/2025-10/graphql.json answered 401"


def test_more_of_what_ops_are_told_and_what_is_kept() -> None:
    deps, answers = world()
    deps.clock = Clock()
    url = "https://acme.myshopify.com"
    answers.accepted[url] = (SHOPIFY_TOKEN, StoreAccess("Acme", frozenset({"read_orders", "read_products"})))
    with pytest.raises(OnboardingRefused) as refused:
        add_store("acme", Platform.SHOPIFY, url, Role.BUYER, SHOPIFY_TOKEN, deps)
    assert str(refused.value).count("; ") == 0  # one missing grant for a buyer
    with pytest.raises(OnboardingRefused) as refused:
        add_store("acme", Platform.SHOPIFY, url, Role.SELLER, SHOPIFY_TOKEN, deps)
    words = missing_in_words(Platform.SHOPIFY, missing(Platform.SHOPIFY, Role.SELLER, {"read_products"}))
    assert str(refused.value) == "the credentials of Acme can't do all a seller store needs: " + "; ".join(words)
    with pytest.raises(OnboardingRefused) as refused:
        add_store("Acme", Platform.SHOPIFY, url, Role.BOTH, SHOPIFY_TOKEN, deps)
    assert str(refused.value) == store_id_problem("Acme")
    answers.accepted[url] = (SHOPIFY_TOKEN, StoreAccess("Acme", FULL_SHOPIFY))
    store = add_store("acme", Platform.SHOPIFY, url, Role.BOTH, SHOPIFY_TOKEN, deps, auto_post=True)
    assert store.auto_post and store.ref().auto_post
    answers.accepted[url] = ({"access_token": "shpat_other"}, answers.accepted[url][1])
    before = deps.clock.now
    with pytest.raises(OnboardingRefused):
        check_store("acme", deps)
    assert deps.stores.get("acme").checked_at > before  # type: ignore[union-attr]  # a refusal is dated too


def test_a_connection_made_before_cursors_shows_none() -> None:
    deps, _ = world()
    add_both(deps)
    legacy = Connection(
        connection_id="acme--north",
        buyer=deps.stores.get("acme").ref(),  # type: ignore[union-attr]
        seller=deps.stores.get("north").ref(),  # type: ignore[union-attr]
    )
    deps.connections.add(legacy)
    (row,) = connection_rows(deps)
    assert (row.cursor, row.cursor_age, row.state) == (None, None, "new")


def test_credentials_problems_list_every_key() -> None:
    assert credential_problem(Platform.WOOCOMMERCE, {}) == (
        "WooCommerce credentials need consumer_key, consumer_secret; missing or empty: consumer_key, consumer_secret"
    )
    assert credential_problem(Platform.WOOCOMMERCE, {"consumer_key": "a", "consumer_secret": "b", "url": "c"}) == (
        "WooCommerce credentials hold only consumer_key, consumer_secret; unexpected: url"
    )
