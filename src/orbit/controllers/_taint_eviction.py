"""The taint eviction controller: pods leave nodes with NoExecute taints they do not
tolerate.

Kubernetes' taint eviction controller (the ``NoExecuteTaintManager`` of old), step by
step:

- a pod on a node with a NoExecute taint it does not tolerate is deleted at once;
- a pod that tolerates every NoExecute taint of its node, some only for
  ``tolerationSeconds``, is deleted after the shortest of those (the timer starts when
  the controller first sees the pod on the tainted node and keeps running while the
  taints change, say from ``not-ready`` to ``unreachable``); one tolerating them all
  forever stays;
- the timer is cancelled (event "Cancelling deletion of Pod ns/name") when the taints
  go, or the pod does;
- a deletion records ``TaintManagerEviction`` "Marking for deletion Pod ns/name", sets
  the pod's ``DisruptionTarget`` condition (``DeletionByTaintManager``) and deletes the
  pod gracefully. Its controller replaces it; on a node that is gone for good the pod
  stays Terminating until the pod garbage collector removes it.

Kubernetes' ``DefaultTolerationSeconds`` admission plugin gives every pod tolerations
of ``node.kubernetes.io/not-ready`` and ``node.kubernetes.io/unreachable`` (NoExecute)
for 300 s unless it has its own: :func:`with_default_tolerations` is that rule and
:class:`DefaultTolerationSeconds` the plugin, for the store's admission chain. This
controller also applies the rule to every pod it judges (``default_toleration_seconds``),
so a pod stored without the plugin (another store, an older object) is treated as
Kubernetes would have admitted it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from orbit.api import Node, Pod, PodCondition, Taint, Toleration
from orbit.clock import Clock, to_datetime
from orbit.errors import NotFound
from orbit.store import AdmissionRequest, EventRecorder, EventType, Store

from ._base import BaseController
from ._loop import Key, Watched
from ._node_taints import NOT_READY_TAINT, UNREACHABLE_TAINT, no_execute_taints
from ._pods import delete_pod

__all__ = [
    "DEFAULT_TOLERATION_SECONDS",
    "DefaultTolerationSeconds",
    "TaintEvictionController",
    "eviction_delay",
    "set_pod_condition",
    "with_default_tolerations",
]

DEFAULT_TOLERATION_SECONDS: Final = 300
"""Kubernetes' ``--default-not-ready-toleration-seconds`` and
``--default-unreachable-toleration-seconds``."""


def with_default_tolerations(
    tolerations: Sequence[Toleration], seconds: int
) -> tuple[Toleration, ...]:
    """``tolerations`` plus NoExecute tolerations of ``not-ready`` and ``unreachable``
    for ``seconds``, each unless one already covers it (a toleration with that key or
    none, and the NoExecute effect or none) — the ``DefaultTolerationSeconds``
    admission plugin. The added tolerations are shared objects (they are immutable):
    a hundred thousand pods do not carry two hundred thousand copies."""
    defaults = _defaults(seconds)
    if not tolerations:
        return defaults
    added = list(tolerations)
    for default in defaults:
        key = default.key
        covered = any(t.key in (key, "") and t.effect in ("NoExecute", "") for t in tolerations)
        if not covered:
            added.append(default)
    return tuple(added)


@functools.lru_cache(maxsize=16)
def _defaults(seconds: int) -> tuple[Toleration, ...]:
    return tuple(
        Toleration(key=key, operator="Exists", effect="NoExecute", toleration_seconds=seconds)
        for key in (NOT_READY_TAINT, UNREACHABLE_TAINT)
    )


class DefaultTolerationSeconds:
    """The ``DefaultTolerationSeconds`` admission plugin: every pod created or updated
    gets :func:`with_default_tolerations` (for the store's admission chain, after
    LimitRanger and before ResourceQuota, where Kubernetes runs it)."""

    name = "DefaultTolerationSeconds"

    def __init__(self, seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
        self.seconds = seconds

    def admit(self, request: AdmissionRequest) -> Any:
        """The pod with the default tolerations it lacks; other kinds as they are."""
        obj = request.object
        if not isinstance(obj, Pod):
            return obj
        tolerations = with_default_tolerations(obj.spec.tolerations, self.seconds)
        if tolerations == obj.spec.tolerations:
            return obj
        return attrs.evolve(obj, spec=attrs.evolve(obj.spec, tolerations=tolerations))


def eviction_delay(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> float | None:
    """Seconds until a pod must leave a node with these NoExecute ``taints``: 0 when one
    is not tolerated, the shortest ``tolerationSeconds`` of the tolerations used (the
    first that matches each taint; a value of 0 or less means at once), ``None`` when
    every taint is tolerated forever or there is none (``GetMatchingTolerations``,
    ``getMinTolerationTime``)."""
    if not taints:
        return None
    used = []
    for taint in taints:
        match = next((t for t in tolerations if t.tolerates(taint)), None)
        if match is None:
            return 0.0
        used.append(match)
    shortest = math.inf
    for toleration in used:
        if toleration.toleration_seconds is not None:
            if toleration.toleration_seconds <= 0:
                return 0.0
            shortest = min(shortest, float(toleration.toleration_seconds))
    return None if shortest == math.inf else shortest


def set_pod_condition(pod: Pod, condition: PodCondition, now_s: float) -> Pod:
    """``pod`` with ``condition`` set (``UpdatePodCondition``): its transition time is
    now when the status changes, kept otherwise."""
    old = pod.status.condition(condition.type)
    when = to_datetime(int(now_s))
    if old is not None and old.status == condition.status:
        when = old.last_transition_time or when
    new = attrs.evolve(condition, last_transition_time=when)
    if old == new:
        return pod
    if old is None:
        conditions = (*pod.status.conditions, new)
    else:
        conditions = tuple(new if c is old else c for c in pod.status.conditions)
    return attrs.evolve(pod, status=attrs.evolve(pod.status, conditions=conditions))


@attrs.define
class _Scheduled:
    """A pending eviction: the pod as last seen, when its timer started and fires."""

    pod: Pod
    started: float
    fires: float


class TaintEvictionController(BaseController):
    """Evicts pods from nodes with NoExecute taints they do not tolerate (module
    docstring). Keys are pods; node events reach the pods on the node when the node's
    NoExecute taints change.

    Args:
        store: the cluster's store.
        clock: timers run on ``clock.monotonic()``.
        default_toleration_seconds: the ``DefaultTolerationSeconds`` of every pod;
            ``None`` leaves pods as they are.
        recorder: where events go (default: component ``taint-eviction-controller``).
    """

    name = "taint-eviction-controller"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        default_toleration_seconds: int | None = DEFAULT_TOLERATION_SECONDS,
        recorder: EventRecorder | None = None,
    ) -> None:
        super().__init__(store, clock, recorder=recorder)
        self.default_toleration_seconds = default_toleration_seconds
        self._tainted: dict[str, tuple[Taint, ...]] = {}  # node -> its NoExecute taints
        self._scheduled: dict[Key, _Scheduled] = {}

    @property
    def watches(self) -> tuple[Watched, ...]:
        """Pods (the primary kind), then nodes."""
        return (Watched(Pod, self._pod_keys), Watched(Node, self._node_keys))

    def _pod_keys(self, event: EventType, pod: Pod) -> Iterable[Key]:
        key = (pod.metadata.namespace, pod.metadata.name)
        if key in self._scheduled or pod.spec.node_name in self._tainted:
            return (key,)
        return ()

    def _node_keys(self, event: EventType, node: Node) -> Iterable[Key]:
        name = node.metadata.name
        taints = () if event == "DELETED" else tuple(no_execute_taints(node))
        if taints == self._tainted.get(name, ()):
            return ()
        if taints:
            self._tainted[name] = taints
        else:
            self._tainted.pop(name, None)
        if event == "DELETED":
            return ()  # scheduled evictions stay, as in Kubernetes
        pods = self.store.list(Pod, field_selector={"spec.nodeName": name}).items
        return [(pod.metadata.namespace, pod.metadata.name) for pod in pods]

    # -- reconcile ---------------------------------------------------------------------

    def reconcile(self, key: Key) -> float | None:
        """Start, keep, cancel or carry out the pod's eviction."""
        try:
            pod = self.store.get(Pod, key[1], key[0])
        except NotFound:
            self._cancel(key)
            return None
        scheduled = self._scheduled.get(key)
        if scheduled is not None and scheduled.pod.metadata.uid != pod.metadata.uid:
            self._scheduled.pop(key)  # another pod took the name
            scheduled = None
        if pod.metadata.deletion_timestamp is not None or not pod.spec.node_name:
            self._scheduled.pop(key, None)  # already going, or not on a node
            return None
        try:
            node = self.store.get(Node, pod.spec.node_name)
        except NotFound:
            return self._due(key, scheduled)  # a timer started runs out regardless
        delay = eviction_delay(no_execute_taints(node), self._tolerations(pod))
        if delay is None:
            self._cancel(key)
            return None
        now = self.clock.monotonic()
        if delay == 0:
            self._cancel(key)  # Kubernetes cancels a running timer (with its event) first
            self._scheduled[key] = _Scheduled(pod, now, now)
        elif scheduled is None:
            self._scheduled[key] = _Scheduled(pod, now, now + delay)
        else:
            scheduled.pod = pod  # a timer already runs: it keeps its deadline
        return self._due(key, self._scheduled[key])

    def _tolerations(self, pod: Pod) -> tuple[Toleration, ...]:
        seconds = self.default_toleration_seconds
        if seconds is None:
            return pod.spec.tolerations
        return with_default_tolerations(pod.spec.tolerations, seconds)

    def _due(self, key: Key, scheduled: _Scheduled | None) -> float | None:
        """Evict when the timer has run out, else the seconds left."""
        if scheduled is None:
            return None
        left = scheduled.fires - self.clock.monotonic()
        if left > 0:
            return left
        self._evict(scheduled.pod)  # if this raises, the loop retries with the timer kept
        self._scheduled.pop(key, None)
        return None

    def _evict(self, pod: Pod) -> None:
        """``deletePodHandler``: event, DisruptionTarget condition, graceful delete."""
        meta = pod.metadata
        message = f"Marking for deletion Pod {meta.namespace}/{meta.name}"
        self.recorder.record(pod, "Normal", "TaintManagerEviction", message)
        try:
            current = self.store.get(Pod, meta.name, meta.namespace)
        except NotFound:
            return
        if current.metadata.uid != meta.uid:
            return
        target = PodCondition(
            type="DisruptionTarget",
            status="True",
            reason="DeletionByTaintManager",
            message="Taint manager: deleting due to NoExecute taint",
        )
        marked = set_pod_condition(current, target, self.clock.now())
        if marked is not current:
            current = self.store.update_status(marked)
        delete_pod(self.store, current)

    def _cancel(self, key: Key) -> None:
        scheduled = self._scheduled.pop(key, None)
        if scheduled is not None:
            meta = scheduled.pod.metadata
            message = f"Cancelling deletion of Pod {meta.namespace}/{meta.name}"
            self.recorder.record(scheduled.pod, "Normal", "TaintManagerEviction", message)
