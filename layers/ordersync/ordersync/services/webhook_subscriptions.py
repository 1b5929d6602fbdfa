"""`ordersync store webhooks register|unregister|list STORE`: a buyer store's order webhooks, made
through its own API and pointed at this stack (WooCommerce and BigCommerce: the webhook URL;
Shopify: the stack's EventBridge partner event source). Registering again changes nothing that is
already there. WooCommerce's and BigCommerce's secret is generated here and kept, with what else
checks a delivery (BigCommerce's client_secret), in the store's webhook keys: a secret of their own
under ordersync/webhooks/, the only one the public webhook door may read. The store and its connections are marked as fed by webhooks (what
OrdersMissedByWebhooks is counted against); a Shopify buyer's connections are also indexed by its
shop's domain, which its events name."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ordersync.domain.onboarding import StoreAccess, missing_for_webhooks, missing_in_words
from ordersync.domain.webhooks import (
    WEBHOOK_SECRET_KEY,
    WebhookSubscription,
    hook_url,
    subscriptions_to_make,
    webhook_keys,
)
from ordersync.errors import OnboardingRefused
from ordersync.models import Platform, Role, StoreRecord
from ordersync.ports import CredentialsVault, StoreRegistry


class WebhookApi(Protocol):
    def webhooks(self) -> list[WebhookSubscription]: ...
    def subscribe(self, topic: str, url: str, secret: str) -> str: ...
    def unsubscribe(self, subscription_id: str) -> None: ...
    def reactivate(self, subscription_id: str) -> None:
        """A subscription the store stopped delivering to (disabled, deactivated) is made active."""

    def shop_domain(self) -> str | None:
        """Shopify: the shop's myshopify.com domain (its events name it); others: None."""

    def check_access(self) -> StoreAccess: ...


class BuyerWebhookFlag(Protocol):
    def set_buyer_webhooks(self, store_id: str, on: bool, shop_domain: str | None = None) -> list[str]: ...


@dataclass
class WebhookAdminDependencies:
    stores: StoreRegistry
    vault: CredentialsVault
    connections: BuyerWebhookFlag
    api: Callable[[StoreRecord, dict[str, Any]], WebhookApi]
    webhook_base_url: str  # the stack's WebhookUrl output
    shopify_event_source_arn: str = ""  # the stack's ShopifyEventSourceArn output (empty: no Shopify fast path)


@dataclass(frozen=True)
class WebhookChange:
    store_id: str
    url: str
    made: list[str]
    removed: list[str]
    subscriptions: list[WebhookSubscription]
    connections: list[str]
    reactivated: list[str] = field(default_factory=list)  # topics whose subscription the store had stopped


def register_webhooks(store_id: str, deps: WebhookAdminDependencies) -> WebhookChange:
    """A buyer's order topics and a seller's shipment topics, as the store's role says."""
    store, credentials, api = _store(store_id, deps)
    url = _destination(store, deps)
    lacking = missing_for_webhooks(store.platform, api.check_access().granted)
    if lacking:
        raise OnboardingRefused(
            f"{store_id}'s credentials can't register webhooks: " + "; ".join(missing_in_words(store.platform, lacking))
        )
    kept = deps.vault.webhook_keys(store_id)
    secret = webhook_keys(kept, credentials).get(WEBHOOK_SECRET_KEY, "")
    secret_is_new = store.platform is not Platform.SHOPIFY and not secret
    if secret_is_new:
        secret = secrets.token_urlsafe(32)
    keys = webhook_keys({WEBHOOK_SECRET_KEY: secret}, credentials) if store.platform is not Platform.SHOPIFY else {}
    if keys and keys != kept:
        deps.vault.keep_webhook_keys(store_id, keys)  # before any store uses it
    if WEBHOOK_SECRET_KEY in credentials:  # where it was kept before: the door reads the webhook keys alone
        deps.vault.replace(store.secret_arn, {k: v for k, v in credentials.items() if k != WEBHOOK_SECRET_KEY})
    existing = api.webhooks()
    stale, topics = subscriptions_to_make(store.platform, existing, url, secret_is_new, store.role)
    for subscription in stale:
        api.unsubscribe(subscription.subscription_id)
    for topic in topics:
        api.subscribe(topic, url, secret)
    stopped = [s for s in existing if s.url == url and not s.active and s not in stale]
    for subscription in stopped:  # disabled by the store after failed deliveries: brought back
        api.reactivate(subscription.subscription_id)
    domain = api.shop_domain()
    deps.stores.set_webhooks(store_id, True, domain)
    buyer = store.role.includes(Role.BUYER)  # a seller's webhooks change nothing of the pull
    connections = deps.connections.set_buyer_webhooks(store_id, True, domain) if buyer else []
    reactivated = [s.topic for s in stopped]
    return WebhookChange(store_id, url, topics, [s.topic for s in stale], _ours(api, url), connections, reactivated)


def unregister_webhooks(store_id: str, deps: WebhookAdminDependencies) -> WebhookChange:
    """Every subscription pointing at this stack for the store; the secret stays (re-registering reuses it)."""
    store, _, api = _store(store_id, deps)
    url = _destination(store, deps)
    ours = _ours(api, url)
    for subscription in ours:
        api.unsubscribe(subscription.subscription_id)
    deps.stores.set_webhooks(store_id, False, None)
    connections = deps.connections.set_buyer_webhooks(store_id, False)
    return WebhookChange(store_id, url, [], [s.topic for s in ours], _ours(api, url), connections)


def list_webhooks(store_id: str, deps: WebhookAdminDependencies) -> tuple[str, list[WebhookSubscription]]:
    """Every webhook of the store (ours point at the destination answered beside them)."""
    store, _, api = _store(store_id, deps)
    return _destination(store, deps), api.webhooks()


def _destination(store: StoreRecord, deps: WebhookAdminDependencies) -> str:
    if store.platform is not Platform.SHOPIFY:
        return hook_url(deps.webhook_base_url, store.store_id)
    if not deps.shopify_event_source_arn:
        raise OnboardingRefused(
            "this stack takes no Shopify events: deploy it with ShopifyEventSourceName set to the partner"
            " event source Shopify created for the app (aws.partner/shopify.com/...)"
        )
    return deps.shopify_event_source_arn


def _ours(api: WebhookApi, url: str) -> list[WebhookSubscription]:
    return [s for s in api.webhooks() if s.url == url]


def _store(store_id: str, deps: WebhookAdminDependencies) -> tuple[StoreRecord, dict[str, Any], WebhookApi]:
    store = deps.stores.get(store_id)
    if store is None:
        raise OnboardingRefused(f"no store {store_id!r}: `ordersync store add` first")
    credentials = deps.vault.read(store.secret_arn)
    return store, credentials, deps.api(store, credentials)
