"""A what-if run's summary row, and the table of them: pure functions over the
sampled timeline and the scalings.

Measured per policy:

- **time above target**: seconds in which the demand per ready pod exceeds the HPA's
  target per pod plus its 10 % tolerance (no ready pod counts as one);
- **scale events**: the HPA's ``SuccessfulRescale`` events; **reversals**: a change of
  direction between two consecutive scalings; **flaps**: reversals within 5 minutes of
  the previous scaling;
- **pod-hours**, **node-hours**, **cost** (each node's price per hour over the time it
  was there), **pending pod-seconds** (pods not bound to a node);
- nodes added and removed by the node-pool autoscaler, the most replicas and nodes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._spec import WhatIf, above_target_cores

if TYPE_CHECKING:
    from ._run import Day

__all__ = ["FLAP_WINDOW_S", "TABLE", "markdown_table", "reversals", "summarise", "summary_cells"]

FLAP_WINDOW_S = 300.0

TABLE = (
    ("policy", "policy", "{}"),
    ("above target", "above_target_s", "{:,.0f} s"),
    ("scale events", "rescale_events", "{}"),
    ("reversals", "reversals", "{}"),
    ("flaps <5m", "flaps", "{}"),
    ("pod-h", "pod_hours", "{:.1f}"),
    ("node-h", "node_hours", "{:.2f}"),
    ("cost $", "cost", "{:.2f}"),
    ("pending pod-s", "pending_pod_s", "{:,.0f}"),
    ("max pods", "max_replicas", "{}"),
    ("max nodes", "max_nodes", "{}"),
    ("nodes +/-", "nodes", "{}"),
)
"""The table's columns: (heading, summary key, format); ``nodes`` is added/removed."""


def reversals(scalings: Sequence[tuple[float, int, int]]) -> tuple[int, int]:
    """(direction reversals, those within ``FLAP_WINDOW_S`` of the previous scaling)."""
    count = quick = 0
    for (t0, a0, b0), (t1, a1, b1) in itertools.pairwise(scalings):
        if (b0 > a0) != (b1 > a1):
            count += 1
            quick += t1 - t0 < FLAP_WINDOW_S
    return count, quick


def summarise(day: Day, whatif: WhatIf) -> dict[str, Any]:
    """The policy's row: integrals over the sampled timeline, counts over the scalings.
    ``above_target_s`` is None when the HPA has no cpu target to compare with."""
    timeline = day.timeline
    dt = whatif.sample_s
    limit = above_target_cores(whatif)
    above: float | None = None
    share: float | None = None
    if limit is not None:
        above = sum(dt for _, demand, _, ready, _, _ in timeline if demand / max(1, ready) > limit)
        share = above / (len(timeline) * dt) if timeline else 0.0
    node_hours = sum(row[5] for row in timeline) * dt / 3600
    flips, flaps = reversals(day.scalings)
    return {
        "policy": day.policy,
        "above_target_s": above,
        "above_target_share": share,
        "rescale_events": day.rescale_events,
        "replica_changes": len(day.scalings),
        "reversals": flips,
        "flaps": flaps,
        "pod_hours": round(sum(row[2] for row in timeline) * dt / 3600, 2),
        "node_hours": round(node_hours, 2),
        "cost": round(sum(day.cost_rates) * dt / 3600, 3),
        "pending_pod_s": sum(row[4] for row in timeline) * dt,
        "max_replicas": max((row[2] for row in timeline), default=0),
        "max_nodes": max((row[5] for row in timeline), default=0),
        "nodes_added": day.nodes_added,
        "nodes_removed": day.nodes_removed,
        "hpa_warnings": day.hpa_warnings,
    }


def summary_cells(row: dict[str, Any]) -> list[str]:
    """A summary row's table cells, formatted as :data:`TABLE` says (``-`` for None)."""
    values = {**row, "nodes": f"{row['nodes_added']}/{row['nodes_removed']}"}
    return ["-" if values[key] is None else fmt.format(values[key]) for _, key, fmt in TABLE]


def markdown_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The summary rows as the lines of a markdown table."""
    lines = [
        "| " + " | ".join(head for head, _, _ in TABLE) + " |",
        "|" + "|".join(" --- " for _ in TABLE) + "|",
    ]
    lines += ["| " + " | ".join(summary_cells(row)) + " |" for row in rows]
    return lines
