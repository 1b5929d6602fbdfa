"""`ordersync local demo`: one order of each case through the whole stack, then ops' fix and replay."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ordersync.aws.orders import DynamoOrders
from ordersync.domain.catalog import VariantStatus
from ordersync.errors import InvalidOrder
from ordersync.local.fakes.bigcommerce import FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.shopify import FakeShopify, buyer_variant_id, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order
from ordersync.local.iam import acting_as
from ordersync.local.stack import LocalStack, reset_cached_clients
from ordersync.local.world import World
from ordersync.models import OrderStatus
from ordersync.normalize import normalize
from ordersync.ops import Ops, part_lines

OPS_EMAIL = "ops@ordersync.example"

US_ADDRESS = {
    "name": "Dana Whitfield",
    "company": None,
    "address1": "410 Terry Ave N",
    "address2": "Suite 200",
    "city": "Seattle",
    "provinceCode": "WA",
    "zip": "98109",
    "countryCodeV2": "US",
    "phone": "+1 206 555 0142",
}
WOO_ADDRESS = {
    "first_name": "Rafael",
    "last_name": "Souza",
    "company": "",
    "address_1": "Rua Augusta, 1500",
    "address_2": "Apto 12",
    "city": "São Paulo",
    "state": "SP",
    "postcode": "01304-001",
    "country": "BR",
    "phone": "+55 11 5555 0100",
}


BC_ADDRESS = {
    "first_name": "Mina",
    "last_name": "Okafor",
    "company": "",
    "street_1": "12 Harbour Rd",
    "street_2": "",
    "city": "Portland",
    "state": "ME",
    "zip": "04101",
    "country_iso2": "US",
    "phone": "",
}


def build_world(stack: LocalStack, echo: Any = print, bare: bool = False) -> World:
    """Four buyer -> seller connections: every platform as a buyer and as a seller. Set up as ops
    do it: `ordersync store add` (credentials tried against each store) and `connection add`
    (the seller's first catalog sync), echoed as the commands they are."""
    world = World(stack, onboard=True, echo=echo, since=datetime.now(UTC) - timedelta(days=1), bare=bare)
    acme = world.add_shopify("acme-outfitters", "Acme Outfitters")
    canyon = world.add_shopify("canyon-trading", "Canyon Trading")
    brightside = world.add_woocommerce("brightside-home", "Brightside Home")
    brightside.shipment_tracking = True  # the Shipment Tracking extension installed: parcels come as its items
    northwind = world.add_woocommerce("northwind-supply", "Northwind Supply", shipment_tracking=True)
    northwind.fulfilments = True  # its core Order Fulfillments switched on (off by default): parcels by line
    peak = world.add_shopify("peak-gear", "Peak Gear")
    summit = world.add_bigcommerce("summit-supply", "Summit Supply")  # orders posted by hand
    delta = world.add_bigcommerce("delta-goods", "Delta Goods")
    ridge = world.add_bigcommerce("ridge-outdoor", "Ridge Outdoor", auto_post=True)  # automated posting on

    # The sellers' stores. Northwind (WooCommerce): the tent's SKU was renamed; the headlamp exists
    # twice; the bottle was deleted and recreated.
    northwind.add_product(101, "NW-TENT-2P-V2", "Trail Tent 2P", "249.00")
    northwind.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    northwind.add_product(103, "NW-SOCK", "Merino Socks", "19.00", 1031, "NW-SOCK-M", "M")
    northwind.add_product(103, "NW-SOCK", "Merino Socks", "19.00", 1032, "NW-SOCK-L", "L")
    northwind.add_product(104, "NW-LAMP", "Headlamp", "34.00")
    northwind.add_product(105, "NW-LAMP", "Headlamp (copy)", "34.00")
    northwind.add_product(107, "NW-BOTTLE", "Water Bottle", "15.00")
    peak.add_variant(7001, "PK-JACKET-M", 700, "Storm Jacket", "M", "180.00")
    peak.add_variant(7002, "PK-PACK-30", 701, "Daypack 30L", "Default Title", "95.00")
    summit.add_variant(301, 3011, "SU-ROPE-60", "Climbing Rope 60m", "210.00")
    ridge.add_variant(501, 5011, "RG-TARP-3M", "Tarp 3m", "42.0000")
    list_buyer_catalogs(acme, canyon, brightside, delta)

    connections = [  # (buyer, seller): Acme buys from two sellers, and sells candles of its own
        ("acme-outfitters", "northwind-supply"),
        ("acme-outfitters", "peak-gear"),
        ("brightside-home", "peak-gear"),
        ("canyon-trading", "summit-supply"),
        ("delta-goods", "ridge-outdoor"),
    ]
    if not bare:  # bare: ops onboard the stores themselves (README), nothing is in the stack yet
        for buyer, seller in connections:
            world.connect(buyer, seller)  # runs the seller's first catalog sync
        for seller in dict.fromkeys(seller for _, seller in connections):
            world.subscribe_seller(seller, f"orders@{seller}.example")

        # Since that sync, Northwind deleted the bottle (106) and recreated it (107): until the next
        # hourly sync the catalog still holds both, so the bottle's SKU is a duplicate for now.
        world.add_catalog(
            "northwind-supply",
            [("106", "106", "NW-BOTTLE", "Water Bottle", ""), ("107", "107", "NW-BOTTLE", "Water Bottle", "")],
        )
        # Earlier syncs saw the tent and the stove under their old SKUs, since renamed by Northwind: a
        # buyer line still carrying one is Northwind's (its SKU out of date), not the retailer's own.
        world.add_catalog(
            "northwind-supply",
            [("101", "101", "NW-TENT-2P", "Trail Tent 2P", ""), ("102", "102", "NW-STOVE-OLD", "Camp Stove", "")],
            VariantStatus.DELETED,
        )

    # Buyer orders, one per case.
    acme.add_order(
        order_node(
            1001,
            "#1001",
            [("NW-STOVE", "Camp Stove", 1, "89.50"), ("NW-SOCK-L", "Merino Socks - L", 2, "19.00")],
            US_ADDRESS,
        )
    )
    acme.add_order(order_node(1002, "#1002", [("NW-TENT-2P", "Trail Tent 2P", 1, "249.00")], US_ADDRESS))
    acme.add_order(order_node(1003, "#1003", [("NW-LAMP", "Headlamp", 1, "34.00")], US_ADDRESS))
    acme.add_order(order_node(1004, "#1004", [("NW-BOTTLE", "Water Bottle", 2, "15.00")], US_ADDRESS))
    acme.add_order(order_node(1005, "#1005", [("NW-STOVE", "Camp Stove", 1, "89.50")], None, source="pos"))
    acme.add_order(order_node(1006, "#1006", [("NW-STOVE", "Camp Stove", 1, "call us")], US_ADDRESS))
    acme.add_order(order_node(1007, "#1007", [("NW-STOVE", "Camp Stove", 1, "89.50")], US_ADDRESS, cancelled=True))
    brightside.add_order(
        woocommerce_order(
            2001,
            [("PK-JACKET-M", "Storm Jacket", 1, "180.00", 55, 0), ("PK-PACK-30", "Daypack", 1, "95.00", 56, 0)],
            WOO_ADDRESS,
        )
    )
    delta.add_order(
        bigcommerce_order(4001),
        [
            {
                "id": 1,
                "product_id": 1,
                "variant_id": 1,
                "sku": "RG-TARP-3M",
                "name": "Tarp 3m",
                "quantity": 2,
                "price_inc_tax": "42.0000",
                "type": "physical",
            }
        ],
        [BC_ADDRESS],
    )
    canyon.add_order(order_node(3001, "#3001", [("SU-ROPE-60", "Climbing Rope 60m", 1, "210.00")], US_ADDRESS))
    # Acme's orders across its two sellers and its own candles: a part for each seller, nothing for its own
    acme.add_order(order_node(1010, "#1010", [STOVE, DAYPACK, CANDLE], US_ADDRESS))
    acme.add_order(order_node(1011, "#1011", [CANDLE], US_ADDRESS))  # its own only: no seller hears of it
    acme.add_order(order_node(1012, "#1012", [("NW-TENT-2P", "Trail Tent 2P", 1, "249.00"), DAYPACK], US_ADDRESS))
    return world


# Each retailer's catalog: the sellers' products as it lists them (its own variant of each, under the
# SKU it had when listed — the tent's before Northwind renamed it), and Acme's own candles. New
# orders are placed against these through the buyer store's own API (README's "Try it").
ACME_LISTINGS = (  # (SKU, product title, variant title, price, vendor)
    ("NW-TENT-2P", "Trail Tent 2P", "Default Title", "249.00", "Northwind Supply"),
    ("NW-STOVE", "Camp Stove", "Default Title", "89.50", "Northwind Supply"),
    ("NW-SOCK-M", "Merino Socks", "M", "19.00", "Northwind Supply"),
    ("NW-SOCK-L", "Merino Socks", "L", "19.00", "Northwind Supply"),
    ("NW-LAMP", "Headlamp", "Default Title", "34.00", "Northwind Supply"),
    ("NW-BOTTLE", "Water Bottle", "Default Title", "15.00", "Northwind Supply"),
    ("PK-JACKET-M", "Storm Jacket", "M", "180.00", "Peak Gear"),
    ("PK-PACK-30", "Daypack 30L", "Default Title", "95.00", "Peak Gear"),
    ("AC-CANDLE", "Beeswax Candle", "Default Title", "12.00", "Acme Outfitters"),
)


def list_buyer_catalogs(
    acme: FakeShopify, canyon: FakeShopify, brightside: FakeWooCommerce, delta: FakeBigCommerce
) -> None:
    """The variant ids are the ones the demo's orders carry (`buyer_variant_id`, product ids 55, 56, 1)."""
    products: dict[str, int] = {}
    for sku, title, variant_title, price, vendor in ACME_LISTINGS:
        product = products.setdefault(title, 9000 + len(products))
        acme.add_variant(buyer_variant_id(sku), sku, product, title, variant_title, price, vendor=vendor)
    canyon.add_variant(
        buyer_variant_id("SU-ROPE-60"), "SU-ROPE-60", 9100, "Climbing Rope 60m", "Default Title", "210.00"
    )
    brightside.add_product(55, "PK-JACKET-M", "Storm Jacket", "180.00")
    brightside.add_product(56, "PK-PACK-30", "Daypack", "95.00")
    delta.add_variant(1, 1, "RG-TARP-3M", "Tarp 3m", "42.0000")


def open_for_business(world: World) -> None:
    """`local up`: what ops do after onboarding, done for every store — its webhooks registered (a
    checkout, a seller's shipment or cancellation arrives within seconds) and each retailer's alert
    email subscribed, beside the sellers' (build_world's)."""
    buyers = dict.fromkeys(c.buyer.store_id for c in world.connections.values())
    for store in world.stores.values():
        if store.fake is not None:
            world.register_webhooks(store.store_id)
    for buyer in buyers:
        world.subscribe_seller(buyer, f"orders@{buyer}.example", audience="buyer")


STOVE = ("NW-STOVE", "Camp Stove", 1, "89.50")
DAYPACK = ("PK-PACK-30", "Daypack 30L", 1, "95.00")
CANDLE = ("AC-CANDLE", "Beeswax Candle (Acme's own)", 2, "12.00")


def shipments(stack: LocalStack, world: World, echo: Any = print) -> None:
    """The sellers ship, each store as its platform does it; their own webhooks (registered as ops do
    it) bring every parcel into the buyer's store within seconds; the :40 sweep then writes nothing."""
    echo("-> ops: the sellers' webhooks too (a seller's shipments come back the moment they are made)")
    for seller in ("northwind-supply", "peak-gear", "ridge-outdoor"):
        world.register_webhooks(seller)
    northwind, peak, ridge = (world.stores[s].fake for s in ("northwind-supply", "peak-gear", "ridge-outdoor"))
    assert isinstance(northwind, FakeWooCommerce) and isinstance(peak, FakeShopify)
    assert isinstance(ridge, FakeBigCommerce)
    copy_1001 = next(o for o in northwind.created_orders() if _source(o).endswith("-1001"))
    stove, socks = copy_1001["line_items"]
    echo("-> Northwind (WooCommerce) ships #1001 in two parcels: UPS, then a courier no platform knows")
    northwind.ship(copy_1001["id"], {stove["id"]: 1}, ("UPS", "1Z999AA10123456784", None))
    northwind.ship(
        copy_1001["id"], {socks["id"]: 2}, ("Bob's Couriers", "BC-000123", "https://bobs-couriers.example/t/BC-000123")
    )
    copy_2001 = next(o for o in peak.created_orders() if str(o.get("sourceIdentifier") or "").endswith("-2001"))
    echo("-> Peak Gear (Shopify) ships part of 2001 (the jacket) with DHL Express")
    peak.fulfil(int(copy_2001["legacyResourceId"]), lines={1: 1}, tracking=("DHL Express", "JD014600003828", None))
    copy_4001 = next(o for o in ridge.created_orders() if str(o.get("external_order_id")).endswith("-4001"))
    echo("-> Ridge Outdoor (BigCommerce) ships 4001 whole with FedEx")
    ridge.ship(int(copy_4001["id"]), tracking=("fedex", "123456789012", None))
    northwind.deliveries.wait()
    ridge.deliveries.wait()
    stack.runner.drain()  # ShipmentsQueue's event source mapping, as the webhooks arrive
    acme = world.stores["acme-outfitters"].fake
    assert isinstance(acme, FakeShopify)
    echo("-> #1012 from Acme: Northwind ships its tent, then Peak Gear its daypack, into the one buyer order")
    tent = next(o for o in northwind.created_orders() if _source(o).endswith("-1012"))
    northwind.ship(tent["id"], tracking=("UPS", "1Z999AA10123456790", None))
    northwind.deliveries.wait()
    stack.runner.drain()
    after_one = acme.orders["gid://shopify/Order/1012"]["displayFulfillmentStatus"]
    pack = next(o for o in peak.created_orders() if str(o.get("sourceIdentifier") or "").endswith("-1012"))
    peak.fulfil(int(pack["legacyResourceId"]), tracking=("DHL Express", "JD014600003840", None))
    stack.runner.drain()
    after_both = acme.orders["gid://shopify/Order/1012"]["displayFulfillmentStatus"]
    echo(f"   #1012 in Acme's store: {after_one} after Northwind's parcel, {after_both} after Peak Gear's")
    echo("-> Peak Gear corrects 2001's tracking number: the same shipment gets it (a note, at a WooCommerce buyer)")
    peak.correct_tracking(int(copy_2001["legacyResourceId"]), ("DHL Express", "JD014600003829", None))
    stack.runner.drain()
    echo("-> :40, the sweep of the seller stores: every parcel is in the buyer's store already, nothing twice")
    stack.runner.fire_schedules("SweepShipmentsFunction")
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")


def after_posting(stack: LocalStack, world: World, ops: Ops, as_ops: Any, echo: Any = print) -> None:
    """The buyers change orders already in the sellers' stores (by their webhooks): a cancellation
    applied, one too late, a new address applied, a blocked order edited and then fixed by ops (its
    latest version posted), and a parcel shipped anyway for the order cancelled."""
    acme, brightside = world.stores["acme-outfitters"].fake, world.stores["brightside-home"].fake
    northwind = world.stores["northwind-supply"].fake
    assert isinstance(acme, FakeShopify) and isinstance(brightside, FakeWooCommerce)
    assert isinstance(northwind, FakeWooCommerce)
    echo("-> Acme cancels #1008 (not shipped: cancelled in Northwind's store) and #1001 (shipped: too late)")
    acme.cancel_order(1008)
    acme.cancel_order(1001)
    echo("-> Brightside changes 2002's shipping address (Peak Gear's copy gets it)")
    moved = {**brightside.orders[2002]["shipping"], "address_1": "77 Harbour St", "city": "Hobart", "postcode": "7000"}
    brightside.update_order(2002, shipping=moved)
    echo("-> Acme's #1009 names a SKU Northwind renamed (blocked); Acme then makes it 3 units; ops add the alias")
    acme.add_order(order_node(1009, "#1009", [("NW-STOVE-OLD", "Camp Stove", 1, "89.50")], US_ADDRESS))
    brightside.deliveries.wait()
    stack.runner.drain()
    node = acme.orders["gid://shopify/Order/1009"]
    node["lineItems"]["nodes"][0]["quantity"] = node["lineItems"]["nodes"][0]["currentQuantity"] = 3
    acme.mark_paid(1009)  # any save of the order: orders/updated carries the new version
    stack.runner.drain()
    with acting_as(as_ops):
        ops.add_alias("northwind-supply", "NW-STOVE-OLD", "NW-STOVE")
    stack.runner.drain()
    copy_1008 = next(o for o in northwind.created_orders() if _source(o).endswith("-1008"))
    echo("-> Northwind ships #1008 anyway: the retailer's store is not touched, seller and ops told")
    northwind.ship(copy_1008["id"], tracking=("UPS", "1Z999AA10123456799", None))
    northwind.deliveries.wait()
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")


def drift(stack: LocalStack, world: World, as_ops: Any, echo: Any = print) -> list[dict[str, Any]]:
    """Someone at Northwind changes the address on the copy of #1004 by hand (no webhook says so):
    ops run the drift check, and the daily run emails what it finds."""
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.secrets import StoreSecrets
    from ordersync.platforms import HttpStoreFactory
    from ordersync.services.drift import DriftDependencies, compare_both_stores

    northwind = world.stores["northwind-supply"].fake
    assert isinstance(northwind, FakeWooCommerce)
    copy_1004 = next(o for o in northwind.created_orders() if _source(o).endswith("-1004"))
    echo("-> by hand in Northwind's store: the copy of #1004 now ships to 9 Wrong Way (no webhook says so)")
    copy_1004["shipping"] = {**copy_1004["shipping"], "address_1": "9 Wrong Way"}
    echo("-> ops: ordersync drift")
    with acting_as(as_ops):
        deps = DriftDependencies(
            orders=DynamoOrders(stack.output("OrdersTableName")),
            connections=DynamoConnections(stack.output("ConnectionsTableName")),
            stores=HttpStoreFactory(StoreSecrets().read),
        )
        report = compare_both_stores(deps)
    echo(f"   compared {report.compared} posted orders: {len(report.divergences)} divergences")
    for divergence in report.divergences:
        echo(f"   {divergence.order_key} {divergence.kind.value}; mend: {divergence.mend}")
    reset_cached_clients()  # the daily run starts in a container of its own: it reads the secrets itself
    stack.runner.fire_schedules("CheckDriftFunction")  # the daily run: a compare per connection (DriftQueue)
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")  # what they found: ops' digest, each seller its own
    return [
        {"order_key": d.order_key, "seller": d.seller_id, "kind": d.kind.value, "detail": d.detail, "mend": d.mend}
        for d in report.divergences
    ] + [{"unreadable": u} for u in report.unreadable]


def _source(order: dict[str, Any]) -> str:
    return next((str(m["value"]) for m in order.get("meta_data") or [] if m.get("key") == "_ordersync_source"), "")


def fast_path(stack: LocalStack, world: World, echo: Any = print) -> list[dict[str, Any]]:
    """The buyers' order webhooks registered as ops do it; then three checkouts after the :20 pull,
    each in the seller's store within seconds, the next hourly pull not waited for."""
    echo("-> ops: the buyers' order webhooks, the fast path (the hourly pull stays the safety net)")
    for buyer in ("acme-outfitters", "brightside-home", "delta-goods"):
        world.register_webhooks(buyer)
    echo("-> after the :20 pull, three checkouts: Shopify (EventBridge), WooCommerce and BigCommerce (HTTPS)")
    acme, brightside, delta = (world.stores[s].fake for s in ("acme-outfitters", "brightside-home", "delta-goods"))
    assert isinstance(acme, FakeShopify) and isinstance(brightside, FakeWooCommerce)
    assert isinstance(delta, FakeBigCommerce)
    placed = {"acme-outfitters--northwind-supply#1008": datetime.now(UTC)}
    acme.add_order(order_node(1008, "#1008", [("NW-STOVE", "Camp Stove", 1, "89.50")], US_ADDRESS))
    placed["brightside-home--peak-gear#2002"] = datetime.now(UTC)
    brightside.add_order(woocommerce_order(2002, [("PK-PACK-30", "Daypack", 2, "95.00", 56, 0)], WOO_ADDRESS))
    placed["delta-goods--ridge-outdoor#4002"] = datetime.now(UTC)
    tarp = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "RG-TARP-3M", "name": "Tarp 3m", "quantity": 1}
    delta.add_order(bigcommerce_order(4002), [{**tarp, "price_inc_tax": "42.0000", "type": "physical"}], [BC_ADDRESS])
    brightside.deliveries.wait()
    delta.deliveries.wait()
    stack.runner.drain()  # what OrdersQueue's event source mapping does the moment they arrive
    orders = DynamoOrders(stack.output("OrdersTableName"))
    fast = []
    for key, checkout in placed.items():
        record = orders.get(key)
        assert record is not None
        seconds = (record.timeline[-1].at - checkout).total_seconds()
        echo(
            f"   {record.order_number}: {record.status} {seconds:.1f} s after checkout, by {record.timeline[-1].cause}"
        )
        fast.append({"order_key": key, "status": record.status.value, "seconds": round(seconds, 1)})
    return fast


def run_demo(report_path: Path | None = None, echo: Any = print, log_level: str = "ERROR") -> dict[str, Any]:
    with LocalStack.start({"OpsAlertEmail": OPS_EMAIL, "LogLevel": log_level}) as stack:
        world = build_world(stack, echo)
        try:
            echo("-> :20, the hourly pull; then OrdersQueue drained through ProcessOrderFunction")
            stack.runner.run_hour()
            ops = Ops.from_outputs(stack.deployment.outputs)
            as_ops = stack.deployment.principal("OpsPolicy")  # what ops do runs under OpsPolicy
            echo("-> ops: ordersync sku alias add northwind-supply NW-TENT-2P NW-TENT-2P-V2")
            with acting_as(as_ops):
                replayed = ops.add_alias("northwind-supply", "NW-TENT-2P", "NW-TENT-2P-V2")
            echo(f"   replayed {', '.join(r.order_key for r in replayed) or 'nothing'}")
            stack.runner.drain()
            stack.runner.fire_schedules("AlertDispatchFunction")
            pending = ops.find("canyon-trading--summit-supply#3001")
            echo(
                f"-> #3001 for Summit Supply (BigCommerce) is {pending.status}: the flow told the seller and asked ops"
            )
            echo("-> ops: ordersync manual complete canyon-trading--summit-supply#3001 --bigcommerce-order-id 100231")
            with acting_as(as_ops):
                complete_manual_posting(ops, "canyon-trading--summit-supply#3001", "100231")
            fast = fast_path(stack, world, echo)
            shipments(stack, world, echo)
            after_posting(stack, world, ops, as_ops, echo)
            echo("-> the next hour's pull re-reads the same orders: nothing changes, nothing is sent twice")
            stack.runner.run_hour()
            found = drift(stack, world, as_ops, echo)
            report = build_report(stack, world, ops) | {"fast_path": fast, "drift": found}
        finally:
            world.stop()
    print_report(report, echo)
    if report_path:
        report_path.write_text(json.dumps(report, indent=2, default=str))
        echo(f"report written to {report_path}")
    return report


def complete_manual_posting(ops: Ops, order_key: str, bigcommerce_order_id: str, seconds: float = 30.0) -> None:
    """Plays ops' part once the flow has asked for it (Step Functions runs asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            ops.complete_manual_posting(order_key, bigcommerce_order_id)
            break
        except (LookupError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    while ops.find(order_key).status is not OrderStatus.POSTED_MANUALLY and time.monotonic() < deadline:
        time.sleep(0.2)


def build_report(stack: LocalStack, world: World, ops: Ops) -> dict[str, Any]:
    records = sorted(DynamoOrders(stack.output("OrdersTableName")).all(), key=lambda r: (r.order_number, r.order_key))
    return {
        "orders": [
            {
                "order_id": r.order_id,
                "order_number": r.order_number,
                "buyer": r.buyer_id,
                "seller": r.seller_id,
                "buyer_platform": r.buyer_platform,
                "seller_platform": r.seller_platform,
                "status": r.status.value,
                "reason": r.reason.value if r.reason else None,
                "seller_order_id": r.seller_order_id,
                "by": r.timeline[-1].cause if r.timeline else None,  # what brought its latest change
                "shipping": r.shipping,
                "parcels": [
                    {
                        "key": p.key,
                        "carrier": p.carrier,
                        "tracking_number": p.tracking_number,
                        "lines": [list(line) for line in p.lines],
                        "in_buyer_store_at": p.in_buyer_store_at.isoformat() if p.in_buyer_store_at else None,
                        "buyer_shipment_id": p.buyer_shipment_id,
                        "reason": p.reason,
                    }
                    for p in r.parcels
                ],
                "timeline": [
                    {
                        "at": t.at.isoformat(),
                        "status": t.status.value,
                        "reason": t.reason,
                        "detail": t.detail,
                        "cause": t.cause,
                    }
                    for t in r.timeline
                ],
            }
            for r in records
        ],
        "emails": world.delivered_emails(),
        "dlq": [{"order_id": m["order_id"], "reason": m["reason"]} for m in ops.dlq_list()],
        "buyer_orders": buyer_orders(world, records),
    }


def buyer_orders(world: World, records: list[Any]) -> list[dict[str, Any]]:
    """Each buyer order whole: its parts (a seller each: status, the lines it got) and the lines no
    seller got (the retailer's own, read from the buyer's store; BigCommerce's are not read here)."""
    parts: dict[tuple[str, str], list[Any]] = {}
    for record in records:
        parts.setdefault((record.buyer_id, record.order_id), []).append(record)
    lines: dict[tuple[str, str], tuple[str, list[tuple[str, str | None]]]] = {}
    for store in world.stores.values():
        fake = store.fake
        placed: list[dict[str, Any]] = (
            list(fake.orders.values()) if isinstance(fake, FakeShopify | FakeWooCommerce) else []
        )
        for payload in placed:
            if _source(payload) or payload.get("sourceIdentifier"):
                continue  # a seller's copy, not a buyer's order
            try:
                order = normalize(store.platform, payload)
            except InvalidOrder:
                continue
            lines[(store.store_id, order.order_id)] = (order.order_number, [(x.line_id, x.sku) for x in order.lines])
    report = []
    for key in sorted(set(parts) | set(lines)):
        number, every_line = lines.get(key, ("", []))
        got = {line_id for record in parts.get(key, []) for line_id, _ in part_lines(record)}
        report.append(
            {
                "buyer": key[0],
                "order_id": key[1],
                "order_number": number or next((r.order_number for r in parts.get(key, [])), ""),
                "parts": [
                    {
                        "seller": r.seller_id,
                        "status": r.status.value,
                        "reason": r.reason.value if r.reason else None,
                        "skus": [sku for _, sku in part_lines(r)],
                        "shipping": r.shipping,
                    }
                    for r in sorted(parts.get(key, []), key=lambda r: r.seller_id)
                ],
                "own_lines": [sku for line_id, sku in every_line if line_id not in got] if key in lines else None,
            }
        )
    return report


def print_report(report: dict[str, Any], echo: Any = print) -> None:
    columns = (
        "order_number",
        "buyer",
        "seller",
        "buyer_platform",
        "seller_platform",
        "status",
        "reason",
        "seller_order_id",
        "by",
        "shipping",
    )
    rows = [[str(order[c] if order[c] is not None else "-") for c in columns] for order in report["orders"]]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    echo("")
    echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        echo("  ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)))
    echo("")
    for order in report["orders"]:  # each parcel the sellers shipped, and where it is
        for parcel in order["parcels"]:
            where = (
                f"in the buyer's store ({parcel['buyer_shipment_id']})"
                if parcel["in_buyer_store_at"]
                else parcel["reason"]
            )
            tracking = " ".join(p for p in (parcel["carrier"], parcel["tracking_number"]) if p)
            echo(f"  {order['order_number']} parcel {parcel['key']}: {tracking}, lines {parcel['lines']}: {where}")
    echo("")
    for order in report["buyer_orders"]:  # each buyer order whole: a part per seller, its own lines
        parts = "; ".join(
            f"{p['seller']} {p['status']}{'/' + p['reason'] if p['reason'] else ''} {','.join(s or '-' for s in p['skus'])}"
            for p in order["parts"]
        )
        own = ", ".join(s or "-" for s in order["own_lines"]) if order["own_lines"] else "none"
        echo(
            f"  {order['buyer']} {order['order_number'] or order['order_id']}: {parts or 'no seller part'}; own lines: {own}"
        )
    echo("")
    dlq = ", ".join(f"{m['order_id']} ({m['reason']})" for m in report["dlq"])
    echo(f"DLQ: {dlq or 'empty'}")
    echo(f"emails delivered: {len(report['emails'])}")
    for email in sorted(report["emails"], key=lambda e: (e["seller_id"] is None, e["to"], e["subject"])):
        echo("")
        echo(f"  To: {', '.join(email['to'])}")
        echo(f"  Subject: {email['subject']}")
        for line in email["body"].splitlines():
            echo(f"  | {line}")
