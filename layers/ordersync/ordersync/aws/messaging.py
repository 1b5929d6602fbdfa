"""SQS (OrdersQueue, OrdersDLQ) and SNS (alerts) adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from ordersync.alerts.digest import OutgoingEmail, QueuedAlert
from ordersync.alerts.drift import DriftFindings
from ordersync.alerts.messages import Alert, email_subject
from ordersync.aws import clients
from ordersync.aws.errors import aws_errors, drain_receive, error_code
from ordersync.errors import OnboardingRefused, ResourceThrottled
from ordersync.models import CatalogSyncRequest, DriftRequest, OrderEnvelope, ShipmentRequest
from ordersync.records import OrderRecord

_SQS_BATCH = 10


def _string_attributes(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items() if value}


class SqsOrderQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._sqs = client or clients.client("sqs")

    def enqueue(self, envelopes: Sequence[OrderEnvelope]) -> None:
        for start in range(0, len(envelopes), _SQS_BATCH):
            chunk = envelopes[start : start + _SQS_BATCH]
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": envelope.model_dump_json(),
                    "MessageAttributes": _string_attributes(
                        {"order_id": envelope.order_id, "seller_id": envelope.seller_id}
                    ),
                }
                for index, envelope in enumerate(chunk)
            ]
            with aws_errors("enqueue"):
                response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            if response.get("Failed"):
                raise ResourceThrottled(f"SQS refused {len(response['Failed'])} of {len(entries)} orders")

    def retry_later(self, body: str, delay_seconds: int) -> None:
        with aws_errors("retry later"):
            self._sqs.send_message(QueueUrl=self._url, MessageBody=body, DelaySeconds=min(delay_seconds, 900))


class SqsPullQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._sqs = client or clients.client("sqs")

    def request_pulls(
        self, connection_ids: Sequence[str], resume: dict[str, str] | None = None, delay_seconds: int = 0
    ) -> None:
        for start in range(0, len(connection_ids), _SQS_BATCH):
            chunk = connection_ids[start : start + _SQS_BATCH]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"connection_id": c, **({"resume": resume} if resume else {})}),
                    "DelaySeconds": delay_seconds,
                }
                for i, c in enumerate(chunk)
            ]
            with aws_errors("pull request"):
                response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            if response.get("Failed"):
                raise ResourceThrottled(f"SQS refused {len(response['Failed'])} pull requests")


class SqsCatalogSyncQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._sqs = client or clients.client("sqs")

    def request_syncs(self, requests: Sequence[CatalogSyncRequest]) -> None:
        _send_all(self._sqs, self._url, [r.model_dump_json() for r in requests], "catalog sync request")


class SqsShipmentRequests:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._sqs = client or clients.client("sqs")

    def request(self, requests: Sequence[ShipmentRequest], delay_seconds: int = 0) -> None:
        _send_all(self._sqs, self._url, [r.model_dump_json() for r in requests], "shipment request", delay_seconds)


class SqsDriftRequests:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._sqs = client or clients.client("sqs")

    def request(self, requests: Sequence[DriftRequest]) -> None:
        _send_all(self._sqs, self._url, [r.model_dump_json() for r in requests], "drift request")


def _send_all(sqs: Any, url: str, bodies: Sequence[str], what: str, delay_seconds: int = 0) -> None:
    """In batches of ten; a batch with a failed entry raises (the caller's message is retried)."""
    for start in range(0, len(bodies), _SQS_BATCH):
        entries = [
            {"Id": str(i), "MessageBody": body} | ({"DelaySeconds": delay_seconds} if delay_seconds else {})
            for i, body in enumerate(bodies[start : start + _SQS_BATCH])
        ]
        with aws_errors(what):
            response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            raise ResourceThrottled(f"SQS refused {len(response['Failed'])} {what}s")


class SqsDeadLetters:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._sqs = client or clients.client("sqs")

    def send(self, body: dict[str, Any], attributes: dict[str, str]) -> str:
        with aws_errors("dead letter"):
            response = self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=dlq_text(body),
                MessageAttributes=_string_attributes(attributes),
            )
        return str(response["MessageId"])


def dlq_text(body: dict[str, Any]) -> str:
    """Indented for a person reading it in the console while small; compact past that (indenting a
    large payload can double it)."""
    compact = json.dumps(body, separators=(",", ":"), default=str)
    return json.dumps(body, indent=2, default=str) if len(compact) < 32_000 else compact


class SqsAlertOutbox:
    """The Alerts port: alerts wait in AlertsQueue until AlertDispatchFunction groups and sends them."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._sqs = client or clients.client("sqs")

    def publish(self, record: OrderRecord, alert: Alert) -> None:
        queued = QueuedAlert(
            order_key=record.order_key,
            order_number=record.order_number,
            buyer_name=record.buyer_name,
            seller_id=record.seller_id,
            seller_name=record.seller_name,
            seller_platform=record.seller_platform,
            reason=alert.about,
            kind=alert.kind,
            subject=alert.subject,
            seller_body=alert.seller_body,
            ops_body=alert.ops_body,
            buyer_id=record.buyer_id if alert.buyer_body else "",
            buyer_subject=alert.buyer_subject,
            buyer_body=alert.buyer_body,
        )
        with aws_errors("alert"):
            self._sqs.send_message(QueueUrl=self._url, MessageBody=queued.model_dump_json())

    def publish_findings(self, findings: DriftFindings) -> None:
        with aws_errors("drift findings"):
            self._sqs.send_message(QueueUrl=self._url, MessageBody=findings.model_dump_json())

    def take_all(self, limit: int = 1000) -> tuple[list[QueuedAlert | DriftFindings], list[str]]:
        """Every queued alert and drift finding (up to `limit`) and the receipt handles to delete
        once they are sent."""
        alerts: list[QueuedAlert | DriftFindings] = []
        handles: list[str] = []
        for message in drain_receive(self._sqs, self._url, "alert read", limit):
            handles.append(message["ReceiptHandle"])
            try:
                drift = '"kind":"DRIFT"' in message["Body"]
                alerts.append((DriftFindings if drift else QueuedAlert).model_validate_json(message["Body"]))
            except ValueError:
                continue  # not an alert: dropped with the batch rather than blocking the outbox
        return alerts, handles

    def delete(self, handles: list[str]) -> None:
        for start in range(0, len(handles), _SQS_BATCH):
            chunk = handles[start : start + _SQS_BATCH]
            with aws_errors("alert delete"):
                self._sqs.delete_message_batch(
                    QueueUrl=self._url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
                )


class SnsEmails:
    """Sends planned emails. Seller emails carry a seller_id attribute: each seller's email
    subscription filters on it, so a seller only ever receives their own orders."""

    def __init__(self, seller_topic_arn: str, ops_topic_arn: str, client: Any = None) -> None:
        self._topics = {"seller": seller_topic_arn, "buyer": seller_topic_arn, "ops": ops_topic_arn}
        self._sns = client or clients.client("sns")

    def send(self, email: OutgoingEmail) -> None:
        audience = {"audience": email.audience} if email.audience != "ops" else {}
        attributes = _string_attributes({"seller_id": email.seller_id or "", "reason": email.reason, **audience})
        subject = email_subject(email.subject)
        with aws_errors("email"):
            self._sns.publish(
                TopicArn=self._topics[email.audience], Subject=subject, Message=email.body, MessageAttributes=attributes
            )


class SnsOpsEmails(SnsEmails):
    """Ops' emails only (OpsAlertsTopic): for functions that tell ops directly, without the outbox."""

    def __init__(self, ops_topic_arn: str, client: Any = None) -> None:
        super().__init__("", ops_topic_arn, client)

    def send(self, email: OutgoingEmail) -> None:
        if email.audience != "ops":
            raise ValueError(f"{email.audience} emails don't go through the ops topic")
        super().send(email)


class SqsDlqAdmin:
    """Reading and moving OrdersDLQ messages (what the console's "Start DLQ redrive" does; moto has
    no StartMessageMoveTask). Bodies and attributes move intact."""

    def __init__(self, dlq_url: str, source_url: str, client: Any = None) -> None:
        self._dlq = dlq_url
        self._source = source_url
        self._sqs = client or clients.client("sqs")

    def messages(self) -> list[dict[str, Any]]:
        """Every message, left in place."""
        received = self._receive_all()
        self._release(received)
        return received

    def move(self, predicate: Any = None) -> list[dict[str, Any]]:
        """Moves the messages `predicate(message)` accepts (all by default) back to OrdersQueue."""
        received = self._receive_all()
        chosen = [m for m in received if predicate is None or predicate(m)]
        self._release([m for m in received if m not in chosen])
        for message in chosen:
            with aws_errors("redrive"):
                self._sqs.send_message(
                    QueueUrl=self._source,
                    MessageBody=message["Body"],
                    MessageAttributes={
                        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
                        for name, value in message.get("MessageAttributes", {}).items()
                    },
                )
                self._sqs.delete_message(QueueUrl=self._dlq, ReceiptHandle=message["ReceiptHandle"])
        return chosen

    def remove(self, predicate: Any, scan_limit: int = 1_000) -> list[dict[str, Any]]:
        """Deletes the messages `predicate` accepts among the first `scan_limit` (a replay's tidy-up,
        bounded: a message past it stays, and processing it again later changes nothing, the order
        being settled)."""
        received = self._receive_all(scan_limit)
        chosen = [m for m in received if predicate(m)]
        self._release([m for m in received if m not in chosen])
        for message in chosen:
            self._sqs.delete_message(QueueUrl=self._dlq, ReceiptHandle=message["ReceiptHandle"])
        return chosen

    def _receive_all(self, limit: int | None = None) -> list[dict[str, Any]]:
        return drain_receive(
            self._sqs, self._dlq, "dlq read", limit, VisibilityTimeout=60, MessageAttributeNames=["All"]
        )

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self._sqs.change_message_visibility(
                QueueUrl=self._dlq, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


@contextmanager
def alert_emails_full() -> Iterator[None]:
    """SNS's quota of filter policies per topic (200 unless raised): one per store's alert email."""
    try:
        yield
    except ClientError as error:
        if error_code(error) != "FilterPolicyLimitExceeded":
            raise
        raise OnboardingRefused(
            "SellerAlertsTopic has as many alert emails as SNS allows a topic (its quota of filter policies"
            " per topic: 200 unless raised), and nothing was subscribed: raise the quota (README: Deploy,"
            " alert emails past 200) or remove an address no longer used (`ordersync seller|buyer remove`)"
        ) from None


class SnsSellerSubscriptions:
    """Each store's alert email: a SellerAlertsTopic subscription filtered on its id and its
    audience ("seller": its orders as a seller; "buyer": its orders as the retailer), so a store
    that both sells and buys gets each email once, and removing one audience leaves the other."""

    def __init__(self, seller_topic_arn: str, client: Any = None) -> None:
        self._topic = seller_topic_arn
        self._sns = client or clients.client("sns")

    @staticmethod
    def filter_policy(seller_id: str, audience: str = "seller") -> dict[str, list[str]]:
        return {"seller_id": [seller_id], "audience": [audience]}

    def subscribe(self, seller_id: str, email: str, audience: str = "seller") -> str:
        with alert_emails_full(), aws_errors("subscribe"):
            response = self._sns.subscribe(
                TopicArn=self._topic,
                Protocol="email",
                Endpoint=email,
                Attributes={"FilterPolicy": json.dumps(self.filter_policy(seller_id, audience))},
                ReturnSubscriptionArn=True,
            )
        return str(response["SubscriptionArn"])

    def of_seller(self, seller_id: str, audience: str = "seller") -> list[dict[str, str]]:
        """The store's subscriptions of that audience, and those made before audiences were told
        apart (filtered on its id alone: both audiences')."""
        wanted = (self.filter_policy(seller_id, audience), {"seller_id": [seller_id]})
        found = []
        kwargs: dict[str, Any] = {"TopicArn": self._topic}
        while True:
            with aws_errors("subscriptions"):
                page = self._sns.list_subscriptions_by_topic(**kwargs)
            for subscription in page["Subscriptions"]:
                arn = subscription["SubscriptionArn"]
                if not arn.startswith("arn:"):
                    continue  # PendingConfirmation has no ARN yet
                attributes = self._sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                if json.loads(attributes.get("FilterPolicy") or "{}") in wanted:
                    found.append(
                        {"arn": arn, "protocol": subscription["Protocol"], "endpoint": subscription["Endpoint"]}
                    )
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def unsubscribe_seller(self, seller_id: str, audience: str = "seller") -> list[dict[str, str]]:
        removed = self.of_seller(seller_id, audience)
        for subscription in removed:
            with aws_errors("unsubscribe"):
                self._sns.unsubscribe(SubscriptionArn=subscription["arn"])
        return removed
