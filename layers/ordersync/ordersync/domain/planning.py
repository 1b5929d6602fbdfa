"""`ordersync plan`: the busiest hour worked out for N connections, as docs/scale.md does on paper.
Every input says whether it was measured (`make bench`'s report), assumed, or a published limit;
the answer says which limit binds first and what the parameters should be. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    MEASURED = "measured"
    ASSUMED = "assumed"
    LIMIT = "limit"


@dataclass(frozen=True)
class Input:
    name: str
    value: float
    kind: Kind
    source: str


# creates a second a seller's store takes (published limits; Shopify's orderCreate costs 10 points)
STORE_CREATES_PER_SECOND = {
    "shopify-standard": 10.0,  # 100 points restored a second
    "shopify-plus": 100.0,  # 1,000 points a second
    "bigcommerce": 5.0,  # 150 requests per 30 s, one per create
    "woocommerce": 5.0,  # the host's, assumed
}
LAMBDA_CONCURRENCY = 1_000  # per account, raisable
PARTITION_WRITES_PER_SECOND = 1_000  # DynamoDB, per partition (and so per index key)
DRAIN_MINUTES = 40  # the hour's orders posted within this, the pull's first minutes aside
MAX_BUDGET_HOURS = 336  # ThrottleBudgetHours' MaxValue


def inputs(bench: dict[str, Any] | None, store_call_seconds: float, hot_share: float) -> dict[str, Input]:
    """The model's inputs: from `make bench`'s report where there is one, else its last figures."""
    report = bench or {}

    def measured(key: str, default: float, what: str) -> Input:
        if key in report:
            return Input(what, float(report[key]), Kind.MEASURED, f"bench-report.json {key}")
        return Input(what, default, Kind.ASSUMED, f"no bench report: the README's figure for {key}")

    return {
        "handler_ms": measured(
            "handler_ms_per_order_without_store", 19.84, "handler time per order, without the store (ms)"
        ),
        "writes_per_order": Input(
            "DynamoDB writes per synced order (the claim, the record)", 2, Kind.MEASURED, "the bench test's exact count"
        ),
        "usd_per_million": measured("usd_per_million_orders", 3.192, "AWS cost per million synced orders (USD)"),
        "store_call_seconds": Input(
            "a real store's answer to one create (s)", store_call_seconds, Kind.ASSUMED, "--store-call-ms"
        ),
        "hot_share": Input("share of the hour's orders for the hot seller", hot_share, Kind.ASSUMED, "--hot-share"),
    }


@dataclass(frozen=True)
class Plan:
    orders: int
    orders_per_second: float  # arriving over the hour
    concurrency_needed: int  # to post the hour within DRAIN_MINUTES, AWS side only
    writes_per_second: float
    hot_orders: int
    hot_index_writes_per_second: float  # the hot seller's by_seller_status_keys key
    hot_store_hours: float  # what the hot seller's store takes to accept its share
    usd: Decimal
    binds_first: str
    orders_max_concurrency: int
    throttle_budget_hours: int
    warnings: tuple[str, ...]


def plan(connections: int, orders_per_hour: int, hot_platform: str, given: dict[str, Input]) -> Plan:
    """orders_per_hour: per connection."""
    orders = connections * orders_per_hour
    per_invocation = 1 / (given["handler_ms"].value / 1000 + given["store_call_seconds"].value)
    needed = math.ceil(orders / (DRAIN_MINUTES * 60) / per_invocation)
    hot_orders = round(orders * given["hot_share"].value)
    hot_hours = hot_orders / STORE_CREATES_PER_SECOND[hot_platform] / 3600
    index_rate = hot_orders / 3600
    # demand over limit: over 1, the limit binds. (The hot seller's index key binds only after its
    # store, at any store's pace under 1,000 creates/s: it is a warning, below.)
    loads = {
        f"the hot seller's store ({hot_platform}: {STORE_CREATES_PER_SECOND[hot_platform]:g} creates/s)": hot_hours,
        f"Lambda's {LAMBDA_CONCURRENCY} concurrent executions": needed / LAMBDA_CONCURRENCY,
    }
    binds = max(loads, key=lambda name: loads[name])
    budget = max(24, 24 * math.ceil(hot_hours * 1.25 / 24))
    warnings = []
    if budget > MAX_BUDGET_HOURS:
        warnings.append(
            f"the hot seller's store needs {hot_hours:.0f} h for its share, past ThrottleBudgetHours' {MAX_BUDGET_HOURS}:"
            " its last orders fail as PLATFORM_UNAVAILABLE and are redriven later (or spread the seller's load)"
        )
    if needed > LAMBDA_CONCURRENCY:
        warnings.append(f"{needed} concurrent invocations needed: raise the account's Lambda limit, or drain slower")
    if index_rate > PARTITION_WRITES_PER_SECOND:
        warnings.append(
            f"{index_rate:.0f} writes/s on one by_seller_status_keys key: shard the key or make the index sparse first"
        )
    return Plan(
        orders=orders,
        orders_per_second=orders / 3600,
        concurrency_needed=needed,
        writes_per_second=orders * given["writes_per_order"].value / 3600,
        hot_orders=hot_orders,
        hot_index_writes_per_second=index_rate,
        hot_store_hours=hot_hours,
        usd=(Decimal(orders) * Decimal(str(given["usd_per_million"].value)) / Decimal(1_000_000)).quantize(
            Decimal("0.01")
        ),
        binds_first=binds if loads[binds] > 1 else "nothing: every limit holds within the hour",
        orders_max_concurrency=min(math.ceil(needed * 1.25 / 10) * 10, LAMBDA_CONCURRENCY),
        throttle_budget_hours=min(budget, MAX_BUDGET_HOURS),
        warnings=tuple(warnings),
    )
