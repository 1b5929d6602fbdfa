"""PullConnectionFunction: pull one connection's orders (a PullQueue record), page by page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.invocation import within_its_deadline
from ordersync.observability import logger, metrics, tracer
from ordersync.services.pull import PullDependencies
from ordersync.services.pulls import pull_connection_batch
from ordersync.wiring import pull_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@within_its_deadline
def handler(event: dict[str, Any], context: LambdaContext, deps: PullDependencies | None = None) -> dict[str, Any]:
    return pull_connection_batch(event, context, deps or pull_dependencies())
