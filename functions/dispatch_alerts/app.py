"""AlertDispatchFunction: on its schedule, send the queued alerts (digests when there are many)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ordersync.observability import logger, metrics, tracer
from ordersync.services.dispatch import DispatchDependencies, dispatch_alerts
from ordersync.wiring import dispatch_dependencies


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: DispatchDependencies | None = None) -> dict[str, Any]:
    return dispatch_alerts(deps or dispatch_dependencies())
