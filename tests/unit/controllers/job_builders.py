"""Builders for the Job controller's pure tests: a Job, its pods in any state, and a
step that applies a plan the way the controller does (without a store)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from orbit.api import (
    Container,
    ContainerState,
    ContainerStateTerminated,
    ContainerStatus,
    Job,
    JobSpec,
    ObjectMeta,
    Pod,
    PodCondition,
    PodSpec,
    PodTemplateSpec,
)
from orbit.clock import to_datetime
from orbit.controllers._job_objects import default_selector
from orbit.controllers._job_plan import JobPlan
from orbit.controllers._job_pods import TRACKING_FINALIZER

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_uids = itertools.count(1)


def make_job(
    name: str = "pi",
    *,
    restart_policy: str = "Never",
    conditions: Sequence[Any] = (),
    **spec: Any,
) -> Job:
    """A stored-looking Job (uid, selector and labels defaulted) with ``spec`` fields."""
    template = PodTemplateSpec(
        spec=PodSpec(
            restart_policy=restart_policy,  # type: ignore[arg-type]
            containers=(Container(name="main", image="perl"),),
        )
    )
    job = Job(
        metadata=ObjectMeta(name=name, namespace="default", uid=f"job-{name}", generation=1),
        spec=JobSpec(template=template, **spec),
    )
    defaulted = default_selector(job)
    assert defaulted is not None
    return defaulted


def stored(pod: Pod, at: float = START, *, node: str = "n1") -> Pod:
    """A planned pod as the store and the scheduler leave it: named, with a uid, a
    creation time and a node."""
    uid = f"pod-{next(_uids)}"
    meta = attrs.evolve(
        pod.metadata,
        name=pod.metadata.name or f"{pod.metadata.generate_name}{uid}",
        uid=uid,
        creation_timestamp=to_datetime(at),
    )
    return attrs.evolve(pod, metadata=meta, spec=attrs.evolve(pod.spec, node_name=node))


def running(pod: Pod, *, ready: bool = True, at: float = START) -> Pod:
    conditions = (
        PodCondition(
            type="Ready", status="True" if ready else "False", last_transition_time=to_datetime(at)
        ),
    )
    return attrs.evolve(
        pod, status=attrs.evolve(pod.status, phase="Running", conditions=conditions)
    )


def finished(
    pod: Pod, *, exit_code: int = 0, at: float = START, conditions: Sequence[PodCondition] = ()
) -> Pod:
    """The pod after its container exited with ``exit_code`` at ``at``."""
    when = to_datetime(at)
    state = ContainerState(
        terminated=ContainerStateTerminated(exit_code=exit_code, finished_at=when, started_at=when)
    )
    status = attrs.evolve(
        pod.status,
        phase="Succeeded" if exit_code == 0 else "Failed",
        container_statuses=(ContainerStatus(name="main", state=state),),
        conditions=(
            *conditions,
            PodCondition(type="Ready", status="False", last_transition_time=when),
        ),
    )
    return attrs.evolve(pod, status=status)


def deleted(pod: Pod, at: float = START, grace: int = 30) -> Pod:
    """The pod after a graceful delete request at ``at``."""
    meta = attrs.evolve(
        pod.metadata,
        deletion_timestamp=to_datetime(at + grace),
        deletion_grace_period_seconds=grace,
    )
    return attrs.evolve(pod, metadata=meta)


def released(pod: Pod) -> Pod:
    meta = pod.metadata
    kept = tuple(f for f in meta.finalizers if f != TRACKING_FINALIZER)
    return attrs.evolve(pod, metadata=attrs.evolve(meta, finalizers=kept))


def apply(job: Job, pods: Sequence[Pod], plan: JobPlan, at: float = START) -> tuple[Job, list[Pod]]:
    """The Job and pods after the controller carried ``plan`` out: deleted pods marked
    (finished or unscheduled ones gone unless held), new pods stored, released pods
    without the finalizer, the status written."""
    by_uid = {p.metadata.uid: p for p in pods}
    for pod in plan.delete:
        by_uid[pod.metadata.uid] = deleted(by_uid[pod.metadata.uid], at)
    for pod in plan.release:
        by_uid[pod.metadata.uid] = released(by_uid[pod.metadata.uid])
    for pod in plan.create:
        new = stored(pod, at)
        by_uid[new.metadata.uid] = new
    return attrs.evolve(job, status=plan.status), list(by_uid.values())


def when(seconds: float) -> datetime:
    return to_datetime(START + seconds)
