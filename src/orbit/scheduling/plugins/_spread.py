"""PodTopologySpread: keep matching pods evenly spread over topology domains.

Kubernetes' plugin, to its rules and messages. A constraint names a ``topologyKey``
(zone, hostname...), the pods it counts (``labelSelector``, narrowed by the values of
the pod's own ``matchLabelKeys``, in the pod's namespace, terminating pods left out)
and a ``maxSkew``: placing the pod in a domain may not leave that domain more than
``maxSkew`` pods above the least-loaded domain.

``whenUnsatisfiable: DoNotSchedule`` filters. The pre-filter counts matching pods per
domain over the *eligible* nodes: nodes with every constraint's key that pass the pod's
node affinity (``nodeAffinityPolicy: Honor``, the default) and, with
``nodeTaintsPolicy: Honor``, whose NoSchedule / NoExecute taints the pod tolerates.
A node is rejected when it lacks a key ("node(s) didn't match pod topology spread
constraints (missing required label)", UnschedulableAndUnresolvable) or when
``count(domain) + self - min(domains) > maxSkew`` ("node(s) didn't match pod topology
spread constraints", Unschedulable). With fewer eligible domains than ``minDomains``
the minimum counts as 0.

``whenUnsatisfiable: ScheduleAnyway`` scores: per constraint a candidate gets
``count * log(domains + 2) + maxSkew - 1`` (hostname counts the node's own pods), the
sum is rounded and reversed so that the emptiest domain scores 100.

Not done: Kubernetes' *default* constraints (the cluster-level ``defaultConstraints``
or the system default that spreads pods of one Service / ReplicaSet over hostnames and
zones) — orbit applies only the constraints written on the pod. The minimum is exact
after preemption's add/remove, where Kubernetes keeps two "critical paths" that can
lag behind an increase.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod, Selector, as_selector, selector_from_label_selector
from orbit.errors import ValidationError
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._nodeinfo import NodeInfo, PodInfo
from orbit.scheduling._snapshot import LabelColumn, Snapshot
from orbit.scheduling._status import SUCCESS, FilterAllResult, Status

from ._domains import DomainCounts
from ._node_selector import RequiredNodeAffinity
from ._podindex import PodFilter, PodIndex, domain_sums
from ._taints import tolerated

__all__ = ["PodTopologySpread"]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
REASON: Final = "node(s) didn't match pod topology spread constraints"
REASON_MISSING_LABEL: Final = f"{REASON} (missing required label)"
HOSTNAME: Final = "kubernetes.io/hostname"


@attrs.frozen(slots=True)
class Constraint:
    """One TopologySpreadConstraint with its selector compiled (matchLabelKeys merged)."""

    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def constraints_of(pod: Pod, action: str) -> tuple[Constraint, ...]:
    """The pod's constraints with ``whenUnsatisfiable == action`` (ValidationError on
    an invalid selector)."""
    labels = pod.metadata.labels
    out = []
    for c in pod.spec.topology_spread_constraints:
        if c.when_unsatisfiable != action:
            continue
        selector = selector_from_label_selector(c.label_selector)
        pinned = {key: labels[key] for key in c.match_label_keys if key in labels}
        if pinned:
            selector = selector.add(*as_selector(pinned).requirements)
        out.append(
            Constraint(
                max_skew=c.max_skew,
                topology_key=c.topology_key,
                selector=selector,
                min_domains=1 if c.min_domains is None else c.min_domains,
                honor_affinity=c.node_affinity_policy == "Honor",
                honor_taints=c.node_taints_policy == "Honor",
            )
        )
    return tuple(out)


class _Eligibility:
    """Which nodes each constraint counts (module docstring), computed lazily."""

    def __init__(self, pod: Pod, snapshot: Snapshot, constraints: tuple[Constraint, ...]) -> None:
        self._pod, self._snapshot = pod, snapshot
        nodes = snapshot.node_index
        self.has_all = np.ones(len(snapshot), dtype=np.bool_)
        for c in constraints:
            self.has_all &= nodes.label(c.topology_key).codes >= 0
        self._affinity: BoolArray | None = None
        self._taints: BoolArray | None = None

    def of(self, c: Constraint) -> BoolArray:
        out = self.has_all
        if c.honor_affinity:
            if self._affinity is None:
                required = RequiredNodeAffinity.of(self._pod)
                self._affinity = required.mask(self._snapshot.node_index)
            out = out & self._affinity
        if c.honor_taints:
            if self._taints is None:
                groups = self._snapshot.node_index.hard_taints
                tolerations = self._pod.spec.tolerations
                passes = [True] + [
                    all(tolerated(tolerations, t) for t in ts) for ts in groups.taints
                ]
                self._taints = np.asarray(passes, dtype=np.bool_)[groups.codes.astype(np.int64) + 1]
            out = out & self._taints
        return out


def _included(c: Constraint, pod: Pod, required: RequiredNodeAffinity, node_info: NodeInfo) -> bool:
    """Kubernetes' ``matchNodeInclusionPolicies`` for one node."""
    if c.honor_affinity and not required.matches(node_info.node):
        return False
    tolerations = pod.spec.tolerations
    return not (
        c.honor_taints and not all(tolerated(tolerations, t) for t in node_info.hard_taints)
    )


def _matching(index: PodIndex, c: Constraint, namespace: str) -> Int64Array | None:
    """Per node, the pods ``c`` counts; None when it counts none (an empty selector
    counts nothing, as in Kubernetes' ``countPodsMatchSelector``)."""
    if c.selector.empty or c.selector.matches_nothing:
        return None
    return index.counts(PodFilter(((frozenset((namespace,)), c.selector),), skip_terminating=True))


def _count_on_node(c: Constraint, namespace: str, node_info: NodeInfo) -> int:
    if c.selector.empty:
        return 0
    return sum(
        1
        for p in node_info.pods
        if p.pod.metadata.deletion_timestamp is None
        and p.pod.metadata.namespace == namespace
        and c.selector.matches(p.pod.metadata.labels)
    )


@attrs.define(eq=False)
class _FilterState:
    pod: Pod
    constraints: tuple[Constraint, ...]
    required: RequiredNodeAffinity
    self_match: tuple[bool, ...]
    domains: list[DomainCounts]

    def clone(self) -> _FilterState:
        return attrs.evolve(self, domains=[d.clone() for d in self.domains])


@attrs.frozen(eq=False)
class _ScoreState:
    constraints: tuple[Constraint, ...]
    columns: tuple[LabelColumn, ...]
    weights: tuple[float, ...]
    counts: tuple[Int64Array | None, ...]  # per domain code; per node for hostname
    ignored: BoolArray  # per candidate, in the order scored


_FILTER: StateKey[_FilterState] = StateKey("PreFilterPodTopologySpread")
_SCORE: StateKey[_ScoreState] = StateKey("PreScorePodTopologySpread")


def go_round(x: float) -> int:
    """Go's ``math.Round`` for x >= 0: half away from zero (``x - floor(x)`` is exact)."""
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


class PodTopologySpread:
    """Filter by DoNotSchedule constraints, score by ScheduleAnyway ones."""

    name = "PodTopologySpread"

    @classmethod
    def new(cls, args: object, handle: object) -> PodTopologySpread:
        """Registry factory (no args: default constraints are not supported)."""
        if args is not None and not (isinstance(args, Mapping) and not args):
            raise TypeError(f"PodTopologySpread takes no args (default constraints), not {args!r}")
        return cls()

    # -- pre-filter and its extensions ----------------------------------------------

    def pre_filter(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> Status:
        try:
            constraints = constraints_of(pod, "DoNotSchedule")
        except ValidationError as error:
            return Status.error(f"obtaining pod's hard topology spread constraints: {error}")
        if not constraints:
            return Status.skip()
        index = PodIndex.of(snapshot)
        eligibility = _Eligibility(pod, snapshot, constraints)
        namespace = pod.metadata.namespace
        domains = []
        for c in constraints:
            column = snapshot.node_index.label(c.topology_key)
            codes = np.where(eligibility.of(c), column.codes, -1).astype(np.int32)
            size = len(column.vocabulary)
            per_node = _matching(index, c, namespace)
            counts = (
                np.zeros(size, dtype=np.int64)
                if per_node is None
                else domain_sums(codes, per_node, size)
            )
            present = np.bincount(codes[codes >= 0], minlength=size) > 0
            domains.append(DomainCounts(column, counts, present))
        labels = pod.metadata.labels
        self_match = tuple(c.selector.matches(labels) for c in constraints)
        required = RequiredNodeAffinity.of(pod)
        state.write(_FILTER, _FilterState(pod, constraints, required, self_match, domains))
        return SUCCESS

    def add_pod(
        self, state: CycleState, pod: Pod, pod_to_add: PodInfo, node_info: NodeInfo
    ) -> Status:
        return self._update(state, pod_to_add, node_info, 1)

    def remove_pod(
        self, state: CycleState, pod: Pod, pod_to_remove: PodInfo, node_info: NodeInfo
    ) -> Status:
        return self._update(state, pod_to_remove, node_info, -1)

    def _update(self, state: CycleState, other: PodInfo, node_info: NodeInfo, sign: int) -> Status:
        """Kubernetes' ``updateWithPod``: unlike the pre-filter's count it does not leave
        out terminating pods or count nothing for an empty selector."""
        s = state.get(_FILTER)
        if s is None:
            return Status.error(f"reading {_FILTER.name!r} from cycleState: not found")
        meta = other.pod.metadata
        labels = node_info.labels
        if meta.namespace != s.pod.metadata.namespace:
            return SUCCESS
        if any(c.topology_key not in labels for c in s.constraints):
            return SUCCESS
        for c, domains in zip(s.constraints, s.domains, strict=True):
            if c.selector.matches(meta.labels) and _included(c, s.pod, s.required, node_info):
                domains.add(labels[c.topology_key], sign)
        return SUCCESS

    # -- filter ----------------------------------------------------------------------

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        s = state.get(_FILTER)
        if s is None:
            return Status.error(f"reading {_FILTER.name!r} from cycleState: not found")
        labels = node_info.labels
        for c, domains, own in zip(s.constraints, s.domains, s.self_match, strict=True):
            value = labels.get(c.topology_key)
            if value is None:
                return Status.unresolvable(REASON_MISSING_LABEL)
            skew = domains.get(value) + int(own) - domains.min_match(c.min_domains)
            if skew > c.max_skew:
                return Status.unschedulable(REASON)
        return SUCCESS

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult:
        s = state.read(_FILTER)
        code = np.full(len(snapshot), -1, dtype=np.int64)
        for c, domains, own in zip(s.constraints, s.domains, s.self_match, strict=True):
            column = snapshot.node_index.label(c.topology_key)
            open_ = code < 0
            code[open_ & (column.codes < 0)] = 0
            too_many = domains.values(column) + int(own) - domains.min_match(c.min_domains)
            table = np.append(too_many > c.max_skew, False)  # slot -1: no label
            code[(code < 0) & table[column.codes]] = 1
        statuses = (Status.unresolvable(REASON_MISSING_LABEL), Status.unschedulable(REASON))
        return FilterAllResult(
            mask=code < 0, reason=lambda value: statuses[value], codes=lambda: code
        )

    # -- score -----------------------------------------------------------------------

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Status:
        try:
            constraints = constraints_of(pod, "ScheduleAnyway")
        except ValidationError as error:
            return Status.error(f"obtaining pod's soft topology spread constraints: {error}")
        if not constraints or len(snapshot) == 0:
            return Status.skip()
        index = PodIndex.of(snapshot)
        eligibility = _Eligibility(pod, snapshot, constraints)
        ignored = ~eligibility.has_all[candidates]
        scored = candidates[~ignored]
        columns, weights, counts = [], [], []
        for c in constraints:
            column = snapshot.node_index.label(c.topology_key)
            per_node = _matching(index, c, pod.metadata.namespace)
            size = len(column.vocabulary)
            if c.topology_key == HOSTNAME:
                domains = len(scored)
                counted = per_node
            else:
                domains = int(np.count_nonzero(np.bincount(column.codes[scored], minlength=size)))
                codes = np.where(eligibility.of(c), column.codes, -1).astype(np.int32)
                counted = None if per_node is None else domain_sums(codes, per_node, size)
            columns.append(column)
            weights.append(math.log(domains + 2))
            counts.append(counted)
        state.write(
            _SCORE, _ScoreState(constraints, tuple(columns), tuple(weights), tuple(counts), ignored)
        )
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        s = state.get(_SCORE)
        labels = node_info.labels
        if s is None or any(c.topology_key not in labels for c in s.constraints):
            return 0
        total = 0.0
        for c, column, weight, counts in zip(
            s.constraints, s.columns, s.weights, s.counts, strict=True
        ):
            if c.topology_key == HOSTNAME:
                count = _count_on_node(c, pod.metadata.namespace, node_info)
            else:
                code = column.vocabulary.get(labels[c.topology_key])
                count = 0 if counts is None or code is None else int(counts[code])
            total += float(count) * weight + float(c.max_skew - 1)
        return go_round(total)

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Int64Array:
        s = state.read(_SCORE)
        total = np.zeros(len(candidates), dtype=np.float64)
        for c, column, weight, counts in zip(
            s.constraints, s.columns, s.weights, s.counts, strict=True
        ):
            if counts is None:
                count = np.zeros(len(candidates), dtype=np.int64)
            elif c.topology_key == HOSTNAME:
                count = counts[candidates]
            else:
                count = np.append(counts, 0)[column.codes[candidates]]
            total = total + (count.astype(np.float64) * weight + float(c.max_skew - 1))
        whole = np.floor(total)
        rounded = (whole + (total - whole >= 0.5)).astype(np.int64)
        missing = np.zeros(len(candidates), dtype=np.bool_)  # Kubernetes' IgnoredNodes
        for column in s.columns:
            missing |= column.codes[candidates] < 0
        return np.where(missing, 0, rounded)

    def normalize_scores(self, state: CycleState, pod: Pod, scores: Int64Array) -> Int64Array:
        scores = np.asarray(scores, dtype=np.int64)
        s = state.get(_SCORE)
        ignored = np.zeros(len(scores), dtype=np.bool_)
        if s is not None and len(s.ignored) == len(scores):
            ignored = s.ignored
        valid = scores[~ignored]
        if not valid.size:
            return np.zeros_like(scores)
        low, high = int(valid.min()), max(int(valid.max()), 0)
        if high == 0:
            out = np.full(len(scores), 100, dtype=np.int64)
        else:
            out = 100 * (high + low - scores) // high
        return np.where(ignored, 0, out)
