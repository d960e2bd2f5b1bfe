"""Placement quality: every strategy of ``orbit.scheduling.pack`` on public instances.

Sets (the data is in ``benchmarks/data``, see its README; ``--data`` reads the same
layout elsewhere):

- ``falkenauer-u``, ``falkenauer-t``, ``scholl-1``, ``scholl-2``, ``scholl-3``: 1-D bin
  packing (BPPLIB) with proven optima;
- ``vbp-panigrahy-1``, ``vbp-panigrahy-7``, ``vbp-panigrahy-9``, ``vbp-new-4``: vector
  bin packing in 3, 5 and 10 dimensions with optima (Mommessin et al. 2024);
- ``openb``: the Alibaba GPU trace 2023, seeded samples of 250 to 4,000 pods and all
  8,152, packed at once onto its 1,523 nodes by cpu, memory and GPU; no optimum is
  known, so strategies are compared with ``best-fit`` and with the proved lower bound.

For each set and strategy the table gives the instances, mean nodes used / optimum
(or / best-fit, and / lower bound for the trace), the share of instances at the
optimum (or using fewer nodes than best-fit), the share *proved* optimal, and the mean
and largest wall-clock seconds per instance. Targets from the scheduler issue:
``optimal`` at the optimum on >= 95 % of the Falkenauer and Scholl instances within
2 s each, and fewer nodes than ``best-fit`` on trace workloads.

Usage: ``python benchmarks/placement.py [--sets ...] [--strategies ...]
[--time-limit 2.0] [--limit N] [--seed 0] [--data PATH] [--json PATH] [--plot PATH]``.
``--limit`` keeps N instances per set, spread over the set (a CI smoke run).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from orbit.scheduling._pack import pack
from orbit.scheduling._strategies import strategies

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "placement.json"
PLOT = HERE.parent / "docs" / "img" / "placement.png"
BPP_SETS = {
    "falkenauer-u": "Falkenauer_U",
    "falkenauer-t": "Falkenauer_T",
    "scholl-1": "Scholl_1",
    "scholl-2": "Scholl_2",
    "scholl-3": "Scholl_3",
}
VBP_SETS = {
    "vbp-panigrahy-1": ("Panigrahy", "class1"),
    "vbp-panigrahy-7": ("Panigrahy", "class7"),
    "vbp-panigrahy-9": ("Panigrahy", "class9"),
    "vbp-new-4": ("New", "class4"),
}
TRACE_SAMPLES = [(250, 0), (250, 1), (500, 0), (500, 1), (1000, 0), (1000, 1), (2000, 0),
                 (2000, 1), (4000, 0), (4000, 1), (None, 0)]  # fmt: skip
TARGET_SETS = ("falkenauer-u", "falkenauer-t", "scholl-1", "scholl-2", "scholl-3")

Resources = list[dict[str, Any]]


@attrs.frozen
class Instance:
    """One packing problem: requests, node capacities and the optimum if known."""

    name: str
    requests: Resources
    capacities: Resources
    optimum: int | None


def spread_sample(items: list[Any], limit: int | None) -> list[Any]:
    """``limit`` items evenly spread over ``items`` (all of them without a limit)."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(k * step)] for k in range(limit)]


def bpp_instances(data: Path, folder: str, limit: int | None) -> Iterator[Instance]:
    root = data / "bpp1d_bpplib"
    with (root / "optima.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["set"] == folder]
    rows = [r for r in rows if (root / r["file"]).exists()]
    for row in spread_sample(rows, limit):
        numbers = [int(v) for v in (root / row["file"]).read_text().split()]
        count, capacity, weights = numbers[0], numbers[1], numbers[2:]
        assert len(weights) == count, row["file"]
        yield Instance(
            name=row["instance"],
            requests=[{"size": w} for w in weights],
            capacities=[{"size": capacity}] * count,
            optimum=int(row["optimum"]),
        )


def vbp_instances(data: Path, benchmark: str, klass: str, limit: int | None) -> Iterator[Instance]:
    root = data / "vbp_mommessin2024"
    with (root / "optima.csv").open() as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["benchmark"] == benchmark and r["class"] == klass and r["optimum"]
        ]
    rows = [r for r in rows if (root / r["file"]).exists()]
    for row in spread_sample(rows, limit):
        numbers = [int(v) for v in (root / row["file"]).read_text().split()]
        dims = numbers[0]
        capacity = numbers[1 : 1 + dims]
        names = [f"r{d}" for d in range(dims)]
        requests: Resources = []
        at = 2 + dims
        for _ in range(numbers[1 + dims]):
            sizes, demand = numbers[at : at + dims], numbers[at + dims]
            requests += [dict(zip(names, sizes, strict=True))] * demand
            at += dims + 1
        yield Instance(
            name=row["instance"],
            requests=requests,
            capacities=[dict(zip(names, capacity, strict=True))] * len(requests),
            optimum=int(row["optimum"]),
        )


def openb_instances(data: Path, limit: int | None) -> Iterator[Instance]:
    root = data / "alibaba_gpu2023_openb"
    with (root / "openb_pod_list_default.csv").open() as handle:
        pods = list(csv.DictReader(handle))
    with (root / "openb_node_list_all_node.csv").open() as handle:
        nodes = list(csv.DictReader(handle))
    capacities: Resources = [
        {"cpu": f"{n['cpu_milli']}m", "memory": f"{n['memory_mib']}Mi", "nvidia.com/gpu": n["gpu"]}
        for n in nodes
    ]
    for size, seed in spread_sample(TRACE_SAMPLES, limit):
        chosen = pods if size is None else random.Random(seed).sample(pods, size)
        requests: Resources = []
        for pod in chosen:
            request = {"cpu": f"{pod['cpu_milli']}m", "memory": f"{pod['memory_mib']}Mi"}
            gpu = int(pod["num_gpu"]) * int(pod["gpu_milli"])
            if gpu:
                request["nvidia.com/gpu"] = f"{gpu}m"
            requests.append(request)
        label = "all" if size is None else f"{size}-s{seed}"
        yield Instance(f"openb-{label}", requests, capacities, optimum=None)


def instances_of(name: str, data: Path, limit: int | None) -> Iterator[Instance]:
    if name in BPP_SETS:
        return bpp_instances(data, BPP_SETS[name], limit)
    if name in VBP_SETS:
        return vbp_instances(data, *VBP_SETS[name], limit)
    if name == "openb":
        return openb_instances(data, limit)
    raise SystemExit(f"unknown set {name!r}; known: {', '.join(all_sets())}")


def all_sets() -> list[str]:
    return [*BPP_SETS, *VBP_SETS, "openb"]


def run_set(
    name: str, args: argparse.Namespace, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for instance in instances_of(name, args.data, args.limit):
        for strategy in args.strategies:
            result = pack(
                instance.requests,
                instance.capacities,
                strategy=strategy,
                time_limit_s=args.time_limit,
                seed=args.seed,
            )
            rows.append(
                {
                    "set": name,
                    "instance": instance.name,
                    "strategy": strategy,
                    "items": len(instance.requests),
                    "optimum": instance.optimum,
                    "nodes_used": result.nodes_used,
                    "lower_bound": result.lower_bound,
                    "proved_optimal": result.optimal,
                    "unplaced": result.unplaced,
                    "seconds": result.seconds,
                }
            )
        progress(f"{name}: {instance.name}")
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per set and strategy."""
    summary = []
    best_fit = {
        (r["set"], r["instance"]): r["nodes_used"] for r in rows if r["strategy"] == "best-fit"
    }
    keys = dict.fromkeys((r["set"], r["strategy"]) for r in rows)
    for set_name, strategy in keys:
        group = [r for r in rows if r["set"] == set_name and r["strategy"] == strategy]
        seconds = [r["seconds"] for r in group]
        entry: dict[str, Any] = {
            "set": set_name,
            "strategy": strategy,
            "instances": len(group),
            "proved_share": sum(r["proved_optimal"] for r in group) / len(group),
            "mean_seconds": statistics.fmean(seconds),
            "max_seconds": max(seconds),
            "unplaced": sum(r["unplaced"] for r in group),
        }
        if all(r["optimum"] is not None for r in group):
            entry["mean_ratio_to_optimum"] = statistics.fmean(
                r["nodes_used"] / r["optimum"] for r in group
            )
            entry["at_optimum_share"] = sum(r["nodes_used"] == r["optimum"] for r in group) / len(
                group
            )
        pairs = [(r, best_fit.get((set_name, r["instance"]))) for r in group]
        pairs = [(r, b) for r, b in pairs if b]
        if pairs:
            entry["mean_ratio_to_best_fit"] = statistics.fmean(
                r["nodes_used"] / b for r, b in pairs
            )
            entry["fewer_than_best_fit_share"] = sum(r["nodes_used"] < b for r, b in pairs) / len(
                pairs
            )
        entry["mean_ratio_to_lower_bound"] = (
            statistics.fmean(r["nodes_used"] / r["lower_bound"] for r in group if r["lower_bound"])
            if any(r["lower_bound"] for r in group)
            else None
        )
        summary.append(entry)
    return summary


def print_table(summary: list[dict[str, Any]]) -> None:
    header = (
        f"{'set':<16} {'strategy':<10} {'n':>5} {'nodes/opt':>9} {'at opt':>7} "
        f"{'nodes/bf':>8} {'<bf':>5} {'nodes/lb':>8} {'proved':>7} {'mean s':>7} {'max s':>7}"
    )
    print(header)
    print("-" * len(header))
    last = None
    for entry in summary:
        if last is not None and entry["set"] != last:
            print()
        last = entry["set"]
        print(
            f"{entry['set']:<16} {entry['strategy']:<10} {entry['instances']:>5} "
            f"{_fmt(entry.get('mean_ratio_to_optimum'), '.4f'):>9} "
            f"{_fmt(entry.get('at_optimum_share'), '.1%'):>7} "
            f"{_fmt(entry.get('mean_ratio_to_best_fit'), '.4f'):>8} "
            f"{_fmt(entry.get('fewer_than_best_fit_share'), '.0%'):>5} "
            f"{_fmt(entry.get('mean_ratio_to_lower_bound'), '.4f'):>8} "
            f"{entry['proved_share']:>7.1%} "
            f"{entry['mean_seconds']:>7.3f} {entry['max_seconds']:>7.3f}"
        )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def targets(
    summary: list[dict[str, Any]], rows: list[dict[str, Any]], limit: float
) -> dict[str, Any]:
    """The issue's two targets, measured."""
    chosen = [r for r in rows if r["strategy"] == "optimal" and r["set"] in TARGET_SETS]
    trace = [e for e in summary if e["set"] == "openb" and e["strategy"] == "optimal"]
    result: dict[str, Any] = {}
    if chosen:
        hits = [r["nodes_used"] == r["optimum"] and r["seconds"] <= limit for r in chosen]
        result["optimal_at_optimum_within_limit"] = {
            "instances": len(chosen),
            "share": sum(hits) / len(chosen),
            "target": 0.95,
        }
    if trace:
        result["optimal_fewer_nodes_than_best_fit_on_trace"] = {
            "share": trace[0].get("fewer_than_best_fit_share"),
            "mean_ratio_to_best_fit": trace[0].get("mean_ratio_to_best_fit"),
        }
    return result


def plot(summary: list[dict[str, Any]], path: Path) -> None:
    """Two panels: the share of instances each strategy solves at the optimum, and the
    mean nodes used relative to the optimum (openb: to the lower bound), clipped so the
    near-1 differences stay visible (``spread`` spreads on purpose and is far off)."""
    try:
        import matplotlib  # noqa: PLC0415 - optional

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print(f"matplotlib is not installed: no plot written to {path}", file=sys.stderr)
        return
    sets = list(dict.fromkeys(e["set"] for e in summary))
    names = list(dict.fromkeys(e["strategy"] for e in summary))
    figure, (share_axis, ratio_axis) = plt.subplots(
        2, 1, figsize=(max(8, len(sets) * 1.3), 8), sharex=True
    )
    width = 0.8 / max(1, len(names))
    ceiling = 1.6
    for k, strategy in enumerate(names):
        entries = [
            next((e for e in summary if e["set"] == name and e["strategy"] == strategy), {})
            for name in sets
        ]
        xs = [i + k * width for i in range(len(sets))]
        shares = [100 * (e.get("at_optimum_share") or 0) for e in entries]
        ratios = [
            e.get("mean_ratio_to_optimum") or e.get("mean_ratio_to_lower_bound") or 0
            for e in entries
        ]
        share_axis.bar(xs, shares, width, label=strategy)
        bars = ratio_axis.bar(xs, [min(r, ceiling) for r in ratios], width, label=strategy)
        for bar, ratio in zip(bars, ratios, strict=True):
            if ratio > ceiling:
                ratio_axis.annotate(
                    f"{ratio:.1f}", (bar.get_x() + width / 2, ceiling), ha="center",
                    va="bottom", fontsize="x-small", rotation=90,
                )  # fmt: skip
    share_axis.set_ylabel("% of instances at the optimum")
    share_axis.set_ylim(0, 105)
    share_axis.legend(fontsize="small", ncol=len(names))
    share_axis.set_title("orbit pack(): placement quality per strategy (2 s limit for optimal)")
    ratio_axis.set_ylabel("mean nodes used / optimum\n(openb: / lower bound)")
    ratio_axis.set_ylim(0.7, ceiling + 0.15)
    ratio_axis.axhline(1.0, color="black", linewidth=0.5)
    ratio_axis.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(sets))], sets, rotation=30, ha="right"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"plot written to {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=all_sets(), choices=all_sets())
    parser.add_argument("--strategies", nargs="+", default=None)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--limit", type=int, default=None, help="instances per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--replot", type=Path, default=None, help="only draw --plot from a results JSON"
    )
    args = parser.parse_args(argv)
    if args.replot is not None:
        plot(json.loads(args.replot.read_text())["summary"], args.plot or PLOT)
        return 0
    args.strategies = args.strategies or list(strategies())
    if "best-fit" not in args.strategies:
        args.strategies.append("best-fit")  # the trace's reference
    started = time.perf_counter()

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - started:7.1f}s] {line}", file=sys.stderr, flush=True)

    rows = [row for name in args.sets for row in run_set(name, args, progress)]
    summary = summarise(rows)
    print_table(summary)
    measured = targets(summary, rows, args.time_limit)
    for key, value in measured.items():
        print(f"{key}: {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "benchmark": "placement",
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "time_limit_s": args.time_limit,
        "seed": args.seed,
        "limit": args.limit,
        "targets": measured,
        "summary": summary,
        "rows": rows,
    }, indent=2))  # fmt: skip
    print(f"results written to {args.json}", file=sys.stderr)
    if args.plot is not None:
        plot(summary, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
