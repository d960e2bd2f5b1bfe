"""The HorizontalPodAutoscaler end to end in virtual time: a Deployment of simulated
pods whose cpu follows a shared load, scaled up at once and down only after the
stabilization window; status, conditions and events as Kubernetes writes them; scale
to zero and back on an External metric; policies from a behavior block."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import anyio
import pytest

import orbit
from orbit.api import Deployment, HorizontalPodAutoscaler, LabelSelector, Pod
from orbit.autoscaling import ClusterMetrics, HPAController, MetricsError, Sample, SharedLoad
from orbit.node import Node
from orbit.runtimes import SimRuntime

pytestmark = pytest.mark.anyio


def sim_nodes(load: SharedLoad, count: int = 2) -> list[Node]:
    return [
        Node(
            f"sim-{i}",
            runtime=SimRuntime({"cpu": "16", "memory": "64Gi"}, behaviour=load.behaviour),
        )
        for i in range(count)
    ]


def deployment(name: str = "web", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "web:v1",
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
                        }
                    ]
                },
            },
        },
    }


def cpu_hpa(name: str = "web", *, behavior: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 50},
                },
            }
        ],
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": spec,
    }


async def replicas(cluster: orbit.Cluster, name: str = "web") -> int:
    d: Deployment = await cluster.get("deployment", name)
    assert d.spec.replicas is not None
    return d.spec.replicas


async def scale_history(cluster: orbit.Cluster, seconds: float, every: float = 5.0) -> list[int]:
    seen: list[int] = []
    for _ in range(int(seconds / every)):
        await anyio.sleep(every)
        seen.append(await replicas(cluster))
    return seen


async def test_cpu_load_scales_up_at_once_and_down_after_the_window() -> None:
    load = SharedLoad("app=web", 0.4)  # 0.4 cores over 2 pods of 100m: 200% of request
    async with orbit.Cluster(nodes=sim_nodes(load), seed=3) as cluster:
        load.bind(cluster.store)
        await cluster.apply([deployment(), cpu_hpa()])
        # Kubernetes' arithmetic: ceil(2 * 200/50) = 8, but without a behavior block
        # the rate is max(2 * current, 4) per sync; new pods count as 0 on scale-up
        # until their cpu sample is a full window after they turned ready.
        history = await scale_history(cluster, 240)
        assert history[-1] == 8  # 0.4 cores / 8 pods = 50 mcores = exactly the 50% target
        assert max(history) == 8  # never past what the load needs
        assert history == sorted(history)  # no flapping on the way up

        hpa: HorizontalPodAutoscaler = await cluster.get("hpa", "web")
        assert hpa.status.current_replicas == hpa.status.desired_replicas == 8
        (metric,) = hpa.status.current_metrics
        assert metric.resource is not None
        assert metric.resource.current.average_utilization == 50
        conditions = {c.type: (c.status, c.reason) for c in hpa.status.conditions}
        assert conditions["AbleToScale"] == ("True", "ReadyForNewScale")
        assert conditions["ScalingActive"] == ("True", "ValidMetricFound")
        assert conditions["ScalingLimited"] == ("False", "DesiredWithinRange")
        rescales = [
            e.message for e in await cluster.events(involved=hpa) if e.reason == "SuccessfulRescale"
        ]
        assert rescales[0] == (
            "New size: 4; reason: cpu resource utilization (percentage of request) above target"
        )

        # 0.1 cores: 12.5 mcores per pod, read as 13m (Kubernetes rounds cpu up to
        # whole millicores), 13% of request: ceil(8 * 13/50) = 3. At 3 pods: 34m,
        # ceil(3 * 34/50) = 3 again, so 3 is where it settles (2 pods would be 100%).
        load.curve = 0.1
        before_window = await scale_history(cluster, 270)
        assert set(before_window) == {8}  # the 300 s scale-down window holds it
        after = await scale_history(cluster, 120)
        assert after[-1] == 3
        assert set(after) == {8, 3}  # one step down: the window's maximum, then nothing
        hpa = await cluster.get("hpa", "web")
        messages = [
            e.message for e in await cluster.events(involved=hpa) if e.reason == "SuccessfulRescale"
        ]
        assert messages[-1] == "New size: 3; reason: All metrics below target"


async def test_behavior_policies_limit_each_step() -> None:
    load = SharedLoad("app=web", 2.0)  # wants 40 pods: capped by maxReplicas 10
    behavior = {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
        }
    }
    async with orbit.Cluster(nodes=sim_nodes(load), seed=4) as cluster:
        load.bind(cluster.store)
        await cluster.apply([deployment(), cpu_hpa(behavior=behavior)])
        history = await scale_history(cluster, 250, every=5)
        # One pod per 60 s: each step is +1, and the next comes once the previous
        # event is no longer strictly younger than the period (15 s syncs: 60 s).
        changes = [(i, b - a) for i, (a, b) in enumerate(itertools.pairwise(history)) if b != a]
        assert len(changes) >= 3
        assert all(step == 1 for _, step in changes)
        gaps = [(j - i) * 5 for (i, _), (j, _) in itertools.pairwise(changes)]
        assert all(gap == 60 for gap in gaps), gaps
        hpa: HorizontalPodAutoscaler = await cluster.get("hpa", "web")
        limited = hpa.status.condition("ScalingLimited")
        assert limited is not None
        assert (limited.status, limited.reason) == ("True", "ScaleUpLimit")


class QueueDepth:
    """A MetricsClient whose PromQL answers are a queue's depth (the sim has no
    Prometheus server; the real one is tested in tests/integration/prometheus)."""

    def __init__(self, real: ClusterMetrics) -> None:
        self.real = real
        self.depth = 0.0
        self.down = False  # Prometheus unreachable
        self.queries: list[str] = []

    async def pod_resources(
        self, namespace: str, pods: Sequence[Pod], resource: str, container: str = ""
    ) -> dict[str, Sample]:
        return await self.real.pod_resources(namespace, pods, resource, container)

    async def pod_metric(
        self, namespace: str, pods: Sequence[Pod], metric: str, selector: LabelSelector | None
    ) -> dict[str, Sample]:
        raise MetricsError("no pod metrics in this test")

    async def query(self, promql: str) -> tuple[int, float]:
        self.queries.append(promql)
        if self.down:
            raise MetricsError('Get "http://127.0.0.1:9090/api/v1/query": connection refused')
        if "inflight" in promql:  # the pods' own gauge: no data while there are none
            raise MetricsError(f"query returned no data: {promql}")
        return int(self.depth * 1000), 0.0


def queue_hpa() -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": "worker",
            "annotations": {
                "autoscaling.orbit.dev/promql.queue_depth": 'sum(queue_depth{queue="jobs"})',
                "autoscaling.orbit.dev/activation-threshold.queue_depth": "5",
            },
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"},
            "minReplicas": 0,
            "maxReplicas": 6,
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": {"name": "queue_depth"},
                        "target": {"type": "AverageValue", "averageValue": "10"},
                    },
                }
            ],
        },
    }


async def test_scale_to_zero_and_back_on_an_external_metric() -> None:
    load = SharedLoad("app=worker", 0.0)
    cluster = orbit.Cluster(nodes=sim_nodes(load), seed=5)
    queue = QueueDepth(cluster.resource_metrics)
    # Before entry, a controller of the same name replaces orbit's default.
    await cluster.start_controller(HPAController(cluster.store, cluster.clock, queue))
    async with cluster:
        load.bind(cluster.store)
        await cluster.apply([deployment("worker", replicas=1), queue_hpa()])

        queue.depth = 3  # below the activation threshold of 5: inactive
        await anyio.sleep(20)
        assert await replicas(cluster, "worker") == 1  # the 300 s window holds it up
        await anyio.sleep(300)
        assert await replicas(cluster, "worker") == 0
        assert queue.queries[0] == 'sum(queue_depth{queue="jobs"})'
        hpa: HorizontalPodAutoscaler = await cluster.get("hpa", "worker")
        messages = [
            e.message for e in await cluster.events(involved=hpa) if e.reason == "SuccessfulRescale"
        ]
        assert messages[-1] == (
            "New size: 0; reason: all metrics at or below their activation thresholds"
        )
        assert hpa.status.condition("ScalingActive").status == "True"  # type: ignore[union-attr]

        queue.depth = 5  # at the threshold: still inactive
        await anyio.sleep(30)
        assert await replicas(cluster, "worker") == 0

        queue.depth = 45  # active: ceil(45 / 10) = 5 from zero at once
        await anyio.sleep(16)
        assert await replicas(cluster, "worker") == 4  # the legacy rate: max(2*0, 4)
        await anyio.sleep(15)
        assert await replicas(cluster, "worker") == 5
        pods = await cluster.list("pods", selector="app=worker")
        assert len([p for p in pods if p.metadata.deletion_timestamp is None]) == 5


async def test_missing_target_and_disabled_scaling_are_reported() -> None:
    load = SharedLoad("app=web", 0.0)
    async with orbit.Cluster(nodes=sim_nodes(load, 1), seed=6) as cluster:
        load.bind(cluster.store)
        await cluster.apply(cpu_hpa())
        await anyio.sleep(1)
        hpa: HorizontalPodAutoscaler = await cluster.get("hpa", "web")
        able = hpa.status.condition("AbleToScale")
        assert able is not None
        assert (able.status, able.reason) == ("False", "FailedGetScale")
        assert "web" in able.message
        assert any(e.reason == "FailedGetScale" for e in await cluster.events(involved=hpa))

        await cluster.apply(deployment(replicas=0))
        await anyio.sleep(16)
        assert await replicas(cluster) == 0  # zero replicas and minReplicas 2: hands off
        hpa = await cluster.get("hpa", "web")
        active = hpa.status.condition("ScalingActive")
        assert active is not None
        assert (active.status, active.reason) == ("False", "ScalingDisabled")


async def test_hpa_and_node_pools_together_through_the_cluster_options() -> None:
    """``Cluster(node_pools=...)``: the HPA adds pods, the pods outgrow the one fixed
    node, the node-pool autoscaler adds pool nodes; when the load goes the pods go and
    the idle pool nodes are removed again."""
    load = SharedLoad("app=web", 0.4)
    fixed = Node(
        "fixed", runtime=SimRuntime({"cpu": "500m", "memory": "4Gi"}, behaviour=load.behaviour)
    )
    template = orbit.Node("template", capacity={"cpu": "500m", "memory": "4Gi"})
    pool = orbit.NodePool(
        "workers",
        template,
        max_nodes=4,
        provider=orbit.SimNodeProvider(boot_delay_s=30, behaviour=load.behaviour),
    )
    options = {"scale_down_unneeded_s": 120.0, "scale_down_delay_after_add_s": 60.0}
    async with orbit.Cluster(
        nodes=[fixed], node_pools=[pool], node_autoscaler_options=options, seed=7
    ) as cluster:
        load.bind(cluster.store)
        await cluster.apply([deployment(), cpu_hpa()])
        await scale_history(cluster, 300)
        assert await replicas(cluster) == 8  # 0.4 cores at 50% of 100m
        nodes = {n.metadata.name for n in await cluster.list("nodes")}
        # 8 pods of 100m: 5 fit on the 500m node, 3 more need one pool node of 500m
        assert nodes == {"fixed", "workers-1"}
        pods = await cluster.list("pods", selector="app=web")
        assert sum(1 for p in pods if p.spec.node_name == "workers-1") == 3
        assert all(p.status.phase == "Running" for p in pods)

        load.curve = 0.0  # nothing to do: back to minReplicas 2, then the pool empties
        await scale_history(cluster, 900, every=30)
        assert await replicas(cluster) == 2
        nodes = {n.metadata.name for n in await cluster.list("nodes")}
        assert nodes == {"fixed"}
        metrics = cluster.metrics.registry
        assert metrics.get_sample_value("orbit_nodepool_nodes", {"pool": "workers"}) == 0
        assert (
            metrics.get_sample_value(
                "orbit_hpa_desired_replicas", {"namespace": "default", "hpa": "web"}
            )
            == 2
        )


async def test_at_zero_a_metric_without_data_does_not_wake_the_workload() -> None:
    """KEDA's usual setup: one metric sums the pods' own gauge (no pods, no data: it
    fails), the other is a queue at or below its activation threshold. At zero
    replicas the failing metric must not wake the workload; the queue above its
    threshold does."""
    load = SharedLoad("app=worker", 0.0)
    cluster = orbit.Cluster(nodes=sim_nodes(load), seed=8)
    queue = QueueDepth(cluster.resource_metrics)
    await cluster.start_controller(HPAController(cluster.store, cluster.clock, queue))
    hpa = queue_hpa()
    hpa["metadata"]["annotations"]["autoscaling.orbit.dev/promql.inflight"] = "sum(inflight)"
    hpa["spec"]["metrics"].append(
        {
            "type": "External",
            "external": {
                "metric": {"name": "inflight"},
                "target": {"type": "AverageValue", "averageValue": "10"},
            },
        }
    )
    async with cluster:
        load.bind(cluster.store, cluster.clock)
        await cluster.apply([deployment("worker", replicas=0), hpa])
        queue.depth = 2  # below the threshold of 5: inactive; the other metric fails
        for _ in range(8):
            await anyio.sleep(15)
            assert await replicas(cluster, "worker") == 0
        current: HorizontalPodAutoscaler = await cluster.get("hpa", "worker")
        assert not [
            e for e in await cluster.events(involved=current) if e.reason == "SuccessfulRescale"
        ]

        queue.depth = 30  # active: ceil(30 / 10) = 3 from zero
        await anyio.sleep(16)
        assert await replicas(cluster, "worker") == 3


async def test_a_failing_metric_keeps_the_last_decision_and_says_why() -> None:
    """Prometheus goes away: the HPA stops scaling, keeps desiredReplicas from its
    last good sync (Kubernetes' setCurrentReplicasAndMetricsInStatus) and reports
    ScalingActive=False with the metric's reason; it resumes when the metric returns."""
    load = SharedLoad("app=worker", 0.0)
    cluster = orbit.Cluster(nodes=sim_nodes(load), seed=9)
    queue = QueueDepth(cluster.resource_metrics)
    await cluster.start_controller(HPAController(cluster.store, cluster.clock, queue))
    async with cluster:
        load.bind(cluster.store, cluster.clock)
        await cluster.apply([deployment("worker", replicas=1), queue_hpa()])
        queue.depth = 30
        await anyio.sleep(16)
        assert await replicas(cluster, "worker") == 3
        queue.down = True
        queue.depth = 0  # would scale down to zero, were it readable
        await anyio.sleep(330)
        assert await replicas(cluster, "worker") == 3
        hpa: HorizontalPodAutoscaler = await cluster.get("hpa", "worker")
        assert hpa.status.desired_replicas == 3
        active = hpa.status.condition("ScalingActive")
        assert active is not None
        assert (active.status, active.reason) == ("False", "FailedGetExternalMetric")
        assert "connection refused" in active.message
        queue.down = False
        queue.depth = 60
        await anyio.sleep(16)
        assert await replicas(cluster, "worker") == 6
