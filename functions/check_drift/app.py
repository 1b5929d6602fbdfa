"""CheckDriftFunction: once a day (its schedule), a compare of each connection's orders reaching
one of DriftCompareAges today requested on DriftQueue; each DriftQueue record (one connection, or
its continuation) compared here, at most DriftCompareConcurrency at once. Read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.invocation import within_its_deadline
from ordersync.observability import logger, metrics, tracer
from ordersync.services.drift import DriftDependencies, drift_event
from ordersync.settings import drift_settings
from ordersync.wiring import drift_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@within_its_deadline
def handler(event: dict[str, Any], context: LambdaContext, deps: DriftDependencies | None = None) -> dict[str, Any]:
    return drift_event(event, context, deps or drift_dependencies(), drift_settings().ages)
