"""Store credentials in Secrets Manager: read by the functions through Powertools Parameters
(cached across invocations); written by ops' onboarding commands, one secret per store under
ordersync/stores/ (the only secrets the functions may read)."""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from ordersync.aws import clients
from ordersync.aws.errors import aws_errors, error_code
from ordersync.domain.webhooks import WEBHOOK_SECRET_KEY
from ordersync.errors import OnboardingRefused

_MAX_AGE_SECONDS = 300
SECRET_PREFIX = "ordersync/stores/"
RECOVERY_DAYS = 7  # a removed store's credentials can be restored for a week


def store_credentials(secret_arn: str, fresh: bool = False) -> dict[str, Any]:
    """Cached for 5 minutes in a warm container; `fresh` reads past the cache (just rotated?)."""
    value = _provider().get(secret_arn, transform="json", max_age=_MAX_AGE_SECONDS, force_fetch=fresh)
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_arn} is not a JSON object")
    return value


@functools.cache
def _provider() -> parameters.SecretsProvider:
    """Powertools' provider on a client of boto3's default session, one a container: by itself it
    makes a boto3 session of its own, which loads botocore's models a second time (a tenth of a
    second of a cold start)."""
    return parameters.SecretsProvider(boto3_client=clients.client("secretsmanager"))


class StoreSecrets:
    """Errors name the secret, never its value."""

    def __init__(self, client: Any = None) -> None:
        self._secrets = client or clients.client("secretsmanager")

    def create(self, store_id: str, credentials: dict[str, str]) -> str:
        name = SECRET_PREFIX + store_id
        try:
            with aws_errors("secret create"):
                created = self._secrets.create_secret(
                    Name=name,
                    SecretString=json.dumps(credentials),
                    Description=f"ordersync: credentials of store {store_id}",
                )
            return str(created["ARN"])
        except ClientError as error:
            # ours by its name, and no store uses it: `store remove` scheduled it for deletion (AWS
            # answers InvalidRequestException for that) or left it (ResourceExistsException)
            if error_code(error) in ("InvalidRequestException", "ResourceExistsException"):
                return self._reuse(name, credentials)
            raise

    def _reuse(self, name: str, credentials: dict[str, str]) -> str:
        """The store's secret kept from before (`store remove`, then `store add` again): restored if it
        is scheduled for deletion (the 7-day recovery window), then it holds the credentials just
        tried, and keeps the webhooks' secret the store's subscriptions sign with."""
        try:
            with aws_errors("secret read"):
                found = self._secrets.get_secret_value(SecretId=name)
        except ClientError as error:
            if error_code(error) != "InvalidRequestException":  # "marked deleted": within its window
                raise
            with aws_errors("secret restore"):
                self._secrets.restore_secret(SecretId=name)
                found = self._secrets.get_secret_value(SecretId=name)
        kept = {k: v for k, v in json.loads(found["SecretString"]).items() if k == WEBHOOK_SECRET_KEY}
        with aws_errors("secret write"):
            self._secrets.put_secret_value(SecretId=name, SecretString=json.dumps({**credentials, **kept}))
        return str(found["ARN"])

    def read(self, secret_arn: str, fresh: bool = True) -> dict[str, Any]:
        """Always read afresh (ops' commands don't cache)."""
        with aws_errors("secret read"):
            value = self._secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
        document = json.loads(value)
        if not isinstance(document, dict):
            raise OnboardingRefused(f"secret {secret_arn} is not a JSON object")
        return document

    def replace(self, secret_arn: str, credentials: dict[str, str]) -> None:
        with aws_errors("secret write"):
            self._secrets.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(credentials))

    def remove(self, secret_arn: str) -> None:
        with aws_errors("secret delete"):
            self._secrets.delete_secret(SecretId=secret_arn, RecoveryWindowInDays=RECOVERY_DAYS)
