"""The Eviction API: delete a pod only if its PodDisruptionBudget allows it.

What Kubernetes' ``pods/eviction`` subresource does (``EvictionREST.Create``), as one
synchronous function over the store:

1. a pod that is Pending, finished or already being deleted is deleted at once: it
   disrupts nothing;
2. the PodDisruptionBudgets of the pod's namespace whose selector matches its labels
   are found (an absent selector matches nothing, an empty one everything); more than
   one is an error, none lets the pod go;
3. a pod that is not Ready goes without spending the budget when the budget's
   ``unhealthyPodEvictionPolicy`` is ``AlwaysAllow``, or when the application is not
   disrupted now (``currentHealthy >= desiredHealthy > 0``);
4. otherwise the budget is checked and spent (``checkAndDecrement``): a budget whose
   status is older than its spec, or with ``disruptionsAllowed`` 0, refuses with
   :class:`~orbit.errors.TooManyRequests` ("Cannot evict pod as it would violate the
   pod's disruption budget."); else ``disruptionsAllowed`` goes down by one and the
   pod is recorded in ``disruptedPods`` with the time, so the disruption controller
   counts it as gone before its deletion is seen;
5. the pod gets the ``DisruptionTarget`` condition (``EvictionByEvictionAPI``) and is
   deleted gracefully (its ``terminationGracePeriodSeconds``, or ``grace_s``).
"""

from __future__ import annotations

from typing import Final

import attrs

from orbit.api import Pod, PodCondition, PodDisruptionBudget
from orbit.clock import Clock, to_datetime
from orbit.errors import Conflict, Forbidden, OrbitError, TooManyRequests, ValidationError
from orbit.store import Store

from ._disruption import pdb_selector, with_allowed_condition
from ._pods import FINISHED_PHASES, is_ready
from ._taint_eviction import set_pod_condition

__all__ = [
    "EVICTION_REFUSED",
    "MAX_DISRUPTED_POD_SIZE",
    "can_ignore_budget",
    "evict",
    "pod_budgets",
    "spend_budget",
]

EVICTION_REFUSED: Final = "Cannot evict pod as it would violate the pod's disruption budget."
MAX_DISRUPTED_POD_SIZE: Final = 2000
_RETRIES: Final = 20  # EvictionsRetry.Steps
_TARGET: Final = PodCondition(
    type="DisruptionTarget",
    status="True",
    reason="EvictionByEvictionAPI",
    message="Eviction API: evicting",
)


def can_ignore_budget(pod: Pod) -> bool:
    """Pending, finished or already terminating pods disrupt nothing (``canIgnorePDB``)."""
    return (
        pod.status.phase in (*FINISHED_PHASES, "Pending")
        or pod.metadata.deletion_timestamp is not None
    )


def pod_budgets(store: Store, pod: Pod) -> list[PodDisruptionBudget]:
    """The PDBs of the pod's namespace that select it (invalid selectors select none)."""
    found = []
    listed = store.list(PodDisruptionBudget, namespace=pod.metadata.namespace)
    for pdb in listed.items:
        try:
            selector = pdb_selector(pdb)
        except ValidationError:
            continue
        if selector.matches(pod.metadata.labels):
            found.append(pdb)
    return found


def spend_budget(pdb: PodDisruptionBudget, pod_name: str, now_s: float) -> PodDisruptionBudget:
    """The budget with one disruption spent on ``pod_name`` (``checkAndDecrement``), or
    :class:`TooManyRequests` / :class:`Forbidden` when it allows none."""
    status = pdb.status
    name = pdb.metadata.name
    if status.observed_generation < pdb.metadata.generation:
        cause = f"The disruption budget {name} is still being processed by the server."
        raise TooManyRequests(EVICTION_REFUSED, causes=(cause,), retry_after_s=10)
    if status.disruptions_allowed < 0:
        raise Forbidden("poddisruptionbudgets.policy", name, "pdb disruptions allowed is negative")
    if len(status.disrupted_pods) > MAX_DISRUPTED_POD_SIZE:
        reason = "DisruptedPods map too big - too many evictions not confirmed by PDB controller"
        raise Forbidden("poddisruptionbudgets.policy", name, reason)
    if status.disruptions_allowed == 0:
        cause = (
            f"The disruption budget {name} needs {status.desired_healthy} healthy pods "
            f"and has {status.current_healthy} currently"
        )
        raise TooManyRequests(EVICTION_REFUSED, causes=(cause,))
    status = attrs.evolve(
        status,
        disruptions_allowed=status.disruptions_allowed - 1,
        disrupted_pods={**status.disrupted_pods, pod_name: to_datetime(int(now_s))},
    )
    if status.disruptions_allowed == 0:
        status = with_allowed_condition(status, now_s)
    return attrs.evolve(pdb, status=status)


def evict(store: Store, clock: Clock, pod: Pod, *, grace_s: int | None = None) -> Pod:
    """Evict ``pod`` (found again by namespace and name) as the Eviction API does (module
    docstring); returns the pod as its deletion left it. ``NotFound`` when it is gone;
    :class:`TooManyRequests` when its disruption budget refuses (retry later)."""
    current = _judged(store, clock, pod, grace_s)
    if isinstance(current, _Deleted):
        return current.pod
    budgets = pod_budgets(store, current)
    if len(budgets) > 1:
        raise OrbitError(
            "This pod has more than one PodDisruptionBudget, which the eviction "
            "subresource does not support."
        )
    if not budgets:
        return _delete(store, clock, current, grace_s, exact=False)
    pdb = budgets[0]
    if not is_ready(current):
        status = pdb.status
        healthy_enough = status.current_healthy >= status.desired_healthy > 0
        if pdb.spec.unhealthy_pod_eviction_policy == "AlwaysAllow" or healthy_enough:
            try:
                return _delete(store, clock, current, grace_s, exact=True)
            except Conflict:  # it changed (turned Ready?) since: the client retries
                raise TooManyRequests(EVICTION_REFUSED) from None
    _spend(store, clock, pdb, current.metadata.name)
    return _delete(store, clock, current, grace_s, exact=False)


@attrs.frozen
class _Deleted:
    pod: Pod


def _judged(store: Store, clock: Clock, pod: Pod, grace_s: int | None) -> Pod | _Deleted:
    """The pod to judge against its budget, or, when it needs none, the pod deleted
    (retried on conflicts, as ``EvictionREST`` retries)."""
    meta = pod.metadata
    conflicts = 0
    while True:
        current: Pod = store.get(Pod, meta.name, meta.namespace)
        if not can_ignore_budget(current):
            return current
        # A Pending pod could start meanwhile: only the version judged may go.
        pending = current.status.phase == "Pending"
        exact = pending and current.metadata.deletion_timestamp is None
        try:
            return _Deleted(_delete(store, clock, current, grace_s, exact=exact))
        except Conflict:
            conflicts += 1
            if conflicts >= _RETRIES:
                raise


def _spend(store: Store, clock: Clock, pdb: PodDisruptionBudget, pod_name: str) -> None:
    """Spend one disruption, re-reading the budget on a conflicting write."""
    for _ in range(_RETRIES):
        try:
            store.update_status(spend_budget(pdb, pod_name, clock.now()))
        except Conflict:
            pdb = store.get(PodDisruptionBudget, pdb.metadata.name, pdb.metadata.namespace)
            continue
        return
    message = f'couldn\'t update PodDisruptionBudget "{pdb.metadata.name}" due to conflicts'
    raise OrbitError(message)


def _delete(store: Store, clock: Clock, pod: Pod, grace_s: int | None, *, exact: bool) -> Pod:
    """Set the DisruptionTarget condition, then delete gracefully; with ``exact`` only
    the very version of the pod that was judged (a resourceVersion precondition)."""
    meta = pod.metadata
    if not exact:
        pod = store.get(Pod, meta.name, meta.namespace)
    marked = set_pod_condition(pod, _TARGET, clock.now())
    if marked is not pod:
        pod = store.update_status(marked)  # Conflict when it changed since it was judged
    grace = pod.spec.termination_grace_period_seconds if grace_s is None else grace_s
    if not pod.spec.node_name or pod.status.phase in FINISHED_PHASES:
        grace = 0  # the API server's rule: nothing runs it
    deleted: Pod = store.delete(
        Pod,
        meta.name,
        meta.namespace,
        grace_period_s=grace,
        resource_version=pod.metadata.resource_version if exact else None,
    )
    return deleted
