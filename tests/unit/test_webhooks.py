"""Webhooks without I/O: whether a delivery is genuine, what it asks for, the envelopes it becomes,
what registering changes, and the measure of the fast path (OrdersMissedByWebhooks)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from ordersync.domain.onboarding import StoreAccess
from ordersync.domain.webhooks import (
    BC_SECRET_HEADER,
    MAX_BODY_BYTES,
    WebhookSubscription,
    genuine,
    read_delivery,
    read_shopify_event,
    standard_signature,
    subscriptions_to_make,
    woocommerce_signature,
)
from ordersync.errors import OnboardingRefused, StoreRejected, StoreUnavailable
from ordersync.local.fakes.bigcommerce import bigcommerce_order
from ordersync.local.fakes.shopify import order_node
from ordersync.local.fakes.shopify_webhooks import webhook_body
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.models import (
    READ_FROM_STORE_KEY,
    Cause,
    Connection,
    FailureReason,
    OrderEnvelope,
    OrderStatus,
    Platform,
    Role,
    StoreRecord,
    read_request,
    requested_read,
)
from ordersync.observability import metrics
from ordersync.records import Attempt
from ordersync.services import webhooks
from ordersync.services.batch import process_order_batch
from ordersync.services.process import ProcessDependencies, process_message
from ordersync.services.pull import envelope_for
from ordersync.services.webhook_subscriptions import (
    WebhookAdminDependencies,
    WebhookChange,
    list_webhooks,
    register_webhooks,
    unregister_webhooks,
)
from ordersync.services.webhooks import (
    WebhookAnswer,
    WebhookDependencies,
    process_shopify_event,
    receive_webhook,
    shopify_event,
)

from .catalog_builders import NOW, LambdaContext, counted_metrics, sqs_record, store_ref, variant
from .in_memory import (
    FakeSellerStore,
    FakeStores,
    InMemoryCatalog,
    InMemoryConnections,
    InMemoryListings,
    InMemoryOrders,
    InMemoryStores,
    InMemoryVault,
    RecordingAlerts,
    RecordingDeadLetters,
    RecordingRetries,
)

SECRET = "s3cret-webhook"
WOO_BUYER = store_ref("brightside", Platform.WOOCOMMERCE)
BC_BUYER = store_ref("delta", Platform.BIGCOMMERCE)
SELLER = store_ref("northwind", Platform.WOOCOMMERCE)
ADDRESS = {"first_name": "Dana", "last_name": "W", "address_1": "1 Main St", "city": "Seattle", "country": "US"}


@pytest.fixture(autouse=True)
def fresh_container() -> None:
    """Each test a new container: no store's secret read afresh yet."""
    webhooks._REFRESHED.clear()


@dataclass
class RecordingQueue:
    sent: list[OrderEnvelope] = field(default_factory=list)

    def enqueue(self, envelopes: Sequence[OrderEnvelope]) -> None:
        self.sent.extend(envelopes)


@dataclass
class BuyerStores:
    """A BigCommerce buyer's orders by id, as the adapter reads one; or a store that fails."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: Exception | None = None
    read: list[str] = field(default_factory=list)

    def buyer(self, store: Any) -> Any:
        assert store.platform is not Platform.SHOPIFY and store.store_id in ("delta", "brightside")
        return self

    def seller(self, store: Any) -> Any:
        raise AssertionError("a webhook never reaches a seller store")

    def forget(self, store: Any) -> None: ...

    def order(self, order_id: str) -> dict[str, Any]:
        self.read.append(order_id)
        if self.fail:
            raise self.fail
        if order_id not in self.orders:
            raise StoreRejected(f"GET /orders/{order_id} answered 404")
        return self.orders[order_id]


def _deps(*connections: Connection) -> WebhookDependencies:
    return WebhookDependencies(
        connections=InMemoryConnections({c.connection_id: c for c in connections}),
        webhook_keys=lambda _store_id, _fresh: {"webhook_secret": SECRET},  # never the store's credentials
        queue=RecordingQueue(),
        clock=lambda: NOW,
    )


def _connection(buyer: Any, seller_id: str = "northwind", paused: bool = False) -> Connection:
    seller = SELLER if seller_id == "northwind" else store_ref(seller_id, Platform.SHOPIFY)
    return Connection(connection_id=f"{buyer.store_id}--{seller_id}", buyer=buyer, seller=seller, paused=paused)


def _woo(body: bytes, secret: str = SECRET, topic: str = "order.created") -> dict[str, str]:
    return {"x-wc-webhook-topic": topic, "x-wc-webhook-signature": woocommerce_signature(secret, body)}


ORDER = json.dumps(woocommerce_order(2001, [("NW-STOVE", "Stove", 1, "89.50", 102, 0)], ADDRESS)).encode()


def test_only_the_store_s_secret_over_these_very_bytes_makes_a_delivery_genuine() -> None:
    headers = _woo(ORDER)
    assert genuine(Platform.WOOCOMMERCE, SECRET, headers, ORDER)
    assert not genuine(Platform.WOOCOMMERCE, "other", headers, ORDER)
    assert not genuine(Platform.WOOCOMMERCE, SECRET, headers, ORDER.replace(b"89.50", b"1.00"))
    assert not genuine(Platform.WOOCOMMERCE, SECRET, {}, ORDER)
    bc = {BC_SECRET_HEADER.lower(): SECRET}
    assert genuine(Platform.BIGCOMMERCE, SECRET, bc, b"{}")
    assert not genuine(Platform.BIGCOMMERCE, SECRET, {BC_SECRET_HEADER.lower(): SECRET + "x"}, b"{}")
    assert not genuine(Platform.BIGCOMMERCE, SECRET, {}, b"{}")
    assert not genuine(Platform.SHOPIFY, SECRET, headers, ORDER)  # Shopify's come through EventBridge only


def test_what_a_delivery_asks_for() -> None:
    woo = read_delivery(Platform.WOOCOMMERCE, {"x-wc-webhook-topic": "order.updated"}, ORDER)
    assert (woo.topic, woo.payload["id"], woo.ignored) == ("order.updated", 2001, False)
    assert read_delivery(Platform.WOOCOMMERCE, {"x-wc-webhook-topic": "product.created"}, ORDER).ignored
    broken = read_delivery(Platform.WOOCOMMERCE, {"x-wc-webhook-topic": "order.created"}, b"<html>")
    assert broken.payload == {"unparseable_body": "<html>"} and not broken.ignored  # recorded INVALID_ORDER
    bc = read_delivery(Platform.BIGCOMMERCE, {}, b'{"scope": "store/order/created", "data": {"id": 250}}')
    assert (bc.order_id, bc.ignored) == ("250", False)
    assert read_delivery(Platform.BIGCOMMERCE, {}, b'{"scope": "store/product/updated", "data": {"id": 1}}').ignored
    assert read_delivery(Platform.BIGCOMMERCE, {}, b'{"scope": "store/order/created", "data": {"id": "x"}}').ignored
    assert read_delivery(Platform.BIGCOMMERCE, {}, b"[1]").ignored


def test_a_genuine_woocommerce_order_becomes_the_pull_s_envelope_for_each_unpaused_connection() -> None:
    deps = _deps(_connection(WOO_BUYER), _connection(WOO_BUYER, "peak"), _connection(WOO_BUYER, "summit", paused=True))
    metrics.clear_metrics()
    answer = receive_webhook("brightside", _woo(ORDER), ORDER, deps)
    assert answer == WebhookAnswer(202, "accepted", 2)
    assert counted_metrics() == {"OrdersFromWebhooks": [2.0]}
    metrics.clear_metrics()
    sent = deps.queue.sent  # type: ignore[attr-defined]
    assert [(e.connection_id, e.order_key, e.cause) for e in sent] == [
        ("brightside--northwind", "brightside--northwind#2001", Cause.WEBHOOK),
        ("brightside--peak", "brightside--peak#2001", Cause.WEBHOOK),
    ]
    assert sent[0].payload == json.loads(ORDER)


def test_refused_deliveries_enqueue_nothing_and_are_counted() -> None:
    deps = _deps(_connection(WOO_BUYER))
    metrics.clear_metrics()
    assert receive_webhook("brightside", _woo(ORDER, "guess"), ORDER, deps) == WebhookAnswer(
        401, "not signed by a store ordersync knows"
    )
    assert receive_webhook("brightside", {"x-wc-webhook-topic": "order.created"}, ORDER, deps).status == 401
    assert receive_webhook("stranger", _woo(ORDER), ORDER, deps).status == 401
    assert counted_metrics()["WebhooksRejected"] == [1.0, 1.0, 1.0]
    huge = b"x" * (MAX_BODY_BYTES + 1)
    assert receive_webhook("brightside", _woo(huge), huge, deps) == WebhookAnswer(413, "body over 200000 bytes")
    assert receive_webhook("brightside", _woo(b"x" * MAX_BODY_BYTES), b"x" * MAX_BODY_BYTES, deps).status == 202
    unknown = receive_webhook("brightside", _woo(ORDER, topic="coupon.created"), ORDER, deps)
    assert unknown == WebhookAnswer(200, "topic coupon.created acknowledged, not used")
    assert receive_webhook("brightside", {}, b"webhook_id=3", deps) == WebhookAnswer(200, "ping acknowledged")
    assert len(deps.queue.sent) == 1  # type: ignore[attr-defined]  # only the genuine 256 KB one
    metrics.clear_metrics()


def test_a_bigcommerce_webhook_is_answered_at_once_and_its_order_read_by_process_order() -> None:
    """Nothing is read at the door: a store in trouble would have made it a 503 (WooCommerce never
    delivers again, BigCommerce deactivates hooks that keep failing)."""
    deps = _deps(_connection(BC_BUYER))
    body = b'{"scope": "store/order/created", "store_id": "1", "data": {"type": "order", "id": 250}}'
    headers = {BC_SECRET_HEADER.lower(): SECRET}
    assert receive_webhook("delta", headers, body, deps) == WebhookAnswer(202, "accepted", 1)
    (envelope,) = deps.queue.sent  # type: ignore[attr-defined]
    assert (envelope.order_key, envelope.payload) == ("delta--northwind#250", {READ_FROM_STORE_KEY: "250"})


def test_an_order_a_webhook_names_is_read_once_for_every_part_and_passed_on_as_read() -> None:
    """A buyer of two sellers: the door sends one read request, naming the other part; the read
    serves both (the other part gets the order as read); the record keeps its part's envelope alone."""
    ridge = _connection(BC_BUYER, "ridge")
    paused = _connection(BC_BUYER, "summit", paused=True)
    deps = _deps(_connection(BC_BUYER), ridge, paused)
    body = b'{"scope": "store/order/created", "store_id": "1", "data": {"type": "order", "id": 250}}'
    assert receive_webhook("delta", {BC_SECRET_HEADER.lower(): SECRET}, body, deps).status == 202
    (envelope,) = deps.queue.sent  # type: ignore[attr-defined]
    assert envelope.connection_id == "delta--northwind" and envelope.read_for == ["delta--ridge"]

    order = bigcommerce_order(250) | {"products": [], "shipping_addresses": []}
    stores = BuyerStores({"250": order})
    process = _process_deps(_connection(BC_BUYER), ridge)
    process.stores = stores  # type: ignore[assignment]
    process_message(envelope.model_dump_json(), "m1", 1, process)
    assert stores.read == ["250"]
    (sent, delay), *more = process.retries.later  # type: ignore[attr-defined]
    other = OrderEnvelope.model_validate_json(sent)
    assert more == [] and delay == 0 and other.connection_id == "delta--ridge" and other.read_for == []
    assert other.payload["id"] == 250 and requested_read(other.payload) is None  # the order as read


def test_a_read_not_made_because_the_part_is_settled_is_passed_on_for_the_others_to_make() -> None:
    ridge = _connection(BC_BUYER, "ridge")
    process = _process_deps(_connection(BC_BUYER), ridge)
    request = envelope_for(_connection(BC_BUYER), read_request("250"), NOW, Cause.WEBHOOK)[0]
    request = request.model_copy(update={"read_for": ["delta--ridge"]})
    record = process.orders.claim(request, Attempt("a0", NOW, 0), True)
    record.status = OrderStatus.CANCELLED  # settled for a webhook's delivery
    process.orders.save(record)
    process_message(request.model_dump_json(), "m1", 1, process)
    ((sent, _),) = process.retries.later  # type: ignore[attr-defined]
    assert requested_read(OrderEnvelope.model_validate_json(sent).payload) == "250"


def test_a_woocommerce_order_with_refunds_is_read_again_as_the_pull_reads_it_unless_its_id_is_no_id() -> None:
    with_refund = {**json.loads(ORDER), "refunds": [{"id": 9, "total": "-10.00"}]}
    body = json.dumps(with_refund).encode()
    deps = _deps(_connection(WOO_BUYER))
    assert receive_webhook("brightside", _woo(body), body, deps).status == 202
    assert deps.queue.sent[0].payload == {READ_FROM_STORE_KEY: "2001"}  # type: ignore[attr-defined]
    for bad_id in ("abc", -1, True, None):  # travels as it is: recorded INVALID_ORDER, naming the id
        odd = json.dumps({**with_refund, "id": bad_id}).encode()
        assert receive_webhook("brightside", _woo(odd), odd, deps).status == 202
        assert deps.queue.sent[-1].payload["id"] == bad_id  # type: ignore[attr-defined]


def test_process_order_reads_a_requested_order_from_the_buyer_s_store() -> None:
    order = bigcommerce_order(250) | {"products": [], "shipping_addresses": []}
    stores = BuyerStores({"250": order})
    link = Connection(connection_id="delta--northwind", buyer=BC_BUYER, seller=SELLER)
    deps = _process_deps(link)
    deps.stores = stores  # type: ignore[assignment]

    def request(order_id: str) -> str:
        return envelope_for(link, read_request(order_id), NOW, Cause.WEBHOOK)[0].model_dump_json()

    process_message(request("250"), "m1", 1, deps)
    # read, normalized and split: no line of it is the seller's, so no record of it is kept
    assert stores.read == ["250"] and deps.orders.get("delta--northwind#250") is None  # type: ignore[union-attr]
    gone = process_message(request("251"), "m2", 1, deps)  # the store has no such order: said so, not retried
    assert (gone.status, gone.reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    assert "could not give order 251: GET /orders/251 answered 404" in gone.detail
    stores.fail = StoreUnavailable("GET /v2/orders/252 answered 503")
    with pytest.raises(StoreUnavailable):  # SQS delivers it again
        process_message(request("252"), "m3", 1, deps)


def test_registering_makes_only_what_is_missing_and_a_new_secret_replaces_what_was_made_with_another() -> None:
    url = "https://hooks.example/hooks/brightside"
    created = WebhookSubscription("1", "order.created", url)
    theirs = WebhookSubscription("2", "order.created", "https://erp.example/hook")
    assert subscriptions_to_make(Platform.WOOCOMMERCE, [created, theirs], url, False) == ([], ["order.updated"])
    assert subscriptions_to_make(Platform.WOOCOMMERCE, [created, theirs], url, True) == (
        [created],
        ["order.created", "order.updated"],
    )
    old_topic = WebhookSubscription("3", "order.deleted", url)
    assert subscriptions_to_make(Platform.WOOCOMMERCE, [old_topic], url, False) == (
        [old_topic],
        ["order.created", "order.updated"],
    )


@dataclass
class FakeWebhookApi:
    hooks: dict[str, WebhookSubscription] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    domain: str | None = None
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    granted: frozenset[str] = frozenset({"read", "write", "manage_woocommerce", "read_orders"})
    reactivated: list[str] = field(default_factory=list)

    def check_access(self) -> StoreAccess:
        return StoreAccess("Buyer", self.granted)

    def reactivate(self, subscription_id: str) -> None:
        self.reactivated.append(subscription_id)
        self.hooks[subscription_id] = dataclasses.replace(self.hooks[subscription_id], active=True, state="active")

    def webhooks(self) -> list[WebhookSubscription]:
        return list(self.hooks.values())

    def subscribe(self, topic: str, url: str, secret: str) -> str:
        subscription_id = str(next(self.ids))
        self.hooks[subscription_id] = WebhookSubscription(subscription_id, topic, url)
        self.secrets[subscription_id] = secret
        return subscription_id

    def unsubscribe(self, subscription_id: str) -> None:
        del self.hooks[subscription_id]

    def shop_domain(self) -> str | None:
        return self.domain


def _admin(
    platform: Platform, api: FakeWebhookApi, source_arn: str = "", role: Role = Role.BOTH
) -> tuple[WebhookAdminDependencies, InMemoryConnections]:
    vault = InMemoryVault()
    arn = vault.create("buyer", {"consumer_key": "ck", "consumer_secret": "cs"})
    record = StoreRecord(
        store_id="buyer",
        name="Buyer",
        platform=platform,
        base_url="https://buyer.example",
        secret_arn=arn,
        role=role,
        added_at=NOW,
        checked_at=NOW,
    )
    buyer = record.ref()
    connections = InMemoryConnections(
        {"buyer--northwind": Connection(connection_id="buyer--northwind", buyer=buyer, seller=SELLER)}
    )

    def flag(store_id: str, on: bool, shop_domain: str | None = None) -> list[str]:
        changed = []
        for c in connections.of_buyer(store_id):
            ref = c.buyer.model_copy(update={"webhooks": on, "shop_domain": shop_domain if on else None})
            connections.connections[c.connection_id] = c.model_copy(update={"buyer": ref})
            changed.append(c.connection_id)
        return changed

    connections.set_buyer_webhooks = flag  # type: ignore[attr-defined]
    deps = WebhookAdminDependencies(
        stores=InMemoryStores({"buyer": record}),
        vault=vault,
        connections=connections,  # type: ignore[arg-type]
        api=lambda store, credentials: (
            api if (store.store_id, credentials["consumer_key"]) == ("buyer", "ck") else None
        ),  # type: ignore[arg-type,return-value]
        webhook_base_url="https://abc.lambda-url.us-east-1.on.aws/",
        shopify_event_source_arn=source_arn,
    )
    return deps, connections


def test_register_is_idempotent_keeps_its_secret_and_marks_the_buyer_s_connections() -> None:
    api = FakeWebhookApi()
    deps, connections = _admin(Platform.WOOCOMMERCE, api)
    url = "https://abc.lambda-url.us-east-1.on.aws/hooks/buyer"
    first = register_webhooks("buyer", deps)
    made = [WebhookSubscription("100", "order.created", url), WebhookSubscription("101", "order.updated", url)]
    assert first == WebhookChange("buyer", url, ["order.created", "order.updated"], [], made, ["buyer--northwind"])
    secret = deps.vault.webhook_keys("buyer")["webhook_secret"]
    assert set(api.secrets.values()) == {secret} and len(secret) == 43  # 32 random bytes, URL-safe base64
    # a secret of its own, apart from the store's credentials (the webhook door reads it alone)
    assert deps.vault.read(deps.stores.get("buyer").secret_arn) == {"consumer_key": "ck", "consumer_secret": "cs"}  # type: ignore[union-attr]
    again = register_webhooks("buyer", deps)
    assert (again.made, again.removed, len(api.hooks)) == ([], [], 2)
    assert connections.connections["buyer--northwind"].buyer.webhooks
    stored = deps.stores.get("buyer")
    assert stored is not None and (stored.webhooks, stored.shop_domain) == (True, None)  # new connections inherit it
    assert list_webhooks("buyer", deps) == (url, made)
    gone = unregister_webhooks("buyer", deps)
    assert gone == WebhookChange("buyer", url, [], ["order.created", "order.updated"], [], ["buyer--northwind"])
    assert api.hooks == {} and connections.connections["buyer--northwind"].buyer.webhooks is False
    stored = deps.stores.get("buyer")
    assert stored is not None and stored.webhooks is False
    assert deps.vault.webhook_keys("buyer") == {"webhook_secret": secret}  # registering again reuses it


def test_subscriptions_made_with_a_lost_secret_are_made_again_with_the_new_one() -> None:
    url = "https://abc.lambda-url.us-east-1.on.aws/hooks/buyer"
    api = FakeWebhookApi({"7": WebhookSubscription("7", "order.created", url)}, {"7": "a secret nobody has"})
    api.hooks["8"] = WebhookSubscription("8", "order.created", "https://erp.example/hook")
    deps, _ = _admin(Platform.WOOCOMMERCE, api)
    change = register_webhooks("buyer", deps)
    assert change.removed == ["order.created"] and change.made == ["order.created", "order.updated"]
    secret = deps.vault.webhook_keys("buyer")["webhook_secret"]
    assert sorted(api.hooks) == ["100", "101", "8"] and {api.secrets[i] for i in ("100", "101")} == {secret}


def test_webhooks_of_a_store_ops_never_added_or_of_a_stack_without_shopify_events_are_refused_with_what_to_do() -> None:
    deps, _ = _admin(Platform.SHOPIFY, FakeWebhookApi(domain="acme.myshopify.com"))
    with pytest.raises(OnboardingRefused) as unknown:
        list_webhooks("nobody", deps)
    assert str(unknown.value) == "no store 'nobody': `ordersync store add` first"
    with pytest.raises(OnboardingRefused) as no_source:
        register_webhooks("buyer", deps)
    assert str(no_source.value) == (
        "this stack takes no Shopify events: deploy it with ShopifyEventSourceName set to the partner"
        " event source Shopify created for the app (aws.partner/shopify.com/...)"
    )


def test_a_shopify_shop_subscribes_its_event_source_and_is_indexed_by_its_domain() -> None:
    arn = "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/42/ordersync"
    api = FakeWebhookApi(domain="acme.myshopify.com")
    deps, connections = _admin(Platform.SHOPIFY, api, arn)
    change = register_webhooks("buyer", deps)
    assert change.url == arn and change.made == [
        "ORDERS_CREATE",
        "ORDERS_UPDATED",
        "ORDERS_CANCELLED",
        "FULFILLMENTS_CREATE",  # it sells too: its parcels
        "FULFILLMENTS_UPDATE",
    ]
    assert deps.vault.webhook_keys("buyer") == {}  # Shopify's come through EventBridge: no secret to check
    assert [c.connection_id for c in connections.of_shop("acme.myshopify.com")] == ["buyer--northwind"]
    stored = deps.stores.get("buyer")
    assert stored is not None and stored.shop_domain == "acme.myshopify.com"  # new connections are indexed too
    assert unregister_webhooks("buyer", deps).url == arn and connections.of_shop("acme.myshopify.com") == []


def _process_deps(*connections: Connection, clock: Any = lambda: NOW) -> ProcessDependencies:
    catalog = InMemoryCatalog([variant("NW-STOVE", "102")])
    return ProcessDependencies(
        orders=InMemoryOrders(),
        catalog=catalog,
        connections=InMemoryConnections({c.connection_id: c for c in connections}),
        stores=FakeStores(FakeSellerStore()),
        dead_letters=RecordingDeadLetters(),
        alerts=RecordingAlerts(),
        retries=RecordingRetries(),
        listings=InMemoryListings(catalog),
        max_receive_count=3,
        clock=clock,
    )


def _shopify_event(
    node: dict[str, Any], topic: str = "orders/create", shop: str = "acme.myshopify.com"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com/42/ordersync",
        "account": "123456789012",
        "detail": {
            "payload": webhook_body(topic if topic.startswith(("orders/c", "orders/u")) else "orders/create", node),
            "metadata": {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop},
        },
    }


SHOP = store_ref("acme", Platform.SHOPIFY).model_copy(update={"webhooks": True, "shop_domain": "acme.myshopify.com"})
SHIP = {"name": "Dana W", "address1": "1 Main St", "city": "Seattle", "countryCodeV2": "US"}


def test_a_shopify_event_is_processed_as_the_pull_s_envelope_for_each_connection_of_the_shop() -> None:
    deps = _process_deps(_connection(SHOP))
    node = order_node(1001, "#1001", [("NW-STOVE", "Stove", 1, "89.50")], SHIP)
    message = _shopify_event(node)
    assert shopify_event(json.dumps(message)) == message
    assert shopify_event(json.dumps({"detail-type": "x", "source": "aws.events"})) is None
    metrics.clear_metrics()
    (record,) = process_shopify_event(message, "m-1", 1, deps)
    assert counted_metrics()["OrdersFromWebhooks"] == [1.0]
    metrics.clear_metrics()
    assert record.status is OrderStatus.SYNCED and record.order_key == "acme--northwind#1001"
    assert record.timeline[-1].cause is Cause.WEBHOOK
    again = process_shopify_event(_shopify_event(node, "orders/updated"), "m-2", 1, deps)
    assert again[0].seller_order_id == record.seller_order_id
    assert len(deps.stores.seller_store.created) == 1  # type: ignore[attr-defined]
    assert process_shopify_event(_shopify_event(node, shop="other.myshopify.com"), "m-3", 1, deps) == []
    assert read_shopify_event(_shopify_event(node, "orders/paid")).ignored


def test_a_shopify_order_event_names_each_line_by_its_own_variant_as_the_graphql_order_does() -> None:
    """Each line of a buyer's order is split by its own variant's listing: an event that gave every
    line one product's id (as the fake once did) moved every line into one seller's part on the
    first orders/updated."""
    from ordersync.normalize import normalize

    node = order_node(5, "#5", [("NW-STOVE", "Stove", 1, "89.50"), ("PK-PACK-30", "Daypack", 1, "95.00")], SHIP)
    node["lineItems"]["nodes"].append(
        {**node["lineItems"]["nodes"][0], "id": "gid://shopify/LineItem/99", "variant": None, "sku": None}
    )
    from_api = [line.variant_id for line in normalize(Platform.SHOPIFY, node).lines]
    for topic in ("orders/create", "orders/updated"):
        event = read_shopify_event(_shopify_event(node, topic))
        assert [line.variant_id for line in normalize(Platform.SHOPIFY, event.payload).lines] == from_api
    assert len(set(from_api[:2])) == 2 and from_api[2] is None  # the custom item: no variant, no listing


def test_an_order_only_the_pull_found_is_counted_against_the_webhooks_and_nothing_else_is() -> None:
    connection = _connection(SHOP)
    deps = _process_deps(connection)
    metrics.clear_metrics()

    def envelope(number: int, cause: Cause) -> str:
        node = order_node(number, f"#{number}", [("NW-STOVE", "Stove", 1, "89.50")], SHIP)
        from ordersync.services.pull import envelope_for

        return envelope_for(connection, node, NOW, cause)[0].model_dump_json()

    process_message(envelope(1, Cause.WEBHOOK), "a", 1, deps)
    process_message(envelope(1, Cause.PULL), "b", 1, deps)  # the pull after the webhook: nothing missed
    assert "OrdersMissedByWebhooks" not in counted_metrics()
    process_message(envelope(2, Cause.PULL), "c", 1, deps)  # no webhook ever brought order 2
    assert counted_metrics()["OrdersMissedByWebhooks"] == [1.0]
    no_webhooks = _process_deps(_connection(store_ref("acme", Platform.SHOPIFY)))
    metrics.clear_metrics()
    process_message(envelope(3, Cause.PULL).replace('"webhooks":true', '"webhooks":false'), "d", 1, no_webhooks)
    assert "OrdersMissedByWebhooks" not in counted_metrics()
    metrics.clear_metrics()


def test_a_secret_registered_after_it_was_cached_is_read_afresh_but_forgeries_cost_one_read_a_minute() -> None:
    reads: list[bool] = []
    now = [NOW]

    def webhook_keys(_store_id: str, fresh: bool) -> dict[str, str]:
        reads.append(fresh)
        return {"webhook_secret": SECRET} if fresh else {}  # the cache predates `webhooks register`

    deps = _deps(_connection(store_ref("cachey", Platform.WOOCOMMERCE)))
    deps.webhook_keys = webhook_keys
    deps.clock = lambda: now[0]
    assert receive_webhook("cachey", _woo(ORDER), ORDER, deps).status == 202
    assert reads == [False, True]
    reads.clear()
    for _ in range(5):  # forged: the fresh read is not repeated within the minute (the cache is read again)
        assert receive_webhook("cachey", _woo(ORDER, "forged"), ORDER, deps).status == 401
    assert reads == [False, False] * 5
    now[0] += timedelta(minutes=1)
    assert receive_webhook("cachey", _woo(ORDER, "forged"), ORDER, deps).status == 401
    assert reads[-2:] == [False, True]


def test_a_shopify_event_whose_order_breaks_the_schema_is_recorded_invalid_and_kept_in_the_dlq() -> None:
    deps = _process_deps(_connection(SHOP))
    message = _shopify_event(order_node(1003, "#1003", [("NW-STOVE", "Stove", 1, "89.50")], SHIP))
    message["detail"]["payload"]["line_items"][0]["price"] = "call us"
    (record,) = process_shopify_event(message, "m-9", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    assert record.in_dlq and record.order_key == "acme--northwind#1003"
    assert deps.stores.seller_store.created == {}  # type: ignore[attr-defined]


def test_what_was_not_taken_is_named_as_the_store_sent_it_for_the_log_and_the_answer() -> None:
    woo = read_delivery(Platform.WOOCOMMERCE, {"x-wc-webhook-topic": "coupon.created"}, ORDER)
    assert (woo.topic, woo.ignored) == ("coupon.created", True)
    assert read_delivery(Platform.WOOCOMMERCE, {}, ORDER).topic == "(none)"
    assert read_delivery(Platform.BIGCOMMERCE, {}, b"not json").topic == "(unreadable)"
    other = read_delivery(Platform.BIGCOMMERCE, {}, b'{"scope": "store/cart/created", "data": {"id": 1}}')
    assert (other.topic, other.ignored) == ("store/cart/created", True)
    assert read_delivery(Platform.BIGCOMMERCE, {}, b'{"scope": "", "data": {"id": 1}}').topic == "(none)"
    taken = read_delivery(Platform.BIGCOMMERCE, {}, b'{"scope": "store/order/updated", "data": {"id": 7}}')
    assert (taken.topic, taken.order_id) == ("store/order/updated", "7")
    # a body that is not even UTF-8, and long: carried (cut) to be recorded INVALID_ORDER, not dropped
    garbage = b"\xff\xfe" + b"x" * 3000
    carried = read_delivery(Platform.WOOCOMMERCE, {"x-wc-webhook-topic": "order.created"}, garbage)
    assert carried.payload == {"unparseable_body": "\ufffd\ufffd" + "x" * 1998}


def test_a_shopify_event_without_its_shop_its_order_or_its_metadata_is_not_taken() -> None:
    node = order_node(1001, "#1001", [("NW-STOVE", "Stove", 1, "89.50")], SHIP)
    taken = read_shopify_event(_shopify_event(node, "orders/updated"))
    assert (taken.shop_domain, taken.topic, taken.ignored) == ("acme.myshopify.com", "orders/updated", False)
    no_payload = _shopify_event(node)
    del no_payload["detail"]["payload"]
    assert read_shopify_event(no_payload).ignored
    no_shop = _shopify_event(node, shop="")
    assert read_shopify_event(no_shop).ignored
    assert read_shopify_event({**no_payload, "detail": "not an object"}).ignored
    unnamed = read_shopify_event({**no_payload, "detail": {"metadata": "not an object", "payload": {}}})
    assert (unnamed.shop_domain, unnamed.topic, unnamed.ignored) == ("", "(none)", True)
    other = read_shopify_event(_shopify_event(node, "orders/paid"))
    assert (other.shop_domain, other.topic) == ("acme.myshopify.com", "orders/paid")


def test_a_shopify_event_s_order_holds_its_claim_to_the_deadline_and_fails_into_the_dlq_on_its_last_delivery() -> None:
    now = [NOW]
    deps = _process_deps(_connection(SHOP), clock=lambda: now[0])
    deps.stores.seller_store.fail_next = 5  # type: ignore[attr-defined]  # the seller's store is down
    deps.orders.throttle_next["release"] = 1  # type: ignore[attr-defined]  # and the give-up can't free the order
    message = _shopify_event(order_node(1004, "#1004", [("NW-STOVE", "Stove", 1, "89.50")], SHIP))
    deadline = NOW + timedelta(seconds=7)
    with pytest.raises(StoreUnavailable):
        process_shopify_event(message, "m-1", 1, deps, deadline)
    held = deps.orders.get("acme--northwind#1004")
    assert held is not None and held.claim_until_ms == int(deadline.timestamp() * 1000)  # lapses with the invocation
    assert held.claimed_by is not None and held.claimed_by.startswith("m-1/acme--northwind/")
    now[0] += timedelta(minutes=3)
    (record,) = process_shopify_event(message, "m-1", 3, deps, now[0] + timedelta(seconds=30))  # the last delivery
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.PLATFORM_UNAVAILABLE)
    (dead,) = deps.dead_letters.sent  # type: ignore[attr-defined]
    assert dead[0]["order_key"] == "acme--northwind#1004" and dead[0]["envelope"]["cause"] == "webhook"


def test_process_order_batch_hands_a_shopify_event_to_the_webhook_path_and_an_envelope_to_processing() -> None:
    deps = _process_deps(_connection(SHOP))
    event = _shopify_event(order_node(1005, "#1005", [("NW-STOVE", "Stove", 1, "89.50")], SHIP))
    records = {"Records": [sqs_record("m-5", json.dumps(event))]}
    assert process_order_batch(records, LambdaContext(30_000), deps) == {"batchItemFailures": []}
    record = deps.orders.get("acme--northwind#1005")
    assert record is not None and record.status is OrderStatus.SYNCED
    assert record.timeline[-1].cause is Cause.WEBHOOK


def test_the_batch_gives_a_shopify_event_its_message_s_delivery_count_id_and_deadline() -> None:
    now = [NOW]
    deps = _process_deps(_connection(SHOP), clock=lambda: now[0])
    deps.stores.seller_store.fail_next = 5  # type: ignore[attr-defined]  # the seller's store is down
    deps.orders.throttle_next["release"] = 1  # type: ignore[attr-defined]  # the claim stays, as written
    event = json.dumps(_shopify_event(order_node(1006, "#1006", [("NW-STOVE", "Stove", 1, "89.50")], SHIP)))
    with pytest.raises(BatchProcessingError):  # its only record failed: SQS delivers the batch again
        process_order_batch({"Records": [sqs_record("m-6", event)]}, LambdaContext(12_000), deps)
    held = deps.orders.get("acme--northwind#1006")
    assert held is not None and held.claimed_by is not None and held.claimed_by.startswith("m-6/acme--northwind/")
    assert held.claim_until_ms == int((NOW + timedelta(seconds=12)).timestamp() * 1000)  # the invocation's end
    now[0] += timedelta(minutes=3)  # the visibility timeout: the claim has lapsed
    last = process_order_batch({"Records": [sqs_record("m-6", event, 3)]}, LambdaContext(12_000), deps)
    assert last == {"batchItemFailures": []}  # the last delivery ends quietly: the DLQ holds the order with why
    failed = deps.orders.get("acme--northwind#1006")
    assert failed is not None and (failed.status, failed.in_dlq) == (OrderStatus.FAILED, True)


def test_bad_input_at_the_door_gets_its_named_4xx_never_a_500() -> None:
    deps = _deps(_connection(WOO_BUYER), _connection(BC_BUYER))
    metrics.clear_metrics()
    forged = {"x-wc-webhook-topic": "order.created", "x-wc-webhook-signature": "sig\u00e9"}  # one non-ASCII byte
    assert receive_webhook("brightside", forged, ORDER, deps).status == 401
    bc_forged = {BC_SECRET_HEADER.lower(): SECRET + "\u00e9"}
    assert (
        receive_webhook("delta", bc_forged, b'{"scope": "store/order/created", "data": {"id": 1}}', deps).status == 401
    )
    assert counted_metrics()["WebhooksRejected"] == [1.0, 1.0]  # counted, as any refusal
    metrics.clear_metrics()
    deep = b"[" * 100_000 + b"]" * 100_000  # validly signed, nested past any parser's depth
    assert receive_webhook("brightside", _woo(deep), deep, deps).status == 202
    assert set(deps.queue.sent[-1].payload) == {"unparseable_body"}  # type: ignore[attr-defined]  # INVALID_ORDER
    for name in ("x" * 3000, "Brightside", "../etc", "a"):  # the store-id rule, before any look-up
        assert receive_webhook(name, _woo(ORDER), ORDER, deps) == WebhookAnswer(404, "no such store")
    # one limit, in bytes, answered at the door: the body's bytes, and its JSON in an envelope
    multibyte = json.dumps({**json.loads(ORDER), "customer_note": "\u20ac" * 70_000}, ensure_ascii=False).encode()
    assert len(multibyte.decode()) < MAX_BODY_BYTES < len(multibyte)
    assert receive_webhook("brightside", _woo(multibyte), multibyte, deps).status == 413
    escaped = json.dumps({**json.loads(ORDER), "customer_note": "\u00e9" * 40_000}, ensure_ascii=False).encode()
    assert len(escaped) < MAX_BODY_BYTES < len(json.dumps(json.loads(escaped)))
    assert receive_webhook("brightside", _woo(escaped), escaped, deps).status == 413
    assert len(deps.queue.sent) == 1  # type: ignore[attr-defined]


def test_a_shopify_event_too_large_to_carry_its_order_is_read_from_the_shop() -> None:
    event = _shopify_event(order_node(1001, "#1001", [("NW-STOVE", "Stove", 1, "89.50")], {"name": "A"}))
    event["detail"]["payload"] = {"id": 1001, "admin_graphql_api_id": "gid://shopify/Order/1001"}
    read = read_shopify_event(event)
    assert (read.topic, read.payload, read.ignored) == ("orders/create", {READ_FROM_STORE_KEY: "1001"}, False)
    event["detail"]["payload"] = {"id": "1001; drop"}
    assert read_shopify_event(event).payload == {"id": "1001; drop"}  # no id: travels, recorded INVALID_ORDER


def test_register_brings_back_a_webhook_the_store_disabled_and_refuses_what_could_never_deliver() -> None:
    url = "https://abc.lambda-url.us-east-1.on.aws/hooks/buyer"
    disabled = WebhookSubscription("7", "order.created", url, active=False, state="disabled")
    api = FakeWebhookApi({"7": disabled, "8": WebhookSubscription("8", "order.updated", url)})
    deps, _ = _admin(Platform.WOOCOMMERCE, api)
    # registered before webhook keys had a secret of their own: the secret beside the credentials
    deps.vault.replace(deps.stores.get("buyer").secret_arn, {"consumer_key": "ck", "webhook_secret": "kept"})  # type: ignore[union-attr]
    change = register_webhooks("buyer", deps)
    assert (change.made, change.removed, change.reactivated) == ([], [], ["order.created"])
    assert deps.vault.webhook_keys("buyer") == {"webhook_secret": "kept"}  # moved where the door reads it
    assert deps.vault.read(deps.stores.get("buyer").secret_arn) == {"consumer_key": "ck"}  # type: ignore[union-attr]
    assert api.reactivated == ["7"] and all(s.active for s in api.hooks.values())
    assert register_webhooks("buyer", deps).reactivated == []  # nothing left to bring back
    # a store used only as a seller: its shipments' topic only, and no connection's pull changes
    seller_api = FakeWebhookApi()
    seller_only, _ = _admin(Platform.WOOCOMMERCE, seller_api, role=Role.SELLER)
    change = register_webhooks("buyer", seller_only)
    assert change.made == ["order.updated"] and change.connections == []
    bc_seller, _ = _admin(Platform.BIGCOMMERCE, FakeWebhookApi(), role=Role.SELLER)
    assert register_webhooks("buyer", bc_seller).made == ["store/shipment/created", "store/shipment/updated"]
    # a key without the shop-manager capability can't use WooCommerce's webhooks API: said so first
    weak = FakeWebhookApi(granted=frozenset({"read", "write"}))
    deps, _ = _admin(Platform.WOOCOMMERCE, weak)
    with pytest.raises(OnboardingRefused, match="make the REST API key's user a Shop manager"):
        register_webhooks("buyer", deps)
    assert weak.hooks == {}


def test_a_signed_bigcommerce_delivery_is_checked_against_the_app_s_client_secret() -> None:
    """Standard Webhooks: the spec's own example first, then a delivery to the door."""
    assert (
        standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    body = b'{"scope": "store/order/created", "data": {"type": "order", "id": 250}}'
    stamp = str(int(NOW.timestamp()))
    signed = {
        BC_SECRET_HEADER.lower(): SECRET,
        "webhook-id": "msg_1",
        "webhook-timestamp": stamp,
        "webhook-signature": "v1,bm90IGl0 " + standard_signature("app-client-secret", "msg_1", stamp, body),
    }
    deps = _deps(_connection(BC_BUYER))
    deps.webhook_keys = lambda _store_id, _fresh: {"webhook_secret": SECRET, "client_secret": "app-client-secret"}
    assert receive_webhook("delta", signed, body, deps).status == 202
    forged = {**signed, "webhook-signature": standard_signature("another-app", "msg_1", stamp, body)}
    assert receive_webhook("delta", forged, body, deps).status == 401
    replayed = {**signed, "webhook-timestamp": str(int(NOW.timestamp()) - 3600)}
    assert receive_webhook("delta", replayed, body, deps).status == 401
    unsigned = {BC_SECRET_HEADER.lower(): SECRET}  # a store whose hooks are not signed: our header suffices
    assert receive_webhook("delta", unsigned, body, deps).status == 202


def test_one_store_s_valid_signature_does_not_open_another_store_s_door() -> None:
    other = store_ref("harbour", Platform.WOOCOMMERCE)
    deps = _deps(_connection(WOO_BUYER), _connection(other))
    secrets_by_store = {WOO_BUYER.store_id: "brightside-secret", other.store_id: "harbour-secret"}
    deps.webhook_keys = lambda store_id, _fresh: {"webhook_secret": secrets_by_store[store_id]}
    signed_by_harbour = _woo(ORDER, "harbour-secret")
    assert receive_webhook("harbour", signed_by_harbour, ORDER, deps).status == 202
    assert receive_webhook("brightside", signed_by_harbour, ORDER, deps).status == 401  # B's signature, A's URL
    assert [e.connection_id for e in deps.queue.sent] == ["harbour--northwind"]  # type: ignore[attr-defined]
    bc_other = store_ref("cove", Platform.BIGCOMMERCE)
    deps = _deps(_connection(BC_BUYER), _connection(bc_other))
    secrets_by_store = {BC_BUYER.store_id: "delta-secret", bc_other.store_id: "cove-secret"}
    deps.webhook_keys = lambda store_id, _fresh: {"webhook_secret": secrets_by_store[store_id]}
    body = b'{"scope": "store/order/created", "data": {"type": "order", "id": 250}}'
    assert receive_webhook("delta", {BC_SECRET_HEADER.lower(): "cove-secret"}, body, deps).status == 401
    assert receive_webhook("cove", {BC_SECRET_HEADER.lower(): "cove-secret"}, body, deps).status == 202


def test_a_bigcommerce_store_s_webhook_keys_carry_the_app_s_client_secret_and_never_its_token() -> None:
    deps, _ = _admin(Platform.BIGCOMMERCE, FakeWebhookApi())
    arn = deps.stores.get("buyer").secret_arn  # type: ignore[union-attr]
    deps.vault.replace(arn, {"consumer_key": "ck", "access_token": "bc_token", "client_secret": "app-secret"})
    register_webhooks("buyer", deps)
    keys = deps.vault.webhook_keys("buyer")
    assert set(keys) == {"webhook_secret", "client_secret"} and keys["client_secret"] == "app-secret"
    assert deps.vault.read(arn)["access_token"] == "bc_token"  # the API token stays where the door can't read
