"""The store adapters against the fake stores over real HTTP: paging, throttling, backoff,
continuation, and errors that become the right domain errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from ordersync.aws.connections import DynamoConnections
from ordersync.aws.messaging import SqsDlqAdmin
from ordersync.aws.orders import DynamoOrders
from ordersync.aws.stores import DynamoStorePace, DynamoStores
from ordersync.domain.catalog import CatalogVariant, VariantStatus
from ordersync.domain.decide import LineMatch, LineOutcome
from ordersync.errors import StoreCredentialsError, StoreRejected, StoreUnavailable
from ordersync.local.fakes.server import Fault
from ordersync.local.fakes.shopify import FakeShopify, order_node
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.local.provision import subscribe_with_sink
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus, Platform, iso
from ordersync.normalize import normalize
from ordersync.platforms.http import call
from ordersync.platforms.shopify import ShopifyStore
from ordersync.platforms.woocommerce import WooCommerceStore

from .marketplace import ADDRESS, WOO_ADDRESS, run_hour, shopify_to_woocommerce, woocommerce_to_shopify

SINCE = datetime.now(UTC) - timedelta(hours=1)


def _shop(world: World) -> FakeShopify:
    shop = world.add_shopify("acme", "Acme Outfitters")
    for number in range(1, 121):
        shop.add_order(order_node(number, f"#{number}", [("SKU", "Thing", 1, "1.00")], ADDRESS))
    return shop


def test_shopify_pages_with_cursors_and_waits_out_query_cost_throttling(world: World) -> None:
    shop = _shop(world)
    shop.throttle_next = 2
    client = ShopifyStore(shop.base_url, shop.access_token)
    pages = list(client.orders_updated_since(SINCE))
    assert [len(page) for page, _ in pages] == [20] * 6  # pages sized to stay under 1,000 points (with variants)
    assert len({node["id"] for page, _ in pages for node in page}) == 120
    assert pages[-1][1] is None
    resumed = list(client.orders_updated_since(SINCE, resume=pages[0][1]))  # a follow-up starts at page 2
    assert [len(page) for page, _ in resumed] == [20] * 5
    assert shop.throttle_next == 0


def test_shopify_reads_retry_5xx_but_a_create_is_never_repeated_blind(world: World) -> None:
    shop = _shop(world)
    shop.server.faults.add(Fault(status=502), Fault(status=503))
    client = ShopifyStore(shop.base_url, shop.access_token)
    assert len(next(iter(client.orders_updated_since(SINCE)))[0]) == 20
    shop.add_variant(7001, "PK-JACKET-M", 700, "Storm Jacket", "M", "180.00")
    order = normalize(Platform.SHOPIFY, order_node(9, "#9", [("PK-JACKET-M", "Jacket", 1, "180.00")], ADDRESS))
    jacket = CatalogVariant("acme", "700", "7001", "PK-JACKET-M", "Storm Jacket", "M", VariantStatus.ACTIVE, SINCE)
    lines = [LineMatch(order.lines[0], LineOutcome.MATCHED, "PK-JACKET-M", jacket)]
    shop.server.faults.add(Fault(status=500))
    with pytest.raises(StoreUnavailable, match="answered 500"):
        client.create_order(order, lines, "ordersync-test-9")
    assert shop.created_orders() == [] and shop.server.faults.pending == []  # tried once, not again


def test_refused_credentials_are_a_credentials_error(world: World) -> None:
    shop = _shop(world)
    with pytest.raises(StoreCredentialsError, match="401"):
        next(iter(ShopifyStore(shop.base_url, "shpat_wrong").orders_updated_since(SINCE)))
    woo = world.add_woocommerce("woo", "Woo")
    with pytest.raises(StoreCredentialsError):
        next(iter(WooCommerceStore(woo.base_url, "ck_x", "cs_y").orders_updated_since(SINCE)))


def test_woocommerce_pages_by_total_pages_and_retries_429_with_retry_after(world: World) -> None:
    woo = world.add_woocommerce("woo", "Woo")
    for order_id in range(1, 251):
        woo.add_order(woocommerce_order(order_id, [("SKU", "Thing", 1, "1.00", 1, 0)], WOO_ADDRESS))
    woo.server.faults.add(Fault(status=429, retry_after="0"))
    client = WooCommerceStore(woo.base_url, *woo._credentials)
    pages = list(client.orders_updated_since(SINCE))
    assert [len(page) for page, _ in pages] == [100, 100, 50]
    assert [token for _, token in pages] == ["2", "3", None]
    with pytest.raises(StoreRejected, match=r"answered 400.*per_page"):  # the plugin caps per_page at 100
        call(client._http, "GET", f"{client._api}/orders", params={"per_page": 250})


def test_a_long_pull_continues_in_a_follow_up_invocation(stack: LocalStack, world: World) -> None:
    buyer, seller = shopify_to_woocommerce(world)
    for number in range(2001, 2121):  # 120 orders: 3 pages
        buyer.add_order(order_node(number, f"#{number}", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    stack.runner.fire_schedules("PullOrdersFunction")
    sqs = boto3.client("sqs")
    pull_queue = next(s.queue_url for s in stack.deployment.queue_sources if s.function == "PullConnectionFunction")
    (message,) = sqs.receive_message(QueueUrl=pull_queue, MessageSystemAttributeNames=["All"])["Messages"]
    source = next(s for s in stack.deployment.queue_sources if s.function == "PullConnectionFunction")
    spec = stack.deployment.functions["PullConnectionFunction"]
    short = stack.runner.context(spec)
    short.deadline -= spec.timeout - 30  # 30 s left: less than the reserve, so one page and hand over
    handler = stack.runner.handler("PullConnectionFunction")
    assert handler({"Records": [stack.runner.sqs_record(source, message)]}, short) == {"batchItemFailures": []}
    sqs.delete_message(QueueUrl=pull_queue, ReceiptHandle=message["ReceiptHandle"])
    cursor = DynamoConnections(stack.output("ConnectionsTableName")).get("acme--northwind").cursor
    assert cursor is not None  # checkpointed after the first page
    (follow_up,) = sqs.receive_message(QueueUrl=pull_queue, VisibilityTimeout=0)["Messages"]
    request = json.loads(follow_up["Body"])
    assert request["connection_id"] == "acme--northwind" and request["resume"]["page"]  # the same query, next page
    stack.runner.drain()
    records = [r for r in DynamoOrders(stack.output("OrdersTableName")).all() if r.connection_id == "acme--northwind"]
    assert len(records) == 120 and {r.status for r in records} == {OrderStatus.SYNCED}
    assert len(seller.created_orders()) == 120


def test_one_failing_buyer_store_does_not_delay_the_others_and_is_pulled_once_it_answers(
    stack: LocalStack, world: World
) -> None:
    acme, northwind = shopify_to_woocommerce(world)
    brightside, peak = woocommerce_to_shopify(world)
    acme.add_order(order_node(2202, "#2202", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    acme.server.faults.add(*[Fault(status=503) for _ in range(5)])  # every try of one read, in place
    brightside.add_order(woocommerce_order(2201, [("PK-PACK-30", "Daypack", 1, "95.00", 56, 0)], WOO_ADDRESS))
    run_hour(stack)  # Acme's pull is continued 5 s later, and the drain waits for it
    assert len(peak.created_orders()) == 1 and len(northwind.created_orders()) == 1
    assert acme.server.faults.pending == []
    sqs = boto3.client("sqs")
    pull_dlq = sqs.get_queue_url(QueueName="ordersync-local-PullDLQ")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=pull_dlq).get("Messages", []) == []
    connection = DynamoConnections(stack.output("ConnectionsTableName")).get("acme--northwind", fresh=True)
    assert connection.store_failing_since is None  # the continuation went through


def test_a_buyer_store_failing_past_the_budget_ends_in_the_pull_dlq_and_ops_hear_once(
    stack: LocalStack, world: World
) -> None:
    acme, _ = shopify_to_woocommerce(world)
    table = boto3.resource("dynamodb").Table(stack.output("ConnectionsTableName"))
    failing_since = iso((datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0))
    table.update_item(  # the store has answered no pull for two hours
        Key={"connection_id": "acme--northwind"},
        UpdateExpression="SET store_failing_since = :since",
        ExpressionAttributeValues={":since": failing_since},
    )
    subscribe_with_sink(
        boto3.client("sns"), boto3.client("sqs"), stack.output("OpsAlertsTopicArn"), "email", "ops@example.com", None
    )
    acme.server.faults.add(*[Fault(status=503) for _ in range(200)])
    run_hour(stack)
    run_hour(stack)
    sqs = boto3.client("sqs")
    pull_dlq = sqs.get_queue_url(QueueName="ordersync-local-PullDLQ")["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=pull_dlq, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in dead] == [{"connection_id": "acme--northwind"}] * 2
    (told,) = [e for e in world.delivered_emails() if e["to"] == ["ops@example.com"]]  # once, not hourly
    assert (
        told["subject"]
        == f"[ordersync] Buyer store failing: Acme Outfitters has answered no pull since {failing_since}"
    )
    assert "answered 503" in told["body"] and "acme--northwind" in told["body"]
    acme.server.faults.pending.clear()
    run_hour(stack)
    connection = DynamoConnections(stack.output("ConnectionsTableName")).get("acme--northwind", fresh=True)
    assert (connection.store_failing_since, connection.failing_reported_at) == (None, None)


def test_refused_seller_credentials_fail_the_order_at_once_and_alert_ops_only(stack: LocalStack, world: World) -> None:
    acme, _ = shopify_to_woocommerce(world)
    secret = world.stores["northwind"].secret_arn
    boto3.client("secretsmanager").put_secret_value(
        SecretId=secret, SecretString=json.dumps({"consumer_key": "ck_old", "consumer_secret": "cs_old"})
    )
    acme.add_order(order_node(2301, "#2301", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    world.subscribe_seller("northwind", "orders@northwind.example")
    subscribe_with_sink(
        boto3.client("sns"), boto3.client("sqs"), stack.output("OpsAlertsTopicArn"), "email", "ops@example.com", None
    )
    run_hour(stack)
    record = DynamoOrders(stack.output("OrdersTableName")).get("acme--northwind#2301")
    assert record is not None and (record.status, record.reason) == (
        OrderStatus.FAILED,
        FailureReason.PLATFORM_UNAVAILABLE,
    )
    assert "refused the credentials" in record.detail
    assert [t.status for t in record.timeline] == [OrderStatus.RECEIVED, OrderStatus.FAILED]  # no retries
    assert [e for e in world.delivered_emails() if e["seller_id"] == "northwind"] == []
    (ops,) = [e for e in world.delivered_emails() if e["to"] == ["ops@example.com"]]  # ops are told, once
    assert "#2301" in ops["subject"] and "credentials" in ops["body"]


def test_a_chain_of_one_page_pulls_moves_forward_and_ends(
    stack: LocalStack, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every invocation short of time: each takes one page and hands over. The chain must resume
    where the last page ended, not re-read the overlap, and end."""
    from ordersync.services import pull

    buyer, seller = shopify_to_woocommerce(world)
    for number in range(3001, 3121):  # 120 orders, all updated within the overlap window
        buyer.add_order(order_node(number, f"#{number}", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    monkeypatch.setattr(pull, "TIME_RESERVE_MS", 10**9)
    stack.runner.invocations.clear()
    stack.runner.fire_schedules("PullOrdersFunction")
    stack.runner.drain(max_batches=500)
    pulls = [i for i in stack.runner.invocations if i[0] == "PullConnectionFunction"]
    assert len(pulls) == 6  # one invocation per page of 20, then the chain ends
    assert len(seller.created_orders()) == 120


def test_whole_catalogs_are_read_across_pages(world: World) -> None:
    """A catalog cut short would mark real variants deleted and fail their orders as SKU mismatches."""
    from ordersync.platforms.bigcommerce import BigCommerceStore

    woo = world.add_woocommerce("northwind", "Northwind Supply")
    for product_id in range(1, 102):  # one past a page of 100
        woo.add_product(product_id, f"NW-{product_id}", f"Product {product_id}", "5.00")
    woo_skus = [v.sku for page in WooCommerceStore(woo.base_url, *woo._credentials).catalog() for v in page]
    assert sorted(woo_skus) == sorted(f"NW-{i}" for i in range(1, 102))
    ridge = world.add_bigcommerce("ridge", "Ridge Outdoor")
    for product_id in range(1, 252):  # one past a page of 250 products, each with its variant
        ridge.add_variant(product_id, 10_000 + product_id, f"RG-{product_id}", f"Product {product_id}", "9.0000")
    bc_skus = [v.sku for page in BigCommerceStore(ridge.base_url, ridge.access_token).catalog() for v in page]
    assert sorted(bc_skus) == sorted(f"RG-{i}" for i in range(1, 252))


def test_each_platform_s_catalog_read_gives_the_product_s_vendor_as_the_store_keeps_it(world: World) -> None:
    """What a buyer's vendor rule matches: Shopify's product vendor, BigCommerce's brand id (its
    product response carries no brand name), a WooCommerce product's Vendor attribute."""
    from ordersync.platforms.bigcommerce import BigCommerceStore
    from ordersync.platforms.shopify import ShopifyStore

    shop = world.add_shopify("acme", "Acme")
    shop.add_variant(7001, "AC-1", 700, "Jacket", "M", "10.00", vendor="Peak Gear")
    shop.add_variant(7002, "AC-2", 701, "Mug", "Default Title", "5.00")  # the merchant left it empty
    woo = world.add_woocommerce("brightside", "Brightside")
    woo.add_product(55, "BH-1", "Stove", "5.00", vendor="Northwind Supply")
    woo.add_product(56, "BH-2", "Candle", "5.00")
    woo.add_product(57, "BH-3", "Tent", "5.00", 571, "BH-3-L", "L", vendor="Ridge")
    bc = world.add_bigcommerce("delta", "Delta")
    bc.add_variant(1, 11, "DL-1", "Tarp", "9.0000", brand_id=37)
    bc.add_variant(2, 21, "DL-2", "Rope", "9.0000")

    def vendors(store: Any) -> dict[str | None, str | None]:
        return {v.sku: v.vendor for page, _ in store.catalog_pages() for v in page}

    assert vendors(ShopifyStore(shop.base_url, shop.access_token)) == {"AC-1": "Peak Gear", "AC-2": None}
    assert vendors(WooCommerceStore(woo.base_url, *woo._credentials)) == {
        "BH-1": "Northwind Supply",
        "BH-2": None,
        "BH-3-L": "Ridge",
    }
    assert vendors(BigCommerceStore(bc.base_url, bc.access_token)) == {"DL-1": "37", "DL-2": None}


def test_sqs_refusing_part_of_an_enqueue_batch_loses_no_order(stack: LocalStack, world: World) -> None:
    """SendMessageBatch answers 200 with some entries Failed: the pull must not take that as done."""
    acme, northwind = shopify_to_woocommerce(world)
    for number in (1401, 1402, 1403):
        acme.add_order(order_node(number, f"#{number}", [("NW-STOVE", "Stove", 1, "89.50")], ADDRESS))
    refused: list[str] = []

    def drop_one(params: dict, **_: object) -> None:  # the entry is never sent...
        if not refused and len(params.get("Entries", [])) > 1 and "payload" in params["Entries"][-1]["MessageBody"]:
            refused.append(params["Entries"].pop()["Id"])

    def report_it(parsed: dict, **_: object) -> None:  # ...and SQS says so, in the 200 answer
        if refused and len(refused) == 1:
            parsed.setdefault("Failed", []).append(
                {"Id": refused[0], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
            )
            refused.append("reported")

    events = boto3._get_default_session().events
    events.register("before-parameter-build.sqs.SendMessageBatch", drop_one, unique_id="test-drop")
    events.register("after-call.sqs.SendMessageBatch", report_it, unique_id="test-report")
    try:
        run_hour(stack)
    finally:
        events.unregister("before-parameter-build.sqs.SendMessageBatch", unique_id="test-drop")
        events.unregister("after-call.sqs.SendMessageBatch", unique_id="test-report")
    assert refused[-1] == "reported"  # the fault really happened
    records = {r.order_id: r.status for r in DynamoOrders(stack.output("OrdersTableName")).all()}
    assert records == {"1401": OrderStatus.SYNCED, "1402": OrderStatus.SYNCED, "1403": OrderStatus.SYNCED}
    assert len(northwind.created_orders()) == 3


def test_a_replay_s_dlq_tidy_up_reads_a_bounded_part_of_the_dlq_and_leaves_the_rest(stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    dlq_url = stack.output("OrdersDLQUrl")
    for n in range(25):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps({"order_key": f"acme--northwind#{n}"}))
    dlq = SqsDlqAdmin(dlq_url, stack.output("OrdersQueueUrl"))
    removed = dlq.remove(lambda message: True, scan_limit=10)
    assert len(removed) == 10  # every message read was chosen; none past the limit was read
    assert len(dlq.messages()) == 15  # and the rest are all still there, visible


def test_a_store_s_pace_is_shared_through_the_stores_table_only_ever_later_and_read_once_per_refresh(
    stack: LocalStack, world: World
) -> None:
    world.add_woocommerce("northwind", "Northwind Supply")
    table = stack.output("StoresTableName")
    ticks = iter(range(0, 100, 2))  # the containers' monotonic clocks: 2 s per reading
    reader = DynamoStorePace(table, refresh_seconds=5, monotonic=lambda: next(ticks))
    writer = DynamoStorePace(table)
    at = datetime(2026, 11, 27, 12, 20, 30, 250_000, tzinfo=UTC)
    assert reader.paced_until("northwind") is None  # read at t=0
    writer.slow_down("northwind", at)
    writer.slow_down("northwind", at - timedelta(seconds=10))  # an earlier word never moves it back
    assert reader.paced_until("northwind") is None  # t=2 (cached since t=0)
    assert reader.paced_until("northwind") is None  # t=4
    assert reader.paced_until("northwind") == at  # t=6: read again
    assert DynamoStores(table).get("northwind") is not None  # the store's record is still whole
    DynamoStorePace(table).slow_down("nowhere", at)  # not a store: nothing is written
    assert DynamoStorePace(table).paced_until("nowhere") is None
    assert boto3.client("dynamodb").get_item(TableName=table, Key={"store_id": {"S": "nowhere"}}).get("Item") is None


def test_a_pull_that_checkpoints_after_its_connection_was_removed_makes_no_bare_connection(stack: LocalStack) -> None:
    """Ops removed the connection while its pull ran: the pull's last cursor write is refused, not an
    item of a cursor alone that every `connection list` and `store remove` would fail to read (a CI
    run's `store remove` failed with a ValidationError so)."""
    connections = DynamoConnections(stack.output("ConnectionsTableName"))
    connections.save_cursor("acme--gone", datetime(2026, 12, 7, tzinfo=UTC))
    assert connections.all() == []
    table = boto3.resource("dynamodb").Table(stack.output("ConnectionsTableName"))
    assert "Item" not in table.get_item(Key={"connection_id": "acme--gone"})
