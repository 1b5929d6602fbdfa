"""A store's values read as what they claim to be, or a named error: what a store lets through its
own API (a WooCommerce fulfilment's `qty` is loosely typed meta: "abc", 1.5 and -3 all get in) must
become a named failure of that order, never a ValueError that stops a run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ordersync.domain.parcels import shown
from ordersync.errors import StoreDataInvalid, StoreRejected
from ordersync.models import CopyLine


def whole_units(value: Any, what: str, least: int = 1) -> int:
    """`value` as a count of units of at least `least`: an int, or a string or float holding one."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None or number < least:
        raise StoreDataInvalid(f"{what} {shown(repr(value))}, not a whole number of units of at least {least}")
    return number


def lines_to_change(
    order_id: str, asked: Sequence[tuple[CopyLine, int]], lines: Sequence[tuple[str, str, int]]
) -> list[tuple[str, int]]:
    """(the copy's line id, new units) of each change, the copy's lines being (line id, variant id,
    units); StoreRejected naming any line the copy doesn't have (never another line in its place)."""
    found = [(line.find(lines), units) for line, units in asked]
    missing = [line.words() for (line, _), (line_id, _) in zip(asked, found, strict=True) if line_id is None]
    if missing:
        raise StoreRejected(f"order {order_id} has no {', '.join(missing)}")
    return [(line_id, units) for line_id, units in found if line_id is not None]


def units_kept(asked: Sequence[tuple[str, int]], now: Mapping[str, int]) -> list[str]:
    """What a store kept of a reduction it answered 2xx to: each line (by the id it was asked by)
    whose units the copy, read back, doesn't hold, in words. A line gone or at 0 holds 0 units."""
    return [
        f"line {line} still has {now.get(line, 0)} (asked {units})"
        for line, units in asked
        if now.get(line, 0) != units
    ]
