"""A store's catalog read as one run across invocations, page by page: what the seller's catalog
sync (services/catalog_sync.py) and the buyer's listings read (services/listings_read.py) share.
Short of time — or of pages, where a test sets a limit — with more to read, the rest is handed to
a continuation on CatalogSyncQueue that resumes at the store's next page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from ordersync.domain.catalog import StoreVariant
from ordersync.models import CatalogSyncRequest
from ordersync.ports import CatalogSyncQueue

# Stop taking pages when less than this is left of the invocation, and continue in a new one.
TIME_RESERVE_MS = 60_000
# Or after this many pages (None: only the time left decides). Tests set it.
MAX_PAGES_PER_INVOCATION: int | None = None


def read_pages(
    request: CatalogSyncRequest,
    started: datetime,
    pages: Iterable[tuple[list[StoreVariant], str | None]],
    take: Callable[[list[StoreVariant]], None],
    sync_queue: CatalogSyncQueue | None,
    time_left_ms: Callable[[], int],
) -> tuple[bool, int]:
    """Each page to `take`; answers whether the read got to its end (False: continued) and how many
    variants this invocation read. Without a queue (ops' commands) the read goes to its end."""
    variants = 0
    for count, (page, next_page) in enumerate(pages, start=1):
        take(page)
        variants += len(page)
        out_of_pages = MAX_PAGES_PER_INVOCATION is not None and count >= MAX_PAGES_PER_INVOCATION
        if next_page and sync_queue and (out_of_pages or time_left_ms() < TIME_RESERVE_MS):
            update = {"started": started, "resume": next_page, "variants": request.variants + variants}
            sync_queue.request_syncs([request.model_copy(update=update)])
            return False, variants
    return True, variants
