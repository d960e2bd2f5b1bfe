"""``top pods`` and ``top nodes``: resource use now, summed as ``kubectl top`` shows it.

Pure functions over what the cluster reports (each running container's cpu in cores
and memory in bytes, by pod) and what the store holds (pods' nodes, nodes'
allocatable). kubectl reads metrics-server, whose cpu is in nanocores; kubectl sums a
pod's containers and prints ``Quantity.MilliValue()``, which rounds up, so a container
using any cpu shows at least 1m. A node's use here is the sum of its pods' (orbit has
no kubelet summary of system daemons), and its percentages are kubectl's: use over
the node's *allocatable*, truncated to a whole percent
(``kubectl/pkg/metricsutil/metrics_printer.go``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orbit.api import Node

from ._target import UsageLike

__all__ = ["node_rows", "pod_rows"]

Usage = Mapping[tuple[str, str], Mapping[str, UsageLike]]


def _nanocores(containers: Mapping[str, UsageLike]) -> int:
    return sum(round(u.cpu_cores * 1e9) for u in containers.values())


def _millis(nanocores: int) -> int:
    return -(-nanocores // 1_000_000)  # MilliValue() rounds up


def pod_rows(usage: Usage, namespace: str | None) -> list[dict[str, Any]]:
    """One row per pod with running containers (``namespace`` None: all), sorted by
    namespace then name: ``{namespace, pod, cpu_millis, memory_bytes}``."""
    return [
        {
            "namespace": ns,
            "pod": pod,
            "cpu_millis": _millis(_nanocores(containers)),
            "memory_bytes": sum(u.memory_bytes for u in containers.values()),
        }
        for (ns, pod), containers in sorted(usage.items())
        if namespace is None or ns == namespace
    ]


def _percent(used: int, allocatable: int) -> int | None:
    return int(used / allocatable * 100) if allocatable > 0 else None


def node_rows(
    nodes: Iterable[Node], pod_nodes: Mapping[tuple[str, str], str], usage: Usage
) -> list[dict[str, Any]]:
    """One row per node, sorted by name: ``{node, cpu_millis, cpu_percent,
    memory_bytes, memory_percent}``; ``pod_nodes`` maps (namespace, pod) to its node.
    A percentage is None when the node declares no allocatable amount of it."""
    nanocores: dict[str, int] = {}
    memory: dict[str, int] = {}
    for key, containers in usage.items():
        where = pod_nodes.get(key)
        if where is None:
            continue
        nanocores[where] = nanocores.get(where, 0) + _nanocores(containers)
        memory[where] = memory.get(where, 0) + sum(u.memory_bytes for u in containers.values())
    rows = []
    for node in sorted(nodes, key=lambda n: n.metadata.name):
        name = node.metadata.name
        allocatable = node.status.allocatable
        cpu = _millis(nanocores.get(name, 0))
        mem = memory.get(name, 0)
        cpu_total = allocatable["cpu"].milli_value() if "cpu" in allocatable else 0
        mem_total = allocatable["memory"].int_value() if "memory" in allocatable else 0
        rows.append(
            {
                "node": name,
                "cpu_millis": cpu,
                "cpu_percent": _percent(cpu, cpu_total),
                "memory_bytes": mem,
                "memory_percent": _percent(mem, mem_total),
            }
        )
    return rows
