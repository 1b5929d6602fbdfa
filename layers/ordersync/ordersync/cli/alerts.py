"""`ordersync seller|buyer add|remove`: a store's own alert emails."""

from __future__ import annotations

import argparse
from typing import Any

from ordersync.cli.output import CliError, Echo
from ordersync.cli.target import ops_for, outputs_for
from ordersync.models import Platform


def add_alert_email_commands(commands: Any, target: argparse.ArgumentParser, role: str, who: str) -> None:
    """`ordersync seller|buyer add|remove`: a store's own alert emails (SellerAlertsTopic, filtered on its id)."""
    group = commands.add_parser(role, help=f"{who}'s alert emails").add_subparsers(
        dest=f"{role}_command", required=True
    )
    add = group.add_parser("add", parents=[target], help=f"subscribe {who}'s email to its own alerts")
    add.add_argument("seller_id", metavar=f"{role.upper()}_ID")
    add.add_argument("--email", required=True, type=_email)
    add.add_argument("--platform", choices=[p.value for p in Platform], help=f"the {role}'s store platform")
    add.set_defaults(run=_seller_add, role=role)
    remove = group.add_parser("remove", parents=[target], help=f"remove {who}'s alert subscriptions")
    remove.add_argument("seller_id", metavar=f"{role.upper()}_ID")
    remove.set_defaults(run=_seller_remove, role=role)


def _seller_add(args: argparse.Namespace, echo: Echo) -> int:
    ops = ops_for(args)
    try:  # a typo, or a store of the other role, would subscribe to alerts nobody sends it
        ops.known_buyer(args.seller_id) if args.role == "buyer" else ops.known_seller(args.seller_id)
    except LookupError as unknown:
        raise CliError(str(unknown)) from None
    if args.local:  # moto delivers no email: give the subscription a mail sink, as the local stack does
        import boto3

        from ordersync.local.provision import subscribe_with_sink

        topic = outputs_for(args)["SellerAlertsTopicArn"]
        policy = ops.sellers.filter_policy(args.seller_id, args.role)
        from ordersync.aws.messaging import alert_emails_full

        with alert_emails_full():
            subscribe_with_sink(boto3.client("sns"), boto3.client("sqs"), topic, "email", args.email, policy)
    else:
        ops.sellers.subscribe(args.seller_id, args.email, args.role)
    platform = f" ({Platform(args.platform).label} store)" if args.platform else ""
    echo(f"{args.seller_id}{platform}: alerts for its orders as a {args.role}, and only those, go to {args.email}")
    echo("AWS sends a confirmation email first; alerts are delivered once it is confirmed.")
    return 0


def _seller_remove(args: argparse.Namespace, echo: Echo) -> int:
    removed = ops_for(args).sellers.unsubscribe_seller(args.seller_id, args.role)
    if not removed:
        raise CliError(f"no alert subscription for {args.seller_id}")
    for subscription in removed:
        echo(f"unsubscribed {subscription['protocol']} {subscription['endpoint']}")
    return 0


def _email(value: str) -> str:
    """An address SNS can deliver to: someone@somewhere.tld, no spaces."""
    local, _, domain = value.partition("@")
    if not local or "." not in domain.strip(".") or any(c.isspace() for c in value) or "@" in domain:
        raise argparse.ArgumentTypeError(f"{value!r} is not an email address (someone@example.com)")
    return value
