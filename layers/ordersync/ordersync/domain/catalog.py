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
