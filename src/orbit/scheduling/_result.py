"""What a scheduling cycle returns: the chosen node, or why none was, in Kubernetes' words.

Every rejection is recorded per node as a :class:`Status` (plugin and reasons) and
folded the way kube-scheduler's ``FitError.Error()`` folds them: count the nodes per
reason, print ``"<count> <reason>"`` sorted as strings, after ``0/<nodes> nodes are
available:``. A node rejected for two resources counts under both reasons, which is
why the counts can add up to more than the nodes. For example::

    0/3 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 2 Insufficient cpu.

(kube-scheduler sorts the "count reason" strings, so "1 node(s)..." precedes
"2 Insufficient cpu" and "10 ..." precedes "2 ...".)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod

from ._cycle import CycleState
from ._status import Status

__all__ = [
    "NO_NODES_MESSAGE",
    "Diagnosis",
    "NodeScores",
    "NodeStatuses",
    "ScheduleResult",
    "fit_error_message",
]

NO_NODES_MESSAGE: Final = "no nodes available to schedule pods"
"""kube-scheduler's ``ErrNoNodesAvailable``: the snapshot has no node at all."""


def fit_error_message(
    num_all_nodes: int,
    reasons: Mapping[str, int],
    *,
    pre_filter_message: str = "",
    post_filter_message: str = "",
) -> str:
    """kube-scheduler's ``FitError.Error()``: the folded, sorted reasons."""
    message = f"0/{num_all_nodes} nodes are available:"
    if pre_filter_message:
        message += f" {pre_filter_message}."
    else:
        parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
        if parts:
            message += f" {', '.join(parts)}."
    if post_filter_message:
        message += f" {post_filter_message}"
    return message


class NodeStatuses(Mapping[str, Status]):
    """Node name -> why the node was rejected, for the nodes a cycle rejected.

    Built lazily (folding a rejection of thousands of nodes does not need one Status
    object per node); ``absent_status`` is the status of nodes the pre-filter ruled out
    without filtering them (None when it ruled none out).
    """

    def __init__(
        self,
        resolve: Callable[[], dict[str, Status]] | None = None,
        *,
        absent_status: Status | None = None,
        absent_names: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self._resolve = resolve
        self._absent_names = absent_names
        self.absent_status = absent_status
        self._statuses: dict[str, Status] | None = None

    def _all(self) -> dict[str, Status]:
        if self._statuses is None:
            statuses = self._resolve() if self._resolve is not None else {}
            if self.absent_status is not None and self._absent_names is not None:
                for name in self._absent_names():
                    statuses.setdefault(name, self.absent_status)
            self._statuses = statuses
        return self._statuses

    def __getitem__(self, name: str) -> Status:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@attrs.frozen(eq=False)
class Diagnosis:
    """Why a pod was not scheduled (empty details when it was).

    ``reasons`` is the folded histogram (reason -> number of nodes); ``message`` the
    folded sentence. ``evaluated_nodes`` counts nodes filtered this cycle (a cycle
    stops once it has enough feasible nodes to score) and ``feasible_nodes`` those that
    passed every filter.
    """

    num_all_nodes: int
    node_statuses: Mapping[str, Status] = attrs.field(factory=NodeStatuses)
    reasons: Mapping[str, int] = attrs.field(factory=dict)
    unschedulable_plugins: frozenset[str] = frozenset()
    pre_filter_message: str = ""
    post_filter_message: str = ""
    evaluated_nodes: int = 0
    feasible_nodes: int = 0

    @property
    def message(self) -> str:
        """The folded FitError message (``no nodes available...`` without nodes)."""
        if self.num_all_nodes == 0:
            return NO_NODES_MESSAGE
        return fit_error_message(
            self.num_all_nodes,
            self.reasons,
            pre_filter_message=self.pre_filter_message,
            post_filter_message=self.post_filter_message,
        )


@attrs.frozen(eq=False)
class NodeScores:
    """The scores of the nodes a cycle ranked, for debugging and benchmarks.

    ``scores[p, c]`` is plugin ``plugins[p]``'s normalised score (0-100) of candidate
    ``c`` (``candidates[c]`` is a snapshot index), ``weights[p]`` the plugin's weight
    and ``total[c]`` the weighted sum.
    """

    node_names: tuple[str, ...]  # the snapshot's names (indexed by ``candidates``)
    candidates: npt.NDArray[np.intp]
    plugins: tuple[str, ...]
    weights: tuple[int, ...]
    rows: tuple[npt.NDArray[np.int64], ...]
    total: npt.NDArray[np.int64]

    @property
    def scores(self) -> npt.NDArray[np.int64]:
        """Plugins x candidates (stacked on demand: a cycle does not need it)."""
        if not self.rows:
            return np.zeros((0, len(self.candidates)), dtype=np.int64)
        return np.vstack(self.rows)

    @property
    def weighted(self) -> npt.NDArray[np.int64]:
        """``scores`` times each plugin's weight."""
        weighted: npt.NDArray[np.int64] = self.scores * np.asarray(self.weights, np.int64)[:, None]
        return weighted

    def totals(self) -> dict[str, int]:
        """Node name -> total weighted score."""
        return {
            self.node_names[i]: int(t) for i, t in zip(self.candidates, self.total, strict=True)
        }

    def by_plugin(self, node_name: str) -> dict[str, int]:
        """Plugin -> weighted score for one ranked node (KeyError when not ranked)."""
        positions = [c for c, i in enumerate(self.candidates) if self.node_names[i] == node_name]
        if not positions:
            raise KeyError(node_name)
        c = positions[0]
        return {plugin: int(self.weighted[p, c]) for p, plugin in enumerate(self.plugins)}


@attrs.frozen(eq=False)
class ScheduleResult:
    """One scheduling cycle: the chosen node (None when none fit) and why.

    ``status`` is SUCCESS, a rejection whose message is the folded FitError, or an
    Error. ``state`` is the cycle's CycleState, for reserve and bind. ``bound_pod`` is
    set by :meth:`Framework.place`: the pod as assumed into the snapshot (node name and
    binding annotations such as the GPU device ids).
    """

    pod: Pod
    profile: str
    node_name: str | None
    status: Status
    diagnosis: Diagnosis
    state: CycleState
    scores: NodeScores | None = None
    nominated_node_name: str = ""
    bound_pod: Pod | None = None
    victims: tuple[Pod, ...] = ()  # pods preemption chose to evict for this one

    @property
    def scheduled(self) -> bool:
        """Whether a node was chosen."""
        return self.node_name is not None

    @property
    def message(self) -> str:
        """Why the pod was not scheduled ("" when it was)."""
        return "" if self.node_name is not None else self.status.message
