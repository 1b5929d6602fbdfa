"""Exactly one post per buyer order: Powertools Idempotency around the store post, keyed by the
order key, on top of the store-level look-before-create."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from ordersync.domain.decide import LineMatch
from ordersync.models import CanonicalOrder
from ordersync.ports import SellerStore
from ordersync.services.process import PostOnce, post_to_store

_SEVEN_DAYS = 7 * 24 * 3600


def idempotent_post(table_name: str, config: IdempotencyConfig | None = None) -> tuple[PostOnce, IdempotencyConfig]:
    # The process-wide default session: one set of clients, and one place to observe their calls.
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_session=boto3._get_default_session())
    config = config or IdempotencyConfig(event_key_jmespath="source_key", expires_after_seconds=_SEVEN_DAYS)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def post(
        request: dict[str, Any],
        store: SellerStore,
        order: CanonicalOrder,
        lines: Sequence[LineMatch],
        look_since: datetime | None,
    ) -> str:
        return post_to_store(store, order, lines, request["source_key"], look_since)

    def post_once(
        store: SellerStore,
        order: CanonicalOrder,
        lines: Sequence[LineMatch],
        source_key: str,
        look_since: datetime | None,
    ) -> str:
        # Concurrent duplicates of a first attempt are held off by the in-progress idempotency record.
        request = {"source_key": source_key}
        return str(post(request=request, store=store, order=order, lines=lines, look_since=look_since))

    return post_once, config
