"""Fixtures for the service proxy over real TCP on 127.0.0.1: three echo backends, a
MemoryStore, and a running ServiceProxy. Every test runs on asyncio's default loop and,
when uvloop is installed (``pip install 'orbit[fast]'``), on uvloop too: their
transports differ in ways the proxy depends on."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from proxy_helpers import Backend

from orbit.net import ServiceProxy
from orbit.store import MemoryStore

LOOPS: list[Any] = [pytest.param(("asyncio", {}), id="asyncio")]
if importlib.util.find_spec("uvloop") is not None:
    LOOPS.append(pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"))


@pytest.fixture(params=LOOPS)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def backends() -> AsyncIterator[list[Backend]]:
    started = [await Backend(name).start() for name in ("a", "b", "c")]
    yield started
    for backend in started:
        await backend.stop()


@pytest.fixture
async def proxy(store: MemoryStore) -> AsyncIterator[ServiceProxy]:
    running = ServiceProxy(store, connect_timeout_s=0.5, drain_s=30.0, retry_s=0.05)
    async with anyio.create_task_group() as group:
        await group.start(running.run)
        yield running
        group.cancel_scope.cancel()
