"""A simulated day of a cluster: the whole control plane on SimRuntime nodes, in virtual time.

Issue 4's target: a day of a 1,000-node cluster with 20,000 pod lifecycles simulates in
under a minute, and a run is deterministic for a seed. Everything runs unmodified under
:func:`orbit.simulate`: an :class:`orbit.Cluster` (store, scheduler, one node agent per
node, the heartbeat loop, the node lifecycle controller) on ``--nodes`` nodes, each
``orbit.Node(name, runtime=SimRuntime(...))`` with its own runtime (a SimRuntime is one
simulated machine: it fails and recovers as a whole).

The workload (all draws from ``random.Random(seed)``): ``--pods`` pods arrive at
uniformly random times over the first three quarters of the day, each applied through
``cluster.apply`` with ``sim.orbit.dev/*`` annotations:

====================  =====  ===============================================================
kind                  share  behaviour
====================  =====  ===============================================================
batch                 60 %   restartPolicy Never or OnFailure, runs, exits 0: Succeeded
failing               8 %    restartPolicy Never, exit-code 1: Failed
flaky                 10 %   OnFailure, crashes (exit 1) on its first 1-3 starts: restarts,
                             then Succeeded
crashing              4 %    Never, crash-after-seconds: Failed
service               18 %   Always, runs until the driver deletes it (graceful stop)
====================  =====  ===============================================================

Start-up takes 1-10 s, run times are log-normal (median 10 minutes, capped at a tenth
of the day), service lifetimes too (median an hour, capped at a fifth of the day; they
take 0-5 s to exit on SIGTERM), so every lifecycle ends within the day. A driver
watches the pods: a job (any kind but service) that reached Succeeded or Failed is
deleted, a service when its lifetime is over; a lifecycle is complete when the pod has
left the store. Each job's last phase and restart count are checked against its kind
("unexpected outcomes"); a stopped service ends Failed (exit 143), as the kubelet
reports a pod deleted while running. The digest is the sha256 of the sorted history of
(virtual time, pod, phase, node, restarts) the driver saw: the same seed gives the
same digest, in any process.

Usage: ``python benchmarks/simulation.py [--nodes 1000] [--pods 20000] [--hours 24]
[--seed 0] [--json PATH] [--profile PATH]``. Prints a table and writes JSON
(``benchmarks/results/simulation.json``). :func:`run_day` is importable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import attrs

import orbit
from orbit.api import Pod
from orbit.errors import NotFound, ResourceExpired
from orbit.runtimes import SimRuntime
from orbit.simulation import simulate

RESULTS = Path(__file__).parent / "results" / "simulation.json"
TARGET_WALL_S = 60.0
NODE_CAPACITY = {"cpu": "16", "memory": "64Gi", "pods": "110"}
KINDS = (("batch", 0.60), ("failing", 0.08), ("flaky", 0.10), ("crashing", 0.04))
EXPECTED_PHASE = {
    "batch": "Succeeded",
    "failing": "Failed",
    "flaky": "Succeeded",
    "crashing": "Failed",
}
TERMINAL = ("Succeeded", "Failed")

HistoryEntry = tuple[float, str, str, str, int]
"""(virtual seconds, pod name, phase or "Deleted", node, restarts)."""


@attrs.frozen
class PlannedPod:
    """One pod of the workload: when it arrives, its manifest, and what should happen."""

    name: str
    kind: str
    arrival_s: float
    manifest: dict[str, Any]
    lifetime_s: float | None = None  # services: deleted this long after arrival
    crashes: int = 0  # flaky: restarts expected


def plan_workload(pods: int, span_s: float, seed: int) -> list[PlannedPod]:
    """The day's pods, sorted by arrival (see the module docstring)."""
    rng = random.Random(seed)
    cap_s = span_s / 10
    planned = []
    for i in range(pods):
        arrival = rng.uniform(0, span_s * 0.75)
        planned.append(_plan_pod(rng, f"pod-{i:05d}", arrival, cap_s))
    planned.sort(key=lambda p: (p.arrival_s, p.name))
    return planned


def _plan_pod(rng: random.Random, name: str, arrival: float, cap_s: float) -> PlannedPod:
    draw = rng.random()
    kind, edge = "service", 0.0
    for candidate, share in KINDS:
        edge += share
        if draw < edge:
            kind = candidate
            break
    run = min(cap_s, rng.lognormvariate(math.log(600), 1.0))
    sim = {"startup-seconds": f"{rng.uniform(1, 10):.3f}", "run-seconds": f"{run:.3f}"}
    policy, lifetime, crashes = "Never", None, 0
    if kind == "batch":
        policy = rng.choice(("Never", "OnFailure"))
    elif kind == "failing":
        sim["exit-code"] = "1"
    elif kind == "flaky":
        policy, crashes = "OnFailure", rng.randint(1, 3)
        sim["crash-after-seconds"] = f"{run * rng.uniform(0.05, 0.5):.3f}"
        sim["crash-count"] = str(crashes)
    elif kind == "crashing":
        sim["crash-after-seconds"] = f"{run * rng.uniform(0.05, 0.9):.3f}"
    else:
        policy, lifetime = "Always", min(2 * cap_s, rng.lognormvariate(math.log(3600), 0.7))
        sim["run-seconds"] = "forever"
        sim["shutdown-seconds"] = f"{rng.uniform(0, 5):.3f}"
    cpu = rng.choice(("100m", "250m", "500m", "1", "2"))
    memory = rng.choice(("128Mi", "256Mi", "512Mi", "1Gi", "4Gi"))
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": kind},
            "annotations": {f"sim.orbit.dev/{k}": v for k, v in sim.items()},
        },
        "spec": {
            "restartPolicy": policy,
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": "main",
                    "image": f"example/{kind}:1",
                    "resources": {"requests": {"cpu": cpu, "memory": memory}},
                }
            ],
        },
    }
    return PlannedPod(name, kind, arrival, manifest, lifetime, crashes)


class _Driver:
    """Applies the workload on time, deletes finished pods and records the history."""

    def __init__(self, cluster: orbit.Cluster, planned: list[PlannedPod]) -> None:
        self.cluster = cluster
        self.planned = {p.name: p for p in planned}
        self.history: list[HistoryEntry] = []
        self.seen: dict[str, tuple[str, str, int]] = {}  # name -> (phase, node, restarts)
        self.final: dict[str, tuple[str, int]] = {}  # name -> (last phase, restarts)
        self.deleting: set[str] = set()
        self.completed = 0
        self.all_done = anyio.Event()

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def feed(self, planned: list[PlannedPod]) -> None:
        """Apply each pod at its arrival; delete each service when its time is up."""
        actions: list[tuple[float, int, PlannedPod]] = [(p.arrival_s, 0, p) for p in planned]
        actions += [(p.arrival_s + p.lifetime_s, 1, p) for p in planned if p.lifetime_s]
        actions.sort(key=lambda a: (a[0], a[1], a[2].name))
        for at, action, pod in actions:
            if at > self.now():
                await anyio.sleep(at - self.now())
            if action == 0:
                await self.cluster.apply(pod.manifest)
            else:
                await self._delete(pod.name)

    async def _delete(self, name: str) -> None:
        if name in self.deleting:
            return
        self.deleting.add(name)
        with contextlib.suppress(NotFound):  # already gone
            await self.cluster.delete("pod", name)

    async def observe(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Follow every pod change until cancelled (relisting if the watch expires)."""
        store = self.cluster.store
        version = store.resource_version
        task_status.started()
        while True:
            try:
                async with store.watch(Pod, resource_version=version) as watch:
                    async for event in watch:
                        version = event.object.metadata.resource_version
                        await self._on_event(event.type, event.object)
            except ResourceExpired:
                listed = store.list(Pod)
                version = listed.resource_version
                present = {pod.metadata.name for pod in listed.items}
                for name in [n for n in self.seen if n not in present]:
                    await self._on_event("DELETED", None, name)
                for pod in listed.items:
                    await self._on_event("MODIFIED", pod)

    async def _on_event(self, kind: str, pod: Pod | None, name: str = "") -> None:
        if kind == "DELETED" or pod is None:
            name = name or (pod.metadata.name if pod is not None else "")
            _, node, restarts = self.seen.pop(name, ("", "", 0))
            self.history.append((self.now(), name, "Deleted", node, restarts))
            self.completed += 1
            if self.completed == len(self.planned):
                self.all_done.set()
            return
        name = pod.metadata.name
        restarts = sum(s.restart_count for s in pod.status.container_statuses)
        state = (pod.status.phase, pod.spec.node_name, restarts)
        if self.seen.get(name) != state:
            self.seen[name] = state
            self.history.append((self.now(), name, *state))
            self.final[name] = (state[0], restarts)
        if state[0] in TERMINAL and pod.metadata.deletion_timestamp is None:
            await self._delete(name)


async def _day(nodes: int, pods: int, hours: float, seed: int) -> dict[str, Any]:
    """The simulated day (runs inside ``simulate``); returns the counts."""
    span_s = hours * 3600
    planned = plan_workload(pods, span_s, seed)
    machines = [
        orbit.Node(f"node-{i:04d}", runtime=SimRuntime(NODE_CAPACITY, seed=i)) for i in range(nodes)
    ]
    loop = asyncio.get_running_loop()
    async with orbit.Cluster(nodes=machines, seed=seed) as cluster:
        driver = _Driver(cluster, planned)
        async with anyio.create_task_group() as group:
            await group.start(driver.observe)
            group.start_soon(driver.feed, planned)
            await anyio.sleep(span_s - loop.time())
            group.cancel_scope.cancel()
        simulated = loop.time()
    return _summary(driver, planned, simulated, getattr(loop, "jumps", 0))


def _summary(
    driver: _Driver, planned: list[PlannedPod], simulated_s: float, jumps: int
) -> dict[str, Any]:
    """Counts over the pods' last states; services (stopped by their deletion, so
    Failed with 143 as the kubelet reports them) are counted apart."""
    phases = {"Succeeded": 0, "Failed": 0}
    restarts = unexpected = services = 0
    for pod in planned:
        phase, count = driver.final.get(pod.name, ("", 0))
        restarts += count
        if pod.kind == "service":
            services += phase in phases
            continue
        if phase in phases:
            phases[phase] += 1
        if phase != EXPECTED_PHASE[pod.kind] or count != pod.crashes:
            unexpected += 1
    history = sorted(driver.history)
    text = "\n".join(f"{t:.6f} {name} {what} {node} {n}" for t, name, what, node, n in history)
    return {
        "lifecycles_completed": driver.completed,
        "succeeded": phases["Succeeded"],
        "failed": phases["Failed"],
        "restarts": restarts,
        "services_stopped": services,
        "unexpected_outcomes": unexpected,
        "history_entries": len(history),
        "simulated_s": simulated_s,
        "clock_jumps": jumps,
        "digest": hashlib.sha256(text.encode()).hexdigest(),
        "history": history,
    }


def run_day(
    nodes: int = 1000, pods: int = 20_000, hours: float = 24.0, seed: int = 0
) -> dict[str, Any]:
    """Simulate the day; returns the counts, the wall time and the history's digest.

    The result's ``history`` (sorted (time, pod, phase, node, restarts) entries) is
    what ``digest`` hashes; drop it before printing.
    """
    began = time.perf_counter()
    result = simulate(_day, nodes, pods, hours, seed, seed=seed)
    wall = time.perf_counter() - began
    result.update(
        nodes=nodes,
        pods=pods,
        hours=hours,
        seed=seed,
        wall_s=round(wall, 3),
        sim_s_per_wall_s=round(result["simulated_s"] / wall, 1),
    )
    return result


def report(result: dict[str, Any]) -> None:
    """Print the table, with the target."""
    rows = [
        ("nodes", f"{result['nodes']:,}", ""),
        ("pods applied", f"{result['pods']:,}", ""),
        ("virtual hours", f"{result['hours']:g}", ""),
        ("lifecycles completed", f"{result['lifecycles_completed']:,}", f"{result['pods']:,}"),
        ("jobs Succeeded", f"{result['succeeded']:,}", ""),
        ("jobs Failed", f"{result['failed']:,}", ""),
        ("services stopped by deletion", f"{result['services_stopped']:,}", ""),
        ("container restarts", f"{result['restarts']:,}", ""),
        ("unexpected outcomes", f"{result['unexpected_outcomes']:,}", "0"),
        ("clock jumps", f"{result['clock_jumps']:,}", ""),
        ("virtual s / wall s", f"{result['sim_s_per_wall_s']:,.0f}", ""),
        ("wall seconds", f"{result['wall_s']:.1f}", f"< {TARGET_WALL_S:g}"),
    ]
    print(f"{'metric':<32}{'value':>14}  target")
    print("-" * 56)
    for name, value, target in rows:
        print(f"{name:<32}{value:>14}  {target}")
    print(f"\nhistory digest (seed {result['seed']}): sha256:{result['digest']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--profile", type=Path, help="write cProfile stats here")
    args = parser.parse_args(argv)
    print(f"orbit simulated day, Python {platform.python_version()}, {os.cpu_count()} CPUs\n")
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    result = run_day(args.nodes, args.pods, args.hours, args.seed)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    result.pop("history")
    report(result)
    payload = {
        "benchmark": "simulation",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "target_wall_s": TARGET_WALL_S,
        **result,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
