"""template.yaml is the single source of the stack: lint-clean, least privilege, and every
environment variable the code reads is set by it."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ordersync.local.template import load_sam_template, translate
from ordersync.settings import (
    CatalogFanOutSettings,
    CatalogSyncSettings,
    DispatchSettings,
    FanOutSettings,
    ProcessSettings,
    PullSettings,
    WebhookSettings,
)

ROOT = Path(__file__).resolve().parents[2]
PARAMETERS = {"OpsAlertEmail": "ops@example.com"}


@pytest.fixture(scope="module")
def sam() -> dict:
    return load_sam_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def cloudformation(sam: dict) -> dict:
    return translate(sam, PARAMETERS, ROOT)


def test_cfn_lint_finds_nothing() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_handler_path_imports(sam: dict) -> None:
    functions = {k: r for k, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) >= {
        "PullOrdersFunction",
        "PullConnectionFunction",
        "ProcessOrderFunction",
        "AlertDispatchFunction",
    }
    for logical_id, resource in functions.items():
        module_name, attribute = resource["Properties"]["Handler"].rsplit(".", 1)
        path = ROOT / resource["Properties"]["CodeUri"] / f"{module_name}.py"
        spec = importlib.util.spec_from_file_location(f"handler_{logical_id}", path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert callable(getattr(module, attribute)), logical_id


def _environment(cloudformation: dict, logical_id: str) -> set[str]:
    return set(cloudformation["Resources"][logical_id]["Properties"]["Environment"]["Variables"])


def test_every_setting_the_code_reads_is_set_by_the_template(cloudformation: dict) -> None:
    for logical_id, model in (
        ("PullOrdersFunction", FanOutSettings),
        ("PullConnectionFunction", PullSettings),
        ("ProcessOrderFunction", ProcessSettings),
        ("AlertDispatchFunction", DispatchSettings),
        ("CatalogSyncFunction", CatalogFanOutSettings),
        ("SyncSellerCatalogFunction", CatalogSyncSettings),
        ("ReceiveWebhookFunction", WebhookSettings),
    ):
        needed = {field.alias for field in model.model_fields.values()}
        assert needed <= _environment(cloudformation, logical_id), logical_id
    read_directly = set()
    for path in (ROOT / "layers" / "ordersync" / "ordersync").rglob("*.py"):
        if "/local/" in str(path) or "/cli/" in str(path):
            continue  # the local stack and the CLI run on ops' machines, not in Lambda
        read_directly |= set(re.findall(r"os\.environ(?:\.get)?\(?\[?\"([A-Z_]+)\"", path.read_text()))
    optional = {
        "ORDERSYNC_HTTP_BACKOFF",
        "ORDERSYNC_HTTP_READ_TIMEOUT",
        "ORDERSYNC_SQS_WAIT_SECONDS",  # 1 (a long poll) unless a local stack says otherwise
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    }
    assert read_directly <= optional | _environment(cloudformation, "ProcessOrderFunction")


def test_powertools_environment_and_runtime_come_from_globals(cloudformation: dict) -> None:
    for logical_id in ("PullOrdersFunction", "PullConnectionFunction", "ProcessOrderFunction", "AlertDispatchFunction"):
        props = cloudformation["Resources"][logical_id]["Properties"]
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["x86_64"]
        # X-Ray is a parameter: Lambda's tracing and Powertools' follow it together
        assert props["TracingConfig"] == {"Mode": {"Fn::If": ["TracingOn", "Active", "PassThrough"]}}
        variables = props["Environment"]["Variables"]
        assert variables["POWERTOOLS_TRACE_DISABLED"] == {"Fn::If": ["TracingOn", "false", "true"]}
        assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"} <= _environment(
            cloudformation, logical_id
        )


def test_no_secret_or_credential_in_the_template() -> None:
    text = (ROOT / "template.yaml").read_text()
    assert not re.search(r"(?i)(access_token|consumer_secret|password|shpat_|ck_[0-9a-f])\s*:", text)


def test_queue_and_dlq_settings(sam: dict) -> None:
    resources = sam["Resources"]
    queue = resources["OrdersQueue"]["Properties"]
    timeout = resources["ProcessOrderFunction"]["Properties"].get("Timeout", sam["Globals"]["Function"]["Timeout"])
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    assert resources["OrdersDLQ"]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # the alert outbox: an alert no dispatch can send leaves it for AlertsDLQ, with an alarm, never
    # to be sent again every five minutes until its retention ends
    alerts = resources["AlertsQueue"]["Properties"]["RedrivePolicy"]
    assert alerts == {"deadLetterTargetArn": {"Fn::GetAtt": ["AlertsDLQ", "Arn"]}, "maxReceiveCount": 5}
    for alarm, dimension in (("AlertsDLQDepthAlarm", "QueueName"), ("AlertDispatchErrorsAlarm", "FunctionName")):
        properties = resources[alarm]["Properties"]
        assert properties["Dimensions"][0]["Name"] == dimension and properties["AlarmActions"] == [
            {"Ref": "OpsAlertsTopic"}
        ]
    event = resources["ProcessOrderFunction"]["Properties"]["Events"]["Orders"]["Properties"]
    assert event["BatchSize"] == 10 and event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    schedule = resources["PullOrdersFunction"]["Properties"]["Events"]["HourlyPull"]["Properties"]
    assert schedule["Schedule"] == {"Ref": "SyncSchedule"}
    assert sam["Parameters"]["SyncSchedule"]["Default"] == "cron(20 * * * ? *)"
    for table in ("CatalogTable", "OrdersTable", "ConnectionsTable", "StoresTable"):
        props = resources[table]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_processing_concurrency_is_bounded_by_a_parameter(cloudformation: dict) -> None:
    """The event source mapping CloudFormation creates caps ProcessOrderFunction at OrdersMaxConcurrency:
    the stores and the account's concurrency see no more than that at peak."""
    (mapping,) = [
        r["Properties"]
        for r in cloudformation["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["FunctionName"] == {"Ref": "ProcessOrderFunction"}
    ]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "OrdersMaxConcurrency"}}
    assert cloudformation["Parameters"]["OrdersMaxConcurrency"]["MinValue"] == 2  # SQS mappings' least


def test_the_public_webhook_url_and_the_pulls_and_catalog_runs_are_bounded_by_parameters(cloudformation: dict) -> None:
    """A flood of forged deliveries to the public URL takes at most its reserved concurrency, never
    ProcessOrderFunction's; the pulls and the catalog runs fan out no wider than their parameters."""
    resources = cloudformation["Resources"]
    webhook = resources["ReceiveWebhookFunction"]["Properties"]
    # reserved where the account can spare it (N + the 100 Lambda keeps unreserved); 0: none at all
    assert webhook["ReservedConcurrentExecutions"] == {
        "Fn::If": ["WebhookConcurrencyReserved", {"Ref": "WebhookReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert cloudformation["Conditions"]["WebhookConcurrencyReserved"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookReservedConcurrency"}, "0"]}]
    }
    assert cloudformation["Parameters"]["WebhookReservedConcurrency"]["MinValue"] == 0
    for function, parameter in (
        ("PullConnectionFunction", "PullMaxConcurrency"),
        ("SyncSellerCatalogFunction", "CatalogSyncMaxConcurrency"),
    ):
        (mapping,) = [
            r["Properties"]
            for r in resources.values()
            if r["Type"] == "AWS::Lambda::EventSourceMapping" and r["Properties"]["FunctionName"] == {"Ref": function}
        ]
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": parameter}}
        assert cloudformation["Parameters"][parameter]["MinValue"] == 2
    # parameters that would deploy broken are bounded
    parameters = cloudformation["Parameters"]
    assert parameters["MaxReceiveCount"]["MaxValue"] == 1000  # SQS's redrive policy's most
    retention = resources["ManualTasksQueue"]["Properties"]["MessageRetentionPeriod"]
    assert parameters["ManualPostingTimeoutSeconds"]["MaxValue"] <= retention


def test_undeliverable_shopify_events_are_kept_and_alarmed(cloudformation: dict) -> None:
    resources = cloudformation["Resources"]
    # Shopify puts an order inline in its event up to 1 MB: OrdersQueue (and its DLQ) take what the rule delivers
    for queue in ("OrdersQueue", "OrdersDLQ"):
        assert resources[queue]["Properties"]["MaximumMessageSize"] == 1048576, queue
    rules = ("ShopifyOrderEventsRule", "ShopifyFulfillmentEventsRule")  # orders, and sellers' fulfilments
    for rule in rules:
        (target,) = resources[rule]["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ShopifyEventsDLQ", "Arn"]}}, rule
    (statement,) = resources["ShopifyEventsDLQPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": [{"Fn::GetAtt": [r, "Arn"]} for r in rules]}}
    alarm = resources["ShopifyEventsDLQDepthAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ShopifyEventsDLQ", "QueueName"]}}]


def test_the_dashboard_shows_only_metrics_the_code_emits(sam: dict) -> None:
    """A renamed metric would leave a flat line nobody notices: every OrderSync metric on the
    dashboard is one the code names (or makes per status / reason, as count_outcome does)."""
    from ordersync.models import FailureReason, OrderStatus

    body = sam["Resources"]["OrdersDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = set(re.findall(r'\["OrderSync", "(\w+)"', body))
    source = "\n".join(p.read_text() for p in (ROOT / "layers" / "ordersync" / "ordersync").rglob("*.py"))
    named = set(re.findall(r'name="(\w+)"', source))
    per_outcome = {f"Orders{s.title().replace('_', '')}" for s in OrderStatus}
    per_outcome |= {f"Reason{r.title().replace('_', '')}" for r in FailureReason}
    assert {"OrdersThrottledDelayed", "PullsRefusedCredentials", "OrdersSynced"} <= shown
    assert shown <= named | per_outcome, shown - named - per_outcome


def test_translation_is_json_serialisable(cloudformation: dict) -> None:
    """What `sam deploy` uploads is JSON: every value survives the round trip unchanged."""
    assert json.loads(json.dumps(cloudformation)) == cloudformation
