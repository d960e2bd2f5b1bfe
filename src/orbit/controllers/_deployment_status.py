"""A Deployment's status and conditions, ported from Kubernetes' ``progress.go``
(``syncRolloutStatus``, ``getReplicaFailures``, ``requeueStuckDeployment``),
``sync.go`` (``calculateStatus``, ``syncDeploymentStatus``, ``checkPausedConditions``)
and ``util/deployment_util.go`` (``SetDeploymentCondition``, ``DeploymentComplete``,
``DeploymentProgressing``, ``DeploymentTimedOut``, the condition reasons), v1.30.

Conditions: Available (MinimumReplicasAvailable or not) and Progressing
(NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
ProgressDeadlineExceeded, DeploymentPaused, DeploymentResumed), with the requeue that
notices a stuck rollout at its deadline, and orbit's events when a rollout starts
progressing, completes or times out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from orbit.api import DeploymentCondition, DeploymentStatus, ReplicaSet
from orbit.clock import to_datetime

from ._deployment_parts import SyncParts
from ._deployment_util import (
    available_count,
    max_unavailable,
    ready_count,
    replica_count,
    revision_of,
    status_replica_count,
    with_annotations,
)

__all__ = [
    "COMPLETE_MARK",
    "FAILED_RS_CREATE",
    "FOUND_NEW_RS",
    "NEW_RS_CREATED",
    "NO_PROGRESS_DEADLINE",
    "StatusMixin",
    "TIMED_OUT",
    "find_condition",
]

COMPLETE_MARK = "deployment.orbit.dev/complete"
"""Set on a ReplicaSet once a rollout to it completed: a revision to roll back to."""

NO_PROGRESS_DEADLINE = 2**31 - 1  # math.MaxInt32: "no deadline"

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


class StatusMixin(SyncParts):
    """The status part of :class:`~._deployment_plan.DeploymentSync`."""

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
        condition = find_condition(status.conditions, "Progressing")
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
        current = find_condition(status.conditions, "Progressing")
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
        before = find_condition(self.d.status.conditions, "Progressing")
        self._write_status(status)
        self._progress_event(before, find_condition(status.conditions, "Progressing"), new)
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
        condition = find_condition(status.conditions, "Progressing")
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
        return find_condition(self.d.status.conditions, type_)

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


def find_condition(
    conditions: Sequence[DeploymentCondition], type_: str
) -> DeploymentCondition | None:
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
    current = find_condition(status.conditions, type_)
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
