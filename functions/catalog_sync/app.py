"""CatalogSyncFunction: on its schedule, bring every seller's products and variants into the catalog."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ordersync.observability import logger, metrics, tracer
from ordersync.services.catalog_sync import CatalogSyncDependencies, sync_all
from ordersync.wiring import catalog_sync_dependencies


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, deps: CatalogSyncDependencies | None = None
) -> dict[str, Any]:
    return {"sellers": [asdict(result) for result in sync_all(deps or catalog_sync_dependencies())]}
