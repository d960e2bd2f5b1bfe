"""A Service port's listening socket, which can refuse connections without letting go
of its port.

With no ready endpoint, kube-proxy installs a REJECT rule: a client's connect fails at
once with "connection refused". orbit does the same without a firewall: it stops
listening. On Linux ``shutdown(SHUT_RD)`` on a listening socket takes it out of the
LISTEN state (the kernel answers new connection attempts with a reset, so ``connect``
raises ``ConnectionRefusedError``) while the socket keeps its address and port; a
later ``listen()`` serves again on the same port. The port must have been bound by
number for that (a socket bound to port 0 would lose it), hence :class:`PortSource`.
Where ``shutdown`` of a listening socket is not supported, the listener keeps
listening and the proxy resets each connection it accepts instead.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import struct
from collections.abc import Iterable
from typing import Protocol

__all__ = ["KernelPorts", "Listener", "PortSource", "reset"]

_log = logging.getLogger("orbit.net")
_ATTEMPTS = 16


class PortSource(Protocol):
    """Hands out free ports and takes them back (``orbit.node.SocketPorts`` is one: give
    the proxy the cluster's, so a proxy port and a pod's port never collide)."""

    def allocate(self) -> int: ...

    def release(self, ports: Iterable[int]) -> None: ...


class KernelPorts:
    """Free ports found by binding port 0 on ``host`` (nothing is reserved)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host

    def allocate(self) -> int:
        with socket.socket(_family(self.host), socket.SOCK_STREAM) as probe:
            probe.bind((self.host, 0))
            return int(probe.getsockname()[1])

    def release(self, ports: Iterable[int]) -> None:
        """Nothing to give back: the kernel knows which ports are bound."""


class Listener:
    """A bound, non-blocking TCP socket on ``address:port``.

    Use :meth:`open`. ``listening`` says whether the kernel accepts connections now.
    """

    def __init__(
        self, sock: socket.socket, address: str, *, backlog: int, source: PortSource | None
    ) -> None:
        self.sock = sock
        self.address = address
        self.port = int(sock.getsockname()[1])
        self.backlog = backlog
        self._source = source  # where an allocated port goes back on close
        self.listening = True
        self.can_refuse = True

    @classmethod
    def open(cls, address: str, port: int, *, ports: PortSource, backlog: int) -> Listener:
        """Listen on ``address:port``, or on a port from ``ports`` when ``port`` is 0;
        ``OSError`` when the port is taken (or ``ports`` keeps handing out taken ones)."""
        if port:
            return cls(_bind(address, port, backlog), address, backlog=backlog, source=None)
        for _ in range(_ATTEMPTS):
            candidate = ports.allocate()
            try:
                sock = _bind(address, candidate, backlog)
            except OSError as exc:
                ports.release([candidate])
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            return cls(sock, address, backlog=backlog, source=ports)
        raise OSError(errno.EADDRINUSE, f"no free port on {address} after {_ATTEMPTS} tries")

    def refuse(self) -> bool:
        """Stop accepting: new connections are refused by the kernel. False when this
        system cannot (``can_refuse`` turns False; the socket keeps listening)."""
        if not self.can_refuse:
            return False
        if self.listening:
            try:
                self.sock.shutdown(socket.SHUT_RD)
            except OSError as exc:
                _log.info("cannot stop listening on %s (%s): resetting connections", self, exc)
                self.can_refuse = False
                return False
            self.listening = False
        return True

    def resume(self) -> None:
        """Accept connections again, on the same port."""
        if not self.listening:
            self.sock.listen(self.backlog)
            self.listening = True

    def close(self) -> None:
        self.sock.close()
        self.listening = False
        if self._source is not None:
            self._source.release([self.port])
            self._source = None

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _bind(address: str, port: int, backlog: int) -> socket.socket:
    sock = socket.socket(_family(address), socket.SOCK_STREAM)
    try:
        # a fixed port must be reusable while old connections sit in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def reset(sock: socket.socket) -> None:
    """Close an accepted socket with a reset (SO_LINGER 0), not a clean FIN: the client
    must not take "no endpoint could be reached" for an empty reply."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
