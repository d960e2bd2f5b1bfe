"""The node-pool autoscaler on a whole simulated cluster, in virtual time: pending pods
bring the fewest nodes (within a second), pods no pool fits say why, expanders choose
between pools, idle nodes leave after the cool-down unless a disruption budget holds
them, and pools stay within their minimum and maximum. Every duration is exact."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pytest

import orbit
from orbit.api import Event, Pod
from orbit.autoscaling._nodepool import NODE_POOL_LABEL, NodePool
from orbit.autoscaling._nodepool_autoscaler import NodePoolAutoscaler
from orbit.autoscaling._providers import SimNodeProvider
from orbit.runtimes import SimRuntime

pytestmark = pytest.mark.anyio

SMALL = {"cpu": "2", "memory": "4Gi"}
BIG = {"cpu": "8", "memory": "16Gi"}


def pool(name: str, capacity: dict[str, str] = SMALL, **options: Any) -> NodePool:
    return NodePool(name, orbit.Node("template", capacity=capacity), **options)


def pool_node(name: str, pool_name: str, capacity: dict[str, str] = SMALL) -> orbit.Node:
    """A node the cluster starts with that belongs to ``pool_name``."""
    return orbit.Node(
        name, runtime=SimRuntime(capacity), capacity=capacity, labels={NODE_POOL_LABEL: pool_name}
    )


def container(cpu: str, memory: str) -> dict[str, Any]:
    return {
        "name": "app",
        "image": "sim",
        "resources": {"requests": {"cpu": cpu, "memory": memory}},
    }


def deployment(
    name: str, replicas: int, *, cpu: str, memory: str = "512Mi", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container(cpu, memory)], **spec},
            },
        },
    }


def budget(name: str, min_available: int) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": name}}},
    }


@contextlib.asynccontextmanager
async def autoscaled(
    cluster: orbit.Cluster, pools: Sequence[NodePool], **options: Any
) -> AsyncIterator[NodePoolAutoscaler]:
    """The autoscaler running beside ``cluster`` (the cluster is its host)."""
    scaler = NodePoolAutoscaler(cluster.store, cluster.clock, pools, cluster, **options)
    async with anyio.create_task_group() as group:
        await group.start(scaler.run)
        yield scaler
        group.cancel_scope.cancel()


def now(cluster: orbit.Cluster) -> float:
    return cluster.clock.monotonic()


async def sleep_until(cluster: orbit.Cluster, moment: float) -> None:
    await anyio.sleep(max(0.0, moment - now(cluster)))


async def node_names(cluster: orbit.Cluster) -> list[str]:
    return sorted(node.metadata.name for node in await cluster.list("nodes"))


async def events(cluster: orbit.Cluster, reason: str) -> list[Event]:
    return [e for e in await cluster.events() if e.reason == reason]


async def web_pods(cluster: orbit.Cluster, app: str = "web") -> list[Pod]:
    return await cluster.list("pods", selector=f"app={app}")


async def test_pending_pods_get_the_fewest_nodes_within_a_second() -> None:
    async with (
        orbit.Cluster(nodes=[], seed=1) as cluster,
        autoscaled(cluster, [pool("small", max_nodes=5)]) as scaler,
    ):
        await cluster.apply(deployment("web", 5, cpu="700m"))  # two per 2-cpu node
        await anyio.sleep(5)
        assert await node_names(cluster) == ["small-1", "small-2", "small-3"]
        pods = await web_pods(cluster)
        assert len(pods) == 5
        assert all(p.status.phase == "Running" and p.spec.node_name for p in pods)
        assert scaler.sizes() == {"small": 3}
        failed = {e.involved_object.name: e for e in await events(cluster, "FailedScheduling")}
        triggered = await events(cluster, "TriggeredScaleUp")
        assert sorted(e.involved_object.name for e in triggered) == sorted(failed)
        for event in triggered:
            assert event.message == "pod triggered scale-up: [{small 0->3 (max: 5)}]"
            assert event.source.component == "cluster-autoscaler"
            unschedulable_at = failed[event.involved_object.name].first_timestamp
            assert unschedulable_at is not None
            assert event.first_timestamp is not None
            decision_s = (event.first_timestamp - unschedulable_at).total_seconds()
            assert 0 <= decision_s < 1.0


async def test_nodes_still_booting_count_and_are_not_asked_for_twice() -> None:
    provider = SimNodeProvider(boot_delay_s=90)
    async with (
        orbit.Cluster(nodes=[], seed=2) as cluster,
        autoscaled(cluster, [pool("small", max_nodes=10, provider=provider)]) as scaler,
    ):
        await cluster.apply(deployment("web", 4, cpu="700m"))
        await anyio.sleep(60)
        assert await node_names(cluster) == []
        assert sorted(scaler.upcoming) == ["small-1", "small-2"]
        assert scaler.sizes() == {"small": 2}
        await cluster.apply(deployment("more", 1, cpu="500m"))  # fits the upcoming room
        await anyio.sleep(40)
        assert sorted(provider.created) == ["small-1", "small-2"]
        assert all(p.status.phase == "Running" for p in await cluster.list("pods"))
        assert len(await events(cluster, "TriggeredScaleUp")) == 4


async def test_pods_that_fit_no_template_trigger_nothing_and_say_why() -> None:
    gpu_only = NodePool(
        "gpu",
        orbit.Node("template", capacity=BIG, taints=["gpu=true:NoSchedule"]),
        max_nodes=2,
    )
    async with (
        orbit.Cluster(nodes=[], seed=3) as cluster,
        autoscaled(cluster, [pool("small"), gpu_only]) as scaler,
    ):
        await cluster.apply(deployment("huge", 1, cpu="16"))
        await cluster.apply(deployment("picky", 1, cpu="1", nodeSelector={"disk": "ssd"}))
        await anyio.sleep(30)
        assert await node_names(cluster) == []
        assert scaler.upcoming == {}
        told = {
            e.involved_object.name.split("-")[0]: e
            for e in await events(cluster, "NotTriggerScaleUp")
        }
        assert told["huge"].message == (
            "pod didn't trigger scale-up: 1 Insufficient cpu, "
            "1 node(s) had untolerated taint {gpu: true}"
        )
        assert told["picky"].message == (  # each pool gives its first failing filter
            "pod didn't trigger scale-up: 1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) had untolerated taint {gpu: true}"
        )
        assert told["huge"].count >= 3  # repeated every scan, folded into one event


@pytest.mark.parametrize(
    ("expander", "chosen"),
    [
        ("least-waste", ["small-1", "small-2"]),
        ("fewest-nodes", ["big-1"]),
        ("cheapest", ["big-1"]),  # one big at 0.15/h beats two small at 0.10/h
    ],
)
async def test_expanders_choose_between_a_small_and_a_big_pool(
    expander: str, chosen: list[str]
) -> None:
    pools = [
        pool("small", SMALL, max_nodes=5, cost_per_hour=0.10),
        pool("big", BIG, max_nodes=5, cost_per_hour=0.15),
    ]
    async with (
        orbit.Cluster(nodes=[], seed=4) as cluster,
        autoscaled(cluster, pools, expander=expander) as scaler,
    ):
        await cluster.apply(deployment("web", 4, cpu="1", memory="2Gi"))
        await anyio.sleep(5)
        assert await node_names(cluster) == chosen
        assert all(p.status.phase == "Running" for p in await web_pods(cluster))
        assert sum(scaler.sizes().values()) == len(chosen)


async def test_an_idle_node_leaves_after_the_unneeded_time() -> None:
    provider = SimNodeProvider()
    async with (
        orbit.Cluster(nodes=[], seed=5) as cluster,
        autoscaled(cluster, [pool("small", provider=provider)]) as scaler,
    ):
        await cluster.apply(deployment("web", 4, cpu="700m"))
        await anyio.sleep(900)
        assert await node_names(cluster) == ["small-1", "small-2"]
        idle_from = now(cluster)
        await cluster.scale("deployment/web", 2)
        await sleep_until(cluster, idle_from + 599)
        assert await node_names(cluster) == ["small-1", "small-2"]
        await sleep_until(cluster, idle_from + 640)
        assert len(await node_names(cluster)) == 1
        assert len(provider.deleted) == 1
        assert scaler.sizes() == {"small": 1}
        pods = await web_pods(cluster)
        assert len(pods) == 2
        assert all(p.status.phase == "Running" for p in pods)
        (gone,) = provider.deleted
        about = [
            e.message for e in await events(cluster, "ScaleDown") if e.involved_object.name == gone
        ]
        assert about == [
            "marked the node as toBeDeleted/unschedulable",
            "nodes removed by cluster autoscaler",
        ]


async def test_no_scale_down_within_the_delay_after_a_scale_up() -> None:
    async with (
        orbit.Cluster(nodes=[], seed=6) as cluster,
        autoscaled(cluster, [pool("small")], scale_down_unneeded_s=60) as scaler,
    ):
        await cluster.apply(deployment("web", 3, cpu="1500m"))
        await anyio.sleep(1)
        assert scaler.sizes() == {"small": 3}
        scaled_up_at = now(cluster) - 1
        await cluster.scale("deployment/web", 1)
        await sleep_until(cluster, scaled_up_at + 599)  # long unneeded, still in cool-down
        assert len(await node_names(cluster)) == 3
        await sleep_until(cluster, scaled_up_at + 611)
        assert len(await node_names(cluster)) == 1


def bound_replica_set(**pod_fields: Any) -> list[dict[str, Any]]:
    """Pods web-a on small-a and web-b on small-b, and the ReplicaSet that adopts them."""
    metadata = pod_fields.pop("metadata", {})
    pod_spec = {"containers": [container("500m", "512Mi")], **pod_fields}
    labels = {"app": "web"}
    bound = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"web-{node[-1]}", "labels": labels, **metadata},
            "spec": {**pod_spec, "nodeName": node},
        }
        for node in ("small-a", "small-b")
    ]
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels, **metadata}, "spec": pod_spec},
        },
    }
    return [*bound, replica_set]


async def test_a_disruption_budget_holds_a_node_until_it_allows_the_move() -> None:
    nodes = [pool_node("small-a", "small"), pool_node("small-b", "small")]
    small = pool("small", min_nodes=1, max_nodes=3)
    async with (
        orbit.Cluster(nodes=nodes, seed=7) as cluster,
        autoscaled(cluster, [small]) as scaler,
    ):
        await cluster.apply([*bound_replica_set(), budget("web", 2)])  # the set adopts both
        await anyio.sleep(900)
        assert await node_names(cluster) == ["small-a", "small-b"]
        assert scaler.unneeded_reasons == {
            "small-a": "not enough pod disruption budget to move default/web-a",
            "small-b": "not enough pod disruption budget to move default/web-b",
        }
        relaxed_at = now(cluster)
        await cluster.apply(budget("web", 1))
        await sleep_until(cluster, relaxed_at + 599)
        assert await node_names(cluster) == ["small-a", "small-b"]
        await sleep_until(cluster, relaxed_at + 640)
        assert await node_names(cluster) == ["small-b"]
        pods = await web_pods(cluster)
        assert len(pods) == 2
        assert {(p.spec.node_name, p.status.phase) for p in pods} == {("small-b", "Running")}
        moved = [e for e in await events(cluster, "ScaleDown") if e.involved_object.kind == "Pod"]
        assert [(e.involved_object.name, e.message) for e in moved] == [
            ("web-a", "deleting pod for node scale down")
        ]
        await anyio.sleep(3600)  # the last node is the pool's minimum (and half used)
        assert await node_names(cluster) == ["small-b"]


async def test_a_drain_that_times_out_gives_the_node_back() -> None:
    nodes = [pool_node("small-a", "small"), pool_node("small-b", "small")]
    stubborn = {"annotations": {"sim.orbit.dev/ignore-sigterm": "true"}}
    manifests = bound_replica_set(metadata=stubborn, terminationGracePeriodSeconds=300)
    async with (
        orbit.Cluster(nodes=nodes, seed=12) as cluster,
        autoscaled(cluster, [pool("small", min_nodes=1)], drain_timeout_s=60) as scaler,
    ):
        await cluster.apply(manifests)
        await anyio.sleep(605)  # unneeded from the first scan: the drain starts at 600
        node = await cluster.get("node", "small-a")
        assert node.spec.unschedulable
        assert "small-a" in scaler.departing
        await anyio.sleep(60)  # web-a ignores SIGTERM for 300 s: the drain gives up at 660
        node = await cluster.get("node", "small-a")
        assert not node.spec.unschedulable
        assert scaler.departing == {}
        (failed,) = await events(cluster, "ScaleDownFailed")
        assert (failed.involved_object.name, failed.type, failed.message) == (
            "small-a",
            "Warning",
            "failed to drain the node, aborting ScaleDown",
        )
        assert await node_names(cluster) == ["small-a", "small-b"]


async def test_min_nodes_are_made_and_kept() -> None:
    provider = SimNodeProvider()
    async with (
        orbit.Cluster(nodes=[], seed=8) as cluster,
        autoscaled(cluster, [pool("base", min_nodes=2, provider=provider)]) as scaler,
    ):
        await anyio.sleep(1)
        assert await node_names(cluster) == ["base-1", "base-2"]
        await anyio.sleep(7200)  # two idle nodes, all along
        assert await node_names(cluster) == ["base-1", "base-2"]
        assert provider.deleted == []
        assert scaler.sizes() == {"base": 2}


async def test_idle_nodes_leave_down_to_the_minimum() -> None:
    nodes = [pool_node(f"pool-{i}", "pool") for i in (1, 2, 3)]
    async with (
        orbit.Cluster(nodes=nodes, seed=9) as cluster,
        autoscaled(cluster, [pool("pool", min_nodes=1)]) as scaler,
    ):
        await anyio.sleep(599)
        assert len(await node_names(cluster)) == 3
        await anyio.sleep(12)  # all three were unneeded from the first scan: empty, in bulk
        assert len(await node_names(cluster)) == 1
        await anyio.sleep(3600)
        assert len(await node_names(cluster)) == 1
        assert scaler.sizes() == {"pool": 1}


async def test_max_nodes_caps_the_pool_and_the_rest_are_told() -> None:
    async with (
        orbit.Cluster(nodes=[], seed=10) as cluster,
        autoscaled(cluster, [pool("small", max_nodes=2)]) as scaler,
    ):
        await cluster.apply(deployment("web", 4, cpu="1500m"))  # one per node
        await anyio.sleep(60)
        assert await node_names(cluster) == ["small-1", "small-2"]
        assert scaler.sizes() == {"small": 2}
        pods = await web_pods(cluster)
        running = [p for p in pods if p.status.phase == "Running"]
        waiting = [p for p in pods if not p.spec.node_name]
        assert (len(running), len(waiting)) == (2, 2)
        told = await events(cluster, "NotTriggerScaleUp")
        assert sorted(e.involved_object.name for e in told) == sorted(
            p.metadata.name for p in waiting
        )
        assert {e.message for e in told} == {
            "pod didn't trigger scale-up: 1 max node group size reached"
        }


async def test_a_pool_that_fails_to_make_a_node_is_backed_off() -> None:
    flaky = pool("flaky", cost_per_hour=0.1, provider=SimNodeProvider(fail=frozenset({"flaky-1"})))
    steady = pool("steady", cost_per_hour=1.0)
    async with (
        orbit.Cluster(nodes=[], seed=11) as cluster,
        autoscaled(cluster, [flaky, steady], expander="cheapest") as scaler,
    ):
        await cluster.apply(deployment("web", 1, cpu="1"))
        await anyio.sleep(2)
        (pod,) = await web_pods(cluster)
        assert (pod.spec.node_name, pod.status.phase) == ("steady-1", "Running")
        messages = [e.message for e in await events(cluster, "TriggeredScaleUp")]
        assert messages == [
            "pod triggered scale-up: [{flaky 0->1 (max: 10)}]",
            "pod triggered scale-up: [{steady 0->1 (max: 10)}]",
        ]
        assert scaler.sizes() == {"flaky": 0, "steady": 1}
