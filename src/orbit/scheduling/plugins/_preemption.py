"""DefaultPreemption: make room for a pending pod by evicting lower-priority pods.

Kubernetes' post-filter, to its algorithm and messages. When no node fits a pod:

1. The pod must be eligible: not ``preemptionPolicy: Never``, and not already waiting
   for a lower-priority pod that an earlier preemption is terminating on its
   nominated node.
2. Candidate nodes are those the filters rejected as ``Unschedulable`` (evicting can
   help; ``UnschedulableAndUnresolvable`` — a taint, a selector — cannot). Starting at
   a seeded random offset, each is dry-run on a what-if NodeInfo: remove every pod of
   lower priority; if the pod still does not fit (the framework handle's
   ``run_filter_plugins``), the node is out. Otherwise reprieve victims one by one,
   most important first (higher priority, then earlier start), first those whose
   eviction would violate a PodDisruptionBudget, then the others: a victim stays if
   the pod still fits with it back. Pre-filter state follows every removal and
   reprieve through the framework's ``add_pod`` / ``remove_pod`` extensions. The dry
   run stops once it has ``max(10% of candidates, 100)`` nodes with victims, at least
   one of which violates no budget.
3. The node is chosen by, in order: fewest budget violations, lowest highest-victim
   priority, smallest sum of victim priorities, fewest victims, latest start of the
   highest-priority victims; then the first found.

The result nominates the node and lists the victims (:class:`PreemptionResult`, and
``PREEMPTION_VICTIMS`` in the cycle state); the scheduler loop evicts them. Budgets
come from ``DefaultPreemptionArgs.pdbs`` (a list, or a callable returning one) until
the snapshot carries them. As in Kubernetes' preemption, a budget with an empty
selector protects no pod, and only ``status.disruptionsAllowed`` is consulted.
"""

from __future__ import annotations

import math
import random
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from orbit.api import Pod, PodDisruptionBudget, Selector, selector_from_label_selector
from orbit.errors import ValidationError
from orbit.scheduling._cycle import CycleState, StateKey
from orbit.scheduling._interfaces import FrameworkHandle
from orbit.scheduling._nodeinfo import NodeInfo, PodInfo
from orbit.scheduling._queue import pod_priority
from orbit.scheduling._result import fit_error_message
from orbit.scheduling._snapshot import Snapshot
from orbit.scheduling._status import SUCCESS, Code, PostFilterResult, Status

__all__ = [
    "Candidate",
    "DefaultPreemption",
    "DefaultPreemptionArgs",
    "PREEMPTION_VICTIMS",
    "PreemptionResult",
]

REASON_NEVER: Final = "not eligible due to preemptionPolicy=Never."
REASON_TERMINATING: Final = "not eligible due to a terminating pod on the nominated node."
REASON_NO_VICTIMS: Final = "No preemption victims found for incoming pod"
REASON_NOT_HELPFUL: Final = "Preemption is not helpful for scheduling"
PREEMPTED_REASON: Final = "PreemptionByScheduler"
PREEMPTION_VICTIMS: StateKey[tuple[Pod, ...]] = StateKey("DefaultPreemptionVictims")
"""Where the cycle state holds the chosen victims (most important first)."""

PDBSource = Sequence[PodDisruptionBudget] | Callable[[], Sequence[PodDisruptionBudget]]


@attrs.frozen
class DefaultPreemptionArgs:
    """Kubernetes' ``DefaultPreemptionArgs``, plus the budgets and the offset's seed."""

    min_candidate_nodes_percentage: int = 10
    min_candidate_nodes_absolute: int = 100
    pdbs: PDBSource = ()
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        issues = []
        if not 0 <= self.min_candidate_nodes_percentage <= 100:
            issues.append(("minCandidateNodesPercentage", "not in valid range [0, 100]"))
        if self.min_candidate_nodes_absolute < 0:
            issues.append(("minCandidateNodesAbsolute", "not in valid range [0, inf)"))
        if self.min_candidate_nodes_percentage == 0 and self.min_candidate_nodes_absolute == 0:
            issues.append(("minCandidateNodesPercentage", "cannot be zero at the same time"))
        if issues:
            raise ValidationError(issues, subject="DefaultPreemptionArgs")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DefaultPreemptionArgs:
        """Args from Kubernetes' camelCase form (plus ``pdbs`` and ``seed``)."""
        return cls(
            min_candidate_nodes_percentage=data.get("minCandidateNodesPercentage", 10),
            min_candidate_nodes_absolute=data.get("minCandidateNodesAbsolute", 100),
            pdbs=data.get("pdbs", ()),
            seed=data.get("seed", 0),
        )


@attrs.frozen(slots=True)
class PreemptionResult(PostFilterResult):
    """A successful preemption: the nominated node and the pods to evict from it."""


@attrs.frozen(slots=True)
class Candidate:
    """A node where evicting ``victims`` (most important first) lets the pod fit."""

    node_name: str
    victims: tuple[Pod, ...]
    num_pdb_violations: int


_NO_VICTIMS: Final = Status.unresolvable(REASON_NO_VICTIMS)
_LOWEST: weakref.WeakKeyDictionary[NodeInfo, float] = weakref.WeakKeyDictionary()


def _lowest_priority(info: NodeInfo) -> float:
    """The lowest priority of the pods on a node (inf when empty), memoised per
    NodeInfo (immutable): a failed cycle checks every node, most of them unchanged."""
    lowest = _LOWEST.get(info)
    if lowest is None:
        lowest = _LOWEST[info] = min((pod_priority(p.pod) for p in info.pods), default=math.inf)
    return lowest


def _start(pod: Pod) -> float:
    """The pod's start time; a pod not started yet counts as starting now (latest)."""
    start = pod.status.start_time
    return math.inf if start is None else start.timestamp()


def _importance(pod: Pod) -> tuple[int, float]:
    """Sort key: more important first (Kubernetes' ``MoreImportantPod``)."""
    return (-pod_priority(pod), _start(pod))


def _terminating_by_preemption(pod: Pod) -> bool:
    if pod.metadata.deletion_timestamp is None:
        return False
    return any(
        c.type == "DisruptionTarget" and c.status == "True" and c.reason == PREEMPTED_REASON
        for c in pod.status.conditions
    )


def split_by_pdb(
    victims: Sequence[PodInfo], pdbs: Sequence[PodDisruptionBudget]
) -> tuple[list[PodInfo], list[PodInfo]]:
    """(victims whose eviction would violate a budget, the others), order kept:
    Kubernetes' ``filterPodsWithPDBViolation``, spending each budget in turn."""
    allowed = [pdb.status.disruptions_allowed for pdb in pdbs]
    selectors: list[Selector | None] = []
    for pdb in pdbs:
        try:
            selectors.append(selector_from_label_selector(pdb.spec.selector))
        except ValidationError:
            selectors.append(None)  # an invalid selector matches no pod
    violating: list[PodInfo] = []
    other: list[PodInfo] = []
    for info in victims:
        meta = info.pod.metadata
        violated = False
        for i, pdb in enumerate(pdbs):
            selector = selectors[i]
            if not meta.labels or pdb.metadata.namespace != meta.namespace or selector is None:
                continue
            if selector.empty or not selector.matches(meta.labels):
                continue
            if meta.name in pdb.status.disrupted_pods:
                continue  # already being evicted: not counted twice
            allowed[i] -= 1
            violated = violated or allowed[i] < 0
        (violating if violated else other).append(info)
    return violating, other


def pick_candidate(candidates: Sequence[Candidate]) -> Candidate:
    """Kubernetes' ``pickOneNodeForPreemption`` (module docstring, step 3)."""

    def earliest_top_start(c: Candidate) -> float:
        top = max(pod_priority(p) for p in c.victims)
        return min(_start(p) for p in c.victims if pod_priority(p) == top)

    criteria: list[Callable[[Candidate], float]] = [
        lambda c: -c.num_pdb_violations,
        lambda c: -pod_priority(c.victims[0]),
        lambda c: -sum(pod_priority(p) + 2**31 for p in c.victims),
        lambda c: -len(c.victims),
        earliest_top_start,
    ]
    remaining = list(candidates)
    for criterion in criteria:
        scores = [criterion(c) for c in remaining]
        best = max(scores)
        remaining = [c for c, s in zip(remaining, scores, strict=True) if s == best]
        if len(remaining) == 1:
            break
    return remaining[0]


class DefaultPreemption:
    """Preempt lower-priority pods; see the module docstring."""

    name = "DefaultPreemption"

    def __init__(self, args: DefaultPreemptionArgs | None, handle: FrameworkHandle) -> None:
        self.args = args or DefaultPreemptionArgs()
        self._handle = handle
        self._rng = random.Random(self.args.seed)

    @classmethod
    def new(cls, args: object, handle: FrameworkHandle) -> DefaultPreemption:
        """Registry factory: args may be DefaultPreemptionArgs, a mapping, or None."""
        if isinstance(args, Mapping):
            return cls(DefaultPreemptionArgs.from_mapping(args), handle)
        if args is None or isinstance(args, DefaultPreemptionArgs):
            return cls(args, handle)
        raise TypeError(f"DefaultPreemption args must be DefaultPreemptionArgs, not {args!r}")

    def _pdbs(self) -> Sequence[PodDisruptionBudget]:
        source = self.args.pdbs
        return source() if callable(source) else source

    def post_filter(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, statuses: Mapping[str, Status]
    ) -> PostFilterResult:
        reason = self.ineligible(pod, snapshot, statuses)
        if reason:
            return PostFilterResult(Status.unschedulable(f"preemption: {reason}"))
        candidates, rejected, errors = self.find_candidates(state, pod, snapshot, statuses)
        if not candidates:
            if errors:
                return PostFilterResult(Status.error(f"preemption: {'; '.join(errors)}"))
            reasons: dict[str, int] = {}
            for status in rejected.values():
                for text in status.reasons:
                    reasons[text] = reasons.get(text, 0) + 1
            if len(snapshot) > len(rejected):
                reasons[REASON_NOT_HELPFUL] = len(snapshot) - len(rejected)
            message = fit_error_message(len(snapshot), reasons)
            return PostFilterResult(Status.unschedulable(f"preemption: {message}"))
        best = pick_candidate(candidates)
        state.write(PREEMPTION_VICTIMS, best.victims)
        return PreemptionResult(SUCCESS, best.node_name, best.victims)

    def ineligible(self, pod: Pod, snapshot: Snapshot, statuses: Mapping[str, Status]) -> str:
        """Why ``pod`` may not preempt ("" when it may): Kubernetes'
        ``PodEligibleToPreemptOthers``."""
        if pod.spec.preemption_policy == "Never":
            return REASON_NEVER
        nominated = pod.status.nominated_node_name
        if not nominated:
            return ""
        status = statuses.get(nominated)
        if status is None or status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            return ""  # the nominated node no longer helps: preempt again
        info = snapshot.get(nominated)
        priority = pod_priority(pod)
        for other in info.pods if info is not None else ():
            if pod_priority(other.pod) < priority and _terminating_by_preemption(other.pod):
                return REASON_TERMINATING
        return ""

    def num_candidates(self, num_nodes: int) -> int:
        """How many candidate nodes the dry run looks for."""
        wanted = num_nodes * self.args.min_candidate_nodes_percentage // 100
        return min(max(wanted, self.args.min_candidate_nodes_absolute), num_nodes)

    def find_candidates(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, statuses: Mapping[str, Status]
    ) -> tuple[list[Candidate], dict[str, Status], list[str]]:
        """Dry-run preemption (module docstring, step 2): the candidates (those without
        budget violations first), the statuses of the nodes that are not, and errors."""
        potential = [
            name
            for name in snapshot.names
            if (status := statuses.get(name)) is not None and status.code is Code.UNSCHEDULABLE
        ]
        if not potential:
            return [], {}, []
        pdbs = self._pdbs()
        offset = self._rng.randrange(len(potential))
        wanted = self.num_candidates(len(potential))
        clean: list[Candidate] = []
        violating: list[Candidate] = []
        rejected: dict[str, Status] = {}
        errors: list[str] = []
        priority = pod_priority(pod)
        for i in range(len(potential)):
            name = potential[(offset + i) % len(potential)]
            info = snapshot[name]
            if _lowest_priority(info) >= priority:  # checked before cloning the state
                rejected[name] = _NO_VICTIMS
                continue
            victims, violations, status = self.select_victims(state.clone(), pod, info, pdbs)
            if status.is_success and victims:
                (violating if violations else clean).append(Candidate(name, victims, violations))
                if clean and len(clean) + len(violating) >= wanted:
                    break
                continue
            if status.is_success:
                status = Status.error(f'expected at least one victim pod on node "{name}"')
            if status.code is Code.ERROR:
                errors.append(status.message)
            rejected[name] = status
        return clean + violating, rejected, errors

    def select_victims(
        self,
        state: CycleState,
        pod: Pod,
        node_info: NodeInfo,
        pdbs: Sequence[PodDisruptionBudget],
    ) -> tuple[tuple[Pod, ...], int, Status]:
        """The fewest, least important victims on one node: (victims, how many violate
        a budget, status). ``state`` is a clone this call may change."""
        handle = self._handle
        priority = pod_priority(pod)
        potential = [p for p in node_info.pods if pod_priority(p.pod) < priority]
        if not potential:
            return (), 0, _NO_VICTIMS
        info = node_info
        for victim in potential:
            info = info.without_pod(victim.key)
            status = handle.run_pre_filter_extension_remove_pod(state, pod, victim, info)
            if not status.is_success:
                return (), 0, Status.error(status.message)
        status = handle.run_filter_plugins(state, pod, info)
        if not status.is_success:
            return (), 0, status
        potential.sort(key=lambda p: _importance(p.pod))
        violating, other = split_by_pdb(potential, pdbs)
        victims: list[Pod] = []
        violations = 0
        for group, violates in ((violating, True), (other, False)):
            for victim in group:
                info = info.with_pod(victim)
                status = handle.run_pre_filter_extension_add_pod(state, pod, victim, info)
                if not status.is_success:
                    return (), 0, Status.error(status.message)
                if handle.run_filter_plugins(state, pod, info).is_success:
                    continue  # reprieved
                info = info.without_pod(victim.key)
                status = handle.run_pre_filter_extension_remove_pod(state, pod, victim, info)
                if not status.is_success:
                    return (), 0, Status.error(status.message)
                victims.append(victim.pod)
                violations += violates
        if violating and other:
            victims.sort(key=_importance)
        return tuple(victims), violations, SUCCESS
