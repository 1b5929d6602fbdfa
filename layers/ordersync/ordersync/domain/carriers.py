"""One carrier vocabulary across the three platforms. Each store names a carrier its own way —
Shopify by its supported company names (capitalisation matters), BigCommerce by a shipping provider
code and an AfterShip tracking-carrier slug, WooCommerce's Shipment Tracking by a provider name —
and a parcel shipped with one name is written with the other store's. A carrier we don't know goes
across as the name the seller gave it, with its tracking URL: never dropped, never guessed. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Carrier:
    key: str
    shopify: str  # FulfillmentTrackingInfo's supported company name
    bigcommerce_provider: str  # shipping_provider ("" where BigCommerce has no integration)
    bigcommerce_carrier: str  # tracking_carrier: AfterShip's courier slug
    woocommerce: str  # Shipment Tracking's provider name
    woocommerce_slug: str  # core fulfilments' `_shipment_provider` (any other carrier: "other" + `_provider_name`)
    aliases: tuple[str, ...] = ()


CARRIERS = (
    Carrier("ups", "UPS", "ups", "ups", "UPS", "ups", ("upsready", "united parcel service")),
    Carrier("usps", "USPS", "usps", "usps", "USPS", "usps", ("endicia", "united states postal service")),
    Carrier("fedex", "FedEx", "fedex", "fedex", "FedEx", "fedex", ("federal express",)),
    Carrier("dhl-express", "DHL Express", "", "dhl", "DHL", "dhl", ("dhl",)),
    Carrier(
        "australia-post",
        "Australia Post",
        "auspost",
        "australia-post",
        "Australia Post",
        "australia-post",
        ("auspost",),
    ),
    Carrier("canada-post", "Canada Post", "canadapost", "canada-post", "Canada Post", "canada-post", ("canadapost",)),
    Carrier("royal-mail", "Royal Mail", "royalmail", "royal-mail", "Royal Mail", "royal-mail", ("royalmail",)),
)


def _folded(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


_BY_NAME = {
    _folded(name): carrier
    for carrier in CARRIERS
    for name in (
        carrier.key,
        carrier.shopify,
        carrier.bigcommerce_provider,
        carrier.bigcommerce_carrier,
        carrier.woocommerce,
        carrier.woocommerce_slug,
        *carrier.aliases,
    )
    if name
}


def carrier_named(name: str | None) -> Carrier | None:
    """The carrier any platform's name (or code, or slug) stands for; None when it is not one we know."""
    return _BY_NAME.get(_folded(name)) if name else None
