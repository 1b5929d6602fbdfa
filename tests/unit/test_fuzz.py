"""Hostile and malformed input, generated: the normaliser and ProcessOrderFunction's logic either
read an order or say, in words, why not. Never an unhandled exception, never a lost message."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersync.errors import InvalidOrder
from ordersync.local.fakes.shopify import order_node
from ordersync.models import FailureReason, OrderStatus, Platform
from ordersync.normalize import normalize, split_payloads
from ordersync.services.process import process_message

from .test_process import ADDRESS, deps, link_to_northwind, message  # noqa: F401 (deps is a fixture)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=25,
)
HOSTILE = st.one_of(
    JSON,
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1000, max_size=5000),
    st.sampled_from([None, -1, 10**30, "", "\u202e\u0000\ufeff", [], {}, 1.5]),
)
TERMINAL = {
    OrderStatus.SYNCED,
    OrderStatus.FAILED,
    OrderStatus.DISREGARDED,
    OrderStatus.CANCELLED,
    OrderStatus.MANUAL_POSTING_PENDING,
}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _fixture_payloads(root: Path) -> list[tuple[Platform, dict[str, Any]]]:
    found = []
    for path in sorted(root.glob("*.json")):
        for payload in split_payloads(json.loads(path.read_text(), parse_float=Decimal)):
            found.append((Platform(path.name.split("_")[0]), payload))
    return found


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            found += _paths(inner, (*prefix, index))
    return found


def _set(document: Any, path: tuple, value: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


@FUZZ
@given(platform=st.sampled_from(list(Platform)), payload=JSON)
def test_any_json_is_read_or_refused_in_words(platform: Platform, payload: Any) -> None:
    try:
        order = normalize(platform, payload)
    except InvalidOrder as error:
        assert str(error) and "Traceback" not in str(error)
        return
    # read: then it is a whole order of this platform, in UTC, with exact money and shippable counts
    assert order.platform is platform and order.order_id
    assert order.created_at.utcoffset() == order.updated_at.utcoffset() == timedelta(0)
    assert all(isinstance(line.unit_price, Decimal) and line.quantity >= 0 for line in order.lines)


@FUZZ
@given(data=st.data(), garbage=HOSTILE)
def test_real_payloads_with_one_field_broken(platform_fixtures: Path, data: st.DataObject, garbage: Any) -> None:
    platform, payload = data.draw(st.sampled_from(_fixture_payloads(platform_fixtures)))
    broken = copy.deepcopy(payload)
    path = data.draw(st.sampled_from(_paths(broken)))
    _set(broken, path, garbage)
    try:
        order = normalize(platform, broken)
    except InvalidOrder as error:
        assert str(error)
    else:
        assert all(line.quantity >= 0 and line.unit_price >= 0 for line in order.lines)


@FUZZ
@given(
    field=st.sampled_from(["currentQuantity", "sku", "title", "requiresShipping", "originalUnitPriceSet", "id"]),
    garbage=HOSTILE,
)
def test_process_records_every_bad_order_and_keeps_it_in_the_dlq(deps, field: str, garbage: Any) -> None:  # noqa: F811
    deps.orders.items.clear()
    deps.dead_letters.sent.clear()
    link_to_northwind(deps, "A")  # northwind's line, whatever its SKU is turned into
    envelope = json.loads(message("A"))
    envelope["payload"]["lineItems"]["nodes"][0][field] = garbage
    record = process_message(json.dumps(envelope, default=str), "m-fuzz", 1, deps)
    assert record.status in TERMINAL
    if record.status is OrderStatus.FAILED:
        assert record.detail and deps.dead_letters.sent[-1][1]["reason"] == record.reason.value  # type: ignore[union-attr]
    assert deps.orders.get(record.order_key) is not None  # recorded, never lost


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p["lineItems"].update(nodes=p["lineItems"]["nodes"] * 10_000), "at most 1000"),
        (lambda p: p["lineItems"]["nodes"][0].update(currentQuantity=-3), "greater than or equal to 0"),
        (lambda p: p.update(shippingAddress=[]), "shippingAddress must be an object, got list"),
        (lambda p: p.update(lineItems=None), "NoneType"),
        (lambda p: p.update(currencyCode="US Dollars"), "currency"),
    ],
)
def test_named_hostile_payloads_fail_as_invalid_with_a_reason(deps, change, expected: str) -> None:  # noqa: F811
    payload = order_node(1, "#1", [("A", "Thing", 1, "5.00")], ADDRESS)
    change(payload)
    envelope = json.loads(message("A"))
    envelope["payload"] = payload
    body = json.dumps(envelope)
    record = process_message(body, "m1", 1, deps)
    assert (record.status, record.reason) == (OrderStatus.FAILED, FailureReason.INVALID_ORDER)
    assert expected in record.detail
    assert deps.dead_letters.sent[-1][0]["detail"] == record.detail


def test_a_json_number_price_is_read_exactly_never_through_float(deps) -> None:  # noqa: F811
    envelope = json.loads(message("A"))
    envelope["payload"]["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"]["amount"] = "__PRICE__"
    body = json.dumps(envelope).replace('"__PRICE__"', "19.99")
    record = process_message(body, "m1", 1, deps)
    assert record.status is OrderStatus.SYNCED
    normalized = normalize(
        Platform.SHOPIFY,
        json.loads(json.dumps(envelope["payload"]).replace('"__PRICE__"', "19.99"), parse_float=Decimal),
    )
    assert normalized.lines[0].unit_price == Decimal("19.99")
