"""ProcessRuntime's on-disk records: what a later orbit process needs to adopt a
container an earlier one started.

Each container instance owns ``<state_dir>/<pod_uid>/<container>/<restart_count>``
with ``.log`` (its output), ``.json`` (this record, written by orbit only) and
``.exit`` (its exit status, written by its shim only, see ``_shim``). The record holds
the pid (also the process group id: each container leads a process group of its
own) and the shim's, each with the process's start time in clock ticks after boot
(``/proc/<pid>/stat`` field 22, so a reused pid is not mistaken for either), labels,
ports, cgroup, and once orbit has seen it end, how.
The container id is that path relative to the state directory,
``<pod_uid>/<container>/<restart_count>``, so any ProcessRuntime over the same state
directory finds a container from its id. The env is not recorded (it may hold Secret
values); exec probes of an adopted container get it from the launch the agent passes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from orbit.errors import NotFound

from ._protocol import ContainerReport, PortBinding, RuntimeFailure

__all__ = [
    "ContainerRecord",
    "ExitStatus",
    "container_id",
    "parse_container_id",
    "read_exit_status",
    "read_record",
    "scan_records",
    "termination",
]

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def container_id(pod_uid: str, name: str, restart_count: int) -> str:
    """The id of a container instance; raises ``RuntimeFailure`` for a pod uid or name
    that cannot be a path component."""
    for what, value in (("pod uid", pod_uid), ("container name", name)):
        if not _SAFE.match(value) or value in {".", ".."}:
            raise RuntimeFailure("CreateContainerError", f"invalid {what} {value!r}")
    return f"{pod_uid}/{name}/{restart_count}"


def parse_container_id(cid: str) -> tuple[str, str, int]:
    """``(pod_uid, name, restart_count)`` of an id; ``NotFound`` for a malformed one."""
    parts = cid.split("/")
    if (
        len(parts) != 3
        or not all(_SAFE.match(part) for part in parts[:2])
        or not parts[2].isdigit()
    ):
        raise NotFound("Container", cid)
    return parts[0], parts[1], int(parts[2])


@attrs.frozen(kw_only=True)
class ContainerRecord:
    """One container instance as written to disk (times are epoch seconds)."""

    id: str
    pod_uid: str
    name: str
    restart_count: int
    pid: int
    start_ticks: int
    started_at: float
    log: str
    root: str
    cwd: str
    image: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    ports: tuple[PortBinding, ...] = ()
    cgroup: Mapping[str, Any] | None = None
    shim_pid: int = 0
    """The container's shim (0 in records older than shims: nothing recorded its end)."""
    shim_start_ticks: int = 0
    exit_code: int | None = None
    signal: int = 0
    reason: str = ""
    message: str = ""
    finished_at: float | None = None

    @property
    def terminated(self) -> bool:
        return self.finished_at is not None

    @property
    def exit_path(self) -> Path:
        """Where the shim writes the exit status: next to the log."""
        return Path(self.log).with_suffix(".exit")

    def report(self) -> ContainerReport:
        """The report this record stands for (running, or how it ended)."""
        return ContainerReport(
            id=self.id,
            name=self.name,
            pod_uid=self.pod_uid,
            state="terminated" if self.terminated else "running",
            exit_code=self.exit_code,
            signal=self.signal,
            reason=self.reason,
            message=self.message,
            started_at=self.started_at,
            finished_at=self.finished_at,
            image=self.image,
            labels=dict(self.labels),
            ports=self.ports,
        )

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data["labels"] = dict(self.labels)
        data["ports"] = [attrs.asdict(port) for port in self.ports]
        data["cgroup"] = None if self.cgroup is None else dict(self.cgroup)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContainerRecord:
        """Parse a record; raises ``ValueError``/``TypeError``/``KeyError`` if malformed."""
        fields = {f.name for f in attrs.fields(cls)}
        values = {key: value for key, value in data.items() if key in fields}
        values["labels"] = {str(k): str(v) for k, v in dict(values.get("labels") or {}).items()}
        values["ports"] = tuple(PortBinding(**port) for port in values.get("ports") or ())
        return cls(**values)

    def write(self, path: Path) -> None:
        """Write atomically (a reader never sees half a record)."""
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.to_json()))
        os.replace(temporary, path)


@attrs.frozen(kw_only=True)
class ExitStatus:
    """How a container's process ended, as its shim saw it (``finished_at`` is the
    shim's wall-clock epoch seconds; ``error`` says why it never ran its program)."""

    exit_code: int
    signal: int = 0
    oom_killed: bool = False
    finished_at: float
    error: str = ""


UNKNOWN_EXIT = "the container's shim ended without recording how the container ended"


def termination(status: ExitStatus | None, *, oom_seen: bool) -> tuple[int, int, str, str]:
    """``(exit code, signal, reason, message)`` of an ended container, as Kubernetes
    reports it, from its shim's exit status and whether its cgroup saw an OOM kill.

    ``Completed`` for 0, ``OOMKilled`` after an OOM kill, else ``Error``; a container
    that never ran its program is ``ContainerCannotRun`` with Docker's code and
    message; one whose end nothing recorded (its shim died too) is
    ``ContainerStatusUnknown`` with 137, as the kubelet reports a container it can no
    longer find (``OOMKilled`` if its cgroup saw an OOM kill).
    """
    if status is None:
        if oom_seen:
            return 137, 0, "OOMKilled", ""
        return 137, 0, "ContainerStatusUnknown", UNKNOWN_EXIT
    if status.error:
        return status.exit_code, 0, "ContainerCannotRun", status.error
    oom = oom_seen or status.oom_killed
    reason = "Completed" if status.exit_code == 0 else "OOMKilled" if oom else "Error"
    return status.exit_code, status.signal, reason, ""


def read_exit_status(path: Path) -> ExitStatus | None:
    """The shim's exit-status file, or ``None`` while there is none (or it is damaged:
    the shim writes it whole, through a rename)."""
    try:
        data = json.loads(path.read_text())
        return ExitStatus(
            exit_code=int(data["exit_code"]),
            signal=int(data.get("signal", 0)),
            oom_killed=bool(data.get("oom_killed", False)),
            finished_at=float(data["finished_at"]),
            error=str(data.get("error", "")),
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None


def read_record(path: Path) -> ContainerRecord | None:
    """The record at ``path``, or ``None`` if it is missing or unreadable."""
    try:
        return ContainerRecord.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def scan_records(state_dir: Path) -> Iterator[ContainerRecord]:
    """Every readable record under the state directory."""
    with contextlib.suppress(OSError):
        for path in sorted(state_dir.glob("*/*/*.json")):
            record = read_record(path)
            if record is not None:
                yield record
