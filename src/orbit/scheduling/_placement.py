"""The integer placement problem shared by ``pack()``, the greedy strategies and CP-SAT.

A placement problem is pure data: items (pods) with an integer demand per resource
dimension, nodes with an integer capacity per dimension, and optional hard constraints
the cluster's filter plugins and pod specs produce — a feasibility matrix, groups of
items that may not share a node (required anti-affinity), groups spread with a maximum
skew across topology domains, and gangs placed all-or-nothing. Callers convert
quantities to integers (millicores, bytes, counts) before they build one; nothing here
knows about Kubernetes objects, so the same problem feeds every strategy, the CP-SAT
model and the benchmarks.

An *assignment* gives, per item, a node index or ``None`` (not placed).
:func:`violations` checks one against every constraint; every strategy's answer goes
through it before anyone sees it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Literal, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt

__all__ = [
    "Assignment",
    "Objective",
    "PlacementProblem",
    "PlacementSolution",
    "ProblemArrays",
    "SpreadGroup",
    "nodes_used",
    "placed_weight",
    "violations",
]

Assignment: TypeAlias = tuple[int | None, ...]
"""Per item, the index of its node, or ``None`` when the item is not placed."""

Objective: TypeAlias = Literal["fewest-nodes", "balance"]
"""The goal after placing as much priority-weighted demand as possible."""


def _matrix(rows: Iterable[Iterable[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(value) for value in row) for row in rows)


def _groups(groups: Iterable[Iterable[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(item) for item in group) for group in groups)


def _optional_bools(rows: Iterable[Iterable[bool]] | None) -> tuple[tuple[bool, ...], ...] | None:
    return None if rows is None else tuple(tuple(bool(value) for value in row) for row in rows)


def _optional_ints(values: Iterable[int] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(int(value) for value in values)


def _domains(values: Iterable[int | None] | None) -> tuple[int | None, ...] | None:
    return None if values is None else tuple(None if v is None else int(v) for v in values)


def _items(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(item) for item in values)


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _spreads(values: Iterable[SpreadGroup]) -> tuple[SpreadGroup, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class SpreadGroup:
    """Items spread across topology domains with at most ``max_skew`` difference.

    Kubernetes' PodTopologySpread with ``whenUnsatisfiable: DoNotSchedule``: for every
    domain, the number of the group's placed items in it may exceed the smallest such
    number over all domains by at most ``max_skew``. ``domains[j]`` is node ``j``'s
    domain id (its value of the topology key); ``None`` there means the node lacks the
    key and takes no item of the group. ``domains=None`` makes every node its own domain
    (``topologyKey: kubernetes.io/hostname``).
    """

    items: tuple[int, ...] = attrs.field(converter=_items)
    max_skew: int = 1
    domains: tuple[int | None, ...] | None = attrs.field(default=None, converter=_domains)

    def domain_of(self, node: int) -> int | None:
        """The domain of ``node`` for this group (the node itself without a domain list)."""
        return node if self.domains is None else self.domains[node]


@attrs.frozen(kw_only=True)
class PlacementProblem:
    """Items to place on nodes, in integers, with the hard constraints between them.

    Attributes:
        demands: ``demands[i][d]``, item ``i``'s request in dimension ``d`` (>= 0).
        capacities: ``capacities[j][d]``, node ``j``'s free capacity in dimension ``d``.
        feasible: ``feasible[i][j]`` is False where a filter rejected node ``j`` for item
            ``i`` (taints, selectors, affinity...); ``None`` means every pair passes.
        weights: the priority-weighted demand of each item (a positive integer), what the
            solver maximises placing first; ``None`` gives every item weight 1
            (maximise the count).
        conflicts: groups of items no two of which may share a node (required
            anti-affinity on the hostname).
        spread: groups with a maximum skew across domains (topology spread).
        gangs: groups placed all-or-nothing; an item belongs to at most one gang.
        resources: optional names of the dimensions, for messages.
    """

    demands: tuple[tuple[int, ...], ...] = attrs.field(converter=_matrix)
    capacities: tuple[tuple[int, ...], ...] = attrs.field(converter=_matrix)
    feasible: tuple[tuple[bool, ...], ...] | None = attrs.field(
        default=None, converter=_optional_bools
    )
    weights: tuple[int, ...] | None = attrs.field(default=None, converter=_optional_ints)
    conflicts: tuple[tuple[int, ...], ...] = attrs.field(default=(), converter=_groups)
    spread: tuple[SpreadGroup, ...] = attrs.field(default=(), converter=_spreads)
    gangs: tuple[tuple[int, ...], ...] = attrs.field(default=(), converter=_groups)
    resources: tuple[str, ...] = attrs.field(default=(), converter=_names)

    def __attrs_post_init__(self) -> None:
        problems = list(_shape_errors(self)) + list(_group_errors(self))
        if problems:
            raise ValueError("invalid placement problem: " + "; ".join(problems))

    @property
    def num_items(self) -> int:
        """The number of items."""
        return len(self.demands)

    @property
    def num_nodes(self) -> int:
        """The number of nodes."""
        return len(self.capacities)

    @property
    def num_dims(self) -> int:
        """The number of resource dimensions (0 for a problem without items or nodes)."""
        rows = self.demands or self.capacities
        return len(rows[0]) if rows else len(self.resources)

    def weight(self, item: int) -> int:
        """Item ``item``'s priority-weighted demand (1 without a weight list)."""
        return 1 if self.weights is None else self.weights[item]

    def allowed(self, item: int, node: int) -> bool:
        """Whether ``item`` may go on ``node`` alone: the filter passed and it fits."""
        if self.feasible is not None and not self.feasible[item][node]:
            return False
        return all(d <= c for d, c in zip(self.demands[item], self.capacities[node], strict=True))

    def has_groups(self) -> bool:
        """Whether any conflict, spread or gang constraint ties items together."""
        return bool(self.conflicts or self.spread or self.gangs)

    @functools.cached_property
    def arrays(self) -> ProblemArrays:
        """The problem as numpy arrays, built once (the greedy strategies' input)."""
        return ProblemArrays.build(self)


_INT64_LIMIT = 2**62


@attrs.frozen
class ProblemArrays:
    """A :class:`PlacementProblem` as ``int64`` / ``bool`` numpy arrays.

    ``feasible`` combines the problem's matrix with what spread groups forbid (a node
    without a domain takes no member). ``placeable[i]`` says item ``i`` fits, alone, on
    some node it may take; items that do not are left unplaced by every strategy and
    by every bound.
    """

    demands: npt.NDArray[np.int64]  # (n, D)
    capacities: npt.NDArray[np.int64]  # (m, D)
    feasible: npt.NDArray[np.bool_] | None  # (n, m)
    weights: npt.NDArray[np.int64]  # (n,)
    placeable: npt.NDArray[np.bool_]  # (n,)

    @classmethod
    def build(cls, problem: PlacementProblem) -> ProblemArrays:
        """Convert ``problem``; values must stay below 2**62 (``pack`` scales them so)."""
        n, m, dims = problem.num_items, problem.num_nodes, problem.num_dims
        big = max((max(row, default=0) for row in problem.demands + problem.capacities), default=0)
        if big >= _INT64_LIMIT:
            raise ValueError(f"placement quantities must stay below 2**62, not {big}")
        demands = np.array(problem.demands, dtype=np.int64).reshape(n, dims)
        capacities = np.array(problem.capacities, dtype=np.int64).reshape(m, dims)
        feasible = None if problem.feasible is None else np.array(problem.feasible, dtype=bool)
        if feasible is not None:
            feasible = feasible.reshape(n, m)
        for spread in problem.spread:  # a node without the topology key takes no member
            if spread.domains is not None and None in spread.domains:
                if feasible is None:
                    feasible = np.ones((n, m), dtype=bool)
                no_domain = np.array([d is None for d in spread.domains], dtype=bool)
                rows = np.array(spread.items, dtype=np.intp)
                feasible[np.ix_(rows, no_domain.nonzero()[0])] = False
        weights = np.ones(n, dtype=np.int64)
        if problem.weights is not None:
            weights = np.array(problem.weights, dtype=np.int64).reshape(n)
        placeable = _placeable(demands, capacities, feasible)
        return cls(demands, capacities, feasible, weights, placeable)


def _placeable(
    demands: npt.NDArray[np.int64],
    capacities: npt.NDArray[np.int64],
    feasible: npt.NDArray[np.bool_] | None,
) -> npt.NDArray[np.bool_]:
    """Per item, whether some allowed node holds it alone (chunked: n x m stays small)."""
    n = demands.shape[0]
    result = np.zeros(n, dtype=bool)
    if feasible is None:  # nodes of one shape are interchangeable here: check each shape once
        capacities = np.unique(capacities, axis=0)
    chunk = max(1, 2_000_000 // max(1, capacities.shape[0] * max(1, demands.shape[1])))
    for start in range(0, n, chunk):
        block = demands[start : start + chunk]
        fits = (block[:, None, :] <= capacities[None, :, :]).all(axis=2)
        if feasible is not None:
            fits &= feasible[start : start + chunk]
        result[start : start + chunk] = np.any(fits, axis=1)
    return result


def _shape_errors(problem: PlacementProblem) -> Iterable[str]:
    dims = problem.num_dims
    if problem.resources and len(problem.resources) != dims:
        yield f"{len(problem.resources)} resource names for {dims} dimensions"
    for kind, rows in (("demands", problem.demands), ("capacities", problem.capacities)):
        for index, row in enumerate(rows):
            if len(row) != dims:
                yield f"{kind}[{index}] has {len(row)} dimensions, expected {dims}"
            elif any(value < 0 for value in row):
                yield f"{kind}[{index}] is negative"
    n, m = problem.num_items, problem.num_nodes
    if problem.feasible is not None and (
        len(problem.feasible) != n or any(len(row) != m for row in problem.feasible)
    ):
        yield f"feasible must be a {n} x {m} matrix"
    if problem.weights is not None and (
        len(problem.weights) != n or any(w < 1 for w in problem.weights)
    ):
        yield f"weights must be {n} positive integers"


def _group_errors(problem: PlacementProblem) -> Iterable[str]:
    n, m = problem.num_items, problem.num_nodes
    named = [("conflicts", g) for g in problem.conflicts] + [("gangs", g) for g in problem.gangs]
    named += [("spread", s.items) for s in problem.spread]
    for kind, group in named:
        if any(not 0 <= item < n for item in group) or len(set(group)) != len(group):
            yield f"{kind} group {group} must list distinct item indices below {n}"
    for spread in problem.spread:
        if spread.max_skew < 1:
            yield f"spread max_skew must be at least 1, not {spread.max_skew}"
        if spread.domains is not None and len(spread.domains) != m:
            yield f"spread domains must give one domain per node ({m})"
    members = [item for gang in problem.gangs for item in gang]
    if len(members) != len(set(members)):
        yield "an item belongs to more than one gang"


@attrs.frozen(kw_only=True)
class PlacementSolution:
    """What a solver returns: the assignment, its quality and what is proved about it.

    ``lower_bound`` is a proved lower bound on the nodes any assignment needs that
    leaves no more priority-weighted demand unplaced than this one; ``optimal`` says the
    assignment is proved optimal for the objective. ``objective_value`` and
    ``objective_bound`` measure the goal: nodes used for ``fewest-nodes``, the largest
    per-mille utilisation of any node and dimension for ``balance``.
    ``status`` is ``"optimal"``, ``"improved"`` (better than the greedy warm start) or
    ``"greedy"`` (the warm start itself); ``solver_status`` is CP-SAT's own status name,
    or ``"NOT_RUN"`` when the model was not needed.
    """

    assignment: Assignment
    nodes_used: int
    lower_bound: int
    optimal: bool
    status: str
    solver_status: str
    objective: Objective
    objective_value: int
    objective_bound: int
    unplaced_weight: int
    seconds: float

    @property
    def gap(self) -> int:
        """Nodes used above the proved lower bound."""
        return self.nodes_used - self.lower_bound


def nodes_used(assignment: Sequence[int | None]) -> int:
    """The number of distinct nodes holding at least one item."""
    return len({node for node in assignment if node is not None})


def placed_weight(problem: PlacementProblem, assignment: Sequence[int | None]) -> int:
    """The total weight of the placed items."""
    return sum(problem.weight(i) for i, node in enumerate(assignment) if node is not None)


def violations(problem: PlacementProblem, assignment: Sequence[int | None]) -> list[str]:
    """Every way ``assignment`` breaks ``problem``; empty when it is valid."""
    n, m = problem.num_items, problem.num_nodes
    if len(assignment) != n:
        return [f"assignment has {len(assignment)} entries for {n} items"]
    found: list[str] = []
    loads = [[0] * problem.num_dims for _ in range(m)]
    for item, node in enumerate(assignment):
        if node is None:
            continue
        if not 0 <= node < m:
            found.append(f"item {item} on node {node}, which does not exist")
            continue
        if problem.feasible is not None and not problem.feasible[item][node]:
            found.append(f"item {item} on node {node}, which the filters rejected")
        for d, amount in enumerate(problem.demands[item]):
            loads[node][d] += amount
    for node, load in enumerate(loads):
        for d, (used, cap) in enumerate(zip(load, problem.capacities[node], strict=True)):
            if used > cap:
                name = problem.resources[d] if problem.resources else f"dimension {d}"
                found.append(f"node {node} overcommitted in {name}: {used} > {cap}")
    found.extend(_group_violations(problem, assignment))
    return found


def _group_violations(problem: PlacementProblem, assignment: Sequence[int | None]) -> list[str]:
    found: list[str] = []
    for group in problem.conflicts:
        nodes = [assignment[i] for i in group if assignment[i] is not None]
        if len(nodes) != len(set(nodes)):
            found.append(f"conflict group {group} shares a node")
    for gang in problem.gangs:
        placed = sum(assignment[i] is not None for i in gang)
        if 0 < placed < len(gang):
            found.append(f"gang {gang} is partly placed ({placed}/{len(gang)})")
    for spread in problem.spread:
        found.extend(_spread_violations(problem, spread, assignment))
    return found


def _spread_violations(
    problem: PlacementProblem, spread: SpreadGroup, assignment: Sequence[int | None]
) -> list[str]:
    domains = spread_domains(problem, spread)
    counts = dict.fromkeys(domains, 0)
    for item in spread.items:
        node = assignment[item]
        if node is None:
            continue
        domain = spread.domain_of(node)
        if domain is None:
            return [f"spread group item {item} on node {node}, which has no domain"]
        counts[domain] += 1
    if counts and max(counts.values()) - min(counts.values()) > spread.max_skew:
        return [f"spread group {spread.items} exceeds max skew {spread.max_skew}: {counts}"]
    return []


def spread_domains(problem: PlacementProblem, spread: SpreadGroup) -> list[int]:
    """The sorted domain ids of ``spread`` over the problem's nodes (skipping ``None``)."""
    ids = {spread.domain_of(node) for node in range(problem.num_nodes)}
    return sorted(domain for domain in ids if domain is not None)
