"""A WSGI app served on 127.0.0.1 in a thread, plus the fault switches every fake store shares."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ordersync.local.keep_alive import KeepAliveRequestHandler

POLL_SECONDS = 0.05  # how often a server's loop looks for a stop: a stop waits up to this long


@dataclass
class Fault:
    """One injected failure: an HTTP status, or a stall longer than the client's read timeout;
    `after_write` lets the request succeed inside the store first (the order is created) and then
    stalls, the case that makes naive clients post twice."""

    status: int | None = None
    stall_seconds: float = 0.0
    after_write: bool = False
    retry_after: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # the fault waits for the first request whose method, path and body hold this (a mutation's name)
    matching: str | None = None

    def matches(self, request: Request) -> bool:
        if self.matching is None:
            return True
        return self.matching in f"{request.method} {request.path} {request.get_data(as_text=True)}"


@dataclass
class Faults:
    pending: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *faults: Fault) -> None:
        with self.lock:
            self.pending.extend(faults)

    def take(self, request: Request) -> Fault | None:
        with self.lock:
            found = next((fault for fault in self.pending if fault.matches(request)), None)
            if found is not None:
                self.pending.remove(found)
            return found


@dataclass
class RandomFaults:
    """Faults at random: 500s, 429s, stalls past the client's read timeout, and (on writes) a stall
    after the order was created. Each is decided by the seed, the request (method, path, query and
    body: for a create, the order) and how many times that same request came before, never by
    timing or by which thread got there first, so a seed replays the same campaign."""

    seed: int
    rate: float
    stall_seconds: float
    # on top of `rate`: a write's answer lost at this rate, so that a campaign with few writes (one
    # per parcel) still loses some answers for sure — at `rate`/4 alone, 30 writes lost none 1 time in 7
    write_loss_rate: float = 0.0
    injected: int = 0
    writes_lost: int = 0  # the answer lost after a write the store made (a create, a shipment)
    by_kind: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def draw(self, request: Request) -> Fault | None:
        signature = f"{request.method} {request.full_path} {hashlib.sha256(request.get_data()).hexdigest()}"
        with self.lock:
            self.seen[signature] += 1
            rng = random.Random(f"{self.seed}|{signature}|{self.seen[signature]}")
            graphql_read = request.path.endswith("graphql.json") and b"mutation" not in request.get_data()
            write = request.method == "POST" and not graphql_read
            if write and self.write_loss_rate and rng.random() < self.write_loss_rate:
                kind = "after_write"
            elif rng.random() >= self.rate:
                return None
            else:
                kind = rng.choice(
                    ["500", "429", "stall", "after_write"] if request.method == "POST" else ["500", "429", "stall"]
                )
            self.injected += 1
            self.by_kind[kind] += 1
            if kind == "after_write" and write:
                self.writes_lost += 1
        if kind == "500":
            return Fault(status=500)
        if kind == "429":
            return Fault(status=429, retry_after="0")
        return Fault(
            stall_seconds=self.stall_seconds,
            after_write=kind == "after_write",
            status=None if kind == "after_write" else 503,
        )


@dataclass
class ListingLag:
    """A seller store's order look-ups lag its creates (a search index, read replicas): each order
    created through the API stays out of order lists for up to `max_seconds`, how long decided by
    the seed and the order. `hidden` counts the times a list left out an order for that reason."""

    seed: int
    max_seconds: float
    lagged: int = 0
    hidden: int = 0
    _visible_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def created(self, order_id: str) -> None:
        lag = random.Random(f"{self.seed}|{order_id}").uniform(0, self.max_seconds)
        with self.lock:
            self.lagged += 1
            self._visible_at[order_id] = time.monotonic() + lag

    def listed(self, order_id: str) -> bool:
        with self.lock:
            if self._visible_at.get(order_id, 0.0) <= time.monotonic():
                return True
            self.hidden += 1
            return False


class FakeServer:
    """Serves `app` (a callable Request -> Response) until stopped."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.faults = Faults()
        self.random_faults: RandomFaults | None = None
        self.listing_lag: ListingLag | None = None
        self.on_create: Callable[[str], None] | None = None  # told of each create as it happens (a chaos hook)
        self.requests = 0
        self.latency_seconds = 0.0  # how long each answer takes (a real store's round trip; the bench's)
        # What the store was sent, as it was sent (method, path, body): the tests compare whole bodies
        self.received: deque[tuple[str, str, bytes]] = deque(maxlen=500)
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=KeepAliveRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_SECONDS,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def created(self, order_id: Any) -> None:
        """A fake tells its server of each order created through the API (for the listing lag)."""
        if self.listing_lag is not None:
            self.listing_lag.created(str(order_id))
        if self.on_create is not None:
            self.on_create(str(order_id))

    def listed(self, order_id: Any) -> bool:
        return self.listing_lag is None or self.listing_lag.listed(str(order_id))

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests += 1
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        request = Request(environ)
        self.received.append((request.method, request.path, request.get_data()))
        fault = self.faults.take(request) or (self.random_faults.draw(request) if self.random_faults else None)
        if fault and not fault.after_write:
            time.sleep(fault.stall_seconds)
            if fault.status:
                headers = {**fault.headers, **({"Retry-After": fault.retry_after} if fault.retry_after else {})}
                return Response(f'{{"errors": "injected {fault.status}"}}', fault.status, headers)(
                    environ, start_response
                )
        response = self._app(request)
        if fault and fault.after_write:
            time.sleep(fault.stall_seconds)
        return response(environ, start_response)
