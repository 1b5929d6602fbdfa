"""`ordersync dlq`: what each dead-letter queue holds and why, moving messages back to the queue
they failed from once the cause is fixed, and clearing the records that are only records."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ordersync.alerts.dead_letters import DEAD_LETTER_QUEUES, queue_for
from ordersync.cli.output import Echo
from ordersync.cli.target import ops_for
from ordersync.models import FailureReason

QUEUE_HELP = (
    "; ".join(
        f"{q.name}: {q.title}" + (" (the default)" if q.name == "orders" else "") for q in DEAD_LETTER_QUEUES.values()
    )
    + ". A parcel's --reason implies shipments."
)


def add_dlq_commands(commands: Any, target: argparse.ArgumentParser) -> None:
    dlq = commands.add_parser("dlq", help="every dead-letter queue: list, redrive, delete").add_subparsers(
        dest="dlq_command", required=True
    )
    dlq_list = dlq.add_parser("list", parents=[target], help="what a DLQ holds, and why")
    dlq_list.add_argument("--json", action="store_true")
    _choices(dlq_list)
    dlq_list.set_defaults(run=_dlq_list)
    redrive = dlq.add_parser("redrive", parents=[target], help="move DLQ messages back to the queue they failed from")
    _choices(redrive)
    redrive.set_defaults(run=_dlq_redrive)
    delete = dlq.add_parser("delete", parents=[target], help="clear a DLQ of records (scheduled-runs) once fixed")
    delete.add_argument("--queue", choices=list(DEAD_LETTER_QUEUES), required=True, help=QUEUE_HELP)
    delete.set_defaults(run=_dlq_delete)


def _choices(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", choices=list(DEAD_LETTER_QUEUES), default=None, help=QUEUE_HELP)
    parser.add_argument(
        "--reason",
        choices=[r.value for r in FailureReason],
        help="only messages failed for this reason (orders, shipments and alerts carry one)",
    )
    parser.add_argument("--seller", metavar="SELLER", help="only this seller's messages")


def _dlq_list(args: argparse.Namespace, echo: Echo) -> int:
    messages = ops_for(args).dlq_list(args.seller, args.queue, args.reason)
    if args.json:
        echo(json.dumps(messages, indent=2, default=str))
        return 0
    for message in messages:
        echo(f"{message['reason'] or '-':<26} {message['key']}  {message['summary']}")
        if message["detail"]:
            echo(f"{'':<26}   why: {message['detail']}")
        if message["what_to_do"]:
            echo(f"{'':<26}   fix: {message['what_to_do']}")
    queue = queue_for(args.queue, args.reason)
    whose = f" for {args.seller}" if args.seller else ""
    more = " (--json shows each one's payload too)" if queue.name == "orders" else ""
    echo(f"{len(messages)} message(s){whose} in {queue.title}{more}")
    return 0


def _dlq_redrive(args: argparse.Namespace, echo: Echo) -> int:
    moved = ops_for(args).redrive(args.reason, args.seller, args.queue)
    echo(f"moved {len(moved)} message(s) back to {queue_for(args.queue, args.reason).source_title}")
    return 0


def _dlq_delete(args: argparse.Namespace, echo: Echo) -> int:
    deleted = ops_for(args).dlq_delete(args.queue)
    echo(f"deleted {len(deleted)} record(s) from {DEAD_LETTER_QUEUES[args.queue].title}")
    return 0
