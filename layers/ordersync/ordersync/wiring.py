"""Builds each function's dependencies from its environment (once per container)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ordersync.services.catalog_sync import CatalogFanOutDependencies, CatalogSyncDependencies
    from ordersync.services.dispatch import DispatchDependencies
    from ordersync.services.drift import DriftDependencies
    from ordersync.services.process import ProcessDependencies
    from ordersync.services.pull import FanOutDependencies, PullDependencies
    from ordersync.services.shipment_sync import ShipmentSyncDependencies, SweepFanOutDependencies
    from ordersync.services.webhooks import WebhookDependencies

# Each function imports the adapters it uses and nothing else (a cold start pays for every import):
# no HTTP client where no store is called, no Step Functions client outside ProcessOrderFunction.


@cache
def fan_out_dependencies() -> FanOutDependencies:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.messaging import SqsPullQueue
    from ordersync.services.pull import FanOutDependencies
    from ordersync.settings import fan_out_settings

    settings = fan_out_settings()
    return FanOutDependencies(
        connections=DynamoConnections(settings.connections_table), pull_queue=SqsPullQueue(settings.pull_queue_url)
    )


@cache
def pull_dependencies() -> PullDependencies:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.messaging import SnsOpsEmails, SqsOrderQueue, SqsPullQueue
    from ordersync.aws.secrets import store_credentials
    from ordersync.platforms import HttpStoreFactory
    from ordersync.services.pull import PullDependencies
    from ordersync.settings import pull_settings

    settings = pull_settings()
    return PullDependencies(
        connections=DynamoConnections(settings.connections_table),
        stores=HttpStoreFactory(store_credentials),
        queue=SqsOrderQueue(settings.orders_queue_url),
        pull_queue=SqsPullQueue(settings.pull_queue_url),
        ops_alerts=SnsOpsEmails(settings.ops_alerts_topic_arn),
        failure_budget=timedelta(minutes=settings.failure_budget_minutes),
    )


@cache
def webhook_dependencies() -> WebhookDependencies:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.messaging import SqsOrderQueue, SqsShipmentRequests
    from ordersync.aws.secrets import webhook_keys
    from ordersync.aws.stores import DynamoStores, RecentStores
    from ordersync.services.webhooks import WebhookDependencies
    from ordersync.settings import webhook_settings

    settings = webhook_settings()
    return WebhookDependencies(
        connections=DynamoConnections(settings.connections_table),
        webhook_keys=webhook_keys,
        queue=SqsOrderQueue(settings.orders_queue_url),
        stores=RecentStores(DynamoStores(settings.stores_table)),
        shipments=SqsShipmentRequests(settings.shipments_queue_url),
    )


@cache
def process_dependencies() -> ProcessDependencies:
    from datetime import timedelta

    from ordersync.aws.catalog import DynamoCatalog
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.listings import DynamoListings
    from ordersync.aws.manual_posting import SfnManualPosting
    from ordersync.aws.messaging import SqsAlertOutbox, SqsDeadLetters, SqsOrderQueue
    from ordersync.aws.orders import DynamoOrders
    from ordersync.aws.secrets import store_credentials
    from ordersync.aws.stores import DynamoStorePace
    from ordersync.models import Platform
    from ordersync.platforms import HttpStoreFactory
    from ordersync.platforms.http import read_timeout
    from ordersync.services.process import AUTO_POSTED, ProcessDependencies
    from ordersync.settings import process_settings

    settings = process_settings()
    orders_queue = SqsOrderQueue(settings.orders_queue_url)
    return ProcessDependencies(
        orders=DynamoOrders(settings.orders_table),
        catalog=DynamoCatalog(settings.catalog_table),
        connections=DynamoConnections(settings.connections_table),
        stores=HttpStoreFactory(store_credentials),
        dead_letters=SqsDeadLetters(settings.orders_dlq_url),
        alerts=SqsAlertOutbox(settings.alerts_queue_url),
        retries=orders_queue,
        parts_queue=orders_queue,
        listings=DynamoListings(settings.listings_table, catalog_table=settings.catalog_table),
        max_receive_count=settings.max_receive_count,
        throttle_budget=timedelta(hours=settings.throttle_budget_hours),
        store_down_budget=timedelta(minutes=settings.store_down_budget_minutes),
        unpaid_limit=timedelta(hours=settings.unpaid_order_limit_hours),
        manual_posting=SfnManualPosting(
            settings.manual_posting_state_machine_arn,
            settings.manual_posting_timeout_seconds,
            settings.manual_posting_max_escalations,
        ),
        auto_post_platforms=AUTO_POSTED | ({Platform.BIGCOMMERCE} if settings.bigcommerce_auto_post else set()),
        pace=DynamoStorePace(settings.stores_table),
        write_lands_within=timedelta(seconds=read_timeout()),
    )


@cache
def dispatch_dependencies() -> DispatchDependencies:
    from ordersync.aws.messaging import SnsEmails, SqsAlertOutbox
    from ordersync.services.dispatch import DispatchDependencies
    from ordersync.settings import dispatch_settings

    settings = dispatch_settings()
    return DispatchDependencies(
        outbox=SqsAlertOutbox(settings.alerts_queue_url),
        emails=SnsEmails(settings.seller_alerts_topic_arn, settings.ops_alerts_topic_arn),
        digest_threshold=settings.digest_threshold,
    )


@cache
def catalog_fan_out_dependencies() -> CatalogFanOutDependencies:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.messaging import SqsCatalogSyncQueue
    from ordersync.aws.stores import DynamoStores
    from ordersync.services.catalog_sync import CatalogFanOutDependencies
    from ordersync.settings import catalog_fan_out_settings

    settings = catalog_fan_out_settings()
    return CatalogFanOutDependencies(
        connections=DynamoConnections(settings.connections_table),
        ledger=DynamoStores(settings.stores_table),
        sync_queue=SqsCatalogSyncQueue(settings.catalog_sync_queue_url),
    )


@cache
def catalog_sync_dependencies() -> CatalogSyncDependencies:
    from ordersync.aws.catalog import DynamoCatalog
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.listings import DynamoListings
    from ordersync.aws.messaging import SqsCatalogSyncQueue, SqsDlqAdmin, SqsOrderQueue
    from ordersync.aws.orders import DynamoOrders
    from ordersync.aws.secrets import store_credentials
    from ordersync.aws.stores import DynamoStores
    from ordersync.platforms import HttpStoreFactory
    from ordersync.services.catalog_sync import CatalogSyncDependencies
    from ordersync.services.listings_read import ListingsReadDependencies
    from ordersync.settings import catalog_sync_settings

    settings = catalog_sync_settings()
    stores = HttpStoreFactory(store_credentials)
    catalog = DynamoCatalog(settings.catalog_table)
    orders = DynamoOrders(settings.orders_table)
    queue = SqsOrderQueue(settings.orders_queue_url)
    dlq = SqsDlqAdmin(settings.orders_dlq_url, settings.orders_queue_url)
    ledger = DynamoStores(settings.stores_table)
    sync_queue = SqsCatalogSyncQueue(settings.catalog_sync_queue_url)
    listings_read = ListingsReadDependencies(
        stores=stores,
        listings=DynamoListings(settings.listings_table),
        catalog=catalog,
        connections=DynamoConnections(settings.connections_table),
        ledger=ledger,
        orders=orders,
        queue=queue,
        dlq=dlq,
        sync_queue=sync_queue,
    )
    return CatalogSyncDependencies(stores, catalog, orders, queue, dlq, ledger, sync_queue, listings_read=listings_read)


@cache
def sweep_fan_out_dependencies() -> SweepFanOutDependencies:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.messaging import SqsShipmentRequests
    from ordersync.aws.stores import DynamoStores
    from ordersync.services.shipment_sync import SweepFanOutDependencies
    from ordersync.settings import sweep_fan_out_settings

    settings = sweep_fan_out_settings()
    return SweepFanOutDependencies(
        connections=DynamoConnections(settings.connections_table),
        ledger=DynamoStores(settings.stores_table),
        requests=SqsShipmentRequests(settings.shipments_queue_url),
    )


@cache
def shipment_sync_dependencies() -> ShipmentSyncDependencies:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.messaging import SqsAlertOutbox, SqsDeadLetters, SqsShipmentRequests
    from ordersync.aws.orders import DynamoOrders
    from ordersync.aws.secrets import store_credentials
    from ordersync.aws.stores import DynamoStores, RecentStores
    from ordersync.models import utc_now
    from ordersync.platforms import HttpStoreFactory
    from ordersync.platforms.http import read_timeout
    from ordersync.services.shipment_sync import ShipmentSyncDependencies
    from ordersync.services.shipments import ShipmentDependencies
    from ordersync.settings import shipment_sync_settings

    settings = shipment_sync_settings()
    stores = HttpStoreFactory(store_credentials)
    store_table = DynamoStores(settings.stores_table)
    return ShipmentSyncDependencies(
        shipments=ShipmentDependencies(
            orders=DynamoOrders(settings.orders_table),
            connections=DynamoConnections(settings.connections_table),
            stores=stores,
            alerts=SqsAlertOutbox(settings.alerts_queue_url),
            clock=utc_now,
            write_lands_within=timedelta(seconds=read_timeout()),
        ),
        stores=stores,
        ledger=store_table,
        requests=SqsShipmentRequests(settings.shipments_queue_url),
        dead_letters=SqsDeadLetters(settings.shipments_dlq_url),
        shops=RecentStores(store_table),
        store_down_budget=timedelta(minutes=settings.store_down_budget_minutes),
        parcel_wait=timedelta(days=settings.parcel_wait_days),
        parcel_recheck_seconds=settings.parcel_wait_recheck_seconds,
    )


@cache
def drift_dependencies() -> DriftDependencies:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.messaging import SqsAlertOutbox, SqsDriftRequests
    from ordersync.aws.orders import DynamoOrders
    from ordersync.aws.secrets import store_credentials
    from ordersync.platforms import HttpStoreFactory
    from ordersync.services.drift import DriftDependencies
    from ordersync.settings import drift_settings

    settings = drift_settings()
    return DriftDependencies(
        orders=DynamoOrders(settings.orders_table),
        connections=DynamoConnections(settings.connections_table),
        stores=HttpStoreFactory(store_credentials),
        requests=SqsDriftRequests(settings.drift_queue_url),
        findings=SqsAlertOutbox(settings.alerts_queue_url),
    )
