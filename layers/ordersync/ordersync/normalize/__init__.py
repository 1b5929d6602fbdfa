"""Buyer payloads, as each store sends them, turned into the canonical order. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ordersync.errors import InvalidOrder
from ordersync.models import READ_FROM_STORE_KEY, CanonicalOrder, Platform, ShippingAddress, requested_read
from ordersync.normalize import bigcommerce, shopify, woocommerce
from ordersync.normalize.common import timestamp, variant_key
from ordersync.normalize.shopify import legacy_id

OVERSIZED_KEY = "ordersync_oversized"  # set by the pull in place of a payload too large to carry
UNIDENTIFIED = "unidentified-"  # the prefix of the name a payload with no readable id travels under


_NORMALIZERS: dict[Platform, Callable[[dict[str, Any]], dict[str, Any]]] = {
    Platform.SHOPIFY: shopify.to_canonical,
    Platform.WOOCOMMERCE: woocommerce.to_canonical,
    Platform.BIGCOMMERCE: bigcommerce.to_canonical,
}


def normalize(platform: Platform, payload: Any) -> CanonicalOrder:
    """One store payload -> the canonical order, or InvalidOrder saying in one line what is wrong."""
    if not isinstance(payload, dict):
        raise InvalidOrder(f"a {platform} order must be a JSON object, got {type(payload).__name__}")
    if OVERSIZED_KEY in payload:
        raise InvalidOrder(str(payload[OVERSIZED_KEY]))
    if READ_FROM_STORE_KEY in payload:
        raise InvalidOrder(f"the order {payload[READ_FROM_STORE_KEY]!r} was never read from the buyer's store")
    try:
        fields = _NORMALIZERS[platform](payload)
        return CanonicalOrder.model_validate(fields)
    except ValidationError as error:
        raise InvalidOrder(describe_validation_error(error)) from None
    except KeyError as error:
        raise InvalidOrder(f"{platform} order is missing the field {error.args[0]!r}") from None
    except ValueError as error:
        raise InvalidOrder(f"unreadable {platform} order: {_short(error)}") from None
    except (TypeError, AttributeError, ArithmeticError) as error:
        raise InvalidOrder(f"unreadable {platform} order: {type(error).__name__}: {_short(error)}") from None


def split_payloads(document: Any) -> list[Any]:
    """A file's JSON as the stores send it: one order, a wrapper ({"order": ...}, {"orders": [...]})
    or a bare list, into the list of order payloads it holds."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if isinstance(document.get("orders"), list):
            return list(document["orders"])
        if isinstance(document.get("order"), dict):
            return [document["order"]]
        data = document.get("data")
        if isinstance(data, dict) and isinstance(data.get("orders"), dict):  # GraphQL response
            connection = data["orders"]
            return [edge["node"] for edge in connection.get("edges", [])] or list(connection.get("nodes", []))
        return [document]
    raise InvalidOrder(f"expected an order, a wrapper or a list, got {type(document).__name__}")


def describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "order"
        problems.append(f"{where}: {item['msg']}")
    more = f" (+{error.error_count() - 5} more)" if error.error_count() > 5 else ""
    return "; ".join(problems) + more


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) <= 200 else text[:200] + "..."


_ID_NUMBER_UPDATED = {
    Platform.SHOPIFY: (("legacyResourceId", "id"), ("name", "order_number"), ("updatedAt", "updated_at")),
    Platform.WOOCOMMERCE: (("id",), ("number",), ("date_modified_gmt",)),
    Platform.BIGCOMMERCE: (("id",), ("id",), ("date_modified",)),
}


def order_ref(platform: Platform, payload: Any) -> tuple[str, str, datetime | None]:
    """The buyer platform's order id, number and last update, read leniently: a payload too broken
    to give them still travels (under a content hash) so that it is recorded as INVALID_ORDER."""
    if (requested := requested_read(payload)) is not None:
        return requested, "", None
    id_keys, number_keys, updated_keys = _ID_NUMBER_UPDATED[platform]
    fields = payload if isinstance(payload, dict) else {}
    raw_id = next((fields[k] for k in id_keys if fields.get(k) not in (None, "")), None)
    if raw_id is None or isinstance(raw_id, dict | list):
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
        order_id = f"{UNIDENTIFIED}{digest}"
    else:
        order_id = legacy_id(raw_id)[:200]
    number = next((str(fields[k])[:200] for k in number_keys if isinstance(fields.get(k), str | int)), "")
    updated = None
    for key in updated_keys:
        try:
            updated = timestamp(fields.get(key), assume_utc=platform is Platform.WOOCOMMERCE)
            break
        except (ValueError, TypeError):
            continue
    return order_id, number, updated


def shipping_address_of(platform: Platform, fields: dict[str, Any] | None) -> ShippingAddress | None:
    """A store's shipping address object (Shopify's GraphQL MailingAddress, WooCommerce's `shipping`,
    a BigCommerce shipping address) as the canonical address; None when it is blank."""
    if not fields:
        return None
    read = {
        Platform.SHOPIFY: shopify._graphql_address,
        Platform.WOOCOMMERCE: woocommerce._address,
        Platform.BIGCOMMERCE: bigcommerce._address,
    }[platform]
    found = ShippingAddress.model_validate(read(fields))
    return None if found.is_blank() else found


def seller_copy_id(platform: Platform, payload: dict[str, Any]) -> str | None:
    """The seller store's id of an order in its orders list, when we posted it."""
    copy = posted_copy(platform, payload)
    return copy[0] if copy else None


def posted_copy(platform: Platform, payload: dict[str, Any]) -> tuple[str, str] | None:
    """(the seller store's order id, the key our create gave it) of an order we posted, or None: the
    key is Shopify's sourceIdentifier, WooCommerce's meta, BigCommerce's external id."""
    if platform is Platform.SHOPIFY:  # GraphQL's names, or the REST shape of a webhook's body
        key = payload.get("sourceIdentifier") or payload.get("source_identifier")
        order_id = payload.get("legacyResourceId") or payload.get("id")
        ours = str(key or "").startswith(SOURCE_KEY_PREFIX)
        return (legacy_id(order_id), str(key)) if ours and order_id else None
    if platform is Platform.WOOCOMMERCE:
        meta = payload.get("meta_data") or []
        key = next((m.get("value") for m in meta if isinstance(m, dict) and m.get("key") == "_ordersync_source"), None)
        return (str(payload["id"]), str(key)) if key is not None and payload.get("id") is not None else None
    key = payload.get("external_order_id")
    ours = str(key or "").startswith(SOURCE_KEY_PREFIX)
    return (str(payload["id"]), str(key)) if ours and payload.get("id") is not None else None


def order_key_of(source_key: str) -> str | None:
    """The order key a source key was made from (`ordersync-{connection}-{order id}`), where it can
    be told back: a guess that whoever uses it checks against the record."""
    connection, _, order_id = source_key.removeprefix(SOURCE_KEY_PREFIX).rpartition("-")
    return f"{connection}#{order_id}" if source_key.startswith(SOURCE_KEY_PREFIX) and connection and order_id else None


SOURCE_KEY_PREFIX = "ordersync-"  # every key our creates give a seller's order begins so


@dataclass(frozen=True)
class RawLine:
    """What whose-line-is-it needs of a line, read leniently from the raw payload before the order
    itself is validated: a broken line fails only the part it belongs to."""

    line_id: str
    sku: str | None
    variant_id: str | None
    title: str


def raw_lines(platform: Platform, payload: Any) -> list[RawLine] | None:
    """The payload's lines, or None where they can't be told apart (no list of lines, a line with no
    id): such an order travels whole and fails as INVALID_ORDER for each seller."""
    if not isinstance(payload, dict) or requested_read(payload) is not None:
        return None
    graphql = platform is Platform.SHOPIFY and "lineItems" in payload
    try:
        return [_raw_line(platform, entry, graphql) for entry in _line_entries(platform, payload, graphql)]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _line_entries(platform: Platform, payload: dict[str, Any], graphql: bool) -> list[Any]:
    if graphql:
        connection = payload["lineItems"]
        if "nodes" in connection:
            return list(connection["nodes"])
        return [edge["node"] for edge in connection["edges"]]
    key = "products" if platform is Platform.BIGCOMMERCE else "line_items"
    entries = payload[key]
    if not isinstance(entries, list):
        raise TypeError(f"{key} is not a list")
    return entries


def _raw_line(platform: Platform, entry: Any, graphql: bool) -> RawLine:
    if not isinstance(entry, dict) or entry.get("id") in (None, "") or isinstance(entry["id"], dict | list | bool):
        raise ValueError("a line without an id")
    if graphql:
        variant = entry.get("variant")
        variant_id = legacy_id(str(variant["id"])) if isinstance(variant, dict) and variant.get("id") else None
    elif platform is Platform.WOOCOMMERCE:
        variant_id = variant_key(entry.get("variation_id"), entry.get("product_id"))
    else:  # Shopify REST, BigCommerce
        variant_id = variant_key(entry.get("variant_id"), entry.get("product_id"))
    sku = entry.get("sku")
    title = entry.get("name") or entry.get("title") or ""
    return RawLine(
        legacy_id(str(entry["id"])),
        sku.strip() or None if isinstance(sku, str) else None,
        variant_id,
        title if isinstance(title, str) else "",
    )


def _field(name: str) -> Callable[[Any], Any]:
    return lambda entry: entry.get(name)


def payload_with_lines(platform: Platform, payload: Any, line_ids: set[str]) -> Any:
    """The raw order with only these lines (a seller's part): its line list cut to them, and the
    refunds and fulfilments that name lines cut alike, so nothing of another seller's travels on.
    A payload that doesn't read as an order is returned as it is (it fails as INVALID_ORDER)."""
    if not isinstance(payload, dict) or requested_read(payload) is not None:
        return payload
    cut = dict(payload)

    def kept(entries: Any, line_of: Callable[[Any], Any]) -> Any:
        if not isinstance(entries, list):
            return entries
        return [e for e in entries if isinstance(e, dict) and legacy_id(str(line_of(e) or "")) in line_ids]

    if platform is Platform.SHOPIFY and isinstance(payload.get("lineItems"), dict):
        connection = dict(payload["lineItems"])
        if "nodes" in connection:
            connection["nodes"] = kept(connection["nodes"], lambda node: node.get("id"))
        if "edges" in connection:
            connection["edges"] = kept(connection["edges"], lambda edge: (edge.get("node") or {}).get("id"))
        cut["lineItems"] = connection
    elif platform is Platform.SHOPIFY and "line_items" in payload:
        cut["line_items"] = kept(payload["line_items"], lambda line: line.get("id"))
        for outer, inner, line_key in (
            ("refunds", "refund_line_items", "line_item_id"),
            ("fulfillments", "line_items", "id"),
        ):
            if isinstance(payload.get(outer), list):  # the refunds and fulfilments that name lines, cut alike
                cut[outer] = [
                    {**e, inner: kept(e.get(inner), _field(line_key))} if isinstance(e, dict) else e
                    for e in payload[outer]
                ]
    elif platform is Platform.WOOCOMMERCE and "line_items" in payload:
        cut["line_items"] = kept(payload["line_items"], lambda line: line.get("id"))
    elif platform is Platform.BIGCOMMERCE and isinstance(payload.get("products"), list):  # embedded
        cut["products"] = kept(payload["products"], lambda product: product.get("id"))
    return cut
