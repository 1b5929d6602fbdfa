"""One place for Powertools' Logger, Tracer and Metrics (service and namespace come from the template's env)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def refresh_from_environment() -> None:
    """For in-process runs (the local stack): these objects read their environment when first
    imported, which may be before the template's environment was applied."""
    import os

    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
    logger.append_keys(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ordersync"))
    metrics.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    metrics.service = os.environ.get("POWERTOOLS_SERVICE_NAME")
