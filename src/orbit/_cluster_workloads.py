"""The Cluster's workload verbs, as kubectl's: ``scale``, ``set_image`` and the
``rollout_*`` family (``pause``, ``resume``, ``history``, ``undo``, ``status``).

Each is a thin call into :mod:`orbit._rollout`, which changes the object in the store
(the Deployment and ReplicaSet controllers do the rest); ``rollout_status`` waits
on the Deployment with ``wait_for`` (:mod:`orbit._cluster_observe`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any

from orbit.errors import UnsupportedKind

from . import _rollout
from ._cluster_observe import ObserveMixin

__all__ = ["WorkloadsMixin"]


class WorkloadsMixin(ObserveMixin):
    """The workload verbs of :class:`orbit.Cluster` (``rollout_status`` waits with
    :meth:`~orbit._cluster_observe.ObserveMixin.wait_for`)."""

    async def scale(self, target: str, replicas: int, *, namespace: str = "default") -> Any:
        """Set the replicas of a Deployment or ReplicaSet (``"deployment/web"``), as
        ``kubectl scale``; returns the updated object. The controllers do the rest."""
        return _rollout.set_replicas(self.store, target, replicas, namespace)

    async def set_image(
        self,
        target: str,
        images: Mapping[str, str] | None = None,
        *,
        namespace: str = "default",
        **by_container: str,
    ) -> Any:
        """Change container images of a Deployment's template, as ``kubectl set
        image``: ``set_image("deployment/web", web="web:v2")`` or a mapping
        (``{"*": "web:v2"}`` sets every container); starts a rollout."""
        wanted = {**(images or {}), **by_container}
        if not wanted:
            raise ValueError("name at least one container and its image")
        return _rollout.set_image(self.store, target, wanted, namespace)

    async def rollout_pause(self, target: str, *, namespace: str = "default") -> Any:
        """Pause a Deployment's rollout (template changes wait; scaling still works)."""
        return _rollout.set_paused(self.store, target, True, namespace)

    async def rollout_resume(self, target: str, *, namespace: str = "default") -> Any:
        """Resume a paused Deployment's rollout."""
        return _rollout.set_paused(self.store, target, False, namespace)

    async def rollout_history(
        self, target: str, *, namespace: str = "default"
    ) -> builtins.list[_rollout.Revision]:
        """The revisions a Deployment keeps (``revisionHistoryLimit``), oldest first."""
        return _rollout.rollout_history(self.store, target, namespace)

    async def rollout_undo(
        self, target: str, to_revision: int | None = None, *, namespace: str = "default"
    ) -> Any:
        """Roll a Deployment back to ``to_revision`` (default: the previous one), as
        ``kubectl rollout undo``; returns the Deployment with the restored template."""
        return _rollout.rollout_undo(self.store, target, namespace, to_revision)

    async def rollout_status(
        self,
        target: str,
        *,
        namespace: str = "default",
        timeout_s: float = 600.0,
        on_progress: Callable[[str], None] | None = None,
    ) -> Any:
        """Wait until a Deployment's rollout completes, as ``kubectl rollout status``;
        returns the Deployment. Raises :class:`~orbit.RolloutFailed` when it exceeds
        its progress deadline or orbit rolls it back (the reason says why), and
        ``TimeoutError`` after ``timeout_s``. ``on_progress`` gets kubectl's
        "Waiting for ..." lines as they change."""
        info, name = _rollout.parse_target(target)
        if info.kind != "Deployment":
            raise UnsupportedKind(f"{info.kind} has no rollout (only Deployments do)")
        start = self.store.get(info, name, namespace)
        before = start.metadata.annotations.get(_rollout.ROLLED_BACK_FROM)
        said = ""

        def done(d: Any) -> bool:
            nonlocal said
            state = _rollout.rollout_state(d, before)
            if on_progress is not None and state.message != said:
                said = state.message
                on_progress(state.message)
            return state.done

        return await self.wait_for(info.kind, name, done, timeout_s=timeout_s, namespace=namespace)
