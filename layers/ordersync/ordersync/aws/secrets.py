"""Store credentials: Secrets Manager through Powertools Parameters (cached across invocations)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters

_MAX_AGE_SECONDS = 300


def store_credentials(secret_arn: str) -> dict[str, Any]:
    value = parameters.get_secret(secret_arn, transform="json", max_age=_MAX_AGE_SECONDS)
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_arn} is not a JSON object")
    return value
