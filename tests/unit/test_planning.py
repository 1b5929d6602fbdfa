"""`ordersync plan`: the busiest hour from its inputs, each marked measured, assumed or a limit,
and what it says binds first and which parameters follow (docs/scale.md's table, in code)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ordersync.cli import main
from ordersync.domain.planning import Input, Kind, inputs, plan

BENCH = {"handler_ms_per_order_without_store": 20.0, "usd_per_million_orders": 3.2}


def test_the_10_000_connection_hour_from_measured_figures() -> None:
    result = plan(10_000, 100, "shopify-standard", inputs(BENCH, 0.25, 0.5))
    assert (result.orders, result.hot_orders) == (1_000_000, 500_000)
    assert round(result.orders_per_second, 1) == 277.8 and round(result.writes_per_second, 1) == 555.6
    assert result.concurrency_needed == 113  # 1,000,000 / 2,400 s / (1 / 0.27 s), rounded up
    assert result.hot_store_hours == 500_000 / 10 / 3600 and result.hot_index_writes_per_second == 500_000 / 3600
    assert result.usd == Decimal("3.20")
    assert result.binds_first == "the hot seller's store (shopify-standard: 10 creates/s)"
    assert (result.orders_max_concurrency, result.throttle_budget_hours, result.warnings) == (150, 24, ())


def test_a_bigcommerce_hot_seller_needs_a_longer_budget_and_past_its_reach_it_says_so() -> None:
    given = inputs(BENCH, 0.25, 0.5)
    assert plan(10_000, 100, "bigcommerce", given).throttle_budget_hours == 48  # 27.8 h x 1.25, to whole days
    big = plan(100_000, 100, "bigcommerce", given)
    assert big.throttle_budget_hours == 336 and big.orders_max_concurrency == 1_000
    assert big.warnings == (
        "the hot seller's store needs 278 h for its share, past ThrottleBudgetHours' 336: its last orders fail"
        " as PLATFORM_UNAVAILABLE and are redriven later (or spread the seller's load)",
        "1126 concurrent invocations needed: raise the account's Lambda limit, or drain slower",
        "1389 writes/s on one by_seller_status_keys key: shard the key or make the index sparse first",
    )


def test_each_limit_warns_only_past_it() -> None:
    at_budget = plan(93_600, 100, "bigcommerce", inputs(BENCH, 0.25, 0.5))  # 260 h: a budget of 336 h holds
    assert (at_budget.throttle_budget_hours, at_budget.warnings[:1]) == (
        336,
        ("1054 concurrent invocations needed: raise the account's Lambda limit, or drain slower",),
    )
    instant = inputs({"handler_ms_per_order_without_store": 0}, 0.25, 0.5)  # 4 orders/s an invocation
    at_lambda = plan(96_000, 100, "shopify-plus", instant)  # exactly 1,000 invocations
    assert at_lambda.concurrency_needed == 1_000
    assert at_lambda.warnings == (
        "1333 writes/s on one by_seller_status_keys key: shard the key or make the index sparse first",
    )
    at_index = plan(72_000, 100, "shopify-plus", instant)  # exactly 1,000 writes/s on the key
    assert at_index.hot_index_writes_per_second == 1_000 and at_index.warnings == ()


def test_the_limit_with_the_most_load_binds_first_and_a_store_that_takes_exactly_the_hour_holds() -> None:
    lambda_bound = plan(100_000, 100, "shopify-plus", inputs(BENCH, 0.25, 0.001))
    assert lambda_bound.binds_first == "Lambda's 1000 concurrent executions"
    exactly = plan(360, 100, "shopify-standard", inputs(BENCH, 0.25, 1.0))  # 36,000 orders at 10/s: 1 h
    assert exactly.hot_store_hours == 1.0 and exactly.binds_first == "nothing: every limit holds within the hour"


def test_a_small_hour_binds_on_nothing() -> None:
    result = plan(10, 10, "shopify-plus", inputs(BENCH, 0.25, 0.5))
    assert result.binds_first == "nothing: every limit holds within the hour"
    assert (result.concurrency_needed, result.orders_max_concurrency, result.throttle_budget_hours) == (1, 10, 24)


def test_inputs_say_where_they_come_from() -> None:
    assert inputs(BENCH, 0.3, 0.6) == {
        "handler_ms": Input(
            "handler time per order, without the store (ms)",
            20.0,
            Kind.MEASURED,
            "bench-report.json handler_ms_per_order_without_store",
        ),
        "writes_per_order": Input(
            "DynamoDB writes per synced order (the claim, the record)", 2, Kind.MEASURED, "the bench test's exact count"
        ),
        "usd_per_million": Input(
            "AWS cost per million synced orders (USD)", 3.2, Kind.MEASURED, "bench-report.json usd_per_million_orders"
        ),
        "store_call_seconds": Input("a real store's answer to one create (s)", 0.3, Kind.ASSUMED, "--store-call-ms"),
        "hot_share": Input("share of the hour's orders for the hot seller", 0.6, Kind.ASSUMED, "--hot-share"),
    }
    assert inputs(None, 0.3, 0.6)["usd_per_million"] == Input(
        "AWS cost per million synced orders (USD)",
        3.192,
        Kind.ASSUMED,
        "no bench report: the README's figure for usd_per_million_orders",
    )
    measured = inputs(BENCH, 0.3, 0.6)
    assert {k: i.kind for k, i in measured.items()} == {
        "handler_ms": Kind.MEASURED,
        "writes_per_order": Kind.MEASURED,
        "usd_per_million": Kind.MEASURED,
        "store_call_seconds": Kind.ASSUMED,
        "hot_share": Kind.ASSUMED,
    }
    assert measured["handler_ms"].source == "bench-report.json handler_ms_per_order_without_store"
    without = inputs(None, 0.3, 0.6)
    assert (without["handler_ms"].value, without["handler_ms"].kind) == (19.84, Kind.ASSUMED)


def test_the_command_prints_the_inputs_the_hour_and_the_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "bench.json"
    report.write_text(json.dumps(BENCH))
    assert main(["plan", "--connections", "1000", "--bench", str(report)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "  handler time per order, without the store (ms): 20  [measured: bench-report.json"
        " handler_ms_per_order_without_store]"
    )
    assert out[-2:] == [
        "binds first: the hot seller's store (shopify-standard: 10 creates/s)",
        "parameters: OrdersMaxConcurrency=20 ThrottleBudgetHours=24",
    ]
