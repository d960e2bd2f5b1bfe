"""orbit's own Prometheus metrics: what the cluster's loops are doing, per cluster.

``OrbitMetrics(store)`` holds a registry of its own with the scheduler's attempts and
latency, reconciles and their errors per controller (fed by hooks as they happen), and
pods by phase, pending pods, container restarts, HPA replicas, node-pool sizes and the
service proxy's connections (read from the store and the proxy at scrape time); its
``serve()`` answers ``GET /metrics`` on a loopback port. Every name follows
Prometheus' conventions: an ``orbit_`` prefix, base units, ``_total`` counters. This
layer imports nothing of orbit but ``orbit.api``, ``orbit.store`` and
``orbit.scheduling``.
"""

from ._events import RECONCILE_BUCKETS as RECONCILE_BUCKETS
from ._events import SCHEDULING_BUCKETS as SCHEDULING_BUCKETS
from ._events import EventMetrics as EventMetrics
from ._events import exponential_buckets as exponential_buckets
from ._orbit import OrbitMetrics as OrbitMetrics
from ._scheduling import SchedulingMetrics as SchedulingMetrics
from ._server import METRICS_PATH as METRICS_PATH
from ._state import NODE_POOL_LABEL as NODE_POOL_LABEL
from ._state import ConnectionCounts as ConnectionCounts
from ._state import StateCollector as StateCollector

__all__ = [
    "ConnectionCounts",
    "EventMetrics",
    "METRICS_PATH",
    "NODE_POOL_LABEL",
    "OrbitMetrics",
    "RECONCILE_BUCKETS",
    "SCHEDULING_BUCKETS",
    "SchedulingMetrics",
    "StateCollector",
    "exponential_buckets",
]
