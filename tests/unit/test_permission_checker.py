"""The suite's permission checker (ordersync.local.iam) evaluates a statement's Condition block as
IAM does: a call its condition denies is refused, so a dropped ProjectionExpression or an ALL_NEW
answer fails here instead of on AWS."""

from __future__ import annotations

from typing import Any

from ordersync.local.iam import allows, context_of

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/stores"
PACE = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    "Resource": TABLE,
    "Condition": {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["store_id", "paced_until_ms"]},
        "StringEqualsIfExists": {
            "dynamodb:Select": "SPECIFIC_ATTRIBUTES",
            "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"],
        },
    },
}


def _allowed(operation: str, params: dict[str, Any]) -> bool:
    context = context_of("dynamodb", operation, {"TableName": "stores", "Key": {"store_id": {"S": "x"}}, **params})
    return allows([PACE], f"dynamodb:{operation}", TABLE, context)


def test_a_read_of_the_granted_attribute_only_is_allowed_and_a_read_of_the_whole_item_is_not() -> None:
    assert _allowed("GetItem", {"ProjectionExpression": "paced_until_ms"})
    assert _allowed("GetItem", {"ProjectionExpression": "#p", "ExpressionAttributeNames": {"#p": "paced_until_ms"}})
    assert not _allowed("GetItem", {})  # no projection: every attribute, the secret ARN among them
    assert not _allowed("GetItem", {"ProjectionExpression": "paced_until_ms, secret_arn"})


def test_an_update_is_allowed_on_the_granted_attributes_and_refused_past_them_or_asking_for_all() -> None:
    update = {
        "UpdateExpression": "SET #p = :until",
        "ConditionExpression": "attribute_not_exists(#p) OR #p < :until",
        "ExpressionAttributeNames": {"#p": "paced_until_ms"},
    }
    assert _allowed("UpdateItem", update)
    assert _allowed("UpdateItem", {**update, "ReturnValues": "UPDATED_OLD"})
    assert not _allowed("UpdateItem", {**update, "ReturnValues": "ALL_NEW"})  # would answer the whole item
    assert not _allowed("UpdateItem", {**update, "ReturnValues": "ALL_OLD"})
    assert not _allowed("UpdateItem", {"UpdateExpression": "SET base_url = :evil"})
    assert not _allowed("UpdateItem", {"UpdateExpression": "SET paced_until_ms = :u REMOVE secret_arn"})


def test_only_top_level_names_count_and_values_and_functions_are_not_names() -> None:
    context = dict(
        context_of(
            "dynamodb",
            "UpdateItem",
            {
                "TableName": "t",
                "Key": {"connection_id": {"S": "c"}},
                "UpdateExpression": "SET buyer.webhooks = :on, since = if_not_exists(since, :at) REMOVE shop_domain",
                "ConditionExpression": "attribute_exists(connection_id) AND size(#n) > :zero",
                "ExpressionAttributeNames": {"#n": "lines"},
            },
        )
    )
    assert context["dynamodb:Attributes"] == ("buyer", "connection_id", "lines", "shop_domain", "since")
    assert "dynamodb:ReturnValues" not in context and "dynamodb:Select" not in context


def test_the_table_resource_s_condition_objects_are_read_as_the_expressions_boto3_builds_from_them() -> None:
    from boto3.dynamodb.conditions import Attr

    params = {
        "TableName": "connections",
        "Key": {"connection_id": "c"},
        "UpdateExpression": "SET #c = :c",
        "ConditionExpression": Attr("cursor").not_exists() | Attr("cursor").lt("2026-12-04T00:00:00Z"),
        "ExpressionAttributeNames": {"#c": "cursor"},
    }
    assert dict(context_of("dynamodb", "UpdateItem", params))["dynamodb:Attributes"] == ("connection_id", "cursor")
    unreadable = context_of("dynamodb", "UpdateItem", {**params, "UpdateExpression": object()})
    assert not allows([PACE], "dynamodb:UpdateItem", TABLE, unreadable)  # refused, and named, never a crash
