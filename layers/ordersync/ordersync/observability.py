"""One place for Powertools' Logger, Tracer and Metrics (service and namespace come from the
template's environment). Every log record passes a redaction step: no shipping address, email,
phone number or store token ever reaches the logs."""

from __future__ import annotations

import os
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED = "[redacted]"
# Keys whose values are personal data or secrets, wherever they appear in a log record.
SENSITIVE_KEYS = frozenset(
    {
        "email", "phone", "name", "first_name", "last_name", "company",
        "address", "address1", "address2", "address_1", "address_2", "street_1", "street_2",
        "city", "zip", "postcode", "postal_code", "shipping_address", "shippingAddress", "billing_address",
        "shipping", "billing", "access_token", "consumer_key", "consumer_secret", "token", "task_token",
        "payload", "envelope", "authorization", "x-shopify-access-token", "x-auth-token",
    }
)  # fmt: skip
_PATTERNS = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # email addresses
    re.compile(r"\b(?:shpat|shpca|shppa|ck|cs|bc)_[A-Za-z0-9]+"),  # store tokens and keys
    re.compile(r"(?<![\w/])\+\d[\d ().-]{6,}\d"),  # phone numbers: international,
    re.compile(r"\(\d{3}\)\s?\d{3}[-. ]\d{4}\b|\b\d{3}[-. ]\d{3}[-. ]\d{4}\b"),  # and North American
)
_STANDARD_KEYS = frozenset(
    {"timestamp", "level", "location", "service", "function_arn", "function_request_id", "xray_trace_id"}
)


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SENSITIVE_KEYS else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        for pattern in _PATTERNS:
            value = pattern.sub(REDACTED, value)
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: Any) -> str:
        record = dict(log)
        standard = {k: v for k, v in record.items() if k in _STANDARD_KEYS}
        return super().serialize({**redact({k: v for k, v in record.items() if k not in _STANDARD_KEYS}), **standard})


class _Untraced:
    """Stands in for Tracer when tracing is off, so the X-Ray SDK (a third of a cold start) is
    never imported; the same decorators, doing nothing."""

    def capture_lambda_handler(self, handler: Any = None, **_: Any) -> Any:
        return handler if handler is not None else (lambda function: function)

    def capture_method(self, method: Any = None, **_: Any) -> Any:
        return method if method is not None else (lambda function: function)


def _tracer() -> Any:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("true", "1"):
        return _Untraced()
    from aws_lambda_powertools import Tracer

    return Tracer()


logger = Logger(logger_formatter=RedactingFormatter())
tracer = _tracer()
metrics = Metrics()


def refresh_from_environment() -> None:
    """For in-process runs (the local stack): these objects read their environment when first
    imported, which may be before the template's environment was applied."""
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
    logger.append_keys(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ordersync"))
    metrics.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    metrics.service = os.environ.get("POWERTOOLS_SERVICE_NAME")
