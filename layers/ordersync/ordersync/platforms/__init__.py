"""HTTP clients for the stores. HTTP and platform errors become domain errors here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ordersync.models import Platform, StoreRef
from ordersync.platforms.bigcommerce import BigCommerceStore
from ordersync.platforms.shopify import ShopifyStore
from ordersync.platforms.woocommerce import WooCommerceStore
from ordersync.ports import BuyerStore, SellerStore

Credentials = Callable[[str], dict[str, Any]]


class HttpStoreFactory:
    """Builds a store client from a connection's StoreRef; credentials are read from its secret."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def _client(self, store: StoreRef) -> ShopifyStore | WooCommerceStore | BigCommerceStore:
        secret = self._credentials(store.secret_arn)
        if store.platform is Platform.SHOPIFY:
            return ShopifyStore(store.base_url, secret["access_token"])
        if store.platform is Platform.WOOCOMMERCE:
            return WooCommerceStore(store.base_url, secret["consumer_key"], secret["consumer_secret"])
        return BigCommerceStore(store.base_url, secret["access_token"])

    def seller(self, store: StoreRef) -> SellerStore:
        return self._client(store)

    def buyer(self, store: StoreRef) -> BuyerStore:
        return self._client(store)
