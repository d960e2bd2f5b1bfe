"""What the parts of one Deployment sync share: the Deployment, its ReplicaSets, the
:class:`Writer` the changes go through, and the steps one part calls in another.

Kubernetes hangs the methods of ``sync.go``, ``rolling.go``, ``recreate.go``,
``progress.go`` and ``rollback.go`` on one type (``DeploymentController``); orbit
composes :class:`~._deployment_plan.DeploymentSync` from one mixin per file, each
deriving from :class:`SyncParts`. Its abstract methods name the steps a part calls
in another; the sync that inherits every part implements them all (mypy and Python
both refuse to build one that does not).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Protocol

from orbit.api import Deployment, DeploymentStatus, Pod, ReplicaSet

from ._deployment_util import by_creation, equal_ignoring_hash

__all__ = ["PodsOf", "SyncParts", "Writer"]


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


class SyncParts(ABC):
    """The state of one sync, its ReplicaSet bookkeeping, and the steps the parts
    call across modules (each implemented by the module its docstring names)."""

    d: Deployment
    sets: list[ReplicaSet]
    writer: Writer
    now: float
    pods_of: PodsOf
    requeue_after_s: float | None

    # -- the ReplicaSets, kept current as the sync writes them ----------------------

    def _find_new(self) -> ReplicaSet | None:
        """The oldest ReplicaSet whose template is the Deployment's (``FindNewReplicaSet``)."""
        for rs in by_creation(self.sets):
            if equal_ignoring_hash(rs.spec.template, self.d.spec.template):
                return rs
        return None

    def _split(self) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        new = self._find_new()
        old = [rs for rs in self.sets if new is None or rs.metadata.uid != new.metadata.uid]
        return new, old

    def _replace(self, rs: ReplicaSet) -> ReplicaSet:
        self.sets = [rs if other.metadata.uid == rs.metadata.uid else other for other in self.sets]
        return rs

    def _fresh(self, sets: Sequence[ReplicaSet]) -> list[ReplicaSet]:
        """The latest written version of each of ``sets``."""
        by_uid = {rs.metadata.uid: rs for rs in self.sets}
        return [by_uid.get(rs.metadata.uid, rs) for rs in sets]

    def _current(self, rs: ReplicaSet | None) -> ReplicaSet | None:
        if rs is None:
            return None
        return next((s for s in self.sets if s.metadata.uid == rs.metadata.uid), rs)

    # -- steps one part calls in another -------------------------------------------

    @abstractmethod
    def _new_and_old(self, *, create: bool) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        """The new ReplicaSet (created if asked and missing) and the others (_deployment_plan)."""

    @abstractmethod
    def _new_rs_replicas(self, all_sets: Sequence[ReplicaSet], new: ReplicaSet) -> int:
        """The new ReplicaSet's size within the surge limit (_deployment_scale)."""

    @abstractmethod
    def _scale(
        self, rs: ReplicaSet, replicas: int, *, annotate: bool = False
    ) -> tuple[bool, ReplicaSet]:
        """Resize a ReplicaSet, recording the event: (resized, stored) (_deployment_scale)."""

    @abstractmethod
    def _cleanup(self, old: Sequence[ReplicaSet | None]) -> None:
        """Delete revisions beyond ``revisionHistoryLimit`` (_deployment_scale)."""

    @abstractmethod
    def _calculate_status(
        self, new: ReplicaSet | None, old: Sequence[ReplicaSet | None]
    ) -> DeploymentStatus:
        """The status the ReplicaSets add up to (_deployment_status)."""

    @abstractmethod
    def _sync_status(self, new: ReplicaSet | None, old: Sequence[ReplicaSet | None]) -> None:
        """Write the status the ReplicaSets add up to (_deployment_status)."""

    @abstractmethod
    def _complete(self, status: DeploymentStatus) -> bool:
        """Every replica updated and available (_deployment_status)."""

    @abstractmethod
    def _sync_rollout_status(self) -> None:
        """Status, conditions, rollback and requeue after a rollout step (_deployment_status)."""

    @abstractmethod
    def _requeue(self, after: float) -> None:
        """Sync again within ``after`` seconds (_deployment_status)."""

    @abstractmethod
    def _maybe_roll_back(self, new: ReplicaSet | None, status: DeploymentStatus) -> bool:
        """Roll a failed rollout back; whether it did (_deployment_rollback)."""
