"""The decision for one order: pure domain, no I/O."""

from __future__ import annotations

from ordersync.domain.decide import LineOutcome, decide, duplicate_candidates, suggest_skus
from ordersync.models import FailureReason, OrderStatus, Platform

from .catalog_builders import catalog, line, order, variant

WOO = Platform.WOOCOMMERCE


def test_every_line_matched_is_ready_to_post() -> None:
    decision = decide(order(line("A"), line("B", 2)), catalog(variant("A", "1"), variant("B", "2")), WOO)
    assert decision.should_post
    assert [m.variant.variant_id for m in decision.postable_lines if m.variant] == ["1", "2"]


def test_unknown_sku_is_a_mismatch_naming_it_with_closest_suggestions() -> None:
    decision = decide(
        order(line("TENT-2P")),
        catalog(variant("TENT-2P-V2", "1")),
        WOO,
        seller_active_skus=["TENT-2P-V2", "STOVE", "tent-2p", "SOCK-L"],
    )
    assert (decision.status, decision.reason) == (OrderStatus.FAILED, FailureReason.SKU_MISMATCH)
    (failing,) = decision.failing_lines
    assert failing.suggestions[0] == "tent-2p"  # a case-only difference comes first, and is still a mismatch
    assert "TENT-2P-V2" in failing.suggestions and "SOCK-L" not in failing.suggestions
    assert "'TENT-2P'" in decision.detail and "closest" in decision.detail


def test_a_shipped_line_without_sku_is_a_mismatch() -> None:
    decision = decide(order(line(None)), catalog(), WOO)
    assert decision.reason is FailureReason.SKU_MISMATCH
    assert "has no SKU" in decision.detail


def test_lines_that_need_no_shipping_are_neither_posted_nor_failed() -> None:
    decision = decide(order(line("A"), line(None, requires_shipping=False)), catalog(variant("A", "1")), WOO)
    assert decision.should_post
    assert [m.outcome for m in decision.lines] == [LineOutcome.MATCHED, LineOutcome.NOT_SHIPPED]
    assert len(decision.postable_lines) == 1


def test_several_active_variants_are_a_duplicate_listing_candidates() -> None:
    decision = decide(order(line("LAMP")), catalog(variant("LAMP", "4"), variant("LAMP", "5")), WOO)
    assert decision.reason is FailureReason.DUPLICATE_SKU
    assert {v.variant_id for v in decision.failing_lines[0].candidates} == {"4", "5"}
    assert "matches 2 variants" in decision.detail


def test_stale_duplicate_resolves_to_the_one_still_in_the_store() -> None:
    order_ = order(line("BOTTLE", 2))
    slice_ = catalog(variant("BOTTLE", "6"), variant("BOTTLE", "7"))
    assert set(duplicate_candidates(order_, slice_)) == {"BOTTLE"}
    decision = decide(order_, slice_, WOO, present_in_store={"BOTTLE": frozenset({"7"})})
    assert decision.should_post
    assert decision.postable_lines[0].variant is not None and decision.postable_lines[0].variant.variant_id == "7"
    assert [v.variant_id for v in decision.retired] == ["6"]


def test_deleted_variants_do_not_count() -> None:
    decision = decide(order(line("A")), catalog(variant("A", "1", active=False), variant("A", "2")), WOO)
    assert decision.should_post and decision.postable_lines[0].variant.variant_id == "2"  # type: ignore[union-attr]


def test_alias_resolves_an_old_sku() -> None:
    decision = decide(order(line("OLD")), catalog(variant("NEW", "9"), aliases={"OLD": "NEW"}), WOO)
    assert decision.should_post and decision.postable_lines[0].resolved_sku == "NEW"


def test_all_failing_lines_are_reported_at_once() -> None:
    decision = decide(
        order(line("GONE"), line("LAMP"), line("A")),
        catalog(variant("LAMP", "4"), variant("LAMP", "5"), variant("A", "1")),
        WOO,
    )
    assert decision.reason is FailureReason.SKU_MISMATCH  # the one the seller can fix by telling us a SKU
    assert {m.line.sku for m in decision.failing_lines} == {"GONE", "LAMP"}
    assert "GONE" in decision.detail and "LAMP" in decision.detail


def test_no_shipping_address_is_disregarded_and_says_why() -> None:
    pos = decide(order(line("A"), shipping_address=None, source="pos"), catalog(variant("A", "1")), WOO)
    assert (pos.status, pos.reason) == (OrderStatus.DISREGARDED, FailureReason.MISSING_SHIPPING_ADDRESS)
    assert "in-store" in pos.detail
    test_order = decide(order(line("A"), shipping_address={"name": " ", "city": ""}, test=True), catalog(), WOO)
    assert test_order.status is OrderStatus.DISREGARDED and "test order" in test_order.detail


def test_order_of_checks_cancelled_then_address_then_skus_then_platform() -> None:
    broken = catalog()
    assert decide(order(line("X"), cancelled=True, shipping_address=None), broken, WOO).status is OrderStatus.CANCELLED
    assert decide(order(line("X"), shipping_address=None), broken, WOO).status is OrderStatus.DISREGARDED
    assert decide(order(line("X")), broken, Platform.BIGCOMMERCE).reason is FailureReason.SKU_MISMATCH
    manual = decide(order(line("A")), catalog(variant("A", "1")), Platform.BIGCOMMERCE)
    assert (manual.status, manual.reason) == (OrderStatus.MANUAL_POSTING_PENDING, FailureReason.UNSUPPORTED_PLATFORM)


def test_suggestions_are_at_most_three() -> None:
    assert len(suggest_skus("SOCK-M", ["SOCK-L", "SOCK-S", "SOCK-XL", "SOCK-XS", "STOVE"])) == 3
    assert suggest_skus("ZZZ", ["SOCK-L"]) == ()


# --- what the record, the seller and ops read: the detail, word for word ----------------------


def test_the_failing_lines_are_described_word_for_word() -> None:
    decision = decide(
        order(
            line("TENT-2P", line_id="1"),
            line("LAMP", line_id="2"),
            line(None, line_id="3"),
            line("OLD-SOCK", line_id="4"),
            line("A", line_id="5"),
        ),
        catalog(
            variant("LAMP", "4"), variant("LAMP", "5", product_id="P9"), variant("A", "6"), aliases={"OLD-SOCK": "SOCK"}
        ),
        WOO,
        seller_active_skus=["TENT-2P-V2"],
    )
    assert decision.reason is FailureReason.SKU_MISMATCH  # a mismatch is reported before a duplicate
    assert decision.detail == (
        "line 1 (buyer title TENT-2P): SKU 'TENT-2P' matches no active variant; closest: TENT-2P-V2; "
        "line 2 (buyer title LAMP): SKU 'LAMP' matches 2 variants (product P4 / variant 4, product P9 / variant 5); "
        "line 3 (buyer title None): the line has no SKU; "
        "line 4 (buyer title OLD-SOCK): SKU 'OLD-SOCK' (via alias to 'SOCK') matches no active variant"
    )
    assert [m.outcome for m in decision.lines][-1] is LineOutcome.MATCHED


def test_an_untitled_line_says_so() -> None:
    untitled = line("GONE").model_copy(update={"title": ""})
    assert (
        decide(order(untitled), catalog(), WOO).detail == "line L-GONE (untitled): SKU 'GONE' matches no active variant"
    )


def test_only_duplicates_fail_as_duplicate_sku() -> None:
    decision = decide(
        order(line("LAMP"), line("A")), catalog(variant("LAMP", "4"), variant("LAMP", "5"), variant("A", "6")), WOO
    )
    assert (decision.status, decision.reason) == (OrderStatus.FAILED, FailureReason.DUPLICATE_SKU)
    assert [m.outcome for m in decision.lines] == [LineOutcome.DUPLICATE_SKU, LineOutcome.MATCHED]


def test_an_order_without_address_says_what_it_probably_is() -> None:
    no_address = {"shipping_address": None}
    cases = [
        (order(line("A"), **no_address), ": probably a test order or an in-store order posted online"),
        (order(line("A"), test=True, **no_address), ": the buyer's store marks it as a test order"),
        (order(line("A"), source="POS", **no_address), ": it was created from 'POS', probably an in-store (POS) order"),
        (order(line("A"), source="web", **no_address), ": probably a test order or an in-store order posted online"),
        (
            order(line("A"), test=True, source="shopify_draft_order", **no_address),
            ": the buyer's store marks it as a test order; "
            "it was created from 'shopify_draft_order', probably an in-store (POS) order",
        ),
    ]
    for unshippable, why in cases:
        decision = decide(unshippable, catalog(variant("A", "1")), WOO)
        assert (decision.status, decision.reason) == (OrderStatus.DISREGARDED, FailureReason.MISSING_SHIPPING_ADDRESS)
        assert decision.detail == "the order has no shipping address" + why
        assert decision.lines == () and not decision.should_post
    for source in ("admin", "in-store", "manual"):
        assert "in-store (POS)" in decide(order(line("A"), source=source, **no_address), catalog(), WOO).detail


def test_a_cancelled_order_is_settled_cancelled_before_anything_is_matched() -> None:
    decision = decide(order(line("GONE"), cancelled=True, shipping_address=None), catalog(), WOO)
    assert (decision.status, decision.reason, decision.lines) == (OrderStatus.CANCELLED, None, ())
    assert decision.detail == "the buyer cancelled the order before it was posted"


def test_an_order_of_nothing_to_ship_is_disregarded_without_a_reason() -> None:
    decision = decide(order(line("TIP", requires_shipping=False), line("A", 0)), catalog(variant("A", "1")), WOO)
    assert (decision.status, decision.reason) == (OrderStatus.DISREGARDED, None)
    assert decision.detail == "no line of the order needs shipping (tips, gift cards or digital goods only)"
    assert [m.outcome for m in decision.lines] == [LineOutcome.NOT_SHIPPED, LineOutcome.NOT_SHIPPED]


def test_a_bigcommerce_seller_waits_for_ops_unless_automated_posting_is_on() -> None:
    bigcommerce = Platform.BIGCOMMERCE
    by_hand = decide(order(line("A")), catalog(variant("A", "1")), bigcommerce)
    assert (by_hand.status, by_hand.reason) == (OrderStatus.MANUAL_POSTING_PENDING, FailureReason.UNSUPPORTED_PLATFORM)
    assert by_hand.detail == "the seller's store is BigCommerce; automated posting is off, ops post it by hand"
    assert [m.variant.variant_id for m in by_hand.postable_lines if m.variant] == ["1"]
    automated = decide(
        order(line("A")), catalog(variant("A", "1")), bigcommerce, auto_post_platforms=frozenset({bigcommerce})
    )
    assert automated.status is OrderStatus.RECEIVED and automated.should_post


def test_a_stale_copy_is_retired_even_when_the_order_waits_for_manual_posting() -> None:
    decision = decide(
        order(line("BOTTLE")),
        catalog(variant("BOTTLE", "6"), variant("BOTTLE", "7")),
        Platform.BIGCOMMERCE,
        present_in_store={"BOTTLE": frozenset({"6"})},
    )
    assert decision.status is OrderStatus.MANUAL_POSTING_PENDING
    assert [v.variant_id for v in decision.retired] == ["7"]


def test_suggestions_are_at_most_three_distinct_skus_closest_first() -> None:
    active = ["TENT-2P-V2", "TENT-2P-V3", "TENT-2P-V2", "TENT-3P", "TENT-2P-XL", "STOVE"]
    assert suggest_skus("TENT-2P", active) == ("TENT-3P", "TENT-2P-XL", "TENT-2P-V3")  # difflib's ranking
    assert suggest_skus("TENT-2P", active, limit=1) == ("TENT-3P",)
    assert suggest_skus("tent-2p-v2", active) == ("TENT-2P-V2", "TENT-2P-V3", "TENT-2P-XL")  # case-only first
    assert suggest_skus("ZZZ", active) == ()
