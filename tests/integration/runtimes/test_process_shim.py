"""ProcessRuntime's shims against real processes: a container outlives the orbit process
that started it and its exit status is recorded while no orbit runs (code, signal, OOM
kill), a shim that dies leaves ContainerStatusUnknown, failures before the exec are
start failures, and supplementary groups reach the process."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from orbit.runtimes import ContainerLaunch, ContainerReport, RuntimeFailure
from orbit.runtimes._process import ProcessRuntime

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

MakeLaunch = Callable[..., ContainerLaunch]

WAIT_FOR_GO = "echo up; while [ ! -e go ]; do sleep 0.02; done; "
STARTER = """
import sys
import anyio
from orbit.runtimes import CLUSTER_LABEL, ContainerLaunch
from orbit.runtimes._process import ProcessRuntime

async def main() -> None:
    state, uid, cluster, script, pod_dir, memory = sys.argv[1:7]
    launch = ContainerLaunch(
        pod_uid=uid, pod_name="demo", namespace="default", name="main",
        argv=("sh", "-c", script), labels={CLUSTER_LABEL: cluster}, state_dir=pod_dir,
        memory_limit_bytes=int(memory),
    )
    print((await ProcessRuntime(state).start(launch)).id, flush=True)

anyio.run(main)
"""


async def start_elsewhere(
    state_dir: Path, launch: ContainerLaunch, script: str, memory_limit_bytes: int = 0
) -> str:
    """Start a container from another Python process, which then exits: as an orbit
    process that started a pod and went away."""
    result = await anyio.run_process(
        [
            sys.executable,
            "-c",
            STARTER,
            str(state_dir),
            launch.pod_uid,
            launch.labels["orbit.dev/cluster"],
            script,
            launch.state_dir,
            str(memory_limit_bytes),
        ]
    )
    return result.stdout.decode().strip()


def root_of(launch: ContainerLaunch) -> Path:
    return Path(launch.state_dir) / "containers" / launch.name


async def until_ended(runtime: ProcessRuntime, cluster_id: str) -> ContainerReport:
    """Poll what a fresh runtime lists until the one container has ended."""
    with anyio.fail_after(20):
        while True:
            (found,) = await runtime.list_running(cluster_id)
            if found.state == "terminated":
                return found
            await anyio.sleep(0.05)


async def test_an_exit_while_no_orbit_runs_is_recorded_by_the_shim(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path, cluster_id: str
) -> None:
    launch = make_launch()
    cid = await start_elsewhere(state_dir, launch, WAIT_FOR_GO + "exit 3")
    later = ProcessRuntime(state_dir)  # the orbit process that started it is gone
    (running,) = await later.list_running(cluster_id)
    assert (running.id, running.state) == (cid, "running")
    (root_of(launch) / "go").write_text("")
    ended = await until_ended(ProcessRuntime(state_dir), cluster_id)
    assert (ended.id, ended.exit_code, ended.signal, ended.reason) == (cid, 3, 0, "Error")
    assert ended.started_at is not None
    assert ended.finished_at is not None
    assert ended.finished_at >= ended.started_at
    status = json.loads((state_dir / f"{cid}.exit").read_text())
    assert (status["exit_code"], status["oom_killed"]) == (3, False)
    assert [line async for line in later.logs(cid)] == ["up"]


async def test_a_kill_while_no_orbit_runs_reports_the_signal(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path, cluster_id: str
) -> None:
    launch = make_launch()
    cid = await start_elsewhere(state_dir, launch, "echo up; exec sleep 30")
    record = json.loads((state_dir / f"{cid}.json").read_text())
    os.kill(record["pid"], signal.SIGKILL)  # the container this test started
    ended = await until_ended(ProcessRuntime(state_dir), cluster_id)
    assert (ended.exit_code, ended.signal, ended.reason) == (137, signal.SIGKILL, "Error")


async def test_an_oom_kill_while_no_orbit_runs_is_oom_killed(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path, cluster_id: str
) -> None:
    launch = make_launch()
    grow = f"exec {sys.executable} -c 'b = bytearray(256 * 1024 * 1024)'"
    cid = await start_elsewhere(state_dir, launch, WAIT_FOR_GO + grow, 64 << 20)
    (root_of(launch) / "go").write_text("")
    ended = await until_ended(ProcessRuntime(state_dir), cluster_id)
    assert ended.id == cid
    if runtime.cgroups is not None:
        assert (ended.exit_code, ended.reason) == (137, "OOMKilled")
    else:  # rlimits: the allocation fails inside the program
        assert (ended.exit_code, ended.reason) == (1, "Error")


async def test_a_shim_that_dies_leaves_the_status_unknown(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path, cluster_id: str
) -> None:
    report = await runtime.start(make_launch("sleep", "30"))
    record = json.loads((state_dir / f"{report.id}.json").read_text())
    os.kill(record["shim_pid"], signal.SIGKILL)  # the shim of the container started above
    later = ProcessRuntime(state_dir)
    (still,) = await later.list_running(cluster_id)
    assert still.state == "running"  # the container itself lives on
    final = await later.stop(report.id, grace_s=0.2)
    assert (final.state, final.exit_code, final.reason) == (
        "terminated",
        137,
        "ContainerStatusUnknown",
    )


async def test_the_shim_blocks_signals_meant_for_orbit_and_the_container_gets_them(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path
) -> None:
    report = await runtime.start(make_launch("sleep", "30"))
    record = json.loads((state_dir / f"{report.id}.json").read_text())
    assert record["shim_pid"] != record["pid"]
    os.kill(record["shim_pid"], signal.SIGTERM)
    os.kill(record["shim_pid"], signal.SIGINT)
    assert (await runtime.inspect(report.id)).state == "running"
    final = await runtime.stop(report.id, grace_s=5)  # SIGTERM ends sleep at once
    assert (final.exit_code, final.signal) == (143, signal.SIGTERM)


async def test_an_exec_that_fails_ends_the_container_as_cannot_run(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    launch = make_launch("./garbage")
    root_of(launch).mkdir(parents=True)
    garbage = root_of(launch) / "garbage"
    garbage.write_bytes(b"\x00\x01 not a program")
    garbage.chmod(0o755)
    report = await runtime.start(launch)  # the shim answers once the child exists
    final = await runtime.wait(report.id)
    assert (final.state, final.exit_code, final.reason, final.message) == (
        "terminated",
        128,
        "ContainerCannotRun",
        'exec: "./garbage": exec format error',
    )
    assert [line async for line in runtime.logs(report.id)] == []  # it never ran


async def test_a_log_that_cannot_be_opened_is_a_start_failure(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path
) -> None:
    launch = make_launch("true")
    (state_dir / launch.pod_uid / "main" / "0.log").mkdir(parents=True)  # in the way
    with pytest.raises(RuntimeFailure) as caught:
        await runtime.start(launch)
    assert caught.value.reason == "CreateContainerError"
    assert caught.value.message.startswith("cannot open the log: Is a directory")


async def test_supplementary_groups_reach_the_process(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    report = await runtime.start(make_launch("id", "-G", group_add=(2345, 3456)))
    assert (await runtime.wait(report.id)).exit_code == 0
    (line,) = [line async for line in runtime.logs(report.id)]
    groups = [int(word) for word in line.split()]
    if os.geteuid() == 0:
        assert groups == [*dict.fromkeys([os.getgid(), *os.getgroups(), 2345, 3456])]
    else:  # setgroups needs root: orbit's own groups, as documented
        assert set(groups) == {os.getgid(), *os.getgroups()}
