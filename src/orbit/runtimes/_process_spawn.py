"""How ProcessRuntime prepares a :class:`ContainerLaunch` for its shim
(``_process_shims``): the environment, the executable, the directories, the cgroup.

- **Environment**: a clean one, not orbit's own. From the host only ``PATH``, ``HOME``
  and ``LANG`` are passed (a program needs them to find binaries and its locale; a
  container image would set them), then the launch's env (which may override them),
  then what orbit allocated, which wins: ``PORT`` (the first declared port's host port),
  ``ORBIT_PORT_<NAME>`` per named port (upper-cased, ``-`` to ``_``) and, when the
  scheduler gave GPUs, ``CUDA_VISIBLE_DEVICES`` with their ids. Without GPUs
  ``CUDA_VISIBLE_DEVICES`` is left as the launch set it (unset by default), so a GPU
  program sees every GPU of the host — a process cannot be fenced off devices.
- **Directories**: each container has a root directory, ``containers/<name>`` under the
  pod's ``state_dir`` (it survives restarts, like an emptyDir, and goes with the pod;
  without a pod ``state_dir``, ``<pod_uid>/<name>/root`` under the runtime's).
  The working directory is ``working_dir`` when it is absolute (it must exist: orbit
  does not create directories elsewhere on the host), else that path under the root.
- **Mounts**: a process cannot mount; each :class:`Mount` becomes a symlink at its
  target path taken relative to the root (``/data`` -> ``<root>/data``), so a program
  running in its default working directory finds ``data/...``. Absolute paths do not
  see mounts, and ``read_only`` is not enforced.
- **Shim**: the container is not orbit's child but its shim's (``_shim``, run as
  ``python -I -S _shim.py`` in a session of its own): the shim forks the container,
  which joins its cgroups, gets its ``RLIMIT_DATA`` and supplementary groups and then
  ``execve``s the argv unchanged (no shell, no word splitting), so nothing the program
  allocates escapes its limits and no ``preexec_fn`` runs in orbit's threaded process.
  The shim outlives orbit and writes the exit status (code, signal, OOM kill, time) to
  the container's ``.exit`` file, so a later orbit process learns how a container
  ended while no orbit was running.
- **Groups**: the launch's ``group_add`` (the pod's ``fsGroup`` and
  ``supplementalGroups``) are added to the supplementary groups orbit itself has, when
  orbit runs as root (``setgroups`` needs ``CAP_SETGID``); otherwise they are not
  applied (documented in docs/runtimes.md).
- **Launcher**: exec probes are not supervised; they join the container's cgroups
  through ``/bin/sh -c 'echo $$ > cgroup.procs ...; exec "$@"'``
  (:func:`launcher_argv`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from ._process_cgroups import Cgroup, CgroupLayout
from ._protocol import ContainerLaunch, Mount, PortBinding, RuntimeFailure

__all__ = [
    "HOST_ENV_KEYS",
    "Prepared",
    "build_env",
    "chdir_message",
    "launcher_argv",
    "link_mounts",
    "os_message",
    "port_env",
    "prepare",
    "resolve_executable",
    "root_dir",
    "supplementary_groups",
    "working_dir",
]

HOST_ENV_KEYS = ("PATH", "HOME", "LANG")
"""The host variables every process container inherits (unless its env sets them)."""
_SHELL = "/bin/sh"


def port_env(ports: Sequence[PortBinding]) -> dict[str, str]:
    """``PORT`` and ``ORBIT_PORT_<NAME>`` for the allocated ports (Nomad-style)."""
    env: dict[str, str] = {}
    for index, binding in enumerate(ports):
        port = str(binding.host_port or binding.container_port)
        if index == 0:
            env["PORT"] = port
        if binding.name:
            env["ORBIT_PORT_" + re.sub(r"[^A-Za-z0-9_]", "_", binding.name).upper()] = port
    return env


def build_env(launch: ContainerLaunch, host_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The container's environment (see the module docstring for the precedence)."""
    source = os.environ if host_env is None else host_env
    env = {key: source[key] for key in HOST_ENV_KEYS if key in source}
    env.setdefault("PATH", os.defpath)
    env.update(launch.env)
    env.update(port_env(launch.ports))
    if launch.gpu_ids:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(launch.gpu_ids)
    return env


def root_dir(launch: ContainerLaunch, runtime_state_dir: Path) -> Path:
    """The container's own directory: under the pod's ``state_dir`` if the agent gave
    one, else under the runtime's state directory."""
    if launch.state_dir:
        return Path(launch.state_dir) / "containers" / launch.name
    return runtime_state_dir / launch.pod_uid / launch.name / "root"


def working_dir(launch: ContainerLaunch, root: Path) -> Path:
    """Where the process starts (see the module docstring)."""
    if launch.working_dir and os.path.isabs(launch.working_dir):
        return Path(launch.working_dir)
    return root / launch.working_dir if launch.working_dir else root


def link_mounts(mounts: Sequence[Mount], root: Path) -> None:
    """Make each mount visible as a symlink under ``root``; raises ``RuntimeFailure``
    when something that is not a symlink is in the way."""
    for mount in mounts:
        relative = mount.target.lstrip("/")
        if not relative or ".." in Path(relative).parts:
            raise RuntimeFailure(
                "CreateContainerError", f"invalid mount target {mount.target!r} for a process"
            )
        link = root / relative
        try:
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink():
                link.unlink()
            link.symlink_to(os.path.abspath(mount.source), target_is_directory=True)
        except OSError as exc:
            raise RuntimeFailure(
                "CreateContainerError",
                f"cannot make mount {mount.source} visible at {link}: {exc.strerror or exc}",
            ) from exc


def resolve_executable(argv0: str, env: Mapping[str, str], cwd: Path) -> str:
    """The file ``argv0`` runs, found as ``execvp`` would with the container's ``PATH``;
    raises ``RuntimeFailure("ContainerCannotRun")`` with Docker's message otherwise."""
    if "/" in argv0:
        path = argv0 if os.path.isabs(argv0) else str(cwd / argv0)
        if not os.path.exists(path):
            raise RuntimeFailure(
                "ContainerCannotRun", f'exec: "{argv0}": stat {argv0}: no such file or directory'
            )
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise RuntimeFailure("ContainerCannotRun", f'exec: "{argv0}": permission denied')
        return path
    found = shutil.which(argv0, path=env.get("PATH", os.defpath))
    if found is None:
        raise RuntimeFailure(
            "ContainerCannotRun", f'exec: "{argv0}": executable file not found in $PATH'
        )
    return found


def launcher_argv(
    argv: Sequence[str], *, cgroup_procs: Sequence[str] = (), data_limit_bytes: int = 0
) -> tuple[str, ...]:
    """``argv`` itself, or prefixed with the shell launcher that joins the cgroups
    (``cgroup_procs`` files) and sets ``RLIMIT_DATA`` before it execs ``argv``.

    The launcher exits 125 (Docker's "the runtime failed" code) if a step fails, so
    the program never runs unconfined.
    """
    if not cgroup_procs and data_limit_bytes <= 0:
        return tuple(argv)
    steps = [f'echo $$ >"${index}"' for index in range(1, len(cgroup_procs) + 1)]
    if data_limit_bytes > 0:
        steps.append(f"ulimit -d {max(1, data_limit_bytes // 1024)}")
    script = " && ".join(steps) + " || exit 125; "
    if cgroup_procs:
        script += f"shift {len(cgroup_procs)}; "
    script += 'exec "$@"'
    return (_SHELL, "-c", script, "orbit-launch", *cgroup_procs, *argv)


def os_message(exc: OSError) -> str:
    """An OS error in Go's lower-case style (``permission denied: /path``)."""
    text = exc.strerror or str(exc)
    text = text[0].lower() + text[1:] if text else "unknown error"
    return f"{text}: {exc.filename}" if exc.filename and exc.strerror else text


@attrs.frozen(kw_only=True)
class Prepared:
    """A launch made ready to exec: directories exist, mounts are linked, the
    executable was found and the cgroup (if any) holds the limits."""

    cid: str
    executable: str
    argv: tuple[str, ...]
    env: dict[str, str]
    root: Path
    cwd: Path
    log: Path
    record_path: Path
    cgroup: Cgroup | None
    data_limit_bytes: int = 0
    groups: tuple[int, ...] = ()


def supplementary_groups(
    group_add: Sequence[int], *, euid: int, current: Sequence[int]
) -> tuple[int, ...]:
    """The supplementary groups to give the container: orbit's own plus ``group_add``
    (in order, without repeats); empty (leave them as inherited) when there is nothing
    to add, or when orbit is not root and so may not call ``setgroups``."""
    if not group_add or euid != 0:
        return ()
    return tuple(dict.fromkeys([*current, *group_add]))


def prepare(
    launch: ContainerLaunch, cid: str, state_dir: Path, layout: CgroupLayout | None
) -> Prepared:
    """Everything before the exec; raises ``RuntimeFailure`` (the cgroup is made last,
    so a failure leaves none behind)."""
    root = root_dir(launch, state_dir)
    cwd = working_dir(launch, root)
    log = state_dir / f"{cid}.log"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if cwd != root and not os.path.isabs(launch.working_dir):
            cwd.mkdir(parents=True, exist_ok=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.with_suffix(".exit").unlink(missing_ok=True)  # an earlier attempt's end
    except OSError as exc:
        raise RuntimeFailure("CreateContainerError", os_message(exc)) from exc
    if not cwd.is_dir():
        raise RuntimeFailure("ContainerCannotRun", chdir_message(cwd))
    link_mounts(launch.mounts, root)
    env = build_env(launch)
    executable = resolve_executable(launch.argv[0], env, cwd)
    cgroup = _make_cgroup(launch, layout)
    return Prepared(
        cid=cid,
        executable=executable,
        argv=tuple(launch.argv),
        env=env,
        root=root,
        cwd=cwd,
        log=log,
        record_path=state_dir / f"{cid}.json",
        cgroup=cgroup,
        data_limit_bytes=0 if cgroup else launch.memory_limit_bytes,
        groups=supplementary_groups(launch.group_add, euid=os.geteuid(), current=os.getgroups()),
    )


def chdir_message(cwd: Path) -> str:
    """runc's words for a working directory that is not there."""
    return f'chdir to cwd ("{cwd}") set in config.json failed: no such file or directory'


def _make_cgroup(launch: ContainerLaunch, layout: CgroupLayout | None) -> Cgroup | None:
    if layout is None:
        return None
    name = f"{launch.pod_uid}-{launch.name}-{launch.restart_count}"
    try:
        return Cgroup.create(
            layout,
            name,
            memory_limit_bytes=launch.memory_limit_bytes,
            cpu_limit_millis=launch.cpu_limit_millis,
            cpu_request_millis=launch.cpu_request_millis,
        )
    except OSError as exc:
        message = f"cannot create cgroup {name}: {os_message(exc)}"
        raise RuntimeFailure("CreateContainerError", message) from exc
