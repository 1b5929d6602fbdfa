"""An order's alerts, each sent once: the record remembers the key of every one it sent."""

from __future__ import annotations

from ordersync.alerts.messages import compose_alert
from ordersync.ports import Alerts
from ordersync.records import OrderRecord


def alert_once(record: OrderRecord, alerts: Alerts, key: str | None = None) -> None:
    """The record's alert (by its reason, else its status), unless `key` was alerted already."""
    key = key or (record.reason or record.status).value
    if key in record.alerted:
        return
    alert = compose_alert(record)
    if alert is None:
        return
    alerts.publish(record, alert)
    record.alerted.append(key)
