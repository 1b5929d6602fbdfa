"""The catalog sync's decision, without I/O: what a seller's store lists now against what the
catalog holds -> the (seller, SKU) groups to write, and the SKUs that just became available."""

from __future__ import annotations

from datetime import timedelta

from ordersync.domain.catalog import CatalogVariant, StoreVariant, VariantStatus, reconcile

from .catalog_builders import NOW

EARLIER = NOW - timedelta(hours=1)


def stored(variant_id: str, sku: str, status: VariantStatus = VariantStatus.ACTIVE, **titles: str) -> CatalogVariant:
    return CatalogVariant(
        "northwind",
        f"P{variant_id}",
        variant_id,
        sku,
        titles.get("product_title", "Tent"),
        titles.get("variant_title", "2P"),
        status,
        EARLIER,
    )


def listed(variant_id: str, sku: str | None, **titles: str) -> StoreVariant:
    return StoreVariant(
        f"P{variant_id}", variant_id, sku, titles.get("product_title", "Tent"), titles.get("variant_title", "2P")
    )


def test_a_sku_new_to_the_catalog_is_written_active_as_seen_now_and_announced() -> None:
    change = reconcile("northwind", {}, [listed("11", "NW-TENT")], NOW)
    assert change.groups == {
        "NW-TENT": [CatalogVariant("northwind", "P11", "11", "NW-TENT", "Tent", "2P", VariantStatus.ACTIVE, NOW)]
    }
    assert change.new_skus == {"NW-TENT"}


def test_an_unchanged_catalog_writes_nothing_and_announces_nothing() -> None:
    change = reconcile("northwind", {"NW-TENT": [stored("11", "NW-TENT")]}, [listed("11", "NW-TENT")], NOW)
    assert change.groups == {} and change.new_skus == frozenset()


def test_a_variant_the_store_no_longer_lists_is_kept_as_deleted_with_when_it_was_last_seen() -> None:
    catalog = {"NW-LAMP": [stored("21", "NW-LAMP"), stored("22", "NW-LAMP")]}
    change = reconcile("northwind", catalog, [listed("22", "NW-LAMP")], NOW)
    (group,) = change.groups.values()
    by_id = {v.variant_id: v for v in group}
    assert by_id["21"] == stored("21", "NW-LAMP", VariantStatus.DELETED)  # same ids, titles and time
    assert by_id["22"].status is VariantStatus.ACTIVE and by_id["22"].last_seen_at == NOW
    assert change.new_skus == frozenset()  # the SKU had an active variant before


def test_a_sku_the_store_no_longer_has_at_all_becomes_deleted_only() -> None:
    change = reconcile("northwind", {"NW-OLD": [stored("31", "NW-OLD")]}, [], NOW)
    assert [(v.variant_id, v.status) for v in change.groups["NW-OLD"]] == [("31", VariantStatus.DELETED)]
    assert change.new_skus == frozenset()


def test_a_renamed_product_rewrites_its_group() -> None:
    catalog = {"NW-TENT": [stored("11", "NW-TENT")]}
    for renamed in ({"product_title": "Trail Tent"}, {"variant_title": "3P"}):
        change = reconcile("northwind", catalog, [listed("11", "NW-TENT", **renamed)], NOW)
        (variant,) = change.groups["NW-TENT"]
        assert (variant.product_title, variant.variant_title) == (
            renamed.get("product_title", "Tent"),
            renamed.get("variant_title", "2P"),
        )


def test_a_variant_moved_to_another_product_rewrites_its_group() -> None:
    moved = StoreVariant("P99", "11", "NW-TENT", "Tent", "2P")
    change = reconcile("northwind", {"NW-TENT": [stored("11", "NW-TENT")]}, [moved], NOW)
    assert [v.product_id for v in change.groups["NW-TENT"]] == ["P99"]


def test_a_sku_whose_variants_were_all_deleted_is_announced_when_one_returns() -> None:
    catalog = {"NW-BOTTLE": [stored("41", "NW-BOTTLE", VariantStatus.DELETED)]}
    change = reconcile("northwind", catalog, [listed("42", "NW-BOTTLE")], NOW)
    assert change.new_skus == {"NW-BOTTLE"}
    assert {(v.variant_id, v.status) for v in change.groups["NW-BOTTLE"]} == {
        ("41", VariantStatus.DELETED),
        ("42", VariantStatus.ACTIVE),
    }


def test_a_deleted_variant_that_stays_deleted_is_not_rewritten() -> None:
    catalog = {"NW-BOTTLE": [stored("41", "NW-BOTTLE", VariantStatus.DELETED), stored("42", "NW-BOTTLE")]}
    change = reconcile("northwind", catalog, [listed("42", "NW-BOTTLE")], NOW)
    assert change.groups == {}


def test_variants_without_a_sku_are_not_catalogued() -> None:
    change = reconcile("northwind", {}, [listed("51", None), listed("52", "")], NOW)
    assert change.groups == {} and change.new_skus == frozenset()


def test_two_variants_sharing_a_sku_stay_two_duplicates_of_that_seller() -> None:
    change = reconcile("northwind", {}, [listed("61", "NW-LAMP"), listed("62", "NW-LAMP")], NOW)
    assert sorted((v.seller_id, v.variant_id) for v in change.groups["NW-LAMP"]) == [
        ("northwind", "61"),
        ("northwind", "62"),
    ]
