"""DynamoDB's capacity units as it bills them, from the sizes of the items a call touched (its
published rules, a case each in tests/unit/test_capacity.py). On-demand tables are billed in the
same units: a write request unit per write unit, a read request unit per read unit.

Reads: 4 KB a unit, rounded up — per item for GetItem and BatchGetItem, once over the sum of the
items read for Query and Scan; an item not found still costs the minimum; eventually consistent
reads half of it; transactional reads twice.
Writes: 1 KB a unit, rounded up, of the larger of the item before and after (PutItem, UpdateItem,
DeleteItem; each item of a BatchWriteItem on its own); a conditional write refused still costs the
item it was refused on (at least one unit); transactional writes twice.
A global secondary index: one write of its entry when a write puts the item in it, takes the item
out, or changes a projected attribute; two (a delete and a put) when it changes an index key; none
when the entry is the same before and after, or the item is in it neither before nor after."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ordersync.aws.item_size import item_bytes

READ_UNIT_BYTES = 4 * 1024
WRITE_UNIT_BYTES = 1024
Item = Mapping[str, Any]  # DynamoDB's typed form: {"name": {"S": "..."}}


def read_units(
    sizes: Iterable[int], whole: bool = False, consistent: bool = False, transactional: bool = False
) -> float:
    """The read units of the items of one call, by their sizes. `whole`: Query and Scan round the sum
    once; GetItem and BatchGetItem each item (an item not found: pass 0, it costs the minimum)."""
    sizes = list(sizes)
    if whole:
        units = max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES))
    else:
        units = sum(max(1, math.ceil(size / READ_UNIT_BYTES)) for size in sizes)
    if transactional:
        return units * 2.0
    return float(units) if consistent else units / 2


def write_units(before: int, after: int, transactional: bool = False) -> int:
    """One item's write: the larger of its size before and after (0: absent), at least one unit; a
    conditional write that was refused: pass the item's size as both."""
    units = max(1, math.ceil(max(before, after) / WRITE_UNIT_BYTES))
    return units * 2 if transactional else units


@dataclass(frozen=True)
class Index:
    """A global secondary index as the table declares it."""

    name: str
    keys: tuple[str, ...]  # its partition (and sort) key
    table_keys: tuple[str, ...]  # always projected
    projection: str = "ALL"  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    def entry(self, item: Item | None) -> dict[str, Any] | None:
        """What the index holds of the item: None when the item lacks an index key (a sparse index)."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = {*self.keys, *self.table_keys, *(self.included if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in kept}


def index_write_units(index: Index, before: Item | None, after: Item | None) -> int:
    """The write units one table write costs this index (the rules in the module's docstring)."""
    old, new = index.entry(before), index.entry(after)
    if old == new:
        return 0
    if old is None or new is None:
        return write_units(item_bytes(old or {}), item_bytes(new or {}))
    if any(old[key] != new[key] for key in index.keys):
        return write_units(item_bytes(old), 0) + write_units(0, item_bytes(new))
    return write_units(item_bytes(old), item_bytes(new))


def index_writes(indexes: Sequence[Index], before: Item | None, after: Item | None) -> dict[str, int]:
    """Each index's write units of one item's write, by index name."""
    return {index.name: index_write_units(index, before, after) for index in indexes}


def table_write_units(
    indexes: Sequence[Index], before: Item | None, after: Item | None, refused: bool = False
) -> tuple[int, int]:
    """(the table's, its indexes') write units of one item's write. `refused`: a condition failed,
    nothing changed: the table is charged for the item as it is, the indexes nothing."""
    if refused:
        size = item_bytes(before or {})
        return write_units(size, size), 0
    table = write_units(item_bytes(before or {}), item_bytes(after or {}))
    return table, sum(index_writes(indexes, before, after).values())
