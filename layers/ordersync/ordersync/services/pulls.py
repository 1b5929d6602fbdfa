"""The PullQueue batch: one connection per record (batch size 1), failures reported per record."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ordersync.alerts.connections import connection_broken_email
from ordersync.errors import StoreCredentialsError
from ordersync.models import Connection
from ordersync.observability import logger, metrics
from ordersync.services.pull import PullDependencies, PullResult, buyer_group, pull_connection

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_processor = BatchProcessor(event_type=EventType.SQS)


def pull_connection_batch(event: dict[str, Any], context: LambdaContext, deps: PullDependencies) -> dict[str, Any]:
    """A store that says no for now is asked again later by a delayed continuation (pull.py); one
    that keeps failing past the budget fails its own record: SQS retries it and, after
    MaxReceiveCount, keeps it in PullDLQ. Refused credentials mark the connection broken. Other
    connections go on."""

    def handle(record: SQSRecord) -> None:
        request = json.loads(record.body)
        connection = deps.connections.get(request["connection_id"], fresh=True)  # the cursor as checkpointed
        if connection.paused:  # paused after this pull was requested
            logger.info("connection paused: not pulled", extra={"connection_id": connection.connection_id})
            return
        group = buyer_group(connection, deps)  # one read of the buyer's store serves all its connections
        resume = request.get("resume")
        pull = partial(pull_connection, connection, deps, context.get_remaining_time_in_millis, resume, group)
        try:
            result = _with_fresh_credentials_on_refusal(pull, connection, deps)
        except StoreCredentialsError as refused:
            for member in group:
                _broken(member, str(refused), deps)
            return
        if result.store_error is None:  # a pull the store cut short is recorded as failing, not as pulled
            for member in group:
                deps.connections.pulled(member.connection_id, deps.clock(), result.orders)

    return dict(process_partial_response(event=event, record_handler=handle, processor=_processor, context=context))


def _with_fresh_credentials_on_refusal(
    pull: Callable[[], PullResult], connection: Connection, deps: PullDependencies
) -> PullResult:
    """Rotated since this container cached the secret? Refused once, the pull runs once more with
    the credentials read afresh; a second refusal is the store's answer."""
    try:
        return pull()
    except StoreCredentialsError:
        deps.stores.forget(connection.buyer)
        return pull()


def _broken(connection: Connection, error: str, deps: PullDependencies) -> None:
    """Credentials don't heal in minutes: no retry, no DLQ message per hour. The connection is
    marked broken (ops are told once), and the next hour's pull tries again from the same cursor."""
    now = deps.clock()
    metrics.add_metric(name="PullsRefusedCredentials", unit=MetricUnit.Count, value=1)
    logger.warning("buyer store refused the credentials", extra={"connection_id": connection.connection_id})
    if deps.connections.refused(connection.connection_id, now, error) and deps.ops_alerts is not None:
        deps.ops_alerts.send(connection_broken_email(connection, error, now))
