"""What-if: one simulated day of a web Deployment under the HPA and a node pool, per policy.

Run ``python benchmarks/autoscaling.py --plot docs/img/autoscaling-day.png`` (24 virtual
hours x 4 policies, a few minutes on 2 cores, the policies in parallel processes) or
``--quick`` for a smoke run (2 virtual hours, the day compressed into them, smaller
sizes). Prints a table and writes ``benchmarks/results/autoscaling.json``.

The scenario (everything in virtual time under :func:`orbit.simulate`, seeded):

- a Deployment ``web`` (cpu request 250m, a readiness probe every 10 s; a pod starts in
  2 s and turns ready 15 s later) behind an ``autoscaling/v2`` HPA on cpu Utilization
  (target 60 %, min 2, max 40, the controller's 15 s sync);
- one fixed node of 2 cpu and a node pool (``orbit.NodePool``) of 2-cpu nodes, 0 to 5,
  from a ``SimNodeProvider`` that takes 60 s to boot one, at ``$0.096`` an hour (an
  m5.large's price); the node-pool autoscaler runs with cluster-autoscaler's defaults
  (scale down after 10 min under 50 % utilization);
- the load: :func:`orbit.autoscaling.diurnal` (0.6 cores at 03:00, 4.2 at 15:00,
  10 % noise per minute) plus 6 random spikes of 1-2.5 cores for 2-15 minutes, spread
  by :class:`~orbit.autoscaling.SharedLoad` over the ready pods (a pod's cpu is
  the demand over the ready pods: what the HPA's Resource metric reads).

Policies (the HPA's ``behavior`` block; everything else is the same, and so is the
seeded day): ``kubernetes-default`` (no behavior block: scale up by max(4 pods, 100 %)
per 15 s, scale down after a 300 s window by up to 100 % per 15 s); ``fast`` (scale-down
window 60 s; scale up 200 % per 15 s); ``conservative`` (scale up 2 pods per 60 s;
scale-down window 900 s, then 10 % per 60 s); ``no-window`` (the defaults without the
scale-down stabilization window: what the window is for).

Measured per policy, from a task sampling the cluster every ``--sample-s`` (30 s) of
virtual time, a watch on the Deployment and the HPA's events:

- **time above target**: seconds in which the demand per ready pod exceeds the target
  utilization x request x (1 + the HPA's 0.1 tolerance) = 165m (no ready pod counts);
- **scale events**: the HPA's ``SuccessfulRescale`` events (repeats folded into one
  Event's count are counted); **reversals**: a change of direction between two
  consecutive scalings (up then down, or down then up); **flaps**: reversals within
  5 minutes of the previous scaling;
- **pod-hours**, **node-hours** and **cost** (node-hours x price, the fixed node too),
  **pending pod-seconds** (pods not bound to a node: waiting for a node to boot);
- nodes added and removed by the node-pool autoscaler, the most replicas and nodes.

The run, the sampling and the summary are :mod:`orbit.whatif`'s (what ``orbit sim``
runs); this script is the scenario, its table and its JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from orbit.autoscaling import Diurnal, diurnal, random_spikes
from orbit.whatif import (
    Day,
    Load,
    NodeGroup,
    PoolSpec,
    Recorder,
    WhatIf,
    compact_json,
    markdown_table,
    plot,
    run_policies,
)

RESULTS = Path(__file__).parent / "results" / "autoscaling.json"
PLOT = Path(__file__).parent.parent / "docs" / "img" / "autoscaling-day.png"

REQUEST_MILLIS = 250
TARGET_UTILIZATION = 60
NODE_CAPACITY = {"cpu": "2", "memory": "8Gi"}
PRICE_PER_HOUR = 0.096

POLICIES: dict[str, dict[str, Any] | None] = {
    "kubernetes-default": None,
    "fast": {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Percent", "value": 200, "periodSeconds": 15}],
        },
        "scaleDown": {"stabilizationWindowSeconds": 60},
    },
    "conservative": {
        "scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]},
        "scaleDown": {
            "stabilizationWindowSeconds": 900,
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
        },
    },
    "no-window": {"scaleDown": {"stabilizationWindowSeconds": 0}},
}


QUICK: dict[str, Any] = {
    "peak_cores": 2.0,
    "trough_cores": 0.3,
    "spikes": 2,
    "spike_cores": (0.5, 1.0),
    "max_replicas": 16,
    "pool_max_nodes": 2,
}
"""``--quick``: 2 virtual hours of a smaller day (the CI smoke run)."""


@attrs.frozen
class Scenario:
    """The day every policy runs: sizes, the load and the sampling."""

    hours: float = 24.0
    seed: int = 0
    trough_cores: float = 0.6
    peak_cores: float = 4.2
    noise: float = 0.1
    spikes: int = 6
    spike_cores: tuple[float, float] = (1.0, 2.5)
    spike_s: tuple[float, float] = (120.0, 900.0)
    min_replicas: int = 2
    max_replicas: int = 40
    fixed_nodes: int = 1
    pool_max_nodes: int = 5
    boot_delay_s: float = 60.0
    sample_s: float = 30.0

    @property
    def span_s(self) -> float:
        return self.hours * 3600.0

    def curve(self) -> Diurnal:
        """The day's demand (the whole day's shape over ``hours``, compressed if short)."""
        spikes = random_spikes(
            self.seed,
            count=self.spikes,
            span_s=self.span_s,
            duration_s=self.spike_s,
            height=self.spike_cores,
        )
        return diurnal(
            self.trough_cores,
            self.peak_cores,
            day_s=self.span_s,
            spikes=spikes,
            noise=self.noise,
            seed=self.seed,
        )

    def what_if(self, policies: Sequence[str]) -> WhatIf:
        """The scenario as an :class:`orbit.whatif.WhatIf` running ``policies``."""
        return WhatIf(
            name="autoscaling-day",
            manifests=(deployment(self.min_replicas), hpa(self)),
            load=Load(selector="app=web", curve=self.curve(), namespace="default"),
            nodes=(
                NodeGroup(
                    prefix="base",
                    count=self.fixed_nodes,
                    capacity=NODE_CAPACITY,
                    cost_per_hour=PRICE_PER_HOUR,
                ),
            ),
            pools=(
                PoolSpec(
                    name="pool",
                    capacity=NODE_CAPACITY,
                    max_nodes=self.pool_max_nodes,
                    cost_per_hour=PRICE_PER_HOUR,
                    boot_delay_s=self.boot_delay_s,
                ),
            ),
            duration_s=self.span_s,
            policies={name: POLICIES[name] for name in policies},
            seed=self.seed,
            sample_s=self.sample_s,
        )


def deployment(replicas: int) -> dict[str, Any]:
    annotations = {"sim.orbit.dev/startup-seconds": "2", "sim.orbit.dev/ready-after-seconds": "15"}
    container = {
        "name": "web",
        "image": "example/web:1",
        "resources": {"requests": {"cpu": f"{REQUEST_MILLIS}m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": annotations},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [container]},
            },
        },
    }


def hpa(scenario: Scenario) -> dict[str, Any]:
    """The HPA without a behavior block (each policy adds its own)."""
    target = {"type": "Utilization", "averageUtilization": TARGET_UTILIZATION}
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": scenario.min_replicas,
        "maxReplicas": scenario.max_replicas,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": spec,
    }


def run_all(policies: Sequence[str], scenario: Scenario, jobs: int) -> list[Day]:
    """Every policy's day, ``jobs`` processes at a time, in the order given."""

    def done(day: Day) -> None:
        print(f"  {day.policy}: {day.wall_s:.1f} s wall", file=sys.stderr)

    return run_policies(
        scenario.what_if(policies), policies, jobs=jobs, done=done if jobs > 1 else None
    )


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    """A markdown table of the summary rows."""
    for line in markdown_table(rows):
        print(line)


def write_json(path: Path, days: Sequence[Day], scenario: Scenario, wall: float) -> None:
    """The summary rows, the scenario and each day's timeline every 5 minutes."""
    every = max(1, round(300 / scenario.sample_s))
    payload = {
        "benchmark": "autoscaling",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "scenario": attrs.asdict(scenario),
        "policies": POLICIES,
        "wall_s": round(wall, 1),
        "rows": [day.summary for day in days],
        "timeline_columns": Recorder.COLUMNS,
        "timelines": {d.policy: d.timeline[::every] for d in days},
        "scalings": {d.policy: d.scalings for d in days},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(compact_json(json.dumps(payload, indent=2)) + "\n")
    print(f"results written to {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="virtual hours for the day")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    parser.add_argument("--sample-s", type=float, default=30.0, help="sampling period, virtual s")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 h, smaller sizes")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=None, help=f"write the PNG (e.g. {PLOT})")
    args = parser.parse_args(argv)
    scenario = Scenario(hours=args.hours, seed=args.seed, sample_s=args.sample_s)
    if args.quick:
        scenario = attrs.evolve(scenario, **QUICK, hours=min(args.hours, 2.0))
    print(
        f"orbit autoscaling what-if: {scenario.hours:g} virtual h x {len(args.policies)} "
        f"policies, Python {platform.python_version()}, {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    began = time.perf_counter()
    days = run_all(args.policies, scenario, args.jobs)
    wall = time.perf_counter() - began
    print_table([day.summary for day in days])
    each = ", ".join(f"{d.policy} {d.wall_s:.1f} s" for d in days)
    print(f"\nwall {wall:.1f} s ({args.jobs} processes); per policy: {each}")
    write_json(args.json, days, scenario, wall)
    if args.plot is not None:
        title = "orbit what-if: HPA + node pool over a simulated day (same seeded load)"
        if plot(days, scenario.what_if(args.policies), args.plot, title=title):
            print(f"plot written to {args.plot}", file=sys.stderr)
        else:
            print(f"matplotlib is not installed: no plot written to {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
