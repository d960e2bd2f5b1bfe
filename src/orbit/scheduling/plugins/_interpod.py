"""InterPodAffinity: run near some pods, away from others, by topology domain.

Kubernetes' plugin, to its rules and messages. The pre-filter computes, once per pod,
per topology pair (key, value):

- how many placed pods match *all* the pod's required affinity terms (each term's
  pair counts them);
- how many placed pods match each of its required anti-affinity terms;
- how many placed pods have a required anti-affinity term that matches the pod (the
  symmetry rule: an existing pod's anti-affinity keeps the newcomer out of its domain).

The filter then rejects a node when an affinity term's domain holds no matching pod
(or the node lacks the term's label) — "node(s) didn't match pod affinity rules",
UnschedulableAndUnresolvable, since evicting pods cannot add the pods it wants — unless
no placed pod matches at all and the pod matches its own terms: the first pod of a
group that wants to be together may go anywhere with the labels. Then it rejects a
node whose domain holds a pod of the pod's anti-affinity ("node(s) didn't match pod
anti-affinity rules") or a pod whose anti-affinity matches it ("node(s) didn't satisfy
existing pods anti-affinity rules"), both Unschedulable: preemption may help.

The score sums, per candidate's domains, the weights of the pod's preferred terms over
the pods they match (anti-affinity negative), of the placed pods' preferred terms that
match the pod, and ``hardPodAffinityWeight`` per placed pod whose required affinity
matches it; the sums are rescaled min-max to 0-100.

Namespaces: a term looks in the pod's own namespace unless it lists ``namespaces`` or
a ``namespaceSelector`` (empty: every namespace). Selectors are resolved against
namespace labels from ``InterPodAffinityArgs.namespaces`` (the snapshot carries none
yet); without them a namespace has no labels. Counts come from a :class:`PodIndex`
that follows the snapshot, so a cycle costs O(nodes + distinct terms), not O(pods).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod
from orbit.errors import ValidationError
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._nodeinfo import NodeInfo, PodInfo
from orbit.scheduling._snapshot import LabelColumn, NodeIndex, Snapshot
from orbit.scheduling._status import SUCCESS, FilterAllResult, Status

from ._podindex import PodFilter, PodIndex, TermKind, domain_sums
from ._podterms import AffinityTerm, pod_terms
from ._topology_counts import TopologyCounts

__all__ = ["InterPodAffinity", "InterPodAffinityArgs"]

Int64Array = npt.NDArray[np.int64]
NamespaceLabels = Mapping[str, Mapping[str, str]]
REASON_AFFINITY: Final = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY: Final = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING: Final = "node(s) didn't satisfy existing pods anti-affinity rules"
_NO_LABELS: Mapping[str, str] = {}


@attrs.frozen
class InterPodAffinityArgs:
    """Kubernetes' ``InterPodAffinityArgs`` plus where namespace labels come from.

    ``namespaces`` maps namespace names to their labels, or is a callable returning
    such a mapping (read once per cycle), for ``namespaceSelector``.
    """

    hard_pod_affinity_weight: int = 1
    ignore_preferred_terms_of_existing_pods: bool = False
    namespaces: NamespaceLabels | Callable[[], NamespaceLabels] | None = None

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.hard_pod_affinity_weight <= 100:
            raise ValidationError(
                [("hardPodAffinityWeight", "must be in the range 0-100")],
                subject="InterPodAffinityArgs",
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> InterPodAffinityArgs:
        """Args from Kubernetes' camelCase form."""
        return cls(
            hard_pod_affinity_weight=data.get("hardPodAffinityWeight", 1),
            ignore_preferred_terms_of_existing_pods=data.get(
                "ignorePreferredTermsOfExistingPods", False
            ),
            namespaces=data.get("namespaces"),
        )


@attrs.define(eq=False)
class _FilterState:
    """The pre-filter's counts (see the module docstring); cloned for what-ifs."""

    pod: Pod
    namespace_labels: Mapping[str, str]
    required: tuple[AffinityTerm, ...]
    anti: tuple[AffinityTerm, ...]
    self_match: bool
    affinity_counts: TopologyCounts
    anti_counts: TopologyCounts
    existing_counts: TopologyCounts

    def clone(self) -> _FilterState:
        return attrs.evolve(
            self,
            affinity_counts=self.affinity_counts.clone(),
            anti_counts=self.anti_counts.clone(),
            existing_counts=self.existing_counts.clone(),
        )

    def update(self, other: Pod, labels: Mapping[str, str], sign: int) -> None:
        """Count ``other`` joining (+1) or leaving (-1) the node with ``labels``."""
        for term in pod_terms(other).required_anti_affinity:
            if term.matches(self.pod, self.namespace_labels):
                self.existing_counts.add_node(term.topology_key, labels, sign)
        if self.required and all(term.matches(other) for term in self.required):
            for term in self.required:
                self.affinity_counts.add_node(term.topology_key, labels, sign)
        for term in self.anti:
            if term.matches(other):
                self.anti_counts.add_node(term.topology_key, labels, sign)


_FILTER: StateKey[_FilterState] = StateKey("PreFilterInterPodAffinity")
_SCORE: StateKey[dict[str, tuple[LabelColumn, Int64Array]]] = StateKey("PreScoreInterPodAffinity")


def _satisfies_affinity(s: _FilterState, labels: Mapping[str, str]) -> bool:
    pods_exist = True
    for term in s.required:
        value = labels.get(term.topology_key)
        if value is None:
            return False  # every topology label must exist on the node
        if s.affinity_counts.get(term.topology_key, value) <= 0:
            pods_exist = False
    return pods_exist or (s.affinity_counts.empty() and s.self_match)


def _blocked(counts: TopologyCounts, keys: list[str], labels: Mapping[str, str]) -> bool:
    for key in keys:
        value = labels.get(key)
        if value is not None and counts.get(key, value) > 0:
            return True
    return False


class InterPodAffinity:
    """Filter and score by pod affinity and anti-affinity; see the module docstring."""

    name = "InterPodAffinity"

    def __init__(self, args: InterPodAffinityArgs | None = None) -> None:
        self.args = args or InterPodAffinityArgs()

    @classmethod
    def new(cls, args: object, handle: object) -> InterPodAffinity:
        """Registry factory: args may be InterPodAffinityArgs, a mapping, or None."""
        if isinstance(args, Mapping):
            return cls(InterPodAffinityArgs.from_mapping(args))
        if args is None or isinstance(args, InterPodAffinityArgs):
            return cls(args)
        raise TypeError(f"InterPodAffinity args must be InterPodAffinityArgs, not {args!r}")

    def _namespaces(self) -> NamespaceLabels:
        source = self.args.namespaces
        if source is None:
            return {}
        return source() if callable(source) else source

    # -- pre-filter ------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> Status:
        if not snapshot.affinity_pods and not _has_pod_terms(pod):
            return Status.skip()  # no terms anywhere: nothing to count
        terms = pod_terms(pod)
        if terms.error:
            return Status.unresolvable(f"parsing pod: {terms.error}")
        namespaces = self._namespaces()
        ns_labels = namespaces.get(pod.metadata.namespace, _NO_LABELS)
        index = PodIndex.of(snapshot)
        nodes = snapshot.node_index
        existing = TopologyCounts()
        for counts in index.terms["anti"].values():
            if counts.term.matches(pod, ns_labels):
                key = counts.term.topology_key
                existing.add_dense(key, nodes.label(key), counts.domains)
        required = tuple(t.resolved(namespaces) for t in terms.required_affinity)
        anti = tuple(t.resolved(namespaces) for t in terms.required_anti_affinity)
        if existing.empty() and not required and not anti:
            return Status.skip()
        affinity_counts = TopologyCounts()
        if required:
            per_node = index.counts(PodFilter.of_terms(required))
            for term in required:
                _add_domains(affinity_counts, nodes, term.topology_key, per_node)
        anti_counts = TopologyCounts()
        for term in anti:
            per_node = index.counts(PodFilter.of_terms((term,)))
            _add_domains(anti_counts, nodes, term.topology_key, per_node)
        self_match = bool(required) and all(term.matches(pod) for term in required)
        state.write(
            _FILTER,
            _FilterState(
                pod, ns_labels, required, anti, self_match, affinity_counts, anti_counts, existing
            ),
        )
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
        s = state.get(_FILTER)
        if s is None:
            return Status.error(f"reading {_FILTER.name!r} from cycleState: not found")
        s.update(other.pod, node_info.labels, sign)
        return SUCCESS

    # -- filter ----------------------------------------------------------------------

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        s = state.get(_FILTER)
        if s is None:
            return Status.error(f"reading {_FILTER.name!r} from cycleState: not found")
        labels = node_info.labels
        if not _satisfies_affinity(s, labels):
            return Status.unresolvable(REASON_AFFINITY)
        if _blocked(s.anti_counts, [t.topology_key for t in s.anti], labels):
            return Status.unschedulable(REASON_ANTI_AFFINITY)
        if _blocked(s.existing_counts, s.existing_counts.keys(), labels):
            return Status.unschedulable(REASON_EXISTING)
        return SUCCESS

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult:
        s = state.read(_FILTER)
        nodes = snapshot.node_index
        size = len(snapshot)
        affinity_ok = np.ones(size, dtype=np.bool_)
        if s.required:
            has_all = np.ones(size, dtype=np.bool_)
            exist = np.ones(size, dtype=np.bool_)
            for term in s.required:
                column = nodes.label(term.topology_key)
                has_all &= column.codes >= 0
                exist &= s.affinity_counts.positive(term.topology_key, column)
            first = s.affinity_counts.empty() and s.self_match
            affinity_ok = has_all if first else has_all & exist
        anti = _any_positive(s.anti_counts, [t.topology_key for t in s.anti], nodes, size)
        existing = _any_positive(s.existing_counts, s.existing_counts.keys(), nodes, size)
        mask = affinity_ok & ~anti & ~existing
        statuses = (
            Status.unresolvable(REASON_AFFINITY),
            Status.unschedulable(REASON_ANTI_AFFINITY),
            Status.unschedulable(REASON_EXISTING),
        )

        def codes() -> Int64Array:
            return np.where(~affinity_ok, 0, np.where(anti, 1, 2)).astype(np.int64)

        return FilterAllResult(mask=mask, reason=lambda code: statuses[code], codes=codes)

    # -- score -----------------------------------------------------------------------

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Status:
        if not snapshot.affinity_pods and not _has_pod_terms(pod):
            return Status.skip()  # every score would be 0
        terms = pod_terms(pod)
        if terms.error:
            return Status.error(f"failed to parse pod: {terms.error}")
        own = [(w.weight, w.term) for w in terms.preferred_affinity]
        own += [(-w.weight, w.term) for w in terms.preferred_anti_affinity]
        if self.args.ignore_preferred_terms_of_existing_pods and not own:
            return Status.skip()
        namespaces = self._namespaces()
        ns_labels = namespaces.get(pod.metadata.namespace, _NO_LABELS)
        index = PodIndex.of(snapshot)
        nodes = snapshot.node_index
        sums: dict[str, tuple[LabelColumn, Int64Array]] = {}

        def add(key: str, values: Int64Array) -> None:
            entry = sums.get(key)
            sums[key] = (nodes.label(key), values if entry is None else entry[1] + values)

        for weight, term in own:
            per_node = index.counts(PodFilter.of_terms((term.resolved(namespaces),)))
            column = nodes.label(term.topology_key)
            add(
                term.topology_key,
                weight * domain_sums(column.codes, per_node, len(column.vocabulary)),
            )
        hard = self.args.hard_pod_affinity_weight
        existing: tuple[tuple[TermKind, int], ...] = (
            ("affinity", hard),  # required affinity of placed pods: a fixed weight
            ("preferred", 1),
            ("preferred-anti", -1),
        )
        for kind, sign in existing:
            if sign == 0:
                continue
            for counts in index.terms[kind].values():
                if counts.term.matches(pod, ns_labels):
                    weight = sign if kind == "affinity" else sign * counts.weight
                    add(counts.term.topology_key, weight * counts.domains)
        if not any(values.any() for _, values in sums.values()):
            return Status.skip()  # every score would be 0
        state.write(_SCORE, sums)
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        sums = state.get(_SCORE)
        if sums is None:
            return 0
        labels = node_info.labels
        total = 0
        for key, (column, values) in sums.items():
            value = labels.get(key)
            code = None if value is None else column.vocabulary.get(value)
            if code is not None:
                total += int(values[code])
        return total

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: npt.NDArray[np.intp]
    ) -> Int64Array:
        total = np.zeros(len(candidates), dtype=np.int64)
        for column, values in (state.get(_SCORE) or {}).values():
            table = np.append(values, 0)  # slot -1: no label
            total += table[column.codes[candidates]]
        return total

    def normalize_scores(self, state: CycleState, pod: Pod, scores: Int64Array) -> Int64Array:
        scores = np.asarray(scores, dtype=np.int64)
        if not scores.size:
            return scores
        low, high = int(scores.min()), int(scores.max())
        if high == low:
            return np.zeros_like(scores)
        fraction = (scores - low).astype(np.float64) / float(high - low)
        return (100.0 * fraction).astype(np.int64)


def _add_domains(counts: TopologyCounts, nodes: NodeIndex, key: str, per_node: Int64Array) -> None:
    column = nodes.label(key)
    counts.add_dense(key, column, domain_sums(column.codes, per_node, len(column.vocabulary)))


def _any_positive(
    counts: TopologyCounts, keys: list[str], nodes: NodeIndex, size: int
) -> npt.NDArray[np.bool_]:
    out = np.zeros(size, dtype=np.bool_)
    for key in dict.fromkeys(keys):
        out |= counts.positive(key, nodes.label(key))
    return out


def _has_pod_terms(pod: Pod) -> bool:
    """Whether ``pod`` has pod affinity or anti-affinity terms of its own."""
    affinity = pod.spec.affinity
    return affinity is not None and (
        affinity.pod_affinity is not None or affinity.pod_anti_affinity is not None
    )
