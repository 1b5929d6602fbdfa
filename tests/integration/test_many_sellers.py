"""A retailer buying from two sellers and selling products of its own, on the local stack: each
buyer order is split by its lines' listings, each seller's store gets its lines alone, the
retailer's own lines reach nobody, and the one buyer order completes when both sellers shipped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ordersync.aws.listings import DynamoListings
from ordersync.aws.orders import DynamoOrders
from ordersync.local.demo import US_ADDRESS
from ordersync.local.fakes.bigcommerce import bigcommerce_order
from ordersync.local.fakes.shopify import FakeShopify, buyer_variant_id, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order
from ordersync.local.iam import acting_as
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus
from ordersync.ops import Ops

from .marketplace import BC_ADDRESS, WOO_ADDRESS, run_hour

JACKET = ("PK-JACKET-M", "Storm Jacket M (peak)", 1, "180.00", 55, 0)
STOVE = ("NW-STOVE", "Camp Stove (northwind)", 2, "89.50", 57, 0)
CANDLE = ("BH-CANDLE", "Beeswax Candle (the retailer's own)", 3, "9.00", 58, 0)


def _retailer(world: World) -> tuple[FakeWooCommerce, FakeShopify, FakeWooCommerce]:
    """Brightside (WooCommerce) buys from Peak Gear (Shopify) and Northwind (WooCommerce), and sells
    candles of its own. Each seller's email subscribed."""
    brightside = world.add_woocommerce("brightside", "Brightside Home")
    peak = world.add_shopify("peak", "Peak Gear")
    peak.add_variant(7001, "PK-JACKET-M", 700, "Storm Jacket", "M", "180.00")
    northwind = world.add_woocommerce("northwind", "Northwind Supply", shipment_tracking=True)
    northwind.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    world.add_catalog("peak", [("700", "7001", "PK-JACKET-M", "Storm Jacket", "M")])
    world.add_catalog("northwind", [("102", "102", "NW-STOVE", "Camp Stove", "")])
    for seller in ("peak", "northwind"):
        world.connect("brightside", seller)
        world.subscribe_seller(seller, f"orders@{seller}.example")
    return brightside, peak, northwind


def _copies(peak: FakeShopify, northwind: FakeWooCommerce) -> dict[str, dict[str, list[str]]]:
    """What each seller's store holds: its copies' SKUs by the buyer order they came from."""
    shopify = {
        str(o["sourceIdentifier"]).rsplit("-", 1)[-1]: [n["sku"] for n in o["lineItems"]["nodes"]]
        for o in peak.created_orders()
    }
    woo = {
        next(str(m["value"]) for m in o["meta_data"] if m["key"] == "_ordersync_source").rsplit("-", 1)[-1]: [
            line["sku"] for line in o["line_items"]
        ]
        for o in northwind.created_orders()
    }
    return {"peak": shopify, "northwind": woo}


def _mail_to(world: World, seller: str) -> str:
    return "\n".join(e["subject"] + "\n" + e["body"] for e in world.delivered_emails() if e["seller_id"] == seller)


def test_a_mixed_order_reaches_each_seller_with_its_lines_alone(
    stack: LocalStack, world: World, cli: Callable[..., Any]
) -> None:
    brightside, peak, northwind = _retailer(world)
    brightside.add_order(woocommerce_order(5001, [JACKET], WOO_ADDRESS))
    brightside.add_order(woocommerce_order(5002, [JACKET, STOVE, CANDLE], WOO_ADDRESS))
    brightside.add_order(woocommerce_order(5003, [CANDLE], WOO_ADDRESS))
    run_hour(stack)

    assert _copies(peak, northwind) == {
        "peak": {"5001": ["PK-JACKET-M"], "5002": ["PK-JACKET-M"]},
        "northwind": {"5002": ["NW-STOVE"]},
    }
    keys = {r.order_key: r.status for r in DynamoOrders(stack.output("OrdersTableName")).all()}
    assert keys == {  # the retailer's own order, and the parts with nothing of a seller's: no record
        "brightside--peak#5001": OrderStatus.SYNCED,
        "brightside--peak#5002": OrderStatus.SYNCED,
        "brightside--northwind#5002": OrderStatus.SYNCED,
    }
    assert world.delivered_emails() == []  # nobody is told about an order that is not theirs
    listings = {
        x.sku: (x.seller_id, x.linked_by.value)
        for x in DynamoListings(stack.output("ListingsTableName")).of_buyer("brightside")
    }
    assert listings == {"PK-JACKET-M": ("peak", "sku"), "NW-STOVE": ("northwind", "sku"), "BH-CANDLE": (None, "own")}

    code, out = cli("order", "show", "brightside#5002")  # the buyer order whole: its parts, its own lines
    assert code == 0, out
    assert "part for northwind: SYNCED  [NW-STOVE]" in out and "part for peak: SYNCED  [PK-JACKET-M]" in out
    assert "the retailer's own lines: 3 x BH-CANDLE Beeswax Candle (the retailer's own)" in out
    code, out = cli("order", "show", "brightside--peak#5002")  # one part, as before
    assert code == 0 and "seller Peak Gear [peak, shopify]" in out and "NW-STOVE" not in out


def test_a_renamed_sku_blocks_that_seller_s_part_alone_and_both_parcels_complete_the_order(
    stack: LocalStack, world: World
) -> None:
    brightside, peak, northwind = _retailer(world)
    brightside.add_order(woocommerce_order(5001, [JACKET], WOO_ADDRESS))  # the jacket's listing: peak's
    run_hour(stack)
    peak.set_variant_sku(7001, "PK-JACKET-M2")  # Peak renames it; the next catalog sync sees that
    stack.runner.fire_schedules("CatalogSyncFunction")
    stack.runner.drain()
    brightside.add_order(woocommerce_order(5004, [JACKET, STOVE], WOO_ADDRESS))
    run_hour(stack)

    orders = DynamoOrders(stack.output("OrdersTableName"))
    blocked = orders.get("brightside--peak#5004")
    assert blocked is not None and (blocked.status, blocked.reason) == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)
    assert [line.sku for line in blocked.lines] == ["PK-JACKET-M"]
    assert _copies(peak, northwind)["northwind"]["5004"] == ["NW-STOVE"]  # the other part is posted
    told = _mail_to(world, "peak")
    assert "PK-JACKET-M" in told and "NW-STOVE" not in told and "Camp Stove" not in told
    assert _mail_to(world, "northwind") == ""

    # ops fix it as the runbook says; the jacket's part is posted, then both sellers ship
    _alias(stack, "peak", "PK-JACKET-M", "PK-JACKET-M2")
    stack.runner.drain()
    assert _copies(peak, northwind)["peak"]["5004"] == ["PK-JACKET-M2"]
    for seller in ("peak", "northwind"):  # each seller's shipments come back the moment they are made
        world.register_webhooks(seller)
    copy = next(o for o in peak.created_orders() if str(o["sourceIdentifier"]).endswith("-5004"))
    peak.fulfil(int(copy["legacyResourceId"]), tracking=("DHL Express", "JD014600003828", None))
    stack.runner.drain()
    orders = DynamoOrders(stack.output("OrdersTableName"))
    assert orders.get("brightside--peak#5004").shipping == "shipped"  # type: ignore[union-attr]
    assert brightside.orders[5004]["status"] == "processing"  # one seller shipped: not complete
    stove_copy = next(o for o in northwind.created_orders() if o["line_items"][0]["sku"] == "NW-STOVE")
    northwind.ship(stove_copy["id"], tracking=("UPS", "1Z999AA10123456784", None))
    northwind.deliveries.wait()
    stack.runner.drain()
    assert brightside.orders[5004]["status"] == "completed"  # both parts shipped: the order is


def test_an_order_with_lines_of_the_retailer_s_own_is_never_completed_by_a_seller(
    stack: LocalStack, world: World
) -> None:
    brightside, _, northwind = _retailer(world)
    brightside.add_order(woocommerce_order(5002, [STOVE, CANDLE], WOO_ADDRESS))
    run_hour(stack)
    world.register_webhooks("northwind")
    (copy,) = northwind.created_orders()
    northwind.ship(copy["id"], tracking=("UPS", "1Z999AA10123456784", None))
    northwind.deliveries.wait()
    stack.runner.drain()
    record = DynamoOrders(stack.output("OrdersTableName")).get("brightside--northwind#5002")
    assert record is not None and record.shipping == "shipped"  # the parcel is in the buyer's store ...
    assert brightside.orders[5002]["status"] == "processing"  # ... and the candles are the retailer's to ship


def test_listings_are_seen_and_mended_by_ops(stack: LocalStack, world: World, cli: Callable[..., Any]) -> None:
    brightside, peak, northwind = _retailer(world)
    peak.add_variant(7009, "MUG", 709, "Enamel Mug", "Default Title", "12.00")  # both sell a "MUG"
    northwind.add_product(109, "MUG", "Enamel Mug", "12.00")
    world.add_catalog("peak", [("709", "7009", "MUG", "Enamel Mug", "")])
    world.add_catalog("northwind", [("109", "109", "MUG", "Enamel Mug", "")])
    brightside.add_order(woocommerce_order(5006, [("MUG", "Enamel Mug", 1, "12.00", 59, 0), STOVE], WOO_ADDRESS))
    brightside.add_order(woocommerce_order(5007, [CANDLE], WOO_ADDRESS))  # the retailer's own, as far as anyone knows
    run_hour(stack)
    assert _copies(peak, northwind) == {"peak": {}, "northwind": {"5006": ["NW-STOVE"]}}  # the mug: nobody's yet

    code, out = cli("listing", "list", "brightside", "--ambiguous")
    assert code == 0 and "59" in out and "ambiguous: " in out and "NW-STOVE" not in out
    code, out = cli("listing", "link", "brightside", "59", "peak")
    assert code == 0 and "replayed 1 order parts: brightside--peak#5006" in out
    stack.runner.drain()
    assert _copies(peak, northwind)["peak"] == {"5006": ["MUG"]}  # read again, split again, posted once

    code, out = cli("listing", "unlink", "brightside", "4242")
    assert code == 1 and "has no listing of variant '4242'" in out
    code, out = cli("listing", "link", "brightside", "4242", "peak")  # one ops know before any order carried it
    assert code == 0 and "variant 4242 of brightside: not listed yet -> peak" in out
    code, out = cli("listing", "link", "brightside", "57", "nobody")
    assert code == 1 and "buys from no seller 'nobody' (its sellers: northwind, peak)" in out
    code, out = cli("listing", "unlink", "brightside", "57")
    assert code == 0 and "northwind (sku) -> the retailer's own" in out
    assert "already in northwind's store, so the line stays with northwind for 1 order(s)" in out
    assert "brightside--northwind#5006" in out
    code, out = cli("listing", "list", "brightside", "--own")
    assert code == 0 and "57" in out and "NW-STOVE" in out

    # the candles turn out to be northwind's (it lists them now): ops link them and name the order
    # decided before, whose part is then made and posted
    northwind.add_product(108, "BH-CANDLE", "Beeswax Candle", "9.00")
    world.add_catalog("northwind", [("108", "108", "BH-CANDLE", "Beeswax Candle", "")])
    code, out = cli("listing", "link", "brightside", "58", "northwind", "--orders", "5007")
    assert code == 0 and "replayed 1 order parts: brightside--northwind#5007" in out
    stack.runner.drain()
    assert _copies(peak, northwind)["northwind"]["5007"] == ["BH-CANDLE"]


def test_a_webhook_read_once_for_each_part_keeps_no_record_of_a_part_with_no_line(
    stack: LocalStack, world: World
) -> None:
    """A BigCommerce webhook names only the order: each connection's part is read and split; the
    part with nothing of its seller's leaves no record behind."""
    delta = world.add_bigcommerce("delta", "Delta Goods")
    ridge = world.add_bigcommerce("ridge", "Ridge Outdoor", auto_post=True)
    ridge.add_variant(501, 5011, "RG-TARP-3M", "Tarp 3m", "42.0000")
    northwind = world.add_woocommerce("northwind", "Northwind Supply", shipment_tracking=True)
    northwind.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    world.add_catalog("ridge", [("501", "5011", "RG-TARP-3M", "Tarp 3m", "")])
    world.add_catalog("northwind", [("102", "102", "NW-STOVE", "Camp Stove", "")])
    world.connect("delta", "ridge")
    world.connect("delta", "northwind")
    world.register_webhooks("delta")
    tarp = {"id": 1, "product_id": 1, "variant_id": 1, "sku": "RG-TARP-3M", "name": "Tarp 3m", "quantity": 1}
    delta.add_order(bigcommerce_order(4002), [{**tarp, "price_inc_tax": "42.0000", "type": "physical"}], [BC_ADDRESS])
    delta.deliveries.wait()
    stack.runner.drain()
    orders = DynamoOrders(stack.output("OrdersTableName"))
    synced = orders.get("delta--ridge#4002")
    assert synced is not None and synced.status is OrderStatus.SYNCED
    assert orders.get("delta--northwind#4002") is None and northwind.created_orders() == []

    # a mixed order's webhook: the buyer's store is read once for both parts, both posted
    stove = {"id": 2, "product_id": 2, "variant_id": 2, "sku": "NW-STOVE", "name": "Camp Stove", "quantity": 2}
    lines = [{**tarp, "price_inc_tax": "42.0000", "type": "physical"}, {**stove, "price_inc_tax": "89.5000"}]
    delta.add_order(bigcommerce_order(4003), [{"type": "physical", **line} for line in lines], [BC_ADDRESS])
    delta.deliveries.wait()
    stack.runner.drain()
    for key in ("delta--ridge#4003", "delta--northwind#4003"):
        assert orders.get(key).status is OrderStatus.SYNCED, key  # type: ignore[union-attr]
    reads = [path for method, path, _ in delta.server.received if method == "GET" and path.endswith("/v2/orders/4003")]
    assert len(reads) == 1


def _alias(stack: LocalStack, seller: str, old: str, new: str) -> None:
    """`ordersync sku alias add SELLER OLD NEW`, under OpsPolicy: the blocked orders replayed."""
    with acting_as(stack.deployment.principal("OpsPolicy")):
        Ops.from_outputs(stack.deployment.outputs).add_alias(seller, old, new)


def test_the_buyer_s_catalog_is_read_into_its_listings_before_any_order_carries_a_product(
    stack: LocalStack, world: World, cli: Callable[..., Any]
) -> None:
    """The hourly catalog runs read the buyer's store too: each of its products linked to the seller
    whose SKU it carries, its own products listed as its own — then a seller's rename makes the next
    order that seller's SKU_MISMATCH (the link, not the SKU, says whose it is)."""
    brightside, peak, northwind = _retailer(world)
    brightside.add_product(55, "PK-JACKET-M", "Storm Jacket M", "180.00")
    brightside.add_product(57, "NW-STOVE", "Camp Stove", "89.50")
    brightside.add_product(58, "BH-CANDLE", "Beeswax Candle", "9.00")
    stack.runner.fire_schedules("CatalogSyncFunction")
    stack.runner.drain()
    code, out = cli("listing", "list", "brightside")
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0].isdigit()}
    assert code == 0 and rows.keys() == {"55", "57", "58"}, out
    assert "peak" in rows["55"] and "northwind" in rows["57"] and "own" in rows["58"]
    assert "peak" not in rows["58"] and "northwind" not in rows["58"]

    peak.set_variant_sku(7001, "PK-JACKET-M2")  # Peak renames it; the buyer's product still says PK-JACKET-M
    stack.runner.fire_schedules("CatalogSyncFunction")
    stack.runner.drain()
    brightside.add_order(woocommerce_order(5010, [JACKET, CANDLE], WOO_ADDRESS))
    run_hour(stack)
    records = {r.order_key: r for r in DynamoOrders(stack.output("OrdersTableName")).all()}
    assert records.keys() == {"brightside--peak#5010"}  # the candles: the retailer's, no record
    blocked = records["brightside--peak#5010"]
    assert (blocked.status, blocked.reason) == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)
    assert [line.sku for line in blocked.lines] == ["PK-JACKET-M"]
    told = _mail_to(world, "peak")
    assert "PK-JACKET-M" in told and "BH-CANDLE" not in told and "Candle" not in told
    assert _copies(peak, northwind) == {"peak": {}, "northwind": {}}


def test_a_vendor_rule_names_the_seller_of_a_buyer_s_products_whatever_their_skus(
    stack: LocalStack, world: World, cli: Callable[..., Any]
) -> None:
    """Acme (Shopify) keeps the maker in each product's vendor: ops say "Peak Gear" is peak's. Its
    jacket, listed under a SKU of the retailer's own making, is peak's — its order is peak's part,
    blocked for the SKU and told to peak alone, never taken for the retailer's own."""
    acme = world.add_shopify("acme", "Acme Outfitters")
    _retailer(world)
    for seller in ("peak", "northwind"):
        world.connect("acme", seller)
    jacket, stove = buyer_variant_id("ACME-JKT"), buyer_variant_id("NW-STOVE")  # as its orders name them
    acme.add_variant(jacket, "ACME-JKT", 900, "Storm Jacket", "M", "180.00", vendor="Peak Gear")
    acme.add_variant(stove, "NW-STOVE", 901, "Camp Stove", "Default Title", "89.50", vendor="Northwind Supply")
    code, out = cli("listing", "vendor", "acme", "Peak Gear", "peak")
    assert code == 0 and "vendor 'Peak Gear' -> peak; 1 vendor(s) in its rule" in out, out
    code, out = cli("listing", "vendor", "acme", "Peak Gear", "summit")
    assert code == 1 and "buys from no seller 'summit'" in out
    stack.runner.fire_schedules("CatalogSyncFunction")
    stack.runner.drain()
    code, out = cli("listing", "list", "acme")
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0].isdigit()}
    assert "peak (vendor)" in rows[str(jacket)] and "northwind (sku)" in rows[str(stove)], out
    code, out = cli("listing", "vendors", "acme")
    assert code == 0 and "Peak Gear" in out and "-> peak" in out

    acme.add_order(order_node(7001, "#7001", [("ACME-JKT", "Storm Jacket", 1, "180.00")], US_ADDRESS))
    run_hour(stack)
    records = {r.order_key: r for r in DynamoOrders(stack.output("OrdersTableName")).all()}
    assert records.keys() == {"acme--peak#7001"}
    assert (records["acme--peak#7001"].status, records["acme--peak#7001"].reason) == (
        OrderStatus.FAILED,
        FailureReason.SKU_MISMATCH,
    )
    assert "ACME-JKT" in _mail_to(world, "peak") and _mail_to(world, "northwind") == ""
