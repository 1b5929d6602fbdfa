"""Webhook deliveries from the fake stores: real HTTP POSTs to the registered URL, sent in the
background as the platforms send them (after the order is saved, not inside the request that
saved it), each one recorded with the status it got."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

# What a store sends: the headers and the bytes, built when it sends (not when the order changed).
Built = tuple[dict[str, str], bytes]


@dataclass
class Deliveries:
    sent: list[tuple[str, int]] = field(default_factory=list)  # (topic, HTTP status or 0 for no answer)
    # Stores deliver at least once: with it, a delivery it picks is also sent a second time at once
    twice: Callable[[str, bytes], bool] | None = None
    sent_twice: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(
        self,
        topic: str,
        url: str,
        headers: dict[str, str],
        body: bytes | Callable[[], Built],
        delay: float = 0.0,
        answered: Callable[[int], None] | None = None,
    ) -> None:
        """`body`: the bytes, or what builds the headers and bytes at sending time; sent after `delay`
        (a store's job queue); `answered` is told the status (0: no answer)."""
        build = body if callable(body) else (lambda: (headers, body))
        copies = 1
        if self.twice is not None and self.twice(topic, build()[1]):
            copies = 2
            with self._lock:
                self.sent_twice += 1
        for _ in range(copies):
            thread = threading.Thread(target=self._send, args=(topic, url, build, delay, answered), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _send(
        self, topic: str, url: str, build: Callable[[], Built], delay: float, answered: Callable[[int], None] | None
    ) -> None:
        time.sleep(delay)
        headers, body = build()
        try:
            status = requests.post(url, data=body, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = 0
        with self._lock:
            self.sent.append((topic, status))
        if answered is not None:
            answered(status)

    def wait(self) -> list[tuple[str, int]]:
        """Every delivery sent so far, answered."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        return list(self.sent)
