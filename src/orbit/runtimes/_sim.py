"""SimRuntime: virtual containers on a virtual node, driven by the event loop's timers.

A simulated container is a record and at most one timer: ``start`` sleeps the startup
delay, then schedules the container's own end (``loop.call_at``) from its
:class:`~orbit.runtimes.Behaviour`; ``stop`` replaces that timer with SIGTERM's outcome;
``wait`` parks a future the timer resolves. No task runs per container, so a thousand
nodes with twenty thousand pod lifecycles cost only their events. Under
:func:`orbit.simulate` the loop's clock is virtual, so a day passes in seconds; on an
ordinary loop the same containers run in real time (useful for demos).

Node loss: :meth:`SimRuntime.fail_node` makes the node unreachable. ``ping`` and every
other call raise ``RuntimeFailure("NodeUnreachable")`` except ``wait``, which blocks:
a failed node's containers stop reporting. By default the machine is lost with its
containers (their timers stop); :meth:`SimRuntime.recover_node` brings it back empty
and reports each lost container terminated (137, ``ContainerStatusUnknown``, finished
at the failure). With ``fail_node(lose_containers=False)`` (a network partition) the
containers run on and what happened meanwhile is reported after recovery.

Determinism: container ids count up per runtime; jitter draws come from a
``random.Random`` seeded by (runtime seed, simulation seed, pod uid, container name,
restart count), so they do not depend on the order in which containers start.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import ClassVar

import anyio
import attrs

from orbit.api import Probe
from orbit.clock import Clock, current_clock
from orbit.errors import NotFound

from ._protocol import (
    CLUSTER_LABEL,
    CONTAINER_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    ContainerLaunch,
    ContainerReport,
    NodeResources,
    ProbeOutcome,
    RuntimeFailure,
    Usage,
)
from ._sim_behaviour import (
    Behaviour,
    ExitPlan,
    behaviour_from_annotations,
    jittered,
    plan_exit,
    plan_stop,
    probe_outcome,
    usage_at,
)

__all__ = ["DEFAULT_SIM_CAPACITY", "SimRuntime"]

DEFAULT_SIM_CAPACITY: Mapping[str, str] = {"cpu": "8", "memory": "32Gi", "pods": "110"}

BehaviourHook = Callable[[ContainerLaunch], Behaviour]


class _Container:
    """One simulated container: its launch, model, report and pending end (if any)."""

    __slots__ = ("behaviour", "id", "launch", "lost", "report", "started", "timer", "waiters")

    def __init__(
        self, cid: str, launch: ContainerLaunch, behaviour: Behaviour, report: ContainerReport
    ) -> None:
        self.id = cid
        self.launch = launch
        self.behaviour = behaviour
        self.report = report
        self.started = 0.0  # loop time at start
        self.timer: asyncio.TimerHandle | None = None
        self.waiters: list[asyncio.Future[None]] = []
        self.lost = False

    @property
    def running(self) -> bool:
        return self.report.state == "running"


class SimRuntime:
    """A simulated node: containers follow a :class:`Behaviour` in the loop's time.

    Args:
        capacity: what :meth:`discover` reports (default 8 cpus, 32Gi, 110 pods).
        gpus: how many GPUs the node has (device ids ``"0"``..``"n-1"``).
        behaviour: a hook giving each launch its behaviour; when given it wins over the
            pod's ``sim.orbit.dev/*`` annotations (call
            :func:`~orbit.runtimes.behaviour_from_annotations` in it to build on them).
        seed: mixed into the jitter draws (with the simulation's seed).
        clock: for the epoch timestamps in reports (default: the running loop's,
            virtual under ``simulate``). Durations always run on the loop's timers.
    """

    kind = "sim"
    reachability_epoch: ClassVar[int] = 0
    """Bumped whenever any SimRuntime fails or recovers: a heartbeat over a thousand
    simulated nodes re-pings them only when this moved (their answers live in memory)."""

    def __init__(
        self,
        capacity: Mapping[str, str] | None = None,
        *,
        gpus: int = 0,
        behaviour: BehaviourHook | None = None,
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self._capacity = dict(DEFAULT_SIM_CAPACITY if capacity is None else capacity)
        if gpus:
            self._capacity.setdefault("nvidia.com/gpu", str(gpus))
        self._gpu_ids = tuple(str(i) for i in range(gpus))
        self._hook = behaviour
        self._seed = seed
        self._clock = clock
        self._containers: dict[str, _Container] = {}
        self._serial = 0
        self._failed_at: float | None = None

    # --- node ------------------------------------------------------------------------

    async def discover(self) -> NodeResources:
        """The configured capacity and GPU ids."""
        self._check_reachable()
        return NodeResources(
            capacity=dict(self._capacity), gpu_ids=self._gpu_ids, info={"runtime": "sim"}
        )

    async def ping(self) -> None:
        """Raise ``RuntimeFailure("NodeUnreachable")`` while the node is failed."""
        self._check_reachable()

    def fail_node(self, *, lose_containers: bool = True) -> None:
        """Make the node unreachable (node loss); see the module notes for what follows."""
        if self._failed_at is not None:
            return
        self._failed_at = self._now()
        SimRuntime.reachability_epoch += 1
        if lose_containers:
            for container in self._containers.values():
                if container.running:
                    container.lost = True
                    if container.timer is not None:
                        container.timer.cancel()
                        container.timer = None

    def recover_node(self) -> None:
        """Make the node reachable again; report lost containers terminated."""
        failed_at = self._failed_at
        if failed_at is None:
            return
        self._failed_at = None
        SimRuntime.reachability_epoch += 1
        message = "The container could not be located when the node came back"
        for container in self._containers.values():
            if container.lost:
                container.lost = False
                plan = ExitPlan(after_s=0, exit_code=137, reason="ContainerStatusUnknown")
                self._finish(container, attrs.evolve(plan, message=message), at=failed_at)
            self._wake(container)

    @property
    def failed(self) -> bool:
        """Whether the node is failed (unreachable)."""
        return self._failed_at is not None

    async def close(self) -> None:
        """Nothing to release: simulated containers live as long as this object."""

    # --- containers ------------------------------------------------------------------

    async def start(self, launch: ContainerLaunch) -> ContainerReport:
        """Start after the behaviour's startup delay; the report is running (or already
        terminated, for a container that ends at once)."""
        self._check_reachable()
        loop = asyncio.get_running_loop()
        behaviour = self._behaviour_for(launch, getattr(loop, "orbit_seed", 0))
        self._check_launchable(launch, behaviour)
        if behaviour.startup_s > 0:
            await anyio.sleep(behaviour.startup_s)
            self._check_reachable()
        self._serial += 1
        cid = f"{launch.pod_uid}/{launch.name}/{self._serial}"
        container = _Container(cid, launch, behaviour, self._initial_report(cid, launch))
        container.started = loop.time()
        self._containers[cid] = container
        plan = plan_exit(behaviour, launch)
        if plan is not None:
            self._schedule(container, plan, loop)
        return container.report

    async def wait(self, container_id: str) -> ContainerReport:
        """The final report, once the container has ended and the node is reachable."""
        container = self._get(container_id)
        await self._wait_for(container)
        return container.report

    async def inspect(self, container_id: str) -> ContainerReport:
        """The container's current report."""
        self._check_reachable()
        return self._get(container_id).report

    async def stop(self, container_id: str, grace_s: float) -> ContainerReport:
        """SIGTERM: the container exits after its shutdown time, or is killed (137) when
        it ignores SIGTERM or would take longer than ``grace_s``."""
        self._check_reachable()
        container = self._get(container_id)
        if container.running:
            plan = plan_stop(container.behaviour, grace_s)
            loop = asyncio.get_running_loop()
            pending = container.timer
            if pending is None or loop.time() + plan.after_s < pending.when():
                self._schedule(container, plan, loop)
        await self._wait_for(container)
        return container.report

    async def remove(self, container_id: str) -> None:
        """Forget a container (a running one is killed first); unknown ids are ignored."""
        self._check_reachable()
        container = self._containers.pop(container_id, None)
        if container is not None and container.running:
            self._finish(container, ExitPlan(after_s=0, exit_code=137, reason="Error", signal=9))

    async def logs(
        self, container_id: str, *, tail: int | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        """The behaviour's log lines (all written at start); ``follow`` waits for the end."""
        self._check_reachable()
        container = self._get(container_id)
        lines = container.behaviour.log_lines
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else ()
        for line in lines:
            yield line
        if follow:
            await self._wait_for(container)

    async def usage(self, container_id: str) -> Usage:
        """Cpu and memory from the behaviour's curves; zero once it has ended."""
        self._check_reachable()
        container = self._get(container_id)
        if not container.running:
            return Usage(cpu_cores=0.0, memory_bytes=0, at=self._now())
        elapsed = asyncio.get_running_loop().time() - container.started
        cores, memory = usage_at(container.behaviour, elapsed, container.launch)
        return Usage(cpu_cores=cores, memory_bytes=memory, at=self._now())

    async def probe(self, container_id: str, probe: Probe, launch: ContainerLaunch) -> ProbeOutcome:
        """The behaviour's answer: healthy from ready-after until unhealthy-after."""
        self._check_reachable()
        container = self._get(container_id)
        if not container.running:
            return ProbeOutcome(success=False, message="container is not running")
        elapsed = asyncio.get_running_loop().time() - container.started
        return probe_outcome(container.behaviour, elapsed, probe)

    async def list_running(self, cluster_id: str) -> Sequence[ContainerReport]:
        """The running containers this runtime started for ``cluster_id``."""
        self._check_reachable()
        return [
            c.report
            for c in self._containers.values()
            if c.running and c.report.labels.get(CLUSTER_LABEL) == cluster_id
        ]

    # --- internals -------------------------------------------------------------------

    def _now(self) -> float:
        return (self._clock or current_clock()).now()

    def _check_reachable(self) -> None:
        if self._failed_at is not None:
            raise RuntimeFailure("NodeUnreachable", "the simulated node has failed")

    def _get(self, container_id: str) -> _Container:
        try:
            return self._containers[container_id]
        except KeyError:
            raise NotFound("Container", container_id) from None

    def _behaviour_for(self, launch: ContainerLaunch, simulation_seed: int) -> Behaviour:
        if self._hook is None:
            behaviour = behaviour_from_annotations(
                launch.annotations, launch.name, init=launch.init
            )
        else:
            try:
                behaviour = self._hook(launch)
            except RuntimeFailure:
                raise
            except Exception as exc:  # a user hook: its failure is the container's
                raise RuntimeFailure(
                    "CreateContainerError", f"behaviour hook failed: {exc!r}"
                ) from exc
        if behaviour.jitter <= 0:
            return behaviour
        key = (
            f"{self._seed}/{simulation_seed}/{launch.pod_uid}/{launch.name}/{launch.restart_count}"
        )
        return jittered(behaviour, random.Random(key))

    def _check_launchable(self, launch: ContainerLaunch, behaviour: Behaviour) -> None:
        if behaviour.fail_image:
            if launch.image_pull_policy == "Never":
                message = (
                    f'Container image "{launch.image}" is not present with pull policy of Never'
                )
                raise RuntimeFailure("ErrImageNeverPull", message)
            message = f'Failed to pull image "{launch.image}": simulated missing image'
            raise RuntimeFailure("ErrImagePull", message)
        unknown = sorted(set(launch.gpu_ids) - set(self._gpu_ids))
        if unknown:
            message = f"GPU device ids {unknown} do not exist on this node ({list(self._gpu_ids)})"
            raise RuntimeFailure("RunContainerError", message)

    def _initial_report(self, cid: str, launch: ContainerLaunch) -> ContainerReport:
        labels = {
            **launch.labels,
            POD_UID_LABEL: launch.pod_uid,
            POD_NAME_LABEL: launch.pod_name,
            POD_NAMESPACE_LABEL: launch.namespace,
            CONTAINER_LABEL: launch.name,
        }
        return ContainerReport(
            id=cid,
            name=launch.name,
            pod_uid=launch.pod_uid,
            state="running",
            started_at=self._now(),
            image=launch.image,
            image_id=f"sim://{launch.image}",
            labels=labels,
            ports=launch.ports,
        )

    def _schedule(
        self, container: _Container, plan: ExitPlan, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Make ``plan`` the container's end, replacing any pending one."""
        if container.timer is not None:
            container.timer.cancel()
            container.timer = None
        if plan.after_s <= 0:
            self._finish(container, plan)
        else:
            container.timer = loop.call_at(
                loop.time() + plan.after_s, self._finish, container, plan
            )

    def _finish(self, container: _Container, plan: ExitPlan, at: float | None = None) -> None:
        """Terminate the container as ``plan`` says and tell its waiters (unless failed)."""
        if not container.running:
            return
        container.timer = None
        container.report = attrs.evolve(
            container.report,
            state="terminated",
            exit_code=plan.exit_code,
            signal=plan.signal,
            reason=plan.reason,
            message=plan.message,
            finished_at=self._now() if at is None else at,
        )
        if self._failed_at is None:
            self._wake(container)

    def _wake(self, container: _Container) -> None:
        waiters, container.waiters = container.waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    async def _wait_for(self, container: _Container) -> None:
        """Until the container has terminated and the node is reachable."""
        loop = asyncio.get_running_loop()
        while container.running or self._failed_at is not None:
            future: asyncio.Future[None] = loop.create_future()
            container.waiters.append(future)
            try:
                await future
            finally:
                if future.cancelled() and future in container.waiters:
                    container.waiters.remove(future)
