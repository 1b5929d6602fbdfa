"""SyncSellerCatalogFunction: one seller's catalog run (a CatalogSyncQueue record), page by page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.invocation import within_its_deadline
from ordersync.observability import logger, metrics, tracer
from ordersync.services.catalog_sync import CatalogSyncDependencies, sync_seller_batch
from ordersync.wiring import catalog_sync_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@within_its_deadline
def handler(
    event: dict[str, Any], context: LambdaContext, deps: CatalogSyncDependencies | None = None
) -> dict[str, Any]:
    return sync_seller_batch(event, context, deps or catalog_sync_dependencies())
