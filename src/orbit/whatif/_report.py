"""A what-if's report files: ``report.md`` (the table), ``report.json`` (rows,
timelines, scalings) and a PNG per run set (one panel per policy).

Plots need matplotlib (``pip install 'orbit[bench]'``); without it :func:`plot`
returns False and the caller says so. The backend is Agg: no display is needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from ._run import Day, Recorder
from ._spec import WhatIf, hpa_manifest, target_cores_per_pod
from ._summary import markdown_table

__all__ = ["compact_json", "plot", "write_report"]

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
PLOT_PNG = "timeline.png"


def compact_json(text: str) -> str:
    """JSON text with each innermost list of numbers on one line."""
    return re.sub(r"\[\s+([-\d.,\s]+?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]", text)


def _hpa_bounds(whatif: WhatIf) -> tuple[int, int | None]:
    """(maxReplicas, the cpu averageUtilization target or None) of the HPA."""
    spec = hpa_manifest(whatif).get("spec") or {}
    utilization = None
    for metric in spec.get("metrics") or ():
        target = (metric.get("resource") or {}).get("target") or {}
        if target.get("type") == "Utilization":
            utilization = target.get("averageUtilization")
    return int(spec.get("maxReplicas") or 1), utilization


def plot(days: Sequence[Day], whatif: WhatIf, path: Path, *, title: str | None = None) -> bool:
    """One panel per policy over the run in hours: the load as the pods it needs at
    the target (shaded), the replicas and ready pods (left axis), the nodes (right
    axis). False (nothing written) when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: PLC0415 - optional

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    figure, axes = plt.subplots(
        len(days), 1, figsize=(12, 2.6 * len(days)), sharex=True, squeeze=False
    )
    for axis, day in zip(axes[:, 0], days, strict=True):
        _panel(axis, day, whatif)
    axes[-1, 0].set_xlabel("hour of the simulated day")
    axes[-1, 0].set_xlim(0, whatif.duration_s / 3600)
    figure.suptitle(title or f"orbit what-if: {whatif.name} (same seeded load per policy)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def _panel(axis: Any, day: Day, whatif: WhatIf) -> None:
    t, demand, replicas, ready, _, nodes = zip(*day.timeline, strict=True)
    hours = [x / 3600 for x in t]
    max_replicas, utilization = _hpa_bounds(whatif)
    per_pod = target_cores_per_pod(whatif)
    if per_pod:
        need = [cores / per_pod for cores in demand]
        load = f"load (pods at {utilization} %)" if utilization else "load (pods at target)"
    else:
        need, load = list(demand), "load (cores)"
    axis.fill_between(hours, need, color="tab:orange", alpha=0.25, lw=0, label=load)
    axis.step(hours, replicas, where="post", color="tab:blue", lw=1.0, label="replicas")
    axis.step(hours, ready, where="post", color="tab:green", lw=0.7, alpha=0.8, label="ready")
    axis.set_ylim(0, max_replicas * 1.3)
    axis.set_ylabel("pods")
    right = axis.twinx()
    right.step(hours, nodes, where="post", color="tab:red", lw=1.2, label="nodes")
    right.set_ylim(0, whatif.max_nodes * 1.3)
    right.set_ylabel("nodes", color="tab:red")
    s = day.summary
    above = "-" if s["above_target_s"] is None else f"{s['above_target_s'] / 60:.0f}"
    axis.set_title(
        f"{day.policy}: {above} min above target, "
        f"{s['rescale_events']} scalings ({s['reversals']} reversals), "
        f"{s['node_hours']:.1f} node-h, {s['pending_pod_s'] / 60:.0f} pending pod-min",
        fontsize="medium",
        loc="left",
    )
    lines, labels = axis.get_legend_handles_labels()
    more_lines, more_labels = right.get_legend_handles_labels()
    axis.legend(
        lines + more_lines, labels + more_labels, loc="upper left", fontsize="x-small", ncol=4
    )


def report_payload(days: Sequence[Day], whatif: WhatIf, **fields: Any) -> dict[str, Any]:
    """What ``report.json`` holds: the scenario's shape, the summary rows, each run's
    timeline every 5 minutes and its scalings, and ``fields``."""
    every = max(1, round(300 / whatif.sample_s))
    scenario = {
        "name": whatif.name,
        "duration_s": whatif.duration_s,
        "seed": whatif.seed,
        "sample_s": whatif.sample_s,
        "nodes": [attrs.asdict(group) for group in whatif.nodes],
        "pools": [attrs.asdict(pool) for pool in whatif.pools],
        "load": {"selector": whatif.load.selector, "namespace": whatif.load.namespace},
    }
    return {
        "what_if": whatif.name,
        **fields,
        "scenario": scenario,
        "policies": {name: whatif.policies[name] for name in (d.policy for d in days)},
        "rows": [day.summary for day in days],
        "timeline_columns": Recorder.COLUMNS,
        "timelines": {d.policy: d.timeline[::every] for d in days},
        "scalings": {d.policy: d.scalings for d in days},
    }


def write_report(out: Path, days: Sequence[Day], whatif: WhatIf, **fields: Any) -> list[Path]:
    """Write ``report.md``, ``report.json`` and (with matplotlib) ``timeline.png``
    into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    hours = whatif.duration_s / 3600
    markdown = [
        f"# {whatif.name}",
        "",
        f"{hours:g} virtual hours per policy, seed {whatif.seed}, "
        f"sampled every {whatif.sample_s:g} s.",
        "",
        *markdown_table([day.summary for day in days]),
    ]
    written = [out / REPORT_MD, out / REPORT_JSON]
    written[0].write_text("\n".join(markdown) + "\n")
    payload = report_payload(days, whatif, **fields)
    written[1].write_text(compact_json(json.dumps(payload, indent=2)) + "\n")
    if plot(days, whatif, out / PLOT_PNG):
        markdown += ["", f"![timelines]({PLOT_PNG})"]
        written[0].write_text("\n".join(markdown) + "\n")
        written.append(out / PLOT_PNG)
    return written
