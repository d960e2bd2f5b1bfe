"""How one step of the Job controller ends: the state a step carries
(:class:`JobSync`, Kubernetes' ``syncJobCtx``), the plan it returns, and the last part of
``syncJob``: counting finished pods, the Complete / Failed / Suspended conditions and
their events (``trackJobStatusAndRemoveFinalizers``, ``enactJobFinished``), plus the
TTL of a finished Job. :mod:`._job_plan` decides the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import attrs

from orbit.api import Job, JobCondition, JobStatus, Pod
from orbit.clock import to_datetime

from ._job_indexes import (
    Intervals,
    completion_index,
    contains,
    format_indexes,
    is_indexed,
    total,
    valid_index,
    with_indexes,
)
from ._job_objects import ensure_condition, finish_time, new_condition
from ._job_pods import (
    BackoffRecord,
    has_tracking_finalizer,
    is_pod_failed,
    match_pod_failure_policy,
)

__all__ = [
    "DEFAULT_CONFIG",
    "NO_BACKOFF",
    "JobConfig",
    "JobEvent",
    "JobPlan",
    "JobSync",
    "complete",
    "plan_finished",
    "suspend_condition",
    "track",
]


@attrs.frozen
class JobConfig:
    """The controller's knobs (Kubernetes' values by default)."""

    backoff_base_s: float = 10.0
    """First pod-failure backoff (``DefaultJobPodFailureBackOff``), doubling per failure."""
    backoff_max_s: float = 360.0
    """The backoff's cap: six minutes, as Kubernetes documents it."""
    burst: int = 500
    """Pods created, deleted or counted per step (``MaxPodCreateDeletePerSync``)."""
    min_requeue_s: float = 1.0
    """A backoff wait is never shorter (``syncJobBatchPeriod``)."""


DEFAULT_CONFIG = JobConfig()
NO_BACKOFF = BackoffRecord()


@attrs.frozen
class JobEvent:
    """An event to record about the Job."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@attrs.frozen
class JobPlan:
    """What one reconcile of a Job does, in order: delete ``delete``, create ``create``,
    release (remove the tracking finalizer of) ``release``, write ``status``, record
    ``events``, keep ``backoff`` for the next step; or, when ``expire``, delete the Job
    and its pods."""

    status: JobStatus
    create: tuple[Pod, ...] = ()
    delete: tuple[Pod, ...] = ()
    release: tuple[Pod, ...] = ()
    events: tuple[JobEvent, ...] = ()
    backoff: BackoffRecord = NO_BACKOFF
    requeue_after_s: float | None = None
    expire: bool = False


@attrs.define
class JobSync:
    """The state of one step (Kubernetes' ``syncJobCtx``): what was observed, what is
    decided so far (pods to create, delete and release, events, requeues)."""

    job: Job
    pods: Sequence[Pod]
    now: float
    config: JobConfig
    active: list[Pod]
    active_count: int
    ready: int
    terminating: int
    succeeded: int
    failed: int
    backoff: BackoffRecord
    start_time: datetime | None
    conditions: list[JobCondition]
    finished: JobCondition | None = None
    prev_succeeded: Intervals = ()
    succeeded_indexes: Intervals = ()
    failed_indexes: Intervals | None = None
    delayed: dict[int, Pod] = attrs.Factory(dict)
    create: list[Pod] = attrs.Factory(list)
    delete: list[Pod] = attrs.Factory(list)
    release: list[Pod] = attrs.Factory(list)
    dropped: set[str] = attrs.Factory(set)
    events: list[JobEvent] = attrs.Factory(list)
    requeue: list[float] = attrs.Factory(list)

    @property
    def indexed(self) -> bool:
        return is_indexed(self.job)

    @property
    def completions(self) -> int:
        return self.job.spec.completions or 0

    def fail(self, reason: str, message: str) -> None:
        self.finished = new_condition("Failed", "True", reason, message, self.now)


def complete(sync: JobSync) -> bool:
    """``completions`` pods succeeded (or, a work queue, one did) and none is active."""
    if sync.job.spec.completions is None:
        return sync.succeeded > 0 and sync.active_count == 0
    return sync.succeeded >= sync.job.spec.completions and sync.active_count == 0


def suspend_condition(sync: JobSync) -> None:
    """Suspended True while suspended; False (``JobResumed``) on resume, which restarts
    the clock of ``activeDeadlineSeconds`` (startTime is reset)."""
    now = sync.now
    if sync.job.spec.suspend:
        wanted = new_condition("Suspended", "True", "JobSuspended", "Job suspended", now)
        if ensure_condition(sync.conditions, wanted):
            sync.events.append(JobEvent("Normal", "Suspended", "Job suspended"))
        return
    wanted = new_condition("Suspended", "False", "JobResumed", "Job resumed", now)
    if ensure_condition(sync.conditions, wanted):
        sync.events.append(JobEvent("Normal", "Resumed", "Job resumed"))
        sync.start_time = to_datetime(now)


def _can_release(sync: JobSync, pod: Pod, failed: bool) -> bool:
    """Whether a pod's finalizer may go now (``canRemoveFinalizer``)."""
    if sync.job.metadata.deletion_timestamp is not None or sync.finished is not None:
        return True
    if pod.status.phase == "Succeeded":
        return True
    if not failed:
        return False
    held = sync.delayed.get(completion_index(pod))
    return held is None or held.metadata.uid != pod.metadata.uid


def _count(sync: JobSync) -> tuple[int, list[int], int, bool]:
    """Release every finished pod still holding the finalizer: (newly succeeded pods,
    newly succeeded indexes, newly failed pods, whether the burst cut counting short)."""
    job = sync.job
    policy = job.spec.pod_failure_policy
    pods = sorted(sync.pods, key=completion_index) if sync.indexed else sync.pods
    new_indexes: list[int] = []
    succeeded = failed = 0
    for pod in pods:
        if not has_tracking_finalizer(pod) or pod.metadata.uid in sync.dropped:
            continue
        failed_now = is_pod_failed(pod, job)
        if not _can_release(sync, pod, failed_now):
            continue
        sync.release.append(pod)
        index = completion_index(pod)
        if pod.status.phase == "Succeeded":
            if not sync.indexed:
                succeeded += 1
            elif valid_index(job, pod) and not contains(sync.prev_succeeded, index):
                new_indexes.append(index)
        elif (failed_now or sync.finished is not None) and valid_index(job, pod):
            failed += 1 if match_pod_failure_policy(policy, pod).count else 0
        if len(new_indexes) + succeeded + failed >= sync.config.burst:
            sync.requeue.append(0.0)
            return succeeded, new_indexes, failed, True
    return succeeded, new_indexes, failed, False


def track(sync: JobSync) -> JobStatus:
    """Count, then set the counters and, if the Job is done, its Complete / Failed
    condition (``trackJobStatusAndRemoveFinalizers``)."""
    status = sync.job.status
    succeeded, new_indexes, failed, capped = _count(sync)
    succeeded_total = status.succeeded + succeeded
    completed, failed_text = status.completed_indexes, status.failed_indexes
    if sync.indexed:
        indexes = with_indexes(sync.succeeded_indexes, new_indexes)
        succeeded_total, completed = total(indexes), format_indexes(indexes)
        if sync.failed_indexes is not None:
            failed_text = format_indexes(sync.failed_indexes)
    finished = sync.finished
    if finished is not None and finished.type == "FailureTarget":
        sync.conditions.append(finished)
        finished = new_condition("Failed", "True", finished.reason, finished.message, sync.now)
    completion_time = status.completion_time
    if finished is not None and not capped:
        _finish(sync, finished, succeeded_total)
        if finished.type == "Complete":
            completion_time = finished.last_transition_time
    return attrs.evolve(
        status,
        conditions=tuple(sync.conditions),
        start_time=sync.start_time,
        completion_time=completion_time,
        active=sync.active_count,
        ready=sync.ready,
        terminating=sync.terminating,
        succeeded=succeeded_total,
        failed=status.failed + failed,
        completed_indexes=completed,
        failed_indexes=failed_text,
    )


def _finish(sync: JobSync, finished: JobCondition, succeeded: int) -> None:
    """Add the terminal condition and its events (``enactJobFinished``)."""
    ensure_condition(sync.conditions, finished)
    spec = sync.job.spec
    if finished.type == "Complete":
        if spec.completions is not None and succeeded > spec.completions:
            message = "Too many succeeded pods running after completion count reached"
            sync.events.append(JobEvent("Warning", "TooManySucceededPods", message))
        sync.events.append(JobEvent("Normal", "Completed", "Job completed"))
    else:
        sync.events.append(JobEvent("Warning", finished.reason, finished.message))
    if spec.ttl_seconds_after_finished is not None:
        sync.requeue.append(float(spec.ttl_seconds_after_finished))


def plan_finished(job: Job, pods: Sequence[Pod], now: float) -> JobPlan:
    """A finished Job: release any pod still held, and expire it after its TTL."""
    release = tuple(p for p in pods if has_tracking_finalizer(p))
    ttl = job.spec.ttl_seconds_after_finished
    finished_at = finish_time(job)
    if ttl is None or finished_at is None or job.metadata.deletion_timestamp is not None:
        return JobPlan(status=job.status, release=release)
    left = finished_at + ttl - now
    if left <= 0:
        return JobPlan(status=job.status, release=release, expire=True)
    return JobPlan(status=job.status, release=release, requeue_after_s=left)
