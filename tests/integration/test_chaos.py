"""The fault campaign at a small size: store 500s / 429s / timeouts (also after the order was
created), DynamoDB throttling, duplicate deliveries and crashed invocations — nothing lost,
nothing posted twice, every order in one terminal state."""

from __future__ import annotations

import json

import pytest

from ordersync.cli import main


def test_chaos_campaign_keeps_every_promise(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "chaos", "--orders", "45", "--fault-rate", "0.25", "--seed", "11"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["orders"] == 45
    assert result["lost"] == 0 and result["duplicates_posted"] == 0
    assert result["not_terminal"] == 0 and result["failed_without_dlq_message"] == 0
    assert result["synced"] == result["should_sync"] > 25
    assert sum(result["by_status"].values()) == 45
    faults = result["faults"]
    assert faults["store_faults"] > 0 and faults["dynamodb_throttles"] > 0  # the faults really happened
    assert faults["duplicate_deliveries"] + faults["crashed_invocations"] > 0
