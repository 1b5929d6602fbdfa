"""`ordersync connection ...`: the buyer -> seller connections between stores — adding one (its
orders since a time), pausing, removing, and how each one's last day went."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ordersync.cli.output import CliError, Echo
from ordersync.cli.stores import onboarding


def add_connection_commands(commands: Any, target: argparse.ArgumentParser) -> None:
    connection = commands.add_parser("connection", help="buyer -> seller connections").add_subparsers(
        dest="connection_command", required=True
    )
    add = connection.add_parser("add", parents=[target], help="connect a buyer store to a seller store")
    add.add_argument("buyer_id", metavar="BUYER")
    add.add_argument("seller_id", metavar="SELLER")
    add.add_argument("--since", help="bring in the buyer's orders since this UTC date or time (default: now)")
    add.set_defaults(run=_connection_add)
    for verb, paused, text in (("pause", True, "stop pulling a connection"), ("resume", False, "pull it again")):
        command = connection.add_parser(verb, parents=[target], help=text)
        command.add_argument("connection_id", metavar="ID")
        command.set_defaults(run=_connection_pause, paused=paused)
    remove = connection.add_parser("remove", parents=[target], help="remove a connection (its orders stay)")
    remove.add_argument("connection_id", metavar="ID")
    remove.set_defaults(run=_connection_remove)
    listing = connection.add_parser("list", parents=[target], help="every connection and how its last day went")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_connection_list)


def _connection_add(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.onboarding import add_connection

    since = _utc(args.since) if args.since else None
    added = add_connection(args.buyer_id, args.seller_id, onboarding(args), since)
    connection = added.connection
    echo(f"{connection.connection_id}: {connection.buyer.name} -> {connection.seller.name}")
    echo(f"  cursor {connection.cursor.isoformat() if connection.cursor else '-'}")
    echo(f"  {connection.seller.name}'s catalog synced: {added.catalog_variants} variant(s)")
    more = " (and more)" if added.first_pull_more else ""
    echo(f"  the first pull (at :20) will bring {added.first_pull_orders} order(s){more}")
    return 0


def _utc(value: str) -> Any:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"--since {value!r}: give an ISO 8601 date or time, e.g. 2026-11-20 or 2026-11-20T08:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _connection_pause(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.onboarding import pause_connection

    connection = pause_connection(args.connection_id, args.paused, onboarding(args))
    echo(f"{connection.connection_id} {'paused: the pull skips it' if connection.paused else 'resumed'}")
    return 0


def _connection_remove(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.onboarding import remove_connection

    connection = remove_connection(args.connection_id, onboarding(args))
    echo(f"{connection.connection_id} removed (its orders' records stay in the orders table)")
    return 0


def _connection_list(args: argparse.Namespace, echo: Echo) -> int:
    from dataclasses import asdict

    from ordersync.services.onboarding import connection_rows

    rows = connection_rows(onboarding(args))
    if args.json:
        echo(json.dumps([asdict(row) for row in rows], indent=2))
        return 0
    echo(f"{'CONNECTION':<36} {'STATE':<7} {'CURSOR AGE':>10}  {'24H SYNCED/FAILED/PENDING':<25}  LAST PULL")
    for row in rows:
        day = f"{row.last_day.synced}/{row.last_day.failed}/{row.last_day.pending}"
        when = f"{row.last_pull_at}: " if row.last_pull_at else ""
        echo(f"{row.connection_id:<36} {row.state:<7} {row.cursor_age or '-':>10}  {day:<25}  {when}{row.last_pull}")
        echo(f"{'':<36} {row.buyer} -> {row.seller}")
    echo(f"{len(rows)} connection(s)")
    return 0
