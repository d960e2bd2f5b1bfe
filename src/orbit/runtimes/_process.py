"""ProcessRuntime: every container is a local process — orbit's default runtime.

It runs anywhere Python does: the node agent hands it a :class:`ContainerLaunch` and it
execs ``argv`` (never through a shell, unless argv itself is ``sh -c ...``) in a new
session, so the container is one process group that ``stop`` signals as a whole.
Output goes to ``<state_dir>/<pod_uid>/<container>/<restart_count>.log``; a JSON record
next to it lets a later orbit process adopt the container (``list_running``).

What a process is not, compared with a container (each gap on purpose, documented):

- ``image`` and ``image_pull_policy`` are recorded in the report, never used: the
  command runs from the host's filesystem, found on the launch's ``PATH``.
- Limits: through a cgroup per container where orbit may create one (see
  ``_process_cgroups``: v2 or v1; memory, cpu quota and shares, OOM kills detected as
  ``OOMKilled``). Otherwise memory is limited by ``RLIMIT_DATA`` (the program sees its
  allocations fail: Python's ``MemoryError``, C's ``malloc`` returning NULL) and ends
  as ``Error``, never ``OOMKilled``; cpu is then not limited at all. Pass
  ``limits="rlimit"`` to use rlimits even where cgroups work.
- GPUs: ``CUDA_VISIBLE_DEVICES`` holds the scheduler's device ids; nothing stops a
  program from opening other devices.
- Mounts are symlinks in the container's root directory, ``read_only`` is not
  enforced, and absolute paths see the host (``_process_spawn``).
- Networking is always the host's: a process listens on its allocated host port
  (``PORT``, ``ORBIT_PORT_<NAME>``); ``network="bridge"`` is treated as host.
- ``security`` (runAsUser, capabilities, read-only root...) is not applied.
- Exit codes follow Kubernetes: a signal ``n`` gives ``128 + n`` (137 for SIGKILL, 143
  for SIGTERM). A container adopted from an earlier orbit process is not orbit's
  child, so its exit code is lost: it ends as ``ContainerStatusUnknown`` with 137, as
  the kubelet reports a container it can no longer find (``OOMKilled`` if its cgroup
  saw an OOM kill). Its end is noticed by polling ``/proc`` every 50 ms.
- ``finished_at`` is when orbit noticed the exit (``wait`` notices at once).
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import anyio.abc
import attrs

from orbit.api import Probe
from orbit.clock import Clock, RealClock
from orbit.errors import NotFound

from . import _process_proc as proc
from ._probing import network_probe
from ._process_cgroups import Cgroup, CgroupLayout, detect_layout
from ._process_exec import exec_probe
from ._process_logs import LineSplitter, read_chunk, tail_start
from ._process_records import (
    ContainerRecord,
    container_id,
    parse_container_id,
    read_record,
    scan_records,
)
from ._process_spawn import build_env, prepare, spawn
from ._protocol import (
    CLUSTER_LABEL,
    ContainerLaunch,
    ContainerReport,
    NodeResources,
    ProbeOutcome,
    Runtime,
    RuntimeFailure,
    Usage,
)

__all__ = ["ProcessRuntime", "default_state_dir"]

_POLL_S = 0.05
_UNKNOWN_EXIT = "the process was not started by this orbit process, so its exit code is unknown"


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/orbit``, else ``~/.local/state/orbit``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "orbit"


@attrs.define(kw_only=True, eq=False)
class _Instance:
    """A container instance this runtime knows: started here (``process`` set) or
    adopted from a record (``process`` is ``None``; it is not our child)."""

    record: ContainerRecord
    path: Path
    process: anyio.abc.Process | None = None
    cgroup: Cgroup | None = None
    last_cpu: tuple[float, float] | None = None


class ProcessRuntime:
    """Runs containers as local processes (see the module docstring for what that
    means and what it cannot do)."""

    kind = "process"

    def __init__(
        self,
        state_dir: str | Path | None = None,
        *,
        clock: Clock | None = None,
        limits: Literal["auto", "rlimit"] = "auto",
    ) -> None:
        self._state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self._clock: Clock = clock or RealClock()
        self._limits = limits
        self._layout: CgroupLayout | None = None
        self._layout_probed = False
        self._instances: dict[str, _Instance] = {}

    @property
    def state_dir(self) -> Path:
        """Where logs and records live."""
        return self._state_dir

    @property
    def cgroups(self) -> CgroupLayout | None:
        """The cgroup layout limits are enforced through, or ``None`` (rlimits)."""
        if not self._layout_probed:
            self._layout = detect_layout() if self._limits == "auto" else None
            self._layout_probed = True
        return self._layout

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, launch: ContainerLaunch) -> ContainerReport:
        """Exec the container's argv; see :meth:`Runtime.start`."""
        cid = container_id(launch.pod_uid, launch.name, launch.restart_count)
        if not launch.argv:
            raise RuntimeFailure("ContainerCannotRun", "No command specified")
        known = self._find(cid)
        if known is not None and not self._has_exited(known):
            raise RuntimeFailure("CreateContainerError", f'container "{cid}" is already running')
        prepared = prepare(launch, cid, self._state_dir, self.cgroups)
        try:
            process, record = await spawn(launch, prepared, self._clock.now)
        except BaseException:
            if prepared.cgroup is not None:
                prepared.cgroup.destroy()
            raise
        instance = _Instance(
            record=record, path=prepared.record_path, process=process, cgroup=prepared.cgroup
        )
        self._instances[cid] = instance
        return self._settle(instance)

    async def wait(self, container_id: str) -> ContainerReport:
        """Block until the container has ended; its final report."""
        instance = self._lookup(container_id)
        await self._until_exited(instance)
        return self._settle(instance)

    async def inspect(self, container_id: str) -> ContainerReport:
        """The container's report now (``NotFound`` for an unknown id)."""
        return self._settle(self._lookup(container_id))

    async def stop(self, container_id: str, grace_s: float) -> ContainerReport:
        """SIGTERM to the process group, up to ``grace_s`` of the clock, then SIGKILL."""
        instance = self._lookup(container_id)
        if not self._has_exited(instance):
            self._signal(instance, signal.SIGTERM)
            if not await self._wait_exit(instance, grace_s):
                self._signal(instance, signal.SIGKILL)
                await self._until_exited(instance)
        return self._settle(instance)

    async def remove(self, container_id: str) -> None:
        """Forget a container and delete its log, record and cgroup; a running one is
        killed first, an unknown id is not an error (CRI's RemoveContainer)."""
        try:
            instance = self._lookup(container_id)
        except NotFound:
            return
        if not self._has_exited(instance):
            await self.stop(container_id, 0)
        self._settle(instance)
        if instance.cgroup is not None:
            await self._empty(instance.cgroup)
            instance.cgroup.destroy()
        for path in (Path(instance.record.log), instance.path):
            with contextlib.suppress(OSError):
                path.unlink()
        self._instances.pop(container_id, None)
        _remove_empty_dirs(instance.path.parent, Path(instance.record.root))

    async def close(self) -> None:
        """Nothing to release: containers keep running, records stay on disk."""

    async def ping(self) -> None:
        """The local machine is always reachable."""

    # -- observing -------------------------------------------------------------------

    async def logs(
        self, container_id: str, *, tail: int | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        """Lines of the container's log file (without newlines); with ``follow``,
        polls every 50 ms until the container has ended and the file is drained."""
        instance = self._lookup(container_id)
        path = Path(instance.record.log)
        offset = tail_start(path, tail)
        lines = LineSplitter()
        while True:
            ended = not follow or self._has_exited(instance)
            if ended and follow:
                self._settle(instance)  # stragglers are killed: nothing more is written
            data, offset = read_chunk(path, offset)
            while data:
                for line in lines.feed(data):
                    yield line
                data, offset = read_chunk(path, offset)
            if ended:
                for line in lines.flush():
                    yield line
                return
            await self._clock.sleep(_POLL_S)

    async def usage(self, container_id: str) -> Usage:
        """Cpu (cores since the previous sample, or since start) and memory (the
        cgroup's working set, else the group's summed RSS)."""
        instance = self._lookup(container_id)
        now = self._clock.now()
        if self._has_exited(instance):
            return Usage(cpu_cores=0.0, memory_bytes=0, at=now)
        pid, group = instance.record.pid, instance.cgroup
        cpu = group.cpu_seconds() if group else None
        if cpu is None:
            cpu = proc.group_cpu_seconds(pid)
        memory = group.memory_bytes() if group else None
        if memory is None:
            memory = proc.group_rss_bytes(pid)
        monotonic = self._clock.monotonic()
        if instance.last_cpu is None:
            previous, elapsed = 0.0, now - instance.record.started_at
        else:
            previous, elapsed = instance.last_cpu[0], monotonic - instance.last_cpu[1]
        instance.last_cpu = (cpu, monotonic)
        cores = max(0.0, cpu - previous) / elapsed if elapsed > 0 else 0.0
        return Usage(cpu_cores=cores, memory_bytes=memory, at=now)

    async def probe(self, container_id: str, probe: Probe, launch: ContainerLaunch) -> ProbeOutcome:
        """exec (a process in the container's directory, env and cgroup), httpGet or
        tcpSocket (against the allocated host port on loopback)."""
        instance = self._lookup(container_id)
        if probe.exec is not None:
            return await exec_probe(
                probe.exec.command,
                env=build_env(launch),
                cwd=Path(instance.record.cwd),
                cgroup_procs=instance.cgroup.procs_files() if instance.cgroup else (),
                timeout_s=max(1, probe.timeout_seconds),
            )
        outcome = await network_probe(probe, launch)
        if outcome is None:
            return ProbeOutcome(success=False, message="ProcessRuntime cannot run grpc probes")
        return outcome

    async def list_running(self, cluster_id: str) -> Sequence[ContainerReport]:
        """Running containers whose records carry ``cluster_id``, adopting those an
        earlier orbit process started (alive, and the same process by start time)."""
        reports: list[ContainerReport] = []
        for record in scan_records(self._state_dir):
            if record.labels.get(CLUSTER_LABEL) != cluster_id or record.terminated:
                continue
            instance = self._instances.get(record.id)
            if instance is None:
                if not proc.is_alive(record.pid, record.start_ticks):
                    continue
                instance = self._adopt(record)
            report = self._settle(instance)
            if report.state == "running":
                reports.append(report)
        return reports

    async def discover(self) -> NodeResources:
        """Cpus this process may use, MemTotal, the state directory's disk, and GPUs
        from ``nvidia-smi`` when it is installed."""
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        memory = proc.memory_total()
        try:
            self._state_dir.mkdir(parents=True, exist_ok=True)
            disk = shutil.disk_usage(self._state_dir).total
        except OSError:
            disk = 0
        gpus = await proc.nvidia_gpus()
        capacity = {
            "cpu": str(cpus or 1),
            "memory": f"{memory // 1024}Ki",
            "pods": "110",
            "ephemeral-storage": f"{disk // 1024}Ki",
        }
        if gpus:
            capacity["nvidia.com/gpu"] = str(len(gpus))
        layout = self.cgroups
        info = {
            "runtime": self.kind,
            "os": platform.system().lower(),
            "kernelVersion": platform.release(),
            "architecture": platform.machine(),
            "hostname": socket.gethostname(),
            "limits": f"cgroup v{layout.version}" if layout else "rlimit (memory only)",
            "stateDir": str(self._state_dir),
        }
        return NodeResources(capacity=capacity, gpu_ids=tuple(uuid for _, uuid in gpus), info=info)

    # -- internals -------------------------------------------------------------------

    def _find(self, cid: str) -> _Instance | None:
        try:
            return self._lookup(cid)
        except NotFound:
            return None

    def _lookup(self, cid: str) -> _Instance:
        instance = self._instances.get(cid)
        if instance is not None:
            return instance
        parse_container_id(cid)
        record = read_record(self._state_dir / f"{cid}.json")
        if record is None or record.id != cid:
            raise NotFound("Container", cid)
        return self._adopt(record)

    def _adopt(self, record: ContainerRecord) -> _Instance:
        try:
            cgroup = Cgroup.from_json(record.cgroup) if record.cgroup else None
        except (TypeError, ValueError):  # a damaged record: adopt without the cgroup
            cgroup = None
        instance = _Instance(
            record=record, path=self._state_dir / f"{record.id}.json", cgroup=cgroup
        )
        self._instances[record.id] = instance
        return instance

    def _has_exited(self, instance: _Instance) -> bool:
        if instance.record.terminated:
            return True
        if instance.process is not None:
            return instance.process.returncode is not None
        return not proc.is_alive(instance.record.pid, instance.record.start_ticks)

    async def _until_exited(self, instance: _Instance) -> None:
        if instance.process is not None:
            await instance.process.wait()
            return
        while not self._has_exited(instance):
            await self._clock.sleep(_POLL_S)

    async def _wait_exit(self, instance: _Instance, timeout_s: float) -> bool:
        """Whether the container ended within ``timeout_s`` of the runtime's clock."""
        if timeout_s <= 0:
            return self._has_exited(instance)
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_after, self._clock, timeout_s, group.cancel_scope)
            await self._until_exited(instance)
            group.cancel_scope.cancel()
            return True
        return False

    async def _empty(self, cgroup: Cgroup) -> None:
        """Kill what is left in a cgroup and wait (up to a second) until the kernel has
        let it go: a cgroup with processes in it cannot be removed."""
        for _ in range(100):
            cgroup.kill_all()
            if not cgroup.pids():
                return
            await self._clock.sleep(0.01)

    def _signal(self, instance: _Instance, sig: int) -> None:
        """Signal the container's process group (and, for SIGKILL, its whole cgroup);
        an adopted pid that is no longer the container is left alone."""
        if self._has_exited(instance):
            return
        proc.kill_group(instance.record.pid, sig)
        if sig == signal.SIGKILL and instance.cgroup is not None:
            instance.cgroup.kill_all()

    def _settle(self, instance: _Instance) -> ContainerReport:
        """The current report; the first time the container is seen ended, how it
        ended is worked out, what is left of it killed and the record rewritten."""
        if instance.record.terminated or not self._has_exited(instance):
            return instance.record.report()
        record = instance.record
        oom = instance.cgroup is not None and instance.cgroup.oom_killed()
        if instance.process is not None and instance.process.returncode is not None:
            returncode = instance.process.returncode
            sig = -returncode if returncode < 0 else 0
            code, message = (128 + sig if sig else returncode), ""
            reason = "Completed" if code == 0 else "OOMKilled" if oom else "Error"
            # a container ends as a whole, as a pid namespace does; an adopted process's
            # pid may have been reused since it ended, so only its cgroup is swept
            proc.kill_group(record.pid)
        else:
            sig, code = 0, 137
            reason, message = (
                ("OOMKilled", "") if oom else ("ContainerStatusUnknown", _UNKNOWN_EXIT)
            )
        if instance.cgroup is not None:
            instance.cgroup.kill_all()
        instance.record = attrs.evolve(
            record,
            exit_code=code,
            signal=sig,
            reason=reason,
            message=message,
            finished_at=self._clock.now(),
        )
        with contextlib.suppress(OSError):
            instance.record.write(instance.path)
        return instance.record.report()


async def _cancel_after(clock: Clock, seconds: float, scope: anyio.CancelScope) -> None:
    await clock.sleep(seconds)
    scope.cancel()


def _remove_empty_dirs(container_dir: Path, root: Path) -> None:
    """Drop a container's directory and its pod's when nothing is left in them; the
    runtime-owned root goes too once no instance of the container has a record (a
    pod ``state_dir`` and what is in it belong to the node agent)."""
    with contextlib.suppress(OSError):
        if root == container_dir / "root" and not any(container_dir.glob("*.json")):
            shutil.rmtree(root)
    for directory in (container_dir, container_dir.parent):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _procs(cgroup: Cgroup | None) -> list[str]:
    return cgroup.procs_files() if cgroup is not None else []


if TYPE_CHECKING:

    def _satisfies_the_protocol(runtime: ProcessRuntime) -> Runtime:
        return runtime  # mypy checks ProcessRuntime against Runtime here
