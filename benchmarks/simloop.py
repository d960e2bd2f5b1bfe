"""Benchmark of virtual time: simulated seconds per wall second on orbit's SimulationLoop.

Run ``python benchmarks/simloop.py`` (a virtual day; a few minutes on 2 cores) or with
``--hours 1`` for a quick check. Prints a table and writes
``benchmarks/results/simloop.json``.

Scenarios, each a fresh :func:`orbit.simulate` run:

1. **aligned sleepers**: N tasks (``--tasks``, default 1,000) each looping
   ``anyio.sleep(10)`` for the virtual span: every 10 s all wake at the same instant,
   so the clock jumps once per round and the cost is the wakeups.
2. **staggered sleepers**: the same, with task ``i`` offset by ``i * 10 / N`` seconds,
   so every wakeup is its own jump: the loop's worst case (periodic loops that drifted
   apart, like node heartbeats).
3. **sim pods**: ``--pods`` (default 20,000) pod lifecycles spread over the span on
   ``--nodes`` (default 1,000) SimRuntime nodes, driven straight through the runtime
   (start with a 1-5 s startup, wait for a run of about an hour, remove): the
   runtime's own cost, without the control plane.

Reported per scenario: wall seconds, simulated seconds per wall second, task wakeups
per wall second and clock jumps. The issue's target (a day of a 1,000-node cluster with
20,000 pod lifecycles in under a minute) is met by the whole control plane in
``benchmarks/simulation.py``; this script shows the budget the loop leaves for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
from pathlib import Path
from typing import Any

import anyio

from orbit.runtimes import ContainerLaunch
from orbit.runtimes._sim import SimRuntime
from orbit.simulation import SimulationLoop, simulate

RESULTS = Path(__file__).parent / "results" / "simloop.json"
PERIOD_S = 10.0


def _loop() -> SimulationLoop:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, SimulationLoop)
    return loop


async def sleepers(tasks: int, span_s: float, staggered: bool) -> dict[str, int]:
    """N tasks each sleeping PERIOD_S in a loop until ``span_s``; counts wakeups."""
    loop = _loop()
    wakeups = 0

    async def sleeper(i: int) -> None:
        nonlocal wakeups
        if staggered:
            await anyio.sleep(i * PERIOD_S / tasks)
        while loop.time() < span_s:
            await anyio.sleep(PERIOD_S)
            wakeups += 1

    async with anyio.create_task_group() as tg:
        for i in range(tasks):
            tg.start_soon(sleeper, i)
    return {"wakeups": wakeups, "jumps": loop.jumps}


async def sim_pods(pods: int, nodes: int, span_s: float, seed: int) -> dict[str, int]:
    """``pods`` lifecycles arriving uniformly over the span on ``nodes`` SimRuntimes."""
    loop = _loop()
    rng = random.Random(seed)
    runtimes = [SimRuntime(seed=n) for n in range(nodes)]
    completed = 0

    async def lifecycle(i: int, arrival: float, startup: float, run: float) -> None:
        nonlocal completed
        await anyio.sleep(arrival)
        annotations = {
            "sim.orbit.dev/startup-seconds": f"{startup:.3f}",
            "sim.orbit.dev/run-seconds": f"{run:.3f}",
        }
        launch = ContainerLaunch(
            pod_uid=f"uid-{i}", pod_name=f"pod-{i}", namespace="default", name="main",
            annotations=annotations,
        )  # fmt: skip
        runtime = runtimes[i % nodes]
        report = await runtime.start(launch)
        await runtime.wait(report.id)
        await runtime.remove(report.id)
        completed += 1

    async with anyio.create_task_group() as tg:
        for i in range(pods):
            arrival = rng.uniform(0, span_s * 0.9)
            tg.start_soon(lifecycle, i, arrival, rng.uniform(1, 5), rng.expovariate(1 / 3600))
    return {"wakeups": 3 * pods, "jumps": loop.jumps, "completed": completed}


def measure(name: str, main: Any, *args: Any) -> dict[str, Any]:
    """Run one scenario under ``simulate`` and time it on the wall clock."""
    began = time.perf_counter()
    counts: dict[str, int] = simulate(main, *args)
    wall = time.perf_counter() - began
    return {"scenario": name, "wall_s": round(wall, 3), **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="sleeping tasks")
    parser.add_argument("--hours", type=float, default=24.0, help="virtual span in hours")
    parser.add_argument("--pods", type=int, default=20_000, help="sim pod lifecycles")
    parser.add_argument("--nodes", type=int, default=1000, help="SimRuntime nodes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    args = parser.parse_args(argv)
    span = args.hours * 3600
    rows = [
        measure("aligned sleepers", sleepers, args.tasks, span, False),
        measure("staggered sleepers", sleepers, args.tasks, span, True),
        measure("sim pods", sim_pods, args.pods, args.nodes, span, args.seed),
    ]
    for row in rows:
        row["simulated_s"] = span
        row["sim_s_per_wall_s"] = round(span / row["wall_s"], 1)
        row["wakeups_per_wall_s"] = round(row["wakeups"] / row["wall_s"])
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs; virtual span {span:.0f} s")
    header = (
        f"{'scenario':<20} {'wall s':>8} {'sim s / wall s':>15} {'wakeups/s':>11} {'jumps':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['scenario']:<20} {row['wall_s']:>8.2f} {row['sim_s_per_wall_s']:>15,.0f} "
            f"{row['wakeups_per_wall_s']:>11,} {row['jumps']:>10,}"
        )
    results = {
        "benchmark": "simloop",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "tasks": args.tasks,
        "period_s": PERIOD_S,
        "pods": args.pods,
        "nodes": args.nodes,
        "scenarios": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
