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
from urllib3.util.retry import Retry

from ordersync.errors import StoreCredentialsError, StoreRejected, StoreThrottled, StoreUnavailable
from ordersync.invocation import can_wait

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 20.0
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def session(auth: Any = None, headers: dict[str, str] | None = None, retry_reads: bool = True) -> requests.Session:
    """Reads are retried in place (honouring Retry-After); writes are not: a retried create could
    post twice, so a failed write surfaces and the caller looks before it creates again."""
    backoff = float(os.environ.get("ORDERSYNC_HTTP_BACKOFF", "0.5"))
    retry = Retry(
        total=3 if retry_reads else 0,
        backoff_factor=backoff,
        status_forcelist=sorted(TRANSIENT_STATUSES),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    http = requests.Session()
    http.mount("http://", HTTPAdapter(max_retries=retry))
    http.mount("https://", HTTPAdapter(max_retries=retry))
    http.auth = auth
    http.headers.update({"Accept": "application/json", "User-Agent": "ordersync/0.1"})
    http.headers.update(headers or {})
    return http


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
    timeout = (CONNECT_TIMEOUT, float(os.environ.get("ORDERSYNC_HTTP_READ_TIMEOUT", READ_TIMEOUT)))
    for _ in range(3):
        _pace(http)
        try:
            response = http.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as error:
            raise StoreUnavailable(f"{method} {_path(url)} timed out") from error
        except requests.ConnectionError as error:
            raise StoreUnavailable(f"{method} {_path(url)} could not connect") from error
        _remember_quota(http, response)
        wait = quota_wait(response)
        if wait is None or not can_wait(wait):  # past the invocation's time: the 429 is the answer
            break
        time.sleep(wait)  # BigCommerce: the store's 30 s quota window resets in this long
    return response


def quota_wait(response: requests.Response) -> float | None:
    """A 429 that says when to come back: how long to wait, when that is short enough to wait here."""
    if response.status_code != 429:
        return None
    seconds = retry_after(response)
    return seconds if seconds is not None and seconds <= MAX_QUOTA_WAIT else None


def retry_after(response: requests.Response) -> float | None:
    """When a 429 says to come back (BigCommerce's X-Rate-Limit-Time-Reset-Ms or X-Retry-After, or
    Retry-After in seconds), or None."""
    reset_ms = response.headers.get("X-Rate-Limit-Time-Reset-Ms", "")
    after = response.headers.get("X-Retry-After") or response.headers.get("Retry-After") or ""
    if reset_ms.isdigit():
        return int(reset_ms) / 1000
    if after.isdigit():
        return float(after)
    return None


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
    if status == 429:
        raise StoreThrottled(f"{where} answered 429", retry_after(response))
    if status in TRANSIENT_STATUSES:
        raise StoreUnavailable(f"{where} answered {status}")
    if status in (401, 403):
        raise StoreCredentialsError(f"{where} answered {status}: the store refused the credentials")
    raise StoreRejected(f"{where} answered {status}: {response.text[:300]}")


def json_body(response: requests.Response) -> Any:
    """Money never goes through float: JSON numbers with a fraction become Decimal."""
    try:
        return response.json(parse_float=Decimal)
    except ValueError as error:
        raise StoreUnavailable(f"{_path(response.url)} answered with something that is not JSON") from error


def _path(url: str) -> str:
    return urlsplit(url).path  # no query string: it may carry credentials
