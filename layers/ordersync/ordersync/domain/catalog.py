"""The seller's catalog as the matcher sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True)
class CatalogChange:
    """What one seller's sync writes: the (seller, SKU) groups that changed, and the SKUs that had
    no active variant before and have one now (FAILED orders may be waiting for them)."""

    groups: dict[str, list[CatalogVariant]]
    new_skus: frozenset[str]


def reconcile(
    seller_id: str, stored: dict[str, list[CatalogVariant]], in_store: list[StoreVariant], seen_at: datetime
) -> CatalogChange:
    """Variants the store has are active (seen now); stored variants it no longer has are deleted
    (what lets a stale duplicate resolve itself). Pure."""
    current: dict[str, dict[str, CatalogVariant]] = {}
    for v in in_store:
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
    new_skus = set()
    for sku in set(stored) | set(current):
        before = {v.variant_id: v for v in stored.get(sku, [])}
        now = current.get(sku, {})
        merged = list(now.values()) + [
            CatalogVariant(
                v.seller_id,
                v.product_id,
                v.variant_id,
                v.sku,
                v.product_title,
                v.variant_title,
                VariantStatus.DELETED,
                v.last_seen_at,
            )
            for variant_id, v in before.items()
            if variant_id not in now
        ]
        if _signature(merged) != _signature(list(before.values())):
            groups[sku] = merged
        if now and not any(v.active for v in before.values()):
            new_skus.add(sku)
    return CatalogChange(groups, frozenset(new_skus))


def _signature(variants: list[CatalogVariant]) -> set[tuple[str, str, str, str, str]]:
    return {(v.variant_id, v.product_id, v.status.value, v.product_title, v.variant_title) for v in variants}
