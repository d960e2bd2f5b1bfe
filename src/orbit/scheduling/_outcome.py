"""Scoring placements and reporting them: warm starts, goals, bounds, the final solution.

The CP-SAT placer (``_cpsat``) compares candidate assignments lexicographically —
first the priority-weighted demand left unplaced, then the goal (nodes used, or the
largest utilisation for ``balance``) — and reports what is proved about the winner.
Those pieces need no solver and live here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

import attrs
import numpy as np

from ._bounds import lower_bound, partial_lower_bound, placeable_items
from ._greedy import Rule, decreasing_order, greedy
from ._placement import (
    Objective,
    PlacementProblem,
    PlacementSolution,
    nodes_used,
    placed_weight,
    violations,
)

__all__ = [
    "PERMILLE",
    "GoalBound",
    "ModelResult",
    "final_solution",
    "goal",
    "max_utilisation",
    "proved_solution",
    "score",
    "warm_start",
]

PERMILLE: Final = 1000


def warm_start(
    problem: PlacementProblem, objective: Objective, hint: Sequence[int | None] | None
) -> list[int | None]:
    """The caller's hint (checked) or the best of a few greedy answers for ``objective``:
    first-fit and best-fit decreasing, plus best-fit (``fewest-nodes``) or spread,
    balanced and spread decreasing (``balance``)."""
    if hint is not None:
        problems = violations(problem, hint)
        if problems:
            raise ValueError("invalid hint: " + "; ".join(problems[:5]))
        return list(hint)
    decreasing = decreasing_order(problem)
    given = list(range(problem.num_items))
    runs: list[tuple[Sequence[int], Rule]] = [(decreasing, "first"), (decreasing, "best")]
    if objective == "fewest-nodes":
        runs.append((given, "best"))
    else:
        runs += [(given, "least"), (given, "balanced"), (decreasing, "least")]
    answers = [greedy(problem, order, rule) for order, rule in runs]
    return min(answers, key=lambda a: score(problem, objective, a))


def score(
    problem: PlacementProblem, objective: Objective, assignment: Sequence[int | None]
) -> tuple[int, int]:
    """(unplaced weight, goal): smaller is better, lexicographically."""
    total = int(problem.arrays.weights.sum())
    return total - placed_weight(problem, assignment), goal(problem, objective, assignment)


def goal(problem: PlacementProblem, objective: Objective, assignment: Sequence[int | None]) -> int:
    """Nodes used (``fewest-nodes``) or the largest per-mille utilisation (``balance``)."""
    if objective == "fewest-nodes":
        return nodes_used(assignment)
    return max_utilisation(problem, assignment)


def max_utilisation(problem: PlacementProblem, assignment: Sequence[int | None]) -> int:
    """The largest per-mille utilisation (rounded up) of any node in any dimension."""
    arrays = problem.arrays
    loads = np.zeros_like(arrays.capacities)
    for item, node in enumerate(assignment):
        if node is not None:
            loads[node] += arrays.demands[item]
    caps = arrays.capacities
    ratio = np.where(caps > 0, -(-loads * PERMILLE // np.maximum(caps, 1)), 0)
    return int(ratio.max()) if ratio.size else 0


@attrs.frozen
class GoalBound:
    """CP-SAT's objective bound ``B`` for ``M * unplaced + goal``: any assignment that
    leaves ``U`` of the placeable weight unplaced has ``goal >= B - M * U``."""

    objective_bound: int
    scale: int
    placeable: list[int]

    def for_assignment(self, problem: PlacementProblem, assignment: Sequence[int | None]) -> int:
        """The goal bound for assignments leaving no more unplaced than ``assignment``."""
        unplaced = sum(problem.weight(i) for i in self.placeable if assignment[i] is None)
        return max(0, self.objective_bound - self.scale * unplaced)


@attrs.frozen
class ModelResult:
    """What the CP-SAT stage returned."""

    assignment: list[int | None] | None
    status: str  # CP-SAT's status name, "NOT_RUN" or "TOO_LARGE"
    bound: GoalBound | None  # only when the model covered the full problem
    proved: bool  # CP-SAT proved its answer optimal for the full problem


def proved_solution(
    problem: PlacementProblem,
    objective: Objective,
    assignment: Sequence[int | None],
    *,
    start: float,
) -> PlacementSolution:
    """An assignment that meets the lower bound, so needs no solver."""
    value = goal(problem, objective, assignment)
    return PlacementSolution(
        assignment=tuple(assignment),
        nodes_used=nodes_used(assignment),
        lower_bound=nodes_used(assignment),
        optimal=True,
        status="optimal",
        solver_status="NOT_RUN",
        objective=objective,
        objective_value=value,
        objective_bound=value,
        unplaced_weight=int(problem.arrays.weights.sum()) - placed_weight(problem, assignment),
        seconds=time.perf_counter() - start,
    )


def final_solution(
    problem: PlacementProblem,
    objective: Objective,
    assignment: list[int | None],
    result: ModelResult,
    *,
    start: float,
    improved: bool,
) -> PlacementSolution:
    """Combine CP-SAT's bound with the combinatorial ones into the reported solution."""
    placed = [i for i, node in enumerate(assignment) if node is not None]
    everything = len(placed) == len(placeable_items(problem))
    bound = partial_lower_bound(problem, placed)
    value = goal(problem, objective, assignment)
    goal_bound = bound if objective == "fewest-nodes" else _balance_bound(problem, everything)
    if result.bound is not None:
        goal_bound = max(goal_bound, result.bound.for_assignment(problem, assignment))
    if objective == "fewest-nodes":
        bound = goal_bound
    proved = result.proved or (everything and value <= goal_bound)
    used = nodes_used(assignment)
    return PlacementSolution(
        assignment=tuple(assignment),
        nodes_used=used,
        lower_bound=used if proved and objective == "fewest-nodes" else bound,
        optimal=proved,
        status="optimal" if proved else "improved" if improved else "greedy",
        solver_status=result.status,
        objective=objective,
        objective_value=value,
        objective_bound=min(goal_bound, value),
        unplaced_weight=int(problem.arrays.weights.sum()) - placed_weight(problem, assignment),
        seconds=time.perf_counter() - start,
    )


def _balance_bound(problem: PlacementProblem, everything: bool) -> int:
    """Per mille: with every placeable item placed, the utilisation of the whole
    cluster and of the largest item on the largest node bound the peak from below."""
    placeable = placeable_items(problem)
    if not everything or not placeable or not problem.num_nodes:
        return 0
    caps = problem.arrays.capacities
    chosen = problem.arrays.demands[placeable]
    top, total = caps.max(axis=0), caps.sum(axis=0)
    bound = 0
    for d in range(problem.num_dims):
        if top[d] > 0:
            bound = max(bound, -(-int(chosen[:, d].max()) * PERMILLE // int(top[d])))
            bound = max(bound, -(-int(chosen[:, d].sum()) * PERMILLE // int(total[d])))
    return bound


def lower_bound_if_full(problem: PlacementProblem, assignment: Sequence[int | None]) -> int | None:
    """The node lower bound when ``assignment`` places every placeable item, else None."""
    placeable = placeable_items(problem)
    if any(assignment[i] is None for i in placeable):
        return None
    return lower_bound(problem, placeable)
