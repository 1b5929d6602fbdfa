"""`local up` fires every schedule of the template on its own expression, on a compressed hour."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordersync.local.running import Clock, schedule_times
from ordersync.local.template import load_sam_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_every_schedule_parameter_of_the_template_has_its_times_in_the_hour() -> None:
    parameters = load_sam_template(TEMPLATE)["Parameters"]
    defaults = {name: p["Default"] for name, p in parameters.items() if name.endswith("Schedule")}
    assert {name: schedule_times(expression) for name, expression in defaults.items()} == {
        "SyncSchedule": (20 / 60, 1.0),  # :20 every hour
        "CatalogSyncSchedule": (5 / 60, 1.0),
        "ShipmentSweepSchedule": (40 / 60, 1.0),
        "DriftCheckSchedule": (4.5, 24.0),  # 04:30 daily
        "AlertDispatchSchedule": (5 / 60, 5 / 60),
    }


def test_a_compressed_hour_moves_each_due_time_by_its_period() -> None:
    clock = Clock(hour_seconds=60, started=1000.0)
    offset, period = schedule_times("cron(40 * * * ? *)")
    assert [clock.due(offset, period, fired) for fired in range(3)] == pytest.approx([1040.0, 1100.0, 1160.0])
    assert schedule_times("rate(2 hours)") == (2.0, 2.0) and schedule_times("rate(1 day)") == (24.0, 24.0)


def test_an_expression_the_local_stack_cannot_run_is_named() -> None:
    with pytest.raises(ValueError, match=r"can't run the schedule 'cron\(0 12 \? \* MON-FRI \*\)'"):
        schedule_times("cron(0 12 ? * MON-FRI *)")
