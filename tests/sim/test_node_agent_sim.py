"""The node agent on SimRuntime nodes in virtual time: the whole control plane (store,
scheduler, agents, heartbeats, node lifecycle) runs unmodified, durations are exact,
and a run is the same for the same seed."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import orbit
from orbit.api import Pod
from orbit.clock import current_clock
from orbit.node import Node
from orbit.runtimes._sim import SimRuntime
from orbit.simulation import simulate

pytestmark = pytest.mark.anyio


def now() -> float:
    return current_clock().monotonic()


def sim_pod(name: str, restart: str = "Never", **behaviour: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "annotations": {
                f"sim.orbit.dev/{k.replace('_', '-')}": v for k, v in behaviour.items()
            },
        },
        "spec": {
            "restartPolicy": restart,
            "containers": [
                {
                    "name": "app",
                    "image": "sim",
                    "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}},
                }
            ],
        },
    }


def nodes(count: int) -> list[Node]:
    return [
        Node(f"sim-{i}", runtime=SimRuntime({"cpu": "4", "memory": "16Gi"})) for i in range(count)
    ]


async def test_pods_on_many_simulated_nodes_run_for_exactly_their_duration() -> None:
    async with orbit.Cluster(nodes=nodes(20), seed=1) as cluster:
        began = now()
        await cluster.apply([sim_pod(f"job-{i}", run_seconds="60") for i in range(100)])
        for i in range(100):
            done = await cluster.wait_for("pod", f"job-{i}", "Succeeded", timeout_s=3600)
            terminated = done.status.container_statuses[0].state.terminated
            assert terminated.started_at is not None
            assert terminated.finished_at is not None
            assert (terminated.finished_at - terminated.started_at).total_seconds() == 60
        assert now() - began == 60
        used = {(await cluster.get("pod", f"job-{i}")).spec.node_name for i in range(100)}
        assert len(used) == 20


async def test_crash_loops_follow_kubernetes_backoff_in_virtual_time() -> None:
    async with orbit.Cluster(nodes=nodes(1)) as cluster:
        await cluster.apply(sim_pod("crashy", restart="Always", crash_after_seconds="5"))
        await anyio.sleep(60)
        # runs 0-5, 5-10 (at once), 20-25 (10 s), 45-50 (20 s), then waits 40 s
        live: Pod = await cluster.get("pod", "crashy")
        (app,) = live.status.container_statuses
        assert app.restart_count == 3
        assert app.state.waiting is not None
        assert app.state.waiting.reason == "CrashLoopBackOff"
        assert app.state.waiting.message.startswith("back-off 40s restarting failed container=app")


async def test_readiness_from_the_behaviour_model() -> None:
    async with orbit.Cluster(nodes=nodes(1)) as cluster:
        pod = sim_pod("web", restart="Always", ready_after_seconds="20")
        pod["spec"]["containers"][0]["readinessProbe"] = {
            "httpGet": {"path": "/", "port": 8080},
            "periodSeconds": 5,
        }
        pod["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
        began = now()
        await cluster.apply(pod)
        await cluster.wait_for("pod", "web", "Ready", timeout_s=600)
        assert now() - began == 20


async def test_a_failed_node_turns_unknown_and_unreachable() -> None:
    runtimes = [SimRuntime(), SimRuntime()]
    async with orbit.Cluster(
        nodes=[Node(f"n{i}", runtime=r) for i, r in enumerate(runtimes)]
    ) as cluster:
        await anyio.sleep(15)
        runtimes[1].fail_node()
        lost = await cluster.wait_for(
            "node",
            "n1",
            lambda n: (
                [(t.key, t.effect) for t in n.spec.taints]
                == [
                    ("node.kubernetes.io/unreachable", "NoSchedule"),
                    ("node.kubernetes.io/unreachable", "NoExecute"),
                ]
            ),
            timeout_s=600,
        )
        assert lost.status.condition("Ready").status == "Unknown"
        # last renewal at 10; stale after 40 s; checked every 5 s
        assert now() == 55
        healthy = await cluster.get("node", "n0")
        assert healthy.status.condition("Ready").status == "True"
        assert healthy.spec.taints == ()


async def _trace(seed: int) -> list[tuple[str, str, str, str]]:
    async with orbit.Cluster(nodes=nodes(5), seed=seed) as cluster:
        manifests = [
            sim_pod(
                f"p{i}",
                restart="OnFailure",
                run_seconds=str(10 + i),
                jitter="0.5",
                crash_count="1",
                crash_after_seconds="3",
            )
            for i in range(15)
        ]
        await cluster.apply(manifests)
        await anyio.sleep(300)
        events = await cluster.events()
        return [
            (e.involved_object.name, e.reason, e.message, str(e.last_timestamp)) for e in events
        ]


def test_the_same_seed_gives_the_same_run() -> None:
    first = simulate(_trace, 7, seed=7)
    again = simulate(_trace, 7, seed=7)
    assert len(first) > 40
    assert first == again


async def test_a_finished_pod_is_deleted_at_once_a_running_one_gracefully() -> None:
    async with orbit.Cluster(nodes=nodes(1)) as cluster:
        await cluster.apply(
            [sim_pod("done", run_seconds="5"), sim_pod("busy", shutdown_seconds="3")]
        )
        await cluster.wait_for("pod", "done", "Succeeded", timeout_s=60)
        await cluster.wait_for("pod", "busy", "Running", timeout_s=60)
        last = await cluster.delete("pod", "done")
        assert last.metadata.deletion_timestamp is None
        with pytest.raises(orbit.NotFound):
            await cluster.get("pod", "done")
        began = now()
        last = await cluster.delete("pod", "busy")
        assert last.metadata.deletion_timestamp is not None
        await cluster.wait_for("pod", "busy", "deleted", timeout_s=60)
        assert now() - began == 3


async def test_a_recovered_node_is_ready_again_at_its_next_heartbeat() -> None:
    runtimes = [SimRuntime(), SimRuntime()]
    async with orbit.Cluster(
        nodes=[Node(f"n{i}", runtime=r) for i, r in enumerate(runtimes)]
    ) as cluster:
        await anyio.sleep(15)
        runtimes[1].fail_node()
        await cluster.wait_for("node", "n1", "condition=Ready=Unknown", timeout_s=600)
        await anyio.sleep(7)  # 62
        runtimes[1].recover_node()
        await cluster.wait_for("node", "n1", "condition=Ready=True", timeout_s=600)
        assert now() == 70  # the next beat renews the lease and reports Ready
        await anyio.sleep(5)  # the monitor at 75 lifts the taint
        node = await cluster.get("node", "n1")
        assert node.spec.taints == ()
        assert cluster.leases.renewed_at("n1") == 70
        assert cluster.leases.renewed_at("n0") == 70
