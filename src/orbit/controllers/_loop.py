"""The loop every workload controller runs in: watches feed keys to a work queue, one
worker reconciles them.

This is client-go's controller pattern cut to what one process needs:

- **Watches**, through shared informers (:mod:`._informers`: one watch per kind
  for every controller), map each event of a watched kind to the keys of the
  *primary* kind it concerns: a Pod event to its owning ReplicaSet, a ReplicaSet
  event to itself and its Deployment.
- **A work queue** of ``(namespace, name)`` keys with client-go's guarantees: a key
  waits at most once however often it is added; a key added while it is being
  reconciled runs again afterwards; a key can be added after a delay (``requeue
  after``, for minReadySeconds, deadlines and backoff; a key waits for its earliest
  such time only); a reconcile that raises is
  retried with per-key exponential backoff (5 ms doubling to 1000 s, client-go's
  default item rate limiter) and logged, never crashing the loop.
- **A reconciler** does the work: ``reconcile(key)`` reads what it needs from the
  store and writes the result. The store is in memory and synchronous, so reads are
  never stale and client-go's "expectations" (which paper over a lagging cache) are
  not needed. It returns ``None`` or the seconds after which to look again.

Delays run on the cluster's clock, so the same loop keeps exact time under the
simulator's virtual clock.
"""

from __future__ import annotations

import heapq
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, cast

import anyio
import anyio.abc
import attrs

from orbit.clock import Clock
from orbit.errors import Conflict
from orbit.store import EventType, KindRef, Store

from ._informers import Informers

__all__ = [
    "ControllerLoop",
    "Key",
    "KeyMapper",
    "Reconciler",
    "RetryLater",
    "Watched",
    "controller_owner_key",
    "own_key",
]

_log = logging.getLogger("orbit.controllers")

Key = tuple[str, str]
"""(namespace, name) of an object of the controller's primary kind."""

KeyMapper = Callable[[EventType, Any], Iterable[Key]]
"""Maps a watch event of some kind to the primary keys it concerns."""

BASE_RETRY_S = 0.005
MAX_RETRY_S = 1000.0


class RetryLater(Exception):
    """Raised by a reconcile that did what it could but must run again with backoff
    (a pod create refused by a quota): logged briefly, retried, never a traceback."""


class Reconciler(Protocol):
    """One controller's reconcile step."""

    name: str
    """Names the controller in logs (``replicaset-controller``); one loop per name."""

    @property
    def watches(self) -> Sequence[Watched]:
        """The kinds whose events feed the queue: the primary kind first."""
        ...

    def reconcile(self, key: Key) -> float | Awaitable[float | None] | None:
        """Bring the object at ``key`` (which may be gone) to its desired state;
        returns ``None`` or the seconds after which to reconcile it again. A
        coroutine function is awaited (for reconcilers that wait on I/O), by
        ``workers`` tasks at once if the reconciler sets that attribute (default 1)."""
        ...


@attrs.frozen
class Watched:
    """A kind the loop watches and how its events map to primary keys."""

    kind: KindRef
    keys: KeyMapper


def own_key(_event: EventType, obj: Any) -> Iterable[Key]:
    """The object itself (for the primary kind)."""
    return ((obj.metadata.namespace, obj.metadata.name),)


def controller_owner_key(owner_kind: str) -> KeyMapper:
    """Maps an object to its controlling owner of kind ``owner_kind``, if it has one."""

    def keys(_event: EventType, obj: Any) -> Iterable[Key]:
        ref = obj.metadata.controller_ref()
        if ref is not None and ref.kind == owner_kind:
            return ((obj.metadata.namespace, ref.name),)
        return ()

    return keys


class ControllerLoop:
    """Runs one reconciler: watches, a work queue and one worker (module docstring).

    Args:
        store: the cluster's store.
        clock: the clock delays and retries run on.
        reconciler: the reconcile step.
        informers: the cluster's shared informers; without them the loop runs
            informers of its own.
        observe: called after each reconcile with (controller name, wall seconds it
            took, whether it raised) — for metrics; must not raise. ``None`` costs
            nothing.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        reconciler: Reconciler,
        *,
        informers: Informers | None = None,
        observe: Callable[[str, float, bool], None] | None = None,
    ) -> None:
        self.store = store
        self._observe = observe
        self.informers = informers
        self.clock = clock
        self.reconciler = reconciler
        self.watches = tuple(reconciler.watches)
        self._queue: dict[Key, None] = {}  # insertion-ordered set
        self._processing: set[Key] = set()
        self._dirty: set[Key] = set()  # keys added again while being reconciled
        self._async = inspect.iscoroutinefunction(reconciler.reconcile)
        self.workers = max(1, int(getattr(reconciler, "workers", 1)))
        self._delayed: list[tuple[float, int, Key]] = []  # (due, seq, key) heap
        self._waiting: dict[Key, float] = {}  # each delayed key's earliest due time
        self._seq = 0
        self._failures: dict[Key, int] = {}
        self._wake = anyio.Event()
        self._timer_scope: anyio.CancelScope | None = None
        self._timer_due = float("inf")
        self.reconciles = 0  # how many reconcile calls ran (for benchmarks and tests)

    # -- the queue -----------------------------------------------------------------

    def enqueue(self, key: Key) -> None:
        """Reconcile ``key`` soon (once, however often it is added before then)."""
        if key in self._processing:
            self._dirty.add(key)
            return
        if key not in self._queue:
            self._queue[key] = None
            self._wake.set()

    def enqueue_after(self, key: Key, delay_s: float) -> None:
        """Reconcile ``key`` after ``delay_s`` seconds of the loop's clock."""
        if delay_s <= 0:
            self.enqueue(key)
            return
        due = self.clock.monotonic() + delay_s
        pending = self._waiting.get(key)
        if pending is not None and pending <= due:
            return  # one delayed entry per key, the earliest (client-go's AddAfter)
        self._waiting[key] = due
        self._seq += 1
        heapq.heappush(self._delayed, (due, self._seq, key))
        if due < self._timer_due and self._timer_scope is not None:
            self._timer_scope.cancel()  # the timer sleeps too long: re-arm it

    def pending(self) -> int:
        """Keys waiting now (not counting delayed ones)."""
        return len(self._queue)

    # -- running -------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """List every watched kind, then watch and reconcile until cancelled."""
        async with anyio.create_task_group() as group:
            informers = self.informers
            if informers is None:  # on its own: informers of its own
                informers = Informers(self.store)
                await group.start(informers.run)
            for watched in self.watches:
                informers.subscribe(watched.kind, self._handler(watched))
            group.start_soon(self._timer)
            task_status.started()
            await self._work()

    def _handler(self, watched: Watched) -> Callable[[EventType, Any], None]:
        keys, enqueue = watched.keys, self.enqueue

        def handle(event_type: EventType, obj: Any) -> None:
            for key in keys(event_type, obj):
                enqueue(key)

        return handle

    async def _timer(self) -> None:
        """Moves delayed keys into the queue when they fall due."""
        while True:
            now = self.clock.monotonic()
            while self._delayed and self._delayed[0][0] <= now:
                due, _, key = heapq.heappop(self._delayed)
                if self._waiting.get(key) == due:  # else superseded by an earlier one
                    del self._waiting[key]
                    self.enqueue(key)
            self._timer_due = self._delayed[0][0] if self._delayed else float("inf")
            with anyio.CancelScope() as scope:
                self._timer_scope = scope
                if self._delayed:
                    await self.clock.sleep(self._timer_due - now)
                else:
                    await anyio.sleep_forever()
            self._timer_scope = None

    async def _work(self) -> None:
        if self._async:
            async with anyio.create_task_group() as group:
                for _ in range(self.workers):
                    group.start_soon(self._async_worker)
            return
        while True:
            if not self._queue:
                self._wake = anyio.Event()
                await self._wake.wait()
                continue
            key = next(iter(self._queue))
            del self._queue[key]
            self._process(key)
            await anyio.lowlevel.checkpoint()

    async def _async_worker(self) -> None:
        """One of ``workers`` tasks for a reconciler whose ``reconcile`` is a coroutine
        (it waits for I/O: the HPA's metrics); a key is never reconciled by two at once."""
        while True:
            if not self._queue:
                wake = self._wake
                if wake.is_set():
                    self._wake = wake = anyio.Event()
                await wake.wait()
                continue
            key = next(iter(self._queue))
            del self._queue[key]
            start = time.perf_counter()
            self._begin(key)
            self.reconciles += 1
            try:
                again = await cast(Awaitable[float | None], self.reconciler.reconcile(key))
            except Exception as exc:
                failed = self._failed(key, exc)
            else:
                failed = self._succeeded(key, again)
            if self._observe is not None:
                self._observe(self.reconciler.name, time.perf_counter() - start, failed)
            await anyio.lowlevel.checkpoint()

    def _process(self, key: Key) -> None:
        observe = self._observe
        if observe is None:
            self._reconcile(key)
            return
        start = time.perf_counter()
        failed = self._reconcile(key)
        observe(self.reconciler.name, time.perf_counter() - start, failed)

    def _reconcile(self, key: Key) -> bool:
        """One reconcile of ``key`` and its requeueing; True when it raised (any
        exception counts, as controller-runtime counts every returned error)."""
        self._begin(key)
        try:
            self.reconciles += 1
            again = cast(float | None, self.reconciler.reconcile(key))
        except Exception as exc:
            return self._failed(key, exc)
        return self._succeeded(key, again)

    def _begin(self, key: Key) -> None:
        self._processing.add(key)
        self._dirty.discard(key)

    def _failed(self, key: Key, exc: Exception) -> bool:
        """Requeue a reconcile that raised, with backoff; always True (it failed)."""
        self._processing.discard(key)
        if isinstance(exc, RetryLater):
            _log.info("%s: %s/%s: %s", self.reconciler.name, key[0], key[1], exc)
            self._retry(key, log=False)
        elif isinstance(exc, Conflict):
            # Someone wrote first: read again at once (client-go requeues with the
            # rate limiter too; a conflict is the normal race, so it is not logged,
            # though ``observe`` hears of it as controller-runtime counts it: an error).
            self._retry(key, log=False)
        else:
            self._retry(key, log=True)
        return True

    def _succeeded(self, key: Key, again: float | None) -> bool:
        """Requeue as the reconcile asked (and at once if it was added meanwhile)."""
        self._processing.discard(key)
        self._failures.pop(key, None)
        if key in self._dirty:
            self._dirty.discard(key)
            self.enqueue(key)
        if again is not None:
            self.enqueue_after(key, again)
        return False

    def _retry(self, key: Key, *, log: bool) -> None:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = min(BASE_RETRY_S * 2 ** min(failures, 40), MAX_RETRY_S)  # no overflow
        if log:
            _log.exception(
                "%s: reconciling %s/%s failed (retry in %.3gs)",
                self.reconciler.name,
                key[0],
                key[1],
                delay,
            )
        self.enqueue_after(key, delay)
