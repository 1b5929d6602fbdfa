"""`ordersync local ...`: the stack on this machine — the demo, the fault campaign, the peak hour, and
`local up`, the demo marketplace kept running (its mail: cli/mail.py)."""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

from ordersync.cli.arguments import at_least
from ordersync.cli.local_env import add_local_env_command
from ordersync.cli.mail import add_local_mail_command
from ordersync.cli.output import CliError, Echo
from ordersync.cli.target import LOCAL_STATE

# Set to stop a running `local up` (its SIGTERM and SIGINT handlers set it; so can a test).
LOCAL_UP_STOP = threading.Event()


def add_local_commands(commands: Any) -> None:
    local = commands.add_parser("local", help="the stack on this machine (moto + fake stores)").add_subparsers(
        dest="local_command", required=True
    )
    demo = local.add_parser("demo", help="run one order of each case end to end and print what happened")
    demo.add_argument("--report", type=Path, help="also write the report as JSON")
    demo.add_argument(
        "--log-level", default="ERROR", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="the functions' logs"
    )
    demo.set_defaults(run=_demo)
    chaos = local.add_parser(
        "chaos", help="the local stack under random faults; checks nothing is lost or posted twice"
    )
    chaos.add_argument("--orders", type=int, default=300)
    chaos.add_argument("--fault-rate", type=float, default=0.2)
    chaos.add_argument("--seed", type=int, default=1)
    chaos.add_argument(
        "--search-lag", type=float, default=3.0, help="seconds a seller store's look-up may miss a fresh order"
    )
    chaos.add_argument(
        "--timeouts",
        choices=("local", "production"),
        default="local",
        help="local: 0.5 s reads, 0.7 s stalls, 10 s functions (minutes a campaign); production: the deployed"
        " 20 s reads against 30 s functions, stalls of 21 s (slow: each stall is waited out)",
    )
    chaos.set_defaults(run=_chaos)
    peak = local.add_parser(
        "peak", help="a Black Friday hour: hundreds of buyers, a hot seller, stores at their limits"
    )
    peak.add_argument("--connections", type=at_least(200), default=200, help="buyer -> seller connections (200+)")
    peak.add_argument("--orders-per-connection", type=at_least(1), default=10)
    peak.add_argument("--concurrency", type=at_least(1), default=8, help="ProcessOrderFunction invocations at once")
    peak.add_argument("--seed", type=int, default=1)
    peak.add_argument("--hot-seller", choices=("ridge", "peak", "summit", "northwind"), default="ridge")
    peak.add_argument(
        "--mixed-buyers", type=at_least(0), default=0, help="buyers of ten sellers at once, with lines of their own"
    )
    peak.set_defaults(run=_peak)
    up = local.add_parser("up", help="start the local stack with the demo marketplace and keep it running")
    up.add_argument(
        "--hour-seconds", type=float, default=3600.0, help="how long the schedules' hour lasts (compress it for demos)"
    )
    up.add_argument(
        "--bare",
        action="store_true",
        help="the demo's stores run, but nothing is onboarded: do it with README's commands (credentials files in .ordersync/)",
    )
    up.set_defaults(run=_up)
    add_local_mail_command(local)
    add_local_env_command(local)


def _demo(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.local.demo import run_demo

    run_demo(args.report, echo, args.log_level)
    return 0


def _chaos(args: argparse.Namespace, echo: Echo) -> int:
    from dataclasses import asdict

    from ordersync.local.chaos import TIMEOUTS, run_chaos

    echo(
        f"-> {args.orders} orders, fault rate {args.fault_rate}, seed {args.seed}, search lag {args.search_lag} s,"
        f" {args.timeouts} timeouts"
    )
    timeouts = TIMEOUTS[args.timeouts]
    report = run_chaos(args.orders, args.fault_rate, args.seed, echo, search_lag=args.search_lag, timeouts=timeouts)
    echo(f"faults injected: {report.faults}")
    echo(json.dumps(asdict(report)))
    broken = (
        report.lost
        or report.duplicates_posted
        or report.not_terminal
        or report.failed_without_dlq_message
        or report.dlq_without_reason
        or report.synced != report.should_sync
        or report.overruns
        or report.parcels_lost
        or report.parcels_written_twice
        or report.edits_unexplained
        or report.divergences_undetected
        or report.divergences_invented
    )
    return 1 if broken else 0


def _peak(args: argparse.Namespace, echo: Echo) -> int:
    from dataclasses import asdict

    from ordersync.local.peak import run_peak

    echo(f"-> a peak hour: {args.connections} connections, {args.orders_per_connection} orders each, seed {args.seed}")
    report = run_peak(
        args.connections,
        args.orders_per_connection,
        args.seed,
        concurrency=args.concurrency,
        hot_seller=args.hot_seller,
        echo=echo,
        mixed_buyers=args.mixed_buyers,
    )
    echo(
        f"   drained in {report.drain_seconds} s; requests refused for pace: {report.throttled_requests};"
        f" BigCommerce windows spent to the last request: {report.windows_spent}"
    )
    echo(
        f"   {report.synced} of {report.orders} orders synced once; lost {report.lost}, posted twice"
        f" {report.posted_twice}, failed for throttling {report.failed_for_throttling}"
    )
    if report.mixed_buyers:
        echo(
            f"   {report.mixed_buyers} buyers of ten sellers: {report.mixed_parts} parts, {report.own_lines} own lines,"
            f" {len(report.misrouted)} lines misrouted"
        )
    echo(json.dumps(asdict(report)))
    return 0 if report.held else 1


def _up(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.local.demo import OPS_EMAIL, build_world, open_for_business
    from ordersync.local.running import keep_running, running_stack
    from ordersync.local.stack import LocalStack

    live = running_stack(LOCAL_STATE)
    if live is not None:
        raise CliError(
            f"a local stack is already running here (pid {live['pid']}, {live['endpoint']}): use it with --local,"
            " or stop it first (Ctrl-C in its terminal, or kill it)"
        )
    LOCAL_UP_STOP.clear()
    _stop_on_signals()
    with LocalStack.start({"LogLevel": "ERROR", "OpsAlertEmail": OPS_EMAIL}) as stack:
        world = build_world(stack, echo if not args.bare else lambda _line: None, bare=args.bare)
        if not args.bare:
            open_for_business(world)
        LOCAL_STATE.parent.mkdir(exist_ok=True)
        state = {"endpoint": stack.moto.endpoint, "outputs": stack.deployment.outputs, "pid": os.getpid()}
        state["stores"] = _local_stores(world, echo, onboard=args.bare)
        LOCAL_STATE.write_text(json.dumps(state))
        echo(f"local stack on {stack.moto.endpoint}; `ordersync ... --local` talks to it. Ctrl-C stops it.")
        echo(
            f"mail to ops ({OPS_EMAIL}), the sellers and the retailers: `ordersync local mail [--to ADDRESS]"
            " [--follow]`"
        )
        echo(
            'each store\'s URL and credentials as shell variables: eval "$(ordersync local env)"'
            ' (README\'s "Try it": act on the stores as their merchants do)'
        )
        echo(
            f"the template's schedules run on an hour of {args.hour_seconds:g} s (the catalog sync and the pull"
            " also run now); every queue is consumed as it fills"
        )
        try:
            keep_running(stack, args.hour_seconds, LOCAL_UP_STOP, echo)
        finally:
            world.stop()
            LOCAL_STATE.unlink(missing_ok=True)
    return 0


def _local_stores(world: Any, echo: Echo, onboard: bool) -> dict[str, dict[str, str]]:
    """Each running store's URL, platform and a credentials file beside the state file: how to act on
    it as its merchant would (its own API), and — with --bare — how ops onboard it."""
    stores = {}
    echo("the stores (each one's own API at its URL, with the credentials in its file):")
    for store in world.stores.values():
        if store.fake is None:
            continue
        credentials = LOCAL_STATE.parent / f"{store.store_id}.json"
        credentials.write_text(json.dumps(store.credentials))
        credentials.chmod(0o600)
        stores[store.store_id] = {"platform": store.platform.value, "url": store.fake.base_url, "name": store.name}
        if onboard:
            echo(
                f"  ordersync store add {store.store_id} --platform {store.platform} --url {store.fake.base_url}"
                f" --name '{store.name}' --credentials-file {credentials} --local"
            )
        else:
            echo(f"  {store.store_id:<20} {store.platform.value:<12} {store.fake.base_url}  credentials: {credentials}")
    if onboard:
        echo("nothing is onboarded: add the stores above, then connections, as README's 'After the first deploy' says")
    return stores


def _stop_on_signals() -> None:
    """SIGTERM cleans up as Ctrl-C does (only the main thread may set handlers: a test's thread can't)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: LOCAL_UP_STOP.set())
