"""SyncShipmentsFunction: ShipmentsQueue's records — a seller order's parcels into the buyer's
store (a check), or a seller store's changed orders looked through (a sweep)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.invocation import within_its_deadline
from ordersync.observability import logger, metrics, tracer
from ordersync.services.shipment_sync import ShipmentSyncDependencies, sync_shipments_batch
from ordersync.wiring import shipment_sync_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@within_its_deadline
def handler(
    event: dict[str, Any], context: LambdaContext, deps: ShipmentSyncDependencies | None = None
) -> dict[str, Any]:
    return sync_shipments_batch(event, context, deps or shipment_sync_dependencies())
