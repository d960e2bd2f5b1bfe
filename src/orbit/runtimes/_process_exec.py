"""ProcessRuntime's exec probe: a command run "in" the container.

The command runs as the container's processes do: in its working directory, with the
env the launch resolves to, joined to its cgroup when it has one (so the probe's cost
counts against the container, as with ``kubectl exec``), in a session of its own that
is killed when the probe ends. Success is exit code 0; the message is the command's
output (at most 10 KiB, as the kubelet keeps), or ``command "..." timed out``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio

from . import _process_proc as proc
from ._process_spawn import launcher_argv, os_message, resolve_executable
from ._protocol import ProbeOutcome, RuntimeFailure

__all__ = ["exec_probe"]

_OUTPUT_MAX = 10 * 1024


async def exec_probe(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    cgroup_procs: Sequence[str] = (),
    timeout_s: float,
) -> ProbeOutcome:
    """Run ``command`` once within ``timeout_s``; never raises for what the command does."""
    if not command:
        return ProbeOutcome(success=False, message="exec probe has no command")
    try:
        resolve_executable(command[0], env, cwd)
        process = await anyio.open_process(
            launcher_argv(command, cgroup_procs=cgroup_procs),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except RuntimeFailure as failure:
        return ProbeOutcome(success=False, message=failure.message)
    except OSError as exc:
        return ProbeOutcome(success=False, message=f'exec: "{command[0]}": {os_message(exc)}')
    output = bytearray()
    async with process:
        with anyio.move_on_after(timeout_s) as scope:
            assert process.stdout is not None
            async for chunk in process.stdout:
                output += chunk[: max(0, _OUTPUT_MAX - len(output))]
            await process.wait()
        # the probe's session goes, whatever it left running (or all of it on timeout)
        proc.kill_group(process.pid)
    if scope.cancelled_caught:
        return ProbeOutcome(success=False, message=f'command "{" ".join(command)}" timed out')
    message = output.decode("utf-8", errors="replace")
    return ProbeOutcome(success=process.returncode == 0, message=message)
