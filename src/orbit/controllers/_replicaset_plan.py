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

import functools
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
    related: Sequence[Pod] | None = None,
    burst: int = BURST_REPLICAS,
) -> ReplicaSetPlan:
    """Decide one reconcile of ``rs`` over the pods it controls (finished and
    terminating ones included: they are filtered here).

    ``related`` are the active pods of the ReplicaSet and its siblings (same
    Deployment), used to rank pods doubled up on a node when scaling down; empty for
    a ReplicaSet no one controls (every pod then ranks the same, as in Kubernetes);
    ``None``: its own active pods.
    """
    active = [pod for pod in pods if is_active(pod)]
    diff = len(active) - rs.spec.replicas
    create = 0
    delete: tuple[Pod, ...] = ()
    if rs.metadata.deletion_timestamp is None:
        if diff < 0:
            create = min(-diff, burst)
        elif diff > 0:
            ordered = deletion_order(active, now, related=active if related is None else related)
            delete = tuple(ordered[: min(diff, burst)])
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

    def compare(a: Pod, b: Pod) -> int:
        if _less(a, b, now, on_node):
            return -1
        return 1 if _less(b, a, now, on_node) else 0

    return sorted(pods, key=functools.cmp_to_key(compare))


def _less(a: Pod, b: Pod, now: float, on_node: Counter[str]) -> bool:
    """Kubernetes' ``ActivePodsWithRanks.Less``: whether ``a`` goes before ``b``."""
    node_a, node_b = a.spec.node_name, b.spec.node_name
    if node_a != node_b and (not node_a or not node_b):
        return not node_a  # 1. unassigned first
    phase_a, phase_b = _PHASE_ORDER.get(a.status.phase, 0), _PHASE_ORDER.get(b.status.phase, 0)
    if phase_a != phase_b:
        return phase_a < phase_b  # 2. Pending < Unknown < Running
    ready_a, ready_b = is_ready(a), is_ready(b)
    if ready_a != ready_b:
        return not ready_a  # 3. not ready first
    cost_a, cost_b = _deletion_cost(a), _deletion_cost(b)
    if cost_a != cost_b:
        return cost_a < cost_b  # 4. lower pod-deletion-cost first
    rank_a, rank_b = on_node[node_a], on_node[node_b]
    if rank_a != rank_b:
        return rank_a > rank_b  # 5. doubled up first
    if ready_a and ready_b:  # 6. ready for less time first (logarithmic)
        since_a, since_b = ready_since(a), ready_since(b)
        if since_a != since_b:
            return _newer(a, b, since_a, since_b, now)
    restarts_a, restarts_b = _max_restarts(a), _max_restarts(b)
    if restarts_a != restarts_b:
        return restarts_a > restarts_b  # 7. more restarts first
    created_a, created_b = a.metadata.creation_timestamp, b.metadata.creation_timestamp
    if created_a != created_b:  # 8. newer first (logarithmic)
        return _newer(a, b, created_a, created_b, now)
    return False


def _newer(a: Pod, b: Pod, t_a: datetime | None, t_b: datetime | None, now: float) -> bool:
    """Steps 6 and 8: an empty time first, then the newer on the logarithmic scale;
    times in the same power-of-two bucket of age go by uid."""
    if t_a is None or t_b is None:
        return t_a is None  # afterOrZero
    diff = _age_rank(t_a, now) - _age_rank(t_b, now)
    if diff == 0:
        return a.metadata.uid < b.metadata.uid
    return diff < 0


def _deletion_cost(pod: Pod) -> int:
    try:
        return int(pod.metadata.annotations.get(DELETION_COST_ANNOTATION, "0"))
    except ValueError:
        return 0


def _age_rank(stamp: datetime, now: float) -> int:
    """Kubernetes' ``logarithmicRankDiff`` rank of an age: ``int(log2(nanoseconds))``,
    -1 for a time not in the past."""
    age_ns = int((now - stamp.timestamp()) * 1e9)
    if age_ns <= 0:
        return -1
    return int(math.log2(age_ns))


def _max_restarts(pod: Pod) -> int:
    """The most restarts of any container (init containers included)."""
    statuses = (*pod.status.init_container_statuses, *pod.status.container_statuses)
    return max((s.restart_count for s in statuses), default=0)
