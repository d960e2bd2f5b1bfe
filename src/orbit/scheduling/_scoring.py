"""The score phase: rank the feasible candidates, pick the best, break ties by the seed.

Each enabled score plugin ranks every candidate (``score_all`` in one call when it has
one, else ``score`` per node), ``normalize_scores`` rescales when the plugin has it,
every score must then be within 0-100, and the node's total is the weighted sum. The
best total wins; equal totals are broken uniformly at random by the framework's seeded
generator (kube-scheduler's reservoir sampling picks uniformly too), so the same seed
gives the same placements.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod

from ._cycle import CycleState
from ._interfaces import MAX_NODE_SCORE, MIN_NODE_SCORE
from ._snapshot import Snapshot
from ._status import Status

__all__ = ["ScoreStep", "run_pre_score", "run_scores", "select_host"]

IntpArray = npt.NDArray[np.intp]


@attrs.frozen(slots=True, eq=False)
class ScoreStep:
    """A score plugin with its weight and which optional methods it has."""

    name: str
    plugin: Any
    weight: int
    vector: bool
    normalize: bool
    bounded: bool = False  # the plugin declares ``scores_bounded``: no range check


def run_pre_score(
    plugins: Sequence[tuple[str, Any]],
    state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    candidates: IntpArray,
) -> Status | None:
    """Run the pre-score plugins; Skip marks the plugin's score skipped. Returns an
    Error status when one fails, else None."""
    for name, plugin in plugins:
        status = plugin.pre_score(state, pod, snapshot, candidates)
        if status.is_skip:
            state.skip_score.add(name)
        elif not status.is_success:
            return Status.error(f'running PreScore plugin "{name}": {status.message}', plugin=name)
    return None


def run_scores(
    steps: Sequence[ScoreStep],
    state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    candidates: IntpArray,
) -> (
    tuple[
        tuple[str, ...], tuple[int, ...], tuple[npt.NDArray[np.int64], ...], npt.NDArray[np.int64]
    ]
    | Status
):
    """Normalised scores: (plugin names, weights, one score row per plugin, the weighted
    total per candidate), or an Error status when a plugin returns a score outside
    0-100 (checked unless the plugin declares ``scores_bounded``)."""
    names: list[str] = []
    weights: list[int] = []
    rows: list[npt.NDArray[np.int64]] = []
    count = len(candidates)
    for step in steps:
        if step.name in state.skip_score:
            continue
        if step.vector:
            raw = np.asarray(step.plugin.score_all(state, pod, snapshot, candidates), np.int64)
        else:
            raw = np.fromiter(
                (step.plugin.score(state, pod, snapshot.at(i)) for i in candidates.tolist()),
                dtype=np.int64,
                count=count,
            )
        if step.normalize:
            raw = np.asarray(step.plugin.normalize_scores(state, pod, raw), dtype=np.int64)
        if raw.shape != (count,):
            return Status.error(
                f'plugin "{step.name}" returned {raw.shape} scores for {count} nodes'
            )
        if not step.bounded and count:
            low, high = int(raw.min()), int(raw.max())
            if low < MIN_NODE_SCORE or high > MAX_NODE_SCORE:
                bad = low if low < MIN_NODE_SCORE else high
                return Status.error(
                    f'plugin "{step.name}" returns an invalid score {bad}, it should in the '
                    f"range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing"
                )
        names.append(step.name)
        weights.append(step.weight)
        rows.append(raw)
    if not rows:
        return (), (), (), np.zeros(count, dtype=np.int64)
    total = rows[0] * weights[0] if weights[0] != 1 else rows[0].copy()
    for row, weight in zip(rows[1:], weights[1:], strict=True):
        total += row if weight == 1 else row * weight
    return tuple(names), tuple(weights), tuple(rows), total


def select_host(total: npt.NDArray[np.int64], rng: random.Random) -> int:
    """The position of the best total; ties broken uniformly by ``rng`` (which is
    consumed only when there is a tie, so runs stay reproducible)."""
    ties = (total == total.max()).nonzero()[0]
    if len(ties) == 1:
        return int(ties[0])
    return int(ties[rng.randrange(len(ties))])
