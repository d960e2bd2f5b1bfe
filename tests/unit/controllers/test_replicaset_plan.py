"""The ReplicaSet controller's pure decisions: how many pods to make or remove,
which go first, and the status it reports."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import (
    ContainerStatus,
    LabelSelector,
    ObjectMeta,
    Pod,
    PodCondition,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
)
from orbit.controllers._replicaset_plan import BURST_REPLICAS, deletion_order, plan_replicaset

NOW = 1_767_225_600.0


def at(seconds_ago: float) -> datetime:
    return datetime.fromtimestamp(NOW - seconds_ago, tz=UTC)


def pod(
    name: str,
    *,
    node: str = "n1",
    phase: str = "Running",
    ready_for: float | None = 100.0,
    age: float = 1000.0,
    restarts: int = 0,
    cost: int | None = None,
    deleting: bool = False,
) -> Pod:
    conditions = ()
    if ready_for is not None:
        conditions = (
            PodCondition(type="Ready", status="True", last_transition_time=at(ready_for)),
        )
    annotations = {} if cost is None else {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    return Pod(
        metadata=ObjectMeta(
            name=name,
            uid=f"uid-{name}",
            creation_timestamp=at(age),
            annotations=annotations,
            labels={"app": "web"},
            deletion_timestamp=at(0) if deleting else None,
        ),
        spec=PodSpec(node_name=node),
        status=PodStatus(
            phase=phase,  # type: ignore[arg-type]
            conditions=conditions,
            container_statuses=(ContainerStatus(name="c", restart_count=restarts),),
        ),
    )


def replicaset(replicas: int, min_ready: int = 0) -> ReplicaSet:
    return ReplicaSet(
        metadata=ObjectMeta(name="web", namespace="default", uid="rs", generation=4),
        spec=ReplicaSetSpec(
            replicas=replicas,
            min_ready_seconds=min_ready,
            selector=LabelSelector(match_labels={"app": "web"}),
            template=PodTemplateSpec(metadata=ObjectMeta(labels={"app": "web"})),
        ),
    )


def names(pods: list[Pod]) -> list[str]:
    return [p.metadata.name for p in pods]


def test_deletion_order_follows_kubernetes_ranking() -> None:
    pods = [
        pod("ready-old", ready_for=5000, age=6000),
        pod("unscheduled", node="", phase="Pending", ready_for=None),
        pod("pending", phase="Pending", ready_for=None),
        pod("unknown", phase="Unknown", ready_for=None),
        pod("not-ready", ready_for=None),
        pod("ready-new", ready_for=10, age=20),
        pod("expensive-new", ready_for=10, age=20, cost=100),
        pod("cheap-old", ready_for=5000, age=6000, cost=-5),
    ]
    order = names(deletion_order(pods, NOW))
    assert order[:5] == ["unscheduled", "pending", "unknown", "not-ready", "cheap-old"]
    assert order.index("ready-new") < order.index("ready-old")  # ready for less time first
    assert order[-1] == "expensive-new"  # highest deletion cost last


def test_doubled_up_pods_and_restarts_go_first() -> None:
    crowded = [pod(f"a{i}", node="busy", ready_for=4000, age=4000) for i in range(3)]
    alone = pod("b", node="quiet", ready_for=4000, age=4000)
    assert names(deletion_order([alone, *crowded], NOW))[-1] == "b"
    flappy = pod("flappy", node="x", restarts=5, ready_for=4000, age=4000)
    steady = pod("steady", node="y", ready_for=4000, age=4000)
    assert names(deletion_order([steady, flappy], NOW)) == ["flappy", "steady"]


def test_ages_in_one_power_of_two_bucket_count_as_equal() -> None:
    # Ready 1000 s and 1010 s: the same log2 bucket of nanoseconds -> ordered by uid,
    # then by restarts; so the slightly newer pod is not always the one to go.
    a = pod("a", ready_for=1010, age=2000)
    b = pod("b", ready_for=1000, age=2000)
    assert names(deletion_order([b, a], NOW)) == ["a", "b"]


def test_plan_creates_missing_and_deletes_surplus_in_order() -> None:
    rs = replicaset(3)
    plan = plan_replicaset(rs, [pod("x")], NOW)
    assert plan.create == 2
    assert plan.delete == ()
    pods = [pod("ready"), pod("slow", ready_for=None), pod("ready2"), pod("ready3")]
    plan = plan_replicaset(rs, pods, NOW)
    assert plan.create == 0
    assert names(list(plan.delete)) == ["slow"]


def test_finished_and_terminating_pods_do_not_count() -> None:
    rs = replicaset(2)
    pods = [
        pod("done", phase="Succeeded"),
        pod("failed", phase="Failed"),
        pod("going", deleting=True),
        pod("ok"),
    ]
    plan = plan_replicaset(rs, pods, NOW)
    assert plan.create == 1
    assert plan.status.replicas == 1


def test_status_counts_ready_and_available_after_min_ready_seconds() -> None:
    rs = replicaset(3, min_ready=30)
    pods = [pod("long", ready_for=60), pod("short", ready_for=10), pod("not", ready_for=None)]
    plan = plan_replicaset(rs, pods, NOW)
    assert plan.status.replicas == 3
    assert plan.status.ready_replicas == 2
    assert plan.status.available_replicas == 1
    assert plan.status.observed_generation == 4
    assert plan.requeue_after_s == 20  # "short" becomes available in 20 s


def test_burst_caps_one_reconcile() -> None:
    plan = plan_replicaset(replicaset(BURST_REPLICAS + 100), [], NOW)
    assert plan.create == BURST_REPLICAS


def test_a_replicaset_being_deleted_makes_no_pods() -> None:
    rs = replicaset(3)
    rs = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, deletion_timestamp=at(0)))
    assert plan_replicaset(rs, [], NOW).create == 0


@given(
    st.integers(0, 20), st.lists(st.sampled_from(["ready", "slow", "pending", "done"]), max_size=25)
)
def test_plan_reaches_replicas_exactly(replicas: int, kinds: list[str]) -> None:
    make = {
        "ready": lambda i: pod(f"p{i}"),
        "slow": lambda i: pod(f"p{i}", ready_for=None),
        "pending": lambda i: pod(f"p{i}", phase="Pending", ready_for=None),
        "done": lambda i: pod(f"p{i}", phase="Succeeded"),
    }
    pods = [make[k](i) for i, k in enumerate(kinds)]
    plan = plan_replicaset(replicaset(replicas), pods, NOW)
    active = [p for p in pods if p.status.phase != "Succeeded"]
    assert len(active) + plan.create - len(plan.delete) == replicas
    assert not (plan.create and plan.delete)
    assert all(p.status.phase != "Succeeded" for p in plan.delete)
    # Nothing ready is deleted while something not ready could go instead.
    if any(p.status.condition("Ready") is not None for p in plan.delete):
        kept = [p for p in active if p not in plan.delete]
        assert all(p.status.condition("Ready") is not None for p in kept)
