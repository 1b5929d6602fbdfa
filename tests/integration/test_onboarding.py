"""Onboarding from the CLI against the local stack and fake stores that check credentials, scopes
and permissions as the platforms do: nothing is saved until the store says yes, a connection is
made, paused and removed with commands, and a store that starts refusing its credentials breaks
its connection with one email to ops."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from ordersync.local.fakes.bigcommerce import FakeBigCommerce
from ordersync.local.fakes.shopify import FULL_ACCESS, FakeShopify, order_node
from ordersync.local.fakes.woocommerce import FakeWooCommerce
from ordersync.local.stack import LocalStack
from ordersync.local.world import delivered_emails

from .marketplace import start_fake

OPS = "ops@example.com"
TOKEN = "shpat_onboarding_secret_1"
WOO_KEY, WOO_SECRET = "ck_onboarding_1", "cs_onboarding_secret_1"
US = {"name": "Dana Whitfield", "address1": "410 Terry Ave N", "city": "Seattle", "zip": "98109"}
US |= {"provinceCode": "WA", "countryCodeV2": "US"}

Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack.start({"LogLevel": "ERROR", "OpsAlertEmail": OPS}) as local:
        yield local


@pytest.fixture
def credentials(tmp_path: Path) -> Callable[..., str]:
    def write(**values: str) -> str:
        path = tmp_path / f"credentials-{len(list(tmp_path.glob('credentials-*')))}.json"
        path.write_text(json.dumps(values))
        return str(path)

    return write


def _listed(cli: Cli, what: str) -> list[dict]:  # type: ignore[type-arg]
    code, out = cli(what, "list", "--json")
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def _secrets() -> list[str]:
    return [s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]]


def test_a_store_is_saved_only_once_it_accepted_credentials_that_can_do_the_job(
    cli: Cli, started: list, credentials: Callable[..., str]
) -> None:
    shop = FakeShopify("acme", TOKEN, scopes=frozenset({"read_orders"}), name="Acme Outfitters")
    url = start_fake(started, shop).base_url
    add = ("store", "add", "acme", "--platform", "shopify", "--url", url)
    code, out = cli(*add, "--credentials-file", credentials(access_token=TOKEN))
    assert code == 1 and "`write_orders` access scope" in out and "`read_products` access scope" in out
    code, out = cli(*add, "--credentials-file", credentials(access_token="shpat_wrong"))
    assert code == 1 and "refused these credentials" in out
    code, out = cli(*add, "--credentials-file", credentials(access_key=TOKEN))
    assert code == 1 and "access_token" in out
    assert _listed(cli, "store") == [] and "ordersync/stores/acme" not in _secrets()  # nothing saved
    shop.scopes = FULL_ACCESS  # the merchant granted the app what it needs
    code, out = cli(*add, "--credentials-file", credentials(access_token=TOKEN))
    assert code == 0 and "Acme Outfitters" in out
    (store,) = _listed(cli, "store")
    assert store["secret_arn"].split(":secret:")[1].startswith("ordersync/stores/acme")
    assert store["check_result"] == "ok" and store["checked_at"] and store["platform"] == "shopify"
    code, out = cli(*add, "--credentials-file", credentials(access_token=TOKEN))
    assert code == 1 and "exists already" in out
    assert all(TOKEN not in text for text in (out, json.dumps(_listed(cli, "store"))))


def test_a_read_only_woocommerce_key_and_a_read_only_bigcommerce_account_are_told_what_to_fix(
    cli: Cli, started: list, credentials: Callable[..., str]
) -> None:
    woo = FakeWooCommerce("north", WOO_KEY, WOO_SECRET, permissions="read")
    woo_url = start_fake(started, woo).base_url
    keys = credentials(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    code, out = cli("store", "add", "north", "--platform", "woocommerce", "--url", woo_url, "--credentials-file", keys)
    assert code == 1 and "give the REST API key write permission" in out and WOO_SECRET not in out
    # nor for a buyer: the sellers' parcels are written into its orders
    code, out = cli(
        "store", "add", "north", "--platform", "woocommerce", "--url", woo_url, "--role", "buyer",
        "--credentials-file", keys,
    )  # fmt: skip
    assert code == 1 and "write the sellers' parcels into the buyer's" in out
    scopes = frozenset({"store_v2_orders_read_only", "store_v2_products_read_only"})
    bc = FakeBigCommerce("hashdelta", "bc_token_1", scopes=scopes, name="Delta Goods")
    bc_url = start_fake(started, bc).base_url
    code, out = cli(
        "store", "add", "delta", "--platform", "bigcommerce", "--url", bc_url,
        "--credentials-file", credentials(access_token="bc_token_1"),
    )  # fmt: skip
    assert code == 1 and "`Orders: modify` OAuth scope" in out
    assert bc.created_orders() == []  # the check never creates anything


def test_a_connection_from_add_to_remove(
    stack: LocalStack, cli: Cli, started: list, credentials: Callable[..., str]
) -> None:
    shop = FakeShopify("acme", TOKEN, name="Acme Outfitters")
    shop.add_order(order_node(1001, "#1001", [("NW-STOVE", "Camp Stove", 1, "89.50")], US))
    woo = FakeWooCommerce("north", WOO_KEY, WOO_SECRET)
    woo.add_product(102, "NW-STOVE", "Camp Stove", "89.50")
    shop_url, woo_url = start_fake(started, shop).base_url, start_fake(started, woo).base_url
    keys = credentials(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    assert cli("store", "add", "acme", "--platform", "shopify", "--url", shop_url,
               "--credentials-file", credentials(access_token=TOKEN))[0] == 0  # fmt: skip
    assert (
        cli("store", "add", "north", "--platform", "woocommerce", "--url", woo_url, "--credentials-file", keys)[0] == 0
    )

    for refused, why in (
        (("acme", "acme"), "can't sell to itself"),
        (("acme", "ghost"), "unknown store ghost"),
    ):
        code, out = cli("connection", "add", *refused)
        assert code == 1 and why in out
    code, out = cli("connection", "add", "acme", "north", "--since", "2026-01-01")
    assert code == 0, out
    assert "catalog synced: 1 variant(s)" in out and "the first pull (at :20) will bring 1 order(s)" in out
    assert '"level"' not in out and "{" not in out  # sentences for people, no JSON log line
    # a typo in a seller's id: said, and nothing stored
    code, out = cli("sku", "alias", "add", "nrth", "OLD-SKU", "NW-STOVE")
    said = "'nrth' is no store ordersync knows: `ordersync store list` shows the stores and their roles"
    assert (code, out.strip()) == (1, f"ordersync: {said}")
    assert cli("sku", "alias", "list", "nrth")[1].strip() == "no aliases for nrth"
    code, out = cli("connection", "add", "acme", "north")
    assert code == 1 and "already sells through" in out
    (row,) = _listed(cli, "connection")
    assert (row["state"], row["last_pull"], row["cursor"]) == ("new", "not pulled yet", "2026-01-01T00:00:00Z")

    assert cli("connection", "pause", "acme--north")[0] == 0
    stack.runner.run_hour()
    assert woo.created_orders() == [] and _listed(cli, "connection")[0]["state"] == "paused"
    assert cli("connection", "resume", "acme--north")[0] == 0
    stack.runner.run_hour()
    assert [o["line_items"][0]["sku"] for o in woo.created_orders()] == ["NW-STOVE"]
    (row,) = _listed(cli, "connection")
    assert row["state"] == "ok" and row["last_pull"] == "1 order(s)"
    assert row["last_day"] == {"synced": 1, "failed": 0, "pending": 0}
    code, out = cli("connection", "list")
    assert code == 0 and "acme--north" in out and "1/0/0" in out

    code, out = cli("store", "remove", "north")
    assert code == 1 and "used by acme--north" in out
    assert cli("connection", "remove", "acme--north")[0] == 0
    assert cli("store", "remove", "north")[0] == 0
    assert [s["store_id"] for s in _listed(cli, "store")] == ["acme"] and _listed(cli, "connection") == []

    # added back within the secret's recovery window: the secret is restored and holds the new key
    code, out = cli("store", "add", "north", "--platform", "woocommerce", "--url", woo_url, "--credentials-file", keys)
    assert code == 0, out
    assert sorted(s["store_id"] for s in _listed(cli, "store")) == ["acme", "north"]
    assert cli("connection", "add", "acme", "north")[0] == 0  # and it works: its catalog is read with it


def test_a_buyer_store_refusing_its_credentials_breaks_its_connection_with_one_email_to_ops(
    stack: LocalStack, cli: Cli, started: list, credentials: Callable[..., str]
) -> None:
    acme = FakeShopify("acme", TOKEN, name="Acme Outfitters")
    bolt = FakeShopify("bolt", "shpat_bolt_1", name="Bolt Bikes")
    woo = FakeWooCommerce("north", WOO_KEY, WOO_SECRET)
    for store_id, fake, secret in (("acme", acme, TOKEN), ("bolt", bolt, "shpat_bolt_1")):
        url = start_fake(started, fake).base_url
        assert cli("store", "add", store_id, "--platform", "shopify", "--url", url, "--role", "buyer",
                   "--credentials-file", credentials(access_token=secret))[0] == 0  # fmt: skip
    keys = credentials(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    woo_url = start_fake(started, woo).base_url
    assert cli("store", "add", "north", "--platform", "woocommerce", "--url", woo_url, "--role", "seller",
               "--credentials-file", keys)[0] == 0  # fmt: skip
    assert cli("connection", "add", "acme", "north")[0] == 0
    assert cli("connection", "add", "bolt", "north")[0] == 0
    acme.access_token = "shpat_revoked_by_the_merchant"  # the merchant uninstalled and reinstalled the app
    for _hour in range(3):
        stack.runner.run_hour()
    broken = [e for e in delivered_emails() if e["to"] == [OPS] and "Connection broken" in e["subject"]]
    assert len(broken) == 1 and "ordersync store rotate acme" in broken[0]["body"]
    rows = {row["connection_id"]: row for row in _listed(cli, "connection")}
    assert rows["acme--north"]["state"] == "broken" and "answered 401" in rows["acme--north"]["last_pull"]
    assert rows["bolt--north"]["state"] == "ok"  # the other connection went on
    sqs = boto3.client("sqs")
    pull_dlq = sqs.get_queue_url(QueueName="ordersync-local-PullDLQ")["QueueUrl"]
    depth = sqs.get_queue_attributes(QueueUrl=pull_dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"  # no dead pull per hour either

    code, out = cli("store", "check", "acme")
    assert code == 1 and "refused these credentials" in out
    assert _listed(cli, "store")[0]["check_result"].startswith("refused: ")
    code, out = cli("store", "rotate", "acme", "--credentials-file", credentials(access_token=acme.access_token))
    assert code == 0, out
    stack.runner.run_hour()
    assert {row["state"] for row in _listed(cli, "connection")} == {"ok"}
    assert len([e for e in delivered_emails() if "Connection broken" in e["subject"]]) == 1
