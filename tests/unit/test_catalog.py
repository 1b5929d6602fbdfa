"""The catalog sync's decisions, without I/O: a page the store listed merged into the stored groups
of its SKUs; the end of a run retiring what it didn't see; which run each hour plans."""

from __future__ import annotations

from datetime import timedelta

from ordersync.domain.catalog import (
    CATALOG_OVERLAP,
    FULL_RECONCILE_EVERY,
    SMALL_CATALOG_VARIANTS,
    CatalogChange,
    CatalogSyncPlan,
    CatalogVariant,
    StoreVariant,
    VariantStatus,
    merge_seen,
    plan_catalog_sync,
    retire_unseen,
)

from .catalog_builders import NOW

EARLIER = NOW - timedelta(hours=1)


def stored(
    variant_id: str, sku: str, status: VariantStatus = VariantStatus.ACTIVE, seen=EARLIER, **titles: str
) -> CatalogVariant:
    return CatalogVariant(
        "northwind",
        f"P{variant_id}",
        variant_id,
        sku,
        titles.get("product_title", "Tent"),
        titles.get("variant_title", "2P"),
        status,
        seen,
    )


def listed(variant_id: str, sku: str | None, **titles: str) -> StoreVariant:
    return StoreVariant(
        f"P{variant_id}", variant_id, sku, titles.get("product_title", "Tent"), titles.get("variant_title", "2P")
    )


# --- a page merged -------------------------------------------------------------------------------
def test_a_sku_new_to_the_catalog_is_written_active_as_seen_now_and_announced() -> None:
    change = merge_seen("northwind", {}, [listed("11", "NW-TENT")], NOW)
    assert change == CatalogChange(
        {"NW-TENT": [CatalogVariant("northwind", "P11", "11", "NW-TENT", "Tent", "2P", VariantStatus.ACTIVE, NOW)]},
        changed=frozenset({"NW-TENT"}),
        new_skus=frozenset({"NW-TENT"}),
    )


def test_an_unchanged_variant_is_only_marked_seen_now_and_counts_as_no_change() -> None:
    change = merge_seen("northwind", {"NW-TENT": [stored("11", "NW-TENT")]}, [listed("11", "NW-TENT")], NOW)
    assert change == CatalogChange({"NW-TENT": [stored("11", "NW-TENT", seen=NOW)]})


def test_the_group_s_variants_the_page_did_not_list_are_kept_as_they_are() -> None:
    catalog = {"NW-LAMP": [stored("21", "NW-LAMP"), stored("22", "NW-LAMP")]}
    change = merge_seen("northwind", catalog, [listed("22", "NW-LAMP")], NOW)
    assert change.groups == {"NW-LAMP": [stored("22", "NW-LAMP", seen=NOW), stored("21", "NW-LAMP")]}
    assert change.changed == frozenset() and change.new_skus == frozenset()  # it had an active variant


def test_a_renamed_or_moved_variant_is_a_change_of_its_group() -> None:
    catalog = {"NW-TENT": [stored("11", "NW-TENT")]}
    for renamed in (
        listed("11", "NW-TENT", product_title="Trail Tent"),
        listed("11", "NW-TENT", variant_title="3P"),
        StoreVariant("P99", "11", "NW-TENT", "Tent", "2P"),
    ):
        change = merge_seen("northwind", catalog, [renamed], NOW)
        (variant,) = change.groups["NW-TENT"]
        assert (variant.product_id, variant.product_title, variant.variant_title) == (
            renamed.product_id,
            renamed.product_title,
            renamed.variant_title,
        )
        assert change.changed == {"NW-TENT"} and change.new_skus == frozenset()


def test_a_sku_whose_variants_were_all_deleted_is_announced_when_one_returns() -> None:
    catalog = {"NW-BOTTLE": [stored("41", "NW-BOTTLE", VariantStatus.DELETED)]}
    change = merge_seen("northwind", catalog, [listed("42", "NW-BOTTLE")], NOW)
    assert change.new_skus == {"NW-BOTTLE"} and change.changed == {"NW-BOTTLE"}
    assert [(v.variant_id, v.status) for v in change.groups["NW-BOTTLE"]] == [
        ("42", VariantStatus.ACTIVE),
        ("41", VariantStatus.DELETED),
    ]


def test_a_deleted_variant_listed_again_is_active_again() -> None:
    catalog = {"NW-BOTTLE": [stored("41", "NW-BOTTLE", VariantStatus.DELETED)]}
    change = merge_seen("northwind", catalog, [listed("41", "NW-BOTTLE")], NOW)
    assert change.groups == {"NW-BOTTLE": [stored("41", "NW-BOTTLE", seen=NOW)]}
    assert change.new_skus == {"NW-BOTTLE"}


def test_variants_without_a_sku_are_not_catalogued() -> None:
    assert merge_seen("northwind", {}, [listed("51", None), listed("52", "")], NOW) == CatalogChange()


def test_two_variants_sharing_a_sku_stay_two_duplicates_of_that_seller() -> None:
    change = merge_seen("northwind", {}, [listed("61", "NW-LAMP"), listed("62", "NW-LAMP")], NOW)
    assert [(v.seller_id, v.variant_id) for v in change.groups["NW-LAMP"]] == [
        ("northwind", "61"),
        ("northwind", "62"),
    ]


# --- the end of a run ----------------------------------------------------------------------------
def test_after_a_full_read_what_no_page_listed_is_retired_with_when_it_was_last_seen() -> None:
    catalog = {
        "NW-LAMP": [stored("21", "NW-LAMP"), stored("22", "NW-LAMP", seen=NOW)],
        "NW-TENT": [stored("11", "NW-TENT", seen=NOW)],
        "NW-OLD": [stored("31", "NW-OLD", VariantStatus.DELETED)],
    }
    change = retire_unseen(catalog, NOW, full=True)
    assert change == CatalogChange(
        {"NW-LAMP": [stored("21", "NW-LAMP", VariantStatus.DELETED), stored("22", "NW-LAMP", seen=NOW)]},
        changed=frozenset({"NW-LAMP"}),
    )


def test_a_variant_seen_at_the_run_s_very_start_counts_as_seen() -> None:
    assert retire_unseen({"NW-TENT": [stored("11", "NW-TENT", seen=NOW)]}, NOW, full=True) == CatalogChange()


def test_after_a_read_of_changes_only_a_variant_that_moved_to_another_sku_is_retired_under_the_old() -> None:
    catalog = {
        "NW-TENT": [stored("11", "NW-TENT")],  # its SKU is now NW-TENT-2P
        "NW-TENT-2P": [stored("11", "NW-TENT-2P", seen=NOW)],
        "NW-LAMP": [stored("21", "NW-LAMP")],  # not changed, not listed: stays
    }
    change = retire_unseen(catalog, NOW, full=False)
    assert change.groups == {"NW-TENT": [stored("11", "NW-TENT", VariantStatus.DELETED)]}


# --- the hour's plan -----------------------------------------------------------------------------
def test_a_seller_never_read_whole_is_read_whole() -> None:
    assert plan_catalog_sync(None, None, None, NOW) == CatalogSyncPlan(full=True, changed_since=None)
    assert plan_catalog_sync(EARLIER, None, None, NOW).full


def test_a_big_catalog_read_whole_within_the_day_is_read_for_changes_since_its_last_run() -> None:
    big = SMALL_CATALOG_VARIANTS + 1
    full_at = NOW - FULL_RECONCILE_EVERY + timedelta(seconds=1)
    assert plan_catalog_sync(EARLIER, full_at, big, NOW) == CatalogSyncPlan(
        full=False, changed_since=EARLIER - CATALOG_OVERLAP
    )


def test_a_big_catalog_is_read_whole_once_a_day() -> None:
    big = SMALL_CATALOG_VARIANTS + 1
    assert plan_catalog_sync(EARLIER, NOW - FULL_RECONCILE_EVERY, big, NOW).full


def test_a_small_catalog_is_read_whole_every_hour() -> None:
    assert plan_catalog_sync(EARLIER, EARLIER, SMALL_CATALOG_VARIANTS, NOW).full
    assert plan_catalog_sync(EARLIER, EARLIER, None, NOW).full


def test_a_small_shopify_catalog_is_read_for_changes_its_variants_being_dated() -> None:
    plan = plan_catalog_sync(EARLIER, EARLIER, 10, NOW, variants_dated=True)
    assert plan == CatalogSyncPlan(full=False, changed_since=EARLIER - CATALOG_OVERLAP)
    assert plan_catalog_sync(EARLIER, NOW - FULL_RECONCILE_EVERY, 10, NOW, variants_dated=True) == CatalogSyncPlan(
        full=True, changed_since=None
    )
