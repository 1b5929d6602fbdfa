"""`ordersync local demo --report FILE`: every case, end to end, and the report's schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ordersync.cli import main


@pytest.mark.long(seconds=19)
def test_demo_runs_every_case_and_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_path = tmp_path / "report.json"
    assert main(["local", "demo", "--report", str(report_path)]) == 0
    printed = capsys.readouterr().out
    assert "ORDER_NUMBER" in printed and "SYNCED" in printed

    report = json.loads(report_path.read_text())
    assert set(report) == {"orders", "emails", "dlq", "fast_path", "drift", "buyer_orders"}
    two_parts = ("#1010", "#1012")  # Acme's orders across its two sellers: a record each (below)
    by_number = {o["order_number"]: o for o in report["orders"] if o["order_number"] not in two_parts}
    outcome = {number: (o["status"], o["reason"]) for number, o in by_number.items()}
    assert outcome == {
        "#1001": ("SYNCED", "CANCEL_TOO_LATE"),  # cancelled by the buyer after it shipped: told, not touched
        "#1002": ("SYNCED", None),  # SKU mismatch, fixed by ops' alias and replayed
        "#1003": ("FAILED", "DUPLICATE_SKU"),
        "#1004": ("SYNCED", None),  # stale duplicate, resolved by itself
        "#1005": ("DISREGARDED", "MISSING_SHIPPING_ADDRESS"),
        "#1006": ("FAILED", "INVALID_ORDER"),
        "#1007": ("CANCELLED", None),
        "2001": ("SYNCED", None),  # WooCommerce buyer -> Shopify seller
        "#3001": ("POSTED_MANUALLY", "UNSUPPORTED_PLATFORM"),  # BigCommerce seller, posted by ops by hand
        "4001": ("SYNCED", None),  # BigCommerce buyer -> BigCommerce seller with automated posting
        # after the pull, by webhook: in the seller's store without waiting for the next hour
        "#1008": ("CANCELLED", "PARCEL_FOR_CANCELLED_ORDER"),  # cancelled after posting; shipped anyway
        "2002": ("SYNCED", "ADDRESS_UPDATED"),  # its new address on Peak Gear's copy
        "#1009": ("SYNCED", None),  # blocked, edited (3 units), fixed by ops: the latest version posted
        "4002": ("SYNCED", None),
    }
    assert [(f["order_key"].split("#")[1], f["status"]) for f in report["fast_path"]] == [
        ("1008", "SYNCED"),
        ("2002", "SYNCED"),
        ("4002", "SYNCED"),
    ]
    assert all(0 < f["seconds"] < 60 for f in report["fast_path"])
    assert "by webhook" in printed
    for order in report["orders"]:
        assert set(order) == {
            "order_id", "order_number", "buyer", "seller", "buyer_platform", "seller_platform",
            "status", "reason", "seller_order_id", "by", "shipping", "parcels", "timeline",
        }  # fmt: skip
        posted = order["status"] in ("SYNCED", "POSTED_MANUALLY") or order["reason"] in ("PARCEL_FOR_CANCELLED_ORDER",)
        assert (order["seller_order_id"] is not None) == posted, order["order_number"]
        for entry in order["timeline"]:
            assert set(entry) == {"at", "status", "reason", "detail", "cause"}
        assert order["by"] == order["timeline"][-1]["cause"]
    # what brought each one's latest change: the fix's replay, the webhook, the pull
    assert (by_number["#1002"]["by"], by_number["2002"]["by"], by_number["#1003"]["by"]) == (
        "replay",
        "webhook",
        "pull",
    )
    header = next(line for line in printed.splitlines() if line.startswith("ORDER_NUMBER"))
    assert header.split()[-2:] == ["BY", "SHIPPING"]
    # the sellers shipped: every parcel in the buyer's store once, by the sellers' webhooks
    parcels = {
        n: [(p["carrier"], p["tracking_number"], p["lines"]) for p in o["parcels"]] for n, o in by_number.items()
    }
    assert parcels["#1001"] == [
        ("UPS", "1Z999AA10123456784", [["100101", 1]]),
        ("Bob's Couriers", "BC-000123", [["100102", 2]]),  # a carrier no platform knows: its own name
    ]
    assert parcels["2001"] == [("DHL Express", "JD014600003829", [["200101", 1]])]  # corrected after it went across
    assert parcels["4001"] == [("fedex", "123456789012", [["1", 2]])]
    assert {n: o["shipping"] for n, o in by_number.items() if o["shipping"]} == {
        "#1001": "shipped",
        "2001": "partly shipped",
        "4001": "shipped",
    }
    (refused,) = by_number["#1008"]["parcels"]  # shipped after the buyer cancelled: never written
    assert refused["reason"] == "PARCEL_FOR_CANCELLED_ORDER" and refused["in_buyer_store_at"] is None
    others = [p for n, o in by_number.items() if n != "#1008" for p in o["parcels"]]
    assert all(p["in_buyer_store_at"] and p["reason"] is None for p in others)
    assert "parcel northwind-supply:fulfillment-" in printed
    mismatch = [(t["status"], t["reason"]) for t in by_number["#1002"]["timeline"]]
    assert mismatch == [("RECEIVED", None), ("FAILED", "SKU_MISMATCH"), ("SYNCED", None)]
    assert any("retired stale duplicate" in t["detail"] for t in by_number["#1004"]["timeline"])
    manual = [t["status"] for t in by_number["#3001"]["timeline"]]
    assert manual[-1] == "POSTED_MANUALLY" and "MANUAL_POSTING_PENDING" in manual
    assert by_number["#3001"]["seller_order_id"] == "100231"

    assert sorted((m["order_id"], m["reason"]) for m in report["dlq"]) == [
        ("1003", "DUPLICATE_SKU"),
        ("1006", "INVALID_ORDER"),
    ]

    # Each seller's mailbox holds only its own orders; ops get everything, sellers nothing they can't act on.
    for email in report["emails"]:
        assert set(email) == {"to", "seller_id", "subject", "body", "sent"}
    northwind = [e for e in report["emails"] if e["to"] == ["orders@northwind-supply.example"]]
    assert {e["seller_id"] for e in northwind} == {"northwind-supply"}
    assert sorted(e["subject"] for e in northwind if e["subject"].startswith("Order #")) == [
        "Order #1001 from Acme Outfitters was cancelled after it shipped",
        "Order #1002 from Acme Outfitters couldn't be synced to your WooCommerce store (SKU mismatch)",
        "Order #1002 from Acme Outfitters is now in your WooCommerce store",
        "Order #1003 from Acme Outfitters couldn't be synced to your WooCommerce store (duplicate SKU)",
        "Order #1005 from Acme Outfitters couldn't be synced to your WooCommerce store (no shipping address)",
        "Order #1008 from Acme Outfitters was cancelled - don't ship it (cancelled in your store)",
        "Order #1009 from Acme Outfitters couldn't be synced to your WooCommerce store (SKU mismatch)",
        "Order #1009 from Acme Outfitters is now in your WooCommerce store",  # the edited version, after the fix
        "Order #1012 from Acme Outfitters couldn't be synced to your WooCommerce store (SKU mismatch)",
        "Order #1012 from Acme Outfitters is now in your WooCommerce store",
    ]
    assert "A parcel left for order #1008 from Acme Outfitters, which was cancelled" in [
        e["subject"] for e in northwind
    ]
    peak = [e["subject"] for e in report["emails"] if e["to"] == ["orders@peak-gear.example"]]
    assert peak == ["The shipping address of order #2002 from Brightside Home changed - updated in your store"]
    # told #1002 couldn't be synced, then (after ops' alias) that it is in their store after all
    assert "Order #1002 from Acme Outfitters is now in your WooCommerce store" in [e["subject"] for e in northwind]
    assert all("Acme Outfitters" in e["subject"] for e in northwind)
    summit = [e for e in report["emails"] if e["to"] == ["orders@summit-supply.example"]]
    assert sorted(e["subject"] for e in summit) == [
        "1 order from Canyon Trading differs between your store and theirs",
        "Order #3001 from Canyon Trading is now in your BigCommerce store",
        "Order #3001 from Canyon Trading is ready to process - our team will post it for you",
    ]
    ops = sorted(e["subject"] for e in report["emails"] if e["seller_id"] is None)
    # ops' own subjects: whose order, to whose store, why ("your store" is the seller's word)
    assert [s.split()[2] for s in ops if s.startswith("[ops] Order ")] == [
        "#1001",  # cancelled after it shipped
        "#1002",
        "#1003",
        "#1005",
        "#1006",
        "#1008",  # cancelled; then a parcel for it anyway
        "#1008",
        "#1009",
        "#1012",  # Northwind's part alone: Peak Gear's was posted
        "#2002",  # a new address
    ]
    assert "[ops] Order #1003 from Acme Outfitters to Northwind Supply's WooCommerce store: duplicate SKU" in ops
    assert not [s for s in ops if "your" in s]
    assert "[ops] Post order #3001 to Summit Supply's BigCommerce store by hand" in ops

    # the drift check: the address changed by hand in Northwind's store, and what the stores keep
    # disagreeing on by design (a cancellation too late, a parcel for a cancelled order)
    drift = {(d["order_key"].split("#")[1], d["kind"]) for d in report["drift"]}
    assert drift == {
        ("1004", "ADDRESS_DIFFERS"),
        ("1001", "CANCELLED_BY_BUYER_ONLY"),
        ("1008", "CANCELLED_BY_BUYER_ONLY"),
        ("1008", "PARCEL_NOT_IN_BUYER_STORE"),
        ("3001", "COPY_NOT_IN_SELLER_STORE"),  # ops' `manual complete` named an order Summit's store doesn't hold
    }
    (moved,) = [d for d in report["drift"] if d["kind"] == "ADDRESS_DIFFERS"]
    assert "9 Wrong Way" in moved["detail"] and "seller's store back to the buyer's" in moved["mend"]
    assert "[ops] Drift check: 5 divergences in 4 orders" in ops
    assert "3 orders from Acme Outfitters differ between your store and theirs" in [e["subject"] for e in northwind]


@pytest.mark.long(seconds=20)
def test_the_demo_retailer_buys_from_two_sellers_and_sells_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Acme buys from Northwind and Peak Gear and sells candles of its own: each buyer order whole
    in the report, a part per seller with its lines alone, nobody told of the retailer's own."""
    report_path = tmp_path / "report.json"
    assert main(["local", "demo", "--report", str(report_path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    whole = {o["order_number"]: o for o in report["buyer_orders"] if o["buyer"] == "acme-outfitters"}
    parts = {n: [(p["seller"], p["status"], p["skus"]) for p in o["parts"]] for n, o in whole.items()}
    assert parts["#1010"] == [("northwind-supply", "SYNCED", ["NW-STOVE"]), ("peak-gear", "SYNCED", ["PK-PACK-30"])]
    assert whole["#1010"]["own_lines"] == ["AC-CANDLE"]
    assert (parts["#1011"], whole["#1011"]["own_lines"]) == ([], ["AC-CANDLE"])  # its own only: no seller part
    # Northwind renamed the tent's SKU: its part was blocked (then fixed by the alias), Peak's posted at once
    assert parts["#1012"] == [("northwind-supply", "SYNCED", ["NW-TENT-2P"]), ("peak-gear", "SYNCED", ["PK-PACK-30"])]
    timelines = {
        o["seller"]: [(t["status"], t["reason"]) for t in o["timeline"]]
        for o in report["orders"]
        if o["order_number"] == "#1012"
    }
    assert timelines["northwind-supply"][:3] == [("RECEIVED", None), ("FAILED", "SKU_MISMATCH"), ("SYNCED", None)]
    assert timelines["peak-gear"][:2] == [("RECEIVED", None), ("SYNCED", None)]
    assert {o["seller"]: o["shipping"] for o in report["orders"] if o["order_number"] == "#1012"} == {
        "northwind-supply": "shipped",
        "peak-gear": "shipped",
    }
    assert "#1012 in Acme's store: PARTIALLY_FULFILLED after Northwind's parcel, FULFILLED after Peak Gear's" in printed
    # what each seller was sent: its own lines only; nobody hears of the retailer's own #1011
    for email in report["emails"]:
        assert "#1011" not in email["subject"] + email["body"] and "AC-CANDLE" not in email["body"]
        if email["seller_id"] == "northwind-supply":
            assert "PK-PACK-30" not in email["body"] and "Daypack" not in email["body"]
        if email["seller_id"] == "peak-gear":
            assert "NW-" not in email["body"] and "#1010" not in email["subject"] and "#1012" not in email["subject"]
