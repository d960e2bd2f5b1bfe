"""Cordoning, kubectl drain's choice of pods, and the pod garbage collector's rules."""

from __future__ import annotations

import attrs
import pytest
from disruption_builders import START, make_node, make_pod, make_store, owner

from orbit.api import (
    ConfigMap,
    EmptyDirVolumeSource,
    Node,
    ObjectMeta,
    OwnerReference,
    Pod,
    Taint,
    Volume,
)
from orbit.clock import to_datetime
from orbit.controllers._drain import cordon, drain_plan, uncordon
from orbit.controllers._podgc import PodGCController, terminated_pods_to_delete
from orbit.errors import NotFound

OWNER = owner(ConfigMap(metadata=ObjectMeta(name="keeper", uid="keeper")))
DAEMON = OwnerReference(
    api_version="apps/v1", kind="DaemonSet", name="agent", uid="ds", controller=True
)


def names(pods: tuple[Pod, ...] | list[Pod]) -> list[str]:
    return [p.metadata.name for p in pods]


def test_cordon_and_uncordon_flip_unschedulable() -> None:
    store, _ = make_store()
    store.create(make_node("n1"))
    assert cordon(store, "n1").spec.unschedulable
    again = cordon(store, "n1")  # already cordoned: nothing written
    assert again.metadata.resource_version == store.get(Node, "n1").metadata.resource_version
    assert not uncordon(store, "n1").spec.unschedulable
    with pytest.raises(NotFound):
        cordon(store, "gone")


def test_the_plan_evicts_managed_pods_and_leaves_daemons_and_mirrors() -> None:
    pods = [
        make_pod("web", owners=[OWNER]),
        make_pod("agent", owners=[DAEMON]),
        make_pod("static", owners=[OWNER], annotations={"kubernetes.io/config.mirror": "x"}),
        make_pod("done", phase="Succeeded"),  # unmanaged, but finished
    ]
    plan = drain_plan(pods)
    assert names(plan.evict) == ["web", "done"]
    assert plan.errors == ()
    assert plan.warnings == ("ignoring DaemonSet-managed Pods: default/agent",)


def test_the_plan_refuses_as_kubectl_does() -> None:
    scratch = Volume(name="tmp", empty_dir=EmptyDirVolumeSource())
    local = make_pod("cache", owners=[OWNER])
    local = attrs.evolve(local, spec=attrs.evolve(local.spec, volumes=(scratch,)))
    pods = [make_pod("loose"), make_pod("lonely"), local, make_pod("agent", owners=[DAEMON])]
    plan = drain_plan(pods, ignore_daemonsets=False)
    assert plan.errors == (
        "cannot delete Pods declare no controller (use --force to override): "
        "default/loose, default/lonely",
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): "
        "default/cache",
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/agent",
    )
    forced = drain_plan(pods, force=True, delete_emptydir_data=True)
    assert names(forced.evict) == ["loose", "lonely", "cache"]
    assert forced.errors == ()
    assert "deleting Pods that declare no controller: default/loose, default/lonely" in (
        forced.warnings
    )


# -- the pod garbage collector ------------------------------------------------------------


def test_finished_pods_beyond_the_threshold_go_evicted_then_oldest_first() -> None:
    def finished(name: str, at: float, reason: str = "", phase: str = "Failed") -> Pod:
        pod = make_pod(name, phase=phase)
        meta = attrs.evolve(pod.metadata, creation_timestamp=to_datetime(at))
        return attrs.evolve(pod, metadata=meta, status=attrs.evolve(pod.status, reason=reason))

    pods = [
        finished("b", START + 1, phase="Succeeded"),
        finished("a", START + 1),
        finished("old", START),
        finished("evicted", START + 9, reason="Evicted"),
        finished("new", START + 5),
    ]
    assert names(terminated_pods_to_delete(pods, 3)) == ["evicted", "old"]
    assert names(terminated_pods_to_delete(pods, 4)) == ["evicted"]
    assert names(terminated_pods_to_delete(pods, 2)) == ["evicted", "old", "a"]
    assert terminated_pods_to_delete(pods, 5) == []
    assert terminated_pods_to_delete(pods, 0) == []  # 0 turns the collection off


def test_pods_of_a_deleted_node_go_after_the_quarantine() -> None:
    store, clock = make_store()
    store.create(make_pod("web", node="gone", finalizers=("keep",)))  # kept to be read
    store.create(make_pod("done", node="gone", phase="Succeeded"))
    store.create(make_pod("ok", node="n1"))
    store.create(make_node("n1"))
    gc = PodGCController(store, clock)
    assert gc.reconcile(("default", "ok")) is None
    assert gc.reconcile(("default", "web")) == 40
    clock.advance(15)
    assert gc.reconcile(("default", "web")) == 25  # the quarantine is the node's
    assert gc.reconcile(("default", "done")) == 25
    clock.advance(25)
    assert gc.reconcile(("default", "web")) is None
    assert gc.reconcile(("default", "done")) is None
    web = store.get(Pod, "web", "default")
    assert web.metadata.deletion_grace_period_seconds == 0
    assert web.status.phase == "Failed"
    target = web.status.condition("DisruptionTarget")
    assert target is not None
    assert (target.reason, target.message) == ("DeletionByPodGC", "PodGC: node no longer exists")
    with pytest.raises(NotFound):
        store.get(Pod, "done", "default")
    assert store.get(Pod, "ok", "default").metadata.deletion_timestamp is None


def test_a_node_coming_back_ends_the_quarantine() -> None:
    store, clock = make_store()
    store.create(make_pod("web", node="n2"))
    gc = PodGCController(store, clock)
    assert gc.reconcile(("default", "web")) == 40
    node = store.create(make_node("n2"))
    assert list(gc._node_keys("ADDED", node)) == []
    clock.advance(60)
    assert gc.reconcile(("default", "web")) is None
    assert store.get(Pod, "web", "default").metadata.deletion_timestamp is None


def test_terminating_pods_go_when_unscheduled_or_on_an_out_of_service_node() -> None:
    store, clock = make_store()
    out = Taint(key="node.kubernetes.io/out-of-service", value="nodeshutdown", effect="NoExecute")
    store.create(make_node("down", ready="False", taints=[out]))
    store.create(make_node("up", taints=[out]))  # Ready: the taint alone is not enough
    for name, node in (("unbound", ""), ("stuck", "down"), ("fine", "up")):
        store.create(make_pod(name, node=node, finalizers=("keep",)))
        store.delete(Pod, name, "default", grace_period_s=30)
    gc = PodGCController(store, clock)
    for name in ("unbound", "stuck", "fine"):
        gc.reconcile(("default", name))
    stuck = store.get(Pod, "stuck", "default")
    assert stuck.status.phase == "Failed"
    assert stuck.metadata.deletion_grace_period_seconds == 0
    assert store.get(Pod, "unbound", "default").metadata.deletion_grace_period_seconds == 0
    assert store.get(Pod, "fine", "default").metadata.deletion_grace_period_seconds == 30


def test_the_threshold_is_checked_once_finished_pods_exceed_it() -> None:
    store, clock = make_store()
    store.create(make_node("n1"))
    gc = PodGCController(store, clock, terminated_pod_threshold=2)
    finished = []
    for i in range(3):
        pod = store.create(make_pod(f"job-{i}", phase="Succeeded"))
        finished.append(list(gc._pod_keys("ADDED", pod)))
        clock.advance(1)
    assert finished == [[], [], [("", "")]]
    store.create(make_pod("running"))
    gc.reconcile(("", ""))
    left = sorted(p.metadata.name for p in store.list(Pod).items)
    assert left == ["job-1", "job-2", "running"]  # the oldest finished pod went
