"""What the scheduler knows about one node: the Node, its pods, their requests, its GPUs.

A :class:`NodeInfo` is immutable. Placing a pod makes a new NodeInfo
(:meth:`NodeInfo.with_pod`) and the snapshot swaps it in: copy-on-write per node, so a
plugin, a diagnosis or a preemption what-if that holds a NodeInfo keeps a consistent
view while the scheduler moves on.

**GPUs are devices.** A node lists its GPU device ids in the annotation
``orbit.dev/gpu-devices`` (``"0,1,2,3"``, or UUIDs such as ``"GPU-6f1e..."``); without
it, a node with ``nvidia.com/gpu: N`` allocatable has the ids ``"0"``..``"N-1"``. An
annotation rather than a status field because Kubernetes' Node has no device list (its
device plugins keep ids on the kubelet) and manifests written for Kubernetes must still
load unchanged; the node agent (or whoever registers the node) writes it. When both are
given the smaller count wins: a GPU without an id cannot be handed out, and an id beyond
the allocatable count is not for pods. A bound pod records its devices in the same
annotation on the Pod, which the runtime turns into ``CUDA_VISIBLE_DEVICES`` / Docker
``DeviceRequests``. Devices are handed out lowest id first (numeric ids numerically).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from orbit.api import CPU, GPU, MEMORY, Node, Pod, Taint

from ._resources import PodResources, node_allocatable, pod_resources

__all__ = [
    "GPU_DEVICES_ANNOTATION",
    "NodeInfo",
    "PodInfo",
    "device_sort_key",
    "parse_devices",
    "pod_key",
]

GPU_DEVICES_ANNOTATION: Final = "orbit.dev/gpu-devices"
"""On a Node: its GPU device ids. On a Pod: the device ids it was bound to."""

_EMPTY: Mapping[str, int] = {}


def pod_key(pod: Pod) -> str:
    """``namespace/name``: how the snapshot identifies a pod."""
    meta = pod.metadata
    return f"{meta.namespace}/{meta.name}"


def device_sort_key(device: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order, then any other id in string order."""
    return (0, int(device), "") if device.isdigit() else (1, 0, device)


def parse_devices(text: str) -> tuple[str, ...]:
    """The ids in a comma-separated device list, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for part in text.split(","):
        device = part.strip()
        if device:
            seen[device] = None
    return tuple(seen)


def _node_devices(node: Node, allocatable: dict[str, int]) -> tuple[str, ...]:
    """The node's GPU ids; adjusts ``allocatable[GPU]`` to their count (module doc)."""
    annotation = node.metadata.annotations.get(GPU_DEVICES_ANNOTATION)
    count = allocatable.get(GPU, 0) // 1000
    if annotation is None:
        return tuple(str(i) for i in range(count))
    devices = tuple(sorted(parse_devices(annotation), key=device_sort_key))
    if GPU in allocatable:
        devices = devices[:count]
    if devices or GPU in allocatable:
        allocatable[GPU] = len(devices) * 1000
    return devices


@attrs.frozen(slots=True, eq=False)
class PodInfo:
    """A pod placed on a node, with its computed requests and its GPU devices."""

    pod: Pod
    key: str
    resources: PodResources
    gpu_devices: tuple[str, ...] = ()

    @property
    def has_affinity(self) -> bool:
        """Whether the pod has pod affinity or anti-affinity terms (InterPodAffinity)."""
        affinity = self.pod.spec.affinity
        return affinity is not None and (
            affinity.pod_affinity is not None or affinity.pod_anti_affinity is not None
        )

    @property
    def has_required_anti_affinity(self) -> bool:
        """Whether the pod has required anti-affinity terms."""
        affinity = self.pod.spec.affinity
        anti = affinity.pod_anti_affinity if affinity is not None else None
        return anti is not None and bool(anti.required_during_scheduling_ignored_during_execution)


@attrs.frozen(slots=True, eq=False)
class NodeInfo:
    """One node and everything placed on it; immutable (see the module docstring).

    ``allocatable``, ``requested`` and ``non_zero_requested`` are milli-units per
    resource; ``requested`` includes ``pods`` (1000 per pod) and may exceed
    ``allocatable`` when pods were bound past the scheduler. ``non_zero_requested`` has
    ``cpu`` and ``memory`` only: the scorers' view with defaults for missing requests.
    """

    node: Node
    allocatable: Mapping[str, int]
    requested: Mapping[str, int] = _EMPTY
    non_zero_requested: Mapping[str, int] = _EMPTY
    pods: tuple[PodInfo, ...] = ()
    gpu_devices: tuple[str, ...] = ()
    used_gpu_devices: frozenset[str] = frozenset()
    hard_taints: tuple[Taint, ...] = ()
    soft_taints: tuple[Taint, ...] = ()

    @classmethod
    def build(cls, node: Node, pods: Iterable[Pod] = ()) -> NodeInfo:
        """A NodeInfo for ``node`` holding ``pods`` (in the order given)."""
        allocatable = node_allocatable(node)
        devices = _node_devices(node, allocatable)
        taints = node.spec.taints
        info = cls(
            node=node,
            allocatable=allocatable,
            requested={},
            non_zero_requested={CPU: 0, MEMORY: 0},
            gpu_devices=devices,
            hard_taints=tuple(t for t in taints if t.effect in ("NoSchedule", "NoExecute")),
            soft_taints=tuple(t for t in taints if t.effect == "PreferNoSchedule"),
        )
        for pod in pods:
            info = info.with_pod(info.pod_info(pod))
        return info

    @property
    def name(self) -> str:
        """The node's name."""
        return self.node.metadata.name

    @property
    def labels(self) -> Mapping[str, str]:
        """The node's labels."""
        return self.node.metadata.labels

    @property
    def free_gpu_devices(self) -> tuple[str, ...]:
        """Device ids no pod holds, lowest first."""
        used = self.used_gpu_devices
        return tuple(d for d in self.gpu_devices if d not in used)

    @property
    def pods_with_affinity(self) -> tuple[PodInfo, ...]:
        """The pods with pod affinity or anti-affinity (what InterPodAffinity scans)."""
        return tuple(p for p in self.pods if p.has_affinity)

    @property
    def pods_with_required_anti_affinity(self) -> tuple[PodInfo, ...]:
        """The pods with required anti-affinity terms."""
        return tuple(p for p in self.pods if p.has_required_anti_affinity)

    def free(self, resource: str) -> int:
        """``allocatable - requested`` for ``resource`` (negative when overcommitted)."""
        return self.allocatable.get(resource, 0) - self.requested.get(resource, 0)

    def pod_info(self, pod: Pod) -> PodInfo:
        """``pod`` as it would sit on this node: its requests and its GPU ids — the
        ids its annotation names, else (a pod bound without one) the lowest free ids."""
        resources = pod_resources(pod)
        devices: tuple[str, ...] = ()
        annotation = pod.metadata.annotations.get(GPU_DEVICES_ANNOTATION)
        if annotation is not None:
            devices = parse_devices(annotation)
        elif resources.gpus:
            devices = self.free_gpu_devices[: resources.gpus]
        return PodInfo(pod=pod, key=pod_key(pod), resources=resources, gpu_devices=devices)

    def with_pod(self, pod_info: PodInfo) -> NodeInfo:
        """A copy of this NodeInfo with ``pod_info`` added."""
        resources = pod_info.resources
        requested = dict(self.requested)
        for name, value in resources.requests.items():
            requested[name] = requested.get(name, 0) + value
        non_zero = self.non_zero_requested
        used = self.used_gpu_devices
        return NodeInfo(  # not attrs.evolve: this is the scheduler's hottest copy
            self.node,
            self.allocatable,
            requested,
            {
                CPU: non_zero[CPU] + resources.non_zero_cpu,
                MEMORY: non_zero[MEMORY] + resources.non_zero_memory,
            },
            (*self.pods, pod_info),
            self.gpu_devices,
            used.union(pod_info.gpu_devices) if pod_info.gpu_devices else used,
            self.hard_taints,
            self.soft_taints,
        )

    def without_pod(self, key: str) -> NodeInfo:
        """A copy of this NodeInfo without the pod ``key`` (unchanged if absent)."""
        position = next((i for i, p in enumerate(self.pods) if p.key == key), None)
        if position is None:
            return self
        pod_info = self.pods[position]
        resources = pod_info.resources
        requested = dict(self.requested)
        for name, value in resources.requests.items():
            requested[name] = requested.get(name, 0) - value
        non_zero = self.non_zero_requested
        pods = self.pods[:position] + self.pods[position + 1 :]
        used = self.used_gpu_devices
        if pod_info.gpu_devices:  # another pod may hold the same id (overcommit)
            used = frozenset(device for other in pods for device in other.gpu_devices)
        return attrs.evolve(
            self,
            requested=requested,
            non_zero_requested={
                CPU: non_zero[CPU] - resources.non_zero_cpu,
                MEMORY: non_zero[MEMORY] - resources.non_zero_memory,
            },
            pods=pods,
            used_gpu_devices=used,
        )
