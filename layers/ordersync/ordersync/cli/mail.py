"""`ordersync local mail`: the local stack's mailboxes — what ops, the sellers and the retailers were
emailed (each email subscription of the local stack has a mail sink, local/provision.py) — as a mail
reader shows them, oldest first, optionally following new mail as it arrives."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from ordersync.cli.output import Echo
from ordersync.cli.target import local_stack_state

# Set to stop `local mail --follow` (a test's thread; a person presses Ctrl-C).
FOLLOW_STOP = threading.Event()


def add_local_mail_command(local: Any) -> None:
    mail = local.add_parser("mail", help="the local stack's mailboxes: ops', the sellers', the retailers'")
    mail.add_argument("--to", metavar="ADDRESS", help="only this address's mail")
    mail.add_argument("--follow", action="store_true", help="keep showing new mail as it arrives (Ctrl-C stops)")
    mail.add_argument("--local", action="store_true", help=argparse.SUPPRESS)  # always the local stack
    mail.set_defaults(run=_mail, local=True)


def _mail(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.local.world import delivered_emails

    local_stack_state(point_boto3=True)
    FOLLOW_STOP.clear()
    shown = 0
    while True:
        delivered = delivered_emails()
        emails = sorted((e for e in delivered if args.to is None or args.to in e["to"]), key=lambda e: e["sent"])
        for email in emails[shown:]:
            _show(email, echo)
        shown = max(shown, len(emails))
        if not args.follow or FOLLOW_STOP.wait(1.0):
            break
    if not args.follow:
        known = sorted({address for e in delivered for address in e["to"]})
        echo(f"{shown} email(s){f' to {args.to}' if args.to else ''}; mailboxes: {', '.join(known) or 'none yet'}")
    return 0


def _show(email: dict[str, Any], echo: Echo) -> None:
    echo(f"--- {email['sent']}  to {', '.join(email['to'])}")
    echo(f"Subject: {email['subject']}")
    echo("")
    echo(email["body"].rstrip())
    echo("")
