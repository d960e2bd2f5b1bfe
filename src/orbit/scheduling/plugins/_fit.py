"""NodeResourcesFit: does the node have room for the pod, and how full would it be?

The filter checks every resource the pod requests — cpu, memory, ephemeral-storage,
``pods`` (one slot per pod) and every extended resource such as ``nvidia.com/gpu`` —
against ``allocatable - requested`` (Kubernetes' ``fitsRequest``, reasons
``Insufficient cpu`` / ``Too many pods``, code Unschedulable since evicting pods frees
room). The score ranks feasible nodes by one of Kubernetes' strategies:
``LeastAllocated`` (spread), ``MostAllocated`` (bin-pack) or
``RequestedToCapacityRatio`` (a utilization -> score shape), each a weighted mean over
configurable resources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import CPU, MEMORY, Pod, is_extended_resource_name
from orbit.errors import ValidationError
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._nodeinfo import NodeInfo
from orbit.scheduling._resources import (
    PodResources,
    insufficient,
    insufficient_reason,
    pod_resources,
    resource_order,
)
from orbit.scheduling._snapshot import Snapshot
from orbit.scheduling._status import SUCCESS, FilterAllResult, Status

from ._allocation import (
    ResourceSpec,
    UtilizationShapePoint,
    gather_all,
    gather_node,
    least_allocated,
    least_allocated_all,
    most_allocated,
    most_allocated_all,
    pod_request_list,
    ratio_all,
    ratio_score,
)

__all__ = ["NodeResourcesFit", "NodeResourcesFitArgs", "ScoringStrategy"]

StrategyType = Literal["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"]
DEFAULT_RESOURCES: Final = (ResourceSpec(CPU, 1), ResourceSpec(MEMORY, 1))
DEFAULT_SHAPE: Final = (UtilizationShapePoint(0, 0), UtilizationShapePoint(100, 10))
_REQUESTS: StateKey[PodResources] = StateKey("PreFilterNodeResourcesFit")
_SCORE_REQUESTS: StateKey[list[int]] = StateKey("PreScoreNodeResourcesFit")


def _validate_resources(resources: Sequence[ResourceSpec], path: str) -> list[tuple[str, str]]:
    issues = []
    for i, spec in enumerate(resources):
        if not 1 <= spec.weight <= 100:
            issues.append((f"{path}[{i}].weight", f"must be in 1-100, not {spec.weight}"))
    return issues


@attrs.frozen
class ScoringStrategy:
    """How NodeResourcesFit scores: the strategy, the resources and their weights, and
    for ``RequestedToCapacityRatio`` the shape (utilization 0-100 -> score 0-10)."""

    type: StrategyType = "LeastAllocated"
    resources: tuple[ResourceSpec, ...] = DEFAULT_RESOURCES
    shape: tuple[UtilizationShapePoint, ...] = DEFAULT_SHAPE

    def __attrs_post_init__(self) -> None:
        issues = _validate_resources(self.resources, "scoringStrategy.resources")
        previous = -1
        for i, point in enumerate(self.shape):
            where = f"scoringStrategy.requestedToCapacityRatio.shape[{i}]"
            if not 0 <= point.utilization <= 100 or point.utilization <= previous:
                issues.append((f"{where}.utilization", "must increase, within 0-100"))
            if not 0 <= point.score <= 10:
                issues.append((f"{where}.score", "must be in 0-10"))
            previous = point.utilization
        if not self.shape:
            issues.append(("scoringStrategy.requestedToCapacityRatio.shape", "needs a point"))
        if issues:
            raise ValidationError(issues, subject="NodeResourcesFitArgs")


@attrs.frozen
class NodeResourcesFitArgs:
    """NodeResourcesFit's configuration (Kubernetes' ``NodeResourcesFitArgs``)."""

    scoring_strategy: ScoringStrategy = ScoringStrategy()
    ignored_resources: frozenset[str] = frozenset()
    ignored_resource_groups: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> NodeResourcesFitArgs:
        """Args from Kubernetes' camelCase form (``scoringStrategy: {type, resources,
        requestedToCapacityRatio: {shape}}``, ``ignoredResources``...)."""
        strategy = dict(data.get("scoringStrategy") or {})
        shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape")
        resources = strategy.get("resources")
        return cls(
            scoring_strategy=ScoringStrategy(
                type=strategy.get("type", "LeastAllocated"),
                resources=tuple(ResourceSpec(r["name"], r.get("weight", 1)) for r in resources)
                if resources
                else DEFAULT_RESOURCES,
                shape=tuple(UtilizationShapePoint(p["utilization"], p["score"]) for p in shape)
                if shape
                else DEFAULT_SHAPE,
            ),
            ignored_resources=frozenset(data.get("ignoredResources", ())),
            ignored_resource_groups=frozenset(data.get("ignoredResourceGroups", ())),
        )


class NodeResourcesFit:
    """Filter and score by resources; see the module docstring."""

    name = "NodeResourcesFit"
    scores_bounded = True  # 0-100 by construction: the framework skips the check

    def __init__(self, args: NodeResourcesFitArgs | None = None) -> None:
        self.args = args or NodeResourcesFitArgs()
        strategy = self.args.scoring_strategy
        self._specs = strategy.resources
        self._names = tuple(spec.name for spec in self._specs)
        self._weights = [spec.weight for spec in self._specs]
        self._type = strategy.type
        self._shape = strategy.shape
        self._checked_cache: dict[tuple[str, ...], tuple[str, ...]] = {}

    @classmethod
    def new(cls, args: object, handle: object) -> NodeResourcesFit:
        """Registry factory: args may be NodeResourcesFitArgs, a mapping, or None."""
        if isinstance(args, Mapping):
            return cls(NodeResourcesFitArgs.from_mapping(args))
        if args is None or isinstance(args, NodeResourcesFitArgs):
            return cls(args)
        raise TypeError(f"NodeResourcesFit args must be NodeResourcesFitArgs, not {args!r}")

    # -- filter --------------------------------------------------------------------

    def _ignored(self, pod_request: Mapping[str, int]) -> frozenset[str]:
        """The requested extended resources not to check (only extended resources can
        be ignored, by name or by the group before their ``/``)."""
        names, groups = self.args.ignored_resources, self.args.ignored_resource_groups
        if not names and not groups:
            return frozenset()
        return frozenset(
            name
            for name in pod_request
            if is_extended_resource_name(name)
            and (name in names or name.split("/", 1)[0] in groups)
        )

    def pre_filter(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> Status:
        state.write(_REQUESTS, pod_resources(pod))
        return SUCCESS

    def _requests(self, state: CycleState, pod: Pod) -> PodResources:
        resources = state.get(_REQUESTS)
        return resources if resources is not None else pod_resources(pod)

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        request = self._requests(state, pod).requests
        failed = insufficient(
            node_info.requested, node_info.allocatable, request, ignored=self._ignored(request)
        )
        if not failed:
            return SUCCESS
        return Status.unschedulable(*(insufficient_reason(name) for name in failed))

    def _checked(self, request: Mapping[str, int]) -> tuple[str, ...]:
        """The resources to check, in report order (requests hold only positive
        amounts, so this depends on the resource names alone: memoised by them)."""
        key = tuple(request)
        checked = self._checked_cache.get(key)
        if checked is None:
            ignored = self._ignored(request)
            checked = tuple(name for name in resource_order(request) if name not in ignored)
            if len(self._checked_cache) > 4096:
                self._checked_cache.clear()
            self._checked_cache[key] = checked
        return checked

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult:
        request = self._requests(state, pod).requests
        checked = self._checked(request)
        free = snapshot.free
        rows = snapshot.rows(checked)
        least = snapshot.least_free
        if all(
            row is not None and request[name] <= least[row]
            for name, row in zip(checked, rows, strict=True)
        ):
            return self._fits_everywhere(snapshot)  # the pod asks no more than any node has
        mask: npt.NDArray[np.bool_] | None = None
        for name, row in zip(checked, rows, strict=True):
            if row is None:  # offered by no node
                mask = np.zeros(len(snapshot), dtype=np.bool_)
                break
            fits = free[row] >= request[name]
            mask = fits if mask is None else np.logical_and(mask, fits, out=mask)
        if mask is None:
            mask = np.ones(len(snapshot), dtype=np.bool_)

        def codes() -> npt.NDArray[np.int64]:
            out = np.zeros(len(snapshot), dtype=np.int64)
            for bit, (name, row) in enumerate(zip(checked, rows, strict=True)):
                fail = (
                    np.ones(len(snapshot), np.bool_) if row is None else free[row] < request[name]
                )
                out |= fail.astype(np.int64) << bit
            return out

        def reason(code: int) -> Status:
            names = [name for bit, name in enumerate(checked) if code >> bit & 1]
            return Status.unschedulable(*(insufficient_reason(name) for name in names))

        return FilterAllResult(mask=mask, reason=reason, codes=codes)

    def _fits_everywhere(self, snapshot: Snapshot) -> FilterAllResult:
        """The verdict for a pod every node has room for: one per snapshot layout."""
        key = ("fit-everywhere", len(snapshot))
        cached = snapshot.layout_cache.get(key)
        if cached is None:
            mask = np.ones(len(snapshot), dtype=np.bool_)
            cached = snapshot.layout_cache[key] = FilterAllResult(
                mask=mask, reason=lambda _: SUCCESS, everywhere=True
            )
        result: FilterAllResult = cached
        return result

    # -- score ---------------------------------------------------------------------

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Status:
        requests = pod_request_list(self._specs, pod_resources(pod), use_requested=False)
        state.write(_SCORE_REQUESTS, requests)
        return SUCCESS

    def _score_requests(self, state: CycleState, pod: Pod) -> list[int]:
        requests = state.get(_SCORE_REQUESTS)
        if requests is None:
            requests = pod_request_list(self._specs, pod_resources(pod), use_requested=False)
        return requests

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        requests = self._score_requests(state, pod)
        requested, allocatable = gather_node(node_info, self._specs, requests, False)
        if self._type == "LeastAllocated":
            return least_allocated(requested, allocatable, self._weights)
        if self._type == "MostAllocated":
            return most_allocated(requested, allocatable, self._weights)
        return ratio_score(requested, allocatable, self._weights, self._shape)

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        requests = self._score_requests(state, pod)
        gathered = gather_all(snapshot, candidates, self._names, requests, False)
        if self._type == "LeastAllocated":
            return least_allocated_all(gathered, self._weights)
        if self._type == "MostAllocated":
            return most_allocated_all(gathered, self._weights)
        return ratio_all(gathered, self._weights, self._shape)
