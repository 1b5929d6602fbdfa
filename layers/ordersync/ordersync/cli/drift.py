"""`ordersync drift`: the drift check on demand — every order posted in the last N days compared in
both stores, each divergence printed with the command that mends it. Read-only; the daily run
(CheckDriftFunction) is the one that emails."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from ordersync.cli.output import Echo
from ordersync.domain.drift import DEFAULT_DAYS


def add_drift_command(commands: Any, target: argparse.ArgumentParser) -> None:
    drift = commands.add_parser("drift", parents=[target], help="compare both stores of recently posted orders")
    drift.add_argument("--connection", metavar="ID", help="one connection only (default: every one)")
    drift.add_argument(
        "--days", type=_days, default=DEFAULT_DAYS, help=f"orders posted in the last N days (1 to {MAX_DAYS})"
    )
    drift.add_argument("--json", action="store_true")
    drift.set_defaults(run=_drift)


def _drift(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.orders import DynamoOrders
    from ordersync.aws.secrets import StoreSecrets
    from ordersync.cli.target import outputs_for
    from ordersync.platforms import HttpStoreFactory
    from ordersync.services.drift import DriftDependencies, compare_both_stores

    outputs = outputs_for(args)
    deps = DriftDependencies(
        orders=DynamoOrders(outputs["OrdersTableName"]),
        connections=DynamoConnections(outputs["ConnectionsTableName"]),
        stores=HttpStoreFactory(StoreSecrets().read),
    )
    report = compare_both_stores(deps, args.days, args.connection)
    if args.json:
        echo(json.dumps(asdict(report), default=str))
        return 0
    echo(
        f"compared {report.compared} posted orders of {report.connections} connections (last {args.days} days):"
        f" {len(report.divergences)} divergences"
    )
    for divergence in report.divergences:
        echo(f"  {divergence.order_key}  {divergence.kind.value}: {divergence.detail}")
        echo(f"      mend: {divergence.mend}")
    for unreadable in report.unreadable:
        echo(f"  could not compare {unreadable}")
    return 0


MAX_DAYS = 365  # what a posted order's record is compared for at most (its copy's life in the stores)


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{days} days: give 1 to {MAX_DAYS}")
    return days
