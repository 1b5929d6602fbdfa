"""What the benchmarks price AWS at, and how long they take a real store to answer: one table for
`make bench`'s post (bench.py) and its whole life (life_bench.py)."""

from __future__ import annotations

STORE_CALL_SECONDS = 0.25  # a real store's answer (the fakes answer in microseconds unless told)

# AWS list prices, us-east-1, as assumed here (USD).
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_gb_second_x86_64": 0.0000166667,
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "sqs_request_64kb": 0.40 / 1e6,
    "sns_publish": 0.50 / 1e6,
    "secretsmanager_api_call": 0.05 / 1e4,
    "event": 1.00 / 1e6,  # EventBridge: a partner event, or an event put on a bus
    "log_gb": 0.50,  # CloudWatch Logs ingestion
}
# Lambda's event source mapping polls and deletes; billed as SQS requests, not made by our code.
ESM_SQS_REQUESTS_PER_BATCH = 2
