"""An order's whole life, measured on the local stack and priced stage by stage: the post (a Shopify
buyer's checkout by its webhook, a WooCommerce seller), the re-reads of the posted order (the
payment's orders/updated, the next :20 pull), one parcel (the seller's fulfilment by its webhook,
written into the buyer's shop, whose own events come back), the :40 sweep that sees it, and the
drift check's compare (times the compares a life gets: DRIFT_COMPARES_PER_LIFE).

Every AWS request is counted (botocore hooks); DynamoDB's units as it bills them (capacity_meter);
SQS requests as billed (each send, change and our own reads, and the event source mapping's
receive and delete per batch: the local runner's polls of empty queues are not a cost per order);
events; Lambda requests and GB-s at each function's configured memory — each invocation's time as
measured, the fake stores answering after STORE_CALL_SECONDS as a real store does (so calls made at
once are billed once, calls made in turn each time) — and the platform's log lines per invocation.
Not counted: ReceiveWebhookFunction's invocations (a function URL's, at 256 MB for milliseconds)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from ordersync.domain.drift import DEFAULT_AGES
from ordersync.local.capacity_meter import CapacityMeter, Units
from ordersync.local.demo import US_ADDRESS
from ordersync.local.fakes.shopify import FakeShopify, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce
from ordersync.local.prices import ESM_SQS_REQUESTS_PER_BATCH, PRICES, STORE_CALL_SECONDS
from ordersync.local.stack import LocalStack
from ordersync.local.world import World

LOG_BYTES_PER_INVOCATION = 350  # Lambda's START, END and REPORT lines (our own log at ERROR: none)
# The local runner's polls and deletes: billed instead as the event source mapping's, per batch.
RUNNER_SQS = ("ReceiveMessage", "DeleteMessageBatch", "DeleteMessage")
# How many times an order's stage happens in its life: the daily drift check compares a posted order
# at each of DriftCompareAges (1, 7 and 30 days after its last change; it was every day of 30).
DRIFT_COMPARES_PER_LIFE = len(DEFAULT_AGES)


@dataclass
class Stage:
    """What one stage cost, for all the orders that went through it."""

    name: str
    orders: int = 0
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    units: Units = field(default_factory=Units)
    invocations: Counter[str] = field(default_factory=Counter)
    handler_seconds: dict[str, float] = field(default_factory=dict)
    store_requests: int = 0
    batches: int = 0
    times_per_life: float = 1.0

    def priced(self, memory_mb: dict[str, int]) -> dict[str, Any]:
        """Per order (one occurrence of the stage), by service, in USD per million orders."""
        n = max(self.orders, 1)
        gb_seconds = sum(s * memory_mb[f] / 1024 for f, s in self.handler_seconds.items())
        invocations = sum(self.invocations.values())
        sqs = sum(c for (s, o), c in self.calls.items() if s == "sqs" and o not in RUNNER_SQS)
        sqs += ESM_SQS_REQUESTS_PER_BATCH * self.batches
        events = sum(c for (s, o), c in self.calls.items() if s == "events" and o.startswith("Put"))
        sns = sum(c for (s, o), c in self.calls.items() if s == "sns" and o == "Publish")
        secrets = sum(c for (s, _), c in self.calls.items() if s == "secretsmanager")  # a store's credentials
        reads, writes = self.units.read_total, self.units.write_total
        usd = {
            "lambda": invocations * PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second_x86_64"],
            "dynamodb": writes * PRICES["dynamodb_write_request_unit"] + reads * PRICES["dynamodb_read_request_unit"],
            "sqs": sqs * PRICES["sqs_request_64kb"],
            "events": events * PRICES["event"],
            "sns": sns * PRICES["sns_publish"],
            "secretsmanager": secrets * PRICES["secretsmanager_api_call"],
            "logs": invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICES["log_gb"],
        }
        return {
            "times_per_life": self.times_per_life,
            "aws_calls": round(sum(self.calls.values()) / n, 2),
            "dynamodb_read_units": round(reads / n, 2),
            "dynamodb_write_units": round(writes / n, 2),
            "dynamodb_write_units_by_index": {k: round(v / n, 2) for k, v in sorted(self.units.by_index.items()) if v},
            "lambda_invocations": round(invocations / n, 2),
            "lambda_gb_seconds": round(gb_seconds / n, 4),
            "store_requests": round(self.store_requests / n, 2),
            "sqs_requests": round(sqs / n, 2),
            "usd_per_million": {k: round(v / n * 1e6, 2) for k, v in usd.items()},
            "usd_per_million_total": round(sum(usd.values()) / n * 1e6, 2),
        }


class LifeBench:
    """The stages of one cohort of orders, each measured while it runs."""

    def __init__(
        self,
        stack: LocalStack,
        world: World,
        meter: CapacityMeter,
        count_calls: Any,
        store_seconds: float = STORE_CALL_SECONDS,
    ) -> None:
        self.stack, self.world, self.meter, self._count_calls = stack, world, meter, count_calls
        self.stages: list[Stage] = []
        self.buyer: FakeShopify = world.add_shopify("life-shop", "Life Shop")
        self.seller: FakeWooCommerce = world.add_woocommerce("life-seller", "Life Seller", shipment_tracking=True)
        for server in (self.buyer.server, self.seller.server):  # each answer as slow as a real store's
            server.latency_seconds = store_seconds

    def _requests(self) -> int:
        return int(self.buyer.server.requests + self.seller.server.requests)

    @contextmanager
    def stage(self, name: str, orders: int, times_per_life: float = 1.0) -> Iterator[Stage]:
        stage = Stage(name, orders, times_per_life=times_per_life)
        runner = self.stack.runner
        seen, requests = len(runner.invocations), self._requests()
        with self._count_calls() as calls, self.meter.metering() as units:
            yield stage
        stage.calls, stage.units, stage.store_requests = calls, units, self._requests() - requests
        for function, seconds, _records in runner.invocations[seen:]:
            stage.invocations[function] += 1
            stage.handler_seconds[function] = stage.handler_seconds.get(function, 0.0) + seconds
            stage.batches += 1
        self.stages.append(stage)

    def scheduled(self, stage: Stage, function: str) -> None:
        """A schedule's run, timed as its invocation (the runner records only its queues' batches)."""
        started = time.perf_counter()
        self.stack.runner.fire_schedules(function)
        stage.invocations[function] += 1
        stage.handler_seconds[function] = stage.handler_seconds.get(function, 0.0) + time.perf_counter() - started

    def run(self, orders: int, lines: int) -> list[Stage]:
        world, runner, buyer, seller = self.world, self.stack.runner, self.buyer, self.seller
        seller.fulfilments = True
        for i in range(lines):
            seller.add_product(20_000 + i, f"LIFE-{i}", f"Thing {i}", "10.00")
        catalog = [(str(20_000 + i), str(20_000 + i), f"LIFE-{i}", f"Thing {i}", "") for i in range(lines)]
        world.add_catalog("life-seller", catalog)
        world.connect("life-shop", "life-seller")
        world.register_webhooks("life-shop")
        world.register_webhooks("life-seller")
        numbers = range(1, orders + 1)
        with self.stage("post", orders):
            for number in numbers:
                things: list[tuple[str | None, str, int, str]] = [
                    (f"LIFE-{i}", "Thing", 1, "10.00") for i in range(lines)
                ]
                buyer.add_order(order_node(number, f"#{number}", things, US_ADDRESS))
            runner.drain()
        with self.stage("re-reads", orders, times_per_life=1.0) as rereads:
            for number in numbers:
                buyer.mark_paid(number)  # orders/updated: the payment captured
            runner.drain()
            self.scheduled(rereads, "PullOrdersFunction")  # the next :20 sees each order updated since
            runner.drain()
        with self.stage("parcel", orders):
            for copy in seller.created_orders():
                seller.ship(copy["id"], tracking=("UPS", f"1Z{copy['id']}", None))
            seller.deliveries.wait()
            runner.drain()  # the parcel written into the buyer's shop: its own events come back too
        with self.stage("sweep", orders) as sweep:
            self.scheduled(sweep, "SweepShipmentsFunction")
            runner.drain()
        with self.stage("drift compare", orders, times_per_life=DRIFT_COMPARES_PER_LIFE) as drift:
            self.scheduled(drift, "CheckDriftFunction")  # the fan-out; each connection's compare from DriftQueue
            runner.drain()
        boto3.client("dynamodb").delete_item(  # the bench's later runs: their pulls and sweeps see none of it
            TableName=self.stack.output("ConnectionsTableName"), Key={"connection_id": {"S": "life-shop--life-seller"}}
        )
        return self.stages


def life_report(stages: list[Stage], memory_mb: dict[str, int]) -> dict[str, Any]:
    """Each stage per occurrence and per life, and the whole life, in USD per million orders."""
    priced = {stage.name: stage.priced(memory_mb) for stage in stages}
    per_life = {name: round(p["usd_per_million_total"] * p["times_per_life"], 2) for name, p in priced.items()}
    calls = sum(p["aws_calls"] * p["times_per_life"] for p in priced.values())
    return {
        "stages": priced,
        "usd_per_million_per_life_by_stage": per_life,
        "usd_per_million_whole_life": round(sum(per_life.values()), 2),
        "aws_calls_per_life": round(calls, 1),
        "assumed": {"store_call_seconds": STORE_CALL_SECONDS, "log_bytes_per_invocation": LOG_BYTES_PER_INVOCATION}
        | {"prices_usd": PRICES},
    }


def print_life(report: dict[str, Any], echo: Callable[[str], None]) -> None:
    echo("  an order's whole life (a Shopify buyer by webhook, a WooCommerce seller, one parcel), USD per million:")
    for name, stage in report["stages"].items():
        echo(
            f"    {name:<14} x{stage['times_per_life']:<4g} {stage['usd_per_million_total']:>7} each"
            f" -> {report['usd_per_million_per_life_by_stage'][name]:>7}  {stage['usd_per_million']}"
            f"  ({stage['aws_calls']} AWS calls, {stage['dynamodb_read_units']} RU, {stage['dynamodb_write_units']} WU"
            f" {stage['dynamodb_write_units_by_index']}, {stage['lambda_gb_seconds']} GB-s)"
        )
    echo(
        f"    whole life     ${report['usd_per_million_whole_life']} per million orders (target <= 10),"
        f" {report['aws_calls_per_life']} AWS calls"
    )
