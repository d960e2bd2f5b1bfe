"""A scripted in-memory runtime for the node agent's tests (pure agent logic).

Each container name follows a :class:`Script`: how long a run lasts and with which exit
code, start failures to raise first, whether SIGTERM is ignored, what its probes answer.
Time is the running loop's (virtual under the SimulationLoop).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Sequence

import anyio
import attrs

from orbit.api import Probe
from orbit.clock import Clock, current_clock
from orbit.errors import NotFound
from orbit.runtimes import (
    CLUSTER_LABEL,
    ContainerLaunch,
    ContainerReport,
    NodeResources,
    ProbeOutcome,
    RuntimeFailure,
    Usage,
)


@attrs.define
class Script:
    """How one container (by name) behaves. ``exit_codes[i]`` ends run ``i`` (the last
    repeats); ``run_s`` None runs until stopped. ``probes`` maps an httpGet path (or
    "exec") to a function of the seconds since the container started."""

    run_s: float | None = None
    exit_codes: list[int] = attrs.field(factory=lambda: [0])
    start_failures: list[RuntimeFailure] = attrs.field(factory=list)
    ignore_sigterm: bool = False
    probes: dict[str, Callable[[float], bool]] = attrs.field(factory=dict)


@attrs.define(eq=False)
class FakeContainer:
    id: str
    launch: ContainerLaunch
    started: float  # monotonic
    started_at: float  # epoch
    exit_code: int
    ends_at: float | None
    state: str = "running"
    final: int | None = None
    signal: int = 0
    finished_at: float | None = None
    done: anyio.Event = attrs.field(factory=anyio.Event)
    removed: bool = False

    def report(self) -> ContainerReport:
        terminated = self.state == "terminated"
        code = self.final if terminated else None
        return ContainerReport(
            id=self.id,
            name=self.launch.name,
            pod_uid=self.launch.pod_uid,
            state="terminated" if terminated else "running",  # type: ignore[arg-type]
            exit_code=code,
            signal=self.signal,
            reason=("Completed" if code == 0 else "Error") if terminated else "",
            started_at=self.started_at,
            finished_at=self.finished_at,
            image=self.launch.image,
            labels=self.launch.labels,
            ports=self.launch.ports,
        )


class FakeRuntime:
    """A scripted runtime (see the module docstring)."""

    kind = "fake"

    def __init__(self, scripts: dict[str, Script] | None = None) -> None:
        self.scripts = scripts or {}
        self.containers: dict[str, FakeContainer] = {}
        self.starts: list[tuple[float, str]] = []  # (virtual time, container name)
        self.stops: list[tuple[float, str, float]] = []  # (time, id, grace)
        self.down = False
        self.closed = False
        self._serial = 0

    @property
    def clock(self) -> Clock:
        return current_clock()

    def script(self, name: str) -> Script:
        return self.scripts.setdefault(name, Script())

    def running(self) -> list[FakeContainer]:
        return [c for c in self.containers.values() if c.state == "running"]

    async def discover(self) -> NodeResources:
        return NodeResources(capacity={"cpu": "4", "memory": "8Gi"}, gpu_ids=("0", "1"))

    async def ping(self) -> None:
        if self.down:
            raise RuntimeFailure("NodeUnreachable", "the fake engine is down")

    async def start(self, launch: ContainerLaunch) -> ContainerReport:
        script = self.script(launch.name)
        now = self.clock.monotonic()
        self.starts.append((now, launch.name))
        if script.start_failures:
            raise script.start_failures.pop(0)
        runs = sum(1 for c in self.containers.values() if c.launch.name == launch.name)
        self._serial += 1
        container = FakeContainer(
            id=f"{launch.name}-{self._serial}",
            launch=launch,
            started=now,
            started_at=self.clock.now(),
            exit_code=script.exit_codes[min(runs, len(script.exit_codes) - 1)],
            ends_at=None if script.run_s is None else now + script.run_s,
        )
        self.containers[container.id] = container
        return container.report()

    def _get(self, container_id: str) -> FakeContainer:
        container = self.containers.get(container_id)
        if container is None or container.removed:
            raise NotFound("container", container_id)
        return container

    def crash(self, container_id: str, code: int) -> None:
        """End a running container now with ``code``."""
        self._finish(self.containers[container_id], code)

    def _finish(self, container: FakeContainer, code: int, signal: int = 0) -> None:
        if container.state == "terminated":
            return
        container.state = "terminated"
        container.final = code
        container.signal = signal
        container.finished_at = self.clock.now()
        container.done.set()

    async def wait(self, container_id: str) -> ContainerReport:
        container = self._get(container_id)
        while container.state == "running":
            left = (
                math.inf
                if container.ends_at is None
                else container.ends_at - self.clock.monotonic()
            )
            with anyio.move_on_after(max(0.0, left)):
                await container.done.wait()
            due = container.ends_at is not None and self.clock.monotonic() >= container.ends_at
            if container.state == "running" and due:
                self._finish(container, container.exit_code)
        return container.report()

    async def inspect(self, container_id: str) -> ContainerReport:
        return self._get(container_id).report()

    async def stop(self, container_id: str, grace_s: float) -> ContainerReport:
        container = self._get(container_id)
        self.stops.append((self.clock.monotonic(), container_id, grace_s))
        if container.state == "running":
            if self.script(container.launch.name).ignore_sigterm:
                with anyio.move_on_after(grace_s):
                    await container.done.wait()
                self._finish(container, 137, 9)
            else:
                self._finish(container, 143, 15)
        return container.report()

    async def remove(self, container_id: str) -> None:
        self._get(container_id).removed = True

    async def logs(
        self, container_id: str, *, tail: int | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        container = self._get(container_id)
        lines = [f"{container.launch.name} line {i}" for i in range(5)]
        for line in lines[-tail:] if tail else lines:
            yield line
        if follow:
            await container.done.wait()
            yield "bye"

    async def usage(self, container_id: str) -> Usage:
        self._get(container_id)
        return Usage(cpu_cores=0.5, memory_bytes=1024, at=self.clock.now())

    async def probe(self, container_id: str, probe: Probe, launch: ContainerLaunch) -> ProbeOutcome:
        container = self._get(container_id)
        key = probe.http_get.path if probe.http_get is not None else "exec"
        answer = self.script(launch.name).probes.get(key)
        elapsed = self.clock.monotonic() - container.started
        if answer is None or answer(elapsed):
            return ProbeOutcome(success=True)
        return ProbeOutcome(
            success=False, message=f"HTTP probe failed with statuscode: 500 ({key})"
        )

    async def list_running(self, cluster_id: str) -> Sequence[ContainerReport]:
        """Running and ended containers not removed, as the real runtimes list them."""
        return [
            c.report()
            for c in self.containers.values()
            if not c.removed and c.launch.labels.get(CLUSTER_LABEL) == cluster_id
        ]

    async def close(self) -> None:
        self.closed = True
