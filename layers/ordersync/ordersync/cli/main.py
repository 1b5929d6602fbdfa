"""The `ordersync` command: ops' tools against AWS (a deployed stack's outputs) or the local stack.
One module per command group; this one reads the command line and turns mistakes into sentences."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ordersync.aws import clients
from ordersync.cli.alerts import add_alert_email_commands
from ordersync.cli.catalog import add_catalog_commands
from ordersync.cli.connections import add_connection_commands
from ordersync.cli.dlq import add_dlq_commands
from ordersync.cli.drift import add_drift_command
from ordersync.cli.listings import add_listing_commands
from ordersync.cli.local import add_local_commands
from ordersync.cli.orders import add_order_commands
from ordersync.cli.output import CliError
from ordersync.cli.stores import add_store_commands
from ordersync.cli.target import LOCAL_STATE
from ordersync.cli.tools import add_tool_commands
from ordersync.errors import InvalidOrder, OrderSyncError


def main(argv: Sequence[str] | None = None) -> int:
    _quiet()
    clients.forget()  # a command is a process of its own: its clients are made for the stack it names
    parser = _parser()
    args = parser.parse_args(_targets_last(list(sys.argv[1:] if argv is None else argv)))
    try:
        return int(args.run(args, print) or 0)
    except OSError as error:
        print(f"ordersync: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 1
    except (CliError, InvalidOrder, OrderSyncError, LookupError, ValueError) as error:
        message = error.args[0] if error.args else type(error).__name__
        print(f"ordersync: {message}", file=sys.stderr)
        return 1
    except Exception as error:
        sentence = _aws_setup_problem(error, args)
        if sentence is None:
            raise
        print(f"ordersync: {sentence}", file=sys.stderr)
        return 1


def _targets_last(argv: list[str]) -> list[str]:
    """`--local` and `--stack NAME` may come before the subcommand too: moved after it, where the
    subcommands that act on a stack take them."""
    moved: list[str] = []
    while argv and argv[0] in ("--local", "--stack"):
        take = 2 if argv[0] == "--stack" and len(argv) > 1 else 1
        moved += argv[:take]
        argv = argv[take:]
    return argv + moved


def _aws_setup_problem(error: Exception, args: argparse.Namespace) -> str | None:
    """What is wrong with the AWS set-up, in one sentence, or None for anything else."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

    local_hint = " (for the local stack started by `ordersync local up`, add --local)"
    if isinstance(error, NoRegionError):
        return "no AWS region is set: set AWS_DEFAULT_REGION (or a profile with a region)" + local_hint
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or the AWS_ACCESS_KEY_ID pair" + local_hint
    if isinstance(error, EndpointConnectionError):
        if getattr(args, "local", False):
            return (
                f"no local stack answers at {error.kwargs.get('endpoint_url', 'its address')}: it has stopped;"
                " start one with `ordersync local up`"
            )
        return f"could not reach {error.kwargs.get('endpoint_url', 'AWS')}: check the network and the region"
    if isinstance(error, ClientError) and "does not exist" in str(error) and "Stack" in str(error):
        return f"no stack named {getattr(args, 'stack', '?')!r} in this account and region: give --stack NAME" + (
            local_hint
        )
    return None


def _quiet() -> None:
    """Only what people should read reaches the terminal: the services' JSON log lines stay below
    warnings, and Powertools' "no metrics" warning (the CLI publishes none) is not shown."""
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from ordersync.observability import logger

    logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ordersync", description=__doc__)
    target = argparse.ArgumentParser(add_help=False)
    where = target.add_mutually_exclusive_group()
    where.add_argument("--stack", default=os.environ.get("ORDERSYNC_STACK", "ordersync"), help="deployed stack name")
    where.add_argument(
        "--local", action="store_true", help=f"the local stack started by `ordersync local up` ({LOCAL_STATE})"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    add_tool_commands(commands)
    add_local_commands(commands)

    add_order_commands(commands, target)

    add_alert_email_commands(commands, target, "seller", "a seller")
    # A retailer is told what concerns it (a seller cancelled its order): the same topic, filtered on its store's id.
    add_alert_email_commands(commands, target, "buyer", "a retailer")

    add_catalog_commands(commands, target)

    add_store_commands(commands, target)
    add_connection_commands(commands, target)
    add_drift_command(commands, target)
    add_listing_commands(commands, target)

    add_dlq_commands(commands, target)
    return parser


if __name__ == "__main__":
    sys.exit(main())
