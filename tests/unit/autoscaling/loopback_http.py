"""Real HTTP servers on loopback for the metric-source tests, and pod builders.

``serve(respond)`` listens on a free 127.0.0.1 port; for each request it calls
``respond(request)`` and sends back the raw bytes it returns, or never answers when it
returns ``None`` (for timeouts). Each request is recorded on ``server.requests``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping

import anyio
import anyio.abc
import attrs
from anyio.streams.buffered import BufferedByteReceiveStream

from orbit.api import (
    PORTS_ANNOTATION,
    Container,
    ContainerPort,
    ObjectMeta,
    Pod,
    PodSpec,
    PodStatus,
)

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


@attrs.frozen
class Request:
    method: str
    target: str
    version: str
    headers: Mapping[str, str]


@attrs.define
class LoopbackServer:
    respond: Callable[[Request], bytes | None]
    port: int = 0
    requests: list[Request] = attrs.field(factory=list)

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            reader = BufferedByteReceiveStream(stream)
            head = await reader.receive_until(b"\r\n\r\n", 65536)
            first, *lines = head.decode("latin-1").split("\r\n")
            method, target, version = first.split(" ", 2)
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            request = Request(method, target, version, headers)
            self.requests.append(request)
            answer = self.respond(request)
            if answer is None:
                await anyio.sleep_forever()
                return
            with contextlib.suppress(anyio.BrokenResourceError, OSError):
                await stream.send(answer)  # the client may have hung up already


@contextlib.asynccontextmanager
async def serve(respond: Callable[[Request], bytes | None]) -> AsyncIterator[LoopbackServer]:
    server = LoopbackServer(respond)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    server.port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, server.handle)
        try:
            yield server
        finally:
            group.cancel_scope.cancel()


def response(
    body: bytes | str,
    *,
    status: int = 200,
    content_type: str = "text/plain; version=0.0.4; charset=utf-8",
    headers: Mapping[str, str] | None = None,
    length: bool = True,
) -> bytes:
    """A whole HTTP/1.0 response."""
    data = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.0 {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {content_type}"]
    if length:
        lines.append(f"Content-Length: {len(data)}")
    lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def api_response(document: object, *, status: int = 200) -> bytes:
    """A Prometheus-API-shaped JSON response."""
    return response(json.dumps(document), status=status, content_type="application/json")


async def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port: int = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    return port


def make_pod(
    name: str = "web-1",
    *,
    namespace: str = "default",
    phase: str = "Running",
    ports: tuple[ContainerPort, ...] = (ContainerPort(name="metrics", container_port=9100),),
    published: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    host_ip: str = "",
) -> Pod:
    """A pod with one container declaring ``ports``; ``published`` is its
    ``orbit.dev/ports`` annotation (port key -> "host:port")."""
    notes = dict(annotations or {})
    if published is not None:
        notes[PORTS_ANNOTATION] = json.dumps(dict(published))
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, annotations=notes),
        spec=PodSpec(containers=(Container(name="app", image="app", ports=ports),)),
        status=PodStatus(phase=phase, host_ip=host_ip),  # type: ignore[arg-type]
    )
