"""A tiny HTTP/1.0 GET client for the autoscaler's metric sources.

The HPA reads two kinds of HTTP endpoint: a pod's Prometheus exposition page and a
Prometheus server's query API. Both are plain ``GET`` requests on loopback or a LAN, so
this is a few dozen lines over anyio TCP streams instead of a dependency: send an
HTTP/1.0 request with ``Connection: close``, read the answer to EOF (an HTTP/1.0 server
sends no chunked encoding; a body that comes chunked anyway is decoded), cap its size,
and put one deadline on the whole exchange.

Every failure is a :class:`MetricsError` whose message reads like Go's ``net/http``
(what the Kubernetes HPA's events show)::

    Get "http://127.0.0.1:9090/api/v1/query": dial tcp 127.0.0.1:9090: connect: connection refused
    Get "http://127.0.0.1:8080/metrics": timeout after 2s
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import anyio
import anyio.abc
import attrs

from orbit.errors import OrbitError

__all__ = [
    "MAX_BODY_BYTES",
    "BaseUrl",
    "HttpResponse",
    "MetricsError",
    "hostport",
    "http_get",
    "parse_base_url",
]

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest response read (headers and body): an exposition page of a few thousand
series is well under a megabyte, so more means a wrong endpoint."""

_USER_AGENT = "orbit-hpa/0.1"
_CONNECT_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
    errno.ECONNRESET: "connection reset by peer",
    errno.ETIMEDOUT: "connection timed out",
}


class MetricsError(OrbitError):
    """A metric could not be read: the endpoint is down, slow, answers an error, or has
    no such data. The message is meant for the HPA's status condition and events."""


@attrs.frozen(kw_only=True)
class HttpResponse:
    """An HTTP answer: ``status`` code, ``headers`` (names lower-cased; a repeated
    header keeps its last value) and the whole ``body``."""

    status: int
    reason: str = ""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""


@attrs.frozen
class BaseUrl:
    """Where a server lives: ``http://host:port`` plus a path ``prefix`` (no trailing
    slash) under which its API is served (Prometheus' ``--web.route-prefix``)."""

    host: str
    port: int
    prefix: str = ""

    def path(self, path: str) -> str:
        """The request path for ``path`` under the prefix."""
        return self.prefix + path

    def url(self, path: str = "") -> str:
        """The full URL of ``path`` under the prefix, for messages."""
        return f"http://{hostport(self.host, self.port)}{self.prefix}{path}"


def hostport(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_base_url(url: str) -> BaseUrl:
    """Parse ``http://host[:port][/prefix]`` (port 80 by default); ``ValueError`` for
    anything else, including ``https`` (not supported: loopback and LAN only)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "http":
        raise ValueError(f"unsupported URL {url!r}: only http://host:port[/prefix] is supported")
    try:
        port = parts.port or 80
    except ValueError as exc:
        raise ValueError(f"invalid port in URL {url!r}") from exc
    if not parts.hostname:
        raise ValueError(f"URL {url!r} has no host")
    if parts.query or parts.fragment:
        raise ValueError(f"URL {url!r} may not have a query or fragment")
    return BaseUrl(parts.hostname, port, parts.path.rstrip("/"))


def _timeout_text(seconds: float) -> str:
    return f"{seconds:g}s"


def _dial_error(host: str, port: int, exc: OSError) -> str:
    """Go's wording for a failed dial: ``dial tcp 127.0.0.1:1: connect: connection refused``."""
    if isinstance(exc, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    cause: BaseException | None = exc
    while cause is not None:
        code = getattr(cause, "errno", None)
        if isinstance(code, int) and code > 0:
            word = _CONNECT_WORDS.get(code, os.strerror(code).lower())
            return f"dial tcp {hostport(host, port)}: connect: {word}"
        cause = cause.__cause__
    return f"dial tcp {hostport(host, port)}: {exc}"


def _request(host: str, port: int, path: str, headers: Mapping[str, str] | None) -> bytes:
    fields = {"Host": hostport(host, port), "User-Agent": _USER_AGENT, "Accept": "*/*"}
    for name, value in (headers or {}).items():
        fields = {k: v for k, v in fields.items() if k.lower() != name.lower()}
        fields[name] = value
    fields["Connection"] = "close"
    lines = [f"GET {path} HTTP/1.0", *(f"{k}: {v}" for k, v in fields.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1", errors="replace")


async def _read_all(stream: anyio.abc.ByteStream, url: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise MetricsError(f'Get "{url}": response larger than {limit // (1024 * 1024)} MiB')
        chunks.append(chunk)


def _dechunk(body: bytes, url: str) -> bytes:
    """Decode a ``Transfer-Encoding: chunked`` body (a server that ignores HTTP/1.0)."""
    out: list[bytes] = []
    at = 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            raise MetricsError(f'Get "{url}": truncated chunked body')
        try:
            size = int(body[at:end].split(b";", 1)[0], 16)
        except ValueError:
            raise MetricsError(f'Get "{url}": malformed chunked body') from None
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2 : end + 2 + size])
        at = end + 2 + size + 2


def _parse_response(raw: bytes, url: str) -> HttpResponse:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    parts = lines[0].split(" ", 2) if lines else []
    if not raw:
        raise MetricsError(f'Get "{url}": EOF')
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        shown = (lines[0] if lines else "")[:64]
        raise MetricsError(f'Get "{url}": malformed HTTP response "{shown}"')
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body, url)
    elif headers.get("content-length", "").isdigit():
        body = body[: int(headers["content-length"])]
    return HttpResponse(
        status=int(parts[1]), reason=parts[2] if len(parts) > 2 else "", headers=headers, body=body
    )


async def http_get(
    host: str,
    port: int,
    path: str,
    *,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> HttpResponse:
    """``GET path`` from ``host:port`` over HTTP/1.0, all within ``timeout_s``.

    Any status is returned (the caller judges it); a failed connection, a timeout, an
    oversized or malformed answer raise :class:`MetricsError`.
    """
    url = f"http://{hostport(host, port)}{path.split('?', 1)[0]}"
    try:
        with anyio.fail_after(timeout_s):
            try:
                stream = await anyio.connect_tcp(host, port)
            except OSError as exc:
                raise MetricsError(f'Get "{url}": {_dial_error(host, port, exc)}') from exc
            try:
                await stream.send(_request(host, port, path, headers))
                raw = await _read_all(stream, url, max_body_bytes)
            except (OSError, anyio.BrokenResourceError) as exc:
                raise MetricsError(f'Get "{url}": {exc or type(exc).__name__}') from exc
            finally:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
    except TimeoutError:
        raise MetricsError(f'Get "{url}": timeout after {_timeout_text(timeout_s)}') from None
    return _parse_response(raw, url)
