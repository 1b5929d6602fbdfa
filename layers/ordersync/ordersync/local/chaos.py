"""`ordersync local chaos`: the local stack under faults, run hour after hour until the queues are
drained; then ops redrive what the outage failed (PLATFORM_UNAVAILABLE), and the invariants are
checked:

- every buyer order ends in exactly one terminal state (FAILED ones with their message in the DLQ);
- every order that should sync has exactly one copy in the seller's store;
- no order is missing from the stores, the records and the DLQ alike;
- every message in the DLQ says why (its reason attribute, or a FAILED record);
- no invocation ran past its timeout (Lambda would have killed it, and its claim with it).

Faults: stores answer 500 / 429 / stall past the client's timeout, also after the order was
created (the response is lost); seller stores' look-ups lag their creates; DynamoDB throttles,
also every write of some orders until their message is in the DLQ; SQS delivers twice, later or
at the same moment (a second consumer in a thread); invocations crash between records and between
the post and the record. Each is decided by the seed and what it hits (the order, the call, the
message, and how often each came before), never by timing, so a seed replays the same campaign.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from ordersync.alerts.messages import message_fields
from ordersync.aws.messaging import SqsDlqAdmin
from ordersync.aws.orders import DynamoOrders
from ordersync.domain.catalog import VariantStatus
from ordersync.local.demo import BC_ADDRESS, US_ADDRESS, WOO_ADDRESS
from ordersync.local.fakes.bigcommerce import FakeBigCommerce, bigcommerce_order
from ordersync.local.fakes.server import Fault, ListingLag, RandomFaults
from ordersync.local.fakes.shopify import order_node
from ordersync.local.fakes.webhooks import Deliveries
from ordersync.local.fakes.woocommerce import FakeWooCommerce, woocommerce_order
from ordersync.local.runner import DeliveryChaos, InvocationCrashed
from ordersync.local.stack import LocalStack, reset_cached_clients
from ordersync.local.world import World
from ordersync.models import OrderStatus, Platform, utc_now
from ordersync.normalize import order_key_of
from ordersync.platforms.bigcommerce import BigCommerceStore
from ordersync.platforms.shopify import ShopifyStore
from ordersync.platforms.woocommerce import WooCommerceStore
from ordersync.records import OrderRecord
from ordersync.services.process import process_message

ADAPTERS: dict[Platform, Any] = {
    Platform.SHOPIFY: ShopifyStore,
    Platform.WOOCOMMERCE: WooCommerceStore,
    Platform.BIGCOMMERCE: BigCommerceStore,
}

TERMINAL = {
    OrderStatus.SYNCED,
    OrderStatus.FAILED,
    OrderStatus.DISREGARDED,
    OrderStatus.MANUAL_POSTING_PENDING,
    OrderStatus.POSTED_MANUALLY,
    OrderStatus.CANCELLED,
}


@dataclass
class Seeded:
    order_key: str
    should_sync: bool
    kind: str


@dataclass
class ChaosReport:
    orders: int
    lost: int
    duplicates_posted: int
    by_status: dict[str, int]
    should_sync: int
    synced: int
    not_terminal: int
    failed_without_dlq_message: int
    dlq_without_reason: int
    overruns: int
    rounds: int
    faults: dict[str, int] = field(default_factory=dict)
    posted_twice: list[str] = field(default_factory=list)  # the seller orders' source keys, to look into
    not_synced: list[str] = field(default_factory=list)  # should have synced, and didn't: "<key> <status>"
    parcels: int = 0  # shipped by the sellers, one per synced order
    parcels_lost: int = 0  # in no buyer store, and not kept in ShipmentsDLQ with a reason
    parcels_written_twice: int = 0
    parcels_twice: list[str] = field(default_factory=list)  # their tracking numbers, to look into
    edits_unexplained: list[str] = field(default_factory=list)  # stores apart after the buyers' edits, no reason told
    divergences_planted: int = 0  # changed by hand in one store, no webhook saying so
    divergences_undetected: list[str] = field(default_factory=list)  # planted, not reported by the drift check
    divergences_invented: list[str] = field(default_factory=list)  # reported, not planted
    # The retailer of many sellers (harbor): its orders' parts, its own lines (never posted, never
    # told), its orders of its own lines only (no record, no copy), and any line that reached a
    # seller it isn't of (a part's record, a copy, an email): must be none.
    parts: int = 0
    own_lines: int = 0
    own_only_orders: int = 0
    own_only_touched: list[str] = field(default_factory=list)
    misrouted: list[str] = field(default_factory=list)
    timeouts: str = "local"  # the clock it ran on (CampaignTimeouts.name)


@dataclass(frozen=True)
class CampaignTimeouts:
    """The clock the campaign runs on: the store clients' read timeout, how long a stalled store
    holds an answer (past that timeout), and the functions' timeout (ProcessOrder's and
    SyncShipments', one figure: a crashed attempt's claim lapses there)."""

    name: str
    read: float
    stall: float
    function: float


# Local: short, so a campaign runs in minutes. Production: the deployed read timeout (20 s) against
# ProcessOrderFunction's 30 s — a stall holds an invocation's request for most of its time.
# SyncShipments' 300 s is cut to the same 30 s there: a crashed check's claim would wait 5 minutes.
LOCAL_TIMEOUTS = CampaignTimeouts("local", read=0.5, stall=0.7, function=10.0)
PRODUCTION_TIMEOUTS = CampaignTimeouts("production", read=20.0, stall=21.0, function=30.0)
TIMEOUTS = {t.name: t for t in (LOCAL_TIMEOUTS, PRODUCTION_TIMEOUTS)}


def run_chaos(
    orders: int,
    fault_rate: float,
    seed: int,
    echo: Callable[[str], None] = print,
    max_rounds: int = 12,
    search_lag: float = 3.0,
    timeouts: CampaignTimeouts = LOCAL_TIMEOUTS,
) -> ChaosReport:
    seeds = random.Random(seed)
    with LocalStack.start({"LogLevel": "CRITICAL", "MaxReceiveCount": "3"}) as stack:
        os.environ["ORDERSYNC_HTTP_READ_TIMEOUT"] = str(timeouts.read)  # after the stack's own: stalls time out
        stack.runner.timeouts["ProcessOrderFunction"] = timeouts.function
        world = World(stack)
        try:
            seeded, sellers = _seed(world, orders, seeds)
            store_faults = RandomFaults(seeds.randrange(2**32), fault_rate, stall_seconds=timeouts.stall)
            lags = {}
            for store_id, store in world.stores.items():
                assert store.fake is not None
                store.fake.server.random_faults = store_faults
                if store_id in sellers:  # a look-up can miss a fresh order, for no longer than the adapter allows for
                    most = min(search_lag, ADAPTERS[store.platform].search_lag_seconds)
                    lags[store_id] = store.fake.server.listing_lag = ListingLag(seeds.randrange(2**32), most)
            chaos = DeliveryChaos(
                seeds.randrange(2**32),
                duplicate_rate=fault_rate / 2,
                crash_rate=fault_rate / 2,
                concurrent_rate=fault_rate / 2,
                twin=functools.partial(_second_consumer, stack.runner.overruns, timeouts.function),
            )
            stack.runner.chaos = chaos
            unwritable = {s.order_key for s in seeds.sample(seeded, max(1, round(len(seeded) * fault_rate / 8)))}
            dynamodb = DynamoFaults(seeds.randrange(2**32), fault_rate / 4, set(unwritable))
            edits = BuyerEdits(world, seeds.randrange(2**32), fault_rate)
            for seller_id in sellers:
                world.stores[seller_id].fake.server.on_create = functools.partial(edits.during_post, seller_id)  # type: ignore[union-attr]
            with (
                dynamodb.installed(),
                crashes_between_post_and_record(seeds.randrange(2**32), fault_rate / 4) as crashes,
                few_pages_per_pull(),
            ):
                rounds = _run_until_settled(stack, seeded, max_rounds, echo)
                stack.runner.run_hour()  # the buyers' edits made during the last posts, pulled under the faults too
            for seller_id in sellers:
                world.stores[seller_id].fake.server.on_create = None  # type: ignore[union-attr]
            for store in world.stores.values():
                assert store.fake is not None
                store.fake.server.random_faults = None
                store.fake.server.listing_lag = None
            stack.runner.chaos = None
            faults = {
                "store_faults": store_faults.injected,
                "responses_lost_after_create": store_faults.by_kind["after_write"],
                "creates_hidden_from_lookups": sum(lag.lagged for lag in lags.values()),
                "dynamodb_throttles": dynamodb.throttled,
                "orders_unwritable_for_a_while": dynamodb.unwritable_for_a_while,
                "duplicate_deliveries": chaos.duplicates,
                "concurrent_deliveries": chaos.concurrent,
                "crashed_invocations": chaos.crashes,
                "crashes_between_post_and_record": crashes["count"],
                "buyer_edits_during_the_post": len(edits.made),
            }
            echo(
                f"   {dynamodb.retried_later} deliveries retried later (order held by another attempt, or the"
                f" store's look-up not yet sure to show it); order lists that left out a fresh order:"
                f" {sum(lag.hidden for lag in lags.values())}"
            )
            redriven = _ops_redrive(stack)
            echo(
                f"   after the faults: ops redrove {len(redriven)} PLATFORM_UNAVAILABLE orders from the DLQ"
                f" {dict(what_failed(redriven))}"
            )
            report = _check(stack, seeded, sellers, rounds, faults, edits.cancelled)
            report.timeouts = timeouts.name
            shipped = ship_under_faults(stack, world, seeds, fault_rate, echo, edits, timeouts)
            stack.runner.run_hour()  # the cancellations made during the shipments, pulled
            baseline = _drift_reported(stack)  # what the edits left apart: each must be explained
            report.edits_unexplained = _unexplained(stack, baseline)
            for found in report.edits_unexplained:  # what the record says, so a failing campaign shows why
                echo(_story(stack, found.rsplit(" ", 1)[0]))
            report.faults["buyer_cancellations_during_a_shipment"] = (
                len(edits.made) - report.faults["buyer_edits_during_the_post"]
            )
            report.faults |= shipped.faults
            report.parcels, report.parcels_lost = shipped.parcels, shipped.lost
            report.parcels_written_twice, report.parcels_twice = len(shipped.twice), shipped.twice
            planted = plant_divergences(world, stack, seeds, {found.rsplit(" ", 1)[0] for found in baseline})
            reported = _drift_reported(stack)
            report.divergences_planted = len(planted)
            report.divergences_undetected = sorted(planted - reported)
            report.divergences_invented = sorted(reported - planted - baseline)
            echo(f"   planted {len(planted)} divergences by hand; the drift check reported {len(reported)}")
            _many_sellers(stack, world, sellers, report)
            echo(
                f"   harbor, a retailer of two sellers: {report.parts} parts, {report.own_lines} lines of its own"
                f" ({report.own_only_orders} orders of its own lines only), {len(report.misrouted)} lines misrouted"
            )
            return report
        finally:
            world.stop()


def _second_consumer(overruns: list[str], timeout: float, record: dict[str, Any]) -> None:
    """Another ProcessOrderFunction instance handed the same message at the same moment, with its
    own deadline, as the batch handler sets one (without it, its store waits had no bound, and an
    attempt that outlived its claim could post after another took the order over: a CI run posted
    one order twice so). Nothing kills it at its deadline as Lambda would: running past it is
    counted as an overrun."""
    from ordersync.invocation import invocation_ends_in
    from ordersync.wiring import process_dependencies

    receive_count = int(record["attributes"].get("ApproximateReceiveCount", 1))
    started = time.perf_counter()
    deadline = utc_now() + timedelta(seconds=timeout)
    with (
        contextlib.suppress(Exception, InvocationCrashed),  # its failures are SQS's to retry, as for any delivery
        invocation_ends_in(timeout),
    ):
        process_message(record["body"], record["messageId"], receive_count, process_dependencies(), deadline)
    if (elapsed := time.perf_counter() - started) > timeout:
        overruns.append(f"ProcessOrderFunction (a concurrent delivery): {elapsed:.1f} s")


def _ops_redrive(stack: LocalStack) -> list[dict[str, Any]]:
    """What ops do after an outage: move the orders the stores' trouble failed back to the queue."""
    dlq = SqsDlqAdmin(stack.output("OrdersDLQUrl"), stack.output("OrdersQueueUrl"))
    moved = dlq.move(lambda m: message_fields(m)["reason"] == "PLATFORM_UNAVAILABLE")
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")
    return moved


def what_failed(messages: list[dict[str, Any]]) -> Counter[str]:
    """What the redriven messages gave up on, by the error their detail names ("gave up after 3
    deliveries: ResourceThrottled: ..."), and "no reason" for a message SQS moved there bare: the
    campaign's report says which of the system's retries ops did by hand."""
    failed: Counter[str] = Counter()
    for message in messages:
        fields = message_fields(message)
        detail = fields["detail"] if isinstance(fields.get("detail"), str) else ""
        named = re.search(r"gave up ([^:]*): (\w+)", detail)
        if named:
            failed[f"{named.group(2)} ({named.group(1)})"] += 1
        elif "reason" in message.get("MessageAttributes", {}):
            failed[f"{fields['reason']}: {detail[:60]}"] += 1
        else:
            failed["no reason (moved there by SQS)"] += 1
    return failed


@contextmanager
def few_pages_per_pull(pages: int = 4) -> Iterator[None]:
    """Each pull invocation takes a few pages and queues its continuation, so OrdersQueue stays
    short (moto's SQS slows down as a queue grows; on AWS many consumers keep it short), and a
    duplicated continuation (which duplicates the rest of its chain) stays a short chain."""
    from ordersync.services import pull

    previous = pull.MAX_PAGES_PER_INVOCATION
    pull.MAX_PAGES_PER_INVOCATION = pages
    try:
        yield
    finally:
        pull.MAX_PAGES_PER_INVOCATION = previous


# How many writes in a row an unwritable order's record is refused (a hot key's bad minute): past
# the SDK's retries each time, so the order is held back (no delivery spent) and written after.
UNWRITABLE_WRITES = 4


@dataclass
class DynamoFaults:
    """ProvisionedThroughputExceededException through botocore hooks: on a share of DynamoDB calls
    (each decided by the seed, the operation, the item and how often that call came before), and on
    the first UNWRITABLE_WRITES writes of the `unwritable` orders (refused whichever attempt makes
    them): the order is sent again later, spending no delivery, until its record can be written."""

    seed: int
    rate: float
    unwritable: set[str]
    throttled: int = 0
    unwritable_refused: Counter[str] = field(default_factory=Counter)
    retried_later: int = 0
    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A client made while installed keeps a copy of the session's hooks after they are unregistered
    # (botocore copies the emitter into each client): off, they let every call through.
    active: bool = False

    @staticmethod
    def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """before-call sees the serialised request; the call's own parameters are kept for it here."""
        context["ordersync_api_params"] = params

    @property
    def unwritable_for_a_while(self) -> int:
        """The unwritable orders whose every refusal fired."""
        return sum(1 for n in self.unwritable_refused.values() if n >= UNWRITABLE_WRITES)

    def dynamodb(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        target = _call_target(context.get("ordersync_api_params") or {})
        order_key = (json.loads(target) if target.startswith("{") else {}).get("order_key", {}).get("S")
        with self.lock:
            if not self.active:
                return None
            self.seen[f"{model.name}|{target}"] += 1
            write = model.name in ("UpdateItem", "PutItem")
            if write and order_key in self.unwritable and self.unwritable_refused[order_key] < UNWRITABLE_WRITES:
                self.unwritable_refused[order_key] += 1
                refuse = True
            else:
                count = self.seen[f"{model.name}|{target}"]
                refuse = random.Random(f"{self.seed}|{model.name}|{target}|{count}").random() < self.rate
            if not refuse:
                return None
            self.throttled += 1
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "injected by ordersync local chaos"}
        return AWSResponse("https://dynamodb.local", 400, {}, None), {"Error": error, "ResponseMetadata": {}}

    def sqs(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """Watches, never refuses: which messages were sent back to OrdersQueue with a delay (an
        order retried later)."""
        with self.lock:
            if self.active and params.get("DelaySeconds"):
                self.retried_later += 1

    @contextmanager
    def installed(self) -> Iterator[None]:
        events = boto3._get_default_session().events
        hooks: list[tuple[str, Callable[..., Any]]] = [
            ("before-parameter-build.dynamodb", self.keep_params),
            ("before-call.dynamodb", self.dynamodb),
            ("before-parameter-build.sqs.SendMessage", self.sqs),
        ]
        for event, hook in hooks:
            events.register(event, hook, unique_id=f"ordersync-chaos-{event}")
        reset_cached_clients()  # the functions' next clients carry the hooks
        self.active = True
        try:
            yield
        finally:
            self.active = False
            for event, _ in hooks:
                events.unregister(event, unique_id=f"ordersync-chaos-{event}")


def _call_target(params: dict[str, Any]) -> str:
    """What a DynamoDB call is about, without what changes from run to run (times, attempt ids)."""
    if "Key" in params:
        return json.dumps(params["Key"], sort_keys=True)
    if "Item" in params:
        item = params["Item"]
        return json.dumps(
            {k: item[k] for k in ("order_key", "connection_id", "seller_id", "sku") if k in item}, sort_keys=True
        )
    return json.dumps(params.get("RequestItems") or params.get("TableName"), sort_keys=True, default=str)


@contextmanager
def crashes_between_post_and_record(seed: int, rate: float) -> Iterator[dict[str, int]]:
    """The function dies after the seller's store created the order and before the record says so."""
    counter = {"count": 0}
    seen: Counter[str] = Counter()
    original = DynamoOrders.save

    def save(self: DynamoOrders, record: OrderRecord) -> None:
        if record.status is OrderStatus.SYNCED:
            seen[record.order_key] += 1
            if random.Random(f"{seed}|{record.order_key}|{seen[record.order_key]}").random() < rate:
                counter["count"] += 1
                raise InvocationCrashed(f"crashed before recording {record.order_key}")
        original(self, record)

    DynamoOrders.save = save  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        DynamoOrders.save = original  # type: ignore[method-assign]


def _seed(world: World, count: int, rng: random.Random) -> tuple[list[Seeded], dict[str, Any]]:
    acme = world.add_shopify("acme", "Acme Outfitters")
    northwind = world.add_woocommerce("northwind", "Northwind Supply", shipment_tracking=True)
    brightside = world.add_woocommerce("brightside", "Brightside Home")
    peak = world.add_shopify("peak", "Peak Gear")
    delta = world.add_bigcommerce("delta", "Delta Goods")
    ridge = world.add_bigcommerce("ridge", "Ridge Outdoor", auto_post=True)
    northwind.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    peak.add_variant(7001, "PK-JACKET-M", 700, "Storm Jacket", "M", "180.00")
    ridge.add_variant(501, 5011, "RG-TARP-3M", "Tarp 3m", "42.0000")
    world.add_catalog("northwind", [("102", "102", "NW-STOVE", "Camp Stove", "")])
    world.add_catalog("peak", [("700", "7001", "PK-JACKET-M", "Storm Jacket", "M")])
    world.add_catalog("ridge", [("501", "5011", "RG-TARP-3M", "Tarp", "3m")])
    for seller, gone in (("northwind", "NW-GONE"), ("peak", "PK-GONE"), ("ridge", "RG-GONE")):  # renamed since
        world.add_catalog(seller, [("9", "9", gone, "Renamed", "")], VariantStatus.DELETED)
    harbor = world.add_shopify("harbor", "Harbor Supply Co")  # a retailer of many sellers, and of its own
    for buyer, seller in (("acme", "northwind"), ("brightside", "peak"), ("delta", "ridge"), *HARBOR_SELLERS):
        world.connect(buyer, seller)
    for seller in ("northwind", "peak", "ridge"):
        world.subscribe_seller(seller, f"orders@{seller}.example")
    seeded = []
    for number in range(1, count + 1):
        kind = rng.choices(["good", "mismatch", "no_address", "cancelled", "invalid"], [80, 7, 5, 4, 4])[0]
        connection = number % 4
        price = "call us" if kind == "invalid" else "10.00"
        if connection == 3:
            seeded += _harbor_order(harbor, number, kind, rng)
            continue
        if connection == 0:
            sku = "NW-GONE" if kind == "mismatch" else "NW-STOVE"
            node = order_node(
                number,
                f"#{number}",
                [(sku, "Stove", 1, price)],
                None if kind == "no_address" else US_ADDRESS,
                cancelled=kind == "cancelled",
            )
            acme.add_order(node)
            key = f"acme--northwind#{number}"
        elif connection == 1:
            sku = "PK-GONE" if kind == "mismatch" else "PK-JACKET-M"
            order = woocommerce_order(
                number,
                [(sku, "Jacket", 1, "180.00", 55, 0)],
                None if kind == "no_address" else WOO_ADDRESS,
                status="cancelled" if kind == "cancelled" else "processing",
            )
            if kind == "invalid":
                order["line_items"][0]["quantity"] = "lots"
            brightside.add_order(order)
            key = f"brightside--peak#{number}"
        else:
            sku = "RG-GONE" if kind == "mismatch" else "RG-TARP-3M"
            quantity: Any = "lots" if kind == "invalid" else 1
            products = [
                {
                    "id": 1,
                    "product_id": 1,
                    "variant_id": 1,
                    "sku": sku,
                    "name": "Tarp",
                    "quantity": quantity,
                    "price_inc_tax": "42.0000",
                    "type": "physical",
                }
            ]
            delta.add_order(
                bigcommerce_order(number, status="Cancelled" if kind == "cancelled" else "Awaiting Fulfillment"),
                products,
                [] if kind == "no_address" else [BC_ADDRESS],
                malformed=kind == "invalid",
            )
            key = f"delta--ridge#{number}"
        seeded.append(Seeded(key, kind == "good", kind))
    return seeded, {"northwind": northwind, "peak": peak, "ridge": ridge}


# The retailer of many sellers: its orders mix northwind's stoves, peak's jackets and its own candles.
HARBOR_SELLERS = (("harbor", "northwind"), ("harbor", "peak"))
HARBOR_LINES = {
    "northwind": ("NW-STOVE", "NW-GONE", "Harbor's camp stove"),
    "peak": ("PK-JACKET-M", "PK-GONE", "Harbor's storm jacket"),
    None: ("HB-CANDLE", "HB-CANDLE", "Harbor's own beeswax candle"),
}
# Whose SKUs are whose, by prefix: a part, an email or a copy naming another's is misrouted.
SKU_OWNER = {"NW-": "northwind", "PK-": "peak", "RG-": "ridge", "HB-": "harbor"}


def _harbor_order(harbor: Any, number: int, kind: str, rng: random.Random) -> list[Seeded]:
    """One of harbor's orders: two sellers' lines and its own, one seller's, or its own only. A
    mismatch renames one seller's line only (that part alone fails). Answers a Seeded per part."""
    owners: list[str | None] = rng.choice(
        [["northwind", "peak", None], ["northwind", "peak"], ["northwind", None], ["peak"], [None]]
    )
    stale = rng.choice([o for o in owners if o is not None] or [None]) if kind == "mismatch" else None
    lines: list[tuple[str | None, str, int, str]] = []
    for owner in owners:
        sku, gone, title = HARBOR_LINES[owner]
        lines.append((gone if owner is not None and owner == stale else sku, title, rng.randint(1, 3), "10.00"))
    if kind == "invalid":
        lines = [(sku, title, units, "call us") for sku, title, units, _ in lines]
    address = None if kind == "no_address" else US_ADDRESS
    harbor.add_order(order_node(number, f"#H{number}", lines, address, cancelled=kind == "cancelled"))
    return [
        Seeded(f"harbor--{owner}#{number}", kind == "good" or (kind == "mismatch" and owner != stale), kind)
        for owner in owners
        if owner is not None
    ]


def _misrouted(records: dict[str, OrderRecord], sellers: dict[str, Any]) -> list[str]:
    """Lines that reached a seller they aren't of: in a part's record, in a copy in a seller's store,
    or named in an email to a seller (by SKU, and harbor's titles). Each "<where>: <what>"."""
    found = [
        f"{key}: {line.sku}"
        for key, record in records.items()
        for line in record.lines
        if line.sku and SKU_OWNER.get(line.sku[:3]) != record.seller_id
    ]
    copies = {
        "peak": [n["sku"] for o in sellers["peak"].created_orders() for n in o["lineItems"]["nodes"]],
        "northwind": [line["sku"] for o in sellers["northwind"].created_orders() for line in o["line_items"]],
    }
    found += [
        f"{seller}'s store: {sku}"
        for seller, skus in copies.items()
        for sku in skus
        if SKU_OWNER.get(sku[:3]) != seller
    ]
    for email in world_emails():
        text = email["subject"] + "\n" + email["body"]
        others = [p for p, owner in SKU_OWNER.items() if owner != email["seller_id"] and p in text]
        others += [t for o, (_, _, t) in HARBOR_LINES.items() if o != email["seller_id"] and t in text]
        found += [f"email to {email['seller_id']}: {what}" for what in others]
    return found


def world_emails() -> list[dict[str, Any]]:
    from ordersync.local.world import delivered_emails

    return delivered_emails()


def _many_sellers(stack: LocalStack, world: World, sellers: dict[str, Any], report: ChaosReport) -> None:
    records = {r.order_key: r for r in _all_without_throttling(DynamoOrders(stack.output("OrdersTableName")))}
    harbor = world.stores["harbor"].fake
    assert harbor is not None
    skus = {
        int(str(node["legacyResourceId"])): [n["sku"] for n in node["lineItems"]["nodes"]]
        for node in harbor.orders.values()
    }
    report.parts = sum(1 for key in records if key.startswith("harbor--"))
    report.own_lines = sum(sku.startswith("HB-") for order in skus.values() for sku in order)
    own_only = [number for number, order in skus.items() if all(sku.startswith("HB-") for sku in order)]
    report.own_only_orders = len(own_only)
    sources = {
        *(str(o["sourceIdentifier"]) for o in sellers["peak"].created_orders()),
        *(
            m["value"]
            for o in sellers["northwind"].created_orders()
            for m in o["meta_data"]
            if m["key"] == "_ordersync_source"
        ),
    }
    report.own_only_touched = sorted(
        f"harbor order {number}"
        for number in own_only
        for seller in ("northwind", "peak")
        if f"harbor--{seller}#{number}" in records or f"ordersync-harbor--{seller}-{number}" in sources
    )
    report.misrouted = _misrouted(records, sellers)


def _run_until_settled(stack: LocalStack, seeded: list[Seeded], max_rounds: int, echo: Callable[[str], None]) -> int:
    orders = DynamoOrders(stack.output("OrdersTableName"))
    for round_number in range(1, max_rounds + 1):
        stack.runner.run_hour()
        records = {r.order_key: r for r in _all_without_throttling(orders)}
        # Settled for this loop: in a terminal state — synced, failed into the DLQ (the stores'
        # trouble: ops redrive it after), or cancelled by its buyer while it was being posted.
        unsettled = [
            s
            for s in seeded
            if s.should_sync and (s.order_key not in records or records[s.order_key].status not in TERMINAL)
        ]
        echo(
            f"   hour {round_number}: {len(records)} orders recorded, {len(unsettled)} that should sync still in flight"
        )
        if not unsettled and len(records) >= len(seeded):
            return round_number
    return max_rounds


def _as_it_should_be(record: OrderRecord, cancelled_by_buyer: bool, copies: int) -> bool:
    """Synced, with its one copy; or, for a buyer order cancelled while it was being posted, cancelled
    with the copies its record names: one where it was posted first, none where the cancellation
    came before its post (another seller's part of the order was being posted then)."""
    if record.status is OrderStatus.SYNCED:
        return copies == 1
    if cancelled_by_buyer and record.status is OrderStatus.CANCELLED:
        return copies == (1 if record.seller_order_id is not None else 0)
    return False


def _all_without_throttling(orders: DynamoOrders) -> list[Any]:
    for _ in range(20):
        try:
            return orders.all()
        except Exception:  # the chaos harness reads through the same throttled clients
            continue
    return orders.all()


def _check(
    stack: LocalStack,
    seeded: list[Seeded],
    sellers: dict[str, Any],
    rounds: int,
    faults: dict[str, int],
    cancelled: set[str] | None = None,
) -> ChaosReport:
    records = {r.order_key: r for r in DynamoOrders(stack.output("OrdersTableName")).all()}
    dlq = SqsDlqAdmin(stack.output("OrdersDLQUrl"), stack.output("OrdersQueueUrl")).messages()
    in_dlq = {message_fields(m)["order_key"] for m in dlq}
    copies: Counter[str] = Counter()
    for node in sellers["peak"].created_orders():
        copies.update(node["tags"])
    for order in sellers["northwind"].created_orders():
        copies.update(m["value"] for m in order["meta_data"] if m["key"] == "_ordersync_source")
    for order in sellers["ridge"].created_orders():
        copies[order["staff_notes"]] += 1

    def source_key(order_key: str) -> str:
        return "ordersync-" + order_key.replace("#", "-")

    lost = sum(
        1
        for s in seeded
        if s.order_key not in records and s.order_key not in in_dlq and not copies[source_key(s.order_key)]
    )
    statuses = Counter(records[s.order_key].status.value for s in seeded if s.order_key in records)
    failed_records = {k for k, r in records.items() if r.status is OrderStatus.FAILED}
    dlq_without_reason = sum(  # a bare message SQS moved there, with no record saying why
        1
        for m in dlq
        if "reason" not in m.get("MessageAttributes", {}) and message_fields(m)["order_key"] not in failed_records
    )
    return ChaosReport(
        orders=len(seeded),
        lost=lost,
        duplicates_posted=sum(n - 1 for n in copies.values() if n > 1),
        by_status=dict(sorted(statuses.items())),
        should_sync=sum(s.should_sync for s in seeded),
        synced=sum(
            1
            for s in seeded
            if s.should_sync
            and s.order_key in records
            and _as_it_should_be(
                records[s.order_key], _buyer_order(s.order_key) in (cancelled or set()), copies[source_key(s.order_key)]
            )
        ),
        not_terminal=sum(1 for s in seeded if s.order_key in records and records[s.order_key].status not in TERMINAL),
        failed_without_dlq_message=sum(
            1
            for s in seeded
            if s.order_key in records
            and records[s.order_key].status is OrderStatus.FAILED
            and s.order_key not in in_dlq
        ),
        dlq_without_reason=dlq_without_reason,
        overruns=len(stack.runner.overruns),
        rounds=rounds,
        faults=faults,
        posted_twice=sorted(key for key, n in copies.items() if n > 1),
        not_synced=sorted(
            f"{s.order_key} {records[s.order_key].status.value if s.order_key in records else 'no record'}"
            for s in seeded
            if s.should_sync
            and not (
                s.order_key in records
                and _as_it_should_be(
                    records[s.order_key],
                    _buyer_order(s.order_key) in (cancelled or set()),
                    copies[source_key(s.order_key)],
                )
            )
        ),
    )


# --- the sellers ship ------------------------------------------------------------------------------
SELLERS = ("northwind", "peak", "ridge")


@dataclass
class ShippingReport:
    parcels: int
    lost: int
    twice: list[str]
    faults: dict[str, int]


def ship_under_faults(
    stack: LocalStack,
    world: World,
    seeds: random.Random,
    fault_rate: float,
    echo: Callable[[str], None],
    edits: BuyerEdits | None = None,
    timeouts: CampaignTimeouts = LOCAL_TIMEOUTS,
) -> ShippingReport:
    """Every synced order's seller ships it (one parcel, tracked) while the stores fail as before —
    the buyer-side writes' answers lost too —, the seller stores deliver some webhooks twice, SQS
    hands some checks to two consumers at once and delivers others again, and the hourly sweep runs
    while the webhooks' checks are still queued. Then the faults stop, ops redrive ShipmentsDLQ's
    store failures, and the net runs once more: every parcel must be in its buyer's store once."""
    orders = DynamoOrders(stack.output("OrdersTableName"))
    synced = [r for r in _all_without_throttling(orders) if r.status is OrderStatus.SYNCED and r.seller_order_id]
    stack.runner.timeouts["SyncShipmentsFunction"] = timeouts.function  # shortened as ProcessOrder's: claims lapse soon
    with ops_read_timeout():  # ops' own command, not a function under the campaign's stalls
        for seller_id in SELLERS:
            world.register_webhooks(seller_id)
    # one write per parcel in a buyer's store: its answer lost often enough to be lost in every campaign
    store_faults = RandomFaults(
        seeds.randrange(2**32), fault_rate, stall_seconds=timeouts.stall, write_loss_rate=max(0.2, fault_rate / 2)
    )
    twice = _TwiceDrawn(seeds.randrange(2**32), fault_rate / 2)
    for store in world.stores.values():
        assert store.fake is not None
        store.fake.server.random_faults = store_faults
    for deliveries in _deliveries(world):
        deliveries.twice = twice
    chaos = DeliveryChaos(
        seeds.randrange(2**32),
        duplicate_rate=fault_rate / 2,
        # a crash is drawn per batch of several checks, and the shipments make ten or so such batches:
        # at the orders' rate it would not fire in one campaign of four
        crash_rate=min(0.5, fault_rate * 2),
        concurrent_rate=fault_rate / 2,
        twin=functools.partial(_second_shipment_consumer, stack),
        twin_function="SyncShipmentsFunction",
    )
    stack.runner.chaos = chaos
    # a parcel's identity: its tracking number, or "untracked:<number>" for one shipped with none
    tracking: dict[str, tuple[str, str]] = {}  # -> (buyer store, buyer order id)
    untracked_losses = _lose_untracked_answers(world, timeouts.stall)
    shipped_by: Counter[str] = Counter()
    for record in synced:
        seller = world.stores[record.seller_id].fake
        number = f"CH{record.seller_id.upper()}{int(record.seller_order_id):08d}"
        # each seller's first parcel, then every third (not harbor's: an untracked parcel is told apart
        # from another seller's in the same buyer order by nothing the check here could read)
        untracked = shipped_by[record.seller_id] % 3 == 0 and record.buyer_id != "harbor"
        shipped_by[record.seller_id] += 1
        tracking[f"untracked:{number}" if untracked else number] = (record.buyer_id, record.order_id)
        carrier = {"peak": "UPS", "northwind": "USPS"}.get(record.seller_id, "FedEx")
        given = (None, None, None) if untracked else (carrier, number, None)
        if record.seller_id == "peak":
            seller.fulfil(int(record.seller_order_id), tracking=given)  # type: ignore[union-attr]
        else:
            seller.ship(int(record.seller_order_id), tracking=given)  # type: ignore[union-attr]
        if edits is not None:
            edits.during_shipment(record.order_key)
    sweeps_racing = 0
    for _ in range(3):
        for deliveries in _deliveries(world):
            deliveries.wait()
        stack.runner.fire_schedules("SweepShipmentsFunction")  # the net, while the webhooks' checks wait
        sweeps_racing += 1
        stack.runner.drain()
    stack.runner.chaos = None
    for store in world.stores.values():
        assert store.fake is not None
        store.fake.server.random_faults = None
    for deliveries in _deliveries(world):
        deliveries.twice = None
    dlq = SqsDlqAdmin(stack.output("ShipmentsDLQUrl"), stack.output("ShipmentsQueueUrl"))
    redriven = dlq.move(lambda m: message_fields(m).get("reason") in (None, "PLATFORM_UNAVAILABLE"))
    stack.runner.fire_schedules("SweepShipmentsFunction")
    stack.runner.drain()
    echo(
        f"   shipped {len(tracking)} parcels; ops redrove {len(redriven)} checks from ShipmentsDLQ"
        f" {dict(what_failed(redriven))}"
    )
    written = _parcels_in_buyer_stores(world, tracking)
    kept = {message_fields(m).get("order_key") for m in dlq.messages()}
    keys = {r.order_id: r.order_key for r in synced}
    lost = [n for n, (_, order_id) in tracking.items() if not written[n] and keys.get(order_id) not in kept]
    faults = {
        "shipment_store_faults": store_faults.injected,
        "buyer_write_answers_lost": store_faults.writes_lost,
        "untracked_parcel_answers_lost": sum(f not in fake.faults.pending for fake, f in untracked_losses),
        "webhooks_delivered_twice": sum(d.sent_twice for d in _deliveries(world)),
        "shipment_checks_delivered_again": chaos.duplicates,
        "shipment_checks_at_once": chaos.concurrent,
        "shipment_invocations_crashed": chaos.crashes,
        "sweeps_racing_webhooks": sweeps_racing,
    }
    return ShippingReport(len(tracking), len(lost), sorted(n for n, count in written.items() if count > 1), faults)


def _deliveries(world: World) -> list[Deliveries]:
    """The webhook senders of the stores that send through one (Shopify's events go by EventBridge)."""
    return [s.fake.deliveries for s in world.stores.values() if isinstance(s.fake, FakeWooCommerce | FakeBigCommerce)]


@dataclass
class _TwiceDrawn:
    """Which seller webhooks are sent twice: drawn by the seed and the body, and the campaign's first
    always — a score of deliveries at rate/2 would otherwise send none twice in some campaigns."""

    seed: int
    rate: float
    drawn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, topic: str, body: bytes) -> bool:
        with self._lock:
            self.drawn += 1
            if self.drawn == 1:
                return True
        digest = hashlib.sha256(body).hexdigest()
        return random.Random(f"{self.seed}|{topic}|{digest}").random() < self.rate


def _second_shipment_consumer(stack: LocalStack, record: dict[str, Any]) -> None:
    """Another SyncShipmentsFunction instance handed the same check at the same moment."""
    started = time.perf_counter()
    with contextlib.suppress(Exception, InvocationCrashed):
        stack.runner.invoke("SyncShipmentsFunction", {"Records": [record]})
    timeout = (
        stack.runner.timeouts.get("SyncShipmentsFunction")
        or stack.deployment.functions["SyncShipmentsFunction"].timeout
    )
    if (elapsed := time.perf_counter() - started) > timeout:
        stack.runner.overruns.append(f"SyncShipmentsFunction (a concurrent delivery): {elapsed:.1f} s")


def _lose_untracked_answers(world: World, stall: float) -> list[tuple[Any, Fault]]:
    """The first write of an untracked parcel into a Shopify and a BigCommerce buyer loses its answer
    (the store makes it, then stalls past the read timeout): no number to find it again by, and
    Shopify keeps no key of ours either. Each (the fake's server, the fault)."""
    faults = [
        (world.stores["acme"].fake, Fault(after_write=True, stall_seconds=stall, matching='"trackingInfo": {}')),
        (world.stores["delta"].fake, Fault(after_write=True, stall_seconds=stall, matching='"tracking_number": ""')),
    ]
    for fake, fault in faults:
        fake.server.faults.add(fault)  # type: ignore[union-attr]
    return [(fake.server, fault) for fake, fault in faults]  # type: ignore[union-attr]


def _parcels_in_buyer_stores(world: World, tracking: dict[str, tuple[str, str]]) -> Counter[str]:
    """How many shipments in the buyer's store carry each tracking number; for an untracked parcel
    (the only parcel of its buyer order), how many shipments without a number the order has."""
    found: Counter[str] = Counter({number: 0 for number in tracking})
    for number, (buyer_id, order_id) in tracking.items():
        buyer = world.stores[buyer_id].fake
        untracked = number.startswith("untracked:")
        if buyer_id in ("acme", "harbor"):
            node = buyer.orders[f"gid://shopify/Order/{order_id}"]  # type: ignore[union-attr,index]
            numbers = [[t["number"] for t in f["_tracking"] if t.get("number")] for f in node.get("fulfillments") or []]
            found[number] += sum((not n) if untracked else number in n for n in numbers)
        elif buyer_id == "brightside":  # a parcel's own note (ours, announcing a customer's, only before it)
            notes = [n["note"] for n in buyer.notes.get(int(order_id), []) if n["note"].startswith("Shipped:")]  # type: ignore[union-attr]
            found[number] += sum(("Tracking: none given" in n) if untracked else number in n for n in notes)
        else:
            shipments = buyer.order_shipments.get(int(order_id), [])  # type: ignore[union-attr]
            found[number] += sum(s.get("tracking_number") == ("" if untracked else number) for s in shipments)
    return found


# --- divergences made by hand, and the drift check ------------------------------------------------
PLANTS = ("buyer_cancelled", "copy_address", "buyer_shipment_deleted", "buyer_tracking")


def plant_divergences(world: World, stack: LocalStack, seeds: random.Random, apart: set[str]) -> set[str]:
    """In a few shipped orders, someone changes one store by hand — the buyer cancels, the seller's
    copy gets another address, the buyer's shipment is deleted or its tracking changed — and no
    webhook says so. Answers "<order key> <kind>" as the drift check should report each."""
    orders = DynamoOrders(stack.output("OrdersTableName"))
    shipped = [
        r
        for r in _all_without_throttling(orders)
        if r.status is OrderStatus.SYNCED and r.parcels and r.order_key not in apart and not r.reason
    ]
    chosen = seeds.sample(sorted(shipped, key=lambda r: r.order_key), min(len(shipped), 2 * len(PLANTS)))
    planted: set[str] = set()
    for index, record in enumerate(chosen):
        plant = PLANTS[index % len(PLANTS)]
        if plant == "buyer_tracking" and record.buyer_id == "brightside":
            plant = "copy_address"  # a WooCommerce buyer's parcel is a note: no tracking field to change
        if plant == "buyer_cancelled" and record.buyer_id == "harbor":
            plant = "buyer_shipment_deleted"  # the buyer order is every part's: one cancellation, two divergences
        if plant == "buyer_tracking" and not record.parcels[0].tracking_number:
            plant = "buyer_shipment_deleted"  # an untracked parcel: no number to change
        kind = _plant(world, record, plant)
        planted.add(f"{record.order_key} {kind}")
    return planted


def _plant(world: World, record: OrderRecord, plant: str) -> str:
    buyer, seller = world.stores[record.buyer_id].fake, world.stores[record.seller_id].fake
    order_id, copy_id = int(record.order_id), int(record.seller_order_id or 0)
    if plant == "buyer_cancelled":
        if isinstance(buyer, FakeWooCommerce):
            buyer.orders[order_id]["status"] = "cancelled"
        elif isinstance(buyer, FakeBigCommerce):
            buyer.orders[order_id].update(status="Cancelled", status_id=5)
        else:
            buyer.orders[f"gid://shopify/Order/{order_id}"]["cancelledAt"] = utc_now().isoformat()  # type: ignore[union-attr]
        return "CANCELLED_BY_BUYER_ONLY"
    if plant == "copy_address":
        if isinstance(seller, FakeWooCommerce):
            seller.orders[copy_id]["shipping"]["address_1"] = "9 Wrong Way"
        elif isinstance(seller, FakeBigCommerce):
            seller.order_addresses[copy_id][0]["street_1"] = "9 Wrong Way"
        else:
            seller.orders[f"gid://shopify/Order/{copy_id}"]["shippingAddress"]["address1"] = "9 Wrong Way"  # type: ignore[union-attr]
        return "ADDRESS_DIFFERS"
    written = record.parcels[0].buyer_shipment_id
    if isinstance(buyer, FakeWooCommerce):
        notes = buyer.notes[order_id]
        notes[:] = [n for n in notes if f"note-{n['id']}" != written]
        return "PARCEL_NOT_IN_BUYER_STORE"
    shipments = (
        buyer.order_shipments[order_id]
        if isinstance(buyer, FakeBigCommerce)
        else buyer.orders[f"gid://shopify/Order/{order_id}"]["fulfillments"]  # type: ignore[union-attr]
    )
    if plant == "buyer_shipment_deleted":
        shipments[:] = [s for s in shipments if str(s["id"]).rsplit("/", 1)[-1] != written]
        return "PARCEL_NOT_IN_BUYER_STORE"
    for shipment in [s for s in shipments if str(s["id"]).rsplit("/", 1)[-1] == written]:  # not another part's
        if isinstance(buyer, FakeBigCommerce):
            shipment["tracking_number"] = "CHANGED-BY-HAND"
        else:
            shipment["_tracking"] = [{**t, "number": "CHANGED-BY-HAND"} for t in shipment["_tracking"]]
    return "TRACKING_DIFFERS"


@contextmanager
def ops_read_timeout() -> Iterator[None]:
    """Ops' commands read the stores with the stack's own timeout: the campaign's 0.5 s is for the
    functions under its stalls (0.7 s), and a loaded machine can take longer than that to answer
    an ops' request that no fault stalled."""
    previous = os.environ.get("ORDERSYNC_HTTP_READ_TIMEOUT")
    os.environ["ORDERSYNC_HTTP_READ_TIMEOUT"] = "2"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("ORDERSYNC_HTTP_READ_TIMEOUT", None)
        else:
            os.environ["ORDERSYNC_HTTP_READ_TIMEOUT"] = previous


def _drift_reported(stack: LocalStack) -> set[str]:
    """`ordersync drift`, as ops run it: every divergence of every connection, "<order key> <kind>"."""
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.secrets import StoreSecrets
    from ordersync.local.iam import acting_as
    from ordersync.platforms import HttpStoreFactory
    from ordersync.services.drift import DriftDependencies, compare_both_stores

    with acting_as(stack.deployment.principal("OpsPolicy")), ops_read_timeout():
        deps = DriftDependencies(
            orders=DynamoOrders(stack.output("OrdersTableName")),
            connections=DynamoConnections(stack.output("ConnectionsTableName")),
            stores=HttpStoreFactory(StoreSecrets().read),
        )
        report = compare_both_stores(deps)
    return {f"{d.order_key} {d.kind.value}" for d in report.divergences} | {
        f"unreadable {u}" for u in report.unreadable
    }


# --- the buyers change orders at random moments ---------------------------------------------------
MOVED = "5 Moved St"


@dataclass
class BuyerEdits:
    """A buyer cancels an order, or changes its shipping address, while its post is in flight (as
    the seller's store creates the copy) or while its parcel ships. Decided by the seed and the
    order, never by timing; each order is changed at most once."""

    world: World
    seed: int
    rate: float
    made: dict[str, str] = field(default_factory=dict)  # buyer order ("buyer#id") -> "cancel" or "address"
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cancelled(self) -> set[str]:
        """The buyer orders cancelled, each as "buyer#id" (every part of it: _buyer_order)."""
        return {order for order, kind in self.made.items() if kind == "cancel"}

    def during_post(self, seller_id: str, copy_id: str) -> None:
        key = _order_key_of_copy(self.world, seller_id, copy_id)
        rng = random.Random(f"{self.seed}|post|{key}")
        if key is not None and rng.random() < self.rate:
            self._edit(key, rng.choice(["cancel", "address"]))

    def during_shipment(self, order_key: str) -> None:
        if random.Random(f"{self.seed}|ship|{order_key}").random() < self.rate / 2:
            self._edit(order_key, "cancel")

    def _edit(self, order_key: str, kind: str) -> None:
        with self.lock:
            if _buyer_order(order_key) in self.made:  # each buyer order changed once, whichever part drew it
                return
            self.made[_buyer_order(order_key)] = kind
        buyer_id = order_key.split("--", 1)[0]
        order_id = int(order_key.rsplit("#", 1)[1])
        buyer = self.world.stores[buyer_id].fake
        if isinstance(buyer, FakeWooCommerce):
            if kind == "cancel":
                buyer.update_order(order_id, status="cancelled")
            else:
                buyer.update_order(order_id, shipping={**buyer.orders[order_id]["shipping"], "address_1": MOVED})
        elif isinstance(buyer, FakeBigCommerce):
            if kind == "cancel":
                buyer.update_order(order_id, status="Cancelled", status_id=5)
            else:
                buyer.order_addresses[order_id][0]["street_1"] = MOVED
                buyer.update_order(order_id)
        else:
            assert buyer is not None
            if kind == "cancel":
                buyer.cancel_order(order_id)
            else:
                node = buyer.orders[f"gid://shopify/Order/{order_id}"]
                node["shippingAddress"] = {**node["shippingAddress"], "address1": MOVED}
                buyer.mark_paid(order_id)  # any save: updatedAt moves, orders/updated goes out


def _buyer_order(order_key: str) -> str:
    """ "buyer--seller#id" -> "buyer#id": the buyer order a part is of."""
    return f"{order_key.split('--', 1)[0]}#{order_key.rsplit('#', 1)[1]}"


def _order_key_of_copy(world: World, seller_id: str, copy_id: str) -> str | None:
    """The buyer order a copy the seller's store just created was posted for (by its source key)."""
    seller = world.stores[seller_id].fake
    if isinstance(seller, FakeWooCommerce):
        meta = seller.orders[int(copy_id)]["meta_data"]
        source = next((m["value"] for m in meta if m["key"] == "_ordersync_source"), "")
    elif isinstance(seller, FakeBigCommerce):
        source = seller.orders[int(copy_id)].get("external_order_id") or ""
    else:
        assert seller is not None
        source = (seller.orders.get(copy_id) or {}).get("sourceIdentifier") or ""
    return order_key_of(str(source))


# What explains each divergence the buyers' edits may leave: a reason on the record, told.
EXPLAINED_BY = {
    "CANCELLED_BY_BUYER_ONLY": ("CANCEL_TOO_LATE", "CANCEL_REFUSED"),
    "ADDRESS_DIFFERS": ("ADDRESS_CHANGE_TOO_LATE", "ADDRESS_CHANGE_REFUSED"),
    "PARCEL_NOT_IN_BUYER_STORE": ("PARCEL_FOR_CANCELLED_ORDER", "PARCEL_REFUSED", "PARCEL_DOESNT_FIT"),
    "CANCELLED_BY_SELLER_ONLY": ("SELLER_CANCELLED",),
}


def _story(stack: LocalStack, order_key: str) -> str:
    record = DynamoOrders(stack.output("OrdersTableName")).get(order_key)
    if record is None:
        return f"   {order_key}: no record"
    told = ", ".join(record.alerted) or "nothing"
    lines = [f"   {order_key}: {record.status} as {record.seller_order_id}; alerted: {told}"]
    lines += [f"     {t.at:%H:%M:%S} {t.cause} {t.status} {t.reason or '-'}: {t.detail}" for t in record.timeline]
    lines += [f"     parcel {p.key}: {p.reason or 'in the buyer store'} {p.detail}" for p in record.parcels]
    return "\n".join(lines)


def _unexplained(stack: LocalStack, reported: set[str]) -> list[str]:
    """After the edits: every copy matches the buyer's final order, or the record names why (a
    reason on its timeline, alerted)."""
    orders = DynamoOrders(stack.output("OrdersTableName"))
    unexplained = []
    for found in sorted(reported):
        key, kind = found.rsplit(" ", 1)
        record = orders.get(key) if not key.startswith("unreadable") else None
        if record is None:
            unexplained.append(found)
            continue
        reasons = {t.reason for t in record.timeline if t.reason} | {p.reason for p in record.parcels if p.reason}
        told = {a.split(":", 1)[0] for a in record.alerted}
        if not any(r in reasons and (r in told or r.startswith("PARCEL")) for r in EXPLAINED_BY.get(kind, ())):
            unexplained.append(found)
    return unexplained
