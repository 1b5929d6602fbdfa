"""What a seller's store says of a parcel, checked before any buyer's store sees it: a tracking
number of a carrier's plausible length and characters, a plain carrier name, a tracking link that is
an absolute http(s) address of a public host — and what the buyer's platform can carry (BigCommerce
keeps 50 characters of a number: refused, never cut). One rule set for every platform. Pure."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from ordersync.models import Parcel, Platform

# The longest numbers carriers issue are 34 characters (USPS IMpb, FedEx's 34-digit barcode) and
# a few consolidators' 40: 64 leaves room, a page of text does not pass.
TRACKING_NUMBER_MAX = 64
CARRIER_MAX = 50
TRACKING_URL_MAX = 2048
_NUMBER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 -]*[A-Za-z0-9])?")
_CARRIER_PUNCTUATION = frozenset(" &.,'()/+-")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")

# What each buyer platform can hold (its published maximum); a longer value is refused, not cut.
_CARRIED = {
    Platform.BIGCOMMERCE: {"tracking number": 50, "tracking link": 500},  # orderShipment_Post maxLength
}


def parcel_problems(parcel: Parcel, buyer_platform: Platform) -> list[str]:
    """Why the parcel can't be written into a store of `buyer_platform`, one phrase each; [] if it can."""
    if parcel.unreadable:
        return [f"the seller's store shows it with {parcel.unreadable}"]
    problems = [
        *_number_problems(parcel.tracking_number),
        *_carrier_problems(parcel.carrier),
        *_url_problems(parcel.tracking_url),
    ]
    if problems:
        return problems
    values = {"tracking number": parcel.tracking_number, "tracking link": parcel.tracking_url}
    for field, limit in _CARRIED.get(buyer_platform, {}).items():
        value = values[field]
        if value and len(value) > limit:
            problems.append(
                f"the {field} is {len(value)} characters, and a {buyer_platform.label} store keeps {limit}"
                " (it would be cut: a wrong one for the customer)"
            )
    return problems


def shown(value: str | None, limit: int = 40) -> str:
    """A store's value as our records and emails show it: control characters escaped, cut to `limit`."""
    if value is None:
        return ""
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
    return escaped if len(escaped) <= limit else f"{escaped[: limit - 1]}…"


def _number_problems(number: str | None) -> list[str]:
    if number is None:
        return []
    if len(number) > TRACKING_NUMBER_MAX:
        return [f"the tracking number is {len(number)} characters (a carrier's are at most {TRACKING_NUMBER_MAX})"]
    if not _NUMBER.fullmatch(number):
        return [f"the tracking number {shown(number)!r} has characters other than letters, digits, spaces and dashes"]
    return []


def _carrier_problems(carrier: str | None) -> list[str]:
    if carrier is None:
        return []
    if len(carrier) > CARRIER_MAX:
        return [f"the carrier's name is {len(carrier)} characters (at most {CARRIER_MAX})"]
    plain = all(c.isalnum() or c in _CARRIER_PUNCTUATION for c in carrier) and carrier.strip() == carrier
    if not plain or not any(c.isalnum() for c in carrier) or "  " in carrier:
        return [
            f"the carrier's name {shown(carrier)!r} is not a plain name (letters, digits, spaces, & . , ' ( ) / + -)"
        ]
    return []


def usable_link(url: str | None) -> str | None:
    """A link a buyer may be handed (an absolute http(s) address of a public host), else None: where
    a store builds the link itself from a template, a bad one is dropped and the number kept."""
    return url if url and not _url_problems(url) else None


def _url_problems(url: str | None) -> list[str]:
    if url is None:
        return []
    if len(url) > TRACKING_URL_MAX:
        return [f"the tracking link is {len(url)} characters (at most {TRACKING_URL_MAX})"]
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in url):
        return [f"the tracking link {shown(url)!r} has spaces or control characters"]
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        parts.port  # noqa: B018 — a port that isn't a number raises here
    except ValueError:
        return [f"the tracking link {shown(url)!r} is not a web address"]
    if parts.scheme not in ("http", "https"):
        return [f"the tracking link {shown(url)!r} is not an http(s) address"]
    if parts.username is not None or parts.password is not None:
        return [f"the tracking link {shown(url)!r} carries a user name (a disguised address)"]
    if not host or not _public(host):
        return [f"the tracking link {shown(url)!r} is not to a public web host"]
    return []


def _public(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        lowered = host.lower()
        top = lowered.rsplit(".", 1)[-1]
        # a numeric last label is an address in disguise (127.1, 0x7f.1), never a domain name
        numeric = top.isdigit() or top.startswith("0x")
        return "." in lowered and not numeric and not lowered.endswith(_PRIVATE_SUFFIXES)
    return address.is_global and not address.is_multicast
