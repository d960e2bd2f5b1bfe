"""DockerRuntime against a real engine: limits, exit codes, OOM, stop, pulls, adoption."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import aiodocker
import attrs
import pytest
from docker_helpers import remove_cluster

from orbit.api import Capabilities, SecurityContext
from orbit.errors import NotFound
from orbit.runtimes import CLUSTER_LABEL, ContainerLaunch, ContainerReport, Mount, RuntimeFailure
from orbit.runtimes._docker import DockerRuntime

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

MiB = 1024 * 1024
Launcher = Callable[..., ContainerLaunch]


async def lines_of(runtime: DockerRuntime, container_id: str, tail: int | None = None) -> list[str]:
    return [line async for line in runtime.logs(container_id, tail=tail)]


async def run_to_end(runtime: DockerRuntime, launch: ContainerLaunch) -> ContainerReport:
    started = await runtime.start(launch)
    return await runtime.wait(started.id)


_CGROUP_READOUT = (
    "if [ -f /sys/fs/cgroup/memory.max ]; then "
    "echo v2; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max "
    "/sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight; "
    "else echo v1; cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes "
    "memory/memory.memsw.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us "
    "cpu/cpu.shares; fi"
)


async def test_limits_are_applied_by_the_engine_and_seen_inside(
    runtime: DockerRuntime, engine: aiodocker.Docker, make_launch: Launcher
) -> None:
    launch = make_launch(
        "sh",
        "-c",
        _CGROUP_READOUT,
        cpu_request_millis=250,
        cpu_limit_millis=500,
        memory_request_bytes=32 * MiB,
        memory_limit_bytes=64 * MiB,
    )
    report = await run_to_end(runtime, launch)
    assert (report.state, report.exit_code) == ("terminated", 0)

    host = (await engine.containers.container(report.id).show())["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["CpuShares"] == 256  # 250m * 1024 / 1000
    assert host["Memory"] == 64 * MiB
    assert host["MemorySwap"] == 64 * MiB  # equal to the limit: no swap
    assert host["SecurityOpt"] == ["no-new-privileges"]

    version, *values = await lines_of(runtime, report.id)
    if version == "v1":
        assert values == [str(64 * MiB), str(64 * MiB), "50000", "100000", "256"]
    else:  # cgroup v2: the engine converts shares to a weight as the kubelet does
        assert values == [str(64 * MiB), "0", "50000 100000", str(1 + (256 - 2) * 9999 // 262142)]


async def test_a_container_beyond_its_memory_limit_is_oom_killed(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    hog = 'x=$(head -c 100m /dev/zero | tr "\\0" a); echo survived'
    report = await run_to_end(runtime, make_launch("sh", "-c", hog, memory_limit_bytes=24 * MiB))
    assert report.state == "terminated"
    assert report.reason == "OOMKilled"
    assert report.exit_code == 137
    assert report.signal == 9
    assert "survived" not in await lines_of(runtime, report.id)


@pytest.mark.parametrize(
    ("script", "code", "reason"),
    [("exit 0", 0, "Completed"), ("exit 3", 3, "Error"), ("exit 255", 255, "Error")],
)
async def test_exit_codes_and_reasons(
    runtime: DockerRuntime, make_launch: Launcher, script: str, code: int, reason: str
) -> None:
    report = await run_to_end(runtime, make_launch("sh", "-c", f"echo hi; {script}"))
    assert (report.state, report.exit_code, report.reason) == ("terminated", code, reason)
    assert report.started_at is not None
    assert report.finished_at is not None
    assert report.finished_at >= report.started_at


async def test_graceful_stop_lets_a_term_handler_finish(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    script = 'trap "echo bye; exit 0" TERM; echo ready; while true; do sleep 0.05; done'
    started = await runtime.start(make_launch("sh", "-c", script))
    assert started.state == "running"
    stopped = await runtime.stop(started.id, grace_s=20)
    assert (stopped.state, stopped.exit_code, stopped.reason) == ("terminated", 0, "Completed")
    assert stopped.finished_at is not None
    assert stopped.finished_at - (started.started_at or 0) < 15  # well inside the grace
    assert "bye" in await lines_of(runtime, started.id)


async def test_stop_kills_a_container_that_ignores_term_after_the_grace(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    started = await runtime.start(make_launch("sleep", "300"))
    stopped = await runtime.stop(started.id, grace_s=0.5)  # the engine's unit: 1 s
    assert (stopped.exit_code, stopped.signal, stopped.reason) == (137, 9, "Error"), stopped
    assert stopped.finished_at is not None
    assert stopped.finished_at - (started.started_at or 0) >= 0.9, (started, stopped)
    again = await runtime.stop(started.id, grace_s=1)  # already exited: no error
    assert again.exit_code == 137, again


async def test_absent_image_is_err_image_pull_not_a_crash(
    runtime: DockerRuntime, make_launch: Launcher, cluster_id: str
) -> None:
    absent = "orbit-absent-image:1"
    with pytest.raises(RuntimeFailure) as pull:
        await runtime.start(make_launch("true", image=absent))
    assert pull.value.reason == "ErrImagePull"
    assert absent in pull.value.message

    with pytest.raises(RuntimeFailure) as never:
        await runtime.start(make_launch("true", image=absent, image_pull_policy="Never"))
    assert never.value.reason == "ErrImageNeverPull"

    # Always pulls even when the image is present, and there is no registry here.
    with pytest.raises(RuntimeFailure) as always:
        await runtime.start(make_launch("true", image_pull_policy="Always"))
    assert always.value.reason == "ErrImagePull"
    assert await runtime.list_running(cluster_id) == []


async def test_present_image_with_never_policy_runs(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    report = await run_to_end(runtime, make_launch("true", image_pull_policy="Never"))
    assert report.exit_code == 0


async def test_a_command_that_cannot_run_is_container_cannot_run(
    runtime: DockerRuntime, make_launch: Launcher, cluster_id: str
) -> None:
    with pytest.raises(RuntimeFailure) as failure:
        await runtime.start(make_launch("/no/such/binary"))
    assert failure.value.reason == "ContainerCannotRun"
    assert "/no/such/binary" in failure.value.message
    assert await runtime.list_running(cluster_id) == []  # the created container is gone


async def test_security_context_user_readonly_and_capabilities(
    runtime: DockerRuntime, engine: aiodocker.Docker, make_launch: Launcher
) -> None:
    security = SecurityContext(
        run_as_user=65534,
        run_as_group=65534,
        read_only_root_filesystem=True,
        capabilities=Capabilities(drop=("ALL",), add=("NET_BIND_SERVICE",)),
    )
    script = "id -u; id -g; pwd; touch /tmp/x 2>/dev/null && echo writable || echo read-only"
    report = await run_to_end(
        runtime, make_launch("sh", "-c", script, security=security, working_dir="/www")
    )
    assert report.exit_code == 0
    assert await lines_of(runtime, report.id) == ["65534", "65534", "/www", "read-only"]
    host = (await engine.containers.container(report.id).show())["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["CapAdd"] == ["NET_BIND_SERVICE"]
    assert host["SecurityOpt"] == ["no-new-privileges"]


async def test_pod_groups_are_added_to_the_process(
    runtime: DockerRuntime, engine: aiodocker.Docker, make_launch: Launcher
) -> None:
    security = SecurityContext(run_as_user=65534)
    launch = make_launch("id", "-G", security=security, group_add=(2000, 3000))
    report = await run_to_end(runtime, launch)
    assert await lines_of(runtime, report.id) == ["65534 2000 3000"]  # nobody's, then the pod's
    host = (await engine.containers.container(report.id).show())["HostConfig"]
    assert host["GroupAdd"] == ["2000", "3000"]


async def test_privilege_escalation_allowed_drops_no_new_privileges(
    runtime: DockerRuntime, engine: aiodocker.Docker, make_launch: Launcher
) -> None:
    security = SecurityContext(allow_privilege_escalation=True)
    report = await run_to_end(runtime, make_launch("true", security=security))
    host = (await engine.containers.container(report.id).show())["HostConfig"]
    assert not host["SecurityOpt"]


async def test_run_as_non_root_refuses_a_root_image(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    with pytest.raises(RuntimeFailure) as failure:
        await runtime.start(make_launch("true", security=SecurityContext(run_as_non_root=True)))
    assert failure.value.reason == "CreateContainerConfigError"
    ok = SecurityContext(run_as_non_root=True, run_as_user=1000)
    assert (await run_to_end(runtime, make_launch("true", security=ok))).exit_code == 0


async def test_mounts_read_write_and_read_only(
    runtime: DockerRuntime, make_launch: Launcher, tmp_path: Path
) -> None:
    shared, config = tmp_path / "shared", tmp_path / "config"
    shared.mkdir()
    config.mkdir()
    (config / "app.conf").write_text("answer=42\n")
    mounts = (
        Mount(source=str(shared), target="/data"),
        Mount(source=str(config), target="/etc/app", read_only=True),
    )
    script = (
        "cat /etc/app/app.conf; echo out > /data/result; "
        "{ echo x > /etc/app/new; } 2>/dev/null && echo writable || echo read-only"
    )
    report = await run_to_end(runtime, make_launch("sh", "-c", script, mounts=mounts))
    assert report.exit_code == 0
    assert await lines_of(runtime, report.id) == ["answer=42", "read-only"]
    assert (shared / "result").read_text() == "out\n"


async def test_env_and_image_defaults(runtime: DockerRuntime, make_launch: Launcher) -> None:
    env = {"GREETING": "hello world", "EMPTY": ""}
    script = 'echo "$GREETING|$EMPTY|${PORT:-none}"'
    report = await run_to_end(runtime, make_launch("sh", "-c", script, env=env))
    assert await lines_of(runtime, report.id) == ["hello world||none"]
    # no argv: the image's own command (sh, which exits at once with no input)
    defaults = await run_to_end(runtime, make_launch())
    assert (defaults.state, defaults.exit_code) == ("terminated", 0)


async def test_unknown_ids_are_not_found_and_remove_is_idempotent(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    with pytest.raises(NotFound):
        await runtime.inspect("0" * 64)
    with pytest.raises(NotFound):
        await runtime.wait("no-such-container")
    with pytest.raises(NotFound):
        _ = [line async for line in runtime.logs("no-such-container")]
    report = await run_to_end(runtime, make_launch("true"))
    await runtime.remove(report.id)
    await runtime.remove(report.id)
    with pytest.raises(NotFound):
        await runtime.inspect(report.id)


async def test_a_leftover_container_of_the_same_attempt_is_replaced(
    runtime: DockerRuntime, make_launch: Launcher, cluster_id: str
) -> None:
    launch = make_launch("sleep", "300")
    first = await runtime.start(launch)
    second = await runtime.start(launch)  # an orbit that crashed between create and start
    assert second.id != first.id
    assert [r.id for r in await runtime.list_running(cluster_id)] == [second.id]
    later = await runtime.start(attrs.evolve(launch, restart_count=1))
    assert {r.id for r in await runtime.list_running(cluster_id)} == {second.id, later.id}


async def test_adoption_by_a_new_runtime_instance(
    runtime: DockerRuntime, make_launch: Launcher, cluster_id: str, busybox_image: str
) -> None:
    web = make_launch("sleep", "300", name="web", restart_count=2)
    done = make_launch("true", name="job")
    running = await runtime.start(web)
    finished = await runtime.wait((await runtime.start(done)).id)
    other_cluster = attrs.evolve(
        web, pod_uid=str(uuid.uuid4()), labels={CLUSTER_LABEL: cluster_id + "-other"}
    )
    await runtime.start(other_cluster)
    await runtime.close()

    adopter = DockerRuntime()  # a new orbit process
    try:
        found = {report.name: report for report in await adopter.list_running(cluster_id)}
        assert set(found) == {"web", "job"}
        assert found["web"].id == running.id
        assert found["web"].state == "running"
        assert found["web"].pod_uid == web.pod_uid
        assert found["web"].labels["orbit.dev/restart-count"] == "2"
        assert found["job"].exit_code == 0
        assert found["job"].finished_at == finished.finished_at
        stopped = await adopter.stop(running.id, grace_s=0)
        assert stopped.exit_code == 137
    finally:
        await adopter.close()
        await remove_cluster(cluster_id + "-other")


async def test_engine_info_gives_capacity(runtime: DockerRuntime) -> None:
    await runtime.ping()
    resources = await runtime.discover()
    assert int(resources.capacity["cpu"]) >= 1
    assert resources.capacity["memory"].endswith("Ki")
    assert int(resources.capacity["memory"][:-2]) > 256 * 1024
    assert resources.info["containerRuntimeVersion"].startswith("docker://")
    assert resources.gpu_ids == ()
