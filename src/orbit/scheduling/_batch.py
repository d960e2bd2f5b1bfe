"""The batch placer: a window of pending pods placed at once by CP-SAT.

The ``optimal`` profile does not place pods one by one: the scheduler loop hands it a
window of pending pods, and this module builds one placement model for all of them:

1. **feasibility**: every filter plugin's verdict for every (pod, node) pair, from
   :meth:`Framework.feasible` (node selectors, taints, affinity, ... and resources as
   they stand); nodes no pod may use are left out of the model;
2. **resources**: each pod's requests against each node's free capacity, in every
   dimension the snapshot has (cpu, memory, pods, GPUs, extended resources);
3. **batch-internal rules** the matrix cannot see: required anti-affinity between pods
   of the window (topology ``kubernetes.io/hostname``) becomes a conflict group, and
   gang members a gang (all or nothing);
4. **objective**, lexicographic: place as much priority-weighted demand as possible,
   then the fewest nodes (bin-pack);
5. **warm start**: the greedy answer (the profile's own plugins, one pod at a time, on a
   fork of the snapshot) is the hint, so the answer is never worse than greedy, and on
   timeout CP-SAT's best (at worst the hint) is used.

Every placement the solver proposes is then checked again by the real filters as the
pods are assumed one after another (:meth:`Framework.place_on`); one that no longer
fits (a rule the model does not express) falls back to the per-pod path. So the batch
placer can only be as wrong as the greedy scheduler, never wronger.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from orbit.api import Pod

from ._cpsat import solve_placement
from ._framework import Framework
from ._placement import PlacementProblem, PlacementSolution
from ._queue import pod_priority
from ._resources import pod_resources
from ._result import ScheduleResult
from ._snapshot import Snapshot

__all__ = ["BatchOutcome", "place_batch"]

HOSTNAME = "kubernetes.io/hostname"
GANG_ANNOTATION = "scheduling.orbit.dev/gang"


class BatchOutcome:
    """What the batch placer did: per-pod results and the solver's report."""

    def __init__(self, results: list[ScheduleResult], solution: PlacementSolution | None) -> None:
        self.results = results
        self.solution = solution


def _demand_rows(pods: Sequence[Pod], snapshot: Snapshot) -> list[list[int]]:
    resources = snapshot.resources
    rows = []
    for pod in pods:
        requests = pod_resources(pod).requests
        rows.append([requests.get(name, 0) for name in resources])
    return rows


def _anti_affinity_conflicts(pods: Sequence[Pod]) -> list[tuple[int, int]]:
    """Pairs of window pods that required hostname anti-affinity keeps apart."""
    pairs = []
    for i, pod in enumerate(pods):
        affinity = pod.spec.affinity
        anti = affinity.pod_anti_affinity if affinity is not None else None
        if anti is None:
            continue
        for term in anti.required_during_scheduling_ignored_during_execution:
            if term.topology_key != HOSTNAME or term.label_selector is None:
                continue
            selector = term.label_selector.to_selector()
            namespaces = set(term.namespaces) or {pod.metadata.namespace}
            for j, other in enumerate(pods):
                if j == i or other.metadata.namespace not in namespaces:
                    continue
                if selector.matches(other.metadata.labels):
                    pairs.append((min(i, j), max(i, j)))
    return sorted(set(pairs))


def _gangs(pods: Sequence[Pod]) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for i, pod in enumerate(pods):
        gang = pod.metadata.annotations.get(GANG_ANNOTATION)
        if gang:
            groups.setdefault(f"{pod.metadata.namespace}/{gang}", []).append(i)
    return [members for members in groups.values() if len(members) > 1]


def _greedy_hint(
    framework: Framework, pods: Sequence[Pod], snapshot: Snapshot, columns: dict[int, int]
) -> list[int | None]:
    trial = snapshot.fork()
    hint: list[int | None] = []
    for pod in pods:
        result = framework.place(pod, trial)
        node = result.node_name
        hint.append(columns.get(snapshot.index_of(node)) if node is not None else None)
    return hint


def place_batch(
    framework: Framework,
    pods: Sequence[Pod],
    snapshot: Snapshot,
    *,
    time_limit_s: float = 1.0,
    seed: int = 0,
) -> BatchOutcome:
    """Place ``pods`` together; returns one ScheduleResult per pod, in order (placed
    pods are assumed into ``snapshot``, as :meth:`Framework.place` does)."""
    if not pods or not len(snapshot):
        return BatchOutcome([framework.place(pod, snapshot) for pod in pods], None)
    masks = np.array([framework.feasible(pod, snapshot) for pod in pods], dtype=np.bool_)
    used = np.flatnonzero(masks.any(axis=0))
    if len(used) == 0:
        return BatchOutcome([framework.place(pod, snapshot) for pod in pods], None)
    columns = {int(node): c for c, node in enumerate(used)}
    free = np.maximum(snapshot.free[:, used], 0)
    problem = PlacementProblem(
        demands=_demand_rows(pods, snapshot),
        capacities=free.T.tolist(),
        feasible=masks[:, used].tolist(),
        weights=[1 + max(0, pod_priority(pod)) for pod in pods],
        conflicts=_anti_affinity_conflicts(pods),
        gangs=_gangs(pods),
        resources=snapshot.resources,
    )
    hint = _greedy_hint(framework, pods, snapshot, columns)
    try:
        solution = solve_placement(problem, time_limit_s=time_limit_s, seed=seed, hint=hint)
    except ValueError:  # the greedy answer breaks a rule of the model (pod affinity)
        solution = solve_placement(problem, time_limit_s=time_limit_s, seed=seed)
    in_gang = {i for members in problem.gangs for i in members}
    results = []
    for index, (pod, column) in enumerate(zip(pods, solution.assignment, strict=True)):
        placed = None
        if column is not None:
            node = snapshot.names[int(used[column])]
            placed = framework.place_on(pod, snapshot, node)
        if placed is None and index in in_gang:  # never place part of a gang alone
            placed = framework.schedule_one(pod, snapshot.fork())
            placed = attrs.evolve(placed, node_name=None) if placed.scheduled else placed
        results.append(placed if placed is not None else framework.place(pod, snapshot))
    return BatchOutcome(results, solution)
