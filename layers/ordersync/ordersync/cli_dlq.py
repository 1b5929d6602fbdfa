"""`ordersync dlq`: what OrdersDLQ and ShipmentsDLQ hold and why, and moving messages back to the
queue they failed from once the cause is fixed."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ordersync.cli_target import CliError, Echo, ops_for
from ordersync.models import FailureReason


def add_dlq_commands(commands: Any, target: argparse.ArgumentParser) -> None:
    dlq = commands.add_parser("dlq", help="OrdersDLQ and ShipmentsDLQ").add_subparsers(
        dest="dlq_command", required=True
    )
    queue_help = "orders: OrdersDLQ (the default); shipments: ShipmentsDLQ (a parcel reason implies it)"
    dlq_list = dlq.add_parser("list", parents=[target], help="what is in the DLQ, and why")
    dlq_list.add_argument("--json", action="store_true")
    dlq_list.add_argument("--seller", metavar="SELLER", help="only this seller's orders")
    dlq_list.add_argument("--queue", choices=QUEUES, default=None, help=queue_help)
    dlq_list.set_defaults(run=_dlq_list)
    redrive = dlq.add_parser("redrive", parents=[target], help="move DLQ messages back to the queue they failed from")
    redrive.add_argument(
        "--reason", choices=[r.value for r in FailureReason], help="only messages failed for this reason"
    )
    redrive.add_argument("--seller", metavar="SELLER", help="only this seller's orders")
    redrive.add_argument("--queue", choices=QUEUES, default=None, help=queue_help)
    redrive.set_defaults(run=_dlq_redrive)


QUEUES = ("orders", "shipments")


PARCEL_REASONS = frozenset(
    r.value for r in FailureReason if r.value.startswith("PARCEL_") or r is FailureReason.FULFILLED_BY_HAND
)


def _queue_of(args: argparse.Namespace) -> str:
    reason = getattr(args, "reason", None)
    implied = "shipments" if reason in PARCEL_REASONS else "orders"
    if args.queue is not None and reason is not None and args.queue != implied:
        raise CliError(f"{reason} is a reason of {implied} ({implied.capitalize()}DLQ), not of {args.queue}")
    return args.queue or implied


def _dlq_list(args: argparse.Namespace, echo: Echo) -> int:
    queue = _queue_of(args)
    messages = ops_for(args).dlq_list(args.seller, queue)
    if args.json:
        echo(json.dumps(messages, indent=2, default=str))
        return 0
    for message in messages:
        echo(f"{message['reason']:<26} {message['order_key']}  {message['summary']}")
        if message["detail"]:
            echo(f"{'':<26}   why: {message['detail']}")
        if message["what_to_do"]:
            echo(f"{'':<26}   fix: {message['what_to_do']}")
    whose = f" for {args.seller}" if args.seller else ""
    where = "OrdersDLQ (--json shows each one's payload too)" if queue == "orders" else "ShipmentsDLQ"
    echo(f"{len(messages)} message(s){whose} in {where}")
    return 0


def _dlq_redrive(args: argparse.Namespace, echo: Echo) -> int:
    queue = _queue_of(args)
    moved = ops_for(args).redrive(args.reason, args.seller, queue)
    echo(f"moved {len(moved)} message(s) back to {'OrdersQueue' if queue == 'orders' else 'ShipmentsQueue'}")
    return 0
