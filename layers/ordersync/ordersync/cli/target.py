"""Where the CLI's commands act: a deployed stack (its CloudFormation outputs) or the local stack
started by `ordersync local up` (its state file). Shared by every command group's module."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ordersync.cli.output import CliError

LOCAL_STATE = Path(".ordersync/local.json")


def outputs_for(args: argparse.Namespace) -> dict[str, str]:
    """The stack outputs: the local stack's (pointing boto3 at it), or a deployed stack's."""
    if getattr(args, "outputs", None):
        return dict(args.outputs)
    if args.local:
        return dict(local_stack_state(point_boto3=True)["outputs"])
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def local_stack_state(point_boto3: bool = False) -> dict[str, Any]:
    """The state file of the `local up` running in this folder (its stores, outputs, endpoint), boto3
    pointed at its moto server if asked; a sentence, not a traceback, when none runs."""
    from ordersync.local.running import running_stack

    state = running_stack(LOCAL_STATE)
    if state is None:
        LOCAL_STATE.unlink(missing_ok=True)  # left by a stack that died: it says nothing now
        raise CliError("no local stack running here: start one with `ordersync local up`")
    if point_boto3:
        from ordersync.local.moto_server import point_boto3_at

        point_boto3_at(state["endpoint"], "us-east-1")
    return state


def ops_for(args: argparse.Namespace) -> Any:
    """The ops facade (ordersync.ops) on the target's stack."""
    from ordersync.ops import Ops

    return Ops.from_outputs(outputs_for(args))
