"""The pod garbage collector: force-deletes pods nothing else will ever remove.

Kubernetes' PodGC controller removes, with grace period 0:

- **orphans**: pods bound to a node that no longer exists, once it has been missing
  for the quarantine (40 s, so a node being re-created is not mistaken for a gone
  one); they are first marked Failed with a ``DisruptionTarget`` condition
  (``DeletionByPodGC``, "PodGC: node no longer exists"), since no node agent will
  ever write their final status. Their controllers replace them.
- **terminating pods on out-of-service nodes**: pods being deleted on a node that is
  not Ready and carries the ``node.kubernetes.io/out-of-service`` taint (its operator
  says it is shut down), so their replacements may attach their volumes;
- **unscheduled terminating pods**: pods being deleted that were never bound;
- **terminated pods beyond the threshold** (``--terminated-pod-gc-threshold``,
  12,500): the oldest Succeeded / Failed pods, evicted ones (Failed, reason
  ``Evicted``) first, until that many are left.

A pod that was not finished is marked Failed before it goes (``markFailedAndDeletePod``).
Kubernetes scans every 20 s; here pod and node events drive it, so each pod goes as soon
as its rule applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from orbit.api import Node, Pod, PodCondition
from orbit.clock import Clock
from orbit.errors import NotFound
from orbit.store import EventType, Store

from ._loop import Key, Watched
from ._node_taints import OUT_OF_SERVICE_TAINT, ready_status
from ._pods import FINISHED_PHASES
from ._taint_eviction import set_pod_condition

__all__ = [
    "TERMINATED_POD_GC_THRESHOLD",
    "PodGCController",
    "terminated_pods_to_delete",
]

TERMINATED_POD_GC_THRESHOLD: Final = 12500
QUARANTINE_S: Final = 40.0
_THRESHOLD_KEY: Final[Key] = ("", "")  # no pod has an empty namespace
_ORPHAN_CONDITION: Final = PodCondition(
    type="DisruptionTarget",
    status="True",
    reason="DeletionByPodGC",
    message="PodGC: node no longer exists",
)


def _evicted(pod: Pod) -> bool:
    return pod.status.phase == "Failed" and pod.status.reason == "Evicted"


def _created(pod: Pod) -> float:
    stamp = pod.metadata.creation_timestamp
    return stamp.timestamp() if stamp is not None else float("-inf")


def terminated_pods_to_delete(terminated: Sequence[Pod], threshold: int) -> list[Pod]:
    """The finished pods to delete so that ``threshold`` remain: evicted ones first,
    then oldest first, name breaking ties (``byEvictionAndCreationTimestamp``); none
    when ``threshold`` is 0 or less (the collection is off)."""
    excess = len(terminated) - threshold
    if threshold <= 0 or excess <= 0:
        return []
    order = sorted(
        terminated,
        key=lambda p: (
            not _evicted(p),
            _created(p),
            p.metadata.name,
        ),
    )
    return order[:excess]


class PodGCController:
    """Force-deletes orphaned, stuck and surplus finished pods (module docstring).

    Args:
        store: the cluster's store.
        clock: quarantines run on ``clock.monotonic()``.
        terminated_pod_threshold: how many finished pods may stay (0: keep them all).
        quarantine_s: how long a node must be missing before its pods go.
    """

    name = "pod-garbage-collector"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        terminated_pod_threshold: int = TERMINATED_POD_GC_THRESHOLD,
        quarantine_s: float = QUARANTINE_S,
    ) -> None:
        self.store = store
        self.clock = clock
        self.terminated_pod_threshold = terminated_pod_threshold
        self.quarantine_s = quarantine_s
        self._finished: set[str] = set()  # uids of the finished pods in the store
        self._missing_since: dict[str, float] = {}  # node -> when first found missing

    @property
    def watches(self) -> tuple[Watched, ...]:
        """Pods (the primary kind), then nodes."""
        return (Watched(Pod, self._pod_keys), Watched(Node, self._node_keys))

    def _pod_keys(self, event: EventType, pod: Pod) -> Iterable[Key]:
        meta = pod.metadata
        keys: list[Key] = []
        if event == "DELETED":
            self._finished.discard(meta.uid)
            return keys
        if pod.status.phase in FINISHED_PHASES:
            self._finished.add(meta.uid)
            if 0 < self.terminated_pod_threshold < len(self._finished):
                keys.append(_THRESHOLD_KEY)
        node = pod.spec.node_name
        if (node and not self._node_exists(node)) or (
            meta.deletion_timestamp is not None and (not node or self._out_of_service(node))
        ):
            keys.append((meta.namespace, meta.name))
        return keys

    def _node_keys(self, event: EventType, node: Node) -> Iterable[Key]:
        name = node.metadata.name
        if event != "DELETED":
            self._missing_since.pop(name, None)
            if not self._out_of_service(name):
                return ()
        pods = self.store.list(Pod, field_selector={"spec.nodeName": name}).items
        return [(p.metadata.namespace, p.metadata.name) for p in pods]

    def _node_exists(self, name: str) -> bool:
        try:
            self.store.get(Node, name)
        except NotFound:
            return False
        return True

    def _out_of_service(self, name: str) -> bool:
        try:
            node = self.store.get(Node, name)
        except NotFound:
            return False
        out = any(taint.key == OUT_OF_SERVICE_TAINT for taint in node.spec.taints)
        return out and ready_status(node) != "True"

    # -- reconcile ---------------------------------------------------------------------

    def reconcile(self, key: Key) -> float | None:
        """Collect the pod at ``key`` if a rule applies (or the surplus of finished
        pods, for the threshold key); the seconds left of a node's quarantine."""
        if key == _THRESHOLD_KEY:
            self._collect_terminated()
            return None
        try:
            pod = self.store.get(Pod, key[1], key[0])
        except NotFound:
            return None
        node = pod.spec.node_name
        terminating = pod.metadata.deletion_timestamp is not None
        if not node:
            if terminating:
                self._force_delete(pod)
            return None
        if self._node_exists(node):
            if terminating and self._out_of_service(node):
                self._force_delete(pod)
            return None
        now = self.clock.monotonic()
        left = self._missing_since.setdefault(node, now) + self.quarantine_s - now
        if left > 0:
            return left
        self._force_delete(pod, _ORPHAN_CONDITION)
        return None

    def _collect_terminated(self) -> None:
        finished = [
            pod
            for phase in FINISHED_PHASES
            for pod in self.store.list(Pod, field_selector={"status.phase": phase}).items
        ]
        for pod in terminated_pods_to_delete(finished, self.terminated_pod_threshold):
            self._force_delete(pod)

    def _force_delete(self, pod: Pod, condition: PodCondition | None = None) -> None:
        """Mark an unfinished pod Failed (with ``condition``), then delete it with grace
        period 0 (``markFailedAndDeletePodWithCondition``)."""
        meta = pod.metadata
        if pod.status.phase not in FINISHED_PHASES:
            failed = attrs.evolve(pod, status=attrs.evolve(pod.status, phase="Failed"))
            if condition is not None:
                failed = set_pod_condition(failed, condition, self.clock.now())
            try:
                self.store.update_status(failed)
            except NotFound:
                return
        try:
            self.store.delete(Pod, meta.name, meta.namespace, grace_period_s=0)
        except NotFound:
            return
