"""Kubernetes' resource-allocation scores, per node and vectorised, bit for bit.

The formulas of ``pkg/scheduler/framework/plugins/noderesources``: LeastAllocated,
MostAllocated and RequestedToCapacityRatio (NodeResourcesFit's scoring strategies) and
BalancedAllocation's standard deviation. Each exists twice, over Python ints for one
node and over numpy columns for all candidates, and the two agree exactly: the integer
formulas use the same truncating division, and the float one (balanced) performs the
same IEEE operations in the same order.

Which (requested, allocatable) pairs a node contributes follows
``resourceAllocationScorer``: a resource the node does not offer (allocatable 0) is left
out of the weighted mean for that node, as is an extended resource the pod does not
ask for, and ``pods`` never counts. Requested cpu and memory are the "non-zero" view
(defaults for containers without requests) unless the scorer uses real requests
(BalancedAllocation does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import CPU, EPHEMERAL_STORAGE, MEMORY, PODS
from orbit.scheduling._nodeinfo import NodeInfo
from orbit.scheduling._resources import PodResources
from orbit.scheduling._snapshot import Snapshot

__all__ = [
    "ResourceSpec",
    "UtilizationShapePoint",
    "balanced_all",
    "balanced_score",
    "gather_all",
    "gather_node",
    "least_allocated",
    "least_allocated_all",
    "most_allocated",
    "most_allocated_all",
    "pod_request_list",
    "ratio_all",
    "ratio_score",
]

IntArray = npt.NDArray[np.int64]
MAX_SCORE: Final = 100
_NATIVE: Final = frozenset({CPU, MEMORY, EPHEMERAL_STORAGE})
_SAFE: Final = (2**63 - 1) // 200  # beyond this, x * 100 could overflow int64


@attrs.frozen
class ResourceSpec:
    """A resource a scorer looks at, and its weight in the mean (1-100)."""

    name: str
    weight: int = 1


@attrs.frozen
class UtilizationShapePoint:
    """One point of RequestedToCapacityRatio's shape: utilization 0-100 -> score 0-10."""

    utilization: int
    score: int


def pod_request_list(
    specs: Sequence[ResourceSpec], resources: PodResources, *, use_requested: bool
) -> list[int]:
    """The pod's request for each scored resource (non-zero cpu/memory unless
    ``use_requested``; 0 for ``pods``, which scoring ignores)."""
    out = []
    for spec in specs:
        if spec.name == PODS:
            out.append(0)
        elif spec.name == CPU and not use_requested:
            out.append(resources.non_zero_cpu)
        elif spec.name == MEMORY and not use_requested:
            out.append(resources.non_zero_memory)
        else:
            out.append(resources.get(spec.name))
    return out


def _excluded(name: str, pod_request: int) -> bool:
    return name == PODS or (pod_request == 0 and name not in _NATIVE)


def gather_node(
    info: NodeInfo, specs: Sequence[ResourceSpec], pod_requests: Sequence[int], use_requested: bool
) -> tuple[list[int], list[int]]:
    """(requested-with-the-pod, allocatable) per scored resource on one node; a left
    out resource is (0, 0)."""
    requested, allocatable = [], []
    for spec, pod_request in zip(specs, pod_requests, strict=True):
        name = spec.name
        alloc = 0 if _excluded(name, pod_request) else info.allocatable.get(name, 0)
        if alloc == 0:
            requested.append(0)
            allocatable.append(0)
            continue
        source = info.requested
        if name in (CPU, MEMORY) and not use_requested:
            source = info.non_zero_requested
        requested.append(source.get(name, 0) + pod_request)
        allocatable.append(alloc)
    return requested, allocatable


def _take(matrix: IntArray, rows: slice | list[int], candidates: npt.NDArray[np.intp]) -> IntArray:
    """``matrix[rows][:, candidates]`` in the cheapest numpy form (``take`` is several
    times faster than fancy indexing on these sizes); ``rows`` is a slice when the rows
    are contiguous (the plan works that out once)."""
    if isinstance(rows, slice):
        taken: IntArray = matrix[rows].take(candidates, axis=1)
        return taken
    return np.stack([matrix[row].take(candidates) for row in rows])


def _row_selector(rows: list[int]) -> slice | list[int]:
    """A slice for contiguous ``rows`` (one ``take`` for all), else the list."""
    first = rows[0] if rows else 0
    if rows == list(range(first, first + len(rows))):
        return slice(first, first + len(rows))
    return rows


@attrs.frozen(slots=True, eq=False)
class Gathered:
    """(requested-with-the-pod, allocatable) per scored resource and candidate.

    Rows are the resources in ``kept`` (positions in the scorer's resource list):
    resources left out for every node (the pod does not ask for an extended resource,
    no node offers it) are dropped. ``offered``: every candidate offers every row (no
    allocatable 0); ``huge``: an amount may overflow int64 once multiplied by 100.
    """

    requested: IntArray
    allocatable: IntArray
    kept: tuple[int, ...]
    offered: bool
    huge: bool

    def weights(self, weights: Sequence[int]) -> Sequence[int]:
        """The weights of the kept rows (``weights`` itself when every row is kept:
        ``kept`` is increasing, so equal lengths mean all of them)."""
        if len(self.kept) == len(weights):
            return weights
        return [weights[k] for k in self.kept]


def gather_all(
    snapshot: Snapshot,
    candidates: npt.NDArray[np.intp],
    names: tuple[str, ...],
    pod_requests: Sequence[int],
    use_requested: bool,
) -> Gathered:
    """:func:`gather_node` for every candidate, for the resources ``names`` (a resource
    left out everywhere is dropped: see :class:`Gathered`; one a single node does not
    offer has allocatable 0 there, which every scorer skips)."""
    key = ("gather", names, tuple(map(bool, pod_requests)))
    plan = snapshot.layout_cache.get(key)
    if plan is None:
        plan = snapshot.layout_cache[key] = _plan(snapshot, names, pod_requests)
    rows, selector, kept, offered, huge = plan
    if not kept:
        empty = np.zeros((0, len(candidates)), dtype=np.int64)
        return Gathered(empty, empty, kept, offered, huge)
    source = snapshot.requested if use_requested else snapshot.non_zero_requested
    allocatable = _allocatable(snapshot, rows, selector, candidates)
    requested = _take(source, selector, candidates)
    for s, k in enumerate(kept):
        if pod_requests[k]:
            requested[s] += pod_requests[k]
    return Gathered(requested, allocatable, kept, offered, huge)


def _allocatable(
    snapshot: Snapshot,
    rows: list[int],
    selector: slice | list[int],
    candidates: npt.NDArray[np.intp],
) -> IntArray:
    """The allocatable rows at the candidates, shared by the scorers of one cycle (the
    allocatable never changes with placements; the memo holds the candidates array,
    so its identity cannot be reused). Callers must not write to the result."""
    key = ("allocatable-take", tuple(rows))
    memo = snapshot.layout_cache.get(key)
    if memo is not None and memo[0] is candidates:
        cached: IntArray = memo[1]
        return cached
    taken = _take(snapshot.allocatable, selector, candidates)
    snapshot.layout_cache[key] = (candidates, taken)
    return taken


def _plan(
    snapshot: Snapshot, names: tuple[str, ...], pod_requests: Sequence[int]
) -> tuple[list[int], slice | list[int], tuple[int, ...], bool, bool]:
    """The array rows to take (and how to select them), the resources they stand for,
    and the static flags."""
    rows: list[int] = []
    kept: list[int] = []
    for s, (name, row, pod_request) in enumerate(
        zip(names, snapshot.rows(names), pod_requests, strict=True)
    ):
        if row is not None and not _excluded(name, pod_request):
            rows.append(row)
            kept.append(s)
    index = snapshot.node_index
    offered = index.offered_everywhere.issuperset(rows)
    huge = index.largest_allocatable > _SAFE
    return rows, _row_selector(rows), tuple(kept), offered, huge


def _exact(
    gathered: Gathered,
) -> tuple[npt.NDArray[np.int64] | npt.NDArray[np.object_], ...]:
    """The arrays as they are, or as Python-int object arrays when ``x * 100`` could
    overflow int64 (a node with more than ~46 PB of a resource in milli-units). The
    scorers only multiply amounts capped at the allocatable."""
    if gathered.huge:
        return gathered.requested.astype(object), gathered.allocatable.astype(object)
    return gathered.requested, gathered.allocatable


def _weighted_mean(
    scores: list[int], allocatable: Sequence[int], weights: Sequence[int]
) -> tuple[int, int]:
    total = weight_sum = 0
    for score, alloc, weight in zip(scores, allocatable, weights, strict=True):
        if alloc != 0:
            total += score * weight
            weight_sum += weight
    return total, weight_sum


def least_allocated(
    requested: Sequence[int], allocatable: Sequence[int], weights: Sequence[int]
) -> int:
    """LeastAllocated: the weighted mean of ``(cap - req) * 100 // cap`` (0 when over)."""
    scores = [
        0 if cap == 0 or req > cap else (cap - req) * MAX_SCORE // cap
        for req, cap in zip(requested, allocatable, strict=True)
    ]
    total, weight_sum = _weighted_mean(scores, allocatable, weights)
    return 0 if weight_sum == 0 else total // weight_sum


def most_allocated(
    requested: Sequence[int], allocatable: Sequence[int], weights: Sequence[int]
) -> int:
    """MostAllocated: the weighted mean of ``min(req, cap) * 100 // cap``."""
    scores = [
        0 if cap == 0 else min(req, cap) * MAX_SCORE // cap
        for req, cap in zip(requested, allocatable, strict=True)
    ]
    total, weight_sum = _weighted_mean(scores, allocatable, weights)
    return 0 if weight_sum == 0 else total // weight_sum


def _vector_mean(
    scores: IntArray, allocatable: IntArray, weights: Sequence[int], offered: bool
) -> IntArray:
    """Per column: the weighted mean of the scores over the resources offered
    (``offered``: every column offers every resource)."""
    if not len(scores):
        return np.zeros(allocatable.shape[1], dtype=np.int64)
    if offered:
        if len(set(weights)) == 1:  # equal weights w: sum(s * w) // (n * w) == sum(s) // n
            total: IntArray = scores[0] + scores[1] if len(scores) == 2 else scores.sum(axis=0)
            total //= len(weights)
            return total
        w = np.asarray(weights, dtype=np.int64)[:, None]
        return (scores * w).sum(axis=0) // int(sum(weights))  # type: ignore[no-any-return]
    w = np.asarray(weights, dtype=np.int64)[:, None] * (allocatable != 0)
    total = (scores * w).sum(axis=0)
    weight_sum = w.sum(axis=0)
    means: IntArray = np.where(weight_sum == 0, 0, total // np.maximum(weight_sum, 1))
    return means


def least_allocated_all(gathered: Gathered, weights: Sequence[int]) -> IntArray:
    """:func:`least_allocated` for every column (``weights`` of every resource)."""
    weights = gathered.weights(weights)
    req, cap = _exact(gathered)
    allocatable, offered = gathered.allocatable, gathered.offered
    safe = cap if offered else np.where(cap == 0, 1, cap)
    # max(cap - req, 0) * 100 // cap is 0 exactly when req > cap, as Kubernetes returns
    free = cap - req
    np.maximum(free, 0, out=free)
    free *= MAX_SCORE
    free //= safe
    return _vector_mean(free.astype(np.int64, copy=False), allocatable, weights, offered)


def most_allocated_all(gathered: Gathered, weights: Sequence[int]) -> IntArray:
    """:func:`most_allocated` for every column (``weights`` of every resource)."""
    weights = gathered.weights(weights)
    req, cap = _exact(gathered)
    allocatable, offered = gathered.allocatable, gathered.offered
    safe = cap if offered else np.where(cap == 0, 1, cap)
    scores = (np.minimum(req, cap) * MAX_SCORE // safe).astype(np.int64, copy=False)
    return _vector_mean(scores, allocatable, weights, offered)


def _shape_value(shape: Sequence[UtilizationShapePoint], utilization: int) -> int:
    """Kubernetes' BuildBrokenLinearFunction (scores scaled 0-10 -> 0-100)."""
    for i, point in enumerate(shape):
        if utilization <= point.utilization:
            if i == 0:
                return point.score * 10
            low = shape[i - 1]
            numerator = (point.score - low.score) * 10 * (utilization - low.utilization)
            return low.score * 10 + _trunc_div(numerator, point.utilization - low.utilization)
    return shape[-1].score * 10


def _trunc_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero); ``b`` > 0."""
    return a // b if a >= 0 else -(-a // b)


def _utilization(req: int, cap: int) -> int:
    if req <= 0:
        return 0
    if req >= cap:
        return MAX_SCORE
    return req * MAX_SCORE // cap


def ratio_score(
    requested: Sequence[int],
    allocatable: Sequence[int],
    weights: Sequence[int],
    shape: Sequence[UtilizationShapePoint],
) -> int:
    """RequestedToCapacityRatio: the shape of each resource's utilization, averaged
    over the resources scoring above 0, rounded half up (Go's ``math.Round``)."""
    total = weight_sum = 0
    for req, cap, weight in zip(requested, allocatable, weights, strict=True):
        if cap == 0:
            continue
        score = _shape_value(shape, _utilization(req, cap))
        if score > 0:
            total += score * weight
            weight_sum += weight
    return 0 if weight_sum == 0 else (2 * total + weight_sum) // (2 * weight_sum)


def _shape_all(shape: Sequence[UtilizationShapePoint], utilization: IntArray) -> IntArray:
    points = np.asarray([p.utilization for p in shape], dtype=np.int64)
    scores = np.asarray([p.score * 10 for p in shape], dtype=np.int64)
    if len(shape) == 1:
        return np.full(utilization.shape, scores[0], dtype=np.int64)
    i = np.searchsorted(points, utilization, side="left")
    j = np.clip(i, 1, len(shape) - 1)
    numerator = (scores[j] - scores[j - 1]) * (utilization - points[j - 1])
    span = points[j] - points[j - 1]
    step = np.where(numerator >= 0, numerator // span, -(-numerator // span))
    value = scores[j - 1] + step
    out: IntArray = np.where(i == 0, scores[0], np.where(i == len(shape), scores[-1], value))
    return out


def ratio_all(
    gathered: Gathered, weights: Sequence[int], shape: Sequence[UtilizationShapePoint]
) -> IntArray:
    """:func:`ratio_score` for every column (``weights`` of every resource)."""
    weights = gathered.weights(weights)
    req, cap = _exact(gathered)
    allocatable = gathered.allocatable
    safe = np.where(cap == 0, 1, cap)
    utilization = np.where(
        req <= 0, 0, np.where(req >= cap, MAX_SCORE, np.minimum(req, cap) * MAX_SCORE // safe)
    ).astype(np.int64)
    scores = _shape_all(shape, utilization)
    counted = (allocatable != 0) & (scores > 0)
    w = np.asarray(weights, dtype=np.int64)[:, None] * counted
    total = (scores * w).sum(axis=0)
    weight_sum = w.sum(axis=0)
    rounded = (2 * total + weight_sum) // np.maximum(2 * weight_sum, 1)
    return np.where(weight_sum == 0, 0, rounded).astype(np.int64)


def balanced_score(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    """BalancedAllocation: ``int((1 - std) * 100)`` over the used fractions (capped at 1);
    std is ``|f1 - f2| / 2`` for two resources, the population deviation for more."""
    fractions: list[float] = []
    total = 0.0
    for req, cap in zip(requested, allocatable, strict=True):
        if cap == 0:
            continue
        fraction = min(float(req) / float(cap), 1.0)
        total += fraction
        fractions.append(fraction)
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = total / float(len(fractions))
        acc = 0.0
        for fraction in fractions:
            acc = acc + (fraction - mean) * (fraction - mean)
        std = math.sqrt(acc / float(len(fractions)))
    return int((1 - std) * float(MAX_SCORE))


def balanced_all(gathered: Gathered) -> IntArray:
    """:func:`balanced_score` for every column (the same float operations, in order)."""
    requested, allocatable = gathered.requested, gathered.allocatable
    if len(requested) == 2 and gathered.offered:  # cpu and memory, offered everywhere
        fractions = requested / allocatable
        np.minimum(fractions, 1.0, out=fractions)
        std = fractions[0] - fractions[1]
        std /= 2
        np.abs(std, out=std)
        np.subtract(1, std, out=std)  # (1 - std) * 100, the operations of the slow path
        std *= float(MAX_SCORE)
        fast: IntArray = std.astype(np.int64)
        return fast
    columns = requested.shape[1]
    included = allocatable != 0
    safe = np.where(included, allocatable, 1).astype(np.float64)
    fractions = np.where(included, np.minimum(requested.astype(np.float64) / safe, 1.0), 0.0)
    count = np.zeros(columns, dtype=np.int64)
    total = np.zeros(columns)
    first = np.zeros(columns)
    second = np.zeros(columns)
    for f, inc in zip(fractions, included, strict=True):
        total = total + f
        first = np.where(inc & (count == 0), f, first)
        second = np.where(inc & (count == 1), f, second)
        count = count + inc
    std = np.where(count == 2, np.abs((first - second) / 2), 0.0)
    many = count > 2
    if many.any():
        n = np.where(many, count, 1).astype(np.float64)
        mean = total / n
        acc = np.zeros(columns)
        for f, inc in zip(fractions, included, strict=True):
            d = f - mean
            acc = acc + np.where(inc, d * d, 0.0)
        std = np.where(many, np.sqrt(acc / n), std)
    scores: IntArray = ((1 - std) * float(MAX_SCORE)).astype(np.int64)
    return scores
