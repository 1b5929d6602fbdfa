"""PullConnectionFunction: pull one connection's orders (a PullQueue record), page by page."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ordersync.observability import logger, metrics, tracer
from ordersync.services.pull import PullDependencies
from ordersync.services.pulls import pull_connection_batch
from ordersync.wiring import pull_dependencies


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: PullDependencies | None = None) -> dict[str, Any]:
    return pull_connection_batch(event, context, deps or pull_dependencies())
