"""The connections table: buyer store -> seller store, with each store's secret ARN and the pull cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from ordersync.aws import clients
from ordersync.aws.errors import all_items, aws_errors, error_code
from ordersync.aws.recent import RecentReads
from ordersync.errors import OnboardingRefused
from ordersync.models import Connection, iso


class DynamoConnections:
    def __init__(self, table_name: str, resource: Any = None) -> None:
        self._table = (resource or clients.dynamodb()).Table(table_name)
        self._recent: RecentReads[Connection | None] = RecentReads()
        self._recent_lists: RecentReads[list[Connection]] = RecentReads()

    def get(self, connection_id: str, fresh: bool = False) -> Connection:
        """Kept for a minute: every order of a batch names the same few connections."""
        connection = self._recent.get(connection_id, lambda: self._read(connection_id), fresh)
        if connection is None:
            raise KeyError(f"no connection {connection_id!r}")
        return connection

    def _forget(self, connection_id: str) -> None:
        self._recent.forget(connection_id)
        self._recent_lists.forget()

    def _read(self, connection_id: str) -> Connection | None:
        with aws_errors("connection read"):
            item = self._table.get_item(Key={"connection_id": connection_id}).get("Item")
        return None if item is None else Connection.model_validate(item)

    def all(self) -> list[Connection]:
        items = all_items(self._table.scan, "connection scan")
        return sorted((Connection.model_validate(item) for item in items), key=lambda c: c.connection_id)

    def of_buyer(self, store_id: str, fresh: bool = False) -> list[Connection]:
        """By the by_buyer index (a webhook names its store, not a connection); kept for a minute."""
        return self._recent_lists.get(
            f"buyer|{store_id}", lambda: self._indexed("by_buyer", "buyer_id", store_id), fresh
        )

    def of_shop(self, shop_domain: str) -> list[Connection]:
        """By the by_shop_domain index: a Shopify buyer's connections, once its webhooks are
        registered; kept for a minute."""
        return self._recent_lists.get(
            f"shop|{shop_domain}", lambda: self._indexed("by_shop_domain", "shop_domain", shop_domain)
        )

    def _indexed(self, index: str, key: str, value: str) -> list[Connection]:
        condition = Key(key).eq(value)
        items = all_items(self._table.query, "connection query", IndexName=index, KeyConditionExpression=condition)
        return sorted((Connection.model_validate(item) for item in items), key=lambda c: c.connection_id)

    def set_buyer_webhooks(self, store_id: str, on: bool, shop_domain: str | None = None) -> list[str]:
        """Marks the buyer store's connections as fed by its webhooks (or no longer); the ids changed.
        A Shopify buyer's are also indexed by its shop's domain, which its events name."""
        changed = []
        for connection in self.of_buyer(store_id, fresh=True):
            values: dict[str, Any] = {":on": on}
            update = "SET buyer.webhooks = :on"
            if on and shop_domain:
                update += ", buyer.shop_domain = :domain, shop_domain = :domain"
                values[":domain"] = shop_domain
            else:
                update += " REMOVE buyer.shop_domain, shop_domain"
            with aws_errors("connection write"):
                self._table.update_item(
                    Key={"connection_id": connection.connection_id},
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(connection_id)",
                    ExpressionAttributeValues=values,
                )
            self._forget(connection.connection_id)
            changed.append(connection.connection_id)
        return changed

    @staticmethod
    def _item(connection: Connection) -> dict[str, Any]:
        # the indexes' keys, beside the nested buyer the model reads: by_buyer, and by_shop_domain
        # for a Shopify buyer whose webhooks are registered (sparse: no attribute, not indexed)
        shop = (
            {"shop_domain": connection.buyer.shop_domain}
            if connection.buyer.webhooks and connection.buyer.shop_domain
            else {}
        )
        return connection.model_dump(mode="json", exclude_none=True) | {"buyer_id": connection.buyer.store_id} | shop

    def put(self, connection: Connection) -> None:
        with aws_errors("connection write"):
            self._table.put_item(Item=self._item(connection))

    # --- ops ---------------------------------------------------------------------------------------
    def add(self, connection: Connection) -> None:
        """Only a pair not there yet (two ops adding it at once: one wins, the other is told)."""
        try:
            with aws_errors("connection write"):
                self._table.put_item(
                    Item=self._item(connection),
                    ConditionExpression="attribute_not_exists(connection_id)",
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise OnboardingRefused(f"connection {connection.connection_id} exists already") from None
            raise

    def set_paused(self, connection_id: str, paused: bool) -> None:
        try:
            with aws_errors("connection write"):
                self._table.update_item(
                    Key={"connection_id": connection_id},
                    UpdateExpression="SET paused = :paused",
                    ConditionExpression="attribute_exists(connection_id)",
                    ExpressionAttributeValues={":paused": paused},
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise OnboardingRefused(f"no connection {connection_id!r}") from None
            raise
        self._forget(connection_id)

    def remove(self, connection_id: str) -> None:
        with aws_errors("connection delete"):
            self._table.delete_item(Key={"connection_id": connection_id})
        self._forget(connection_id)

    # --- the pull's report -------------------------------------------------------------------------
    def pulled(self, connection_id: str, at: datetime, orders: int) -> None:
        """A pull that went through: when, how many orders, and the connection is not broken."""
        with aws_errors("connection write"):
            self._table.update_item(
                Key={"connection_id": connection_id},
                UpdateExpression="SET last_pull_at = :at, last_pull_orders = :orders"
                " REMOVE last_pull_error, broken_since, store_failing_since, failing_reported_at",
                ConditionExpression="attribute_exists(connection_id)",
                ExpressionAttributeValues={":at": iso(at), ":orders": orders},
            )

    def refused(self, connection_id: str, at: datetime, error: str) -> bool:
        """The buyer's store refused the credentials: recorded, and True only for the pull that
        found it broken first (so ops are told once, however many hours it stays broken). No
        ReturnValues: the item's answer would carry the store refs (secret ARNs), which the
        puller's grant doesn't cover."""
        with aws_errors("connection write"):
            self._table.update_item(
                Key={"connection_id": connection_id},
                UpdateExpression="SET last_pull_at = :at, last_pull_error = :error",
                ConditionExpression="attribute_exists(connection_id)",
                ExpressionAttributeValues={":at": iso(at), ":error": error},
            )
        return self._set_once(connection_id, "broken_since", at)

    def store_failed(self, connection_id: str, at: datetime, error: str, progressed: bool) -> None:
        """The buyer's store said no midway through a pull: recorded, with since when it has made no
        progress (reset to now when this pull read pages first)."""
        since = ":at" if progressed else "if_not_exists(store_failing_since, :at)"
        with aws_errors("connection write"):
            self._table.update_item(
                Key={"connection_id": connection_id},
                UpdateExpression=f"SET last_pull_at = :at, last_pull_error = :error, store_failing_since = {since}",
                ConditionExpression="attribute_exists(connection_id)",
                ExpressionAttributeValues={":at": iso(at), ":error": error[:500]},
            )

    def failing_reported(self, connection_id: str, at: datetime) -> bool:
        """True for the one pull that first finds the store failing past the budget (ops are told
        once until a pull goes through again)."""
        return self._set_once(connection_id, "failing_reported_at", at)

    def _set_once(self, connection_id: str, attribute: str, at: datetime) -> bool:
        """Sets `attribute` to `at` unless it is set: True for the one call that set it."""
        try:
            with aws_errors("connection write"):
                self._table.update_item(
                    Key={"connection_id": connection_id},
                    UpdateExpression="SET #a = :at",
                    ConditionExpression="attribute_exists(connection_id) AND attribute_not_exists(#a)",
                    ExpressionAttributeNames={"#a": attribute},
                    ExpressionAttributeValues={":at": iso(at)},
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def save_cursor(self, connection_id: str, cursor: datetime) -> None:
        """Only ever moves forward (ISO 8601 UTC strings sort as times), and only on a connection
        still there: a pull that ends after ops removed its connection must not make it again as a
        bare item of a cursor (every `connection list` and `store remove` would then fail on it)."""
        value = iso(cursor)
        try:
            with aws_errors("cursor write"):
                self._table.update_item(
                    Key={"connection_id": connection_id},
                    UpdateExpression="SET #c = :c",
                    ConditionExpression=Attr("connection_id").exists()
                    & (Attr("cursor").not_exists() | Attr("cursor").lt(value)),
                    ExpressionAttributeNames={"#c": "cursor"},
                    ExpressionAttributeValues={":c": value},
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
