"""Reads kept for a minute in this container: a webhook or a batch names the same few stores and
connections again and again. Only what was found is kept, so a store or connection added a moment
ago is seen at once; a change to one (paused, removed) is seen within the minute."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

KEEP_SECONDS = 60.0

T = TypeVar("T")


class RecentReads(Generic[T]):
    def __init__(self, seconds: float = KEEP_SECONDS) -> None:
        self._seconds = seconds
        self._kept: dict[str, tuple[float, T]] = {}
        # A batch's records run at once (services/at_once.py): those that miss together wait for
        # the one read rather than each making it.
        self._reading = threading.Lock()

    def get(self, key: str, read: Callable[[], T], fresh: bool = False) -> T:
        if not fresh and (kept := self._kept_now(key)) is not None:
            return kept[1]
        with self._reading:
            if not fresh and (kept := self._kept_now(key)) is not None:
                return kept[1]
            value = read()
            if value:
                self._kept[key] = (time.monotonic(), value)
            else:
                self._kept.pop(key, None)
            return value

    def _kept_now(self, key: str) -> tuple[float, T] | None:
        kept = self._kept.get(key)
        return kept if kept is not None and time.monotonic() - kept[0] < self._seconds else None

    def forget(self, key: str | None = None) -> None:
        """What this container just changed is read afresh: `key`'s, or everything kept."""
        if key is None:
            self._kept.clear()
        else:
            self._kept.pop(key, None)
