"""Read the Docker engine's JSON back into orbit's terms: reports, usage, resources.

Pure functions over what ``GET /containers/{id}/json``, ``/stats`` and ``/info``
return; :mod:`orbit.runtimes._docker` fetches, these interpret. Kept free of aiodocker
so they are unit-tested on recorded engine answers.

Container states follow the kubelet's reading of Docker: ``created`` is waiting (or
terminated with ``ContainerCannotRun`` when the engine recorded a start error),
``running`` / ``paused`` / ``restarting`` are running, anything else is terminated with
``OOMKilled``, ``Completed`` (exit 0) or ``Error``. A process killed by signal *n* exits
``128 + n`` as the engine reports it (137 after SIGKILL, 143 after SIGTERM), and the
report's ``signal`` is inferred from that, as nothing else records it.
"""

from __future__ import annotations

import re
import signal as signals
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ._docker_config import PORTS_LABEL, decode_ports
from ._protocol import CONTAINER_LABEL, POD_UID_LABEL, ContainerReport, NodeResources

__all__ = [
    "cpu_cores",
    "engine_time",
    "gpu_driver",
    "node_resources",
    "report_from_inspect",
    "working_set_bytes",
]

_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")
_ZERO_YEAR = 1  # the engine's "never": 0001-01-01T00:00:00Z
_MAX_SIGNAL = int(signals.SIGRTMAX)


def engine_time(text: str | None) -> float | None:
    """Epoch seconds for an engine timestamp (RFC 3339 with nanoseconds), None for
    the engine's zero time or anything unparsable."""
    match = _TIME.match(text or "")
    if match is None:
        return None
    seconds, fraction, zone = match.groups()
    stamp = datetime.fromisoformat(seconds + ("+00:00" if zone in (None, "Z") else zone))
    if stamp.year <= _ZERO_YEAR:
        return None
    if stamp.tzinfo is None:  # pragma: no cover - the pattern always supplies a zone
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp() + (float("0." + fraction) if fraction else 0.0)


def _terminated_reason(state: Mapping[str, Any], exit_code: int) -> str:
    if state.get("OOMKilled"):
        return "OOMKilled"
    if state.get("Error"):
        return "ContainerCannotRun"
    return "Completed" if exit_code == 0 else "Error"


def report_from_inspect(data: Mapping[str, Any]) -> ContainerReport:
    """A :class:`ContainerReport` for one ``GET /containers/{id}/json`` answer."""
    state: Mapping[str, Any] = data.get("State") or {}
    config: Mapping[str, Any] = data.get("Config") or {}
    labels: dict[str, str] = dict(config.get("Labels") or {})
    status = str(state.get("Status", ""))
    error = str(state.get("Error") or "")
    common: dict[str, Any] = {
        "id": str(data.get("Id", "")),
        "name": labels.get(CONTAINER_LABEL) or str(data.get("Name", "")).lstrip("/"),
        "pod_uid": labels.get(POD_UID_LABEL, ""),
        "image": str(config.get("Image", "")),
        "image_id": str(data.get("Image", "")),
        "labels": labels,
        "ports": decode_ports(labels.get(PORTS_LABEL, "")),
        "started_at": engine_time(state.get("StartedAt")),
    }
    if status in {"running", "paused", "restarting"}:
        return ContainerReport(state="running", **common)
    if status == "created" and not error:
        return ContainerReport(state="waiting", **common)
    exit_code = int(state.get("ExitCode") or 0)
    if status == "created" and exit_code == 0:  # a start error with no code recorded
        exit_code = 128
    signal = exit_code - 128 if 128 < exit_code <= 128 + _MAX_SIGNAL else 0
    finished_at = engine_time(state.get("FinishedAt"))
    if finished_at is not None and common["started_at"] is not None:
        # The engine stamps StartedAt after the process began, so a process that
        # exits at once can "finish" a few microseconds before it "started".
        finished_at = max(finished_at, common["started_at"])
    return ContainerReport(
        state="terminated",
        exit_code=exit_code,
        signal=signal,
        reason=_terminated_reason(state, exit_code),
        message=error,
        finished_at=finished_at,
        **common,
    )


def cpu_cores(stats: Mapping[str, Any]) -> float:
    """Cores used between the engine's two samples (``precpu_stats`` and ``cpu_stats``),
    as ``docker stats`` computes it: container cpu time over the machine's, times the
    online cpus. Zero when either sample is missing (a stopped container)."""
    now: Mapping[str, Any] = stats.get("cpu_stats") or {}
    before: Mapping[str, Any] = stats.get("precpu_stats") or {}
    used = (now.get("cpu_usage") or {}).get("total_usage", 0) - (before.get("cpu_usage") or {}).get(
        "total_usage", 0
    )
    system = now.get("system_cpu_usage", 0) - before.get("system_cpu_usage", 0)
    online = now.get("online_cpus") or len((now.get("cpu_usage") or {}).get("percpu_usage") or ())
    if not before.get("system_cpu_usage") or system <= 0 or used <= 0 or not online:
        return 0.0
    return float(used) / float(system) * float(online)


def working_set_bytes(stats: Mapping[str, Any]) -> int:
    """Memory in use minus inactive page cache: the working set, as cAdvisor (and so
    the kubelet's eviction and ``kubectl top``) reports it. cgroup v1 names the
    inactive file pages ``total_inactive_file``, cgroup v2 ``inactive_file``."""
    memory: Mapping[str, Any] = stats.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    detail: Mapping[str, Any] = memory.get("stats") or {}
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(0, usage - int(inactive or 0))


def gpu_driver(info: Mapping[str, Any]) -> str:
    """How the engine hands out NVIDIA GPUs: ``"nvidia"`` (its nvidia runtime is
    registered), ``"cdi"`` (CDI spec directories are configured, Docker 25+), or
    ``""`` (it cannot)."""
    if "nvidia" in (info.get("Runtimes") or {}):
        return "nvidia"
    if info.get("CDISpecDirs"):
        return "cdi"
    return ""


def node_resources(
    info: Mapping[str, Any], gpu_ids: Sequence[str] = (), gpu_discovery: str = ""
) -> NodeResources:
    """Capacity from ``GET /info`` (the engine's cpus and memory) and the GPUs counted
    on the engine's machine (``gpu_ids``, by the caller: the engine's info says
    whether it can hand GPUs out, not which exist).

    The facts say how (``gpuRuntime``: ``nvidia`` or ``cdi``) and who counted
    (``gpuDiscovery``: ``nvml``, ``nvidia-smi``, ``none``, or why not).
    """
    facts = {
        "containerRuntimeVersion": f"docker://{info.get('ServerVersion', '')}",
        "kernelVersion": str(info.get("KernelVersion", "")),
        "osImage": str(info.get("OperatingSystem", "")),
        "operatingSystem": str(info.get("OSType", "")),
        "architecture": str(info.get("Architecture", "")),
        "cgroupVersion": str(info.get("CgroupVersion", "")),
        "hostname": str(info.get("Name", "")),
    }
    driver = gpu_driver(info)
    if driver:
        facts["gpuRuntime"] = driver
    if gpu_discovery:
        facts["gpuDiscovery"] = gpu_discovery
    capacity = {
        "cpu": str(int(info.get("NCPU") or 0)),
        "memory": f"{int(info.get('MemTotal') or 0) // 1024}Ki",
    }
    if gpu_ids:
        capacity["nvidia.com/gpu"] = str(len(gpu_ids))
    return NodeResources(capacity=capacity, gpu_ids=tuple(gpu_ids), info=facts)
