"""``pack()``: the pure placement API, for benchmarks and "how many nodes?" questions.

``pack`` takes plain resource mappings (``{"cpu": "500m", "memory": "1Gi"}``, or any
names such as ``{"size": 42}``), turns them into an integer
:class:`PlacementProblem`, runs a named strategy on it, checks the answer against the
problem (a strategy that overcommits a node is a bug, reported as an error, never a
result) and measures it. It is independent of the cluster loop: no pods, no store.

Quantities become exact integers: every value is parsed with
:class:`orbit.api.Quantity` (so ``"1"``, ``1``, ``1.0``, ``"1000m"`` are equal), taken
in nano-units (the finest a quantity holds, so nothing is rounded) and divided, per
resource, by the greatest common divisor of all that resource's values. A resource a
node does not list has capacity 0 there: a request of 0 for it fits, any more does
not. In the rare case a resource still spans more than 2**40 after that (a request
of 1 byte next to a node of 1 EiB), it is coarsened safely: requests are rounded
up and capacities down for placing (never an overcommit), the other way round for
the lower bound (never an overclaim).
"""

from __future__ import annotations

import decimal
import math
import time
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import attrs

from orbit.api import Quantity

from ._bounds import partial_lower_bound, placeable_items
from ._placement import PlacementProblem, PlacementSolution, nodes_used, violations
from ._strategies import get_strategy

__all__ = ["PackResult", "pack", "to_problem"]

ResourceMap: TypeAlias = Mapping[str, int | float | str | Quantity]

_SPAN_LIMIT = 2**40
_EXACT = decimal.Context(prec=200, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


@attrs.frozen(kw_only=True)
class PackResult:
    """The answer of :func:`pack`.

    Attributes:
        assignment: per request, the index of its node, or ``None`` if not placed.
        nodes_used: how many nodes hold at least one request.
        lower_bound: the best proved lower bound on the nodes any assignment needs
            that places as many requests (L1/L2 bin-packing bounds; for ``optimal``
            combined with CP-SAT's bound).
        optimal: proved optimal: every placeable request placed and
            ``nodes_used == lower_bound``.
        seconds: wall-clock time of the call.
        strategy: the strategy's name.
        resources: the resource names, in the problem's dimension order.
    """

    assignment: tuple[int | None, ...]
    nodes_used: int
    lower_bound: int
    optimal: bool
    seconds: float
    strategy: str
    resources: tuple[str, ...] = ()

    @property
    def unplaced(self) -> int:
        """How many requests got no node."""
        return sum(node is None for node in self.assignment)


def pack(
    requests: Sequence[ResourceMap],
    capacities: Sequence[ResourceMap],
    *,
    strategy: str = "optimal",
    time_limit_s: float = 1.0,
    seed: int = 0,
) -> PackResult:
    """Place ``requests`` on nodes of ``capacities`` with a named strategy.

    Raises:
        ValueError: an unknown strategy (the message lists the registered ones), a
            negative or unparsable quantity, or a strategy whose answer breaks a
            constraint.
    """
    start = time.perf_counter()
    func = get_strategy(strategy)
    problem, relaxed = to_problem(requests, capacities)
    left = max(0.0, time_limit_s - (time.perf_counter() - start))
    answer = func(problem, seed=seed, time_limit_s=left)
    solution = answer if isinstance(answer, PlacementSolution) else None
    assignment = answer.assignment if isinstance(answer, PlacementSolution) else tuple(answer)
    problems = violations(problem, assignment)
    if problems:
        detail = "; ".join(problems[:5])
        raise ValueError(f"strategy {strategy!r} returned an invalid assignment: {detail}")
    placed = [i for i, node in enumerate(assignment) if node is not None]
    bound = partial_lower_bound(relaxed or problem, placed)
    if solution is not None and relaxed is None:
        bound = max(bound, solution.lower_bound)
    used = nodes_used(assignment)
    everything = len(placed) == len(placeable_items(problem))
    return PackResult(
        assignment=assignment,
        nodes_used=used,
        lower_bound=bound,
        optimal=everything and used == bound,
        seconds=time.perf_counter() - start,
        strategy=strategy,
        resources=problem.resources,
    )


def to_problem(
    requests: Sequence[ResourceMap], capacities: Sequence[ResourceMap]
) -> tuple[PlacementProblem, PlacementProblem | None]:
    """The integer problem, and a relaxed twin for bounds when values had to be coarsened.

    Only resources some request asks a positive amount of become dimensions: the
    others cannot constrain anything.
    """
    names: dict[str, None] = {}
    for mapping in (*capacities, *requests):
        names.update(dict.fromkeys(mapping))
    demand_cols: list[list[int]] = []
    capacity_cols: list[list[int]] = []
    kept: list[str] = []
    for name in names:
        demand = [_nano(r.get(name, 0), name) for r in requests]
        if not any(demand):
            continue
        kept.append(name)
        demand_cols.append(demand)
        capacity_cols.append([_nano(c.get(name, 0), name) for c in capacities])
    tight, loose, coarse = [], [], False
    for demand, capacity in zip(demand_cols, capacity_cols, strict=True):
        exact = _reduce(demand, capacity)
        tight.append(exact[0])
        loose.append(exact[1])
        coarse = coarse or exact[2]
    problem = _assemble(tight, len(requests), len(capacities), kept)
    relaxed = _assemble(loose, len(requests), len(capacities), kept) if coarse else None
    return problem, relaxed


def _nano(value: int | float | str | Quantity, name: str) -> int:
    quantity = Quantity.parse(value)
    if quantity.sign() < 0:
        raise ValueError(f"{name}: a quantity must not be negative, not {quantity}")
    return int(quantity.value.scaleb(9, context=_EXACT))


Columns = tuple[list[int], list[int]]


def _reduce(demand: list[int], capacity: list[int]) -> tuple[Columns, Columns, bool]:
    """Divide by the common divisor; coarsen if still too wide (tight, loose, coarse?)."""
    divisor = math.gcd(*demand, *capacity) or 1
    demand = [v // divisor for v in demand]
    capacity = [v // divisor for v in capacity]
    top = max(demand + capacity)
    if top < _SPAN_LIMIT:
        return (demand, capacity), (demand, capacity), False
    factor = -(-top // _SPAN_LIMIT)
    tight = ([-(-v // factor) for v in demand], [v // factor for v in capacity])
    loose = ([v // factor for v in demand], [-(-v // factor) for v in capacity])
    return tight, loose, True


def _assemble(columns: list[Columns], n: int, m: int, names: list[str]) -> PlacementProblem:
    demands = [tuple(col[0][i] for col in columns) for i in range(n)]
    caps = [tuple(col[1][j] for col in columns) for j in range(m)]
    return PlacementProblem(demands=demands, capacities=caps, resources=tuple(names))
