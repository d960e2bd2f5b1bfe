"""The small plugins: PrioritySort (queue order), NodeName (filter), DefaultBinder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

from orbit.api import Pod
from orbit.scheduling._binding import bound_pod
from orbit.scheduling._cycle import CycleState
from orbit.scheduling._nodeinfo import NodeInfo
from orbit.scheduling._queue import QueuedPod, priority_less
from orbit.scheduling._snapshot import Snapshot
from orbit.scheduling._status import SUCCESS, FilterAllResult, Status

__all__ = ["DefaultBinder", "NodeName", "PrioritySort"]

REASON_NODE_NAME: Final = "node(s) didn't match the requested node name"


class PrioritySort:
    """Kubernetes' PrioritySort: higher ``spec.priority`` first, then the older pod."""

    name = "PrioritySort"

    @classmethod
    def new(cls, args: object, handle: object) -> PrioritySort:
        """Registry factory (no args)."""
        return cls()

    def less(self, a: QueuedPod, b: QueuedPod) -> bool:
        return priority_less(a, b)


class NodeName:
    """A pod that names its node (``spec.nodeName``) fits only there."""

    name = "NodeName"

    @classmethod
    def new(cls, args: object, handle: object) -> NodeName:
        """Registry factory (no args)."""
        return cls()

    def pre_filter(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> Status:
        return SUCCESS if pod.spec.node_name else Status.skip()

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        wanted = pod.spec.node_name
        if not wanted or wanted == node_info.name:
            return SUCCESS
        return Status.unresolvable(REASON_NODE_NAME)

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult:
        mask = np.zeros(len(snapshot), dtype=np.bool_)
        wanted = pod.spec.node_name
        if not wanted:
            mask[:] = True
        elif wanted in snapshot:
            mask[snapshot.index_of(wanted)] = True
        failure = Status.unresolvable(REASON_NODE_NAME)
        return FilterAllResult(
            mask=mask, reason=lambda _: failure, codes=lambda: np.zeros(len(mask), np.int64)
        )


class DefaultBinder:
    """Binds by handing the bound pod (node name and binding annotations set) to
    ``binder``, the scheduler loop's callback that writes it to the store. Without a
    binder it binds nothing and succeeds: the caller writes the binding itself."""

    name = "DefaultBinder"

    def __init__(self, binder: Callable[[Pod], None] | None = None) -> None:
        self._binder = binder

    @classmethod
    def new(cls, args: object, handle: object) -> DefaultBinder:
        """Registry factory: args is the binder callback, or None."""
        if args is not None and not callable(args):
            raise TypeError(f"DefaultBinder args must be a callable binder, not {args!r}")
        return cls(args)

    def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status:
        if self._binder is not None:
            self._binder(bound_pod(state, pod, node_name))
        return SUCCESS
