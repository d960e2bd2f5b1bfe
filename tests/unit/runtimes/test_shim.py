"""The container shim's pure pieces and what ProcessRuntime tells it: exit codes from
wait statuses, the exit-status file (written by the shim, read by orbit) and how it
reads as a container status, the start time, the orders, supplementary groups and
start failures in Docker's words and codes."""

from __future__ import annotations

import errno
import json
import marshal
import signal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.runtimes import RuntimeFailure
from orbit.runtimes._process_cgroups import Cgroup
from orbit.runtimes._process_records import (
    UNKNOWN_EXIT,
    ExitStatus,
    read_exit_status,
    termination,
)
from orbit.runtimes._process_shims import SHIM_PATH, shim_command, shim_orders
from orbit.runtimes._process_shims import start_failure as orbit_start_failure
from orbit.runtimes._process_spawn import Prepared, supplementary_groups
from orbit.runtimes._shim import (
    exit_code_of,
    exit_status_json,
    json_string,
    parse_start_ticks,
    start_failure,
)


def test_an_exit_status_is_its_code_and_a_signal_128_plus_its_number() -> None:
    assert exit_code_of(0) == (0, 0)
    assert exit_code_of(3 << 8) == (3, 0)  # exited with 3
    assert exit_code_of(signal.SIGKILL) == (137, signal.SIGKILL)  # killed
    assert exit_code_of(signal.SIGTERM | 0x80) == (143, signal.SIGTERM)  # with a core dump


@given(
    code=st.integers(0, 255),
    number=st.integers(0, 64),
    oom=st.booleans(),
    at=st.floats(0, 4e9, allow_nan=False),
    error=st.text(),
)
def test_the_exit_status_file_reads_back_as_written(
    tmp_path_factory: pytest.TempPathFactory,
    code: int,
    number: int,
    oom: bool,
    at: float,
    error: str,
) -> None:
    path = tmp_path_factory.mktemp("exit") / "0.exit"
    path.write_text(exit_status_json(code, number, oom, at, error))
    assert read_exit_status(path) == ExitStatus(
        exit_code=code, signal=number, oom_killed=oom, finished_at=at, error=error
    )


def test_a_missing_or_damaged_exit_status_is_none(tmp_path: Path) -> None:
    assert read_exit_status(tmp_path / "absent.exit") is None
    (tmp_path / "half.exit").write_text('{"exit_code": 3')
    assert read_exit_status(tmp_path / "half.exit") is None
    (tmp_path / "odd.exit").write_text(json.dumps({"exit_code": "x", "finished_at": 1}))
    assert read_exit_status(tmp_path / "odd.exit") is None


def test_start_ticks_are_counted_after_the_command_name() -> None:
    stat = "42 (a (b) c) S 1 42 42 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 987654 100 5"
    assert parse_start_ticks(stat) == 987654
    assert parse_start_ticks("42 (x) S 1") == 0


def test_the_shim_runs_isolated_by_path_so_no_orbit_module_is_imported() -> None:
    command = shim_command()
    assert command[1:3] == ("-I", "-S")
    assert command[3] == str(SHIM_PATH)
    source = SHIM_PATH.read_text()
    imported = {line.split()[1] for line in source.splitlines() if line.startswith("import ")}
    assert imported == {"_signal", "marshal", "os", "time"}
    assert "from orbit" not in source


def prepared(tmp_path: Path, **fields: object) -> Prepared:
    values: dict[str, object] = {
        "cid": "uid/app/0",
        "executable": "/bin/sh",
        "argv": ("sh", "-c", "exit 3"),
        "env": {"PATH": "/bin", "SECRET": "s3cr3t"},
        "root": tmp_path / "root",
        "cwd": tmp_path / "root",
        "log": tmp_path / "uid" / "app" / "0.log",
        "record_path": tmp_path / "uid" / "app" / "0.json",
        "cgroup": None,
    }
    values.update(fields)
    return Prepared(**values)  # type: ignore[arg-type]


def test_orders_carry_plain_values_and_point_the_exit_file_next_to_the_log(
    tmp_path: Path,
) -> None:
    orders = shim_orders(prepared(tmp_path, data_limit_bytes=1 << 20, groups=(0, 2000)))
    assert marshal.loads(marshal.dumps(orders)) == orders  # what the pipe carries
    assert orders == {
        "path": "/bin/sh",
        "argv": ["sh", "-c", "exit 3"],
        "env": {"PATH": "/bin", "SECRET": "s3cr3t"},
        "cwd": str(tmp_path / "root"),
        "log": str(tmp_path / "uid" / "app" / "0.log"),
        "exit": str(tmp_path / "uid" / "app" / "0.exit"),
        "cgroup_procs": [],
        "data_limit": 1 << 20,
        "groups": [0, 2000],
        "oom_file": "",
        "oom_baseline": 0,
    }


def test_orders_name_the_cgroups_to_join_and_the_oom_counter(tmp_path: Path) -> None:
    group = Cgroup(version=1, dirs={"memory": "/cg/memory/x", "cpu": "/cg/cpu/x"}, oom_baseline=2)
    orders = shim_orders(prepared(tmp_path, cgroup=group))
    assert orders["cgroup_procs"] == ["/cg/memory/x/cgroup.procs", "/cg/cpu/x/cgroup.procs"]
    assert (orders["oom_file"], orders["oom_baseline"]) == ("/cg/memory/x/memory.oom_control", 2)
    assert orders["data_limit"] == 0  # the cgroup limits memory


def test_supplementary_groups_are_added_to_orbits_own_by_root_only() -> None:
    assert supplementary_groups((), euid=0, current=(0,)) == ()
    assert supplementary_groups((2000, 3000, 2000), euid=0, current=(0, 3000)) == (0, 3000, 2000)
    assert supplementary_groups((2000,), euid=1000, current=(1000,)) == ()


@pytest.mark.parametrize(
    ("stage", "errno", "code", "message"),
    [
        ("exec", errno.ENOEXEC, 128, 'exec: "app": exec format error'),
        ("exec", errno.EACCES, 126, 'exec: "app": permission denied'),
        ("exec", errno.ENOENT, 127, 'exec: "app": no such file or directory'),
        (
            "chdir",
            errno.ENOENT,
            128,
            'chdir to cwd ("/srv") set in config.json failed: no such file or directory',
        ),
        ("cgroup", errno.ENOSPC, 128, "cgroup: no space left on device"),
        ("rlimit", 0, 128, "rlimit: not supported"),
    ],
)
def test_a_start_that_fails_in_the_child_ends_as_docker_reports_it(
    stage: str, errno: int, code: int, message: str
) -> None:
    assert start_failure(stage, errno, "not supported", "app", "/srv") == (code, message)


def test_failures_before_the_fork_are_runtime_failures() -> None:
    log = orbit_start_failure({"stage": "log", "error": "Permission denied: /x.log"})
    assert (log.reason, log.message) == (
        "CreateContainerError",
        "cannot open the log: Permission denied: /x.log",
    )
    silent = orbit_start_failure({"stage": "shim", "error": "no answer (exit status 1)"})
    assert isinstance(silent, RuntimeFailure)
    assert (silent.reason, silent.message) == (
        "RunContainerError",
        "shim: no answer (exit status 1)",
    )


@given(st.text())
def test_json_strings_read_back(text: str) -> None:
    assert json.loads(json_string(text)) == text


def test_how_an_ended_container_is_reported() -> None:
    def ended(**fields: object) -> ExitStatus:
        return ExitStatus(**{"exit_code": 0, "finished_at": 1.0, **fields})  # type: ignore[arg-type]

    assert termination(ended(), oom_seen=False) == (0, 0, "Completed", "")
    assert termination(ended(exit_code=3), oom_seen=False) == (3, 0, "Error", "")
    assert termination(ended(exit_code=137, signal=9), oom_seen=False) == (137, 9, "Error", "")
    oom = (137, 9, "OOMKilled", "")
    assert termination(ended(exit_code=137, signal=9, oom_killed=True), oom_seen=False) == oom
    assert termination(ended(exit_code=137, signal=9), oom_seen=True) == oom
    cannot = ended(exit_code=128, error='exec: "x": exec format error')
    assert termination(cannot, oom_seen=False) == (
        128,
        0,
        "ContainerCannotRun",
        'exec: "x": exec format error',
    )
    assert termination(None, oom_seen=False) == (137, 0, "ContainerStatusUnknown", UNKNOWN_EXIT)
    assert termination(None, oom_seen=True) == (137, 0, "OOMKilled", "")
