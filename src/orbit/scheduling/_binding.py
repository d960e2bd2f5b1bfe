"""The pod as it is bound: its node name, plus what reserve plugins recorded on it."""

from __future__ import annotations

from collections.abc import Callable
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
_COPIERS: dict[type[Any], Callable[..., Any]] = {}


def _replace(obj: _T, **changes: Any) -> _T:
    """``attrs.evolve`` without re-running ``__init__``: a field-by-field copy of a
    validated Pod or PodSpec with ``changes`` (already valid values) swapped in.

    The scheduler binds every pod it places and evolve's generic path was 5 % of a
    cycle; the copier is generated once per class, one statement per field (as attrs
    generates its own methods), which is twice as fast as a loop over the fields.
    """
    cls = type(obj)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _make_copier(cls)
    new: _T = copier(obj, changes)
    return new


def _make_copier(cls: type[Any]) -> Callable[..., Any]:
    lines = ["def copy(obj, changes):", "    new = new_object(cls)"]
    for field in attrs.fields(cls):
        name = field.name
        lines.append(
            f"    set_field(new, {name!r}, "
            f"changes[{name!r}] if {name!r} in changes else obj.{name})"
        )
    lines.append("    return new")
    namespace: dict[str, Any] = {
        "new_object": object.__new__,
        "set_field": object.__setattr__,
        "cls": cls,
    }
    exec("\n".join(lines), namespace)  # built from the class's own field names
    copier: Callable[..., Any] = namespace["copy"]
    return copier
