"""The ManualPosting state machine, really executed by moto's Step Functions backend from the
ASL file the template deploys: completion, rejection, escalation, giving up, one flow per order."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from ordersync.aws.orders import DynamoOrders
from ordersync.cli import LOCAL_STATE, main
from ordersync.local import iam
from ordersync.local.fakes.shopify import FakeShopify, order_node
from ordersync.local.provision import subscribe_with_sink
from ordersync.local.stack import LocalStack
from ordersync.local.world import World, delivered_emails
from ordersync.models import OrderStatus, Platform, utc_now
from ordersync.records import OrderRecord

from .marketplace import ADDRESS, pull_only, run_hour

OPS = "ops@example.com"
SELLER = "orders@summit.example"


def _start(parameters: dict[str, str]) -> Iterator[tuple[LocalStack, World]]:
    with LocalStack.start({"LogLevel": "ERROR", **parameters}) as stack:
        world = World(stack)
        subscribe_with_sink(
            boto3.client("sns"), boto3.client("sqs"), stack.output("OpsAlertsTopicArn"), "email", OPS, None
        )
        try:
            yield stack, world
        finally:
            world.stop()


@pytest.fixture
def patient() -> Iterator[tuple[LocalStack, World]]:
    """Ops have a day (the default) to post by hand."""
    yield from _start({})


@pytest.fixture
def hurried() -> Iterator[tuple[LocalStack, World]]:
    """Ops have 2 seconds per wait, and one escalation."""
    yield from _start({"ManualPostingTimeoutSeconds": "2", "ManualPostingMaxEscalations": "1"})


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    monkeypatch.chdir(tmp_path)

    def run(stack: LocalStack, *argv: str) -> tuple[int, str]:
        LOCAL_STATE.parent.mkdir(exist_ok=True)
        LOCAL_STATE.write_text(
            json.dumps({"endpoint": stack.moto.endpoint, "outputs": stack.deployment.outputs, "pid": os.getpid()})
        )
        with iam.acting_as(stack.deployment.principal("OpsPolicy")):
            code = main([*argv, "--local"])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


def _bigcommerce_seller(world: World) -> FakeShopify:
    buyer = world.add_shopify("canyon", "Canyon Trading")
    world.add_unfaked("summit", "Summit Supply", Platform.BIGCOMMERCE)
    world.add_catalog("summit", [("301", "3011", "SU-ROPE-60", "Climbing Rope", "60 m")])
    world.connect("canyon", "summit")
    world.subscribe_seller("summit", SELLER)
    buyer.add_order(order_node(3001, "#3001", [("SU-ROPE-60", "Climbing Rope 60m", 2, "210.00")], ADDRESS))
    return buyer


def _record(stack: LocalStack) -> OrderRecord:
    record = DynamoOrders(stack.output("OrdersTableName")).get("canyon--summit#3001")
    assert record is not None
    return record


def _until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the state machine did not get there in time")
        time.sleep(0.1)


def _inbox(address: str) -> list[dict]:
    return [e for e in delivered_emails() if e["to"] == [address]]


def _executions(stack: LocalStack) -> list[dict]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=stack.output("ManualPostingStateMachineArn"))[
        "executions"
    ]


def test_ops_complete_the_manual_posting(patient: tuple[LocalStack, World], cli) -> None:
    stack, world = patient
    _bigcommerce_seller(world)
    run_hour(stack)
    _until(lambda: _record(stack).execution_arn is not None and len(_inbox(OPS)) == 1)
    record = _record(stack)
    assert (record.status, record.reason) == (OrderStatus.MANUAL_POSTING_PENDING, "UNSUPPORTED_PLATFORM")
    assert any(record.execution_arn in entry.detail for entry in record.timeline)  # type: ignore[operator]

    (seller_email,) = _inbox(SELLER)
    assert "you can start processing this order" in seller_email["body"]
    (ops_email,) = _inbox(OPS)
    body = ops_email["body"]
    assert "2 x SKU SU-ROPE-60: Climbing Rope - 60 m (product 301, variant 3011) at 210.00 USD" in body
    assert (
        "410 Terry Ave N" in body and "ordersync manual complete canyon--summit#3001 --bigcommerce-order-id N" in body
    )
    assert "send task success" in body and len(body.rsplit("task token:\n", 1)[1]) > 20  # the token itself

    run_hour(stack)  # re-pulled: still one flow
    cli(stack, "order", "replay", "3001")
    stack.runner.drain()
    assert len(_executions(stack)) == 1

    code, out = cli(stack, "manual", "complete", "3001", "--bigcommerce-order-id", "880")
    assert code == 0 and "BigCommerce order 880" in out
    _until(lambda: _record(stack).status is OrderStatus.POSTED_MANUALLY)
    record = _record(stack)
    assert record.seller_order_id == "880" and record.timeline[-1].cause == "ops"
    _until(lambda: len(_inbox(SELLER)) == 2)
    assert "is now in your BigCommerce store" in _inbox(SELLER)[-1]["subject"] or any(
        "is now in your BigCommerce store" in e["subject"] for e in _inbox(SELLER)
    )
    assert _executions(stack)[0]["status"] == "SUCCEEDED"


def test_ops_complete_two_open_tasks_in_either_order(patient: tuple[LocalStack, World], cli) -> None:
    stack, world = patient
    buyer = _bigcommerce_seller(world)
    buyer.add_order(order_node(3002, "#3002", [("SU-ROPE-60", "Climbing Rope 60m", 1, "210.00")], ADDRESS))
    run_hour(stack)
    _until(lambda: len(_executions(stack)) == 2 and len(_inbox(OPS)) == 2)
    # finding 3002's task passes over 3001's, which must stay open for later
    assert cli(stack, "manual", "complete", "3002", "--bigcommerce-order-id", "902")[0] == 0
    assert cli(stack, "manual", "complete", "3001", "--bigcommerce-order-id", "901")[0] == 0
    orders = DynamoOrders(stack.output("OrdersTableName"))
    for number, posted_as in (("3001", "901"), ("3002", "902")):
        _until(lambda n=number: orders.get(f"canyon--summit#{n}").status is OrderStatus.POSTED_MANUALLY)  # type: ignore[union-attr]
        assert orders.get(f"canyon--summit#{number}").seller_order_id == posted_as  # type: ignore[union-attr]


def test_ops_reject_the_manual_posting(patient: tuple[LocalStack, World], cli) -> None:
    stack, world = patient
    _bigcommerce_seller(world)
    run_hour(stack)
    _until(lambda: len(_inbox(OPS)) == 1)
    code, _ = cli(stack, "manual", "reject", "canyon--summit#3001", "--reason", "the rope is discontinued")
    assert code == 0
    _until(lambda: _record(stack).status is OrderStatus.FAILED)
    assert _record(stack).detail == "manual posting rejected by ops: the rope is discontinued"
    _until(lambda: any("was rejected" in e["subject"] for e in _inbox(OPS)))
    run_hour(stack)  # the hourly re-pull does not start it again
    assert _record(stack).status is OrderStatus.FAILED and len(_executions(stack)) == 1
    assert cli(stack, "manual", "complete", "3001", "--bigcommerce-order-id", "1")[0] == 1  # nothing waits any more


def test_a_timeout_escalates_and_ops_can_still_complete(hurried: tuple[LocalStack, World], cli) -> None:
    stack, world = hurried
    _bigcommerce_seller(world)
    run_hour(stack)
    _until(lambda: any("ESCALATION" in e["subject"] and "Escalation 1 of 1" in e["body"] for e in _inbox(OPS)))
    assert cli(stack, "manual", "complete", "3001", "--bigcommerce-order-id", "881")[0] == 0
    _until(lambda: _record(stack).status is OrderStatus.POSTED_MANUALLY)
    assert _record(stack).seller_order_id == "881"


def test_repeated_timeouts_fail_the_order(hurried: tuple[LocalStack, World]) -> None:
    stack, world = hurried
    _bigcommerce_seller(world)
    run_hour(stack)
    _until(lambda: _record(stack).status is OrderStatus.FAILED, seconds=30)
    assert _record(stack).detail == "nobody posted the order by hand: 1 escalations timed out"
    _until(lambda: any("was not posted by hand" in e["subject"] for e in _inbox(OPS)))
    assert _executions(stack)[0]["status"] == "FAILED"


def test_an_order_delivered_again_before_its_flow_recorded_itself_starts_one_flow_only(
    patient: tuple[LocalStack, World],
) -> None:
    """Twice in one batch (the pull's overlap), and twice at the same moment (two containers): the
    record says MANUAL_POSTING_PENDING before the flow writes its execution ARN, and each delivery
    starts the flow by the same name. One task for ops, one email each, the order entered once."""
    import threading

    from ordersync.services.process import process_message
    from ordersync.wiring import process_dependencies

    stack, world = patient
    _bigcommerce_seller(world)
    pull_only(stack)
    pull_only(stack)  # the next pull's overlap: the same order, a second message, before any is processed
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.output("OrdersQueueUrl"), MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 2
    deps = process_dependencies.__wrapped__()
    deadline = utc_now() + timedelta(seconds=3)  # a short claim: a retried delivery waits no longer
    with iam.acting_as(stack.deployment.principal("ProcessOrderFunction")):
        twins = [
            threading.Thread(target=process_message, args=(m["Body"], m["MessageId"], 1, deps, deadline))
            for m in messages
        ]
        for twin in twins:
            twin.start()
        for twin in twins:
            twin.join()
    _until(lambda: len(_executions(stack)) == 1)
    # as if the flow had not recorded itself yet (its first state writes the execution ARN): delivered again
    boto3.resource("dynamodb").Table(stack.output("OrdersTableName")).update_item(
        Key={"order_key": "canyon--summit#3001"}, UpdateExpression="REMOVE execution_arn"
    )
    with iam.acting_as(stack.deployment.principal("ProcessOrderFunction")):
        for message in messages:  # once more each, one after the other (SQS delivers at least once)
            for delivery in range(2, 5):  # a transient failure is delivered again, as SQS would
                try:
                    process_message(message["Body"], f"{message['MessageId']}-{delivery}", delivery, deps, deadline)
                    break
                except Exception:
                    continue
    for message in messages:  # done with, as the event source mapping deletes what succeeded
        sqs.delete_message(QueueUrl=stack.output("OrdersQueueUrl"), ReceiptHandle=message["ReceiptHandle"])
    stack.runner.drain()  # whatever was sent back for later
    _until(lambda: len(_inbox(OPS)) >= 1)
    time.sleep(1)  # a second flow would have emailed by now
    assert len(_executions(stack)) == 1
    assert len(_inbox(OPS)) == 1 and len(_inbox(SELLER)) == 1
