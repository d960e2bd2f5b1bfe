"""Garbage collection and namespace deletion on a simulated node, in virtual time: the
whole cluster runs (scheduler, node agent, SimRuntime pods that take 5 s to stop on
SIGTERM), owner chains are built by hand in the store, and deletes go through
``delete_object`` as ``Cluster.delete`` will."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import attrs
import pytest

import orbit
from orbit.api import (
    ConfigMap,
    Container,
    Deployment,
    DeploymentSpec,
    Event,
    LabelSelector,
    Namespace,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodSpec,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    all_kinds,
    kind_info,
)
from orbit.clock import current_clock
from orbit.controllers._deletion import NAMESPACE_FINALIZER, delete_object
from orbit.controllers._gc import GarbageCollector
from orbit.controllers._gc_plan import FOREGROUND_FINALIZER
from orbit.controllers._namespace import NamespaceController
from orbit.controllers._pods import owner_reference
from orbit.errors import Forbidden, NotFound, ValidationError

pytestmark = pytest.mark.anyio

STOP_S = 5  # the simulated containers exit 5 s after SIGTERM
GRACE_S = 30


def now() -> float:
    return current_clock().monotonic()


@asynccontextmanager
async def cluster_with_gc() -> AsyncIterator[orbit.Cluster]:
    node = orbit.Node("n1", runtime=orbit.SimRuntime({"cpu": "8", "memory": "32Gi"}))
    async with orbit.Cluster(nodes=[node], seed=5) as cluster:
        await cluster.start_controller(GarbageCollector(cluster.store, cluster.clock))
        await cluster.start_controller(NamespaceController(cluster.store, cluster.clock))
        yield cluster


def ref_to(owner: Any, *, controller: bool = True, block: bool = True) -> OwnerReference:
    return attrs.evolve(owner_reference(owner), controller=controller, block_owner_deletion=block)


def pod_spec(grace_s: int = GRACE_S) -> PodSpec:
    return PodSpec(
        containers=(Container(name="app", image="sim"),),
        termination_grace_period_seconds=grace_s,
    )


def make_rs(
    cluster: orbit.Cluster,
    name: str,
    replicas: int,
    *refs: OwnerReference,
    namespace: str = "default",
) -> ReplicaSet:
    """A ReplicaSet whose pods :func:`make_pod` adds by hand (no controller runs)."""
    labels = {"app": name}
    rs = ReplicaSet(
        metadata=ObjectMeta(name=name, namespace=namespace, owner_references=refs),
        spec=ReplicaSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(metadata=ObjectMeta(labels=labels), spec=pod_spec()),
        ),
    )
    return cluster.store.create(rs)


def make_pod(
    cluster: orbit.Cluster,
    name: str,
    *refs: OwnerReference,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    grace_s: int = GRACE_S,
    **behaviour: str,
) -> Pod:
    annotations = {"sim.orbit.dev/shutdown-seconds": str(STOP_S)}
    annotations.update({f"sim.orbit.dev/{k.replace('_', '-')}": v for k, v in behaviour.items()})
    pod = Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            labels=labels or {},
            annotations=annotations,
            owner_references=refs,
        ),
        spec=pod_spec(grace_s),
    )
    return cluster.store.create(pod)


async def running(cluster: orbit.Cluster, *pods: Pod) -> None:
    for pod in pods:
        meta = pod.metadata
        await cluster.wait_for("pod", meta.name, "Running", namespace=meta.namespace)


async def gone(cluster: orbit.Cluster, obj: Any, timeout_s: float = 300) -> float:
    """Wait until ``obj`` is deleted; returns the virtual time it was seen gone."""
    meta = obj.metadata
    info = kind_info(obj)
    await cluster.wait_for(
        info.kind, meta.name, "deleted", namespace=meta.namespace, timeout_s=timeout_s
    )
    return now()


def present(cluster: orbit.Cluster, obj: Any) -> Any | None:
    meta = obj.metadata
    try:
        current = cluster.store.get(type(obj), meta.name, meta.namespace)
    except NotFound:
        return None
    return current if current.metadata.uid == meta.uid else None


class DeletionLog:
    """When each object of some kinds was deleted (DELETED watch events)."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, str], float] = {}

    async def follow(
        self,
        cluster: orbit.Cluster,
        kind: type[Any],
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        async with cluster.watch(kind) as watch:
            task_status.started()
            async for event in watch:
                if event.type == "DELETED":
                    self.times[(kind.__name__, event.object.metadata.name)] = now()


# -- background -------------------------------------------------------------------------


async def test_background_removes_the_owner_then_its_pods_terminate_gracefully() -> None:
    async with cluster_with_gc() as cluster:
        rs = make_rs(cluster, "web", 2)
        pods = [make_pod(cluster, f"web-{i}", ref_to(rs), labels={"app": "web"}) for i in range(2)]
        await running(cluster, *pods)
        began = now()
        delete_object(cluster.store, ReplicaSet, "web", "default", propagation_policy="Background")
        assert present(cluster, rs) is None  # the owner goes at once
        await anyio.sleep(1)
        for pod in pods:
            terminating = present(cluster, pod)
            assert terminating is not None
            assert terminating.metadata.deletion_grace_period_seconds == GRACE_S
        ends = [await gone(cluster, pod) for pod in pods]
        # they exited on SIGTERM (5 s), well within their 30 s grace
        assert all(began + STOP_S <= end < began + GRACE_S for end in ends)


# -- foreground -------------------------------------------------------------------------


async def test_foreground_keeps_the_owner_until_its_blocking_pods_are_gone() -> None:
    async with cluster_with_gc() as cluster:
        rs = make_rs(cluster, "web", 3)
        blocking = [
            make_pod(cluster, f"web-{i}", ref_to(rs), labels={"app": "web"}) for i in range(2)
        ]
        # a dependent that does not block its owner, and takes its whole 60 s grace
        loose = make_pod(
            cluster,
            "web-loose",
            ref_to(rs, block=False),
            labels={"app": "web"},
            grace_s=60,
            ignore_sigterm="true",
        )
        await running(cluster, *blocking, loose)
        log = DeletionLog()
        async with anyio.create_task_group() as group:
            await group.start(log.follow, cluster, Pod)
            await group.start(log.follow, cluster, ReplicaSet)
            began = now()
            marked = delete_object(
                cluster.store, ReplicaSet, "web", "default", propagation_policy="Foreground"
            )
            assert marked.metadata.finalizers == (FOREGROUND_FINALIZER,)
            await anyio.sleep(STOP_S - 1)
            # every dependent is terminating; the owner waits for the blocking ones
            waiting = present(cluster, rs)
            assert waiting is not None
            assert waiting.metadata.deletion_timestamp is not None
            for pod in (*blocking, loose):
                terminating = present(cluster, pod)
                assert terminating is not None
                assert terminating.metadata.deletion_timestamp is not None
            await gone(cluster, rs)
            assert present(cluster, loose) is not None  # still stopping: never waited for
            await gone(cluster, loose)
            group.cancel_scope.cancel()
        last_blocking = max(log.times[("Pod", p.metadata.name)] for p in blocking)
        owner_gone = log.times[("ReplicaSet", "web")]
        assert began + STOP_S <= last_blocking <= owner_gone < began + GRACE_S
        assert log.times[("Pod", "web-loose")] == began + 60


async def test_foreground_deletion_recurses_down_an_owner_chain() -> None:
    async with cluster_with_gc() as cluster:
        labels = {"app": "web"}
        spec = DeploymentSpec(
            replicas=0,
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(metadata=ObjectMeta(labels=labels), spec=pod_spec()),
        )
        deployment = cluster.store.create(
            Deployment(metadata=ObjectMeta(name="web", namespace="default"), spec=spec)
        )
        # hand-built, not the Deployment controller's: a plain (non-controller) owner
        rs = make_rs(cluster, "web-1", 2, ref_to(deployment, controller=False))
        pods = [
            make_pod(cluster, f"web-1-{i}", ref_to(rs), labels={"app": "web-1"}) for i in range(2)
        ]
        await running(cluster, *pods)
        log = DeletionLog()
        async with anyio.create_task_group() as group:
            for kind in (Pod, ReplicaSet, Deployment):
                await group.start(log.follow, cluster, kind)
            delete_object(
                cluster.store, Deployment, "web", "default", propagation_policy="Foreground"
            )
            await anyio.sleep(1)
            middle = present(cluster, rs)
            assert middle is not None
            assert middle.metadata.finalizers == (FOREGROUND_FINALIZER,)  # deleted in turn
            await gone(cluster, deployment)
            group.cancel_scope.cancel()
        pods_gone = max(log.times[("Pod", p.metadata.name)] for p in pods)
        assert pods_gone <= log.times[("ReplicaSet", "web-1")] <= log.times[("Deployment", "web")]


async def test_a_deployment_run_by_its_controllers_goes_with_its_whole_tree() -> None:
    async with cluster_with_gc() as cluster:
        labels = {"app": "api"}
        await cluster.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "api"},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {
                            "labels": labels,
                            "annotations": {"sim.orbit.dev/shutdown-seconds": str(STOP_S)},
                        },
                        "spec": {"containers": [{"name": "app", "image": "sim"}]},
                    },
                },
            }
        )
        await anyio.sleep(30)
        pods = await cluster.list(Pod, "default", selector=labels)
        assert [p.status.phase for p in pods] == ["Running"] * 3
        assert len(await cluster.list(ReplicaSet, "default", selector=labels)) == 1
        began = now()
        delete_object(cluster.store, Deployment, "api", "default", propagation_policy="Foreground")
        await cluster.wait_for("deployment", "api", "deleted")
        assert began + STOP_S <= now() < began + GRACE_S  # after its pods stopped
        assert await cluster.list(ReplicaSet, "default", selector=labels) == []
        assert await cluster.list(Pod, "default", selector=labels) == []


# -- orphan -----------------------------------------------------------------------------


async def test_orphaned_pods_keep_running_without_an_owner() -> None:
    async with cluster_with_gc() as cluster:
        rs = make_rs(cluster, "web", 2)
        pods = [make_pod(cluster, f"web-{i}", ref_to(rs), labels={"app": "web"}) for i in range(2)]
        await running(cluster, *pods)
        delete_object(cluster.store, ReplicaSet, "web", "default", propagation_policy="Orphan")
        await gone(cluster, rs)
        await anyio.sleep(120)
        for pod in pods:
            orphan = present(cluster, pod)
            assert orphan is not None
            assert orphan.metadata.owner_references == ()
            assert orphan.metadata.deletion_timestamp is None
            assert orphan.status.phase == "Running"
            assert orphan.status.container_statuses[0].restart_count == 0


# -- several owners, absent owners ------------------------------------------------------


async def test_a_pod_with_two_owners_goes_with_the_last_of_them() -> None:
    async with cluster_with_gc() as cluster:
        a, b = make_rs(cluster, "a", 1), make_rs(cluster, "b", 0)
        pod = make_pod(
            cluster, "shared", ref_to(a), ref_to(b, controller=False), labels={"app": "a"}
        )
        await running(cluster, pod)
        delete_object(cluster.store, ReplicaSet, "a", "default", propagation_policy="Background")

        def only_b(obj: Pod | None) -> bool:
            return obj is not None and obj.metadata.owner_references == (
                ref_to(b, controller=False),
            )

        kept = await cluster.wait_for("pod", "shared", only_b)
        assert kept.metadata.deletion_timestamp is None
        await anyio.sleep(30)
        assert present(cluster, pod) is not None
        delete_object(cluster.store, ReplicaSet, "b", "default", propagation_policy="Background")
        await gone(cluster, pod)


async def test_dependents_of_absent_owners_are_collected_whenever_they_appear() -> None:
    async with cluster_with_gc() as cluster:
        old = make_rs(cluster, "web", 1)
        delete_object(cluster.store, ReplicaSet, "web", "default")
        # created after its owner was deleted
        late = make_pod(cluster, "late", ref_to(old))
        new = make_rs(cluster, "web", 1)  # the same name again, another uid
        stale = make_pod(cluster, "stale", ref_to(old))
        invented = make_pod(cluster, "invented", attrs.evolve(ref_to(new), uid="never-existed"))
        current = make_pod(cluster, "current", ref_to(new), labels={"app": "web"})
        for pod in (late, stale, invented):
            await gone(cluster, pod)
        await running(cluster, current)
        assert present(cluster, current) is not None


# -- namespaces -------------------------------------------------------------------------


async def test_deleting_a_namespace_removes_everything_in_it_then_the_namespace() -> None:
    async with cluster_with_gc() as cluster:
        await cluster.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
        )
        rs = make_rs(cluster, "web", 2, namespace="team-a")
        pods = [
            make_pod(cluster, f"web-{i}", ref_to(rs), namespace="team-a", labels={"app": "web"})
            for i in range(2)
        ]
        loner = make_pod(cluster, "loner", namespace="team-a")
        cluster.store.create(ConfigMap(metadata=ObjectMeta(name="settings", namespace="team-a")))
        neighbour = make_pod(cluster, "neighbour")  # in "default": untouched
        await running(cluster, *pods, loner, neighbour)
        delete_object(cluster.store, Namespace, "team-a")
        terminating = cluster.store.get(Namespace, "team-a")
        assert terminating.status.phase == "Terminating"
        assert terminating.spec.finalizers == (NAMESPACE_FINALIZER,)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "newcomer", "namespace": "team-a"},
            "spec": {"containers": [{"name": "app", "image": "sim"}]},
        }
        with pytest.raises(
            ValidationError, match="namespace team-a because it is being terminated"
        ):
            await cluster.apply(pod)
        # A controller's create is refused too (NamespaceLifecycle admission).
        late = ConfigMap(metadata=ObjectMeta(name="late", namespace="team-a"))
        with pytest.raises(
            Forbidden,
            match='configmaps "late" is forbidden: unable to create new content in '
            "namespace team-a because it is being terminated",
        ):
            cluster.store.create(late)
        await anyio.sleep(1)
        for running_pod in (*pods, loner):
            stopping = present(cluster, running_pod)
            assert stopping is not None  # stopping gracefully, not killed
            assert stopping.metadata.deletion_grace_period_seconds == GRACE_S
        await gone(cluster, terminating)
        for info in all_kinds():
            if info.namespaced:
                assert cluster.store.list(info, namespace="team-a").items == [], info.kind
        assert present(cluster, neighbour) is not None
        assert cluster.store.list(Event, namespace="default").items  # other events stay
