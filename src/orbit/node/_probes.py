"""Probe workers: startup, liveness and readiness checks of one running container.

As the kubelet's prober workers: a container's startup probe runs first (every
``periodSeconds`` after ``initialDelaySeconds``) and gates the others; once it has
passed (or when there is none), liveness and readiness run side by side. A result
changes only after ``failureThreshold`` consecutive failures or ``successThreshold``
consecutive successes (:class:`Threshold`); readiness starts as failed, liveness as
passed. The worker tells its :class:`ProbeSink` (the pod worker) about every failed
attempt (for the ``Unhealthy`` event) and every change of result; a failed startup or
liveness result ends the worker: the pod worker kills the container and restarts it
according to the pod's restartPolicy.

Timing goes through the cluster's clock, so probes run on virtual time in simulation.
"""

from __future__ import annotations

from typing import Literal, Protocol

import anyio

from orbit.api import Container, Probe
from orbit.clock import Clock
from orbit.runtimes import ContainerLaunch, ProbeOutcome, Runtime

__all__ = ["ProbeKind", "ProbeSink", "Threshold", "attempt", "run_probes"]

ProbeKind = Literal["startup", "liveness", "readiness"]
_TITLES = {"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}


class Threshold:
    """A probe's current result, changed only by enough consecutive attempts
    (``None`` until the first change: a startup probe's result is unknown at first)."""

    def __init__(self, probe: Probe, initial: bool | None) -> None:
        self.result = initial
        self._success_threshold = max(1, probe.success_threshold)
        self._failure_threshold = max(1, probe.failure_threshold)
        self._last: bool | None = None
        self._run = 0

    def observe(self, success: bool) -> bool:
        """Count one attempt; True when it changed the result."""
        self._run = self._run + 1 if success == self._last else 1
        self._last = success
        needed = self._success_threshold if success else self._failure_threshold
        if self._run >= needed and success != self.result:
            self.result = success
            return True
        return False


class ProbeSink(Protocol):
    """Who hears about a container's probes (the pod worker)."""

    def probe_failed(self, container: str, kind: ProbeKind, message: str) -> None:
        """One attempt failed (``message`` is the handler's output)."""
        ...

    def probe_result(self, container: str, kind: ProbeKind, success: bool, message: str) -> None:
        """The probe's result changed."""
        ...


async def attempt(
    runtime: Runtime, container_id: str, probe: Probe, launch: ContainerLaunch
) -> ProbeOutcome:
    """One probe attempt; a runtime error or a hang past the timeout is a failure."""
    limit = max(1, probe.timeout_seconds) + 1  # the runtime enforces the timeout itself
    with anyio.move_on_after(limit):
        try:
            return await runtime.probe(container_id, probe, launch)
        except Exception as error:  # a broken probe must not break the pod worker
            return ProbeOutcome(success=False, message=f"{type(error).__name__}: {error}")
    return ProbeOutcome(success=False, message=f"probe timed out after {probe.timeout_seconds}s")


class _Prober:
    """The probes of one running container."""

    def __init__(
        self,
        runtime: Runtime,
        clock: Clock,
        container_id: str,
        launch: ContainerLaunch,
        sink: ProbeSink,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.container_id = container_id
        self.launch = launch
        self.sink = sink

    async def loop(self, kind: ProbeKind, probe: Probe) -> bool:
        """Probe until the result settles for good (startup passed; startup or
        liveness failed), returning it, or forever (readiness, a passing liveness)."""
        initial = {"liveness": True, "readiness": False, "startup": None}[kind]
        threshold = Threshold(probe, initial)
        name = self.launch.name
        if probe.initial_delay_seconds > 0:
            await self.clock.sleep(probe.initial_delay_seconds)
        while True:
            outcome = await attempt(self.runtime, self.container_id, probe, self.launch)
            if not outcome.success:
                message = f"{_TITLES[kind]} probe failed: {outcome.message}"
                self.sink.probe_failed(name, kind, message)
            if threshold.observe(outcome.success):
                result = bool(threshold.result)
                self.sink.probe_result(name, kind, result, outcome.message)
                if (kind == "startup" and result) or (kind != "readiness" and not result):
                    return result
            await self.clock.sleep(max(1, probe.period_seconds))


async def run_probes(
    runtime: Runtime,
    clock: Clock,
    *,
    container_id: str,
    container: Container,
    launch: ContainerLaunch,
    sink: ProbeSink,
) -> None:
    """Run a container's probes until cancelled (when the container ends) or until a
    startup or liveness failure (the sink kills the container)."""
    prober = _Prober(runtime, clock, container_id, launch, sink)
    if container.startup_probe is not None and not await prober.loop(
        "startup", container.startup_probe
    ):
        return
    async with anyio.create_task_group() as group:
        if container.liveness_probe is not None:
            group.start_soon(prober.loop, "liveness", container.liveness_probe)
        if container.readiness_probe is not None:
            group.start_soon(prober.loop, "readiness", container.readiness_probe)
