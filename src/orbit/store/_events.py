"""The event recorder: how controllers, the scheduler and node agents tell the user
what they did and why (``cluster.events()``, ``orbit describe``).

Repeats are folded as Kubernetes' EventCorrelator folds them: the same reason, message
and type about the same object bump ``count`` and ``last_timestamp`` on one Event
instead of creating another, so a crash-looping pod produces one "BackOff" event with
a growing count, not thousands of objects.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from orbit.api import Event, EventSource, ObjectMeta, ObjectReference, kind_info
from orbit.clock import Clock, to_datetime
from orbit.errors import AlreadyExists, Forbidden, NotFound

from ._protocol import Store

__all__ = ["EventRecorder", "reference_to"]

EventKind = Literal["Normal", "Warning"]


def reference_to(obj: Any, field_path: str = "") -> ObjectReference:
    """An ObjectReference to a stored object (optionally to one field of it)."""
    info = kind_info(obj)
    meta = obj.metadata
    return ObjectReference(
        kind=info.kind,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        api_version=info.api_version,
        resource_version=meta.resource_version,
        field_path=field_path,
    )


class EventRecorder:
    """Records Events about objects into a store, folding repeats.

    Args:
        store: where Events are written.
        clock: where timestamps come from.
        component: who reports (``default-scheduler``, ``kubelet``, a controller).
        host: the node name for node agents, else empty.
    """

    def __init__(self, store: Store, clock: Clock, component: str, host: str = "") -> None:
        self._store = store
        self._clock = clock
        self._source = EventSource(component=component, host=host)
        self._seen: dict[tuple[str, str, str, str, str], tuple[str, str]] = {}
        self._counter = 0

    def record(self, obj: Any, kind: EventKind, reason: str, message: str) -> Event:
        """Record that ``reason: message`` happened to ``obj``; returns the Event."""
        ref = reference_to(obj)
        namespace = ref.namespace or "default"  # events about cluster-scoped objects
        key = (ref.uid or ref.name, ref.field_path, reason, message, kind)
        now = to_datetime(self._clock.now())
        known = self._seen.get(key)
        if known is not None:
            try:
                event: Event = self._store.get(Event, known[1], known[0])
            except NotFound:
                pass  # expired or deleted: record afresh
            else:
                bumped = attrs.evolve(event, count=event.count + 1, last_timestamp=now)
                updated: Event = self._store.update(bumped)
                return updated
        event = Event(
            involved_object=ref,
            reason=reason,
            message=message,
            type=kind,
            source=self._source,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
            reporting_component=self._source.component,
            reporting_instance=self._source.host,
        )
        while True:
            # Several recorders (scheduler, node agents) may record about one object
            # at the same instant (always so on a virtual clock): names must differ.
            self._counter += 1
            name = f"{ref.name}.{int(self._clock.now() * 1e9):x}{self._counter:04x}"
            try:
                created: Event = self._store.create(
                    attrs.evolve(event, metadata=ObjectMeta(name=name, namespace=namespace))
                )
            except AlreadyExists:
                continue
            except Forbidden:
                # Refused by admission (its namespace is being deleted): dropped, as
                # client-go's recorder drops an event the server rejects.
                return event
            break
        self._seen[key] = (namespace, name)
        return created
