"""The catalog table: one item per (seller, SKU) holding the variants that carry the SKU and, when
the SKU was retired by the seller, the alias it now resolves to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from ordersync.aws import clients
from ordersync.aws.errors import all_items, aws_errors, error_code
from ordersync.domain.catalog import CatalogSlice, CatalogVariant, VariantStatus

_BATCH_GET_LIMIT = 100


class DynamoCatalog:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        self._resource = resource or clients.dynamodb()
        self._table = self._resource.Table(table_name)
        self._name = table_name

    # --- reads -------------------------------------------------------------------------------
    def lookup(self, seller_id: str, skus: Sequence[str]) -> CatalogSlice:
        """At most two rounds of BatchGetItem for up to 100 SKUs: the SKUs, then the alias targets."""
        return self.lookup_sellers([seller_id], skus)[seller_id]

    def lookup_sellers(self, seller_ids: Sequence[str], skus: Sequence[str]) -> dict[str, CatalogSlice]:
        """The same for several sellers at once (whose is a buyer's line?): one BatchGetItem per 100
        (seller, SKU) keys, then one for the alias targets."""
        wanted = list(dict.fromkeys(skus))
        items = self._batch_get_keys([(seller, sku) for seller in dict.fromkeys(seller_ids) for sku in wanted])
        aliases = {key: item["alias_to"] for key, item in items.items() if item.get("alias_to")}
        targets = [(seller, t) for (seller, _), t in aliases.items() if (seller, t) not in items]
        items.update(self._batch_get_keys(list(dict.fromkeys(targets))))
        return {seller: catalog_slice(seller, items) for seller in dict.fromkeys(seller_ids)}

    def groups(self, seller_id: str, skus: Sequence[str]) -> dict[str, list[CatalogVariant]]:
        """The stored variants under each of these SKUs (none: left out), read by key."""
        items = self._batch_get(seller_id, list(dict.fromkeys(skus)))
        return {
            sku: [_variant(seller_id, sku, v) for v in item.get("variants", [])]
            for sku, item in items.items()
            if item.get("variants")
        }

    def active_skus(self, seller_id: str) -> list[str]:
        skus = []
        for item in self._query(seller_id, "sku, variants"):
            if any(v.get("status") == VariantStatus.ACTIVE for v in item.get("variants", [])):
                skus.append(item["sku"])
        return skus

    def variants_of(self, seller_id: str) -> dict[str, list[CatalogVariant]]:
        """Every stored variant of the seller, by SKU (aliases left out)."""
        return {
            item["sku"]: [_variant(seller_id, item["sku"], v) for v in item.get("variants", [])]
            for item in self._query(seller_id, "sku, variants")
            if item.get("variants")
        }

    def aliases(self, seller_id: str) -> dict[str, str]:
        return {
            item["sku"]: item["alias_to"] for item in self._query(seller_id, "sku, alias_to") if item.get("alias_to")
        }

    # --- writes ------------------------------------------------------------------------------
    def put_variants(self, variants: Iterable[CatalogVariant]) -> None:
        """Replaces the variants stored under each (seller, SKU) given; keeps any alias there."""
        grouped: dict[tuple[str, str], list[CatalogVariant]] = defaultdict(list)
        for variant in variants:
            grouped[(variant.seller_id, variant.sku)].append(variant)
        self.put_groups(grouped)

    def put_groups(self, grouped: dict[tuple[str, str], list[CatalogVariant]]) -> None:
        with aws_errors("catalog write"):
            for (seller_id, sku), group in grouped.items():
                self._table.update_item(
                    Key={"seller_id": seller_id, "sku": sku},
                    UpdateExpression="SET variants = :v",
                    ExpressionAttributeValues={":v": [_item(v) for v in group]},
                )

    def retire(self, variants: Iterable[CatalogVariant]) -> None:
        """Marks stale duplicates deleted (a deleted-and-recreated product's old copies)."""
        by_sku: dict[tuple[str, str], set[str]] = defaultdict(set)
        for variant in variants:
            by_sku[(variant.seller_id, variant.sku)].add(variant.variant_id)
        with aws_errors("catalog retire"):
            for (seller_id, sku), variant_ids in by_sku.items():
                item = self._table.get_item(Key={"seller_id": seller_id, "sku": sku}).get("Item") or {}
                stored = item.get("variants", [])
                for entry in stored:
                    if entry["variant_id"] in variant_ids:
                        entry["status"] = VariantStatus.DELETED.value
                self._table.update_item(
                    Key={"seller_id": seller_id, "sku": sku},
                    UpdateExpression="SET variants = :v",
                    ExpressionAttributeValues={":v": stored},
                )

    def add_alias(self, seller_id: str, old_sku: str, new_sku: str) -> None:
        with aws_errors("catalog alias"):
            self._table.update_item(
                Key={"seller_id": seller_id, "sku": old_sku},
                UpdateExpression="SET alias_to = :new",
                ExpressionAttributeValues={":new": new_sku},
            )

    def remove_alias(self, seller_id: str, old_sku: str) -> bool:
        """False when there was no such alias."""
        try:
            with aws_errors("catalog alias"):
                self._table.update_item(
                    Key={"seller_id": seller_id, "sku": old_sku},
                    UpdateExpression="REMOVE alias_to",
                    ConditionExpression=Attr("alias_to").exists(),
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- helpers -----------------------------------------------------------------------------
    def _batch_get(self, seller_id: str, skus: list[str]) -> dict[str, dict[str, Any]]:
        return {sku: item for (_, sku), item in self._batch_get_keys([(seller_id, s) for s in skus]).items()}

    def _batch_get_keys(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(pairs), _BATCH_GET_LIMIT):
            keys: list[dict[str, str]] = [
                {"seller_id": seller, "sku": sku} for seller, sku in pairs[start : start + _BATCH_GET_LIMIT]
            ]
            while keys:
                with aws_errors("catalog lookup"):
                    response = self._resource.batch_get_item(RequestItems={self._name: {"Keys": keys}})
                for item in response["Responses"].get(self._name, []):
                    found[(item["seller_id"], item["sku"])] = item
                keys = response.get("UnprocessedKeys", {}).get(self._name, {}).get("Keys", [])
        return found

    def _query(self, seller_id: str, projection: str) -> list[dict[str, Any]]:
        return all_items(
            self._table.query,
            "catalog query",
            KeyConditionExpression=Key("seller_id").eq(seller_id),
            ProjectionExpression=projection,
        )


def catalog_slice(seller_id: str, items: dict[tuple[str, str], dict[str, Any]]) -> CatalogSlice:
    """One seller's catalog items, read by (seller, SKU) key, as the matcher sees them."""
    mine = {sku: item for (owner, sku), item in items.items() if owner == seller_id}
    return CatalogSlice(
        variants_by_sku={
            sku: tuple(_variant(seller_id, sku, v) for v in item.get("variants", [])) for sku, item in mine.items()
        },
        aliases={sku: item["alias_to"] for sku, item in mine.items() if item.get("alias_to")},
    )


def _variant(seller_id: str, sku: str, entry: dict[str, Any]) -> CatalogVariant:
    return CatalogVariant(
        seller_id=seller_id,
        product_id=str(entry["product_id"]),
        variant_id=str(entry["variant_id"]),
        sku=sku,
        product_title=entry.get("product_title", ""),
        variant_title=entry.get("variant_title", ""),
        status=VariantStatus(entry.get("status", VariantStatus.ACTIVE)),
        last_seen_at=datetime.fromisoformat(entry["last_seen_at"]),
    )


def _item(variant: CatalogVariant) -> dict[str, str]:
    return {
        "product_id": variant.product_id,
        "variant_id": variant.variant_id,
        "product_title": variant.product_title,
        "variant_title": variant.variant_title,
        "status": variant.status.value,
        "last_seen_at": variant.last_seen_at.isoformat(),
    }
