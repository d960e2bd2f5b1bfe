"""The node-pool autoscaler's scale-up decision time, on the wall clock.

Run ``python benchmarks/nodepool.py`` (a minute or two on 2 cores) or ``--quick`` for a
smoke run. Prints a table and writes ``benchmarks/results/nodepool.json``.

A real-time ``orbit.Cluster`` (not the simulator: every step costs what it costs) with
``--existing`` full nodes and a node pool of simulated 4-cpu nodes (no boot delay).
A Deployment of P pods that fit nowhere is applied; the benchmark watches the pods and
the events and measures, per pod, the wall time from the scheduler marking it
unschedulable (``PodScheduled=False``, seen on the watch) to the node-pool
autoscaler's ``TriggeredScaleUp`` event for it (seen on the watch) — the
decision the issue asks to take within 1 s (cluster-autoscaler's SLO is 30 s) — and
the time until every pod runs on the new nodes. The planning runs orbit's real
scheduler over the existing nodes plus template nodes, so the decision time grows
with both.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

import orbit
from _bench import Row, latencies, write_results
from orbit.api import Event, Pod

RESULTS = Path(__file__).parent / "results" / "nodepool.json"
POOL_CAPACITY = {"cpu": "4", "memory": "16Gi"}


def deployment(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "burst"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "burst"}},
            "template": {
                "metadata": {"labels": {"app": "burst"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "sim",
                            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }


def _unschedulable(pod: Pod) -> bool:
    cond = pod.status.condition("PodScheduled")
    return cond is not None and cond.status == "False" and cond.reason == "Unschedulable"


async def one_run(existing: int, pods: int, timeout_s: float) -> Row:
    """One burst of ``pods`` onto a cluster of ``existing`` full nodes and a pool."""
    # Existing nodes have 500m: a 1-cpu pod fits none of them, but the planner still
    # tries them all (with the scheduler's filters) before it reaches for templates.
    nodes = [
        orbit.Node(f"full-{i}", runtime=orbit.SimRuntime({"cpu": "500m", "memory": "2Gi"}))
        for i in range(existing)
    ]
    pool = orbit.NodePool(
        "pool",
        orbit.Node("template", capacity=POOL_CAPACITY),
        max_nodes=pods,  # never the limit: 4 pods per node
    )
    unschedulable_at: dict[str, float] = {}
    triggered_at: dict[str, float] = {}
    async with orbit.Cluster(nodes=nodes, node_pools=[pool], service_proxy=False) as cluster:

        async def watch_pods() -> None:
            async with cluster.watch("pods") as watch:
                async for event in watch:
                    pod = event.object
                    name = pod.metadata.name
                    if name not in unschedulable_at and _unschedulable(pod):
                        unschedulable_at[name] = time.perf_counter()

        async def watch_events() -> None:
            async with cluster.watch("events") as watch:
                async for event in watch:
                    ev: Event = event.object
                    if ev.reason == "TriggeredScaleUp":
                        triggered_at.setdefault(ev.involved_object.name, time.perf_counter())

        start = time.perf_counter()
        async with anyio.create_task_group() as group:
            group.start_soon(watch_pods)
            group.start_soon(watch_events)
            await anyio.lowlevel.checkpoint()
            await cluster.apply(deployment(pods))
            with anyio.fail_after(timeout_s):
                while True:
                    running = [
                        p
                        for p in await cluster.list("pods", selector="app=burst")
                        if p.status.phase == "Running"
                    ]
                    if len(running) == pods:
                        break
                    await anyio.sleep(0.05)
            all_running_s = time.perf_counter() - start
            group.cancel_scope.cancel()
        added = [n for n in await cluster.list("nodes") if n.metadata.name.startswith("pool-")]
    decisions = [
        triggered_at[name] - unschedulable_at[name]
        for name in triggered_at
        if name in unschedulable_at
    ]
    return {
        "existing_nodes": existing,
        "pods": pods,
        "nodes_added": len(added),
        "unschedulable_pods": len(unschedulable_at),
        "triggering_pods": len(triggered_at),
        "decision": latencies(decisions),
        "all_running_s": all_running_s,
    }


async def main(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for existing, pods in args.cases:
        for run in range(args.runs):
            row = await one_run(existing, pods, args.timeout)
            row["run"] = run
            rows.append(row)
            d = row["decision"]
            print(
                f"  {existing} nodes, {pods} pods: decision p50 {d['p50_s'] * 1000:.0f} ms, "
                f"({row['triggering_pods']} of {row['unschedulable_pods']} unschedulable pods), "
                f"max {d['max_s'] * 1000:.0f} ms; all running {row['all_running_s']:.2f} s",
                file=sys.stderr,
            )
    return rows


def print_table(rows: list[Row]) -> None:
    print(
        "\n| existing nodes | pending pods | nodes added | decision p50 | decision max "
        "| all running |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        d = row["decision"]
        print(
            f"| {row['existing_nodes']:,} | {row['pods']:,} | {row['nodes_added']} "
            f"| {d['p50_s'] * 1000:.0f} ms | {d['max_s'] * 1000:.0f} ms "
            f"| {row['all_running_s']:.2f} s |"
        )


def parse_case(text: str) -> tuple[int, int]:
    existing, _, pods = text.partition("x")
    return int(existing), int(pods)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        type=parse_case,
        nargs="+",
        default=[(0, 1), (0, 100), (100, 100), (1000, 400)],
        help="EXISTINGxPODS cases (existing full nodes, pending pods)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small cases, one run")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.cases, args.runs = [(0, 1), (20, 20)], 1
    rows = anyio.run(main, args)
    print_table(rows)
    write_results(args.json, "nodepool", rows, cases=[list(c) for c in args.cases])
