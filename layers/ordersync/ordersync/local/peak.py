"""`ordersync local peak`: a Black Friday hour on the local stack.

Hundreds of buyer stores, each connected to one of a handful of sellers; one seller is hot (fed by
over half the buyers). With `mixed_buyers`, six more sellers join and that many buyers buy from all
ten at once: each order mixes two to four sellers' lines, half of them with one of the retailer's
own, split into one part per seller. The seller stores enforce their real limits: Shopify's cost bucket at the
Standard plan (2,000 points, 100 restored a second), BigCommerce's request window (150 requests
per 30 s), and a WooCommerce host answering 429 past 5 requests a second. The hot seller is on
BigCommerce: at Shopify's Standard plan a shop takes 10 creates a second, more than this machine
posts to one seller (docs/scale.md). The hour runs as the
schedule runs it (the catalogs synced, the pull at :20, OrdersQueue drained, the alerts sent),
and the invariants are checked: no order lost, none posted twice, none failed because a store
asked us to slow down. It says how long the hour took to drain and how often each store refused
a request for its pace."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ordersync.aws.orders import DynamoOrders
from ordersync.local.demo import BC_ADDRESS, US_ADDRESS, WOO_ADDRESS
from ordersync.local.fakes.bigcommerce import QUOTA, WINDOW_SECONDS, FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.shopify import (
    STANDARD_BUCKET,
    STANDARD_RESTORE_RATE,
    FakeShopify,
    LeakyBucket,
    order_node,
)
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order
from ordersync.local.runner import in_background
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus

WOO_HOST_LIMIT = (5, 1.0)  # requests per second before the host answers 429 (docs/scale.md's assumption)
HOT_SELLER = "ridge"  # BigCommerce: 150 requests per 30 s is the limit this machine's pace can reach
HOT_SHARE = 0.55  # of the buyers, into the hot seller
SKUS_PER_SELLER = 20
MORE_SELLERS = 6  # joining the four when there are buyers of many sellers: ten in all
OWN_SKUS = [f"OWN-{n:02d}" for n in range(5)]  # the mixed buyers' own products


@dataclass(frozen=True)
class Limits:
    """The seller stores' limits: real ones by default; a test scales them down to make a small
    hour hit them."""

    shopify_bucket: float = STANDARD_BUCKET
    shopify_restore_rate: float = STANDARD_RESTORE_RATE
    bigcommerce_quota: int = QUOTA
    bigcommerce_window_seconds: float = WINDOW_SECONDS
    woocommerce_host: tuple[int, float] = WOO_HOST_LIMIT


@dataclass
class PeakReport:
    connections: int
    orders: int
    orders_by_seller: dict[str, int]
    synced: int
    lost: int
    posted_twice: int
    by_status: dict[str, int]
    failed_for_throttling: int
    throttled_requests: dict[str, int]
    # A Shopify shop's bucket at its lowest (Shopify's clients wait for the pace before they are
    # refused: a bucket run dry is its limit met, though no query was THROTTLED)
    bucket_lowest: dict[str, float]
    # BigCommerce's request windows spent to the last request: the limit met, whether the next
    # request was refused (429) or the client, told "0 left", waited for the reset on its own
    windows_spent: dict[str, int]
    drain_seconds: float
    invocations: dict[str, int]
    overruns: int
    # Buyers of all ten sellers: the parts their orders split into, their own lines (in no part), and
    # any line in a part of a seller it isn't of (must be none).
    mixed_buyers: int = 0
    mixed_parts: int = 0
    own_lines: int = 0
    misrouted: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return (
            not self.lost
            and not self.posted_twice
            and not self.failed_for_throttling
            and self.synced == self.orders
            and not self.overruns
            and not self.misrouted
        )


@dataclass
class _Seller:
    store_id: str
    fake: Any
    skus: list[str]
    copies: Callable[[], Counter[str]]  # source key -> orders created in the store for it


def run_peak(
    connections: int = 200,
    orders_per_connection: int = 10,
    seed: int = 1,
    limits: Limits | None = None,
    concurrency: int = 8,
    hot_seller: str = HOT_SELLER,
    echo: Callable[[str], None] = print,
    mixed_buyers: int = 0,
) -> PeakReport:
    rng = random.Random(seed)
    with LocalStack.start({"LogLevel": "CRITICAL", "MaxReceiveCount": "3"}) as stack:
        world = World(stack)
        try:
            sellers = _sellers(world, limits or Limits())
            seeded = _buyers(world, sellers, hot_seller, connections, orders_per_connection, rng)
            mixed: list[tuple[str, str]] = []
            own = 0
            if mixed_buyers:
                sellers |= _more_sellers(world, limits or Limits())
                mixed, own = _mixed_buyers(world, sellers, mixed_buyers, orders_per_connection, rng)
                echo(f"   {mixed_buyers} buyers of all {len(sellers)} sellers: {len(mixed)} parts, {own} own lines")
            seeded += mixed
            echo(
                f"   {connections} connections into {len(sellers)} sellers"
                f" ({', '.join(f'{s}: {n}' for s, n in _per_seller(seeded).items())} orders)"
            )
            stack.runner.fire_schedules("CatalogSyncFunction")
            stack.runner.drain()
            if stack.runner.async_failures:
                raise RuntimeError(f"the catalog sync failed: {stack.runner.async_failures}")
            echo("   catalogs synced; the pull at :20 ...")
            # ProcessOrderFunction as the event source mapping runs it: several invocations at once,
            # each its own container pacing each store on its own (Shopify's bucket is shared).
            stack.runner.concurrency["ProcessOrderFunction"] = concurrency
            started = time.monotonic()
            with _progress(sellers, len(seeded), started, echo):
                stack.runner.run_hour()
            drained = time.monotonic() - started
            report = _check(stack, sellers, seeded, drained)
            report.mixed_buyers, report.mixed_parts, report.own_lines = mixed_buyers, len(mixed), own
            report.misrouted = _misrouted(stack)
            return report
        finally:
            world.stop()


@contextmanager
def _progress(
    sellers: dict[str, _Seller], orders: int, started: float, echo: Callable[[str], None], every: float = 60.0
) -> Iterator[None]:
    """Every minute, how many orders the sellers' stores hold (read from the fakes, not AWS)."""

    def report(stop: threading.Event) -> None:
        while not stop.wait(every):
            with contextlib.suppress(RuntimeError):  # a store took an order while it was counted
                posted = sum(sum(seller.copies().values()) for seller in sellers.values())
                echo(f"   {time.monotonic() - started:.0f} s: {posted} of {orders} orders in the sellers' stores")

    with in_background(report):
        yield


def _sellers(world: World, limits: Limits) -> dict[str, _Seller]:
    peak = world.add_shopify("peak", "Peak Gear")
    summit = world.add_shopify("summit", "Summit Supply")
    northwind = world.add_woocommerce("northwind", "Northwind Supply", shipment_tracking=True)
    ridge = world.add_bigcommerce("ridge", "Ridge Outdoor", auto_post=True)  # the hot one
    for shop in (peak, summit):
        shop.bucket = LeakyBucket(limits.shopify_bucket, limits.shopify_restore_rate)
    ridge.quota, ridge.window_seconds = limits.bigcommerce_quota, limits.bigcommerce_window_seconds
    northwind.host_limit = limits.woocommerce_host
    skus: dict[str, list[str]] = {}
    for n in range(SKUS_PER_SELLER):
        peak.add_variant(7000 + n, f"PK-{n:02d}", 700 + n, f"Jacket {n}", "M", "180.00")
        summit.add_variant(8000 + n, f"SM-{n:02d}", 800 + n, f"Boot {n}", "42", "120.00")
        northwind.add_product(100 + n, f"NW-{n:02d}", f"Stove {n}", "89.50")
        ridge.add_variant(500 + n, 5000 + n, f"RG-{n:02d}", f"Tarp {n}", "42.0000")
    for prefix, store_id in (("PK", "peak"), ("SM", "summit"), ("NW", "northwind"), ("RG", "ridge")):
        skus[store_id] = [f"{prefix}-{n:02d}" for n in range(SKUS_PER_SELLER)]
    return {
        "peak": _Seller("peak", peak, skus["peak"], lambda: _tags(peak)),
        "summit": _Seller("summit", summit, skus["summit"], lambda: _tags(summit)),
        "northwind": _Seller("northwind", northwind, skus["northwind"], lambda: _metas(northwind)),
        "ridge": _Seller("ridge", ridge, skus["ridge"], lambda: _notes(ridge)),
    }


def _more_sellers(world: World, limits: Limits) -> dict[str, _Seller]:
    """Six more sellers, Shopify and WooCommerce in turn, at the same limits: ten with the four."""
    more = {}
    for i in range(MORE_SELLERS):
        store_id, prefix = f"supplier-{i}", f"S{i}"
        skus = [f"{prefix}-{n:02d}" for n in range(SKUS_PER_SELLER)]
        if i % 2 == 0:
            shop = world.add_shopify(store_id, f"Supplier {i}")
            shop.bucket = LeakyBucket(limits.shopify_bucket, limits.shopify_restore_rate)
            for n, sku in enumerate(skus):
                shop.add_variant(20_000 + i * 100 + n, sku, 2_000 + i * 100 + n, f"Item {sku}", "One", "25.00")
            more[store_id] = _Seller(store_id, shop, skus, functools.partial(_tags, shop))
        else:
            woo = world.add_woocommerce(store_id, f"Supplier {i}", shipment_tracking=True)
            woo.host_limit = limits.woocommerce_host
            for n, sku in enumerate(skus):
                woo.add_product(3_000 + i * 100 + n, sku, f"Item {sku}", "25.00")
            more[store_id] = _Seller(store_id, woo, skus, functools.partial(_metas, woo))
    return more


def _mixed_buyers(
    world: World, sellers: dict[str, _Seller], count: int, orders_each: int, rng: random.Random
) -> tuple[list[tuple[str, str]], int]:
    """Buyers of every seller (Shopify, WooCommerce, BigCommerce in turn): each order two to four
    sellers' lines, half of them with one of the retailer's own. Returns (part key, seller) per
    part, and how many own lines there are."""
    parts, own = [], 0
    for n in range(count):
        buyer_id = f"retailer-{n:02d}"
        kind = n % 3
        fake = _buyer_store(world, kind, buyer_id, f"Retailer {n}")
        for seller in sellers:
            world.connect(buyer_id, seller)
        for k in range(orders_each):
            number = 50_000 + n * 100 + k
            chosen = rng.sample(sorted(sellers), rng.randint(2, 4))
            lines = [(rng.choice(sellers[s].skus), rng.randint(1, 3)) for s in chosen]
            if rng.random() < 0.5:
                lines.append((rng.choice(OWN_SKUS), 1))
                own += 1
            _add_order(fake, kind, number, lines)
            parts += [(f"{buyer_id}--{s}#{number}", s) for s in chosen]
    return parts, own


def _misrouted(stack: LocalStack) -> list[str]:
    """Lines in a part of a seller they aren't of (each seller's SKUs have their own prefix)."""
    prefixes = {"PK": "peak", "SM": "summit", "NW": "northwind", "RG": "ridge"}
    prefixes |= {f"S{i}": f"supplier-{i}" for i in range(MORE_SELLERS)}
    return [
        f"{record.order_key}: {line.sku}"
        for record in DynamoOrders(stack.output("OrdersTableName")).all()
        for line in record.lines
        if prefixes.get((line.sku or "").split("-", 1)[0]) != record.seller_id
    ]


def _buyers(
    world: World,
    sellers: dict[str, _Seller],
    hot_seller: str,
    connections: int,
    orders_each: int,
    rng: random.Random,
) -> list[tuple[str, str]]:
    """Each buyer its own store (Shopify, WooCommerce, BigCommerce in turn) and one connection;
    over half into the hot seller. Returns (order key, seller) per order."""
    others = [s for s in sellers if s != hot_seller]
    hot = round(connections * HOT_SHARE)
    seeded = []
    for n in range(connections):
        seller = sellers[hot_seller if n < hot else others[n % len(others)]]
        buyer_id = f"buyer-{n:03d}"
        kind = n % 3
        fake = _buyer_store(world, kind, buyer_id, f"Buyer {n}")
        world.connect(buyer_id, seller.store_id)
        for k in range(orders_each):
            number = 10_000 + n * 100 + k
            lines = [(rng.choice(seller.skus), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
            _add_order(fake, kind, number, lines)
            seeded.append((f"{buyer_id}--{seller.store_id}#{number}", seller.store_id))
    return seeded


def _buyer_store(world: World, kind: int, buyer_id: str, name: str) -> Any:
    """A buyer's own fake store: Shopify (0), WooCommerce (1) or BigCommerce (2), as _add_order writes to it."""
    add = (world.add_shopify, world.add_woocommerce, world.add_bigcommerce)[kind]
    return add(buyer_id, name)


def _add_order(fake: Any, kind: int, number: int, lines: list[tuple[str, int]]) -> None:
    """Each SKU the buyer's own product id (its listing's key: one product, one seller)."""
    if kind == 0:
        fake.add_order(order_node(number, f"#{number}", [(s, s, q, "10.00") for s, q in lines], US_ADDRESS))
    elif kind == 1:
        woo_lines: list[tuple[str | None, str, int, str, int, int]] = [
            (s, s, q, "10.00", _product_id(s), 0) for s, q in lines
        ]
        fake.add_order(woocommerce_order(number, woo_lines, WOO_ADDRESS, status="processing"))
    else:
        products = [
            {
                "id": i,
                "product_id": _product_id(sku),
                "variant_id": _product_id(sku),
                "sku": sku,
                "name": sku,
                "quantity": quantity,
                "price_inc_tax": "10.0000",
                "type": "physical",
            }
            for i, (sku, quantity) in enumerate(lines, start=1)
        ]
        fake.add_order(bigcommerce_order(number), products, [BC_ADDRESS])


def _check(stack: LocalStack, sellers: dict[str, _Seller], seeded: list[tuple[str, str]], drained: float) -> PeakReport:
    records = {r.order_key: r for r in DynamoOrders(stack.output("OrdersTableName")).all()}
    copies: Counter[str] = Counter()
    for seller in sellers.values():
        copies.update(seller.copies())

    def source_key(order_key: str) -> str:
        return "ordersync-" + order_key.replace("#", "-")

    statuses = Counter(records[key].status.value for key, _ in seeded if key in records)
    throttling = [
        key
        for key, _ in seeded
        if key in records
        and records[key].status is OrderStatus.FAILED
        and records[key].reason is FailureReason.PLATFORM_UNAVAILABLE
    ]
    invocations = Counter(function for function, _, _ in stack.runner.invocations)
    return PeakReport(
        connections=len({key.split("#")[0] for key, _ in seeded}),
        orders=len(seeded),
        orders_by_seller=_per_seller(seeded),
        synced=sum(
            1
            for key, _ in seeded
            if key in records and records[key].status is OrderStatus.SYNCED and copies[source_key(key)] == 1
        ),
        lost=sum(1 for key, _ in seeded if key not in records and not copies[source_key(key)]),
        posted_twice=sum(n - 1 for n in copies.values() if n > 1),
        by_status=dict(sorted(statuses.items())),
        failed_for_throttling=len(throttling),
        throttled_requests={store_id: seller.fake.throttled for store_id, seller in sellers.items()},
        bucket_lowest={s: seller.fake.bucket.lowest for s, seller in sellers.items() if hasattr(seller.fake, "bucket")},
        windows_spent={
            s: seller.fake.windows_spent for s, seller in sellers.items() if hasattr(seller.fake, "windows_spent")
        },
        drain_seconds=round(drained, 1),
        invocations=dict(sorted(invocations.items())),
        overruns=len(stack.runner.overruns),
    )


def _product_id(sku: str) -> int:
    """A buyer's product id for a SKU, the same in every buyer store (stable across runs)."""
    return 1 + int(hashlib.sha256(sku.encode()).hexdigest()[:8], 16) % 9_000_000


def _per_seller(seeded: list[tuple[str, str]]) -> dict[str, int]:
    return dict(Counter(seller for _, seller in seeded).most_common())


def _tags(shop: FakeShopify) -> Counter[str]:
    return Counter(tag for node in shop.created_orders() for tag in node["tags"])


def _metas(store: FakeWooCommerce) -> Counter[str]:
    return Counter(
        m["value"] for order in store.created_orders() for m in order["meta_data"] if m["key"] == "_ordersync_source"
    )


def _notes(store: FakeBigCommerce) -> Counter[str]:
    return Counter(order["staff_notes"] for order in store.created_orders())
