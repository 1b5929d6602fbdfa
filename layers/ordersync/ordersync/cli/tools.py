"""`ordersync normalize`, `bench` and `plan`: a store's payload as canonical orders, what an order costs on the
local stack, and the busiest hour worked out from it."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordersync.cli.arguments import at_least
from ordersync.cli.output import CliError, Echo
from ordersync.errors import InvalidOrder
from ordersync.models import Platform


def add_tool_commands(commands: Any) -> None:
    normalize = commands.add_parser("normalize", help="print the canonical orders in a store payload file")
    normalize.add_argument("--platform", required=True, choices=[p.value for p in Platform])
    normalize.add_argument("file", type=Path)
    normalize.set_defaults(run=_normalize)

    bench = commands.add_parser("bench", help="what one order costs on the local stack")
    bench.add_argument("--orders", type=int, default=500)
    bench.add_argument("--lines", type=int, default=3)
    bench.add_argument("--json", dest="json_path", help="also write the results here")
    bench.set_defaults(run=_bench)

    plan = commands.add_parser("plan", help="the busiest hour for N connections: what binds first, which parameters")
    plan.add_argument("--connections", type=at_least(1), required=True)
    plan.add_argument("--orders-per-hour", type=at_least(1), default=100, help="per connection")
    plan.add_argument("--hot-share", type=float, default=0.5, help="of the hour's orders, for one seller")
    plan.add_argument(
        "--hot-platform",
        choices=("shopify-standard", "shopify-plus", "bigcommerce", "woocommerce"),
        default="shopify-standard",
    )
    plan.add_argument("--store-call-ms", type=float, default=250.0, help="a real store's answer to one create")
    plan.add_argument(
        "--bench", type=Path, default=Path("bench-report.json"), help="make bench's report (measured inputs)"
    )
    plan.set_defaults(run=_plan)


def _normalize(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.normalize import normalize, split_payloads

    try:
        document = json.loads(args.file.read_text(encoding="utf-8"), parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise CliError(f"{args.file}: not JSON ({error.msg} at line {error.lineno})") from None
    except UnicodeDecodeError:
        raise CliError(f"{args.file}: not UTF-8 text") from None
    orders = []
    for index, payload in enumerate(split_payloads(document)):
        try:
            orders.append(normalize(Platform(args.platform), payload).model_dump(mode="json"))
        except InvalidOrder as error:
            raise CliError(f"{args.file}: order {index + 1}: {error}") from None
    echo(json.dumps(orders, indent=2, ensure_ascii=False))
    return 0


def _bench(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.local.bench import run_bench

    run_bench(args.orders, args.lines, echo, args.json_path)
    return 0


def _plan(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.domain.planning import inputs, plan

    bench = json.loads(args.bench.read_text(encoding="utf-8")) if args.bench.is_file() else None
    given = inputs(bench, args.store_call_ms / 1000, args.hot_share)
    result = plan(args.connections, args.orders_per_hour, args.hot_platform, given)
    echo("inputs:")
    for item in given.values():
        echo(f"  {item.name}: {item.value:g}  [{item.kind}: {item.source}]")
    echo(f"the hour: {result.orders:,} orders ({result.orders_per_second:.0f}/s arriving)")
    echo(f"  concurrency to post them within 40 min (AWS side): {result.concurrency_needed}")
    echo(f"  DynamoDB writes: {result.writes_per_second:.0f}/s, spread by order")
    echo(
        f"  the hot seller: {result.hot_orders:,} orders; its store takes {result.hot_store_hours:.1f} h for them;"
        f" its by_seller_status_keys key {result.hot_index_writes_per_second:.0f} writes/s"
    )
    echo(f"  AWS cost: ${result.usd}")
    echo(f"binds first: {result.binds_first}")
    echo(
        f"parameters: OrdersMaxConcurrency={result.orders_max_concurrency} ThrottleBudgetHours={result.throttle_budget_hours}"
    )
    for warning in result.warnings:
        echo(f"warning: {warning}")
    return 0
