"""Bin-packing local search: fewer nodes than any greedy, before CP-SAT takes over.

CP-SAT proves bounds well but finds tight packings of hundreds of items slowly, so the
``optimal`` strategy first improves its greedy warm start here, for problems with no
feasibility matrix and no group constraints (plain vector bin packing, what ``pack``
builds). Two steps:

1. **MBS'** (minimum bin slack, Gupta and Ho 1999, as modified by Fleszar and Hindi
   2002): nodes are filled one at a time, largest capacity first; each takes the
   largest remaining item and then the subset of the rest that fills it the most.
2. **Bin elimination by consistent neighbourhood search** (after Buljubasic and
   Vasquez 2016): from a packing on ``k`` nodes, empty the three least-filled nodes
   into a pool and search for a state in which the pool fits on two of those three,
   which is a packing on ``k - 1`` nodes. Moves keep every node within capacity:
   *descent* refills one node as full as possible from its items plus the pool;
   *tabu search* swaps up to two items of a node with up to two of the pool, the move
   leaving the least in the pool, items just packed being tabu to leave again. Repeat
   until the lower bound is met or the budget is spent.

Everything is deterministic for a seed: choices use ``random.Random(seed)``, and the
search stops on a count of work units (with the wall clock only as a safety net).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence
from typing import Final

from ._fill import Budget, Vectors
from ._placement import PlacementProblem, nodes_used

__all__ = ["SEARCH_SHARE", "WORK_PER_SECOND", "improve", "minimum_bin_slack", "search"]

WORK_PER_SECOND: Final = 4_000_000
"""Work units per second of ``time_limit_s``. One core of a 2020s laptop does 5 to 10
million a second here, so on such a machine the work budget, not the clock, ends a
search (and the answer is the same on every run)."""

SEARCH_SHARE: Final = 0.85
"""The share of the time limit given to MBS' and the local search (CP-SAT gets the rest)."""

_REMOVED = 3  # nodes emptied into the pool per elimination round
_TABU_MOVES = 100  # tabu moves between two descents
_SAMPLED_NODES = 96  # nodes scanned per tabu move on big problems


def search(
    problem: PlacementProblem,
    assignment: list[int | None],
    bound: int,
    *,
    seed: int,
    time_limit_s: float,
    deadline: float,
) -> list[int | None]:
    """MBS' (if it beats ``assignment``) then bin elimination, within ``SEARCH_SHARE`` of
    the time limit: a tenth of the work for MBS', the rest for elimination."""
    work = int(time_limit_s * SEARCH_SHARE * WORK_PER_SECOND)
    now = time.perf_counter()
    stop = now + (deadline - now) * SEARCH_SHARE
    vectors = Vectors(problem)
    packed = minimum_bin_slack(problem, vectors, Budget(work // 10, stop))
    if packed is not None and nodes_used(packed) < nodes_used(assignment):
        assignment = packed
    return improve(problem, assignment, bound, seed=seed, budget=Budget(work - work // 10, stop))


def minimum_bin_slack(
    problem: PlacementProblem, vectors: Vectors, budget: Budget
) -> list[int | None] | None:
    """MBS': a packing of every placeable item, or None if nodes or budget run out."""
    remaining = sorted(
        (i for i in range(problem.num_items) if problem.arrays.placeable[i]),
        key=lambda i: (-vectors.size[i], i),
    )
    scale = [max(c[d] for c in problem.capacities) or 1 for d in range(problem.num_dims)]
    size = [sum(v / s for v, s in zip(cap, scale, strict=True)) for cap in problem.capacities]
    nodes = sorted(range(problem.num_nodes), key=lambda j: (-size[j], j))
    assignment: list[int | None] = [None] * problem.num_items
    volume = sum(vectors.size[i] for i in remaining)
    for node in nodes:
        if not remaining:
            break
        slack = vectors.empty_slack(node)
        first = next((i for i in remaining if vectors.fits(slack, vectors.item[i])), None)
        if first is None:
            continue
        rest = [i for i in reversed(remaining) if i != first]  # the fill favours the last
        nodes_left = max(1, volume // max(1, vectors.node_size[node]))
        limit = min(2000, max(50, budget.work // (nodes_left + 1)))
        chosen = [first, *vectors.best_fill(slack - vectors.item[first], rest, budget, limit)]
        for item in chosen:
            assignment[item] = node
        volume -= sum(vectors.size[i] for i in chosen)
        taken = set(chosen)
        remaining = [i for i in remaining if i not in taken]
        if not budget.spend(len(rest)):
            return None
    return None if remaining else assignment


def improve(
    problem: PlacementProblem,
    assignment: Sequence[int | None],
    lower_bound: int,
    *,
    seed: int,
    budget: Budget,
) -> list[int | None]:
    """Fewer nodes for the same items, by bin elimination, until ``lower_bound``.

    ``assignment`` must be valid; the answer places the same items, on a subset of
    the nodes ``assignment`` uses.
    """
    vectors = Vectors(problem)
    rng = random.Random(seed)
    best = _bins_of(assignment)
    while len(best) > max(lower_bound, 1) and budget.left:
        found = _eliminate(vectors, best, rng, budget)
        if found is None:
            break
        best = found
    result: list[int | None] = [None] * len(assignment)
    for node, items in best.items():
        for item in items:
            result[item] = node
    return result


def _bins_of(assignment: Sequence[int | None]) -> dict[int, list[int]]:
    bins: dict[int, list[int]] = {}
    for item, node in enumerate(assignment):
        if node is not None:
            bins.setdefault(node, []).append(item)
    return bins


def _eliminate(
    vectors: Vectors, bins: dict[int, list[int]], rng: random.Random, budget: Budget
) -> dict[int, list[int]] | None:
    """One node fewer than ``bins``, or None when the budget runs out first."""
    fill = {node: sum(vectors.size[i] for i in items) for node, items in bins.items()}
    removed = sorted(bins, key=lambda node: (fill[node], -node))[: min(_REMOVED, len(bins))]
    search = _PoolSearch(vectors, {n: list(b) for n, b in bins.items() if n not in removed}, rng)
    search.pool = [item for node in removed for item in bins[node]]
    targets = sorted(removed)
    while True:
        split = search.pool_fits(targets, budget)
        if split is not None:
            result = dict(search.bins)
            for node, items in split.items():
                if items:
                    result[node] = items
            return result
        if not budget.left or not search.bins:
            return None
        search.step(budget)


class _PoolSearch:
    """Nodes packed within capacity plus a pool of unpacked items; moves shrink the pool."""

    def __init__(self, vectors: Vectors, bins: dict[int, list[int]], rng: random.Random) -> None:
        self.vectors = vectors
        self.bins = bins
        self.rng = rng
        self.pool: list[int] = []
        self.slack = {
            node: vectors.empty_slack(node) - sum(vectors.item[i] for i in items)
            for node, items in bins.items()
        }
        self.tabu: dict[int, int] = {}
        self.moves = 0
        self.last_pool: tuple[int, ...] = ()
        self.tabu_left = 0
        self.sweep: list[int] = []
        self.sweep_improved = False
        self.sweep_started = False

    def pool_fits(self, targets: Sequence[int], budget: Budget) -> dict[int, list[int]] | None:
        """Whether the pool fits on all but one of ``targets``, and how."""
        key = tuple(sorted(self.pool))
        if key == self.last_pool:
            return None
        self.last_pool = key
        vec = self.vectors
        if len(self.pool) > vec.max_sum:
            return None
        if len(targets) <= 1:
            return {node: [] for node in targets} if not self.pool else None
        if len(targets) == 2:
            for keep in targets:
                if vec.fits(vec.empty_slack(keep), sum(vec.item[i] for i in self.pool)):
                    return {keep: list(self.pool)}
            return None
        for first, second in itertools.combinations(targets, 2):
            split = vec.split_two(
                self.pool, vec.empty_slack(first), vec.empty_slack(second), budget
            )
            if split is not None:
                return {first: split[0], second: split[1]}
        return None

    def step(self, budget: Budget) -> None:
        """One move: refill the next node of the descent or, once a whole descent
        sweep found nothing, a tabu swap (up to ``_TABU_MOVES`` in a row, fewer if one
        shrinks the pool)."""
        if self.tabu_left == 0:
            if self._descend_next(budget):
                return
            self.tabu_left = _TABU_MOVES
        gain = self._tabu_move(budget)
        self.tabu_left -= 1
        if gain is None or gain > 0:
            self.tabu_left = 0

    def _descend_next(self, budget: Budget) -> bool:
        """Refill nodes of the current sweep until one takes more from the pool.

        False when a full sweep ended without any refill.
        """
        vec = self.vectors
        while self.pool and self.bins and budget.left:
            if not self.sweep:
                if not self.sweep_improved and self.sweep_started:
                    self.sweep_started = False
                    return False
                self.sweep = sorted(self.bins)
                self.rng.shuffle(self.sweep)
                self.sweep_improved, self.sweep_started = False, True
            node = self.sweep.pop()
            items = self.bins[node]
            candidates = items + sorted(self.pool, key=lambda i: (vec.size[i], i))
            budget.spend(8 + 2 * len(candidates))
            empty = vec.empty_slack(node)
            chosen = vec.best_fill(empty, candidates, budget)
            if sum(vec.size[i] for i in chosen) > sum(vec.size[i] for i in items):
                taken = set(chosen)
                self.pool = [i for i in candidates if i not in taken]
                self.bins[node] = chosen
                self.slack[node] = empty - sum(vec.item[i] for i in chosen)
                self.sweep_improved = True
                return True
        return False

    def _tabu_move(self, budget: Budget) -> int | None:
        """Apply the best non-tabu swap of <= 2 node items with <= 2 pool items."""
        vec = self.vectors
        self.moves += 1
        pool = self.pool
        subsets: list[tuple[int, ...]] = [(i,) for i in range(len(pool))]
        subsets += itertools.combinations(range(len(pool)), 2)
        offers = sorted(
            (
                (sum(vec.size[pool[i]] for i in s), sum(vec.item[pool[i]] for i in s), s)
                for s in subsets
            ),
            key=lambda offer: -offer[0],
        )
        nodes = sorted(self.bins)
        if len(nodes) > _SAMPLED_NODES:
            nodes = self.rng.sample(nodes, _SAMPLED_NODES)
        best: tuple[tuple[int, int, float], int, tuple[int, ...], tuple[int, ...]] | None = None
        work = len(offers)
        for node in nodes:
            for out in self._outgoing(node):
                work += 4
                out_size = sum(vec.size[i] for i in out)
                room = self.slack[node] + sum(vec.item[i] for i in out)
                for size, demand, chosen in offers:
                    work += 1
                    gain = size - out_size
                    if best is not None and gain < best[0][0]:
                        break
                    if not vec.fits(room, demand) or _same(vec, out, [pool[i] for i in chosen]):
                        continue
                    key = (gain, len(out) - len(chosen), self.rng.random())
                    if best is None or key > best[0]:
                        best = (key, node, out, chosen)
                    break
        budget.spend(work)
        if best is None:
            return None
        key, node, out, chosen = best
        self._swap(node, out, [pool[i] for i in chosen])
        return key[0]

    def _outgoing(self, node: int) -> list[tuple[int, ...]]:
        """The node's item subsets of size <= 2 that may leave (pairs on small nodes)."""
        free = [i for i in self.bins[node] if self.tabu.get(i, 0) <= self.moves]
        subsets: list[tuple[int, ...]] = [(), *((i,) for i in free)]
        if len(free) <= 12:
            subsets += list(itertools.combinations(free, 2))
        return subsets

    def _swap(self, node: int, out: Sequence[int], into: Sequence[int]) -> None:
        vec = self.vectors
        leaving = set(out)
        self.bins[node] = [i for i in self.bins[node] if i not in leaving] + list(into)
        entering = set(into)
        self.pool = [i for i in self.pool if i not in entering] + list(out)
        self.slack[node] += sum(vec.item[i] for i in out) - sum(vec.item[i] for i in into)
        for item in into:
            self.tabu[item] = self.moves + self.rng.randint(3, 10)


def _same(vectors: Vectors, out: Sequence[int], into: Sequence[int]) -> bool:
    """Whether a swap trades items for identical ones (a move that changes nothing)."""
    if len(out) != len(into):
        return False
    return sorted(vectors.item[i] for i in out) == sorted(vectors.item[i] for i in into)
