"""Store credentials in Secrets Manager: read by the functions through Powertools Parameters
(cached across invocations); written by ops' onboarding commands, one secret per store under
ordersync/stores/ (the only secrets the store-calling functions may read), and a store's webhook
keys apart, under ordersync/webhooks/ (the only ones the webhook door may read)."""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from ordersync.aws import clients
from ordersync.aws.errors import aws_errors, error_code
from ordersync.domain.webhooks import WEBHOOK_SECRET_KEY
from ordersync.errors import OnboardingRefused

_MAX_AGE_SECONDS = 300
SECRET_PREFIX = "ordersync/stores/"
# A store's webhook keys (its webhooks' secret, BigCommerce's client_secret): the only secrets the
# public webhook door may read — a store's API credentials stay out of its reach.
WEBHOOK_KEYS_PREFIX = "ordersync/webhooks/"
RECOVERY_DAYS = 7  # a removed store's credentials can be restored for a week


_reading = threading.Lock()  # a batch's records at once (services/at_once.py): one read, not one each


def store_credentials(secret_arn: str, fresh: bool = False) -> dict[str, Any]:
    """Cached for 5 minutes in a warm container; `fresh` reads past the cache (just rotated?)."""
    with _reading:  # Powertools' cache answers the others once the first has read
        value = _provider().get(secret_arn, transform="json", max_age=_MAX_AGE_SECONDS, force_fetch=fresh)
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_arn} is not a JSON object")
    return value


def webhook_keys(store_id: str, fresh: bool = False) -> dict[str, Any]:
    """The door's read, cached as the credentials are; {} for a store that has no webhook keys (it
    registered no webhooks, or did before they had a secret of their own: `store webhooks register`
    again moves them)."""
    try:
        return store_credentials(WEBHOOK_KEYS_PREFIX + store_id, fresh)
    except parameters.exceptions.GetParameterError as error:
        cause = error.__cause__ or error.__context__  # Powertools raises it within the boto3 error's handler
        if isinstance(cause, ClientError) and error_code(cause) == "ResourceNotFoundException":
            return {}
        raise


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

    def webhook_keys(self, store_id: str) -> dict[str, str]:
        """Restored first if `store remove` scheduled them for deletion (the store's subscriptions,
        if any are left, still sign with that secret)."""
        name = WEBHOOK_KEYS_PREFIX + store_id
        try:
            return {k: str(v) for k, v in self.read(name).items()}
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return {}
            if error_code(error) != "InvalidRequestException":  # "marked deleted": within its window
                raise
        with aws_errors("secret restore"):
            self._secrets.restore_secret(SecretId=name)
        return {k: str(v) for k, v in self.read(name).items()}

    def keep_webhook_keys(self, store_id: str, keys: dict[str, str]) -> None:
        name = WEBHOOK_KEYS_PREFIX + store_id
        try:
            with aws_errors("secret create"):
                self._secrets.create_secret(
                    Name=name, SecretString=json.dumps(keys), Description=f"ordersync: webhook keys of store {store_id}"
                )
        except ClientError as error:
            if error_code(error) != "ResourceExistsException":
                raise
            self.replace(name, keys)

    def remove_webhook_keys(self, store_id: str) -> None:
        try:
            self.remove(WEBHOOK_KEYS_PREFIX + store_id)
        except ClientError as error:
            # none made, or scheduled for deletion already
            if error_code(error) not in ("ResourceNotFoundException", "InvalidRequestException"):
                raise
