"""The framework: one profile's plugins run through one pod's scheduling cycle.

``schedule_one(pod, snapshot)`` is kube-scheduler's ``schedulePod``: pre-filter (may
reject the pod outright or narrow the nodes), filter until enough feasible nodes are
found (``percentage_of_nodes_to_score``), post-filter when none is (preemption's
hook), pre-score, score, and pick the best node, ties broken by the seeded generator.
It does not change the snapshot. ``reserve`` / ``unreserve`` / ``bind`` are the later
points; ``place`` runs cycle, reserve and ``Snapshot.assume`` in one call, which is
what a greedy scheduler loop (or a benchmark) does per pod.

Visiting order: the nodes are shuffled once per cluster size with the framework's seed,
and each cycle starts where the previous one stopped (kube-scheduler's rotation), so
every node gets examined in turn and the same seed gives the same placements.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod

from ._binding import bound_pod
from ._cycle import CycleState
from ._filtering import FilterOutcome, FilterStep, fold_failures, run_filters
from ._instrument import SchedulingInstrument, hooks
from ._interfaces import EXTENSION_POINTS
from ._nodeinfo import NodeInfo, PodInfo
from ._profile import Profile, default_profiles
from ._queue import QueuedPod, priority_less
from ._registry import Registry, default_registry
from ._result import Diagnosis, NodeScores, NodeStatuses, ScheduleResult
from ._scoring import ScoreStep, run_pre_score, run_scores, select_host
from ._snapshot import Snapshot
from ._status import SUCCESS, Code, PreFilterResult, Status

__all__ = ["Framework", "Frameworks", "num_feasible_nodes_to_find"]

_NO_STATUSES: Final = NodeStatuses()
_NO_REASONS: Final[Mapping[str, int]] = {}
_HOOKS: Final = ("before_cycle", "after_cycle", "after_reserve", "after_unreserve", "after_bind")
MIN_FEASIBLE_NODES: Final = 100
MIN_FEASIBLE_PERCENTAGE: Final = 5


def num_feasible_nodes_to_find(percentage: int, num_nodes: int) -> int:
    """How many feasible nodes a cycle looks for before scoring (kube-scheduler's
    ``numFeasibleNodesToFind``): all of them below 100 nodes; else ``percentage`` of
    them, or when it is 0 the adaptive ``50 - nodes/125`` percent (at least 5%); never
    fewer than 100."""
    if num_nodes < MIN_FEASIBLE_NODES:
        return num_nodes
    if percentage == 0:
        percentage = max(50 - num_nodes // 125, MIN_FEASIBLE_PERCENTAGE)
    return max(num_nodes * percentage // 100, MIN_FEASIBLE_NODES)


def _has(plugin: Any, method: str) -> bool:
    return callable(getattr(plugin, method, None))


class Framework:
    """One profile, instantiated: see the module docstring.

    Args:
        profile: the plugins, weights and args.
        registry: where plugin names are looked up (default: the built-ins).
        seed: seeds the node shuffle and tie-breaking.
        instruments: trace hooks (:class:`SchedulingInstrument`).
        vectorised: use plugins' ``filter_all`` / ``score_all`` when they have them
            (False runs every plugin per node: slower, same decisions).
    """

    def __init__(
        self,
        profile: Profile,
        *,
        registry: Registry | None = None,
        seed: int = 0,
        instruments: Sequence[SchedulingInstrument] = (),
        vectorised: bool = True,
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.vectorised = vectorised
        registry = registry if registry is not None else default_registry()
        self.plugins: dict[str, Any] = {
            ref.name: registry.create(ref.name, profile.plugin_args.get(ref.name), self)
            for ref in profile.plugins
        }
        points = {point: self._enabled(point) for point in EXTENSION_POINTS}
        if len(points["queue_sort"]) > 1:
            raise ValueError(f"profile {profile.name!r} enables more than one queue sort")
        self._queue_sort = points["queue_sort"][0][1] if points["queue_sort"] else None
        self._pre_filter = points["pre_filter"]
        self._filters = [
            FilterStep(name, p, vectorised and _has(p, "filter_all"))
            for name, p in points["filter"]
        ]
        self._post_filter = points["post_filter"]
        self._pre_score = points["pre_score"]
        self._scores = [
            ScoreStep(
                name,
                p,
                profile.weight(name),
                vectorised and _has(p, "score_all"),
                _has(p, "normalize_scores"),
                getattr(p, "scores_bounded", False) is True,
            )
            for name, p in points["score"]
        ]
        self._reserve = points["reserve"]
        self._bind = points["bind"]
        self._rng = random.Random(seed)
        self._next_start = 0
        self._orders: dict[int, npt.NDArray[np.intp]] = {}
        self._hooks = {name: hooks(instruments, name) for name in _HOOKS}

    def _enabled(self, point: str) -> list[tuple[str, Any]]:
        disabled = self.profile.disabled.get(point, frozenset())
        if "*" in disabled:
            return []
        method = EXTENSION_POINTS[point]
        return [
            (name, plugin)
            for name, plugin in self.plugins.items()
            if name not in disabled and _has(plugin, method)
        ]

    # -- the handle plugins get ------------------------------------------------------

    @property
    def profile_name(self) -> str:
        """The profile's (scheduler) name."""
        return self.profile.name

    def less(self, a: QueuedPod, b: QueuedPod) -> bool:
        """The profile's queue order (PrioritySort's when it has no queue sort)."""
        if self._queue_sort is None:
            return priority_less(a, b)
        return bool(self._queue_sort.less(a, b))

    def run_filter_plugins(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        """Every filter on one node, per node: the first rejection, or SUCCESS. For
        what-if checks (preemption) on NodeInfos that are not in the snapshot."""
        for step in self._filters:
            if step.name in state.skip_filter:
                continue
            status: Status = step.plugin.filter(state, pod, node_info)
            if not status.is_success:
                return status.with_plugin(step.name)
        return SUCCESS

    def run_pre_filter_extension_add_pod(
        self, state: CycleState, pod: Pod, pod_to_add: PodInfo, node_info: NodeInfo
    ) -> Status:
        """Tell pre-filters with extensions that ``pod_to_add`` joins ``node_info``."""
        return self._extensions("add_pod", state, pod, pod_to_add, node_info)

    def run_pre_filter_extension_remove_pod(
        self, state: CycleState, pod: Pod, pod_to_remove: PodInfo, node_info: NodeInfo
    ) -> Status:
        """Tell pre-filters with extensions that ``pod_to_remove`` leaves ``node_info``."""
        return self._extensions("remove_pod", state, pod, pod_to_remove, node_info)

    def _extensions(
        self, method: str, state: CycleState, pod: Pod, other: PodInfo, node_info: NodeInfo
    ) -> Status:
        for name, plugin in self._pre_filter:
            if name in state.skip_filter or not _has(plugin, method):
                continue
            status = getattr(plugin, method)(state, pod, other, node_info)
            if not status.is_success:
                return Status.error(
                    f'running {method} on PreFilter plugin "{name}": {status.message}'
                )
        return SUCCESS

    # -- the scheduling cycle --------------------------------------------------------

    def schedule_one(
        self, pod: Pod, snapshot: Snapshot, state: CycleState | None = None
    ) -> ScheduleResult:
        """Choose a node for ``pod`` (see the module docstring); the snapshot is not
        changed. An unschedulable pod is a result with a rejection status, never an
        exception (plugin bugs still raise)."""
        state = state if state is not None else CycleState()
        for hook in self._hooks["before_cycle"]:
            hook(self.profile.name, pod)
        result = self._cycle(state, pod, snapshot)
        for hook in self._hooks["after_cycle"]:
            hook(self.profile.name, pod, result)
        return result

    def _cycle(self, state: CycleState, pod: Pod, snapshot: Snapshot) -> ScheduleResult:
        total = len(snapshot)
        if total == 0:
            diagnosis = Diagnosis(num_all_nodes=0)
            empty = Status(Code.UNSCHEDULABLE, (diagnosis.message,))
            return ScheduleResult(pod, self.profile.name, None, empty, diagnosis, state)
        narrowed, narrowing, failure = self._run_pre_filter(state, pod, snapshot)
        if failure is not None:
            if not failure.is_rejected:
                return self._error(state, pod, total, failure)
            diagnosis = Diagnosis(
                num_all_nodes=total,
                node_statuses=NodeStatuses(
                    absent_status=failure, absent_names=lambda: snapshot.names
                ),
                unschedulable_plugins=frozenset({failure.plugin} - {""}),
                pre_filter_message=failure.message,
            )
            return self._reject(state, pod, snapshot, diagnosis)
        if narrowed is None:
            size = total
            start = self._next_start % size
            order = self._order(total)[start : start + size]  # a view of the doubled order
        else:
            size = len(narrowed)
            start = self._next_start % size if size else 0
            order = np.concatenate((narrowed[start:], narrowed[:start]))
        skip = state.skip_filter
        steps = [s for s in self._filters if s.name not in skip] if skip else self._filters
        wanted = num_feasible_nodes_to_find(self.profile.percentage_of_nodes_to_score, size)
        outcome = run_filters(
            steps, state, pod, snapshot, order=order, num_to_find=wanted if self._scores else 1
        )
        self._next_start = (self._next_start + outcome.processed) % total
        if outcome.error is not None:
            return self._error(state, pod, total, outcome.error)
        feasible = outcome.feasible
        if len(feasible) == 0:
            return self._fold(
                state, pod, snapshot, steps=steps, outcome=outcome, order=order, narrowing=narrowing
            )
        scores = None
        chosen = int(feasible[0])
        if len(feasible) > 1:
            ranked = self._rank(state, pod, snapshot, feasible)
            if isinstance(ranked, Status):
                return self._error(state, pod, total, ranked)
            scores = ranked
            chosen = int(feasible[select_host(ranked.total, self._rng)])
        diagnosis = Diagnosis(
            total, _NO_STATUSES, _NO_REASONS, frozenset(), "", "", outcome.processed, len(feasible)
        )
        name = snapshot.names[chosen]
        return ScheduleResult(pod, self.profile.name, name, SUCCESS, diagnosis, state, scores)

    def feasible(self, pod: Pod, snapshot: Snapshot) -> npt.NDArray[np.bool_]:
        """Every node's verdict for ``pod`` under every filter plugin (pre-filters
        included): a boolean mask in snapshot order. The batch placer's feasibility
        matrix is one row of this per pod."""
        state = CycleState()
        mask = np.zeros(len(snapshot), dtype=np.bool_)
        if not len(snapshot):
            return mask
        narrowed, _, failure = self._run_pre_filter(state, pod, snapshot)
        if failure is not None:
            return mask
        order = np.arange(len(snapshot), dtype=np.intp) if narrowed is None else narrowed
        skip = state.skip_filter
        steps = [s for s in self._filters if s.name not in skip] if skip else self._filters
        outcome = run_filters(steps, state, pod, snapshot, order=order, num_to_find=len(order))
        if outcome.error is None:
            mask[outcome.feasible] = True
        return mask

    def place_on(self, pod: Pod, snapshot: Snapshot, node_name: str) -> ScheduleResult | None:
        """Place ``pod`` on ``node_name`` if every filter still agrees (reserve and
        assume, as :meth:`place` does); None when it does not fit there now."""
        state = CycleState()
        info = snapshot.get(node_name)
        if info is None:
            return None
        _, _, failure = self._run_pre_filter(state, pod, snapshot)
        if failure is not None or not self.run_filter_plugins(state, pod, info).is_success:
            return None
        if not self.reserve(state, pod, node_name, snapshot).is_success:
            return None
        bound = bound_pod(state, pod, node_name)
        snapshot.assume(bound, node_name)
        diagnosis = Diagnosis(len(snapshot), _NO_STATUSES, _NO_REASONS, frozenset(), "", "", 1, 1)
        return ScheduleResult(
            pod, self.profile.name, node_name, SUCCESS, diagnosis, state, bound_pod=bound
        )

    def _order(self, total: int) -> npt.NDArray[np.intp]:
        """The seeded shuffle of ``total`` nodes, twice over (so that any rotation of it
        is a slice, not a copy)."""
        order = self._orders.get(total)
        if order is None:
            once = np.random.default_rng(self.seed).permutation(total).astype(np.intp)
            order = np.concatenate((once, once))
            self._orders = {total: order}
        return order

    def _run_pre_filter(
        self, state: CycleState, pod: Pod, snapshot: Snapshot
    ) -> tuple[npt.NDArray[np.intp] | None, list[str], Status | None]:
        """(narrowed node indices or None, the plugins that narrowed, a failure)."""
        result: PreFilterResult | None = None
        narrowing: list[str] = []
        rejected: Status | None = None
        for name, plugin in self._pre_filter:
            out = plugin.pre_filter(state, pod, snapshot)
            if isinstance(out, PreFilterResult):
                if out.node_names is not None:
                    narrowing.append(name)
                result = out if result is None else result.merge(out)
                if result.node_names is not None and not result.node_names:
                    return None, narrowing, Status.unresolvable(_didnt_satisfy(narrowing, True))
            elif out.is_skip:
                state.skip_filter.add(name)
            elif out.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return None, narrowing, out.with_plugin(name)
            elif out.code is Code.UNSCHEDULABLE:
                rejected = out.with_plugin(name)  # later pre-filters still run (preemption)
            elif not out.is_success:
                error = f'running PreFilter plugin "{name}": {out.message}'
                return None, narrowing, Status.error(error, plugin=name)
        if rejected is not None:
            return None, narrowing, rejected
        if result is None or result.node_names is None:
            return None, narrowing, None
        indices = sorted(snapshot.index_of(n) for n in result.node_names if n in snapshot)
        return np.asarray(indices, dtype=np.intp), narrowing, None

    def _fold(
        self,
        state: CycleState,
        pod: Pod,
        snapshot: Snapshot,
        *,
        steps: list[FilterStep],
        outcome: FilterOutcome,
        order: npt.NDArray[np.intp],
        narrowing: list[str],
    ) -> ScheduleResult:
        folded = fold_failures(steps, outcome, state=state, pod=pod, snapshot=snapshot, order=order)
        reasons = folded.reasons
        statuses = folded.statuses
        absent = len(snapshot) - len(order)
        if absent:
            absent_status = Status.unresolvable(_didnt_satisfy(narrowing, False))
            for reason in absent_status.reasons:
                reasons[reason] = reasons.get(reason, 0) + absent
            inside = frozenset(order.tolist())
            names = snapshot.names
            statuses = NodeStatuses(
                lambda: dict(folded.statuses),
                absent_status=absent_status,
                absent_names=lambda: [n for i, n in enumerate(names) if i not in inside],
            )
        diagnosis = Diagnosis(
            num_all_nodes=len(snapshot),
            node_statuses=statuses,
            reasons=reasons,
            unschedulable_plugins=folded.plugins,
            evaluated_nodes=outcome.processed,
        )
        return self._reject(state, pod, snapshot, diagnosis)

    def _rank(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, feasible: npt.NDArray[np.intp]
    ) -> NodeScores | Status:
        error = run_pre_score(self._pre_score, state, pod, snapshot, feasible)
        if error is not None:
            return error
        ranked = run_scores(self._scores, state, pod, snapshot, feasible)
        if isinstance(ranked, Status):
            return ranked
        plugins, weights, rows, total = ranked
        return NodeScores(snapshot.names, feasible, plugins, weights, rows, total)

    def _reject(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, diagnosis: Diagnosis
    ) -> ScheduleResult:
        nominated = ""
        victims: tuple[Pod, ...] = ()
        if self._post_filter and state.post_filter:
            status, nominated, victims = self._run_post_filter(state, pod, snapshot, diagnosis)
            diagnosis = attrs.evolve(diagnosis, post_filter_message=status.message)
        status = Status(Code.UNSCHEDULABLE, (diagnosis.message,))
        return ScheduleResult(
            pod,
            self.profile.name,
            None,
            status,
            diagnosis,
            state,
            nominated_node_name=nominated,
            victims=victims,
        )

    def _run_post_filter(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, diagnosis: Diagnosis
    ) -> tuple[Status, str, tuple[Pod, ...]]:
        """kube-scheduler's RunPostFilterPlugins: stop at the first success, error or
        unresolvable answer; otherwise gather every plugin's reasons."""
        reasons: list[str] = []
        rejector = nominated = ""
        for name, plugin in self._post_filter:
            result = plugin.post_filter(state, pod, snapshot, diagnosis.node_statuses)
            status = result.status
            if status.is_success or status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return status.with_plugin(name), result.nominated_node_name, result.victims
            if not status.is_rejected:
                return Status.error(status.message, plugin=name), "", ()
            nominated = result.nominated_node_name or nominated
            reasons.extend(status.reasons)
            rejector = rejector or name
        return Status(Code.UNSCHEDULABLE, tuple(reasons), rejector), nominated, ()

    def _error(self, state: CycleState, pod: Pod, total: int, status: Status) -> ScheduleResult:
        diagnosis = Diagnosis(num_all_nodes=total)
        return ScheduleResult(pod, self.profile.name, None, status, diagnosis, state)

    # -- after the cycle: reserve, bind ---------------------------------------------

    def reserve(self, state: CycleState, pod: Pod, node_name: str, snapshot: Snapshot) -> Status:
        """Run the reserve plugins for ``pod`` on ``node_name``; when one fails, every
        reserve plugin's ``unreserve`` runs (in reverse) and its status is returned."""
        info = snapshot.get(node_name)
        status = SUCCESS
        if info is None:
            status = Status.error(f"node {node_name!r} is not in the snapshot")
        else:
            for name, plugin in self._reserve:
                outcome = plugin.reserve(state, pod, info)
                if not outcome.is_success:
                    status = outcome.with_plugin(name)
                    break
        for hook in self._hooks["after_reserve"]:
            hook(self.profile.name, pod, node_name, status)
        if not status.is_success:
            self.unreserve(state, pod, node_name)
        return status

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None:
        """Undo every reserve plugin's reservation (each ``unreserve`` is idempotent)."""
        for _, plugin in reversed(self._reserve):
            plugin.unreserve(state, pod, node_name)
        for hook in self._hooks["after_unreserve"]:
            hook(self.profile.name, pod, node_name)

    def bound_pod(self, state: CycleState, pod: Pod, node_name: str) -> Pod:
        """``pod`` as bound to ``node_name``: node name and binding annotations set."""
        return bound_pod(state, pod, node_name)

    def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status:
        """Run bind plugins until one does not Skip; Skip when every one skipped.
        On failure the caller unreserves and forgets the pod."""
        status = Status.skip()
        for name, plugin in self._bind:
            status = plugin.bind(state, pod, node_name).with_plugin(name)
            if not status.is_skip:
                break
        for hook in self._hooks["after_bind"]:
            hook(self.profile.name, pod, node_name, status)
        return status

    def place(self, pod: Pod, snapshot: Snapshot, *, post_filter: bool = True) -> ScheduleResult:
        """Schedule, reserve and assume in one call: on success the snapshot holds
        ``result.bound_pod`` on ``result.node_name``; binding is left to the caller.
        ``post_filter=False``: a pod that fits nowhere does not try preemption."""
        result = self.schedule_one(pod, snapshot, CycleState(post_filter=post_filter))
        node = result.node_name
        if node is None:
            return result
        status = self.reserve(result.state, pod, node, snapshot)
        if not status.is_success:
            return attrs.evolve(result, node_name=None, status=status)
        bound = bound_pod(result.state, pod, node)
        snapshot.assume(bound, node)
        return ScheduleResult(
            pod,
            result.profile,
            node,
            result.status,
            result.diagnosis,
            result.state,
            result.scores,
            bound_pod=bound,
        )


def _didnt_satisfy(plugins: list[str], simultaneously: bool) -> str:
    """kube-scheduler's words for nodes a pre-filter ruled out."""
    names = sorted(set(plugins))
    if simultaneously:
        if len(names) == 1:
            return f"node(s) didn't satisfy plugin {names[0]}"
        return f"node(s) didn't satisfy plugin(s) [{' '.join(names)}] simultaneously"
    return f"node(s) didn't satisfy plugin(s) [{' '.join(names)}]"


class Frameworks(Mapping[str, Framework]):
    """One framework per profile, chosen per pod by ``spec.schedulerName``.

    Defaults to :func:`default_profiles` (``default``, ``default-scheduler``,
    ``binpack``, ``spread``, ``optimal``). A pod naming no known profile belongs to
    another scheduler: :meth:`for_pod` returns None, as kube-scheduler ignores it.
    """

    def __init__(
        self,
        profiles: Iterable[Profile] | None = None,
        *,
        registry: Registry | None = None,
        seed: int = 0,
        instruments: Sequence[SchedulingInstrument] = (),
        vectorised: bool = True,
    ) -> None:
        chosen = list(default_profiles().values() if profiles is None else profiles)
        registry = registry if registry is not None else default_registry()
        self._frameworks = {
            p.name: Framework(
                p, registry=registry, seed=seed, instruments=instruments, vectorised=vectorised
            )
            for p in chosen
        }

    def __getitem__(self, name: str) -> Framework:
        return self._frameworks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frameworks)

    def __len__(self) -> int:
        return len(self._frameworks)

    def for_pod(self, pod: Pod) -> Framework | None:
        """The framework of the pod's ``spec.schedulerName``, or None."""
        return self._frameworks.get(pod.spec.scheduler_name)
