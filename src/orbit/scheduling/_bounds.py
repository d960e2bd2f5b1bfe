"""Lower bounds on the number of nodes a placement needs, computed without a solver.

Every strategy reports how far its answer may be from the best possible, and the
CP-SAT placer stops as soon as it meets one of these bounds. They are relaxations,
so each stays valid whatever the feasibility matrix, conflicts or gangs say:

- **L1** (volume), per dimension: the fewest nodes whose largest capacities, summed,
  hold the total demand. Exact for heterogeneous nodes, not only identical ones.
- **L2** (Martello and Toth, 1990), per dimension, with every node given the largest
  capacity of that dimension: items above half a node cannot share one, and the
  volume of the middle-sized items must fit in what the large ones leave free.
- **Conflict cliques**: the items of one anti-affinity group need one node each.

Items that fit on no node at all are left out: no assignment places them.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from ._placement import PlacementProblem

__all__ = ["l1_bound", "l2_bound", "lower_bound", "partial_lower_bound", "placeable_items"]


def placeable_items(problem: PlacementProblem) -> list[int]:
    """The items that fit, alone, on at least one node the filters allow."""
    return [int(i) for i in problem.arrays.placeable.nonzero()[0]]


def l1_bound(capacities: Sequence[int], total: int) -> int:
    """The fewest nodes, taken largest first, whose capacities sum to at least ``total``.

    ``len(capacities)`` when even all of them do not.
    """
    if total <= 0:
        return 0
    running = itertools.accumulate(sorted(capacities, reverse=True))
    for count, capacity in enumerate(running, start=1):
        if capacity >= total:
            return count
    return len(capacities)


def l2_bound(sizes: Sequence[int], capacity: int) -> int:
    """Martello and Toth's L2 bound for identical bins of ``capacity`` (O(n log n)).

    For each threshold K in {0} and the item sizes up to C/2: items above C - K take a
    bin each and share it with nothing of size >= K; items in (C/2, C - K] take a bin
    each; items in [K, C/2] must fit in the space the latter leave, or open new bins.
    """
    weights = sorted(w for w in sizes if w > 0)
    if not weights or capacity <= 0:
        return 0
    prefix = [0, *itertools.accumulate(weights)]
    n = len(weights)
    best = -(-prefix[n] // capacity)
    half_start = bisect.bisect_right(weights, capacity // 2)  # first index with 2w > C
    thresholds = [0, *sorted(set(weights[:half_start]))]
    for k in thresholds:
        big_start = bisect.bisect_right(weights, capacity - k)  # w > C - K
        n1 = n - big_start
        n2 = big_start - half_start if big_start > half_start else 0
        sum2 = prefix[big_start] - prefix[half_start] if n2 else 0
        small_start = bisect.bisect_left(weights, k) if k > 0 else 0
        sum3 = prefix[half_start] - prefix[small_start]
        spill = sum3 - (n2 * capacity - sum2)
        best = max(best, n1 + n2 + max(0, -(-spill // capacity)))
    return best


def lower_bound(problem: PlacementProblem, items: Sequence[int] | None = None) -> int:
    """A lower bound on the nodes needed to place every item of ``items`` at once.

    ``items`` defaults to the placeable items. The bound is the largest of L1 and L2
    over every dimension and of the largest conflict group among ``items``.
    """
    chosen = placeable_items(problem) if items is None else list(items)
    if not chosen:
        return 0
    bound = 1
    for d in range(problem.num_dims):
        column = [problem.demands[i][d] for i in chosen]
        capacities = [cap[d] for cap in problem.capacities]
        bound = max(bound, l1_bound(capacities, sum(column)))
        bound = max(bound, l2_bound(column, max(capacities, default=0)))
    members = set(chosen)
    for group in problem.conflicts:
        bound = max(bound, sum(1 for i in group if i in members))
    return min(bound, problem.num_nodes)


def partial_lower_bound(problem: PlacementProblem, placed: Sequence[int]) -> int:
    """A lower bound on the nodes of any assignment placing at least as much weight.

    When ``placed`` holds every placeable item this is :func:`lower_bound`. Otherwise,
    with unit weights, any assignment placing ``len(placed)`` items carries at least
    the sum of the that many smallest demands in each dimension (L1 on it); with
    general weights only "one node if anything is placed" is certain.
    """
    placeable = placeable_items(problem)
    if not placed:
        return 0
    if len(placed) >= len(placeable):
        return lower_bound(problem, placeable)
    if problem.weights is not None and len(set(problem.weights)) > 1:
        return 1
    count = len(placed)
    bound = 1
    for d in range(problem.num_dims):
        smallest = sorted(problem.demands[i][d] for i in placeable)[:count]
        capacities = [cap[d] for cap in problem.capacities]
        bound = max(bound, l1_bound(capacities, sum(smallest)))
    return min(bound, problem.num_nodes)
