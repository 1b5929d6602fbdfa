"""Invokes the handlers in-process the way Lambda would: the schedule's event, and an SQS poller
that sends real event batches and honours batchItemFailures (moto's redrive policy then moves a
message that was received maxReceiveCount times to the DLQ)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3

from ordersync.local.iam import acting_as
from ordersync.local.provision import Deployment, FunctionSpec, QueueSource
from ordersync.local.template import ACCOUNT_ID
from ordersync.observability import metrics, refresh_from_environment

# A drained look is taken again this much later: a message changing state (sent by a webhook's
# thread, a delay ending) between the empty receive and the counts can't end the drain early.
DRAINED_SETTLE_SECONDS = 0.05


@dataclass
class LambdaContext:
    """What Powertools reads from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.deadline - time.monotonic()) * 1000), 0)


class InvocationCrashed(BaseException):
    """The function's process died mid-invocation (out of memory, the runtime killed): nothing in
    the code catches it, and nothing the invocation meant to do after it happens."""


@dataclass
class DeliveryChaos:
    """What SQS and Lambda may do to a batch: deliver a message twice (later, or at the same time
    as itself), or crash the invocation midway (the records before the crash done, the whole
    batch delivered again). Each decision is keyed by the seed, the message body and how often
    that body was seen, so a seed replays the same campaign whatever the timing."""

    seed: int
    duplicate_rate: float
    crash_rate: float
    concurrent_rate: float = 0.0
    twin: Callable[[dict[str, Any]], None] | None = None  # a second consumer of one record, beside the batch
    twin_function: str = "ProcessOrderFunction"  # whose records the twin consumes
    duplicates: int = 0
    crashes: int = 0
    concurrent: int = 0
    seen: Counter[str] = field(default_factory=Counter)

    def draw(self, kind: str, body: str) -> random.Random:
        key = f"{kind}|{hashlib.sha256(body.encode()).hexdigest()}"
        self.seen[key] += 1
        return random.Random(f"{self.seed}|{key}|{self.seen[key]}")


class Runner:
    def __init__(self, deployment: Deployment, region: str) -> None:
        self.deployment = deployment
        self.region = region
        self.chaos: DeliveryChaos | None = None
        self.invocations: list[tuple[str, float, int]] = []  # (function, seconds, records) per invocation
        self.async_failures: list[str] = []
        self.timeouts: dict[str, float] = {}  # a function's timeout, where a run wants it shorter
        self.overruns: list[str] = []  # invocations that ran past their timeout (Lambda would have killed them)
        # Concurrent invocations of a queue's function while draining (as the event source mapping
        # scales up to its maximum concurrency); each its own container: its own clients, its own
        # pacing of each store. Unset: one at a time.
        self.concurrency: dict[str, int] = {}
        self._modules: dict[str, ModuleType] = {}
        # Lambda's event source mapping, not the functions: its own session, so what counts the
        # functions' AWS calls (botocore hooks on the default session) never counts these.
        self._sqs = _mapping_session().client("sqs", region_name=region)
        # Each function's role, as its AWS calls are judged (ordersync.local.iam): built once, not per invocation.
        self._principals = {logical_id: deployment.principal(logical_id) for logical_id in deployment.functions}
        for logical_id, server in deployment.function_urls.items():  # each request: one invocation
            server.invoke = functools.partial(self.invoke, logical_id)
        for spec in deployment.functions.values():  # the functions share this process's environment
            os.environ.update(spec.environment)
        refresh_from_environment()

    def handler(self, logical_id: str) -> Any:
        spec = self.deployment.functions[logical_id]
        if logical_id not in self._modules:
            module_file, function = spec.handler.rsplit(".", 1)
            path = spec.code_dir / f"{module_file}.py"
            name = f"ordersync_function_{logical_id}"
            loader = importlib.util.spec_from_file_location(name, path)
            assert loader and loader.loader
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
            self._modules[logical_id] = module
        module_file, function = spec.handler.rsplit(".", 1)
        return getattr(self._modules[logical_id], function)

    def invoke(self, logical_id: str, event: dict[str, Any], **kwargs: Any) -> Any:
        spec = self.deployment.functions[logical_id]
        try:
            with acting_as(self._principals[logical_id]):
                return self.handler(logical_id)(event, self.context(spec), **kwargs)
        finally:
            # With metrics disabled locally Powertools keeps, rather than flushes, each invocation's
            # metrics; a new Lambda invocation starts from none.
            metrics.clear_metrics()

    def context(self, spec: FunctionSpec) -> LambdaContext:
        return LambdaContext(
            function_name=spec.name,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{spec.name}",
            aws_request_id=str(uuid.uuid4()),
            deadline=time.monotonic() + self.timeouts.get(spec.logical_id, spec.timeout),
        )

    # --- event sources ---------------------------------------------------------------------------
    def fire_schedules(self, function: str | None = None) -> list[Any]:
        """What EventBridge would do when a schedule comes due (moto never fires schedules):
        every schedule, or only those of `function`."""
        results = []
        for schedule in self.deployment.schedules:
            if function and schedule.function != function:
                continue
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "region": self.region,
                "resources": [f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{schedule.rule_name}"],
                "detail": {},
            }
            results.append(self.invoke_async(schedule.function, event))
        return results

    def invoke_async(self, logical_id: str, event: dict[str, Any]) -> Any:
        """As Lambda does for EventBridge: an invocation that raises is tried again as the function's
        EventInvokeConfig says (twice by default); one that fails its last try has Lambda's record of
        it sent to its on-failure destination, with the function's role (the next run starts afresh)."""
        config = self.deployment.invoke_configs.get(logical_id)
        tries = 1 + (config.retries if config else 2)
        for attempt in range(tries):
            try:
                return self.invoke(logical_id, event)
            except Exception as error:  # what Lambda would log and retry
                self.async_failures.append(f"{logical_id} attempt {attempt + 1}: {type(error).__name__}: {error}")
                failure = error
        if config is not None and config.on_failure_queue_url is not None:
            self._on_failure(logical_id, event, failure, tries, config.on_failure_queue_url)
        return None

    def _on_failure(self, logical_id: str, event: dict[str, Any], error: Exception, tries: int, url: str) -> None:
        spec = self.deployment.functions[logical_id]
        record = {  # Lambda's asynchronous invocation record (its documented shape)
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{spec.name}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": tries,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
        }
        with acting_as(self._principals[logical_id]):
            boto3.client("sqs", region_name=self.region).send_message(QueueUrl=url, MessageBody=json.dumps(record))

    def run_hour(self) -> None:
        """One scheduled hour: the pull at :20, OrdersQueue drained, then the alerts sent."""
        self.fire_schedules("PullOrdersFunction")
        self.drain()
        self.fire_schedules("AlertDispatchFunction")

    def drain(self, max_batches: int = 10_000) -> int:
        """Polls every SQS event source until all their queues are empty (a pull fills OrdersQueue;
        a continuation refills PullQueue); returns the batches delivered."""
        if self.concurrency:
            return self._drain_concurrently()
        batches = 0
        while True:
            progressed = True
            while progressed and batches < max_batches:
                progressed = False
                for source in self.deployment.queue_sources:  # round robin, as concurrent pollers would
                    if batches < max_batches and self.poll_once(source):
                        batches += 1
                        progressed = True
            # Drained, by every queue's count, looked at once more a moment later.
            time.sleep(DRAINED_SETTLE_SECONDS)
            if batches >= max_batches or not any(self._has_in_flight(s) for s in self.deployment.queue_sources):
                return batches

    def _drain_concurrently(self) -> int:
        """The functions in `concurrency` consume their queues from that many threads, each with
        the dependencies a new container would build; the other sources are polled here. Returns
        the invocations made."""
        from ordersync import wiring
        from ordersync.aws import clients

        builders = {"ProcessOrderFunction": wiring.process_dependencies}
        done = threading.Event()
        before = len(self.invocations)

        def consume(source: QueueSource, deps: Any) -> None:
            while not done.is_set():
                if not self.poll_once(source, deps):
                    time.sleep(0.05)  # nothing there, nothing in flight

        workers = []
        for source in self.deployment.queue_sources:
            for _ in range(self.concurrency.get(source.function, 0)):
                # built here, not in the thread: boto3 builds clients one at a time
                with clients.of_a_new_container():
                    deps = builders[source.function].__wrapped__()
                workers.append(threading.Thread(target=consume, args=(source, deps), daemon=True))
        others = [s for s in self.deployment.queue_sources if s.function not in self.concurrency]
        for worker in workers:
            worker.start()
        try:
            while True:
                for source in others:
                    self.poll_once(source)
                if not any(self._has_in_flight(source) for source in self.deployment.queue_sources):
                    break
        finally:
            done.set()
            for worker in workers:
                worker.join()
        return len(self.invocations) - before

    def poll_once(self, source: QueueSource, deps: Any = None) -> bool:
        response = self._sqs.receive_message(
            QueueUrl=source.queue_url,
            MaxNumberOfMessages=source.batch_size,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = response.get("Messages", [])
        if not messages:
            return self._has_in_flight(source)
        event = {"Records": [self.sqs_record(source, message) for message in messages]}
        if self.chaos and len(messages) > 1:
            crash = self.chaos.draw("crash", messages[0]["Body"])
            if crash.random() < self.chaos.crash_rate:
                return self._crash_midway(source, messages, event, crash.randint(1, len(messages) - 1))
        twins = self._twins(source, event["Records"])
        try:
            started = time.perf_counter()
            result = self.invoke(source.function, event, **({"deps": deps} if deps is not None else {})) or {}
            elapsed = time.perf_counter() - started
            self.invocations.append((source.function, elapsed, len(messages)))
            if elapsed > self.timeouts.get(source.function, self.deployment.functions[source.function].timeout):
                self.overruns.append(f"{source.function}: {elapsed:.1f} s")
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        except (Exception, InvocationCrashed):  # a crashed invocation: the whole batch comes back
            failed = {message["MessageId"] for message in messages}
        finally:
            for twin in twins:
                twin.join()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if self.chaos:
            for message in done:
                if self.chaos.draw("duplicate", message["Body"]).random() < self.chaos.duplicate_rate:  # at least once
                    self.chaos.duplicates += 1
                    self._sqs.send_message(QueueUrl=source.queue_url, MessageBody=message["Body"])
        for message in messages:
            if message["MessageId"] in failed:  # locally, the visibility timeout passes at once
                self._sqs.change_message_visibility(
                    QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return True

    def _twins(self, source: QueueSource, records: list[dict[str, Any]]) -> list[threading.Thread]:
        """Records SQS also hands to a second consumer at the same moment (at-least-once delivery)."""
        chaos = self.chaos
        if chaos is None or chaos.twin is None or source.function != chaos.twin_function:
            return []
        twins = []
        for record in records:
            if chaos.draw("concurrent", record["body"]).random() < chaos.concurrent_rate:
                chaos.concurrent += 1
                twins.append(threading.Thread(target=chaos.twin, args=(record,), daemon=True))
                twins[-1].start()
        return twins

    def _crash_midway(
        self, source: QueueSource, messages: list[dict[str, Any]], event: dict[str, Any], done: int
    ) -> bool:
        assert self.chaos is not None
        self.chaos.crashes += 1
        with contextlib.suppress(Exception, InvocationCrashed):  # what the records before the crash did, stays done
            self.invoke(source.function, {"Records": event["Records"][:done]})
        for message in messages:  # the invocation failed: every message of the batch comes back
            self._sqs.change_message_visibility(
                QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return True

    def _has_in_flight(self, source: QueueSource) -> bool:
        """Anything left (visible, in flight or delayed) means the queue is not drained yet: a delayed
        message (an order retried later) can turn visible between the empty receive and this check."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self._sqs.get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=names)["Attributes"]
        waiting, delayed = (sum(int(attributes.get(name, 0)) for name in group) for group in (names[:2], names[2:]))
        if not waiting and not delayed:
            return False
        # Only delayed messages (seconds away at least): look less often, rather than poll every queue 20 times a second
        time.sleep(0.05 if waiting else 0.25)
        return True

    def sqs_record(self, source: QueueSource, message: dict[str, Any]) -> dict[str, Any]:
        """The SQS event record Lambda builds from a received message."""
        queue_name = source.queue_url.rsplit("/", 1)[-1]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": None,
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{queue_name}",
            "awsRegion": self.region,
        }


@functools.cache
def _mapping_session() -> boto3.session.Session:
    """The event source mapping's session, one a process: a session loads botocore's models anew
    (a sixth of a second), and each stack's runner needs only a client of it."""
    return boto3.session.Session()


@contextmanager
def in_background(loop: Callable[[threading.Event], None]) -> Iterator[None]:
    """`loop(stop)` in a thread of its own for the block's length; the block's end sets `stop`."""
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
