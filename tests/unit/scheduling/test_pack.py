"""pack(): every strategy on small instances with known optima, quantities, the registry."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbit.scheduling._bounds import l2_bound, lower_bound
from orbit.scheduling._pack import pack, to_problem
from orbit.scheduling._placement import PlacementProblem, PlacementSolution
from orbit.scheduling._strategies import (
    register_strategy,
    strategies,
    unregister_strategy,
)

BUILTIN = ("balanced", "best-fit", "ffd", "first-fit", "optimal", "spread")
FAST = {"time_limit_s": 0.2}


def sizes(values: Sequence[int], name: str = "size") -> list[dict[str, int]]:
    return [{name: v} for v in values]


def loads(
    requests: Sequence[dict[str, int]],
    caps: Sequence[dict[str, int]],
    assignment: Sequence[int | None],
) -> list[dict[str, int]]:
    used = [dict.fromkeys(c, 0) for c in caps]
    for request, node in zip(requests, assignment, strict=True):
        if node is not None:
            for name, value in request.items():
                used[node][name] = used[node].get(name, 0) + value
    return used


def brute_force_nodes(
    requests: Sequence[dict[str, int]], caps: Sequence[dict[str, int]]
) -> int | None:
    """The fewest nodes holding every request, by trying every assignment (tiny inputs)."""
    best = None
    for assignment in itertools.product(range(len(caps)), repeat=len(requests)):
        used = loads(requests, caps, assignment)
        if all(v <= caps[j].get(k, 0) for j, load in enumerate(used) for k, v in load.items()):
            count = len(set(assignment))
            best = count if best is None else min(best, count)
    return best


def test_builtin_strategies_are_registered() -> None:
    assert set(BUILTIN) <= set(strategies())
    assert list(strategies()) == sorted(strategies())


@pytest.mark.parametrize("strategy", ["ffd", "best-fit", "optimal"])
def test_known_optimum_one_dimension(strategy: str) -> None:
    result = pack(
        sizes([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]), sizes([10] * 10), strategy=strategy, **FAST
    )
    assert result.nodes_used == 3
    assert result.lower_bound == 3
    assert result.optimal
    assert result.strategy == strategy


def test_optimal_beats_ffd_where_ffd_is_not_optimal() -> None:
    items = [45, 35, 35, 30, 30, 25]  # 45+30+25 | 35+35+30 = 100 | 100
    ffd = pack(sizes(items), sizes([100] * 6), strategy="ffd")
    best = pack(sizes(items), sizes([100] * 6), strategy="optimal", **FAST)
    assert ffd.nodes_used == 3
    assert best.nodes_used == 2
    assert best.optimal
    assert not ffd.optimal


def test_spread_uses_every_node_and_first_fit_packs() -> None:
    requests, caps = sizes([1] * 4), sizes([4] * 4)
    assert pack(requests, caps, strategy="spread").nodes_used == 4
    assert pack(requests, caps, strategy="first-fit").nodes_used == 1


def test_balanced_evens_out_utilisation_across_dimensions() -> None:
    caps = [{"cpu": 10, "memory": 10}] * 2
    requests = [{"cpu": 4, "memory": 1}, {"cpu": 4, "memory": 1}, {"cpu": 1, "memory": 4}]
    # a second cpu-heavy request on node 0 would skew it (0.8 / 0.2): node 1 is more even;
    # the memory-heavy one then evens node 0 out (0.5 / 0.5)
    assert pack(requests, caps, strategy="balanced").assignment == (0, 1, 0)
    assert pack(requests, caps, strategy="first-fit").assignment == (0, 0, 0)


def test_mixed_quantity_forms_compare_exactly() -> None:
    caps = [{"cpu": "1", "memory": "1Gi"}] * 3
    requests = [
        {"cpu": "500m", "memory": "512Mi"},
        {"cpu": 0.5, "memory": 536870912},
        {"cpu": "0.5", "memory": "0.5Gi"},
    ]
    result = pack(requests, caps, strategy="optimal", **FAST)
    assert result.nodes_used == 2
    assert result.optimal
    problem, relaxed = to_problem(requests, caps)
    assert relaxed is None
    assert problem.demands[0] == problem.demands[1] == problem.demands[2]
    assert problem.capacities[0] == tuple(2 * v for v in problem.demands[0])


def test_a_resource_a_node_lacks_has_capacity_zero() -> None:
    caps = [{"cpu": 4}, {"cpu": 4, "nvidia.com/gpu": 1}]
    requests = [{"cpu": 1, "nvidia.com/gpu": 1}, {"cpu": 1, "nvidia.com/gpu": 0}, {"cpu": 1}]
    result = pack(requests, caps, strategy="first-fit")
    assert result.assignment == (1, 0, 0)


@pytest.mark.parametrize("strategy", BUILTIN)
def test_requests_that_fit_no_node_are_not_placed(strategy: str) -> None:
    requests = [{"cpu": 8}, {"cpu": 1}, {"gpu": 1}]
    result = pack(requests, [{"cpu": 4}] * 2, strategy=strategy, **FAST)
    assert result.assignment[0] is None
    assert result.assignment[2] is None
    assert result.assignment[1] is not None
    assert result.unplaced == 2
    assert result.optimal  # every placeable request placed on one node, the bound


def test_unknown_strategy_lists_the_registered_names() -> None:
    with pytest.raises(ValueError, match=r"unknown placement strategy 'nope'.*best-fit.*optimal"):
        pack(sizes([1]), sizes([1]), strategy="nope")


def test_negative_quantity_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        pack([{"cpu": "-1"}], [{"cpu": 1}], strategy="ffd")


def test_user_registered_strategy_runs_through_pack() -> None:
    def last_fit(
        problem: PlacementProblem, /, *, seed: int, time_limit_s: float
    ) -> list[int | None]:
        free = [list(c) for c in problem.capacities]
        result: list[int | None] = []
        for demand in problem.demands:
            node = next(
                (
                    j
                    for j in reversed(range(problem.num_nodes))
                    if all(d <= f for d, f in zip(demand, free[j], strict=True))
                ),
                None,
            )
            if node is not None:
                free[node] = [f - d for f, d in zip(free[node], demand, strict=True)]
            result.append(node)
        return result

    register_strategy("last-fit", last_fit)
    try:
        assert "last-fit" in strategies()
        result = pack(sizes([3, 3, 3]), sizes([6, 6]), strategy="last-fit")
        assert result.assignment == (1, 1, 0)
        assert result.nodes_used == 2
        assert result.lower_bound == 2
        assert result.optimal
        with pytest.raises(ValueError, match="already registered"):
            register_strategy("last-fit", last_fit)
    finally:
        unregister_strategy("last-fit")
    assert "last-fit" not in strategies()


def test_a_strategy_that_overcommits_is_an_error() -> None:
    def everything_on_node_zero(
        problem: PlacementProblem, /, *, seed: int, time_limit_s: float
    ) -> list[int | None]:
        return [0] * problem.num_items

    register_strategy("greedy-bug", everything_on_node_zero)
    try:
        with pytest.raises(ValueError, match=r"invalid assignment.*overcommitted"):
            pack(sizes([3, 3]), sizes([4, 4]), strategy="greedy-bug")
    finally:
        unregister_strategy("greedy-bug")


def test_a_strategy_may_return_a_solution_with_its_bound() -> None:
    def claims(
        problem: PlacementProblem, /, *, seed: int, time_limit_s: float
    ) -> PlacementSolution:
        return PlacementSolution(
            assignment=(0, 1),
            nodes_used=2,
            lower_bound=2,
            optimal=True,
            status="optimal",
            solver_status="NOT_RUN",
            objective="fewest-nodes",
            objective_value=2,
            objective_bound=2,
            unplaced_weight=0,
            seconds=0.0,
        )

    register_strategy("claims", claims)
    try:
        result = pack(sizes([3, 3]), sizes([4, 4]), strategy="claims")
        assert result.optimal
        assert result.lower_bound == 2
    finally:
        unregister_strategy("claims")


def test_same_seed_same_answer() -> None:
    # triplets: the search stops on the bound it reaches, not on the clock
    items = [380, 320, 300, 450, 290, 260, 410, 330, 260, 360, 350, 290] * 3
    requests, caps = sizes(items), sizes([1000] * len(items))
    first = pack(requests, caps, strategy="optimal", time_limit_s=2.0, seed=7)
    second = pack(requests, caps, strategy="optimal", time_limit_s=2.0, seed=7)
    assert first.optimal
    assert first.assignment == second.assignment
    for strategy in ("first-fit", "best-fit", "spread", "balanced", "ffd"):
        assert (
            pack(requests, caps, strategy=strategy).assignment
            == pack(requests, caps, strategy=strategy).assignment
        )


def test_coarsened_resources_never_overcommit_nor_overclaim() -> None:
    caps = [{"memory": "1Ei"}, {"memory": "1Ei"}]
    requests = [{"memory": 1}, {"memory": "1Ei"}]
    problem, relaxed = to_problem(requests, caps)
    assert relaxed is not None
    assert problem.demands[0][0] == 1  # one byte still asks for something
    result = pack(requests, caps, strategy="optimal", **FAST)
    assert result.nodes_used == 2
    assert result.lower_bound <= 2


def test_l2_bound_beats_l1_on_big_items() -> None:
    assert l2_bound([6, 6, 6], 10) == 3  # L1 says 2
    problem = PlacementProblem(demands=[[6]] * 3, capacities=[[10]] * 3)
    assert lower_bound(problem) == 3


def test_importing_pack_does_not_load_ortools() -> None:
    code = (
        "import sys, orbit.scheduling._pack, orbit.scheduling._strategies;"
        "sys.exit('ortools' in ' '.join(sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- properties -----------------------------------------------------------------------

dims = st.sampled_from([("cpu",), ("cpu", "memory"), ("cpu", "memory", "gpu")])


@st.composite
def instances(
    draw: st.DrawFn, max_items: int = 10, max_nodes: int = 5
) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
    names = draw(dims)
    value = st.integers(min_value=0, max_value=10)
    n = draw(st.integers(min_value=0, max_value=max_items))
    m = draw(st.integers(min_value=0, max_value=max_nodes))
    requests = [{k: draw(value) for k in names} for _ in range(n)]
    caps = [{k: draw(value) for k in names if draw(st.booleans()) or k == "cpu"} for _ in range(m)]
    return requests, caps


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(), strategy=st.sampled_from(BUILTIN))
def test_no_strategy_overcommits_and_unplaceable_stay_out(
    instance: tuple[list[dict[str, int]], list[dict[str, int]]], strategy: str
) -> None:
    requests, caps = instance
    result = pack(requests, caps, strategy=strategy, time_limit_s=0.1)
    for j, load in enumerate(loads(requests, caps, result.assignment)):
        for name, used in load.items():
            assert used <= caps[j].get(name, 0)
    for request, node in zip(requests, result.assignment, strict=True):
        fits_somewhere = any(all(v <= c.get(k, 0) for k, v in request.items()) for c in caps)
        if not fits_somewhere:
            assert node is None
    assert result.lower_bound <= result.nodes_used or result.unplaced


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_items=5, max_nodes=4))
def test_bounds_never_exceed_the_brute_force_optimum(
    instance: tuple[list[dict[str, int]], list[dict[str, int]]],
) -> None:
    requests, caps = instance
    best = brute_force_nodes(requests, caps)
    if best is None:
        return  # not everything fits at once: no optimum to compare with
    for strategy in BUILTIN:
        result = pack(requests, caps, strategy=strategy, time_limit_s=0.2)
        assert result.lower_bound <= best, strategy
        if result.unplaced == 0:
            assert result.nodes_used >= best
    optimal = pack(requests, caps, strategy="optimal", time_limit_s=0.5)
    assert optimal.unplaced == 0
    assert optimal.nodes_used == best
    assert optimal.optimal
