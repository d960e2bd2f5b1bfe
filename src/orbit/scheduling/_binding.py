"""The pod as it is bound: its node name, plus what reserve plugins recorded on it."""

from __future__ import annotations

import attrs

from orbit.api import Pod

from ._cycle import CycleState

__all__ = ["bound_pod"]


def bound_pod(state: CycleState, pod: Pod, node_name: str) -> Pod:
    """``pod`` with ``spec.nodeName`` set and the cycle's binding annotations (the GPU
    device ids the GPUDevices plugin chose) added — what the binding writes."""
    metadata = pod.metadata
    if state.binding_annotations:
        annotations = {**metadata.annotations, **state.binding_annotations}
        metadata = attrs.evolve(metadata, annotations=annotations)
    return attrs.evolve(pod, metadata=metadata, spec=attrs.evolve(pod.spec, node_name=node_name))
