"""Small helpers the platform normalisers share."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any


def text(value: Any) -> str | None:
    """A trimmed string, or None for null / blank."""
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise TypeError(f"expected text, got {type(value).__name__}")
    result = str(value).strip()
    return result or None


def money(value: Any) -> Decimal:
    """A decimal amount from a string or an int (Decimal when JSON was parsed with parse_float=Decimal)."""
    if isinstance(value, float):
        raise ValueError("money came as a float; parse JSON with parse_float=Decimal")
    if isinstance(value, bool) or value is None:
        raise ValueError(f"money must be a decimal, got {value!r}")
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"amount {value!r} is not a decimal number") from None


def timestamp(value: Any, assume_utc: bool = False) -> datetime:
    """ISO 8601 (or RFC 2822, as BigCommerce V2 sends) -> aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"missing or non-text timestamp: {value!r}")
    raw = value.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (ValueError, TypeError):
            raise ValueError(f"timestamp {raw!r} is neither ISO 8601 nor RFC 2822") from None
    if moment.tzinfo is None:
        if not assume_utc:
            raise ValueError(f"timestamp {raw!r} has no UTC offset")
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"quantity must be a whole number, got {value!r}")
    return int(value)


def address(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: text(value) for key, value in fields.items()}


def mapping(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{field} must be an object, got {type(value).__name__}")
    return value


def items(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list, got {type(value).__name__}")
    return value


def variant_key(variant: Any, product: Any = None) -> str | None:
    """The buyer's variant id as text, else its product's (a platform or product with no variants);
    None for a custom item (0 or missing on both, as WooCommerce and BigCommerce write it)."""
    for value in (variant, product):
        if value not in (None, "", 0, "0") and not isinstance(value, bool | dict | list):
            return str(value)
    return None
