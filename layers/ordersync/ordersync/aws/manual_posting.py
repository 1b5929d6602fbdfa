"""Starting the ManualPosting state machine (one execution per order), and ops' side of its task."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from botocore.exceptions import ClientError

from ordersync.alerts.messages import compose_alert, manual_posting_instructions, manual_posting_subjects
from ordersync.aws import clients
from ordersync.aws.errors import aws_errors, drain_receive, error_code
from ordersync.domain.decide import Decision
from ordersync.models import CanonicalOrder
from ordersync.records import OrderRecord


def execution_name(order_key: str, attempt: int = 1) -> str:
    """Derived from the order key (and ops' explicit retry count) alone: a re-pulled or replayed
    order never starts a second flow for the same attempt."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", order_key)[:56]
    return f"{readable}-{hashlib.sha256(order_key.encode()).hexdigest()[:12]}-{max(attempt, 1)}"


class SfnManualPosting:
    def __init__(
        self,
        state_machine_arn: str,
        timeout_seconds: int,
        max_escalations: int,
        client: Any = None,
    ) -> None:
        self._arn = state_machine_arn
        self._timeout = timeout_seconds
        self._max_escalations = max_escalations
        self._sfn = client or clients.client("stepfunctions")

    def start(self, record: OrderRecord, order: CanonicalOrder, decision: Decision) -> str:
        alert = compose_alert(record)
        name = execution_name(record.order_key, record.manual_attempts)
        flow_input = {
            "order_key": record.order_key,
            "order_number": record.order_number or record.order_id,
            "buyer_name": record.buyer_name,
            "seller_id": record.seller_id,
            "seller_name": record.seller_name,
            "subjects": manual_posting_subjects(record),
            "seller_message": (alert.seller_body if alert else None) or "",
            "ops_message": manual_posting_instructions(record, order, decision, name),
            "timeout_seconds": self._timeout,
            "max_escalations": self._max_escalations,
        }
        try:
            with aws_errors("manual posting"):
                response = self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(flow_input))
            return str(response["executionArn"])
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":  # already in progress: nothing to do
                return self._arn.replace(":stateMachine:", ":execution:") + f":{name}"
            raise


class SfnManualTasks:
    """Ops' side: the open task of an order (its token, from ManualTasksQueue), completed or rejected."""

    def __init__(self, tasks_queue_url: str, sqs: Any = None, sfn: Any = None) -> None:
        self._url = tasks_queue_url
        self._sqs = sqs or clients.client("sqs")
        self._sfn = sfn or clients.client("stepfunctions")

    def complete(self, order_key: str, bigcommerce_order_id: str) -> None:
        token, handles = self._take(order_key)
        with aws_errors("send task success"):
            self._sfn.send_task_success(
                taskToken=token, output=json.dumps({"bigcommerce_order_id": bigcommerce_order_id})
            )
        self._delete(handles)

    def reject(self, order_key: str, reason: str) -> None:
        token, handles = self._take(order_key)
        with aws_errors("send task failure"):
            self._sfn.send_task_failure(taskToken=token, error="ManualPostingRejected", cause=reason[:256])
        self._delete(handles)

    def _take(self, order_key: str) -> tuple[str, list[str]]:
        """The newest task of the order (an escalation makes a new one); every task message of it."""
        mine: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        tasks = drain_receive(
            self._sqs,
            self._url,
            "manual task read",
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["SentTimestamp"],
        )
        for message in tasks:
            key = message.get("MessageAttributes", {}).get("order_key", {}).get("StringValue")
            (mine if key == order_key else others).append(message)
        for message in others:
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        if not mine:
            raise LookupError(f"no open manual posting task for {order_key}")
        newest = max(mine, key=lambda m: int(m.get("Attributes", {}).get("SentTimestamp", 0)))
        token = newest["MessageAttributes"]["task_token"]["StringValue"]
        return token, [m["ReceiptHandle"] for m in mine]

    def _delete(self, handles: list[str]) -> None:
        for handle in handles:
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=handle)
