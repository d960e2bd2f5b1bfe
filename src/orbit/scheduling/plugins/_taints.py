"""TaintToleration and NodeUnschedulable: nodes that repel pods unless tolerated.

TaintToleration filters out a node with a NoSchedule or NoExecute taint the pod does
not tolerate ("node(s) had untolerated taint {key: value}", the first such taint in the
node's order) and scores down nodes with PreferNoSchedule taints it does not tolerate
(count of such taints, normalised in reverse). NodeUnschedulable filters out cordoned
nodes (``spec.unschedulable``) unless the pod tolerates the
``node.kubernetes.io/unschedulable:NoSchedule`` taint. Both rejections are
UnschedulableAndUnresolvable: no eviction removes a taint.

The vectorised forms check tolerations once per distinct taint list
(:class:`~orbit.scheduling.TaintGroups`), not once per node.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from orbit.api import Pod, Taint, Toleration
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._nodeinfo import NodeInfo
from orbit.scheduling._snapshot import NodeIndex, Snapshot, TaintGroups
from orbit.scheduling._status import SUCCESS, FilterAllResult, Status

from ._normalize import default_normalize

__all__ = ["NodeUnschedulable", "TaintToleration"]

UNSCHEDULABLE_TAINT: Final = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")
REASON_UNSCHEDULABLE: Final = "node(s) were unschedulable"
_PREFER: StateKey[tuple[Toleration, ...]] = StateKey("PreScoreTaintToleration")


def tolerated(tolerations: Sequence[Toleration], taint: Taint) -> bool:
    """Whether some toleration tolerates ``taint``."""
    return any(toleration.tolerates(taint) for toleration in tolerations)


def _untolerated(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> Taint | None:
    for taint in taints:
        if not tolerated(tolerations, taint):
            return taint
    return None


def _reason(taint: Taint) -> Status:
    return Status.unresolvable(f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}")


class TaintToleration:
    """Filter by NoSchedule / NoExecute taints; score by PreferNoSchedule taints."""

    name = "TaintToleration"
    scores_bounded = True  # 0-100 by construction: the framework skips the check

    def __init__(self) -> None:
        self._untolerating: tuple[NodeIndex, FilterAllResult] | None = None
        # Results by toleration list for the current node index: every pod of a
        # cluster carries the same DefaultTolerationSeconds pair, so the masks repeat.
        self._by_tolerations: tuple[NodeIndex | None, dict[tuple[Toleration, ...], FilterAllResult]]
        self._by_tolerations = (None, {})

    @classmethod
    def new(cls, args: object, handle: object) -> TaintToleration:
        """Registry factory (no args)."""
        return cls()

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        taint = _untolerated(node_info.hard_taints, pod.spec.tolerations)
        return SUCCESS if taint is None else _reason(taint)

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult:
        index = snapshot.node_index
        groups = index.hard_taints
        tolerations = pod.spec.tolerations
        # The common cases: no tolerations, or no taint anywhere to tolerate (every
        # pod carries DefaultTolerationSeconds' pair): one result per node set.
        if not tolerations or index.none_tainted:
            cached = self._untolerating
            if cached is None or cached[0] is not index:
                result = FilterAllResult(
                    mask=index.untainted,
                    reason=lambda group: _reason(groups.taints[group][0]),
                    codes=lambda: groups.codes.astype(np.int64),
                    everywhere=index.none_tainted,
                )
                cached = self._untolerating = (index, result)
            return cached[1]
        index_seen, results = self._by_tolerations
        if index_seen is not index:
            results = {}
            self._by_tolerations = (index, results)
        key = tuple(tolerations)
        found = results.get(key)
        if found is None:
            found = results[key] = _filter_all_tolerating(groups, key, index.none_tainted)
        return found

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Status:
        if not snapshot.node_index.soft_taints.taints:
            return Status.skip()  # no PreferNoSchedule taint anywhere: every node ties
        state.write(_PREFER, _prefer_no_schedule(pod.spec.tolerations))
        return SUCCESS

    def _tolerations(self, state: CycleState, pod: Pod) -> tuple[Toleration, ...]:
        tolerations = state.get(_PREFER)
        return tolerations if tolerations is not None else _prefer_no_schedule(pod.spec.tolerations)

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        tolerations = self._tolerations(state, pod)
        return sum(1 for taint in node_info.soft_taints if not tolerated(tolerations, taint))

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        groups: TaintGroups = snapshot.node_index.soft_taints
        if not groups.taints:  # no node has a PreferNoSchedule taint
            return np.zeros(len(candidates), dtype=np.int64)
        tolerations = self._tolerations(state, pod)
        counts = [0] + [
            sum(1 for taint in taints if not tolerated(tolerations, taint))
            for taints in groups.taints
        ]
        table = np.asarray(counts, dtype=np.int64)
        return table[groups.codes[candidates].astype(np.int64) + 1]

    def normalize_scores(
        self, state: CycleState, pod: Pod, scores: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        return default_normalize(scores, reverse=True)


def _filter_all_tolerating(
    groups: TaintGroups, tolerations: tuple[Toleration, ...], none_tainted: bool
) -> FilterAllResult:
    """filter_all for a pod with tolerations: one check per distinct taint list."""
    first = [_untolerated(taints, tolerations) for taints in groups.taints]
    # slot 0 stands for "no taint"; group g is slot g + 1
    passes = np.asarray([True, *(taint is None for taint in first)], dtype=np.bool_)
    slots = groups.codes.astype(np.int64) + 1
    mask = passes[slots]

    def reason(group: int) -> Status:
        taint = first[group]
        assert taint is not None
        return _reason(taint)

    return FilterAllResult(
        mask=mask, reason=reason, codes=lambda: slots - 1, everywhere=none_tainted
    )


def _prefer_no_schedule(tolerations: Sequence[Toleration]) -> tuple[Toleration, ...]:
    """The tolerations that can tolerate a PreferNoSchedule taint (empty effect too)."""
    return tuple(t for t in tolerations if t.effect in ("", "PreferNoSchedule"))


class NodeUnschedulable:
    """Filter out cordoned nodes unless the pod tolerates the unschedulable taint."""

    name = "NodeUnschedulable"

    def __init__(self) -> None:
        self._results: dict[bool, tuple[NodeIndex, FilterAllResult]] = {}

    @classmethod
    def new(cls, args: object, handle: object) -> NodeUnschedulable:
        """Registry factory (no args)."""
        return cls()

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if not node_info.node.spec.unschedulable:
            return SUCCESS
        if tolerated(pod.spec.tolerations, UNSCHEDULABLE_TAINT):
            return SUCCESS
        return Status.unresolvable(REASON_UNSCHEDULABLE)

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult:
        index = snapshot.node_index
        # No node cordoned: every pod passes, tolerations or not (and none checked).
        tolerates = index.none_cordoned or tolerated(pod.spec.tolerations, UNSCHEDULABLE_TAINT)
        cached = self._results.get(tolerates)
        if cached is None or cached[0] is not index:
            mask = np.ones(len(index.schedulable), np.bool_) if tolerates else index.schedulable
            failure = Status.unresolvable(REASON_UNSCHEDULABLE)
            result = FilterAllResult(
                mask=mask,
                reason=lambda _: failure,
                codes=lambda: np.zeros(len(mask), np.int64),
                everywhere=tolerates or index.none_cordoned,
            )
            cached = self._results[tolerates] = (index, result)
        return cached[1]
