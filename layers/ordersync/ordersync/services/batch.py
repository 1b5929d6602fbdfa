"""The SQS batch: Powertools BatchProcessor, one order per record, partial batch failures."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ordersync.invocation import RESERVE_SECONDS, SHORTEST_REQUEST, has_time_for_a_record, invocation_ends_in
from ordersync.observability import logger, metrics
from ordersync.services.process import ProcessDependencies, process_message
from ordersync.services.webhooks import process_shopify_event, shopify_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A record started with less would be cut short by the invocation's end: a request, its record.
RECORD_NEEDS_SECONDS = RESERVE_SECONDS + 2 * SHORTEST_REQUEST


def process_order_batch(event: dict[str, Any], context: LambdaContext, deps: ProcessDependencies) -> dict[str, Any]:
    """A record that raises (a transient failure) is reported back to SQS alone; the rest are done."""

    def handle(record: SQSRecord) -> None:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        # The invocation's deadline bounds the claim: Lambda ends the attempt there, and so does its claim.
        remaining = context.get_remaining_time_in_millis() / 1000
        deadline = deps.clock() + timedelta(seconds=remaining)
        event = shopify_event(record.body)  # EventBridge routes Shopify's order webhooks here as they are
        with invocation_ends_in(remaining):  # no store request nor wait outlasts it
            if not has_time_for_a_record(RECORD_NEEDS_SECONDS):
                hand_back(record.body, remaining, deps)
            elif event is not None:
                process_shopify_event(event, record.message_id, receive_count, deps, deadline)
            else:
                process_message(record.body, record.message_id, receive_count, deps, deadline)

    # A processor per batch (it holds the batch's records): cheap, and safe when a local peak runs
    # several invocations of this function in one process.
    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(process_partial_response(event=event, record_handler=handle, processor=processor, context=context))


def hand_back(body: str, remaining: float, deps: ProcessDependencies) -> None:
    """A record the invocation has no time left for goes back as a new message, untouched: it
    spends no delivery (a record failed back to SQS would), and nothing of it was done."""
    deps.retries.retry_later(body, 1)
    logger.info("record handed back: the invocation is ending", extra={"seconds_left": round(remaining, 1)})
    metrics.add_metric(name="OrdersHandedBack", unit=MetricUnit.Count, value=1)
