"""Zones and the rate at which the node lifecycle controller taints nodes NoExecute.

Kubernetes does not taint every failing node at once: it groups nodes into zones (the
``topology.kubernetes.io/region`` and ``/zone`` labels, beta labels first) and taints
through one rate-limited queue per zone, whose rate follows the zone's health
(``handleDisruption``):

- **Normal**: 0.1 nodes per second (``--node-eviction-rate``), burst 1;
- **PartialDisruption** (more than 2 nodes and at least 55 % of the zone not Ready,
  ``--unhealthy-zone-threshold``): 0.01 per second in zones of more than 50 nodes
  (``--secondary-node-eviction-rate``, ``--large-cluster-size-threshold``), none in
  smaller ones;
- **FullDisruption** (no node Ready): the normal rate, unless *every* zone is fully
  disrupted: then the controller assumes the problem is its own view, removes every
  NoExecute taint it set and stops tainting until some node is Ready again.

A node without a Ready condition counts as not Ready. The queue keeps each node once:
after it was tainted it stays known (``UniqueQueue.RemoveFromQueue``) until
:meth:`TaintQueue.remove`, so marking it again does nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from typing import Final

from orbit.api import Node

__all__ = [
    "TaintQueue",
    "TokenBucket",
    "ZoneState",
    "zone_key",
    "zone_state",
]

_ZONE_LABELS: Final = (
    ("failure-domain.beta.kubernetes.io/region", "topology.kubernetes.io/region"),
    ("failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/zone"),
)


class ZoneState(Enum):
    """A zone's health as the node lifecycle controller sees it."""

    INITIAL = "Initial"
    NORMAL = "Normal"
    FULL_DISRUPTION = "FullDisruption"
    PARTIAL_DISRUPTION = "PartialDisruption"


def zone_key(node: Node) -> str:
    """``region:\\x00:zone`` from the node's labels, "" when it has neither
    (Kubernetes' ``GetZoneKey``; the beta labels win over the GA ones)."""
    labels = node.metadata.labels
    region, zone = (
        labels[beta] if beta in labels else labels.get(ga, "") for beta, ga in _ZONE_LABELS
    )
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"


def zone_state(size: int, not_ready: int, unhealthy_threshold: float = 0.55) -> ZoneState:
    """A zone's state from its node count and how many are not Ready
    (``ComputeZoneState``)."""
    if not_ready == size and size > 0:
        return ZoneState.FULL_DISRUPTION
    if not_ready > 2 and not_ready / size >= unhealthy_threshold:
        return ZoneState.PARTIAL_DISRUPTION
    return ZoneState.NORMAL


class TokenBucket:
    """client-go's token-bucket rate limiter with burst 1 (``qps <= 0``: never
    accepts). Starts full; times are one clock's readings."""

    def __init__(self, qps: float, now: float, *, burst: int = 1) -> None:
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst) if qps > 0 else 0.0
        self._at = now

    def _refill(self, now: float) -> None:
        if self.qps > 0 and now > self._at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.qps)
        self._at = max(self._at, now)

    def try_accept(self, now: float) -> bool:
        """Take a token if one is there."""
        self._refill(now)
        if self.qps > 0 and self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def next_token_at(self, now: float) -> float:
        """When the next token will be there (``inf`` when never)."""
        if self.qps <= 0:
            return math.inf
        self._refill(now)
        return now if self._tokens >= 1.0 else now + (1.0 - self._tokens) / self.qps

    def swapped(self, qps: float, now: float) -> TokenBucket:
        """The limiter for a new rate (``SwapLimiter``): a new bucket, drained at once
        when this one has no token left (so a swap never grants an extra one)."""
        if qps == self.qps:
            return self
        bucket = TokenBucket(qps, now, burst=self.burst)
        if qps > 0 and not self.try_accept(now):
            bucket.try_accept(now)
        return bucket


class TaintQueue:
    """One zone's queue of nodes to taint NoExecute, at the zone's rate
    (``RateLimitedTimedQueue`` over a ``UniqueQueue``)."""

    def __init__(self, limiter: TokenBucket) -> None:
        self.limiter = limiter
        self._pending: dict[str, None] = {}  # in the order they were added
        self._known: set[str] = set()

    def add(self, name: str) -> bool:
        """Queue ``name`` unless it is queued or was processed and not removed since."""
        if name in self._known:
            return False
        self._known.add(name)
        self._pending[name] = None
        return True

    def remove(self, name: str) -> None:
        """Forget ``name`` altogether (it may be added again)."""
        self._known.discard(name)
        self._pending.pop(name, None)

    def __len__(self) -> int:
        return len(self._pending)

    def next_attempt_at(self, now: float) -> float:
        """When :meth:`process` could next do something (``inf``: nothing to do)."""
        return self.limiter.next_token_at(now) if self._pending else math.inf

    def process(self, now: float, work: Callable[[str], bool]) -> None:
        """Hand queued names to ``work`` in order while the limiter grants tokens;
        ``work`` returns False to keep a name queued for the next attempt."""
        for name in list(self._pending):
            if not self.limiter.try_accept(now):
                return
            if work(name):
                self._pending.pop(name, None)
