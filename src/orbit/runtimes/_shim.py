"""The container shim: a tiny supervisor between ProcessRuntime and a container process.

Container engines keep one small process per container (containerd-shim, conmon) so
that a container outlives the daemon that started it and its exit status is not lost
when nobody is watching. ProcessRuntime does the same: it runs this file as
``python -I -S _shim.py`` (by path, not ``-m``, so no orbit module is imported and it
starts in about 10 ms) in a session of its own (no terminal), and the shim

1. reads its orders from stdin (a ``marshal``-encoded dict: executable, argv, env,
   working directory, log file, exit-status file, cgroups to join, ``RLIMIT_DATA``,
   supplementary groups, the cgroup's OOM counter);
2. forks the container: the child leads a process group of its own (which ``stop``
   signals as a whole; the shim sets it up too, so it exists before the answer),
   points stdin at ``/dev/null`` and stdout/stderr at the log, joins its cgroups, sets
   the rlimit and the supplementary groups, changes directory and ``execve``s;
3. answers on stdout (``marshal``: ``{"pid", "start_ticks"}``, or ``{"error",
   "stage"}`` when even the log cannot be opened) as soon as the child exists, and lets
   go of both pipes, so orbit may exit at any time from then on. The child's own steps
   take a few milliseconds (joining a cgroup v1 memory hierarchy alone can take 5), so
   a start is not held up by them, as it was not when a shell launcher did them; a
   step that fails is reported through a close-on-exec pipe, the program never runs
   unconfined, and the container ends as Docker reports a container it could not
   start: exit 127 (no such file), 126 (permission denied) or 128, with the message;
4. waits for the child, kills what is left of its process group and cgroup (a
   container ends as a whole, as a pid namespace does), and writes
   ``{"exit_code", "signal", "oom_killed", "finished_at"}`` (and ``"error"`` when it
   never ran) as JSON to the exit-status file, atomically (write, then rename); then
   it exits.

The shim blocks SIGHUP, SIGINT, SIGQUIT and SIGTERM, which are meant for orbit or the
container, never for it. Blocked rather than ignored: the child unblocks them first
thing, so a SIGTERM that ``stop`` sends before the exec is held, then ends the child
as it would end the program (an ignored one would be lost). The child also gets
SIGPIPE and SIGXFSZ back at their defaults, which Python's start-up had changed. Only
the standard library's built-in modules are imported; the module's functions are also
imported by orbit's tests.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's enum import costs 4 ms
import marshal
import os
import time

TYPE_CHECKING = False  # not typing's: importing typing would cost the shim milliseconds
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "exit_code_of",
    "exit_status_json",
    "json_string",
    "main",
    "parse_start_ticks",
    "start_failure",
]

_GUARDED = {_signal.SIGHUP, _signal.SIGINT, _signal.SIGQUIT, _signal.SIGTERM}
_RESET = (_signal.SIGPIPE, _signal.SIGXFSZ)


def exit_code_of(wait_status: int) -> tuple[int, int]:
    """``(exit code, signal)`` of a ``waitpid`` status: a signal *n* gives ``128 + n``,
    as Kubernetes and Docker report it (137 for SIGKILL)."""
    if os.WIFSIGNALED(wait_status):
        number = os.WTERMSIG(wait_status)
        return 128 + number, number
    return os.WEXITSTATUS(wait_status), 0


def json_string(text: str) -> str:
    """``text`` as a JSON string literal (the json module would cost an import)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def exit_status_json(
    exit_code: int, signal: int, oom_killed: bool, finished_at: float, error: str = ""
) -> str:
    """The exit-status file's text (``error``: why the container never ran)."""
    text = (
        f'{{"exit_code": {int(exit_code)}, "signal": {int(signal)}, '
        f'"oom_killed": {"true" if oom_killed else "false"}, '
        f'"finished_at": {float(finished_at)!r}'
    )
    return text + (f', "error": {json_string(error)}}}' if error else "}")


def start_failure(stage: str, errno: int, text: str, argv0: str, cwd: str) -> tuple[int, str]:
    """``(exit code, message)`` of a container whose start failed at ``stage``, in
    Docker's words and codes (moby's ``translateContainerdStartErr``: 127 for a
    command that does not exist, 126 for one that cannot be invoked, else 128)."""
    reason = os.strerror(errno).lower() if errno else text
    if stage == "exec":
        code = 127 if errno == 2 else 126 if errno == 13 else 128  # ENOENT, EACCES
        return code, f'exec: "{argv0}": {reason}'
    if stage == "chdir":
        return 128, f'chdir to cwd ("{cwd}") set in config.json failed: {reason}'
    return 128, f"{stage}: {reason}"


def parse_start_ticks(stat_text: str) -> int:
    """Field 22 (starttime) of ``/proc/<pid>/stat``; 0 when it does not parse."""
    fields = stat_text.rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else 0


def _oom_kills(path: str, key: str) -> int:
    """The cgroup's OOM-kill counter (``memory.events`` / ``memory.oom_control``)."""
    try:
        with open(path) as stream:
            for line in stream:
                parts = line.split()
                if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
                    return int(parts[1])
    except OSError:
        pass
    return 0


def _kill(pid: int, *, group: bool = False) -> None:
    """SIGKILL a process (or group) that may be gone already (contextlib would cost
    the shim's start-up an import)."""
    try:
        (os.killpg if group else os.kill)(pid, _signal.SIGKILL)
    except OSError:
        return


def _sweep(pgid: int, procs_files: list[str]) -> None:
    """SIGKILL what is left of the container's process group and cgroups."""
    _kill(pgid, group=True)
    for path in procs_files:
        try:
            with open(path) as stream:
                pids = [int(word) for word in stream.read().split() if word.isdigit()]
        except OSError:
            continue
        for pid in pids:
            _kill(pid)


def _add_groups(groups: list[int]) -> None:
    """``setgroups``, unless it is not permitted (root without CAP_SETGID, in a user
    namespace): the groups are then not applied, as for an orbit that is not root."""
    try:
        os.setgroups(groups)
    except PermissionError:
        return


def _child(orders: dict[str, Any], log_fd: int, null_fd: int, report_fd: int) -> None:
    """In the forked child: confine, redirect and exec; never returns."""
    stage = "signals"
    try:
        for number in _RESET:
            _signal.signal(number, _signal.SIG_DFL)
        _signal.pthread_sigmask(_signal.SIG_SETMASK, orders["sigmask"])  # may end it here
        stage = "setpgid"
        os.setpgid(0, 0)
        # let go of the pipes to orbit (which waits for their end), then confine
        os.dup2(null_fd, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        stage = "cgroup"
        pid = str(os.getpid()).encode()
        for path in orders["cgroup_procs"]:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        limit = int(orders["data_limit"])
        if limit > 0:
            stage = "rlimit"
            import resource  # noqa: PLC0415 - only when needed: a few ms of start-up

            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        groups = list(orders["groups"])
        if groups:
            stage = "setgroups"
            _add_groups(groups)
        stage = "chdir"
        os.chdir(str(orders["cwd"]))
        stage = "exec"
        os.execve(str(orders["path"]), list(orders["argv"]), dict(orders["env"]))
    except BaseException as error:  # report anything; the program must not run
        text = f"{stage}\0{getattr(error, 'errno', 0) or 0}\0{error}"
        try:
            os.write(report_fd, text.encode("utf-8", errors="replace"))
        finally:
            os._exit(127)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _answer(message: dict[str, Any], null_fd: int) -> None:
    """Send the answer on stdout, then let go of both pipes (orbit may now exit)."""
    try:  # noqa: SIM105 - contextlib would cost the shim an import
        os.write(1, marshal.dumps(message))
    except OSError:  # orbit stopped listening: the container runs on regardless
        pass
    os.dup2(null_fd, 0)
    os.dup2(null_fd, 1)


def _start(orders: dict[str, Any], null_fd: int) -> tuple[int, int] | None:
    """Fork the container and answer with its pid at once; ``(pid, the read end of
    the pipe its failure would come through)``, or ``None`` once a failure was
    answered."""
    try:
        log_fd = os.open(str(orders["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as error:
        _answer({"error": f"{error.strerror}: {error.filename}", "stage": "log"}, null_fd)
        return None
    read_fd, write_fd = os.pipe()  # close-on-exec: EOF means the exec happened
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(orders, log_fd, null_fd, write_fd)
    _own_group(pid)
    os.close(write_fd)
    os.close(log_fd)
    try:
        with open(f"/proc/{pid}/stat") as stream:
            ticks = parse_start_ticks(stream.read())
    except OSError:
        ticks = 0
    _answer({"pid": pid, "start_ticks": ticks}, null_fd)
    return pid, read_fd


def _own_group(pid: int) -> None:
    """Make the child lead its process group from here too, so that the group exists
    before orbit hears of the child (whichever of the two does it first wins)."""
    try:
        os.setpgid(pid, pid)
    except OSError:  # it did so and exec'd already (EACCES), or it is gone (ESRCH)
        return


def _failure(orders: dict[str, Any], read_fd: int) -> tuple[int, str] | None:
    """Why the child never ran its program (``None``: it did), from the pipe, as
    ``(exit code, message)``."""
    report = _read_all(read_fd)
    os.close(read_fd)
    if not report:
        return None
    stage, errno, text = [*report.decode("utf-8", errors="replace").split("\0"), "", ""][:3]
    argv0 = str(orders["argv"][0]) if orders["argv"] else ""
    return start_failure(stage, int(errno or 0), text, argv0, str(orders["cwd"]))


def _record_exit(orders: dict[str, Any], pid: int, failure: tuple[int, str] | None) -> None:
    """Wait for the child, sweep what it left, write the exit status atomically."""
    _, status = os.waitpid(pid, 0)
    finished_at = time.time()  # noqa: TID251 - the shim is its own process, on the wall clock
    code, number = exit_code_of(status)
    error = ""
    if failure is not None:  # the child's own exit status means nothing: Docker's code
        (code, error), number = failure, 0
    _sweep(pid, list(orders["cgroup_procs"]))
    oom_file = str(orders["oom_file"])
    oom = bool(oom_file) and _oom_kills(oom_file, "oom_kill") > int(orders["oom_baseline"])
    target = str(orders["exit"])
    temporary = target + ".tmp"
    with open(temporary, "w") as stream:
        stream.write(exit_status_json(code, number, oom, finished_at, error))
    os.replace(temporary, target)


def main() -> int:
    """Run one container to its end (see the module docstring)."""
    original = _signal.pthread_sigmask(_signal.SIG_BLOCK, _GUARDED)
    received = _read_all(0)
    if not received:  # a spare never used: its runtime closed, or orbit is gone
        return 0
    orders: dict[str, Any] = marshal.loads(received)
    orders["sigmask"] = original
    null_fd = os.open(os.devnull, os.O_RDWR)
    started = _start(orders, null_fd)
    if started is None:
        return 0
    pid, read_fd = started
    _record_exit(orders, pid, _failure(orders, read_fd))
    return 0


if __name__ == "__main__":
    os._exit(main())  # no interpreter teardown: the container's end is reported already
