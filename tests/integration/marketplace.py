"""Small marketplaces for the integration tests (the demo has the full one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ordersync.aws.listings import DynamoListings
from ordersync.domain.catalog import VariantStatus
from ordersync.domain.listings import LinkedBy, Listing, relink
from ordersync.local.demo import BC_ADDRESS, US_ADDRESS, WOO_ADDRESS
from ordersync.local.fakes.shopify import FakeShopify, buyer_variant_id
from ordersync.local.fakes.woocommerce import FakeWooCommerce
from ordersync.local.stack import LocalStack
from ordersync.local.world import World

ADDRESS = US_ADDRESS  # the demo's; one set of test addresses
__all__ = [
    "ADDRESS",
    "BC_ADDRESS",
    "WOO_ADDRESS",
    "listed",
    "pull_only",
    "run_hour",
    "shopify_to_woocommerce",
    "woocommerce_to_shopify",
]


def shopify_to_woocommerce(world: World) -> tuple[FakeShopify, FakeWooCommerce]:
    """Acme (Shopify buyer) -> Northwind (WooCommerce seller) with a small catalog."""
    buyer = world.add_shopify("acme", "Acme Outfitters")
    seller = world.add_woocommerce("northwind", "Northwind Supply", shipment_tracking=True)
    seller.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    seller.add_product(103, "NW-SOCK", "Merino Socks", "19.00", 1032, "NW-SOCK-L", "L")
    seller.add_product(104, "NW-LAMP", "Headlamp", "34.00")
    seller.add_product(105, "NW-LAMP", "Headlamp (copy)", "34.00")
    world.add_catalog(
        "northwind",
        [
            ("102", "102", "NW-STOVE", "Camp Stove", ""),
            ("103", "1032", "NW-SOCK-L", "Merino Socks", "L"),
            ("104", "104", "NW-LAMP", "Headlamp", ""),
            ("105", "105", "NW-LAMP", "Headlamp (copy)", ""),
        ],
    )
    # SKUs an earlier catalog sync saw and Northwind has since renamed: a line still carrying one is
    # Northwind's, its SKU out of date (SKU_MISMATCH), not the retailer's own
    world.add_catalog(
        "northwind",
        [("100", "100", "NW-GONE", "Old Tent", ""), ("102", "1020", "NW-STOVE-OLD", "Camp Stove", "")],
        VariantStatus.DELETED,
    )
    world.connect("acme", "northwind")
    return buyer, seller


def woocommerce_to_shopify(world: World) -> tuple[FakeWooCommerce, FakeShopify]:
    """Brightside (WooCommerce buyer) -> Peak Gear (Shopify seller)."""
    buyer = world.add_woocommerce("brightside", "Brightside Home")
    seller = world.add_shopify("peak", "Peak Gear")
    seller.add_variant(7001, "PK-JACKET-M", 700, "Storm Jacket", "M", "180.00")
    seller.add_variant(7002, "PK-PACK-30", 701, "Daypack 30L", "Default Title", "95.00")
    world.add_catalog(
        "peak", [("700", "7001", "PK-JACKET-M", "Storm Jacket", "M"), ("701", "7002", "PK-PACK-30", "Daypack 30L", "")]
    )
    world.add_catalog("peak", [("699", "6999", "PK-GONE", "Old Jacket", "")], VariantStatus.DELETED)  # renamed since
    world.connect("brightside", "peak")
    return buyer, seller


def run_hour(stack: LocalStack) -> None:
    """What one scheduled run does: the pull at :20, OrdersQueue drained, alerts sent."""
    stack.runner.run_hour()


def pull_only(stack: LocalStack) -> None:
    """The scheduled pull and the PullQueue drained, leaving the orders waiting in OrdersQueue."""
    stack.runner.fire_schedules("PullOrdersFunction")
    (pulls,) = [s for s in stack.deployment.queue_sources if s.function == "PullConnectionFunction"]
    while stack.runner.poll_once(pulls):
        pass


def start_fake(started: list[Any], fake: Any) -> Any:
    """Starts a fake store's server for a test (the `started` fixture stops it after)."""
    fake.server.start()
    started.append(fake)
    return fake


def listed(stack: LocalStack, buyer_id: str, seller_id: str, *skus_or_variants: str) -> None:
    """The retailer's variants linked to the seller, as `ordersync listing link` does: a Shopify
    buyer's by the SKU its fake orders list them under, another's by its product id."""
    listings = DynamoListings(stack.output("ListingsTableName"))
    now = datetime.now(UTC)
    for name in skus_or_variants:
        variant = name if name.isdigit() else str(buyer_variant_id(name))
        listings.put(relink(Listing(buyer_id, variant, None, LinkedBy.OWN, now, name), seller_id, now))
