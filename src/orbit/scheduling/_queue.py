"""The scheduling queue: which pending pod the scheduler tries next.

Kubernetes' three queues, as pure data with an injected clock reading:

- **active**: pods ready to be tried, best first (the profile's QueueSort; by default
  higher ``spec.priority`` first, then older first);
- **backoff**: pods that failed recently, each waiting its backoff (1 s, doubling per
  failed attempt, capped at 10 s: kube-scheduler's defaults) before going back to
  active;
- **unschedulable**: pods no node could take. They stay parked until a cluster event
  that may help (a node added or changed, a pod deleted) moves them back, or until
  they have waited ``max_unschedulable_s`` (kube-scheduler's 5 minutes), so a pod is
  never stuck forever because an event was missed.

The queue never sleeps and never reads a clock itself: ``now`` is passed in, and
``next_deadline()`` tells the scheduler loop when to look again. That keeps backoff
exact under the simulator's virtual clock and trivially unit-testable.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import attrs

__all__ = ["QueuedPod", "SchedulingQueue", "pod_priority", "priority_less"]

PodKey = tuple[str, str]  # (namespace, name)


def pod_priority(pod: Any) -> int:
    """A pod's priority (``spec.priority``; 0 when unset, as without a PriorityClass)."""
    priority = pod.spec.priority
    return 0 if priority is None else int(priority)


@attrs.define(eq=False)
class QueuedPod:
    """A pending pod and its scheduling history."""

    pod: Any
    key: PodKey
    added_at: float  # when it first entered the queue (age for the sort)
    attempts: int = 0
    backoff_until: float = 0.0
    unschedulable_since: float | None = None


def priority_less(a: QueuedPod, b: QueuedPod) -> bool:
    """Kubernetes' PrioritySort: higher priority first, then the older pod first."""
    pa, pb = pod_priority(a.pod), pod_priority(b.pod)
    if pa != pb:
        return pa > pb
    return a.added_at < b.added_at


class _Ordered:
    """Heap entry wrapping a QueuedPod with the queue's ``less``."""

    __slots__ = ("item", "less", "seq")

    def __init__(self, item: QueuedPod, less: Callable[[QueuedPod, QueuedPod], bool], seq: int):
        self.item, self.less, self.seq = item, less, seq

    def __lt__(self, other: _Ordered) -> bool:
        if self.less(self.item, other.item):
            return True
        if self.less(other.item, self.item):
            return False
        return self.seq < other.seq


class SchedulingQueue:
    """Active, backoff and unschedulable pods; see the module docstring."""

    def __init__(
        self,
        *,
        less: Callable[[QueuedPod, QueuedPod], bool] = priority_less,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 10.0,
        max_unschedulable_s: float = 300.0,
    ) -> None:
        self._less = less
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_unschedulable_s = max_unschedulable_s
        self._seq = itertools.count()
        self._active: list[_Ordered] = []
        self._backoff: list[tuple[float, int, QueuedPod]] = []
        self._unschedulable: dict[PodKey, QueuedPod] = {}
        self._where: dict[PodKey, str] = {}  # key -> "active" | "backoff" | "unschedulable"
        self._items: dict[PodKey, QueuedPod] = {}
        self._in_flight: dict[PodKey, QueuedPod] = {}

    # -- adding and removing -----------------------------------------------------

    def add(self, pod: Any, now: float) -> None:
        """A new pending pod (or one changed while pending): straight to active."""
        key = (pod.metadata.namespace, pod.metadata.name)
        known = self._items.get(key) or self._in_flight.get(key)
        if known is not None:
            known.pod = pod
            if self._where.get(key) == "unschedulable":
                self._move(known, now)  # an update may make it schedulable
            return
        item = QueuedPod(pod=pod, key=key, added_at=now)
        self._items[key] = item
        self._push_active(item)

    def delete(self, key: PodKey) -> None:
        """Forget a pod (deleted, or bound by someone else). Lazy for the heaps."""
        self._items.pop(key, None)
        self._where.pop(key, None)
        self._unschedulable.pop(key, None)
        self._in_flight.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items or key in self._in_flight

    def __len__(self) -> int:
        return len(self._items) + len(self._in_flight)

    # -- the scheduling cycle ----------------------------------------------------

    def pop(self, now: float) -> QueuedPod | None:
        """The best pod to try now (moving expired backoffs first), or None."""
        self.flush(now)
        while self._active:
            entry = heapq.heappop(self._active)
            item = entry.item
            if self._where.get(item.key) == "active" and self._items.get(item.key) is item:
                del self._where[item.key]
                del self._items[item.key]
                self._in_flight[item.key] = item
                return item
        return None

    def take(self, key: PodKey) -> QueuedPod | None:
        """Take a specific pod out of whatever queue it waits in, as if popped (the
        scheduler schedules a gang's members together)."""
        item = self._items.pop(key, None)
        if item is None:
            return None
        self._where.pop(key, None)
        self._unschedulable.pop(key, None)
        self._in_flight[key] = item
        return item

    def done(self, key: PodKey) -> None:
        """The popped pod was bound (or given up): it leaves the queue."""
        self._in_flight.pop(key, None)

    def requeue_unschedulable(self, item: QueuedPod, now: float) -> None:
        """The popped pod fit no node: park it until an event may help."""
        if self._in_flight.pop(item.key, None) is None:
            return  # deleted while it was being scheduled
        item.attempts += 1
        item.backoff_until = now + self.backoff_s(item.attempts)
        item.unschedulable_since = now
        self._items[item.key] = item
        self._where[item.key] = "unschedulable"
        self._unschedulable[item.key] = item

    def requeue_error(self, item: QueuedPod, now: float) -> None:
        """The popped pod hit an error (a bind conflict): retry after its backoff."""
        if self._in_flight.pop(item.key, None) is None:
            return
        item.attempts += 1
        item.backoff_until = now + self.backoff_s(item.attempts)
        self._items[item.key] = item
        self._push_backoff(item)

    def backoff_s(self, attempts: int) -> float:
        """1 s after the first failure, doubling, capped at ``max_backoff_s``."""
        if attempts <= 0:
            return 0.0
        return float(min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** (attempts - 1)))

    # -- events and time ---------------------------------------------------------

    def move_all_to_active(self, now: float) -> int:
        """A cluster event that may help: every parked pod goes back, to active if
        its backoff has passed, else to backoff. Returns how many moved."""
        moved = list(self._unschedulable.values())
        for item in moved:
            self._move(item, now)
        return len(moved)

    def flush(self, now: float) -> None:
        """Backoffs that ended go to active; pods parked too long are retried."""
        while self._backoff and self._backoff[0][0] <= now:
            _, _, item = heapq.heappop(self._backoff)
            if self._where.get(item.key) == "backoff" and self._items.get(item.key) is item:
                self._push_active(item)
        for item in list(self._unschedulable.values()):
            assert item.unschedulable_since is not None
            if now - item.unschedulable_since >= self.max_unschedulable_s:
                self._move(item, now)

    def next_deadline(self) -> float | None:
        """When something parked becomes due by time alone (None: nothing is)."""
        times = [t for t, _, item in self._backoff if self._where.get(item.key) == "backoff"]
        times += [
            item.unschedulable_since + self.max_unschedulable_s
            for item in self._unschedulable.values()
            if item.unschedulable_since is not None
        ]
        return min(times) if times else None

    def has_active(self) -> bool:
        """Whether a pod is ready to be popped (stale heap entries aside)."""
        return any(where == "active" for where in self._where.values())

    def pending(self) -> Iterator[QueuedPod]:
        """Every queued pod, wherever it waits (for metrics and debugging)."""
        yield from self._items.values()
        yield from self._in_flight.values()

    def counts(self) -> dict[str, int]:
        """How many pods wait in each queue."""
        counts = {"active": 0, "backoff": 0, "unschedulable": 0}
        for where in self._where.values():
            counts[where] += 1
        counts["in_flight"] = len(self._in_flight)
        return counts

    # -- internals ---------------------------------------------------------------

    def _move(self, item: QueuedPod, now: float) -> None:
        self._unschedulable.pop(item.key, None)
        item.unschedulable_since = None
        if item.backoff_until > now:
            self._push_backoff(item)
        else:
            self._push_active(item)

    def _push_active(self, item: QueuedPod) -> None:
        self._where[item.key] = "active"
        heapq.heappush(self._active, _Ordered(item, self._less, next(self._seq)))

    def _push_backoff(self, item: QueuedPod) -> None:
        self._where[item.key] = "backoff"
        heapq.heappush(self._backoff, (item.backoff_until, next(self._seq), item))
