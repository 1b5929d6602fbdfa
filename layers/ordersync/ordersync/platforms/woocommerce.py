"""WooCommerce REST API v3, as the plugin's source implements it (tests/contracts/woocommerce).

Orders created here carry the buyer order's key in meta_data `_ordersync_source`. The order search
can't find it (on HPOS stores it never looks at meta), so a retry lists the orders created since
the first attempt and compares that meta value exactly. Dates go out as naive UTC with
`dates_are_gmt=true`: a "Z" would be shifted by the store's UTC offset."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ordersync.domain.carriers import carrier_named
from ordersync.domain.catalog import CatalogVariant, StoreVariant
from ordersync.domain.decide import LineMatch
from ordersync.domain.onboarding import StoreAccess
from ordersync.domain.parcels import shown, usable_link
from ordersync.domain.shipments import BuyerShipment, BuyerShipments, parcel_ref
from ordersync.domain.webhooks import WebhookSubscription
from ordersync.errors import StoreCredentialsError, StoreDataInvalid, StoreRejected, StoreUnavailable
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
)
from ordersync.normalize import shipping_address_of
from ordersync.platforms.http import call, json_body, probe, session
from ordersync.platforms.values import lines_to_change, units_kept, whole_units

PAGE_SIZE = 100
SOURCE_META_KEY = "_ordersync_source"
TRACKING_NAMESPACE = "wc-shipment-tracking/v3"  # the Shipment Tracking extension's routes
PARCEL_META_KEY = "_ordersync_parcel"  # on a fulfilment we wrote: the parcel's key
REFUNDS_KEY = "ordersync_refunds"  # GET /orders/{id}/refunds, embedded in the payload by the pull
SELLABLE = "publish"  # drafts, pending, private and trashed products can't be bought
_CLOCK_SKEW = timedelta(minutes=5)
_LOOKBACK_PAGES = 50


def gmt(moment: datetime) -> str:
    """Naive UTC, as WooCommerce compares with its *_gmt columns when dates_are_gmt=true."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WooCommerceStore:
    search_lag_seconds = 2.0  # a database query, behind object caches on managed hosts

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
                "modified_after": gmt(since),
                "dates_are_gmt": "true",
                "orderby": "modified",
                "order": "asc",
                "per_page": PAGE_SIZE,
                "page": page,
            }
            response = call(self._http, "GET", f"{self._api}/orders", params=params)
            last = page >= _total_pages(response)
            yield [self._with_refunds(order) for order in json_body(response)], None if last else str(page + 1)
            if last:
                return
            page += 1

    def order(self, order_id: str) -> dict[str, Any]:
        return dict(self._with_refunds(json_body(call(self._http, "GET", f"{self._api}/orders/{int(order_id)}"))))

    # --- webhooks ---------------------------------------------------------------------------
    def webhooks(self) -> list[WebhookSubscription]:
        return [
            WebhookSubscription(
                str(hook["id"]),
                hook["topic"],
                hook["delivery_url"],
                active=hook.get("status") == "active",
                state=str(hook.get("status") or "unknown"),
            )
            for page in self._pages(f"{self._api}/webhooks", {})
            for hook in page
        ]

    def reactivate(self, subscription_id: str) -> None:
        """A webhook WooCommerce disabled (or someone paused) delivers again."""
        call(self._http, "PUT", f"{self._api}/webhooks/{int(subscription_id)}", json={"status": "active"})

    def subscribe(self, topic: str, url: str, secret: str) -> str:
        body = {"name": f"ordersync {topic}", "topic": topic, "delivery_url": url, "secret": secret, "status": "active"}
        return str(json_body(call(self._http, "POST", f"{self._api}/webhooks", json=body))["id"])

    def shop_domain(self) -> str | None:
        return None

    def unsubscribe(self, subscription_id: str) -> None:
        # force: WooCommerce webhooks can't be trashed (501 without it)
        call(self._http, "DELETE", f"{self._api}/webhooks/{int(subscription_id)}", params={"force": "true"})

    def _with_refunds(self, order: Any) -> Any:
        """Refunded units per line live only at GET /orders/{id}/refunds: read them when there are any."""
        if not isinstance(order, dict) or not order.get("refunds") or "id" not in order:
            return order
        refunds: list[Any] = []
        for page in self._pages(f"{self._api}/orders/{order['id']}/refunds"):
            refunds.extend(page)
        return {**order, REFUNDS_KEY: refunds}

    # --- seller side -------------------------------------------------------------------------
    def find_posted_order(self, source_key: str, since: datetime) -> str | None:
        """The order created since the first attempt whose `_ordersync_source` meta is exactly this key;
        in the bin too (lists leave it out unless asked): a copy the seller deleted is still ours."""
        params = {"after": gmt(since - _CLOCK_SKEW), "dates_are_gmt": "true", "orderby": "date", "order": "asc"}
        for status in ("any", "trash"):
            for number, orders in enumerate(self._pages(f"{self._api}/orders", {**params, "status": status})):
                found = next((o for o in orders if _carries_key(o, source_key)), None)
                if found is not None:
                    return str(found["id"])
                if number >= _LOOKBACK_PAGES:
                    raise StoreUnavailable(f"more than {_LOOKBACK_PAGES * PAGE_SIZE} orders since the first attempt")
        return None

    def order_state(self, order_id: str) -> SellerOrderState:
        """WooCommerce's order statuses: `cancelled`; `completed` is what a shipped order becomes.
        Its parcels: core fulfilments where the store has them on, else Shipment Tracking's items
        (no lines: the order), else `completed` (the order, untracked) — the fact sheet's order."""
        order = json_body(call(self._http, "GET", f"{self._api}/orders/{int(order_id)}"))
        status = str(order.get("status") or "")
        parcels = self._fulfilments(order) if self._fulfilments_on else ()
        if not parcels and self._tracking_on:
            parcels = _tracking_items(json_body(call(self._http, "GET", self._trackings(order_id))))
        if not parcels and status == "completed":
            parcels = (Parcel("completed", (), whole_order=True),)
        shipped = status == "completed" or bool(parcels)
        return SellerOrderState(status in ("cancelled", "refunded", "trash"), shipped, status, parcels)

    def _fulfilments(self, order: dict[str, Any]) -> tuple[Parcel, ...]:
        variant_of = {
            int(item["id"]): str(item.get("variation_id") or item.get("product_id"))
            for item in order.get("line_items") or []
        }
        parcels = []
        for fulfilment in json_body(call(self._http, "GET", f"{self._api}/orders/{int(order['id'])}/fulfillments")):
            if not fulfilment.get("is_fulfilled"):
                continue  # a draft: not shipped
            meta = _meta(fulfilment)
            try:
                lines = tuple(
                    ParcelLine(variant_of.get(item_id, f"item {item_id}"), units, str(item_id))
                    for item_id, units in _fulfilled_items(meta)
                )
            except StoreDataInvalid as unreadable:  # named on the order, the other parcels go on
                parcels.append(Parcel(f"fulfillment-{fulfilment['id']}", (), unreadable=str(unreadable)))
                continue
            parcels.append(
                Parcel(
                    f"fulfillment-{fulfilment['id']}",
                    lines,
                    carrier=_provider(meta),
                    tracking_number=meta.get("_tracking_number") or None,
                    tracking_url=meta.get("_tracking_url") or None,
                )
            )
        return tuple(parcels)

    @functools.cached_property
    def _index(self) -> dict[str, Any]:
        """WordPress's REST index (`/wp-json/`): every namespace and route the site serves — what the
        store has on, read once per client."""
        index = json_body(call(self._http, "GET", self._api.rsplit("/wc/v3", 1)[0] + "/"))
        return index if isinstance(index, dict) else {}

    @property
    def _fulfilments_on(self) -> bool:
        """Core Order Fulfillments is off by default; on, its routes are in the index."""
        return any(route.endswith("/fulfillments") for route in self._index.get("routes") or {})

    def reduce_lines(self, order_id: str, quantities: Sequence[tuple[CopyLine, int]]) -> None:
        """PUT the lines by their item ids with the new quantities (0: the item removed, as the
        orders controller's item_is_null_or_zero does)."""
        order = json_body(call(self._http, "GET", f"{self._api}/orders/{int(order_id)}"))
        items = {str(i["id"]): i for i in order.get("line_items") or []}
        changes = lines_to_change(order_id, quantities, [_copy_line(i) for i in items.values()])
        body = {"line_items": [_reduced_item(items[line_id], quantity) for line_id, quantity in changes]}
        answer = json_body(call(self._http, "PUT", f"{self._api}/orders/{int(order_id)}", json=body))
        # the PUT answers the order: what it holds now, checked (a plugin may veto a quantity)
        held = {str(i["id"]): int(i.get("quantity") or 0) for i in answer.get("line_items") or []}
        kept = units_kept(changes, held)
        if kept:
            raise StoreRejected(
                f"WooCommerce answered the change and kept order {order_id} as it was: {'; '.join(kept)}"
            )

    def copy_address(self, order_id: str) -> ShippingAddress | None:
        order = json_body(call(self._http, "GET", f"{self._api}/orders/{int(order_id)}"))
        return shipping_address_of(Platform.WOOCOMMERCE, order.get("shipping"))

    @property
    def _tracking_on(self) -> bool:
        """The Shipment Tracking extension, where installed, names its namespace in the index."""
        return TRACKING_NAMESPACE in (self._index.get("namespaces") or [])

    # --- buyer side: the seller's parcels ----------------------------------------------------
    def shipments(self, order_id: str) -> BuyerShipments:
        """Core fulfilments (our key in their meta) where the store has them; else our notes (our
        parcel's ref in their text) and Shipment Tracking's items (found by tracking number); what
        is left unfulfilled only where fulfilments say it; whether the order is cancelled there (a
        status that ends it unshipped: no parcel is written onto it)."""
        order = json_body(call(self._http, "GET", f"{self._api}/orders/{int(order_id)}"))
        cancelled = str(order.get("status") or "") in _ENDED_UNSHIPPED
        if not self._fulfilments_on:
            notes = json_body(call(self._http, "GET", f"{self._api}/orders/{int(order_id)}/notes"))
            found = _noted_parcels(notes if isinstance(notes, list) else [])
            if self._tracking_on:
                items = json_body(call(self._http, "GET", self._trackings(order_id)))
                found += [
                    BuyerShipment(
                        f"tracking-{item['tracking_id']}", str(item.get("tracking_number") or "") or None, None, ()
                    )
                    for item in items
                ]
            return BuyerShipments(tuple(found), None, cancelled=cancelled)
        left = {str(item["id"]): int(item.get("quantity") or 0) for item in order.get("line_items") or []}
        found = []
        for fulfilment in json_body(call(self._http, "GET", f"{self._api}/orders/{int(order_id)}/fulfillments")):
            meta = _meta(fulfilment)
            lines = tuple((str(item_id), units) for item_id, units in _fulfilled_items(meta))
            for line_id, units in lines:
                left[line_id] = left.get(line_id, 0) - units
            found.append(
                BuyerShipment(
                    str(fulfilment["id"]), meta.get("_tracking_number") or None, meta.get(PARCEL_META_KEY), lines
                )
            )
        return BuyerShipments(tuple(found), left, cancelled=cancelled)

    def write_shipment(self, order_id: str, parcel: BuyerParcel, there: BuyerShipments | None = None) -> str:
        """A core fulfilment (status fulfilled; meta entries need "id": 0 or WooCommerce drops them);
        else, for a parcel with a tracking number in a store with Shipment Tracking, its tracking
        item (no lines there: its number finds it again); else a note with the tracking. Without
        fulfilments, `completed` once every line has shipped (Shipment Tracking changes no status)."""
        if self._fulfilments_on:
            url = f"{self._api}/orders/{int(order_id)}/fulfillments"
            params = {"notify_customer": "true" if parcel.notify_customer else "false"}
            return str(json_body(call(self._http, "POST", url, params=params, json=_fulfilment(parcel)))["id"])
        if parcel.tracking_number and self._tracking_on:
            item = json_body(call(self._http, "POST", self._trackings(order_id), json=_tracking_item(parcel)))
            written = f"tracking-{item['tracking_id']}"
        else:
            text = f"Shipped: {_shipped_lines(parcel)}. Tracking: {_tracking_words(parcel)}."
            written = f"note-{self._note(order_id, text, parcel)}"
        if parcel.completes_order:
            call(self._http, "PUT", f"{self._api}/orders/{int(order_id)}", json={"status": "completed"})
        return written

    def _replace_tracking_item(self, order_id: str, tracking_id: str, parcel: BuyerParcel) -> str:
        """Read first: an attempt whose answer was lost may have replaced it already."""
        items = json_body(call(self._http, "GET", self._trackings(order_id)))
        done = next((i for i in items if i.get("tracking_number") == parcel.tracking_number), None)
        if done is not None:
            return f"tracking-{done['tracking_id']}"
        if any(item.get("tracking_id") == tracking_id for item in items):
            call(self._http, "DELETE", f"{self._trackings(order_id)}/{tracking_id}")
        item = json_body(call(self._http, "POST", self._trackings(order_id), json=_tracking_item(parcel)))
        return f"tracking-{item['tracking_id']}"

    def _trackings(self, order_id: str) -> str:
        return f"{self._api.rsplit('/wc/v3', 1)[0]}/{TRACKING_NAMESPACE}/orders/{int(order_id)}/shipment-trackings"

    def add_note(self, order_id: str, text: str) -> None:
        """A private order note (customer_note false: no email to the customer)."""
        body = {"note": text, "customer_note": False}
        call(self._http, "POST", f"{self._api}/orders/{int(order_id)}/notes", json=body)

    def update_tracking(self, order_id: str, shipment_id: str, parcel: BuyerParcel) -> str:
        """A fulfilment's meta entries are replaced whole on update (those left out are deleted): sent
        whole again. A tracking item can't be changed: it is deleted and the new one added (its id
        answered). A note can't be changed: a second note says the tracking was corrected."""
        if shipment_id.startswith("note-"):
            self._note(order_id, f"Tracking corrected: {_tracking_words(parcel)}.", parcel, announced=False)
            return shipment_id
        if shipment_id.startswith("tracking-"):
            return self._replace_tracking_item(order_id, shipment_id.removeprefix("tracking-"), parcel)
        url = f"{self._api}/orders/{int(order_id)}/fulfillments/{int(shipment_id)}"
        params = {"notify_customer": "true" if parcel.notify_customer else "false"}
        call(self._http, "PUT", url, params=params, json=_fulfilment(parcel))
        return shipment_id

    def _note(self, order_id: str, text: str, parcel: BuyerParcel, announced: bool = True) -> str:
        """A private note carries our reference in its text. A customer's can't (the customer reads
        it): a private note with the reference and the exact words goes first (`announced`: the
        parcel's own note, to be found again), then the customer note of those words — found as the
        first such note after it (_noted_parcels), so an answer lost after it was written never
        writes a second one to the customer."""
        url = f"{self._api}/orders/{int(order_id)}/notes"
        ref = parcel_ref(parcel.key)
        if not parcel.notify_customer:
            return str(json_body(call(self._http, "POST", url, json={"note": f"{text} [{ref}]"}))["id"])
        if announced:
            body = {"note": f"{_TOLD_AS.format(ref=ref)}{text}", "customer_note": False}
            call(self._http, "POST", url, json=body)
        return str(json_body(call(self._http, "POST", url, json={"note": text, "customer_note": True}))["id"])

    def update_shipping_address(self, order_id: str, address: ShippingAddress) -> None:
        call(self._http, "PUT", f"{self._api}/orders/{int(order_id)}", json={"shipping": _shipping(address)})

    def cancel_order(self, order_id: str) -> None:
        """Status `cancelled`: WooCommerce restores the lines' stock (wc_maybe_increase_stock_levels)."""
        call(self._http, "PUT", f"{self._api}/orders/{int(order_id)}", json={"status": "cancelled"})

    def variants_present(self, variants: Sequence[CatalogVariant]) -> frozenset[str]:
        """Still in the store and for sale: a trashed or draft product answers 200, with its status."""
        present = set()
        for variant in variants:
            try:
                product = json_body(call(self._http, "GET", f"{self._api}/products/{variant.product_id}"))
                if variant.variant_id != variant.product_id:
                    path = f"{self._api}/products/{variant.product_id}/variations/{variant.variant_id}"
                    found = json_body(call(self._http, "GET", path))
                    if found.get("status", SELLABLE) != SELLABLE:
                        continue
            except StoreRejected:  # 404: gone from the store
                continue
            if product.get("status") == SELLABLE:
                present.add(variant.variant_id)
        return frozenset(present)

    def catalog(self) -> Iterator[list[StoreVariant]]:
        for page, _ in self.catalog_pages():
            yield page

    def catalog_pages(
        self, changed_since: datetime | None = None, resume: str | None = None
    ) -> Iterator[tuple[list[StoreVariant], str | None]]:
        """Every variant of a published product (the list defaults to every status: drafts and
        trash too), or those of products modified since `changed_since` (a variation edited alone
        may not touch its product: the full reconcile catches it). By id, so a product added during
        the read lands on a later page; each page with the page number that resumes after it."""
        params = {"status": SELLABLE, "orderby": "id", "order": "asc", "per_page": str(PAGE_SIZE)}
        if changed_since:
            params |= {"modified_after": gmt(changed_since), "dates_are_gmt": "true"}
        page = int(resume or 1)
        while True:
            response = call(self._http, "GET", f"{self._api}/products", params={**params, "page": page})
            last = page >= _total_pages(response)
            yield (
                [v for product in json_body(response) for v in self._variants_of(product)],
                None if last else str(page + 1),
            )
            if last:
                return
            page += 1

    def _variants_of(self, product: dict[str, Any]) -> list[StoreVariant]:
        if product.get("status") != SELLABLE:
            return []
        vendor = _vendor(product)
        if product.get("type") != "variable":
            sku = (product.get("sku") or "").strip() or None
            return [StoreVariant(str(product["id"]), str(product["id"]), sku, product["name"], "", vendor)]
        return [  # only variations can be bought, never the parent
            StoreVariant(
                str(product["id"]),
                str(v["id"]),
                (v.get("sku") or "").strip() or None,
                product["name"],
                " / ".join(attribute["option"] for attribute in v["attributes"]),
                vendor,
            )
            for page in self._pages(f"{self._api}/products/{product['id']}/variations")
            for v in page
            if v.get("status") == SELLABLE  # drafts and private variations can't be bought
        ]

    def _pages(self, url: str, params: dict[str, str] | None = None) -> Iterator[list[dict[str, Any]]]:
        page = 1
        while True:
            response = call(self._http, "GET", url, params={**(params or {}), "per_page": PAGE_SIZE, "page": page})
            total = _total_pages(response)
            yield list(json_body(response))
            if page >= total:
                return
            page += 1

    # --- onboarding --------------------------------------------------------------------------
    def check_access(self) -> StoreAccess:
        """WooCommerce checks a key's permission for the request's method before it looks for the
        route: a read of one order shows the read permission, a POST to a route that doesn't exist
        the write permission (404 `rest_no_route` once allowed) without writing anything; a list of
        the webhooks, the shop-manager capability (manage_woocommerce) that registering them needs.
        Only an answer of WooCommerce's own counts (JSON with its code): a 403 (the key's user lacks
        the shop's capabilities) grants nothing, an HTML page means the URL is not the REST API, and
        no message is read (WooCommerce translates them)."""
        read = probe(self._http, "GET", f"{self._api}/orders", params={"per_page": 1})
        write = probe(self._http, "POST", f"{self._api}/ordersync-access-check")
        for response in (read, write):
            if _woo_code(response) is None:
                raise StoreRejected(
                    f"{urlsplit(self._api).path} answered {response.status_code} with no WooCommerce REST answer:"
                    " check the store's URL (the site's address, where /wp-json/wc/v3 is served)"
                )
        if read.status_code == 401 and write.status_code == 401:  # a valid key has one permission at least
            raise StoreCredentialsError(f"WooCommerce refused the key: {_woo_message(read)}")
        granted = set()
        if read.ok:
            granted.add("read")
        if write.status_code == 404 and _woo_code(write) == "rest_no_route":
            granted.add("write")
        if read.ok and probe(self._http, "GET", f"{self._api}/webhooks", params={"per_page": 1}).ok:
            granted.add("manage_woocommerce")
        return StoreAccess(self._site_name() or urlsplit(self._api).hostname or self._api, frozenset(granted))

    def _site_name(self) -> str | None:
        """The site's title, as the WordPress REST index (/wp-json/) gives it to anyone."""
        index = probe(self._http, "GET", self._api.removesuffix("/wc/v3") + "/")
        try:
            name = index.json().get("name") if index.ok else None
        except (ValueError, AttributeError):
            return None
        return str(name).strip() or None if isinstance(name, str) else None

    def create_order(self, order: CanonicalOrder, lines: Sequence[LineMatch], source_key: str) -> PostedCopy:
        ship = order.shipping_address
        body = {
            "status": "processing",
            "set_paid": False,
            # No currency: on create it only relabels the order, converting nothing; the store's own applies.
            "customer_note": f"Dropship order {order.order_number} (synced by ordersync)",
            "shipping": {} if ship is None else _shipping(ship),
            # Line sku and price are read-only in WooCommerce: lines name the product / variation.
            "line_items": [_line_item(m) for m in lines if m.variant],
            "meta_data": [{"key": SOURCE_META_KEY, "value": source_key}],
        }
        created = json_body(call(self._http, "POST", f"{self._api}/orders", json=body))
        # WooCommerce accepts a product id it doesn't have as a line with no product: say so, loudly.
        missing = [
            str(item.get("name") or item.get("id"))
            for item in created.get("line_items") or []
            if not item.get("product_id")
        ]
        if missing:
            raise StoreRejected(
                f"WooCommerce created order {created['id']} but {len(missing)} line(s) have no product "
                "(the catalog names a product the store no longer has); fix the order in the store"
            )
        posted = [m.line.line_id for m in lines if m.variant]
        items = [str(item["id"]) for item in created.get("line_items") or []]
        # WooCommerce answers the items in the order they were sent
        return PostedCopy(
            str(created["id"]), tuple(zip(posted, items, strict=True)) if len(items) == len(posted) else ()
        )


def _total_pages(response: Any) -> int:
    """WooCommerce's page count (0 for no items). Missing, the list can't be known whole: a store
    (or a proxy) that drops it fails the read rather than silently cutting it to one page."""
    total = response.headers.get("X-WP-TotalPages")
    if total is None or not total.isdigit():
        raise StoreUnavailable(f"{urlsplit(response.url).path} answered without X-WP-TotalPages")
    return int(total)


def _woo_code(response: Any) -> str | None:
    """WooCommerce's error code (`code` in its JSON), "" for a JSON answer without one, None for no JSON."""
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("code") or "") if isinstance(body, dict) else ""


def _woo_message(response: Any) -> str:
    try:
        return str(response.json().get("message") or response.status_code)
    except ValueError:
        return str(response.status_code)


def _line_item(match: LineMatch) -> dict[str, Any]:
    assert match.variant is not None
    item: dict[str, Any] = {"product_id": int(match.variant.product_id), "quantity": match.line.quantity}
    if match.variant.variant_id != match.variant.product_id:
        item["variation_id"] = int(match.variant.variant_id)
    return item


_REF = re.compile(r"ordersync-[0-9a-f]{12}")
_TOLD_AS = "[{ref}] told to the customer in the next note, as: "  # a private note, before the customer's
_TOLD = re.compile(r"^\[(ordersync-[0-9a-f]{12})\] told to the customer in the next note, as: (.*)$", re.S)


def _noted_parcels(notes: list[Any]) -> list[BuyerShipment]:
    """Our parcels among an order's notes, oldest first: a private note with our reference in its
    text; a customer note of the words a private note of ours announced just before it."""
    found, announced = [], {}
    for note in sorted((n for n in notes if isinstance(n, dict)), key=lambda n: int(n.get("id") or 0)):
        text, ref = str(note.get("note") or ""), None
        if told := _TOLD.match(text):
            announced[told.group(2)] = told.group(1)
            continue
        if note.get("customer_note") and text in announced:
            ref = announced.pop(text)
        elif found_ref := _REF.search(text):  # private (or written before customer notes carried none)
            ref = found_ref.group(0)
        if ref is not None:
            found.append(BuyerShipment(f"note-{note['id']}", None, ref, ()))  # as write_shipment names it
    return found


def _meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {str(m.get("key")): m.get("value") for m in resource.get("meta_data") or [] if isinstance(m, dict)}


def _tracking_items(items: Any) -> tuple[Parcel, ...]:
    """Shipment Tracking's items as its own route answers them: the provider by its formatted name
    (a listed one's display name, or the custom one's), the link built from the provider's template
    (dropped where it isn't a usable web address: the number is kept), the day shipped; no lines."""
    return tuple(
        Parcel(
            f"tracking-{item.get('tracking_id')}",
            (),
            carrier=_provider_name(item.get("tracking_provider")),
            tracking_number=str(item["tracking_number"]).strip(),
            tracking_url=usable_link(item.get("tracking_link") or None),
            shipped_at=_day(item.get("date_shipped")),
            whole_order=True,
        )
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and str(item.get("tracking_number") or "").strip()
    )


def _provider_name(name: Any) -> str | None:
    """The provider as the shop names it (the carrier vocabulary reads listed names and slugs alike)."""
    return name.strip() or None if isinstance(name, str) else None


def _day(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


# A buyer order in one of these can't take a parcel (the trash included: GET still answers it)
_ENDED_UNSHIPPED = frozenset({"cancelled", "refunded", "failed", "trash"})


def _copy_line(item: dict[str, Any]) -> tuple[str, str, int]:
    """(item id, the variation or product it is of, units) of a line of the copy."""
    return str(item["id"]), str(item.get("variation_id") or item.get("product_id")), int(item.get("quantity") or 0)


def _reduced_item(item: dict[str, Any], quantity: int) -> dict[str, Any]:
    """An existing line at its new quantity, with its totals from its own unit values: WooCommerce
    sets only what it is sent on an existing item (a quantity alone keeps billing the old total), as
    its own mobile apps send subtotal and total with every quantity change. 0 removes the line."""
    if quantity == 0:
        return {"id": item["id"], "quantity": 0}
    units = int(item["quantity"])
    subtotal = Decimal(str(item.get("subtotal") or "0")) / units * quantity
    total = Decimal(str(item.get("total") or "0")) / units * quantity
    cents = Decimal("0.01")
    return {
        "id": item["id"],
        "quantity": quantity,
        "subtotal": f"{subtotal.quantize(cents)}",
        "total": f"{total.quantize(cents)}",
    }


def _provider(meta: dict[str, Any]) -> str | None:
    """A fulfilment's carrier as the shop sees it: a listed provider by its name (stored as its slug),
    or "other" and the name the shop typed."""
    provider = meta.get("_shipment_provider") or meta.get("_shipping_provider") or None
    if provider == "other":
        return meta.get("_provider_name") or None
    known = carrier_named(provider)
    return known.woocommerce if known else provider


def _fulfilled_items(meta: dict[str, Any]) -> list[tuple[int, int]]:
    """A fulfilment's `_items` meta as (line item id, units): loosely typed, so checked here."""
    items = meta.get("_items") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise StoreDataInvalid(f"its _items {shown(repr(items))}, not a list of lines")
    return [
        (
            whole_units(item.get("item_id"), "an item_id"),
            whole_units(item.get("qty"), f"item {item.get('item_id')}'s qty"),
        )
        for item in items
    ]


def _fulfilment(parcel: BuyerParcel) -> dict[str, Any]:
    """A core fulfilment's body: status fulfilled, every meta entry with "id": 0 (or it is dropped)."""
    carrier = carrier_named(parcel.carrier)
    meta = {
        "_items": [{"item_id": int(line_id), "qty": units} for line_id, units in parcel.lines],
        "_tracking_number": parcel.tracking_number or "",
        # a provider it knows by its slug; any other as "other" with its name (what the admin stores)
        "_shipment_provider": carrier.woocommerce_slug if carrier else ("other" if parcel.carrier else ""),
        "_provider_name": "" if carrier else (parcel.carrier or ""),
        "_tracking_url": parcel.tracking_url or "",
        PARCEL_META_KEY: parcel.key,
    }
    return {"status": "fulfilled", "meta_data": [{"id": 0, "key": k, "value": v} for k, v in meta.items() if v]}


def _tracking_item(parcel: BuyerParcel) -> dict[str, str]:
    """Shipment Tracking's create body: a provider it knows by name, else the seller's carrier as a
    custom provider with its tracking link."""
    carrier = carrier_named(parcel.carrier)
    shipped = parcel.shipped_at or datetime.now(UTC)  # the day it left the seller, not the day of the sync
    body = {"tracking_number": parcel.tracking_number or "", "date_shipped": f"{shipped.astimezone(UTC):%Y-%m-%d}"}
    if carrier is not None:
        return body | {"tracking_provider": carrier.woocommerce}
    return body | {
        "custom_tracking_provider": parcel.carrier or "Other",
        "custom_tracking_link": parcel.tracking_url or "",
    }


def _tracking_words(parcel: BuyerParcel) -> str:
    carrier = carrier_named(parcel.carrier)
    provider = carrier.woocommerce if carrier else (parcel.carrier or "")
    return " ".join(p for p in (provider, parcel.tracking_number, parcel.tracking_url) if p) or "none given"


def _shipping(ship: ShippingAddress) -> dict[str, str]:
    first, _, last = (ship.name or "").rpartition(" ")
    return {
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
    }


def _carries_key(order: dict[str, Any], source_key: str) -> bool:
    return any(m.get("key") == SOURCE_META_KEY and m.get("value") == source_key for m in order.get("meta_data") or [])


VENDOR_ATTRIBUTES = ("vendor", "brand")  # a product attribute by either name carries the vendor


def _vendor(product: dict[str, Any]) -> str | None:
    """The first option of the product's "Vendor" (or "Brand") attribute, if it keeps one."""
    for attribute in product.get("attributes") or []:
        if not isinstance(attribute, dict):
            continue
        options = attribute.get("options") or []
        if str(attribute.get("name", "")).strip().casefold() in VENDOR_ATTRIBUTES and options:
            return str(options[0]).strip() or None
    return None


def _shipped_lines(parcel: BuyerParcel) -> str:
    """ "2 x Camp Stove, 1 x Tent pegs": the buyer's own titles of the parcel's lines (a line with
    none kept: by its item number)."""
    titles = dict(parcel.titles)
    return ", ".join(f"{units} x {titles.get(line_id) or f'item {line_id}'}" for line_id, units in parcel.lines)
