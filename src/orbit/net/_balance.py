"""Choosing the endpoint of each new connection to one Service port.

The proxy asks its :class:`Balancer` for a *plan*: every current endpoint once, the
preferred one first. The proxy dials them in that order until one answers, so a dead
endpoint costs a connect attempt, never a client error, and no endpoint is tried twice
for one connection.

Policies (``Policy``):

- ``round-robin`` (the default): a cursor walks the endpoints, one step per planned
  connection (kube-proxy's userspace and IPVS ``rr`` modes; the iptables mode picks at
  random, which spreads the same on average but not connection by connection).
- ``least-connections``: the endpoint with the fewest open connections through this
  proxy first, ties in round-robin order (IPVS ``lc``). Counts include connections being
  set up, so a burst of connects does not pile onto one endpoint.

``sessionAffinity: ClientIP`` pins a client address to the endpoint its last connection
reached, for ``timeoutSeconds`` after that connection (kube-proxy's userspace
``affinityState.lastUsed`` and the iptables ``recent --rcheck --seconds`` rule both
count from the last new connection). A pin to an endpoint that left is dropped; an
affinity hit does not move the round-robin cursor, as in kube-proxy.

Pure bookkeeping over an injected :class:`~orbit.clock.Clock`: no sockets, no tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

from orbit.clock import Clock

__all__ = ["POLICIES", "Balancer", "Endpoint", "Policy"]

Policy = Literal["round-robin", "least-connections"]
POLICIES: tuple[Policy, ...] = ("round-robin", "least-connections")


class Endpoint(NamedTuple):
    """Where a connection can go: an address and the port allocated there."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


class Balancer:
    """Endpoints of one Service port, connection counts, and client pins.

    Args:
        clock: reads ``monotonic()`` for affinity expiry.
        policy: ``round-robin`` or ``least-connections``.
        affinity_timeout_s: pin clients by address for this long after their last
            connection; ``None``: no affinity.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        policy: Policy = "round-robin",
        affinity_timeout_s: float | None = None,
    ) -> None:
        self._clock = clock
        self.policy: Policy = policy
        self.affinity_timeout_s = affinity_timeout_s
        self.endpoints: tuple[Endpoint, ...] = ()
        self._members: frozenset[Endpoint] = frozenset()
        self._cursor = 0
        self.active: dict[Endpoint, int] = {}
        """Open connections per endpoint (endpoints that left keep theirs until drained)."""
        self._pins: dict[str, tuple[Endpoint, float]] = {}
        self._purged_at = clock.monotonic()

    def __contains__(self, endpoint: object) -> bool:
        return endpoint in self._members

    def __len__(self) -> int:
        return len(self.endpoints)

    def configure(self, *, policy: Policy, affinity_timeout_s: float | None) -> None:
        """Change the policy or the affinity; turning affinity off forgets every pin."""
        self.policy = policy
        if affinity_timeout_s is None:
            self._pins.clear()
        self.affinity_timeout_s = affinity_timeout_s

    def update(self, endpoints: Iterable[Endpoint]) -> None:
        """Replace the endpoints (order is kept; duplicates are dropped). The cursor
        keeps its position, pins to endpoints that left are dropped."""
        self.endpoints = tuple(dict.fromkeys(endpoints))
        self._members = frozenset(self.endpoints)
        if self.endpoints:
            self._cursor %= len(self.endpoints)
        else:
            self._cursor = 0
        for client, (endpoint, _) in list(self._pins.items()):
            if endpoint not in self._members:
                del self._pins[client]

    def plan(self, client_ip: str) -> list[Endpoint]:
        """Every current endpoint once, the one to dial first at the head."""
        pinned = self._pinned(client_ip)
        order = self._order(advance=pinned is None)
        if pinned is not None:
            order.remove(pinned)
            order.insert(0, pinned)
        return order

    def connected(self, client_ip: str, endpoint: Endpoint) -> None:
        """A connection from ``client_ip`` reached ``endpoint``: (re)pin the client."""
        if self.affinity_timeout_s is not None and endpoint in self._members:
            self._pins[client_ip] = (endpoint, self._clock.monotonic())

    def acquire(self, endpoint: Endpoint) -> None:
        """Count a connection to ``endpoint`` (from the moment it is dialled)."""
        self.active[endpoint] = self.active.get(endpoint, 0) + 1

    def release(self, endpoint: Endpoint) -> None:
        """Uncount a connection to ``endpoint`` (failed or closed)."""
        left = self.active.get(endpoint, 0) - 1
        if left > 0:
            self.active[endpoint] = left
        else:
            self.active.pop(endpoint, None)

    def pins(self) -> dict[str, Endpoint]:
        """The clients pinned now (expired pins left out)."""
        now = self._clock.monotonic()
        return {c: e for c, (e, at) in self._pins.items() if not self._expired(at, now)}

    # -- internals ---------------------------------------------------------------------

    def _order(self, *, advance: bool) -> list[Endpoint]:
        endpoints = self.endpoints
        if not endpoints:
            return []
        start = self._cursor
        if advance:
            self._cursor = (start + 1) % len(endpoints)
        order = [*endpoints[start:], *endpoints[:start]]
        if self.policy == "least-connections":
            active = self.active
            order.sort(key=lambda endpoint: active.get(endpoint, 0))  # stable: ties rotate
        return order

    def _pinned(self, client_ip: str) -> Endpoint | None:
        if self.affinity_timeout_s is None:
            return None
        now = self._clock.monotonic()
        if now - self._purged_at >= self.affinity_timeout_s:
            self._purge(now)
        pin = self._pins.get(client_ip)
        if pin is None:
            return None
        endpoint, last_used = pin
        if self._expired(last_used, now) or endpoint not in self._members:
            del self._pins[client_ip]
            return None
        return endpoint

    def _expired(self, last_used: float, now: float) -> bool:
        timeout = self.affinity_timeout_s
        return timeout is None or now - last_used >= timeout

    def _purge(self, now: float) -> None:
        """Forget expired pins, so the table stays as small as the live clients."""
        self._purged_at = now
        for client, (_, last_used) in list(self._pins.items()):
            if self._expired(last_used, now):
                del self._pins[client]
