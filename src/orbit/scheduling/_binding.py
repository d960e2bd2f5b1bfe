"""The pod as it is bound: its node name, plus what reserve plugins recorded on it."""

from __future__ import annotations

from typing import Any, TypeVar

import attrs

from orbit.api import Pod, PodSpec

from ._cycle import CycleState

__all__ = ["bound_pod"]


def bound_pod(state: CycleState, pod: Pod, node_name: str) -> Pod:
    """``pod`` with ``spec.nodeName`` set and the cycle's binding annotations (the GPU
    device ids the GPUDevices plugin chose) added — what the binding writes."""
    metadata = pod.metadata
    if state.binding_annotations:
        annotations = {**metadata.annotations, **state.binding_annotations}
        metadata = attrs.evolve(metadata, annotations=annotations)
    return _replace(pod, metadata=metadata, spec=_replace(pod.spec, node_name=node_name))


_T = TypeVar("_T", Pod, PodSpec)
_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _replace(obj: _T, **changes: Any) -> _T:
    """``attrs.evolve`` without re-running ``__init__``: a field-by-field copy of a
    validated Pod or PodSpec with ``changes`` (already valid values) swapped in. The
    scheduler binds every pod it places; evolve's generic path was 5 % of a cycle."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(field.name for field in attrs.fields(cls))
    new = object.__new__(cls)
    for name in names:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(obj, name))
    return new
