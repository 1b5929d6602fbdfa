"""DynamoDB's billing rules, a case each (Developer Guide: "Read/write capacity mode",
"Item sizes and formats", "Global secondary indexes: provisioned throughput considerations")."""

from __future__ import annotations

import pytest

from ordersync.aws.item_size import item_bytes
from ordersync.local.capacity import Index, index_write_units, read_units, table_write_units, write_units

KB = 1024


def _item(key: str, size: int, **extra: str) -> dict[str, dict[str, str]]:
    """An item of `size` bytes as DynamoDB counts them: "pk" and its value, "body" filling the rest."""
    item = {"pk": {"S": key}, **{name: {"S": value} for name, value in extra.items()}}
    item["body"] = {"S": "x" * (size - item_bytes(item) - len("body"))}
    assert item_bytes(item) == size
    return item


def test_a_read_is_4_kb_a_unit_rounded_up_and_half_when_eventually_consistent() -> None:
    assert read_units([1], consistent=True) == 1
    assert read_units([4 * KB], consistent=True) == 1
    assert read_units([4 * KB + 1], consistent=True) == 2
    assert read_units([4 * KB + 1]) == 1.0  # eventually consistent: half
    assert read_units([4 * KB + 1], transactional=True) == 4.0


def test_an_item_not_found_still_costs_the_minimum() -> None:
    assert read_units([0], consistent=True) == 1 and read_units([0]) == 0.5


def test_batch_get_rounds_each_item_and_query_rounds_the_sum_once() -> None:
    sizes = [1 * KB, 1 * KB, 1 * KB]
    assert read_units(sizes, consistent=True) == 3  # BatchGetItem: each item its own unit
    assert read_units(sizes, whole=True, consistent=True) == 1  # Query: 3 KB read, one unit
    assert read_units([3 * KB, 3 * KB], whole=True, consistent=True) == 2


def test_a_write_is_1_kb_a_unit_of_the_larger_of_the_item_before_and_after() -> None:
    assert write_units(0, 1) == 1
    assert write_units(0, KB) == 1 and write_units(0, KB + 1) == 2
    assert write_units(3 * KB, 500) == 3  # an update that shrinks the item pays for what it was
    assert write_units(2 * KB, 0) == 2  # a delete pays for the item deleted
    assert write_units(0, 500, transactional=True) == 2


def test_a_refused_conditional_write_pays_for_the_item_it_was_refused_on_and_writes_no_index() -> None:
    index = Index("by_status", ("status",), ("pk",))
    existing = _item("a", 2 * KB + 10, status="SYNCED")
    assert table_write_units([index], existing, None, refused=True) == (3, 0)
    assert table_write_units([index], None, None, refused=True) == (1, 0)  # nothing there: the minimum


@pytest.mark.parametrize(
    ("before", "after", "units"),
    [
        (None, {"status": "FAILED"}, 1),  # put into the index: one write
        ({"status": "FAILED"}, None, 1),  # the indexed attribute removed: one delete
        ({"status": "FAILED"}, {"status": "SYNCED"}, 2),  # an index key changed: a delete and a put
        ({}, {}, 0),  # in the index neither before nor after (sparse): nothing
    ],
)
def test_an_index_is_written_when_the_item_enters_leaves_or_moves_in_it(
    before: dict[str, str] | None, after: dict[str, str] | None, units: int
) -> None:
    index = Index("by_status", ("status",), ("pk",), "KEYS_ONLY")
    old = None if before is None else _item("a", 300, **before)
    new = None if after is None else _item("a", 300, **after)
    assert index_write_units(index, old, new) == units


def test_a_projected_attribute_changed_is_one_write_and_an_unprojected_one_none() -> None:
    before = _item("a", 3 * KB, status="FAILED", note="old")
    after = {**before, "note": {"S": "new"}}
    assert index_write_units(Index("all", ("status",), ("pk",), "ALL"), before, after) == 3  # the whole entry
    assert index_write_units(Index("keys", ("status",), ("pk",), "KEYS_ONLY"), before, after) == 0
    included = Index("inc", ("status",), ("pk",), "INCLUDE", ("note",))
    assert index_write_units(included, before, after) == 1  # its entry is small: keys and the note


def test_the_table_and_its_indexes_are_counted_apart() -> None:
    indexes = [
        Index("by_status", ("status",), ("pk",), "ALL"),
        Index("by_connection", ("connection",), ("pk",), "KEYS_ONLY"),
    ]
    before = _item("a", 1500, status="RECEIVED", connection="c1")
    after = {**before, "status": {"S": "SYNCED"}}
    # table: 2 units (1.5 KB); by_status: its key moved, a delete and a put of 1.5 KB each; by_connection: unchanged
    assert table_write_units(indexes, before, after) == (2, 4)
