"""The event metrics: counters and histograms fed by hooks as things happen.

Scheduling attempts and their latency (kube-scheduler's ``schedule_attempts_total`` and
``scheduling_attempt_duration_seconds``, same labels and buckets) and reconciles per
controller (controller-runtime's ``reconcile_time_seconds`` and
``reconcile_errors_total``). Everything that can be read from the store instead is
left to :mod:`._state`, which reads it at scrape time.

Each :class:`EventMetrics` registers its instruments in the registry it is given, never
in prometheus_client's global one, so two clusters in one process keep their own.
"""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.utils import INF

__all__ = [
    "RECONCILE_BUCKETS",
    "RESULTS",
    "SCHEDULING_BUCKETS",
    "AttemptResult",
    "EventMetrics",
    "exponential_buckets",
]

AttemptResult = Literal["scheduled", "unschedulable", "error"]
RESULTS: Final[tuple[AttemptResult, ...]] = ("scheduled", "unschedulable", "error")


def exponential_buckets(start: float, factor: float, count: int) -> tuple[float, ...]:
    """client_golang's ``ExponentialBuckets``: ``count`` upper bounds from ``start``,
    each ``factor`` times the one before."""
    if count < 1 or start <= 0 or factor <= 1:
        raise ValueError("exponential buckets need count >= 1, start > 0 and factor > 1")
    return tuple(start * factor**i for i in range(count))


SCHEDULING_BUCKETS: Final = (*exponential_buckets(0.001, 2, 15), INF)
"""kube-scheduler's ``ExponentialBuckets(0.001, 2, 15)``: 1 ms to 16.4 s."""

RECONCILE_BUCKETS: Final = (*exponential_buckets(0.0001, 2, 18), INF)
"""0.1 ms to 13.1 s. controller-runtime starts at 5 ms, but orbit reconciles against an
in-memory store, where most take well under a millisecond; the same doubling steps as
the scheduler's keep the histogram informative at that scale."""


class EventMetrics:
    """The hook-fed instruments of one cluster, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.schedule_attempts = Counter(
            "orbit_scheduler_schedule_attempts_total",
            "Number of attempts to schedule pods, by the result. 'unschedulable' means "
            "a pod could not be scheduled, while 'error' means an internal scheduler "
            "problem.",
            ("result", "profile"),
            registry=registry,
        )
        self.scheduling_duration = Histogram(
            "orbit_scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding).",
            ("result", "profile"),
            buckets=SCHEDULING_BUCKETS,
            registry=registry,
        )
        self.reconcile_duration = Histogram(
            "orbit_controller_reconcile_duration_seconds",
            "Time one reconcile of one object took, per controller, in seconds.",
            ("controller",),
            buckets=RECONCILE_BUCKETS,
            registry=registry,
        )
        self.reconcile_errors = Counter(
            "orbit_controller_reconcile_errors_total",
            "Number of reconciles that raised (and were retried), per controller.",
            ("controller",),
            registry=registry,
        )
        self._profiles: set[str] = set()

    def attempt(self, profile: str, result: AttemptResult, seconds: float | None) -> None:
        """Count one scheduling attempt; ``seconds`` None when its start was not seen.
        The first attempt of a profile creates its series for every result at 0, so
        ``rate()`` sees a result's first occurrence."""
        if profile not in self._profiles:
            self._profiles.add(profile)
            for each in RESULTS:
                self.schedule_attempts.labels(each, profile)
        self.schedule_attempts.labels(result, profile).inc()
        if seconds is not None:
            self.scheduling_duration.labels(result, profile).observe(max(seconds, 0.0))

    def reconcile(self, controller: str, seconds: float, failed: bool) -> None:
        """Record one reconcile (the ControllerLoop ``observe`` callback's shape)."""
        self.reconcile_duration.labels(controller).observe(max(seconds, 0.0))
        errors = self.reconcile_errors.labels(controller)  # created at 0 on first sight
        if failed:
            errors.inc()
