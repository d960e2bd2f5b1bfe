"""What the pod worker knows about one container of its pod, and how that reads as a
Kubernetes ``ContainerStatus``.

A :class:`ContainerRecord` follows one container *name* of a pod across its restarts:
the current container (id, latest runtime report, the launch it was started with),
the previous one (``lastState``), the restart count, the crash streak and when the
next start may happen, why it is waiting, and what its probes say. The worker mutates
it; :func:`container_status` turns it into the status the pod shows, purely.
"""

from __future__ import annotations

from datetime import datetime

import anyio
import attrs

from orbit.api import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
)
from orbit.clock import to_datetime
from orbit.runtimes import ContainerLaunch, ContainerReport

__all__ = ["ContainerRecord", "container_status", "terminated_state"]


@attrs.define(eq=False)
class ContainerRecord:
    """One container of a pod, across its restarts (see the module docstring).

    ``report`` is the latest report of the current container: running, or terminated
    and waiting to be restarted (then it is also the ``lastState`` shown), or
    terminated for good. ``accounted`` says whether its termination was already
    counted in the crash streak. ``retry_at`` is the clock's monotonic time before
    which it may not start again; ``waiting`` the reason and message shown meanwhile.
    """

    spec: Container
    init: bool = False
    id: str = ""
    report: ContainerReport | None = None
    launch: ContainerLaunch | None = None
    last: ContainerReport | None = None
    last_id: str = ""
    restarts: int = 0
    crashes: int = 0
    start_failures: int = 0
    retry_at: float | None = None
    backoff_s: float = 0.0
    waiting: tuple[str, str] = ("", "")
    started: bool = False
    ready: bool = False
    kill: str = ""
    kill_grace_s: float | None = None
    accounted: bool = True
    done: bool = False
    scope: anyio.CancelScope | None = None
    backoff_noted: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def running(self) -> bool:
        return self.report is not None and self.report.state == "running"

    @property
    def terminated(self) -> bool:
        return self.report is not None and self.report.state == "terminated"

    @property
    def succeeded(self) -> bool:
        report = self.report
        return report is not None and report.state == "terminated" and report.exit_code == 0


def _time(epoch: float | None) -> datetime | None:
    """Whole seconds, as Kubernetes' timestamps are."""
    return to_datetime(int(epoch)) if epoch is not None else None


def terminated_state(report: ContainerReport, kind: str) -> ContainerStateTerminated:
    """A terminated report as Kubernetes' ``ContainerStateTerminated``."""
    code = report.exit_code if report.exit_code is not None else 0
    reason = report.reason or ("Completed" if code == 0 else "Error")
    return ContainerStateTerminated(
        exit_code=code,
        signal=report.signal,
        reason=reason,
        message=report.message,
        started_at=_time(report.started_at),
        finished_at=_time(report.finished_at),
        container_id=f"{kind}://{report.id}" if report.id else "",
    )


def container_status(record: ContainerRecord, kind: str, default_waiting: str) -> ContainerStatus:
    """The ``ContainerStatus`` the pod shows for ``record``; ``kind`` is the runtime's
    (``process``...), ``default_waiting`` the reason for a container never started
    (``ContainerCreating`` or ``PodInitializing``)."""
    report = record.report
    last = ContainerState()
    container_id = ""
    if report is not None and report.state == "running":
        state = ContainerState(running=ContainerStateRunning(started_at=_time(report.started_at)))
        container_id = f"{kind}://{report.id}"
        if record.last is not None:
            last = ContainerState(terminated=terminated_state(record.last, kind))
    elif report is not None and report.state == "terminated" and record.retry_at is None:
        state = ContainerState(terminated=terminated_state(report, kind))
        container_id = f"{kind}://{report.id}" if report.id else ""
        if record.last is not None:
            last = ContainerState(terminated=terminated_state(record.last, kind))
    else:
        reason, message = record.waiting
        state = ContainerState(
            waiting=ContainerStateWaiting(reason=reason or default_waiting, message=message)
        )
        previous = report if report is not None and report.state == "terminated" else record.last
        if previous is not None:
            last = ContainerState(terminated=terminated_state(previous, kind))
    running = state.running is not None
    return ContainerStatus(
        name=record.name,
        ready=running and record.ready,
        started=running and record.started,
        restart_count=record.restarts,
        state=state,
        last_state=last,
        image=record.spec.image,
        image_id=report.image_id if report is not None else "",
        container_id=container_id,
    )
