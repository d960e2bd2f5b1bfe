"""Per-cycle scratch space: what plugins compute once per pod and read per node.

Kubernetes' ``CycleState``. A plugin's pre-filter (or pre-score) computes something
from the pod once — its requests, its parsed affinity — and writes it under a
:class:`StateKey`; its filter (or score) reads it for every node. Keys are typed, so
``state.read(KEY)`` has the type the plugin wrote. A new CycleState is made for every
pod cycle and dropped at the end of it (or kept with the result for reserve and bind).

Values should be immutable. :meth:`CycleState.clone` (used by what-if reasoning such
as preemption, which adds and removes pods in a copy) calls ``clone()`` on values that
have one and shares the others, as Kubernetes' ``StateData.Clone`` does.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

__all__ = ["CycleState", "StateKey"]

T = TypeVar("T")
_MISSING: Any = object()


class StateKey(Generic[T]):
    """A typed key into a CycleState; compare by identity. Declare one per datum at
    module level: ``REQUESTS: StateKey[PodResources] = StateKey("NodeResourcesFit")``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StateKey({self.name!r})"


class CycleState:
    """One pod cycle's plugin data plus the framework's bookkeeping.

    ``skip_filter`` / ``skip_score`` hold the plugins whose pre-filter / pre-score said
    Skip. ``binding_annotations`` collects annotations reserve plugins want on the bound
    pod (the GPU devices), which :meth:`Framework.bound_pod` applies. ``post_filter``
    False makes a failed cycle skip the post-filter plugins (preemption): what-if
    placements (the node-pool autoscaler's) ask only whether a pod fits.
    """

    __slots__ = ("_data", "binding_annotations", "post_filter", "skip_filter", "skip_score")

    def __init__(self, *, post_filter: bool = True) -> None:
        self._data: dict[StateKey[Any], Any] = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()
        self.binding_annotations: dict[str, str] = {}
        self.post_filter = post_filter

    def write(self, key: StateKey[T], value: T) -> None:
        """Store ``value`` under ``key`` (replacing any previous value)."""
        self._data[key] = value

    def read(self, key: StateKey[T]) -> T:
        """The value under ``key``; KeyError (naming the key) when nothing was written."""
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(f"nothing written under {key.name!r} in this cycle")
        return value  # type: ignore[no-any-return]

    def get(self, key: StateKey[T], default: T | None = None) -> T | None:
        """The value under ``key``, or ``default``."""
        return self._data.get(key, default)

    def delete(self, key: StateKey[Any]) -> None:
        """Remove the value under ``key`` (no-op when absent)."""
        self._data.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def clone(self) -> CycleState:
        """A copy whose writes do not show in this one (see the module docstring)."""
        other = CycleState(post_filter=self.post_filter)
        for key, value in self._data.items():
            clone = getattr(value, "clone", None)
            other._data[key] = clone() if callable(clone) else value
        other.skip_filter = set(self.skip_filter)
        other.skip_score = set(self.skip_score)
        other.binding_annotations = dict(self.binding_annotations)
        return other
