"""WooCommerce REST API v3. Orders carry the buyer order's key in meta_data `_ordersync_source`;
the store's order search must cover that meta key (filter `woocommerce_shop_order_search_fields`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ordersync.domain.catalog import CatalogVariant, StoreVariant
from ordersync.domain.decide import LineMatch
from ordersync.errors import StoreRejected
from ordersync.models import CanonicalOrder, iso
from ordersync.platforms.http import call, json_body, session

PAGE_SIZE = 100
SOURCE_META_KEY = "_ordersync_source"


class WooCommerceStore:
    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str) -> None:
        self._api = f"{base_url.rstrip('/')}/wp-json/wc/v3"
        self._http = session(auth=(consumer_key, consumer_secret))

    # --- buyer side --------------------------------------------------------------------------
    def orders_updated_since(
        self, since: datetime, resume: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        page = int(resume or 1)
        while True:
            params = {
                "modified_after": iso(since),
                "dates_are_gmt": "true",
                "orderby": "modified",
                "order": "asc",
                "per_page": PAGE_SIZE,
                "page": page,
            }
            response = call(self._http, "GET", f"{self._api}/orders", params=params)
            last = page >= int(response.headers.get("X-WP-TotalPages", "1") or 1)
            yield list(json_body(response)), None if last else str(page + 1)
            if last:
                return
            page += 1

    # --- seller side -------------------------------------------------------------------------
    def find_posted_order(self, source_key: str) -> str | None:
        response = call(self._http, "GET", f"{self._api}/orders", params={"search": source_key, "per_page": 10})
        for order in json_body(response):
            if any(
                m.get("key") == SOURCE_META_KEY and m.get("value") == source_key for m in order.get("meta_data", [])
            ):
                return str(order["id"])
        return None

    def variants_present(self, variants: Sequence[CatalogVariant]) -> frozenset[str]:
        present = set()
        for variant in variants:
            path = f"products/{variant.product_id}"
            if variant.variant_id != variant.product_id:
                path += f"/variations/{variant.variant_id}"
            try:
                call(self._http, "GET", f"{self._api}/{path}")
            except StoreRejected:  # 404: gone from the store
                continue
            present.add(variant.variant_id)
        return frozenset(present)

    def catalog(self) -> Iterator[list[StoreVariant]]:
        for products in self._pages(f"{self._api}/products"):
            variants: list[StoreVariant] = []
            for product in products:
                if product.get("type") == "variable" or product.get("variations"):
                    for page in self._pages(f"{self._api}/products/{product['id']}/variations"):
                        variants.extend(
                            StoreVariant(
                                str(product["id"]),
                                str(v["id"]),
                                (v.get("sku") or "").strip() or None,
                                product["name"],
                                " / ".join(a.get("option", "") for a in v.get("attributes", [])),
                            )
                            for v in page
                        )
                else:
                    sku = (product.get("sku") or "").strip() or None
                    variants.append(StoreVariant(str(product["id"]), str(product["id"]), sku, product["name"], ""))
            yield variants

    def _pages(self, url: str) -> Iterator[list[dict[str, Any]]]:
        page = 1
        while True:
            response = call(self._http, "GET", url, params={"per_page": PAGE_SIZE, "page": page})
            yield list(json_body(response))
            if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                return
            page += 1

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> str:
        ship = order.shipping_address
        first, _, last = (ship.name or "").rpartition(" ") if ship else ("", "", "")
        body = {
            "status": "processing",
            "set_paid": False,
            "currency": order.currency,
            "customer_note": f"Dropship order {order.order_number} (synced by ordersync)",
            "shipping": {}
            if ship is None
            else {
                "first_name": first,
                "last_name": last,
                "company": ship.company or "",
                "address_1": ship.address1 or "",
                "address_2": ship.address2 or "",
                "city": ship.city or "",
                "state": ship.province_code or "",
                "postcode": ship.postal_code or "",
                "country": ship.country_code or "",
                "phone": ship.phone or "",
            },
            # Line sku and price are read-only in WooCommerce: lines name the product / variation.
            "line_items": [_line_item(m) for m in lines if m.variant],
            "meta_data": [{"key": SOURCE_META_KEY, "value": source_key}],
        }
        response = call(self._http, "POST", f"{self._api}/orders", json=body)
        return str(json_body(response)["id"])


def _line_item(match: LineMatch) -> dict[str, Any]:
    assert match.variant is not None
    item: dict[str, Any] = {"product_id": int(match.variant.product_id), "quantity": match.line.quantity}
    if match.variant.variant_id != match.variant.product_id:
        item["variation_id"] = int(match.variant.variant_id)
    return item
