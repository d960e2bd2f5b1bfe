"""NodeResourcesBalancedAllocation: prefer nodes whose resources fill up evenly.

A node at 80% cpu and 20% memory strands memory nobody can use; one at 50% / 50% does
not. The score is ``(1 - std) * 100`` over the fractions each resource would be used
with the pod (Kubernetes' formula, real requests, cpu and memory by default). A pod
that requests none of the resources is skipped, as Kubernetes does since 1.32: scoring
it would pile every best-effort pod onto the most balanced node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod
from orbit.errors import ValidationError
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._nodeinfo import NodeInfo
from orbit.scheduling._resources import pod_resources
from orbit.scheduling._snapshot import Snapshot
from orbit.scheduling._status import SUCCESS, Status

from ._allocation import (
    ResourceSpec,
    balanced_all,
    balanced_score,
    gather_all,
    gather_node,
    pod_request_list,
)
from ._fit import DEFAULT_RESOURCES

__all__ = ["BalancedAllocationArgs", "NodeResourcesBalancedAllocation"]

_REQUESTS: StateKey[list[int]] = StateKey("PreScoreNodeResourcesBalancedAllocation")


@attrs.frozen
class BalancedAllocationArgs:
    """The resources whose balance counts (weights are not used by this score)."""

    resources: tuple[ResourceSpec, ...] = DEFAULT_RESOURCES

    def __attrs_post_init__(self) -> None:
        if not self.resources:
            raise ValidationError([("resources", "needs at least one resource")])

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BalancedAllocationArgs:
        """Args from Kubernetes' form: ``{resources: [{name, weight}]}``."""
        resources = data.get("resources")
        if not resources:
            return cls()
        return cls(tuple(ResourceSpec(r["name"], r.get("weight", 1)) for r in resources))


class NodeResourcesBalancedAllocation:
    """Score nodes by how evenly the pod would leave their resources used."""

    name = "NodeResourcesBalancedAllocation"
    scores_bounded = True  # 0-100 by construction: the framework skips the check

    def __init__(self, args: BalancedAllocationArgs | None = None) -> None:
        self._specs: Sequence[ResourceSpec] = (args or BalancedAllocationArgs()).resources
        self._names = tuple(spec.name for spec in self._specs)

    @classmethod
    def new(cls, args: object, handle: object) -> NodeResourcesBalancedAllocation:
        """Registry factory: args may be BalancedAllocationArgs, a mapping, or None."""
        if isinstance(args, Mapping):
            return cls(BalancedAllocationArgs.from_mapping(args))
        if args is None or isinstance(args, BalancedAllocationArgs):
            return cls(args)
        raise TypeError(
            f"NodeResourcesBalancedAllocation args must be BalancedAllocationArgs, not {args!r}"
        )

    def _requests(self, pod: Pod) -> list[int]:
        return pod_request_list(self._specs, pod_resources(pod), use_requested=True)

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Status:
        requests = self._requests(pod)
        if not any(requests):
            return Status.skip()
        state.write(_REQUESTS, requests)
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        requests = state.get(_REQUESTS)
        if requests is None:
            requests = self._requests(pod)
            if not any(requests):
                return 0
        requested, allocatable = gather_node(node_info, self._specs, requests, True)
        return balanced_score(requested, allocatable)

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        requests = state.get(_REQUESTS)
        if requests is None:
            requests = self._requests(pod)
            if not any(requests):
                return np.zeros(len(candidates), dtype=np.int64)
        return balanced_all(gather_all(snapshot, candidates, self._names, requests, True))
