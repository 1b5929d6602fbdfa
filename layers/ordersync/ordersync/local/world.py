"""A marketplace to run against the local stack: buyer and seller stores (fake, over HTTP), the
connections between them, the sellers' catalogs, and each seller's alert email subscription."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import boto3

from ordersync.aws.catalog import DynamoCatalog
from ordersync.aws.connections import DynamoConnections
from ordersync.aws.messaging import SnsSellerSubscriptions
from ordersync.aws.stores import DynamoStores
from ordersync.domain.catalog import CatalogVariant, VariantStatus
from ordersync.local.fakes.bigcommerce import FakeBigCommerce
from ordersync.local.fakes.shopify import (
    PLUS_BUCKET,
    PLUS_RESTORE_RATE,
    STANDARD_BUCKET,
    STANDARD_RESTORE_RATE,
    FakeShopify,
)
from ordersync.local.fakes.woocommerce import FakeWooCommerce
from ordersync.local.iam import acting_as
from ordersync.local.provision import MAIL_SINK_PREFIX, subscribe_with_sink
from ordersync.local.stack import LocalStack
from ordersync.models import Connection, Platform, Role, StoreRecord, StoreRef, iso
from ordersync.ops import onboarding_for, webhook_admin_for
from ordersync.services.onboarding import OnboardingDependencies, add_connection, add_store
from ordersync.services.webhook_subscriptions import WebhookChange, register_webhooks, unregister_webhooks

FakeStore = FakeShopify | FakeWooCommerce | FakeBigCommerce


@dataclass
class Store:
    store_id: str
    name: str
    platform: Platform
    fake: FakeStore | None  # None: a store nobody calls (a BigCommerce seller whose orders are posted by hand)
    secret_arn: str = ""
    auto_post: bool = False
    credentials: dict[str, str] = field(default_factory=dict)

    def ref(self) -> StoreRef:
        base_url = self.fake.base_url if self.fake else f"https://{self.store_id}.example.invalid"
        return StoreRef(
            store_id=self.store_id,
            name=self.name,
            platform=self.platform,
            base_url=base_url,
            secret_arn=self.secret_arn,
            auto_post=self.auto_post,
        )


@dataclass
class World:
    """onboard: stores and connections are set up as ops do it (the onboarding commands, under
    OpsPolicy: credentials tried against the fake store, the seller's first catalog sync), with
    each command shown through `echo`; otherwise written directly, as tests' set-ups want them."""

    stack: LocalStack
    stores: dict[str, Store] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    onboard: bool = False
    echo: Callable[[str], None] = field(default=lambda _line: None)
    since: datetime | None = None  # onboard: each connection's --since (default: now)
    # bare: the fake stores run, with their products and orders, and nothing of them is in the
    # stack: ops onboard them with README's commands (`local up --bare`)
    bare: bool = False

    @property
    def catalog(self) -> DynamoCatalog:
        return DynamoCatalog(self.stack.output("CatalogTableName"))

    def add_shopify(self, store_id: str, name: str, plus: bool = False) -> FakeShopify:
        """plus: a Shopify Plus shop's API limits (PLUS_BUCKET), else the Standard plan's."""
        size, rate = (PLUS_BUCKET, PLUS_RESTORE_RATE) if plus else (STANDARD_BUCKET, STANDARD_RESTORE_RATE)
        fake = FakeShopify(store_id, f"shpat_{store_id.replace('-', '')}", bucket_size=size, restore_rate=rate)
        self._register(Store(store_id, name, Platform.SHOPIFY, fake), {"access_token": fake.access_token})
        return fake

    def add_woocommerce(self, store_id: str, name: str, shipment_tracking: bool = False) -> FakeWooCommerce:
        """`shipment_tracking`: the Shipment Tracking extension installed (without it, or core
        fulfilments, a shop that ships has nowhere to put a tracking number)."""
        key, secret = f"ck_{store_id.replace('-', '')}", f"cs_{store_id.replace('-', '')}"
        fake = FakeWooCommerce(store_id, key, secret, shipment_tracking=shipment_tracking)
        self._register(
            Store(store_id, name, Platform.WOOCOMMERCE, fake), {"consumer_key": key, "consumer_secret": secret}
        )
        return fake

    def add_bigcommerce(self, store_id: str, name: str, auto_post: bool = False) -> FakeBigCommerce:
        fake = FakeBigCommerce(f"hash{store_id.replace('-', '')}", access_token=f"bc_{store_id.replace('-', '')}")
        store = Store(store_id, name, Platform.BIGCOMMERCE, fake, auto_post=auto_post)
        self._register(store, {"access_token": fake.access_token})
        return fake

    def add_unfaked(self, store_id: str, name: str, platform: Platform) -> None:
        self._register(Store(store_id, name, platform, None), {"access_token": "unused"})

    def _register(self, store: Store, credentials: dict[str, str]) -> None:
        if store.fake:
            store.fake.server.start()
        store.credentials = credentials
        if self.bare:  # nothing in the stack: ops add it as README says
            self.stores[store.store_id] = store
            return
        if self.onboard and store.fake:
            base_url = store.fake.base_url
            auto = " --auto-post" if store.auto_post else ""
            self.echo(  # as ops type it, the credentials in a file (the command never prompts then)
                f"-> ops: ordersync store add {store.store_id} --platform {store.platform} --url {base_url}{auto}"
                f" --name '{store.name}' --credentials-file {store.store_id}.json"
            )
            with self._as_ops() as deps:
                added = add_store(
                    store.store_id,
                    store.platform,
                    base_url,
                    Role.BOTH,
                    credentials,
                    deps,
                    name=store.name,
                    auto_post=store.auto_post,
                )
            store.secret_arn = added.secret_arn
        else:
            secret = boto3.client("secretsmanager").create_secret(
                Name=f"ordersync/stores/{store.store_id}", SecretString=json.dumps(credentials)
            )
            store.secret_arn = secret["ARN"]
            now = datetime.now(UTC)
            record = StoreRecord(**store.ref().model_dump(), added_at=now, checked_at=now)
            DynamoStores(self.stack.output("StoresTableName")).add(record)
        self.stores[store.store_id] = store

    def connect(self, buyer_id: str, seller_id: str) -> Connection:
        if self.onboard:
            since = f" --since {iso(self.since)}" if self.since else ""
            self.echo(f"-> ops: ordersync connection add {buyer_id} {seller_id}{since}")
            with self._as_ops() as deps:
                added = add_connection(buyer_id, seller_id, deps, self.since)
            more = "+" if added.first_pull_more else ""
            self.echo(
                f"   {added.catalog_variants} variant(s) synced; the first pull brings"
                f" {added.first_pull_orders}{more} order(s)"
            )
            connection = added.connection
        else:
            connection = Connection(
                connection_id=f"{buyer_id}--{seller_id}",
                buyer=self.stores[buyer_id].ref(),
                seller=self.stores[seller_id].ref(),
            )
            DynamoConnections(self.stack.output("ConnectionsTableName")).put(connection)
        self.connections[connection.connection_id] = connection
        return connection

    def register_webhooks(self, store_id: str) -> WebhookChange:
        """As ops do it (`ordersync store webhooks register STORE`, under OpsPolicy): the store's own
        API subscribes its order webhooks to the stack, which its fake then sends for real."""
        self.echo(f"-> ops: ordersync store webhooks register {store_id}")
        with acting_as(self.stack.deployment.principal("OpsPolicy")):
            change = register_webhooks(store_id, webhook_admin_for(self.stack.deployment.outputs))
        self.echo(f"   subscribed {', '.join(change.made) or 'nothing new'} -> {change.url}")
        return change

    def unregister_webhooks(self, store_id: str) -> WebhookChange:
        """`ordersync store webhooks unregister STORE`, under OpsPolicy."""
        self.echo(f"-> ops: ordersync store webhooks unregister {store_id}")
        with acting_as(self.stack.deployment.principal("OpsPolicy")):
            return unregister_webhooks(store_id, webhook_admin_for(self.stack.deployment.outputs))

    @contextmanager
    def _as_ops(self) -> Iterator[OnboardingDependencies]:
        with acting_as(self.stack.deployment.principal("OpsPolicy")):
            yield self._onboarding

    @cached_property
    def _onboarding(self) -> OnboardingDependencies:
        """Built once (its clients make no call until used), used under OpsPolicy."""
        return onboarding_for(self.stack.deployment.outputs)

    def subscribe_seller(self, seller_id: str, email: str, audience: str = "seller") -> None:
        """The seller's alert email: SellerAlertsTopic, filtered to their seller_id (audience "buyer":
        a retailer's, what concerns its orders — as `ordersync buyer add` makes it)."""
        subscribe_with_sink(
            boto3.client("sns"),
            boto3.client("sqs"),
            self.stack.output("SellerAlertsTopicArn"),
            "email",
            email,
            # the production policy, as `seller add` / `buyer add` make it
            SnsSellerSubscriptions.filter_policy(seller_id, audience),
        )

    def add_catalog(
        self,
        seller_id: str,
        entries: list[tuple[str, str, str, str, str]],
        status: VariantStatus = VariantStatus.ACTIVE,
    ) -> None:
        """entries: (product id, variant id, SKU, product title, variant title), seen now; `status`
        DELETED: SKUs an earlier catalog sync saw and the seller has since renamed or removed."""
        seen = datetime.now(UTC)
        self.catalog.put_variants(
            CatalogVariant(seller_id, product, variant, sku, title, variant_title, status, seen)
            for product, variant, sku, title, variant_title in entries
        )

    def delivered_emails(self) -> list[dict[str, Any]]:
        return delivered_emails()

    def stop(self) -> None:
        for store in self.stores.values():
            if store.fake:
                store.fake.server.stop()


def delivered_emails() -> list[dict[str, Any]]:
    """Every email delivered so far, read from the mail sinks (left in place), oldest first per sink."""
    sqs = boto3.client("sqs")
    emails = []
    for url in sqs.list_queues(QueueNamePrefix=MAIL_SINK_PREFIX).get("QueueUrls", []):
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        received: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
            if not batch:
                break
            received.extend(batch)
        for message in received:
            notification = json.loads(message["Body"])
            emails.append(
                {
                    "to": [tags["ordersync:mail-sink"]],
                    "seller_id": tags.get("ordersync:seller-id") or None,
                    "subject": notification.get("Subject") or "",
                    "body": notification.get("Message", ""),
                    "sent": notification.get("Timestamp", ""),  # UTC, ISO 8601, as SNS stamps it
                }
            )
        for message in received:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return emails
