"""Node failure, taint-based eviction, pod garbage collection and drains on a whole
simulated cluster, in virtual time: every duration below is exact."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import orbit
from orbit.api import ConfigMap, Node, ObjectMeta, Pod
from orbit.clock import current_clock
from orbit.controllers._disruption import DisruptionController
from orbit.controllers._podgc import PodGCController
from orbit.controllers._taint_eviction import TaintEvictionController
from orbit.node import Node as NodeConfig
from orbit.runtimes import SimRuntime

pytestmark = pytest.mark.anyio

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def now() -> float:
    return current_clock().monotonic()


def cluster_of(runtimes: list[SimRuntime]) -> orbit.Cluster:
    nodes = [NodeConfig(f"n{i}", runtime=runtime) for i, runtime in enumerate(runtimes)]
    return orbit.Cluster(nodes=nodes, seed=5)


async def start_controllers(cluster: orbit.Cluster) -> None:
    """The controllers of this work (no-ops once the Cluster starts them itself)."""
    await cluster.start_controller(TaintEvictionController(cluster.store, cluster.clock))
    await cluster.start_controller(PodGCController(cluster.store, cluster.clock))
    await cluster.start_controller(DisruptionController(cluster.store, cluster.clock))


def pod(
    name: str,
    *,
    node: str = "",
    tolerations: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    owner: ConfigMap | None = None,
    ready_after_s: int | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "app",
        "image": "sim",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    }
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if ready_after_s is not None:
        metadata["annotations"] = {"sim.orbit.dev/ready-after-seconds": str(ready_after_s)}
        container["readinessProbe"] = {"exec": {"command": ["true"]}, "periodSeconds": 5}
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": owner.metadata.name,
                "uid": owner.metadata.uid,
                "controller": True,
            }
        ]
    spec: dict[str, Any] = {"containers": [container], "tolerations": tolerations or []}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def keeper_of(cluster: orbit.Cluster, name: str) -> ConfigMap:
    """An object to own test pods: kubectl drain evicts only pods with a controller."""
    keeper: ConfigMap = cluster.store.create(
        ConfigMap(metadata=ObjectMeta(name=name, namespace="default"))
    )
    return keeper


def no_execute(node: Node | None) -> list[str]:
    assert node is not None
    return [t.key for t in node.spec.taints if t.effect == "NoExecute"]


def going(pod: Pod | None) -> bool:
    """Marked for deletion, or gone."""
    return pod is None or pod.metadata.deletion_timestamp is not None


async def wait_node(
    cluster: orbit.Cluster, name: str, check: Callable[[Node], bool], timeout_s: float = 3600
) -> Node:
    found: Node = await cluster.wait_for("node", name, check, timeout_s=timeout_s)
    return found


async def test_a_silent_node_is_tainted_and_its_pods_leave_by_their_tolerations() -> None:
    async with cluster_of([SimRuntime() for _ in range(3)]) as cluster:
        await start_controllers(cluster)
        await cluster.apply(
            [
                pod("plain", node="n1"),
                pod(
                    "minute",
                    node="n1",
                    tolerations=[
                        {
                            "key": UNREACHABLE,
                            "operator": "Exists",
                            "effect": "NoExecute",
                            "tolerationSeconds": 60,
                        }
                    ],
                ),
                pod(
                    "forever",
                    node="n1",
                    tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}],
                ),
            ]
        )
        for name in ("plain", "minute", "forever"):
            await cluster.wait_for("pod", name, "Running", timeout_s=60)
        await anyio.sleep(15 - now())
        agent = cluster.agents["n1"]
        cluster.heartbeat.remove(agent)  # its last lease renewal was at 10
        lost = await wait_node(cluster, "n1", lambda n: UNREACHABLE in no_execute(n))
        tainted_at = now()
        assert tainted_at == 55  # stale after 40 s, found by the monitor every 5 s
        assert lost.status.condition("Ready").status == "Unknown"
        assert [(t.key, t.effect) for t in lost.spec.taints] == [
            (UNREACHABLE, "NoSchedule"),
            (UNREACHABLE, "NoExecute"),
        ]
        await cluster.wait_for("pod", "minute", going, timeout_s=3600)
        assert now() - tainted_at == 60
        await cluster.wait_for("pod", "plain", going, timeout_s=3600)
        assert now() - tainted_at == 300  # DefaultTolerationSeconds
        messages = {(e.involved_object.name, e.reason, e.message) for e in await cluster.events()}
        assert ("plain", "TaintManagerEviction", "Marking for deletion Pod default/plain") in (
            messages
        )
        await anyio.sleep(1000)
        stays = await cluster.get("pod", "forever")
        assert stays.metadata.deletion_timestamp is None
        healthy = await cluster.get("node", "n0")
        assert healthy.spec.taints == ()

        cluster.heartbeat.add(agent)  # back: its next beat renews the lease
        back = await wait_node(cluster, "n1", lambda n: n.spec.taints == ())
        assert back.status.condition("Ready").status == "True"
        assert (await cluster.get("pod", "forever")).metadata.deletion_timestamp is None


async def test_a_lost_machines_pods_are_replaced_on_healthy_nodes() -> None:
    runtimes = [SimRuntime() for _ in range(3)]
    async with cluster_of(runtimes) as cluster:
        await start_controllers(cluster)
        await cluster.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 6,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": pod("x")["spec"],
                    },
                },
            }
        )
        await cluster.wait_for("replicaset", "web", "jsonpath={.status.readyReplicas}=6")
        on = {p.metadata.name: p.spec.node_name for p in await cluster.list("pods")}
        victim = next(iter(sorted(set(on.values()))))
        doomed = {name for name, node in on.items() if node == victim}
        assert doomed
        runtimes[int(victim[1:])].fail_node()  # Ready False at the next beat, later Unknown
        await wait_node(cluster, victim, lambda n: NOT_READY in no_execute(n))
        tainted_at = now()
        await wait_node(cluster, victim, lambda n: no_execute(n) == [UNREACHABLE])
        for name in sorted(doomed):  # the timer started with not-ready keeps running
            await cluster.wait_for("pod", name, going, timeout_s=3600)
            assert now() - tainted_at == 300

        def replaced(rs: Any) -> bool:
            return rs is not None and rs.status.ready_replicas == 6

        await cluster.wait_for("replicaset", "web", replaced, timeout_s=600)
        pods = [p for p in await cluster.list("pods") if p.metadata.deletion_timestamp is None]
        assert len(pods) == 6
        assert victim not in {p.spec.node_name for p in pods}


async def test_pods_of_a_deleted_node_are_collected_and_replaced() -> None:
    runtimes = [SimRuntime() for _ in range(3)]
    async with cluster_of(runtimes) as cluster:
        await start_controllers(cluster)
        await cluster.apply(pod("stray", node="n2"))
        await cluster.wait_for("pod", "stray", "Running", timeout_s=60)
        runtimes[2].fail_node()
        await anyio.sleep(5)
        began = now()
        await cluster.remove_node("n2")
        assert "n2" not in cluster.agents
        with pytest.raises(orbit.NotFound):
            await cluster.get("node", "n2")
        last = await cluster.wait_for("pod", "stray", "deleted", timeout_s=600)
        assert last is None
        assert now() - began == 40  # PodGC's quarantine


async def test_a_drain_respects_the_disruption_budget() -> None:
    async with cluster_of([SimRuntime() for _ in range(3)]) as cluster:
        await start_controllers(cluster)
        keeper = cluster.store.create(
            ConfigMap(metadata=ObjectMeta(name="web", namespace="default"))
        )
        web = {"app": "web"}
        await cluster.apply(
            [pod(f"web-{i}", node="n0", labels=web, owner=keeper) for i in range(3)]
        )
        await cluster.apply(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "web"},
                "spec": {"minAvailable": 2, "selector": {"matchLabels": web}},
            }
        )
        for i in range(3):
            await cluster.wait_for("pod", f"web-{i}", "Ready", timeout_s=60)
        await cluster.wait_for(
            "poddisruptionbudget", "web", "jsonpath={.status.disruptionsAllowed}=1"
        )
        evicted_at: dict[str, float] = {}
        fewest_ready = [3]

        async def replace_and_watch() -> None:
            """The test's stand-in for a workload controller: a replacement for every
            pod marked for deletion, Ready 30 s after it starts; and the fewest Ready
            pods ever seen."""
            made = 0
            async with cluster.watch("pods", selector="app=web") as watch:
                async for event in watch:
                    live = [
                        p
                        for p in await cluster.list("pods", selector="app=web")
                        if p.metadata.deletion_timestamp is None
                        and (c := p.status.condition("Ready")) is not None
                        and c.status == "True"
                    ]
                    fewest_ready[0] = min(fewest_ready[0], len(live))
                    gone = event.object
                    name = gone.metadata.name
                    if gone.metadata.deletion_timestamp is not None and name not in evicted_at:
                        evicted_at[name] = now()
                        made += 1
                        replacement = pod(
                            f"web-new-{made}", labels=web, owner=keeper, ready_after_s=30
                        )
                        await cluster.apply(replacement)

        async with anyio.create_task_group() as group:
            group.start_soon(replace_and_watch)
            began = now()
            drained = await cluster.drain("n0", timeout_s=600)
            group.cancel_scope.cancel()
        assert sorted(p.metadata.name for p in drained) == ["web-0", "web-1", "web-2"]
        times = sorted(evicted_at[f"web-{i}"] for i in range(3))
        assert times[0] == began  # one eviction at once, the others refused
        for before, after in itertools.pairwise(times):
            assert after - before >= 30  # each waits for a replacement to be Ready
            assert (after - times[0]) % 5 == 0  # refused evictions retry every 5 s
        assert fewest_ready[0] >= 2  # never below minAvailable
        node = await cluster.get("node", "n0")
        assert node.spec.unschedulable
        assert ("node.kubernetes.io/unschedulable", "NoSchedule") in [
            (t.key, t.effect) for t in node.spec.taints
        ]
        placed = {p.spec.node_name for p in await cluster.list("pods", selector="app=web")}
        assert "n0" not in placed


async def test_a_drain_the_budget_never_allows_times_out_and_leaves_the_node_cordoned() -> None:
    async with cluster_of([SimRuntime() for _ in range(2)]) as cluster:
        await start_controllers(cluster)
        keeper = cluster.store.create(
            ConfigMap(metadata=ObjectMeta(name="db", namespace="default"))
        )
        await cluster.apply([pod("db-0", node="n0", labels={"app": "db"}, owner=keeper)])
        await cluster.apply(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "db"},
                "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "db"}}},
            }
        )
        await cluster.wait_for("pod", "db-0", "Ready", timeout_s=60)
        began = now()
        with pytest.raises(TimeoutError) as timed_out:
            await cluster.drain("n0", timeout_s=120)
        assert now() - began == 120
        assert str(timed_out.value) == (
            'error when evicting pods/"db-0" -n "default": global timeout reached: 120s'
        )
        assert (await cluster.get("pod", "db-0")).metadata.deletion_timestamp is None
        assert (await cluster.get("node", "n0")).spec.unschedulable


async def test_a_drain_refuses_pods_without_a_controller_unless_forced() -> None:
    async with cluster_of([SimRuntime() for _ in range(2)]) as cluster:
        await start_controllers(cluster)
        await cluster.apply(pod("loner", node="n0"))
        await cluster.wait_for("pod", "loner", "Running", timeout_s=60)
        with pytest.raises(orbit.OrbitError) as refused:
            await cluster.drain("n0", timeout_s=60)
        assert str(refused.value) == (
            "cannot delete Pods declare no controller (use --force to override): default/loner"
        )
        assert (await cluster.get("pod", "loner")).metadata.deletion_timestamp is None
        drained = await cluster.drain("n0", timeout_s=60, force=True)
        assert [p.metadata.name for p in drained] == ["loner"]
        assert await cluster.list("pods") == []


async def test_a_cordoned_node_gets_no_new_pods_until_uncordoned() -> None:
    async with cluster_of([SimRuntime() for _ in range(2)]) as cluster:
        cordoned = await cluster.cordon("n0")
        assert cordoned.spec.unschedulable
        await cluster.wait_for(
            "node",
            "n0",
            lambda n: any(t.key == "node.kubernetes.io/unschedulable" for t in n.spec.taints),
            timeout_s=60,
        )
        await cluster.apply([pod(f"p{i}") for i in range(6)])
        for i in range(6):
            placed = await cluster.wait_for("pod", f"p{i}", "Running", timeout_s=60)
            assert placed.spec.node_name == "n1"
        await cluster.uncordon("n0")
        await cluster.wait_for("node", "n0", lambda n: not n.spec.taints, timeout_s=60)
        await cluster.apply([pod(f"q{i}") for i in range(6)])
        nodes = set()
        for i in range(6):
            placed = await cluster.wait_for("pod", f"q{i}", "Running", timeout_s=60)
            nodes.add(placed.spec.node_name)
        assert "n0" in nodes  # the emptier node is preferred again
