"""The PullQueue batch: one connection per record (batch size 1), failures reported per record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ordersync.services.pull import PullDependencies, pull_connection

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_processor = BatchProcessor(event_type=EventType.SQS)


def pull_connection_batch(event: dict[str, Any], context: LambdaContext, deps: PullDependencies) -> dict[str, Any]:
    """A store that fails (down, throttling, refused credentials) fails its own record: SQS retries
    it with backoff and, after MaxReceiveCount, keeps it in PullDLQ. Other connections go on."""

    def handle(record: SQSRecord) -> None:
        request = json.loads(record.body)
        connection = deps.connections.get(request["connection_id"], fresh=True)  # the cursor as checkpointed
        pull_connection(connection, deps, context.get_remaining_time_in_millis, request.get("resume"))

    return dict(process_partial_response(event=event, record_handler=handle, processor=_processor, context=context))
