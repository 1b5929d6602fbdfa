"""SweepShipmentsFunction: on its schedule, one shipment sweep per seller store, queued on
ShipmentsQueue for SyncShipmentsFunction (the net under the seller stores' webhooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.observability import logger, metrics, tracer
from ordersync.services.shipment_sync import SweepFanOutDependencies, request_sweeps
from ordersync.wiring import sweep_fan_out_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(
    event: dict[str, Any], context: LambdaContext, deps: SweepFanOutDependencies | None = None
) -> dict[str, Any]:
    requests = request_sweeps(deps or sweep_fan_out_dependencies())
    return {"sellers": [r.seller.store_id for r in requests]}
