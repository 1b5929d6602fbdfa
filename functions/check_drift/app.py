"""CheckDriftFunction: once a day, the orders reaching one of DriftCompareAges today (days since they
last changed, within DriftDays) compared in both stores; each divergence reported (ops' digest, each
seller its own), nothing changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordersync.invocation import within_its_deadline
from ordersync.observability import logger, metrics, tracer
from ordersync.services.drift import DriftDependencies, compare_both_stores
from ordersync.settings import drift_settings
from ordersync.wiring import drift_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@within_its_deadline
def handler(event: dict[str, Any], context: LambdaContext, deps: DriftDependencies | None = None) -> dict[str, Any]:
    settings = drift_settings()
    report = compare_both_stores(
        deps or drift_dependencies(),
        settings.days,
        time_left_ms=context.get_remaining_time_in_millis,
        ages=settings.ages,
    )
    return {"compared": report.compared, "divergences": len(report.divergences), "unreadable": len(report.unreadable)}
