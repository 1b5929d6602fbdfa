"""`ordersync local up`: the local stack run as AWS runs the deployed one, for as long as it lives:
every queue consumed by its function (as the event source mappings do), the schedules firing (the
hourly pull at its :20, the catalog sync at :05, the alert dispatch every five minutes), on an
hour that may be compressed for demos (`--hour-seconds`). One stack per folder: its state file
names the process that owns it, so a second `local up` is refused while the first lives, and a
state file left by one that died reads as "no local stack running"."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ordersync.local.stack import LocalStack

# Where each schedule falls in the hour (template: cron(20 ...), cron(5 ...), rate(5 minutes)).
PULL_AT, CATALOG_AT, DISPATCH_EVERY = 20 / 60, 5 / 60, 5 / 60


@dataclass
class Clock:
    """The schedules' hour, `hour_seconds` long; each due time moves on by its period once fired."""

    hour_seconds: float
    started: float = 0.0

    def due(self, offset: float, period: float, fired: int) -> float:
        return self.started + (offset + fired * period) * self.hour_seconds


def keep_running(stack: LocalStack, hour_seconds: float, stop: threading.Event, echo: Callable[[str], None]) -> None:
    """Until `stop`: fires each schedule when due and polls every queue source, round robin."""
    clock = Clock(hour_seconds, time.monotonic())
    schedules = {"PullOrdersFunction": (PULL_AT, 1.0), "CatalogSyncFunction": (CATALOG_AT, 1.0)}
    schedules["AlertDispatchFunction"] = (DISPATCH_EVERY, DISPATCH_EVERY)
    fired = dict.fromkeys(schedules, 0)
    while not stop.is_set():
        now = time.monotonic()
        for function, (offset, period) in schedules.items():
            if now >= clock.due(offset, period, fired[function]):
                fired[function] += 1
                _quietly(echo, f"{function}: scheduled run", stack.runner.fire_schedules, function)
        busy = False
        for source in stack.deployment.queue_sources:
            busy = _quietly(echo, source.function, stack.runner.poll_once, source) or busy
        if not busy:
            stop.wait(0.2)


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
