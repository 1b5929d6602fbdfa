"""The listings table: one item per (buyer store, buyer variant) naming the seller whose product it
is (domain/listings.py). Written by the order's split (a first-sight match) and by ops."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from ordersync.aws.errors import all_items, aws_errors, error_code
from ordersync.domain.listings import LinkedBy, Listing

_BATCH_GET_LIMIT = 100


class DynamoListings:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        self._resource = resource or boto3.resource("dynamodb")
        self._table = self._resource.Table(table_name)
        self._name = table_name

    def get_many(self, buyer_id: str, variant_ids: Sequence[str]) -> dict[str, Listing]:
        """BatchGetItem, 100 keys a call: the listings of these buyer variants (none: left out)."""
        wanted = list(dict.fromkeys(variant_ids))
        found: dict[str, Listing] = {}
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            keys = [{"buyer_id": buyer_id, "variant_id": v} for v in wanted[start : start + _BATCH_GET_LIMIT]]
            while keys:
                with aws_errors("listing lookup"):
                    response = self._resource.batch_get_item(RequestItems={self._name: {"Keys": keys}})
                for item in response["Responses"].get(self._name, []):
                    found[item["variant_id"]] = _listing(item)
                keys = response.get("UnprocessedKeys", {}).get(self._name, {}).get("Keys", [])
        return found

    def get(self, buyer_id: str, variant_id: str) -> Listing | None:
        return self.get_many(buyer_id, [variant_id]).get(variant_id)

    def of_buyer(self, buyer_id: str) -> list[Listing]:
        items = all_items(self._table.query, "listing query", KeyConditionExpression=Key("buyer_id").eq(buyer_id))
        return [_listing(item) for item in items]

    def put_matched(self, listings: Sequence[Listing]) -> None:
        """A match's listings: never over ops' decision (a conditional put each; a refusal is that)."""
        for listing in listings:
            try:
                with aws_errors("listing write"):
                    self._table.put_item(
                        Item=_item(listing),
                        ConditionExpression=Attr("buyer_id").not_exists() | Attr("linked_by").ne(LinkedBy.OPS.value),
                    )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise

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
    )
