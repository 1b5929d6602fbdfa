"""Replaying orders: take each one's message out of the DLQ (if it is there) and enqueue it again
from its record, marked as a replay. Used by ops' commands and by the catalog sync. A synced order
keeps no payload: its replay reads the order from the buyer's store again — what the drift check's
mend means for a cancellation or a new address that never reached the seller's copy."""

from __future__ import annotations

from collections.abc import Sequence

from ordersync.alerts.messages import message_fields
from ordersync.models import Cause, OrderEnvelope, Platform, read_request, utc_now
from ordersync.ports import DlqRemover, OrderQueue
from ordersync.records import OrderRecord


def replay(records: Sequence[OrderRecord], queue: OrderQueue, dlq: DlqRemover) -> list[OrderRecord]:
    if not records:
        return []
    keys = {record.order_key for record in records}
    dlq.remove(lambda message: message_fields(message)["order_key"] in keys)
    queue.enqueue([_again(record) for record in records])
    return list(records)


def _again(record: OrderRecord) -> OrderEnvelope:
    if record.envelope:
        return OrderEnvelope.model_validate({**record.envelope, "cause": Cause.REPLAY})
    return OrderEnvelope(
        connection_id=record.connection_id,
        buyer_id=record.buyer_id,
        buyer_name=record.buyer_name,
        buyer_platform=Platform(record.buyer_platform),
        seller_id=record.seller_id,
        seller_name=record.seller_name,
        seller_platform=Platform(record.seller_platform),
        order_id=record.order_id,
        order_number=record.order_number,
        payload=read_request(record.order_id),
        pulled_at=utc_now(),
        cause=Cause.REPLAY,
    )
