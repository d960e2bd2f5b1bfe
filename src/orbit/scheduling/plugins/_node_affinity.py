"""NodeAffinity: ``spec.nodeSelector`` and node affinity, required and preferred.

Required terms (and the node selector) filter: a node that does not match is rejected
with Kubernetes' reason "node(s) didn't match Pod's node affinity/selector"
(UnschedulableAndUnresolvable: no eviction changes a node's labels). When every
required term pins ``metadata.name`` with ``matchFields``, the pre-filter narrows the
cycle to those nodes. Preferred terms score: the sum of the weights of the matching
terms, normalised to 0-100 over the candidates.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from orbit.api import Pod
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._nodeinfo import NodeInfo
from orbit.scheduling._snapshot import Snapshot
from orbit.scheduling._status import SUCCESS, FilterAllResult, PreFilterResult, Status

from ._node_selector import NAME_FIELD, PreferredTerms, RequiredNodeAffinity
from ._normalize import default_normalize

__all__ = ["NodeAffinity"]

REASON_POD: Final = "node(s) didn't match Pod's node affinity/selector"
REASON_CONFLICT: Final = "pod affinity terms conflict"
_REQUIRED: StateKey[RequiredNodeAffinity] = StateKey("PreFilterNodeAffinity")
_PREFERRED: StateKey[PreferredTerms] = StateKey("PreScoreNodeAffinity")


def _pinned_names(pod: Pod) -> frozenset[str] | None:
    """The node names every required term pins with ``metadata.name In``, or None
    when some term leaves the name open (Kubernetes' PreFilter narrowing)."""
    affinity = pod.spec.affinity
    node_affinity = affinity.node_affinity if affinity is not None else None
    required = (
        node_affinity.required_during_scheduling_ignored_during_execution
        if node_affinity is not None
        else None
    )
    if required is None or not required.node_selector_terms:
        return None
    names: set[str] = set()
    for term in required.node_selector_terms:
        term_names: set[str] | None = None
        for field in term.match_fields:
            if field.key == NAME_FIELD and field.operator == "In":
                values = set(field.values)
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names |= term_names
    return frozenset(names)


class NodeAffinity:
    """Filter by required node affinity / selector; score by preferred terms."""

    name = "NodeAffinity"
    scores_bounded = True  # 0-100 by construction: the framework skips the check

    @classmethod
    def new(cls, args: object, handle: object) -> NodeAffinity:
        """Registry factory (no args)."""
        return cls()

    def pre_filter(
        self, state: CycleState, pod: Pod, snapshot: Snapshot
    ) -> Status | PreFilterResult:
        affinity = pod.spec.affinity
        node_affinity = affinity.node_affinity if affinity is not None else None
        has_required = (
            node_affinity is not None
            and node_affinity.required_during_scheduling_ignored_during_execution is not None
        )
        if not has_required and not pod.spec.node_selector:
            return Status.skip()
        state.write(_REQUIRED, RequiredNodeAffinity.of(pod))
        names = _pinned_names(pod)
        if names is None:
            return SUCCESS
        if not names:
            return Status.unresolvable(REASON_CONFLICT)
        return PreFilterResult(names)

    def _required(self, state: CycleState, pod: Pod) -> RequiredNodeAffinity:
        required = state.get(_REQUIRED)
        return required if required is not None else RequiredNodeAffinity.of(pod)

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if self._required(state, pod).matches(node_info.node):
            return SUCCESS
        return Status.unresolvable(REASON_POD)

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult:
        mask = self._required(state, pod).mask(snapshot.node_index)
        failure = Status.unresolvable(REASON_POD)
        return FilterAllResult(
            mask=mask, reason=lambda _: failure, codes=lambda: np.zeros(len(mask), np.int64)
        )

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Status:
        preferred = PreferredTerms.of(pod)
        if preferred is None:
            return Status.skip()
        state.write(_PREFERRED, preferred)
        return SUCCESS

    def _preferred(self, state: CycleState, pod: Pod) -> PreferredTerms | None:
        preferred = state.get(_PREFERRED)
        return preferred if preferred is not None else PreferredTerms.of(pod)

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        preferred = self._preferred(state, pod)
        return 0 if preferred is None else preferred.score(node_info.node)

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        preferred = self._preferred(state, pod)
        if preferred is None:
            return np.zeros(len(candidates), dtype=np.int64)
        return preferred.score_all(snapshot.node_index, candidates)

    def normalize_scores(
        self, state: CycleState, pod: Pod, scores: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        return default_normalize(scores, reverse=False)
