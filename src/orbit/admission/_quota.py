"""Quota usage: what one object charges a ResourceQuota, and what a namespace uses in
all (Kubernetes' ``pkg/quota/v1/evaluator/core`` and ``quota/v1/generic``).

One *evaluator* per kind knows which quota resources that kind can consume and how
much an object of it does:

- **pods**: ``requests.cpu``, ``requests.memory``, ``requests.ephemeral-storage``
  (``cpu``, ``memory``, ``ephemeral-storage`` are their aliases), ``limits.*`` of the
  same, ``pods``, ``count/pods``, ``hugepages-*`` / ``requests.hugepages-*`` and
  extended resources as ``requests.<name>`` (``requests.nvidia.com/gpu``). A pod
  that reached Succeeded or Failed, or whose deletion is overdue by more than its
  grace period (a lost node), charges ``count/pods`` only. Scopes: Terminating /
  NotTerminating (``activeDeadlineSeconds``), BestEffort / NotBestEffort (QoS),
  PriorityClass (has a ``priorityClassName``: ``scopes`` is the ``Exists`` form;
  orbit ignores ``scopeSelector``) and CrossNamespacePodAffinity.
- **services**: ``services``, ``count/services``, ``services.loadbalancers`` and
  ``services.nodeports`` (every port of a NodePort or LoadBalancer service).
- **every other namespaced kind**: ``count/<plural>[.<group>]`` (``count/jobs.batch``,
  ``count/deployments.apps``), plus the legacy names ``configmaps``, ``secrets`` and
  ``resourcequotas``. Objects of these kinds never match a scoped quota.

Events are ignored, as Kubernetes' default quota configuration ignores them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from orbit.api import (
    KindInfo,
    Pod,
    PodAffinityTerm,
    Quantity,
    ResourceQuota,
    Service,
    all_kinds,
    is_extended_resource_name,
    kind_info,
)
from orbit.store import Operation

from ._resources import ZERO, ResourceMap, add, is_best_effort, mask, pod_limits, pod_requests

__all__ = [
    "Evaluator",
    "IGNORED_KINDS",
    "calculate_usage",
    "counts_for_quota",
    "evaluator_for",
    "evaluators",
    "quota_matches",
    "stops_counting_at",
    "tracked_resources",
]

IGNORED_KINDS = frozenset({"Event"})
"""Kinds quota never charges (Kubernetes' ``DefaultIgnoredResources``)."""

ONE = Quantity("1")
_FINISHED = ("Succeeded", "Failed")
_VALIDATION_SET = frozenset(
    {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
)
"""Quota resources a pod must state for every container when a quota tracks them."""
_LEGACY_NAMES = {
    "configmaps": "configmaps",
    "secrets": "secrets",
    "resourcequotas": "resourcequotas",
}
_POD_RESOURCES = frozenset(
    {
        "count/pods",
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
    }
)
_POD_PREFIXES = ("hugepages-", "requests.hugepages-")
_SERVICE_RESOURCES = frozenset(
    {"count/services", "services", "services.loadbalancers", "services.nodeports"}
)


class Evaluator(Protocol):
    """Quota knowledge about one kind (Kubernetes' ``quota.Evaluator``)."""

    @property
    def info(self) -> KindInfo: ...

    def handles(self, operation: Operation, obj: Any, old: Any | None) -> bool:
        """Whether this write can change what the object charges."""
        ...

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` (quota resources) objects of this kind consume."""
        ...

    def matches_scope(self, scope: str, obj: Any) -> bool:
        """Whether ``obj`` falls in a quota scope (``BestEffort``...)."""
        ...

    def usage(self, obj: Any, now: float) -> ResourceMap:
        """What ``obj`` charges, at ``now`` (epoch seconds)."""
        ...

    def constraints(self, required: Iterable[str], obj: Any) -> str | None:
        """Why ``obj`` may not be charged to a quota tracking ``required``, if it may not."""
        ...


def count_name(info: KindInfo) -> str:
    """``count/<plural>[.<group>]``: the object-count quota resource of a kind."""
    return f"count/{info.plural}.{info.group}" if info.group else f"count/{info.plural}"


# --- pods --------------------------------------------------------------------------------


def counts_for_quota(pod: Pod, now: float) -> bool:
    """Whether the pod's compute resources are charged (``QuotaV1Pod``): not once it
    has finished, nor once its deletion is overdue by more than its grace period (a
    pod stuck terminating on a lost node must not block its replacement)."""
    if pod.status.phase in _FINISHED:
        return False
    meta = pod.metadata
    if meta.deletion_timestamp is not None and meta.deletion_grace_period_seconds is not None:
        overdue_at = meta.deletion_timestamp.timestamp() + meta.deletion_grace_period_seconds
        return now <= overdue_at
    return True


def stops_counting_at(pod: Pod) -> float | None:
    """When a pod being deleted stops counting for quota (epoch seconds), if it is."""
    meta = pod.metadata
    if meta.deletion_timestamp is None or meta.deletion_grace_period_seconds is None:
        return None
    return meta.deletion_timestamp.timestamp() + meta.deletion_grace_period_seconds


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_extended_for_quota(name: str) -> bool:
    return name.startswith("requests.") and not _is_native(name)


def compute_usage(requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> ResourceMap:
    """The quota resources a pod (or container) with these requests and limits
    charges, ``pods`` included (``podComputeUsageHelper``)."""
    result: ResourceMap = {"pods": ONE}
    for resource in ("cpu", "memory", "ephemeral-storage"):
        request = requests.get(resource)
        if request is not None:
            result[resource] = result[f"requests.{resource}"] = request
        limit = limits.get(resource)
        if limit is not None:
            result[f"limits.{resource}"] = limit
    for resource, request in requests.items():
        if resource.startswith("hugepages-"):
            result[resource] = result[f"requests.{resource}"] = request
        if is_extended_resource_name(resource):
            result[f"requests.{resource}"] = request
    return result


def _cross_namespace(terms: Iterable[PodAffinityTerm]) -> bool:
    return any(term.namespaces or term.namespace_selector is not None for term in terms)


def uses_cross_namespace_affinity(pod: Pod) -> bool:
    """Whether a pod (anti-)affinity term looks beyond the pod's namespace."""
    affinity = pod.spec.affinity
    if affinity is None:
        return False
    for rules in (affinity.pod_affinity, affinity.pod_anti_affinity):
        if rules is None:
            continue
        required = rules.required_during_scheduling_ignored_during_execution
        preferred = rules.preferred_during_scheduling_ignored_during_execution
        if _cross_namespace(required) or _cross_namespace(t.pod_affinity_term for t in preferred):
            return True
    return False


def is_terminating(pod: Pod) -> bool:
    """Whether the pod falls in the Terminating scope: it has an active deadline."""
    deadline = pod.spec.active_deadline_seconds
    return deadline is not None and deadline >= 0


class PodEvaluator:
    """Pods: compute resources, ``pods`` and ``count/pods``; every scope."""

    info = kind_info(Pod)

    def handles(self, operation: Operation, obj: Any, old: Any | None) -> bool:
        if operation == "UPDATE" and old is not None:
            return is_terminating(old) != is_terminating(obj)  # a scope changed
        return operation == "CREATE"

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return [
            name
            for name in names
            if name in _POD_RESOURCES
            or name.startswith(_POD_PREFIXES)
            or _is_extended_for_quota(name)
        ]

    def matches_scope(self, scope: str, obj: Any) -> bool:
        if scope == "Terminating":
            return is_terminating(obj)
        if scope == "NotTerminating":
            return not is_terminating(obj)
        if scope == "BestEffort":
            return is_best_effort(obj)
        if scope == "NotBestEffort":
            return not is_best_effort(obj)
        if scope == "PriorityClass":
            return bool(obj.spec.priority_class_name)
        if scope == "CrossNamespacePodAffinity":
            return uses_cross_namespace_affinity(obj)
        return False

    def usage(self, obj: Any, now: float) -> ResourceMap:
        result: ResourceMap = {"count/pods": ONE}
        if not counts_for_quota(obj, now):
            return result
        return add(result, compute_usage(pod_requests(obj), pod_limits(obj)))

    def constraints(self, required: Iterable[str], obj: Any) -> str | None:
        """Kubernetes' backward-compatibility rule: when a quota tracks cpu or memory,
        every container must state that request or limit."""
        wanted = _VALIDATION_SET.intersection(required)
        if not wanted:
            return None
        missing: dict[str, set[str]] = {}
        for container in obj.spec.all_containers():
            resources = container.resources
            stated = compute_usage(resources.requests, resources.limits)
            for resource in wanted.difference(stated):
                missing.setdefault(resource, set()).add(container.name)
        if not missing:
            return None
        parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
        return "must specify " + "; ".join(parts)


# --- services and plain object counts ----------------------------------------------------


class ServiceEvaluator:
    """Services: ``services``, ``count/services``, load balancers and node ports."""

    info = kind_info(Service)

    def handles(self, operation: Operation, obj: Any, old: Any | None) -> bool:
        return True  # create, and update: the type may change

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name in _SERVICE_RESOURCES]

    def matches_scope(self, scope: str, obj: Any) -> bool:
        return False

    def usage(self, obj: Any, now: float) -> ResourceMap:
        ports = len(obj.spec.ports)
        kind = obj.spec.type
        node_ports = ports if kind in ("NodePort", "LoadBalancer") else 0
        return {
            "count/services": ONE,
            "services": ONE,
            "services.loadbalancers": ONE if kind == "LoadBalancer" else ZERO,
            "services.nodeports": Quantity(node_ports),
        }

    def constraints(self, required: Iterable[str], obj: Any) -> str | None:
        return None


class ObjectCountEvaluator:
    """Any other kind: one ``count/<resource>`` (and a legacy name) per object."""

    def __init__(self, info: KindInfo) -> None:
        self.info = info
        names = [count_name(info)]
        if not info.group and info.plural in _LEGACY_NAMES:
            names.append(_LEGACY_NAMES[info.plural])
        self._names = tuple(names)

    def handles(self, operation: Operation, obj: Any, old: Any | None) -> bool:
        return operation == "CREATE"

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name in self._names]

    def matches_scope(self, scope: str, obj: Any) -> bool:
        return False

    def usage(self, obj: Any, now: float) -> ResourceMap:
        return dict.fromkeys(self._names, ONE)

    def constraints(self, required: Iterable[str], obj: Any) -> str | None:
        return None


# --- the registry ------------------------------------------------------------------------


@functools.cache
def evaluators() -> tuple[Evaluator, ...]:
    """An evaluator for every namespaced kind quota counts, pods first."""
    found: list[Evaluator] = [PodEvaluator(), ServiceEvaluator()]
    special = {Pod, Service}
    for info in all_kinds():
        if info.namespaced and info.cls not in special and info.kind not in IGNORED_KINDS:
            found.append(ObjectCountEvaluator(info))
    return tuple(found)


@functools.cache
def _by_kind() -> dict[KindInfo, Evaluator]:
    return {evaluator.info: evaluator for evaluator in evaluators()}


def evaluator_for(info: KindInfo) -> Evaluator | None:
    """The evaluator for a kind; ``None`` for kinds quota ignores (cluster-scoped
    kinds, Events)."""
    return _by_kind().get(info)


def tracked_resources(hard: Iterable[str]) -> set[str]:
    """The quota resources in ``hard`` that some evaluator computes usage for."""
    names = list(hard)
    return {name for evaluator in evaluators() for name in evaluator.matching_resources(names)}


def quota_matches(quota: ResourceQuota, evaluator: Evaluator, obj: Any) -> bool:
    """Whether ``obj`` is charged to ``quota``: the quota tracks a resource the kind
    consumes and the object falls in every scope of the quota (``generic.Matches``)."""
    if not evaluator.matching_resources(quota.spec.hard):
        return False
    return all(evaluator.matches_scope(scope, obj) for scope in quota.spec.scopes)


def calculate_usage(
    quota: ResourceQuota, objects: Callable[[KindInfo], Iterable[Any]], now: float
) -> ResourceMap:
    """What the quota's namespace uses of every resource the quota tracks
    (``quota.CalculateUsage``): each tracked resource starts at zero and adds the
    usage of every object in the quota's scopes. ``objects(kind)`` lists the
    namespace's objects of a kind."""
    hard = list(quota.spec.hard)
    used: ResourceMap = {}
    matched: set[str] = set()
    for evaluator in evaluators():
        resources = evaluator.matching_resources(hard)
        if not resources:
            continue
        matched.update(resources)
        stats: ResourceMap = dict.fromkeys(resources, ZERO)
        for obj in objects(evaluator.info):
            if all(evaluator.matches_scope(scope, obj) for scope in quota.spec.scopes):
                stats = add(stats, evaluator.usage(obj, now))
        used = add(used, stats)
    return mask(used, matched)
