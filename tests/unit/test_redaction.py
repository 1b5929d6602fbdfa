"""The redaction step every log record passes."""

from __future__ import annotations

import io
import json
import logging

from ordersync.observability import REDACTED, logger


def test_personal_data_and_tokens_never_reach_the_log_line() -> None:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        logger.warning(
            "store said: customer dana@example.com, +1 206 555 0142, token shpat_0a1b2c3d",
            extra={
                "order_key": "acme--northwind#1001",
                "shipping_address": {"address1": "410 Terry Ave N", "city": "Seattle"},
                "headers": {"X-Shopify-Access-Token": "shpat_0a1b2c3d"},
                "detail": "call (502) 459-2181",
            },
        )
    finally:
        logger._logger.removeHandler(handler)
        logger.setLevel(level)
    line = json.loads(captured.getvalue().splitlines()[-1])
    assert line["message"] == f"store said: customer {REDACTED}, {REDACTED}, token {REDACTED}"
    assert line["shipping_address"] == REDACTED and line["headers"] == {"X-Shopify-Access-Token": REDACTED}
    assert line["detail"] == f"call {REDACTED}"
    assert line["order_key"] == "acme--northwind#1001"  # what ops need stays
    assert line["timestamp"][:4].isdigit()
