"""Resource arithmetic for the scheduler: what a pod requests and what a node offers.

Every amount is an integer number of **milli-units** per resource name
(``Quantity.milli_value()``): millicores for ``cpu``, thousandths of a byte for
``memory``, thousandths of a device for ``nvidia.com/gpu``. One integer scale for
every resource keeps the filter a plain comparison and the numpy columns of the
snapshot a single ``int64`` dtype. A node's pod slots are the resource ``pods``: each
pod requests ``POD_MILLI`` (1000) of it, so "Too many pods" is one more comparison.

A pod's effective request is Kubernetes' (``resourcehelper.PodRequests``): per
resource, the larger of the sum over app containers and the largest init container
(init containers run one at a time, before the app containers). orbit has no pod
overhead and no sidecar (restartable init) containers, so nothing is added.

Scoring needs a second view, Kubernetes' *non-zero* request: a container that names
no cpu (memory) request counts as 100 millicores (200 MiB), so that pods without
requests do not all pile onto one node. Only the scorers use it; the filter uses the
real requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from orbit.api import CPU, EPHEMERAL_STORAGE, GPU, MEMORY, PODS, Container, Node, Pod, Quantity

__all__ = [
    "DEFAULT_CPU_MILLI",
    "DEFAULT_MEMORY_MILLI",
    "POD_MILLI",
    "PodResources",
    "add",
    "fits",
    "insufficient",
    "insufficient_reason",
    "milli",
    "node_allocatable",
    "pod_resources",
    "resource_order",
    "subtract",
]

POD_MILLI: Final = 1000
"""What one pod takes of its node's ``pods`` resource."""

DEFAULT_CPU_MILLI: Final = 100
"""Kubernetes' ``DefaultMilliCPURequest``: scoring's cpu for a container without one."""

DEFAULT_MEMORY_MILLI: Final = 200 * 1024 * 1024 * 1000
"""Kubernetes' ``DefaultMemoryRequest`` (200 MiB), in milli-bytes."""

_FIRST: Final = (PODS, CPU, MEMORY, EPHEMERAL_STORAGE)
_MILLI_CACHE: dict[Quantity, int] = {}
_POD_CACHE: dict[tuple[int, int], tuple[object, object, PodResources]] = {}
_POD_CACHE_MAX: Final = 65_536


def milli(quantity: Quantity) -> int:
    """``quantity.milli_value()``, memoised: the 100,000 pods asking for "500m" share
    one Quantity, so its Decimal arithmetic runs once."""
    value = _MILLI_CACHE.get(quantity)
    if value is None:
        value = quantity.milli_value()
        if len(_MILLI_CACHE) < _POD_CACHE_MAX:
            _MILLI_CACHE[quantity] = value
    return value


@attrs.frozen(slots=True)
class PodResources:
    """One pod's effective requests in milli-units.

    ``requests`` holds only non-zero amounts and always ``pods: POD_MILLI``.
    ``non_zero_cpu`` and ``non_zero_memory`` are the scoring view (see the module
    docstring). ``gpus`` is the number of ``nvidia.com/gpu`` devices the pod needs.
    """

    requests: Mapping[str, int]
    non_zero_cpu: int
    non_zero_memory: int

    @property
    def gpus(self) -> int:
        """Whole GPU devices requested (a fraction of a device rounds up)."""
        return -(-self.requests.get(GPU, 0) // 1000)

    def get(self, resource: str) -> int:
        """The request for ``resource`` (0 when the pod asks for none)."""
        return self.requests.get(resource, 0)


def _container_requests(container: Container) -> dict[str, int]:
    return {name: milli(q) for name, q in container.resources.requests.items()}


def _non_zero(container: Container, resource: str, default: int) -> int:
    quantity = container.resources.requests.get(resource)
    return default if quantity is None else milli(quantity)


def _compute(pod: Pod) -> PodResources:
    total: dict[str, int] = {}
    non_zero_cpu = non_zero_memory = 0
    for container in pod.spec.containers:
        for name, value in _container_requests(container).items():
            total[name] = total.get(name, 0) + value
        non_zero_cpu += _non_zero(container, CPU, DEFAULT_CPU_MILLI)
        non_zero_memory += _non_zero(container, MEMORY, DEFAULT_MEMORY_MILLI)
    for container in pod.spec.init_containers:
        for name, value in _container_requests(container).items():
            total[name] = max(total.get(name, 0), value)
        non_zero_cpu = max(non_zero_cpu, _non_zero(container, CPU, DEFAULT_CPU_MILLI))
        non_zero_memory = max(non_zero_memory, _non_zero(container, MEMORY, DEFAULT_MEMORY_MILLI))
    requests = {name: value for name, value in total.items() if value > 0 and name != PODS}
    requests[PODS] = POD_MILLI
    return PodResources(
        requests=requests, non_zero_cpu=non_zero_cpu, non_zero_memory=non_zero_memory
    )


def pod_resources(pod: Pod) -> PodResources:
    """The effective requests of ``pod`` (see the module docstring).

    Memoised by the identity of the spec's container tuples (objects are immutable, the
    requests live in the containers, and ``attrs.evolve`` of a pod or spec shares them;
    the cache keeps them alive so their ids cannot be reused), so pods stamped from one
    template, a pod and its bound copy, and the cycles of one pending pod compute it
    once. The last pod asked about is remembered on its own: a scheduling cycle asks
    about one pod several times in a row.
    """
    if _LAST and _LAST[0][0] is pod:
        return _LAST[0][1]
    resources = _cached(pod)
    _LAST[:] = ((pod, resources),)
    return resources


_LAST: list[tuple[Pod, PodResources]] = []  # the last answer of pod_resources


def _cached(pod: Pod) -> PodResources:
    spec = pod.spec
    containers, init = spec.containers, spec.init_containers
    key = (id(containers), id(init))
    entry = _POD_CACHE.get(key)
    if entry is not None and entry[0] is containers and entry[1] is init:
        return entry[2]
    resources = _compute(pod)
    if len(_POD_CACHE) >= _POD_CACHE_MAX:
        _POD_CACHE.clear()
    _POD_CACHE[key] = (containers, init, resources)
    return resources


def node_allocatable(node: Node) -> dict[str, int]:
    """What ``node`` offers to pods, in milli-units: ``status.allocatable``, or
    ``status.capacity`` when allocatable is unset (the API server's defaulting).

    A node that lists no ``pods`` offers no pod slots, as in Kubernetes.
    """
    status = node.status
    source = status.allocatable or status.capacity
    return {name: milli(q) for name, q in source.items()}


def resource_order(names: Iterable[str]) -> list[str]:
    """``names`` in the order Kubernetes checks and reports them: pods, cpu, memory,
    ephemeral-storage, then every other resource by name."""
    present = set(names)
    head = [name for name in _FIRST if name in present]
    return head + sorted(present.difference(_FIRST))


def insufficient_reason(resource: str) -> str:
    """NodeResourcesFit's reason for ``resource``: ``Too many pods`` or
    ``Insufficient <name>``."""
    return "Too many pods" if resource == PODS else f"Insufficient {resource}"


def insufficient(
    requested: Mapping[str, int],
    allocatable: Mapping[str, int],
    pod_request: Mapping[str, int],
    *,
    ignored: frozenset[str] = frozenset(),
) -> list[str]:
    """The resources a node lacks for a pod, in report order (Kubernetes' fitsRequest).

    ``requested`` is what the node's pods already take; a resource fails when the pod
    asks for more than ``allocatable - requested``. Zero requests never fail (even on
    an overcommitted node), unless for ``pods``, which every pod takes. ``ignored``
    names resources not to check (``ignoredResources`` of NodeResourcesFitArgs).
    """
    failed = []
    for name in resource_order(pod_request):
        want = pod_request[name]
        if want <= 0 or name in ignored:
            continue
        if want > allocatable.get(name, 0) - requested.get(name, 0):
            failed.append(name)
    return failed


def fits(
    requested: Mapping[str, int], allocatable: Mapping[str, int], pod_request: Mapping[str, int]
) -> bool:
    """Whether a pod with ``pod_request`` fits beside ``requested`` in ``allocatable``."""
    return not insufficient(requested, allocatable, pod_request)


def add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    """``a + b`` per resource (a new dict)."""
    out = dict(a)
    for name, value in b.items():
        out[name] = out.get(name, 0) + value
    return out


def subtract(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    """``a - b`` per resource (a new dict; entries that reach zero are kept)."""
    out = dict(a)
    for name, value in b.items():
        out[name] = out.get(name, 0) - value
    return out
