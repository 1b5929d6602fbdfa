"""CatalogSyncFunction: on its schedule, one catalog run per seller and one per buyer (into its
listings), planned (changes or the whole catalog) and queued on CatalogSyncQueue for
SyncSellerCatalogFunction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.observability import logger, metrics, tracer
from ordersync.services.catalog_sync import CatalogFanOutDependencies, request_catalog_syncs
from ordersync.wiring import catalog_fan_out_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, deps: CatalogFanOutDependencies | None = None
) -> dict[str, Any]:
    requests = request_catalog_syncs(deps or catalog_fan_out_dependencies())
    return {
        "sellers": [{"seller_id": r.seller.store_id, "full": r.full} for r in requests if not r.buyer_listings],
        "buyers": [{"buyer_id": r.seller.store_id, "full": r.full} for r in requests if r.buyer_listings],
    }
