"""Helpers for the service proxy tests: small asyncio servers as endpoints, clients,
and Services and Endpoints written straight into a MemoryStore (no controller)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio

from orbit.api import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    ObjectMeta,
    Service,
    ServicePort,
    ServiceSpec,
)
from orbit.errors import NotFound
from orbit.store import MemoryStore

NS = "default"


class Backend:
    """An endpoint: greets each connection with its name and a newline, echoes what it
    reads, and answers the client's EOF with its own once everything is echoed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.accepted = 0
        self.open = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Backend:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        try:
            writer.write(f"{self.name}\n".encode())
            while data := await reader.read(1 << 18):
                writer.write(data)
                await writer.drain()
            writer.write_eof()
            await writer.drain()
        except OSError:
            pass
        finally:
            self.open -= 1
            writer.close()


class Client:
    """A connection through the proxy; ``name`` is the backend that greeted it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str):
        self.reader, self.writer, self.name = reader, writer, name

    async def echo(self, data: bytes) -> bytes:
        self.writer.write(data)
        await self.writer.drain()
        return await self.reader.readexactly(len(data))

    async def finish(self) -> bytes:
        """Half-close, read the rest until the backend's EOF, then close."""
        self.writer.write_eof()
        rest = await self.reader.read()
        self.writer.close()
        return rest

    def close(self) -> None:
        self.writer.close()


async def connect(port: int) -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    name = (await reader.readline()).decode().strip()
    return Client(reader, writer, name)


def closed_port() -> int:
    """A port nothing listens on (bound, read, closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_service(
    name: str,
    ports: Iterable[tuple[str, int]] = (("", 80),),
    *,
    annotations: Mapping[str, str] | None = None,
    **spec: Any,
) -> Service:
    return Service(
        metadata=ObjectMeta(name=name, namespace=NS, annotations=dict(annotations or {})),
        spec=ServiceSpec(ports=tuple(ServicePort(name=n, port=p) for n, p in ports), **spec),
    )


def make_endpoints(name: str, ports: Iterable[int], port_name: str = "") -> Endpoints:
    """One subset per address port, as orbit's endpoints controller writes them."""
    return Endpoints(
        metadata=ObjectMeta(name=name, namespace=NS),
        subsets=tuple(
            EndpointSubset(
                addresses=(EndpointAddress(ip="127.0.0.1"),),
                ports=(EndpointPort(name=port_name, port=port),),
            )
            for port in ports
        ),
    )


def put(store: MemoryStore, obj: Any) -> None:
    """Create or replace an object."""
    try:
        store.get(type(obj), obj.metadata.name, obj.metadata.namespace)
    except NotFound:
        store.create(obj)
    else:
        store.update(obj)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait until ``predicate()`` holds (the proxy learns of store changes by watch)."""
    with anyio.fail_after(timeout_s):
        while not predicate():  # noqa: ASYNC110 - the proxy's state has no event to wait on
            await anyio.sleep(0.005)
