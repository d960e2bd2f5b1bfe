"""What the Job controller reads off its pods, as Kubernetes' job controller (v1.30)
reads it: whether a pod counts as failed, what a pod failure policy says about it, when
it finished, which active pod to delete first, and the pod-failure backoff.

**Backoff** (``backoff_utils.go``): the controller remembers, per Job, how many pods
failed since the last success and when the last of them finished. Replacement pods
wait ``base * 2**(failures - 1)`` seconds (capped) after that last failure; a success
resets the count. Only newly counted pods feed the record, so each failure counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import attrs

from orbit.api import (
    Job,
    Pod,
    PodFailurePolicy,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyRule,
)

from ._pods import FINISHED_PHASES, is_ready

__all__ = [
    "TRACKING_FINALIZER",
    "BackoffRecord",
    "PolicyMatch",
    "active_order",
    "backoff_remaining",
    "finished_time",
    "has_tracking_finalizer",
    "is_pod_failed",
    "is_terminating",
    "match_pod_failure_policy",
    "next_backoff",
    "only_replace_failed_pods",
]

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
"""Held by every pod of a Job until the Job has counted it, so a finished pod counts
once even if it is deleted before the controller looks."""

PolicyAction = Literal["FailJob", "FailIndex", "Ignore", "Count"]
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def has_tracking_finalizer(pod: Pod) -> bool:
    """Whether the Job has yet to count this pod."""
    return TRACKING_FINALIZER in pod.metadata.finalizers


def only_replace_failed_pods(job: Job) -> bool:
    """podReplacementPolicy ``Failed``: Kubernetes' default when a pod failure policy is
    set (a terminating pod is replaced only once it has failed); orbit ignores the field
    otherwise and replaces terminating pods at once (``TerminatingOrFailed``)."""
    return job.spec.pod_failure_policy is not None


def is_terminating(pod: Pod) -> bool:
    """Being deleted and not finished (``controller.IsPodTerminating``)."""
    return pod.metadata.deletion_timestamp is not None and pod.status.phase not in FINISHED_PHASES


def is_pod_failed(pod: Pod, job: Job) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it succeeded
    (``isPodFailed``). A deleted pod that no node runs counts as failed in any case:
    Kubernetes' PodGC marks such pods Failed; orbit has no PodGC."""
    if pod.status.phase == "Failed":
        return True
    deleted = pod.metadata.deletion_timestamp is not None and pod.status.phase != "Succeeded"
    if only_replace_failed_pods(job):
        return deleted and not pod.spec.node_name
    return deleted


# --- pod failure policy ------------------------------------------------------------------


@attrs.frozen
class PolicyMatch:
    """What a pod failure policy says about a failed pod (``matchPodFailurePolicy``)."""

    count: bool = True
    """Whether the failure counts towards the backoff limit (not for ``Ignore``)."""
    action: PolicyAction | None = None
    """The action of the rule that matched, if any."""
    message: str | None = None
    """The Job's failure message when a ``FailJob`` rule matched."""


def match_pod_failure_policy(policy: PodFailurePolicy | None, pod: Pod) -> PolicyMatch:
    """The first rule matching the failed ``pod``: exit codes of terminated containers
    (app containers, then init containers; exit code 0 never matches) or pod
    conditions (type and status)."""
    if policy is None:
        return PolicyMatch()
    where = f"{pod.metadata.namespace}/{pod.metadata.name}"
    for index, rule in enumerate(policy.rules):
        action = rule.action
        if rule.on_exit_codes is not None:
            hit = _matching_exit(pod, rule.on_exit_codes)
            if hit is None:
                continue
            name, code = hit
            message = (
                f"Container {name} for pod {where} failed with exit code {code} "
                f"matching {action} rule at index {index}"
            )
        elif rule.on_pod_conditions:
            condition = _matching_condition(pod, rule)
            if condition is None:
                continue
            message = (
                f"Pod {where} has condition {condition} matching {action} rule at index {index}"
            )
        else:
            continue
        if action == "Ignore":
            return PolicyMatch(count=False, action="Ignore")
        if action == "FailJob":
            return PolicyMatch(action="FailJob", message=message)
        return PolicyMatch(action=action)
    return PolicyMatch()


def _matching_exit(
    pod: Pod, requirement: PodFailurePolicyOnExitCodesRequirement
) -> tuple[str, int] | None:
    status = pod.status
    for container in (*status.container_statuses, *status.init_container_statuses):
        terminated = container.state.terminated
        if terminated is None or terminated.exit_code == 0:
            continue
        if requirement.container_name not in (None, container.name):
            continue
        listed = terminated.exit_code in requirement.values
        if listed == (requirement.operator == "In"):
            return container.name, terminated.exit_code
    return None


def _matching_condition(pod: Pod, rule: PodFailurePolicyRule) -> str | None:
    for condition in pod.status.conditions:
        for pattern in rule.on_pod_conditions:
            if condition.type == pattern.type and condition.status == pattern.status:
                return condition.type
    return None


# --- times and order -----------------------------------------------------------------------


def finished_time(pod: Pod) -> float:
    """When the pod finished (``getFinishedTime``): the last container's finish when
    every container has terminated, else when Ready turned False, else its deletion
    (deletion timestamp minus grace), else its creation."""
    finishes: list[float] = []
    for container in pod.status.container_statuses:
        terminated = container.state.terminated
        if terminated is None or terminated.finished_at is None:
            finishes = []
            break
        finishes.append(terminated.finished_at.timestamp())
    if finishes:
        return max(finishes)
    ready = pod.status.condition("Ready")
    if ready is not None and ready.status == "False" and ready.last_transition_time is not None:
        return ready.last_transition_time.timestamp()
    meta = pod.metadata
    if meta.deletion_timestamp is not None:
        return meta.deletion_timestamp.timestamp() - (meta.deletion_grace_period_seconds or 0)
    return _stamp(meta.creation_timestamp)


def _stamp(when: datetime | None) -> float:
    return when.timestamp() if when is not None else 0.0


def active_order(pod: Pod) -> tuple[int, int, int, int, float, int, int, float]:
    """Sort key putting the active pod to delete first first (``controller.ActivePods``):
    unscheduled, then Pending < Unknown < Running, not ready, ready for less time, more
    restarts, newer."""
    ready = is_ready(pod)
    ready_at = 0.0
    has_ready_time = 0
    if ready:
        condition = pod.status.condition("Ready")
        if condition is not None and condition.last_transition_time is not None:
            has_ready_time, ready_at = 1, condition.last_transition_time.timestamp()
    restarts = max((c.restart_count for c in pod.status.container_statuses), default=0)
    created = pod.metadata.creation_timestamp
    return (
        1 if pod.spec.node_name else 0,
        _PHASE_ORDER.get(pod.status.phase, 0),
        1 if ready else 0,
        has_ready_time,
        -ready_at,
        -restarts,
        0 if created is None else 1,
        -_stamp(created),
    )


# --- backoff ---------------------------------------------------------------------------------


@attrs.frozen
class BackoffRecord:
    """Pod failures since the last success and when the last one finished (epoch s)."""

    failures_after_last_success: int = 0
    last_failure_time: float | None = None


def next_backoff(
    record: BackoffRecord, succeeded: Sequence[Pod], failed: Sequence[Pod]
) -> BackoffRecord:
    """The record after counting newly succeeded and failed pods (``newBackoffRecord``):
    a success clears it, keeping only failures that finished after the last success."""
    failed_times = sorted(finished_time(pod) for pod in failed)
    if not succeeded:
        if not failed_times:
            return record
        return BackoffRecord(
            record.failures_after_last_success + len(failed_times), failed_times[-1]
        )
    last_success = max(finished_time(pod) for pod in succeeded)
    later = [t for t in failed_times if t > last_success]
    return BackoffRecord(len(later), later[-1] if later else None)


def backoff_remaining(
    failures: int, last_failure_time: float | None, now: float, base_s: float, max_s: float
) -> float:
    """Seconds until a replacement may start: ``base * 2**(failures - 1)`` capped at
    ``max_s`` after the last failure (``getRemainingTimeForFailuresCount``)."""
    if failures <= 0 or last_failure_time is None:
        return 0.0
    delay = base_s
    for _ in range(1, failures):
        delay *= 2
        if delay >= max_s:
            delay = max_s
            break
    elapsed = now - last_failure_time
    return 0.0 if delay < elapsed else delay - elapsed
