"""BigCommerce V2 Orders API (X-Auth-Token), checked against the compact schema transcribed from
BigCommerce's OpenAPI files (tests/contracts/bigcommerce). Orders created here carry the buyer
order's key in `external_order_id`, which the orders list filters on exactly: that is how a retry
finds them (the newest-orders scan it replaces could not see past 1,000 orders)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ordersync.domain.carriers import carrier_named
from ordersync.domain.catalog import CatalogVariant, StoreVariant
from ordersync.domain.decide import LineMatch
from ordersync.domain.onboarding import StoreAccess
from ordersync.domain.shipments import BuyerShipment, BuyerShipments
from ordersync.domain.webhooks import BC_SECRET_HEADER, WebhookSubscription
from ordersync.errors import StoreCredentialsError, StoreDataInvalid, StoreRejected
from ordersync.models import (
    BuyerParcel,
    CanonicalOrder,
    CopyLine,
    Parcel,
    ParcelLine,
    Platform,
    PostedCopy,
    SellerOrderState,
    ShippingAddress,
    iso,
)
from ordersync.normalize import shipping_address_of
from ordersync.platforms.http import call, json_body, probe, session
from ordersync.platforms.values import lines_to_change, units_kept, whole_units

PAGE_SIZE = 50
CATALOG_PAGE_SIZE = 250  # V3's most
SUB_RESOURCE_PAGE = 250
EXTERNAL_SOURCE = "ordersync"
NO_POSTCODE = "N/A"  # billing_address.zip is required, at least 2 characters; some countries have none


class BigCommerceStore:
    search_lag_seconds = 5.0  # the V2 orders list is read from replicas

    def __init__(self, base_url: str, access_token: str) -> None:
        self._v2 = f"{base_url.rstrip('/')}/v2"
        self._v3 = f"{base_url.rstrip('/')}/v3"
        self._http = session(headers={"X-Auth-Token": access_token, "Content-Type": "application/json"})

    # --- buyer side --------------------------------------------------------------------------
    def orders_updated_since(
        self, since: datetime, resume: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        page = int(resume or 1)
        while True:
            params = {"min_date_modified": iso(since), "sort": "date_modified:asc", "page": page, "limit": PAGE_SIZE}
            orders = self._list(f"{self._v2}/orders", params)
            if not orders:  # V2 has no paging metadata: an empty page (204) is the end
                return
            yield [self._with_sub_resources(order) for order in orders], str(page + 1)
            page += 1

    def order(self, order_id: str) -> dict[str, Any]:
        return self._with_sub_resources(dict(json_body(call(self._http, "GET", f"{self._v2}/orders/{int(order_id)}"))))

    def _with_sub_resources(self, order: dict[str, Any]) -> dict[str, Any]:
        order_id = order["id"]
        return {
            **order,
            "products": self._every(f"{self._v2}/orders/{order_id}/products"),
            "shipping_addresses": self._every(f"{self._v2}/orders/{order_id}/shipping_addresses"),
        }

    def _every(self, url: str) -> list[dict[str, Any]]:
        """A sub-resource read to its end: no line past the first page is dropped."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            chunk = self._list(url, {"limit": SUB_RESOURCE_PAGE, "page": page})
            found.extend(chunk)
            if len(chunk) < SUB_RESOURCE_PAGE:
                return found
            page += 1

    def _list(self, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        response = call(self._http, "GET", url, params=params)
        if not response.content:  # V2's empty page: 204, no body
            return []
        return list(json_body(response))

    # --- webhooks ---------------------------------------------------------------------------
    def webhooks(self) -> list[WebhookSubscription]:
        found, page = [], 1
        while True:
            body = json_body(call(self._http, "GET", f"{self._v3}/hooks", params={"page": page, "limit": 250}))
            found += [
                WebhookSubscription(
                    str(h["id"]),
                    h["scope"],
                    h["destination"],
                    active=bool(h.get("is_active")),
                    state="active" if h.get("is_active") else "inactive",
                )
                for h in body["data"]
            ]
            if page >= int(body.get("meta", {}).get("pagination", {}).get("total_pages", 1)):
                return found
            page += 1

    def subscribe(self, topic: str, url: str, secret: str) -> str:
        """BigCommerce signs nothing: the hook carries a header of ours, sent back with each delivery."""
        body = {"scope": topic, "destination": url, "is_active": True, "headers": {BC_SECRET_HEADER: secret}}
        return str(json_body(call(self._http, "POST", f"{self._v3}/hooks", json=body))["data"]["id"])

    def order_state(self, order_id: str) -> SellerOrderState:
        """status_id 5 Cancelled (4 Refunded, 6 Declined: the seller's own way to refuse it); 2 Shipped,
        3 Partially Shipped, 10 Completed have left.
        Its parcels: the order's shipments, their items by order product (mapped to the variant)."""
        order = json_body(call(self._http, "GET", f"{self._v2}/orders/{int(order_id)}"))
        status_id = int(order.get("status_id") or 0)
        shipments = (
            self._every(f"{self._v2}/orders/{int(order_id)}/shipments")
            if int(order.get("items_shipped") or 0) or status_id in (2, 3, 10)
            else []
        )
        parcels: tuple[Parcel, ...] = ()
        if shipments:
            products = self._every(f"{self._v2}/orders/{int(order_id)}/products")
            variant_of = {int(p["id"]): str(p.get("variant_id") or p.get("product_id")) for p in products}
            parcels = tuple(_parcel(shipment, variant_of) for shipment in shipments)
        words = str(order.get("status") or status_id)
        return SellerOrderState(status_id in (4, 5, 6), status_id in (2, 3, 10) or bool(parcels), words, parcels)

    # --- buyer side: the seller's parcels ----------------------------------------------------
    def shipments(self, order_id: str) -> BuyerShipments:
        """The order's shipments (our key in their comments), each order product's units not shipped,
        and whether the order is cancelled there (4 Refunded, 5 Cancelled, 6 Declined)."""
        order = json_body(call(self._http, "GET", f"{self._v2}/orders/{int(order_id)}"))
        found = tuple(
            BuyerShipment(
                str(s["id"]),
                s.get("tracking_number") or None,
                _key_in(str(s.get("comments") or "")),
                tuple(
                    (
                        str(whole_units(i.get("order_product_id"), "an order_product_id")),
                        whole_units(i.get("quantity"), "a quantity"),
                    )
                    for i in s.get("items") or []
                ),
            )
            for s in self._every(f"{self._v2}/orders/{int(order_id)}/shipments")
        )
        products = self._every(f"{self._v2}/orders/{int(order_id)}/products")
        left = {str(p["id"]): int(p.get("quantity") or 0) - int(p.get("quantity_shipped") or 0) for p in products}
        return BuyerShipments(found, left, cancelled=int(order.get("status_id") or 0) in (4, 5, 6))

    def write_shipment(self, order_id: str, parcel: BuyerParcel, there: BuyerShipments | None = None) -> str:
        """POST /v2/orders/{id}/shipments: to the order's (first) shipping address, items by order
        product id; a known carrier by BigCommerce's provider code and AfterShip slug, any other by
        its tracking link. BigCommerce emails the customer itself, as its settings say."""
        addresses = self._every(f"{self._v2}/orders/{int(order_id)}/shipping_addresses")
        if not addresses:
            raise StoreRejected(f"order {order_id} has no shipping address to ship to")
        body: dict[str, Any] = {
            "order_address_id": int(addresses[0]["id"]),
            "items": [{"order_product_id": int(line_id), "quantity": units} for line_id, units in parcel.lines],
            **_tracking(parcel),
        }
        return str(json_body(call(self._http, "POST", f"{self._v2}/orders/{int(order_id)}/shipments", json=body))["id"])

    def add_note(self, order_id: str, text: str) -> None:
        """Appended to the order's staff notes (the control panel's, never the customer's)."""
        order = json_body(call(self._http, "GET", f"{self._v2}/orders/{int(order_id)}"))
        notes = "\n".join(n for n in (str(order.get("staff_notes") or ""), text) if n)
        call(self._http, "PUT", f"{self._v2}/orders/{int(order_id)}", json={"staff_notes": notes})

    def update_tracking(self, order_id: str, shipment_id: str, parcel: BuyerParcel) -> str:
        """PUT the shipment we wrote (orderShipment_Put) with the corrected tracking."""
        url = f"{self._v2}/orders/{int(order_id)}/shipments/{int(shipment_id)}"
        call(self._http, "PUT", url, json=_tracking(parcel))
        return shipment_id

    def reduce_lines(self, order_id: str, quantities: Sequence[tuple[CopyLine, int]]) -> None:
        """PUT the order's products by their order product ids (0 removes one, as the OpenAPI file
        says; BigCommerce clears the discounts of the lines it changes)."""
        products = self._every(f"{self._v2}/orders/{int(order_id)}/products")
        changes = lines_to_change(order_id, quantities, [_copy_line(p) for p in products])
        body = {"products": [{"id": int(line_id), "quantity": quantity} for line_id, quantity in changes]}
        call(self._http, "PUT", f"{self._v2}/orders/{int(order_id)}", json=body)
        # read back: a PUT can answer 200 and change nothing (a product's minimum order quantity)
        after = self._every(f"{self._v2}/orders/{int(order_id)}/products")
        kept = units_kept(changes, {line_id: units for line_id, _, units in map(_copy_line, after)})
        if kept:
            raise StoreRejected(
                f"BigCommerce answered the change and kept order {order_id} as it was: {'; '.join(kept)}"
            )

    def copy_address(self, order_id: str) -> ShippingAddress | None:
        addresses = self._every(f"{self._v2}/orders/{int(order_id)}/shipping_addresses")
        return shipping_address_of(Platform.BIGCOMMERCE, addresses[0]) if addresses else None

    def update_shipping_address(self, order_id: str, address: ShippingAddress) -> None:
        """PUT the order's (first) shipping address: BigCommerce recalculates neither shipping nor tax."""
        addresses = self._every(f"{self._v2}/orders/{int(order_id)}/shipping_addresses")
        if not addresses:
            raise StoreRejected(f"order {order_id} has no shipping address to change")
        url = f"{self._v2}/orders/{int(order_id)}/shipping_addresses/{int(addresses[0]['id'])}"
        call(self._http, "PUT", url, json=_address(address))

    def cancel_order(self, order_id: str) -> None:
        call(self._http, "PUT", f"{self._v2}/orders/{int(order_id)}", json={"status_id": 5})

    def unsubscribe(self, subscription_id: str) -> None:
        call(self._http, "DELETE", f"{self._v3}/hooks/{int(subscription_id)}")

    def reactivate(self, subscription_id: str) -> None:
        """A hook BigCommerce deactivated (deliveries kept failing) delivers again."""
        call(self._http, "PUT", f"{self._v3}/hooks/{int(subscription_id)}", json={"is_active": True})

    def shop_domain(self) -> str | None:
        return None

    # --- seller side -------------------------------------------------------------------------
    def find_posted_order(self, source_key: str, since: datetime) -> str | None:
        """By external_order_id, an exact filter of the orders list; `since` is not needed here."""
        orders = self._list(f"{self._v2}/orders", {"external_order_id": source_key, "limit": 5})
        found = [o for o in orders if o.get("external_order_id") == source_key]
        return str(found[0]["id"]) if found else None

    def variants_present(self, variants: Sequence[CatalogVariant]) -> frozenset[str]:
        present = set()
        for variant in variants:
            try:
                call(
                    self._http, "GET", f"{self._v3}/catalog/products/{variant.product_id}/variants/{variant.variant_id}"
                )
            except StoreRejected:
                continue
            present.add(variant.variant_id)
        return frozenset(present)

    def catalog(self) -> Iterator[list[StoreVariant]]:
        for page, _ in self.catalog_pages():
            yield page

    def catalog_pages(
        self, changed_since: datetime | None = None, resume: str | None = None
    ) -> Iterator[tuple[list[StoreVariant], str | None]]:
        """Every product's variants, or those of products modified since `changed_since`; paged by
        id (`id:greater`), so a product deleted during the read shifts nothing. Each page with the
        last product id read, which resumes after it."""
        params: dict[str, Any] = {"include": "variants", "limit": CATALOG_PAGE_SIZE, "sort": "id", "direction": "asc"}
        if changed_since:
            params["date_modified:min"] = iso(changed_since)
        after = resume
        while True:
            page_params = params | ({"id:greater": after} if after else {})
            body = json_body(call(self._http, "GET", f"{self._v3}/catalog/products", params=page_params))
            products = body["data"]
            last = int(body["meta"]["pagination"]["total_pages"]) <= 1 or not products
            after = str(products[-1]["id"]) if products else after
            yield (
                [
                    StoreVariant(
                        str(product["id"]),
                        str(variant["id"]),
                        (variant.get("sku") or "").strip() or None,
                        product["name"],
                        # option_values and their labels are optional in the contract
                        " / ".join(str(o["label"]) for o in variant.get("option_values", []) if "label" in o),
                        # the brand by its id: the response names no brand (brand_name is for writes)
                        str(product["brand_id"]) if product.get("brand_id") else None,
                    )
                    for product in products
                    for variant in product.get("variants", [])
                ],
                None if last else after,
            )
            if last:
                return

    # --- onboarding --------------------------------------------------------------------------
    def check_access(self) -> StoreAccess:
        """BigCommerce checks an API account's scopes before it reads a body: a read of each
        resource shows the read scopes, and a POST of an empty order (400 once allowed, never
        created) the orders modify scope. The store's name needs Information & Settings read-only."""
        granted = set()
        probes: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
            ("Orders: read-only", "GET", f"{self._v2}/orders", {"params": {"limit": 1}}),
            ("Products: read-only", "GET", f"{self._v3}/catalog/products", {"params": {"limit": 1}}),
            ("Orders: modify", "POST", f"{self._v2}/orders", {"json": {}}),
        )
        for grant, method, url, request in probes:
            response = probe(self._http, method, url, **request)
            if response.status_code == 401:
                raise StoreCredentialsError("BigCommerce refused the access token (401)")
            if response.status_code != 403:
                granted.add(grant)
        information = probe(self._http, "GET", f"{self._v2}/store")
        name = json_body(information).get("name") if information.status_code == 200 else None
        return StoreAccess(str(name or urlsplit(self._v2).path.split("/")[2]), frozenset(granted))

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> PostedCopy:
        """The answer links the order's products rather than holding them: the copy's lines are
        found later by variant, in posting order (CopyLine)."""
        body = order_body(order, lines, source_key)
        response = call(self._http, "POST", f"{self._v2}/orders", json=body)
        return PostedCopy(str(json_body(response)["id"]))


def _copy_line(product: dict[str, Any]) -> tuple[str, str, int]:
    """(order product id, the variant or product it is of, units) of a line of the copy."""
    return (
        str(product["id"]),
        str(product.get("variant_id") or product.get("product_id")),
        int(product.get("quantity") or 0),
    )


def _tracking(parcel: BuyerParcel) -> dict[str, Any]:
    """A known carrier by BigCommerce's provider code and AfterShip slug, any other by its tracking
    link and its name in the comments (beside our key, which is how the shipment is found again)."""
    carrier = carrier_named(parcel.carrier)
    fields: dict[str, Any] = {
        "tracking_number": parcel.tracking_number or "",  # over 50: refused before (never cut)
        "shipping_provider": carrier.bigcommerce_provider if carrier else "",
        "tracking_carrier": carrier.bigcommerce_carrier if carrier else "",
        "comments": f"[{parcel.key}] (synced by ordersync)"
        if carrier
        else f"{parcel.carrier or 'Shipped'} [{parcel.key}] (synced by ordersync)",
    }
    if parcel.tracking_url:
        fields["tracking_link"] = parcel.tracking_url
    return fields


def _parcel(shipment: dict[str, Any], variant_of: dict[int, str]) -> Parcel:
    carrier = shipment.get("shipping_provider") or shipment.get("tracking_carrier") or None
    try:
        lines = tuple(
            ParcelLine(
                variant_of.get(product, f"product {product}"),
                whole_units(item.get("quantity"), "a quantity"),
                str(product),
            )
            for item in shipment.get("items") or []
            if (product := whole_units(item.get("order_product_id"), "an order_product_id"))
        )
    except StoreDataInvalid as unreadable:  # named on the order, the other parcels go on
        return Parcel(f"shipment-{shipment['id']}", (), unreadable=str(unreadable))
    return Parcel(
        f"shipment-{shipment['id']}",
        lines,
        carrier=carrier,
        tracking_number=shipment.get("tracking_number") or None,
        tracking_url=shipment.get("tracking_link") or shipment.get("generated_tracking_link") or None,
    )


def _key_in(comments: str) -> str | None:
    """Our parcel's key, as write_shipment puts it in the comments: "[<seller store>:<shipment id>]"."""
    match = re.search(r"\[([a-z0-9-]+:[^\]\s]+)\]", comments)
    return match.group(1) if match else None


def _address(ship: ShippingAddress) -> dict[str, str]:
    """shippingAddress_Base, as order_Post and the shipping address PUT take it."""
    first, _, last = (ship.name or "").rpartition(" ")
    return {
        "first_name": first or last,
        "last_name": last,
        "company": ship.company or "",
        "street_1": ship.address1 or "",
        "street_2": ship.address2 or "",
        "city": ship.city or "",
        "state": ship.province_code or "",
        "zip": ship.postal_code or "",
        "country_iso2": (ship.country_code or "").upper(),
        "country": ship.country_code or "",
        "phone": ship.phone or "",
    }


def order_body(order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> dict[str, Any]:
    """POST /v2/orders, as the compact schema (order_Post) allows it."""
    address = _address(order.shipping_address or ShippingAddress())
    billing_zip = address["zip"] if len(address["zip"]) >= 2 else NO_POSTCODE
    return {
        # The marketplace is the paying customer of a dropship order; the end customer's email stays with the buyer.
        "billing_address": {**address, "zip": billing_zip, "email": "dropship-orders@ordersync.invalid"},
        "shipping_addresses": [address],
        "products": [
            {
                "product_id": int(m.variant.product_id),
                "variant_id": int(m.variant.variant_id),
                "quantity": m.line.quantity,
            }
            for m in lines
            if m.variant
        ],
        "external_source": EXTERNAL_SOURCE,
        "external_order_id": source_key,
        "staff_notes": source_key,
        "customer_message": f"Dropship order {order.order_number} (synced by ordersync)",
        "status_id": 11,
    }
