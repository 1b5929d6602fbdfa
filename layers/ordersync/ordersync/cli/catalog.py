"""`ordersync sku alias ...` and `catalog sync`: a seller's renamed SKUs, and its catalog read now —
each replays the orders it unblocks."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ordersync.cli.output import CliError, Echo
from ordersync.cli.target import ops_for, outputs_for


def add_catalog_commands(commands: Any, target: argparse.ArgumentParser) -> None:
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


def _catalog_sync(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.ops import sync_seller_catalog

    result = sync_seller_catalog(args.seller_id, args.full, outputs_for(args))
    how = "the whole catalog" if result.full else "what changed since the last run"
    echo(f"{args.seller_id}: read {how}: {result.variants} variant(s)")
    echo(f"  {result.changed_skus} SKU(s) changed, {result.retired} variant(s) retired")
    echo(f"  {len(result.replayed)} order(s) replayed" + (f": {', '.join(result.replayed)}" if result.replayed else ""))
    return 0
