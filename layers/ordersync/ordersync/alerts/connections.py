"""Ops' email about a connection (not an order): one buyer store refusing its credentials."""

from __future__ import annotations

from datetime import datetime

from ordersync.alerts.digest import OutgoingEmail
from ordersync.alerts.messages import email_subject
from ordersync.models import Connection, iso


def connection_broken_email(connection: Connection, error: str, at: datetime) -> OutgoingEmail:
    """To ops, once, when a buyer's store starts refusing the connection's credentials: the pull
    keeps trying every hour and the connection heals by itself once the credentials work again."""
    buyer, seller = connection.buyer, connection.seller
    body = "\n".join(
        [
            f"The {buyer.platform.label} store {buyer.name} ({buyer.store_id}) refused ordersync's"
            f" credentials at {iso(at)}, so no orders are pulled from it for {seller.name} ({seller.store_id}).",
            "",
            f"What the store said: {error}",
            "",
            "Orders are not lost: the pull resumes from its cursor once the credentials work again.",
            f"Fix the credentials in the store, then: ordersync store rotate {buyer.store_id}"
            f" (or ordersync store check {buyer.store_id} if they were fixed in the store).",
            f"Connection {connection.connection_id}: ordersync connection list shows it as broken until a pull succeeds.",
            "You are told once; not again every hour while it stays broken.",
        ]
    )
    subject = f"[ordersync] Connection broken: {buyer.name} refuses our credentials"
    return OutgoingEmail("ops", None, email_subject(subject), body, "CONNECTION_BROKEN")


def store_failing_email(connection: Connection, error: str, since: datetime, at: datetime) -> OutgoingEmail:
    """To ops, once, when a buyer's store has made no progress for longer than the pull's budget:
    what was read is kept, the cursor stays where it was safely enqueued, and the pull now fails to
    PullDLQ until the store answers again."""
    buyer, seller = connection.buyer, connection.seller
    body = "\n".join(
        [
            f"The {buyer.platform.label} store {buyer.name} ({buyer.store_id}) has failed every pull of its"
            f" orders for {seller.name} ({seller.store_id}) since {iso(since)} (last try {iso(at)}).",
            "",
            f"What the store said last: {error}",
            "",
            "Orders are not lost: everything read before the failure was enqueued and the cursor kept;"
            " the hourly pull goes on from there once the store answers again.",
            "While it fails, each hour's pull ends in PullDLQ (PullDLQDepthAlarm); once the store is back, redrive"
            " PullDLQ in the SQS console, or leave it: the next hour's pull reads the same orders.",
            f"Connection {connection.connection_id}: ordersync connection list shows since when it fails.",
            "You are told once; not again every hour while it keeps failing.",
        ]
    )
    subject = f"[ordersync] Buyer store failing: {buyer.name} has answered no pull since {iso(since)}"
    return OutgoingEmail("ops", None, email_subject(subject), body, "STORE_FAILING")
