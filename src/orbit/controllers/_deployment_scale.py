"""Scaling a Deployment's ReplicaSets, ported from Kubernetes' ``sync.go`` (v1.30:
``sync``, ``scale``, ``scaleReplicaSet(AndRecordEvent)``, ``isScalingEvent``,
``cleanupDeployment``) and ``util/deployment_util.go`` (``NewRSNewReplicas``,
``GetProportion``).

A paused Deployment, or one whose ``replicas`` changed mid-rollout, is only scaled:
extra or missing replicas are spread over the active ReplicaSets in proportion to
their size. Every change of a ReplicaSet's size goes through ``_scale``, which keeps
its desired / max replicas annotations and records a ``ScalingReplicaSet`` event.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from orbit.api import ReplicaSet

from ._deployment_parts import SyncParts
from ._deployment_util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    active_sets,
    annotation_int,
    by_creation,
    max_surge,
    replica_count,
    revision_of,
    with_annotations,
)

__all__ = ["ScaleMixin"]


class ScaleMixin(SyncParts):
    """The scaling part of :class:`~._deployment_plan.DeploymentSync`."""

    def _new_rs_replicas(self, all_sets: Sequence[ReplicaSet], new: ReplicaSet) -> int:
        """Kubernetes' ``NewRSNewReplicas``."""
        d = self.d
        if d.spec.strategy.type == "Recreate":
            return d.spec.replicas
        max_total = d.spec.replicas + max_surge(d)
        # Kubernetes counts spec.replicas only, so while an old ReplicaSet's surplus
        # pods are still being deleted the new one may already add its own and the
        # pods that exist briefly exceed replicas + maxSurge. orbit counts, per set,
        # the larger of the pods it wants and the pods it still has.
        current = sum(max(rs.spec.replicas, rs.status.replicas) for rs in all_sets)
        if current >= max_total:
            return new.spec.replicas
        scale_up = min(max_total - current, d.spec.replicas - new.spec.replicas)
        return new.spec.replicas + scale_up

    def _scale(
        self, rs: ReplicaSet, replicas: int, *, annotate: bool = False
    ) -> tuple[bool, ReplicaSet]:
        """Kubernetes' ``scaleReplicaSetAndRecordEvent``: set the size (and the
        desired / max replicas annotations) when it changes. ``annotate`` is
        ``scaleReplicaSet``, which proportional scaling calls: the annotations are
        brought up to date even when the size stays."""
        if not annotate and rs.spec.replicas == replicas:
            return False, rs
        d = self.d
        desired = str(d.spec.replicas)
        maximum = str(d.spec.replicas + max_surge(d))
        annotations = rs.metadata.annotations
        size_changes = rs.spec.replicas != replicas
        notes_change = (
            annotations.get(DESIRED_REPLICAS) != desired or annotations.get(MAX_REPLICAS) != maximum
        )
        if not size_changes and not notes_change:
            return False, rs
        scaled = with_annotations(rs, {DESIRED_REPLICAS: desired, MAX_REPLICAS: maximum})
        scaled = attrs.evolve(scaled, spec=attrs.evolve(rs.spec, replicas=replicas))
        stored = self._replace(self.writer.update_set(scaled))
        if size_changes:
            direction = "up" if rs.spec.replicas < replicas else "down"
            self.writer.event(
                "Normal",
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {rs.metadata.name} to {replicas} "
                f"from {rs.spec.replicas}",
            )
        return size_changes, stored

    def _is_scaling_event(self) -> bool:
        """Some active ReplicaSet was sized for another ``replicas``."""
        new, old = self._new_and_old(create=False)
        for rs in active_sets([*old, new]):
            desired = annotation_int(rs, DESIRED_REPLICAS)
            if desired is not None and desired != self.d.spec.replicas:
                return True
        return False

    def _sync(self) -> None:
        """Scale only (paused, or ``replicas`` changed): Kubernetes' ``sync``."""
        new, old = self._new_and_old(create=False)
        self._scale_proportionally(new, old)
        new, old = self._current(new), self._fresh(old)
        if self.d.spec.paused:
            self._cleanup(old)
        self._sync_status(new, old)

    def _scale_proportionally(self, new: ReplicaSet | None, old: list[ReplicaSet]) -> None:
        """Kubernetes' ``scale``: one active set takes ``replicas``; a saturated new
        set lets the old go; otherwise the difference is spread by size."""
        d = self.d
        only = self._active_or_latest(new, old)
        if only is not None:
            # Kubernetes returns here when the size is right, leaving a stale
            # desired-replicas annotation in place; then every sync sees a scaling
            # event again and the rollout never resumes (found by the model test:
            # scale 4, update, scale 1, scale 2). orbit brings the annotations up to date.
            self._scale(only, d.spec.replicas, annotate=True)
            return
        if self._is_saturated(new):
            for rs in active_sets(old):
                self._scale(rs, 0)
            return
        if d.spec.strategy.type != "RollingUpdate":
            return
        active = active_sets([*old, new])
        allowed = d.spec.replicas + max_surge(d) if d.spec.replicas > 0 else 0
        to_add = allowed - replica_count(active)
        if to_add > 0:
            active = _by_size(active, newer_first=True)
        elif to_add < 0:
            active = _by_size(active, newer_first=False)
        added = 0
        sizes: dict[str, int] = {}
        for rs in active:
            if to_add != 0:
                proportion = self._proportion(rs, to_add, added)
                sizes[rs.metadata.name] = rs.spec.replicas + proportion
                added += proportion
            else:
                sizes[rs.metadata.name] = rs.spec.replicas
        if to_add != 0 and active:
            first = active[0].metadata.name
            sizes[first] = max(0, sizes[first] + to_add - added)
        for rs in active:
            self._scale(rs, sizes[rs.metadata.name], annotate=True)

    def _proportion(self, rs: ReplicaSet, to_add: int, added: int) -> int:
        """Kubernetes' ``GetProportion`` / ``getReplicaSetFraction``."""
        d = self.d
        if rs.spec.replicas == 0 or to_add in (0, added):
            return 0
        if d.spec.replicas == 0:
            fraction = -rs.spec.replicas
        else:
            deployment_replicas = d.spec.replicas + max_surge(d)
            annotated = annotation_int(rs, MAX_REPLICAS)
            if annotated is None or annotated == 0:
                annotated = d.status.replicas
            if annotated == 0:
                fraction = 0
            else:
                fraction = _round_half_away(rs.spec.replicas * deployment_replicas / annotated)
                fraction -= rs.spec.replicas
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    def _active_or_latest(self, new: ReplicaSet | None, old: list[ReplicaSet]) -> ReplicaSet | None:
        if new is None and not old:
            return None
        newest_first = by_creation(old, newest_first=True)
        active = active_sets([*newest_first, new])
        if not active:
            return new if new is not None else newest_first[0]
        if len(active) == 1:
            return active[0]
        return None

    def _is_saturated(self, rs: ReplicaSet | None) -> bool:
        d = self.d
        if rs is None:
            return False
        return (
            annotation_int(rs, DESIRED_REPLICAS) == d.spec.replicas
            and rs.status.available_replicas == d.spec.replicas
            and rs.spec.replicas == d.spec.replicas
        )

    # -- history ----------------------------------------------------------------------

    def _cleanup(self, old: Sequence[ReplicaSet | None]) -> None:
        """Delete the oldest revisions beyond ``revisionHistoryLimit`` (only sets
        with no pods and no pending change)."""
        limit = self.d.spec.revision_history_limit
        alive = [rs for rs in old if rs is not None and rs.metadata.deletion_timestamp is None]
        surplus = len(alive) - limit
        if surplus <= 0:
            return
        for rs in sorted(alive, key=lambda r: (revision_of(r), r.metadata.name))[:surplus]:
            if rs.status.replicas or rs.spec.replicas:
                continue
            if rs.metadata.generation > rs.status.observed_generation:
                continue
            self.writer.delete_set(rs)
            self.sets = [s for s in self.sets if s.metadata.uid != rs.metadata.uid]


def _by_size(sets: Sequence[ReplicaSet], *, newer_first: bool) -> list[ReplicaSet]:
    """Larger first; ties newer first (scaling up) or older first (scaling down)."""

    def key(rs: ReplicaSet) -> tuple[int, float]:
        stamp = rs.metadata.creation_timestamp
        t = stamp.timestamp() if stamp else 0.0
        return (-rs.spec.replicas, -t if newer_first else t)

    # Ties on equal times: by name, descending when newer first (Kubernetes' Less(j, i)).
    by_name = sorted(sets, key=lambda rs: rs.metadata.name, reverse=newer_first)
    return sorted(by_name, key=key)


def _round_half_away(value: float) -> int:
    """Go's ``math.Round`` (``integer.RoundToInt32``): halves away from zero."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)
