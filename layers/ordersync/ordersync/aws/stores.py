"""The stores table: each store ops added, how to reach it, and when its credentials were tried."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ordersync.aws import clients
from ordersync.aws.errors import all_items, aws_errors, error_code
from ordersync.aws.recent import RecentReads
from ordersync.errors import OnboardingRefused
from ordersync.models import StoreRecord, iso


class DynamoStores:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        self._table = (resource or clients.dynamodb()).Table(table_name)

    def get(self, store_id: str) -> StoreRecord | None:
        with aws_errors("store read"):
            item = self._table.get_item(Key={"store_id": store_id}, ConsistentRead=True).get("Item")
        return None if item is None else StoreRecord.model_validate(item)

    def of_shop(self, shop_domain: str) -> StoreRecord | None:
        """The store whose Shopify shop this is (its webhooks registered: the domain is on its item)."""
        with aws_errors("store query"):
            keys = self._table.query(
                IndexName="by_shop_domain", KeyConditionExpression=Key("shop_domain").eq(shop_domain), Limit=1
            )["Items"]
        return self.get(str(keys[0]["store_id"])) if keys else None

    def all(self) -> list[StoreRecord]:
        items = all_items(self._table.scan, "store scan")
        return sorted((StoreRecord.model_validate(item) for item in items), key=lambda s: s.store_id)

    def add(self, store: StoreRecord) -> None:
        """Only a store not there yet: two ops adding one id at once can't overwrite each other."""
        try:
            with aws_errors("store write"):
                self._table.put_item(  # no NULLs: shop_domain keys an index, and an index key is a string or absent
                    Item=store.model_dump(mode="json", exclude_none=True),
                    ConditionExpression="attribute_not_exists(store_id)",
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise OnboardingRefused(f"store {store.store_id} exists already") from None
            raise

    def checked(self, store_id: str, at: datetime, result: str) -> None:
        with aws_errors("store write"):
            self._table.update_item(
                Key={"store_id": store_id},
                UpdateExpression="SET checked_at = :at, check_result = :result",
                ConditionExpression="attribute_exists(store_id)",
                ExpressionAttributeValues={":at": iso(at), ":result": result},
            )

    def catalog_started(self, store_id: str, started: datetime, as_buyer: bool = False) -> bool:
        """A store's catalog run began (the hour's fan-out won't start another while it goes on);
        False when the store isn't in the table (added before `store add` existed). `as_buyer`: the
        read of a buyer's catalog into its listings, recorded apart (a store may sell and buy)."""
        run = _run(as_buyer)
        return self._catalog_update(store_id, f"SET {run}_running_since = :at", {":at": iso(started)})

    def catalog_synced(
        self, store_id: str, started: datetime, full: bool, variants: int, as_buyer: bool = False
    ) -> bool:
        """A store's catalog run got to its end; False when the store isn't in the table: its
        catalog is then read whole every hour."""
        run = _run(as_buyer)
        update = f"SET {run}_synced_at = :at" + (f", {run}_full_at = :at, {run}_variants = :n" if full else "")
        values: dict[str, Any] = {":at": iso(started)} | ({":n": variants} if full else {})
        return self._catalog_update(store_id, update + f" REMOVE {run}_running_since", values)

    def _catalog_update(self, store_id: str, update: str, values: dict[str, Any]) -> bool:
        return _update_store(self._table, store_id, update, "attribute_exists(store_id)", values)

    def set_vendor_sellers(self, store_id: str, rule: dict[str, str]) -> bool:
        """A buyer's vendor rule, whole; the next catalog run of it is a full read (the rule reaches
        every product). False when there is no such store."""
        return _update_store(
            self._table,
            store_id,
            "SET vendor_sellers = :rule REMOVE listings_full_at",
            "attribute_exists(store_id)",
            {":rule": rule},
        )

    def swept(self, store_id: str, cursor: datetime) -> None:
        """A seller's shipment sweep got to its end: the next one reads what changed since `cursor`."""
        _update_store(
            self._table, store_id, "SET shipments_swept_at = :at", "attribute_exists(store_id)", {":at": iso(cursor)}
        )

    def set_webhooks(self, store_id: str, on: bool, shop_domain: str | None) -> None:
        values: dict[str, Any] = {":on": on}
        update = "SET webhooks = :on"
        if shop_domain:
            update += ", shop_domain = :domain"
            values[":domain"] = shop_domain
        else:
            update += " REMOVE shop_domain"
        _update_store(self._table, store_id, update, "attribute_exists(store_id)", values)

    def remove(self, store_id: str) -> None:
        with aws_errors("store delete"):
            self._table.delete_item(Key={"store_id": store_id})


def _update_store(table: Any, store_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
    """An UpdateItem of one store's item; False when its condition refused it."""
    try:
        with aws_errors("store write"):
            table.update_item(
                Key={"store_id": store_id},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            return False
        raise
    return True


class DynamoStorePace:
    """The StorePace port on the stores table's `paced_until_ms`: written (only ever later) by an
    invocation a store throttled, read by each container at most every `refresh_seconds` per store
    (one GetItem, not one per order)."""

    def __init__(
        self,
        table_name: str,
        resource: Any = None,
        refresh_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = (resource or clients.dynamodb()).Table(table_name)
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._known: dict[str, tuple[float, datetime | None]] = {}
        self._reading = threading.Lock()  # a batch's records at once: one read for all of them

    def paced_until(self, store_id: str) -> datetime | None:
        if (known := self._known_now(store_id)) is not None:
            return known[1]
        with self._reading:
            if (known := self._known_now(store_id)) is not None:
                return known[1]
            with aws_errors("store pace read"):
                item = self._table.get_item(Key={"store_id": store_id}, ProjectionExpression="paced_until_ms")
            until_ms = (item.get("Item") or {}).get("paced_until_ms")
            until = datetime.fromtimestamp(int(until_ms) / 1000, UTC) if until_ms is not None else None
            self._known[store_id] = (self._monotonic(), until)
            return until

    def _known_now(self, store_id: str) -> tuple[float, datetime | None] | None:
        known = self._known.get(store_id)
        return known if known is not None and self._monotonic() - known[0] < self._refresh else None

    def slow_down(self, store_id: str, until: datetime) -> None:
        self._known[store_id] = (self._monotonic(), until)
        _update_store(  # refused when it is already later, or there is no such store: either is fine
            self._table,
            store_id,
            "SET paced_until_ms = :until",
            "attribute_exists(store_id) AND (attribute_not_exists(paced_until_ms) OR paced_until_ms < :until)",
            {":until": int(until.timestamp() * 1000)},
        )


def _run(as_buyer: bool) -> str:
    """The attributes' prefix of a seller's catalog run, or of a buyer's read into its listings."""
    return "listings" if as_buyer else "catalog"


class RecentStores:
    """The stores a webhook door or a shipment check names, each read kept for a minute."""

    def __init__(self, stores: DynamoStores) -> None:
        self._stores = stores
        self._recent: RecentReads[StoreRecord | None] = RecentReads()

    def get(self, store_id: str) -> StoreRecord | None:
        return self._recent.get(f"store|{store_id}", lambda: self._stores.get(store_id))

    def of_shop(self, shop_domain: str) -> StoreRecord | None:
        return self._recent.get(f"shop|{shop_domain}", lambda: self._stores.of_shop(shop_domain))
