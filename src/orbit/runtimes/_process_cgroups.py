"""Resource limits for ProcessRuntime: a cgroup per container where the machine allows.

ProcessRuntime enforces a container's limits the way a container engine does, through
the kernel's control groups, when orbit may create them (usually: running as root on a
machine whose cgroup filesystem is mounted read-write). Both layouts are handled:

- **cgroup v2** (unified): ``<mount>/orbit/<pod_uid>-<container>-<restart>`` with
  ``memory.max``, ``memory.swap.max = 0``, ``memory.oom.group = 1``, ``cpu.max`` from
  the cpu limit and ``cpu.weight`` from the cpu request; OOM kills are counted in
  ``memory.events`` (``oom_kill``). The ``memory`` and ``cpu`` controllers must be
  enabled (orbit writes ``+memory +cpu`` to ``cgroup.subtree_control`` of the mount's
  root and of ``orbit/``; where the root holds processes, e.g. inside a container
  without a delegated subtree, that fails and orbit falls back as below).
- **cgroup v1** (one hierarchy per controller, still common in VMs and older hosts):
  the same directory name under the ``memory``, ``cpu`` and ``cpuacct`` hierarchies,
  with ``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes`` equal to it, so
  no swap, where swap accounting exists), ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``,
  ``cpu.shares``; OOM kills are counted in ``memory.oom_control`` (``oom_kill``).

Cpu values follow the kubelet: shares = request millicores * 1024 / 1000 (at least 2,
so a container without a request is BestEffort, at most 262144, the kernel's and
Kubernetes' maximum), quota = limit millicores * 100 µs per
100 ms period, v2 weight = 1 + (shares - 2) * 9999 / 262142.

The process joins its cgroup before it execs (its shim's child does, see ``_shim``;
exec probes through ``_process_spawn.launcher_argv``), so nothing it
allocates escapes the limit. Without usable cgroups, memory is limited by
``RLIMIT_DATA`` and cpu is not limited at all; an allocation beyond the rlimit fails
inside the program (Python raises ``MemoryError``) and the container ends with
"Error", not "OOMKilled" — the gap the module docstring of ``_process`` documents.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

__all__ = [
    "MAX_SHARES",
    "MIN_SHARES",
    "Cgroup",
    "CgroupLayout",
    "cpu_shares",
    "cpu_weight",
    "detect_layout",
    "parse_mounts",
    "parse_flat_keyed",
]

CgroupVersion = Literal[1, 2]
_V1_CONTROLLERS = ("memory", "cpu", "cpuacct")
_CFS_PERIOD_US = 100_000
MIN_SHARES = 2
MAX_SHARES = 262_144
"""The kubelet's bounds for cpu shares (``pkg/kubelet/cm/helpers_linux.go``)."""


@attrs.frozen(kw_only=True)
class CgroupLayout:
    """Where the cgroup filesystem is: for v2 ``mounts[""]``; for v1 one mount per
    controller (``memory`` always, ``cpu`` and ``cpuacct`` when mounted)."""

    version: CgroupVersion
    mounts: Mapping[str, str]


def parse_mounts(mounts_text: str) -> tuple[str | None, dict[str, str]]:
    """The cgroup2 mount point (if any) and v1 mounts by controller, from
    ``/proc/self/mounts``.

    Co-mounted v1 hierarchies (``cpu,cpuacct``) list each controller at the same path.
    """
    unified: str | None = None
    v1: dict[str, str] = {}
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        path, fstype, options = fields[1], fields[2], fields[3].split(",")
        if fstype == "cgroup2" and unified is None:
            unified = path
        elif fstype == "cgroup":
            for controller in _V1_CONTROLLERS:
                if controller in options:
                    v1.setdefault(controller, path)
    return unified, v1


def detect_layout(mounts_text: str | None = None) -> CgroupLayout | None:
    """The layout orbit can use on this machine, or ``None`` (rlimits only).

    v2 wins when its root offers the memory controller; otherwise v1 when its memory
    hierarchy exists. Either must be writable and accept an ``orbit`` directory.
    """
    if mounts_text is None:
        try:
            mounts_text = Path("/proc/self/mounts").read_text()
        except OSError:
            return None
    unified, v1 = parse_mounts(mounts_text)
    if unified is not None and _v2_usable(Path(unified)):
        return CgroupLayout(version=2, mounts={"": unified})
    if "memory" in v1 and _v1_usable(v1):
        return CgroupLayout(version=1, mounts=v1)
    return None


def _v2_usable(root: Path) -> bool:
    try:
        available = (root / "cgroup.controllers").read_text().split()
        if "memory" not in available:
            return False
        wanted = [c for c in ("memory", "cpu") if c in available]
        _enable_controllers(root, wanted)
        (root / "orbit").mkdir(exist_ok=True)
        _enable_controllers(root / "orbit", wanted)
    except OSError:
        return False
    return True


def _enable_controllers(directory: Path, controllers: Sequence[str]) -> None:
    enabled = (directory / "cgroup.subtree_control").read_text().split()
    missing = [c for c in controllers if c not in enabled]
    if missing:
        (directory / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))


def _v1_usable(mounts: Mapping[str, str]) -> bool:
    try:
        for path in mounts.values():
            (Path(path) / "orbit").mkdir(exist_ok=True)
    except OSError:
        return False
    return True


def cpu_shares(request_millis: int) -> int:
    """The kubelet's MilliCPUToShares: 1024 per core, clamped to 2..262144."""
    return min(MAX_SHARES, max(MIN_SHARES, request_millis * 1024 // 1000))


def cpu_weight(shares: int) -> int:
    """cgroup v2 weight for v1 shares, as the kubelet and runc convert them."""
    return 1 + (shares - 2) * 9999 // 262142


def parse_flat_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (``memory.events``, ``memory.stat``, ``cpu.stat``,
    ``memory.oom_control``) as a dict; lines that are not ``key int`` are skipped."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


@attrs.define(kw_only=True)
class Cgroup:
    """One container's cgroup: its directories (one for v2, one per hierarchy for v1)
    and the OOM-kill count it had when created (a reused directory keeps its count)."""

    version: CgroupVersion
    dirs: Mapping[str, str]
    oom_baseline: int = 0

    @classmethod
    def create(
        cls,
        layout: CgroupLayout,
        name: str,
        *,
        memory_limit_bytes: int,
        cpu_limit_millis: int,
        cpu_request_millis: int,
    ) -> Cgroup:
        """Make the directories and write the limits; raises ``OSError`` on failure."""
        dirs = {key: str(Path(mount) / "orbit" / name) for key, mount in layout.mounts.items()}
        for path in dirs.values():
            Path(path).mkdir(parents=True, exist_ok=True)
        group = cls(version=layout.version, dirs=dirs)
        if layout.version == 2:
            group._limit_v2(memory_limit_bytes, cpu_limit_millis, cpu_request_millis)
        else:
            group._limit_v1(memory_limit_bytes, cpu_limit_millis, cpu_request_millis)
        group.oom_baseline = group.oom_kills()
        return group

    def _write(self, key: str, file: str, value: str, *, optional: bool = False) -> None:
        path = Path(self.dirs[key]) / file
        if optional and not path.exists():
            return
        path.write_text(value)

    def _limit_v2(self, memory: int, cpu_limit: int, cpu_request: int) -> None:
        if memory > 0:
            self._write("", "memory.max", str(memory))
            self._write("", "memory.swap.max", "0", optional=True)
        self._write("", "memory.oom.group", "1", optional=True)
        quota = f"{max(1000, cpu_limit * 100)}" if cpu_limit > 0 else "max"
        self._write("", "cpu.max", f"{quota} {_CFS_PERIOD_US}", optional=True)
        self._write("", "cpu.weight", str(cpu_weight(cpu_shares(cpu_request))), optional=True)

    def _limit_v1(self, memory: int, cpu_limit: int, cpu_request: int) -> None:
        if memory > 0:
            self._write("memory", "memory.limit_in_bytes", str(memory))
            self._write("memory", "memory.memsw.limit_in_bytes", str(memory), optional=True)
        if "cpu" in self.dirs:
            quota = max(1000, cpu_limit * 100) if cpu_limit > 0 else -1
            self._write("cpu", "cpu.cfs_period_us", str(_CFS_PERIOD_US))
            self._write("cpu", "cpu.cfs_quota_us", str(quota))
            self._write("cpu", "cpu.shares", str(cpu_shares(cpu_request)))

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid to, to join."""
        return [str(Path(path) / "cgroup.procs") for path in dict.fromkeys(self.dirs.values())]

    def _read(self, key: str, file: str) -> str | None:
        directory = self.dirs.get(key)
        if directory is None:
            return None
        try:
            return (Path(directory) / file).read_text()
        except OSError:
            return None

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer ended in this cgroup."""
        if self.version == 2:
            text = self._read("", "memory.events")
        else:
            text = self._read("memory", "memory.oom_control")
        return parse_flat_keyed(text or "").get("oom_kill", 0)

    def oom_counter(self) -> tuple[str, int]:
        """The file the OOM-kill count is read from and the count at creation (what
        the container's shim compares after the container ends)."""
        if self.version == 2:
            return str(Path(self.dirs[""]) / "memory.events"), self.oom_baseline
        directory = self.dirs.get("memory")
        if directory is None:
            return "", 0
        return str(Path(directory) / "memory.oom_control"), self.oom_baseline

    def oom_killed(self) -> bool:
        """Whether the OOM killer struck since this container's cgroup was made."""
        return self.oom_kills() > self.oom_baseline

    def cpu_seconds(self) -> float | None:
        """Total cpu time the cgroup's processes used, or ``None`` if not readable."""
        if self.version == 2:
            usec = parse_flat_keyed(self._read("", "cpu.stat") or "").get("usage_usec")
            return None if usec is None else usec / 1e6
        text = self._read("cpuacct", "cpuacct.usage")
        return None if text is None or not text.strip().isdigit() else int(text) / 1e9

    def memory_bytes(self) -> int | None:
        """Working set as the kubelet computes it: usage minus inactive file pages."""
        if self.version == 2:
            usage, stat = self._read("", "memory.current"), self._read("", "memory.stat")
            inactive_key = "inactive_file"
        else:
            usage = self._read("memory", "memory.usage_in_bytes")
            stat = self._read("memory", "memory.stat")
            inactive_key = "total_inactive_file"
        if usage is None or not usage.strip().isdigit():
            return None
        inactive = parse_flat_keyed(stat or "").get(inactive_key, 0)
        return max(0, int(usage) - inactive)

    def pids(self) -> list[int]:
        """Every process still in the cgroup (including ones that left the group)."""
        text = self._read("memory" if self.version == 1 else "", "cgroup.procs") or ""
        return [int(word) for word in text.split() if word.isdigit()]

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroup (a container ends as a whole)."""
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def destroy(self) -> None:
        """Remove the directories (after :meth:`kill_all`); errors are ignored, an
        empty cgroup left behind costs nothing."""
        self.kill_all()
        for path in dict.fromkeys(self.dirs.values()):
            with contextlib.suppress(OSError):
                os.rmdir(path)

    def to_json(self) -> dict[str, Any]:
        """The record kept on disk, so a later orbit process can adopt the container."""
        return {"version": self.version, "dirs": dict(self.dirs), "oom_baseline": self.oom_baseline}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cgroup:
        version: CgroupVersion = 2 if data.get("version") == 2 else 1
        dirs = {str(k): str(v) for k, v in dict(data.get("dirs") or {}).items()}
        return cls(version=version, dirs=dirs, oom_baseline=int(data.get("oom_baseline", 0)))
