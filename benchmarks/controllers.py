"""Workload controllers through a real ``orbit.Cluster``: self-heal, a rolling update
of 20 replicas, and reconcile throughput in the simulator.

Run ``python benchmarks/controllers.py`` (Docker and ProcessRuntime, then 10,000
simulated Deployments; a few minutes on 2 cores) or ``--quick`` for a smoke run;
``--runtimes process`` leaves Docker out, ``--deployments 0`` the simulator. Prints a
table and writes ``benchmarks/results/controllers.json``.

Measurements:

1. **self-heal, container killed** (Docker, ProcessRuntime): a one-replica Deployment
   whose container is killed from outside orbit (``docker kill`` / SIGKILL to the
   process): the time from the kill to the pod seen Ready again (the node agent
   notices the exit and restarts the container: restartPolicy Always, first restart
   immediate).
2. **self-heal, pod deleted**: the pod is deleted (grace 0): the time to a
   replacement pod (made by the ReplicaSet controller, scheduled, started) seen Ready.
3. **rolling update, 20 replicas**: ``set_image`` on a ready 20-replica Deployment
   (maxSurge 25 %, maxUnavailable 25 %): the time until ``rollout_status`` returns, the
   peak number of active pods (not terminating; the bound is 20 + 5 = 25) and the
   fewest ready pods seen at any pod event (the bound is 20 - 5 = 15).
4. **reconcile throughput** (simulator, virtual clock): ``--deployments`` (10,000)
   one-replica Deployments on ``--sim-nodes`` SimRuntime nodes, all ready; then every
   one is scaled to 2 at once. Reported: wall and virtual seconds until every
   Deployment reports 2 available replicas at its current generation, and the
   reconciles the Deployment and ReplicaSet controllers ran meanwhile.

Timings are wall-clock and sensitive to other load; the load average is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import attrs

import orbit
from _bench import SLEEP, Row, container, latencies, one_node_cluster, progress, write_results
from orbit.api import Deployment, Pod
from orbit.simulation import simulate

RESULTS = Path(__file__).parent / "results" / "controllers.json"


def deployment(name: str, replicas: int, runtime: str, *, marker: str = "") -> dict[str, Any]:
    # ProcessRuntime records the image "v1" (set_image makes it "v2"), Docker runs busybox
    sleeping = container(runtime, ["sh", "-c", SLEEP, marker or name], image="v1")
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [sleeping]},
            },
        },
    }


def is_ready(pod: Pod | None) -> bool:
    if pod is None or pod.metadata.deletion_timestamp is not None:
        return False
    ready = pod.status.condition("Ready")
    return ready is not None and ready.status == "True"


async def wait_pod(cluster: orbit.Cluster, selector: str, check: Callable[[Pod], bool]) -> Pod:
    """The first pod matching ``selector`` for which ``check`` holds (watch-based)."""
    listed = cluster.store.list(Pod, label_selector=selector)
    for pod in listed.items:
        if check(pod):
            return pod
    with anyio.fail_after(120):
        async with cluster.store.watch(
            Pod, label_selector=selector, resource_version=listed.resource_version
        ) as watch:
            async for event in watch:
                if event.type != "DELETED" and check(event.object):
                    return event.object
    raise AssertionError("unreachable")


async def kill_container(runtime: str, pod: Pod, marker: str) -> None:
    """Kill the pod's container from outside orbit: ``docker kill``, or SIGKILL to the
    process whose argv carries ``marker`` (waiting a moment for it to exist: a
    process container is Running from its fork, before its command is exec'd)."""
    if runtime == "docker":
        container_id = pod.status.container_statuses[0].container_id.split("://", 1)[-1]
        await anyio.run_process(["docker", "kill", container_id])
        return
    with anyio.fail_after(5):
        while True:
            pid = _find_process(marker)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                return
            await anyio.sleep(0.01)


def _find_process(marker: str) -> int | None:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"sh" and marker.encode() in argv:
            return int(entry)
    return None


async def _exists(runtime: str, marker: str) -> None:
    """Wait until the process container's command runs (a no-op for Docker)."""
    if runtime == "process":
        with anyio.fail_after(5):
            while _find_process(marker) is None:  # noqa: ASYNC110 - /proc cannot be awaited
                await anyio.sleep(0.01)


def _restarted_beyond(restarts: int) -> Callable[[Pod], bool]:
    return lambda p: is_ready(p) and p.status.container_statuses[0].restart_count > restarts


def _ready_other_than(name: str) -> Callable[[Pod], bool]:
    return lambda p: is_ready(p) and p.metadata.name != name


async def self_heal(cluster: orbit.Cluster, runtime: str, trials: int) -> list[Row]:
    kill_samples: list[float] = []
    delete_samples: list[float] = []
    for trial in range(trials):
        name = f"heal-{trial}"
        marker = f"orbit-bench-{name}"
        await cluster.apply(deployment(name, 1, runtime, marker=marker))
        await cluster.rollout_status(f"deployment/{name}", timeout_s=120)
        pod = await wait_pod(cluster, f"app={name}", is_ready)
        restarts = pod.status.container_statuses[0].restart_count
        await _exists(runtime, marker)
        began = time.perf_counter()
        await kill_container(runtime, pod, marker)
        await wait_pod(cluster, f"app={name}", _restarted_beyond(restarts))
        kill_samples.append(time.perf_counter() - began)
        victim = pod.metadata.name
        began = time.perf_counter()
        await cluster.delete("pod", victim, grace_period_s=0)
        await wait_pod(cluster, f"app={name}", _ready_other_than(victim))
        delete_samples.append(time.perf_counter() - began)
        await cluster.delete("deployment", name)
    return [
        _row("self-heal, container killed", runtime, kill_samples),
        _row("self-heal, pod deleted", runtime, delete_samples),
    ]


async def rolling_update(cluster: orbit.Cluster, runtime: str, replicas: int) -> Row:
    name = "roll"
    await cluster.apply(deployment(name, replicas, runtime))
    await cluster.rollout_status(f"deployment/{name}", timeout_s=300)
    peak, lowest = 0, replicas

    def observe() -> None:
        nonlocal peak, lowest
        pods = cluster.store.list(Pod, label_selector=f"app={name}").items
        active = [
            p
            for p in pods
            if p.metadata.deletion_timestamp is None
            and p.status.phase not in ("Succeeded", "Failed")
        ]
        peak = max(peak, len(active))
        lowest = min(lowest, sum(1 for p in active if is_ready(p)))

    async def census() -> None:
        async with cluster.store.watch(Pod, label_selector=f"app={name}") as watch:
            async for _ in watch:
                observe()

    async with anyio.create_task_group() as group:
        group.start_soon(census)
        await anyio.lowlevel.checkpoint()
        began = time.perf_counter()
        if runtime == "docker":
            # One image exists here: a new command argument makes the new template.
            await cluster.apply(deployment(name, replicas, runtime, marker="v2"))
        else:
            await cluster.set_image(f"deployment/{name}", main="v2")
        await cluster.rollout_status(f"deployment/{name}", timeout_s=600)
        took = time.perf_counter() - began
        group.cancel_scope.cancel()
    await cluster.delete("deployment", name)
    return {
        "measurement": f"rolling update, {replicas} replicas",
        "runtime": runtime,
        "samples": 1,
        "seconds": took,
        "peak_active_pods": peak,
        "surge_bound": replicas + -(-replicas * 25 // 100),
        "min_ready_pods": lowest,
        "availability_bound": replicas - replicas * 25 // 100,
    }


def _row(measurement: str, runtime: str, samples: list[float]) -> Row:
    return {
        "measurement": measurement,
        "runtime": runtime,
        **latencies(samples),
        "all_s": samples,
    }


async def bench_runtime(kind: str, args: argparse.Namespace) -> list[Row]:
    async with one_node_cluster(kind, "orbit-controllers-") as (cluster, _):
        rows = await self_heal(cluster, kind, args.trials)
        for row in rows:
            progress(row)
        rolled = await rolling_update(cluster, kind, args.replicas)
        progress(
            rolled,
            f"{rolled['seconds']:.2f} s, peak {rolled['peak_active_pods']}, "
            f"min ready {rolled['min_ready_pods']}",
        )
    return [*rows, rolled]


# -- the simulator -------------------------------------------------------------------------


def sim_deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "sim",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }


async def _converged(cluster: orbit.Cluster, names: set[str], replicas: int) -> None:
    """Until every named Deployment has ``replicas`` available at its generation."""

    def done(d: Deployment) -> bool:
        return (
            d.status.available_replicas == replicas
            and d.status.updated_replicas == replicas
            and d.status.replicas == replicas
            and d.status.observed_generation >= d.metadata.generation
            and d.spec.replicas == replicas
        )

    waiting = set(names)
    listed = cluster.store.list(Deployment)
    waiting -= {d.metadata.name for d in listed.items if done(d)}
    if not waiting:
        return
    async with cluster.store.watch(Deployment, resource_version=listed.resource_version) as watch:
        async for event in watch:
            if done(event.object):
                waiting.discard(event.object.metadata.name)
                if not waiting:
                    return


async def sim_throughput(deployments: int, nodes: int) -> Row:
    capacity = {"cpu": "256", "memory": "1024Gi", "pods": str(2 * deployments // nodes + 50)}
    node_list = [orbit.Node(f"sim-{i}", runtime=orbit.SimRuntime(capacity)) for i in range(nodes)]
    async with orbit.Cluster(nodes=node_list, seed=0) as cluster:
        names = {f"d{i:05d}" for i in range(deployments)}
        wall = time.perf_counter()
        await cluster.apply([sim_deployment(name) for name in sorted(names)])
        await _converged(cluster, names, 1)
        created_wall = time.perf_counter() - wall
        loops = [
            cluster.controller_loops[n] for n in ("deployment-controller", "replicaset-controller")
        ]
        before = sum(loop.reconciles for loop in loops)
        virtual = cluster.clock.monotonic()
        wall = time.perf_counter()
        for name in sorted(names):  # all at once: no await between the writes
            d = cluster.store.get(Deployment, name, "default")
            cluster.store.update(attrs.evolve(d, spec=attrs.evolve(d.spec, replicas=2)))
        await _converged(cluster, names, 2)
        return {
            "measurement": f"scale {deployments:,} Deployments 1 -> 2",
            "runtime": "sim",
            "deployments": deployments,
            "nodes": nodes,
            "create_wall_s": created_wall,
            "wall_s": time.perf_counter() - wall,
            "virtual_s": cluster.clock.monotonic() - virtual,
            "reconciles": sum(loop.reconciles for loop in loops) - before,
        }


# -- report ----------------------------------------------------------------------------------


def report(rows: list[Row], load: tuple[float, ...]) -> None:
    print(
        f"orbit controllers, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average before {', '.join(f'{x:.2f}' for x in load)}\n"
    )
    print(f"{'measurement':<34}{'runtime':<9}{'n':>4}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    print("-" * 74)
    for row in rows:
        if "p50_s" in row:
            print(
                f"{row['measurement']:<34}{row['runtime']:<9}{row['samples']:>4}"
                f"{row['p50_s'] * 1000:>9,.0f}{row['p99_s'] * 1000:>9,.0f}"
                f"{row['max_s'] * 1000:>9,.0f}"
            )
    print()
    for row in rows:
        if "peak_active_pods" in row:
            print(
                f"{row['runtime']}: {row['measurement']} in {row['seconds']:.2f} s; peak "
                f"{row['peak_active_pods']} active pods (bound {row['surge_bound']}), "
                f"at least {row['min_ready_pods']} ready (bound {row['availability_bound']})"
            )
        if "reconciles" in row:
            print(
                f"sim: {row['measurement']} on {row['nodes']:,} nodes: converged in "
                f"{row['wall_s']:.1f} s wall ({row['virtual_s']:.1f} s virtual), "
                f"{row['reconciles']:,} reconciles; creating them took {row['create_wall_s']:.1f} s"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runtimes", nargs="*", choices=["docker", "process"], default=["docker", "process"]
    )
    parser.add_argument("--trials", type=int, default=10, help="self-heal trials")
    parser.add_argument("--replicas", type=int, default=20, help="rolling update size")
    parser.add_argument("--deployments", type=int, default=10_000, help="0: no simulator run")
    parser.add_argument("--sim-nodes", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.deployments, args.sim_nodes = 3, 200, 20
    load = os.getloadavg()
    rows: list[Row] = []
    for kind in args.runtimes:
        rows.extend(asyncio.run(bench_runtime(kind, args)))
    if args.deployments:
        rows.append(simulate(sim_throughput, args.deployments, args.sim_nodes))
        print(f"  sim: {rows[-1]['wall_s']:.1f} s wall", file=sys.stderr)
    report(rows, load)
    write_results(args.json, "controllers", rows, load_average_before=load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
