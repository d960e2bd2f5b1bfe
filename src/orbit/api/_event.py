"""Events (core ``v1``) and ObjectReference: what happened to an object, and why.

Controllers, the scheduler and node agents record events ("Scheduled", "FailedScheduling:
0/3 nodes are available: ...", "BackOff") against the object they concern;
``Cluster.events`` lists them. These are the classic core ``v1`` Event fields, not
``events.k8s.io``. Kubernetes defaults none of them: ``count`` is 0 unless written (the
event recorder writes 1 on the first occurrence and bumps it on repeats).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from ._meta import ObjectMeta, TypedObject, register_kind

__all__ = [
    "Event",
    "EventSeries",
    "EventSource",
    "ObjectReference",
]


@attrs.frozen(kw_only=True)
class ObjectReference:
    """Points at an object, optionally at one field of it (``spec.containers{web}``)."""

    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    api_version: str = ""
    resource_version: str = ""
    field_path: str = ""


@attrs.frozen(kw_only=True)
class EventSource:
    """Who reported the event: a component (``default-scheduler``, ``kubelet``) and host."""

    component: str = ""
    host: str = ""


@attrs.frozen(kw_only=True)
class EventSeries:
    """Repeats of an event, for recorders that aggregate them (``events.k8s.io`` style)."""

    count: int = 0
    last_observed_time: datetime | None = None


@register_kind("v1", plural="events", short_names=("ev",))
@attrs.frozen(kw_only=True)
class Event(TypedObject):
    """A report of something that happened to ``involved_object``.

    ``type`` is ``Normal`` or ``Warning`` (``""``, Go's zero value, when unset);
    ``count``, ``first_timestamp`` and ``last_timestamp`` fold repeats of the same event.
    """

    metadata: ObjectMeta = ObjectMeta()
    involved_object: ObjectReference = ObjectReference()
    reason: str = ""
    message: str = ""
    source: EventSource = EventSource()
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    count: int = 0
    type: Literal["", "Normal", "Warning"] = ""
    event_time: datetime | None = None
    series: EventSeries | None = None
    action: str = ""
    related: ObjectReference | None = None
    reporting_component: str = ""
    reporting_instance: str = ""
