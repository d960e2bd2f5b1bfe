"""Scheduling throughput in kube-scheduler's terms (scheduler_perf).

5,000 nodes; 10,000 and 50,000 pods; four workloads from scheduler_perf's suite:

Every pod carries the two NoExecute tolerations (``not-ready``, ``unreachable``, 300 s)
orbit's DefaultTolerationSeconds admission adds to each pod, as Kubernetes' does.

- ``basic``: pods with cpu and memory requests (SchedulingBasic);
- ``node-affinity``: pods requiring one of the nodes' zones (SchedulingNodeAffinity);
- ``anti-affinity``: pods with required anti-affinity to their own group, topologyKey
  ``kubernetes.io/hostname`` (SchedulingPodAntiAffinity; 10 groups so that every pod
  can be placed);
- ``extended``: pods requesting an extended resource (``example.com/foo``).

Two measurements per case:

- ``framework``: the scheduling cycle alone, ``Framework.place`` over a Snapshot (pick a
  node, reserve, assume): what kube-scheduler's algorithm costs without an API server;
- ``cluster`` (``--end-to-end``): pods created in a Cluster's store and bound by the
  scheduler loop, bindings, conditions and events written back, until every pod is
  bound: what scheduler_perf measures against a real API server.

Usage: ``python benchmarks/throughput.py [--nodes 5000] [--pods 10000 50000]
[--cases basic ...] [--end-to-end] [--json PATH]``. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

import orbit
from orbit.api import (
    Affinity,
    Container,
    LabelSelector,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    NodeSpec,
    NodeStatus,
    ObjectMeta,
    Pod,
    PodAffinityTerm,
    PodAntiAffinity,
    PodSpec,
    Quantity,
    ResourceRequirements,
)
from orbit.controllers import DEFAULT_TOLERATION_SECONDS, with_default_tolerations
from orbit.scheduling import Frameworks, Snapshot

RESULTS = Path(__file__).parent / "results" / "throughput.json"
ZONES = 10
GROUPS = 10
TARGETS = {"basic": 10_000, "anti-affinity": 1_000}  # pods/s, from the issue


def make_node(index: int, case: str) -> Node:
    allocatable = {
        "cpu": Quantity("32"),
        "memory": Quantity("128Gi"),
        "pods": Quantity("110"),
    }
    if case == "extended":
        allocatable["example.com/foo"] = Quantity("20")  # room for 100,000 pods
    name = f"node-{index:05d}"
    return Node(
        metadata=ObjectMeta(
            name=name,
            labels={
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/zone": f"zone-{index % ZONES}",
            },
        ),
        spec=NodeSpec(),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


def _affinity(index: int, case: str) -> Affinity | None:
    if case == "node-affinity":
        zone = NodeSelectorRequirement(
            key="topology.kubernetes.io/zone", operator="In", values=(f"zone-{index % ZONES}",)
        )
        term = NodeSelectorTerm(match_expressions=(zone,))
        return Affinity(
            node_affinity=NodeAffinity(
                required_during_scheduling_ignored_during_execution=NodeSelector(
                    node_selector_terms=(term,)
                )
            )
        )
    if case == "anti-affinity":
        term = PodAffinityTerm(
            label_selector=LabelSelector(match_labels={"group": f"g{index % GROUPS}"}),
            topology_key="kubernetes.io/hostname",
        )
        return Affinity(
            pod_anti_affinity=PodAntiAffinity(
                required_during_scheduling_ignored_during_execution=(term,)
            )
        )
    return None


_TEMPLATES: dict[str, tuple[Container, ...]] = {}


def _containers(case: str) -> tuple[Container, ...]:
    """The case's container list, one object for every pod: scheduler_perf stamps its
    pods from one template, as a ReplicaSet does (orbit's pods then share it)."""
    if case not in _TEMPLATES:
        requests = {"cpu": Quantity("100m"), "memory": Quantity("500Mi")}
        if case == "extended":
            requests["example.com/foo"] = Quantity("1")
        resources = ResourceRequirements(requests=requests)
        _TEMPLATES[case] = (Container(name="pause", image="pause:3.10", resources=resources),)
    return _TEMPLATES[case]


def make_pod(index: int, case: str) -> Pod:
    return Pod(
        metadata=ObjectMeta(
            name=f"pod-{index:06d}", namespace="default", labels={"group": f"g{index % GROUPS}"}
        ),
        spec=PodSpec(
            containers=_containers(case),
            affinity=_affinity(index, case),
            # What orbit's DefaultTolerationSeconds admission gives every pod.
            tolerations=with_default_tolerations((), DEFAULT_TOLERATION_SECONDS),
        ),
    )


def bench_framework(nodes: int, pods: int, case: str, freeze: bool = False) -> dict[str, Any]:
    snapshot = Snapshot([make_node(i, case) for i in range(nodes)])
    framework = Frameworks(seed=0)["default-scheduler"]
    batch = [make_pod(i, case) for i in range(pods)]
    gc.collect()
    if freeze:
        gc.freeze()  # what long-running services do after loading (Instagram's gc.freeze)
    started = time.perf_counter()
    placed = sum(1 for pod in batch if framework.place(pod, snapshot).scheduled)
    seconds = time.perf_counter() - started
    if freeze:
        gc.unfreeze()
    return {"placed": placed, "seconds": seconds, "pods_per_s": pods / seconds}


def bench_framework_frozen(nodes: int, pods: int, case: str) -> dict[str, Any]:
    return bench_framework(nodes, pods, case, freeze=True)


async def _end_to_end(nodes: int, pods: int, case: str) -> dict[str, Any]:
    async with orbit.Cluster(seed=0) as cluster:
        for i in range(nodes):
            cluster.store.create(make_node(i, case))
        batch = [make_pod(i, case) for i in range(pods)]
        started = time.perf_counter()
        for pod in batch:
            cluster.store.create(pod)
        bound, idle_since = 0, time.perf_counter()
        while bound < pods:
            await anyio.sleep(0.05)
            pending = len(cluster.store.list(Pod, field_selector="spec.nodeName=").items)
            if pods - pending != bound:
                bound, idle_since = pods - pending, time.perf_counter()
            elif time.perf_counter() - idle_since > 2.0:
                break  # no progress for 2 s: the rest does not fit
        seconds = time.perf_counter() - started
    return {"placed": bound, "seconds": seconds, "pods_per_s": pods / seconds}


def bench_cluster(nodes: int, pods: int, case: str) -> dict[str, Any]:
    result: dict[str, Any] = {}

    async def main() -> None:
        result.update(await _end_to_end(nodes, pods, case))

    anyio.run(main)
    return result


def report(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'case':<16}{'mode':<11}{'nodes':>7}{'pods':>8}{'placed':>8}"
        f"{'seconds':>10}{'pods/s':>10}  target"
    )
    print("-" * 80)
    for row in rows:
        target = TARGETS.get(row["case"]) if row["mode"] != "cluster" else None
        print(
            f"{row['case']:<16}{row['mode']:<11}{row['nodes']:>7,}{row['pods']:>8,}"
            f"{row['placed']:>8,}{row['seconds']:>10.2f}{row['pods_per_s']:>10,.0f}"
            f"  {f'>= {target:,}' if target else ''}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5_000)
    parser.add_argument("--pods", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument(
        "--cases", nargs="+", default=["basic", "node-affinity", "anti-affinity", "extended"]
    )
    parser.add_argument("--end-to-end", action="store_true", help="also through a Cluster")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="also the framework with gc.freeze() after loading"
    )
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    print(
        f"orbit scheduling throughput, Python {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    rows = []
    modes: list[tuple[str, Callable[[int, int, str], dict[str, Any]]]] = [
        ("framework", bench_framework)
    ]
    if args.gc_freeze:
        modes.append(("frozen-gc", bench_framework_frozen))
    if args.end_to_end:
        modes.append(("cluster", bench_cluster))
    for case in args.cases:
        for pods in args.pods:
            for mode, bench in modes:
                row = {"case": case, "mode": mode, "nodes": args.nodes, "pods": pods}
                row.update(bench(args.nodes, pods, case))
                rows.append(row)
                print(
                    f"  {case} {mode} {pods:,} pods: {row['pods_per_s']:,.0f} pods/s",
                    file=sys.stderr,
                )
    report(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"benchmark": "throughput", "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
