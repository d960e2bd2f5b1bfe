"""Scheduling attempts as metrics: a :class:`~orbit.scheduling.SchedulingInstrument`.

kube-scheduler counts one attempt per pod it pops, with the result known only at the
end: ``unschedulable`` or ``error`` when the scheduling cycle (or reserve) fails,
``scheduled`` once the binding succeeds, ``error`` when the binding fails
(``schedule_one.go``: ``handleSchedulingFailure`` and ``bindingCycle``). Its latency
runs from the start of the cycle to that end, binding included. The framework's hooks
show the same points, so the instrument follows each pod from ``before_cycle`` to the
hook that settles it:

```
 before_cycle ─► after_cycle ─ no node ─► unschedulable | error (the status' code)
                     │ node
                     ▼
                after_reserve ─ failed ─► unschedulable | error
                     │ ok
                     ▼
                after_bind ─ ok ─► scheduled      after_unreserve (binding gave up)
                           └ failed ─► error       ─► error; a gang that did not fit:
                                                      unschedulable (a Permit rejection)
```

Times are wall seconds from ``time.perf_counter``: under the simulator a cycle takes
no virtual time at all, and its real cost is what the histogram is for.

Known limit: the batch (``optimal``) profile's greedy warm start runs real cycles on a
scratch snapshot; a pod the warm start could not place counts one ``unschedulable``
attempt even if the solver then places it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from orbit.api import Pod
from orbit.scheduling import Code, ScheduleResult, SchedulingInstrument, Status

from ._events import AttemptResult, EventMetrics

__all__ = ["GANG_ANNOTATION", "SchedulingMetrics"]

GANG_ANNOTATION: Final = "scheduling.orbit.dev/gang"
"""The scheduler's gang annotation (``orbit.controllers.GANG_ANNOTATION``): a gang
member's reservation undone before binding means its gang did not fit."""

MAX_OPEN: Final = 100_000
"""Pods followed at once at most: a pod placed by a caller that never binds it (a
benchmark driving ``Framework.place``) is forgotten, oldest first, beyond this."""


def _failure(status: Status) -> AttemptResult:
    """kube-scheduler's reading of a failed status: rejected means unschedulable,
    anything else (Error) an internal problem."""
    return "unschedulable" if status.is_rejected else "error"


def _key(pod: Pod) -> str:
    meta = pod.metadata
    return meta.uid or f"{meta.namespace}/{meta.name}"


class SchedulingMetrics(SchedulingInstrument):
    """Feeds ``orbit_scheduler_schedule_attempts_total`` and
    ``orbit_scheduler_scheduling_attempt_duration_seconds`` (module docstring).

    Args:
        metrics: where attempts are counted.
        timer: seconds from an arbitrary origin (``time.perf_counter``; tests pass a
            fake to get exact durations).
    """

    def __init__(
        self, metrics: EventMetrics, *, timer: Callable[[], float] = time.perf_counter
    ) -> None:
        self._metrics = metrics
        self._timer = timer
        self._open: dict[str, tuple[str, float]] = {}  # pod key -> (profile, start)

    @property
    def in_flight(self) -> int:
        """Pods placed in a cycle whose binding has not settled yet."""
        return len(self._open)

    def _start(self, profile: str, pod: Pod) -> None:
        key = _key(pod)
        self._open.pop(key, None)  # re-inserted last: the oldest stays first
        if len(self._open) >= MAX_OPEN:
            del self._open[next(iter(self._open))]
        self._open[key] = (profile, self._timer())

    def _settle(self, pod: Pod, profile: str, result: AttemptResult) -> None:
        started = self._open.pop(_key(pod), None)
        seconds = self._timer() - started[1] if started is not None else None
        self._metrics.attempt(profile, result, seconds)

    # -- the hooks ---------------------------------------------------------------------

    def before_cycle(self, profile: str, pod: Pod) -> None:
        self._start(profile, pod)

    def after_cycle(self, profile: str, pod: Pod, result: ScheduleResult) -> None:
        if not result.scheduled:
            self._settle(pod, profile, _failure(result.status))

    def after_reserve(self, profile: str, pod: Pod, node_name: str, status: Status) -> None:
        if not status.is_success:
            self._settle(pod, profile, _failure(status))
        elif _key(pod) not in self._open:  # placed without a cycle (the batch solver)
            self._start(profile, pod)

    def after_unreserve(self, profile: str, pod: Pod, node_name: str) -> None:
        if _key(pod) not in self._open:
            return  # settled already (a failed reserve or bind undoes itself)
        gang = pod.metadata.annotations.get(GANG_ANNOTATION)
        self._settle(pod, profile, "unschedulable" if gang else "error")

    def after_bind(self, profile: str, pod: Pod, node_name: str, status: Status) -> None:
        if status.is_success or status.code is Code.SKIP:
            self._settle(pod, profile, "scheduled")
        else:
            self._settle(pod, profile, "error")
