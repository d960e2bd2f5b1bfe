"""Watch streams: each kind's bounded event history and the watchers fed from it.

Every write to the store becomes one record (resourceVersion, event, previous object)
in its kind's :class:`Feed`. The feed keeps the last ``history`` records, so a watch
may start from a resourceVersion a list returned a moment ago (list, then watch from
the list's resourceVersion: the informer pattern), and hands each record to the live
watchers at once.

Writers never block and never await. A :class:`Watch` buffers at most ``limit``
events; a write that would overflow the buffer of a watcher too slow to keep up
*terminates* that watcher instead of growing its buffer: the watcher still gets every
event it had buffered, then its iterator raises :class:`~orbit.errors.ResourceExpired`
("too old, re-list"), which is what Kubernetes answers (410 Gone) when a watcher falls
behind its watch cache. The consumer lists again and watches from the list's
resourceVersion. Memory stays bounded by ``history`` per kind plus ``limit`` per
watcher, whatever the consumers do.

A filtered watch (namespace, label or field selector) follows Kubernetes' watch cache:
an object modified so that it starts matching arrives as ADDED, one modified so that it
stops matching as DELETED (carrying its previous content with the new
resourceVersion), and events of objects that match neither before nor after are
skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import anyio
import anyio.lowlevel
import attrs

from orbit.errors import ResourceExpired

__all__ = ["EventType", "Feed", "Record", "Watch", "WatchEvent"]

T = TypeVar("T")

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


class WatchEvent(NamedTuple, Generic[T]):
    """One change: ``type`` is ADDED, MODIFIED or DELETED; ``object`` the object after
    it (for DELETED, its last state, with the resourceVersion of the deletion)."""

    type: EventType
    object: T


class Record(NamedTuple):
    """One write in a feed's history: its resourceVersion as an int, the event every
    unfiltered watcher gets, and the object before the write (``None`` for ADDED)."""

    rv: int
    event: WatchEvent[Any]
    prev: Any


def with_resource_version(obj: T, resource_version: str) -> T:
    """``obj`` with ``metadata.resource_version`` replaced."""
    meta = attrs.evolve(obj.metadata, resource_version=resource_version)  # type: ignore[attr-defined]
    return attrs.evolve(obj, metadata=meta)  # type: ignore[misc]


class Feed:
    """One kind's history ring and live watchers."""

    __slots__ = ("_evicted", "_ring", "_size", "_watchers", "name")

    def __init__(self, name: str, history: int) -> None:
        self.name = name  # the kind's plural, for messages
        self._size = history
        self._ring: deque[Record] = deque(maxlen=history)
        self._evicted = 0  # resourceVersion of the newest record the ring dropped
        self._watchers: tuple[Watch[Any], ...] = ()  # copy-on-write: writers iterate it

    def publish(self, rv: int, type_: EventType, obj: Any, prev: Any) -> None:
        """Record a write and offer it to every live watcher; never blocks."""
        record = Record(rv, WatchEvent(type_, obj), prev)
        ring = self._ring
        if len(ring) == self._size:
            self._evicted = ring[0].rv if ring else rv
        ring.append(record)
        for watcher in self._watchers:
            watcher._offer(record)

    def since(self, rv: int) -> list[Record]:
        """Every record after ``rv``, oldest first; ``ResourceExpired`` when the ring
        has already dropped some of them."""
        if rv < self._evicted:
            raise ResourceExpired(
                f"too old resource version: {rv} ({self._evicted + 1}); "
                f"list {self.name} again and watch from the list's resourceVersion"
            )
        found: list[Record] = []
        for record in reversed(self._ring):
            if record.rv <= rv:
                break
            found.append(record)
        found.reverse()
        return found

    def subscribe(self, watcher: Watch[Any]) -> None:
        self._watchers = (*self._watchers, watcher)

    def unsubscribe(self, watcher: Watch[Any]) -> None:
        self._watchers = tuple(w for w in self._watchers if w is not watcher)

    def close_all(self) -> None:
        """End every live watch (their iterators stop)."""
        for watcher in self._watchers:
            watcher.close()

    def __len__(self) -> int:
        """The number of live watchers."""
        return len(self._watchers)


_OPEN, _EXPIRED, _CLOSED = 0, 1, 2


class Watch(Generic[T]):
    """A stream of :class:`WatchEvent` for one kind: ``async for event in watch``.

    Also an async context manager that closes it on exit. One consumer per watch. The
    iterator stops (``StopAsyncIteration``) once :meth:`close` is called, or the store
    is closed; it raises :class:`~orbit.errors.ResourceExpired` after the last buffered
    event when the watcher fell ``limit`` events behind (see the module docstring).
    ``resource_version`` is that of the last event delivered (or where the watch
    started), where a new watch would resume.
    """

    __slots__ = (
        "_backlog",
        "_buffer",
        "_feed",
        "_limit",
        "_matches",
        "_state",
        "_synthetic",
        "_waiter",
        "resource_version",
    )

    def __init__(
        self,
        feed: Feed,
        *,
        matches: Callable[[Any], bool] | None,
        limit: int,
        resource_version: str,
        initial: Iterable[WatchEvent[T]] = (),
        replay: Iterable[Record] = (),
    ) -> None:
        """Start watching ``feed``: ``initial`` events first, then the ``replay``
        records that pass the filter, then live events. Only live events count against
        ``limit``; the others are bounded by the kind's size and history. ``initial``
        events (the current state, as ADDED) leave ``resource_version`` alone: they are
        not changes one could resume after."""
        self._feed = feed
        self._matches = matches
        self._limit = limit
        self._state = _OPEN
        self._waiter: anyio.Event | None = None
        self._buffer: deque[WatchEvent[T]] = deque()
        self._backlog: deque[WatchEvent[T]] = deque(initial)
        self._synthetic = len(self._backlog)  # how many initial events are left
        for record in replay:
            event = self._filter(record)
            if event is not None:
                self._backlog.append(event)
        self.resource_version = resource_version
        feed.subscribe(self)

    def _filter(self, record: Record) -> WatchEvent[T] | None:
        """The event this watcher sees for ``record``, if any (Kubernetes' rules)."""
        matches = self._matches
        if matches is None:
            return record.event
        event = record.event
        now = matches(event.object)
        if event.type != "MODIFIED":
            return event if now else None
        before = matches(record.prev)
        if now:
            return event if before else WatchEvent("ADDED", event.object)
        if before:
            rv = event.object.metadata.resource_version
            return WatchEvent("DELETED", with_resource_version(record.prev, rv))
        return None

    def _offer(self, record: Record) -> None:
        """Called by the feed on every write: buffer the event or, when the buffer is
        full, terminate this watcher. Never blocks."""
        event = self._filter(record) if self._matches is not None else record.event
        if event is None:
            return
        if len(self._buffer) >= self._limit:
            self._end(_EXPIRED)
            return
        self._buffer.append(event)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def _end(self, state: int) -> None:
        """Leave the feed: expired keeps the buffered events for delivery, closed drops
        them; a closed watch stays closed."""
        if self._state == _OPEN:
            self._feed.unsubscribe(self)
            self._state = state
        if state == _CLOSED:
            self._state = _CLOSED
            self._backlog.clear()
            self._synthetic = 0
            self._buffer.clear()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    @property
    def closed(self) -> bool:
        """True once the watch gets no more live events (closed or expired)."""
        return self._state != _OPEN

    def close(self) -> None:
        """Stop watching; buffered events are dropped and the iterator stops."""
        self._end(_CLOSED)

    async def aclose(self) -> None:
        """Stop watching (the async spelling of :meth:`close`)."""
        self.close()

    def __aiter__(self) -> Watch[T]:
        return self

    async def __anext__(self) -> WatchEvent[T]:
        if self._synthetic or self._backlog or self._buffer or self._state != _OPEN:
            # an answer without waiting: still a point where cancellation is seen (a
            # wait below is one already, so the usual idle watcher skips this)
            await anyio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self._synthetic:
                self._synthetic -= 1
                return self._backlog.popleft()
            if self._backlog:
                event = self._backlog.popleft()
            elif self._buffer:
                event = self._buffer.popleft()
            elif self._state == _OPEN:
                waiter = self._waiter = anyio.Event()
                try:
                    await waiter.wait()
                finally:
                    self._waiter = None
                continue
            elif self._state == _EXPIRED:
                raise ResourceExpired(
                    f"watch of {self._feed.name} fell more than {self._limit} events behind "
                    "and was closed; list again and watch from the list's resourceVersion"
                )
            else:
                raise StopAsyncIteration
            obj: Any = event.object
            self.resource_version = obj.metadata.resource_version
            return event

    async def __aenter__(self) -> Watch[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
