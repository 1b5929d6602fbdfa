"""`ordersync local chaos`: the local stack under faults injected at random (reproducible from the
seed), run hour after hour until the queues are drained, then the invariants checked:

- every buyer order ends in exactly one terminal state (FAILED ones with their message in the DLQ);
- every order that should sync has exactly one copy in the seller's store;
- no order is missing from the stores, the records and the DLQ alike.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from ordersync.aws.messaging import SqsDlqAdmin, message_fields
from ordersync.aws.orders import DynamoOrders
from ordersync.local.demo import BC_ADDRESS, US_ADDRESS, WOO_ADDRESS
from ordersync.local.fakes.bigcommerce import bigcommerce_order
from ordersync.local.fakes.server import RandomFaults
from ordersync.local.fakes.shopify import order_node
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.local.runner import DeliveryChaos
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import OrderStatus

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
    rounds: int
    faults: dict[str, int] = field(default_factory=dict)


def run_chaos(
    orders: int, fault_rate: float, seed: int, echo: Callable[[str], None] = print, max_rounds: int = 12
) -> ChaosReport:
    rng = random.Random(seed)
    previous = os.environ.get("ORDERSYNC_HTTP_READ_TIMEOUT")
    os.environ["ORDERSYNC_HTTP_READ_TIMEOUT"] = "0.5"  # stalls past it are timeouts, kept short
    try:
        with LocalStack.start({"LogLevel": "CRITICAL", "MaxReceiveCount": "3"}) as stack:
            world = World(stack)
            try:
                seeded, sellers = _seed(world, orders, rng)
                store_faults = [
                    RandomFaults(random.Random(rng.random()), fault_rate, stall_seconds=0.7) for _ in world.stores
                ]
                for store, random_faults in zip(world.stores.values(), store_faults, strict=True):
                    assert store.fake is not None
                    store.fake.server.random_faults = random_faults
                stack.runner.chaos = DeliveryChaos(
                    random.Random(rng.random()), duplicate_rate=fault_rate / 2, crash_rate=fault_rate / 2
                )
                with dynamodb_throttling(random.Random(rng.random()), fault_rate / 4) as throttles, one_page_per_pull():
                    rounds = _run_until_settled(stack, seeded, max_rounds, echo)
                for store in world.stores.values():
                    assert store.fake is not None
                    store.fake.server.random_faults = None
                faults = {
                    "store_faults": sum(f.injected for f in store_faults),
                    "dynamodb_throttles": throttles["count"],
                    "duplicate_deliveries": stack.runner.chaos.duplicates,
                    "crashed_invocations": stack.runner.chaos.crashes,
                }
                stack.runner.chaos = None
                return _check(stack, seeded, sellers, rounds, faults)
            finally:
                world.stop()
    finally:
        if previous is None:
            os.environ.pop("ORDERSYNC_HTTP_READ_TIMEOUT", None)
        else:
            os.environ["ORDERSYNC_HTTP_READ_TIMEOUT"] = previous


@contextmanager
def one_page_per_pull() -> Iterator[None]:
    """Each pull invocation takes one page and queues its continuation, so OrdersQueue stays short
    (moto's SQS slows down as a queue grows; on AWS many consumers keep it short)."""
    from ordersync.services import pull

    reserve = pull.TIME_RESERVE_MS
    pull.TIME_RESERVE_MS = 10**9
    try:
        yield
    finally:
        pull.TIME_RESERVE_MS = reserve


@contextmanager
def dynamodb_throttling(rng: random.Random, rate: float) -> Iterator[dict[str, int]]:
    """ProvisionedThroughputExceededException on a share of DynamoDB calls, through botocore hooks."""
    counter = {"count": 0}

    def throttle(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if rng.random() >= rate:
            return None
        counter["count"] += 1
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "injected by ordersync local chaos"}
        return AWSResponse("https://dynamodb.local", 400, {}, None), {"Error": error, "ResponseMetadata": {}}

    events = boto3._get_default_session().events
    events.register("before-call.dynamodb", throttle, unique_id="ordersync-chaos")
    try:
        yield counter
    finally:
        events.unregister("before-call.dynamodb", unique_id="ordersync-chaos")


def _seed(world: World, count: int, rng: random.Random) -> tuple[list[Seeded], dict[str, Any]]:
    acme = world.add_shopify("acme", "Acme Outfitters")
    northwind = world.add_woocommerce("northwind", "Northwind Supply")
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
    for buyer, seller in (("acme", "northwind"), ("brightside", "peak"), ("delta", "ridge")):
        world.connect(buyer, seller)
    seeded = []
    for number in range(1, count + 1):
        kind = rng.choices(["good", "mismatch", "no_address", "cancelled", "invalid"], [80, 7, 5, 4, 4])[0]
        connection = number % 3
        price = "call us" if kind == "invalid" else "10.00"
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


def _run_until_settled(stack: LocalStack, seeded: list[Seeded], max_rounds: int, echo: Callable[[str], None]) -> int:
    orders = DynamoOrders(stack.output("OrdersTableName"))
    for round_number in range(1, max_rounds + 1):
        stack.runner.run_hour()
        records = {r.order_key: r for r in _all_without_throttling(orders)}
        unsettled = [
            s
            for s in seeded
            if s.should_sync and (s.order_key not in records or records[s.order_key].status is not OrderStatus.SYNCED)
        ]
        echo(
            f"   hour {round_number}: {len(records)} orders recorded, {len(unsettled)} that should sync still unsynced"
        )
        if not unsettled and len(records) >= len(seeded):
            return round_number
    return max_rounds


def _all_without_throttling(orders: DynamoOrders) -> list[Any]:
    for _ in range(20):
        try:
            return orders.all()
        except Exception:  # the chaos harness reads through the same throttled clients
            continue
    return orders.all()


def _check(
    stack: LocalStack, seeded: list[Seeded], sellers: dict[str, Any], rounds: int, faults: dict[str, int]
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
            and records[s.order_key].status is OrderStatus.SYNCED
            and copies[source_key(s.order_key)] == 1
        ),
        not_terminal=sum(1 for s in seeded if s.order_key in records and records[s.order_key].status not in TERMINAL),
        failed_without_dlq_message=sum(
            1
            for s in seeded
            if s.order_key in records
            and records[s.order_key].status is OrderStatus.FAILED
            and s.order_key not in in_dlq
        ),
        rounds=rounds,
        faults=faults,
    )
