"""ProcessRuntime against real processes on this machine: exit codes and reasons,
graceful stop, logs, env and ports, limits (cgroups where the machine has them, else
rlimits), adoption by a second runtime, probes, and the Kubernetes Job example."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import anyio
import anyio.abc
import attrs
import pytest

from orbit.api import ExecAction, HTTPGetAction, Probe, TCPSocketAction
from orbit.errors import NotFound
from orbit.runtimes import (
    CLUSTER_LABEL,
    ContainerLaunch,
    Mount,
    PortBinding,
    Runtime,
    RuntimeFailure,
)
from orbit.runtimes._process import ProcessRuntime
from orbit.runtimes._process_exec import exec_probe

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

MakeLaunch = Callable[..., ContainerLaunch]
PY = sys.executable
READY = "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
STUBBORN = "trap '' TERM; echo ready; while :; do sleep 0.05; done"


async def lines(runtime: ProcessRuntime, cid: str, **options: object) -> list[str]:
    with anyio.fail_after(10):
        return [line async for line in runtime.logs(cid, **options)]  # type: ignore[arg-type]


async def until_line(runtime: ProcessRuntime, cid: str, wanted: str) -> None:
    """Follow the log until ``wanted`` appears (the process has reached that point)."""
    with anyio.fail_after(10):
        async for line in runtime.logs(cid, follow=True):
            if line == wanted:
                return
    pytest.fail(f"{wanted!r} never appeared in the log of {cid}")


def test_satisfies_the_protocol(tmp_path: Path) -> None:
    assert isinstance(ProcessRuntime(tmp_path), Runtime)
    assert ProcessRuntime(tmp_path).kind == "process"


async def test_exit_zero_is_completed(runtime: ProcessRuntime, make_launch: MakeLaunch) -> None:
    report = await runtime.start(make_launch("sh", "-c", "echo hello"))
    assert report.id.endswith("/main/0")
    final = await runtime.wait(report.id)
    assert (final.state, final.exit_code, final.reason, final.signal) == (
        "terminated",
        0,
        "Completed",
        0,
    )
    assert final.started_at is not None
    assert final.finished_at is not None
    assert final.finished_at >= final.started_at
    assert await lines(runtime, report.id) == ["hello"]
    assert await runtime.inspect(report.id) == final


async def test_nonzero_exit_is_error(runtime: ProcessRuntime, make_launch: MakeLaunch) -> None:
    report = await runtime.start(make_launch("sh", "-c", "echo oops >&2; exit 3"))
    final = await runtime.wait(report.id)
    assert (final.exit_code, final.reason) == (3, "Error")
    assert await lines(runtime, report.id) == ["oops"]


async def test_kubernetes_job_example_runs_as_written(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    assert shutil.which("perl"), "perl is part of Debian's base system; install it"
    launch = make_launch("perl", "-Mbignum=bpi", "-wle", "print bpi(1000)", name="pi")
    report = await runtime.start(launch)
    final = await runtime.wait(report.id)
    assert final.reason == "Completed"
    (output,) = await lines(runtime, report.id)
    assert output.startswith("3.14159265358979323846264338327950288419716939937510")
    assert output.endswith("216420199")
    assert len(output) == 1001  # 1000 significant digits: "3." and 999 decimals


async def test_missing_binary_cannot_run(runtime: ProcessRuntime, make_launch: MakeLaunch) -> None:
    with pytest.raises(RuntimeFailure) as caught:
        await runtime.start(make_launch("no-such-binary-orbit"))
    assert caught.value.reason == "ContainerCannotRun"
    assert (
        caught.value.message == 'exec: "no-such-binary-orbit": executable file not found in $PATH'
    )
    with pytest.raises(RuntimeFailure) as empty:
        await runtime.start(make_launch())
    assert empty.value.reason == "ContainerCannotRun"


async def test_missing_absolute_working_dir_cannot_run(
    runtime: ProcessRuntime, make_launch: MakeLaunch, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeFailure, match="chdir to cwd") as caught:
        await runtime.start(make_launch("true", working_dir=str(tmp_path / "absent")))
    assert caught.value.reason == "ContainerCannotRun"


async def test_stop_lets_a_trapping_process_finish(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    report = await runtime.start(make_launch("sh", "-c", READY))
    await until_line(runtime, report.id, "ready")
    final = await runtime.stop(report.id, grace_s=5)
    assert (final.exit_code, final.reason, final.signal) == (0, "Completed", 0)
    assert (await lines(runtime, report.id))[-1] == "bye"


async def test_stop_sigterm_gives_143(runtime: ProcessRuntime, make_launch: MakeLaunch) -> None:
    report = await runtime.start(make_launch("sleep", "30"))
    final = await runtime.stop(report.id, grace_s=5)
    assert (final.exit_code, final.signal, final.reason) == (143, signal.SIGTERM, "Error")


async def test_stop_kills_a_process_ignoring_sigterm_after_grace(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    report = await runtime.start(make_launch("sh", "-c", STUBBORN))
    await until_line(runtime, report.id, "ready")
    began = time.monotonic()
    final = await runtime.stop(report.id, grace_s=0.2)
    assert time.monotonic() - began >= 0.2
    assert (final.exit_code, final.signal, final.reason) == (137, signal.SIGKILL, "Error")
    again = await runtime.stop(report.id, grace_s=0.2)  # stopping twice is not an error
    assert again == final


async def test_what_a_container_leaves_running_ends_with_it(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    launch = make_launch("sh", "-c", "sleep 30 & echo $! > child.pid")
    report = await runtime.start(launch)
    assert (await runtime.wait(report.id)).reason == "Completed"
    child = int((Path(launch.state_dir) / "containers" / "main" / "child.pid").read_text())
    with anyio.fail_after(5):
        # killed; a zombie until its reaper collects it. Nothing to wait on but /proc:
        while _state(child) not in "ZX":  # noqa: ASYNC110
            await anyio.sleep(0.01)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "X"


async def test_logs_tail_and_follow(runtime: ProcessRuntime, make_launch: MakeLaunch) -> None:
    script = "for i in 1 2 3 4 5; do echo line$i; done; echo err >&2; sleep 0.3; printf late"
    report = await runtime.start(make_launch("sh", "-c", script))
    followed = await lines(runtime, report.id, follow=True)  # ends when the process does
    expected = ["line1", "line2", "line3", "line4", "line5", "err", "late"]
    assert followed == expected
    assert (await runtime.inspect(report.id)).state == "terminated"
    assert await lines(runtime, report.id, tail=2) == ["err", "late"]
    assert await lines(runtime, report.id, tail=0) == []
    assert await lines(runtime, report.id, tail=100) == expected
    assert await lines(runtime, report.id, tail=3, follow=True) == ["line5", "err", "late"]


async def test_env_ports_and_gpus_are_visible_inside(
    runtime: ProcessRuntime, make_launch: MakeLaunch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORBIT_TEST_LEAK", "host-secret")
    script = (
        'echo "$PORT $ORBIT_PORT_HTTP_ALT $ORBIT_PORT_METRICS $GREETING"; '
        'echo "${ORBIT_TEST_LEAK-unset} $CUDA_VISIBLE_DEVICES"; pwd'
    )
    launch = make_launch(
        "sh",
        "-c",
        script,
        env={"GREETING": "hello world"},
        ports=(
            PortBinding(name="http-alt", container_port=80, host_port=31080),
            PortBinding(name="metrics", container_port=9100, host_port=31091),
        ),
        gpu_ids=("GPU-1", "GPU-3"),
    )
    report = await runtime.start(launch)
    await runtime.wait(report.id)
    assert await lines(runtime, report.id) == [
        "31080 31080 31091 hello world",
        "unset GPU-1,GPU-3",
        str(Path(launch.state_dir) / "containers" / "main"),
    ]


async def test_mounts_are_reachable_from_the_working_dir(
    runtime: ProcessRuntime, make_launch: MakeLaunch, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "input.txt").write_text("from the volume\n")
    launch = make_launch(
        "sh",
        "-c",
        "cat data/input.txt; echo written > data/output.txt",
        mounts=(Mount(source=str(volume), target="/data"),),
    )
    report = await runtime.start(launch)
    assert (await runtime.wait(report.id)).reason == "Completed"
    assert await lines(runtime, report.id) == ["from the volume"]
    assert (volume / "output.txt").read_text() == "written\n"


ALLOCATE = "b = bytearray(256 * 1024 * 1024); print('allocated', len(b))"


async def test_memory_limit_is_enforced(runtime: ProcessRuntime, make_launch: MakeLaunch) -> None:
    report = await runtime.start(make_launch(PY, "-c", ALLOCATE, memory_limit_bytes=64 << 20))
    final = await runtime.wait(report.id)
    if runtime.cgroups is not None:
        assert (final.exit_code, final.reason) == (137, "OOMKilled")
    else:
        assert (final.exit_code, final.reason) == (1, "Error")
    assert "allocated" not in " ".join(await lines(runtime, report.id))


async def test_memory_limit_through_rlimit(state_dir: Path, make_launch: MakeLaunch) -> None:
    runtime = ProcessRuntime(state_dir, limits="rlimit")
    assert runtime.cgroups is None
    report = await runtime.start(make_launch(PY, "-c", ALLOCATE, memory_limit_bytes=64 << 20))
    final = await runtime.wait(report.id)
    assert (final.exit_code, final.reason) == (1, "Error")
    assert (await lines(runtime, report.id))[-1] == "MemoryError"
    within = await runtime.start(
        make_launch(PY, "-c", ALLOCATE, name="fits", memory_limit_bytes=512 << 20)
    )
    assert (await runtime.wait(within.id)).reason == "Completed"
    await runtime.remove(report.id)
    await runtime.remove(within.id)


async def test_process_runs_in_its_own_cgroup_with_its_limits(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    launch = make_launch(
        "cat",
        "/proc/self/cgroup",
        memory_limit_bytes=100 << 20,
        cpu_limit_millis=250,
        cpu_request_millis=100,
    )
    report = await runtime.start(launch)
    await runtime.wait(report.id)
    output = "\n".join(await lines(runtime, report.id))
    layout = runtime.cgroups
    name = f"/orbit/{launch.pod_uid}-main-0"
    if layout is None:
        assert name not in output
        return
    if layout.version == 1:
        assert f"memory:{name}" in output
        memory_dir = Path(layout.mounts["memory"]) / name.lstrip("/")
        assert (memory_dir / "memory.limit_in_bytes").read_text().strip() == str(100 << 20)
        if "cpu" in layout.mounts:
            cpu_dir = Path(layout.mounts["cpu"]) / name.lstrip("/")
            assert (cpu_dir / "cpu.cfs_quota_us").read_text().strip() == "25000"
            assert (cpu_dir / "cpu.shares").read_text().strip() == "102"
    else:
        assert f"0::{name}" in output
        directory = Path(layout.mounts[""]) / name.lstrip("/")
        assert (directory / "memory.max").read_text().strip() == str(100 << 20)
        assert (directory / "cpu.max").read_text().strip() == "25000 100000"
    await runtime.remove(report.id)
    assert not _any_exists(Path(mount, name.lstrip("/")) for mount in layout.mounts.values())


def _any_exists(paths: Iterable[Path]) -> bool:
    return any(path.exists() for path in paths)


SPIN = (
    "import time\n"
    "b = bytearray(48 * 1024 * 1024)\n"
    "for i in range(0, len(b), 4096): b[i] = 1\n"
    "print('ready', flush=True)\n"
    "while True: pass\n"
)


async def test_usage_reports_cpu_and_memory(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    report = await runtime.start(make_launch(PY, "-c", SPIN))
    await until_line(runtime, report.id, "ready")
    await runtime.usage(report.id)
    await anyio.sleep(0.3)
    sample = await runtime.usage(report.id)
    assert sample.memory_bytes >= 40 * 1024 * 1024
    # a spinning process, measured over 0.3 s on a machine other tests may load too
    assert 0.05 < sample.cpu_cores <= (os.cpu_count() or 1) + 0.1
    await runtime.stop(report.id, grace_s=0.2)
    idle = await runtime.usage(report.id)
    assert (idle.cpu_cores, idle.memory_bytes) == (0.0, 0)


async def test_adoption_by_a_second_runtime(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path, cluster_id: str
) -> None:
    launch = make_launch(
        "sh",
        "-c",
        "echo started; exec sleep 30",
        ports=(PortBinding(container_port=80, host_port=31555),),
    )
    report = await runtime.start(launch)
    await until_line(runtime, report.id, "started")
    done = await runtime.start(make_launch("sh", "-c", "exit 4", name="done"))
    await runtime.wait(done.id)

    later = ProcessRuntime(state_dir)  # a new orbit process over the same state
    assert await later.list_running("another-cluster") == []
    found = {found.name: found for found in await later.list_running(cluster_id)}
    adopted, ended = found["main"], found["done"]
    assert (adopted.id, adopted.state, adopted.pod_uid) == (report.id, "running", launch.pod_uid)
    assert adopted.labels[CLUSTER_LABEL] == cluster_id
    assert adopted.ports == launch.ports
    assert (ended.id, ended.state, ended.exit_code, ended.reason) == (
        done.id,
        "terminated",
        4,
        "Error",
    )
    assert await lines(later, adopted.id) == ["started"]
    assert (await later.usage(adopted.id)).memory_bytes > 0

    final = await later.stop(adopted.id, grace_s=0.2)
    # the shim, not the runtime that started it, recorded how it ended
    assert (final.state, final.exit_code, final.signal, final.reason) == (
        "terminated",
        143,
        signal.SIGTERM,
        "Error",
    )
    assert await runtime.wait(report.id) == final  # the same end, read from the same file
    assert {r.state for r in await later.list_running(cluster_id)} == {"terminated"}
    for container in (adopted, ended):
        await later.remove(container.id)
    assert await later.list_running(cluster_id) == []


async def test_a_reused_pid_is_not_adopted(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path, cluster_id: str
) -> None:
    report = await runtime.start(make_launch("sleep", "30"))
    record_path = state_dir / f"{report.id}.json"
    text = record_path.read_text()
    # as after a reboot: both the container's and its shim's pids now name others
    record_path.write_text(text.replace('_ticks": ', '_ticks": 1'))
    (lost,) = await ProcessRuntime(state_dir).list_running(cluster_id)
    assert (lost.state, lost.exit_code, lost.reason) == (
        "terminated",
        137,
        "ContainerStatusUnknown",
    )
    assert (await runtime.inspect(report.id)).state == "running"  # nothing was signalled
    record_path.write_text(text)
    await runtime.stop(report.id, grace_s=0.2)


async def test_inspect_unknown_and_remove(
    runtime: ProcessRuntime, make_launch: MakeLaunch, state_dir: Path
) -> None:
    with pytest.raises(NotFound):
        await runtime.inspect("nope/main/0")
    with pytest.raises(NotFound):
        await runtime.inspect("../../etc/passwd")
    report = await runtime.start(make_launch("sleep", "30"))
    log = state_dir / f"{report.id}.log"
    assert log.exists()
    await runtime.remove(report.id)  # a running container is killed first
    assert not log.exists()
    assert not (state_dir / f"{report.id}.json").exists()
    with pytest.raises(NotFound):
        await runtime.inspect(report.id)
    await runtime.remove(report.id)  # removing twice is not an error


async def test_restart_count_makes_a_new_instance(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    first = make_launch("sh", "-c", "echo run >> runs.txt; cat runs.txt | wc -l")
    report = await runtime.start(first)
    await runtime.wait(report.id)
    second = await runtime.start(
        ContainerLaunch(**{**_fields(first), "restart_count": 1})  # type: ignore[arg-type]
    )
    assert second.id.endswith("/main/1")
    await runtime.wait(second.id)
    assert await lines(runtime, second.id) == ["2"]  # the root directory survives restarts
    assert await lines(runtime, report.id) == ["1"]
    sleeper = make_launch("sleep", "30", name="s")
    await runtime.start(sleeper)
    with pytest.raises(RuntimeFailure, match="already running"):
        await runtime.start(sleeper)


def _fields(launch: ContainerLaunch) -> dict[str, object]:
    return attrs.asdict(launch, recurse=False)


async def test_exec_probe_runs_in_the_container_dir_and_env(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    launch = make_launch("sh", "-c", "echo ready; sleep 30", env={"FLAG": "healthy"})
    report = await runtime.start(launch)
    check = Probe(exec=ExecAction(command=("sh", "-c", 'test -f flag && echo "$FLAG"')))
    failed = await runtime.probe(report.id, check, launch)
    assert not failed.success
    (Path(launch.state_dir) / "containers" / "main" / "flag").write_text("")
    passed = await runtime.probe(report.id, check, launch)
    assert (passed.success, passed.message) == (True, "healthy\n")
    missing = await runtime.probe(report.id, Probe(exec=ExecAction(command=("nope-x",))), launch)
    assert missing.message == 'exec: "nope-x": executable file not found in $PATH'
    await runtime.stop(report.id, grace_s=0.2)


async def test_exec_probe_timeout(tmp_path: Path) -> None:
    began = time.monotonic()
    outcome = await exec_probe(
        ("sleep", "10"), env={"PATH": os.defpath}, cwd=tmp_path, timeout_s=0.2
    )
    assert (outcome.success, outcome.message) == (False, 'command "sleep 10" timed out')
    assert time.monotonic() - began < 5


async def test_network_probes_through_the_runtime(
    runtime: ProcessRuntime, make_launch: MakeLaunch
) -> None:
    async with await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0) as listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)

        async def answer(stream: anyio.abc.SocketStream) -> None:
            async with stream:
                await stream.receive()
                await stream.send(b"HTTP/1.1 204 No Content\r\n\r\n")

        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, answer)
            launch = make_launch(
                "sleep", "30", ports=(PortBinding(name="web", container_port=8080, host_port=port),)
            )
            report = await runtime.start(launch)
            http = Probe(http_get=HTTPGetAction(path="/healthz", port="web"))
            assert (await runtime.probe(report.id, http, launch)).success
            tcp = Probe(tcp_socket=TCPSocketAction(port=8080))
            assert (await runtime.probe(report.id, tcp, launch)).success
            group.cancel_scope.cancel()
    refused = await runtime.probe(report.id, Probe(tcp_socket=TCPSocketAction(port=8080)), launch)
    assert refused.message == f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    await runtime.stop(report.id, grace_s=0.2)


async def test_discover_reports_this_machine(runtime: ProcessRuntime) -> None:
    resources = await runtime.discover()
    assert int(resources.capacity["cpu"]) == len(os.sched_getaffinity(0))
    assert resources.capacity["memory"].endswith("Ki")
    assert int(resources.capacity["memory"][:-2]) > 0
    assert resources.capacity["pods"] == "110"
    assert int(resources.capacity["ephemeral-storage"][:-2]) > 0
    if shutil.which("nvidia-smi") is None:
        assert resources.gpu_ids == ()
        assert "nvidia.com/gpu" not in resources.capacity
    assert resources.info["runtime"] == "process"
    await runtime.ping()
