"""The state a reconciler run by :class:`._loop.ControllerLoop` starts from: the
cluster's store, its clock, and an event recorder.

Kubernetes' controllers take the same three (a clientset, a clock, an event
broadcaster) in their constructors; here a subclass names itself (``name``, the
loop's and the logs' name) and, when its events speak for another component (the
disruption controller's are ``controllermanager``'s), says so in
``event_component``.
"""

from __future__ import annotations

from typing import ClassVar

from orbit.clock import Clock
from orbit.store import EventRecorder, Store

__all__ = ["BaseController"]


class BaseController:
    """A reconciler's store, clock and event recorder.

    Args:
        store: the cluster's store.
        clock: where "now" comes from (virtual under the simulator).
        recorder: where events go (default: one whose component is
            ``event_component``, else the controller's ``name``).
    """

    name: str
    """Names the controller in the loop and in logs (``cronjob-controller``)."""
    event_component: ClassVar[str | None] = None
    """The component the default recorder's events come from (default: ``name``)."""

    def __init__(
        self, store: Store, clock: Clock, *, recorder: EventRecorder | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.recorder = recorder or EventRecorder(
            store, clock, component=self.event_component or self.name
        )
