"""One sync of a Deployment, ported from Kubernetes' ``pkg/controller/deployment``
(v1.30), plus orbit's automatic rollback. This module mirrors ``sync.go``'s entry and
ReplicaSet bookkeeping (``syncDeployment``'s dispatch, ``getAllReplicaSetsAndSyncRevision``,
``getNewReplicaSet``): :class:`DeploymentSync` finds the new ReplicaSet (creating it
when the template changed) and the old ones, keeps the revision annotations, and
composes the other parts, one mixin per Kubernetes file, as Kubernetes hangs those
files' methods on one type.

The logic is pure: it reads the Deployment, its ReplicaSets and (for Recreate and
rollback decisions) their pods, and writes through a :class:`Writer` (the store in
the controller, a dict in tests), exactly where Kubernetes makes an API call. A sync:

1. a paused Deployment, or one whose ``replicas`` changed mid-rollout, is only
   **scaled**: extra or missing replicas are spread over the active ReplicaSets in
   proportion to their size (:mod:`._deployment_scale`, ``sync.go``);
2. otherwise it **rolls out**. RollingUpdate: grow the new ReplicaSet while the total
   stays within ``replicas + maxSurge``; shrink old ones (unhealthy pods first) while
   the available count stays at least ``replicas - maxUnavailable``. Recreate: scale
   every old ReplicaSet to 0, wait until their pods are gone, then scale the new one
   up (:mod:`._deployment_rolling`, ``rolling.go`` and ``recreate.go``);
3. **status and conditions**: Available (MinimumReplicasAvailable or not) and
   Progressing (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated,
   NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused,
   DeploymentResumed), with the requeue that notices a stuck rollout at its deadline
   (:mod:`._deployment_status`, ``progress.go``); old ReplicaSets beyond
   ``revisionHistoryLimit`` are deleted once complete.

**Automatic rollback** (orbit's, not Kubernetes', :mod:`._deployment_rollback`): when
a rollout exceeds its progress deadline, or a pod of the new ReplicaSet has restarted
``rollback-after-restarts`` times (default 3), the Deployment's template is set back
to that of the last revision that completed. Without a completed revision to go back
to (a first rollout) nothing is rolled back: the Deployment reports
ProgressDeadlineExceeded as Kubernetes does.

The state the parts share, and the steps one calls in another, are declared once in
:class:`~._deployment_parts.SyncParts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from orbit.api import (
    Deployment,
    LabelSelector,
    ObjectMeta,
    ReplicaSet,
    ReplicaSetSpec,
)
from orbit.errors import AlreadyExists, OrbitError

from ._deployment_parts import PodsOf, Writer
from ._deployment_rollback import (
    AUTO_ROLLBACK,
    ROLLBACK_AFTER_RESTARTS,
    ROLLBACK_REASON,
    ROLLED_BACK_FROM,
    RollbackMixin,
)
from ._deployment_rolling import RolloutMixin
from ._deployment_scale import ScaleMixin
from ._deployment_status import (
    COMPLETE_MARK,
    FAILED_RS_CREATE,
    FOUND_NEW_RS,
    NEW_RS_CREATED,
    NO_PROGRESS_DEADLINE,
    StatusMixin,
)
from ._deployment_util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    REVISION,
    REVISION_HISTORY,
    TEMPLATE_HASH_LABEL,
    copied_annotations,
    equal_ignoring_hash,
    max_revision,
    max_surge,
    revision_of,
    template_hash,
    with_annotations,
)
from ._pods import owner_reference

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


class DeploymentSync(RolloutMixin, ScaleMixin, StatusMixin, RollbackMixin):
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
