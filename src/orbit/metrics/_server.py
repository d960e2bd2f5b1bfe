"""The ``/metrics`` endpoint: a small HTTP/1.1 server on the cluster's event loop.

prometheus_client's own ``start_http_server`` runs a thread and binds every interface
by default; orbit serves from an anyio listener instead (no thread, loopback unless a
host is given), one request per connection (``Connection: close``), which is all a
Prometheus scrape needs. The answer to a request is a pure function of the request
head and the registry (:func:`respond`), so it is tested without sockets too.
"""

from __future__ import annotations

import logging
from typing import Final

import anyio
import anyio.abc
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = [
    "MAX_HEAD_BYTES",
    "METRICS_PATH",
    "READ_TIMEOUT_S",
    "open_listener",
    "respond",
    "serve_listener",
]

_log = logging.getLogger("orbit.metrics")

METRICS_PATH: Final = "/metrics"
MAX_HEAD_BYTES: Final = 16 * 1024
READ_TIMEOUT_S: Final = 10.0
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
}


def _response(
    code: int,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    *,
    head_only: bool = False,
    extra: tuple[tuple[str, str], ...] = (),
) -> bytes:
    headers = [
        f"HTTP/1.1 {code} {_REASONS[code]}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in extra),
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


def respond(head: bytes | None, registry: CollectorRegistry) -> bytes:
    """The whole HTTP response to a request whose head (request line and headers) is
    ``head`` (None: it was too large). ``GET /metrics`` (any query) gets the registry
    in Prometheus' text format; ``HEAD`` the same headers; other paths 404, other
    methods 405."""
    if head is None:
        return _response(431, b"request head too large\n")
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _response(400, b"bad request line\n")
    method, target, _ = parts
    path = target.split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        return _response(405, b"method not allowed\n", extra=(("Allow", "GET, HEAD"),))
    if path != METRICS_PATH:
        return _response(404, b"not found: try /metrics\n", head_only=method == "HEAD")
    body = generate_latest(registry)
    return _response(200, body, CONTENT_TYPE_LATEST, head_only=method == "HEAD")


async def _read_head(stream: anyio.abc.ByteStream) -> bytes | None:
    """Bytes up to the blank line ending the request head (None when over the limit)."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            return None
        data += await stream.receive()
    head = data.split(b"\r\n\r\n", 1)[0]
    return head if len(head) <= MAX_HEAD_BYTES else None


async def _handle(stream: anyio.abc.SocketStream, registry: CollectorRegistry) -> None:
    async with stream:
        try:
            with anyio.fail_after(READ_TIMEOUT_S):
                head = await _read_head(stream)
            await stream.send(respond(head, registry))
        except (TimeoutError, anyio.EndOfStream, anyio.BrokenResourceError, OSError) as exc:
            _log.debug("metrics request dropped: %r", exc)


async def open_listener(
    host: str, port: int
) -> tuple[anyio.abc.Listener[anyio.abc.SocketStream], int]:
    """A TCP listener on ``host:port`` (a free port when ``port`` is 0) and the port."""
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    return listener, int(listener.extra(anyio.abc.SocketAttribute.local_port))


async def serve_listener(
    listener: anyio.abc.Listener[anyio.abc.SocketStream], registry: CollectorRegistry
) -> None:
    """Answer requests on ``listener`` from ``registry`` until cancelled."""

    async def handle(stream: anyio.abc.SocketStream) -> None:
        await _handle(stream, registry)

    await listener.serve(handle)
