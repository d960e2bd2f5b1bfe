"""The Job controller against a real store, without a cluster: what a reconcile writes
(selector, pods, status, events), a refused create, finalizers released, and the pods
of a Job that is gone."""

from __future__ import annotations

from typing import Any

import attrs
from job_builders import START

from orbit.api import (
    Container,
    ContainerState,
    ContainerStateTerminated,
    ContainerStatus,
    Event,
    Job,
    JobSpec,
    ObjectMeta,
    Pod,
    PodSpec,
    PodTemplateSpec,
)
from orbit.clock import ManualClock, to_datetime
from orbit.controllers._job import JobController
from orbit.controllers._job_pods import TRACKING_FINALIZER
from orbit.errors import Forbidden
from orbit.store import MemoryStore


class QuotaStore(MemoryStore):
    """A store that refuses pods beyond ``room`` (as a ResourceQuota would)."""

    room = 1

    def create(self, obj: Any) -> Any:
        if isinstance(obj, Pod):
            if self.room <= 0:
                raise Forbidden("pods", "", "exceeded quota: team, requested: pods=1")
            self.room -= 1
        return super().create(obj)


def setup(store_class: type[MemoryStore] = MemoryStore) -> tuple[Any, ManualClock, JobController]:
    clock = ManualClock(START)
    store = store_class(clock=clock, seed=7)
    return store, clock, JobController(store, clock)


def make_job(**spec: Any) -> Job:
    template = PodTemplateSpec(
        spec=PodSpec(restart_policy="Never", containers=(Container(name="main", image="x"),))
    )
    return Job(
        metadata=ObjectMeta(name="etl", namespace="default"),
        spec=JobSpec(template=template, **spec),
    )


def pods(store: MemoryStore) -> list[Pod]:
    return list(store.list(Pod, namespace="default").items)


def events(store: MemoryStore) -> list[tuple[str, str]]:
    listed = store.list(Event, namespace="default").items
    return [(e.reason, e.message) for e in sorted(listed, key=lambda e: e.metadata.name)]


def succeed(store: MemoryStore, pod: Pod) -> Pod:
    when = to_datetime(START + 5)
    state = ContainerState(terminated=ContainerStateTerminated(exit_code=0, finished_at=when))
    status = attrs.evolve(
        pod.status,
        phase="Succeeded",
        container_statuses=(ContainerStatus(name="main", state=state),),
    )
    updated: Pod = store.update_status(attrs.evolve(pod, status=status))
    return updated


def test_a_reconcile_defaults_the_selector_and_creates_pods() -> None:
    store, _, controller = setup()
    store.create(make_job(completions=3, parallelism=2))
    assert controller.reconcile(("default", "etl")) is None
    job = store.get(Job, "etl", "default")
    uid = job.metadata.uid
    assert job.spec.selector is not None
    assert dict(job.spec.selector.match_labels) == {"batch.kubernetes.io/controller-uid": uid}
    created = pods(store)
    assert len(created) == 2
    for pod in created:
        assert pod.metadata.labels["batch.kubernetes.io/job-name"] == "etl"
        assert pod.metadata.labels["controller-uid"] == uid
        assert pod.metadata.finalizers == (TRACKING_FINALIZER,)
    assert job.status.active == 2
    names = sorted(p.metadata.name for p in created)
    assert sorted(events(store)) == [("SuccessfulCreate", f"Created pod: {n}") for n in names]


def test_a_counted_pod_is_released_and_a_deleted_one_goes() -> None:
    store, _, controller = setup()
    store.create(make_job(completions=2, parallelism=1))
    controller.reconcile(("default", "etl"))
    (pod,) = pods(store)
    pod = succeed(store, pod)
    store.delete(Pod, pod.metadata.name, "default")  # held by the finalizer: only marked
    assert store.get(Pod, pod.metadata.name, "default").metadata.deletion_timestamp is not None
    controller.reconcile(("default", "etl"))
    job = store.get(Job, "etl", "default")
    assert job.status.succeeded == 1
    remaining = pods(store)
    assert pod.metadata.name not in {p.metadata.name for p in remaining}  # released: gone
    assert len(remaining) == 1  # the next pod


def test_a_refused_create_is_an_event_and_a_retry() -> None:
    store, _, controller = setup(QuotaStore)
    store.create(make_job(completions=3, parallelism=3))
    assert controller.reconcile(("default", "etl")) == 1.0
    job = store.get(Job, "etl", "default")
    assert job.status.active == 1
    assert (
        "FailedCreate",
        "Error creating: pods is forbidden: exceeded quota: team, requested: pods=1",
    ) in events(store)
    assert controller.reconcile(("default", "etl")) == 2.0  # still no room: doubled
    store.room = 2
    assert controller.reconcile(("default", "etl")) is None
    assert store.get(Job, "etl", "default").status.active == 3


def test_the_pods_of_a_deleted_job_are_released_and_deleted() -> None:
    store, _, controller = setup()
    store.create(make_job(completions=2, parallelism=2))
    controller.reconcile(("default", "etl"))
    assert len(pods(store)) == 2
    store.delete(Job, "etl", "default")
    assert controller.reconcile(("default", "etl")) is None
    assert pods(store) == []  # unscheduled: released, then gone at once
    keep = JobController(store, ManualClock(START), collect_orphans=False)
    store.create(make_job(completions=1))
    keep.reconcile(("default", "etl"))
    store.delete(Job, "etl", "default")
    keep.reconcile(("default", "etl"))
    (left,) = pods(store)
    assert left.metadata.finalizers == ()  # released, but deleting it is the collector's job
