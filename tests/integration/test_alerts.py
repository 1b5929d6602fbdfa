"""Alerts, proven through SNS filter policies in moto (mail sinks subscribed exactly like the
email subscriptions), not by inspecting our own intent."""

from __future__ import annotations

import boto3
import pytest

from ordersync.alerts.digest import OutgoingEmail
from ordersync.aws.messaging import SnsEmails, SnsSellerSubscriptions
from ordersync.aws.orders import DynamoOrders
from ordersync.domain.catalog import VariantStatus
from ordersync.errors import OnboardingRefused
from ordersync.local.fakes.shopify import order_node
from ordersync.local.fakes.woocommerce import woocommerce_order
from ordersync.local.provision import subscribe_with_sink
from ordersync.local.stack import LocalStack
from ordersync.local.world import World, delivered_emails
from ordersync.models import OrderStatus

from .marketplace import ADDRESS, WOO_ADDRESS, run_hour, shopify_to_woocommerce, woocommerce_to_shopify


@pytest.fixture
def ops_inbox(stack: LocalStack) -> str:
    address = "ops@example.com"
    subscribe_with_sink(
        boto3.client("sns"), boto3.client("sqs"), stack.output("OpsAlertsTopicArn"), "email", address, None
    )
    return address


def _inbox(address: str) -> list[dict]:
    return [email for email in delivered_emails() if email["to"] == [address]]


def test_a_seller_only_ever_receives_alerts_about_their_own_orders(
    stack: LocalStack, world: World, cli, ops_inbox: str
) -> None:
    acme, _ = shopify_to_woocommerce(world)
    brightside, _ = woocommerce_to_shopify(world)
    assert cli("seller", "add", "northwind", "--email", "orders@northwind.example", "--platform", "woocommerce")[0] == 0
    assert cli("seller", "add", "peak", "--email", "hello@peak.example")[0] == 0
    acme.add_order(order_node(1101, "#1101", [("NW-GONE", "Old tent", 1, "10.00")], ADDRESS))
    brightside.add_order(woocommerce_order(2101, [("PK-GONE", "Old jacket", 1, "10.00", 1, 0)], WOO_ADDRESS))
    run_hour(stack)

    northwind, peak = _inbox("orders@northwind.example"), _inbox("hello@peak.example")
    assert [e["subject"] for e in northwind] == [
        "Order #1101 from Acme Outfitters couldn't be synced to your WooCommerce store (SKU mismatch)"
    ]
    assert [e["subject"] for e in peak] == [
        "Order #2101 from Brightside Home couldn't be synced to your Shopify store (SKU mismatch)"
    ]
    assert "PK-GONE" not in northwind[0]["body"] and "NW-GONE" not in peak[0]["body"]
    body = northwind[0]["body"]
    assert "Hello Northwind Supply" in body and "NW-GONE" in body and "you may process the order now" in body
    assert "hourly" in body and "sync overwrites" in body
    ops = _inbox(ops_inbox)
    assert sorted(e["subject"].split()[2] for e in ops) == ["#1101", "#2101"]
    assert all("fix: " in e["body"] and "order_key: " in e["body"] for e in ops)
    assert "ordersync sku alias add northwind OLD_SKU NEW_SKU" in next(
        e["body"] for e in ops if "#1101" in e["subject"]
    )

    code, out = cli("seller", "remove", "northwind")
    assert code == 0 and "orders@northwind.example" in out
    acme.add_order(order_node(1102, "#1102", [("NW-GONE", "Old tent", 1, "10.00")], ADDRESS))
    run_hour(stack)
    assert len(_inbox("orders@northwind.example")) == 1  # nothing new after removal
    assert cli("seller", "remove", "northwind")[0] == 1


def test_a_failure_re_pulled_three_times_alerts_once(stack: LocalStack, world: World, cli, ops_inbox: str) -> None:
    acme, _ = shopify_to_woocommerce(world)
    cli("seller", "add", "northwind", "--email", "orders@northwind.example")
    acme.add_order(order_node(1201, "#1201", [("NW-LAMP", "Headlamp", 1, "34.00")], ADDRESS))
    for _ in range(3):
        run_hour(stack)
    assert [e["subject"].split()[1] for e in _inbox("orders@northwind.example")] == ["#1201"]
    assert len(_inbox(ops_inbox)) == 1
    cli("order", "replay", "1201")  # still broken: fails again the same way, alerts nobody again
    stack.runner.drain()
    stack.runner.fire_schedules("AlertDispatchFunction")
    assert len(_inbox("orders@northwind.example")) == 1 and len(_inbox(ops_inbox)) == 1


def test_twelve_failures_for_one_seller_in_one_run_give_one_digest(
    stack: LocalStack, world: World, cli, ops_inbox: str
) -> None:
    acme, _ = shopify_to_woocommerce(world)
    cli("seller", "add", "northwind", "--email", "orders@northwind.example")
    for number in range(1301, 1313):
        acme.add_order(order_node(number, f"#{number}", [("NW-GONE", "Old tent", 1, "10.00")], ADDRESS))
    run_hour(stack)
    (digest,) = _inbox("orders@northwind.example")
    assert digest["subject"] == "12 orders couldn't be synced to your WooCommerce store"
    assert all(f"Order #{n} from Acme Outfitters: SKU mismatch" in digest["body"] for n in range(1301, 1313))
    (ops_digest,) = _inbox(ops_inbox)
    assert ops_digest["subject"] == "[ops] 12 order alerts: SKU_MISMATCH x12"


def test_missing_address_seller_may_disregard_and_ops_confirm(
    stack: LocalStack, world: World, cli, ops_inbox: str
) -> None:
    acme, seller = shopify_to_woocommerce(world)
    cli("seller", "add", "northwind", "--email", "orders@northwind.example")
    acme.add_order(order_node(1401, "#1401", [("NW-STOVE", "Camp Stove", 1, "89.50")], None, source="pos"))
    run_hour(stack)
    (email,) = _inbox("orders@northwind.example")
    assert "(no shipping address)" in email["subject"] and "You can disregard it" in email["body"]
    (ops,) = _inbox(ops_inbox)
    assert "ordersync order disregard acme--northwind#1401" in ops["body"]

    code, out = cli("order", "disregard", "1401")
    assert code == 0 and "confirmed by ops" in out
    record = DynamoOrders(stack.output("OrdersTableName")).get("acme--northwind#1401")
    assert record is not None and record.disregard_confirmed and record.timeline[-1].cause == "ops"
    run_hour(stack)
    assert DynamoOrders(stack.output("OrdersTableName")).get("acme--northwind#1401").status is OrderStatus.DISREGARDED  # type: ignore[union-attr]
    assert seller.created_orders() == [] and len(_inbox("orders@northwind.example")) == 1
    code, out = cli("order", "disregard", "1401x")
    assert code == 1 and "names 0 orders" in out


def test_a_seller_whose_id_is_a_prefix_or_substring_of_another_s_never_gets_the_other_s_alerts(
    stack: LocalStack, world: World, cli, ops_inbox: str
) -> None:
    """SNS filter policies match exactly; a prefix or substring match would send "north" the alerts
    of "north-west" (buyer names, order numbers, SKUs)."""
    buyer = world.add_shopify("acme", "Acme Outfitters")
    sellers = ("north", "north-west", "far-north")
    old_sku = {seller_id: f"OLD-{i}-X" for i, seller_id in enumerate(sellers)}  # none a substring of another
    for seller_id in sellers:
        world.add_woocommerce(seller_id, seller_id.title())
        world.add_catalog(seller_id, [("1", "1", f"{seller_id.upper()}-SKU", "Thing", "")])
        world.add_catalog(seller_id, [("1", "1", old_sku[seller_id], "Thing", "")], VariantStatus.DELETED)
        world.connect("acme", seller_id)
        assert cli("seller", "add", seller_id, "--email", f"{seller_id}@example.com")[0] == 0
    lines = [(old_sku[seller_id], "Old tent", 1, "10.00") for seller_id in sellers]
    buyer.add_order(order_node(1201, "#1201", lines, ADDRESS))
    run_hour(stack)  # one order, a line of each seller's under a renamed SKU: each seller's part fails on its own
    for seller_id in sellers:
        subjects = [e["subject"] for e in _inbox(f"{seller_id}@example.com")]
        assert subjects == [
            "Order #1201 from Acme Outfitters couldn't be synced to your WooCommerce store (SKU mismatch)"
        ]
        (email,) = _inbox(f"{seller_id}@example.com")
        assert f"Hello {seller_id.title()}" in email["body"]
        others = [old_sku[s] for s in sellers if s != seller_id]
        assert old_sku[seller_id] in email["body"] and not any(sku in email["body"] for sku in others)
    code, out = cli("seller", "remove", "north")
    assert code == 0 and "north@example.com" in out and "north-west@example.com" not in out
    assert cli("seller", "remove", "north-west")[0] == 0  # still subscribed: "north" took only its own


def test_a_store_that_sells_and_buys_gets_each_email_as_what_it_is_to_that_order(
    stack: LocalStack, world: World, cli
) -> None:
    """Its seller address gets its seller alerts, its buyer address its buyer alerts, never both;
    `buyer remove` leaves its seller subscription (and the other way round)."""
    world.add_shopify("cove", "Cove Supply")  # role both, as `store add` records by default
    assert cli("seller", "add", "cove", "--email", "sales@cove.example")[0] == 0
    assert cli("buyer", "add", "cove", "--email", "buying@cove.example")[0] == 0
    emails = SnsEmails(stack.output("SellerAlertsTopicArn"), stack.output("OpsAlertsTopicArn"))
    emails.send(OutgoingEmail("seller", "cove", "A part couldn't be synced", "your store ...", "SKU_MISMATCH"))
    emails.send(OutgoingEmail("buyer", "cove", "Your supplier cancelled", "your order ...", "SELLER_CANCELLED"))
    assert [e["subject"] for e in _inbox("sales@cove.example")] == ["A part couldn't be synced"]
    assert [e["subject"] for e in _inbox("buying@cove.example")] == ["Your supplier cancelled"]
    code, out = cli("buyer", "remove", "cove")
    assert code == 0 and "buying@cove.example" in out and "sales@cove.example" not in out
    code, out = cli("seller", "remove", "cove")
    assert code == 0 and "sales@cove.example" in out


def test_an_alert_subscription_names_a_store_of_that_role_and_the_drift_check_a_sane_window(
    stack: LocalStack, world: World, cli
) -> None:
    """A typo, or a seller's id given as a buyer, would subscribe an address to alerts nobody sends it
    (or to another audience's): refused, exit 1, nothing subscribed; `drift --days` outside 1..365 too."""
    world.add_shopify("acme", "Acme Outfitters")
    world.add_woocommerce("northwind", "Northwind Supply")
    stores = boto3.resource("dynamodb").Table(stack.output("StoresTableName"))
    for store_id, role in (("acme", "buyer"), ("northwind", "seller")):  # as `store add --role` records them
        stores.update_item(Key={"store_id": store_id}, UpdateExpression="SET #r = :r",
                           ExpressionAttributeNames={"#r": "role"}, ExpressionAttributeValues={":r": role})  # fmt: skip
    code, out = cli("buyer", "add", "acmee", "--email", "orders@acme.example")
    assert code == 1 and "'acmee' is no store ordersync knows" in out
    code, out = cli("buyer", "add", "northwind", "--email", "orders@northwind.example")
    assert code == 1 and "'northwind' is not a buyer store" in out
    code, out = cli("seller", "add", "acme", "--email", "orders@acme.example")
    assert code == 1 and "'acme' is not a seller store" in out
    assert cli("buyer", "add", "acme", "--email", "orders@acme.example")[0] == 0
    code, out = cli("seller", "remove", "northwind")
    assert "orders@northwind.example" not in out  # nothing was subscribed for it
    for days in ("100000000", "-5", "0", "a week"):
        with pytest.raises(SystemExit) as refused:
            cli("drift", "--days", days)
        assert refused.value.code == 2, days


def test_past_sns_s_filter_policies_per_topic_seller_add_subscribes_nothing_and_says_what_to_do(
    stack: LocalStack, world: World, cli
) -> None:
    """Every alert email is a filter policy on SellerAlertsTopic, and SNS allows a topic 200 unless
    its quota is raised (the local moto refuses the 201st as SNS does, nothing subscribed)."""
    shopify_to_woocommerce(world)
    sns, topic = boto3.client("sns"), stack.output("SellerAlertsTopicArn")
    for n in range(199):  # other stores' addresses, as `seller add` made them
        sns.subscribe(
            TopicArn=topic,
            Protocol="email",
            Endpoint=f"orders@store{n}.example",
            Attributes={"FilterPolicy": f'{{"seller_id": ["store{n}"], "audience": ["seller"]}}'},
        )
    made = cli("seller", "add", "northwind", "--email", "orders@northwind.example")
    assert made[0] == 0, made  # the 200th
    code, said = cli("buyer", "add", "acme", "--email", "orders@acme.example")
    assert code == 1 and "SellerAlertsTopic has as many alert emails as SNS allows a topic" in said
    assert "raise the quota (README: Deploy, alert emails past 200)" in said and "Traceback" not in said
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert "orders@acme.example" not in endpoints  # nothing half-made: no subscription that gets every alert
    with pytest.raises(OnboardingRefused, match="as many alert emails as SNS allows a topic"):
        SnsSellerSubscriptions(topic).subscribe("acme", "orders@acme.example", "buyer")  # a deployed stack's path
    assert cli("seller", "remove", "northwind")[0] == 0  # an address freed...
    assert cli("buyer", "add", "acme", "--email", "orders@acme.example")[0] == 0  # ...is one more
