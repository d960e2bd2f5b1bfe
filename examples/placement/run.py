"""A placement algorithm of your own, compared with orbit's on public bin-packing instances.

Run it with ``python examples/placement/run.py``. It registers ``dot-product``, the
bin-centric DotProduct heuristic of Panigrahy, Talwar, Uyeda and Wieder ("Heuristics
for Vector Bin Packing", Microsoft Research, 2011), with
``orbit.scheduling.register_strategy``, then runs ``orbit.scheduling.pack`` with every
registered strategy, built-in or not, on three instances from ``benchmarks/data``
whose optimum is proved: one 1-D (Falkenauer U, 120 items) and two 3-D (Panigrahy
classes 1 and 7, 60 items each: cpu, memory and a third resource, say). ``pack``
checks each answer against the problem (a strategy that overfills a node is an error,
never a result) and measures it; the table gives nodes used against the optimum.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from orbit.scheduling import PlacementProblem, pack, register_strategy, strategies

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"
BPP = DATA / "bpp1d_bpplib"
VBP = DATA / "vbp_mommessin2024"
TIME_LIMIT_S = 2.0
MINE = "dot-product"


def dot_product(
    problem: PlacementProblem, /, *, seed: int, time_limit_s: float
) -> list[int | None]:
    """Fill one node at a time; into the open node put, among the items that still fit
    it, the one whose demand has the largest dot product with the node's free capacity
    (both scaled per dimension by the largest capacity), until none fits; then open the
    next node. Panigrahy et al. found this among the best simple rules for vector bin
    packing: it pairs items that are large where the node still has room.

    Deterministic (ties go to the lowest item index), so ``seed`` is unused; it is fast
    enough to ignore ``time_limit_s``. It honours capacities and the feasibility matrix
    (node filters); it refuses problems with conflicts, spreads or gangs.
    """
    if problem.has_groups():
        raise ValueError(f"{MINE} places independent items only (no conflicts, spreads, gangs)")
    dims = range(problem.num_dims)
    scale = [max((c[d] for c in problem.capacities), default=0) or 1 for d in dims]
    assignment: list[int | None] = [None] * problem.num_items
    left = list(range(problem.num_items))
    for node, capacity in enumerate(problem.capacities):
        free = list(capacity)
        while left:
            best, best_score = -1, -1.0
            for item in left:
                demand = problem.demands[item]
                if any(demand[d] > free[d] for d in dims):
                    continue
                if problem.feasible is not None and not problem.feasible[item][node]:
                    continue
                score = sum(demand[d] * free[d] / (scale[d] * scale[d]) for d in dims)
                if score > best_score:
                    best, best_score = item, score
            if best < 0:
                break
            assignment[best] = node
            free = [free[d] - problem.demands[best][d] for d in dims]
            left.remove(best)
        if not left:
            break
    return assignment


@attrs.frozen
class Instance:
    """A packing problem as ``pack`` takes it, with its proved optimum."""

    name: str
    requests: list[dict[str, Any]]
    capacities: list[dict[str, Any]]
    optimum: int
    dims: int


def optima(path: Path, key: str) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row[key]: row for row in csv.DictReader(handle)}


def bpp_instance(name: str) -> Instance:
    """A BPPLIB 1-D instance: item count, capacity, then one size per item."""
    row = optima(BPP / "optima.csv", "instance")[name]
    numbers = [int(v) for v in (BPP / row["file"]).read_text().split()]
    count, capacity, sizes = numbers[0], numbers[1], numbers[2:]
    assert len(sizes) == count, name
    return Instance(
        name=name,
        requests=[{"size": size} for size in sizes],
        capacities=[{"size": capacity}] * count,
        optimum=int(row["optimum"]),
        dims=1,
    )


def vbp_instance(name: str) -> Instance:
    """A VPSolver ``.vbp`` instance: d, the d capacities, the number of item types,
    then per type d sizes and how many items of it."""
    row = optima(VBP / "optima.csv", "instance")[name]
    numbers = [int(v) for v in (VBP / row["file"]).read_text().split()]
    dims = numbers[0]
    names = [f"r{d}" for d in range(dims)]
    capacity = dict(zip(names, numbers[1 : 1 + dims], strict=True))
    requests: list[dict[str, Any]] = []
    at = 2 + dims
    for _ in range(numbers[1 + dims]):
        sizes, copies = numbers[at : at + dims], numbers[at + dims]
        requests += [dict(zip(names, sizes, strict=True))] * copies
        at += dims + 1
    return Instance(
        name=name,
        requests=requests,
        capacities=[capacity] * len(requests),
        optimum=int(row["optimum"]),
        dims=dims,
    )


def compare(instance: Instance, names: Sequence[str]) -> None:
    """Pack ``instance`` with each strategy and print a row per strategy."""
    print(
        f"\n{instance.name}: {instance.dims}-D, {len(instance.requests)} items, "
        f"optimum {instance.optimum} nodes"
    )
    print(f"  {'STRATEGY':<14}{'NODES':>6}{'GAP':>6}{'LOWER BOUND':>13}{'PROVED':>8}{'TIME':>10}")
    for name in names:
        result = pack(
            instance.requests,
            instance.capacities,
            strategy=name,
            time_limit_s=TIME_LIMIT_S,
            seed=0,
        )
        assert result.unplaced == 0, (name, result.unplaced)
        label = f"{name} *" if name == MINE else name
        gap = result.nodes_used - instance.optimum
        print(
            f"  {label:<14}{result.nodes_used:>6}{gap:>+6}{result.lower_bound:>13}"
            f"{'yes' if result.optimal else 'no':>8}{result.seconds * 1000:>8.0f}ms"
        )


def main() -> None:
    started = time.monotonic()
    register_strategy(MINE, dot_product)
    names = strategies()
    print(f"strategies: {', '.join(names)}   (* = registered by this example)")
    print("GAP: nodes used minus the optimum; PROVED: pack() proved its answer optimal")
    for instance in (
        bpp_instance("Falkenauer_u120_00"),
        vbp_instance("Panigrahy/class1_60_3_0"),
        vbp_instance("Panigrahy/class7_60_3_0"),
    ):
        compare(instance, names)
    print(f"\ndone in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
