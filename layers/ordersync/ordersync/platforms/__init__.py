"""HTTP clients for the stores. HTTP and platform errors become domain errors here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ordersync.domain.onboarding import StoreAccess
from ordersync.models import Platform, StoreRef
from ordersync.platforms.bigcommerce import BigCommerceStore
from ordersync.platforms.shopify import ShopifyStore
from ordersync.platforms.woocommerce import WooCommerceStore
from ordersync.ports import BuyerStore, SellerStore

Credentials = Callable[..., dict[str, Any]]  # (secret ARN, fresh=False) -> the secret's JSON


class HttpStoreFactory:
    """Builds a store client from a connection's StoreRef; credentials are read from its secret."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._stale: set[str] = set()

    def _client(self, store: StoreRef) -> ShopifyStore | WooCommerceStore | BigCommerceStore:
        if store.secret_arn in self._stale:
            self._stale.discard(store.secret_arn)
            return client_for(store.platform, store.base_url, self._credentials(store.secret_arn, fresh=True))
        return client_for(store.platform, store.base_url, self._credentials(store.secret_arn))

    def forget(self, store: StoreRef) -> None:
        """The store refused the cached credentials: the next client reads them afresh."""
        self._stale.add(store.secret_arn)

    def seller(self, store: StoreRef) -> SellerStore:
        return self._client(store)

    def buyer(self, store: StoreRef) -> BuyerStore:
        return self._client(store)


def client_for(
    platform: Platform, base_url: str, secret: dict[str, Any]
) -> ShopifyStore | WooCommerceStore | BigCommerceStore:
    if platform is Platform.SHOPIFY:
        return ShopifyStore(base_url, secret["access_token"])
    if platform is Platform.WOOCOMMERCE:
        return WooCommerceStore(base_url, secret["consumer_key"], secret["consumer_secret"])
    return BigCommerceStore(base_url, secret["access_token"])


def check_store_access(platform: Platform, base_url: str, credentials: dict[str, str]) -> StoreAccess:
    """Onboarding's AccessChecker: the store's own answer to these credentials."""
    return client_for(platform, base_url, credentials).check_access()
