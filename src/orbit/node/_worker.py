"""The pod worker: one task per pod on a node, driving its containers through a runtime.

Like the kubelet's pod workers, each pod bound to a node gets one task that owns its
containers; the node agent feeds it the latest Pod from the shared pod watch and it
reconciles whenever something changes (the pod, a container's exit, a probe result, a
backoff deadline)::

    sync:  removed? ─► out of endpoints ─► stop containers, remove them ──► done
           deleting? ─► out of endpoints ─► stop with the grace ─► final status
                        ─► delete (grace 0) ─► done
           past activeDeadlineSeconds? ─► stop all, Failed / DeadlineExceeded
           probe said kill? ─► stop (Killing), restart per restartPolicy
           exited? ─► crash streak, backoff (CrashLoopBackOff)
           init containers in order, each to exit 0 ─► then every app container
           status (phase, conditions, container statuses) written when it changed

Failures of the runtime (:class:`~orbit.runtimes.RuntimeFailure` or any exception)
become container status and events; an unexpected error in a sync is logged and the
sync retried after a short backoff, never raised into the agent.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import anyio
import anyio.abc
import attrs

from orbit.api import Container, ContainerStatus, Pod, PodStatus
from orbit.clock import to_datetime
from orbit.errors import Conflict, NotFound
from orbit.runtimes import RESTART_COUNT_LABEL, ContainerReport, RuntimeFailure

from ._backoff import go_duration
from ._endpoints_wait import ENDPOINTS_WAIT_S, wait_unlisted
from ._lifecycle import TERMINAL_PHASES, merge_conditions, pod_conditions, pod_phase, qos_class
from ._podports import PodPorts
from ._probes import ProbeKind, run_probes
from ._record import ContainerRecord, container_status
from ._volumes import FAILED_MOUNT

if TYPE_CHECKING:
    from ._agent import NodeAgent

__all__ = ["PodWorker"]

_log = logging.getLogger("orbit.node")

REMOVED_GRACE_S = 2.0
"""Grace for containers of a pod that vanished from the store without a graceful
deletion (force-deleted): the kubelet's minimum, so they still get a SIGTERM."""
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
_IMAGE_REASONS = ("ErrImage", "ImagePull", "InvalidImageName")


class PodWorker:
    """Runs one pod's containers on a node until the pod is gone (module docstring)."""

    def __init__(self, agent: NodeAgent, pod: Pod, adopted: Iterable[ContainerReport] = ()) -> None:
        self.agent = agent
        self.pod = pod
        self.uid = pod.metadata.uid
        self.removed = False
        self.finished = pod.status.phase in TERMINAL_PHASES
        self._wake = anyio.Event()
        self._group: anyio.abc.TaskGroup | None = None
        self._retry_sync_at: float | None = None
        self._failures = 0
        self._echoes: set[int] = set()  # versions this worker wrote, not yet seen back
        self._stale: list[str] = []  # adopted instances older than the previous one
        self.backoff = agent.backoff.for_pod(pod.metadata.annotations)
        self.records = {c.name: ContainerRecord(c, init=True) for c in pod.spec.init_containers}
        self.records.update({c.name: ContainerRecord(c) for c in pod.spec.containers})
        self.ports = PodPorts(agent.ports, pod, agent.network, agent.host_ip)
        self._restore(pod, list(adopted))

    # -- inputs ----------------------------------------------------------------------

    def update(self, pod: Pod | None) -> None:
        """The latest Pod from the watch; ``None`` when it left the store or the node.

        The echo of this worker's own write brings nothing new and wakes nobody (a
        sync per status write it made would double the work of every pod)."""
        if pod is None:
            self.removed = True
        else:
            version = _version(pod)
            if version >= _version(self.pod):
                self.pod = pod
            if self._echoes:
                echo = version in self._echoes
                self._echoes = {v for v in self._echoes if v > version}
                if echo:
                    return
        self._wake.set()

    def probe_failed(self, container: str, kind: ProbeKind, message: str) -> None:
        self.agent.recorder.record(self.pod, "Warning", "Unhealthy", message)

    def probe_result(self, container: str, kind: ProbeKind, success: bool, message: str) -> None:
        record = self.records.get(container)
        if record is None or not record.running:
            return
        if kind == "readiness":
            record.ready = success
        elif kind == "startup" and success:
            record.started = True
            record.ready = record.spec.readiness_probe is None
        elif not success:
            record.kill = f"Container {container} failed {kind} probe, will be restarted"
            probe = record.spec.liveness_probe if kind == "liveness" else record.spec.startup_probe
            if probe is not None and probe.termination_grace_period_seconds is not None:
                record.kill_grace_s = float(probe.termination_grace_period_seconds)
        self._wake.set()

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Reconcile until the pod is gone and its containers are removed."""
        async with anyio.create_task_group() as group:
            self._group = group
            for stale in self._stale:
                group.start_soon(self.agent.remove_container, stale)
            for record in self.records.values():
                if record.running and record.launch is not None:
                    self._attend(record)
            while True:
                if self._wake.is_set():
                    self._wake = anyio.Event()
                if await self._safe_sync():
                    break
                await self._sleep(self._next_deadline())
            if any(record.scope is not None for record in self.records.values()):
                group.cancel_scope.cancel()

    async def _safe_sync(self) -> bool:
        try:
            done = await self._sync()
        except Exception:
            self._failures += 1
            delay = min(30.0, 0.1 * 2.0 ** min(self._failures, 10))
            _log.exception("pod %s: sync failed; retrying in %.1fs", self._key(), delay)
            self._retry_sync_at = self.agent.clock.monotonic() + delay
            return False
        self._failures = 0
        self._retry_sync_at = None
        return done

    async def _sleep(self, deadline: float | None) -> None:
        if deadline is None:
            await self._wake.wait()
            return
        with anyio.move_on_after(max(0.0, deadline - self.agent.clock.monotonic())):
            await self._wake.wait()

    def _next_deadline(self) -> float | None:
        times = [r.retry_at for r in self.records.values() if r.retry_at is not None]
        if self._retry_sync_at is not None:
            times.append(self._retry_sync_at)
        deadline = self._active_deadline()
        if deadline is not None and not self.finished:
            times.append(deadline)
        return min(times) if times else None

    async def _sync(self) -> bool:
        pod = self.pod
        if self.removed:
            grace = self._grace(pod, removed=True)
            await self._leave_endpoints(grace)
            await self._stop_all(grace, announce=False)
            await self._cleanup()
            return True
        if pod.metadata.deletion_timestamp is not None:
            grace = self._grace(pod)
            await self._leave_endpoints(grace)
            await self._stop_all(grace, announce=True)
            self._finish_status()
            self._delete_pod()
            await self._cleanup()
            return True
        if self.finished:
            return False
        published = self.ports.publish(self.agent.store, self.pod)
        if published is not self.pod:
            self._echoes.add(_version(published))
        self.pod = published
        if self._deadline_passed():
            await self._deadline_exceeded()
            return False
        await self._kill_requested()
        self._account_exits()
        await self._advance()
        self._write_status()
        return False

    # -- container starts ------------------------------------------------------------------

    async def _advance(self) -> None:
        """Start what should run now: the first unfinished init container, else every
        app container that has not started or is due for a restart."""
        policy = self.pod.spec.restart_policy
        for container in self.pod.spec.init_containers:
            record = self.records[container.name]
            if record.succeeded:
                continue
            if record.running or (record.terminated and policy == "Never"):
                return
            await self._maybe_start(record)
            return
        for container in self.pod.spec.containers:
            record = self.records[container.name]
            if record.running or record.done:
                continue
            await self._maybe_start(record)

    async def _maybe_start(self, record: ContainerRecord) -> None:
        now = self.agent.clock.monotonic()
        if record.retry_at is not None and now < record.retry_at:
            self._note_backoff(record)
            return
        await self._start(record)

    def _note_backoff(self, record: ContainerRecord) -> None:
        """Waiting reason and a BackOff event (once per backoff period)."""
        meta = self.pod.metadata
        reason, _ = record.waiting
        if reason in ("ErrImagePull", "ImagePullBackOff"):
            message = f'Back-off pulling image "{record.spec.image}"'
            record.waiting = ("ImagePullBackOff", message)
            event_kind: Literal["Normal", "Warning"] = "Normal"
        elif record.terminated:
            message = (
                f"back-off {go_duration(record.backoff_s)} restarting failed "
                f"container={record.name} pod={meta.name}_{meta.namespace}({meta.uid})"
            )
            record.waiting = ("CrashLoopBackOff", message)
            message = (
                f"Back-off restarting failed container {record.name} in pod "
                f"{meta.name}_{meta.namespace}({meta.uid})"
            )
            event_kind = "Warning"
        else:
            return  # a start failure keeps its own reason until the retry
        if record.backoff_noted != record.retry_at:
            record.backoff_noted = record.retry_at
            self.agent.recorder.record(self.pod, event_kind, "BackOff", message)

    async def _start(self, record: ContainerRecord) -> None:
        agent = self.agent
        restart = record.report is not None
        restarts = record.restarts + 1 if restart else record.restarts
        try:
            launch = await agent.launch_for(self.pod, record, self.ports, restarts=restarts)
            report = await agent.runtime.start(launch)
        except RuntimeFailure as failure:
            self._start_failed(record, failure)
            return
        except Exception as error:  # a runtime bug must not kill the pod worker
            _log.exception("pod %s: starting %s failed", self._key(), record.name)
            self._start_failed(record, RuntimeFailure("RunContainerError", str(error)))
            return
        if restart:
            self._retire(record)
        record.id, record.report, record.launch = report.id, report, launch
        record.retry_at, record.waiting, record.start_failures = None, ("", ""), 0
        record.accounted = False
        record.started = record.spec.startup_probe is None
        record.ready = record.started and record.spec.readiness_probe is None
        record.kill, record.kill_grace_s = "", None
        agent.recorder.record(self.pod, "Normal", "Created", f"Created container {record.name}")
        agent.recorder.record(self.pod, "Normal", "Started", f"Started container {record.name}")
        self._attend(record)

    def _retire(self, record: ContainerRecord) -> None:
        """The current (terminated) container becomes the previous one; the one before
        is removed from the runtime (the kubelet keeps one dead container for logs)."""
        record.restarts += 1
        stale = record.last_id
        record.last, record.last_id = record.report, record.id
        if stale and self._group is not None:
            self._group.start_soon(self.agent.remove_container, stale)

    def _start_failed(self, record: ContainerRecord, failure: RuntimeFailure) -> None:
        recorder = self.agent.recorder
        now = self.agent.clock.monotonic()
        if failure.reason == "ContainerCannotRun":
            # it never ran: a terminated container, subject to the restart policy
            if record.report is not None:
                self._retire(record)
            record.id = ""
            record.report = ContainerReport(
                id="",
                name=record.name,
                pod_uid=self.uid,
                state="terminated",
                exit_code=128,
                reason=failure.reason,
                message=failure.message,
                started_at=self.agent.clock.now(),
                finished_at=self.agent.clock.now(),
            )
            record.accounted, record.retry_at = False, None
            recorder.record(self.pod, "Warning", "Failed", f"Error: {failure.message}")
            self._account_exits()
            return
        record.start_failures += 1
        delay = self.backoff.delay_s(record.start_failures + 1)
        record.retry_at, record.backoff_s = now + delay, delay
        if failure.reason == FAILED_MOUNT:
            record.waiting = ("ContainerCreating", "")
            recorder.record(self.pod, "Warning", FAILED_MOUNT, failure.message)
            return
        record.waiting = (failure.reason, failure.message)
        if failure.reason == "ErrImagePull":
            message = failure.message  # the runtime's words, which name the image
            if not message.startswith("Failed to pull image"):
                message = f'Failed to pull image "{record.spec.image}": {message}'
            recorder.record(self.pod, "Warning", "Failed", message)
            self._wake.set()  # shown once; the next sync turns it into ImagePullBackOff
        # the kubelet names an image failure by its reason, a create or start failure
        # by its message (kuberuntime's startContainer: "Error: %v", s.Message())
        said = failure.reason if failure.reason.startswith(_IMAGE_REASONS) else failure.message
        recorder.record(self.pod, "Warning", "Failed", f"Error: {said or failure.reason}")

    def _attend(self, record: ContainerRecord) -> None:
        """Watch the current container until it ends, running its probes meanwhile."""
        assert self._group is not None
        scope = anyio.CancelScope()
        record.scope = scope
        self._group.start_soon(self._attend_task, record, record.id, scope)

    async def _attend_task(
        self, record: ContainerRecord, container_id: str, scope: anyio.CancelScope
    ) -> None:
        agent = self.agent
        launch = record.launch
        with scope:
            if launch is not None and _has_probes(record.spec):
                async with anyio.create_task_group() as group:
                    probes = functools.partial(
                        run_probes,
                        agent.runtime,
                        agent.clock,
                        container_id=container_id,
                        container=record.spec,
                        launch=launch,
                        sink=self,
                    )
                    group.start_soon(probes)
                    report = await agent.wait_container(container_id, record.name, self.uid)
                    group.cancel_scope.cancel()
            else:
                report = await agent.wait_container(container_id, record.name, self.uid)
            if record.scope is scope:
                record.scope = None  # done: nothing left to cancel
            if record.id == container_id:
                record.report = report
                record.ready = False
                self._wake.set()

    # -- exits, kills, restarts ------------------------------------------------------------

    def _account_exits(self) -> None:
        """Count each newly terminated container in its crash streak and decide whether
        (and when) it restarts."""
        policy = self.pod.spec.restart_policy
        now = self.agent.clock.monotonic()
        for record in self.records.values():
            report = record.report
            if record.accounted or report is None or report.state != "terminated":
                continue
            record.accounted = True
            record.ready = False
            _cancel(record)
            code = report.exit_code if report.exit_code is not None else -1
            if record.init:
                restart = code != 0 and policy != "Never"
            else:
                restart = policy == "Always" or (policy == "OnFailure" and code != 0)
            if not restart:
                record.done = not record.init or code == 0 or policy == "Never"
                record.retry_at = None
                continue
            ran = 0.0
            if report.started_at is not None and report.finished_at is not None:
                ran = report.finished_at - report.started_at
            record.crashes = self.backoff.streak_after(record.crashes, ran)
            record.backoff_s = self.backoff.delay_s(record.crashes)
            record.retry_at = now + record.backoff_s
            record.waiting = ("", "")

    async def _kill_requested(self) -> None:
        """Stop containers a failed liveness or startup probe condemned."""
        for record in self.records.values():
            if not record.kill:
                continue
            message, record.kill = record.kill, ""
            if not record.running:
                continue
            grace = record.kill_grace_s
            if grace is None:
                grace = float(self.pod.spec.termination_grace_period_seconds)
            self.agent.recorder.record(self.pod, "Normal", "Killing", message)
            report = await self.agent.stop_container(record.id, grace)
            if report is not None:
                record.report = report

    async def _leave_endpoints(self, grace_s: float) -> None:
        """A deleted pod leaves every Endpoints before its containers get SIGTERM
        (:mod:`._endpoints_wait`); bounded by the pod's grace and ENDPOINTS_WAIT_S."""
        if not any(r.running and r.id for r in self.records.values()):
            return
        limit = min(ENDPOINTS_WAIT_S, grace_s)
        if not await wait_unlisted(self.agent.store, self.pod, limit):
            _log.info(
                "pod %s: still listed in endpoints after %.3gs; stopping it anyway",
                self._key(),
                limit,
            )

    async def _stop_all(self, grace_s: float, *, announce: bool) -> None:
        running = [r for r in self.records.values() if r.running and r.id]
        if not running:
            return

        async def stop(record: ContainerRecord) -> None:
            if announce:
                message = f"Stopping container {record.name}"
                self.agent.recorder.record(self.pod, "Normal", "Killing", message)
            report = await self.agent.stop_container(record.id, grace_s)
            _cancel(record)
            if report is not None:
                record.report = report
            record.accounted = True
            record.retry_at = None
            record.done = True

        if len(running) == 1:  # the usual pod: no task group needed
            await stop(running[0])
            return
        async with anyio.create_task_group() as group:
            for record in running:
                group.start_soon(stop, record)

    def _grace(self, pod: Pod, *, removed: bool = False) -> float:
        seconds = pod.metadata.deletion_grace_period_seconds
        if seconds is None:
            return REMOVED_GRACE_S if removed else float(pod.spec.termination_grace_period_seconds)
        return float(max(seconds, REMOVED_GRACE_S) if removed else seconds)

    def _active_deadline(self) -> float | None:
        """When activeDeadlineSeconds runs out, on the clock's monotonic scale."""
        seconds = self.pod.spec.active_deadline_seconds
        start = self.pod.status.start_time
        if seconds is None or start is None:
            return None
        clock = self.agent.clock
        return clock.monotonic() + (start.timestamp() + seconds - clock.now())

    def _deadline_passed(self) -> bool:
        deadline = self._active_deadline()
        return deadline is not None and deadline <= self.agent.clock.monotonic()

    async def _deadline_exceeded(self) -> None:
        self.agent.recorder.record(self.pod, "Warning", "DeadlineExceeded", DEADLINE_MESSAGE)
        await self._stop_all(float(self.pod.spec.termination_grace_period_seconds), announce=True)
        self.finished = True
        self._write_status(phase="Failed", reason="DeadlineExceeded", message=DEADLINE_MESSAGE)

    # -- status ----------------------------------------------------------------------------

    def _status(
        self, base: PodStatus, phase: str | None, reason: str = "", message: str = ""
    ) -> PodStatus:
        """The pod's status now, over ``base`` (the stored one: conditions others own,
        such as PodScheduled, and the start time are kept)."""
        spec = self.pod.spec
        kind = self.agent.runtime.kind
        init_done = all(self.records[c.name].succeeded for c in spec.init_containers)
        app_waiting = "ContainerCreating" if init_done else "PodInitializing"
        init_statuses = tuple(
            container_status(self.records[c.name], kind, "PodInitializing")
            for c in spec.init_containers
        )
        statuses = tuple(
            container_status(self.records[c.name], kind, app_waiting) for c in spec.containers
        )
        if phase is None:
            phase = pod_phase(spec, init_statuses, statuses)
        own = pod_conditions(spec, phase, init_statuses, statuses)
        now = to_datetime(int(self.agent.clock.now()))
        return attrs.evolve(
            base,
            phase=phase,  # type: ignore[arg-type]
            conditions=merge_conditions(base.conditions, own, now),
            reason=reason,
            message=message,
            host_ip=self.agent.host_ip,
            pod_ip=self.agent.host_ip,
            start_time=base.start_time or now,
            init_container_statuses=init_statuses,
            container_statuses=statuses,
            qos_class=qos_class(spec),
        )

    def _write_status(self, phase: str | None = None, reason: str = "", message: str = "") -> None:
        """Write the pod's status if it changed, over the latest stored object."""
        store = self.agent.store
        meta = self.pod.metadata
        for _ in range(5):
            try:
                current = store.get(Pod, meta.name, meta.namespace)
            except NotFound:
                return
            if current.metadata.uid != self.uid:
                return
            status = self._status(current.status, phase, reason, message)
            if status.phase in TERMINAL_PHASES and not self.finished:
                self.finished = True
                self.ports.release()  # nothing will listen again
                for record in self.records.values():
                    _cancel(record)
            if status == current.status:
                self.pod = current
                return
            try:
                self.pod = store.update_status(attrs.evolve(current, status=status))
                self._echoes.add(_version(self.pod))
            except Conflict:
                continue
            except NotFound:
                return
            return

    def _finish_status(self) -> None:
        """The last status of a pod being deleted: every container terminated; a pod
        that would still count as Running is Failed (the kubelet's rule); a pod that
        had already finished keeps its phase, reason and message."""
        status = self.pod.status
        if status.phase in TERMINAL_PHASES:
            self._write_status(status.phase, status.reason, status.message)
            return
        phase = pod_phase(self.pod.spec, *self._statuses())
        if phase not in TERMINAL_PHASES:
            app = [self.records[c.name] for c in self.pod.spec.containers]
            phase = "Succeeded" if app and all(r.succeeded for r in app) else "Failed"
        self._write_status(phase)

    def _statuses(self) -> tuple[tuple[ContainerStatus, ...], tuple[ContainerStatus, ...]]:
        status = self._status(self.pod.status, "Pending")
        return status.init_container_statuses, status.container_statuses

    def _delete_pod(self) -> None:
        """Finish a graceful deletion: delete the stored pod with grace 0, if it is
        still this pod (a new pod may have taken the name)."""
        store = self.agent.store
        meta = self.pod.metadata
        for _ in range(5):
            try:
                current = store.get(Pod, meta.name, meta.namespace)
                if current.metadata.uid != self.uid:
                    return
                store.delete(
                    Pod,
                    meta.name,
                    meta.namespace,
                    grace_period_s=0,
                    resource_version=current.metadata.resource_version,
                )
            except Conflict:
                continue
            except NotFound:
                return
            return

    async def _cleanup(self) -> None:
        """Remove every container this pod had and its directory; release its ports."""
        for record in self.records.values():
            _cancel(record)
            for container_id in {record.id, record.last_id} - {""}:
                await self.agent.remove_container(container_id)
        self.ports.release()
        _remove_tree(self.agent.pod_dir(self.uid))

    # -- adoption --------------------------------------------------------------------------

    def _restore(self, pod: Pod, adopted: list[ContainerReport]) -> None:
        """Carry restart counts over from the stored status and take over containers a
        previous orbit process started (their probes and waits start with the worker).

        Of several instances of one container, the latest (by restart count) becomes
        the current one, the one before it the previous (``lastState``); older ones are
        removed when the worker runs. An instance that ended while no orbit ran is
        taken as it ended and judged by the restart policy, as the kubelet does with a
        container it finds exited after a restart. A finished pod keeps its phase: its
        containers are only attached again, for their logs.
        """
        for status in (*pod.status.init_container_statuses, *pod.status.container_statuses):
            record = self.records.get(status.name)
            if record is not None:
                record.restarts = status.restart_count
        for name, instances in _latest_first(adopted).items():
            record = self.records.get(name)
            if record is None:
                self._stale.extend(report.id for report in instances)
                continue
            current, *older = instances
            record.id, record.report = current.id, current
            record.restarts = max(record.restarts, _restart_count(current))
            if older and older[0].state == "terminated":
                record.last, record.last_id = older[0], older[0].id
                older = older[1:]
            self._stale.extend(report.id for report in older)
            if self.finished:
                continue
            record.accounted = current.state != "terminated"
            record.started = record.spec.startup_probe is None
            record.ready = record.started and record.spec.readiness_probe is None
            record.launch = self.agent.adopted_launch(pod, record, self.ports)

    def _key(self) -> str:
        return f"{self.pod.metadata.namespace}/{self.pod.metadata.name}"


def _restart_count(report: ContainerReport) -> int:
    text = report.labels.get(RESTART_COUNT_LABEL, "")
    return int(text) if text.isdigit() else -1


def _latest_first(reports: Iterable[ContainerReport]) -> dict[str, list[ContainerReport]]:
    """Reports by container name, the latest instance first (by restart count, then
    start time)."""
    ordered = sorted(reports, key=lambda r: (_restart_count(r), r.started_at or 0.0), reverse=True)
    grouped: dict[str, list[ContainerReport]] = {}
    for report in ordered:
        grouped.setdefault(report.name, []).append(report)
    return grouped


def _remove_tree(path: str) -> None:
    """Delete a pod's directory (synchronously: a thread would let a virtual clock
    jump meanwhile; pods that wrote nothing have none)."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


def _version(pod: Pod) -> int:
    version = pod.metadata.resource_version
    return int(version) if version.isdigit() else 0


def _cancel(record: ContainerRecord) -> None:
    if record.scope is not None:
        record.scope.cancel()
        record.scope = None


def _has_probes(container: Container) -> bool:
    return any(
        probe is not None
        for probe in (container.startup_probe, container.liveness_probe, container.readiness_probe)
    )
