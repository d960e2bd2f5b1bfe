"""Resource-list arithmetic and a pod's effective requests and limits, as Kubernetes'
quota and LimitRanger code computes them (``k8s.io/apiserver/pkg/quota/v1``
``resources.go``; ``k8s.io/component-helpers/resource`` ``PodRequests`` /
``PodLimits``).

Sums keep Kubernetes' formats: a sum takes the format of its first non-zero term
(``Quantity.Add``), so ``1Gi + 512Mi`` prints ``1536Mi``, as a quota's ``status.used``
does. Pure functions over immutable data: no store, no clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from orbit.api import Container, Pod, Quantity

__all__ = [
    "ZERO",
    "ResourceMap",
    "add",
    "exceeded",
    "is_best_effort",
    "mask",
    "pod_limits",
    "pod_requests",
    "pretty_print",
    "remove_zeros",
    "subtract_non_negative",
]

ResourceMap = dict[str, Quantity]

ZERO = Quantity("0")

_QOS_RESOURCES = ("cpu", "memory")


def add(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceMap:
    """``a + b`` per resource (``quota.Add``): a resource in one list only is copied."""
    result = dict(a)
    for name, quantity in b.items():
        present = result.get(name)
        result[name] = quantity if present is None else present + quantity
    return result


def subtract_non_negative(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceMap:
    """``a - b`` per resource, never below zero; resources only in ``b`` are zero
    (``quota.SubtractWithNonNegativeResult``: what an update charges)."""
    result: ResourceMap = {}
    for name, quantity in a.items():
        other = b.get(name)
        difference = quantity if other is None else quantity - other
        result[name] = difference if difference > ZERO else ZERO
    for name in b:
        result.setdefault(name, ZERO)
    return result


def mask(items: Mapping[str, Quantity], names: Iterable[str]) -> ResourceMap:
    """The entries of ``items`` whose resource is in ``names`` (``quota.Mask``)."""
    wanted = names if isinstance(names, Collection) else set(names)
    return {name: quantity for name, quantity in items.items() if name in wanted}


def remove_zeros(items: Mapping[str, Quantity]) -> ResourceMap:
    """The non-zero entries (``quota.RemoveZeros``)."""
    return {name: quantity for name, quantity in items.items() if not quantity.is_zero()}


def exceeded(used: Mapping[str, Quantity], hard: Mapping[str, Quantity]) -> list[str]:
    """The resources of ``hard`` that ``used`` goes beyond, sorted
    (``quota.LessThanOrEqual``'s second result)."""
    return sorted(name for name, cap in hard.items() if name in used and used[name] > cap)


def pretty_print(items: Mapping[str, Quantity]) -> str:
    """``name=value`` pairs sorted by name and joined by commas, as quota messages print
    them (``requests.cpu=2,requests.memory=1Gi``)."""
    return ",".join(f"{name}={items[name]}" for name in sorted(items))


def _add_into(total: ResourceMap, items: Mapping[str, Quantity]) -> None:
    for name, quantity in items.items():
        present = total.get(name)
        total[name] = quantity if present is None else present + quantity


def _max_into(total: ResourceMap, items: Mapping[str, Quantity]) -> None:
    for name, quantity in items.items():
        present = total.get(name)
        if present is None or quantity > present:
            total[name] = quantity


def _effective(
    containers: tuple[Container, ...], inits: tuple[Container, ...], field: str
) -> ResourceMap:
    """App containers summed, then raised to each init container's value: init
    containers run one at a time, before the app containers (orbit has no sidecars)."""
    total: ResourceMap = {}
    for container in containers:
        _add_into(total, getattr(container.resources, field))
    init_total: ResourceMap = {}
    for container in inits:
        _max_into(init_total, getattr(container.resources, field))
    _max_into(total, init_total)
    return total


def pod_requests(pod: Pod) -> ResourceMap:
    """What the pod requests in all (``PodRequests``; orbit ignores pod overhead)."""
    return _effective(pod.spec.containers, pod.spec.init_containers, "requests")


def pod_limits(pod: Pod) -> ResourceMap:
    """The pod's limits in all (``PodLimits``): only resources some container limits."""
    return _effective(pod.spec.containers, pod.spec.init_containers, "limits")


def is_best_effort(pod: Pod) -> bool:
    """Whether the pod's QoS class is BestEffort: no container requests or limits any
    cpu or memory (``qos.GetPodQOS``; zero amounts do not count)."""
    for container in pod.spec.all_containers():
        resources = container.resources
        for name in _QOS_RESOURCES:
            for found in (resources.requests.get(name), resources.limits.get(name)):
                if found is not None and found > ZERO:
                    return False
    return True
