"""The ReplicaSet controller's decisions, as pure functions (Kubernetes'
``pkg/controller/replicaset``, v1.30).

- :func:`plan_replicaset`: how many pods to create, which to delete, the new status
  and when to look again.
- :func:`deletion_order`: which pods go first when scaling down
  (``controller.ActivePodsWithRanks``): unscheduled before scheduled, Pending before
  Unknown before Running, not ready before ready, lower
  ``controller.kubernetes.io/pod-deletion-cost`` first, pods doubled up on a node with
  more related pods first, ready for a shorter time first, more container restarts
  first, newer first. Times are compared on Kubernetes' logarithmic scale
  (LogarithmicScaleDown, on by default since 1.22): pods whose ages fall into the same
  power-of-two bucket count as equally old and are ordered by uid, so scale-down does
  not always hit the very newest pod.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import attrs

from orbit.api import Pod, ReplicaSet, ReplicaSetCondition, ReplicaSetStatus

from ._pods import is_active, is_available, is_ready, ready_since

__all__ = [
    "BURST_REPLICAS",
    "DELETION_COST_ANNOTATION",
    "ReplicaSetPlan",
    "deletion_order",
    "plan_replicaset",
    "replicaset_status",
]

BURST_REPLICAS = 500
"""At most this many pods created or deleted per reconcile (kube-controller-manager's
``--replicaset-burst``... ``burstReplicas``), so one huge scale cannot starve others."""

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


@attrs.frozen
class ReplicaSetPlan:
    """What one reconcile of a ReplicaSet does."""

    create: int
    delete: tuple[Pod, ...]
    status: ReplicaSetStatus
    requeue_after_s: float | None


def plan_replicaset(
    rs: ReplicaSet,
    pods: Sequence[Pod],
    now: float,
    *,
    related: Sequence[Pod] = (),
    burst: int = BURST_REPLICAS,
) -> ReplicaSetPlan:
    """Decide one reconcile of ``rs`` over the pods it controls (finished and
    terminating ones included: they are filtered here).

    ``related`` are the active pods of the ReplicaSet's siblings (same Deployment),
    used to rank pods doubled up on a node when scaling down.
    """
    active = [pod for pod in pods if is_active(pod)]
    diff = len(active) - rs.spec.replicas
    create = 0
    delete: tuple[Pod, ...] = ()
    if rs.metadata.deletion_timestamp is None:
        if diff < 0:
            create = min(-diff, burst)
        elif diff > 0:
            delete = tuple(
                deletion_order(active, now, related=related or active)[: min(diff, burst)]
            )
    status = replicaset_status(rs, active, now)
    return ReplicaSetPlan(create, delete, status, _next_available(rs, active, now))


def replicaset_status(
    rs: ReplicaSet,
    active: Sequence[Pod],
    now: float,
    *,
    failure: ReplicaSetCondition | None = None,
) -> ReplicaSetStatus:
    """``status`` as Kubernetes' ``calculateStatus`` computes it from the active pods.

    ``failure`` is the ReplicaFailure condition to set (a refused create), or ``None``
    to clear it.
    """
    template_labels = rs.spec.template.metadata.labels
    fully_labeled = sum(
        1
        for pod in active
        if all(pod.metadata.labels.get(k) == v for k, v in template_labels.items())
    )
    ready = sum(1 for pod in active if is_ready(pod))
    available = sum(1 for pod in active if is_available(pod, rs.spec.min_ready_seconds, now))
    conditions = tuple(c for c in rs.status.conditions if c.type != "ReplicaFailure")
    if failure is not None:
        previous = rs.status.conditions
        kept = next(
            (c for c in previous if c.type == "ReplicaFailure" and c.status == "True"), None
        )
        conditions += (kept if kept is not None and kept.message == failure.message else failure,)
    return ReplicaSetStatus(
        replicas=len(active),
        fully_labeled_replicas=fully_labeled,
        ready_replicas=ready,
        available_replicas=available,
        observed_generation=rs.metadata.generation,
        conditions=conditions,
    )


def _next_available(rs: ReplicaSet, active: Sequence[Pod], now: float) -> float | None:
    """Seconds until the next ready pod becomes available (minReadySeconds)."""
    min_ready = rs.spec.min_ready_seconds
    if min_ready <= 0:
        return None
    waits = []
    for pod in active:
        since = ready_since(pod)
        if since is not None:
            left = since.timestamp() + min_ready - now
            if left > 0:
                waits.append(left)
    return min(waits) if waits else None


def deletion_order(
    pods: Sequence[Pod], now: float, *, related: Sequence[Pod] | None = None
) -> list[Pod]:
    """``pods`` sorted so the first are the ones to delete (module docstring).

    ``related`` are the pods whose count per node ranks "doubled up" pods (Kubernetes
    counts the active pods of every ReplicaSet of the same Deployment); default: ``pods``.
    """
    on_node = Counter(pod.spec.node_name for pod in (pods if related is None else related))
    return sorted(pods, key=lambda pod: _deletion_key(pod, now, on_node))


def _deletion_key(pod: Pod, now: float, on_node: Counter[str]) -> tuple[object, ...]:
    node = pod.spec.node_name
    ready = is_ready(pod)
    since = ready_since(pod) if ready else None
    created = pod.metadata.creation_timestamp
    return (
        bool(node),  # unassigned first
        _PHASE_ORDER.get(pod.status.phase, 0),
        ready,  # not ready first
        _deletion_cost(pod),
        -(on_node[node] if node else 0),  # more related pods on its node first
        _age_rank(since, now) if ready else 0,  # ready for less time first
        -_max_restarts(pod),  # more restarts first
        _age_rank(created, now),  # newer first
        pod.metadata.uid,
    )


def _deletion_cost(pod: Pod) -> int:
    try:
        return int(pod.metadata.annotations.get(DELETION_COST_ANNOTATION, "0"))
    except ValueError:
        return 0


def _age_rank(stamp: datetime | None, now: float) -> int:
    """Kubernetes' logarithmic rank of an age: ``int(log2(nanoseconds))``; -1 for
    no time or a time not in the past (empty times sort first, as Kubernetes does)."""
    if stamp is None:
        return -2
    age_ns = int((now - stamp.timestamp()) * 1e9)
    if age_ns <= 0:
        return -1
    return int(math.log2(age_ns))


def _max_restarts(pod: Pod) -> int:
    return max((s.restart_count for s in pod.status.container_statuses), default=0)
