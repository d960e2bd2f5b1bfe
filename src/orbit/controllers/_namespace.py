"""The namespace controller: empties a terminating namespace, then lets it go.

Kubernetes' ``pkg/controller/namespace`` (``namespacedResourcesDeleter.Delete``): a
namespace marked for deletion (:func:`~._deletion.delete_object` sets its
``deletionTimestamp``, phase ``Terminating`` and the ``kubernetes`` token in
``spec.finalizers``) is reconciled until it is gone:

1. its phase is made ``Terminating`` if it is not yet;
2. every namespaced object in it is deleted with background propagation (the
   namespace controller never orphans), pods gracefully;
3. while anything remains it looks again after ``estimate // 2 + 1`` seconds, where
   the estimate is the longest ``terminationGracePeriodSeconds`` of a pod still
   running, or 15 s when only objects held by finalizers remain
   (``estimateGracefulTermination``, ``finalizerEstimateSeconds``);
4. when nothing remains it removes ``kubernetes`` from ``spec.finalizers``; with no
   spec finalizer left the namespace goes (the API server's
   ``ShouldDeleteNamespaceDuringUpdate``; here, by dropping the
   :data:`~._deletion.NAMESPACE_HOLD_FINALIZER` that stands in for it).

Unlike Kubernetes, which only polls, a deletion in a terminating namespace also wakes
the controller at once, so a namespace goes as soon as its last object does. Creates
in a terminating namespace are refused by ``Cluster.apply``; the store itself does not
refuse them yet (Kubernetes' NamespaceLifecycle admission), so an object a controller
creates meanwhile is deleted on the next pass. The ``NamespaceDeletion*`` status
conditions are not reported: orbit's NamespaceStatus has no conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from orbit.api import KindInfo, Namespace, Pod, all_kinds
from orbit.clock import Clock
from orbit.errors import NotFound
from orbit.store import EventType, Store

from ._deletion import NAMESPACE_FINALIZER, NAMESPACE_HOLD_FINALIZER, delete_object
from ._loop import Key, Watched, own_key
from ._pods import FINISHED_PHASES

__all__ = [
    "FINALIZER_ESTIMATE_S",
    "NamespaceController",
    "content_estimate",
    "requeue_after_s",
]

FINALIZER_ESTIMATE_S = 15
"""How long objects held only by finalizers are expected to take (Kubernetes'
``finalizerEstimateSeconds``)."""


def content_estimate(remaining: Iterable[Any]) -> int:
    """Seconds until ``remaining`` (objects of one kind still in a terminating
    namespace) are likely gone: the longest grace period of a pod that has not
    finished, else :data:`FINALIZER_ESTIMATE_S` if any is held by finalizers, else 0."""
    estimate = 0
    held = False
    for obj in remaining:
        held = held or bool(obj.metadata.finalizers)
        if isinstance(obj, Pod) and obj.status.phase not in FINISHED_PHASES:
            estimate = max(estimate, obj.spec.termination_grace_period_seconds)
    if estimate == 0 and held:
        return FINALIZER_ESTIMATE_S
    return estimate


def requeue_after_s(estimate: int) -> int:
    """When to look at a namespace again while content remains (the namespace
    controller's ``estimate/2 + 1``)."""
    return estimate // 2 + 1


class NamespaceController:
    """Deletes everything in a terminating namespace, then the namespace (module
    docstring).

    Args:
        store: the cluster's store.
        clock: the cluster's clock.
        kinds: the namespaced kinds to delete (default: every registered one).
    """

    name = "namespace-controller"

    def __init__(
        self, store: Store, clock: Clock, *, kinds: Iterable[KindInfo] | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        chosen = all_kinds() if kinds is None else kinds
        self.kinds: tuple[KindInfo, ...] = tuple(info for info in chosen if info.namespaced)

    @property
    def watches(self) -> Sequence[Watched]:
        return (
            Watched(Namespace, own_key),
            *(Watched(info, self._content_keys) for info in self.kinds),
        )

    def _content_keys(self, event: EventType, obj: Any) -> Sequence[Key]:
        """An object gone from a terminating namespace may have been its last."""
        if event != "DELETED":
            return ()
        name = obj.metadata.namespace
        try:
            namespace = self.store.get(Namespace, name)
        except NotFound:
            return ()
        return (("", name),) if namespace.metadata.deletion_timestamp is not None else ()

    def reconcile(self, key: Key) -> float | None:
        """One pass of ``namespacedResourcesDeleter.Delete`` over the namespace."""
        try:
            namespace = self.store.get(Namespace, key[1])
        except NotFound:
            return None
        if namespace.metadata.deletion_timestamp is None:
            return None
        namespace = self._ensure_terminating(namespace)
        if NAMESPACE_FINALIZER not in namespace.spec.finalizers:
            self._release(namespace)  # finalized by us already; others may hold it
            return None
        remaining, estimate = self._delete_content(namespace.metadata.name)
        if remaining:
            return float(requeue_after_s(estimate))
        self._finalize(namespace)
        return None

    def _ensure_terminating(self, namespace: Namespace) -> Namespace:
        if namespace.status.phase == "Terminating":
            return namespace
        status = attrs.evolve(namespace.status, phase="Terminating")
        updated: Namespace = self.store.update_status(attrs.evolve(namespace, status=status))
        return updated

    def _delete_content(self, namespace: str) -> tuple[int, int]:
        """Delete every object in ``namespace`` not yet being deleted; returns how many
        objects remain and the estimate of how long they will take."""
        remaining = estimate = 0
        for info in self.kinds:
            for obj in self.store.list(info, namespace=namespace).items:
                if obj.metadata.deletion_timestamp is not None:
                    continue
                try:
                    delete_object(
                        self.store,
                        info,
                        obj.metadata.name,
                        namespace,
                        propagation_policy="Background",
                    )
                except NotFound:
                    continue
            left = self.store.list(info, namespace=namespace).items
            remaining += len(left)
            estimate = max(estimate, content_estimate(left))
        return remaining, estimate

    def _finalize(self, namespace: Namespace) -> None:
        """Remove our token from ``spec.finalizers`` (``finalizeNamespace``); the
        namespace goes with the last one, unless metadata finalizers still hold it."""
        meta = namespace.metadata
        spec_finalizers = tuple(f for f in namespace.spec.finalizers if f != NAMESPACE_FINALIZER)
        finalizers = meta.finalizers
        if not spec_finalizers:
            finalizers = tuple(f for f in finalizers if f != NAMESPACE_HOLD_FINALIZER)
        self.store.update(
            attrs.evolve(
                namespace,
                metadata=attrs.evolve(meta, finalizers=finalizers),
                spec=attrs.evolve(namespace.spec, finalizers=spec_finalizers),
            )
        )

    def _release(self, namespace: Namespace) -> None:
        """Let a finalized namespace go once others have removed their spec
        finalizers too."""
        meta = namespace.metadata
        if namespace.spec.finalizers or NAMESPACE_HOLD_FINALIZER not in meta.finalizers:
            return
        kept = tuple(f for f in meta.finalizers if f != NAMESPACE_HOLD_FINALIZER)
        self.store.update(attrs.evolve(namespace, metadata=attrs.evolve(meta, finalizers=kept)))
