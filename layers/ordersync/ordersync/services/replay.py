"""Replaying orders: take each one's message out of the DLQ (if it is there) and enqueue it again
from its record, marked as a replay. Used by ops' commands and by the catalog sync."""

from __future__ import annotations

from collections.abc import Sequence

from ordersync.alerts.messages import message_fields
from ordersync.models import Cause, OrderEnvelope
from ordersync.ports import DlqRemover, OrderQueue
from ordersync.records import OrderRecord


def replay(records: Sequence[OrderRecord], queue: OrderQueue, dlq: DlqRemover) -> list[OrderRecord]:
    if not records:
        return []
    kept = [r for r in records if not r.envelope]
    if kept:  # only a synced order drops its payload, and a synced order is never replayed
        raise ValueError(f"{kept[0].order_key} is {kept[0].status}: there is nothing to replay")
    keys = {record.order_key for record in records}
    dlq.remove(lambda message: message_fields(message)["order_key"] in keys)
    queue.enqueue([OrderEnvelope.model_validate({**r.envelope, "cause": Cause.REPLAY}) for r in records])
    return list(records)
