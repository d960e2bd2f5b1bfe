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
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

import orbit
from orbit.api import Deployment, HorizontalPodAutoscaler, Node, Pod
from orbit.autoscaling import Diurnal, SharedLoad, diurnal, random_spikes
from orbit.errors import ResourceExpired
from orbit.runtimes import SimRuntime
from orbit.simulation import simulate

RESULTS = Path(__file__).parent / "results" / "autoscaling.json"
PLOT = Path(__file__).parent.parent / "docs" / "img" / "autoscaling-day.png"

REQUEST_MILLIS = 250
TARGET_UTILIZATION = 60
TOLERANCE = 0.1
NODE_CAPACITY = {"cpu": "2", "memory": "8Gi"}
PRICE_PER_HOUR = 0.096
FLAP_WINDOW_S = 300.0

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

    @property
    def above_cores(self) -> float:
        """Per-pod use above which the load is above target (tolerance included)."""
        return TARGET_UTILIZATION / 100 * REQUEST_MILLIS / 1000 * (1 + TOLERANCE)


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


def hpa(scenario: Scenario, behavior: dict[str, Any] | None) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": TARGET_UTILIZATION}
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": scenario.min_replicas,
        "maxReplicas": scenario.max_replicas,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": spec,
    }


def _unbound(pod: Pod) -> bool:
    return (
        not pod.spec.node_name
        and pod.metadata.deletion_timestamp is None
        and pod.status.phase not in ("Succeeded", "Failed")
    )


class Recorder:
    """Samples the cluster on a period and follows every change of the Deployment's
    replicas, in the simulation's virtual time."""

    COLUMNS = ("t", "demand", "replicas", "ready", "unbound", "nodes")

    def __init__(self, cluster: orbit.Cluster, load: SharedLoad) -> None:
        self.cluster = cluster
        self.load = load
        self.timeline: list[tuple[float, float, int, int, int, int]] = []
        self.scalings: list[tuple[float, int, int]] = []  # (t, from, to)
        self._current = 0

    def sample(self) -> None:
        store = self.cluster.store
        t = self.load.now()
        web: Deployment = store.get(Deployment, "web", "default")
        pods = store.list(Pod, label_selector="app=web").items
        row = (
            round(t, 3),
            round(self.load.demand(t), 4),
            web.spec.replicas or 0,
            self.load.ready_pods(),
            sum(1 for pod in pods if _unbound(pod)),
            len(store.list(Node).items),
        )
        self.timeline.append(row)

    async def sample_every(self, period_s: float) -> None:
        while True:
            self.sample()
            await anyio.sleep(period_s)

    async def follow_scale(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Record each change of ``web``'s spec.replicas (relisting if the watch expires)."""
        store = self.cluster.store
        self._current = store.get(Deployment, "web", "default").spec.replicas or 0
        version = store.resource_version
        task_status.started()
        while True:
            try:
                async with store.watch(Deployment, resource_version=version) as watch:
                    async for event in watch:
                        version = event.object.metadata.resource_version
                        if event.object.metadata.name == "web":
                            self._seen(event.object)
            except ResourceExpired:
                version = store.resource_version
                self._seen(store.get(Deployment, "web", "default"))

    def _seen(self, web: Deployment) -> None:
        replicas = web.spec.replicas or 0
        if replicas != self._current:
            self.scalings.append((self.load.now(), self._current, replicas))
            self._current = replicas


async def _day(policy: str, scenario: Scenario) -> dict[str, Any]:
    """The policy's day (inside ``simulate``): the timeline, the scalings and counts."""
    load = SharedLoad("app=web", scenario.curve(), namespace="default")
    fixed = [
        orbit.Node(f"base-{i}", runtime=SimRuntime(NODE_CAPACITY, behaviour=load.behaviour))
        for i in range(scenario.fixed_nodes)
    ]
    provider = orbit.SimNodeProvider(boot_delay_s=scenario.boot_delay_s, behaviour=load.behaviour)
    pool = orbit.NodePool(
        "pool",
        orbit.Node("template", capacity=NODE_CAPACITY),
        max_nodes=scenario.pool_max_nodes,
        cost_per_hour=PRICE_PER_HOUR,
        provider=provider,
    )
    async with orbit.Cluster(nodes=fixed, node_pools=[pool], seed=scenario.seed) as cluster:
        load.bind(cluster.store, cluster.clock)
        await cluster.apply([deployment(scenario.min_replicas), hpa(scenario, POLICIES[policy])])
        recorder = Recorder(cluster, load)
        async with anyio.create_task_group() as group:
            await group.start(recorder.follow_scale)
            group.start_soon(recorder.sample_every, scenario.sample_s)
            await anyio.sleep(scenario.span_s - load.now())
            group.cancel_scope.cancel()
        autoscaler: HorizontalPodAutoscaler = await cluster.get("hpa", "web")
        events = await cluster.events(involved=autoscaler)
        rescales = sum(e.count for e in events if e.reason == "SuccessfulRescale")
        failed = sum(e.count for e in events if e.type == "Warning")
    return {
        "policy": policy,
        "timeline": recorder.timeline,
        "scalings": recorder.scalings,
        "rescale_events": rescales,
        "hpa_warnings": failed,
        "nodes_added": len(provider.created),
        "nodes_removed": len(provider.deleted),
    }


def reversals(scalings: Sequence[tuple[float, int, int]]) -> tuple[int, int]:
    """(direction reversals, those within ``FLAP_WINDOW_S`` of the previous scaling)."""
    count = quick = 0
    for (t0, a0, b0), (t1, a1, b1) in itertools.pairwise(scalings):
        if (b0 > a0) != (b1 > a1):
            count += 1
            quick += t1 - t0 < FLAP_WINDOW_S
    return count, quick


def summarise(day: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The policy's row: integrals over the sampled timeline, counts over the scalings."""
    timeline = day["timeline"]
    dt = scenario.sample_s
    limit = scenario.above_cores
    above = sum(dt for _, demand, _, ready, _, _ in timeline if demand / max(1, ready) > limit)
    node_hours = sum(row[5] for row in timeline) * dt / 3600
    flips, flaps = reversals(day["scalings"])
    return {
        "policy": day["policy"],
        "above_target_s": above,
        "above_target_share": above / (len(timeline) * dt),
        "rescale_events": day["rescale_events"],
        "replica_changes": len(day["scalings"]),
        "reversals": flips,
        "flaps": flaps,
        "pod_hours": round(sum(row[2] for row in timeline) * dt / 3600, 2),
        "node_hours": round(node_hours, 2),
        "cost": round(node_hours * PRICE_PER_HOUR, 3),
        "pending_pod_s": sum(row[4] for row in timeline) * dt,
        "max_replicas": max(row[2] for row in timeline),
        "max_nodes": max(row[5] for row in timeline),
        "nodes_added": day["nodes_added"],
        "nodes_removed": day["nodes_removed"],
        "hpa_warnings": day["hpa_warnings"],
    }


def run_policy(policy: str, scenario: Scenario) -> dict[str, Any]:
    """Simulate one policy's day; the day, its summary row and the wall time."""
    began = time.perf_counter()
    day = simulate(_day, policy, scenario, seed=scenario.seed)
    day["wall_s"] = round(time.perf_counter() - began, 2)
    day["summary"] = summarise(day, scenario) | {"wall_s": day["wall_s"]}
    return day


def run_all(policies: Sequence[str], scenario: Scenario, jobs: int) -> list[dict[str, Any]]:
    """Every policy's day, ``jobs`` processes at a time, in the order given."""
    if jobs <= 1:
        return [run_policy(p, scenario) for p in policies]
    with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(run_policy, p, scenario) for p in policies]
        for future in concurrent.futures.as_completed(futures):
            row = future.result()["summary"]
            print(f"  {row['policy']}: {row['wall_s']:.1f} s wall", file=sys.stderr)
        return [f.result() for f in futures]


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


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    """A markdown table of the summary rows."""
    print("| " + " | ".join(head for head, _, _ in TABLE) + " |")
    print("|" + "|".join(" --- " for _ in TABLE) + "|")
    for row in rows:
        values = {**row, "nodes": f"{row['nodes_added']}/{row['nodes_removed']}"}
        print("| " + " | ".join(fmt.format(values[key]) for _, key, fmt in TABLE) + " |")


def plot(days: Sequence[dict[str, Any]], scenario: Scenario, path: Path) -> None:
    """One panel per policy over the day in hours: the load as the pods it needs at the
    target (shaded), the replicas and ready pods (left axis), the nodes (right axis)."""
    try:
        import matplotlib  # noqa: PLC0415 - optional

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print(f"matplotlib is not installed: no plot written to {path}", file=sys.stderr)
        return
    figure, axes = plt.subplots(
        len(days), 1, figsize=(12, 2.6 * len(days)), sharex=True, squeeze=False
    )
    for axis, day in zip(axes[:, 0], days, strict=True):
        _panel(axis, day, scenario)
    axes[-1, 0].set_xlabel("hour of the simulated day")
    axes[-1, 0].set_xlim(0, scenario.hours)
    figure.suptitle("orbit what-if: HPA + node pool over a simulated day (same seeded load)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    print(f"plot written to {path}", file=sys.stderr)


def _panel(axis: Any, day: dict[str, Any], scenario: Scenario) -> None:
    t, demand, replicas, ready, _, nodes = zip(*day["timeline"], strict=True)
    hours = [x / 3600 for x in t]
    per_pod = TARGET_UTILIZATION / 100 * REQUEST_MILLIS / 1000
    need = [cores / per_pod for cores in demand]
    load = "load (pods at 60 %)"
    axis.fill_between(hours, need, color="tab:orange", alpha=0.25, lw=0, label=load)
    axis.step(hours, replicas, where="post", color="tab:blue", lw=1.0, label="replicas")
    axis.step(hours, ready, where="post", color="tab:green", lw=0.7, alpha=0.8, label="ready")
    axis.set_ylim(0, scenario.max_replicas * 1.3)
    axis.set_ylabel("pods")
    right = axis.twinx()
    right.step(hours, nodes, where="post", color="tab:red", lw=1.2, label="nodes")
    right.set_ylim(0, (scenario.fixed_nodes + scenario.pool_max_nodes) * 1.3)
    right.set_ylabel("nodes", color="tab:red")
    s = day["summary"]
    axis.set_title(
        f"{day['policy']}: {s['above_target_s'] / 60:.0f} min above target, "
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


def _compact(text: str) -> str:
    """JSON with each innermost list of numbers on one line."""
    return re.sub(r"\[\s+([-\d.,\s]+?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]", text)


def write_json(path: Path, days: Sequence[dict[str, Any]], scenario: Scenario, wall: float) -> None:
    """The summary rows, the scenario and each day's timeline every 5 minutes."""
    every = max(1, round(300 / scenario.sample_s))
    payload = {
        "benchmark": "autoscaling",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "scenario": attrs.asdict(scenario),
        "policies": POLICIES,
        "wall_s": round(wall, 1),
        "rows": [day["summary"] for day in days],
        "timeline_columns": Recorder.COLUMNS,
        "timelines": {d["policy"]: d["timeline"][::every] for d in days},
        "scalings": {d["policy"]: d["scalings"] for d in days},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_compact(json.dumps(payload, indent=2)) + "\n")
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
    print_table([day["summary"] for day in days])
    each = ", ".join(f"{d['policy']} {d['wall_s']:.1f} s" for d in days)
    print(f"\nwall {wall:.1f} s ({args.jobs} processes); per policy: {each}")
    write_json(args.json, days, scenario, wall)
    if args.plot is not None:
        plot(days, scenario, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
