"""What each function reads from its environment, validated once (the template sets every one)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class _Env(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class FanOutSettings(_Env):
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    pull_queue_url: str = Field(alias="PULL_QUEUE_URL")


class PullSettings(_Env):
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    orders_queue_url: str = Field(alias="ORDERS_QUEUE_URL")
    pull_queue_url: str = Field(alias="PULL_QUEUE_URL")
    ops_alerts_topic_arn: str = Field(alias="OPS_ALERTS_TOPIC_ARN")
    failure_budget_minutes: int = Field(alias="PULL_FAILURE_BUDGET_MINUTES", ge=5, le=1440)


class WebhookSettings(_Env):
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    orders_queue_url: str = Field(alias="ORDERS_QUEUE_URL")
    stores_table: str = Field(alias="STORES_TABLE")
    shipments_queue_url: str = Field(alias="SHIPMENTS_QUEUE_URL")


class ProcessSettings(_Env):
    catalog_table: str = Field(alias="CATALOG_TABLE")
    listings_table: str = Field(alias="LISTINGS_TABLE")
    stores_table: str = Field(alias="STORES_TABLE")
    orders_table: str = Field(alias="ORDERS_TABLE")
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    orders_queue_url: str = Field(alias="ORDERS_QUEUE_URL")
    orders_dlq_url: str = Field(alias="ORDERS_DLQ_URL")
    alerts_queue_url: str = Field(alias="ALERTS_QUEUE_URL")
    max_receive_count: int = Field(alias="MAX_RECEIVE_COUNT", ge=1)
    throttle_budget_hours: int = Field(alias="THROTTLE_BUDGET_HOURS", ge=1)
    store_down_budget_minutes: int = Field(alias="STORE_DOWN_BUDGET_MINUTES", ge=0, le=1440)
    unpaid_order_limit_hours: int = Field(alias="UNPAID_ORDER_LIMIT_HOURS", ge=1, le=2160)
    manual_posting_state_machine_arn: str = Field(alias="MANUAL_POSTING_STATE_MACHINE_ARN")
    manual_posting_timeout_seconds: int = Field(alias="MANUAL_POSTING_TIMEOUT_SECONDS", ge=1)
    manual_posting_max_escalations: int = Field(alias="MANUAL_POSTING_MAX_ESCALATIONS", ge=0)
    bigcommerce_auto_post: bool = Field(alias="BIGCOMMERCE_AUTO_POST")


class CatalogFanOutSettings(_Env):
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    stores_table: str = Field(alias="STORES_TABLE")
    catalog_sync_queue_url: str = Field(alias="CATALOG_SYNC_QUEUE_URL")


class CatalogSyncSettings(_Env):
    stores_table: str = Field(alias="STORES_TABLE")
    catalog_sync_queue_url: str = Field(alias="CATALOG_SYNC_QUEUE_URL")
    catalog_table: str = Field(alias="CATALOG_TABLE")
    orders_table: str = Field(alias="ORDERS_TABLE")
    orders_queue_url: str = Field(alias="ORDERS_QUEUE_URL")
    orders_dlq_url: str = Field(alias="ORDERS_DLQ_URL")
    listings_table: str = Field(alias="LISTINGS_TABLE")  # a buyer's run: its catalog into its listings
    connections_table: str = Field(alias="CONNECTIONS_TABLE")  # ... against the sellers it buys from


class SweepFanOutSettings(_Env):
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    stores_table: str = Field(alias="STORES_TABLE")
    shipments_queue_url: str = Field(alias="SHIPMENTS_QUEUE_URL")


class ShipmentSyncSettings(_Env):
    orders_table: str = Field(alias="ORDERS_TABLE")
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    stores_table: str = Field(alias="STORES_TABLE")
    shipments_queue_url: str = Field(alias="SHIPMENTS_QUEUE_URL")
    shipments_dlq_url: str = Field(alias="SHIPMENTS_DLQ_URL")
    alerts_queue_url: str = Field(alias="ALERTS_QUEUE_URL")
    store_down_budget_minutes: int = Field(alias="STORE_DOWN_BUDGET_MINUTES", ge=0, le=1440)
    parcel_wait_days: int = Field(alias="PARCEL_WAIT_DAYS", ge=0, le=60)
    parcel_wait_recheck_seconds: int = Field(alias="PARCEL_WAIT_RECHECK_SECONDS", ge=1, le=900)


class DriftSettings(_Env):
    orders_table: str = Field(alias="ORDERS_TABLE")
    connections_table: str = Field(alias="CONNECTIONS_TABLE")
    drift_queue_url: str = Field(alias="DRIFT_QUEUE_URL")
    alerts_queue_url: str = Field(alias="ALERTS_QUEUE_URL")
    days: int = Field(alias="DRIFT_DAYS", ge=1, le=365)
    ages_text: str = Field(alias="DRIFT_COMPARE_AGES", pattern=r"^\d{1,3}(,\d{1,3})*$")

    @property
    def ages(self) -> tuple[int, ...]:
        """The ages (days since an order's last change) the daily run compares it at, within DRIFT_DAYS."""
        return tuple(sorted({age for age in map(int, self.ages_text.split(",")) if 1 <= age <= self.days}))


class DispatchSettings(_Env):
    alerts_queue_url: str = Field(alias="ALERTS_QUEUE_URL")
    seller_alerts_topic_arn: str = Field(alias="SELLER_ALERTS_TOPIC_ARN")
    ops_alerts_topic_arn: str = Field(alias="OPS_ALERTS_TOPIC_ARN")
    digest_threshold: int = Field(alias="ALERT_DIGEST_THRESHOLD", ge=1)


@cache
def fan_out_settings() -> FanOutSettings:
    return FanOutSettings.model_validate(dict(os.environ))


@cache
def pull_settings() -> PullSettings:
    return PullSettings.model_validate(dict(os.environ))


@cache
def webhook_settings() -> WebhookSettings:
    return WebhookSettings.model_validate(dict(os.environ))


@cache
def process_settings() -> ProcessSettings:
    return ProcessSettings.model_validate(dict(os.environ))


@cache
def dispatch_settings() -> DispatchSettings:
    return DispatchSettings.model_validate(dict(os.environ))


@cache
def catalog_fan_out_settings() -> CatalogFanOutSettings:
    return CatalogFanOutSettings.model_validate(dict(os.environ))


@cache
def catalog_sync_settings() -> CatalogSyncSettings:
    return CatalogSyncSettings.model_validate(dict(os.environ))


@cache
def sweep_fan_out_settings() -> SweepFanOutSettings:
    return SweepFanOutSettings.model_validate(dict(os.environ))


@cache
def shipment_sync_settings() -> ShipmentSyncSettings:
    return ShipmentSyncSettings.model_validate(dict(os.environ))


@cache
def drift_settings() -> DriftSettings:
    return DriftSettings.model_validate(dict(os.environ))
