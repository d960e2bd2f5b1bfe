"""Filling one or two nodes as full as possible: the inner step of the bin-packing search.

The local search (``_improve.py``) spends its time asking "which subset of these items
fills this node the most?" and "do these items fit on these two nodes?". This module
answers both, exactly for small inputs and best-effort (a node budget) for large ones.

Vectors are packed into one Python integer, a field per dimension with a guard bit
on top (SWAR, "SIMD within a register"): a node's *slack* holds ``guard + free`` per
field, an item holds its demand, and ``slack - demand`` keeps every guard bit set
exactly when the item fits in every dimension, so a fit test in ten dimensions costs
one subtraction and one mask. Fields carry 8 bits of headroom above the largest
value, so a sum of up to 256 items never carries into the next field.

Sizes used for "as full as possible" are integers: a dimension's demand divided by
the largest capacity of that dimension, scaled to a common denominator (exact, no
floats), summed over dimensions. In one dimension the size is the demand itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import attrs

from ._placement import PlacementProblem

__all__ = ["Budget", "Vectors"]

_STEP_COST = 5  # work units per depth-first search step (a unit is about 0.3 microseconds)


@attrs.define
class Budget:
    """Work units a search may still spend, and a wall-clock deadline as a safety net.

    Work units make a search stop at the same point on every run (determinism); the
    deadline (``time.perf_counter`` seconds) only bounds a much slower machine.
    """

    work: int
    deadline: float

    def spend(self, units: int) -> bool:
        """Charge ``units``; whether the search may go on."""
        self.work -= units
        return self.left

    @property
    def left(self) -> bool:
        """Whether any work and time is left."""
        return self.work > 0 and time.perf_counter() < self.deadline


def _bitset_fits(capacity: int, count: int) -> bool:
    """Whether subset sum by bitsets stays small: a bit per unit, a bitset per item."""
    return capacity <= 1 << 22 and capacity * count <= 1 << 28


class Vectors:
    """Items and nodes of a problem as packed integers (see the module docstring)."""

    def __init__(self, problem: PlacementProblem) -> None:
        dims = problem.num_dims
        top = max((max(row, default=0) for row in problem.demands + problem.capacities), default=0)
        self.width = max(1, top.bit_length()) + 9
        self.guard_bit = 1 << (self.width - 1)
        self.max_sum = 256  # items whose packed vectors may be summed without a carry
        self.guards = sum(self.guard_bit << (d * self.width) for d in range(dims))
        self.item = [self.pack(row) for row in problem.demands]
        self.capacity = [self.pack(row) for row in problem.capacities]
        scales = [max((cap[d] for cap in problem.capacities), default=0) or 1 for d in range(dims)]
        common = math.lcm(*scales) if dims > 1 else 1
        factors = [common // s for s in scales] if dims > 1 else [1] * dims
        self.size = [
            sum(v * f for v, f in zip(row, factors, strict=True)) for row in problem.demands
        ]
        self.node_size = [
            sum(v * f for v, f in zip(row, factors, strict=True)) for row in problem.capacities
        ]
        self.one_dim = dims == 1

    def pack(self, values: Sequence[int]) -> int:
        """``values`` as one integer, a field per dimension."""
        return sum(v << (d * self.width) for d, v in enumerate(values))

    def empty_slack(self, node: int) -> int:
        """The slack of ``node`` with nothing on it."""
        return self.guards + self.capacity[node]

    def fits(self, slack: int, demand: int) -> bool:
        """Whether a packed ``demand`` fits a packed ``slack``."""
        return (slack - demand) & self.guards == self.guards

    def best_fill(
        self, slack: int, items: Sequence[int], budget: Budget, node_limit: int = 4000
    ) -> list[int]:
        """A subset of ``items`` fitting ``slack`` with the largest total size.

        Exact when the search finishes within ``node_limit`` steps (always for small
        inputs); otherwise the best subset found. Among subsets of equal total, one
        with items late in ``items`` is preferred (in one dimension; with more, one with
        larger items).
        """
        capacity = self._field0(slack)
        if self.one_dim and _bitset_fits(capacity, len(items)):
            budget.spend(len(items) * (1 + capacity // 4096))
            return self._fill_bitset(capacity, items)
        return self._fill_search(slack, items, budget, node_limit)

    def _field0(self, slack: int) -> int:
        return (slack & ((1 << self.width) - 1)) - self.guard_bit

    def _fill_bitset(self, capacity: int, items: Sequence[int]) -> list[int]:
        """Subset sum by a bitset per prefix: exact, one big-integer shift per item."""
        if capacity < 0:
            return []
        mask = (1 << (capacity + 1)) - 1
        reach = [1]
        for item in items:
            last = reach[-1]
            reach.append((last | (last << self.size[item])) & mask)
        total = reach[-1].bit_length() - 1
        chosen: list[int] = []
        for k in range(len(items), 0, -1):
            size = self.size[items[k - 1]]
            if total >= size and (reach[k - 1] >> (total - size)) & 1:
                chosen.append(items[k - 1])
                total -= size
        return chosen

    def _fill_search(
        self, slack: int, items: Sequence[int], budget: Budget, node_limit: int
    ) -> list[int]:
        """Depth-first branch and bound over item kinds (identical items grouped)."""
        kinds: dict[int, list[int]] = {}
        for item in items:
            kinds.setdefault(self.item[item], []).append(item)
        groups = sorted(kinds.values(), key=lambda g: (-self.size[g[0]], g[0]))
        suffix = [0] * (len(groups) + 1)
        for k in range(len(groups) - 1, -1, -1):
            suffix[k] = suffix[k + 1] + self.size[groups[k][0]] * len(groups[k])
        best: list[int] = [0]
        best_pick: list[list[int]] = [[]]
        steps = [0]
        picked: list[int] = []

        def search(k: int, room: int, total: int) -> None:
            steps[0] += 1
            if total > best[0]:
                best[0], best_pick[0] = total, list(picked)
            if k == len(groups) or total + suffix[k] <= best[0] or steps[0] > node_limit:
                return
            group = groups[k]
            demand, size = self.item[group[0]], self.size[group[0]]
            count = 0
            while count < len(group) and self.fits(room, demand):
                room -= demand
                picked.append(group[count])
                count += 1
            for taken in range(count, -1, -1):
                search(k + 1, room, total + taken * size)
                if taken:
                    room += demand
                    picked.pop()

        search(0, slack, 0)
        budget.spend(_STEP_COST * steps[0])
        return best_pick[0]

    def split_two(
        self, items: Sequence[int], first: int, second: int, budget: Budget
    ) -> tuple[list[int], list[int]] | None:
        """Split ``items`` between two slacks so both fit, or None if not found."""
        if len(items) > self.max_sum:
            return None
        total = sum(self.item[i] for i in items)
        if not self.fits(first - self.guards + second, total):
            return None  # not even the volume fits
        if self.one_dim and _bitset_fits(self._field0(first), len(items)):
            budget.spend(len(items) * (1 + self._field0(first) // 4096))
            one = self._fill_bitset(self._field0(first), items)
            if self.fits(second, total - sum(self.item[i] for i in one)):
                chosen = set(one)
                return one, [i for i in items if i not in chosen]
            return None
        return self._split_search(items, first, second, budget)

    def _split_search(
        self, items: Sequence[int], first: int, second: int, budget: Budget
    ) -> tuple[list[int], list[int]] | None:
        order = sorted(items, key=lambda i: (-self.size[i], i))
        sides: list[list[int]] = [[], []]
        steps = [0]

        def search(k: int, rooms: list[int]) -> bool:
            steps[0] += 1
            if k == len(order):
                return True
            if steps[0] > 2000:
                return False
            demand = self.item[order[k]]
            for side in (0, 1):
                if self.fits(rooms[side], demand):
                    rooms[side] -= demand
                    sides[side].append(order[k])
                    if search(k + 1, rooms):
                        return True
                    rooms[side] += demand
                    sides[side].pop()
            return False

        found = search(0, [first, second])
        budget.spend(_STEP_COST * steps[0])
        return (sides[0], sides[1]) if found else None
