"""BigCommerce V2 Orders API (X-Auth-Token). Orders created here carry the buyer order's key in
`staff_notes` and `external_source: ordersync`, which is how a retry finds them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from ordersync.domain.catalog import CatalogVariant, StoreVariant
from ordersync.domain.decide import LineMatch
from ordersync.errors import StoreRejected
from ordersync.models import CanonicalOrder, iso
from ordersync.platforms.http import call, json_body, session

PAGE_SIZE = 50
EXTERNAL_SOURCE = "ordersync"
_LOOKBACK_PAGES = 4


class BigCommerceStore:
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

    def _with_sub_resources(self, order: dict[str, Any]) -> dict[str, Any]:
        order_id = order["id"]
        return {
            **order,
            "products": self._list(f"{self._v2}/orders/{order_id}/products", {"limit": 250}),
            "shipping_addresses": self._list(f"{self._v2}/orders/{order_id}/shipping_addresses", {"limit": 250}),
        }

    def _list(self, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        response = call(self._http, "GET", url, params=params)
        if response.status_code == 204 or not response.content:  # V2's empty page
            return []
        return list(json_body(response))

    # --- seller side -------------------------------------------------------------------------
    def find_posted_order(self, source_key: str, created_after: datetime | None = None) -> str | None:
        params: dict[str, Any] = {"sort": "date_created:desc", "limit": 250}
        if created_after:
            params["min_date_created"] = iso(created_after - timedelta(days=1))
        for page in range(1, _LOOKBACK_PAGES + 1):
            orders = self._list(f"{self._v2}/orders", {**params, "page": page})
            for order in orders:
                if order.get("external_source") == EXTERNAL_SOURCE and order.get("staff_notes") == source_key:
                    return str(order["id"])
            if len(orders) < params["limit"]:
                return None
        return None

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
        page = 1
        while True:
            params = {"include": "variants", "limit": 250, "page": page}
            body = json_body(call(self._http, "GET", f"{self._v3}/catalog/products", params=params))
            yield [
                StoreVariant(
                    str(product["id"]),
                    str(variant["id"]),
                    (variant.get("sku") or "").strip() or None,
                    product["name"],
                    " / ".join(str(o.get("label", "")) for o in variant.get("option_values", [])),
                )
                for product in body["data"]
                for variant in product.get("variants", [])
            ]
            if page >= int(body.get("meta", {}).get("pagination", {}).get("total_pages", 1)):
                return
            page += 1

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> str:
        ship = order.shipping_address
        first, _, last = (ship.name or "").rpartition(" ") if ship else ("", "", "")
        address = {
            "first_name": first or last,
            "last_name": last,
            "company": (ship.company if ship else None) or "",
            "street_1": (ship.address1 if ship else None) or "",
            "street_2": (ship.address2 if ship else None) or "",
            "city": (ship.city if ship else None) or "",
            "state": (ship.province_code if ship else None) or "",
            "zip": (ship.postal_code if ship else None) or "",
            "country_iso2": (ship.country_code if ship else None) or "",
            "country": (ship.country_code if ship else None) or "",
            "phone": (ship.phone if ship else None) or "",
        }
        body = {
            # The marketplace is the paying customer of a dropship order; the end customer's email stays with the buyer.
            "billing_address": {**address, "email": "dropship-orders@ordersync.invalid"},
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
            "staff_notes": source_key,
            "customer_message": f"Dropship order {order.order_number} (synced by ordersync)",
            "status_id": 11,
        }
        response = call(self._http, "POST", f"{self._v2}/orders", json=body)
        return str(json_body(response)["id"])
