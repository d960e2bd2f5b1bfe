"""The ReplicaSet controller: keeps ``replicas`` pods of a template running.

Each reconcile (Kubernetes' ``syncReplicaSet``):

1. **Claims** pods: an active orphan in the namespace that matches the selector is
   adopted (a controller ownerReference is added); an owned pod whose labels no longer
   match is released (the reference is removed). Nothing is adopted by a ReplicaSet
   being deleted.
2. **Scales**: creates the missing pods from the template (``<name>-`` plus a random
   suffix), stopping at the first refused create (quota, a terminating namespace),
   which sets the ``ReplicaFailure`` condition and a ``FailedCreate`` event; or
   deletes the surplus in Kubernetes' order (:func:`deletion_order`). At most
   :data:`BURST_REPLICAS` of either per reconcile.
3. **Reports** status (replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas, observedGeneration) and looks again when a ready pod will have
   been ready for ``minReadySeconds``.

The pure decisions are in :mod:`._replicaset_plan`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import attrs

from orbit.api import Pod, ReplicaSet, ReplicaSetCondition, selector_from_label_selector
from orbit.clock import to_datetime
from orbit.errors import Conflict, NotFound, OrbitError
from orbit.store import Store

from ._base import BaseController
from ._loop import Key, RetryLater, Watched, controller_owner_key, own_key
from ._pods import (
    controlled_by,
    create_controlled_pod,
    delete_controlled_pod,
    is_active,
    owner_reference,
    pod_from_template,
)
from ._replicaset_plan import plan_replicaset, replicaset_status

__all__ = ["ReplicaSetController", "claim_pods", "selects"]

_log = logging.getLogger("orbit.controllers")


class ReplicaSetController(BaseController):
    """Reconciles ReplicaSets (module docstring); takes the store, the clock and an
    optional ``recorder`` (:class:`BaseController`)."""

    name = "replicaset-controller"

    @property
    def watches(self) -> Sequence[Watched]:
        return (
            Watched(ReplicaSet, own_key),
            Watched(Pod, self._pod_keys),
        )

    def _pod_keys(self, event: Any, pod: Pod) -> Sequence[Key]:
        """A pod concerns its controlling ReplicaSet; an orphan concerns every
        ReplicaSet of its namespace whose selector matches (it may be adopted)."""
        owned = controller_owner_key("ReplicaSet")(event, pod)
        if owned or pod.metadata.controller_ref() is not None or event == "DELETED":
            return tuple(owned)
        sets = self.store.list(ReplicaSet, namespace=pod.metadata.namespace).items
        return tuple((rs.metadata.namespace, rs.metadata.name) for rs in sets if selects(rs, pod))

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        try:
            rs = self.store.get(ReplicaSet, name, namespace)
        except NotFound:
            return None
        pods = claim_pods(self.store, rs, Pod)
        related = self._related_pods(rs) if rs.spec.replicas < len(pods) else None
        now = self.clock.now()
        plan = plan_replicaset(rs, pods, now, related=related)
        failure = None
        for _ in range(plan.create):
            failure = self._create_pod(rs)
            if failure is not None:
                break
        for pod in plan.delete:
            delete_controlled_pod(self.store, self.recorder, rs, pod)
        status = plan.status
        if failure is not None or plan.create or plan.delete:
            # Kubernetes reports the pods from before the sync; orbit counts again
            # after it, so status.replicas never lags the pods just made or deleted.
            active = [p for p in controlled_by(self.store, Pod, rs) if is_active(p)]
            status = replicaset_status(rs, active, now, failure=failure)
        if status != rs.status:
            self.store.update_status(attrs.evolve(rs, status=status))
        if failure is not None:
            # As Kubernetes returns manageReplicas' error: try again with backoff, so
            # a quota that frees up is noticed even if nothing else happens here.
            raise RetryLater(f"creating pods: {failure.message}")
        return plan.requeue_after_s

    def _create_pod(self, rs: ReplicaSet) -> ReplicaSetCondition | None:
        pod = pod_from_template(rs.spec.template, rs, generate_name=f"{rs.metadata.name}-")
        try:
            create_controlled_pod(self.store, self.recorder, rs, pod)
        except OrbitError as error:
            return ReplicaSetCondition(
                type="ReplicaFailure",
                status="True",
                reason="FailedCreate",
                message=str(error),
                last_transition_time=to_datetime(self.clock.now()),
            )
        return None

    def _related_pods(self, rs: ReplicaSet) -> list[Pod]:
        """The active pods of every ReplicaSet with the same controller (siblings of
        a Deployment), for ranking doubled-up pods when scaling down."""
        owner = rs.metadata.controller_ref()
        if owner is None:
            return []  # no siblings: every pod ranks the same, as in Kubernetes
        siblings = [
            other
            for other in self.store.list(ReplicaSet, namespace=rs.metadata.namespace).items
            if (ref := other.metadata.controller_ref()) is not None and ref.uid == owner.uid
        ]
        return [
            pod
            for other in siblings
            for pod in controlled_by(self.store, Pod, other)
            if is_active(pod)
        ]


def selects(owner: Any, obj: Any) -> bool:
    selector = selector_from_label_selector(owner.spec.selector)
    return not selector.empty and selector.matches(obj.metadata.labels)


def claim_pods(store: Store, owner: Any, kind: type[Any]) -> list[Any]:
    """The objects of ``kind`` ``owner`` controls after adopting matching orphans and
    releasing owned objects that stopped matching (Kubernetes'
    ``ClaimPods`` / ``ControllerRefManager``)."""
    uid = owner.metadata.uid
    namespace = owner.metadata.namespace
    selector = selector_from_label_selector(owner.spec.selector)
    owned = controlled_by(store, kind, owner)
    claimed: list[Any] = []
    for obj in owned:
        if not selector.empty and selector.matches(obj.metadata.labels):
            claimed.append(obj)
        elif obj.metadata.deletion_timestamp is None:
            _release(store, obj, uid)
    if owner.metadata.deletion_timestamp is not None or selector.empty:
        return claimed
    for obj in store.list(kind, namespace=namespace, label_selector=selector).items:
        meta = obj.metadata
        if meta.controller_ref() is not None or meta.deletion_timestamp is not None:
            continue
        if isinstance(obj, Pod) and not is_active(obj):
            continue
        adopted = _adopt(store, obj, owner)
        if adopted is not None:
            claimed.append(adopted)
    return claimed


def _adopt(store: Store, obj: Any, owner: Any) -> Any | None:
    meta = obj.metadata
    refs = (*meta.owner_references, owner_reference(owner))
    try:
        return store.update(attrs.evolve(obj, metadata=attrs.evolve(meta, owner_references=refs)))
    except (Conflict, NotFound):
        return None  # changed or gone meanwhile: the next reconcile sees it


def _release(store: Store, obj: Any, uid: str) -> None:
    meta = obj.metadata
    refs = tuple(ref for ref in meta.owner_references if ref.uid != uid)
    with contextlib.suppress(Conflict, NotFound):
        store.update(attrs.evolve(obj, metadata=attrs.evolve(meta, owner_references=refs)))
