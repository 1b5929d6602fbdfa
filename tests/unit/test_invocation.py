"""A store's pace is waited out in place only while the invocation has the time for it."""

from __future__ import annotations

import time

import pytest

from ordersync.errors import StoreThrottled
from ordersync.invocation import RESERVE_SECONDS, can_wait, invocation_ends_in
from ordersync.platforms.http import wait_in_place


def test_a_wait_that_would_outlast_the_invocation_is_a_throttle_with_the_store_s_word() -> None:
    with invocation_ends_in(RESERVE_SECONDS + 1.0):
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
