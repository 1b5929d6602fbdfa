"""What moto can't check, checked from the translated template: who may do what, the keys the
alarms publish with, and a manual posting flow that survives a throttle.

Every AWS call a function or ops' CLI makes in the integration tests is also judged against its
statements (conftest.every_aws_call_is_granted), and after the whole suite every grant must have
been needed by some call (conftest.pytest_sessionfinish) — which a whole run records, so that the
template is judged by it here whatever part of the suite runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ordersync.alerts.messages import SUBJECT_LIMIT, manual_posting_subjects
from ordersync.local.iam import allows
from ordersync.local.template import load_sam_template, translate
from ordersync.models import STORE_SECRET_ARN
from ordersync.records import OrderRecord

from .iam_audit import PROVEN, RECORD_ENV, grant_names

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachines" / "manual_posting.asl.json").read_text())


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return translate(load_sam_template(ROOT / "template.yaml"), {}, ROOT)["Resources"]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Both branches of a conditional statement (X-Ray on and off)."""
    out = []
    for statement in document["Statement"]:
        if "Fn::If" in statement:
            out += [s for s in statement["Fn::If"][1:] if s != {"Ref": "AWS::NoValue"}]
        else:
            out.append(statement)
    return out


def _role_statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for policy in resources[role]["Properties"]["Policies"] for s in _statements(policy["PolicyDocument"])]


def _role_of(resource: dict[str, Any]) -> str:
    props = resource["Properties"]
    return str((props.get("Role") or props.get("RoleArn"))["Fn::GetAtt"][0])


def _functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}


def _refers_to(value: Any, logical_id: str) -> bool:
    text = json.dumps(value)
    return f'"{logical_id}"' in text or f"${{{logical_id}." in text or f"${{{logical_id}}}" in text


def test_no_wildcard_action_no_aws_managed_policy_and_star_resources_only_where_iam_cannot_scope(
    resources: dict[str, Any],
) -> None:
    # X-Ray has no resources; task tokens of service integrations can't be scoped (IAM reference);
    # nor can CloudWatch Logs' log delivery, which Step Functions uses to write a flow's logs
    log_delivery = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery")
    described = ("logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies")
    unscoped = {"xray:", "states:SendTaskSuccess", "states:SendTaskFailure", *log_delivery, *described}
    unscoped.add("logs:DescribeLogGroups")
    documents = []
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            assert "ManagedPolicyArns" not in props, logical_id  # AWS's grant `*` resources
            documents += [(logical_id, policy["PolicyDocument"]) for policy in props["Policies"]]
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append((logical_id, props["PolicyDocument"]))
    assert len(documents) == 12  # ten functions, the state machine, ops
    for logical_id, document in documents:
        for statement in _statements(document):
            actions = _list(statement["Action"])
            assert not [a for a in actions if a == "*" or a.endswith(":*")], (logical_id, actions)
            if "*" in _list(statement["Resource"]):
                assert all(a.startswith(tuple(unscoped)) for a in actions), (logical_id, statement)


def test_each_function_has_its_own_role_and_log_group_and_the_event_source_only_its_queue(
    resources: dict[str, Any],
) -> None:
    functions = _functions(resources)
    roles = [_role_of(f) for f in functions.values()]
    assert len(set(roles)) == len(functions) == 10
    mappings = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]["EventSourceArn"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    assert set(mappings) == {
        "PullConnectionFunction",
        "ProcessOrderFunction",
        "SyncSellerCatalogFunction",
        "SyncShipmentsFunction",
        "CheckDriftFunction",  # each connection's compare, from DriftQueue
    }
    for logical_id, function in functions.items():
        statements = {s.get("Sid"): s for s in _role_statements(resources, _role_of(function))}
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert statements["Logs"]["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}
        receive = [s for s in statements.values() if "sqs:ReceiveMessage" in _list(s["Action"])]
        if logical_id in mappings:
            assert statements["EventSourceMapping"]["Resource"] == mappings[logical_id]
            assert sorted(statements["EventSourceMapping"]["Action"]) == [
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ]
        # a function reads no queue but its own: ProcessOrder can't drain the task tokens or a DLQ
        for statement in receive:
            for queue in _list(statement["Resource"]):
                assert not _refers_to(queue, "ManualTasksQueue"), logical_id
                if logical_id == "ProcessOrderFunction":
                    assert queue == mappings[logical_id]
    # e.g. the puller never touches the catalog, the dispatcher never the orders table
    assert not _refers_to(_role_statements(resources, "PullConnectionRole"), "CatalogTable")
    assert not _refers_to(_role_statements(resources, "AlertDispatchRole"), "OrdersTable")
    assert not _refers_to(_role_statements(resources, "ProcessOrderRole"), "SellerAlertsTopic")
    # the shipment sync reads no catalog and posts no order: it records parcels and reads connections
    assert not _refers_to(_role_statements(resources, "SyncShipmentsRole"), "CatalogTable")
    assert not _refers_to(_role_statements(resources, "SyncShipmentsRole"), "OrdersQueue")


def test_the_puller_may_move_a_connections_cursor_and_report_its_pull_and_nothing_else_of_it(
    resources: dict[str, Any],
) -> None:
    """Never the stores (their secret ARNs and URLs) or the pause: a compromised puller can't
    redirect a connection or resume one ops paused."""
    statements = _role_statements(resources, "PullConnectionRole")
    on_connections = [s for s in statements if _refers_to(s["Resource"], "ConnectionsTable")]
    # reads: the connection, and the buyer's other connections (one read of its store serves them all)
    writes = [a for s in on_connections for a in _list(s["Action"]) if a not in ("dynamodb:GetItem", "dynamodb:Query")]
    assert writes == ["dynamodb:UpdateItem"]
    (update,) = [s for s in on_connections if "dynamodb:UpdateItem" in _list(s["Action"])]
    (attributes,) = update["Condition"]["ForAllValues:StringEquals"].values()
    assert set(attributes) == {"connection_id", "cursor", "last_pull_at", "last_pull_orders", "last_pull_error"} | {
        "broken_since",
        "store_failing_since",
        "failing_reported_at",
    }
    assert not {"buyer", "seller", "paused"} & set(attributes)
    # nor read back through the update's answer: ALL_OLD / ALL_NEW would return the store refs
    (returned,) = update["Condition"]["StringEqualsIfExists"].values()
    assert not {"ALL_OLD", "ALL_NEW"} & set(returned)


def test_cloudwatch_alarms_can_publish_to_the_encrypted_ops_topic(resources: dict[str, Any]) -> None:
    alarms = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert {"OrdersDLQDepthAlarm", "PullDLQDepthAlarm", "ManualPostingFailedAlarm"} <= set(alarms)
    for name, alarm in alarms.items():
        for topic in alarm["AlarmActions"] + alarm.get("OKActions", []):
            key = resources[topic["Ref"]]["Properties"]["KmsMasterKeyId"]
            assert isinstance(key, dict), f"{name}: alias/aws/sns admits no service principal"
            policy = resources[key["Ref"]]["Properties"]["KeyPolicy"]
            (grant,) = [s for s in policy["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
            assert sorted(grant["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
            assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            assert "aws:SourceArn" in grant["Condition"]["ArnLike"]
    key = resources["AlertsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    admin = key["KeyPolicy"]["Statement"][0]
    assert "kms:PutKeyPolicy" not in admin["Action"] and "kms:Put*" in admin["Action"]  # never locked out


def test_every_publisher_to_an_encrypted_topic_may_use_its_key(resources: dict[str, Any]) -> None:
    publishers = [_role_of(f) for f in _functions(resources).values()] + ["ManualPostingRole"]
    topics = {k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"}
    checked = 0
    for role in publishers:
        statements = _role_statements(resources, role)
        published = {
            topic
            for s in statements
            if "sns:Publish" in _list(s["Action"])
            for topic in topics
            if _refers_to(s["Resource"], topic)
        }
        for topic in published:
            key = resources[topic]["Properties"]["KmsMasterKeyId"]["Ref"]
            kms = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [key, "Arn"]}]
            assert kms and set(_list(kms[0]["Action"])) == {"kms:GenerateDataKey*", "kms:Decrypt"}, role
            checked += 1
    assert checked == 5  # the dispatcher and the flow, each to both topics; the puller to ops


def test_the_state_machine_role_grants_each_task_and_nothing_more(resources: dict[str, Any]) -> None:
    machine = resources["ManualPostingStateMachine"]["Properties"]
    substitutions = machine["DefinitionSubstitutions"]
    needed = set()
    for state in ASL["States"].values():
        if state["Type"] != "Task":
            continue
        service, api = state["Resource"].split(":::")[1].split(".")[0].split(":")
        target = state["Parameters"].get("TableName") or state["Parameters"]["TopicArn"]
        action = {"dynamodb": "dynamodb:UpdateItem", "sns": "sns:Publish"}[service]
        assert api in ("updateItem", "publish")
        needed.add((action, json.dumps(substitutions[target.strip("${}")])))
    granted = {
        (action, json.dumps(resource))
        for s in _role_statements(resources, _role_of(resources["ManualPostingStateMachine"]))
        if s.get("Sid") not in ("AlertsKey", "Tracing", "ExecutionLogs")
        for action in _list(s["Action"])
        for resource in _list(s["Resource"])
    }
    # the table is named by Ref in the flow and by its ARN in the grant
    granted = {(a, r.replace('{"Fn::GetAtt": ["OrdersTable", "Arn"]}', '{"Ref": "OrdersTable"}')) for a, r in granted}
    assert granted == needed
    # and its logs: the log delivery the Step Functions guide lists, for a flow that logs at all
    assert machine["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["ManualPostingLogs", "Arn"]
    }
    (logs,) = [s for s in _role_statements(resources, "ManualPostingRole") if s.get("Sid") == "ExecutionLogs"]
    assert sorted(_list(logs["Action"])) == sorted(
        [
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ]
    )


def test_every_task_of_the_flow_retries_transient_errors_and_a_failure_is_caught() -> None:
    tasks = {name: state for name, state in ASL["States"].items() if state["Type"] == "Task"}
    for name, state in tasks.items():
        retriers = state["Retry"]
        (transient,) = [r for r in retriers if "States.TaskFailed" in r["ErrorEquals"]]
        assert transient["MaxAttempts"] >= 3 and transient["BackoffRate"] >= 2, name
        if state["Resource"].endswith("dynamodb:updateItem"):  # a refused condition is an answer
            assert retriers[0] == {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "MaxAttempts": 0}
        catches = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        if not catches:  # only the last word to ops may fail the execution (and ManualPostingFailedAlarm)
            assert name.startswith("TellOps") and ASL["States"][state["Next"]]["Type"] == "Fail", name
    # the flow's last resort is reached from every task that can fail
    assert {c["Next"] for s in tasks.values() for c in s.get("Catch", []) if "States.ALL" in c["ErrorEquals"]} == {
        "RecordFlowFailed",
        "TellOpsFlowFailed",
        "TellOpsNotRecorded",
    }
    ask = ASL["States"]["AskOps"]
    assert "HeartbeatSeconds" not in ask and "HeartbeatSecondsPath" not in ask  # nothing sends heartbeats
    # ops' rejection and a timeout are answers, never re-asked by the TaskFailed retrier
    assert ask["Retry"][0] == {"ErrorEquals": ["States.Timeout", "ManualPostingRejected"], "MaxAttempts": 0}


def test_every_subject_the_flow_sends_is_made_in_python_within_snss_limit() -> None:
    subjects = [state["Parameters"].get("Subject.$") for state in ASL["States"].values() if "Parameters" in state]
    sent = [s for s in subjects if s]
    assert len(sent) == 8 and all(s.startswith("$.subjects.") for s in sent)
    record = OrderRecord.model_construct(
        order_key="k",
        order_id="9" * 40,
        order_number="#" + "9" * 120,
        buyer_name="A buyer with a very long name\nthat even breaks a line " * 3,
        seller_name="S" * 120,
        reason=None,
    )
    made = manual_posting_subjects(record)
    assert {f"$.subjects.{key}" for key in made} == set(sent)
    for subject in made.values():
        assert len(subject) <= SUBJECT_LIMIT and "\n" not in subject and subject.endswith("...")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("ordersync/stores/acme-AbCdEf", True),
        ("ordersync/stores/team/acme_1+=.@-AbCdEf", True),
        ("ordersync/acme-AbCdEf", False),  # the functions may read ordersync/stores/* only
        ("ordersync/storesX/acme-AbCdEf", False),
        ("other/stores/acme-AbCdEf", False),
    ],
)
def test_a_connection_accepts_exactly_the_secrets_the_functions_may_read(
    resources: dict[str, Any], name: str, valid: bool
) -> None:
    arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"
    (grant,) = [s for s in _role_statements(resources, "ProcessOrderRole") if s.get("Sid") == "StoreCredentials"]
    pattern = grant["Resource"]["Fn::Sub"]
    for pseudo, value in {"Partition": "aws", "Region": "us-east-1", "AccountId": "123456789012"}.items():
        pattern = pattern.replace(f"${{AWS::{pseudo}}}", value)
    assert allows([{**grant, "Resource": pattern}], "secretsmanager:GetSecretValue", arn) is valid
    assert bool(STORE_SECRET_ARN.fullmatch(arn)) is valid


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        ("ordersync/webhooks/acme-AbCdEf", True),
        ("ordersync/stores/acme-AbCdEf", False),  # the store's API credentials: never the public door's
        ("ordersync/webhooksX/acme-AbCdEf", False),
    ],
)
def test_the_public_webhook_door_reads_webhook_keys_and_no_store_s_api_credentials(
    resources: dict[str, Any], name: str, readable: bool
) -> None:
    """The function anyone on the internet can call holds, at most, what checks a delivery."""
    arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"
    text = json.dumps(_role_statements(resources, "ReceiveWebhookRole"))
    for pseudo, value in {"Partition": "aws", "Region": "us-east-1", "AccountId": "123456789012"}.items():
        text = text.replace(f"${{AWS::{pseudo}}}", value)
    statements = [
        {**s, "Resource": s["Resource"]["Fn::Sub"]}
        if isinstance(s["Resource"], dict) and "Fn::Sub" in s["Resource"]
        else s
        for s in json.loads(text)
    ]
    assert allows(statements, "secretsmanager:GetSecretValue", arn) is readable


@pytest.mark.parametrize(
    ("protocol", "allowed"), [("email", True), ("sqs", False), ("https", False), ("lambda", False)]
)
def test_ops_subscribe_email_addresses_to_the_sellers_alerts_and_nothing_else(
    resources: dict[str, Any], protocol: str, allowed: bool
) -> None:
    """An SQS queue, an HTTPS endpoint or a function subscribed would carry every seller's alerts
    (addresses, orders) out of the account: ops' policy lets an email address subscribe, only."""
    ops = _statements(resources["OpsPolicy"]["Properties"]["PolicyDocument"])
    topic = "arn:aws:sns:us-east-1:123456789012:ordersync-SellerAlertsTopic"
    statements = [{**s, "Resource": topic} for s in ops if "sns:Subscribe" in s["Action"]]
    assert statements  # the grant the CLI's `seller add` needs
    assert allows(statements, "sns:Subscribe", topic, (("sns:Protocol", (protocol,)),)) is allowed
    assert not allows(statements, "sns:Subscribe", topic)  # a request without the key: refused


def test_stateful_resources_survive_a_stack_deletion_and_subscriptions_wait_for_their_queue_policy(
    resources: dict[str, Any],
) -> None:
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", logical_id
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert "RetentionInDays" in resource["Properties"], logical_id
        if resource["Type"] == "AWS::SNS::Subscription" and resource["Properties"]["Protocol"] == "sqs":
            assert "ManualTasksQueuePolicy" in _list(resource.get("DependsOn", [])), logical_id


def test_every_grant_of_the_template_was_needed_by_a_call_of_a_whole_run(resources: dict[str, Any]) -> None:
    """A grant added to the template without a test whose call needs it fails here, in any selection
    of the suite (the whole run that writes proven_grants.json judges the calls themselves)."""
    if os.environ.get(RECORD_ENV):
        pytest.skip("this run writes the record it would judge by")
    proven = json.loads(PROVEN.read_text())
    principals = {name: _role_statements(resources, _role_of(r)) for name, r in _functions(resources).items()}
    principals |= {
        name: _statements(r["Properties"]["PolicyDocument"])
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    }
    unproven = [
        f"{name}: {grant}"
        for name, statements in sorted(principals.items())
        for grant in grant_names(statements)
        if grant not in proven.get(name, [])
    ]
    assert not unproven, "grants no call of the recorded whole run needed:\n" + "\n".join(unproven)
