"""The Deployment controller: one ReplicaSet per pod template, rolled from old to new.

Each reconcile claims the Deployment's ReplicaSets (adopting orphans its selector
matches, releasing those that stopped matching) and runs one
:class:`~._deployment_plan.DeploymentSync`, whose writes go to the store here. Watched:
Deployments, ReplicaSets (mapped to their Deployment) and pods that restarted or went
away (mapped through their ReplicaSet: Recreate waits for old pods to go, automatic
rollback counts restarts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from orbit.api import Deployment, Pod, ReplicaSet
from orbit.errors import NotFound
from orbit.store import EventRecorder, EventType, Store

from ._base import BaseController
from ._deployment_plan import DeploymentSync
from ._loop import Key, Watched, own_key
from ._pods import controlled_by
from ._replicaset import claim_pods, selects

__all__ = ["DeploymentController"]


class DeploymentController(BaseController):
    """Reconciles Deployments (module docstring); takes the store, the clock and an
    optional ``recorder`` (:class:`BaseController`)."""

    name = "deployment-controller"

    @property
    def watches(self) -> Sequence[Watched]:
        return (
            Watched(Deployment, own_key),
            Watched(ReplicaSet, self._set_keys),
            Watched(Pod, self._pod_keys),
        )

    def _set_keys(self, _event: EventType, rs: ReplicaSet) -> Sequence[Key]:
        namespace = rs.metadata.namespace
        ref = rs.metadata.controller_ref()
        if ref is not None:
            return ((namespace, ref.name),) if ref.kind == "Deployment" else ()
        return tuple(
            (namespace, d.metadata.name)
            for d in self.store.list(Deployment, namespace=namespace).items
            if selects(d, rs)
        )

    def _pod_keys(self, event: EventType, pod: Pod) -> Sequence[Key]:
        restarted = any(s.restart_count for s in pod.status.container_statuses)
        if event != "DELETED" and not restarted:
            return ()
        ref = pod.metadata.controller_ref()
        if ref is None or ref.kind != "ReplicaSet":
            return ()
        try:
            rs = self.store.get(ReplicaSet, ref.name, pod.metadata.namespace)
        except NotFound:
            return ()
        return self._set_keys(event, rs)

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        try:
            d = self.store.get(Deployment, name, namespace)
        except NotFound:
            return None
        if d.spec.selector is None or not (
            d.spec.selector.match_labels or d.spec.selector.match_expressions
        ):
            self.recorder.record(
                d,
                "Warning",
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            if d.status.observed_generation < d.metadata.generation:
                status = attrs.evolve(d.status, observed_generation=d.metadata.generation)
                self.store.update_status(attrs.evolve(d, status=status))
            return None
        sets = claim_pods(self.store, d, ReplicaSet)
        writer = _StoreWriter(self.store, self.recorder, d)
        sync = DeploymentSync(d, sets, writer, self.clock.now(), self._active_pods)
        return sync.run()

    def _active_pods(self, rs: ReplicaSet) -> list[Pod]:
        pods: list[Pod] = controlled_by(self.store, Pod, rs)
        return pods


class _StoreWriter:
    """The sync's writes, to the store; events about the Deployment."""

    def __init__(self, store: Store, recorder: EventRecorder, d: Deployment) -> None:
        self.store = store
        self.recorder = recorder
        self.d: Any = d

    def create_set(self, rs: ReplicaSet) -> ReplicaSet:
        created: ReplicaSet = self.store.create(rs)
        return created

    def update_set(self, rs: ReplicaSet) -> ReplicaSet:
        updated: ReplicaSet = self.store.update(rs)
        return updated

    def delete_set(self, rs: ReplicaSet) -> None:
        try:
            self.store.delete(ReplicaSet, rs.metadata.name, rs.metadata.namespace)
        except NotFound:
            return

    def update_status(self, d: Deployment) -> Deployment:
        self.d = self.store.update_status(d)
        return self.d  # type: ignore[no-any-return]

    def update_deployment(self, d: Deployment) -> Deployment:
        self.d = self.store.update(d)
        return self.d  # type: ignore[no-any-return]

    def event(self, kind: str, reason: str, message: str) -> None:
        self.recorder.record(self.d, kind, reason, message)  # type: ignore[arg-type]
