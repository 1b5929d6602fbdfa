"""PullOrdersFunction: on the hourly schedule, request one pull per buyer -> seller connection."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ordersync.observability import logger, metrics, tracer
from ordersync.services.pull import FanOutDependencies, fan_out
from ordersync.wiring import fan_out_dependencies


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: FanOutDependencies | None = None) -> dict[str, Any]:
    return {"pulls_requested": fan_out(deps or fan_out_dependencies())}
