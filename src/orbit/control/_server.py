"""The control server: a running cluster's verbs over HTTP/1.1 on a Unix socket.

``orbit get`` / ``apply`` / ``logs``... and any other program of the same user reach a
running cluster here. Each connection carries one request, ``POST /v1/<verb>`` with a
JSON object body, answered ``{"result": ...}`` or ``{"error": {...}}``
(:mod:`orbit.control._verbs`, :mod:`orbit.control._errors`); ``logs`` with ``follow``
is answered with a chunked stream, one line per chunk, until the container ends or
the client goes away. The Unix socket is the access control (0600 in a 0700
directory, see :mod:`orbit.control._paths`). A TCP listener is opened only when
asked for, and then every request on it must carry ``Authorization: Bearer <token>``
(compared in constant time). A failing request never takes the server down: orbit's
errors are answered as such, anything else is logged and answered 500.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from functools import partial
from typing import Any, Final

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from orbit.clock import to_datetime

from ._errors import ControlError, error_body
from ._http import (
    LAST_CHUNK,
    HttpError,
    RequestHead,
    chunk,
    json_response,
    parse_request_head,
    read_body,
    read_head,
    response_head,
)
from ._paths import default_socket_path, prepare_socket_path
from ._target import ControlTarget
from ._verbs import VERBS, Env, LineStream, Verb, check_body

__all__ = ["READ_TIMEOUT_S", "ControlServer"]

_log = logging.getLogger("orbit.control")

READ_TIMEOUT_S: Final = 30.0
"""How long a client may take to send its whole request."""

_PREFIX: Final = "/v1/"
_DROPPED = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    anyio.IncompleteRead,
    ConnectionError,
)


class ControlServer:
    """Serves a cluster's verbs on a Unix socket (and, if asked, TCP with a token).

    Args:
        target: the cluster (an :class:`orbit.Cluster`, seen as a
            :class:`~orbit.control.ControlTarget`).
        path: the Unix socket (default: :func:`~orbit.control.default_socket_path`).
        tcp: ``(host, port)`` to listen on TCP as well (port 0: any free port);
            none by default.
        token: the bearer token TCP requests must carry; generated when TCP is on
            and none is given (read it back from :attr:`token`).

    Run it with ``await task_group.start(server.run)``: it is serving when that
    returns, and stops (closing and removing its socket) when cancelled or on
    :meth:`stop`.
    """

    def __init__(
        self,
        target: ControlTarget,
        *,
        path: str | None = None,
        tcp: tuple[str, int] | None = None,
        token: str | None = None,
    ) -> None:
        self.target = target
        self.path = os.path.abspath(path if path is not None else default_socket_path())
        self.tcp = tcp
        if tcp is not None and token is None:
            token = secrets.token_urlsafe(32)
        self.token = token
        self.tcp_address: tuple[str, int] | None = None
        self.active_requests = 0
        self.started_at = ""
        self._scope: anyio.CancelScope | None = None

    @property
    def url(self) -> str | None:
        """``http://host:port`` of the TCP listener once it listens (else None)."""
        if self.tcp_address is None:
            return None
        host, port = self.tcp_address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen and serve until cancelled; ``OrbitError`` when another orbit already
        serves the socket path."""
        prepare_socket_path(self.path)
        unix = await anyio.create_unix_listener(self.path, mode=0o600)
        identity = _identity(self.path)
        listeners: list[tuple[anyio.abc.Listener[Any], bool]] = [(unix, False)]
        try:
            if self.tcp is not None:
                host, port = self.tcp
                tcp = await anyio.create_tcp_listener(local_host=host, local_port=port)
                listeners.append((tcp, True))
                bound = tcp.extra(anyio.abc.SocketAttribute.local_address)
                self.tcp_address = (str(bound[0]), int(bound[1]))
            self.started_at = to_datetime(self.target.clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ")
            with anyio.CancelScope() as self._scope:
                async with anyio.create_task_group() as group:
                    for listener, needs_token in listeners:
                        group.start_soon(listener.serve, partial(self._connection, needs_token))
                    _log.info("control API serving on %s", self.path)
                    task_status.started()
        finally:
            self._scope = None
            with anyio.CancelScope(shield=True):
                for listener, _ in listeners:
                    await listener.aclose()
            if _identity(self.path) == identity:
                os.unlink(self.path)
            self.tcp_address = None

    def stop(self) -> None:
        """Stop serving now (``run`` returns, the socket is removed): a cluster
        shutting down takes no more requests while it stops its pods."""
        if self._scope is not None:
            self._scope.cancel()

    # -- one connection ------------------------------------------------------------

    async def _connection(self, needs_token: bool, stream: anyio.abc.ByteStream) -> None:
        async with stream:
            self.active_requests += 1
            try:
                await self._serve(stream, needs_token)
            except _DROPPED as exc:
                _log.debug("control client went away: %r", exc)
            except Exception:
                _log.exception("control request failed")
            finally:
                self.active_requests -= 1

    async def _serve(self, stream: anyio.abc.ByteStream, needs_token: bool) -> None:
        buffered = BufferedByteReceiveStream(stream)
        try:
            with anyio.fail_after(READ_TIMEOUT_S):
                head = parse_request_head(await read_head(buffered))
                if needs_token:
                    self._authorize(head)
                name, verb = _route(head)
                body = await read_body(buffered, head.headers)
            args = check_body(name, verb.fields, _json(body))
        except HttpError as exc:
            reason = "Unauthorized" if exc.status == 401 else "BadRequest"
            extra = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            error = {"error": {"reason": reason, "message": str(exc)}}
            await stream.send(json_response(exc.status, error, extra))
            return
        except ControlError as exc:
            await stream.send(json_response(*error_body(exc)))
            return
        except TimeoutError:
            _log.debug("control client too slow to send its request")
            return
        await self._answer(stream, buffered, name, verb, args)

    async def _answer(
        self,
        stream: anyio.abc.ByteStream,
        buffered: BufferedByteReceiveStream,
        name: str,
        verb: Verb,
        args: dict[str, Any],
    ) -> None:
        server = {"socket": self.path, "tcp": self.url, "started_at": self.started_at}
        result: Any = None
        try:
            result = await verb.run(Env(self.target, server), args)
            if not isinstance(result, LineStream):
                answer = json_response(200, {"result": result})
        except Exception as exc:
            result = None
            status, body = error_body(exc)
            if status >= 500:
                _log.exception("control verb %s failed", name)
            answer = json_response(status, body)
        if isinstance(result, LineStream):
            await self._stream(stream, buffered, result.lines)
        else:
            await stream.send(answer)

    def _authorize(self, head: RequestHead) -> None:
        scheme, _, given = head.headers.get("authorization", "").partition(" ")
        expected = self.token or ""
        if (
            not expected
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(given.strip().encode(), expected.encode())
        ):
            raise HttpError(401, "a valid bearer token is required")

    async def _stream(
        self,
        stream: anyio.abc.ByteStream,
        buffered: BufferedByteReceiveStream,
        lines: AsyncIterator[str],
    ) -> None:
        """Send ``lines`` chunked as they come; stop when the client goes away (it
        sends nothing more after its request, so any end of its side means gone)."""
        await stream.send(response_head(200, "text/plain; charset=utf-8", length=None))
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_when_gone, buffered, group.cancel_scope)
            try:
                async for line in lines:
                    await stream.send(chunk(line.encode() + b"\n"))
                await stream.send(LAST_CHUNK)
            finally:
                group.cancel_scope.cancel()
                closer = getattr(lines, "aclose", None)
                if closer is not None:
                    with anyio.CancelScope(shield=True):
                        await closer()


async def _cancel_when_gone(buffered: BufferedByteReceiveStream, scope: anyio.CancelScope) -> None:
    try:
        while True:
            await buffered.receive()
    except _DROPPED:
        scope.cancel()


def _route(head: RequestHead) -> tuple[str, Verb]:
    if not head.path.startswith(_PREFIX):
        raise HttpError(404, f"no such path {head.path!r}: use POST /v1/<verb>")
    name = head.path[len(_PREFIX) :]
    verb = VERBS.get(name)
    if verb is None:
        raise HttpError(404, f"unknown verb {name!r} (verbs: {', '.join(sorted(VERBS))})")
    if head.method != "POST":
        raise HttpError(405, f"use POST for /v1/{name}, not {head.method}")
    return name, verb


def _json(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ControlError("BadRequest", f"the request body is not valid JSON: {exc}") from None


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino
