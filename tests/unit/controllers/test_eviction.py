"""The Eviction API's rules over a store: budgets spent and refused, pods that need no
budget, unhealthy pods, and what an evicted pod looks like."""

from __future__ import annotations

import attrs
import pytest
from disruption_builders import START, make_pdb, make_pod, make_store

from orbit.api import LabelSelector, Pod, PodDisruptionBudget, PodDisruptionBudgetStatus
from orbit.clock import to_datetime
from orbit.controllers._eviction import EVICTION_REFUSED, evict, spend_budget
from orbit.errors import Forbidden, NotFound, OrbitError, TooManyRequests
from orbit.store import MemoryStore


def with_status(store: MemoryStore, name: str = "web", **status: object) -> PodDisruptionBudget:
    pdb = store.get(PodDisruptionBudget, name, "default")
    fields = {"observed_generation": pdb.metadata.generation, **status}
    updated: PodDisruptionBudget = store.update_status(
        attrs.evolve(pdb, status=PodDisruptionBudgetStatus(**fields))  # type: ignore[arg-type]
    )
    return updated


def test_a_budget_with_room_is_spent_and_the_pod_deleted_gracefully() -> None:
    store, clock = make_store()
    store.create(make_pod("web-0", grace=20))
    store.create(make_pdb(min_available=2))
    with_status(store, disruptions_allowed=1, current_healthy=3, desired_healthy=2)
    clock.advance(5)
    evicted = evict(store, clock, store.get(Pod, "web-0", "default"))
    assert evicted.metadata.deletion_timestamp == to_datetime(START + 5 + 20)
    target = evicted.status.condition("DisruptionTarget")
    assert target is not None
    assert (target.status, target.reason, target.message) == (
        "True",
        "EvictionByEvictionAPI",
        "Eviction API: evicting",
    )
    status = store.get(PodDisruptionBudget, "web", "default").status
    assert status.disruptions_allowed == 0
    assert status.disrupted_pods == {"web-0": to_datetime(START + 5)}
    (allowed,) = status.conditions
    assert (allowed.status, allowed.reason) == ("False", "InsufficientPods")


def test_an_exhausted_budget_refuses_with_kubernetes_message() -> None:
    store, clock = make_store()
    pod = store.create(make_pod("web-0"))
    store.create(make_pdb(min_available=3))
    with_status(store, disruptions_allowed=0, current_healthy=3, desired_healthy=3)
    with pytest.raises(TooManyRequests) as refused:
        evict(store, clock, pod)
    assert str(refused.value) == "Cannot evict pod as it would violate the pod's disruption budget."
    assert str(refused.value) == EVICTION_REFUSED
    assert refused.value.causes == (
        "The disruption budget web needs 3 healthy pods and has 3 currently",
    )
    assert store.get(Pod, "web-0", "default").metadata.deletion_timestamp is None


def test_a_budget_not_yet_observed_asks_to_retry_later() -> None:
    store, clock = make_store()
    pod = store.create(make_pod("web-0"))
    store.create(make_pdb(min_available=1))
    with pytest.raises(TooManyRequests) as refused:  # status.observedGeneration 0 < 1
        evict(store, clock, pod)
    assert refused.value.retry_after_s == 10
    assert refused.value.causes == (
        "The disruption budget web is still being processed by the server.",
    )


def test_a_negative_budget_is_forbidden() -> None:
    pdb = make_pdb(min_available=1)
    pdb = attrs.evolve(
        pdb,
        metadata=attrs.evolve(pdb.metadata, generation=1),
        status=PodDisruptionBudgetStatus(observed_generation=1, disruptions_allowed=-1),
    )
    with pytest.raises(Forbidden, match="pdb disruptions allowed is negative"):
        spend_budget(pdb, "web-0", START)


def test_pods_that_disrupt_nothing_need_no_budget() -> None:
    store, clock = make_store()
    store.create(make_pod("done", phase="Succeeded"))
    store.create(make_pod("waiting", phase="Pending", node=""))
    store.create(make_pdb(min_available=5))
    with_status(store, disruptions_allowed=0)
    evict(store, clock, store.get(Pod, "done", "default"))
    evict(store, clock, store.get(Pod, "waiting", "default"))
    with pytest.raises(NotFound):
        store.get(Pod, "done", "default")
    with pytest.raises(NotFound):
        store.get(Pod, "waiting", "default")
    assert store.get(PodDisruptionBudget, "web", "default").status.disrupted_pods == {}


def test_a_pod_without_a_budget_just_goes() -> None:
    store, clock = make_store()
    pod = store.create(make_pod("solo", labels={"app": "solo"}))
    store.create(make_pdb(min_available=5))
    assert evict(store, clock, pod).metadata.deletion_timestamp is not None


def test_an_unready_pod_goes_without_spending_while_the_application_is_healthy() -> None:
    store, clock = make_store()
    pod = store.create(make_pod("sick", ready=False))
    store.create(make_pdb(min_available=2))
    with_status(store, disruptions_allowed=0, current_healthy=2, desired_healthy=2)
    evict(store, clock, pod)
    assert store.get(Pod, "sick", "default").metadata.deletion_timestamp is not None
    assert store.get(PodDisruptionBudget, "web", "default").status.disrupted_pods == {}


def test_an_unready_pod_of_a_disrupted_application_needs_the_budget_unless_always_allowed() -> None:
    store, clock = make_store()
    pod = store.create(make_pod("sick", ready=False))
    store.create(make_pdb(min_available=2))
    with_status(store, disruptions_allowed=0, current_healthy=1, desired_healthy=2)
    with pytest.raises(TooManyRequests):
        evict(store, clock, pod)
    store.delete(PodDisruptionBudget, "web", "default")
    store.create(make_pdb(min_available=2, policy="AlwaysAllow"))
    with_status(store, disruptions_allowed=0, current_healthy=1, desired_healthy=2)
    evict(store, clock, pod)
    assert store.get(Pod, "sick", "default").metadata.deletion_timestamp is not None


def test_two_budgets_are_not_supported() -> None:
    store, clock = make_store()
    pod = store.create(make_pod("web-0"))
    store.create(make_pdb("a", min_available=1))
    store.create(make_pdb("b", min_available=1, selector=LabelSelector()))
    store.create(make_pdb("absent", min_available=1, selector=None))  # selects nothing
    with pytest.raises(OrbitError, match="more than one PodDisruptionBudget"):
        evict(store, clock, pod)


def test_a_grace_period_can_be_given_and_a_gone_pod_is_not_found() -> None:
    store, clock = make_store()
    pod = store.create(make_pod("web-0", grace=30))
    evicted = evict(store, clock, pod, grace_s=3)
    assert evicted.metadata.deletion_grace_period_seconds == 3
    store.delete(Pod, "web-0", "default")
    with pytest.raises(NotFound):
        evict(store, clock, pod)
