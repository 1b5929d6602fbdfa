"""An item's size as DynamoDB counts it against its 400 KB limit and bills it (its published rules):
attribute names plus values; a string its UTF-8 bytes; a number about one byte per two digits; a
list or map 3 bytes plus each element and 1 byte per element."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeSerializer

ITEM_LIMIT = 400 * 1024


def item_bytes(typed: Mapping[str, Any]) -> int:
    """The size of an item in DynamoDB's typed form ({"name": {"S": "..."}})."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in typed.items())


def plain_item_bytes(item: Mapping[str, Any]) -> int:
    """The size of an item as boto3's resource layer takes it (plain Python values)."""
    return item_bytes(TypeSerializer().serialize(dict(item))["M"])


def _value_bytes(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        return len(inner.strip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    return len(json.dumps(inner))  # sets: close enough
