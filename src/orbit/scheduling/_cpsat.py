"""The CP-SAT placement model: place a batch of items optimally, or prove how close we are.

:func:`solve_placement` is what both ``pack(strategy="optimal")`` and the cluster's
batch placer call. It is the only module in orbit that imports ``ortools``, and only
inside :func:`_solve_model`, so ``import orbit`` never loads it. The pipeline::

    greedy warm starts (ffd, best-fit decreasing, best-fit | spread, balanced)
        -> lower bounds (L1, L2, conflict cliques)  -- stop here if the best meets them
        -> local search (``_improve``: MBS', bin elimination), plain packing only
        -> CP-SAT model, hinted with the best so far, for the rest of the time
        -> the better of CP-SAT's answer and the warm start, checked by ``violations``

**The model.** Identical, unconstrained items are aggregated into *types* (one integer
count per type and node instead of a boolean per item: this also breaks the symmetry
between equal items); items in a conflict, spread or gang group keep a boolean per
node. Capacity holds in every dimension; the feasibility matrix removes variables;
conflict groups take at most one member per node; a spread group's count in every
domain stays within ``max_skew`` of a lower bound on all domains' counts; a gang's
members are placed together or not at all. The objective is lexicographic, folded
into one integer: ``M * unplaced_weight + goal``, where ``goal`` is the number of used
nodes (``fewest-nodes``) or the largest per-mille utilisation (``balance``) and ``M``
exceeds any goal value, so placing more weight always wins.

**Size stays bounded.** Nodes with the same capacity, feasibility column and spread
domains form a *class*. For ``fewest-nodes`` with a warm start that places everything,
no optimum uses more nodes than the warm start does, so each class is cut to that
many nodes: lossless. Within a class, node ``j`` used implies node ``j - 1`` used
(symmetry breaking; the hint is renumbered to match). If the model would still exceed
``VARIABLES_PER_SECOND * time_limit_s`` variables, each type keeps as candidates only
the nodes the warm start gave it, the first unused node of each class, and a seeded
sample of others: the answer is
still valid, but CP-SAT's bound then says nothing about the full problem and is not
reported (the L1/L2 bound still is).

**Determinism.** For a given problem, seed and ``workers``, the answer is the same on
every run as long as the searches stop on their work budgets, not the wall clock:
the local search counts work units, and CP-SAT runs with ``num_workers=workers``,
``random_seed=seed``, ``interleave_search`` when ``workers > 1`` (OR-Tools' deterministic
parallel mode) and ``max_deterministic_time`` set from ``time_limit_s`` alone;
``max_time_in_seconds`` is only the safety net for a much slower machine.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import attrs

from ._aggregate import Layout, Types, candidates, item_types, layout
from ._bounds import placeable_items
from ._improve import SEARCH_SHARE, search
from ._outcome import (
    PERMILLE,
    GoalBound,
    ModelResult,
    final_solution,
    proved_solution,
    score,
    warm_start,
)
from ._outcome import lower_bound_if_full as _full_bound
from ._placement import Objective, PlacementProblem, PlacementSolution, nodes_used

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

__all__ = ["VARIABLES_PER_SECOND", "solve_placement"]

_BUILD_RATE: Final = 40_000  # placement variables Python adds to a model per second

VARIABLES_PER_SECOND: Final = 10_000
"""Model size per second of ``time_limit_s`` (Python builds about 50,000 variables a
second); above it each item type keeps only a few candidate nodes."""


def solve_placement(
    problem: PlacementProblem,
    *,
    objective: Objective = "fewest-nodes",
    time_limit_s: float = 1.0,
    seed: int = 0,
    hint: Sequence[int | None] | None = None,
    workers: int = 1,
) -> PlacementSolution:
    """Place as much priority-weighted demand as possible, then meet ``objective``.

    Args:
        problem: the items, nodes and constraints.
        objective: ``"fewest-nodes"`` (bin-pack) or ``"balance"`` (minimise the largest
            utilisation of any node in any dimension).
        time_limit_s: the wall-clock budget for everything, warm start included (the
            searches stop a little earlier, 20 ms + 3 %, to leave time to report);
            only the first call's loading of OR-Tools (a few tenths of a second) is
            not counted.
        seed: seeds the local search and CP-SAT (same seed, same answer).
        hint: a valid assignment to start from (the caller's greedy answer); without
            one, the best of a few greedy strategies.
        workers: CP-SAT search workers (1 suits one core; more run interleaved).

    Raises:
        ValueError: ``hint`` breaks a constraint of ``problem``.
    """
    from ortools.sat.python import cp_model  # noqa: F401, PLC0415 - loaded once, off the clock

    start = time.perf_counter()
    deadline = start + time_limit_s - min(time_limit_s / 2, 0.02 + 0.03 * time_limit_s)
    best = warm_start(problem, objective, hint)
    first = score(problem, objective, best)
    bound = _full_bound(problem, best)
    packing = objective == "fewest-nodes" and bound is not None
    if packing and bound is not None and nodes_used(best) <= bound:
        return proved_solution(problem, objective, best, start=start)
    searched = packing and not problem.has_groups() and problem.feasible is None
    if searched and bound is not None:
        best = search(problem, best, bound, seed=seed, time_limit_s=time_limit_s, deadline=deadline)
        if nodes_used(best) <= bound:
            return proved_solution(problem, objective, best, start=start)
    share = 1.0 - SEARCH_SHARE if searched else 0.9
    result = _solve_model(
        problem,
        objective,
        best,
        seed=seed,
        dtime=time_limit_s * share,
        deadline=deadline,
        workers=workers,
        limit=max(2_000, int(VARIABLES_PER_SECOND * time_limit_s)),
    )
    found = result.assignment
    if found is not None and score(problem, objective, found) < score(problem, objective, best):
        best = found
    improved = score(problem, objective, best) < first
    return final_solution(problem, objective, best, result, start=start, improved=improved)


def _solve_model(
    problem: PlacementProblem,
    objective: Objective,
    hint: list[int | None],
    *,
    seed: int,
    dtime: float,
    deadline: float,
    workers: int,
    limit: int,
) -> ModelResult:
    """Build and solve the CP-SAT model hinted with ``hint``.

    ``dtime`` is CP-SAT's deterministic-time budget (what makes runs repeatable);
    ``deadline`` the wall-clock safety net.
    """
    from ortools.sat.python import cp_model  # noqa: PLC0415 - only this module loads ortools

    placeable = placeable_items(problem)
    full = all(hint[i] is not None for i in placeable)
    types = item_types(problem, placeable)
    plan = layout(problem, objective, hint, full=full)
    allowed, lossless = candidates(problem, types, plan, hint, seed=seed, limit=limit)
    size = sum(map(len, allowed))
    build_s = size / _BUILD_RATE  # Python builds the model before CP-SAT's clock starts
    if size > 2 * limit or time.perf_counter() + 2 * build_s + 0.05 * dtime > deadline:
        return ModelResult(None, "NOT_RUN", None, proved=False)
    built = _build(problem, objective, types, plan, allowed, symmetric=lossless)
    if built is None:
        return ModelResult(None, "TOO_LARGE", None, proved=False)
    _hint(built, types, plan, hint)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = workers
    params.random_seed = seed
    params.interleave_search = workers > 1
    params.max_deterministic_time = max(0.01, dtime)
    params.max_time_in_seconds = max(0.01, deadline - time.perf_counter() - 0.01)
    status = solver.solve(built.model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ModelResult(None, name, None, proved=False)
    assignment: list[int | None] = [None] * problem.num_items
    for (t, node), var in built.x.items():
        take = int(solver.value(var))
        for item in [i for i in types.members[t] if assignment[i] is None][:take]:
            assignment[item] = node
    bound = None
    if lossless:
        raw = -(-round(solver.best_objective_bound * 1000) // 1000)  # ceil, float-safe
        bound = GoalBound(raw, built.scale, placeable)
    return ModelResult(assignment, name, bound, proved=lossless and status == cp_model.OPTIMAL)


@attrs.frozen
class _Model:
    model: cp_model.CpModel
    x: dict[tuple[int, int], cp_model.IntVar]
    scale: int  # M: the weight of one unit of unplaced demand in the objective


def _build(
    problem: PlacementProblem,
    objective: Objective,
    types: Types,
    plan: Layout,
    allowed: list[list[int]],
    *,
    symmetric: bool,
) -> _Model | None:
    """The CP-SAT model, or None when its numbers would overflow 64 bits."""
    from ortools.sat.python import cp_model  # noqa: PLC0415 - only this module loads ortools

    model = cp_model.CpModel()
    caps = problem.capacities
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    on_node: dict[int, list[tuple[int, cp_model.IntVar, int]]] = {}
    for t, nodes in enumerate(allowed):
        count, demand = len(types.members[t]), types.demand[t]
        for node in nodes:
            room = min(
                (c // d for c, d in zip(caps[node], demand, strict=True) if d), default=count
            )
            upper = min(count, room)
            if upper <= 0:
                continue
            var = model.new_bool_var("") if count == 1 else model.new_int_var(0, upper, "")
            x[t, node] = var
            on_node.setdefault(node, []).append((t, var, upper))
        placed = [x[t, n] for n in nodes if (t, n) in x]
        if count == 1:
            model.add_at_most_one(placed)
        else:
            model.add(cp_model.LinearExpr.sum(placed) <= count)
    weight_total = sum(w * len(m) for w, m in zip(types.weight, types.members, strict=True))
    kept = [n for c in plan.classes for n in c]
    scale = len(kept) + 1 if objective == "fewest-nodes" else PERMILLE + 1
    sizes = _Sizes.reduced(problem, types, kept)
    factor = PERMILLE if objective == "balance" else 1
    if scale * weight_total >= 2**62 or sizes.overflows(on_node, factor):
        return None
    goal = _capacity(model, sizes, plan, on_node, objective=objective, symmetric=symmetric)
    weights = [types.weight[t] for t, _ in x]
    weight_placed = cp_model.LinearExpr.weighted_sum(list(x.values()), weights)
    model.minimize(scale * (weight_total - weight_placed) + goal)
    _groups(model, problem, types, x, kept)
    return _Model(model, x, scale)


@attrs.frozen
class _Sizes:
    """Type demands and node capacities divided, per dimension, by their greatest common
    divisor: the same constraints with smaller numbers (cluster snapshots count memory
    in milli-bytes, so this often removes a factor of a million)."""

    demand: list[tuple[int, ...]]  # per type
    capacity: dict[int, tuple[int, ...]]  # per model node

    @classmethod
    def reduced(cls, problem: PlacementProblem, types: Types, kept: Sequence[int]) -> _Sizes:
        divisors = [
            math.gcd(*(row[d] for row in types.demand), *(problem.capacities[n][d] for n in kept))
            or 1
            for d in range(problem.num_dims)
        ]
        return cls(
            demand=[
                tuple(v // g for v, g in zip(row, divisors, strict=True)) for row in types.demand
            ],
            capacity={
                n: tuple(v // g for v, g in zip(problem.capacities[n], divisors, strict=True))
                for n in kept
            },
        )

    def overflows(
        self, on_node: dict[int, list[tuple[int, cp_model.IntVar, int]]], factor: int
    ) -> bool:
        """Whether some capacity row could exceed 64-bit arithmetic in CP-SAT."""
        dims = len(self.demand[0]) if self.demand else 0
        for entries in on_node.values():
            for d in range(dims):
                if sum(self.demand[t][d] * upper for t, _, upper in entries) * factor >= 2**62:
                    return True
        return False


def _capacity(
    model: cp_model.CpModel,
    sizes: _Sizes,
    plan: Layout,
    on_node: dict[int, list[tuple[int, cp_model.IntVar, int]]],
    *,
    objective: Objective,
    symmetric: bool,
) -> cp_model.LinearExpr:
    """Capacity rows per node and dimension; returns the goal expression."""
    from ortools.sat.python import cp_model  # noqa: PLC0415 - only this module loads ortools

    total = cp_model.LinearExpr.sum
    used: dict[int, cp_model.IntVar] = {}
    peak = model.new_int_var(0, PERMILLE, "peak") if objective == "balance" else None
    for node, entries in on_node.items():
        cap = sizes.capacity[node]
        if peak is None:
            used[node] = model.new_bool_var("")
            room = sum(u for *_, u in entries)
            model.add(total([var for _, var, _ in entries]) <= room * used[node])
        for d, limit in enumerate(cap):
            load = [(sizes.demand[t][d], var, u) for t, var, u in entries if sizes.demand[t][d]]
            if not load:
                continue
            expr = cp_model.LinearExpr.weighted_sum(
                [v for _, v, _ in load], [c for c, _, _ in load]
            )
            if peak is not None:
                if limit > 0:
                    model.add(PERMILLE * expr <= limit * peak)
            elif sum(c * u for c, _, u in load) > limit:  # else it can never bind
                model.add(expr <= limit * used[node])
    if peak is not None:
        return peak
    if symmetric:
        for nodes in plan.classes:
            chain = [used[n] for n in nodes if n in used]
            for before, after in itertools.pairwise(chain):
                model.add_implication(after, before)
    return total(list(used.values()))


def _groups(
    model: cp_model.CpModel,
    problem: PlacementProblem,
    types: Types,
    x: dict[tuple[int, int], cp_model.IntVar],
    kept: Sequence[int],
) -> None:
    """Conflicts (one member per node), gangs (all or none) and topology spread."""
    from ortools.sat.python import cp_model  # noqa: PLC0415 - only this module loads ortools

    total = cp_model.LinearExpr.sum

    def on(item: int, node: int) -> cp_model.IntVar | None:
        t = types.of_item.get(item)
        return None if t is None else x.get((t, node))

    for group in problem.conflicts:
        for node in kept:
            members = [v for i in group if (v := on(i, node)) is not None]
            if len(members) > 1:
                model.add_at_most_one(members)
    for gang in problem.gangs:
        together = model.new_bool_var("")
        for item in gang:
            model.add(total([v for n in kept if (v := on(item, n)) is not None]) == together)
    for spread in problem.spread:
        by_domain: dict[int, list[cp_model.IntVar]] = {}
        for node in range(problem.num_nodes):
            domain = spread.domain_of(node)
            if domain is not None:
                by_domain.setdefault(domain, [])
                by_domain[domain] += [v for i in spread.items if (v := on(i, node)) is not None]
        floor = model.new_int_var(0, len(spread.items), "")
        for members in by_domain.values():
            model.add(floor <= total(members))
            model.add(total(members) <= floor + spread.max_skew)


def _hint(
    built: _Model,
    types: Types,
    plan: Layout,
    hint: Sequence[int | None],
) -> None:
    """Hint the placement variables with the warm start, renumbered into the model."""
    counts: dict[tuple[int, int], int] = {}
    for item, node in enumerate(hint):
        t = types.of_item.get(item)
        if node is not None and t is not None:
            key = (t, plan.remap.get(node, node))
            counts[key] = counts.get(key, 0) + 1
    for key, var in built.x.items():
        built.model.add_hint(var, counts.get(key, 0))
