"""ProcessOrderFunction: one order per SQS record; failures reported per record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.observability import logger, metrics, tracer
from ordersync.services.batch import process_order_batch
from ordersync.services.process import ProcessDependencies
from ordersync.wiring import process_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: ProcessDependencies | None = None) -> dict[str, Any]:
    return process_order_batch(event, context, deps or process_dependencies())
