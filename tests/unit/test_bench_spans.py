"""`make bench` takes the seller store's time out of the handlers' per order: a batch's creates
run at once, so that time is when any create was in flight, never their sum (which, overlapped,
was more than the handlers' own time and gave a negative "ours")."""

from __future__ import annotations

from ordersync.local.bench import time_covered


def test_overlapping_creates_count_once_and_apart_ones_each() -> None:
    assert time_covered([]) == 0.0
    assert time_covered([(0.0, 1.0), (0.2, 0.8), (0.5, 1.5)]) == 1.5  # one batch: overlapped
    assert time_covered([(3.0, 4.0), (0.0, 1.0)]) == 2.0  # two batches, in turn (in any order)
    assert time_covered([(0.0, 1.0), (1.0, 2.0)]) == 2.0  # touching
