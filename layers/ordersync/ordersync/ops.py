"""What ops do (the CLI's commands), as functions over the adapters: replay, redrive, aliases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ordersync.alerts.dead_letters import (
    DEAD_LETTER_QUEUES,
    DeadLetterChoiceError,
    DeadLetterQueue,
    check_seller_filter,
    chosen_by,
    describe,
    queue_for,
)
from ordersync.aws.catalog import DynamoCatalog
from ordersync.aws.manual_posting import SfnManualTasks
from ordersync.aws.messaging import SnsSellerSubscriptions, SqsDlqAdmin, SqsOrderQueue
from ordersync.aws.orders import DynamoOrders
from ordersync.aws.stores import DynamoStores
from ordersync.models import Cause, FailureReason, OrderStatus, Platform, Role, utc_now
from ordersync.normalize import raw_lines
from ordersync.records import OrderRecord
from ordersync.services.onboarding import OnboardingDependencies
from ordersync.services.replay import replay

if TYPE_CHECKING:
    from ordersync.services.catalog_sync import CatalogSyncDependencies, SellerSync

# The stack outputs ops commands need (template.yaml's Outputs).
REQUIRED_OUTPUTS = ("OrdersQueueUrl", "OrdersDLQUrl", "OrdersTableName", "CatalogTableName", "SellerAlertsTopicArn")


class UnknownOrder(LookupError):
    pass


@dataclass
class Ops:
    orders: DynamoOrders
    catalog: DynamoCatalog
    queue: SqsOrderQueue
    dlq: SqsDlqAdmin
    sellers: SnsSellerSubscriptions
    manual_tasks: SfnManualTasks | None = None
    stores: DynamoStores | None = None  # to tell a typo from a seller (stacks without the output: not checked)
    # Every DLQ the stack's outputs name, by `--queue` name (alerts/dead_letters.py), OrdersDLQ included.
    dead_letters: dict[str, SqsDlqAdmin] = field(default_factory=dict)

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> Ops:
        missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
        if missing:
            raise KeyError(f"the stack has no output {', '.join(missing)}")
        dead_letters = {
            queue.name: SqsDlqAdmin(outputs[queue.dlq_output], outputs.get(queue.source_output or "", ""))
            for queue in DEAD_LETTER_QUEUES.values()
            if queue.dlq_output in outputs
        }
        return cls(
            orders=DynamoOrders(outputs["OrdersTableName"]),
            catalog=DynamoCatalog(outputs["CatalogTableName"]),
            queue=SqsOrderQueue(outputs["OrdersQueueUrl"]),
            dlq=dead_letters["orders"],  # OrdersDLQUrl is a required output
            sellers=SnsSellerSubscriptions(outputs["SellerAlertsTopicArn"]),
            manual_tasks=SfnManualTasks(outputs["ManualTasksQueueUrl"]) if "ManualTasksQueueUrl" in outputs else None,
            stores=DynamoStores(outputs["StoresTableName"]) if "StoresTableName" in outputs else None,
            dead_letters=dead_letters,
        )

    def find(self, order_ref: str) -> OrderRecord:
        """An order by its key (connection#order_id) or, when unambiguous, by the buyer's order id / number."""
        record = self.orders.get(order_ref) if "#" in order_ref else None
        if record:
            return record
        wanted = order_ref.lstrip("#")
        matches = [r for r in self.orders.all() if wanted in (r.order_id, r.order_number.lstrip("#"))]
        if len(matches) != 1:
            found = ", ".join(r.order_key for r in matches) or "none"
            raise UnknownOrder(f"{order_ref!r} names {len(matches)} orders ({found}); give the order key")
        return matches[0]

    def parts_of(self, order_ref: str) -> list[OrderRecord]:
        """A buyer order's parts, a seller each: `BUYER#N` (the buyer store's id, its order id or
        number), or a bare order id / number that names the parts of one buyer order. [] otherwise."""
        buyer, _, wanted = order_ref.rpartition("#") if "#" in order_ref.lstrip("#") else ("", "", order_ref)
        if "--" in buyer:  # an order key: one part
            return []
        wanted = wanted.lstrip("#")
        parts = [
            r
            for r in self.orders.all()
            if buyer in ("", r.buyer_id) and wanted in (r.order_id, r.order_number.lstrip("#"))
        ]
        buyer_orders = {(r.buyer_id, r.order_id) for r in parts}
        if len(buyer_orders) != 1 or (not buyer and len(parts) < 2):
            return []
        return sorted(parts, key=lambda r: r.seller_id)

    def replay(self, order_ref: str) -> OrderRecord:
        """Takes the order's message out of the DLQ (if there) and enqueues it again from its record."""
        record = self.find(order_ref)
        replay([record], self.queue, self.dlq)
        return record

    def add_alias(self, seller_id: str, old_sku: str, new_sku: str) -> list[OrderRecord]:
        """Stores the alias, then replays every FAILED order of the seller that the old SKU blocked."""
        self.known_seller(seller_id)
        self.catalog.add_alias(seller_id, old_sku, new_sku)
        blocked = [r for r in self.orders.by_seller_status(seller_id, OrderStatus.FAILED) if old_sku in r.blocked_skus]
        return replay(blocked, self.queue, self.dlq)

    def known_seller(self, seller_id: str) -> None:
        """A seller ops added (`store add`), or one whose catalog is synced: else a typo, refused."""
        self._known(seller_id, Role.SELLER, lambda: bool(self.catalog.active_skus(seller_id)))

    def known_buyer(self, buyer_id: str) -> None:
        """A buyer store ops added (`store add`): else a typo or a seller-only store, refused."""
        self._known(buyer_id, Role.BUYER, lambda: False)

    def _known(self, store_id: str, role: Role, from_before_store_add: Callable[[], bool]) -> None:
        if self.stores is None:
            return
        store = self.stores.get(store_id)
        if store is not None and store.role.includes(role):
            return
        if store is None and from_before_store_add():
            return
        what = f"is not a {role.value} store" if store is not None else "is no store ordersync knows"
        raise LookupError(f"{store_id!r} {what}: `ordersync store list` shows the stores and their roles")

    def dlq_list(
        self, seller_id: str | None = None, queue: str | None = None, reason: str | None = None
    ) -> list[dict[str, Any]]:
        """What a DLQ holds (OrdersDLQ unless named), each message described (alerts/dead_letters.py);
        with a seller, that seller's only (its id exactly), with a reason, that reason's."""
        chosen_queue, admin = self._dlq(queue, reason, seller_id)
        described = [describe(chosen_queue, message) for message in admin.messages()]
        return [fields for fields in described if chosen_by(fields, reason, seller_id)]

    def redrive(
        self, reason: str | None = None, seller_id: str | None = None, queue: str | None = None
    ) -> list[dict[str, Any]]:
        """Moves the chosen messages back to the queue they failed from; moving none is an error that
        says why (an empty DLQ, or nothing matching)."""
        chosen_queue, admin = self._dlq(queue, reason, seller_id)
        if chosen_queue.source_output is None:
            raise DeadLetterChoiceError(f"{chosen_queue.title} is not redriven: {chosen_queue.not_redriven}")
        moved = admin.move(lambda message: chosen_by(describe(chosen_queue, message), reason, seller_id))
        if not moved:
            raise DeadLetterChoiceError(f"moved nothing: {self._none_chosen(chosen_queue, admin, reason, seller_id)}")
        return [describe(chosen_queue, message) for message in moved]

    def dlq_delete(self, queue: str) -> list[dict[str, Any]]:
        """Clears a DLQ whose messages are records only (ScheduledRunsDLQ), once ops fixed the cause."""
        chosen_queue, admin = self._dlq(queue, None, None)
        if chosen_queue.source_output is not None:
            raise DeadLetterChoiceError(
                f"{chosen_queue.title} holds work that is not done: redrive it (`ordersync dlq redrive --queue "
                f"{queue}`), never delete it"
            )
        return [describe(chosen_queue, message) for message in admin.remove(lambda _: True)]

    def _dlq(self, queue: str | None, reason: str | None, seller_id: str | None) -> tuple[DeadLetterQueue, SqsDlqAdmin]:
        chosen = queue_for(queue, reason)
        check_seller_filter(chosen, seller_id)
        if seller_id is not None:
            self.known_seller(seller_id)
        admin = self.dead_letters.get(chosen.name)
        if admin is None:
            raise KeyError(f"the stack has no output {chosen.dlq_output}")
        return chosen, admin

    @staticmethod
    def _none_chosen(queue: DeadLetterQueue, admin: SqsDlqAdmin, reason: str | None, seller_id: str | None) -> str:
        held = [describe(queue, message) for message in admin.messages()]
        if not held:
            return f"{queue.title} is empty"
        wanted = " and ".join(
            what for what in (f"reason {reason}" if reason else "", f"seller {seller_id}" if seller_id else "") if what
        )
        reasons = sorted({m["reason"] for m in held if m["reason"]})
        return f"none of the {len(held)} message(s) in {queue.title} has {wanted}" + (
            f" (it holds {', '.join(reasons)})" if reasons else ""
        )

    def disregard(self, order_ref: str) -> OrderRecord:
        """Ops confirm that an order without a shipping address was a test or in-store order."""
        record = self.find(order_ref)
        if record.reason is not FailureReason.MISSING_SHIPPING_ADDRESS:
            raise ValueError(
                f"{record.order_key} is {record.status} / {record.reason}: only an order without a shipping address can be disregarded"
            )
        record.disregard_confirmed = True
        record.note(utc_now(), OrderStatus.DISREGARDED, record.reason, "disregard confirmed by ops", Cause.OPS)
        self.orders.save(record)
        return record

    def complete_manual_posting(self, order_ref: str, bigcommerce_order_id: str) -> OrderRecord:
        record = self._manual_pending(order_ref)
        assert self.manual_tasks is not None
        self.manual_tasks.complete(record.order_key, bigcommerce_order_id)
        return record

    def reject_manual_posting(self, order_ref: str, reason: str) -> OrderRecord:
        record = self._manual_pending(order_ref)
        assert self.manual_tasks is not None
        self.manual_tasks.reject(record.order_key, reason)
        return record

    def _manual_pending(self, order_ref: str) -> OrderRecord:
        if self.manual_tasks is None:
            raise LookupError("this stack has no manual posting flow (no ManualTasksQueueUrl output)")
        record = self.find(order_ref)
        if record.status is not OrderStatus.MANUAL_POSTING_PENDING:
            raise ValueError(f"{record.order_key} is {record.status}, not waiting to be posted by hand")
        return record


def catalog_sync_for(outputs: dict[str, str]) -> CatalogSyncDependencies:
    """A seller's catalog run from ops' machine, as SyncSellerCatalogFunction runs it, to its end."""
    from ordersync.aws.secrets import StoreSecrets
    from ordersync.aws.stores import DynamoStores
    from ordersync.platforms import HttpStoreFactory
    from ordersync.services.catalog_sync import CatalogSyncDependencies

    missing = [name for name in (*REQUIRED_OUTPUTS, "StoresTableName") if name not in outputs]
    if missing:
        raise KeyError(f"the stack has no output {', '.join(missing)}")
    return CatalogSyncDependencies(
        stores=HttpStoreFactory(StoreSecrets().read),
        catalog=DynamoCatalog(outputs["CatalogTableName"]),
        orders=DynamoOrders(outputs["OrdersTableName"]),
        queue=SqsOrderQueue(outputs["OrdersQueueUrl"]),
        dlq=SqsDlqAdmin(outputs["OrdersDLQUrl"], outputs["OrdersQueueUrl"]),
        ledger=DynamoStores(outputs["StoresTableName"]),
    )


def sync_seller_catalog(seller_id: str, full: bool, outputs: dict[str, str]) -> SellerSync:
    """`ordersync catalog sync SELLER [--full]`: what the next hourly run would do (or a full
    read), now, for a store in the stores table."""
    from ordersync.aws.stores import DynamoStores
    from ordersync.domain.catalog import plan_catalog_sync
    from ordersync.models import CatalogSyncRequest
    from ordersync.services.catalog_sync import sync_seller

    record = DynamoStores(outputs["StoresTableName"]).get(seller_id)
    if record is None:
        raise LookupError(f"no store {seller_id!r} (ordersync store list)")
    # Ops asked: run now even if the hour's run is still going (two runs only write the same facts).
    plan = plan_catalog_sync(
        record.catalog_synced_at,
        record.catalog_full_at,
        record.catalog_variants,
        utc_now(),
        variants_dated=record.platform is Platform.SHOPIFY,
    )
    incremental = not full and plan is not None and not plan.full
    request = CatalogSyncRequest(
        seller=record.ref(), full=not incremental, changed_since=plan.changed_since if incremental and plan else None
    )
    return sync_seller(request, catalog_sync_for(outputs))


def onboarding_for(outputs: dict[str, str]) -> OnboardingDependencies:
    """Onboarding against a stack: its tables, Secrets Manager, the stores themselves over HTTPS,
    and the seller's first catalog sync run here, as SyncSellerCatalogFunction runs it."""
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.secrets import StoreSecrets
    from ordersync.aws.stores import DynamoStores
    from ordersync.models import CatalogSyncRequest
    from ordersync.platforms import HttpStoreFactory, check_store_access
    from ordersync.services.catalog_sync import sync_seller
    from ordersync.services.onboarding import first_pull_preview

    missing = [name for name in (*REQUIRED_OUTPUTS, "StoresTableName", "ConnectionsTableName") if name not in outputs]
    if missing:
        raise KeyError(f"the stack has no output {', '.join(missing)}")
    vault = StoreSecrets()
    orders = DynamoOrders(outputs["OrdersTableName"])
    stores = HttpStoreFactory(vault.read)
    catalog_sync = catalog_sync_for(outputs)
    return OnboardingDependencies(
        stores=DynamoStores(outputs["StoresTableName"]),
        vault=vault,
        connections=DynamoConnections(outputs["ConnectionsTableName"]),
        activity=orders,
        check_access=check_store_access,
        sync_catalog=lambda seller: sync_seller(CatalogSyncRequest(seller=seller, full=True), catalog_sync).variants,
        orders_since=first_pull_preview(stores),
    )


def webhook_admin_for(outputs: dict[str, str]) -> Any:
    """`ordersync store webhooks`: the stores' own APIs, the secrets, the connections, the stack's URL."""
    from ordersync.aws.connections import DynamoConnections
    from ordersync.aws.secrets import StoreSecrets
    from ordersync.aws.stores import DynamoStores
    from ordersync.platforms import client_for
    from ordersync.services.webhook_subscriptions import WebhookAdminDependencies

    missing = [name for name in ("StoresTableName", "ConnectionsTableName", "WebhookUrl") if name not in outputs]
    if missing:
        raise KeyError(f"the stack has no output {', '.join(missing)}")
    return WebhookAdminDependencies(
        stores=DynamoStores(outputs["StoresTableName"]),
        vault=StoreSecrets(),
        connections=DynamoConnections(outputs["ConnectionsTableName"]),
        api=lambda store, credentials: client_for(store.platform, store.base_url, credentials),
        webhook_base_url=outputs["WebhookUrl"],
        shopify_event_source_arn=outputs.get("ShopifyEventSourceArn", ""),
    )


def part_lines(record: OrderRecord) -> list[tuple[str, str | None]]:
    """(buyer line id, SKU) of an order's part: from the payload its record keeps (cut to the part's
    lines), else its lines as decided (a synced order keeps no payload)."""
    payload = (record.envelope or {}).get("payload")
    found = raw_lines(Platform(record.buyer_platform), payload) if payload else None
    if found is not None:
        return [(line.line_id, line.sku) for line in found]
    return [(line.line_id, line.sku) for line in record.lines]
