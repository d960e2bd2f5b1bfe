"""Benchmark of the in-memory store: creates, indexed lists, watch fan-out, memory.

Run ``python benchmarks/store.py`` (100,000 pods; about a minute) or with
``--pods 2000`` for a quick check. Prints a table and writes
``benchmarks/results/store.json``.

Phases, each on a fresh store:

1. **create**: build N Pods (one container with cpu/memory requests, labels
   ``app=app-{i % 100}`` and ``shard=s-{i % 10}``, bound to ``node-{i % 1000}``) and
   time ``store.create`` alone.
2. **list**: p50 / p99 latency of label- and field-selector lists over the N pods,
   from the 0.1 % a node agent asks for to the full list; selective ones are answered
   from indexes, ``app!=app-7`` has to scan.
3. **watch**: W watchers, each a task consuming its own watch, while a creator makes
   N pods and yields to the event loop every ``--yield-every`` creates; reports the
   event delivery rate summed over the watchers (and the creates/s meanwhile).
4. **memory**: traced (``tracemalloc``) bytes per stored pod, everything included:
   the pod objects, the store's keys, indexes and event history.

Targets (issue 2, on a 2-core machine): >= 20,000 creates/s; a selector list over
100k pods in < 50 ms; <= 4 KiB per stored pod.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

from orbit.api import Container, ObjectMeta, Pod, PodSpec, Quantity, ResourceRequirements
from orbit.store import MemoryStore

RESULTS = Path(__file__).parent / "results" / "store.json"
TARGET_CREATES_PER_S = 20_000
TARGET_LIST_MS = 50.0
TARGET_BYTES_PER_POD = 4096


def make_pod(i: int) -> Pod:
    """A pod as a manifest or a controller would make it: every part its own object."""
    requests = {"cpu": Quantity.parse("100m"), "memory": Quantity.parse("128Mi")}
    return Pod(
        metadata=ObjectMeta(
            name=f"pod-{i}",
            namespace=f"ns-{i % 10}",
            labels={"app": f"app-{i % 100}", "shard": f"s-{i % 10}"},
        ),
        spec=PodSpec(
            containers=(
                Container(
                    name="main",
                    image="registry.local/app:1.0",
                    resources=ResourceRequirements(requests=requests),
                ),
            ),
            node_name=f"node-{i % 1000}",
        ),
    )


def bench_create(pods: int) -> tuple[MemoryStore, dict[str, float]]:
    objects = [make_pod(i) for i in range(pods)]
    store = MemoryStore(seed=1)
    start = time.perf_counter()
    for obj in objects:
        store.create(obj)
    elapsed = time.perf_counter() - start
    return store, {"pods": pods, "seconds": elapsed, "creates_per_s": pods / elapsed}


LIST_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("field spec.nodeName=node-7 (0.1%)", {"field_selector": "spec.nodeName=node-7"}),
    ("label app=app-7 (1%)", {"label_selector": "app=app-7"}),
    ("label app=app-7 in ns-7 (1%)", {"label_selector": "app=app-7", "namespace": "ns-7"}),
    ("label app=app-7,shard=s-7 (1%)", {"label_selector": "app=app-7,shard=s-7"}),
    (
        "label app in (10 values) (10%)",
        {"label_selector": "app in (" + ",".join(f"app-{i}" for i in range(10)) + ")"},
    ),
    ("label shard=s-3 (10%)", {"label_selector": "shard=s-3"}),
    ("label app!=app-7 (99%, scan)", {"label_selector": "app!=app-7"}),
    ("everything (100%)", {}),
]


def bench_list(store: MemoryStore, repeat: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for name, query in LIST_QUERIES:
        store.list(Pod, **query)  # warm up (builds the sorted-key cache for full lists)
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            found = store.list(Pod, **query)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        results[name] = {
            "matches": len(found.items),
            "p50_ms": statistics.median(samples),
            "p99_ms": samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))],
        }
    return results


async def _watch_fanout(pods: int, watchers: int, yield_every: int) -> dict[str, float]:
    objects = [make_pod(i) for i in range(pods)]
    store = MemoryStore(seed=1)
    received = [0] * watchers
    finished: list[float] = []

    async def consume(index: int) -> None:
        async with store.watch(Pod) as watch:
            async for _event in watch:
                received[index] += 1
                if received[index] == pods:
                    break
        finished.append(time.perf_counter())

    async with anyio.create_task_group() as tg:
        for index in range(watchers):
            tg.start_soon(consume, index)
        await anyio.lowlevel.checkpoint()  # let every watcher subscribe and wait
        start = time.perf_counter()
        for i, obj in enumerate(objects, 1):
            store.create(obj)
            if i % yield_every == 0:
                await anyio.lowlevel.checkpoint()
        created = time.perf_counter()
    elapsed = max(finished) - start
    total = sum(received)
    return {
        "watchers": watchers,
        "yield_every": yield_every,
        "events_delivered": total,
        "events_expected": pods * watchers,
        "seconds": elapsed,
        "events_per_s": total / elapsed,
        "creates_per_s_while_watched": pods / (created - start),
    }


def bench_watch(pods: int, watchers: int, yield_every: int) -> dict[str, float]:
    return anyio.run(_watch_fanout, pods, watchers, yield_every)


def bench_memory(pods: int) -> dict[str, float]:
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    objects = [make_pod(i) for i in range(pods)]
    built = tracemalloc.get_traced_memory()[0] - baseline
    store = MemoryStore(seed=1)
    for obj in objects:
        store.create(obj)
    del objects, obj
    gc.collect()
    stored = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    assert len(store.list(Pod).items) == pods
    return {
        "bytes_per_pod_as_built": built / pods,
        "bytes_per_stored_pod": stored / pods,
        "store_overhead_bytes_per_pod": (stored - built) / pods,
    }


def report(results: dict[str, Any]) -> None:
    create, lists, watch, memory = (results[k] for k in ("create", "list", "watch", "memory"))
    print(
        f"orbit store benchmark: {create['pods']:,} pods, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    rows = [
        ("creates/s", f"{create['creates_per_s']:,.0f}", ">= 20,000"),
        ("creates/s while watched", f"{watch['creates_per_s_while_watched']:,.0f}", ""),
        (
            f"watch delivery, events/s ({watch['watchers']} watchers)",
            f"{watch['events_per_s']:,.0f}",
            "",
        ),
        (
            "events delivered / expected",
            f"{watch['events_delivered']:,} / {watch['events_expected']:,}",
            "all",
        ),
        (
            "bytes per stored pod, all included",
            f"{memory['bytes_per_stored_pod']:,.0f}",
            "<= 4,096",
        ),
        ("  the pod objects as built", f"{memory['bytes_per_pod_as_built']:,.0f}", ""),
        ("  store bookkeeping and indexes", f"{memory['store_overhead_bytes_per_pod']:,.0f}", ""),
    ]
    print(f"{'metric':<46} {'value':>21}  target")
    print("-" * 80)
    for metric, value, target in rows:
        print(f"{metric:<46} {value:>21}  {target}")
    print()
    print(f"{'list (pods matching)':<46} {'items':>9} {'p50 ms':>9} {'p99 ms':>9}  target")
    print("-" * 86)
    for name, row in lists.items():
        target = "< 50 ms" if "(1%)" in name else ""
        print(
            f"{name:<46} {row['matches']:>9,} {row['p50_ms']:>9.2f} {row['p99_ms']:>9.2f}  {target}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--yield-every", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=50, help="lists per query")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a target is missed (off by default: timings are for reading)",
    )
    args = parser.parse_args(argv)

    store, create = bench_create(args.pods)
    lists = bench_list(store, args.repeat)
    del store
    gc.collect()
    watch = bench_watch(args.pods, args.watchers, args.yield_every)
    gc.collect()
    memory = bench_memory(args.pods)
    selective = [row["p50_ms"] for name, row in lists.items() if "(1%)" in name]
    results = {
        "benchmark": "store",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "pods": args.pods,
        "create": create,
        "list": lists,
        "watch": watch,
        "memory": memory,
        "targets_met": {
            "creates_per_s": create["creates_per_s"] >= TARGET_CREATES_PER_S,
            "selective_list_ms": max(selective) < TARGET_LIST_MS,
            "bytes_per_pod": memory["bytes_per_stored_pod"] <= TARGET_BYTES_PER_POD,
            "watch_complete": watch["events_delivered"] == watch["events_expected"],
        },
    }
    report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    if args.check and not all(results["targets_met"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
