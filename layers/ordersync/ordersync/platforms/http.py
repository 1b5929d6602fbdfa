"""One requests session per store client: timeouts, retries with backoff for reads, and the
translation of HTTP failures into StoreUnavailable / StoreRejected / StoreCredentialsError."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ordersync.errors import StoreCredentialsError, StoreNotFound, StoreRejected, StoreThrottled, StoreUnavailable
from ordersync.invocation import can_wait, request_timeout

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 20.0
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


READ_RETRIES = 4  # a read answered 5xx, or timed out, is asked again this many times in place
# When each store (by host) last answered well, as this container saw it: a store that failed just
# now but answered a moment ago has a bad moment, not an outage (StoreUnavailable.delay_seconds).
_ANSWERED: dict[str, float] = {}


def session(auth: Any = None, headers: dict[str, str] | None = None) -> requests.Session:
    """Retries are ours (`_send`), not urllib3's: urllib3 sleeps a whole Retry-After (minutes, hours)
    before anything sees it, past the invocation's deadline."""
    http = requests.Session()
    http.mount("http://", HTTPAdapter(max_retries=0))
    http.mount("https://", HTTPAdapter(max_retries=0))
    http.auth = auth
    http.headers.update({"Accept": "application/json", "User-Agent": "ordersync/0.1"})
    http.headers.update(headers or {})
    return http


def read_timeout() -> float:
    return float(os.environ.get("ORDERSYNC_HTTP_READ_TIMEOUT", READ_TIMEOUT))


MAX_QUOTA_WAIT = 10.0  # seconds; a longer wait is left to SQS's retry


def call(http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    response = _send(http, method, url, **kwargs)
    raise_for_store_status(response)
    return response


def probe(http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """A request whose refusal is the answer (an access check): a 4xx comes back to the caller;
    only trouble that says nothing about the credentials (timeouts, 429, 5xx) raises."""
    response = _send(http, method, url, **kwargs)
    if response.status_code in TRANSIENT_STATUSES:
        raise_for_store_status(response)
    return response


def _send(http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request, asked again in place while that is safe and the invocation has the time: a 429
    (the store did nothing) whatever the method; a read also after a 5xx, a time-out or a dropped
    connection. Never a write after those: a retried create could post twice, so a failed write
    surfaces and the caller looks before it creates again. A wait the invocation can't afford is
    not made: the answer goes up as it is (a 429 or a 503 with Retry-After is our throttle)."""
    read_for = read_timeout()
    backoff = float(os.environ.get("ORDERSYNC_HTTP_BACKOFF", "0.5"))
    read = method.upper() in ("GET", "HEAD")
    for attempt in range(READ_RETRIES + 1):
        _pace(http)
        last = attempt == READ_RETRIES
        try:
            response = http.request(method, url, timeout=request_timeout(CONNECT_TIMEOUT, read_for), **kwargs)
        except (requests.Timeout, requests.ConnectionError) as error:
            what = "timed out" if isinstance(error, requests.Timeout) else "could not connect"
            wait = backoff * 2**attempt
            if not read or last or not can_wait(wait):
                raise StoreUnavailable(f"{method} {_path(url)} {what}", _answered_ago(url)) from error
            time.sleep(wait)
            continue
        _remember_quota(http, response)
        if response.status_code < 500 and response.status_code != 429:
            _ANSWERED[_host(url)] = time.monotonic()
        wait = _retry_wait(response, read, backoff * 2**attempt)
        if wait is None or last or not can_wait(wait):
            return response
        time.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _retry_wait(response: requests.Response, read: bool, backoff: float) -> float | None:
    """How long before asking again, or None when this answer is the answer."""
    if response.status_code == 429:
        return quota_wait(response)
    if not read or response.status_code not in TRANSIENT_STATUSES:
        return None
    after = retry_after(response)
    if after is not None and after > MAX_QUOTA_WAIT:  # "come back later" than we wait here: our throttle
        return None
    return max(backoff, after or 0.0)


def quota_wait(response: requests.Response) -> float | None:
    """A 429 that says when to come back: how long to wait, when that is short enough to wait here."""
    if response.status_code != 429:
        return None
    seconds = retry_after(response)
    return seconds if seconds is not None and seconds <= MAX_QUOTA_WAIT else None


def retry_after(response: requests.Response) -> float | None:
    """When the store says to come back, in seconds (BigCommerce's X-Rate-Limit-Time-Reset-Ms and
    X-Retry-After, or Retry-After), or None."""
    said = []
    reset_ms = response.headers.get("X-Rate-Limit-Time-Reset-Ms", "").strip()
    if reset_ms.isdigit():
        said.append(int(reset_ms) / 1000)
    for header in ("X-Retry-After", "Retry-After"):
        value = response.headers.get(header, "").strip()
        if value.isdigit():
            said.append(float(value))
    return max(said) if said else None  # BigCommerce: the longer of its two words


def _remember_quota(http: requests.Session, response: requests.Response) -> None:
    """BigCommerce says how many requests are left in its window: at 0, the next waits for the reset
    instead of spending a request on a 429."""
    left = response.headers.get("X-Rate-Limit-Requests-Left", "")
    reset_ms = response.headers.get("X-Rate-Limit-Time-Reset-Ms", "")
    if left == "0" and reset_ms.isdigit():
        http.ordersync_paced_until = time.monotonic() + min(int(reset_ms) / 1000, MAX_QUOTA_WAIT)  # type: ignore[attr-defined]


def _pace(http: requests.Session) -> None:
    wait_in_place(getattr(http, "ordersync_paced_until", 0.0) - time.monotonic(), "the store's quota window")


def wait_in_place(seconds: float, what: str) -> None:
    """Waits for the store's pace, unless that would outlast the invocation: then it is a throttle."""
    if seconds <= 0:
        return
    if not can_wait(seconds):
        raise StoreThrottled(f"{what} reopens in {seconds:.1f} s, past this invocation's time", seconds)
    time.sleep(seconds)


def raise_for_store_status(response: requests.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    where = f"{response.request.method} {_path(response.url)}"
    after = retry_after(response)
    if status == 429 or (status in TRANSIENT_STATUSES and after is not None):  # "come back then": a throttle
        raise StoreThrottled(f"{where} answered {status}", after)
    if status in TRANSIENT_STATUSES:
        raise StoreUnavailable(f"{where} answered {status}", _answered_ago(response.url))
    if status in (401, 403):
        raise StoreCredentialsError(f"{where} answered {status}: the store refused the credentials")
    if status == 404:
        raise StoreNotFound(f"{where} answered 404: {response.text[:300]}")
    raise StoreRejected(f"{where} answered {status}: {response.text[:300]}")


def json_body(response: requests.Response) -> Any:
    """Money never goes through float: JSON numbers with a fraction become Decimal."""
    try:
        return response.json(parse_float=Decimal)
    except ValueError as error:
        raise StoreUnavailable(f"{_path(response.url)} answered with something that is not JSON") from error


def _host(url: str) -> str:
    """The store a URL is of: its host, and for BigCommerce (every store on api.bigcommerce.com) its
    /stores/<hash>."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    store = "/".join(segments[:3]) if len(segments) > 2 and segments[1] == "stores" else ""
    return parts.netloc + store


def _answered_ago(url: str) -> float | None:
    answered = _ANSWERED.get(_host(url))
    return None if answered is None else time.monotonic() - answered


def _path(url: str) -> str:
    return urlsplit(url).path  # no query string: it may carry credentials
