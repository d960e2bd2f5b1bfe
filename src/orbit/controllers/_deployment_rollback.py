"""orbit's automatic rollback of a failed rollout. It plays the part of Kubernetes'
``rollback.go`` (v1.30: ``rollbackToTemplate`` copies a ReplicaSet's template back
into the Deployment and records an event), triggered by a failure orbit detects
rather than by the deprecated ``spec.rollbackTo``.

When a rollout exceeds its progress deadline, or a pod of the new ReplicaSet has
restarted ``rollback-after-restarts`` times (default 3), the Deployment's template is
set back to that of the last revision that completed, with a ``DeploymentRollback``
warning event saying why and the annotations ``deployment.orbit.dev/rolled-back-from``
(the failed revision) and ``deployment.orbit.dev/rollback-reason``. Off with the
annotation ``deployment.orbit.dev/auto-rollback: "false"``. Without a completed
revision to go back to (a first rollout) nothing is rolled back.
"""

from __future__ import annotations

import attrs

from orbit.api import DeploymentStatus, Pod, ReplicaSet

from ._deployment_parts import SyncParts
from ._deployment_status import COMPLETE_MARK, TIMED_OUT, find_condition
from ._deployment_util import (
    annotation_int,
    equal_ignoring_hash,
    revision_of,
    with_annotations,
    without_hash,
)
from ._pods import is_active

__all__ = [
    "AUTO_ROLLBACK",
    "ROLLBACK_AFTER_RESTARTS",
    "ROLLBACK_REASON",
    "ROLLED_BACK_FROM",
    "RollbackMixin",
]

AUTO_ROLLBACK = "deployment.orbit.dev/auto-rollback"
ROLLBACK_AFTER_RESTARTS = "deployment.orbit.dev/rollback-after-restarts"
ROLLED_BACK_FROM = "deployment.orbit.dev/rolled-back-from"
ROLLBACK_REASON = "deployment.orbit.dev/rollback-reason"
DEFAULT_ROLLBACK_RESTARTS = 3


class RollbackMixin(SyncParts):
    """The automatic rollback part of :class:`~._deployment_plan.DeploymentSync`."""

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
        condition = find_condition(status.conditions, "Progressing")
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
