"""The benchmark's call counts (exact, from botocore hooks) — its timings are printed, never asserted."""

from __future__ import annotations

from ordersync.local import bench
from ordersync.local.stack import LocalStack
from ordersync.local.world import World


def test_aws_calls_per_synced_order_stay_flat_as_orders_grow() -> None:
    bench.install_call_counter()
    with LocalStack.start({"LogLevel": "ERROR"}) as stack:
        world = World(stack)
        try:
            runs = {lines: bench.measure(stack, world, 12, lines, f"t{lines}") for lines in (1, 10, 100)}
        finally:
            world.stop()
    per_order = {lines: run.calls_per_order for lines, run in runs.items()}
    assert all(run.synced == 12 for run in runs.values())
    assert per_order[1] == per_order[10] == per_order[100]  # flat from 1 to 100 lines
    calls = runs[100].aws_calls
    assert calls[("dynamodb", "BatchGetItem")] == 12  # one batched catalog read per order, whatever its lines
    assert per_order[100] < 6
