"""The local stack boots from template.yaml: every resource there, and nothing else, exists in moto."""

from __future__ import annotations

import json

import boto3
import pytest

from ordersync.local.stack import SHOPIFY_EVENT_SOURCE, LocalStack
from ordersync.local.template import load_sam_template, translate


def test_every_template_resource_is_created_from_the_template(stack: LocalStack) -> None:
    root = stack.runner.deployment.functions["PullOrdersFunction"].code_dir.parents[1]
    parameters = {"LogLevel": "ERROR", "MaxReceiveCount": "3", "ShopifyEventSourceName": SHOPIFY_EVENT_SOURCE}
    translated = translate(load_sam_template(root / "template.yaml"), parameters, root)
    # the local stack takes Shopify's events (its fake shops send them): the fast path's resources are there
    holds = {"ShopifyFastPath"}
    expected = {k for k, r in translated["Resources"].items() if r.get("Condition", "ShopifyFastPath") in holds}
    assert set(stack.deployment.resource_types) == expected
    assert {"ShopifyEventBus", "ShopifyOrderEventsRule", "ReceiveWebhookFunctionUrl"} <= expected

    dynamodb = boto3.client("dynamodb")
    tables = set(dynamodb.list_tables()["TableNames"])
    for logical_id in ("CatalogTable", "OrdersTable", "ConnectionsTable"):
        name = stack.deployment.ref(logical_id)
        assert name in tables
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.output("OrdersQueueUrl"), AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 3  # the parameter given to this stack
    assert redrive["deadLetterTargetArn"].endswith(":ordersync-local-OrdersDLQ")
    dlq = sqs.get_queue_attributes(QueueUrl=stack.output("OrdersDLQUrl"), AttributeNames=["MessageRetentionPeriod"])
    assert dlq["Attributes"]["MessageRetentionPeriod"] == "1209600"

    topics = {t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]}
    assert {stack.output("SellerAlertsTopicArn"), stack.output("OpsAlertsTopicArn")} <= topics
    schedules = {schedule.function: schedule.expression for schedule in stack.deployment.schedules}
    assert schedules == {
        "PullOrdersFunction": "cron(20 * * * ? *)",
        "CatalogSyncFunction": "cron(5 * * * ? *)",
        "AlertDispatchFunction": "rate(5 minutes)",
        "SweepShipmentsFunction": "cron(40 * * * ? *)",
        "CheckDriftFunction": "cron(30 4 * * ? *)",
    }
    alarms = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert {a["AlarmActions"][0] for a in alarms} == {stack.output("OpsAlertsTopicArn")}
    watched = {d["Value"].rsplit("-", 1)[-1].rsplit(":", 1)[-1] for a in alarms for d in a["Dimensions"]}
    assert watched == {
        "OrdersDLQ",
        "PullDLQ",
        "CatalogSyncDLQ",
        "ShipmentsDLQ",
        "ShopifyEventsDLQ",
        "ManualPostingStateMachine",
        "AlertsDLQ",  # alerts five dispatches could not send
        "DriftDLQ",  # a connection's drift compare that failed every delivery
        "AlertDispatchFunction",  # its errors
        "ScheduledRunsDLQ",  # a scheduled run that failed its last try
        "ReceiveWebhookFunction",  # its throttles: the public door's reserved concurrency full
    }
    # an event EventBridge can't deliver to OrdersQueue is kept, not dropped
    events = boto3.client("events")
    bus = stack.deployment.ref("ShopifyEventBus")
    (target,) = events.list_targets_by_rule(Rule=stack.deployment.ref("ShopifyOrderEventsRule"), EventBusName=bus)[
        "Targets"
    ]
    assert target["DeadLetterConfig"]["Arn"].endswith(":ordersync-local-ShopifyEventsDLQ")
    # the manual posting flow logs its failures to its own log group, kept LogRetentionDays
    flow = boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.output("ManualPostingStateMachineArn")
    )
    (destination,) = flow["loggingConfiguration"]["destinations"]
    group = destination["cloudWatchLogsLogGroup"]["logGroupArn"].split(":log-group:")[1].removesuffix(":*")
    (described,) = boto3.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert flow["loggingConfiguration"]["level"] == "ERROR" and described["retentionInDays"] == 30
    sources = {
        (s.function, s.queue_url.rsplit("-", 1)[-1], s.batch_size, s.report_batch_item_failures)
        for s in stack.deployment.queue_sources
    }
    assert sources == {
        ("ProcessOrderFunction", "OrdersQueue", 10, True),
        ("PullConnectionFunction", "PullQueue", 1, True),
        ("SyncSellerCatalogFunction", "CatalogSyncQueue", 1, True),
        ("SyncShipmentsFunction", "ShipmentsQueue", 10, True),
        ("CheckDriftFunction", "DriftQueue", 1, True),
    }


def test_ops_email_parameter_subscribes_ops_with_a_mail_sink() -> None:
    with LocalStack.start({"OpsAlertEmail": "ops@example.com", "LogLevel": "ERROR"}) as local:
        (subscription,) = local.deployment.email_subscriptions
        assert subscription.address == "ops@example.com"
        subs = boto3.client("sns").list_subscriptions_by_topic(TopicArn=local.output("OpsAlertsTopicArn"))
        assert {s["Protocol"] for s in subs["Subscriptions"]} == {"email", "sqs"}


@pytest.mark.parametrize(
    ("parameter", "value", "refusal"),
    [
        ("OrdersMaxConcurrency", "0", "Parameter 'OrdersMaxConcurrency' must be a number not less than 2"),
        ("ThrottleBudgetHours", "0", "Parameter 'ThrottleBudgetHours' must be a number not less than 1"),
        ("ThrottleBudgetHours", "1000", "Parameter 'ThrottleBudgetHours' must be a number not greater than 336"),
        ("MaxReceiveCount", "many", "Parameter 'MaxReceiveCount' must be a number"),
        # past what SQS's redrive policy takes, past the open task message's 14 days
        ("MaxReceiveCount", "1001", "Parameter 'MaxReceiveCount' must be a number not greater than 1000"),
        (
            "ManualPostingTimeoutSeconds",
            "1209601",
            "Parameter 'ManualPostingTimeoutSeconds' must be a number not greater than 1209600",
        ),
        ("PullFailureBudgetMinutes", "1", "Parameter 'PullFailureBudgetMinutes' must be a number not less than 5"),
        ("WebhookReservedConcurrency", "-1", "Parameter 'WebhookReservedConcurrency' must be a number not less than 0"),
    ],
)
def test_bad_configuration_is_refused_before_anything_starts(parameter: str, value: str, refusal: str) -> None:
    """As CloudFormation refuses it at deploy time: a concurrency of 0 or a throttle budget of no
    time is not discovered at peak."""
    with pytest.raises(ValueError) as refused:
        LocalStack.boot({parameter: value})
    assert str(refused.value) == refusal


def test_the_local_sqs_answers_short_polls_empty_now_and_then_and_ops_reads_still_see_every_message(
    stack: LocalStack,
) -> None:
    """As real SQS may (it samples its servers for a short poll): a read that stopped at the first
    empty answer would miss messages; ops' DLQ listing and the alert outbox don't."""
    from ordersync.aws.messaging import SqsAlertOutbox, SqsDlqAdmin
    from ordersync.local import iam, short_polls

    sqs = boto3.client("sqs")
    dlq = stack.output("OrdersDLQUrl")
    for n in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": n}))
    before = short_polls.answered_empty[dlq]
    with iam.acting_as(stack.deployment.principal("OpsPolicy")):
        naive = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)  # a short poll that is sampled
        naive_again = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)
        assert [] in (naive.get("Messages", []), naive_again.get("Messages", []))  # one of two answered empty
        for message in naive.get("Messages", []) + naive_again.get("Messages", []):
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        listed = SqsDlqAdmin(dlq, stack.output("OrdersQueueUrl")).messages()
    assert sorted(json.loads(m["Body"])["n"] for m in listed) == [0, 1, 2]
    assert short_polls.answered_empty[dlq] > before
    alerts = SqsAlertOutbox(stack.deployment.ref("AlertsQueue"))
    with iam.acting_as(stack.deployment.principal("AlertDispatchFunction")):
        assert alerts.take_all() == ([], [])  # empty, and said so only after several empty answers


def test_a_container_makes_one_client_per_aws_service_whatever_its_adapters(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold start pays a few milliseconds for each boto3 client: every function's dependencies,
    built as its container builds them, share one per service (ProcessOrder's eleven adapters,
    four services)."""
    from collections import Counter

    import botocore.session

    from ordersync import wiring

    made: Counter[str] = Counter()
    create = botocore.session.Session.create_client

    def counted(self: botocore.session.Session, service_name: str, *args: object, **kwargs: object) -> object:
        made[service_name] += 1
        return create(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counted)
    builders = [builder for name, builder in vars(wiring).items() if name.endswith("_dependencies")]
    assert len(builders) == 10
    for builder in builders:
        builder()
    assert made and set(made.values()) == {1}, made
    assert {"dynamodb", "sqs", "sns", "stepfunctions"} <= set(made)  # Secrets Manager's at the first read
