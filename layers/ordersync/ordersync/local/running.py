"""`ordersync local up`: the local stack run as AWS runs the deployed one, for as long as it lives:
every queue consumed by its function (as the event source mappings do), and every schedule of the
template firing on its own expression (the pull at :20, the catalog sync at :05, the sweep at :40,
the daily drift check, the alert dispatch every five minutes) on an hour that may be compressed for
demos (`--hour-seconds`); the catalog sync and the pull also run once at the start, so the stores'
orders are there at once. One stack per folder: its state file names the process that owns it, so
a second `local up` is refused while the first lives, and a state file left by one that died reads
as "no local stack running"."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ordersync.local.stack import LocalStack

# What runs the moment `local up` starts, in this order: the catalogs, then the pull that needs them.
AT_START = ("CatalogSyncFunction", "PullOrdersFunction")
_CRON = re.compile(r"cron\((\d+) (\*|\d+) \* \* \? \*\)")
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")


def schedule_times(expression: str) -> tuple[float, float]:
    """An EventBridge expression as (first due, period), in hours from the top of an hour: the forms
    the template's schedules take (cron at a minute of every hour or of one hour a day, rate)."""
    if cron := _CRON.fullmatch(expression):
        minute, hour = int(cron.group(1)), cron.group(2)
        return (minute / 60, 1.0) if hour == "*" else (int(hour) + minute / 60, 24.0)
    if rate := _RATE.fullmatch(expression):
        unit = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}[rate.group(2).rstrip("s")]
        return int(rate.group(1)) * unit, int(rate.group(1)) * unit
    raise ValueError(
        f"the local stack can't run the schedule {expression!r}: cron(M * * * ? *), cron(M H * * ? *) or rate(N unit)"
    )


@dataclass
class Clock:
    """The schedules' hour, `hour_seconds` long; each due time moves on by its period once fired."""

    hour_seconds: float
    started: float = 0.0

    def due(self, offset: float, period: float, fired: int) -> float:
        return self.started + (offset + fired * period) * self.hour_seconds


IDLE_POLL_SECONDS = 0.5  # every queue empty: looked at again this much later


def keep_running(stack: LocalStack, hour_seconds: float, stop: threading.Event, echo: Callable[[str], None]) -> None:
    """Until `stop`: runs AT_START, then fires each schedule when due and polls every queue source,
    round robin."""
    clock = Clock(hour_seconds, time.monotonic())
    schedules = [(schedule.function, *schedule_times(schedule.expression)) for schedule in stack.deployment.schedules]
    for function in AT_START:
        _quietly(echo, f"{function}: run at start", stack.runner.fire_schedules, function)
    fired = [0] * len(schedules)
    while not stop.is_set():
        now = time.monotonic()
        for index, (function, offset, period) in enumerate(schedules):
            if now >= clock.due(offset, period, fired[index]):
                fired[index] += 1
                _quietly(echo, f"{function}: scheduled run", stack.runner.fire_schedules, function)
        busy = False
        for source in stack.deployment.queue_sources:
            busy = _quietly(echo, source.function, stack.runner.poll_once, source) or busy
        if not busy:  # Lambda's pollers wait on SQS; polling every queue five times a second burnt a core
            stop.wait(IDLE_POLL_SECONDS)


def _quietly(echo: Callable[[str], None], what: str, run: Callable[..., Any], argument: Any) -> bool:
    """An invocation that fails is reported and the stack goes on, as Lambda does."""
    try:
        return bool(run(argument))
    except Exception as error:
        echo(f"{what} failed: {type(error).__name__}: {error}")
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_stack(state_file: Path) -> dict[str, Any] | None:
    """The live local stack's state, or None (no file, or one left by a process that has died)."""
    if not state_file.exists():
        return None
    state = json.loads(state_file.read_text())
    pid = state.get("pid")
    if not isinstance(pid, int) or not alive(pid):
        return None
    return dict(state)
