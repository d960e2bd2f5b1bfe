"""PodDisruptionBudget status as Kubernetes' disruption controller computes it:
expected and desired counts (numbers, percentages rounded up, controllers' scale),
healthy pods, disrupted pods that expire, the DisruptionAllowed condition."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from disruption_builders import (
    START,
    make_deployment,
    make_pdb,
    make_pod,
    make_replicaset,
    make_store,
    owner,
)
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import (
    ConfigMap,
    Event,
    Job,
    LabelSelector,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodDisruptionBudget,
    PodDisruptionBudgetStatus,
)
from orbit.clock import to_datetime
from orbit.controllers._disruption import (
    DisruptionController,
    ScaleLookup,
    count_healthy,
    expected_and_desired,
    prune_disrupted,
)
from orbit.store import MemoryStore

NOW = START + 1000


def no_scale(ref: OwnerReference, namespace: str) -> tuple[str, int] | None:
    raise AssertionError("the scale is not needed")


def scales(**replicas: int) -> ScaleLookup:
    def lookup(ref: OwnerReference, namespace: str) -> tuple[str, int] | None:
        return (ref.uid, replicas[ref.uid]) if ref.uid in replicas else None

    return lookup


def pods_of(uid: str, count: int, *, ready: int | None = None) -> list[Pod]:
    ref = owner(ConfigMap(metadata=ObjectMeta(name=uid, uid=uid)))
    ready = count if ready is None else ready
    return [make_pod(f"{uid}-{i}", owners=[ref], ready=i < ready) for i in range(count)]


def test_an_integer_min_available_counts_the_selected_pods() -> None:
    pdb = make_pdb(min_available=2)
    pods = [make_pod(f"p{i}") for i in range(3)]
    assert expected_and_desired(pdb.spec, pods, no_scale) == (3, 2, [])


@pytest.mark.parametrize(
    ("spec", "scale", "expected"),
    [
        ({"min_available": "50%"}, 5, (5, 3)),  # 2.5 rounds up
        ({"min_available": "34%"}, 3, (3, 2)),  # 1.02 rounds up
        ({"min_available": "100%"}, 4, (4, 4)),
        ({"max_unavailable": "25%"}, 10, (10, 7)),  # unavailable 2.5 -> 3
        ({"max_unavailable": "1%"}, 3, (3, 2)),  # 0.03 -> 1
        ({"max_unavailable": 1}, 3, (3, 2)),
        ({"max_unavailable": 5}, 3, (3, 0)),  # never below zero
        ({"max_unavailable": "0%"}, 3, (3, 3)),
    ],
)
def test_percentages_round_up_against_the_controllers_scale(
    spec: dict[str, object], scale: int, expected: tuple[int, int]
) -> None:
    pdb = make_pdb(**spec)  # type: ignore[arg-type]
    pods = pods_of("rs", 2)  # fewer pods than the scale: the scale counts
    got = expected_and_desired(pdb.spec, pods, scales(rs=scale))
    assert got == (*expected, [])


@given(st.integers(0, 100), st.integers(0, 500))
def test_a_percentage_is_the_ceiling_of_its_share(percent: int, scale: int) -> None:
    pdb = make_pdb(min_available=f"{percent}%")
    pods = pods_of("rs", 1)
    _, desired, _ = expected_and_desired(pdb.spec, pods, scales(rs=scale))
    assert desired * 100 >= percent * scale > (desired - 1) * 100


def test_each_controller_counts_once_and_unmanaged_pods_are_left_out() -> None:
    pdb = make_pdb(max_unavailable=1)
    pods = [*pods_of("a", 3), *pods_of("b", 1), make_pod("loose")]
    got = expected_and_desired(pdb.spec, pods, scales(a=4, b=2))
    assert got == (6, 5, ["loose"])


def test_a_pod_whose_controller_is_gone_fails_the_computation() -> None:
    pdb = make_pdb(min_available="50%")
    with pytest.raises(ValueError, match='found no controllers for pod "rs-0"'):
        expected_and_desired(pdb.spec, pods_of("rs", 1), scales())


def test_neither_bound_expects_nothing() -> None:
    assert expected_and_desired(make_pdb().spec, pods_of("rs", 2), no_scale) == (0, 0, [])


def test_healthy_pods_exclude_deleting_and_recently_disrupted_ones() -> None:
    pods = pods_of("rs", 4, ready=3)  # rs-3 is not ready
    meta = attrs.evolve(pods[0].metadata, deletion_timestamp=to_datetime(NOW))
    pods[0] = attrs.evolve(pods[0], metadata=meta)
    disrupted = {"rs-1": to_datetime(NOW - 30), "rs-2": to_datetime(NOW - 130)}
    assert count_healthy(pods, disrupted, NOW) == 1  # rs-2: its entry has expired
    kept, recheck, expired = prune_disrupted(pods, disrupted, NOW)
    assert kept == {"rs-1": to_datetime(NOW - 30)}
    assert recheck == NOW + 90
    assert [p.metadata.name for p in expired] == ["rs-2"]


# -- the controller --------------------------------------------------------------------


def budget(store: MemoryStore, name: str = "web") -> PodDisruptionBudget:
    return store.get(PodDisruptionBudget, name, "default")


def test_status_from_a_deployments_scale_with_its_condition() -> None:
    store, clock = make_store()
    deployment = store.create(make_deployment(replicas=4))
    rs = store.create(make_replicaset(replicas=4, owned_by=deployment))
    for i in range(4):
        store.create(make_pod(f"web-{i}", owners=[owner(rs)], ready=i != 3))
    store.create(make_pdb(min_available="50%"))
    controller = DisruptionController(store, clock)
    assert controller.reconcile(("default", "web")) is None
    status = budget(store).status
    assert (status.expected_pods, status.desired_healthy, status.current_healthy) == (4, 2, 3)
    assert status.disruptions_allowed == 1
    assert status.observed_generation == 1
    (allowed,) = status.conditions
    assert (allowed.type, allowed.status, allowed.reason) == (
        "DisruptionAllowed",
        "True",
        "SufficientPods",
    )
    assert allowed.last_transition_time == to_datetime(START)
    clock.advance(10)
    store.delete(Pod, "web-0", "default", grace_period_s=30)
    controller.reconcile(("default", "web"))
    status = budget(store).status
    assert (status.current_healthy, status.disruptions_allowed) == (2, 0)
    (allowed,) = status.conditions
    assert (allowed.status, allowed.reason) == ("False", "InsufficientPods")
    assert allowed.last_transition_time == to_datetime(START + 10)


def test_a_replicaset_alone_gives_its_own_scale() -> None:
    store, clock = make_store()
    rs = store.create(make_replicaset(replicas=5))
    for i in range(2):
        store.create(make_pod(f"web-{i}", owners=[owner(rs)]))
    store.create(make_pdb(max_unavailable="40%"))
    DisruptionController(store, clock).reconcile(("default", "web"))
    status = budget(store).status
    assert (status.expected_pods, status.desired_healthy, status.disruptions_allowed) == (5, 3, 0)


def test_job_pods_fail_the_sync_safely() -> None:
    store, clock = make_store()
    job = store.create(Job(metadata=ObjectMeta(name="etl", namespace="default")))
    store.create(make_pod("etl-0", owners=[owner(job)]))
    store.create(make_pdb(min_available="50%"))
    DisruptionController(store, clock).reconcile(("default", "web"))
    status = budget(store).status
    assert status.disruptions_allowed == 0
    (allowed,) = status.conditions
    assert (allowed.status, allowed.reason, allowed.message) == (
        "False",
        "SyncFailed",
        "jobs.batch does not implement the scale subresource",
    )
    reasons = [(e.reason, e.message) for e in store.list(Event).items]
    assert (
        "CalculateExpectedPodCountFailed",
        "Failed to calculate the number of expected pods: "
        "jobs.batch does not implement the scale subresource",
    ) in reasons


def test_disrupted_pods_are_pruned_after_two_minutes() -> None:
    store, clock = make_store()
    for i in range(3):
        store.create(make_pod(f"web-{i}"))
    pdb = store.create(make_pdb(min_available=1))
    admitted = to_datetime(START)
    status = PodDisruptionBudgetStatus(disrupted_pods={"web-0": admitted})
    store.update_status(attrs.evolve(pdb, status=status))
    controller = DisruptionController(store, clock)
    assert controller.reconcile(("default", "web")) == 120
    status = budget(store).status
    assert (status.current_healthy, status.disruptions_allowed) == (2, 1)
    assert status.disrupted_pods == {"web-0": admitted}
    clock.advance(121)
    assert controller.reconcile(("default", "web")) is None
    status = budget(store).status
    assert (status.current_healthy, status.disrupted_pods) == (3, {})
    warnings = [(e.involved_object.name, e.reason) for e in store.list(Event).items]
    assert ("web-0", "NotDeleted") in warnings


def test_pod_events_reach_every_budget_that_selects_them() -> None:
    store, clock = make_store()
    store.create(make_pdb("all", min_available=1, selector=LabelSelector()))
    store.create(make_pdb("web", min_available=1))
    store.create(make_pdb("none", min_available=1, selector=None))
    store.create(
        make_pdb("other", min_available=1, selector=LabelSelector(match_labels={"a": "b"}))
    )
    pod = store.create(make_pod("web-0"))
    keys = DisruptionController(store, clock)._pod_keys("ADDED", pod)
    assert sorted(keys) == [("default", "all"), ("default", "web")]


def test_a_budget_with_no_pods_allows_nothing() -> None:
    store, clock = make_store()
    store.create(make_pdb(max_unavailable=1))
    DisruptionController(store, clock).reconcile(("default", "web"))
    status = budget(store).status
    assert (status.expected_pods, status.disruptions_allowed) == (0, 0)
    assert [e.reason for e in store.list(Event).items] == ["NoPods"]


def test_the_status_is_not_rewritten_when_nothing_changed() -> None:
    store, clock = make_store()
    store.create(make_pod("web-0"))
    store.create(make_pdb(min_available=0))
    controller = DisruptionController(store, clock)
    controller.reconcile(("default", "web"))
    version = budget(store).metadata.resource_version
    clock.advance(timedelta(minutes=5).total_seconds())
    controller.reconcile(("default", "web"))
    assert budget(store).metadata.resource_version == version
