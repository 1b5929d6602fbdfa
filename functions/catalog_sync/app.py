"""CatalogSyncFunction: on its schedule, bring every seller's products and variants into the catalog."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ordersync.observability import logger, metrics, tracer
from ordersync.services.catalog_sync import CatalogSyncDependencies, sync_all
from ordersync.wiring import catalog_sync_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, deps: CatalogSyncDependencies | None = None
) -> dict[str, Any]:
    return {"sellers": [asdict(result) for result in sync_all(deps or catalog_sync_dependencies())]}
