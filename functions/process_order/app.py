"""ProcessOrderFunction: one order per SQS record; failures reported per record."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ordersync.observability import logger, metrics, tracer
from ordersync.services.batch import process_order_batch
from ordersync.services.process import ProcessDependencies
from ordersync.wiring import process_dependencies


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: ProcessDependencies | None = None) -> dict[str, Any]:
    return process_order_batch(event, context, deps or process_dependencies())
