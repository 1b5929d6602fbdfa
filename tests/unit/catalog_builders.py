"""Small builders for unit tests: orders, catalog slices, stores, SQS records and Lambda's context,
without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ordersync.domain.catalog import CatalogSlice, CatalogVariant, VariantStatus
from ordersync.models import CanonicalOrder, OrderLine, Platform, ShippingAddress, StoreRef
from ordersync.observability import metrics

NOW = datetime(2026, 11, 27, 12, 20, tzinfo=UTC)
ADDRESS = ShippingAddress(name="Dana W", address1="1 Main St", city="Seattle", country_code="US")


def line(
    sku: str | None, quantity: int = 1, *, line_id: str | None = None, requires_shipping: bool = True
) -> OrderLine:
    return OrderLine(
        line_id=line_id or f"L-{sku}",
        sku=sku,
        title=f"buyer title {sku}",
        quantity=quantity,
        unit_price=Decimal("10.00"),
        requires_shipping=requires_shipping,
    )


def order(*lines: OrderLine, **fields: Any) -> CanonicalOrder:
    values: dict[str, Any] = {
        "order_id": "1001",
        "platform": "shopify",
        "order_number": "#1001",
        "created_at": NOW,
        "updated_at": NOW,
        "currency": "USD",
        "shipping_address": ADDRESS,
        "lines": list(lines),
    }
    values.update(fields)
    return CanonicalOrder(**values)


def variant(sku: str, variant_id: str, *, product_id: str | None = None, active: bool = True) -> CatalogVariant:
    return CatalogVariant(
        seller_id="northwind",
        product_id=product_id or f"P{variant_id}",
        variant_id=variant_id,
        sku=sku,
        product_title=f"Product {sku}",
        variant_title="",
        status=VariantStatus.ACTIVE if active else VariantStatus.DELETED,
        last_seen_at=NOW,
    )


def catalog(*variants: CatalogVariant, aliases: dict[str, str] | None = None) -> CatalogSlice:
    by_sku: dict[str, tuple[CatalogVariant, ...]] = {}
    for v in variants:
        by_sku[v.sku] = (*by_sku.get(v.sku, ()), v)
    return CatalogSlice(variants_by_sku=by_sku, aliases=aliases or {})


def store_ref(store_id: str, platform: Platform = Platform.WOOCOMMERCE) -> StoreRef:
    return StoreRef(
        store_id=store_id,
        name=store_id.title(),
        platform=platform,
        base_url="http://x",
        secret_arn=f"arn:aws:secretsmanager:us-east-1:123456789012:secret:ordersync/stores/{store_id}-AbCdEf",
    )


class LambdaContext:
    """What the batch handlers read of Lambda's context: the time left."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sqs_record(message_id: str, body: str, receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:OrdersQueue",
        "awsRegion": "us-east-1",
    }


def counted_metrics() -> dict[str, list[float]]:
    """The metrics this process added since the last clear, by name (all counts)."""
    assert {entry["Unit"] for entry in metrics.metric_set.values()} <= {"Count"}
    return {name: entry["Value"] for name, entry in metrics.metric_set.items()}
