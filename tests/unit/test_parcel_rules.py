"""A seller's parcel checked before a buyer's store sees it (domain/parcels.py): what a store may
show a customer, and what the buyer's platform can hold whole."""

from __future__ import annotations

import pytest

from ordersync.domain.parcels import parcel_problems, shown
from ordersync.errors import StoreDataInvalid
from ordersync.models import Parcel, Platform
from ordersync.platforms.values import whole_units


def _parcel(number: str | None = "1Z999AA10123456784", carrier: str | None = "UPS", url: str | None = None) -> Parcel:
    return Parcel("f1", (), carrier, number, url)


@pytest.mark.parametrize(
    ("number", "carrier", "url"),
    [("1Z999AA10123456784", "UPS", None), ("9400 1000 0000 0000 0000 00", "USPS", None),
     ("7023-2109-9999-1234", "Canada Post", "https://www.canadapost-postescanada.ca/track?id=7023"),
     ("JD014600003828", "DHL Express", "http://track.example/JD014600003828"), (None, None, None),
     ("B-1", "Bob's Couriers (Leeds)", "https://bob.example:8443/B-1?x=1#top"), ("SC1", "Bpost & Co.", None),
     ("RM1", "Poste Italiane", "https://[2606:4700::6810:85e5]/t/RM1"), ("X" * 64, "Société Générale", None)],
)  # fmt: skip
def test_what_real_carriers_send_goes_through(number: str | None, carrier: str | None, url: str | None) -> None:
    assert parcel_problems(_parcel(number, carrier, url), Platform.SHOPIFY) == []


@pytest.mark.parametrize(
    ("parcel", "words"),
    [
        (_parcel(number="1Z" * 50_000), "the tracking number is 100000 characters"),
        (_parcel(number="<script>alert(1)</script>"), "has characters other than"),
        (_parcel(number="1Z999\r\nBcc: x@example.com"), "has characters other than"),
        (_parcel(number=" 1Z999"), "has characters other than"),
        (_parcel(carrier="UPS\r\nBcc: victim@example.com"), "is not a plain name"),
        (_parcel(carrier="<b>UPS</b>"), "is not a plain name"),
        (_parcel(carrier="U" * 10_000), "the carrier's name is 10000 characters"),
        (_parcel(carrier="---"), "is not a plain name"),
        (_parcel(url="javascript:alert(document.cookie)"), "is not an http(s) address"),
        (_parcel(url="file:///etc/passwd"), "is not an http(s) address"),
        (_parcel(url="data:text/html,<script>alert(1)</script>"), "is not an http(s) address"),
        (_parcel(url="//track.example/1Z"), "is not an http(s) address"),
        (_parcel(url="http://169.254.169.254/latest/meta-data/"), "is not to a public web host"),
        (_parcel(url="http://127.0.0.1:8080/"), "is not to a public web host"),
        (_parcel(url="http://127.1/"), "is not to a public web host"),
        (_parcel(url="http://2130706433/"), "is not to a public web host"),
        (_parcel(url="http://10.0.0.7/track"), "is not to a public web host"),
        (_parcel(url="http://192.168.1.1/"), "is not to a public web host"),
        (_parcel(url="http://[::1]/"), "is not to a public web host"),
        (_parcel(url="http://[::ffff:127.0.0.1]/"), "is not to a public web host"),
        (_parcel(url="http://localhost/"), "is not to a public web host"),
        (_parcel(url="https://metadata.google.internal/"), "is not to a public web host"),
        (_parcel(url="https://ups.com@evil.example/"), "carries a user name"),
        (_parcel(url="https://track.example/a b"), "has spaces or control characters"),
        (_parcel(url="https://track.example:port/"), "is not a web address"),
        (_parcel(url="https://track.example/" + "a" * 3000), "the tracking link is 3022 characters"),
    ],
)
def test_what_no_store_may_show_a_customer_is_named(parcel: Parcel, words: str) -> None:
    (problem,) = parcel_problems(parcel, Platform.WOOCOMMERCE)
    assert words in problem


def test_what_a_buyer_platform_cant_hold_whole_is_refused_never_cut() -> None:
    sixty = _parcel(number="9" * 60)
    assert parcel_problems(sixty, Platform.SHOPIFY) == []
    assert parcel_problems(sixty, Platform.WOOCOMMERCE) == []
    (problem,) = parcel_problems(sixty, Platform.BIGCOMMERCE)
    assert problem.startswith("the tracking number is 60 characters, and a BigCommerce store keeps 50")
    assert parcel_problems(_parcel(number="9" * 50), Platform.BIGCOMMERCE) == []
    long_link = _parcel(url="https://track.example/" + "a" * 479)  # 501 characters
    assert "a BigCommerce store keeps 500" in parcel_problems(long_link, Platform.BIGCOMMERCE)[0]
    assert parcel_problems(long_link, Platform.SHOPIFY) == []


def test_a_stores_value_is_shown_bounded_and_with_its_control_characters_escaped() -> None:
    assert shown("UPS\r\nBcc: x") == "UPS\\r\\nBcc: x"
    assert shown("9" * 100) == "9" * 39 + "…"
    assert shown(None) == ""


@pytest.mark.parametrize(("value", "units"), [(3, 3), ("3", 3), (" 2 ", 2), (2.0, 2)])
def test_a_stores_count_of_units_is_read_as_a_whole_number(value: object, units: int) -> None:
    assert whole_units(value, "qty") == units


@pytest.mark.parametrize("value", ["abc", 1.5, -3, 0, "-3", None, True, "", [2], "1e3"])
def test_a_count_that_isnt_a_whole_number_of_units_is_a_named_error_never_a_crash(value: object) -> None:
    with pytest.raises(StoreDataInvalid, match=r"^item 7's qty .*, not a whole number of units of at least 1$"):
        whole_units(value, "item 7's qty")


def test_a_parcel_its_store_shows_unreadable_is_named_as_the_store_shows_it() -> None:
    parcel = Parcel("fulfillment-9", (), unreadable="item 7's qty 'abc', not a whole number of units of at least 1")
    assert parcel_problems(parcel, Platform.SHOPIFY) == [
        "the seller's store shows it with item 7's qty 'abc', not a whole number of units of at least 1"
    ]
