"""The filter phase: find enough feasible nodes, or fold why there are none.

Nodes are visited in the framework's order (a seeded shuffle, rotated from where the
previous cycle stopped) until ``num_to_find`` feasible nodes are found, as
kube-scheduler does. Plugins with ``filter_all`` judge every node in one call and
their masks are ANDed; plugins without it run per node, in profile order, on the nodes
the masks let through. Either way a node is feasible exactly when every plugin passes
it, so the choice does not depend on which plugins are vectorised.

When no node is feasible, each node's status is that of the *first* plugin in profile
order that rejects it (kube-scheduler's ``RunFilterPlugins``), and the statuses are
folded into a reason histogram. With only vectorised plugins this is array work over
reason codes: one Status per distinct (plugin, code), not one per node.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod

from ._cycle import CycleState
from ._result import NodeStatuses
from ._snapshot import Snapshot
from ._status import FilterAllResult, Status

__all__ = ["FilterOutcome", "FilterStep", "Folded", "fold_failures", "run_filters"]

IntpArray = npt.NDArray[np.intp]


@attrs.frozen(slots=True, eq=False)
class FilterStep:
    """A filter plugin enabled for this cycle; ``vector`` when it runs ``filter_all``."""

    name: str
    plugin: Any
    vector: bool


@attrs.define(slots=True, eq=False)
class FilterOutcome:
    """The feasible nodes found (snapshot indices, visiting order) and how many nodes
    were examined; ``error`` when a plugin failed outright."""

    feasible: IntpArray
    processed: int
    vectors: dict[int, FilterAllResult] = attrs.field(factory=dict)
    explicit: dict[int, Status] = attrs.field(factory=dict)
    passed_vectors: npt.NDArray[np.bool_] | None = None
    error: Status | None = None


@attrs.frozen(slots=True, eq=False)
class Folded:
    """Every examined node's rejection, folded."""

    reasons: dict[str, int]
    statuses: NodeStatuses
    plugins: frozenset[str]


def run_filters(
    steps: Sequence[FilterStep],
    state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    *,
    order: IntpArray,
    num_to_find: int,
) -> FilterOutcome:
    """Filter nodes in ``order`` until ``num_to_find`` are feasible."""
    vectors: dict[int, FilterAllResult] = {}
    passed: npt.NDArray[np.bool_] | None = None
    first: npt.NDArray[np.bool_] | None = None
    for position, step in enumerate(steps):
        if step.vector:
            result = step.plugin.filter_all(state, pod, snapshot)
            vectors[position] = result
            if result.everywhere:
                continue
            if first is None:
                first = result.mask  # may be shared: never written
            elif passed is None:
                passed = first & result.mask
            else:
                passed &= result.mask
    if passed is None and first is not None:
        passed = first
    per_node = [(p, s) for p, s in enumerate(steps) if not s.vector]
    if not per_node:
        if passed is None or passed.all():  # the common case: every node fits
            count = min(num_to_find, len(order))
            return FilterOutcome(order[:count].copy(), count, vectors, {}, passed)
        positions = np.flatnonzero(passed.take(order))
        if len(positions) >= num_to_find:
            positions = positions[:num_to_find]
            processed = int(positions[-1]) + 1 if num_to_find else 0
        else:
            processed = len(order)
        return FilterOutcome(order[positions], processed, vectors, {}, passed)
    feasible: list[int] = []
    explicit: dict[int, Status] = {}
    processed = 0
    for index in order.tolist():
        processed += 1
        if passed is not None and not passed[index]:
            continue
        info = snapshot.at(index)
        for _, step in per_node:
            status = step.plugin.filter(state, pod, info)
            if not status.is_success:
                if not status.is_rejected:
                    error = Status.error(f'running "{step.name}" filter plugin: {status.message}')
                    return FilterOutcome(np.empty(0, np.intp), processed, error=error)
                explicit[index] = status.with_plugin(step.name)
                break
        else:
            feasible.append(index)
            if len(feasible) == num_to_find:
                break
    return FilterOutcome(np.asarray(feasible, dtype=np.intp), processed, vectors, explicit, passed)


class _Codes:
    """Per-plugin reason codes and the Status of each (plugin, code), computed once."""

    def __init__(self, steps: Sequence[FilterStep], vectors: dict[int, FilterAllResult]) -> None:
        self._steps, self._vectors = steps, vectors
        self._codes: dict[int, npt.NDArray[np.int64] | None] = {}
        self.statuses: dict[tuple[int, int], Status] = {}

    def mask(self, position: int) -> npt.NDArray[np.bool_]:
        return self._vectors[position].mask

    def codes(self, position: int) -> npt.NDArray[np.int64] | None:
        if position not in self._codes:
            make = self._vectors[position].codes
            self._codes[position] = make() if make is not None else None
        return self._codes[position]

    def code(self, position: int, index: int) -> int:
        codes = self.codes(position)
        return index if codes is None else int(codes[index])

    def status(self, position: int, code: int) -> Status:
        key = (position, code)
        status = self.statuses.get(key)
        if status is None:
            status = self._vectors[position].reason(code).with_plugin(self._steps[position].name)
            self.statuses[key] = status
        return status


def _first_failure(
    steps: Sequence[FilterStep],
    codes: _Codes,
    *,
    state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    index: int,
) -> Status:
    """The status of the first plugin in order that rejects node ``index``."""
    info = snapshot.at(index)
    for position, step in enumerate(steps):
        if step.vector:
            if not codes.mask(position)[index]:
                return codes.status(position, codes.code(position, index))
        else:
            status: Status = step.plugin.filter(state, pod, info)
            if not status.is_success:
                return status.with_plugin(step.name)
    raise AssertionError(f"node {info.name} was counted as rejected but every filter passes")


def fold_failures(
    steps: Sequence[FilterStep],
    outcome: FilterOutcome,
    *,
    state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    order: IntpArray,
) -> Folded:
    """Fold the rejection of every node in ``order`` (none was feasible)."""
    codes = _Codes(steps, outcome.vectors)
    explicit = dict(outcome.explicit)
    passed = outcome.passed_vectors
    vector_failed = np.empty(0, dtype=np.intp) if passed is None else order[~passed[order]]
    owner = np.full(len(vector_failed), -1, dtype=np.int64)
    code = np.zeros(len(vector_failed), dtype=np.int64)
    if all(step.vector for step in steps):
        remaining = np.ones(len(vector_failed), dtype=np.bool_)
        for position in range(len(steps)):
            hit = remaining & ~codes.mask(position)[vector_failed]
            if hit.any():
                owner[hit] = position
                plugin_codes = codes.codes(position)
                nodes = vector_failed[hit]
                code[hit] = nodes if plugin_codes is None else plugin_codes[nodes]
                remaining &= ~hit
    else:
        for index in vector_failed.tolist():
            explicit[index] = _first_failure(
                steps, codes, state=state, pod=pod, snapshot=snapshot, index=index
            )
        vector_failed = np.empty(0, dtype=np.intp)
        owner, code = owner[:0], code[:0]
    reasons: dict[str, int] = {}
    plugins: set[str] = set()

    def count(status: Status, times: int) -> None:
        plugins.add(status.plugin)
        for reason in status.reasons:
            reasons[reason] = reasons.get(reason, 0) + times

    if len(vector_failed):
        pairs, counts = np.unique(np.stack((owner, code)), axis=1, return_counts=True)
        for (position, value), times in zip(pairs.T.tolist(), counts.tolist(), strict=True):
            count(codes.status(position, value), times)
    for status in explicit.values():
        count(status, 1)
    names = snapshot.names

    def resolve() -> dict[str, Status]:
        out = {names[i]: status for i, status in explicit.items()}
        for i, p, c in zip(vector_failed.tolist(), owner.tolist(), code.tolist(), strict=True):
            out[names[i]] = codes.statuses[(p, c)]
        return out

    return Folded(reasons=reasons, statuses=NodeStatuses(resolve), plugins=frozenset(plugins))
