"""Which DLQ a `dlq` command means, what `--reason` may choose there, and what each DLQ's message is
about, as `dlq list` prints it (alerts/dead_letters.py: no AWS)."""

from __future__ import annotations

import json

import pytest

from ordersync.alerts.dead_letters import (
    DEAD_LETTER_QUEUES,
    DeadLetterChoiceError,
    check_seller_filter,
    describe,
    queue_for,
)
from ordersync.models import CatalogSyncRequest, FailureReason

from .catalog_builders import store_ref


def _message(body: object, **attributes: str) -> dict[str, object]:
    return {
        "MessageId": "m-1",
        "Body": json.dumps(body),
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


def test_a_reason_alone_names_the_queue_that_holds_it() -> None:
    assert queue_for(None, None).title == "OrdersDLQ"
    assert queue_for(None, "SKU_MISMATCH").title == "OrdersDLQ"
    assert queue_for(None, "PARCEL_REFUSED").title == "ShipmentsDLQ"
    assert queue_for("alerts", "PARCEL_REFUSED").title == "AlertsDLQ"  # an alert of any reason


def test_a_reason_the_queue_cannot_hold_is_refused_with_the_queue_that_does() -> None:
    with pytest.raises(
        DeadLetterChoiceError, match="SKU_MISMATCH is a reason of orders \\(OrdersDLQ\\), not of shipments"
    ):
        queue_for("shipments", "SKU_MISMATCH")
    with pytest.raises(DeadLetterChoiceError, match="PullDLQ's messages carry no reason"):
        queue_for("pull", "SKU_MISMATCH")
    with pytest.raises(DeadLetterChoiceError, match="ScheduledRunsDLQ's messages name no seller"):
        check_seller_filter(DEAD_LETTER_QUEUES["scheduled-runs"], "northwind")


def test_every_failure_reason_has_a_queue_of_its_own() -> None:
    for reason in FailureReason:
        assert queue_for(None, reason.value).title in ("OrdersDLQ", "ShipmentsDLQ")


def test_a_pull_and_a_catalog_run_are_described_by_whose_they_are() -> None:
    pull = describe(DEAD_LETTER_QUEUES["pull"], _message({"connection_id": "acme--northwind", "resume": {"page": "3"}}))
    assert pull["key"] == "acme--northwind" and "a continuation" in pull["summary"] and pull["seller_id"] is None
    request = CatalogSyncRequest(
        seller=store_ref("northwind"),
        full=False,
        resume="4",
        variants=250,
    )
    run = describe(DEAD_LETTER_QUEUES["catalog"], _message(json.loads(request.model_dump_json())))
    assert run["seller_id"] == "northwind" and "250 variant(s) read before it stopped" in run["summary"]
    listings = request.model_copy(update={"buyer_listings": True, "resume": None})
    read = describe(DEAD_LETTER_QUEUES["catalog"], _message(json.loads(listings.model_dump_json())))
    assert read["seller_id"] is None and read["summary"].startswith("the listings (as a buyer) run of northwind")


def test_an_undelivered_shopify_event_and_a_failed_scheduled_run_say_what_and_why() -> None:
    event = {
        "detail-type": "shopifyWebhook",
        "detail": {
            "payload": {"id": 820982911946154508, "name": "#1004"},
            "metadata": {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "acme.myshopify.com"},
        },
    }
    described = describe(
        DEAD_LETTER_QUEUES["shopify-events"], _message(event, ERROR_CODE="SQS.Throttled", ERROR_MESSAGE="slow down")
    )
    assert described["key"] == "acme.myshopify.com#820982911946154508"
    assert described["summary"] == "orders/create of order #1004 not delivered to OrdersQueue"
    assert described["detail"] == "SQS.Throttled slow down"
    record = {
        "timestamp": "2026-12-07T04:00:00.000Z",
        "requestContext": {
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:ordersync-PullOrdersFunction-x:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "responsePayload": {"errorType": "ResourceNotFoundException", "errorMessage": "table gone"},
    }
    run = describe(DEAD_LETTER_QUEUES["scheduled-runs"], _message(record))
    assert run["key"] == "ordersync-PullOrdersFunction-x"
    assert run["summary"] == "the run of 2026-12-07T04:00:00.000Z failed after 3 tries (RetriesExhausted)"
    assert run["detail"] == "ResourceNotFoundException: table gone"


def test_an_order_message_keeps_the_fields_ops_already_read() -> None:
    body = {"order_key": "acme--northwind#1002", "reason": "SKU_MISMATCH", "summary": "s", "detail": "d"}
    described = describe(DEAD_LETTER_QUEUES["orders"], _message(body, seller_id="northwind", reason="SKU_MISMATCH"))
    assert (described["key"], described["seller_id"], described["reason"]) == (
        "acme--northwind#1002",
        "northwind",
        "SKU_MISMATCH",
    )
