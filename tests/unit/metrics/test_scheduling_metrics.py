"""Scheduling attempts and their latency from a real Scheduler loop (virtual time), with
the instrument plugged into its frameworks the way a Cluster plugs it in: results as
kube-scheduler counts them (scheduled once bound, unschedulable, error) per profile."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import anyio
import attrs
import pytest
from metrics_builders import StepTimer, make_sched_node, make_sched_pod, make_store

from orbit.api import Pod
from orbit.clock import current_clock
from orbit.controllers import GANG_ANNOTATION, GANG_MIN_ANNOTATION, Scheduler, store_aware_registry
from orbit.metrics import OrbitMetrics
from orbit.scheduling import (
    SUCCESS,
    CycleState,
    Frameworks,
    NodeInfo,
    PluginRef,
    Profile,
    Registry,
    Status,
    default_profiles,
    default_registry,
)
from orbit.simulation import SimulationLoop
from orbit.store import MemoryStore

pytestmark = pytest.mark.anyio

ATTEMPTS = "orbit_scheduler_schedule_attempts_total"
DURATION = "orbit_scheduler_scheduling_attempt_duration_seconds"


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "asyncio", {"loop_factory": SimulationLoop}


async def until(check: Callable[[], Any], timeout_s: float = 60.0) -> None:
    """Poll every 10 virtual ms until ``check()`` holds."""
    with anyio.fail_after(timeout_s):
        while not check():  # noqa: ASYNC110 - the store has no event for "bound"
            await anyio.sleep(0.01)


def attempts(metrics: OrbitMetrics, profile: str) -> dict[str, float | None]:
    value = metrics.registry.get_sample_value
    return {
        result: value(ATTEMPTS, {"result": result, "profile": profile})
        for result in ("scheduled", "unschedulable", "error")
    }


def bound(store: MemoryStore, name: str) -> bool:
    return bool(store.get(Pod, name, "default").spec.node_name)


def refused(store: MemoryStore, name: str) -> bool:
    condition = store.get(Pod, name, "default").status.condition("PodScheduled")
    return condition is not None and condition.status == "False"


class Harness:
    """A store and a Scheduler whose frameworks carry the metrics instrument."""

    def __init__(
        self, profiles: Iterable[Profile] | None = None, registry: Registry | None = None
    ) -> None:
        self.store = make_store()
        self.timer = StepTimer(0.003)
        self.metrics = OrbitMetrics(self.store, timer=self.timer)
        frameworks = Frameworks(
            profiles,
            registry=store_aware_registry(self.store, registry),
            seed=1,
            instruments=[self.metrics.scheduling_instrument],
        )
        self.scheduler = Scheduler(self.store, current_clock(), frameworks=frameworks)

    async def run_until(self, *checks: Callable[[], Any]) -> None:
        async with anyio.create_task_group() as group:
            await group.start(self.scheduler.run)
            for check in checks:
                await until(check)
            group.cancel_scope.cancel()


async def test_bound_and_unschedulable_pods_count_once_each_with_latency() -> None:
    h = Harness()
    h.store.create(make_sched_node("n1", cpu="2"))
    for name in ("a", "b"):
        h.store.create(make_sched_pod(name, cpu="1"))
    h.store.create(make_sched_pod("big", cpu="4"))
    await h.run_until(
        lambda: bound(h.store, "a") and bound(h.store, "b") and refused(h.store, "big")
    )
    assert h.scheduler.attempts == 3
    assert attempts(h.metrics, "default-scheduler") == {
        "scheduled": 2,
        "unschedulable": 1,
        "error": 0,  # created at zero on the profile's first attempt
    }
    value = h.metrics.registry.get_sample_value
    scheduled = {"result": "scheduled", "profile": "default-scheduler"}
    # every attempt reads the fake timer twice (start, settle): 3 ms each
    assert value(f"{DURATION}_count", scheduled) == 2
    assert value(f"{DURATION}_sum", scheduled) == pytest.approx(0.006)
    assert value(f"{DURATION}_bucket", {**scheduled, "le": "0.002"}) == 0
    assert value(f"{DURATION}_bucket", {**scheduled, "le": "0.004"}) == 2
    unschedulable = {"result": "unschedulable", "profile": "default-scheduler"}
    assert value(f"{DURATION}_count", unschedulable) == 1
    assert value(f"{DURATION}_bucket", {**unschedulable, "le": "+Inf"}) == 1
    assert h.metrics.scheduling_instrument.in_flight == 0


class Trouble:
    """A plugin that fails a pod by its name: ``broken`` in filter (an Error),
    ``unlucky`` in reserve (a rejection), ``unbindable`` in bind (an Error)."""

    name = "Trouble"

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        return Status.error("disk on fire") if pod.metadata.name == "broken" else SUCCESS

    def reserve(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if pod.metadata.name == "unlucky":
            return Status.unschedulable("no luck")
        return SUCCESS

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None:
        pass

    def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status:
        if pod.metadata.name == "unbindable":
            return Status.error("binding refused")
        return Status.skip()  # the DefaultBinder after it binds


def troubled_profile() -> tuple[Profile, Registry]:
    registry = default_registry()
    registry.register("Trouble", lambda args, handle: Trouble())
    base = default_profiles()["default"]
    refs = [p for p in base.plugins if p.name not in ("DefaultPreemption", "DefaultBinder")]
    plugins = (*refs, PluginRef("Trouble"), PluginRef("DefaultBinder"))
    return attrs.evolve(base, name="troubled", plugins=plugins), registry


async def test_plugin_errors_rejections_and_bind_failures_get_their_results() -> None:
    profile, registry = troubled_profile()
    h = Harness([profile], registry)
    h.store.create(make_sched_node("n1", cpu="8"))
    for name in ("fine", "broken", "unlucky", "unbindable"):
        h.store.create(make_sched_pod(name, scheduler_name="troubled"))
    await h.run_until(lambda: h.scheduler.attempts == 4)
    assert bound(h.store, "fine")
    assert not bound(h.store, "unbindable")
    assert attempts(h.metrics, "troubled") == {"scheduled": 1, "unschedulable": 1, "error": 2}
    assert attempts(h.metrics, "default-scheduler")["scheduled"] is None  # never used
    assert h.metrics.scheduling_instrument.in_flight == 0


def gang_pod(name: str) -> Pod:
    gang = {GANG_ANNOTATION: "train", GANG_MIN_ANNOTATION: "4"}
    return make_sched_pod(name, cpu="2", annotations=gang)


async def test_a_gang_that_does_not_fit_is_unschedulable_then_scheduled_all_together() -> None:
    h = Harness()
    for i in range(3):
        h.store.create(make_sched_node(f"n{i}", cpu="2"))
    members = [f"train-{i}" for i in range(4)]
    for name in members:  # 4 members of 2 cpu on 3 nodes of 2 cpu: not all fit
        h.store.create(gang_pod(name))

    async with anyio.create_task_group() as group:
        await group.start(h.scheduler.run)
        await until(lambda: all(refused(h.store, m) for m in members))
        # three fitted on the trial snapshot and were let go: a Permit-style rejection
        assert attempts(h.metrics, "default-scheduler") == {
            "scheduled": 0,
            "unschedulable": 4,
            "error": 0,
        }
        h.store.create(make_sched_node("n3", cpu="2"))
        await until(lambda: all(bound(h.store, m) for m in members))
        group.cancel_scope.cancel()
    assert attempts(h.metrics, "default-scheduler") == {
        "scheduled": 4,
        "unschedulable": 4,
        "error": 0,
    }
    assert h.metrics.scheduling_instrument.in_flight == 0


async def test_the_batch_profile_counts_each_placed_pod_once() -> None:
    h = Harness()
    for i in range(2):
        h.store.create(make_sched_node(f"n{i}", cpu="2"))
    names = [f"p{i}" for i in range(3)]
    for name in names:
        h.store.create(make_sched_pod(name, scheduler_name="optimal"))
    await h.run_until(lambda: all(bound(h.store, n) for n in names))
    assert attempts(h.metrics, "optimal") == {"scheduled": 3, "unschedulable": 0, "error": 0}
    value = h.metrics.registry.get_sample_value
    count = value(f"{DURATION}_count", {"result": "scheduled", "profile": "optimal"})
    assert count == 3
    assert h.metrics.scheduling_instrument.in_flight == 0
