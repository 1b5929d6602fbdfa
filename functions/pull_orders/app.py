"""PullOrdersFunction: on the hourly schedule, request one pull per buyer -> seller connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.observability import logger, metrics, tracer
from ordersync.services.pull import FanOutDependencies, fan_out
from ordersync.wiring import fan_out_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: FanOutDependencies | None = None) -> dict[str, Any]:
    return {"pulls_requested": fan_out(deps or fan_out_dependencies())}
