"""Delete as Kubernetes' API server deletes: propagation policy, grace period and the
namespace lifecycle, on top of the store's plain ``delete``.

The store only knows finalizers and grace periods. What a delete *request* means is
decided here, as the API server's generic registry and its per-kind strategies decide
it, so ``Cluster.delete``, the garbage collector and the namespace controller all
delete the same way:

- **Propagation** (``Store.Delete`` + ``deletionFinalizersForGarbageCollection``):
  ``Orphan`` adds the ``orphan`` finalizer, ``Foreground`` the ``foregroundDeletion``
  finalizer, ``Background`` neither; without a policy, a GC finalizer already on the
  object decides, else the kind's default (``Orphan`` for batch/v1 Jobs, ``Background``
  otherwise). The finalizers are written first, then the object is deleted, so an
  object with a GC finalizer is only marked and the garbage collector finishes it.
- **Grace** (``podStrategy.CheckGracefulDelete``): only pods delete gracefully, with
  the requested period or their ``terminationGracePeriodSeconds``, and at once when
  unscheduled or finished. Other kinds ignore a grace period, as in Kubernetes.
- **Namespaces** (``pkg/registry/core/namespace/storage``): the first delete marks the
  namespace (``deletionTimestamp``, phase ``Terminating``, the ``kubernetes`` finalizer
  in ``spec.finalizers``, which Kubernetes sets at creation); it goes only when the
  namespace controller has emptied it and removed that finalizer. The store knows
  nothing of ``spec.finalizers``, so a metadata finalizer,
  :data:`NAMESPACE_HOLD_FINALIZER`, holds the namespace while any remain; the
  namespace controller drops it together with the last spec finalizer.
"""

from __future__ import annotations

from typing import Any

import attrs

from orbit.admission import NAMESPACE_FINALIZER
from orbit.api import KindInfo, Namespace, Pod, resolve_kind
from orbit.errors import Forbidden
from orbit.store import Store

from ._gc_plan import (
    PropagationPolicy,
    check_policy,
    default_propagation_policy,
    deletion_finalizers,
)
from ._pods import FINISHED_PHASES, delete_pod

__all__ = [
    "IMMORTAL_NAMESPACES",
    "NAMESPACE_FINALIZER",
    "NAMESPACE_HOLD_FINALIZER",
    "delete_object",
]

NAMESPACE_HOLD_FINALIZER = "orbit.dev/namespace-spec-finalizers"
"""Holds a terminating Namespace in the store while its ``spec.finalizers`` are not
empty (the API server's rule, which the store does not know)."""
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
"""Namespaces the NamespaceLifecycle admission plugin refuses to delete."""


def delete_object(
    store: Store,
    kind: KindInfo | type[Any] | str,
    name: str,
    namespace: str = "",
    *,
    propagation_policy: PropagationPolicy | None = None,
    grace_period_s: int | None = None,
) -> Any:
    """Delete an object as a Kubernetes API delete request would; returns its state
    after the request (marked, or as it was when removed).

    Args:
        store: the cluster's store.
        kind: the kind, as a KindInfo, class or kubectl name.
        name: the object's name.
        namespace: its namespace (ignored for cluster-scoped kinds).
        propagation_policy: ``"Background"``, ``"Foreground"`` or ``"Orphan"``;
            ``None`` is the API's default for the kind (kubectl sends Background).
        grace_period_s: for pods, the grace period (``None``: the pod's
            ``terminationGracePeriodSeconds``); other kinds have none.

    Raises ``NotFound``, ``UnsupportedKind``, ``ValidationError`` for an unknown
    policy, or ``Forbidden`` for the namespaces Kubernetes never deletes
    (:data:`IMMORTAL_NAMESPACES`). An object already being deleted keeps its
    propagation (the store allows no new finalizers on it); a second delete may only
    shorten a pod's grace.
    """
    policy = check_policy(propagation_policy)
    info = resolve_kind(kind)
    namespace = namespace if info.namespaced else ""
    obj = store.get(info, name, namespace)
    if isinstance(obj, Namespace):
        return _delete_namespace(store, obj, policy)
    meta = obj.metadata
    if meta.deletion_timestamp is None:
        finalizers = deletion_finalizers(meta.finalizers, policy, default_propagation_policy(info))
        if finalizers != meta.finalizers:
            obj = store.update(
                attrs.evolve(obj, metadata=attrs.evolve(meta, finalizers=finalizers))
            )
    if isinstance(obj, Pod) and grace_period_s is None:
        return delete_pod(store, obj)
    return store.delete(info, name, namespace, grace_period_s=_grace(obj, grace_period_s))


def _grace(obj: Any, requested: int | None) -> int:
    """The grace period a delete gets: pods only (``CheckGracefulDelete``)."""
    if not isinstance(obj, Pod) or requested is None:
        return 0
    if not obj.spec.node_name or obj.status.phase in FINISHED_PHASES:
        return 0
    return requested


def _delete_namespace(store: Store, ns: Namespace, policy: PropagationPolicy | None) -> Namespace:
    """The namespace REST's ``Delete``: mark it Terminating on the first request; once
    marked, remove it only when its ``spec.finalizers`` are empty."""
    meta = ns.metadata
    if meta.name in IMMORTAL_NAMESPACES:
        raise Forbidden("namespaces", meta.name, "this namespace may not be deleted")
    if meta.deletion_timestamp is not None:
        if ns.spec.finalizers:
            return ns
        removed: Namespace = store.delete(Namespace, meta.name)
        return removed
    finalizers = deletion_finalizers(meta.finalizers, policy, "Background")
    if NAMESPACE_HOLD_FINALIZER not in finalizers:
        finalizers = (*finalizers, NAMESPACE_HOLD_FINALIZER)
    spec_finalizers = ns.spec.finalizers
    if NAMESPACE_FINALIZER not in spec_finalizers:
        spec_finalizers = (*spec_finalizers, NAMESPACE_FINALIZER)
    held = store.update(
        attrs.evolve(
            ns,
            metadata=attrs.evolve(meta, finalizers=finalizers),
            spec=attrs.evolve(ns.spec, finalizers=spec_finalizers),
        )
    )
    marked: Namespace = store.delete(Namespace, held.metadata.name)
    terminating = attrs.evolve(marked, status=attrs.evolve(marked.status, phase="Terminating"))
    result: Namespace = store.update_status(terminating)
    return result
