"""The disruption controller: keeps each PodDisruptionBudget's status, which the
Eviction API (:func:`~orbit.controllers.evict`) and the scheduler's preemption read.

Kubernetes' rules (``pkg/controller/disruption``), as pure functions below:

- the PDB's pods are those its selector picks in its namespace (an absent selector
  picks none, an empty one all);
- **expectedPods / desiredHealthy**: ``minAvailable`` as a number *n* gives
  desiredHealthy *n* and expectedPods the number of selected pods; a percentage
  ``minAvailable`` or any ``maxUnavailable`` takes expectedPods from the scale of the
  pods' controllers (a ReplicaSet's replicas, or its Deployment's when a Deployment
  owns it; each controller counted once); percentages round *up*
  (``GetScaledValueFromIntOrPercent(..., true)``) and desiredHealthy is
  ``expected - maxUnavailable`` (at least 0). Selected pods with no controller are
  left out of the scale (a ``UnmanagedPods`` warning); a controller without a scale
  (a Job, say) fails the sync: ``disruptionsAllowed`` 0, condition reason
  ``SyncFailed``;
- **currentHealthy**: Ready pods that are neither being deleted nor in
  ``disruptedPods`` (evictions admitted in the last 2 minutes, not yet seen deleted;
  older entries are dropped with a ``NotDeleted`` warning on the pod);
- **disruptionsAllowed** = currentHealthy - desiredHealthy, but 0 when negative or
  when no pod is expected; the ``DisruptionAllowed`` condition is True
  (``SufficientPods``) when it is above 0, else False (``InsufficientPods``);
  ``observedGeneration`` is the PDB's generation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final, TypeVar

import attrs

from orbit.api import (
    Condition,
    Deployment,
    OwnerReference,
    Pod,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    PodDisruptionBudgetStatus,
    ReplicaSet,
    Selector,
    lookup_kind,
    selector_from_label_selector,
)
from orbit.clock import to_datetime
from orbit.errors import NotFound, ValidationError
from orbit.store import EventType

from ._base import BaseController
from ._conditions import set_status_condition
from ._intstr import scaled_value
from ._loop import Key, Watched, own_key
from ._pods import is_ready

__all__ = [
    "DELETION_TIMEOUT_S",
    "DisruptionController",
    "ScaleLookup",
    "budget_status",
    "count_healthy",
    "expected_and_desired",
    "pdb_selector",
    "prune_disrupted",
]

DELETION_TIMEOUT_S: Final = 120.0
"""How long an admitted eviction keeps a pod out of currentHealthy (``DeletionTimeout``)."""

ScaleLookup = Callable[[OwnerReference, str], tuple[str, int] | None]
"""(controller reference, namespace) -> (controller uid, its scale), ``None`` when no
controller is found; raises ``ValueError`` for a controller that has no scale."""

_APPS = ("apps", "extensions")
_T = TypeVar("_T")


def pdb_selector(pdb: PodDisruptionBudget) -> Selector:
    """The PDB's selector (absent: nothing, empty: everything); ``ValidationError``
    when it is invalid."""
    return selector_from_label_selector(pdb.spec.selector)


def expected_and_desired(
    spec: PodDisruptionBudgetSpec, pods: Sequence[Pod], scale_of: ScaleLookup
) -> tuple[int, int, list[str]]:
    """(expectedPods, desiredHealthy, unmanaged pod names) for the PDB's pods
    (``getExpectedPodCount``); ``ValueError`` when a scale cannot be found."""
    if spec.max_unavailable is not None:
        expected, unmanaged = _expected_scale(pods, scale_of)
        unavailable = scaled_value(spec.max_unavailable, expected, round_up=True)
        return expected, max(0, expected - unavailable), unmanaged
    if isinstance(spec.min_available, int):
        return len(pods), spec.min_available, []
    if isinstance(spec.min_available, str):
        expected, unmanaged = _expected_scale(pods, scale_of)
        return expected, scaled_value(spec.min_available, expected, round_up=True), unmanaged
    return 0, 0, []


def _expected_scale(pods: Sequence[Pod], scale_of: ScaleLookup) -> tuple[int, list[str]]:
    """The sum of the scales of the pods' controllers, each counted once
    (``getExpectedScale``), and the pods that have no controller."""
    scales: dict[str, int] = {}
    unmanaged = []
    for pod in pods:
        ref = pod.metadata.controller_ref()
        if ref is None:
            unmanaged.append(pod.metadata.name)
            continue
        if ref.uid in scales:
            continue
        found = scale_of(ref, pod.metadata.namespace)
        if found is None:
            raise ValueError(f'found no controllers for pod "{pod.metadata.name}"')
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


def prune_disrupted(
    pods: Sequence[Pod], disrupted: Mapping[str, datetime], now_s: float
) -> tuple[dict[str, datetime], float | None, list[Pod]]:
    """``buildDisruptedPodMap``: the entries still current (pod selected, not being
    deleted, admitted less than 2 minutes ago), the earliest time (epoch seconds) one
    of them expires, and the pods whose entry expired (they were not deleted)."""
    kept: dict[str, datetime] = {}
    recheck: float | None = None
    expired = []
    for pod in pods:
        name = pod.metadata.name
        if pod.metadata.deletion_timestamp is not None or name not in disrupted:
            continue
        deadline = disrupted[name].timestamp() + DELETION_TIMEOUT_S
        if deadline < now_s:
            expired.append(pod)
            continue
        kept[name] = disrupted[name]
        recheck = deadline if recheck is None else min(recheck, deadline)
    return kept, recheck, expired


def count_healthy(pods: Sequence[Pod], disrupted: Mapping[str, datetime], now_s: float) -> int:
    """Ready pods neither being deleted nor expected to be (``countHealthyPods``)."""
    healthy = 0
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        since = disrupted.get(pod.metadata.name)
        if since is not None and since.timestamp() + DELETION_TIMEOUT_S > now_s:
            continue
        healthy += is_ready(pod)
    return healthy


def budget_status(
    pdb: PodDisruptionBudget,
    *,
    current_healthy: int,
    desired_healthy: int,
    expected_pods: int,
    disrupted: Mapping[str, datetime],
    now_s: float,
) -> PodDisruptionBudgetStatus:
    """The status ``updatePdbStatus`` writes, with the DisruptionAllowed condition."""
    allowed = current_healthy - desired_healthy
    if expected_pods <= 0 or allowed <= 0:
        allowed = 0
    status = PodDisruptionBudgetStatus(
        observed_generation=pdb.metadata.generation,
        disrupted_pods=dict(disrupted),
        disruptions_allowed=allowed,
        current_healthy=current_healthy,
        desired_healthy=desired_healthy,
        expected_pods=expected_pods,
        conditions=pdb.status.conditions,
    )
    return with_allowed_condition(status, now_s)


def with_allowed_condition(
    status: PodDisruptionBudgetStatus, now_s: float, *, failure: str | None = None
) -> PodDisruptionBudgetStatus:
    """``status`` with its DisruptionAllowed condition set from
    ``disruptions_allowed`` (``UpdateDisruptionAllowedCondition``), or False /
    ``SyncFailed`` with ``failure`` as the message."""
    if failure is not None:
        wanted = Condition(type="DisruptionAllowed", status="False", reason="SyncFailed")
        wanted = attrs.evolve(wanted, message=failure)
    elif status.disruptions_allowed > 0:
        wanted = Condition(type="DisruptionAllowed", status="True", reason="SufficientPods")
    else:
        wanted = Condition(type="DisruptionAllowed", status="False", reason="InsufficientPods")
    wanted = attrs.evolve(wanted, observed_generation=status.observed_generation)
    return attrs.evolve(
        status, conditions=set_status_condition(status.conditions, wanted, to_datetime(int(now_s)))
    )


class DisruptionController(BaseController):
    """Computes the status of every PodDisruptionBudget (module docstring); takes the
    store, the clock status times are read on, and an optional ``recorder``
    (:class:`BaseController`; events come from ``controllermanager``)."""

    name = "disruption-controller"
    event_component = "controllermanager"

    @property
    def watches(self) -> tuple[Watched, ...]:
        """PodDisruptionBudgets (the primary kind), then the pods they select."""
        return (Watched(PodDisruptionBudget, own_key), Watched(Pod, self._pod_keys))

    def _pod_keys(self, _event: EventType, pod: Pod) -> Iterable[Key]:
        namespace = pod.metadata.namespace
        keys = []
        for pdb in self.store.list(PodDisruptionBudget, namespace=namespace).items:
            try:
                selector = pdb_selector(pdb)
            except ValidationError:
                continue
            if selector.matches(pod.metadata.labels):
                keys.append((namespace, pdb.metadata.name))
        return keys

    def reconcile(self, key: Key) -> float | None:
        """Write the PDB's status; the seconds until a disrupted pod's entry expires."""
        try:
            pdb = self.store.get(PodDisruptionBudget, key[1], key[0])
        except NotFound:
            return None
        now = self.clock.now()
        try:
            pods = self.store.list(Pod, namespace=key[0], label_selector=pdb_selector(pdb)).items
        except ValidationError as error:
            self.recorder.record(pdb, "Warning", "NoPods", f"Failed to get pods: {error}")
            self._fail_safe(pdb, str(error), now)
            return None
        if not pods:
            self.recorder.record(pdb, "Normal", "NoPods", "No matching pods found")
        try:
            expected, desired, unmanaged = expected_and_desired(pdb.spec, pods, self._scale_of)
        except ValueError as error:
            message = f"Failed to calculate the number of expected pods: {error}"
            self.recorder.record(pdb, "Warning", "CalculateExpectedPodCountFailed", message)
            self._fail_safe(pdb, str(error), now)
            return None
        if unmanaged:
            self._warn_unmanaged(pdb)
        disrupted, recheck, expired = prune_disrupted(pods, pdb.status.disrupted_pods, now)
        for pod in expired:
            message = (
                f"Pod was expected by PDB {pdb.metadata.namespace}/{pdb.metadata.name} "
                "to be deleted but it wasn't"
            )
            self.recorder.record(pod, "Warning", "NotDeleted", message)
        status = budget_status(
            pdb,
            current_healthy=count_healthy(pods, disrupted, now),
            desired_healthy=desired,
            expected_pods=expected,
            disrupted=disrupted,
            now_s=now,
        )
        if status != pdb.status:
            self.store.update_status(attrs.evolve(pdb, status=status))
        return None if recheck is None else max(0.0, recheck - now)

    def _fail_safe(self, pdb: PodDisruptionBudget, message: str, now: float) -> None:
        """``failSafe``: no disruption allowed while the status cannot be computed."""
        status = attrs.evolve(pdb.status, disruptions_allowed=0)
        status = with_allowed_condition(status, now, failure=message)
        if status != pdb.status:
            self.store.update_status(attrs.evolve(pdb, status=status))

    def _warn_unmanaged(self, pdb: PodDisruptionBudget) -> None:
        message = (
            f"Pods selected by this PodDisruptionBudget (selector: {pdb_selector(pdb)}) were "
            "found to be unmanaged. As a result, the status of the PDB cannot be calculated "
            "correctly, which may result in undefined behavior. To account for these pods "
            'please set ".spec.minAvailable" field of the PDB to an integer value.'
        )
        self.recorder.record(pdb, "Warning", "UnmanagedPods", message)

    def _scale_of(self, ref: OwnerReference, namespace: str) -> tuple[str, int] | None:
        """The scale of a pod's controller, as the disruption controller's finders
        find it: a Deployment through its ReplicaSet, a ReplicaSet, a Deployment."""
        group = ref.api_version.rpartition("/")[0]
        if ref.kind == "ReplicaSet" and group in _APPS:
            rs = self._get(ReplicaSet, ref.name, namespace)
            if rs is None or rs.metadata.uid != ref.uid:
                return None
            owner = rs.metadata.controller_ref()
            if owner is not None and owner.kind == "Deployment":
                deployment = self._get(Deployment, owner.name, namespace)
                if deployment is not None and deployment.metadata.uid == owner.uid:
                    return deployment.metadata.uid, deployment.spec.replicas
            return rs.metadata.uid, rs.spec.replicas
        if ref.kind == "Deployment" and group in _APPS:
            deployment = self._get(Deployment, ref.name, namespace)
            if deployment is None or deployment.metadata.uid != ref.uid:
                return None
            return deployment.metadata.uid, deployment.spec.replicas
        info = lookup_kind(ref.kind)
        if info is None or info.group != group:
            raise ValueError(f'no matches for kind "{ref.kind}" in version "{ref.api_version}"')
        resource = f"{info.plural}.{info.group}" if info.group else info.plural
        raise ValueError(f"{resource} does not implement the scale subresource")

    def _get(self, kind: type[_T], name: str, namespace: str) -> _T | None:
        try:
            return self.store.get(kind, name, namespace)
        except NotFound:
            return None
