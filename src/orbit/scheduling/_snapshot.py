"""The scheduler's view of the cluster: every node, what is placed on it, as numpy columns.

A :class:`Snapshot` holds one immutable :class:`NodeInfo` per node in a stable order
(by node name, so the order never depends on how the nodes were listed) and, beside
them, numpy arrays with one column per node and one row per resource:
``allocatable``, ``requested``, ``free`` (the two subtracted) and
``non_zero_requested`` (requested with scoring's cpu and memory). Filters and scorers
compare a pod against thousands of nodes with a handful of array operations instead
of a Python loop per node.

Decisions run over a snapshot that does not change during one pod's cycle. Between
cycles the scheduler applies each decision with :meth:`Snapshot.assume` (and undoes it
with :meth:`Snapshot.forget`): the node's NodeInfo is replaced by a copy with the pod
(copy-on-write per node, never a copy of the cluster per pod) and its array cells are
updated in place. :meth:`Snapshot.fork` gives an independent copy for what-if
reasoning (preemption, a batch placer's warm start) at the cost of copying the arrays.

Static node properties that plugins test for every pod are indexed once per node change
(:class:`NodeIndex`): cordoned nodes, nodes grouped by their taints, nodes with GPUs,
and label values as integer codes per key.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import CPU, GPU, MEMORY, Node, Pod, Taint

from ._nodeinfo import NodeInfo, PodInfo, pod_key
from ._resources import PodResources, resource_order

__all__ = ["LabelColumn", "NodeIndex", "Snapshot", "TaintGroups"]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_TERMINAL = frozenset({"Succeeded", "Failed"})
_MAX_JOURNAL = 65_536  # placements remembered for changes_since


@attrs.frozen(slots=True, eq=False)
class TaintGroups:
    """Nodes grouped by identical taint lists: ``codes[i]`` is node i's group (-1 when
    it has none of these taints) and ``taints[g]`` the taints of group g, in node order.
    A pod's tolerations are then checked once per group, not once per node."""

    codes: npt.NDArray[np.int32]
    taints: tuple[tuple[Taint, ...], ...]


@attrs.frozen(slots=True, eq=False)
class LabelColumn:
    """One label key across all nodes: ``codes[i]`` is the code of node i's value in
    ``vocabulary`` (-1 when node i lacks the key)."""

    codes: npt.NDArray[np.int32]
    vocabulary: Mapping[str, int]


def _taint_groups(taint_lists: Sequence[tuple[Taint, ...]]) -> TaintGroups:
    codes = np.full(len(taint_lists), -1, dtype=np.int32)
    groups: dict[tuple[Taint, ...], int] = {}
    for i, taints in enumerate(taint_lists):
        if taints:
            codes[i] = groups.setdefault(taints, len(groups))
    return TaintGroups(codes=codes, taints=tuple(groups))


class NodeIndex:
    """Static per-node facts, computed lazily and kept until a node changes.

    ``unschedulable`` / ``schedulable``: cordoned or not (``none_cordoned``: no node
    is); ``hard_taints`` /
    ``soft_taints``: nodes grouped by their NoSchedule+NoExecute / PreferNoSchedule
    taints, ``untainted``: nodes without hard taints (``none_tainted``: every node);
    ``gpu_nodes``: nodes with GPUs;
    ``offered_everywhere``: the allocatable rows no node has at 0; ``largest_allocatable``:
    the largest allocatable amount of any resource. Arrays are shared: read them, never
    write them.
    """

    def __init__(
        self, infos: Sequence[NodeInfo], allocatable: Int64Array, rows: Mapping[str, int]
    ) -> None:
        self._nodes = [info.node for info in infos]
        gpu_row = rows.get(GPU)
        gpu_allocatable = None if gpu_row is None else allocatable[gpu_row]
        self.offered_everywhere = frozenset(
            int(r) for r in np.flatnonzero((allocatable > 0).all(axis=1))
        )
        self.largest_allocatable = int(allocatable.max()) if allocatable.size else 0
        self.unschedulable: BoolArray = np.fromiter(
            (info.node.spec.unschedulable for info in infos), dtype=np.bool_, count=len(infos)
        )
        self.schedulable: BoolArray = ~self.unschedulable
        self.none_cordoned = bool(self.schedulable.all())
        self.hard_taints = _taint_groups([info.hard_taints for info in infos])
        self.untainted: BoolArray = self.hard_taints.codes < 0
        self.none_tainted = not self.hard_taints.taints
        self.soft_taints = _taint_groups([info.soft_taints for info in infos])
        self.gpu_nodes: BoolArray = (
            gpu_allocatable > 0 if gpu_allocatable is not None else np.zeros(len(infos), bool)
        )
        self.has_gpu_nodes = bool(self.gpu_nodes.any())
        self._labels: dict[str, LabelColumn] = {}
        self._names: LabelColumn | None = None

    def label(self, key: str) -> LabelColumn:
        """The values of label ``key`` on every node, as codes."""
        column = self._labels.get(key)
        if column is None:
            vocabulary: dict[str, int] = {}
            codes = np.full(len(self._nodes), -1, dtype=np.int32)
            for i, node in enumerate(self._nodes):
                value = node.metadata.labels.get(key)
                if value is not None:
                    codes[i] = vocabulary.setdefault(value, len(vocabulary))
            column = self._labels[key] = LabelColumn(codes=codes, vocabulary=vocabulary)
        return column

    def names(self) -> LabelColumn:
        """Node names as a column (``metadata.name`` for matchFields): code = index."""
        if self._names is None:
            vocabulary = {node.metadata.name: i for i, node in enumerate(self._nodes)}
            codes = np.arange(len(self._nodes), dtype=np.int32)
            self._names = LabelColumn(codes=codes, vocabulary=vocabulary)
        return self._names


class Snapshot:
    """All nodes and the pods placed on them; see the module docstring.

    Built from Node and Pod objects: a pod counts against its node when
    ``spec.nodeName`` names a node of the snapshot and the pod is not terminal
    (Succeeded or Failed). ``version`` grows with every change, so caches keyed on it
    stay valid exactly as long as the snapshot does. ``layout_cache`` is a memo for
    plugins' derived plans that depend only on the nodes and the array rows (it is
    emptied whenever those change, never by ``assume``). ``affinity_pods`` counts the
    placed pods with pod affinity or anti-affinity terms: while it is 0, InterPodAffinity
    has nothing to check for a pod without terms of its own.
    """

    def __init__(self, nodes: Iterable[Node] = (), pods: Iterable[Pod] = ()) -> None:
        by_node: dict[str, list[Pod]] = {}
        for pod in pods:
            if pod.spec.node_name and pod.status.phase not in _TERMINAL:
                by_node.setdefault(pod.spec.node_name, []).append(pod)
        ordered = sorted(nodes, key=lambda node: node.metadata.name)
        infos = [NodeInfo.build(node, by_node.get(node.metadata.name, ())) for node in ordered]
        self.version = 0
        self._set_infos(infos)

    # -- construction --------------------------------------------------------------

    def _set_infos(self, infos: list[NodeInfo]) -> None:
        """Rebuild every index and array from ``infos`` (node set or node changed)."""
        self._infos = infos
        self._names = tuple(info.name for info in infos)
        if len(set(self._names)) != len(self._names):
            raise ValueError("a snapshot cannot hold two nodes with the same name")
        self._index = {name: i for i, name in enumerate(self._names)}
        self._pod_node = {p.key: info.name for info in infos for p in info.pods}
        self.affinity_pods = sum(p.has_affinity for info in infos for p in info.pods)
        names: set[str] = {CPU, MEMORY}
        for info in infos:
            names.update(info.allocatable)
            names.update(info.requested)
        self._resources = resource_order(names)
        self._row = {name: r for r, name in enumerate(self._resources)}
        self._rows_cache: dict[tuple[str, ...], tuple[int | None, ...]] = {}
        self.layout_cache: dict[Hashable, Any] = {}
        shape = (len(self._resources), len(infos))
        self._alloc = np.zeros(shape, dtype=np.int64)
        self._req = np.zeros(shape, dtype=np.int64)
        for i, info in enumerate(infos):
            for name, value in info.allocatable.items():
                self._alloc[self._row[name], i] = value
            for name, value in info.requested.items():
                self._req[self._row[name], i] = value
        self._non_zero = self._req.copy()
        for name in (CPU, MEMORY):
            self._non_zero[self._row[name]] = [info.non_zero_requested[name] for info in infos]
        self._free = self._alloc - self._req
        self._least_free: list[int] | None = None
        self._node_index: NodeIndex | None = None
        self.version += 1
        self._journal: list[tuple[int, PodInfo, int]] = []
        self._journal_start = self.version  # the version the journal's first entry follows

    def changes_since(self, version: int) -> Sequence[tuple[int, PodInfo, int]] | None:
        """The pod placements and removals after ``version``, oldest first, as (node
        index, pod, +1 placed / -1 removed); None when the node set or layout changed
        since (or the journal no longer reaches back that far): rebuild from scratch.

        Lets indexes that follow the snapshot (inter-pod affinity counts) update in time
        proportional to what changed, not to the cluster's size.
        """
        if version < self._journal_start or version > self.version:
            return None
        return self._journal[version - self._journal_start :]

    def fork(self) -> Snapshot:
        """An independent copy: changes to either never show in the other."""
        other = object.__new__(Snapshot)
        other.__dict__.update(self.__dict__)
        other._infos = list(self._infos)
        other._index = dict(self._index)
        other._pod_node = dict(self._pod_node)
        other._resources = list(self._resources)
        other._row = dict(self._row)
        other._rows_cache = {}
        other.layout_cache = {}
        other._journal = list(self._journal)
        for name in ("_alloc", "_req", "_free", "_non_zero"):
            setattr(other, name, getattr(self, name).copy())
        return other

    # -- nodes ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._infos)

    def __iter__(self) -> Iterator[NodeInfo]:
        return iter(list(self._infos))

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> NodeInfo:
        """The NodeInfo of node ``name`` (KeyError when absent)."""
        return self._infos[self._index[name]]

    def get(self, name: str) -> NodeInfo | None:
        """The NodeInfo of node ``name``, or None."""
        i = self._index.get(name)
        return None if i is None else self._infos[i]

    def at(self, index: int) -> NodeInfo:
        """The NodeInfo at position ``index`` of the stable order."""
        return self._infos[index]

    def index_of(self, name: str) -> int:
        """The position of node ``name`` in the stable order (KeyError when absent)."""
        return self._index[name]

    @property
    def names(self) -> tuple[str, ...]:
        """Node names in the stable order (the column order of every array)."""
        return self._names

    def add_node(self, node: Node) -> None:
        """Add a node (ValueError when one of that name exists)."""
        if node.metadata.name in self._index:
            raise ValueError(f"node {node.metadata.name!r} is already in the snapshot")
        infos = [*self._infos, NodeInfo.build(node)]
        infos.sort(key=lambda info: info.name)
        self._set_infos(infos)

    def update_node(self, node: Node) -> None:
        """Replace a node's object (labels, taints, allocatable...), keeping its pods."""
        i = self._index[node.metadata.name]
        infos = list(self._infos)
        infos[i] = NodeInfo.build(node, (p.pod for p in infos[i].pods))
        self._set_infos(infos)

    def remove_node(self, name: str) -> None:
        """Drop a node and the pods placed on it (no-op when absent)."""
        if name in self._index:
            self._set_infos([info for info in self._infos if info.name != name])

    # -- pods ----------------------------------------------------------------------

    def assume(self, pod: Pod, node_name: str) -> NodeInfo:
        """Place ``pod`` on ``node_name`` and return the node's new NodeInfo.

        The pod's GPU ids are taken from its ``orbit.dev/gpu-devices`` annotation when
        it has one (the GPU reserve plugin's choice), else the lowest free ids.

        Raises:
            KeyError: no such node.
            ValueError: the pod is already placed (forget it first).
        """
        i = self._index[node_name]
        key = pod_key(pod)
        if key in self._pod_node:
            raise ValueError(f"pod {key} is already placed on node {self._pod_node[key]!r}")
        info = self._infos[i]
        pod_info = info.pod_info(pod)
        self._infos[i] = info.with_pod(pod_info)
        self._pod_node[key] = node_name
        self._apply(i, pod_info, 1)
        return self._infos[i]

    def forget(self, pod: Pod | str) -> str | None:
        """Remove a pod (a Pod or its ``namespace/name`` key) from wherever it is placed.

        Returns the node it was on, or None when it was not placed (idempotent).
        """
        key = pod if isinstance(pod, str) else pod_key(pod)
        node_name = self._pod_node.pop(key, None)
        if node_name is None:
            return None
        i = self._index[node_name]
        info = self._infos[i]
        pod_info = next(p for p in info.pods if p.key == key)
        self._infos[i] = info.without_pod(key)
        self._apply(i, pod_info, -1)
        return node_name

    def _apply(self, i: int, pod_info: PodInfo, sign: int) -> None:
        requested, non_zero = self._vectors(pod_info.resources)
        if sign > 0:
            self._req[:, i] += requested
            self._free[:, i] -= requested
            self._non_zero[:, i] += non_zero
            least = self._least_free
            if least is not None:  # free only fell, on one node: fold it in
                self._least_free = list(map(min, least, self._free[:, i].tolist()))
        else:
            self._req[:, i] -= requested
            self._free[:, i] += requested
            self._non_zero[:, i] -= non_zero
            self._least_free = None  # the node may have been the least free one
        if pod_info.has_affinity:
            self.affinity_pods += sign
        self.version += 1
        self._journal.append((i, pod_info, sign))
        if len(self._journal) > _MAX_JOURNAL:
            drop = len(self._journal) // 2
            del self._journal[:drop]
            self._journal_start += drop

    def _vectors(self, resources: PodResources) -> tuple[Int64Array, Int64Array]:
        """A pod's requests as columns over the array rows (requested, non-zero view),
        memoised by value while the rows stay the same."""
        key = (
            "pod-vectors",
            tuple(resources.requests.items()),
            resources.non_zero_cpu,
            resources.non_zero_memory,
        )
        entry: tuple[Int64Array, Int64Array] | None = self.layout_cache.get(key)
        if entry is not None:
            return entry
        for name in resources.requests:
            if name not in self._row:
                self._add_row(name)
        requested = np.zeros(len(self._resources), dtype=np.int64)
        for name, value in resources.requests.items():
            requested[self._row[name]] = value
        non_zero = requested.copy()
        non_zero[self._row[CPU]] = resources.non_zero_cpu
        non_zero[self._row[MEMORY]] = resources.non_zero_memory
        if len(self.layout_cache) > 4096:
            self.layout_cache.clear()
        self.layout_cache[key] = (requested, non_zero)
        return requested, non_zero

    def _add_row(self, name: str) -> int:
        """A resource no node offers: a new all-zero row (rare; O(nodes))."""
        r = len(self._resources)
        self._resources.append(name)
        self._row[name] = r
        self._rows_cache = {}
        self.layout_cache = {}
        zeros = np.zeros((1, len(self._infos)), dtype=np.int64)
        self._alloc = np.vstack((self._alloc, zeros))
        self._req = np.vstack((self._req, zeros))
        self._free = np.vstack((self._free, zeros))
        self._non_zero = np.vstack((self._non_zero, zeros))
        self._least_free = None
        return r

    def pods_on(self, node_name: str) -> tuple[PodInfo, ...]:
        """The pods placed on ``node_name`` (KeyError when no such node)."""
        return self[node_name].pods

    def node_of(self, pod: Pod | str) -> str | None:
        """Where a pod (or ``namespace/name`` key) is placed, or None."""
        return self._pod_node.get(pod if isinstance(pod, str) else pod_key(pod))

    def pods(self) -> Iterator[PodInfo]:
        """Every placed pod, node by node in the stable order."""
        for info in list(self._infos):
            yield from info.pods

    # -- arrays for vectorised plugins (read-only by contract) -----------------------

    @property
    def resources(self) -> tuple[str, ...]:
        """The resource of each array row."""
        return tuple(self._resources)

    def row(self, resource: str) -> int | None:
        """The array row of ``resource``, or None when no node offers or uses it."""
        return self._row.get(resource)

    def rows(self, resources: tuple[str, ...]) -> tuple[int | None, ...]:
        """:meth:`row` of each resource (memoised: plugins ask for the same rows for
        every pod)."""
        rows = self._rows_cache.get(resources)
        if rows is None:
            rows = self._rows_cache[resources] = tuple(self._row.get(r) for r in resources)
        return rows

    @property
    def allocatable(self) -> Int64Array:
        """``allocatable[row, node]`` in milli-units."""
        return self._alloc

    @property
    def requested(self) -> Int64Array:
        """``requested[row, node]`` in milli-units (``pods`` row: 1000 per pod)."""
        return self._req

    @property
    def free(self) -> Int64Array:
        """``allocatable - requested`` per row and node."""
        return self._free

    @property
    def least_free(self) -> list[int]:
        """Per row, the smallest ``free`` of any node (0 with no nodes): a pod asking
        no more than this fits everywhere, which the fit filter answers without
        looking at every node. Kept up to date as pods are placed, recomputed after a
        removal or a node change."""
        if self._least_free is None:
            if self._infos:
                self._least_free = self._free.min(axis=1).tolist()
            else:
                self._least_free = [0] * len(self._resources)
        return self._least_free

    @property
    def non_zero_requested(self) -> Int64Array:
        """``requested``, except that the cpu and memory rows hold scoring's non-zero
        view (defaults for containers without requests)."""
        return self._non_zero

    @property
    def node_index(self) -> NodeIndex:
        """Static node facts (cordons, taint groups, GPU nodes, label columns)."""
        if self._node_index is None:
            self._node_index = NodeIndex(self._infos, self._alloc, self._row)
        return self._node_index
