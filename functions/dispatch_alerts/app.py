"""AlertDispatchFunction: on its schedule, send the queued alerts (digests when there are many)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.observability import logger, metrics, tracer
from ordersync.services.dispatch import DispatchDependencies, dispatch_alerts
from ordersync.wiring import dispatch_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: DispatchDependencies | None = None) -> dict[str, Any]:
    return dispatch_alerts(deps or dispatch_dependencies())
