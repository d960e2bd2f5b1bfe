"""The Job controller's reconcile step as a pure function: Kubernetes' ``syncJob``
(``pkg/controller/job``, v1.30 with its default feature gates: pod failure policy,
backoffLimitPerIndex, PodIndexLabel and terminating-pod tracking on; success policy off).

One step, given the Job, every pod it controls and the time:

1. **Observe**: active pods (not finished, not being deleted), ready and terminating
   ones, and the finished pods not yet counted (those still holding the
   ``batch.kubernetes.io/job-tracking`` finalizer).
2. **Decide whether it failed**: a pod failure policy ``FailJob`` rule
   (``FailureTarget``, then ``Failed`` / ``PodFailurePolicy``); more counted failures than
   ``backoffLimit`` (or, with ``restartPolicy: OnFailure``, as many container restarts)
   -> ``BackoffLimitExceeded``; active for ``activeDeadlineSeconds`` ->
   ``DeadlineExceeded``; per-index limits -> ``FailedIndexes`` /
   ``MaxFailedIndexesExceeded``. A failed Job's active pods are deleted and count as
   failed.
3. **Manage pods** otherwise: suspended -> delete the active ones; too many -> delete
   in ``controller.ActivePods`` order (duplicate or out-of-range indexes first); too few
   -> create, unless the pod-failure backoff says wait (:mod:`._job_pods`). Indexed Jobs
   create the lowest pending indexes. Done when ``completions`` pods succeeded (or,
   with ``completions`` unset, one did and none is active) -> ``Complete``.
4. **Count**: every finished pod still holding the finalizer is counted in status and
   released (its finalizer goes), so it counts exactly once even if deleted later.

Step 4, the conditions and the TTL after finishing (Kubernetes' separate
ttlafterfinished controller: :attr:`JobPlan.expire` once ``ttlSecondsAfterFinished`` has
passed since the Complete / Failed transition) are in :mod:`._job_status`.
"""

from __future__ import annotations

from collections.abc import Sequence

from orbit.api import Job, Pod
from orbit.clock import to_datetime

from ._job_indexes import (
    completion_index,
    delayed_deletions,
    duplicated_for_removal,
    failed_indexes,
    first_pending_indexes,
    index_backoff,
    merge,
    parse_indexes,
    total,
    valid_index,
    with_indexes,
)
from ._job_objects import find_condition, is_finished, new_condition, new_pod
from ._job_pods import (
    BackoffRecord,
    active_order,
    backoff_remaining,
    has_tracking_finalizer,
    is_pod_failed,
    is_terminating,
    match_pod_failure_policy,
    next_backoff,
    only_replace_failed_pods,
)
from ._job_status import (
    DEFAULT_CONFIG,
    NO_BACKOFF,
    JobConfig,
    JobEvent,
    JobPlan,
    JobSync,
    complete,
    plan_finished,
    suspend_condition,
    track,
)
from ._pods import is_active, is_ready

__all__ = [
    "BACKOFF_MESSAGE",
    "DEADLINE_MESSAGE",
    "NO_BACKOFF",
    "JobConfig",
    "JobEvent",
    "JobPlan",
    "plan_job",
]

BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"


def plan_job(
    job: Job,
    pods: Sequence[Pod],
    now: float,
    *,
    config: JobConfig = DEFAULT_CONFIG,
    backoff: BackoffRecord = NO_BACKOFF,
) -> JobPlan:
    """Decide one reconcile of ``job`` over every pod it controls (finished and
    terminating ones included) at ``now`` (epoch seconds); ``backoff`` is the record the
    previous step returned (module docstring)."""
    if is_finished(job):
        return plan_finished(job, pods, now)
    sync = _observe(job, pods, now, config, backoff)
    _check_failure(sync)
    if sync.indexed:
        _check_indexes(sync)
    if sync.finished is not None:
        _delete(sync, sync.active, release=False)
    else:
        manage = job.metadata.deletion_timestamp is None
        if manage:
            _manage(sync)
        if complete(sync):
            sync.finished = new_condition("Complete", "True", "", "", now)
        elif manage:
            suspend_condition(sync)
    status = track(sync)
    return JobPlan(
        status=status,
        create=tuple(sync.create),
        delete=tuple(sync.delete),
        release=tuple(sync.release),
        events=tuple(sync.events),
        backoff=sync.backoff,
        requeue_after_s=min(sync.requeue) if sync.requeue else None,
    )


# --- observe and decide ------------------------------------------------------------------


def _observe(
    job: Job, pods: Sequence[Pod], now: float, config: JobConfig, backoff: BackoffRecord
) -> JobSync:
    uncounted = [p for p in pods if has_tracking_finalizer(p) and valid_index(job, p)]
    succeeded = [p for p in uncounted if p.status.phase == "Succeeded"]
    failed = [p for p in uncounted if is_pod_failed(p, job)]
    policy = job.spec.pod_failure_policy
    counted = [p for p in failed if match_pod_failure_policy(policy, p).count]
    active = [p for p in pods if is_active(p)]
    start = job.status.start_time
    if start is None and not job.spec.suspend:
        start = to_datetime(now)
    return JobSync(
        job=job,
        pods=pods,
        now=now,
        config=config,
        active=active,
        active_count=len(active),
        ready=sum(1 for p in active if is_ready(p)),
        terminating=sum(1 for p in pods if is_terminating(p)),
        succeeded=job.status.succeeded + len(succeeded),
        failed=job.status.failed + len(counted),
        backoff=next_backoff(backoff, succeeded, failed),
        start_time=start,
        conditions=list(job.status.conditions),
    )


def _check_failure(sync: JobSync) -> None:
    """A pod failure policy's FailJob, the backoff limit or the active deadline."""
    job, spec, now = sync.job, sync.job.spec, sync.now
    target = find_condition(sync.conditions, "FailureTarget")
    if target is not None and target.status == "True":
        sync.fail(target.reason, target.message)
    else:
        message = _fail_job_message(job, sync.pods)
        if message is not None:
            reason = "PodFailurePolicy"
            sync.finished = new_condition("FailureTarget", "True", reason, message, now)
    if sync.finished is not None:
        return
    deadline = spec.active_deadline_seconds
    if sync.failed > spec.backoff_limit or _past_backoff_limit_on_failure(job, sync.pods):
        sync.fail("BackoffLimitExceeded", BACKOFF_MESSAGE)
    elif deadline is not None and sync.start_time is not None and not spec.suspend:
        left = sync.start_time.timestamp() + deadline - now
        if left <= 0:
            sync.fail("DeadlineExceeded", DEADLINE_MESSAGE)
        else:
            sync.requeue.append(left)


def _fail_job_message(job: Job, pods: Sequence[Pod]) -> str | None:
    """The message of the first failed pod matching a ``FailJob`` rule."""
    if job.spec.pod_failure_policy is None:
        return None
    for pod in pods:
        if is_pod_failed(pod, job):
            message = match_pod_failure_policy(job.spec.pod_failure_policy, pod).message
            if message is not None:
                return message
    return None


def _past_backoff_limit_on_failure(job: Job, pods: Sequence[Pod]) -> bool:
    """With ``restartPolicy: OnFailure`` failures are container restarts: their sum over
    running and pending pods reaching ``backoffLimit`` fails the Job."""
    if job.spec.template.spec.restart_policy != "OnFailure":
        return False
    restarts = sum(
        c.restart_count
        for p in pods
        if p.status.phase in ("Running", "Pending")
        for c in (*p.status.init_container_statuses, *p.status.container_statuses)
    )
    limit = job.spec.backoff_limit
    return restarts > 0 if limit == 0 else restarts >= limit


def _check_indexes(sync: JobSync) -> None:
    """Succeeded and (with backoffLimitPerIndex) failed indexes, and the per-index
    limits (``MaxFailedIndexesExceeded``, ``FailedIndexes``)."""
    job, completions = sync.job, sync.completions
    sync.prev_succeeded = parse_indexes(job.status.completed_indexes, completions)
    new = {
        completion_index(p)
        for p in sync.pods
        if p.status.phase == "Succeeded" and has_tracking_finalizer(p) and valid_index(job, p)
    }
    sync.succeeded_indexes = with_indexes(sync.prev_succeeded, sorted(new))
    sync.succeeded = total(sync.succeeded_indexes)
    if job.spec.backoff_limit_per_index is None:
        return
    sync.failed_indexes = failed_indexes(job, sync.pods)
    failed = total(sync.failed_indexes)
    most = job.spec.max_failed_indexes
    if sync.finished is None:
        if most is not None and failed > most:
            message = "Job has exceeded the specified maximal number of failed indexes"
            sync.fail("MaxFailedIndexesExceeded", message)
        elif failed > 0 and failed + sync.succeeded >= completions:
            sync.fail("FailedIndexes", "Job has failed indexes")
    sync.delayed = delayed_deletions(
        job, sync.pods, sync.active, sync.succeeded_indexes, sync.failed_indexes
    )


# --- manage pods ---------------------------------------------------------------------------


def _manage(sync: JobSync) -> None:
    """Delete surplus (or, suspended, every) active pod, or create missing ones
    (``manageJob``); deletions and creations never happen in the same step."""
    spec, config = sync.job.spec, sync.config
    active = len(sync.active)
    if spec.suspend:
        _delete(sync, _for_removal(sync, active), release=True)
        return
    want = _wanted(sync)
    surplus = _for_removal(sync, max(active - want, 0))[: config.burst]
    if surplus:
        _delete(sync, surplus, release=True)
        return
    waiting = sync.terminating if only_replace_failed_pods(sync.job) else 0
    missing = min(want - waiting - active, config.burst)
    if missing <= 0:
        return
    if spec.backoff_limit_per_index is None:
        record = sync.backoff
        left = backoff_remaining(
            record.failures_after_last_success,
            record.last_failure_time,
            sync.now,
            config.backoff_base_s,
            config.backoff_max_s,
        )
        if left > 0:
            sync.requeue.append(max(left, config.min_requeue_s))
            return
    if sync.indexed:
        _create_indexes(sync, missing)
    else:
        sync.create.extend(new_pod(sync.job, None) for _ in range(missing))
        sync.active_count += missing


def _create_indexes(sync: JobSync, count: int) -> None:
    """Pods for the lowest pending indexes; with backoffLimitPerIndex only for those
    whose own backoff has passed (``getPodCreationInfoForIndependentIndexes``)."""
    config = sync.config
    indexes = _pending_indexes(sync, count)
    if sync.job.spec.backoff_limit_per_index is not None:
        waits = {
            ix: index_backoff(
                sync.delayed.get(ix), sync.now, config.backoff_base_s, config.backoff_max_s
            )
            for ix in indexes
        }
        ready = [ix for ix in indexes if waits[ix] == 0]
        if not ready and waits:
            sync.requeue.append(max(min(waits.values()), config.min_requeue_s))
        indexes = ready
    sync.create.extend(new_pod(sync.job, ix, sync.delayed.get(ix)) for ix in indexes)
    sync.active_count += len(indexes)


def _wanted(sync: JobSync) -> int:
    """Pods that should be active: ``parallelism``, but never more than the completions
    still missing; a work queue (no ``completions``) stops adding once one succeeded."""
    spec = sync.job.spec
    parallelism = spec.parallelism if spec.parallelism is not None else 1
    if spec.completions is None:
        return len(sync.active) if sync.succeeded > 0 else parallelism
    return max(0, min(spec.completions - sync.succeeded, parallelism))


def _for_removal(sync: JobSync, at_least: int) -> list[Pod]:
    """Active pods to delete (``activePodsForRemoval``): for Indexed Jobs those with a
    duplicate, missing or out-of-range index, then ``at_least`` in deletion order."""
    if sync.indexed:
        remove, left = duplicated_for_removal(sync.active, sync.completions, active_order)
    else:
        remove, left = [], list(sync.active)
    if len(remove) < at_least:
        remove += sorted(left, key=active_order)[: at_least - len(remove)]
    return remove


def _delete(sync: JobSync, pods: Sequence[Pod], *, release: bool) -> None:
    """Delete ``pods``; ``release`` drops their finalizer uncounted (suspend, scale
    down), otherwise they are counted as failed (the Job failed)."""
    sync.delete.extend(pods)
    if release:
        sync.release.extend(pods)
        sync.dropped.update(p.metadata.uid for p in pods)
    sync.active_count -= len(pods)
    sync.terminating += len(pods)
    sync.ready -= sum(1 for p in pods if is_ready(p))


def _pending_indexes(sync: JobSync, count: int) -> list[int]:
    """Indexes neither succeeded, active, failed nor (when only failed pods are
    replaced) held by a terminating pod (``firstPendingIndexes``)."""
    active = sorted({completion_index(p) for p in sync.active} - {-1})
    busy = with_indexes(sync.succeeded_indexes, active)
    if only_replace_failed_pods(sync.job):
        going = {completion_index(p) for p in sync.pods if is_terminating(p)} - {-1}
        busy = with_indexes(busy, sorted(going))
    if sync.failed_indexes is not None:
        busy = merge(busy, sync.failed_indexes)
    return first_pending_indexes(busy, count, sync.completions)
