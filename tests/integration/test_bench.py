"""The benchmark's call counts (exact, from botocore hooks) — its timings are printed, never asserted."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from ordersync.local import bench
from ordersync.local.stack import LocalStack
from ordersync.local.world import World


@pytest.mark.long(seconds=15)
def test_aws_calls_per_synced_order_are_one_read_and_two_writes_whatever_its_lines() -> None:
    bench.install_call_counter()
    with LocalStack.start({"LogLevel": "ERROR"}) as stack:
        world = World(stack)
        try:
            # a Plus shop: the calls counted are AWS's, and a Standard shop's bucket makes the pull
            # of 12 orders of 100 lines wait out half a minute of query cost
            runs = {lines: bench.measure(stack, world, 12, lines, f"t{lines}", plus=True) for lines in (1, 10, 100)}
        finally:
            world.stop()
    assert all(run.synced == 12 for run in runs.values())
    for lines, run in runs.items():
        # Per order: the claim (a new order's record put if absent; refused, it would answer the
        # record as it was), one batched read of the lines' listings and the seller's catalog
        # whatever the lines (100 keys a call: a line is two keys, so past 50 lines one more), one
        # write that records SYNCED and frees the order. No read of the record, no idempotency table.
        calls = dict(run.process_calls)
        # the connection, read once and cached by the container; the seller store's shared pace,
        # read at most every 5 s per store (a slower machine reads it once more)
        reads = calls.pop(("dynamodb", "GetItem"))
        assert 2 <= reads <= 2 + int(run.seconds_process // 5)
        # each product's listing, at its first sight: by every record of the first batch that saw it
        # unlinked at the same moment (a batch's records run at once; the same item, written again)
        first_sight = calls.pop(("dynamodb", "BatchWriteItem"))
        assert math.ceil(lines / 25) <= first_sight <= 10 * math.ceil(lines / 25)
        assert calls == {
            ("dynamodb", "BatchGetItem"): 12 * math.ceil(2 * lines / 100),
            ("dynamodb", "PutItem"): 24,
            ("dynamodb", "Query"): 1,  # the buyer's sellers (whose is a line?), kept a minute
            ("secretsmanager", "GetSecretValue"): 1,  # the seller's credentials, kept by the container
        }
        pull = run.aws_calls - run.process_calls
        assert pull[("sqs", "SendMessageBatch")] == 2 + 1  # 12 orders in batches of 10, and the pull request
        # the rest is per pull: the fan-out's scan, the connection, the buyer's other connections
        # (one read of its store serves them all), the buyer's credentials, the cursor, the pull's report
        assert pull[("dynamodb", "Query")] == 1 and pull[("secretsmanager", "GetSecretValue")] == 1
        assert sum(pull.values()) == 9


def test_the_latency_benchmark_brings_every_order_by_webhook_then_by_the_pull() -> None:
    """What `make bench` measures checkout to seller with: each order synced once, from each
    platform's webhook path, then the pull's (the timings it reports are not asserted)."""
    latency = _on_a_stack(lambda stack, world: bench.measure_latency(stack, world, 6))
    assert latency["orders"] == 6
    assert set(latency["webhook_p95_s_by_buyer_platform"]) == {"lat-shop", "lat-woo", "lat-bc"}
    assert latency["pull_p95_s"] > latency["webhook_p95_s"]


def test_a_parcel_costs_its_check_and_its_record_and_reaches_the_buyer_by_the_seller_s_webhook() -> None:
    """What `make bench` reports of parcels (the timings printed, never asserted): each parcel in the
    buyer's store once, and its AWS calls — the check on ShipmentsQueue, the order claimed by the
    key its seller copy carries, and recorded. No query: the webhook door reads a seller's delivery
    by the store's own item (kept a minute), and the check names the order."""
    bench.install_call_counter()
    report = _on_a_stack(lambda stack, world: bench.measure_parcels(stack, world, 6))
    assert report["parcels"] == 6
    per = report["aws_calls_per_parcel_by_operation"]
    assert "dynamodb:Query" not in per
    assert (per["sqs:SendMessageBatch"], per["dynamodb:UpdateItem"], per["dynamodb:PutItem"]) == (1, 1, 1)
    # the record read before it is claimed (a claim only when the copy shows something new); the
    # seller store's item and the connection: read once by a container, kept a minute
    assert report["parcels"] <= per["dynamodb:GetItem"] * report["parcels"] <= report["parcels"] + 2
    assert set(per) <= {"sqs:SendMessageBatch", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem"}


def _on_a_stack(measure: Callable[[LocalStack, World], dict[str, Any]]) -> dict[str, Any]:
    with LocalStack.start({"LogLevel": "ERROR"}) as stack:
        world = World(stack)
        try:
            return measure(stack, world)
        finally:
            world.stop()


def test_a_buyer_store_is_read_as_often_with_ten_sellers_as_with_one() -> None:
    """What `make bench` reports of many sellers: the buyer store's requests in an hourly pull don't
    grow with the sellers it buys from; each order of ten sellers' lines becomes ten parts."""
    bench.install_call_counter()
    report = _on_a_stack(lambda stack, world: bench.measure_buyer_reads(stack, world, (1, 10), orders=6))
    reads = report["buyer_store_requests_per_pull_by_sellers"]
    assert reads["1"] == reads["10"] > 0
    assert set(report["aws_calls_per_part_by_sellers"]) == {"1", "10"}


def test_an_order_s_whole_life_is_priced_stage_by_stage_and_a_sweep_with_nothing_new_writes_nothing() -> None:
    """What `make bench` prices of a whole life (the dollars printed, never asserted): every stage
    measured; the :40 sweep that sees a parcel already carried claims nothing (no write unit), the
    drift compare writes nothing, and the whole is each stage times its occurrences in a life."""
    from ordersync.local.capacity_meter import CapacityMeter
    from ordersync.local.life_bench import DRIFT_COMPARES_PER_LIFE, LifeBench, life_report

    bench.install_call_counter()
    meter = CapacityMeter("us-east-1").install()

    def run(stack: LocalStack, world: World) -> dict[str, Any]:
        memory = {logical: spec.memory_mb for logical, spec in stack.deployment.functions.items()}
        life = LifeBench(stack, world, meter, bench.counting_aws_calls, store_seconds=0.0)
        return life_report(life.run(4, 2), memory)

    report = _on_a_stack(run)
    stages = report["stages"]
    assert list(stages) == ["post", "re-reads", "parcel", "sweep", "drift compare"]
    # no order written: one unit for the whole sweep, its own checkpoint of the seller store's run
    assert stages["sweep"]["dynamodb_write_units"] * 4 <= 1 and stages["sweep"]["store_requests"] > 0
    assert stages["drift compare"]["dynamodb_write_units"] == 0
    assert stages["drift compare"]["times_per_life"] == DRIFT_COMPARES_PER_LIFE == 3
    assert stages["post"]["dynamodb_write_units"] > 0 and stages["parcel"]["lambda_invocations"] > 0
    whole = sum(s["usd_per_million_total"] * s["times_per_life"] for s in stages.values())
    assert math.isclose(report["usd_per_million_whole_life"], whole, abs_tol=0.05)
