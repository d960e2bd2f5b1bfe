"""One sync of a Deployment, ported from Kubernetes' ``pkg/controller/deployment``
(v1.30: ``sync.go``, ``rolling.go``, ``recreate.go``, ``progress.go``), plus orbit's
automatic rollback.

The logic is pure: it reads the Deployment, its ReplicaSets and (for Recreate and
rollback decisions) their pods, and writes through a :class:`Writer` (the store in
the controller, a dict in tests), exactly where Kubernetes makes an API call. A sync:

1. a paused Deployment, or one whose ``replicas`` changed mid-rollout, is only
   **scaled**: extra or missing replicas are spread over the active ReplicaSets in
   proportion to their size (``scale``);
2. otherwise it **rolls out**. RollingUpdate: grow the new ReplicaSet while the total
   stays within ``replicas + maxSurge``; shrink old ones (unhealthy pods first) while
   the available count stays at least ``replicas - maxUnavailable``. Recreate: scale
   every old ReplicaSet to 0, wait until their pods are gone, then scale the new one
   up;
3. **status and conditions**: Available (MinimumReplicasAvailable or not) and
   Progressing (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated,
   NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused,
   DeploymentResumed), with the requeue that notices a stuck rollout at its deadline;
   old ReplicaSets beyond ``revisionHistoryLimit`` are deleted once complete.

**Automatic rollback** (orbit's, not Kubernetes'): when a rollout exceeds its progress
deadline, or a pod of the new ReplicaSet has restarted ``rollback-after-restarts``
times (default 3), the Deployment's template is set back to that of the last revision
that completed, with a ``DeploymentRollback`` warning event saying why and the
annotations ``deployment.orbit.dev/rolled-back-from`` (the failed revision) and
``deployment.orbit.dev/rollback-reason``. Off with the annotation
``deployment.orbit.dev/auto-rollback: "false"``. Without a completed revision to go
back to (a first rollout) nothing is rolled back: the Deployment reports
ProgressDeadlineExceeded as Kubernetes does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs

from orbit.api import (
    Deployment,
    DeploymentCondition,
    DeploymentStatus,
    LabelSelector,
    ObjectMeta,
    Pod,
    ReplicaSet,
    ReplicaSetSpec,
)
from orbit.clock import to_datetime
from orbit.errors import AlreadyExists, OrbitError

from ._deployment_util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    REVISION,
    REVISION_HISTORY,
    TEMPLATE_HASH_LABEL,
    active_sets,
    annotation_int,
    available_count,
    by_creation,
    copied_annotations,
    equal_ignoring_hash,
    max_revision,
    max_surge,
    max_unavailable,
    ready_count,
    replica_count,
    revision_of,
    status_replica_count,
    template_hash,
    with_annotations,
    without_hash,
)
from ._pods import FINISHED_PHASES, is_active, owner_reference

__all__ = [
    "AUTO_ROLLBACK",
    "COMPLETE_MARK",
    "NO_PROGRESS_DEADLINE",
    "ROLLBACK_AFTER_RESTARTS",
    "ROLLBACK_REASON",
    "ROLLED_BACK_FROM",
    "DeploymentSync",
    "Writer",
]

AUTO_ROLLBACK = "deployment.orbit.dev/auto-rollback"
ROLLBACK_AFTER_RESTARTS = "deployment.orbit.dev/rollback-after-restarts"
ROLLED_BACK_FROM = "deployment.orbit.dev/rolled-back-from"
ROLLBACK_REASON = "deployment.orbit.dev/rollback-reason"
COMPLETE_MARK = "deployment.orbit.dev/complete"
"""Set on a ReplicaSet once a rollout to it completed: a revision to roll back to."""

NO_PROGRESS_DEADLINE = 2**31 - 1  # math.MaxInt32: "no deadline"
DEFAULT_ROLLBACK_RESTARTS = 3

# Condition reasons (Kubernetes' deploymentutil constants).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
FAILED_RS_CREATE = "FailedRSCreate"
ROLLED_BACK = "DeploymentRolledBack"


class Writer(Protocol):
    """Where a sync's changes go (the store, in the controller)."""

    def create_set(self, rs: ReplicaSet) -> ReplicaSet: ...

    def update_set(self, rs: ReplicaSet) -> ReplicaSet: ...

    def delete_set(self, rs: ReplicaSet) -> None: ...

    def update_status(self, d: Deployment) -> Deployment: ...

    def update_deployment(self, d: Deployment) -> Deployment:
        """Write the Deployment's metadata and spec (revision annotation, rollback)."""
        ...

    def event(self, kind: str, reason: str, message: str) -> None: ...


PodsOf = Callable[[ReplicaSet], Sequence[Pod]]


class DeploymentSync:
    """One sync of a Deployment (module docstring). ``run()`` returns the seconds
    after which to sync again, or ``None``."""

    def __init__(
        self,
        d: Deployment,
        sets: Sequence[ReplicaSet],
        writer: Writer,
        now: float,
        pods_of: PodsOf,
    ) -> None:
        self.d = d
        self.sets = list(sets)
        self.writer = writer
        self.now = now
        self.pods_of = pods_of
        self.requeue_after_s: float | None = None

    # -- entry -------------------------------------------------------------------

    def run(self) -> float | None:
        d = self.d
        if d.metadata.deletion_timestamp is not None:
            self._sync_status(*self._new_and_old(create=False))
            return None
        self._check_paused_conditions()
        if d.spec.paused or self._is_scaling_event():
            self._sync()
        elif d.spec.strategy.type == "Recreate":
            self._rollout_recreate()
        else:
            self._rollout_rolling()
        return self.requeue_after_s

    # -- finding the new and old ReplicaSets -----------------------------------------

    def _find_new(self) -> ReplicaSet | None:
        for rs in by_creation(self.sets):
            if equal_ignoring_hash(rs.spec.template, self.d.spec.template):
                return rs
        return None

    def _new_and_old(self, *, create: bool) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        existing = self._find_new()
        old = [
            rs for rs in self.sets if existing is None or rs.metadata.uid != existing.metadata.uid
        ]
        new = self._get_new(existing, old, create=create)
        return new, [rs for rs in self.sets if new is None or rs.metadata.uid != new.metadata.uid]

    def _get_new(
        self, existing: ReplicaSet | None, old: list[ReplicaSet], *, create: bool
    ) -> ReplicaSet | None:
        d = self.d
        new_revision = max_revision(old) + 1
        if existing is not None:
            updated, changed = self._new_set_annotations(existing, new_revision, exists=True)
            if changed or updated.spec.min_ready_seconds != d.spec.min_ready_seconds:
                spec = attrs.evolve(updated.spec, min_ready_seconds=d.spec.min_ready_seconds)
                existing = self._replace(self.writer.update_set(attrs.evolve(updated, spec=spec)))
            self._set_deployment_revision(existing.metadata.annotations.get(REVISION, ""))
            if self._has_progress_deadline() and self._condition("Progressing") is None:
                message = f'Found new replica set "{existing.metadata.name}"'
                self._set_condition("Progressing", "True", FOUND_NEW_RS, message)
                self._write_status(self.d.status)
            return existing
        if not create:
            return None
        return self._create_new(old, new_revision)

    def _create_new(self, old: list[ReplicaSet], new_revision: int) -> ReplicaSet | None:
        """A ReplicaSet for the current template (``getNewReplicaSet``'s create)."""
        d = self.d
        collision = d.status.collision_count
        hash_ = template_hash(d.spec.template, collision)
        template = d.spec.template
        labels = {**template.metadata.labels, TEMPLATE_HASH_LABEL: hash_}
        template = attrs.evolve(template, metadata=attrs.evolve(template.metadata, labels=labels))
        selector = d.spec.selector or LabelSelector()
        selector = attrs.evolve(
            selector, match_labels={**selector.match_labels, TEMPLATE_HASH_LABEL: hash_}
        )
        draft = ReplicaSet(
            metadata=ObjectMeta(
                name=f"{d.metadata.name}-{hash_}",
                namespace=d.metadata.namespace,
                labels=labels,
                owner_references=(owner_reference(d),),
            ),
            spec=ReplicaSetSpec(
                replicas=0,
                min_ready_seconds=d.spec.min_ready_seconds,
                selector=selector,
                template=template,
            ),
        )
        replicas = self._new_rs_replicas([*old, draft], draft)
        draft = attrs.evolve(draft, spec=attrs.evolve(draft.spec, replicas=replicas))
        draft, _ = self._new_set_annotations(draft, new_revision, exists=False)
        already = False
        try:
            created = self.writer.create_set(draft)
        except AlreadyExists:
            found = next((rs for rs in self.sets if rs.metadata.name == draft.metadata.name), None)
            if found is not None and equal_ignoring_hash(found.spec.template, d.spec.template):
                created, already = found, True
            else:
                # A hash collision: bump collisionCount and try again next sync.
                status = attrs.evolve(d.status, collision_count=(collision or 0) + 1)
                self._write_status(status)
                self.requeue_after_s = 0.0
                return None
        except OrbitError as error:
            message = f'Failed to create new replica set "{draft.metadata.name}": {error}'
            self._set_condition("Progressing", "False", FAILED_RS_CREATE, message)
            self._write_status(self.d.status)
            self.writer.event("Warning", FAILED_RS_CREATE, message)
            raise
        if not already:
            self.sets.append(created)
            if replicas > 0:
                self.writer.event(
                    "Normal",
                    "ScalingReplicaSet",
                    f"Scaled up replica set {created.metadata.name} from 0 to {replicas}",
                )
        self._set_deployment_revision(str(new_revision))
        if not already and self._has_progress_deadline():
            message = f'Created new replica set "{created.metadata.name}"'
            self._set_condition("Progressing", "True", NEW_RS_CREATED, message)
            self._write_status(self.d.status)
        return created

    def _new_set_annotations(
        self, rs: ReplicaSet, new_revision: int, *, exists: bool
    ) -> tuple[ReplicaSet, bool]:
        """Kubernetes' ``SetNewReplicaSetAnnotations``: the Deployment's annotations,
        the revision (keeping earlier ones in ``revision-history`` when a rollback
        reuses the ReplicaSet) and, for a new one, the replicas annotations."""
        d = self.d
        annotations = dict(rs.metadata.annotations)
        before = dict(annotations)
        annotations.update(copied_annotations(d))
        old_text = annotations.get(REVISION, "")
        old_revision = revision_of(rs)
        if old_revision < new_revision:
            annotations[REVISION] = str(new_revision)
            if old_text:
                history = annotations.get(REVISION_HISTORY, "")
                annotations[REVISION_HISTORY] = f"{history},{old_text}" if history else old_text
        if not exists:
            annotations[DESIRED_REPLICAS] = str(d.spec.replicas)
            annotations[MAX_REPLICAS] = str(d.spec.replicas + max_surge(d))
        changed = annotations != before
        return attrs.evolve(
            rs, metadata=attrs.evolve(rs.metadata, annotations=annotations)
        ), changed

    def _set_deployment_revision(self, revision: str) -> None:
        if not revision or self.d.metadata.annotations.get(REVISION) == revision:
            return
        status = self.d.status
        self.d = self.writer.update_deployment(with_annotations(self.d, {REVISION: revision}))
        self.d = attrs.evolve(self.d, status=status)

    def _replace(self, rs: ReplicaSet) -> ReplicaSet:
        self.sets = [rs if other.metadata.uid == rs.metadata.uid else other for other in self.sets]
        return rs

    # -- scaling ----------------------------------------------------------------------

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

    def _fresh(self, sets: Sequence[ReplicaSet]) -> list[ReplicaSet]:
        """The latest written version of each of ``sets``."""
        by_uid = {rs.metadata.uid: rs for rs in self.sets}
        return [by_uid.get(rs.metadata.uid, rs) for rs in sets]

    def _current(self, rs: ReplicaSet | None) -> ReplicaSet | None:
        if rs is None:
            return None
        return next((s for s in self.sets if s.metadata.uid == rs.metadata.uid), rs)

    def _scale_proportionally(self, new: ReplicaSet | None, old: list[ReplicaSet]) -> None:
        """Kubernetes' ``scale``: one active set takes ``replicas``; a saturated new
        set lets the old go; otherwise the difference is spread by size."""
        d = self.d
        only = self._active_or_latest(new, old)
        if only is not None:
            if only.spec.replicas != d.spec.replicas:
                self._scale(only, d.spec.replicas)
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

    def _split(self) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        new = self._find_new()
        old = [rs for rs in self.sets if new is None or rs.metadata.uid != new.metadata.uid]
        return new, old

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

    # -- status -----------------------------------------------------------------------

    def _calculate_status(
        self, new: ReplicaSet | None, old: Sequence[ReplicaSet | None]
    ) -> DeploymentStatus:
        d = self.d
        all_sets = [*old, new]
        available = available_count(all_sets)
        total = replica_count(all_sets)
        status = attrs.evolve(
            d.status,
            observed_generation=d.metadata.generation,
            replicas=status_replica_count(all_sets),
            updated_replicas=status_replica_count([new]),
            ready_replicas=ready_count(all_sets),
            available_replicas=available,
            unavailable_replicas=max(0, total - available),
        )
        if available >= d.spec.replicas - max_unavailable(d):
            condition = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            condition = (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        return _with_condition(status, "Available", *condition, stamp=self._stamp())

    def _sync_status(self, new: ReplicaSet | None, old: Sequence[ReplicaSet | None]) -> None:
        self._write_status(self._calculate_status(new, old))

    def _complete(self, status: DeploymentStatus) -> bool:
        """Kubernetes' ``DeploymentComplete``."""
        replicas = self.d.spec.replicas
        return (
            status.updated_replicas == replicas
            and status.replicas == replicas
            and status.available_replicas == replicas
            and status.observed_generation >= self.d.metadata.generation
        )

    def _progressing(self, status: DeploymentStatus) -> bool:
        """Kubernetes' ``DeploymentProgressing``: something moved since last time."""
        before = self.d.status
        old_before = before.replicas - before.updated_replicas
        old_now = status.replicas - status.updated_replicas
        return (
            status.updated_replicas > before.updated_replicas
            or old_now < old_before
            or status.ready_replicas > before.ready_replicas
            or status.available_replicas > before.available_replicas
        )

    def _timed_out(self, status: DeploymentStatus) -> bool:
        condition = _find(status.conditions, "Progressing")
        if condition is None or condition.reason == NEW_RS_AVAILABLE:
            return False
        if condition.reason == TIMED_OUT:
            return True
        since = condition.last_update_time or condition.last_transition_time
        if since is None:
            return False
        return since.timestamp() + self.d.spec.progress_deadline_seconds < self.now

    def _sync_rollout_status(self) -> None:
        """Kubernetes' ``syncRolloutStatus``, then orbit's automatic rollback."""
        d = self.d
        new, old = self._split()
        status = self._calculate_status(new, old)
        name = new.metadata.name if new is not None else d.metadata.name
        what = "ReplicaSet" if new is not None else "Deployment"
        if not self._has_progress_deadline():
            status = attrs.evolve(
                status, conditions=tuple(c for c in status.conditions if c.type != "Progressing")
            )
        current = _find(status.conditions, "Progressing")
        finished = (
            status.replicas == status.updated_replicas
            and current is not None
            and current.reason == NEW_RS_AVAILABLE
        )
        stamp = self._stamp()
        if (
            self._complete(status)
            and new is not None
            and new.metadata.annotations.get(COMPLETE_MARK) != "true"
        ):
            # A revision to come back to (with or without a progress deadline).
            new = self._replace(
                self.writer.update_set(with_annotations(new, {COMPLETE_MARK: "true"}))
            )
        if self._has_progress_deadline() and not finished:
            if self._complete(status):
                message = f'{what} "{name}" has successfully progressed.'
                status = _with_condition(
                    status, "Progressing", "True", NEW_RS_AVAILABLE, message, stamp=stamp
                )
            elif self._progressing(status):
                message = f'{what} "{name}" is progressing.'
                keep_since = (
                    current.last_transition_time if current and current.status == "True" else None
                )
                status = _with_condition(
                    status,
                    "Progressing",
                    "True",
                    RS_UPDATED,
                    message,
                    stamp=stamp,
                    refresh=True,
                    since=keep_since,
                )
            elif self._timed_out(status):
                message = f'{what} "{name}" has timed out progressing.'
                status = _with_condition(
                    status, "Progressing", "False", TIMED_OUT, message, stamp=stamp
                )
        failure = self._replica_failure(new)
        if failure is not None:
            status = _with_condition(
                status,
                "ReplicaFailure",
                failure.status,
                failure.reason,
                failure.message,
                stamp=failure.last_transition_time or stamp,
            )
        else:
            status = attrs.evolve(
                status, conditions=tuple(c for c in status.conditions if c.type != "ReplicaFailure")
            )
        # A rollback is written before the status that explains it, so a watcher
        # sees "rolled back" rather than a bare deadline first.
        rolled_back = self._maybe_roll_back(new, status)
        before = _find(self.d.status.conditions, "Progressing")
        self._write_status(status)
        self._progress_event(before, _find(status.conditions, "Progressing"), new)
        if not rolled_back:
            self._requeue_stuck(status)

    def _progress_event(
        self,
        before: DeploymentCondition | None,
        after: DeploymentCondition | None,
        new: ReplicaSet | None,
    ) -> None:
        """An event when a rollout starts progressing, completes or times out (orbit's:
        Kubernetes shows these only as conditions)."""
        if after is None or (before is not None and before.reason == after.reason):
            return
        revision = revision_of(new) if new is not None else 0
        if after.reason == RS_UPDATED:
            self.writer.event(
                "Normal", "RolloutProgressing", f"Revision {revision}: {after.message}"
            )
        elif after.reason == NEW_RS_AVAILABLE:
            self.writer.event("Normal", "RolloutComplete", f"Revision {revision}: {after.message}")
        elif after.reason == TIMED_OUT:
            self.writer.event("Warning", TIMED_OUT, f"Revision {revision}: {after.message}")

    def _replica_failure(self, new: ReplicaSet | None) -> Any:
        """Kubernetes' ``getReplicaFailures``: the new set's ReplicaFailure, else the
        first old set's."""
        ordered = [new] if new is not None else []
        ordered += [rs for rs in self.sets if new is None or rs.metadata.uid != new.metadata.uid]
        for rs in ordered:
            for condition in rs.status.conditions:
                if condition.type == "ReplicaFailure":
                    return condition
        return None

    def _requeue_stuck(self, status: DeploymentStatus) -> None:
        """Look again when a progressing rollout would hit its deadline."""
        condition = _find(status.conditions, "Progressing")
        if (
            not self._has_progress_deadline()
            or condition is None
            or condition.reason in (NEW_RS_AVAILABLE, TIMED_OUT)
            or self._complete(status)
        ):
            return
        since = condition.last_update_time or condition.last_transition_time
        if since is None:
            return
        after = since.timestamp() + self.d.spec.progress_deadline_seconds - self.now
        after = max(after, 0.0) + 1.0  # a second past the deadline: then it has passed
        self._requeue(after)

    def _requeue(self, after: float) -> None:
        if self.requeue_after_s is None or after < self.requeue_after_s:
            self.requeue_after_s = after

    def _check_paused_conditions(self) -> None:
        if not self._has_progress_deadline():
            return
        condition = self._condition("Progressing")
        if condition is not None and condition.reason == TIMED_OUT:
            return
        paused_noted = condition is not None and condition.reason == PAUSED
        if self.d.spec.paused and not paused_noted:
            self._set_condition("Progressing", "Unknown", PAUSED, "Deployment is paused")
        elif not self.d.spec.paused and paused_noted:
            self._set_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed")
        else:
            return
        self._write_status(self.d.status)

    def _has_progress_deadline(self) -> bool:
        return self.d.spec.progress_deadline_seconds != NO_PROGRESS_DEADLINE

    def _condition(self, type_: str) -> DeploymentCondition | None:
        return _find(self.d.status.conditions, type_)

    def _set_condition(self, type_: str, status: str, reason: str, message: str) -> None:
        new_status = _with_condition(
            self.d.status, type_, status, reason, message, stamp=self._stamp()
        )
        self.d = attrs.evolve(self.d, status=new_status)

    def _write_status(self, status: DeploymentStatus) -> None:
        if status == self.d.status:
            return
        self.d = self.writer.update_status(attrs.evolve(self.d, status=status))

    def _stamp(self) -> datetime:
        return to_datetime(int(self.now))

    # -- automatic rollback -----------------------------------------------------------

    def _maybe_roll_back(self, new: ReplicaSet | None, status: DeploymentStatus) -> bool:
        d = self.d
        if new is None or d.metadata.annotations.get(AUTO_ROLLBACK, "true").lower() == "false":
            return False
        if d.spec.paused or new.metadata.annotations.get(COMPLETE_MARK) == "true":
            return False
        reason = self._failure_reason(new, status)
        if reason is None:
            return False
        good = self._last_good(new)
        if good is None:
            return False
        bad, back = revision_of(new), revision_of(good)
        message = (
            f'Rolled back deployment "{d.metadata.name}" from revision {bad} '
            f"to revision {back}: {reason}"
        )
        annotations = {ROLLED_BACK_FROM: str(bad), ROLLBACK_REASON: reason}
        spec = attrs.evolve(d.spec, template=without_hash(good.spec.template))
        rolled = attrs.evolve(with_annotations(d, annotations), spec=spec)
        self.d = self.writer.update_deployment(rolled)
        self.writer.event("Warning", "DeploymentRollback", message)
        self._requeue(0.0)
        return True

    def _failure_reason(self, new: ReplicaSet, status: DeploymentStatus) -> str | None:
        condition = _find(status.conditions, "Progressing")
        if condition is not None and condition.reason == TIMED_OUT:
            return f"progress deadline exceeded ({self.d.spec.progress_deadline_seconds}s)"
        limit = self._restart_limit()
        for pod in self.pods_of(new):
            if not is_active(pod):
                continue  # terminating or finished: not this attempt's verdict
            statuses = (*pod.status.init_container_statuses, *pod.status.container_statuses)
            for container in statuses:
                if container.restart_count >= limit:
                    return (
                        f'pod "{pod.metadata.name}" container "{container.name}" restarted '
                        f"{container.restart_count} times ({_last_reason(pod, container.name)})"
                    )
        return None

    def _restart_limit(self) -> int:
        value = annotation_int(self.d, ROLLBACK_AFTER_RESTARTS)
        return value if value is not None and value > 0 else DEFAULT_ROLLBACK_RESTARTS

    def _last_good(self, new: ReplicaSet) -> ReplicaSet | None:
        """The newest revision other than ``new`` whose rollout completed."""
        good = [
            rs
            for rs in self.sets
            if rs.metadata.uid != new.metadata.uid
            and rs.metadata.annotations.get(COMPLETE_MARK) == "true"
            and not equal_ignoring_hash(rs.spec.template, new.spec.template)
        ]
        return max(good, key=revision_of, default=None)


def _last_reason(pod: Pod, container: str) -> str:
    for status in (*pod.status.init_container_statuses, *pod.status.container_statuses):
        if status.name != container:
            continue
        waiting = status.state.waiting
        if waiting is not None and waiting.reason:
            return waiting.reason
        terminated = status.last_state.terminated
        if terminated is not None:
            return f"last exit code {terminated.exit_code}, {terminated.reason or 'Error'}"
    return "restarting"


def _find(conditions: Sequence[DeploymentCondition], type_: str) -> DeploymentCondition | None:
    return next((c for c in conditions if c.type == type_), None)


def _with_condition(
    status: DeploymentStatus,
    type_: str,
    value: str,
    reason: str,
    message: str,
    *,
    stamp: datetime,
    refresh: bool = False,
    since: datetime | None = None,
) -> DeploymentStatus:
    """Kubernetes' ``SetDeploymentCondition``: a condition whose status and reason
    are unchanged stays as it is. ``refresh`` replaces it anyway (new message and
    update time, transition time ``since``), as ``syncRolloutStatus`` does for a
    rollout that progressed: that resets the progress deadline."""
    current = _find(status.conditions, type_)
    if not refresh and current is not None and current.status == value and current.reason == reason:
        return status
    if since is None and current is not None and current.status == value:
        since = current.last_transition_time  # the status did not change
    condition = DeploymentCondition(
        type=type_,
        status=value,  # type: ignore[arg-type]
        reason=reason,
        message=message,
        last_update_time=stamp,
        last_transition_time=since or stamp,
    )
    others = tuple(c for c in status.conditions if c.type != type_)
    return attrs.evolve(status, conditions=(*others, condition))


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
