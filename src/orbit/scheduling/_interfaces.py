"""The extension points: one small Protocol per point, Kubernetes' framework shape.

A plugin is any object with a ``name`` and the methods of the points it implements;
a profile enables it at every point it implements (Kubernetes' ``multiPoint``). The
framework finds the points by method name, so a plugin needs no base class:

=============  ========================================================  =============
point          method(s)                                                 when
=============  ========================================================  =============
queue_sort     ``less(a, b)``                                            queue order
pre_filter     ``pre_filter(state, pod, snapshot)``                      once per pod
filter         ``filter(state, pod, node_info)`` [+ ``filter_all``]      per node
post_filter    ``post_filter(state, pod, snapshot, statuses)``           no node fit
pre_score      ``pre_score(state, pod, snapshot, candidates)``           once per pod
score          ``score(state, pod, node_info)`` [+ ``score_all``,        per node
               ``normalize_scores``]
reserve        ``reserve(state, pod, node_info)``, ``unreserve(...)``    node chosen
bind           ``bind(state, pod, node_name)``                           after reserve
=============  ========================================================  =============

**Vectorised fast path.** A filter plugin may also implement ``filter_all`` and a score
plugin ``score_all``: one call over every node (or every candidate) with numpy arrays
from the snapshot. The framework uses them when present and falls back to the per-node
methods otherwise, so a plugin written per node just works; the two must agree (the
test suite checks every built-in plugin). Preemption and other what-if reasoning use
the per-node methods on modified NodeInfos, so they must read only their arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from orbit.api import Pod

from ._cycle import CycleState
from ._nodeinfo import NodeInfo, PodInfo
from ._queue import QueuedPod
from ._snapshot import Snapshot
from ._status import FilterAllResult, PostFilterResult, PreFilterResult, Status

__all__ = [
    "EXTENSION_POINTS",
    "MAX_NODE_SCORE",
    "MIN_NODE_SCORE",
    "Candidates",
    "BindPlugin",
    "FilterPlugin",
    "FrameworkHandle",
    "NormalizeScorePlugin",
    "Plugin",
    "PostFilterPlugin",
    "PreFilterExtensionsPlugin",
    "PreFilterPlugin",
    "PreScorePlugin",
    "QueueSortPlugin",
    "ReservePlugin",
    "ScorePlugin",
    "VectorFilterPlugin",
    "VectorScorePlugin",
]

MAX_NODE_SCORE: Final = 100
MIN_NODE_SCORE: Final = 0

EXTENSION_POINTS: Final = {
    "queue_sort": "less",
    "pre_filter": "pre_filter",
    "filter": "filter",
    "post_filter": "post_filter",
    "pre_score": "pre_score",
    "score": "score",
    "reserve": "reserve",
    "bind": "bind",
}
"""Extension point -> the method that marks a plugin as implementing it."""

Candidates = npt.NDArray[np.intp]
"""Snapshot indices of the nodes being scored, in visiting order."""


class Plugin(Protocol):
    """Every plugin: a unique ``name`` (used in profiles, statuses and weights)."""

    @property
    def name(self) -> str: ...


class QueueSortPlugin(Plugin, Protocol):
    """Orders the scheduling queue; exactly one per profile."""

    def less(self, a: QueuedPod, b: QueuedPod) -> bool:
        """Whether ``a`` should be tried before ``b``."""
        ...


class PreFilterPlugin(Plugin, Protocol):
    """Runs once per pod before any filter.

    Returns SUCCESS, Skip (this plugin's filter has nothing to check for the pod), a
    rejection (the pod fits nowhere; the cycle stops), or a :class:`PreFilterResult`
    naming the only nodes worth filtering (results of several plugins intersect).
    """

    def pre_filter(
        self, state: CycleState, pod: Pod, snapshot: Snapshot
    ) -> Status | PreFilterResult: ...


class PreFilterExtensionsPlugin(PreFilterPlugin, Protocol):
    """A pre-filter whose cycle state depends on the pods placed (inter-pod affinity,
    topology spread): preemption and nominated pods update that state incrementally."""

    def add_pod(
        self, state: CycleState, pod: Pod, pod_to_add: PodInfo, node_info: NodeInfo
    ) -> Status: ...

    def remove_pod(
        self, state: CycleState, pod: Pod, pod_to_remove: PodInfo, node_info: NodeInfo
    ) -> Status: ...


class FilterPlugin(Plugin, Protocol):
    """Decides whether ``pod`` can run on one node: SUCCESS or a rejection."""

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status: ...


class VectorFilterPlugin(FilterPlugin, Protocol):
    """A filter that can also judge every node of the snapshot in one call."""

    def filter_all(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> FilterAllResult: ...


class PostFilterPlugin(Plugin, Protocol):
    """Runs when no node fits (preemption): may make room and nominate a node.

    ``statuses`` maps every node name to why it was rejected.
    """

    def post_filter(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, statuses: Mapping[str, Status]
    ) -> PostFilterResult: ...


class PreScorePlugin(Plugin, Protocol):
    """Runs once per pod before scoring, given the feasible candidates; Skip means
    "my score has nothing to say for this pod" (the score is then not run)."""

    def pre_score(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: Candidates
    ) -> Status: ...


class ScorePlugin(Plugin, Protocol):
    """Ranks one feasible node: an integer, 0-100 after normalisation."""

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int: ...


class NormalizeScorePlugin(ScorePlugin, Protocol):
    """A scorer whose raw scores are rescaled to 0-100 once all candidates are scored."""

    def normalize_scores(
        self, state: CycleState, pod: Pod, scores: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64] | Sequence[int]: ...


class VectorScorePlugin(ScorePlugin, Protocol):
    """A scorer that can rank all candidates in one call (raw, before normalising)."""

    def score_all(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, candidates: Candidates
    ) -> npt.NDArray[np.int64]: ...


class ReservePlugin(Plugin, Protocol):
    """Claims node-local things for the chosen node before binding (GPU device ids).

    ``unreserve`` undoes it and must be idempotent: the framework calls it on every
    reserve plugin when any of them, or the binding, fails.
    """

    def reserve(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status: ...

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None: ...


class BindPlugin(Plugin, Protocol):
    """Binds the pod to the node; Skip passes the pod to the next bind plugin."""

    def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status: ...


class FrameworkHandle(Protocol):
    """What a plugin factory receives besides its args: the framework it serves
    (so a preemption plugin can re-run filters on what-if NodeInfos). Plugins must
    not call it from their constructor: the framework is still being built."""

    @property
    def profile_name(self) -> str: ...

    def run_filter_plugins(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status: ...

    def run_pre_filter_extension_add_pod(
        self, state: CycleState, pod: Pod, pod_to_add: PodInfo, node_info: NodeInfo
    ) -> Status: ...

    def run_pre_filter_extension_remove_pod(
        self, state: CycleState, pod: Pod, pod_to_remove: PodInfo, node_info: NodeInfo
    ) -> Status: ...
