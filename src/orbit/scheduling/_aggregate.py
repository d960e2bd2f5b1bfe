"""How the CP-SAT model stays small: item types, node classes and candidate nodes.

A cluster batch or a benchmark instance often holds many identical items (replicas of
one Deployment) and many identical nodes (one instance type). The model exploits both
(see ``_cpsat``):

- **Item types**: items with the same demand, weight and feasibility row, in no
  group, are one *type* with a count: one integer variable per type and node instead
  of a boolean per item, which also removes the symmetry between equal items.
- **Node classes**: nodes with the same capacity, feasibility column and spread
  domains are interchangeable. For ``fewest-nodes`` with a warm start that places
  everything on ``k`` nodes, no optimum uses more than ``k`` nodes, so each class is
  cut to its first ``k``: the bound CP-SAT proves still holds for the full problem.
- **Candidates**: when types x nodes still exceeds the variable budget, each type
  keeps the nodes the warm start gave it, the first unused node of each class and a
  seeded sample of the others. The model stays valid; only its bound is no longer a
  bound on the full problem.

Pure Python and numpy: no solver here.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs
import numpy as np

from ._placement import Objective, PlacementProblem

__all__ = ["Layout", "Types", "candidates", "item_types", "layout", "node_classes"]


@attrs.frozen
class Types:
    """The model's items: identical unconstrained items share a type and a count."""

    members: list[list[int]]  # per type, its items in index order
    demand: list[tuple[int, ...]]
    weight: list[int]
    of_item: dict[int, int]  # item -> its type


def item_types(problem: PlacementProblem, placeable: Sequence[int]) -> Types:
    """Group the placeable items; an item in any conflict, spread or gang group is alone."""
    grouped = {i for g in (*problem.conflicts, *problem.gangs) for i in g}
    grouped |= {i for s in problem.spread for i in s.items}
    feasible = problem.arrays.feasible
    index: dict[object, int] = {}
    members: list[list[int]] = []
    for item in placeable:
        if item in grouped:
            key: object = ("item", item)
        else:
            row = b"" if feasible is None else feasible[item].tobytes()
            key = (problem.demands[item], problem.weight(item), row)
        if key not in index:
            index[key] = len(members)
            members.append([])
        members[index[key]].append(item)
    return Types(
        members=members,
        demand=[problem.demands[group[0]] for group in members],
        weight=[problem.weight(group[0]) for group in members],
        of_item={item: t for t, group in enumerate(members) for item in group},
    )


def node_classes(problem: PlacementProblem) -> list[list[int]]:
    """Nodes interchangeable for every item: same capacity, feasibility and domains."""
    feasible = problem.arrays.feasible
    classes: dict[object, list[int]] = {}
    for node in range(problem.num_nodes):
        column = b"" if feasible is None else feasible[:, node].tobytes()
        domains = tuple(s.domain_of(node) for s in problem.spread)
        classes.setdefault((problem.capacities[node], column, domains), []).append(node)
    return list(classes.values())


@attrs.frozen
class Layout:
    """Which nodes enter the model, grouped by class, and where the hint's nodes go."""

    classes: list[list[int]]  # kept nodes per class, in index order
    remap: dict[int, int]  # hint node -> model node (a permutation within its class)
    cut: bool  # whether classes were cut to the hint's node count


def layout(
    problem: PlacementProblem, objective: Objective, hint: Sequence[int | None], *, full: bool
) -> Layout:
    """Cut each class to the hint's node count when that is lossless (``fewest-nodes``,
    and the hint places every placeable item: ``full``), and renumber the hint's nodes
    to the front of their class, so "node j used => node j - 1 used" holds for it."""
    used = {node for node in hint if node is not None}
    cut = len(used) if objective == "fewest-nodes" and full else None
    kept: list[list[int]] = []
    remap: dict[int, int] = {}
    for nodes in node_classes(problem):
        keep = nodes if cut is None else nodes[: max(1, cut)]
        in_use = [node for node in nodes if node in used]
        remap.update(zip(in_use, keep, strict=False))
        kept.append(keep)
    return Layout(kept, remap, cut=cut is not None)


def candidates(
    problem: PlacementProblem,
    types: Types,
    plan: Layout,
    hint: Sequence[int | None],
    *,
    seed: int,
    limit: int,
) -> tuple[list[list[int]], bool]:
    """Per type, the model nodes it may take; and whether none was pruned away."""
    nodes = np.array([n for c in plan.classes for n in c], dtype=np.int64)
    arrays = problem.arrays
    caps = arrays.capacities[nodes]
    every: list[list[int]] = []
    for t, group in enumerate(types.members):
        fits = (caps >= np.array(types.demand[t], dtype=np.int64)).all(axis=1)
        if arrays.feasible is not None:
            fits &= arrays.feasible[group[0]][nodes]
        every.append([int(n) for n in nodes[fits]])
    if sum(map(len, every)) <= limit:
        return every, True
    rng = random.Random(seed)
    taken = set(plan.remap.values())
    firsts = [next((n for n in c if n not in taken), c[0]) for c in plan.classes]
    spare = max(0, limit // max(1, len(every)) - len(firsts) - 1)
    pruned: list[list[int]] = []
    for t, allowed in enumerate(every):
        allowed_set = set(allowed)
        base = {plan.remap[n] for i in types.members[t] if (n := hint[i]) is not None}
        base |= {n for n in firsts if n in allowed_set}
        extra = rng.sample(allowed, min(spare, len(allowed)))
        pruned.append(sorted(base | set(extra)))
    return pruned, False
