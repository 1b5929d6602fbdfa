"""A store's pace is waited out in place, and a request given time, only while the invocation has it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ordersync.errors import OutOfTime, StoreThrottled, StoreUnavailable
from ordersync.invocation import RESERVE_SECONDS, SHORTEST_REQUEST, can_wait, invocation_ends_in, request_timeout
from ordersync.platforms.http import call, session, wait_in_place


def test_a_wait_that_would_outlast_the_invocation_is_a_throttle_with_the_store_s_word() -> None:
    with invocation_ends_in(RESERVE_SECONDS + SHORTEST_REQUEST + 1.0):  # a wait must leave a request its time
        assert can_wait(0.5) and not can_wait(1.5)
        started = time.monotonic()
        with pytest.raises(StoreThrottled) as throttled:
            wait_in_place(9.0, "the store's quota window")
        assert time.monotonic() - started < 0.5  # refused at once, not after waiting
        assert throttled.value.retry_after == 9.0 and "past this invocation's time" in str(throttled.value)
        wait_in_place(0.05, "the store's quota window")  # short enough: waited out here
    assert can_wait(3600.0)  # outside an invocation (ops' machine): any wait


def test_nothing_to_wait_for_is_no_wait_even_at_the_deadline() -> None:
    with invocation_ends_in(0.0):
        wait_in_place(0.0, "x")
        wait_in_place(-1.0, "x")


@contextmanager
def a_store_that_never_answers() -> Iterator[tuple[str, list[socket.socket]]]:
    """A real server on 127.0.0.1 that takes each connection and says nothing (a hung store)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/admin/orders.json", accepted
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def test_a_hung_store_holds_a_request_no_longer_than_the_invocation_can_spare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERSYNC_HTTP_READ_TIMEOUT", "20")  # production's read timeout
    with a_store_that_never_answers() as (url, accepted), invocation_ends_in(RESERVE_SECONDS + 1.5):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="timed out") as failed:
            call(session(), "POST", url, json={})
        took = time.monotonic() - started
    assert not isinstance(failed.value, OutOfTime)  # it was sent: the store may have acted on it
    assert 1.0 < took < 2.5 and len(accepted) == 1  # cut to the spare 1.5 s, not 20, and not sent again


def test_a_request_the_invocation_has_no_time_for_is_not_sent() -> None:
    not_sent = pytest.raises(OutOfTime, match="not sent: the invocation ends in")
    with a_store_that_never_answers() as (url, accepted), invocation_ends_in(RESERVE_SECONDS + 0.5), not_sent:
        call(session(), "GET", url)
    assert accepted == []
    assert request_timeout(3.05, 20.0) == (3.05, 20.0)  # outside an invocation: the client's own
