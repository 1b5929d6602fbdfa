"""A store's values read as what they claim to be, or a named error: what a store lets through its
own API (a WooCommerce fulfilment's `qty` is loosely typed meta: "abc", 1.5 and -3 all get in) must
become a named failure of that order, never a ValueError that stops a run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ordersync.domain.parcels import shown
from ordersync.errors import StoreDataInvalid


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


def units_kept(asked: Sequence[tuple[str, int]], now: Mapping[str, int]) -> list[str]:
    """What a store kept of a reduction it answered 2xx to: each line (by the id it was asked by)
    whose units the copy, read back, doesn't hold, in words. A line gone or at 0 holds 0 units."""
    return [
        f"{line} still has {now.get(line, 0)} (asked {units})" for line, units in asked if now.get(line, 0) != units
    ]
