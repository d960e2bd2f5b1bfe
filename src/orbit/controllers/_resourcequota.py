"""The ResourceQuota controller: keeps each quota's ``status.hard`` and ``status.used``
current (Kubernetes' ``pkg/controller/resourcequota``).

A reconcile recomputes the quota's usage from what its namespace holds now
(:func:`orbit.admission.calculate_usage`, the arithmetic quota admission uses) and
writes ``status.hard`` (the spec's) and ``status.used`` when either changed. Usage of
a resource no evaluator tracks keeps its last value, as in Kubernetes.

What triggers one follows Kubernetes' replenishment: admission already charged every
object it admitted, so creations do not; what *releases* usage does:

- a quota created, or edited so its status no longer matches its spec;
- an object of a counted kind deleted (every kind but Events);
- a pod that finished (Succeeded / Failed), or that is being deleted: a pod whose
  deletion is overdue by more than its grace period (a lost node) stops counting, so
  the reconcile looks again at that moment;
- any change to a Service (its type decides load balancers and node ports).

Each maps to every quota of the object's namespace.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from orbit.admission import (
    calculate_usage,
    counts_for_quota,
    evaluator_for,
    evaluators,
    is_current,
    stops_counting_at,
)
from orbit.api import (
    KindInfo,
    Pod,
    Quantity,
    ResourceQuota,
    ResourceQuotaStatus,
    Service,
    kind_info,
)
from orbit.clock import Clock
from orbit.errors import NotFound
from orbit.store import EventType, Store

from ._loop import Key, Watched

__all__ = ["RELEASE_MARGIN_S", "ResourceQuotaController", "quota_status", "release_delay"]

RELEASE_MARGIN_S = 0.001
"""How long after an overdue pod's deadline the controller looks again: Kubernetes
releases it once the clock is strictly past the deadline."""

_FINISHED = ("Succeeded", "Failed")


def quota_status(
    quota: ResourceQuota, objects: Callable[[KindInfo], Iterable[Any]], now: float
) -> ResourceQuotaStatus:
    """The status the quota should have (``syncResourceQuota``): hard from the spec,
    used recomputed for every tracked resource (``objects(kind)`` lists the namespace's
    objects of a kind), the last value kept for untracked ones."""
    hard: Mapping[str, Quantity] = dict(quota.spec.hard)
    used = {**quota.status.used, **calculate_usage(quota, objects, now)}
    return ResourceQuotaStatus(
        hard=hard, used={name: q for name, q in used.items() if name in hard}
    )


_POD = kind_info(Pod)


def _tracks_pods(quota: ResourceQuota) -> bool:
    evaluator = evaluator_for(_POD)
    return evaluator is not None and bool(evaluator.matching_resources(quota.spec.hard))


def release_delay(quota: ResourceQuota, pods: Iterable[Pod], now: float) -> float | None:
    """Seconds until a pod being deleted stops counting for the quota (its deletion
    overdue by more than its grace period), if one will; ``None`` otherwise."""
    if not _tracks_pods(quota):
        return None
    deadlines = [
        at
        for pod in pods
        if counts_for_quota(pod, now) and (at := stops_counting_at(pod)) is not None
    ]
    if not deadlines:
        return None
    return max(min(deadlines) - now, 0.0) + RELEASE_MARGIN_S


class ResourceQuotaController:
    """Keeps ResourceQuota status current (module docstring).

    Args:
        store: the cluster's store.
        clock: where "now" comes from (pods stuck terminating stop counting in time).
    """

    name = "resourcequota-controller"

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @property
    def watches(self) -> Sequence[Watched]:
        special = {ResourceQuota, Pod, Service}
        counted = [
            Watched(evaluator.info.cls, self._deleted_keys)
            for evaluator in evaluators()
            if evaluator.info.cls not in special
        ]
        return (
            Watched(ResourceQuota, self._quota_keys),
            Watched(Pod, self._pod_keys),
            Watched(Service, self._service_keys),
            *counted,
        )

    # -- what concerns which quota ------------------------------------------------------

    def _namespace_quotas(self, namespace: str) -> tuple[Key, ...]:
        quotas = self.store.list(ResourceQuota, namespace=namespace).items
        return tuple((namespace, q.metadata.name) for q in quotas)

    def _quota_keys(self, event: EventType, quota: ResourceQuota) -> Iterable[Key]:
        meta = quota.metadata
        if event == "DELETED":  # other quotas may count resourcequotas
            return self._namespace_quotas(meta.namespace)
        if event == "ADDED" or not is_current(quota):
            return ((meta.namespace, meta.name),)
        return ()  # a status write (ours, or admission's charge)

    def _pod_keys(self, event: EventType, pod: Pod) -> Iterable[Key]:
        meta = pod.metadata
        releasing = pod.status.phase in _FINISHED or meta.deletion_timestamp is not None
        if event == "DELETED" or (event == "MODIFIED" and releasing):
            return self._namespace_quotas(meta.namespace)
        return ()

    def _service_keys(self, event: EventType, service: Service) -> Iterable[Key]:
        if event == "ADDED":
            return ()
        return self._namespace_quotas(service.metadata.namespace)

    def _deleted_keys(self, event: EventType, obj: Any) -> Iterable[Key]:
        if event != "DELETED":
            return ()
        return self._namespace_quotas(obj.metadata.namespace)

    # -- reconcile ------------------------------------------------------------------------

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        try:
            quota = self.store.get(ResourceQuota, name, namespace)
        except NotFound:
            return None
        now = self.clock.now()

        @functools.cache
        def objects(info: KindInfo) -> list[Any]:
            return self.store.list(info, namespace=namespace).items

        status = quota_status(quota, objects, now)
        if status != quota.status:
            self.store.update_status(attrs.evolve(quota, status=status))
        pods = objects(_POD) if _tracks_pods(quota) else ()
        return release_delay(quota, pods, now)
