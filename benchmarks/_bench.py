"""What the wall-clock benchmarks on real runtimes share (``startup.py``,
``controllers.py``): a one-node cluster on Docker or ProcessRuntime, containers that
run on either, latency rows (p50 / p99 / max) and the JSON results file.

A sibling module, not a package: run as ``python benchmarks/<name>.py``, Python puts
``benchmarks/`` first on ``sys.path``, so the scripts import it as ``_bench``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import orbit
from orbit.runtimes import Runtime

__all__ = [
    "IMAGE",
    "ROOT",
    "SLEEP",
    "Row",
    "container",
    "latencies",
    "make_runtime",
    "one_node_cluster",
    "progress",
    "write_results",
]

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "orbit-busybox:1"
SLEEP = 'trap "exit 0" TERM; sleep 3600 & wait'
"""Sleep for an hour, but end on SIGTERM: as a container's pid 1 a bare ``sleep``
ignores it, and every deletion would wait out the kubelet's 2 s minimum grace."""

Row = dict[str, Any]


def container(runtime: str, command: Sequence[str], *, image: str) -> dict[str, Any]:
    """A container ``main`` running ``command``: on Docker in the busybox image (never
    pulled); on ProcessRuntime ``image`` is recorded, not run."""
    spec: dict[str, Any] = {"name": "main", "command": list(command)}
    if runtime == "docker":
        spec.update(image=IMAGE, imagePullPolicy="Never")
    else:
        spec["image"] = image
    return spec


async def make_runtime(kind: str, state_dir: str) -> Runtime:
    """A ProcessRuntime keeping its state in ``state_dir``, or a DockerRuntime once the
    busybox image is built."""
    if kind == "process":
        return orbit.ProcessRuntime(state_dir)
    sys.path.insert(0, str(ROOT / "tools"))
    from busybox_image import (  # type: ignore[import-not-found]  # noqa: PLC0415 - tools/ is no package
        ensure_busybox_image,
    )

    await ensure_busybox_image()
    docker_runtime: Runtime = orbit.DockerRuntime()
    return docker_runtime


@contextlib.asynccontextmanager
async def one_node_cluster(kind: str, prefix: str) -> AsyncIterator[tuple[orbit.Cluster, Runtime]]:
    """A cluster of one node ``<kind>-0`` on a runtime of ``kind``, with the runtime;
    ProcessRuntime's state lives in a temporary directory named ``prefix...``."""
    with tempfile.TemporaryDirectory(prefix=prefix) as state_dir:
        runtime = await make_runtime(kind, state_dir)
        async with orbit.Cluster(nodes=[orbit.Node(f"{kind}-0", runtime=runtime)]) as cluster:
            yield cluster, runtime


def latencies(samples: Sequence[float]) -> Row:
    """How many samples, their median, p99 (nearest rank) and maximum, in seconds."""
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "max_s": ordered[-1],
    }


def progress(row: Row, text: str | None = None) -> None:
    """One line on stderr as a row is done: ``text``, else its p50 and p99."""
    if text is None:
        text = f"p50 {row['p50_s'] * 1000:.0f} ms, p99 {row['p99_s'] * 1000:.0f} ms"
    print(f"  {row['runtime']} {row['measurement']}: {text}", file=sys.stderr)


def write_results(path: Path, benchmark: str, rows: list[Row], **fields: Any) -> None:
    """Write the rows, with the Python version, the CPU count and ``fields``, as JSON."""
    results = {
        "benchmark": benchmark,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **fields,
        "rows": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {path}")
