"""ProcessRuntime's launch preparation: env precedence, ports, directories, mounts,
executable lookup with Docker's messages, and the limit launcher's argv."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orbit.runtimes import ContainerLaunch, Mount, PortBinding, RuntimeFailure
from orbit.runtimes._process_spawn import (
    build_env,
    launcher_argv,
    link_mounts,
    port_env,
    resolve_executable,
    root_dir,
    working_dir,
)

HOST = {"PATH": "/usr/bin:/bin", "HOME": "/home/me", "LANG": "C.UTF-8", "SECRET": "host-only"}


def launch(**fields: object) -> ContainerLaunch:
    base: dict[str, object] = {"pod_uid": "uid-1", "pod_name": "web", "namespace": "default"}
    base.setdefault("name", "app")
    base.update(fields)
    return ContainerLaunch(**base)  # type: ignore[arg-type]


def test_port_env_first_port_and_named_ports() -> None:
    ports = (
        PortBinding(name="http-alt", container_port=80, host_port=31001),
        PortBinding(container_port=9090, host_port=31002),
        PortBinding(name="metrics", container_port=9100, host_port=31003),
    )
    assert port_env(ports) == {
        "PORT": "31001",
        "ORBIT_PORT_HTTP_ALT": "31001",
        "ORBIT_PORT_METRICS": "31003",
    }


def test_port_env_falls_back_to_container_port_when_unallocated() -> None:
    assert port_env((PortBinding(name="web", container_port=8080),)) == {
        "PORT": "8080",
        "ORBIT_PORT_WEB": "8080",
    }


def test_env_is_clean_with_host_basics_then_launch_then_orbit() -> None:
    env = build_env(
        launch(
            env={"HOME": "/app", "GREETING": "hi", "PORT": "1"},
            ports=(PortBinding(container_port=80, host_port=31000),),
        ),
        HOST,
    )
    assert env == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/app",
        "LANG": "C.UTF-8",
        "GREETING": "hi",
        "PORT": "31000",
    }


def test_env_gpus_set_cuda_visible_devices_only_when_given() -> None:
    assert "CUDA_VISIBLE_DEVICES" not in build_env(launch(), HOST)
    assert build_env(launch(gpu_ids=("GPU-a", "GPU-b")), HOST)["CUDA_VISIBLE_DEVICES"] == (
        "GPU-a,GPU-b"
    )
    kept = build_env(launch(env={"CUDA_VISIBLE_DEVICES": "3"}), HOST)
    assert kept["CUDA_VISIBLE_DEVICES"] == "3"


def test_env_without_host_path_gets_default_path() -> None:
    assert build_env(launch(), {})["PATH"] == os.defpath


def test_root_dir_under_pod_state_dir_or_runtime_state(tmp_path: Path) -> None:
    assert root_dir(launch(state_dir=str(tmp_path / "pod")), tmp_path / "rt") == (
        tmp_path / "pod" / "containers" / "app"
    )
    assert root_dir(launch(), tmp_path / "rt") == tmp_path / "rt" / "uid-1" / "app" / "root"


def test_working_dir_absolute_relative_and_default(tmp_path: Path) -> None:
    root = tmp_path / "root"
    assert working_dir(launch(), root) == root
    assert working_dir(launch(working_dir="src/app"), root) == root / "src" / "app"
    assert working_dir(launch(working_dir="/srv"), root) == Path("/srv")


def test_mounts_become_symlinks_under_root(tmp_path: Path) -> None:
    source = tmp_path / "volume"
    source.mkdir()
    (source / "data.txt").write_text("x")
    root = tmp_path / "root"
    link_mounts((Mount(source=str(source), target="/var/data"),), root)
    assert (root / "var" / "data").is_symlink()
    assert (root / "var" / "data" / "data.txt").read_text() == "x"
    # a second start (restart) replaces the link
    link_mounts((Mount(source=str(source), target="/var/data"),), root)
    assert (root / "var" / "data" / "data.txt").read_text() == "x"


@pytest.mark.parametrize("target", ["/", "../escape", "/a/../../b"])
def test_mount_targets_that_leave_the_root_are_refused(tmp_path: Path, target: str) -> None:
    with pytest.raises(RuntimeFailure) as caught:
        link_mounts((Mount(source=str(tmp_path), target=target),), tmp_path / "root")
    assert caught.value.reason == "CreateContainerError"


def test_mount_over_a_real_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "keep").write_text("x")
    with pytest.raises(RuntimeFailure, match="cannot make mount"):
        link_mounts((Mount(source=str(tmp_path), target="/data"),), root)


def test_executable_found_on_the_container_path(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert resolve_executable("tool", {"PATH": str(tmp_path)}, tmp_path) == str(tool)
    assert resolve_executable("./tool", {"PATH": ""}, tmp_path) == str(tmp_path / "./tool")


def test_missing_executable_gives_dockers_message(tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailure) as caught:
        resolve_executable("foo", {"PATH": str(tmp_path)}, tmp_path)
    assert caught.value.reason == "ContainerCannotRun"
    assert caught.value.message == 'exec: "foo": executable file not found in $PATH'


def test_missing_path_and_not_executable_messages(tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailure) as missing:
        resolve_executable("/nonexistent/x", {}, tmp_path)
    assert missing.value.message == (
        'exec: "/nonexistent/x": stat /nonexistent/x: no such file or directory'
    )
    plain = tmp_path / "plain"
    plain.write_text("")
    plain.chmod(0o644)
    with pytest.raises(RuntimeFailure) as denied:
        resolve_executable(str(plain), {}, tmp_path)
    assert denied.value.message == f'exec: "{plain}": permission denied'


def test_launcher_is_not_used_without_limits() -> None:
    assert launcher_argv(["perl", "-e", "print 1"]) == ("perl", "-e", "print 1")


def test_launcher_joins_cgroups_then_execs_argv_verbatim() -> None:
    argv = launcher_argv(["echo", "$HOME", "a b"], cgroup_procs=["/cg/m/procs", "/cg/c/procs"])
    assert argv[:2] == ("/bin/sh", "-c")
    assert argv[3:] == ("orbit-launch", "/cg/m/procs", "/cg/c/procs", "echo", "$HOME", "a b")
    assert argv[2] == 'echo $$ >"$1" && echo $$ >"$2" || exit 125; shift 2; exec "$@"'


def test_launcher_sets_rlimit_data_in_kib() -> None:
    argv = launcher_argv(["true"], data_limit_bytes=64 * 1024 * 1024)
    assert argv == (
        "/bin/sh",
        "-c",
        'ulimit -d 65536 || exit 125; exec "$@"',
        "orbit-launch",
        "true",
    )
