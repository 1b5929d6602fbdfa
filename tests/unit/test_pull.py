"""The pull, with in-memory ports: what gets enqueued, in what batches, where the cursor moves,
and how an invocation short of time hands over to the next. No AWS, no HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from ordersync.domain.onboarding import connection_state
from ordersync.errors import StoreThrottled, StoreUnavailable
from ordersync.local.fakes.shopify import order_node
from ordersync.models import READ_FROM_STORE_KEY, Cause, Connection, OrderEnvelope, Platform, StoreRef, iso
from ordersync.normalize import OVERSIZED_KEY
from ordersync.observability import metrics
from ordersync.services import pull
from ordersync.services.pull import (
    DEFAULT_FAILURE_BUDGET,
    FIRST_PULL_LOOKBACK,
    OVERLAP,
    TIME_RESERVE_MS,
    FanOutDependencies,
    PullDependencies,
    envelope_for,
    fan_out,
    pull_connection,
)
from ordersync.services.pulls import pull_connection_batch

from .catalog_builders import LambdaContext, counted_metrics, sqs_record, store_ref
from .in_memory import InMemoryConnections

NOW = datetime(2026, 11, 27, 12, 20, tzinfo=UTC)
PLENTY_OF_TIME = 600_000


def connection(cursor: datetime | None = None) -> Connection:
    return Connection(
        connection_id="acme--northwind",
        buyer=store_ref("acme", Platform.SHOPIFY),
        seller=store_ref("northwind", Platform.WOOCOMMERCE),
        cursor=cursor,
    )


def shopify_order(number: int, updated: datetime) -> dict[str, Any]:
    node = order_node(number, f"#{number}", [("A", "Thing", 1, "10.00")], {"name": "D", "countryCodeV2": "US"})
    return node | {"updatedAt": iso(updated)}


@dataclass
class PagedBuyer:
    """A buyer store answering `orders_updated_since` from fixed pages; it records what was asked."""

    pages: list[list[dict[str, Any]]]
    asked: list[tuple[datetime, str | None]] = field(default_factory=list)
    throttle_at: int | None = None  # the page the store answers 429 for (past the client's waits)
    retry_after: float | None = None
    fail_at: set[int] = field(default_factory=set)  # pages answered 5xx (past the client's retries), once each

    def orders_updated_since(
        self, since: datetime, resume: str | None = None
    ) -> Iterator[tuple[list[Any], str | None]]:
        self.asked.append((since, resume))
        start = int(resume) if resume else 0
        for index in range(start, len(self.pages)):
            if index == self.throttle_at:
                raise StoreThrottled("GET /orders answered 429", self.retry_after)
            if index in self.fail_at:
                self.fail_at.discard(index)
                raise StoreUnavailable(f"GET /orders page {index + 1} answered 503")
            yield self.pages[index], str(index + 1) if index + 1 < len(self.pages) else None


@dataclass
class Stores:
    buyer_store: PagedBuyer

    def buyer(self, store: StoreRef) -> PagedBuyer:
        assert store.store_id == "acme", f"asked for buyer store {store.store_id!r}"
        return self.buyer_store

    def seller(self, store: StoreRef) -> Any:
        raise AssertionError("the pull never posts")


@dataclass
class Queue:
    batches: list[list[OrderEnvelope]] = field(default_factory=list)

    def enqueue(self, envelopes: Sequence[OrderEnvelope]) -> None:
        self.batches.append(list(envelopes))

    @property
    def order_ids(self) -> list[str]:
        return [envelope.order_id for batch in self.batches for envelope in batch]


@dataclass
class PullRequests:
    requests: list[tuple[list[str], dict[str, str] | None]] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)

    def request_pulls(
        self, connection_ids: Sequence[str], resume: dict[str, str] | None = None, delay_seconds: int = 0
    ) -> None:
        self.requests.append((list(connection_ids), resume))
        self.delays.append(delay_seconds)


def deps_for(buyer: PagedBuyer, link: Connection) -> PullDependencies:
    return PullDependencies(
        connections=InMemoryConnections({link.connection_id: link}),
        stores=Stores(buyer),
        queue=Queue(),
        pull_queue=PullRequests(),
        clock=lambda: NOW,
    )


def pages_of(*sizes: int) -> list[list[dict[str, Any]]]:
    """Orders #1000, #1001, ... one minute apart (oldest first, as the stores list them), in pages of `sizes`."""
    numbers = iter(range(1000, 1000 + sum(sizes)))
    start = NOW - timedelta(hours=1)
    return [
        [shopify_order(n, start + timedelta(minutes=n - 1000)) for n in (next(numbers) for _ in range(size))]
        for size in sizes
    ]


def test_every_order_is_enqueued_in_full_batches_and_the_cursor_moves_to_the_newest_update() -> None:
    buyer = PagedBuyer(pages_of(7, 7, 3))
    link = connection(cursor=NOW - timedelta(hours=1))
    deps = deps_for(buyer, link)
    result = pull_connection(link, deps, lambda: PLENTY_OF_TIME)
    assert (result.connection_id, result.orders, result.pages, result.continued) == ("acme--northwind", 17, 3, False)
    queue = deps.queue
    assert isinstance(queue, Queue)
    assert [len(batch) for batch in queue.batches if batch] == [10, 7]  # full batches of ten, the rest at the end
    assert queue.order_ids == [str(n) for n in range(1000, 1017)]
    assert buyer.asked == [(NOW - timedelta(hours=1) - OVERLAP, None)]  # the overlap catches late updates
    newest = max(datetime.fromisoformat(o["updatedAt"]) for page in buyer.pages for o in page)
    assert deps.connections.cursors == {"acme--northwind": newest}  # type: ignore[attr-defined]


def test_a_first_pull_looks_back_a_day_and_an_empty_store_leaves_the_cursor_alone() -> None:
    buyer = PagedBuyer([[]])
    deps = deps_for(buyer, connection())
    result = pull_connection(connection(), deps, lambda: PLENTY_OF_TIME)
    assert (result.orders, result.pages) == (0, 1)
    assert buyer.asked == [(NOW - FIRST_PULL_LOOKBACK - OVERLAP, None)]
    assert deps.connections.cursors == {}  # type: ignore[attr-defined]


def test_the_cursor_never_moves_past_now_even_when_a_store_dates_an_order_ahead() -> None:
    buyer = PagedBuyer([[shopify_order(1, NOW + timedelta(hours=2))]])
    deps = deps_for(buyer, connection(cursor=NOW - timedelta(hours=1)))
    pull_connection(connection(cursor=NOW - timedelta(hours=1)), deps, lambda: PLENTY_OF_TIME)
    assert deps.connections.cursors == {"acme--northwind": NOW}  # type: ignore[attr-defined]


def test_short_of_time_the_pull_enqueues_what_it_read_checkpoints_and_hands_over_the_next_page() -> None:
    buyer = PagedBuyer(pages_of(4, 4, 4))
    link = connection(cursor=NOW - timedelta(hours=1))
    deps = deps_for(buyer, link)
    result = pull_connection(link, deps, lambda: TIME_RESERVE_MS - 1)
    assert (result.orders, result.pages, result.continued) == (4, 1, True)
    assert deps.queue.order_ids == ["1000", "1001", "1002", "1003"]  # type: ignore[attr-defined]
    since = iso(NOW - timedelta(hours=1) - OVERLAP)
    assert deps.pull_queue.requests == [(["acme--northwind"], {"since": since, "page": "1"})]  # type: ignore[attr-defined]
    assert "acme--northwind" in deps.connections.cursors  # type: ignore[attr-defined]

    # the follow-up resumes the same query at the next page, whatever the cursor says now
    follow_up = deps_for(buyer, link)
    resumed = pull_connection(link, follow_up, lambda: PLENTY_OF_TIME, resume={"since": since, "page": "1"})
    assert (resumed.orders, resumed.continued) == (8, False)
    assert buyer.asked[-1] == (datetime.fromisoformat(since), "1")
    assert follow_up.queue.order_ids == [str(n) for n in range(1004, 1012)]  # type: ignore[attr-defined]


def test_exactly_at_the_reserve_the_pull_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    buyer = PagedBuyer(pages_of(1, 1))
    deps = deps_for(buyer, connection())
    assert not pull_connection(connection(), deps, lambda: TIME_RESERVE_MS).continued
    monkeypatch.setattr(pull, "MAX_PAGES_PER_INVOCATION", 1)  # the campaign's page limit
    capped = deps_for(buyer, connection())
    result = pull_connection(connection(), capped, lambda: PLENTY_OF_TIME)
    assert (result.pages, result.continued) == (1, True)
    last_page_only = deps_for(PagedBuyer(pages_of(1)), connection())
    assert not pull_connection(connection(), last_page_only, lambda: PLENTY_OF_TIME).continued  # nothing left


def test_the_envelope_names_both_stores_and_carries_the_order() -> None:
    payload = shopify_order(1001, NOW - timedelta(minutes=5))
    envelope, updated = envelope_for(connection(), payload, NOW)
    assert updated == NOW - timedelta(minutes=5)
    assert envelope == OrderEnvelope(
        connection_id="acme--northwind",
        buyer_id="acme",
        buyer_name="Acme",
        buyer_platform=Platform.SHOPIFY,
        seller_id="northwind",
        seller_name="Northwind",
        seller_platform=Platform.WOOCOMMERCE,
        order_id="1001",
        order_number="#1001",
        payload=payload,
        pulled_at=NOW,
        cause=Cause.PULL,
    )


def test_an_oversized_order_travels_as_a_read_request_and_one_with_no_id_as_an_unreadable_one() -> None:
    payload = shopify_order(1001, NOW) | {"note": "x" * pull.MAX_PAYLOAD_BYTES}
    envelope, _ = envelope_for(connection(), payload, NOW)
    assert envelope.order_id == "1001"
    assert envelope.payload == {READ_FROM_STORE_KEY: "1001"}  # ProcessOrder reads it from the store
    nameless = {"note": "x" * pull.MAX_PAYLOAD_BYTES}
    envelope, _ = envelope_for(connection(), nameless, NOW)
    (why,) = envelope.payload.values()
    assert list(envelope.payload) == [OVERSIZED_KEY] and f"over the {pull.MAX_PAYLOAD_BYTES}-byte limit" in why


def test_the_scheduled_run_requests_one_pull_per_buyer_store_however_many_sellers_it_buys_from() -> None:
    canyon = connection().model_copy(update={"connection_id": "canyon--northwind", "buyer": store_ref("canyon")})
    southwind = connection().model_copy(update={"connection_id": "acme--southwind", "seller": store_ref("southwind")})
    requests = PullRequests()
    links = InMemoryConnections({c.connection_id: c for c in (connection(), canyon, southwind)})
    assert fan_out(FanOutDependencies(connections=links, pull_queue=requests)) == 2
    assert requests.requests == [(["acme--northwind", "canyon--northwind"], None)]  # acme's first connection


def test_one_read_of_a_buyer_store_brings_each_order_to_every_seller_it_buys_from_since_its_own_cursor() -> None:
    """Acme buys from northwind (cursor an hour ago) and from southwind (connected 20 minutes ago):
    the store is read once, from the older cursor; each connection gets the orders since its own,
    and each cursor moves to the newest update (only ever forward)."""
    buyer = PagedBuyer(pages_of(30, 30))  # an order a minute for the last hour
    northwind = connection(cursor=NOW - timedelta(hours=1))
    southwind = northwind.model_copy(
        update={
            "connection_id": "acme--southwind",
            "seller": store_ref("southwind"),
            "cursor": NOW - timedelta(minutes=20),
        }
    )
    deps = deps_for(buyer, northwind)
    deps.connections.connections[southwind.connection_id] = southwind  # type: ignore[attr-defined]
    result = pull_connection(northwind, deps, lambda: PLENTY_OF_TIME)
    assert buyer.asked == [(NOW - timedelta(hours=1) - OVERLAP, None)] and result.orders == 60  # read once
    sent = [envelope for batch in deps.queue.batches for envelope in batch]  # type: ignore[attr-defined]
    per_connection = {
        c: [e.order_id for e in sent if e.connection_id == c] for c in ("acme--northwind", "acme--southwind")
    }
    assert per_connection["acme--northwind"] == [str(n) for n in range(1000, 1060)]
    since_southwind = NOW - timedelta(minutes=20) - OVERLAP  # its own cursor, with the overlap
    expected = [
        o["legacyResourceId"]
        for page in buyer.pages
        for o in page
        if datetime.fromisoformat(o["updatedAt"]) >= since_southwind
    ]
    assert per_connection["acme--southwind"] == expected and 0 < len(expected) < 60
    newest = max(datetime.fromisoformat(o["updatedAt"]) for page in buyer.pages for o in page)
    assert deps.connections.cursors == {"acme--northwind": newest, "acme--southwind": newest}  # type: ignore[attr-defined]


@dataclass
class FreshConnections(InMemoryConnections):
    fresh_reads: list[str] = field(default_factory=list)

    def get(self, connection_id: str, fresh: bool = False) -> Connection:
        if fresh:
            self.fresh_reads.append(connection_id)
        return super().get(connection_id, fresh)


def test_a_pull_request_pulls_its_connection_from_the_checkpointed_cursor_and_resumes_where_told() -> None:
    link = connection(cursor=NOW - timedelta(hours=1))
    buyer = PagedBuyer(pages_of(2, 2))
    deps = deps_for(buyer, link)
    deps.connections = FreshConnections({link.connection_id: link})
    since = iso(NOW - timedelta(hours=3))
    event = {
        "Records": [
            sqs_record("p1", json.dumps({"connection_id": "acme--northwind", "resume": {"since": since, "page": "1"}}))
        ]
    }
    assert pull_connection_batch(event, LambdaContext(PLENTY_OF_TIME), deps) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert deps.connections.fresh_reads == ["acme--northwind"]  # never a cached cursor
    assert buyer.asked == [(datetime.fromisoformat(since), "1")]
    assert deps.queue.order_ids == ["1002", "1003"]  # type: ignore[attr-defined]
    plain = {"Records": [sqs_record("p2", json.dumps({"connection_id": "acme--northwind"}))]}
    pull_connection_batch(plain, LambdaContext(PLENTY_OF_TIME), deps)  # type: ignore[arg-type]
    assert buyer.asked[-1] == (NOW - timedelta(hours=1) - OVERLAP, None)


def test_a_store_failing_past_the_budget_fails_its_own_pull_only() -> None:
    class FlakyBuyer(PagedBuyer):
        def orders_updated_since(
            self, since: datetime, resume: str | None = None
        ) -> Iterator[tuple[list[Any], str | None]]:
            if not self.asked:
                self.asked.append((since, resume))
                raise StoreUnavailable("acme answered 503")
            yield from super().orders_updated_since(since, resume)

    link = connection().model_copy(update={"store_failing_since": NOW - DEFAULT_FAILURE_BUDGET})
    deps = deps_for(FlakyBuyer(pages_of(1)), link)
    event = {"Records": [sqs_record(f"p{n}", json.dumps({"connection_id": "acme--northwind"})) for n in (1, 2)]}
    response = pull_connection_batch(event, LambdaContext(PLENTY_OF_TIME), deps)  # type: ignore[arg-type]
    assert response == {"batchItemFailures": [{"itemIdentifier": "p1"}]}
    assert deps.queue.order_ids == ["1000"]  # type: ignore[attr-defined]
    assert deps.pull_queue.requests == []  # type: ignore[attr-defined]
    # alone in its batch (PullQueue's batch size is 1), the failure fails the invocation: SQS retries it
    alone = deps_for(FlakyBuyer(pages_of(1)), link)
    with pytest.raises(BatchProcessingError):
        pull_connection_batch({"Records": event["Records"][:1]}, LambdaContext(PLENTY_OF_TIME), alone)  # type: ignore[arg-type]


def _continue(deps: PullDependencies, buyer: PagedBuyer) -> pull.PullResult:
    """Runs the last continuation the pull queued, as PullConnectionFunction would."""
    ((_, resume),) = deps.pull_queue.requests[-1:]  # type: ignore[attr-defined]
    link = deps.connections.get("acme--northwind")
    return pull_connection(link, deps, lambda: PLENTY_OF_TIME, resume)


def test_a_store_failing_the_third_page_of_five_never_has_pages_one_and_two_read_again() -> None:
    buyer = PagedBuyer(pages_of(3, 3, 3, 3, 3), fail_at={2})
    link = connection(cursor=NOW - timedelta(hours=1))
    deps = deps_for(buyer, link)
    metrics.clear_metrics()
    first = pull_connection(link, deps, lambda: PLENTY_OF_TIME)
    assert counted_metrics() == {"PullsFailedDelayed": [1.0], "OrdersPulled": [6.0]}
    metrics.clear_metrics()
    assert (first.orders, first.pages, first.continued, first.store_error) == (
        6,
        2,
        True,
        "GET /orders page 3 answered 503",
    )
    newest_read = max(datetime.fromisoformat(o["updatedAt"]) for o in buyer.pages[1])
    assert deps.connections.cursors == {"acme--northwind": newest_read}  # type: ignore[attr-defined]
    since = iso(NOW - timedelta(hours=1) - OVERLAP)
    assert deps.pull_queue.requests == [(["acme--northwind"], {"since": since, "failures": "1", "page": "2"})]  # type: ignore[attr-defined]
    assert deps.pull_queue.delays == [pull.FAILURE_BACKOFF_SECONDS[0]]  # type: ignore[attr-defined]
    assert deps.connections.get("acme--northwind").store_failing_since == NOW

    second = _continue(deps, buyer)
    assert (second.orders, second.pages, second.continued, second.store_error) == (9, 3, False, None)
    assert [resume for _, resume in buyer.asked] == [None, "2"]  # pages one and two were read once
    assert deps.queue.order_ids == [str(n) for n in range(1000, 1015)]  # type: ignore[attr-defined]


def test_failures_in_a_row_back_off_and_progress_starts_the_backoff_again() -> None:
    buyer = PagedBuyer(pages_of(2, 2), fail_at=set())
    deps = deps_for(buyer, connection())
    for failures, delay in ((0, 5), (1, 10), (3, 40), (7, 640), (8, 900), (30, 900)):
        buyer.fail_at = {0}
        resume = {"since": iso(NOW - timedelta(hours=2)), "failures": str(failures)}
        pull_connection(connection(), deps, lambda: PLENTY_OF_TIME, resume)
        assert deps.pull_queue.requests[-1][1]["failures"] == str(failures + 1)  # type: ignore[attr-defined]
        assert deps.pull_queue.delays[-1] == delay  # type: ignore[attr-defined]
    buyer.fail_at = {1}  # a page read before the failure: progress, the backoff starts again
    resume = {"since": iso(NOW - timedelta(hours=2)), "failures": "6"}
    pull_connection(connection(), deps, lambda: PLENTY_OF_TIME, resume)
    assert (deps.pull_queue.requests[-1][1]["failures"], deps.pull_queue.delays[-1]) == ("1", 5)  # type: ignore[attr-defined]


def test_a_store_failing_past_the_budget_tells_ops_once_and_a_pull_that_goes_through_clears_it() -> None:
    class Mailbox:
        def __init__(self) -> None:
            self.sent: list[Any] = []

        def send(self, email: Any) -> None:
            self.sent.append(email)

    buyer = PagedBuyer(pages_of(2), fail_at={0})
    link = connection()
    deps = deps_for(buyer, link)
    deps.ops_alerts = mailbox = Mailbox()
    clock = [NOW]
    deps.clock = lambda: clock[0]
    record = sqs_record("p1", json.dumps({"connection_id": "acme--northwind"}))
    within = DEFAULT_FAILURE_BUDGET - timedelta(seconds=1)
    for at in (NOW, NOW + within):  # failing, within the budget: continued later, nobody told
        clock[0], buyer.fail_at = at, {0}
        assert pull_connection_batch({"Records": [record]}, LambdaContext(PLENTY_OF_TIME), deps) == {
            "batchItemFailures": []
        }  # type: ignore[arg-type]
    assert len(deps.pull_queue.requests) == 2 and mailbox.sent == []  # type: ignore[attr-defined]
    assert deps.connections.get("acme--northwind").store_failing_since == NOW
    for at in (
        NOW + DEFAULT_FAILURE_BUDGET,
        NOW + 2 * DEFAULT_FAILURE_BUDGET,
    ):  # past it: the pull fails, ops told once
        clock[0], buyer.fail_at = at, {0}
        with pytest.raises(BatchProcessingError):
            pull_connection_batch({"Records": [record]}, LambdaContext(PLENTY_OF_TIME), deps)  # type: ignore[arg-type]
    assert len(deps.pull_queue.requests) == 2  # type: ignore[attr-defined]
    (email,) = mailbox.sent
    assert email.reason == "STORE_FAILING" and iso(NOW) in email.subject
    assert "GET /orders page 1 answered 503" in email.body
    assert connection_state(deps.connections.get("acme--northwind")) == "failing"
    pull_connection_batch({"Records": [record]}, LambdaContext(PLENTY_OF_TIME), deps)  # type: ignore[arg-type]
    healed = deps.connections.get("acme--northwind")
    assert (healed.store_failing_since, healed.failing_reported_at, connection_state(healed)) == (None, None, "ok")


def test_a_buyer_store_throttling_mid_pull_keeps_what_was_read_and_is_asked_again_after_its_reset() -> None:
    buyer = PagedBuyer(pages_of(4, 4, 4), throttle_at=1, retry_after=42.4)
    link = connection(cursor=NOW - timedelta(hours=1))
    deps = deps_for(buyer, link)
    metrics.clear_metrics()
    result = pull_connection(link, deps, lambda: PLENTY_OF_TIME)
    assert counted_metrics() == {"PullsThrottledDelayed": [1.0], "OrdersPulled": [4.0]}
    metrics.clear_metrics()
    assert (result.orders, result.pages, result.continued) == (4, 1, True)
    assert deps.queue.order_ids == ["1000", "1001", "1002", "1003"]  # type: ignore[attr-defined]
    newest = max(datetime.fromisoformat(o["updatedAt"]) for o in buyer.pages[0])
    assert deps.connections.cursors == {"acme--northwind": newest}  # type: ignore[attr-defined]
    since = iso(NOW - timedelta(hours=1) - OVERLAP)
    assert deps.pull_queue.requests == [  # type: ignore[attr-defined]
        (["acme--northwind"], {"since": since, "failures": "1", "page": "1"})
    ]
    assert deps.pull_queue.delays == [42]  # type: ignore[attr-defined]


def test_a_throttled_first_page_is_asked_again_from_the_start_within_sqs_s_delays() -> None:
    for retry_after, delay in ((None, 5), (0.2, 5), (5000.0, 900)):
        buyer = PagedBuyer(pages_of(4), throttle_at=0, retry_after=retry_after)
        deps = deps_for(buyer, connection())
        result = pull_connection(connection(), deps, lambda: PLENTY_OF_TIME)
        assert (result.orders, result.continued) == (0, True)
        ((_, resume),) = deps.pull_queue.requests  # type: ignore[attr-defined]
        assert resume is not None and "page" not in resume
        assert deps.pull_queue.delays == [delay]  # type: ignore[attr-defined]
        assert deps.connections.cursors == {}  # type: ignore[attr-defined]


def test_a_store_throttling_without_progress_past_the_budget_fails_the_pull_like_any_other_refusal() -> None:
    since = iso(NOW - timedelta(hours=2))
    for began, continued in (
        (NOW - DEFAULT_FAILURE_BUDGET + timedelta(seconds=1), True),
        (NOW - DEFAULT_FAILURE_BUDGET, False),
    ):
        buyer = PagedBuyer(pages_of(4, 4), throttle_at=0)
        link = connection().model_copy(update={"store_failing_since": began})
        deps = deps_for(buyer, link)
        resume = {"since": since, "failures": "3"}
        if continued:
            assert pull_connection(link, deps, lambda: PLENTY_OF_TIME, resume).continued
        else:
            with pytest.raises(StoreThrottled):
                pull_connection(link, deps, lambda: PLENTY_OF_TIME, resume)
        expected = [(["acme--northwind"], {"since": since, "failures": "4"})]
        assert deps.pull_queue.requests == (expected if continued else [])  # type: ignore[attr-defined]
