"""The seller's catalog as the matcher sees it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class VariantStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True)
class CatalogVariant:
    seller_id: str
    product_id: str
    variant_id: str
    sku: str
    product_title: str
    variant_title: str
    status: VariantStatus
    last_seen_at: datetime

    @property
    def title(self) -> str:
        return f"{self.product_title} - {self.variant_title}" if self.variant_title else self.product_title

    @property
    def active(self) -> bool:
        return self.status is VariantStatus.ACTIVE


@dataclass(frozen=True)
class CatalogSlice:
    """What one order's lookup returned: the variants per (resolved) SKU and the aliases used."""

    variants_by_sku: dict[str, tuple[CatalogVariant, ...]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # old SKU -> new SKU

    def resolve(self, sku: str) -> str:
        return self.aliases.get(sku, sku)

    def active_variants(self, sku: str) -> tuple[CatalogVariant, ...]:
        return tuple(v for v in self.variants_by_sku.get(self.resolve(sku), ()) if v.active)


@dataclass(frozen=True)
class StoreVariant:
    """A variant as the seller's store lists it now."""

    product_id: str
    variant_id: str
    sku: str | None
    product_title: str
    variant_title: str
    # The product's vendor / brand as the store keeps it (Shopify `vendor`, BigCommerce `brand_id`,
    # WooCommerce a "Vendor" or "Brand" attribute's first option): a buyer's rule may name its seller.
    vendor: str | None = None


@dataclass(frozen=True)
class CatalogChange:
    """What one step of a seller's sync writes: the (seller, SKU) groups to rewrite, the SKUs whose
    variants changed (titles, products, statuses; not only when they were seen), and the SKUs that
    had no active variant before and have one now (FAILED orders may be waiting for them)."""

    groups: dict[str, list[CatalogVariant]] = field(default_factory=dict)
    changed: frozenset[str] = frozenset()
    new_skus: frozenset[str] = frozenset()


def merge_seen(
    seller_id: str, stored: dict[str, list[CatalogVariant]], seen: list[StoreVariant], seen_at: datetime
) -> CatalogChange:
    """One page the store listed, against the stored groups of its SKUs: each variant seen is
    active and seen at `seen_at` (the run's start); the group's other variants are left as they
    are (a later page may list them; the end of the run retires what no page did). Pure."""
    current: dict[str, dict[str, CatalogVariant]] = {}
    for v in seen:
        if v.sku:
            current.setdefault(v.sku, {})[v.variant_id] = CatalogVariant(
                seller_id,
                v.product_id,
                v.variant_id,
                v.sku,
                v.product_title,
                v.variant_title,
                VariantStatus.ACTIVE,
                seen_at,
            )
    groups: dict[str, list[CatalogVariant]] = {}
    changed, new_skus = set(), set()
    for sku, now in current.items():
        before = stored.get(sku, [])
        merged = list(now.values()) + [v for v in before if v.variant_id not in now]
        groups[sku] = merged
        if _signature(merged) != _signature(before):
            changed.add(sku)
        if not any(v.active for v in before):
            new_skus.add(sku)
    return CatalogChange(groups, frozenset(changed), frozenset(new_skus))


def retire_unseen(stored: dict[str, list[CatalogVariant]], run_started: datetime, full: bool) -> CatalogChange:
    """The end of a run, over the whole stored catalog: a variant seen under another SKU in this
    run moved there, and its old entry is retired; after a full read, so is every active variant
    no page listed (deleted in the store, or no longer for sale). Pure."""
    seen_now = {v.variant_id for group in stored.values() for v in group if v.last_seen_at >= run_started}
    groups: dict[str, list[CatalogVariant]] = {}
    for sku, group in stored.items():
        stale = {
            v.variant_id
            for v in group
            if v.active and v.last_seen_at < run_started and (full or v.variant_id in seen_now)
        }
        if stale:
            groups[sku] = [replace(v, status=VariantStatus.DELETED) if v.variant_id in stale else v for v in group]
    return CatalogChange(groups, frozenset(groups))


# A catalog this small is read whole every hour: a few requests, and it catches what a store's
# "modified since" misses (a WooCommerce variation or a BigCommerce variant edited alone). Not on
# Shopify: every variant carries its own updatedAt, and a whole read costs the bucket 2 points a
# variant, points the hour's orders need.
SMALL_CATALOG_VARIANTS = 5_000
FULL_RECONCILE_EVERY = timedelta(days=1)
# A variant edited while the previous run read its page is still caught.
CATALOG_OVERLAP = timedelta(minutes=10)
# A run still going is not started again (its continuations carry it); one this old died.
RUN_GIVEN_UP_AFTER = timedelta(hours=6)


@dataclass(frozen=True)
class CatalogSyncPlan:
    full: bool
    changed_since: datetime | None  # None: every variant


def plan_catalog_sync(
    synced_at: datetime | None,
    full_at: datetime | None,
    variants: int | None,
    now: datetime,
    running_since: datetime | None = None,
    variants_dated: bool = False,
) -> CatalogSyncPlan | None:
    """None while a run is still going; full when the catalog was never read whole, or not for a
    day, or is small and its store dates products rather than variants (`variants_dated`: Shopify);
    otherwise what changed since the last run began (minus an overlap). Pure."""
    if running_since is not None and now - running_since < RUN_GIVEN_UP_AFTER:
        return None
    if synced_at is None or full_at is None or now - full_at >= FULL_RECONCILE_EVERY:
        return CatalogSyncPlan(full=True, changed_since=None)
    if not variants_dated and (variants is None or variants <= SMALL_CATALOG_VARIANTS):
        return CatalogSyncPlan(full=True, changed_since=None)
    return CatalogSyncPlan(full=False, changed_since=synced_at - CATALOG_OVERLAP)


def _signature(variants: list[CatalogVariant]) -> set[tuple[str, str, str, str, str]]:
    return {(v.variant_id, v.product_id, v.status.value, v.product_title, v.variant_title) for v in variants}
