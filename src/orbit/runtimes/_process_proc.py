"""What ProcessRuntime reads from ``/proc`` and the machine: process identity (to tell
a live container from a reused pid), cpu and memory of a process group, and the node's
capacity (cpus and memory; GPUs are ``_gpus``'s).

Parsers take text and return data, so they are tested without the files; the readers
around them turn a missing or unreadable file into "nothing there".
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from pathlib import Path

import attrs

__all__ = [
    "ProcStat",
    "group_cpu_seconds",
    "group_members",
    "group_rss_bytes",
    "is_alive",
    "kill_group",
    "memory_total",
    "parse_meminfo_total",
    "parse_stat",
    "parse_vmrss",
    "read_stat",
]

_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = Path("/proc")


@attrs.frozen
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` orbit uses (``proc(5)`` numbering)."""

    pid: int
    state: str
    pgid: int
    cpu_ticks: int
    """utime + stime + cutime + cstime: the process and its reaped children."""
    start_ticks: int
    """starttime, in clock ticks after boot: with the pid, a process's identity."""


def parse_stat(text: str) -> ProcStat | None:
    """Parse one ``/proc/<pid>/stat`` line; the command name may hold spaces and
    parentheses, so fields are counted from the last ``)``."""
    head, sep, tail = text.rpartition(")")
    if not sep:
        return None
    fields = tail.split()
    try:
        pid = int(head.split("(", 1)[0])
        utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
        return ProcStat(
            pid=pid,
            state=fields[0],
            pgid=int(fields[2]),
            cpu_ticks=utime + stime + cutime + cstime,
            start_ticks=int(fields[19]),
        )
    except (IndexError, ValueError):
        return None


def read_stat(pid: int) -> ProcStat | None:
    """The process's stat, or ``None`` if there is no such process (or it is hidden)."""
    try:
        return parse_stat((_PROC / str(pid) / "stat").read_text())
    except OSError:
        return None


def is_alive(pid: int, start_ticks: int) -> bool:
    """Whether ``pid`` is still the process that started at ``start_ticks`` and has not
    exited (a zombie waiting for its parent counts as exited)."""
    stat = read_stat(pid)
    return stat is not None and stat.start_ticks == start_ticks and stat.state not in "ZX"


def _all_stats() -> Iterable[ProcStat]:
    try:
        names = os.listdir(_PROC)
    except OSError:
        return
    for name in names:
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None:
                yield stat


def group_members(pgid: int) -> list[int]:
    """Pids of the live processes in process group ``pgid``."""
    return [s.pid for s in _all_stats() if s.pgid == pgid and s.state not in "ZX"]


def group_cpu_seconds(pgid: int) -> float:
    """Cpu time of a process group's live members and of the children they reaped."""
    ticks = sum(s.cpu_ticks for s in _all_stats() if s.pgid == pgid)
    return ticks / _TICKS_PER_S


def parse_vmrss(status_text: str) -> int:
    """Resident set size in bytes from ``/proc/<pid>/status`` (0 if absent)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return 0


def group_rss_bytes(pgid: int) -> int:
    """Summed resident memory of a process group (shared pages count once per process,
    so this overstates a little; cgroups give the exact working set)."""
    total = 0
    for pid in group_members(pgid):
        with contextlib.suppress(OSError):
            total += parse_vmrss((_PROC / str(pid) / "status").read_text())
    return total


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Send ``sig`` to a process group; ``False`` if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def parse_meminfo_total(text: str) -> int:
    """MemTotal in bytes from ``/proc/meminfo`` (0 if absent)."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return 0


def memory_total() -> int:
    """The machine's memory in bytes (MemTotal, else the page count)."""
    try:
        total = parse_meminfo_total((_PROC / "meminfo").read_text())
    except OSError:
        total = 0
    if total == 0 and hasattr(os, "sysconf"):
        with contextlib.suppress(ValueError, OSError):
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return total
