"""Pod counts per node, kept up to date incrementally: the pod-aware plugins' index.

InterPodAffinity and PodTopologySpread ask, for every pod they schedule, "how many
placed pods match this selector, per node?" and "which placed pods have terms that
match this pod?". Kubernetes answers by walking every placed pod in each cycle, which
makes a cycle cost O(pods). This index answers from counts that follow the snapshot:

- :meth:`PodIndex.counts` gives, per node, how many placed pods a :class:`PodFilter`
  selects. A filter's counts are built by one scan the first time it is asked for and
  then brought up to date from a journal of the pods placed and removed since, so a
  Deployment's thousandth replica costs the same as its second. At most
  ``MAX_FILTERS`` filters are kept (least recently used first out).
- :attr:`PodIndex.terms` holds, by kind, for every distinct term of the placed pods (required
  anti-affinity, required affinity, preferred affinity and anti-affinity), how many
  pods carry it per topology domain of its key, updated on every change.

One index per snapshot object, found with :meth:`PodIndex.of` (weakly keyed, so a
forked snapshot gets its own). A change of the node set or of a node's object rebuilds
it. Changes of pods are found without a hook from the snapshot: the snapshot's
NodeInfos are copy-on-write, ``version`` grows by one per pod placed or removed, and
the ``pods`` row of ``requested`` counts each node's pods, so the nodes whose pod count
moved are the changed ones whenever the moves add up to the version's growth; when
they do not (a pod removed and another placed on one node) every NodeInfo is compared
by identity instead.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod, Selector
from orbit.scheduling._nodeinfo import NodeInfo, PodInfo
from orbit.scheduling._snapshot import LabelColumn, Snapshot

from ._podterms import AffinityTerm, pod_terms

__all__ = ["Conjunct", "PodFilter", "PodIndex", "TermCounts", "TermKind", "domain_sums"]

Int64Array = npt.NDArray[np.int64]
TermKind = Literal["anti", "affinity", "preferred", "preferred-anti"]
Conjunct = tuple[frozenset[str] | None, Selector]
"""(namespaces, or None for every namespace; label selector)."""

_KINDS: Final[tuple[TermKind, ...]] = ("anti", "affinity", "preferred", "preferred-anti")
MAX_FILTERS: Final = 128
MAX_JOURNAL: Final = 65_536
_INDEXES: weakref.WeakKeyDictionary[Snapshot, PodIndex] = weakref.WeakKeyDictionary()


@attrs.frozen(slots=True)
class PodFilter:
    """Pods matching every conjunct; ``skip_terminating`` leaves out pods being
    deleted (PodTopologySpread does, InterPodAffinity does not)."""

    conjuncts: tuple[Conjunct, ...]
    skip_terminating: bool = False

    def matches(self, pod: Pod) -> bool:
        """Whether ``pod`` is counted."""
        meta = pod.metadata
        if self.skip_terminating and meta.deletion_timestamp is not None:
            return False
        for namespaces, selector in self.conjuncts:
            if namespaces is not None and meta.namespace not in namespaces:
                return False
            if not selector.matches(meta.labels):
                return False
        return True

    @classmethod
    def of_terms(cls, terms: tuple[AffinityTerm, ...]) -> PodFilter:
        """Pods that match all of an incoming pod's (resolved) terms."""
        return cls(tuple((None if t.every_namespace else t.namespaces, t.selector) for t in terms))


@attrs.define(slots=True, eq=False)
class TermCounts:
    """How many placed pods carry one term, per domain of its topology key
    (``domains[code]``, codes of the snapshot's label column); ``total`` counts every
    carrier, on a node with the key or not."""

    kind: TermKind
    term: AffinityTerm
    weight: int
    domains: Int64Array
    total: int = 0


def domain_sums(codes: npt.NDArray[np.int32], per_node: Int64Array, size: int) -> Int64Array:
    """Per-node values summed per domain (nodes with code -1 left out)."""
    inside = codes >= 0
    if inside.all():
        sums = np.bincount(codes, weights=per_node, minlength=size)
    else:
        sums = np.bincount(codes[inside], weights=per_node[inside], minlength=size)
    return sums.astype(np.int64)


@attrs.define(slots=True, eq=False)
class _Filtered:
    counts: Int64Array
    position: int


class PodIndex:
    """Counts of the pods placed in one snapshot; see the module docstring."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = weakref.ref(snapshot)
        self._names = snapshot.names
        self._infos: list[NodeInfo] = list(snapshot)
        self._version = snapshot.version
        self._filters: OrderedDict[PodFilter, _Filtered] = OrderedDict()
        self._journal: list[tuple[int, PodInfo, int]] = []
        self._journal_base = 0
        self.terms: dict[TermKind, dict[tuple[AffinityTerm, int], TermCounts]] = {
            kind: {} for kind in _KINDS
        }
        for i, info in enumerate(self._infos):
            for pod_info in info.pods:
                self._index_terms(i, pod_info, 1)

    @classmethod
    def of(cls, snapshot: Snapshot) -> PodIndex:
        """The index of ``snapshot``, brought up to date."""
        index = _INDEXES.get(snapshot)
        if index is None or index._names is not snapshot.names:
            index = _INDEXES[snapshot] = cls(snapshot)
        else:
            index._sync(snapshot)
        return index

    # -- following the snapshot ------------------------------------------------------

    def _sync(self, snapshot: Snapshot) -> None:
        if snapshot.version == self._version:
            return
        changes = snapshot.changes_since(self._version)
        if changes is None:  # the layout changed: compare every node
            changed = [i for i, info in enumerate(snapshot) if info is not self._infos[i]]
            for i in changed:
                self._update_node(i, snapshot.at(i))
        else:
            for i, pod_info, sign in changes:
                self._record(i, pod_info, sign)
            for i in {i for i, _, _ in changes}:
                self._infos[i] = snapshot.at(i)
        self._version = snapshot.version

    def _update_node(self, i: int, new: NodeInfo) -> None:
        old = self._infos[i]
        kept = {id(p) for p in new.pods}
        for pod_info in old.pods:
            if id(pod_info) not in kept:
                self._record(i, pod_info, -1)
        before = {id(p) for p in old.pods}
        for pod_info in new.pods:
            if id(pod_info) not in before:
                self._record(i, pod_info, 1)
        self._infos[i] = new

    def _record(self, i: int, pod_info: PodInfo, sign: int) -> None:
        self._journal.append((i, pod_info, sign))
        self._index_terms(i, pod_info, sign)
        if len(self._journal) > MAX_JOURNAL:
            self._trim()

    def _trim(self) -> None:
        """Drop the older half of the journal, and the filters still needing it."""
        end = self._journal_base + len(self._journal)
        base = end - MAX_JOURNAL // 2
        for key in [k for k, f in self._filters.items() if f.position < base]:
            del self._filters[key]
        del self._journal[: base - self._journal_base]
        self._journal_base = base

    # -- existing pods' terms --------------------------------------------------------

    def _index_terms(self, i: int, pod_info: PodInfo, sign: int) -> None:
        if not pod_info.has_affinity:
            return
        terms = pod_terms(pod_info.pod)
        labels = self._infos[i].labels
        groups: tuple[tuple[TermKind, tuple[tuple[int, AffinityTerm], ...]], ...] = (
            ("anti", tuple((0, t) for t in terms.required_anti_affinity)),
            ("affinity", tuple((0, t) for t in terms.required_affinity)),
            ("preferred", tuple((w.weight, w.term) for w in terms.preferred_affinity)),
            ("preferred-anti", tuple((w.weight, w.term) for w in terms.preferred_anti_affinity)),
        )
        for kind, weighted in groups:
            for weight, term in weighted:
                self._count_term(kind, term, weight, labels, sign)

    def _count_term(
        self, kind: TermKind, term: AffinityTerm, weight: int, labels: Mapping[str, str], sign: int
    ) -> None:
        key = (term, weight)
        by_term = self.terms[kind]
        counts = by_term.get(key)
        column = self._column(term.topology_key)
        if counts is None:
            size = len(column.vocabulary)
            counts = by_term[key] = TermCounts(kind, term, weight, np.zeros(size, np.int64))
        value = labels.get(term.topology_key)
        if value is not None:
            counts.domains[column.vocabulary[value]] += sign
        counts.total += sign
        if counts.total == 0:
            del by_term[key]

    def _column(self, key: str) -> LabelColumn:
        snapshot = self._snapshot()
        if snapshot is None:  # pragma: no cover - the index dies with its snapshot
            raise RuntimeError("the snapshot of this index is gone")
        return snapshot.node_index.label(key)

    # -- counts per filter -----------------------------------------------------------

    def counts(self, pod_filter: PodFilter) -> Int64Array:
        """How many placed pods ``pod_filter`` selects, per node (read-only)."""
        end = self._journal_base + len(self._journal)
        entry = self._filters.get(pod_filter)
        if entry is None:
            entry = _Filtered(self._scan(pod_filter), end)
            self._filters[pod_filter] = entry
            if len(self._filters) > MAX_FILTERS:
                self._filters.popitem(last=False)
        else:
            self._filters.move_to_end(pod_filter)
            if entry.position < end:
                for i, pod_info, sign in self._journal[entry.position - self._journal_base :]:
                    if pod_filter.matches(pod_info.pod):
                        entry.counts[i] += sign
                entry.position = end
        return entry.counts

    def _scan(self, pod_filter: PodFilter) -> Int64Array:
        matches = pod_filter.matches
        return np.fromiter(
            (sum(1 for p in info.pods if matches(p.pod)) for info in self._infos),
            dtype=np.int64,
            count=len(self._infos),
        )
