"""Our clients against what the platforms publish (tests/contracts/): every GraphQL document the
Shopify client sends, with its variables, against the real 2025-10 schema and its cost limit; every
BigCommerce request against the compact schema; the payload fixtures against the webhook schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate
from graphql.execution.values import get_variable_values
from jsonschema import Draft202012Validator

from ordersync.domain.catalog import CatalogVariant, VariantStatus
from ordersync.domain.decide import LineMatch, LineOutcome
from ordersync.local.contracts import CONTRACTS, shopify_admin_schema
from ordersync.local.fakes.bigcommerce import contract_problem
from ordersync.local.fakes.shopify_cost import MAX_QUERY_COST, requested_cost
from ordersync.models import CanonicalOrder, OrderLine, ShippingAddress
from ordersync.platforms import bigcommerce, shopify

from .catalog_builders import order as canonical_order

NOW = datetime(2026, 11, 27, 9, 20, tzinfo=UTC)


def _order(country: str = "gb", postcode: str | None = "SW1A 1AA", currency: str = "gbp") -> CanonicalOrder:
    address = ShippingAddress(
        name="Ada Lovelace", address1="1 Road", city="London", postal_code=postcode, country_code=country
    )
    tent = OrderLine(line_id="1", sku="S-1", title="Tent", quantity=2, unit_price=Decimal("10.00"))
    return canonical_order(tent, currency=currency, shipping_address=address)


def _lines(order: CanonicalOrder) -> list[LineMatch]:
    variant = CatalogVariant("seller", "11", "111", "S-1", "Tent", "", VariantStatus.ACTIVE, NOW)
    return [LineMatch(order.lines[0], LineOutcome.MATCHED, "S-1", variant)]


SHOPIFY_DOCUMENTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "orders",
        shopify.ORDERS_QUERY,
        {
            "first": shopify.ORDERS_PER_PAGE,
            "after": None,
            "query": "updated_at:>='x'",
            "lines": shopify.LINES_PER_ORDER,
        },
    ),
    (
        "order lines",
        shopify.ORDER_LINES_QUERY,
        {"id": "gid://shopify/Order/1", "first": shopify.LINES_PER_PAGE, "after": "c"},
    ),
    ("recent orders", shopify.RECENT_ORDERS_QUERY, {"first": shopify.RECENT_ORDERS_PER_PAGE, "after": None}),
    ("catalog", shopify.CATALOG_QUERY, {"first": shopify.VARIANTS_PER_PAGE, "after": None}),
    ("variants", shopify.VARIANTS_QUERY, {"ids": [f"gid://shopify/ProductVariant/{i}" for i in range(250)]}),
    ("orderCreate", shopify.ORDER_CREATE_MUTATION, shopify.order_create_variables(_order(), _lines(_order()), "k-1")),
    ("order", shopify.ORDER_QUERY, {"id": "gid://shopify/Order/1", "lines": shopify.LINES_PER_ORDER}),
    ("webhooks", shopify.WEBHOOKS_QUERY, {"first": 100, "after": None}),
    (
        "webhook create",
        shopify.WEBHOOK_CREATE_MUTATION,
        {
            "topic": "ORDERS_CREATE",
            "webhookSubscription": {
                "uri": "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/1/o",
                "format": "JSON",
            },
        },
    ),
    ("webhook delete", shopify.WEBHOOK_DELETE_MUTATION, {"id": "gid://shopify/WebhookSubscription/1"}),
    ("shop domain", shopify.SHOP_DOMAIN_QUERY, {}),
    ("order state", shopify.ORDER_STATE_QUERY, {"id": "gid://shopify/Order/1"}),
    ("order cancel", shopify.ORDER_CANCEL_MUTATION, {"orderId": "gid://shopify/Order/1", "staffNote": "n"}),
]


def _shopify_problems(query: str, variables: dict[str, Any]) -> list[str]:
    schema = shopify_admin_schema()
    document = parse(query)
    problems = [e.message for e in validate(schema, document)]
    if problems:
        return problems
    operation = document.definitions[0]
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)  # type: ignore[attr-defined]
    return [e.message for e in coerced] if isinstance(coerced, list) else []


@pytest.mark.parametrize(("name", "query", "variables"), SHOPIFY_DOCUMENTS, ids=[d[0] for d in SHOPIFY_DOCUMENTS])
def test_every_shopify_document_is_valid_on_the_real_schema_and_under_the_cost_limit(
    name: str, query: str, variables: dict[str, Any]
) -> None:
    assert _shopify_problems(query, variables) == []
    assert requested_cost(shopify_admin_schema(), parse(query), variables) <= MAX_QUERY_COST


def test_a_typo_in_a_field_or_an_enum_value_fails_the_contract() -> None:
    assert _shopify_problems(shopify.CATALOG_QUERY.replace("sku", "skuu"), {"first": 1})
    variables = shopify.order_create_variables(_order(), _lines(_order()), "k-1")
    variables["options"]["inventoryBehaviour"] = "DECREMENT"
    assert any(
        "OrderCreateInputsInventoryBehavior" in p for p in _shopify_problems(shopify.ORDER_CREATE_MUTATION, variables)
    )


def test_the_old_pull_query_costs_far_more_than_shopify_allows() -> None:
    """orders(first: 50) with lineItems(first: 250) is about 37,700 points: Shopify refuses it."""
    old = shopify.ORDERS_QUERY
    cost = requested_cost(shopify_admin_schema(), parse(old), {"first": 50, "after": None, "query": "", "lines": 250})
    assert cost > 37_000


def test_order_create_sends_shopifys_enums_and_moves_stock() -> None:
    variables = shopify.order_create_variables(_order(country="uk"), _lines(_order()), "k-1")
    assert variables["order"]["shippingAddress"]["countryCode"] == "GB"
    assert "currency" not in variables["order"]  # the seller's shop prices in its own currency
    assert variables["order"]["sourceIdentifier"] == "k-1"
    assert variables["options"]["inventoryBehaviour"] == "DECREMENT_OBEYING_POLICY"
    assert _shopify_problems(shopify.ORDER_CREATE_MUTATION, variables) == []


@pytest.mark.parametrize("postcode", [None, "", "1"])
def test_bigcommerce_order_without_a_usable_postcode_meets_order_post(postcode: str | None) -> None:
    order = _order(country="ie", postcode=postcode)
    body = bigcommerce.order_body(order, _lines(order), "ordersync-k-1")
    assert contract_problem("order_post", body) is None
    assert body["external_order_id"] == "ordersync-k-1"
    assert body["billing_address"]["country_iso2"] == "IE"


def test_the_compact_schema_catches_what_bigcommerce_refuses() -> None:
    order = _order()
    body = bigcommerce.order_body(order, _lines(order), "k")
    assert "billing_address.zip" in str(
        contract_problem("order_post", {**body, "billing_address": {**body["billing_address"], "zip": ""}})
    )
    assert contract_problem("order_post", {**body, "extrnal_order_id": "k"}) is not None  # a typo
    assert contract_problem("order_post", {k: v for k, v in body.items() if k != "products"}) is not None


WEBHOOKS = CONTRACTS / "shopify" / "webhooks-2025-10"


def _types_only(schema: Any) -> Any:
    """The webhook schemas are generated from one example each: their `required` lists and non-null
    types are that example's, not Shopify's rules (its own example misses some). What they do state
    is each field's type when present; that is what is checked."""
    if isinstance(schema, list):
        return [_types_only(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    typed = {k: _types_only(v) for k, v in schema.items() if k != "required"}
    if isinstance(typed.get("type"), str):
        typed["type"] = [typed["type"], "null"]
    elif isinstance(typed.get("type"), list) and "null" not in typed["type"]:
        typed["type"] = [*typed["type"], "null"]
    return typed


def _webhook_schema(topic: str) -> dict[str, Any]:
    return dict(_types_only(json.loads((WEBHOOKS / f"{topic}.schema.json").read_text())))


def _fixture_errors(schema: dict[str, Any], order: dict[str, Any]) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(schema).iter_errors(order)
    ]


@pytest.mark.parametrize("topic", ["orders-create", "orders-updated", "orders-cancelled"])
def test_shopify_webhook_examples_meet_their_schemas(topic: str) -> None:
    example = json.loads((WEBHOOKS / f"{topic}.example.json").read_text())["response"]
    assert _fixture_errors(_webhook_schema(topic), example) == []
    wrong = {**example, "line_items": [{**example["line_items"][0], "quantity": "one"}]}
    assert _fixture_errors(_webhook_schema(topic), wrong)  # the check can fail


ORDER_FIELDS_READ = (
    "id",
    "name",
    "created_at",
    "updated_at",
    "currency",
    "email",
    "test",
    "source_name",
    "cancelled_at",
)
ADDRESS_FIELDS_READ = (
    "name",
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "province_code",
    "zip",
    "country_code",
    "phone",
)
LINE_FIELDS_READ = (
    "id",
    "sku",
    "name",
    "title",
    "quantity",
    "current_quantity",
    "price",
    "requires_shipping",
    "gift_card",
)


def _project(value: Any, fields: tuple[str, ...]) -> Any:
    return {k: value[k] for k in fields if k in value} if isinstance(value, dict) else value


def test_the_fields_we_read_from_shopify_payloads_have_the_webhook_schemas_types(platform_fixtures: Path) -> None:
    """The fixtures are older REST payloads (the schema's other differences are legacy, such as
    coordinates as strings): every field the normaliser reads has the type orders/create gives it."""
    schema = _webhook_schema("orders-create")
    checked = 0
    for path in sorted(platform_fixtures.glob("shopify_*.json")):
        document = json.loads(path.read_text())
        for order in document.get("orders") or [document.get("order", document)]:
            read = _project(order, ORDER_FIELDS_READ) | {
                "shipping_address": _project(order.get("shipping_address"), ADDRESS_FIELDS_READ),
                "line_items": [_project(line, LINE_FIELDS_READ) for line in order["line_items"]],
            }
            assert _fixture_errors(schema, read) == [], path.name
            checked += 1
    assert checked >= 4
