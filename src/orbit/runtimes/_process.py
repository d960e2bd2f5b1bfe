"""ProcessRuntime: every container is a local process — orbit's default runtime.

It runs anywhere Python does: the node agent hands it a :class:`ContainerLaunch` and it
execs ``argv`` (never through a shell, unless argv itself is ``sh -c ...``) as the
leader of a process group of its own, which ``stop`` signals as a whole.
Output goes to ``<state_dir>/<pod_uid>/<container>/<restart_count>.log``; a JSON record
next to it lets a later orbit process adopt the container (``list_running``).

Like a container engine (containerd-shim, conmon), every container runs under a small
supervisor, its shim (``_shim``): the shim, not orbit, is the container's parent, so the
container outlives orbit, and the shim writes how it ended (exit code, signal, OOM
kill, time) to ``<restart_count>.exit``. A container that ended while no orbit process
ran is therefore reported with its real exit status, and the agent applies the pod's
restart policy to it instead of starting it again.

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
- ``security`` (runAsUser, capabilities, read-only root...) is not applied; the
  pod's ``fsGroup`` and ``supplementalGroups`` (``group_add``) are, when orbit runs as
  root.
- Exit codes follow Kubernetes: a signal ``n`` gives ``128 + n`` (137 for SIGKILL, 143
  for SIGTERM). The end of a container adopted from an earlier orbit process is
  noticed by polling its exit-status file every 50 ms; only when its shim died too
  (killed, or the machine rebooted) is its exit code lost: it ends as
  ``ContainerStatusUnknown`` with 137, as the kubelet reports a container it can no
  longer find (``OOMKilled`` if its cgroup saw an OOM kill).
- ``finished_at`` is when the shim saw the exit on the real clock, or when orbit
  noticed it on another clock (a virtual one: ``wait`` notices at once).
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
from orbit.clock import Clock, RealClock, current_clock
from orbit.errors import NotFound

from . import _process_proc as proc
from ._gpus import discover_gpus
from ._probing import network_probe
from ._process_cgroups import Cgroup, CgroupLayout, detect_layout
from ._process_exec import exec_probe
from ._process_logs import LineSplitter, read_chunk, tail_start
from ._process_records import (
    ContainerRecord,
    ExitStatus,
    container_id,
    parse_container_id,
    read_exit_status,
    read_record,
    scan_records,
    termination,
)
from ._process_shims import ShimPool, spawn
from ._process_spawn import build_env, prepare
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


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/orbit``, else ``~/.local/state/orbit``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "orbit"


@attrs.define(kw_only=True, eq=False)
class _Instance:
    """A container instance this runtime knows: started here (``shim`` is our child
    process) or adopted from a record (``shim`` is ``None``: an earlier orbit's)."""

    record: ContainerRecord
    path: Path
    shim: anyio.abc.Process | None = None
    cgroup: Cgroup | None = None
    exit: ExitStatus | None = None
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
        self._shims = ShimPool()

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
            process, record = await spawn(launch, prepared, self._clock.now, self._shims)
        except BaseException:
            if prepared.cgroup is not None:
                prepared.cgroup.destroy()
            raise
        instance = _Instance(
            record=record, path=prepared.record_path, shim=process, cgroup=prepared.cgroup
        )
        self._instances[cid] = instance
        return self._settle(instance)

    async def wait(self, container_id: str) -> ContainerReport:
        """Block until the container has ended; its final report. (A spare shim for
        the next start is made first: the agent waits right after each start.)"""
        instance = self._lookup(container_id)
        if isinstance(self._clock, RealClock) and isinstance(current_clock(), RealClock):
            await self._shims.refill()  # not in a simulation: an idle child stalls it
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
        if instance.shim is not None:
            await instance.shim.aclose()  # reaped: it has ended with the container
        if instance.cgroup is not None:
            await self._empty(instance.cgroup)
            instance.cgroup.destroy()
        for path in (Path(instance.record.log), instance.record.exit_path, instance.path):
            with contextlib.suppress(OSError):
                path.unlink()
        self._instances.pop(container_id, None)
        _remove_empty_dirs(instance.path.parent, Path(instance.record.root))

    async def close(self) -> None:
        """Stop the spare shim; containers keep running, records stay on disk."""
        await self._shims.close()

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
        """Every container whose record carries ``cluster_id`` and that was not
        removed: running ones (alive, and the same process by start time), and ended
        ones with how they ended, adopting those an earlier orbit process started. A
        container that ended while no orbit ran is reported from its shim's exit
        status; one whose shim died too, as ``ContainerStatusUnknown``."""
        reports: list[ContainerReport] = []
        for record in scan_records(self._state_dir):
            if record.labels.get(CLUSTER_LABEL) != cluster_id:
                continue
            instance = self._instances.get(record.id) or self._adopt(record)
            reports.append(self._settle(instance))
        return reports

    async def discover(self) -> NodeResources:
        """Cpus this process may use, MemTotal, the state directory's disk, and NVIDIA
        GPUs through NVML, else ``nvidia-smi`` (see ``_gpus``)."""
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        memory = proc.memory_total()
        try:
            self._state_dir.mkdir(parents=True, exist_ok=True)
            disk = shutil.disk_usage(self._state_dir).total
        except OSError:
            disk = 0
        gpus = await discover_gpus()
        capacity = {
            "cpu": str(cpus or 1),
            "memory": f"{memory // 1024}Ki",
            "pods": "110",
            "ephemeral-storage": f"{disk // 1024}Ki",
        }
        if gpus.gpus:
            capacity["nvidia.com/gpu"] = str(len(gpus.gpus))
        layout = self.cgroups
        info = {
            "runtime": self.kind,
            "os": platform.system().lower(),
            "kernelVersion": platform.release(),
            "architecture": platform.machine(),
            "hostname": socket.gethostname(),
            "limits": f"cgroup v{layout.version}" if layout else "rlimit (memory only)",
            "stateDir": str(self._state_dir),
            "gpuDiscovery": gpus.source,
        }
        return NodeResources(capacity=capacity, gpu_ids=gpus.uuids, info=info)

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

    def _exit_status(self, instance: _Instance) -> ExitStatus | None:
        """What the shim recorded when the container ended (``None`` before that)."""
        if instance.exit is None and instance.record.shim_pid:
            instance.exit = read_exit_status(instance.record.exit_path)
        return instance.exit

    def _shim_alive(self, instance: _Instance) -> bool:
        if instance.shim is not None:
            return instance.shim.returncode is None
        record = instance.record
        return record.shim_pid > 0 and proc.is_alive(record.shim_pid, record.shim_start_ticks)

    def _has_exited(self, instance: _Instance) -> bool:
        """Whether the container has ended: its shim recorded the end, or the shim and
        the container are both gone (a live shim is about to record it)."""
        if instance.record.terminated:
            return True
        if instance.shim is not None and instance.shim.returncode is None:
            return False  # our child supervises it: its exit is the signal
        if self._exit_status(instance) is not None:
            return True
        if self._shim_alive(instance):
            return False
        if self._exit_status(instance) is not None:  # written just before it ended
            return True
        return not proc.is_alive(instance.record.pid, instance.record.start_ticks)

    async def _until_exited(self, instance: _Instance) -> None:
        if instance.shim is not None and instance.shim.returncode is None:
            await instance.shim.wait()
        while not self._has_exited(instance):  # adopted, or a shim that died early
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
        status = self._exit_status(instance)
        oom = instance.cgroup is not None and instance.cgroup.oom_killed()
        code, sig, reason, message = termination(status, oom_seen=oom)
        if status is not None and isinstance(self._clock, RealClock):
            finished = status.finished_at  # the shim's own reading of the wall clock
        else:
            finished = self._clock.now()
        if instance.cgroup is not None:
            instance.cgroup.kill_all()
        instance.record = attrs.evolve(
            instance.record,
            exit_code=code,
            signal=sig,
            reason=reason,
            message=message,
            finished_at=max(finished, instance.record.started_at),
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


if TYPE_CHECKING:

    def _satisfies_the_protocol(runtime: ProcessRuntime) -> Runtime:
        return runtime  # mypy checks ProcessRuntime against Runtime here
