"""PullOrdersFunction: on the hourly schedule, pull every connection's new and updated orders."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ordersync.observability import logger, metrics, tracer
from ordersync.services.pull import PullDependencies, pull_all
from ordersync.wiring import pull_dependencies


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: PullDependencies | None = None) -> dict[str, Any]:
    results = pull_all(deps or pull_dependencies())
    return {"connections": [asdict(result) for result in results]}
