"""The garbage collector and the namespace controller, step by step on a MemoryStore:
the pure rules first (policies to finalizers, owner classification, what to do with a
dependent), then ``delete_object`` as the API server's delete, then single reconciles
and the key mappers, checked against Kubernetes' garbagecollector.go and
namespaced_resources_deleter.go case by case."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from orbit.api import (
    ConfigMap,
    Container,
    CronJob,
    Deployment,
    Event,
    Job,
    Namespace,
    NamespaceSpec,
    Node,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodSpec,
    PodStatus,
    ReplicaSet,
    kind_info,
)
from orbit.clock import ManualClock
from orbit.controllers._deletion import (
    NAMESPACE_FINALIZER,
    NAMESPACE_HOLD_FINALIZER,
    delete_object,
)
from orbit.controllers._gc import GarbageCollector, gc_key, parse_gc_key
from orbit.controllers._gc_plan import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    Decision,
    OwnerState,
    blocks,
    check_policy,
    decide,
    default_propagation_policy,
    deletion_finalizers,
    needs_dependents,
    owner_kind,
    owner_state,
    unblocked,
    without_owners,
)
from orbit.controllers._namespace import (
    FINALIZER_ESTIMATE_S,
    NamespaceController,
    content_estimate,
    requeue_after_s,
)
from orbit.controllers._pods import owner_reference
from orbit.errors import Forbidden, NotFound, ValidationError
from orbit.store import MemoryStore

FG, ORPHAN = FOREGROUND_FINALIZER, ORPHAN_FINALIZER
OTHER = "example.com/hold"


# -- builders ---------------------------------------------------------------------------


def make_store() -> MemoryStore:
    return MemoryStore(clock=ManualClock(), seed=3)


def ref_to(
    owner: Any, *, block: bool | None = True, controller: bool | None = True
) -> OwnerReference:
    return attrs.evolve(owner_reference(owner), controller=controller, block_owner_deletion=block)


def meta(name: str, namespace: str = "default", *refs: OwnerReference, **fields: Any) -> ObjectMeta:
    return ObjectMeta(name=name, namespace=namespace, owner_references=refs, **fields)


def make_rs(store: MemoryStore, name: str = "web", *refs: OwnerReference) -> ReplicaSet:
    return store.create(ReplicaSet(metadata=meta(name, "default", *refs)))


def make_pod(
    store: MemoryStore,
    name: str,
    *refs: OwnerReference,
    node: str = "",
    phase: str = "Pending",
    namespace: str = "default",
) -> Pod:
    pod = Pod(
        metadata=meta(name, namespace, *refs),
        spec=PodSpec(containers=(Container(name="app", image="sim"),), node_name=node),
    )
    created = store.create(pod)
    if phase != "Pending":
        created = store.update_status(
            attrs.evolve(created, status=PodStatus(phase=phase))  # type: ignore[arg-type]
        )
    return created


def exists(store: MemoryStore, obj: Any) -> bool:
    try:
        current = store.get(type(obj), obj.metadata.name, obj.metadata.namespace)
    except NotFound:
        return False
    return bool(current.metadata.uid == obj.metadata.uid)


def fresh(store: MemoryStore, obj: Any) -> Any:
    return store.get(type(obj), obj.metadata.name, obj.metadata.namespace)


def reconcile(gc: GarbageCollector, obj: Any) -> None:
    meta = obj.metadata
    assert gc.reconcile(gc_key(kind_info(obj), meta.namespace, meta.name)) is None


def mapper(gc: GarbageCollector, cls: type[Any]) -> Any:
    info = kind_info(cls)
    (watched,) = [w for w in gc.watches if w.kind == info]
    return watched.keys


def key_of(obj: Any) -> tuple[str, str]:
    return gc_key(kind_info(obj), obj.metadata.namespace, obj.metadata.name)


# -- policies to finalizers (deletionFinalizersForGarbageCollection) ---------------------


@pytest.mark.parametrize(
    ("finalizers", "policy", "default", "expected"),
    [
        ((), None, "Background", ()),
        ((), None, "Orphan", (ORPHAN,)),
        ((), "Background", "Orphan", ()),
        ((), "Foreground", "Background", (FG,)),
        ((), "Orphan", "Background", (ORPHAN,)),
        ((OTHER,), "Foreground", "Background", (OTHER, FG)),
        # an explicit policy replaces a GC finalizer already there
        ((ORPHAN, OTHER), "Foreground", "Background", (OTHER, FG)),
        ((FG,), "Background", "Background", ()),
        # without a policy, a GC finalizer on the object beats the kind's default
        ((FG,), None, "Orphan", (FG,)),
        ((ORPHAN,), None, "Background", (ORPHAN,)),
    ],
)
def test_deletion_finalizers_follow_the_api_server(
    finalizers: tuple[str, ...], policy: Any, default: Any, expected: tuple[str, ...]
) -> None:
    assert deletion_finalizers(finalizers, policy, default) == expected


def test_unchanged_finalizers_are_returned_as_they_were() -> None:
    finalizers = (FG, OTHER)
    assert deletion_finalizers(finalizers, "Foreground", "Background") is finalizers


def test_batch_v1_jobs_orphan_by_default_and_everything_else_goes_in_the_background() -> None:
    assert default_propagation_policy(kind_info(Job)) == "Orphan"
    for cls in (CronJob, Deployment, ReplicaSet, Pod, ConfigMap, Namespace):
        assert default_propagation_policy(kind_info(cls)) == "Background"


def test_unknown_policies_are_refused_with_the_api_servers_message() -> None:
    assert check_policy("Orphan") == "Orphan"
    assert check_policy(None) is None
    with pytest.raises(ValidationError) as caught:
        check_policy("Cascade")
    assert str(caught.value.issues[0]) == (
        'propagationPolicy: Unsupported value: "Cascade": supported values: '
        '"Foreground", "Background", "Orphan"'
    )


# -- owner references -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("apps/v1", "ReplicaSet", "ReplicaSet"),
        ("", "ReplicaSet", "ReplicaSet"),
        ("v1", "Pod", "Pod"),
        ("batch/v1", "Job", "Job"),
        ("v1", "ReplicaSet", None),  # wrong group
        ("apps/v1", "replicaset", None),  # a kind is spelt exactly
        ("apps/v1", "replicasets", None),
        ("example.com/v1", "Widget", None),
        ("apps/v1", "", None),
    ],
)
def test_owner_kind_maps_api_version_and_kind(api_version: str, kind: str, expected: Any) -> None:
    info = owner_kind(OwnerReference(api_version=api_version, kind=kind, name="x", uid="u"))
    assert (info.kind if info else None) == expected


def test_owner_state_classifies_like_classify_references() -> None:
    store = make_store()
    owner = make_rs(store)
    ref = ref_to(owner)
    assert owner_state(ref, owner) == "solid"
    assert owner_state(ref, None) == "dangling"
    assert owner_state(attrs.evolve(ref, uid="another"), owner) == "dangling"
    deleting = attrs.evolve(
        owner,
        metadata=attrs.evolve(owner.metadata, deletion_timestamp=owner.metadata.creation_timestamp),
    )
    # being deleted without the foreground finalizer (graceful, orphan, other): solid
    assert owner_state(ref, deleting) == "solid"
    orphaning = attrs.evolve(
        deleting, metadata=attrs.evolve(deleting.metadata, finalizers=(ORPHAN,))
    )
    assert owner_state(ref, orphaning) == "solid"
    waiting = attrs.evolve(deleting, metadata=attrs.evolve(deleting.metadata, finalizers=(FG,)))
    assert owner_state(ref, waiting) == "waiting"
    # the finalizer alone, without a deletion timestamp, is not a deletion
    marked_only = attrs.evolve(owner, metadata=attrs.evolve(owner.metadata, finalizers=(FG,)))
    assert owner_state(ref, marked_only) == "solid"


# -- what to do with a dependent (attemptToDeleteItem) ----------------------------------

A = OwnerReference(
    api_version="apps/v1", kind="ReplicaSet", name="a", uid="ua", block_owner_deletion=True
)
B = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="b", uid="ub")
C = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="c", uid="uc")


@pytest.mark.parametrize(
    ("states", "finalizers", "has_dependents", "dependent_deleting", "expected"),
    [
        (("solid",), (), False, False, Decision("keep")),
        (("solid", "solid"), (), False, False, Decision("keep")),
        # a solid owner keeps it; references to absent and waiting owners go
        (("dangling", "solid"), (), False, False, Decision("remove_refs", owner_uids=("ua",))),
        (("solid", "waiting"), (), True, False, Decision("remove_refs", owner_uids=("ub",))),
        (
            ("dangling", "solid", "waiting"),
            (),
            False,
            False,
            Decision("remove_refs", owner_uids=("ua", "uc")),
        ),
        # no solid owner: garbage, in the background unless it says otherwise
        (("dangling",), (), False, False, Decision("delete", policy="Background")),
        (("dangling", "dangling"), (OTHER,), False, False, Decision("delete", policy="Background")),
        (("dangling",), (ORPHAN,), False, False, Decision("delete", policy="Orphan")),
        (("dangling",), (FG,), False, False, Decision("delete", policy="Foreground")),
        (("waiting",), (), False, False, Decision("delete", policy="Background")),
        # a waiting owner and dependents of its own: the subtree goes first
        (("waiting",), (), True, False, Decision("delete", policy="Foreground")),
        (("waiting", "dangling"), (ORPHAN,), True, False, Decision("delete", policy="Foreground")),
        (("waiting",), (), True, True, Decision("delete", policy="Foreground", unblock=True)),
    ],
)
def test_decide_follows_attempt_to_delete_item(
    states: tuple[OwnerState, ...],
    finalizers: tuple[str, ...],
    has_dependents: bool,
    dependent_deleting: bool,
    expected: Decision,
) -> None:
    refs = (A, B, C)[: len(states)]
    decision = decide(
        refs,
        states,
        finalizers,
        has_dependents=has_dependents,
        dependent_deleting_dependents=dependent_deleting,
    )
    assert decision == expected


def test_decide_keeps_objects_without_owners() -> None:
    assert decide((), (), ()) == Decision("keep")


def test_dependents_matter_only_with_a_waiting_owner_and_no_solid_one() -> None:
    assert needs_dependents(["waiting"])
    assert needs_dependents(["waiting", "dangling"])
    assert not needs_dependents(["waiting", "solid"])
    assert not needs_dependents(["dangling"])
    assert not needs_dependents([])


def test_only_a_blocking_reference_to_that_owner_blocks_it() -> None:
    assert blocks(ObjectMeta(owner_references=(A,)), "ua")
    assert not blocks(ObjectMeta(owner_references=(A,)), "ub")
    assert not blocks(ObjectMeta(owner_references=(B,)), "ub")  # blockOwnerDeletion unset
    off = attrs.evolve(A, block_owner_deletion=False)
    assert not blocks(ObjectMeta(owner_references=(off,)), "ua")


def test_reference_edits() -> None:
    assert without_owners((A, B, C), {"ua", "uc"}) == (B,)
    assert without_owners((A,), ()) == (A,)
    assert unblocked((A, B)) == (attrs.evolve(A, block_owner_deletion=False), B)


def test_gc_keys_name_the_kind_and_split_back() -> None:
    pod, node = kind_info(Pod), kind_info(Node)
    assert gc_key(pod, "default", "web-1") == ("Pod/default", "web-1")
    assert gc_key(node, "", "n1") == ("Node", "n1")
    assert parse_gc_key(("Pod/default", "web-1")) == (pod, "default", "web-1")
    assert parse_gc_key(("Node", "n1")) == (node, "", "n1")
    assert parse_gc_key(("Widget/default", "w")) is None
    assert parse_gc_key(("pods/default", "w")) is None


# -- delete_object: the API server's delete ----------------------------------------------


def test_background_delete_removes_the_owner_at_once() -> None:
    store = make_store()
    owner = make_rs(store)
    make_pod(store, "p", ref_to(owner))
    delete_object(store, ReplicaSet, "web", "default", propagation_policy="Background")
    assert not exists(store, owner)
    assert len(store.list(Pod).items) == 1  # the collector's job, not the API server's


def test_foreground_and_orphan_deletes_only_mark_the_owner() -> None:
    store = make_store()
    for name, policy, finalizer in (("fg", "Foreground", FG), ("or", "Orphan", ORPHAN)):
        make_rs(store, name)
        marked = delete_object(store, "replicaset", name, "default", propagation_policy=policy)
        assert marked.metadata.deletion_timestamp is not None
        assert marked.metadata.finalizers == (finalizer,)
        assert fresh(store, marked) == marked


def test_a_job_deleted_without_a_policy_orphans_its_pods() -> None:
    store = make_store()
    store.create(Job(metadata=meta("etl")))
    marked = delete_object(store, Job, "etl", "default")
    assert marked.metadata.finalizers == (ORPHAN,)
    store.create(Job(metadata=meta("other", finalizers=(FG,))))
    assert delete_object(store, Job, "other", "default").metadata.finalizers == (FG,)


def test_pods_are_deleted_gracefully_only_when_a_node_runs_them() -> None:
    store = make_store()
    running = make_pod(store, "running", node="n1", phase="Running")
    marked = delete_object(store, "pods", "running", "default")
    assert marked.metadata.deletion_grace_period_seconds == 30
    assert exists(store, running)
    make_pod(store, "pending")
    make_pod(store, "done", node="n1", phase="Succeeded")
    for name in ("pending", "done"):
        delete_object(store, Pod, name, "default")
    assert [p.metadata.name for p in store.list(Pod).items] == ["running"]
    make_pod(store, "quick", node="n1", phase="Running")
    quick = delete_object(store, Pod, "quick", "default", grace_period_s=5)
    assert quick.metadata.deletion_grace_period_seconds == 5
    # a second delete may shorten the grace, never lengthen it
    assert delete_object(store, Pod, "quick", "default", grace_period_s=20) == quick
    assert not exists(store, delete_object(store, Pod, "quick", "default", grace_period_s=0))


def test_a_grace_period_means_nothing_to_kinds_other_than_pods() -> None:
    store = make_store()
    store.create(ConfigMap(metadata=meta("settings")))
    delete_object(store, ConfigMap, "settings", "default", grace_period_s=30)
    assert store.list(ConfigMap).items == []


def test_a_foreground_pod_delete_is_graceful_and_keeps_the_finalizer() -> None:
    store = make_store()
    make_pod(store, "p", node="n1", phase="Running")
    marked = delete_object(store, Pod, "p", "default", propagation_policy="Foreground")
    assert marked.metadata.finalizers == (FG,)
    assert marked.metadata.deletion_grace_period_seconds == 30


def test_delete_object_errors() -> None:
    store = make_store()
    with pytest.raises(NotFound):
        delete_object(store, Pod, "ghost", "default")
    make_pod(store, "p")
    with pytest.raises(ValidationError):
        delete_object(store, Pod, "p", "default", propagation_policy="Cascade")  # type: ignore[arg-type]
    assert len(store.list(Pod).items) == 1


def test_deleting_a_namespace_marks_it_terminating() -> None:
    store = make_store()
    store.create(Namespace(metadata=ObjectMeta(name="team-a")))
    ns = delete_object(store, Namespace, "team-a")
    assert ns.metadata.deletion_timestamp is not None
    assert ns.status.phase == "Terminating"
    assert ns.spec.finalizers == (NAMESPACE_FINALIZER,)
    assert NAMESPACE_HOLD_FINALIZER in ns.metadata.finalizers
    assert fresh(store, ns) == ns
    # again: nothing changes while spec.finalizers remain
    assert delete_object(store, "ns", "team-a") == ns


def test_the_initial_namespaces_may_not_be_deleted() -> None:
    store = make_store()
    for name in ("default", "kube-system", "kube-public"):
        store.create(Namespace(metadata=ObjectMeta(name=name)))
        with pytest.raises(Forbidden) as caught:
            delete_object(store, Namespace, name)
        assert (
            str(caught.value)
            == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        )
        assert store.get(Namespace, name).metadata.deletion_timestamp is None


# -- single reconciles ------------------------------------------------------------------


def test_a_dependent_whose_owner_is_gone_is_deleted_gracefully() -> None:
    store = make_store()
    owner = make_rs(store)
    pod = make_pod(store, "p", ref_to(owner), node="n1", phase="Running")
    store.delete(ReplicaSet, "web", "default")
    gc = GarbageCollector(store, ManualClock())
    reconcile(gc, pod)
    marked = fresh(store, pod)
    assert marked.metadata.deletion_grace_period_seconds == 30


def test_an_owner_reference_to_a_reused_name_or_an_unknown_uid_is_absent() -> None:
    store = make_store()
    old = make_rs(store)
    stale = make_pod(store, "stale", ref_to(old))
    store.delete(ReplicaSet, "web", "default")
    new = make_rs(store)  # same name, new uid
    invented = make_pod(store, "invented", attrs.evolve(ref_to(new), uid="never-existed"))
    current = make_pod(store, "current", ref_to(new))
    gc = GarbageCollector(store, ManualClock())
    for pod in (stale, invented, current):
        reconcile(gc, pod)
    assert [p.metadata.name for p in store.list(Pod).items] == ["current"]


def test_a_dependent_with_another_live_owner_only_loses_the_dead_reference() -> None:
    store = make_store()
    a, b = make_rs(store, "a"), make_rs(store, "b")
    pod = make_pod(store, "p", ref_to(a), ref_to(b, controller=False))
    store.delete(ReplicaSet, "a", "default")
    gc = GarbageCollector(store, ManualClock())
    reconcile(gc, pod)
    assert fresh(store, pod).metadata.owner_references == (ref_to(b, controller=False),)
    reconcile(gc, pod)  # nothing more to do
    assert exists(store, pod)


def test_foreground_deletion_waits_for_blocking_dependents_only() -> None:
    store = make_store()
    owner = make_rs(store)
    blocking = make_pod(store, "blocking", ref_to(owner), node="n1", phase="Running")
    loose = make_pod(store, "loose", ref_to(owner, block=False), node="n1", phase="Running")
    gc = GarbageCollector(store, ManualClock())
    delete_object(store, ReplicaSet, "web", "default", propagation_policy="Foreground")
    reconcile(gc, owner)
    assert fresh(store, owner).metadata.finalizers == (FG,)
    for pod in (blocking, loose):
        reconcile(gc, pod)
        assert fresh(store, pod).metadata.deletion_timestamp is not None  # terminating
    reconcile(gc, owner)
    assert exists(store, owner)  # the blocking pod is still terminating
    store.delete(Pod, "blocking", "default", grace_period_s=0)  # its node agent is done
    reconcile(gc, owner)
    assert not exists(store, owner)
    assert exists(store, loose)  # still terminating: it never blocked the owner


def test_a_dependent_with_dependents_of_its_own_is_deleted_in_the_foreground() -> None:
    store = make_store()
    deployment = store.create(Deployment(metadata=meta("web")))
    rs = make_rs(store, "web-1", ref_to(deployment))
    pod = make_pod(store, "web-1-a", ref_to(rs))
    gc = GarbageCollector(store, ManualClock())
    delete_object(store, Deployment, "web", "default", propagation_policy="Foreground")
    reconcile(gc, rs)
    assert fresh(store, rs).metadata.finalizers == (FG,)
    reconcile(gc, pod)  # its owner waits for it: gone (unscheduled, so at once)
    assert not exists(store, pod)
    for obj in (rs, deployment):
        reconcile(gc, obj)
        assert not exists(store, obj)


def test_orphaning_removes_the_owner_from_its_dependents_then_lets_it_go() -> None:
    store = make_store()
    owner, other = make_rs(store), make_rs(store, "other")
    pod = make_pod(store, "p", ref_to(owner), ref_to(other, controller=False))
    lone = make_pod(store, "lone", ref_to(owner))
    gc = GarbageCollector(store, ManualClock())
    delete_object(store, ReplicaSet, "web", "default", propagation_policy="Orphan")
    reconcile(gc, owner)
    assert not exists(store, owner)
    assert fresh(store, pod).metadata.owner_references == (ref_to(other, controller=False),)
    assert fresh(store, lone).metadata.owner_references == ()
    reconcile(gc, lone)
    assert exists(store, lone)


def test_a_cluster_scoped_object_with_a_namespaced_owner_is_left_alone_with_a_warning() -> None:
    store = make_store()
    owner = make_rs(store)
    node = store.create(Node(metadata=ObjectMeta(name="n1", owner_references=(ref_to(owner),))))
    gc = GarbageCollector(store, ManualClock())
    store.delete(ReplicaSet, "web", "default")
    reconcile(gc, node)
    assert exists(store, node)
    (event,) = store.list(Event).items
    assert event.reason == "OwnerRefInvalidNamespace"
    assert event.type == "Warning"
    assert event.message == (
        f"ownerRef [apps/v1/ReplicaSet, namespace: , name: web, uid: {owner.metadata.uid}] "
        'does not exist in namespace ""'
    )


def test_an_owner_of_a_kind_orbit_does_not_know_leaves_the_dependent_alone() -> None:
    store = make_store()
    ref = OwnerReference(api_version="example.com/v1", kind="Widget", name="w", uid="u")
    pod = make_pod(store, "p", ref)
    reconcile(GarbageCollector(store, ManualClock()), pod)
    assert fresh(store, pod).metadata.owner_references == (ref,)


# -- which keys an event concerns -----------------------------------------------------


def test_events_are_routed_to_the_objects_they_concern() -> None:
    store = make_store()
    gc = GarbageCollector(store, ManualClock())
    pods, sets = mapper(gc, Pod), mapper(gc, ReplicaSet)
    owner = make_rs(store)
    assert sets("ADDED", owner) == []  # no owner, not being deleted: nothing to do
    pod = make_pod(store, "p", ref_to(owner))
    assert pods("ADDED", pod) == [key_of(pod)]
    running = store.update_status(attrs.evolve(pod, status=PodStatus(phase="Running")))
    assert pods("MODIFIED", running) == []  # nothing the collector looks at changed
    assert pods("ADDED", running) == [key_of(pod)]  # a re-list looks at everything again
    marked = delete_object(store, ReplicaSet, "web", "default", propagation_policy="Foreground")
    assert sets("MODIFIED", marked) == [key_of(owner), key_of(pod)]
    terminating = delete_object(store, Pod, "p", "default", grace_period_s=0)
    assert pods("DELETED", terminating) == [key_of(owner)]  # the owner may go now
    gone = store.delete(ReplicaSet, "web", "default", grace_period_s=0)
    assert sets("DELETED", gone) == []


def test_an_owners_deletion_concerns_its_dependents_and_a_reference_change_its_owners() -> None:
    store = make_store()
    gc = GarbageCollector(store, ManualClock())
    pods, sets = mapper(gc, Pod), mapper(gc, ReplicaSet)
    a, b = make_rs(store, "a"), make_rs(store, "b")
    pod = make_pod(store, "p", ref_to(a), ref_to(b, controller=False))
    pods("ADDED", pod)
    gone = store.delete(ReplicaSet, "a", "default")
    assert sets("DELETED", gone) == [key_of(pod)]
    marked = delete_object(store, ReplicaSet, "b", "default", propagation_policy="Foreground")
    assert sets("MODIFIED", marked) == [key_of(b), key_of(pod)]
    # the pod drops its (non-blocking) reference to b: b counts again
    released = store.update(
        attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, owner_references=(ref_to(a),)))
    )
    assert pods("MODIFIED", released) == [key_of(pod), key_of(b)]
    assert sets("DELETED", a) == [key_of(pod)]


# -- the namespace controller -----------------------------------------------------------


def test_content_estimates_follow_the_namespace_deleter() -> None:
    store = make_store()
    running = make_pod(store, "r", node="n1", phase="Running")
    slow = attrs.evolve(
        running, spec=attrs.evolve(running.spec, termination_grace_period_seconds=90)
    )
    done = make_pod(store, "d", node="n1", phase="Failed")
    held = store.create(ConfigMap(metadata=meta("held", finalizers=(OTHER,))))
    assert content_estimate([running, slow, done]) == 90
    assert content_estimate([done]) == 0
    assert content_estimate([held]) == FINALIZER_ESTIMATE_S
    assert content_estimate([held, running]) == 30
    assert [requeue_after_s(e) for e in (0, 1, 15, 30)] == [1, 1, 8, 16]


def test_a_namespace_goes_once_everything_in_it_has_gone() -> None:
    store = make_store()
    store.create(Namespace(metadata=ObjectMeta(name="team-a")))
    pod = make_pod(store, "p", node="n1", phase="Running", namespace="team-a")
    store.create(ConfigMap(metadata=meta("settings", "team-a")))
    elsewhere = make_pod(store, "p", namespace="default")
    controller = NamespaceController(store, ManualClock())
    assert controller.reconcile(("", "team-a")) is None  # not being deleted: nothing
    delete_object(store, Namespace, "team-a")
    assert controller.reconcile(("", "team-a")) == 16.0  # a pod is terminating (30 s)
    assert store.list(ConfigMap, namespace="team-a").items == []
    assert fresh(store, pod).metadata.deletion_grace_period_seconds == 30
    store.delete(Pod, "p", "team-a", grace_period_s=0)  # its node agent stopped it
    assert controller.reconcile(("", "team-a")) is None
    with pytest.raises(NotFound):
        store.get(Namespace, "team-a")
    assert exists(store, elsewhere)


def test_a_namespace_with_other_spec_finalizers_waits_for_them() -> None:
    store = make_store()
    spec = NamespaceSpec(finalizers=("example.com/vault",))
    store.create(Namespace(metadata=ObjectMeta(name="team-a"), spec=spec))
    controller = NamespaceController(store, ManualClock())
    delete_object(store, Namespace, "team-a")
    assert controller.reconcile(("", "team-a")) is None
    ns = store.get(Namespace, "team-a")
    assert ns.spec.finalizers == ("example.com/vault",)  # ours is gone, theirs is not
    store.update(attrs.evolve(ns, spec=NamespaceSpec()))  # they finish
    assert controller.reconcile(("", "team-a")) is None
    with pytest.raises(NotFound):
        store.get(Namespace, "team-a")


def test_deleted_content_wakes_only_terminating_namespaces() -> None:
    store = make_store()
    controller = NamespaceController(store, ManualClock())
    (watched,) = [w for w in controller.watches if w.kind == kind_info(Pod)]
    for name in ("live", "dying"):
        store.create(Namespace(metadata=ObjectMeta(name=name)))
    delete_object(store, Namespace, "dying")
    live, dying = make_pod(store, "p", namespace="live"), make_pod(store, "p", namespace="dying")
    assert list(watched.keys("DELETED", live)) == []
    assert list(watched.keys("MODIFIED", dying)) == []
    assert list(watched.keys("DELETED", dying)) == [("", "dying")]
    assert all(info.namespaced for info in controller.kinds)
