"""One boto3 client per AWS service, and one DynamoDB resource, per container: every adapter of a
function shares them. Each one costs a few milliseconds and a copy of the session's hooks to make
(a cold start made ~10); boto3's clients are thread-safe, and the resource is used by one invocation
at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3

_lock = threading.Lock()
_made: dict[str, Any] = {}


def client(service: str) -> Any:
    return _once(service, lambda: boto3.client(service))


def dynamodb() -> Any:
    """The DynamoDB resource (tables' conditions and types)."""
    return _once("dynamodb resource", lambda: boto3.resource("dynamodb"))


def _once(key: str, make: Callable[[], Any]) -> Any:
    with _lock:
        if key not in _made:
            _made[key] = make()
        return _made[key]


def forget() -> None:
    """The next adapter makes new ones (a new container; new hooks on boto3's session to copy)."""
    with _lock:
        _made.clear()


@contextmanager
def of_a_new_container() -> Iterator[None]:
    """Adapters made inside get clients of their own (a second container in this process, locally),
    and those made after it the process's again."""
    global _made
    with _lock:
        kept, _made = _made, {}
    try:
        yield
    finally:
        with _lock:
            _made = kept
