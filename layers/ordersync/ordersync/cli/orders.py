"""`ordersync order ...` and `manual ...`: one order — its record and timeline (a buyer's order: each
seller's part and the retailer's own lines), replaying it, confirming one without an address, and the
BigCommerce orders ops post by hand."""

from __future__ import annotations

import argparse
from typing import Any

from ordersync.cli.output import Echo
from ordersync.cli.target import ops_for, outputs_for
from ordersync.errors import InvalidOrder, OrderSyncError


def add_order_commands(commands: Any, target: argparse.ArgumentParser) -> None:
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
