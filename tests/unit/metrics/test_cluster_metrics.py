"""OrbitMetrics on a whole simulated cluster (virtual time): real node agents restart a
crashing container, the real scheduler binds and refuses pods, nodes sit in pools; the
metrics say what the store says. The scheduler is given the instrument the way the
Cluster wiring gives it (``Frameworks(..., instruments=[...])``)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import orbit
from orbit.api import Pod
from orbit.controllers import Scheduler, store_aware_registry
from orbit.metrics import NODE_POOL_LABEL, OrbitMetrics
from orbit.runtimes import SimRuntime
from orbit.scheduling import Frameworks
from orbit.simulation import SimulationLoop

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "asyncio", {"loop_factory": SimulationLoop}


def pod(name: str, cpu: str, **behaviour: str) -> dict[str, Any]:
    annotations = {f"sim.orbit.dev/{k.replace('_', '-')}": v for k, v in behaviour.items()}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "containers": [{"name": "app", "image": "sim", "resources": {"requests": {"cpu": cpu}}}]
        },
    }


def sim_node(name: str, pool: str) -> orbit.Node:
    return orbit.Node(
        name, runtime=SimRuntime({"cpu": "4", "memory": "8Gi"}), labels={NODE_POOL_LABEL: pool}
    )


async def test_a_simulated_cluster_reports_phases_restarts_pools_and_attempts() -> None:
    cluster = orbit.Cluster(nodes=[sim_node("a", "general"), sim_node("b", "general")], seed=3)
    metrics = OrbitMetrics(cluster.store)
    cluster.scheduler = Scheduler(
        cluster.store,
        cluster.clock,
        frameworks=Frameworks(
            registry=store_aware_registry(cluster.store),
            seed=3,
            instruments=[metrics.scheduling_instrument],
        ),
    )
    value = metrics.registry.get_sample_value
    async with cluster:
        await cluster.apply(pod("steady", "1", run_seconds="forever"))
        await cluster.apply(
            pod("crashy", "1", run_seconds="forever", crash_after_seconds="30", crash_count="2")
        )
        await cluster.apply(pod("huge", "16"))
        await anyio.sleep(600)  # two crashes at 30 s, restart backoff 10 s then 20 s
        crashy = cluster.store.get(Pod, "crashy", "default")
        assert crashy.status.phase == "Running"
        assert crashy.status.container_statuses[0].restart_count == 2
        restarts = {"namespace": "default", "pod": "crashy", "container": "app"}
        assert value("orbit_pod_container_restarts_total", restarts) == 2
        steady = {"namespace": "default", "pod": "steady", "container": "app"}
        assert value("orbit_pod_container_restarts_total", steady) == 0
        assert value("orbit_pods", {"namespace": "default", "phase": "Running"}) == 2
        assert value("orbit_pods", {"namespace": "default", "phase": "Pending"}) == 1
        assert value("orbit_scheduler_pending_pods") == 1
        assert cluster.store.get(Pod, "huge", "default").spec.node_name == ""
        assert value("orbit_nodepool_nodes", {"pool": "general"}) == 2
        attempts = "orbit_scheduler_schedule_attempts_total"
        scheduled = {"result": "scheduled", "profile": "default-scheduler"}
        unschedulable = {"result": "unschedulable", "profile": "default-scheduler"}
        assert value(attempts, scheduled) == 2
        # "huge" is tried again whenever something may help (pods leave, flushes)
        assert value(attempts, unschedulable) == cluster.scheduler.attempts - 2 >= 1
        assert value(attempts, {"result": "error", "profile": "default-scheduler"}) == 0
