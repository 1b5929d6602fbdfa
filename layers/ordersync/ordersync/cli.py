"""The `ordersync` command: ops' tools against AWS (a deployed stack's outputs) or the local stack."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordersync.cli_alerts import add_alert_email_commands
from ordersync.cli_dlq import add_dlq_commands
from ordersync.cli_drift import add_drift_command
from ordersync.cli_listings import add_listing_commands
from ordersync.cli_mail import add_local_mail_command
from ordersync.cli_stores import add_connection_commands, add_store_commands
from ordersync.cli_target import LOCAL_STATE, CliError, Echo, ops_for, outputs_for
from ordersync.errors import InvalidOrder, OrderSyncError
from ordersync.models import Platform


def main(argv: Sequence[str] | None = None) -> int:
    _quiet()
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
    plan.add_argument("--connections", type=_at_least(1), required=True)
    plan.add_argument("--orders-per-hour", type=_at_least(1), default=100, help="per connection")
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
    chaos.set_defaults(run=_chaos)
    peak = local.add_parser(
        "peak", help="a Black Friday hour: hundreds of buyers, a hot seller, stores at their limits"
    )
    peak.add_argument("--connections", type=_at_least(200), default=200, help="buyer -> seller connections (200+)")
    peak.add_argument("--orders-per-connection", type=_at_least(1), default=10)
    peak.add_argument("--concurrency", type=_at_least(1), default=8, help="ProcessOrderFunction invocations at once")
    peak.add_argument("--seed", type=int, default=1)
    peak.add_argument("--hot-seller", choices=("ridge", "peak", "summit", "northwind"), default="ridge")
    peak.add_argument(
        "--mixed-buyers", type=_at_least(0), default=0, help="buyers of ten sellers at once, with lines of their own"
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

    order = commands.add_parser("order", help="one order").add_subparsers(dest="order_command", required=True)
    show = order.add_parser("show", parents=[target], help="status, lines and timeline")
    show.add_argument("order_ref", metavar="ORDER_ID")
    show.set_defaults(run=_order_show)
    replay = order.add_parser("replay", parents=[target], help="process the order again")
    replay.add_argument("order_ref", metavar="ORDER_ID")
    replay.set_defaults(run=_order_replay)
    disregard = order.add_parser("disregard", parents=[target], help="confirm an order without address is not real")
    disregard.add_argument("order_ref", metavar="ORDER_ID")
    disregard.set_defaults(run=_order_disregard)

    manual = commands.add_parser("manual", help="BigCommerce orders posted by hand").add_subparsers(
        dest="manual_command", required=True
    )
    complete = manual.add_parser("complete", parents=[target], help="the order is in the seller's BigCommerce store")
    complete.add_argument("order_ref", metavar="ORDER_ID")
    complete.add_argument("--bigcommerce-order-id", required=True)
    complete.set_defaults(run=_manual_complete)
    reject = manual.add_parser("reject", parents=[target], help="the order can't be posted by hand")
    reject.add_argument("order_ref", metavar="ORDER_ID")
    reject.add_argument("--reason", required=True)
    reject.set_defaults(run=_manual_reject)

    add_alert_email_commands(commands, target, "seller", "a seller")
    # A retailer is told what concerns it (a seller cancelled its order): the same topic, filtered on its store's id.
    add_alert_email_commands(commands, target, "buyer", "a retailer")

    sku = commands.add_parser("sku", help="SKU aliases").add_subparsers(dest="sku_command", required=True)
    alias = sku.add_parser("alias", help="a seller's old SKU -> new SKU").add_subparsers(
        dest="alias_command", required=True
    )
    add = alias.add_parser("add", parents=[target], help="add an alias and replay the orders it unblocks")
    add.add_argument("seller_id", metavar="SELLER")
    add.add_argument("old_sku", metavar="OLD_SKU")
    add.add_argument("new_sku", metavar="NEW_SKU")
    add.set_defaults(run=_alias_add)
    listing = alias.add_parser("list", parents=[target], help="a seller's aliases")
    listing.add_argument("seller_id", metavar="SELLER")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_alias_list)
    remove = alias.add_parser("remove", parents=[target], help="remove an alias")
    remove.add_argument("seller_id", metavar="SELLER")
    remove.add_argument("old_sku", metavar="OLD_SKU")
    remove.set_defaults(run=_alias_remove)

    catalog = commands.add_parser("catalog", help="sellers' catalogs").add_subparsers(
        dest="catalog_command", required=True
    )
    sync = catalog.add_parser("sync", parents=[target], help="sync a seller's catalog now and replay what it unblocks")
    sync.add_argument("seller_id", metavar="SELLER")
    sync.add_argument(
        "--full", action="store_true", help="read the whole catalog and retire what the store no longer has"
    )
    sync.set_defaults(run=_catalog_sync)

    add_store_commands(commands, target)
    add_connection_commands(commands, target)
    add_drift_command(commands, target)
    add_listing_commands(commands, target)

    add_dlq_commands(commands, target)
    return parser


# Reasons only a seller's parcel fails for: kept in ShipmentsDLQ, never OrdersDLQ


# --- normalize -------------------------------------------------------------------------------------
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


# --- local -----------------------------------------------------------------------------------------
def _demo(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.local.demo import run_demo

    run_demo(args.report, echo, args.log_level)
    return 0


def _bench(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.local.bench import run_bench

    run_bench(args.orders, args.lines, echo, args.json_path)
    return 0


def _chaos(args: argparse.Namespace, echo: Echo) -> int:
    from dataclasses import asdict

    from ordersync.local.chaos import run_chaos

    echo(f"-> {args.orders} orders, fault rate {args.fault_rate}, seed {args.seed}, search lag {args.search_lag} s")
    report = run_chaos(args.orders, args.fault_rate, args.seed, echo, search_lag=args.search_lag)
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
        f" its by_seller_status key {result.hot_index_writes_per_second:.0f} writes/s"
    )
    echo(f"  AWS cost: ${result.usd}")
    echo(f"binds first: {result.binds_first}")
    echo(
        f"parameters: OrdersMaxConcurrency={result.orders_max_concurrency} ThrottleBudgetHours={result.throttle_budget_hours}"
    )
    for warning in result.warnings:
        echo(f"warning: {warning}")
    return 0


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


def _at_least(least: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if number < least:
            raise argparse.ArgumentTypeError(f"at least {least}")
        return number

    return parse


# Set to stop a running `local up` (its SIGTERM and SIGINT handlers set it; so can a test).
LOCAL_UP_STOP = threading.Event()


def _up(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.local.demo import OPS_EMAIL, build_world
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


# --- ops -------------------------------------------------------------------------------------------


def _order_show(args: argparse.Namespace, echo: Echo) -> int:
    ops = ops_for(args)
    parts = ops.parts_of(args.order_ref)
    if parts:
        return _buyer_order_show(parts, args, echo)
    record = ops.find(args.order_ref)
    echo(f"order {record.order_number or record.order_id}  ({record.order_key})")
    echo(f"  buyer  {record.buyer_name} [{record.buyer_id}, {record.buyer_platform}]")
    echo(f"  seller {record.seller_name} [{record.seller_id}, {record.seller_platform}]")
    reason = f" / {record.reason}" if record.reason else ""
    shipping = f", {record.shipping}" if record.shipping else ""
    echo(
        f"  status {record.status}{shipping}{reason}"
        + (f"  seller order {record.seller_order_id}" if record.seller_order_id else "")
    )
    if record.detail:
        echo(f"  detail {record.detail}")
    echo("  lines (as the order page shows them):")
    for line in record.lines:
        title = line.title if line.title else "(blank)"
        echo(f"    {line.quantity:>3} x {line.sku or '(no SKU)':<18} {title:<32} {line.outcome}")
        for candidate in line.candidates:
            product, variant = candidate["product_id"], candidate["variant_id"]
            echo(f"          candidate: product {product} variant {variant} {candidate['title']}")
        if line.suggestions:
            echo(f"          closest SKUs: {', '.join(line.suggestions)}")
    if record.parcels:
        echo("  parcels (the seller's shipments):")
    for parcel in record.parcels:
        lines = ", ".join(f"{units} x line {line_id}" for line_id, units in parcel.lines) or "-"
        tracking = " ".join(p for p in (parcel.carrier, parcel.tracking_number) if p) or "no tracking"
        # a store that keeps no ship date (WooCommerce `completed`): when it reached the buyer's store
        shipped = f"shipped {parcel.shipped_at.isoformat()}" if parcel.shipped_at else "ship date not kept by the store"
        there = (
            f"in the buyer's store at {parcel.in_buyer_store_at.isoformat()} ({parcel.buyer_shipment_id})"
            if parcel.in_buyer_store_at
            else f"NOT in the buyer's store: {parcel.reason}"
        )
        echo(f"    {parcel.key}  {tracking}  [{lines}]  {shipped}  {there}")
    echo("  timeline:")
    for entry in record.timeline:
        why = f" {entry.reason}" if entry.reason else ""
        echo(f"    {entry.at.isoformat()}  {entry.status}{why}  [{entry.cause}]  {entry.detail}")
    return 0


def _buyer_order_show(parts: list[Any], args: argparse.Namespace, echo: Echo) -> int:
    """A buyer order whole: each seller's part (its status, its lines), and the lines no seller got
    — the retailer's own, read from the buyer's store now (or said why not)."""
    from ordersync.ops import part_lines

    first = parts[0]
    echo(
        f"buyer order {first.order_number or first.order_id} of {first.buyer_name} [{first.buyer_id}, {first.buyer_platform}]"
    )
    for record in parts:
        reason = f" / {record.reason}" if record.reason else ""
        shipping = f", {record.shipping}" if record.shipping else ""
        skus = ", ".join(sku or "(no SKU)" for _, sku in part_lines(record)) or "no line"
        echo(f"  part for {record.seller_id}: {record.status}{reason}{shipping}  [{skus}]  ({record.order_key})")
    echo(f"  the retailer's own lines: {_own_lines(parts, args)}")
    echo(f"  each part: ordersync order show {first.connection_id}#{first.order_id} (and the others' keys above)")
    return 0


def _own_lines(parts: list[Any], args: argparse.Namespace) -> str:
    from ordersync.aws.secrets import StoreSecrets
    from ordersync.aws.stores import DynamoStores
    from ordersync.normalize import normalize
    from ordersync.ops import part_lines
    from ordersync.platforms import HttpStoreFactory

    first = parts[0]
    store = DynamoStores(outputs_for(args)["StoresTableName"]).get(first.buyer_id)
    if store is None:
        return f"not read ({first.buyer_id} is not in the stores table)"
    try:
        payload = HttpStoreFactory(StoreSecrets().read).buyer(store.ref()).order(first.order_id)
        order = normalize(store.platform, payload)
    except (OrderSyncError, InvalidOrder) as error:
        return f"not read (the buyer's store: {error})"
    got = {line_id for record in parts for line_id, _ in part_lines(record)}
    own = [
        f"{line.quantity} x {line.sku or '(no SKU)'} {line.title}" for line in order.lines if line.line_id not in got
    ]
    return "; ".join(own) or "none"


def _order_replay(args: argparse.Namespace, echo: Echo) -> int:
    record = ops_for(args).replay(args.order_ref)
    echo(f"replaying {record.order_key} (was {record.status}{' / ' + record.reason if record.reason else ''})")
    return 0


def _order_disregard(args: argparse.Namespace, echo: Echo) -> int:
    record = ops_for(args).disregard(args.order_ref)
    echo(f"{record.order_key} disregarded (confirmed by ops)")
    return 0


def _manual_complete(args: argparse.Namespace, echo: Echo) -> int:
    record = ops_for(args).complete_manual_posting(args.order_ref, args.bigcommerce_order_id)
    echo(f"{record.order_key}: posted by hand as BigCommerce order {args.bigcommerce_order_id}")
    return 0


def _manual_reject(args: argparse.Namespace, echo: Echo) -> int:
    record = ops_for(args).reject_manual_posting(args.order_ref, args.reason)
    echo(f"{record.order_key}: manual posting rejected ({args.reason})")
    return 0


def _alias_add(args: argparse.Namespace, echo: Echo) -> int:
    replayed = ops_for(args).add_alias(args.seller_id, args.old_sku, args.new_sku)
    echo(f"alias {args.old_sku} -> {args.new_sku} stored for {args.seller_id}")
    echo(f"replayed {len(replayed)} order(s)" + "".join(f"\n  {r.order_key} ({r.order_number})" for r in replayed))
    return 0


def _alias_list(args: argparse.Namespace, echo: Echo) -> int:
    aliases = ops_for(args).catalog.aliases(args.seller_id)
    if args.json:
        echo(json.dumps(dict(sorted(aliases.items())), indent=2))
        return 0
    for old, new in sorted(aliases.items()):
        echo(f"{old} -> {new}")
    if not aliases:
        echo(f"no aliases for {args.seller_id}")
    return 0


def _alias_remove(args: argparse.Namespace, echo: Echo) -> int:
    if not ops_for(args).catalog.remove_alias(args.seller_id, args.old_sku):
        raise CliError(f"{args.seller_id} has no alias for {args.old_sku}")
    echo(f"alias for {args.old_sku} removed")
    return 0


# --- stores and connections ----------------------------------------------------------------------
def _catalog_sync(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.ops import sync_seller_catalog

    result = sync_seller_catalog(args.seller_id, args.full, outputs_for(args))
    how = "the whole catalog" if result.full else "what changed since the last run"
    echo(f"{args.seller_id}: read {how}: {result.variants} variant(s)")
    echo(f"  {result.changed_skus} SKU(s) changed, {result.retired} variant(s) retired")
    echo(f"  {len(result.replayed)} order(s) replayed" + (f": {', '.join(result.replayed)}" if result.replayed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
