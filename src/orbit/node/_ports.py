"""Host ports for containers: each declared container port gets a free 127.0.0.1 port.

Pods on process and Docker nodes share the host's network (Nomad-style), so two pods
that both declare ``containerPort: 8080`` cannot both listen on it. orbit hands each
declared port a free loopback TCP port instead and passes it in (``PORT``,
``ORBIT_PORT_<NAME>``). A pod keeps its ports across container restarts; they are
released when the pod is gone.

:class:`SocketPorts` asks the kernel (bind port 0, read the port, close) and keeps the
ports it handed out reserved, so two pods never get the same one even before either
listens. It is shared by every node of a cluster on the same host. :class:`CountingPorts`
makes ports up from a counter without touching sockets: for simulated nodes, whose
"containers" never listen, and runs that must be deterministic.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Protocol

__all__ = ["CountingPorts", "PortAllocator", "SocketPorts", "host_ports"]


class PortAllocator(Protocol):
    """Hands out host ports and takes them back."""

    def allocate(self) -> int:
        """A port no other holder has."""
        ...

    def reserve(self, ports: Iterable[int]) -> None:
        """Mark ports as taken (containers adopted after a restart keep theirs)."""
        ...

    def release(self, ports: Iterable[int]) -> None:
        """Give ports back."""
        ...


class SocketPorts:
    """Free 127.0.0.1 TCP ports found by binding port 0 (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1", attempts: int = 64) -> None:
        self.host = host
        self._attempts = attempts
        self.reserved: set[int] = set()

    def allocate(self) -> int:
        for _ in range(self._attempts):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((self.host, 0))
                port = int(probe.getsockname()[1])
            if port not in self.reserved:
                self.reserved.add(port)
                return port
        raise OSError(f"no free TCP port on {self.host} after {self._attempts} attempts")

    def reserve(self, ports: Iterable[int]) -> None:
        self.reserved.update(ports)

    def release(self, ports: Iterable[int]) -> None:
        self.reserved.difference_update(ports)


class CountingPorts:
    """Ports from a counter (``first``, ``first + 1``...), reused once released."""

    def __init__(self, first: int = 20000, last: int = 65535) -> None:
        self._next = first
        self._last = last
        self._free: list[int] = []
        self.reserved: set[int] = set()

    def allocate(self) -> int:
        while self._free:
            port = self._free.pop()
            if port not in self.reserved:
                self.reserved.add(port)
                return port
        while self._next <= self._last:
            port = self._next
            self._next += 1
            if port not in self.reserved:
                self.reserved.add(port)
                return port
        raise OSError("no port left in the simulated range")

    def reserve(self, ports: Iterable[int]) -> None:
        self.reserved.update(ports)

    def release(self, ports: Iterable[int]) -> None:
        for port in ports:
            if port in self.reserved:
                self.reserved.discard(port)
                self._free.append(port)


_HOST = SocketPorts()


def host_ports() -> SocketPorts:
    """The process-wide allocator of loopback ports: every cluster of this process
    shares the host's port space, so they share one reserved set."""
    return _HOST
