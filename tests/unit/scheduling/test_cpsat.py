"""solve_placement(): the CP-SAT model's constraints, objective, bounds and determinism."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbit.scheduling._cpsat import solve_placement
from orbit.scheduling._fill import Budget
from orbit.scheduling._greedy import decreasing_order, greedy
from orbit.scheduling._improve import improve
from orbit.scheduling._placement import (
    PlacementProblem,
    SpreadGroup,
    nodes_used,
    placed_weight,
    violations,
)

FAST = {"time_limit_s": 0.3}


def check(problem: PlacementProblem, assignment: Sequence[int | None]) -> None:
    assert violations(problem, assignment) == []


def test_proves_optimality_on_a_small_instance() -> None:
    problem = PlacementProblem(demands=[[45], [35], [35], [30], [30], [25]], capacities=[[100]] * 6)
    solution = solve_placement(problem, **FAST)
    check(problem, solution.assignment)
    assert solution.nodes_used == 2
    assert solution.lower_bound == 2
    assert solution.optimal
    assert solution.status == "optimal"
    assert solution.gap == 0


def test_gang_is_all_or_nothing() -> None:
    # room for two of the gang's three members only: none of them is placed
    problem = PlacementProblem(
        demands=[[4], [4], [4], [1]], capacities=[[4], [4]], gangs=[[0, 1, 2]]
    )
    solution = solve_placement(problem, **FAST)
    check(problem, solution.assignment)
    assert solution.assignment[:3] == (None, None, None)
    assert solution.assignment[3] is not None
    assert solution.optimal


def test_gang_placed_when_it_fits() -> None:
    problem = PlacementProblem(demands=[[2]] * 4, capacities=[[4], [4]], gangs=[[0, 1, 2, 3]])
    solution = solve_placement(problem, **FAST)
    assert None not in solution.assignment
    assert solution.nodes_used == 2


def test_conflicting_items_get_distinct_nodes() -> None:
    problem = PlacementProblem(demands=[[1]] * 4, capacities=[[10]] * 4, conflicts=[[0, 1, 2]])
    solution = solve_placement(problem, **FAST)
    check(problem, solution.assignment)
    assert len({solution.assignment[i] for i in (0, 1, 2)}) == 3
    assert solution.nodes_used == 3
    assert solution.optimal  # the conflict clique proves 3


def test_feasibility_matrix_is_respected() -> None:
    feasible = [[False, True, True], [True, False, False], [False, False, True]]
    problem = PlacementProblem(demands=[[1]] * 3, capacities=[[5]] * 3, feasible=feasible)
    solution = solve_placement(problem, **FAST)
    check(problem, solution.assignment)
    assert solution.assignment[1] == 0
    assert solution.assignment[2] == 2
    assert solution.assignment[0] == 2  # joins item 2 rather than opening node 1
    assert solution.nodes_used == 2


def test_spread_limits_the_skew_across_domains() -> None:
    spread = SpreadGroup(items=range(4), max_skew=1, domains=[0, 0, 1, 1])
    problem = PlacementProblem(demands=[[1]] * 4, capacities=[[10]] * 4, spread=[spread])
    solution = solve_placement(problem, **FAST)
    check(problem, solution.assignment)
    zones = [spread.domain_of(node) for node in solution.assignment if node is not None]
    assert sorted(zones) == [0, 0, 1, 1]
    assert solution.nodes_used == 2


def test_spread_on_hostname_caps_items_per_node() -> None:
    spread = SpreadGroup(items=range(3), max_skew=1)  # each node its own domain
    problem = PlacementProblem(demands=[[1]] * 3, capacities=[[10]] * 5, spread=[spread])
    solution = solve_placement(problem, **FAST)
    check(problem, solution.assignment)
    assert solution.nodes_used == 3  # 5 empty-able domains keep the minimum at 0


def test_heavier_items_are_placed_first() -> None:
    problem = PlacementProblem(demands=[[3], [3], [3]], capacities=[[5]], weights=[1, 5, 1])
    solution = solve_placement(problem, **FAST)
    assert solution.assignment == (None, 0, None)
    assert solution.unplaced_weight == 2
    assert solution.optimal


def test_balance_spreads_the_load() -> None:
    problem = PlacementProblem(demands=[[1]] * 4, capacities=[[4]] * 4)
    solution = solve_placement(problem, objective="balance", **FAST)
    check(problem, solution.assignment)
    assert solution.objective_value == 250
    assert solution.objective_bound == 250
    assert solution.optimal
    assert solution.nodes_used == 4


def test_hint_is_checked_and_used() -> None:
    problem = PlacementProblem(demands=[[3], [3]], capacities=[[4], [4]])
    with pytest.raises(ValueError, match="invalid hint"):
        solve_placement(problem, hint=[0, 0], **FAST)
    solution = solve_placement(problem, hint=[1, 0], **FAST)
    assert solution.nodes_used == 2
    assert solution.optimal


def test_nothing_to_place() -> None:
    assert solve_placement(PlacementProblem(demands=[], capacities=[[1]]), **FAST).nodes_used == 0
    empty = solve_placement(PlacementProblem(demands=[[1]], capacities=[]), **FAST)
    assert empty.assignment == (None,)


def test_local_search_reaches_the_triplet_optimum_deterministically() -> None:
    # Falkenauer-style triplets: each bin of 1000 holds exactly three items; greedy
    # needs more bins, the local search finds the perfect packing (and so stops on
    # the bound, whatever the machine's speed).
    triples = [
        (380, 320, 300),
        (450, 290, 260),
        (410, 330, 260),
        (360, 350, 290),
        (400, 310, 290),
        (420, 300, 280),
        (440, 280, 280),
        (370, 340, 290),
    ]
    items = [[w] for triple in triples for w in triple]
    problem = PlacementProblem(demands=items, capacities=[[1000]] * len(items))
    first = solve_placement(problem, time_limit_s=2.0, seed=3)
    second = solve_placement(problem, time_limit_s=2.0, seed=3)
    assert first.nodes_used == 8
    assert first.optimal
    assert first.assignment == second.assignment


def test_local_search_is_deterministic_for_a_work_budget() -> None:
    # stopped by its work budget (the wall clock cannot interfere: no deadline), the
    # search gives the same packing for the same seed
    weights = [(37 * k) % 61 + 20 for k in range(90)]
    problem = PlacementProblem(demands=[[w] for w in weights], capacities=[[150]] * 90)
    start = greedy(problem, decreasing_order(problem), "first")
    runs = [
        improve(problem, start, 1, seed=11, budget=Budget(work=200_000, deadline=math.inf))
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    check(problem, runs[0])
    assert nodes_used(runs[0]) <= nodes_used(start)


def test_same_seed_same_model_answer() -> None:
    problem = PlacementProblem(
        demands=[[3, 1], [2, 2], [2, 1], [1, 3], [1, 1], [2, 2]],
        capacities=[[4, 4]] * 4,
        conflicts=[[0, 1]],
    )
    answers = {solve_placement(problem, seed=5, **FAST).assignment for _ in range(3)}
    assert len(answers) == 1


# --- against brute force ------------------------------------------------------------


@st.composite
def problems(draw: st.DrawFn) -> PlacementProblem:
    n = draw(st.integers(min_value=1, max_value=4))
    m = draw(st.integers(min_value=1, max_value=3))
    dims = draw(st.integers(min_value=1, max_value=2))
    value = st.integers(min_value=0, max_value=6)
    demands = [[draw(value) for _ in range(dims)] for _ in range(n)]
    capacities = [[draw(value) for _ in range(dims)] for _ in range(m)]
    items = st.lists(st.integers(min_value=0, max_value=n - 1), min_size=2, max_size=n, unique=True)
    feasible = draw(
        st.none()
        | st.lists(st.lists(st.booleans(), min_size=m, max_size=m), min_size=n, max_size=n)
    )
    conflicts = draw(st.lists(items, max_size=1)) if n > 1 else []
    gangs = draw(st.lists(items, max_size=1)) if n > 1 else []
    spread = []
    if n > 1 and draw(st.booleans()):
        domains = draw(st.lists(st.none() | st.integers(0, 1), min_size=m, max_size=m))
        spread = [SpreadGroup(items=draw(items), max_skew=1, domains=domains)]
    weights = draw(st.none() | st.lists(st.integers(1, 3), min_size=n, max_size=n))
    return PlacementProblem(
        demands=demands,
        capacities=capacities,
        feasible=feasible,
        conflicts=conflicts,
        gangs=gangs,
        spread=spread,
        weights=weights,
    )


def brute_force(problem: PlacementProblem) -> tuple[int, int]:
    """The best (unplaced weight, nodes used) over every valid assignment."""
    total = sum(problem.weight(i) for i in range(problem.num_items))
    choices = [None, *range(problem.num_nodes)]
    return min(
        (total - placed_weight(problem, a), nodes_used(a))
        for a in itertools.product(choices, repeat=problem.num_items)
        if not violations(problem, a)
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_solver_matches_brute_force_and_bounds_hold(problem: PlacementProblem) -> None:
    best_unplaced, best_nodes = brute_force(problem)
    solution = solve_placement(problem, time_limit_s=0.5)
    check(problem, solution.assignment)
    assert solution.optimal
    assert solution.unplaced_weight == best_unplaced
    assert solution.nodes_used == best_nodes
    assert solution.lower_bound <= best_nodes
