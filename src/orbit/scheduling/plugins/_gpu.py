"""GPUs as devices, and the policy that keeps GPU nodes for GPU pods.

**GPUDevices** (reserve). NodeResourcesFit counts ``nvidia.com/gpu`` like any extended
resource; once a node is chosen, this plugin picks the N specific device ids a pod
requesting ``nvidia.com/gpu: N`` gets: the lowest free ids of the node, so placements
are deterministic. It records them in the cycle's binding annotations, so the bound pod
carries ``orbit.dev/gpu-devices: "0,1"`` for the runtime (``CUDA_VISIBLE_DEVICES``,
Docker ``DeviceRequests``) and the snapshot marks exactly those ids used. A pod that
already carries the annotation keeps its ids.

**GPUAvoidance** (score) — orbit's GPU-aware bin-packing policy: a pod that requests
no GPU scores 0 on nodes with GPUs and 100 on nodes without, so CPU-only pods go to
CPU nodes whenever one fits and GPU nodes stay free for the jobs that need them. It
only ranks feasible nodes: when nothing but a GPU node fits, the pod still goes there.
Its weight in the shipped profiles (20) exceeds the sum of every other default score
weight times 100, which makes the policy take precedence over the other preferences;
lower the weight to make it one preference among others, or disable the plugin.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from orbit.api import GPU, Pod
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._nodeinfo import GPU_DEVICES_ANNOTATION, NodeInfo
from orbit.scheduling._resources import pod_resources
from orbit.scheduling._snapshot import Snapshot
from orbit.scheduling._status import SUCCESS, Status

__all__ = ["GPU_AVOIDANCE_WEIGHT", "GPUAvoidance", "GPUDevices"]

GPU_AVOIDANCE_WEIGHT: Final = 20
"""GPUAvoidance's weight in the shipped profiles (see the module docstring)."""

DEVICES: StateKey[tuple[str, tuple[str, ...]]] = StateKey("ReserveGPUDevices")
"""What GPUDevices reserved in this cycle: (node name, device ids)."""


class GPUDevices:
    """Reserve specific GPU device ids for the pod on the chosen node."""

    name = "GPUDevices"

    @classmethod
    def new(cls, args: object, handle: object) -> GPUDevices:
        """Registry factory (no args)."""
        return cls()

    def reserve(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        wanted = pod_resources(pod).gpus
        if wanted == 0 or GPU_DEVICES_ANNOTATION in pod.metadata.annotations:
            return SUCCESS
        free = node_info.free_gpu_devices
        if len(free) < wanted:
            return Status.unschedulable(
                f"node {node_info.name} has {len(free)} free {GPU} devices, the pod needs {wanted}"
            )
        devices = free[:wanted]
        state.write(DEVICES, (node_info.name, devices))
        state.binding_annotations[GPU_DEVICES_ANNOTATION] = ",".join(devices)
        return SUCCESS

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None:
        if DEVICES in state:
            state.delete(DEVICES)
            state.binding_annotations.pop(GPU_DEVICES_ANNOTATION, None)


class GPUAvoidance:
    """Keep pods that need no GPU off GPU nodes when other nodes fit them."""

    name = "GPUAvoidance"
    scores_bounded = True  # 0-100 by construction: the framework skips the check

    @classmethod
    def new(cls, args: object, handle: object) -> GPUAvoidance:
        """Registry factory (no args)."""
        return cls()

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Status:
        if pod_resources(pod).gpus or not snapshot.node_index.has_gpu_nodes:
            return Status.skip()  # a GPU pod, or no GPU node to avoid: nothing to rank
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        if pod_resources(pod).gpus:
            return 0
        return 0 if node_info.allocatable.get(GPU, 0) > 0 else 100

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        if pod_resources(pod).gpus:
            return np.zeros(len(candidates), dtype=np.int64)
        return np.where(snapshot.node_index.gpu_nodes[candidates], 0, 100).astype(np.int64)
