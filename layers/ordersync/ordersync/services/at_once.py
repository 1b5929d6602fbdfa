"""A batch's records handled at once: Powertools' AsyncBatchProcessor, each record's own handler
on a thread of its own, in a copy of the invocation's context (its deadline, Powertools' keys, the
local stack's principal). A record mostly waits on a store; handled in turn, an invocation was
billed for the sum of its records' waits, now for the longest. What guards exactly-once is per
record and unchanged: the order's claim."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def process_at_once(
    event: dict[str, Any], handle: Callable[[SQSRecord], Any], context: LambdaContext
) -> dict[str, Any]:
    """Partial batch failures as BatchProcessor reports them: a record whose handler raises fails alone."""
    # A thread per record (not the loop's default pool, of cpu_count + 4): every record starts now,
    # while the invocation has its time. A processor per batch (it holds the batch's records): two
    # invocations at once in one process (a local run's concurrent delivery) must not share one.
    with ThreadPoolExecutor(max_workers=max(1, len(event.get("Records") or []))) as threads:

        async def on_a_thread(record: SQSRecord) -> Any:
            return await asyncio.get_running_loop().run_in_executor(threads, copy_context().run, handle, record)

        processor = AsyncBatchProcessor(event_type=EventType.SQS)
        return dict(
            async_process_partial_response(
                event=event, record_handler=on_a_thread, processor=processor, context=context
            )
        )
