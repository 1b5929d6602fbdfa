"""No record outgrows DynamoDB's 400 KB item: the timeline, each entry and the order's detail are
bounded, an order of more lines than a record holds is refused up front with a named reason, and a
record at every limit at once still fits. Sizes by DynamoDB's published rules (aws/item_size.py)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from ordersync.aws.item_size import ITEM_LIMIT, item_bytes, plain_item_bytes
from ordersync.aws.orders import table_item
from ordersync.domain.catalog import CatalogSlice
from ordersync.domain.decide import MAX_LINES, decide
from ordersync.local.fakes.shopify import order_node
from ordersync.models import Cause, FailureReason, OrderStatus, Platform, PostedLine
from ordersync.records import DETAIL_MAX, ENTRY_MAX, MAX_PARCELS, TIMELINE_KEEP, LineView, OrderRecord, ParcelEntry

from .catalog_builders import NOW, line, order


@pytest.mark.parametrize(
    ("typed", "size"),
    [
        ({"a": {"S": "héllo"}}, 1 + 6),  # a string: its UTF-8 bytes
        ({"n": {"N": "12345"}}, 1 + 3),  # a number: about one byte per two significant digits, plus one
        ({"n": {"N": "-1.5"}}, 1 + 2),
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),  # binary: its bytes
        ({"t": {"BOOL": True}, "z": {"NULL": True}}, 2 + 2),  # a boolean or null: one byte
        ({"l": {"L": [{"S": "ab"}, {"S": "c"}]}}, 1 + 3 + (2 + 1) + (1 + 1)),  # a list: 3, each element + 1
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),  # a map: 3, each name and value + 1
    ],
)
def test_an_items_size_is_counted_as_dynamodb_publishes(typed: dict, size: int) -> None:
    assert item_bytes(typed) == size


def _record(status: OrderStatus = OrderStatus.SYNCED) -> OrderRecord:
    return OrderRecord(
        order_key="acme--northwind#1001", connection_id="acme--northwind", order_id="1001", order_number="#1001",
        buyer_id="acme", buyer_name="Acme", buyer_platform="shopify", seller_id="northwind", seller_name="Northwind",
        seller_platform="woocommerce", status=status, seller_order_id="5001", envelope={},
    )  # fmt: skip


def test_a_record_at_every_limit_at_once_fits_its_item() -> None:
    """MAX_LINES lines with the longest SKU and title a line keeps, each posted, MAX_PARCELS parcels of
    three lines each with the longest tracking, a timeline of hundreds of changes each with a page of
    words — and the payload kept for a replay."""
    record = _record(OrderStatus.FAILED)
    record.lines = [
        LineView(line_id=str(10**15 + i), sku="S" * 200, title="T" * 200, quantity=99_999, outcome="matched")
        for i in range(MAX_LINES)
    ]
    record.posted_lines = [
        PostedLine(buyer_line_id=str(10**15 + i), variant_id=str(10**15 + i), quantity=99_999,
                   seller_line_id=str(10**15 + i))
        for i in range(MAX_LINES)
    ]  # fmt: skip
    record.parcels = [
        ParcelEntry(key=f"northwind:fulfillment-{10**12 + p}", carrier="C" * 50, tracking_number="9" * 64,
                    tracking_url="https://t.example/" + "u" * 2000, detail="d" * ENTRY_MAX,
                    lines=[(str(10**15 + i), 99_999) for i in range(p * 2, p * 2 + 3)]).bounded()
        for p in range(MAX_PARCELS)
    ]  # fmt: skip
    for change in range(400):
        record.note(NOW + timedelta(minutes=change), OrderStatus.SYNCED, FailureReason.LINES_CHANGED, "x" * 50_000,
                    Cause.WEBHOOK)  # fmt: skip
    record.status = OrderStatus.FAILED  # so that the payload is kept too
    lines = [(f"SKU-{i:05d}", f"Product number {i} in a long catalogue", 3, "19.99") for i in range(MAX_LINES)]
    record.envelope = {"payload": order_node(1001, "#1001", lines, {"name": "Dana W", "countryCodeV2": "US"})}
    assert (
        len(record.timeline) == TIMELINE_KEEP and record.timeline[0].detail == "x" * 960 + "… (49040 characters more)"
    )
    assert len(record.detail) <= DETAIL_MAX
    size = plain_item_bytes(table_item(record))
    assert size < ITEM_LIMIT * 0.9, size  # with room for what the index projections and attribute names add


def test_a_typical_order_grows_by_less_than_a_kilobyte_a_change_and_stops_growing() -> None:
    record = _record()
    sizes = []
    for change in range(3 * TIMELINE_KEEP):
        detail = f"the buyer changed line {change}: 2 -> 3 units; the seller was told (LINES_CHANGED)"
        record.note(NOW + timedelta(minutes=change), OrderStatus.SYNCED, FailureReason.LINES_CHANGED, detail,
                    Cause.WEBHOOK)  # fmt: skip
        sizes.append(plain_item_bytes(table_item(record)))
    growth = [after - before for before, after in itertools.pairwise(sizes)]
    assert max(growth[: TIMELINE_KEEP - 2]) < 1024
    assert sizes[-1] - sizes[TIMELINE_KEEP] < 64  # a full timeline keeps its first entry and the latest


def test_an_order_of_more_lines_than_a_record_holds_is_refused_up_front_with_its_reason() -> None:
    many = order(*(line(f"SKU-{i}", line_id=str(i)) for i in range(MAX_LINES + 1)))
    decision = decide(many, CatalogSlice({}, {}), Platform.WOOCOMMERCE)
    assert (decision.status, decision.reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    assert decision.detail.startswith(f"{MAX_LINES + 1} lines for this seller: more than ordersync holds in one order")
    at_limit = order(*(line(f"SKU-{i}", line_id=str(i)) for i in range(MAX_LINES)))
    assert decide(at_limit, CatalogSlice({}, {}), Platform.WOOCOMMERCE).reason is FailureReason.SKU_MISMATCH


def test_a_dlq_message_at_every_limit_fits_one_sqs_message_and_still_replays() -> None:
    """MAX_LINES failing lines of the longest SKU, the longest detail, and a buyer payload just under
    what an envelope carries (200 KB): the body stays inside SQS's 256 KiB; a payload past what the
    body keeps becomes a read request (a redrive reads the order from the buyer's store again)."""
    from ordersync.alerts.messages import DLQ_LINES_SHOWN, dlq_message
    from ordersync.aws.messaging import dlq_text
    from ordersync.models import MAX_ORDER_PAYLOAD_BYTES, requested_read

    record = _record(OrderStatus.FAILED)
    record.lines = [
        LineView(line_id=str(10**15 + i), sku="S" * 200, title="", quantity=9, outcome="sku_mismatch",
                 suggestions=["S" * 200] * 3)
        for i in range(MAX_LINES)
    ]  # fmt: skip
    record.note(NOW, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "y" * 50_000, Cause.PULL)
    payload = {"id": "gid://shopify/Order/1001", "note": "z" * (MAX_ORDER_PAYLOAD_BYTES - 1_000)}
    record.envelope = {"order_id": "1001", "payload": payload}
    body, _ = dlq_message(record, None)
    assert len(dlq_text(body).encode()) < 256 * 1024
    assert len(body["failing_lines"]) == DLQ_LINES_SHOWN and body["failing_lines_not_shown"] == MAX_LINES - 50
    assert requested_read(body["envelope"]["payload"]) == "1001"
    plain = _record(OrderStatus.FAILED)
    plain.note(NOW, OrderStatus.FAILED, FailureReason.SKU_MISMATCH, "SKU A-1 is not in the catalog", Cause.PULL)
    plain.envelope = {"order_id": "1001", "payload": {"id": "gid://shopify/Order/1001"}}
    small, _ = dlq_message(plain, None)
    assert small["envelope"]["payload"] == {"id": "gid://shopify/Order/1001"}  # kept: replayed as it was
    assert dlq_text(small).count("\n") > 10  # small: indented for a person reading it in the console


def test_a_typical_synced_order_of_three_lines_is_one_write_unit_with_its_parcel() -> None:
    """The lines (as bought and as posted) and the parcels are kept compressed: a 3-line order's
    record is under DynamoDB's 1 KB write unit after its post and after its parcel — each write of
    it, the claim's included, is billed one unit, not two (`make bench`'s whole life)."""
    record = _record()
    skus = [("NW-OAK-DESK-120", "Oak standing desk, 120 cm"), ("NW-LAMP-BRASS", "Brass desk lamp, warm white"),
            ("NW-CHAIR-ERGO-BLK", "Ergonomic chair, black mesh")]  # fmt: skip
    record.lines = [
        LineView(line_id=f"1440{i}8827391", sku=sku, title=title, quantity=i + 1, outcome="matched")
        for i, (sku, title) in enumerate(skus)
    ]
    record.posted_lines = [
        PostedLine(buyer_line_id=f"1440{i}8827391", variant_id=f"48{i}2217", quantity=i + 1, seller_line_id=f"91{i}")
        for i in range(3)
    ]
    record.posted_address = "66fca07dbf2fcb5121987ffd04300254"
    record.note(NOW, OrderStatus.RECEIVED, None, "pulled from the buyer's Shopify store", Cause.WEBHOOK)
    record.note(NOW, OrderStatus.SYNCED, None, "posted to the seller's WooCommerce store as order 5001", Cause.WEBHOOK)
    posted = plain_item_bytes(table_item(record))
    record.parcels = [
        ParcelEntry(key="northwind:5001-1", carrier="UPS", tracking_number="1Z999AA10123456784",
                    tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
                    lines=[(f"1440{i}8827391", i + 1) for i in range(3)], in_buyer_store_at=NOW)
    ]  # fmt: skip
    shipped = plain_item_bytes(table_item(record))
    assert posted < shipped <= 1024, (posted, shipped)
    plain = record.model_dump(mode="json", exclude={"envelope"}, exclude_defaults=True)
    assert plain_item_bytes(plain) > 1024  # as it was kept before: two write units a write


def test_the_detail_kept_once_with_the_last_entry_reads_back_as_it_was() -> None:
    from ordersync.aws.orders import _record as read_back

    record = _record()
    record.note(NOW, OrderStatus.SYNCED, None, "posted to the seller's WooCommerce store as order 5001", Cause.PULL)
    item = table_item(record)
    assert "detail" not in item and read_back(item).detail == record.detail
    record.log(NOW, "the parcel 1Z1 (UPS): written into the buyer's Shopify store", Cause.PROCESS)
    assert read_back(table_item(record)).detail == "posted to the seller's WooCommerce store as order 5001"
    record.note(NOW, OrderStatus.SYNCED, None, "", Cause.PROCESS)
    record.log(NOW, "a parcel", Cause.PROCESS)
    assert read_back(table_item(record)).detail == ""  # none, though the last entry has words
