"""Rolling out a Deployment's new template, ported from Kubernetes' ``rolling.go``
and ``recreate.go`` (v1.30).

RollingUpdate: grow the new ReplicaSet while the total stays within ``replicas +
maxSurge``; shrink old ones (unhealthy pods first) while the available count stays
at least ``replicas - maxUnavailable``. Recreate: scale every old ReplicaSet to 0,
wait until their pods are gone, then scale the new one up. Both end in
``_sync_rollout_status`` (:mod:`._deployment_status`).
"""

from __future__ import annotations

from collections.abc import Sequence

from orbit.api import ReplicaSet

from ._deployment_parts import SyncParts
from ._deployment_util import (
    active_sets,
    by_creation,
    max_unavailable,
    replica_count,
    status_replica_count,
)
from ._pods import FINISHED_PHASES

__all__ = ["RolloutMixin"]


class RolloutMixin(SyncParts):
    """The rollout part of :class:`~._deployment_plan.DeploymentSync`: the
    RollingUpdate and Recreate strategies."""

    # -- rolling update --------------------------------------------------------------

    def _rollout_rolling(self) -> None:
        new, old = self._new_and_old(create=True)
        if new is None:  # a collision: try again
            return
        if self._reconcile_new(new):
            self._sync_rollout_status()
            return
        if self._reconcile_old():
            self._sync_rollout_status()
            return
        new, old = self._current(new), self._fresh(old)
        if self._complete(self._calculate_status(new, old)):
            self._cleanup(old)
        self._sync_rollout_status()

    def _reconcile_new(self, new: ReplicaSet) -> bool:
        d = self.d
        if new.spec.replicas == d.spec.replicas:
            return False
        if new.spec.replicas > d.spec.replicas:
            return self._scale(new, d.spec.replicas)[0]
        count = self._new_rs_replicas(self.sets, new)
        return self._scale(new, count)[0]

    def _reconcile_old(self) -> bool:
        """Kubernetes' ``reconcileOldReplicaSets``."""
        d = self.d
        new, old = self._split()
        old_count = replica_count(old)
        if old_count == 0:
            return False
        all_count = replica_count(self.sets)
        min_available = d.spec.replicas - max_unavailable(d)
        new_unavailable = 0 if new is None else new.spec.replicas - new.status.available_replicas
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self._cleanup_unhealthy(max_scaled_down)
        scaled = self._scale_down_old()
        return cleaned + scaled > 0

    def _cleanup_unhealthy(self, max_cleanup: int) -> int:
        """Scale old sets down by their unavailable pods first (oldest sets first)."""
        _, old = self._split()
        total = 0
        for rs in by_creation(old):
            if total >= max_cleanup:
                break
            if rs.spec.replicas in (0, rs.status.available_replicas):
                continue
            count = min(max_cleanup - total, rs.spec.replicas - rs.status.available_replicas)
            if count <= 0:
                # Its status still counts pods it no longer wants (not yet observed).
                # Kubernetes errors here and abandons the whole scale-down for this
                # sync; orbit skips this set only, which is safe because availability
                # is counted as at most spec.replicas per set (_scale_down_old).
                continue
            self._scale(rs, rs.spec.replicas - count)
            total += count
        return total

    def _scale_down_old(self) -> int:
        """Scale old sets down while availability stays at least the minimum."""
        d = self.d
        min_available = d.spec.replicas - max_unavailable(d)
        # A set scaled down but not yet observed by its controller still reports the
        # pods it is about to delete as available; Kubernetes counts them and may
        # briefly drop below minAvailable. orbit counts at most spec.replicas per set
        # (its controller deletes unavailable pods first, so that many stay).
        available = sum(min(rs.status.available_replicas, rs.spec.replicas) for rs in self.sets)
        if available <= min_available:
            return 0
        budget = available - min_available
        _, old = self._split()
        total = 0
        for rs in by_creation(old):
            if total >= budget:
                break
            if rs.spec.replicas == 0:
                continue
            count = min(rs.spec.replicas, budget - total)
            self._scale(rs, rs.spec.replicas - count)
            total += count
        return total

    # -- recreate ---------------------------------------------------------------------

    def _rollout_recreate(self) -> None:
        new, old = self._new_and_old(create=False)
        scaled = False
        for rs in active_sets(old):
            scaled = self._scale(rs, 0)[0] or scaled
        if scaled or self._old_pods_running(new, self._fresh(old)):
            self._sync_rollout_status()
            return
        if new is None:
            new, old = self._new_and_old(create=True)
            if new is None:
                return
        self._scale(new, self.d.spec.replicas)
        new, old = self._current(new), self._fresh(old)
        if self._complete(self._calculate_status(new, old)):
            self._cleanup(old)
        self._sync_rollout_status()

    def _old_pods_running(self, new: ReplicaSet | None, old: Sequence[ReplicaSet | None]) -> bool:
        if status_replica_count(old) > 0:
            return True
        for rs in self.sets:
            if new is not None and rs.metadata.uid == new.metadata.uid:
                continue
            if any(pod.status.phase not in FINISHED_PHASES for pod in self.pods_of(rs)):
                return True
        return False
