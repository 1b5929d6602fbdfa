"""The listings table: one item per (buyer store, buyer variant) naming the seller whose product it
is (domain/listings.py). Written by the order's split (a first-sight match) and by ops."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from ordersync.aws import clients
from ordersync.aws.catalog import catalog_slice
from ordersync.aws.errors import all_items, aws_errors
from ordersync.domain.catalog import CatalogSlice
from ordersync.domain.listings import LinkedBy, Listing

_BATCH_GET_LIMIT = 100


class DynamoListings:
    """`catalog_table`: read in the same BatchGetItem as the listings (an order's split and its
    seller's catalog in one round trip)."""

    def __init__(self, table_name: str, resource: Any = None, catalog_table: str | None = None) -> None:
        self._resource = resource or clients.dynamodb()
        self._table = self._resource.Table(table_name)
        self._name = table_name
        self._catalog = catalog_table

    def get_with_catalog(
        self, buyer_id: str, variant_ids: Sequence[str], seller_id: str, skus: Sequence[str]
    ) -> tuple[dict[str, Listing], CatalogSlice]:
        """The listings of these buyer variants and the seller's catalog of these SKUs, in one
        BatchGetItem across both tables (100 keys a call), then one for the aliases' targets."""
        assert self._catalog is not None, "built without the catalog table"
        wanted = [(self._name, {"buyer_id": buyer_id, "variant_id": v}) for v in dict.fromkeys(variant_ids)]
        wanted += [(self._catalog, {"seller_id": seller_id, "sku": sku}) for sku in dict.fromkeys(skus)]
        found = self._batch_get(wanted)
        catalog = {(i["seller_id"], i["sku"]): i for i in found.get(self._catalog, [])}
        targets = {i["alias_to"] for i in catalog.values() if i.get("alias_to")} - {sku for _, sku in catalog}
        if targets:
            more = self._batch_get([(self._catalog, {"seller_id": seller_id, "sku": sku}) for sku in sorted(targets)])
            catalog |= {(i["seller_id"], i["sku"]): i for i in more.get(self._catalog, [])}
        listings = {item["variant_id"]: _listing(item) for item in found.get(self._name, [])}
        return listings, catalog_slice(seller_id, catalog)

    def _batch_get(self, keys: list[tuple[str, dict[str, str]]]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {}
            for table, key in keys[start : start + _BATCH_GET_LIMIT]:
                request.setdefault(table, {"Keys": []})["Keys"].append(key)
            while request:
                with aws_errors("listing lookup"):
                    response = self._resource.batch_get_item(RequestItems=request)
                for table, items in response["Responses"].items():
                    found.setdefault(table, []).extend(items)
                request = response.get("UnprocessedKeys") or {}
        return found

    def get_many(self, buyer_id: str, variant_ids: Sequence[str]) -> dict[str, Listing]:
        """BatchGetItem, 100 keys a call: the listings of these buyer variants (none: left out)."""
        keys = [(self._name, {"buyer_id": buyer_id, "variant_id": v}) for v in dict.fromkeys(variant_ids)]
        return {item["variant_id"]: _listing(item) for item in self._batch_get(keys).get(self._name, [])}

    def of_buyer(self, buyer_id: str) -> list[Listing]:
        items = all_items(self._table.query, "listing query", KeyConditionExpression=Key("buyer_id").eq(buyer_id))
        return [_listing(item) for item in items]

    def put_matched(self, listings: Sequence[Listing]) -> None:
        """A match's listings, 25 a BatchWriteItem: made at a product's first sight only, for
        variants the split had just read unlinked by ops (BatchWriteItem takes no condition: an ops
        link written in those milliseconds would be overwritten, and `listing list` shows it)."""
        with aws_errors("listing write"), self._table.batch_writer() as batch:
            for listing in listings:
                if listing.linked_by is not LinkedBy.OPS:
                    batch.put_item(Item=_item(listing))

    def put(self, listing: Listing) -> None:
        """Ops' decision, whatever was there."""
        with aws_errors("listing write"):
            self._table.put_item(Item=_item(listing))


def _item(listing: Listing) -> dict[str, Any]:
    item: dict[str, Any] = {
        "buyer_id": listing.buyer_id,
        "variant_id": listing.variant_id,
        "linked_by": listing.linked_by.value,
        "linked_at": listing.linked_at.isoformat(),
        "title": listing.title,
    }
    optional = {
        "seller_id": listing.seller_id,
        "sku": listing.sku,
        "seller_variant_id": listing.seller_variant_id,
        "candidates": list(listing.candidates),
        "waiting_orders": list(listing.waiting_orders),
        "moved_from": list(listing.moved_from),
    }
    return item | {name: value for name, value in optional.items() if value}


def _listing(item: dict[str, Any]) -> Listing:
    return Listing(
        buyer_id=item["buyer_id"],
        variant_id=item["variant_id"],
        seller_id=item.get("seller_id"),
        linked_by=LinkedBy(item["linked_by"]),
        linked_at=datetime.fromisoformat(item["linked_at"]),
        sku=item.get("sku"),
        title=item.get("title", ""),
        seller_variant_id=item.get("seller_variant_id"),
        candidates=tuple(item.get("candidates", ())),
        waiting_orders=tuple(item.get("waiting_orders", ())),
        moved_from=tuple(item.get("moved_from", ())),
    )
