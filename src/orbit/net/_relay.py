"""One proxied connection: two asyncio transports that write into each other.

This is the hot path, so it is made of callbacks and nothing else: each chunk the event
loop reads from one socket (``data_received``) is handed to the other transport's
``write``, which sends it at once or buffers it. No task, no stream reader, no Python
loop per byte or per chunk beyond that one call.

Backpressure: when a transport's write buffer rises above its high-water mark, asyncio
calls ``pause_writing`` on *its* protocol, which stops reading from the other socket;
``resume_writing`` (the buffer fell below the low-water mark) reads again. So a slow
reader slows its writer down through TCP, and the proxy buffers at most about one
high-water mark per direction.

Redispatch on an empty response (HAProxy's ``retry-on empty-response``): until the
upstream has sent its first byte, what the client sends is also kept (up to
:data:`REPLAY_LIMIT` bytes). If the upstream then closes or resets without a byte of
answer (a pod killed from outside, a server that closed its listening socket with the
connection still in its backlog), the connection is not failed: ``on_retry`` dials
another endpoint and the kept bytes are sent again there. The client never sees the
failed endpoint. Once the first byte of a response has passed, or the client sent more
than the limit, the relay is on the callbacks-only path for good.

Half-close: an EOF from one side (``eof_received``) becomes ``write_eof`` on the other
(a TCP FIN after the buffered data), and the connection stays open in the other
direction until that side ends too; then both transports close. A reset or error on
one side aborts the other (a truncated stream must not look like a clean end).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from ._balance import Endpoint

__all__ = ["REPLAY_LIMIT", "Relay", "Side"]


class Side(asyncio.Protocol):
    """One socket of a relay. Until the pair is complete, what it reads is held and
    reading is paused (asyncio honours a pause in ``connection_made``; uvloop starts
    reading after it anyway, hence the holding)."""

    __slots__ = ("data_received", "eof", "held", "peer", "relay", "transport")

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self.peer: Side | None = None
        self.held: list[bytes] = []
        self.eof = False
        # ``data_received`` is an attribute, not a method: once paired it *is* the peer
        # transport's ``write``, so a chunk read is a chunk handed over with no Python
        # frame of ours in between (none at all on uvloop, whose write is C)
        self.data_received: Callable[[bytes], None] = self._hold  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.pause_reading()

    def _hold(self, data: bytes) -> None:
        """Keep what arrives before the pair is complete, and stop reading."""
        self.held.append(data)
        if self.transport is not None:
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        if not self.eof:
            self.eof = True
            self.relay.half_closed(self)
        return True  # keep the transport: the other direction may still flow

    def pause_writing(self) -> None:
        peer = self.peer
        if peer is not None and not peer.eof and peer.transport is not None:
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        peer = self.peer
        if peer is not None and not peer.eof and peer.transport is not None:
            peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.lost(self, exc)


REPLAY_LIMIT = 64 * 1024
"""Bytes of a request kept for sending again to another endpoint (see above)."""


class Relay:
    """A client connection joined to a connection to ``endpoint``.

    ``upstream`` connects first (its protocol factory is :attr:`upstream`), then the
    accepted client socket is wrapped (:attr:`client`), then :meth:`start` pairs them.
    ``on_close`` is called once, when the relay ends. ``on_retry`` is called when the
    upstream ended before answering and the request can be sent again; it returns
    whether it will dial another endpoint (then :meth:`reconnected` or
    :meth:`give_up` follows).
    """

    __slots__ = (
        "_limits",
        "_on_close",
        "_on_retry",
        "client",
        "client_ip",
        "done",
        "endpoint",
        "replay",
        "replay_size",
        "tried",
        "upstream",
    )

    def __init__(
        self,
        endpoint: Endpoint,
        on_close: Callable[[Relay], None],
        on_retry: Callable[[Relay], bool] | None = None,
        client_ip: str = "",
    ) -> None:
        self.endpoint = endpoint
        self._on_close = on_close
        self._on_retry = on_retry
        self.client_ip = client_ip
        self.upstream = Side(self)
        self.client = Side(self)
        self.done = False
        self.replay: list[bytes] | None = [] if on_retry is not None else None
        self.replay_size = 0
        self.tried: set[Endpoint] = {endpoint}
        self._limits = (0, 0)

    def start(self, *, high_water: int, low_water: int) -> None:
        """Pair the two sides, pass on what each held, and let data flow."""
        self._limits = (high_water, low_water)
        client = self.client
        assert client.transport is not None
        client.transport.set_write_buffer_limits(high=high_water, low=low_water)
        self._pair()
        if client.eof:  # ended before the pair was complete
            client.eof = False
            client.eof_received()
        elif client.transport is not None:
            client.transport.resume_reading()

    def _pair(self) -> None:
        """Join the client to the current upstream, passing on what either held."""
        client, upstream = self.client, self.upstream
        assert client.transport is not None
        assert upstream.transport is not None
        high_water, low_water = self._limits
        client.peer, upstream.peer = upstream, client
        upstream.transport.set_write_buffer_limits(high=high_water, low=low_water)
        if self.replay is None:
            client.data_received = upstream.transport.write
            upstream.data_received = client.transport.write
        else:
            client.data_received = self._forward_and_keep
            upstream.data_received = self._first_response
        for data in client.held:
            client.data_received(data)
        client.held.clear()
        held, upstream.held = upstream.held, []
        # uvloop looks ``data_received`` up once, when a protocol is set: set it again
        client.transport.set_protocol(client)
        upstream.transport.set_protocol(upstream)
        for data in held:
            upstream.data_received(data)
        if upstream.eof:
            upstream.eof = False
            upstream.eof_received()
        elif upstream.transport is not None:
            upstream.transport.resume_reading()

    # -- the request kept for a redispatch -------------------------------------------

    def _forward_and_keep(self, data: bytes) -> None:
        upstream = self.upstream.transport
        if upstream is not None:
            upstream.write(data)
        if self.replay is None:
            return
        self.replay_size += len(data)
        if self.replay_size > REPLAY_LIMIT:
            self._fast_path()  # too much to send again: no redispatch for this one
        else:
            self.replay.append(data)

    def _first_response(self, data: bytes) -> None:
        self._fast_path()
        client = self.client.transport
        if client is not None:
            client.write(data)

    def _fast_path(self) -> None:
        """From now on each side writes straight into the other."""
        self.replay = None
        client, upstream = self.client, self.upstream
        if client.transport is None or upstream.transport is None:
            return
        client.data_received = upstream.transport.write
        upstream.data_received = client.transport.write
        client.transport.set_protocol(client)
        upstream.transport.set_protocol(upstream)

    def _can_retry(self, side: Side) -> bool:
        return (
            side is self.upstream
            and self.replay is not None
            and self._on_retry is not None
            and not self.done
            and self.client.transport is not None
            and not self.client.transport.is_closing()
        )

    def _retry(self) -> bool:
        """The upstream ended before answering: let ``on_retry`` dial another."""
        assert self._on_retry is not None
        failed = self.upstream
        failed.peer = None
        if failed.transport is not None:
            failed.transport.abort()
        self.upstream = Side(self)
        if self.client.transport is not None:
            self.client.transport.pause_reading()  # kept bytes go first, then the rest
        if self._on_retry(self):
            return True
        self.give_up()
        return False

    def reconnected(self, endpoint: Endpoint) -> None:
        """``on_retry`` connected :attr:`upstream` to ``endpoint``: send the kept
        request again and carry on."""
        self.endpoint = endpoint
        self.tried.add(endpoint)
        upstream = self.upstream.transport
        assert upstream is not None
        for data in self.replay or ():
            upstream.write(data)
        client = self.client
        self.client.held.clear()
        self._pair()
        if client.eof and upstream.can_write_eof():
            upstream.write_eof()
        elif client.transport is not None:
            client.transport.resume_reading()

    def give_up(self) -> None:
        """No other endpoint answered: the client sees a reset."""
        if self.client.transport is not None:
            self.client.transport.abort()
        if not self.done:
            self.done = True
            self._on_close(self)

    def half_closed(self, side: Side) -> None:
        """``side`` sent EOF: pass it on, or close both when the other did already;
        an upstream that ends without answering is replaced (redispatch)."""
        if side is not self.client and side is not self.upstream:
            return  # a failed upstream, replaced already
        if self._can_retry(side):
            self._retry()
            return
        peer = side.peer
        if peer is None or peer.transport is None:
            return
        if peer.eof:
            self.close()
        elif peer.transport.can_write_eof():
            peer.transport.write_eof()

    def close(self) -> None:
        """Close both sockets once their buffered data is sent."""
        for side in (self.client, self.upstream):
            if side.transport is not None:
                side.transport.close()

    def abort(self) -> None:
        """Close both sockets at once, dropping buffered data (the peers see a reset)."""
        for side in (self.client, self.upstream):
            if side.transport is not None:
                side.transport.abort()

    def lost(self, side: Side, exc: Exception | None) -> None:
        """One socket is gone: end the other the same way, clean or not (an upstream
        gone before answering is replaced instead, when the request can be resent)."""
        if side is not self.client and side is not self.upstream:
            return  # a failed upstream, replaced already
        if self._can_retry(side):
            self._retry()
            return
        other = self.client if side is self.upstream else self.upstream
        if other.transport is not None:
            if exc is None:
                other.transport.close()
            else:
                other.transport.abort()
        if not self.done:
            self.done = True
            self._on_close(self)
