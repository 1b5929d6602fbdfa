from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordersync.local.stack import LocalStack
from ordersync.local.world import World


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack.start({"LogLevel": "ERROR", "MaxReceiveCount": "3"}) as local:
        yield local


@pytest.fixture
def world(stack: LocalStack) -> Iterator[World]:
    marketplace = World(stack)
    yield marketplace
    marketplace.stop()
