"""`ordersync listing`: whose product each buyer variant is — list the links, link a variant to a
seller, unlink it (the retailer's own). A change replays the orders it unblocks."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ordersync.cli.output import Echo
from ordersync.domain.listings import Listing

if TYPE_CHECKING:
    from ordersync.services.listing_admin import Relinked

STAYS_SHOWN = 10  # order keys named; the rest counted


def add_listing_commands(commands: Any, target: argparse.ArgumentParser) -> None:
    group = commands.add_parser("listing", help="whose product each buyer variant is").add_subparsers(
        dest="listing_command", required=True
    )
    show = group.add_parser("list", parents=[target], help="a buyer store's listings")
    show.add_argument("buyer_id")
    show.add_argument("--seller", metavar="SELLER", help="linked to this seller (or ambiguous with it)")
    kind = show.add_mutually_exclusive_group()
    kind.add_argument("--ambiguous", action="store_true", help="only those several sellers sell: ops decide")
    kind.add_argument("--own", action="store_true", help="only the retailer's own")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=_list)
    link = group.add_parser("link", parents=[target], help="the variant is this seller's product; replays its orders")
    link.add_argument("buyer_id")
    link.add_argument("variant_id")
    link.add_argument("seller_id")
    link.add_argument(
        "--orders",
        nargs="+",
        metavar="ORDER_ID",
        help="buyer orders decided before whose line was taken for the retailer's own: the seller's part posted",
    )
    link.set_defaults(run=_link)
    vendor = group.add_parser(
        "vendor", parents=[target], help="a buyer's rule: its products of this vendor / brand are this seller's"
    )
    vendor.add_argument("buyer_id")
    vendor.add_argument(
        "vendor",
        help="Shopify: the product's vendor; BigCommerce: its brand id; WooCommerce: a Vendor or Brand attribute",
    )
    target_seller = vendor.add_mutually_exclusive_group(required=True)
    target_seller.add_argument("seller_id", nargs="?", help="the seller whose products they are")
    target_seller.add_argument("--remove", action="store_true", help="the rule for this vendor goes")
    vendor.set_defaults(run=_vendor)
    vendors = group.add_parser("vendors", parents=[target], help="a buyer's vendor rule")
    vendors.add_argument("buyer_id")
    vendors.set_defaults(run=_vendors)
    unlink = group.add_parser("unlink", parents=[target], help="the variant is the retailer's own; replays its orders")
    unlink.add_argument("buyer_id")
    unlink.add_argument("variant_id")
    unlink.set_defaults(run=_unlink)


def _deps(args: argparse.Namespace) -> Any:
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.listings import DynamoListings
    from ordersync.aws.messaging import SqsDlqAdmin, SqsOrderQueue
    from ordersync.aws.orders import DynamoOrders
    from ordersync.aws.stores import DynamoStores
    from ordersync.cli.target import outputs_for
    from ordersync.services.listing_admin import ListingDependencies

    outputs = outputs_for(args)
    return ListingDependencies(
        stores=DynamoStores(outputs["StoresTableName"]),
        listings=DynamoListings(outputs["ListingsTableName"]),
        connections=DynamoConnections(outputs["ConnectionsTableName"]),
        orders=DynamoOrders(outputs["OrdersTableName"]),
        queue=SqsOrderQueue(outputs["OrdersQueueUrl"]),
        dlq=SqsDlqAdmin(outputs["OrdersDLQUrl"], outputs["OrdersQueueUrl"]),
    )


def _list(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.listing_admin import listings_of

    found = listings_of(args.buyer_id, _deps(args), args.seller, args.ambiguous, args.own)
    if args.json:
        echo(json.dumps([_fields(x) for x in found], indent=2))
        return 0
    for listing in found:
        echo(f"  {listing.variant_id:<14} {_owner(listing):<28} {listing.sku or '-':<20} {listing.title}")
    if not found:
        echo(f"no listings of {args.buyer_id} match")
    return 0


def _link(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.listing_admin import link

    done = link(args.buyer_id, args.variant_id, args.seller_id, _deps(args), args.orders or ())
    before = _owner(done.before) if done.before.sku or done.before.title else "not listed yet"
    echo(f"variant {args.variant_id} of {args.buyer_id}: {before} -> {args.seller_id}")
    _replayed(done.replayed, echo)
    _staying(done, echo)
    return 0


def _unlink(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.listing_admin import unlink

    done = unlink(args.buyer_id, args.variant_id, _deps(args))
    echo(f"variant {args.variant_id} of {args.buyer_id}: {_owner(done.before)} -> the retailer's own")
    _replayed(done.replayed, echo)
    _staying(done, echo)
    return 0


def _staying(done: Relinked, echo: Echo) -> None:
    """Orders already in the old seller's store keep the line there: said, never posted twice."""
    if done.stays:
        shown = ", ".join(done.stays[:STAYS_SHOWN]) + (" ..." if len(done.stays) > STAYS_SHOWN else "")
        echo(
            f"already in {done.before.seller_id}'s store, so the line stays with {done.before.seller_id} for"
            f" {len(done.stays)} order(s) (the new link counts from the next order): {shown}"
        )


def _vendor(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.listing_admin import set_vendor_rule

    rule = set_vendor_rule(args.buyer_id, args.vendor, None if args.remove else args.seller_id, _deps(args))
    said = "no longer names a seller" if args.remove else f"-> {args.seller_id}"
    echo(f"{args.buyer_id}: vendor {args.vendor.strip()!r} {said}; {len(rule)} vendor(s) in its rule")
    echo(f"applied to every product of {args.buyer_id} by its next hourly catalog run (a full read)")
    return 0


def _vendors(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.listing_admin import vendor_rule_of

    rule = vendor_rule_of(args.buyer_id, _deps(args))
    for vendor, seller in rule.items():
        echo(f"  {vendor:<40} -> {seller}")
    if not rule:
        echo(f"{args.buyer_id} has no vendor rule: its products are linked by their SKUs")
    return 0


def _replayed(keys: tuple[str, ...], echo: Echo) -> None:
    echo(f"replayed {len(keys)} order parts" + (f": {', '.join(keys)}" if keys else ""))


def _owner(listing: Listing) -> str:
    if listing.ambiguous:
        return f"ambiguous: {' or '.join(listing.candidates)}"
    how = f" ({listing.linked_by.value})"
    return (listing.seller_id or "the retailer's own") + how


def _fields(listing: Listing) -> dict[str, Any]:
    return {
        "variant_id": listing.variant_id,
        "seller_id": listing.seller_id,
        "linked_by": listing.linked_by.value,
        "linked_at": listing.linked_at.isoformat(),
        "sku": listing.sku,
        "title": listing.title,
        "seller_variant_id": listing.seller_variant_id,
        "candidates": list(listing.candidates),
        "waiting_orders": list(listing.waiting_orders),
    }
