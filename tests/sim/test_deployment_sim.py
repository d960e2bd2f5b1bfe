"""Deployments on simulated nodes in virtual time: rolling updates within their surge
and availability bounds, Recreate, progress deadlines, pause / resume, proportional
scaling, history limits, undo, and orbit's automatic rollback."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import orbit
from orbit.api import Deployment, Pod, ReplicaSet
from orbit.node import Node
from orbit.runtimes._sim import SimRuntime

pytestmark = pytest.mark.anyio


def nodes(count: int) -> list[Node]:
    return [
        Node(f"sim-{i}", runtime=SimRuntime({"cpu": "16", "memory": "64Gi"})) for i in range(count)
    ]


def deployment(
    name: str = "web",
    replicas: int = 4,
    *,
    image: str = "web:v1",
    strategy: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    behaviour: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    pod_annotations = {f"sim.orbit.dev/{k}": v for k, v in (behaviour or {}).items()}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy or {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": pod_annotations},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
                        }
                    ]
                },
            },
            **spec,
        },
    }


class PodCensus:
    """Watches pods and records the peak count of active pods (terminating ones
    are outside the surge bound, as in Kubernetes) and the lowest ready count seen."""

    def __init__(self, cluster: orbit.Cluster, selector: str) -> None:
        self.cluster = cluster
        self.selector = selector
        self.peak_total = 0
        self.min_ready: int | None = None

    def observe(self) -> None:
        pods = self.cluster.store.list(Pod, label_selector=self.selector).items
        alive = [
            p
            for p in pods
            if p.status.phase not in ("Succeeded", "Failed")
            and p.metadata.deletion_timestamp is None
        ]
        ready = [p for p in alive if _ready(p)]
        self.peak_total = max(self.peak_total, len(alive))
        self.min_ready = len(ready) if self.min_ready is None else min(self.min_ready, len(ready))

    async def run(self) -> None:
        async with self.cluster.watch("pods") as watch:
            async for _ in watch:
                self.observe()


def _ready(pod: Pod) -> bool:
    ready = pod.status.condition("Ready")
    return ready is not None and ready.status == "True"


async def sets_of(cluster: orbit.Cluster, name: str = "web") -> list[ReplicaSet]:
    return [
        rs for rs in await cluster.list("replicasets") if rs.metadata.name.startswith(f"{name}-")
    ]


async def test_first_rollout_creates_one_replicaset_and_completes() -> None:
    async with orbit.Cluster(nodes=nodes(3), seed=1) as cluster:
        await cluster.apply(deployment())
        d = await cluster.rollout_status("deployment/web", timeout_s=600)
        assert d.status.replicas == d.status.updated_replicas == 4
        assert d.status.ready_replicas == d.status.available_replicas == 4
        assert d.status.unavailable_replicas == 0
        assert d.status.observed_generation == d.metadata.generation
        conditions = {c.type: (c.status, c.reason) for c in d.status.conditions}
        assert conditions["Available"] == ("True", "MinimumReplicasAvailable")
        assert conditions["Progressing"] == ("True", "NewReplicaSetAvailable")
        (rs,) = await sets_of(cluster)
        assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
        assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
        hash_ = rs.metadata.labels["pod-template-hash"]
        assert rs.metadata.name == f"web-{hash_}"
        assert rs.spec.selector is not None
        assert rs.spec.selector.match_labels == {"app": "web", "pod-template-hash": hash_}
        pods = await cluster.list("pods", selector="app=web")
        assert {p.metadata.labels["pod-template-hash"] for p in pods} == {hash_}
        reasons = [e.reason for e in await cluster.events(involved=d)]
        assert "ScalingReplicaSet" in reasons
        complete = [e for e in await cluster.events(involved=d) if e.reason == "RolloutComplete"]
        assert len(complete) == 1
        assert (
            complete[0].message
            == f'Revision 1: ReplicaSet "{rs.metadata.name}" has successfully progressed.'
        )


@pytest.mark.parametrize(
    ("surge", "unavailable", "max_total", "min_ready"),
    [("25%", "25%", 13, 8), (0, 1, 10, 9), (3, 0, 13, 10), ("50%", "20%", 15, 8)],
)
async def test_rolling_update_stays_within_surge_and_availability(
    surge: Any, unavailable: Any, max_total: int, min_ready: int
) -> None:
    strategy = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }
    async with orbit.Cluster(nodes=nodes(4), seed=2) as cluster:
        await cluster.apply(deployment(replicas=10, strategy=strategy))
        await cluster.rollout_status("deployment/web", timeout_s=600)
        census = PodCensus(cluster, "app=web")
        async with anyio.create_task_group() as group:
            group.start_soon(census.run)
            await anyio.lowlevel.checkpoint()
            await cluster.set_image("deployment/web", web="web:v2")
            d = await cluster.rollout_status("deployment/web", timeout_s=3600)
            group.cancel_scope.cancel()
        assert census.peak_total <= max_total
        assert census.min_ready is not None
        assert census.min_ready >= min_ready
        assert census.peak_total > 10 or surge == 0  # it did surge when allowed to
        pods = [
            p
            for p in await cluster.list("pods", selector="app=web")
            if p.metadata.deletion_timestamp is None
        ]
        assert len(pods) == 10
        assert {p.spec.containers[0].image for p in pods} == {"web:v2"}
        assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
        sets = {
            rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
            for rs in await sets_of(cluster)
        }
        assert sets["1"].spec.replicas == 0
        assert sets["2"].spec.replicas == 10


async def test_recreate_stops_every_old_pod_before_starting_new_ones() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=3) as cluster:
        await cluster.apply(deployment(replicas=3, strategy={"type": "Recreate"}))
        await cluster.rollout_status("deployment/web", timeout_s=600)
        overlap = False

        async def watch_overlap() -> None:
            nonlocal overlap
            async with cluster.watch("pods") as watch:
                async for _ in watch:
                    images = {
                        p.spec.containers[0].image
                        for p in cluster.store.list(Pod, label_selector="app=web").items
                        if p.status.phase == "Running"
                    }
                    overlap = overlap or len(images) > 1

        async with anyio.create_task_group() as group:
            group.start_soon(watch_overlap)
            await anyio.lowlevel.checkpoint()
            await cluster.set_image("deployment/web", web="web:v2")
            await cluster.rollout_status("deployment/web", timeout_s=600)
            group.cancel_scope.cancel()
        assert not overlap


async def test_a_rollout_that_never_gets_ready_exceeds_its_deadline() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=4) as cluster:
        manifest = deployment(
            replicas=2,
            progressDeadlineSeconds=60,
            annotations={"deployment.orbit.dev/auto-rollback": "false"},
        )
        await cluster.apply(manifest)
        await cluster.rollout_status("deployment/web", timeout_s=600)
        began = cluster.clock.now()
        bad = deployment(
            replicas=2,
            image="web:broken",
            progressDeadlineSeconds=60,
            annotations={"deployment.orbit.dev/auto-rollback": "false"},
            behaviour={"ready-after-seconds": "100000"},
        )
        await cluster.apply(bad)
        with pytest.raises(orbit.RolloutFailed, match="exceeded its progress deadline") as failed:
            await cluster.rollout_status("deployment/web", timeout_s=3600)
        assert failed.value.reason == "ProgressDeadlineExceeded"
        d = await cluster.get("deployment", "web")
        warnings = [e for e in await cluster.events(involved=d) if e.type == "Warning"]
        assert [e.reason for e in warnings] == ["ProgressDeadlineExceeded"]
        assert warnings[0].message.startswith("Revision 2: ReplicaSet")
        waited = cluster.clock.now() - began
        assert 60 <= waited <= 75, waited
        d = await cluster.get("deployment", "web")
        progressing = next(c for c in d.status.conditions if c.type == "Progressing")
        assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
        # Not rolled back: the old pods still serve, the new ones wait.
        assert d.spec.template.spec.containers[0].image == "web:broken"


async def test_crash_looping_new_pods_are_rolled_back_automatically() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=5) as cluster:
        await cluster.apply(deployment(replicas=4))
        await cluster.rollout_status("deployment/web", timeout_s=600)
        await cluster.apply(
            deployment(
                replicas=4,
                image="web:crashing",
                behaviour={"crash-after-seconds": "2", "ready-after-seconds": "5"},
            )
        )
        with pytest.raises(orbit.RolloutFailed, match="rolled back from revision 2") as failed:
            await cluster.rollout_status("deployment/web", timeout_s=3600)
        assert "restarted 3 times" in failed.value.reason
        assert failed.value.revision == 2
        d = await cluster.rollout_status("deployment/web", timeout_s=3600)  # back on v1
        assert d.spec.template.spec.containers[0].image == "web:v1"
        assert d.metadata.annotations["deployment.orbit.dev/rolled-back-from"] == "2"
        events = [e for e in await cluster.events(involved=d) if e.reason == "DeploymentRollback"]
        assert len(events) == 1
        assert events[0].type == "Warning"
        assert "from revision 2 to revision 1" in events[0].message
        pods = [
            p
            for p in await cluster.list("pods", selector="app=web")
            if p.metadata.deletion_timestamp is None
        ]
        assert {p.spec.containers[0].image for p in pods} == {"web:v1"}
        assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "3"


async def test_a_stuck_rollout_is_rolled_back_at_its_deadline() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=6) as cluster:
        await cluster.apply(deployment(replicas=2, progressDeadlineSeconds=120))
        await cluster.rollout_status("deployment/web", timeout_s=600)
        await cluster.apply(
            deployment(
                replicas=2,
                image="web:slow",
                progressDeadlineSeconds=120,
                behaviour={"ready-after-seconds": "100000"},
            )
        )
        with pytest.raises(orbit.RolloutFailed, match="progress deadline exceeded"):
            await cluster.rollout_status("deployment/web", timeout_s=3600)
        d = await cluster.rollout_status("deployment/web", timeout_s=3600)
        assert d.spec.template.spec.containers[0].image == "web:v1"


async def test_pause_holds_template_changes_and_resume_rolls_them_out() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=7) as cluster:
        await cluster.apply(deployment(replicas=3))
        await cluster.rollout_status("deployment/web", timeout_s=600)
        await cluster.rollout_pause("deployment/web")
        await cluster.set_image("deployment/web", web="web:v2")
        await cluster.scale("deployment/web", 5)  # scaling still works while paused
        d = await cluster.wait_for(
            "deployment", "web", "jsonpath={.status.availableReplicas}=5", timeout_s=600
        )
        assert len(await sets_of(cluster)) == 1
        progressing = next(c for c in d.status.conditions if c.type == "Progressing")
        assert (progressing.status, progressing.reason) == ("Unknown", "DeploymentPaused")
        await cluster.rollout_resume("deployment/web")
        d = await cluster.rollout_status("deployment/web", timeout_s=3600)
        pods = [
            p
            for p in await cluster.list("pods", selector="app=web")
            if p.metadata.deletion_timestamp is None
        ]
        assert len(pods) == 5
        assert {p.spec.containers[0].image for p in pods} == {"web:v2"}


async def test_scaling_mid_rollout_spreads_replicas_proportionally() -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    async with orbit.Cluster(nodes=nodes(4), seed=8) as cluster:
        await cluster.apply(deployment(replicas=10, strategy=strategy))
        await cluster.rollout_status("deployment/web", timeout_s=600)
        # A new template whose pods never turn ready: the rollout stalls part way.
        await cluster.apply(
            deployment(
                replicas=10,
                image="web:v2",
                strategy=strategy,
                annotations={"deployment.orbit.dev/auto-rollback": "false"},
                behaviour={"ready-after-seconds": "100000"},
            )
        )
        await cluster.wait_for(
            "deployment", "web", "jsonpath={.status.updatedReplicas}=5", timeout_s=600
        )
        before = {
            rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs.spec.replicas
            for rs in await sets_of(cluster)
        }
        assert before == {"1": 8, "2": 5}  # 13 = 10 + maxSurge
        await cluster.scale("deployment/web", 20)
        old_name = next(
            rs.metadata.name
            for rs in await sets_of(cluster)
            if rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
        )
        await cluster.wait_for(
            "replicaset", old_name, "jsonpath={.spec.replicas}=14", timeout_s=600
        )
        after = {
            rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs.spec.replicas
            for rs in await sets_of(cluster)
        }
        # 23 allowed (20 + maxSurge 3), 10 more than the 13 there are, spread by size
        # against the 13 they were sized for: round(8 * 23 / 13) = 14, round(5 * 23 / 13) = 9.
        assert after == {"1": 14, "2": 9}
        for rs in await sets_of(cluster):
            assert rs.metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "20"
            assert rs.metadata.annotations["deployment.kubernetes.io/max-replicas"] == "23"


async def test_revision_history_limit_and_undo() -> None:
    async with orbit.Cluster(nodes=nodes(2), seed=9) as cluster:
        await cluster.apply(deployment(replicas=2, revisionHistoryLimit=2))
        await cluster.rollout_status("deployment/web", timeout_s=600)
        for version in ("v2", "v3", "v4", "v5"):
            await cluster.set_image("deployment/web", web=f"web:{version}")
            await cluster.rollout_status("deployment/web", timeout_s=600)
        history = await cluster.rollout_history("deployment/web")
        assert [h.revision for h in history] == [3, 4, 5]  # two old ones kept, and current
        assert history[-1].images == ("web:v5",)
        await cluster.rollout_undo("deployment/web")
        d = await cluster.rollout_status("deployment/web", timeout_s=600)
        assert d.spec.template.spec.containers[0].image == "web:v4"
        assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "6"
        await cluster.rollout_undo("deployment/web", to_revision=3)
        d = await cluster.rollout_status("deployment/web", timeout_s=600)
        assert d.spec.template.spec.containers[0].image == "web:v3"
        with pytest.raises(orbit.OrbitError, match="unable to find specified revision 1"):
            await cluster.rollout_undo("deployment/web", to_revision=1)
        assert isinstance(d, Deployment)
