"""Shared informers: one watch per kind for every controller of a cluster.

client-go shares one informer per kind between controllers for the same reason:
with a watch (and a task) per controller per kind, every pod event would wake a
dozen tasks (the garbage collector and the namespace controller watch every kind).
Here each kind has one watch task that calls every subscriber's handler, a plain
function that maps the event to keys and enqueues them, synchronously.

A subscriber first gets every object of the kind as it is now (as ADDED), then every
later event. It may also get events older than that first list, from the shared
watch's backlog: harmless for handlers that only decide which keys to look at again
(a reconcile reads the store, never the event). When the watch expires (it fell
behind) the kind is listed again: every object is handed to every subscriber as
ADDED, and every object known before but missing now as DELETED (its last known
state; client-go's ``DeletedFinalStateUnknown``), so no deletion is missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc

from orbit.api import KindInfo, resolve_kind
from orbit.errors import ResourceExpired
from orbit.store import EventType, KindRef, Store

__all__ = ["Handler", "Informers"]

_log = logging.getLogger("orbit.controllers")

Handler = Callable[[EventType, Any], None]
"""Called with each event of a kind; must not block (it runs inside the watch task)."""


class Informers:
    """One watch per kind, fanned out to handlers (module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._handlers: dict[str, list[Handler]] = {}
        self._known: dict[str, dict[tuple[str, str], Any]] = {}  # kind -> key -> last seen
        self._group: anyio.abc.TaskGroup | None = None

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Host the watch tasks until cancelled."""
        async with anyio.create_task_group() as group:
            self._group = group
            task_status.started()
            await anyio.sleep_forever()

    def subscribe(self, kind: KindRef, handler: Handler) -> None:
        """Hand ``handler`` every object of ``kind`` now, then every later event."""
        if self._group is None:
            raise RuntimeError("Informers.subscribe before Informers.run started")
        info = resolve_kind(kind)
        listed = self.store.list(info)
        for obj in listed.items:
            handler("ADDED", obj)
        handlers = self._handlers.get(info.kind)
        if handlers is not None:
            handlers.append(handler)
            return
        self._handlers[info.kind] = [handler]
        self._known[info.kind] = {_key(obj): obj for obj in listed.items}
        self._group.start_soon(self._follow, info, listed.resource_version)

    async def _follow(self, info: KindInfo, resource_version: str) -> None:
        handlers = self._handlers[info.kind]
        known = self._known[info.kind]
        while True:
            try:
                async with self.store.watch(info, resource_version=resource_version) as watch:
                    async for event in watch:
                        obj = event.object
                        if event.type == "DELETED":
                            known.pop(_key(obj), None)
                        else:
                            known[_key(obj)] = obj
                        for handler in handlers:
                            _call(handler, event.type, obj)
                        resource_version = watch.resource_version
            except ResourceExpired:
                _log.warning("the shared %s watch expired: listing again", info.kind)
                listed = self.store.list(info)
                resource_version = listed.resource_version
                now = {_key(obj): obj for obj in listed.items}
                gone = [obj for key, obj in known.items() if key not in now]
                known.clear()
                known.update(now)
                for obj in gone:
                    for handler in handlers:
                        _call(handler, "DELETED", obj)
                for obj in listed.items:
                    for handler in handlers:
                        _call(handler, "ADDED", obj)


def _key(obj: Any) -> tuple[str, str]:
    meta = obj.metadata
    return (meta.namespace, meta.name)


def _call(handler: Handler, event_type: EventType, obj: Any) -> None:
    """A failing handler is logged; the shared watch goes on for the others."""
    try:
        handler(event_type, obj)
    except Exception:
        _log.exception("an informer handler failed on %s %s", event_type, obj.metadata.name)
