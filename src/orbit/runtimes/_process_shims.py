"""How ProcessRuntime talks to the shims that run its containers (see ``_shim``).

Each container runs under its own shim, ``python -I -S _shim.py``: orbit writes the
shim's orders (``marshal``) on its stdin and reads its answer (the container's pid as
soon as it is forked, or why not) from its stdout, then writes the container's record. From
then on the shim is orbit's child only so that its exit can be awaited: the container
is the shim's child, and the shim records how it ended whether orbit is still there
or not.

A Python interpreter takes about 10 ms to start, longer on a loaded machine, so a
runtime on the real clock keeps one shim started ahead (:class:`ShimPool`): a start
takes the spare, whose interpreter is up already, and the next spare is started when
the caller next waits for a container (the node agent does so right after each
start), off the start's path. Under a virtual clock no spare is kept: a live child
process makes the simulation wait in wall time, and an idle spare would keep it from
ever jumping.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from . import _process_proc as proc
from ._process_records import ContainerRecord
from ._process_spawn import Prepared, os_message
from ._protocol import ContainerLaunch, RuntimeFailure

__all__ = [
    "SHIM_PATH",
    "ShimPool",
    "open_shim",
    "shim_command",
    "shim_orders",
    "spawn",
    "start_failure",
]

SHIM_PATH = Path(__file__).with_name("_shim.py")
"""The shim's source, run by path (see :func:`shim_command`)."""


def shim_command() -> tuple[str, ...]:
    """How the shim is run: this Python, isolated (``-I``: no user site, no
    ``PYTHON*`` variables) and without ``site`` (``-S``), by path so that no orbit
    module is imported."""
    if not sys.executable:
        raise RuntimeFailure("RunContainerError", "no Python interpreter to run the shim with")
    return (sys.executable, "-I", "-S", str(SHIM_PATH))


def shim_orders(prepared: Prepared) -> dict[str, Any]:
    """What the shim is told (see ``_shim``): plain values ``marshal`` can carry."""
    cgroup = prepared.cgroup
    oom_file, oom_baseline = ("", 0) if cgroup is None else cgroup.oom_counter()
    return {
        "path": prepared.executable,
        "argv": list(prepared.argv),
        "env": dict(prepared.env),
        "cwd": str(prepared.cwd),
        "log": str(prepared.log),
        "exit": str(prepared.log.with_suffix(".exit")),
        "cgroup_procs": cgroup.procs_files() if cgroup is not None else [],
        "data_limit": prepared.data_limit_bytes,
        "groups": list(prepared.groups),
        "oom_file": oom_file,
        "oom_baseline": oom_baseline,
    }


def start_failure(answer: Mapping[str, Any]) -> RuntimeFailure:
    """The ``RuntimeFailure`` for a shim that could not start the container: the log
    could not be opened (``CreateContainerError``), or the shim gave no answer
    (``RunContainerError``). A container that could not exec its program ends instead
    (``ContainerCannotRun``, see ``_shim``)."""
    text = str(answer.get("error", ""))
    if answer.get("stage") == "log":
        return RuntimeFailure("CreateContainerError", f"cannot open the log: {text}")
    return RuntimeFailure("RunContainerError", f"shim: {text}")


async def open_shim() -> anyio.abc.Process:
    """Start a shim waiting for its orders, in a session of its own (signals meant
    for orbit's process group never reach it), in ``/`` with a bare environment (the
    container's comes with the orders)."""
    try:
        return await anyio.open_process(
            shim_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env={"PATH": os.defpath},
            start_new_session=True,
        )
    except OSError as exc:
        raise RuntimeFailure("RunContainerError", f"shim: {os_message(exc)}") from exc


class ShimPool:
    """Shims for a runtime's starts, with at most one spare started ahead (see the
    module docstring); the runtime says when to make one (:meth:`refill`)."""

    def __init__(self) -> None:
        self._spare: anyio.abc.Process | None = None
        self._refilling: anyio.Event | None = None

    async def take(self) -> anyio.abc.Process:
        """A shim ready for orders: the spare (waiting for one being started, which
        is further along than a new one would be), else a new one."""
        if self._refilling is not None:
            await self._refilling.wait()
        shim, self._spare = self._spare, None
        if shim is not None and shim.returncode is None:
            return shim
        if shim is not None:  # it died idle (killed by someone): let it go
            await shim.aclose()
        return await open_shim()

    async def refill(self) -> None:
        """Start the next spare unless one is up or on its way (its interpreter boots
        while orbit goes on). Shielded: a caller cancelled meanwhile would leave a
        started shim behind unreferenced."""
        with anyio.CancelScope(shield=True):
            if self._refilling is not None:
                return
            if self._spare is not None and self._spare.returncode is None:
                return
            self._refilling = refilling = anyio.Event()
            try:
                if self._spare is not None:
                    await self._spare.aclose()
                self._spare = await open_shim()
            finally:
                self._refilling = None
                refilling.set()

    async def close(self) -> None:
        """Stop the idle spare (it supervises nothing)."""
        spare, self._spare = self._spare, None
        if spare is not None:
            with anyio.CancelScope(shield=True):
                if spare.returncode is None:
                    spare.kill()
                await spare.aclose()


async def spawn(
    launch: ContainerLaunch, prepared: Prepared, now: Callable[[], float], pool: ShimPool
) -> tuple[anyio.abc.Process, ContainerRecord]:
    """Start the container under a shim from ``pool`` and write its record; raises
    ``RuntimeFailure`` (no process is left running if it does). Shielded from
    cancellation: a container half started would be running with no record."""
    orders = marshal.dumps(shim_orders(prepared))
    with anyio.CancelScope(shield=True):
        shim = await pool.take()
        answer = await _handshake(shim, orders)
        if "pid" not in answer:
            await shim.aclose()  # it answered, and has ended or is ending
            raise start_failure(answer)
        pid = int(answer["pid"])
        shim_stat = proc.read_stat(shim.pid)
        record = ContainerRecord(
            id=prepared.cid,
            pod_uid=launch.pod_uid,
            name=launch.name,
            restart_count=launch.restart_count,
            pid=pid,
            start_ticks=int(answer.get("start_ticks") or 0),
            started_at=now(),
            log=str(prepared.log),
            root=str(prepared.root),
            cwd=str(prepared.cwd),
            image=launch.image,
            labels=dict(launch.labels),
            ports=launch.ports,
            cgroup=prepared.cgroup.to_json() if prepared.cgroup else None,
            shim_pid=shim.pid,
            shim_start_ticks=shim_stat.start_ticks if shim_stat else 0,
        )
        try:
            record.write(prepared.record_path)
        except OSError as exc:
            proc.kill_group(pid)
            await shim.aclose()  # the shim records the kill and ends
            raise RuntimeFailure("RunContainerError", os_message(exc)) from exc
    return shim, record


_HANDSHAKE_S = 30.0


async def _handshake(shim: anyio.abc.Process, orders: bytes) -> dict[str, Any]:
    """Send the orders, read the answer until the shim lets go of its stdout."""
    assert shim.stdin is not None
    assert shim.stdout is not None
    received = bytearray()
    with anyio.move_on_after(_HANDSHAKE_S):
        try:
            await shim.stdin.send(orders)
            await shim.stdin.aclose()
            async for chunk in shim.stdout:
                received += chunk
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass  # the shim died: judged below by what arrived
        finally:
            await shim.stdout.aclose()
    try:
        answer = marshal.loads(bytes(received)) if received else None
    except (EOFError, ValueError, TypeError):
        answer = None
    if not isinstance(answer, dict):
        if shim.returncode is None:
            shim.kill()
        code = await shim.wait()
        return {"error": f"the shim gave no answer (exit status {code})", "stage": "shim"}
    return answer
