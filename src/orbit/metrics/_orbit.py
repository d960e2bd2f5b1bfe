"""``OrbitMetrics``: one cluster's own Prometheus metrics, wired and served.

It owns a registry of its own (never prometheus_client's global ``REGISTRY``: two
clusters in one process must not share or clash) holding the hook-fed event metrics
(:mod:`._events`) and the store-reading collector (:mod:`._state`), and hands out the
hooks the cluster plugs in:

```
 Frameworks(instruments=[m.scheduling_instrument]) ─► attempts, latency ─┐
 ControllerLoop(observe=m.observe_reconcile)      ─► reconciles, errors ─┤
 m.bind_proxy(proxy), m.bind_node_pools(names)    ─► read at scrape ─────┤ registry ─► GET /metrics
 the store                                        ─► read at scrape ─────┘          (m.serve)
```
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import anyio
import anyio.abc
from prometheus_client import CollectorRegistry

from orbit.store import Store

from ._events import EventMetrics
from ._scheduling import SchedulingMetrics
from ._server import METRICS_PATH, open_listener, serve_listener
from ._state import ConnectionCounts, StateCollector

__all__ = ["OrbitMetrics"]


class OrbitMetrics:
    """A cluster's metrics (module docstring).

    Args:
        store: the cluster's store; pods, HPAs and nodes are read from it per scrape.
        timer: wall seconds from an arbitrary origin for the scheduling latency
            (``time.perf_counter``; a fake one makes durations exact in tests).
    """

    def __init__(self, store: Store, *, timer: Callable[[], float] = time.perf_counter) -> None:
        self.registry = CollectorRegistry()
        self.events = EventMetrics(self.registry)
        self.state = StateCollector(store)
        self.registry.register(self.state)
        self.scheduling_instrument = SchedulingMetrics(self.events, timer=timer)
        self.url: str | None = None
        """``http://host:port/metrics`` while :meth:`serve` runs."""

    def observe_reconcile(self, controller: str, seconds: float, failed: bool) -> None:
        """Record one reconcile: the ``observe`` callback of ``ControllerLoop``."""
        self.events.reconcile(controller, seconds, failed)

    def bind_proxy(self, proxy: ConnectionCounts) -> None:
        """Report the service proxy's connections (read at scrape time)."""
        self.state.proxy = proxy

    def bind_node_pools(self, pools: Callable[[], Iterable[str]]) -> None:
        """Name the node pools, so a pool without nodes reports 0 (not nothing)."""
        self.state.pools = pools

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve ``GET /metrics`` on ``host:port`` until cancelled (loopback and a free
        port by default); ``task_status`` gets the port bound, :attr:`url` the URL."""
        listener, bound = await open_listener(host, port)
        async with listener:
            self.url = f"http://{_client_host(host)}:{bound}{METRICS_PATH}"
            try:
                task_status.started(bound)
                await serve_listener(listener, self.registry)
            finally:
                self.url = None


def _client_host(host: str) -> str:
    """Where a client on this machine dials a server bound to ``host`` (as a URL host)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
