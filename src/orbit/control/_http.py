"""Just enough HTTP/1.1 for the control API, on anyio byte streams, both ends.

One request per connection (``Connection: close``): a request line, headers and a
``Content-Length`` body in; a JSON body, or a chunked stream of log lines, out. No
keep-alive, no request chunking, no compression: the client is orbit's own (or curl),
the peer is local. Head and body sizes are capped so a confused peer cannot make the
server buffer without bound. Parsing and formatting are pure functions; the async
readers only pull bytes through an ``anyio`` buffered stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import anyio
import attrs
from anyio.streams.buffered import BufferedByteReceiveStream

__all__ = [
    "LAST_CHUNK",
    "MAX_BODY_BYTES",
    "MAX_HEAD_BYTES",
    "HttpError",
    "RequestHead",
    "ResponseHead",
    "chunk",
    "content_length",
    "iter_chunks",
    "json_response",
    "parse_request_head",
    "parse_response_head",
    "read_body",
    "read_head",
    "read_response_body",
    "request_bytes",
    "response_head",
]

MAX_HEAD_BYTES: Final = 16 * 1024
MAX_BODY_BYTES: Final = 64 * 1024 * 1024  # a directory of manifests, generously
MAX_CHUNK_BYTES: Final = 16 * 1024 * 1024
LAST_CHUNK: Final = b"0\r\n\r\n"

_PHRASES: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    504: "Gateway Timeout",
}


class HttpError(Exception):
    """A request the server cannot take at the HTTP level (answered with ``status``)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@attrs.frozen
class RequestHead:
    """A request line and its headers (names lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]


@attrs.frozen
class ResponseHead:
    """A status line and its headers (names lower-cased)."""

    status: int
    headers: Mapping[str, str]


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, f"malformed header line {line!r}")
        headers[name.lower()] = value.strip()
    return headers


def parse_request_head(head: bytes) -> RequestHead:
    """The request line and headers of ``head`` (the bytes before the blank line)."""
    first, *rest = head.decode("latin-1").split("\r\n")
    parts = first.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"malformed request line {first!r}")
    method, target, _ = parts
    return RequestHead(method, target.split("?", 1)[0], _headers(rest))


def parse_response_head(head: bytes) -> ResponseHead:
    """The status and headers of a response head."""
    first, *rest = head.decode("latin-1").split("\r\n")
    parts = first.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(502, f"malformed status line {first!r}")
    return ResponseHead(int(parts[1]), _headers(rest))


async def read_head(stream: BufferedByteReceiveStream) -> bytes:
    """The bytes up to the blank line that ends a message head."""
    try:
        head = await stream.receive_until(b"\r\n\r\n", MAX_HEAD_BYTES)
    except anyio.DelimiterNotFound:
        head = None
    if head is None or len(head) > MAX_HEAD_BYTES:  # one big read can hold more
        raise HttpError(431, "message head too large")
    return head


def content_length(headers: Mapping[str, str]) -> int | None:
    """The declared body length (None when there is none)."""
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise HttpError(400, f"bad Content-Length {value!r}")
    return int(value)


async def read_body(stream: BufferedByteReceiveStream, headers: Mapping[str, str]) -> bytes:
    """A request's body: exactly ``Content-Length`` bytes (none without one)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError(411, "send the body with a Content-Length, not chunked")
    length = content_length(headers)
    if not length:
        return b""
    if length > MAX_BODY_BYTES:
        raise HttpError(413, f"request body over {MAX_BODY_BYTES} bytes")
    return await stream.receive_exactly(length)


def response_head(
    status: int,
    content_type: str,
    *,
    length: int | None,
    extra: Mapping[str, str] | None = None,
) -> bytes:
    """A response head; ``length=None`` makes it a chunked one."""
    lines = [
        f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (extra or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_response(status: int, value: Any, extra: Mapping[str, str] | None = None) -> bytes:
    """A whole response carrying ``value`` as JSON (``TypeError`` if it is not JSON)."""
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    return response_head(status, "application/json", length=len(body), extra=extra) + body


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (never empty: that would end the body)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def request_bytes(path: str, body: bytes, *, host: str, token: str | None) -> bytes:
    """A ``POST`` of a JSON body."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def iter_chunks(stream: BufferedByteReceiveStream) -> AsyncIterator[bytes]:
    """The chunks of a chunked body, until the last (empty) one."""
    while True:
        size_line = await stream.receive_until(b"\r\n", 1024)
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(502, f"malformed chunk size {size_text!r}") from None
        if size > MAX_CHUNK_BYTES:
            raise HttpError(502, f"chunk of {size} bytes is over the limit")
        if size == 0:
            return
        data = await stream.receive_exactly(size)
        await stream.receive_exactly(2)  # the CRLF after the data
        yield data


async def read_response_body(stream: BufferedByteReceiveStream, head: ResponseHead) -> bytes:
    """A whole response body: chunked, ``Content-Length`` bytes, or up to the end."""
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        return b"".join([data async for data in iter_chunks(stream)])
    length = content_length(head.headers)
    if length is not None:
        return await stream.receive_exactly(length)
    parts: list[bytes] = []
    while True:
        try:
            parts.append(await stream.receive())
        except anyio.EndOfStream:  # the server closed after the body
            return b"".join(parts)
