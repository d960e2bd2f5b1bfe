"""The ReplicaSet controller on simulated nodes in virtual time: scale up and down,
self-heal, adoption and release, minReadySeconds."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import orbit
from orbit.api import Pod
from orbit.controllers._replicaset import ReplicaSetController
from orbit.node import Node
from orbit.runtimes._sim import SimRuntime

pytestmark = pytest.mark.anyio


def nodes(count: int) -> list[Node]:
    return [
        Node(f"sim-{i}", runtime=SimRuntime({"cpu": "8", "memory": "32Gi"})) for i in range(count)
    ]


def replicaset(name: str, replicas: int, min_ready: int = 0, **behaviour: str) -> dict[str, Any]:
    annotations = {f"sim.orbit.dev/{k.replace('_', '-')}": v for k, v in behaviour.items()}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "sim",
                            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
                        }
                    ]
                },
            },
        },
    }


async def started(cluster: orbit.Cluster) -> None:
    await cluster.start_controller(ReplicaSetController(cluster.store, cluster.clock))


def active(pods: list[Pod]) -> list[Pod]:
    return [p for p in pods if p.metadata.deletion_timestamp is None]


async def test_scales_up_to_replicas_and_reports_ready_status() -> None:
    async with orbit.Cluster(nodes=nodes(3), seed=1) as cluster:
        await started(cluster)
        await cluster.apply(replicaset("web", 5))
        rs = await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.readyReplicas}=5", timeout_s=600
        )
        assert rs.status.replicas == 5
        assert rs.status.available_replicas == 5
        assert rs.status.fully_labeled_replicas == 5
        assert rs.status.observed_generation == rs.metadata.generation
        pods = await cluster.list("pods", selector="app=web")
        assert len(pods) == 5
        for pod in pods:
            ref = pod.metadata.controller_ref()
            assert ref is not None
            assert ref.kind == "ReplicaSet"
            assert ref.uid == rs.metadata.uid
            assert pod.metadata.name.startswith("web-")
        messages = sorted(
            e.message for e in await cluster.events(involved=rs) if e.reason == "SuccessfulCreate"
        )
        assert messages == sorted(f"Created pod: {p.metadata.name}" for p in pods)


async def test_scale_down_deletes_not_ready_pods_first() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=2) as cluster:
        await started(cluster)
        await cluster.apply(replicaset("web", 3))
        await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.readyReplicas}=3", timeout_s=600
        )
        # Two more pods that never turn ready (a readiness that never passes).
        rs = await cluster.get("replicaset", "web")
        spec = rs.spec
        never_ready = attrs.evolve(
            spec.template,
            metadata=attrs.evolve(
                spec.template.metadata,
                annotations={"sim.orbit.dev/ready-after-seconds": "100000"},
            ),
        )
        cluster.store.update(
            attrs.evolve(rs, spec=attrs.evolve(spec, replicas=5, template=never_ready))
        )
        await cluster.wait_for("replicaset", "web", "jsonpath={.status.replicas}=5", timeout_s=600)
        rs = await cluster.get("replicaset", "web")
        cluster.store.update(attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=3)))
        await cluster.wait_for("replicaset", "web", "jsonpath={.status.replicas}=3", timeout_s=600)
        pods = active(await cluster.list("pods", selector="app=web"))
        assert len(pods) == 3
        assert all(
            "sim.orbit.dev/ready-after-seconds" not in p.metadata.annotations for p in pods
        ), "the not-ready pods should have gone first"


async def test_a_deleted_pod_is_replaced() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=3) as cluster:
        await started(cluster)
        await cluster.apply(replicaset("web", 2))
        await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.readyReplicas}=2", timeout_s=600
        )
        victim = (await cluster.list("pods", selector="app=web"))[0]
        await cluster.delete("pod", victim.metadata.name)
        await cluster.wait_for("pod", victim.metadata.name, "deleted", timeout_s=600)
        await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.readyReplicas}=2", timeout_s=600
        )
        names = {p.metadata.name for p in active(await cluster.list("pods", selector="app=web"))}
        assert len(names) == 2
        assert victim.metadata.name not in names


async def test_orphans_are_adopted_and_pods_that_stop_matching_released() -> None:
    async with orbit.Cluster(nodes=nodes(1), seed=4) as cluster:
        await cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "stray", "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "sim"}]},
            }
        )
        await started(cluster)
        await cluster.apply(replicaset("web", 2))
        await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.readyReplicas}=2", timeout_s=600
        )
        rs = await cluster.get("replicaset", "web")
        stray = await cluster.get("pod", "stray")
        ref = stray.metadata.controller_ref()
        assert ref is not None
        assert ref.uid == rs.metadata.uid
        assert len(await cluster.list("pods", selector="app=web")) == 2  # adopted, counted
        # Relabel it: released, and a replacement is made.
        meta = stray.metadata
        cluster.store.update(
            attrs.evolve(stray, metadata=attrs.evolve(meta, labels={"app": "other"}))
        )
        await cluster.wait_for(
            "pod",
            "stray",
            lambda p: p is not None and not p.metadata.owner_references,
            timeout_s=600,
        )
        await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.readyReplicas}=2", timeout_s=600
        )
        assert len(active(await cluster.list("pods", selector="app=web"))) == 2


async def test_available_only_after_min_ready_seconds() -> None:
    async with orbit.Cluster(nodes=nodes(1), seed=5) as cluster:
        await started(cluster)
        await cluster.apply(replicaset("web", 2, min_ready=30))
        rs = await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.readyReplicas}=2", timeout_s=600
        )
        assert rs.status.available_replicas == 0
        ready_at = cluster.clock.now()
        rs = await cluster.wait_for(
            "replicaset", "web", "jsonpath={.status.availableReplicas}=2", timeout_s=600
        )
        waited = cluster.clock.now() - ready_at
        assert 29 <= waited <= 31, waited
