"""SimRuntime lifecycles in virtual time: every duration asserted exactly."""

from __future__ import annotations

import anyio
import pytest
from sim_builders import epoch, make_launch, vnow

from orbit.api import ExecAction, HTTPGetAction, Probe
from orbit.errors import NotFound
from orbit.runtimes import ContainerLaunch, Runtime, RuntimeFailure
from orbit.runtimes._sim import SimRuntime
from orbit.runtimes._sim_behaviour import Behaviour, behaviour_from_annotations

pytestmark = pytest.mark.anyio

HTTP = Probe(http_get=HTTPGetAction(path="/healthz", port=8080))
MiB = 1024 * 1024


async def test_it_is_a_runtime_and_discovers_its_capacity() -> None:
    runtime = SimRuntime(gpus=2)
    assert isinstance(runtime, Runtime)
    assert runtime.kind == "sim"
    found = await runtime.discover()
    assert found.capacity == {"cpu": "8", "memory": "32Gi", "pods": "110", "nvidia.com/gpu": "2"}
    assert found.gpu_ids == ("0", "1")
    custom = await SimRuntime({"cpu": "2", "memory": "4Gi"}).discover()
    assert custom.capacity == {"cpu": "2", "memory": "4Gi"}
    assert custom.gpu_ids == ()


async def test_start_returns_running_after_the_startup_delay() -> None:
    runtime = SimRuntime()
    began = vnow()
    report = await runtime.start(make_launch(annotations={"sim.orbit.dev/startup-seconds": "2"}))
    assert vnow() - began == 2
    assert report.state == "running"
    assert report.started_at == epoch(vnow())
    assert report.labels["orbit.dev/pod-uid"] == "uid-p1"
    assert report.labels["orbit.dev/container"] == "app"
    assert (await runtime.inspect(report.id)) == report


async def test_a_container_completes_at_the_end_of_its_run() -> None:
    runtime = SimRuntime()
    launch = make_launch(
        annotations={"sim.orbit.dev/startup-seconds": "2", "sim.orbit.dev/run-seconds": "30"}
    )
    began = vnow()
    report = await runtime.start(launch)
    final = await runtime.wait(report.id)
    assert vnow() - began == 32
    assert (final.state, final.exit_code, final.reason) == ("terminated", 0, "Completed")
    assert final.finished_at is not None
    assert report.started_at is not None
    assert final.finished_at - report.started_at == 30


async def test_a_nonzero_exit_code_is_an_error() -> None:
    runtime = SimRuntime()
    launch = make_launch(
        annotations={"sim.orbit.dev/run-seconds": "5", "sim.orbit.dev/exit-code": "3"}
    )
    final = await runtime.wait((await runtime.start(launch)).id)
    assert (final.exit_code, final.reason) == (3, "Error")


async def test_a_crash_ends_the_run_early_and_only_crash_count_times() -> None:
    runtime = SimRuntime()
    annotations = {
        "sim.orbit.dev/run-seconds": "60",
        "sim.orbit.dev/crash-after-seconds": "10",
        "sim.orbit.dev/crash-count": "2",
    }
    outcomes = []
    for restart in range(3):
        began = vnow()
        launch = make_launch(annotations=annotations, restart_count=restart)
        final = await runtime.wait((await runtime.start(launch)).id)
        outcomes.append((vnow() - began, final.exit_code, final.reason))
    assert outcomes == [(10, 1, "Error"), (10, 1, "Error"), (60, 0, "Completed")]


async def test_stop_honoured_ends_at_once_with_sigterm() -> None:
    runtime = SimRuntime()
    report = await runtime.start(make_launch())
    await anyio.sleep(5)
    began = vnow()
    final = await runtime.stop(report.id, grace_s=30)
    assert vnow() == began
    assert (final.exit_code, final.signal, final.reason) == (143, 15, "Error")
    assert final.finished_at == epoch(began)


async def test_stop_ignored_kills_after_the_grace_period() -> None:
    runtime = SimRuntime()
    report = await runtime.start(make_launch(annotations={"sim.orbit.dev/ignore-sigterm": "true"}))
    began = vnow()
    final = await runtime.stop(report.id, grace_s=30)
    assert vnow() - began == 30
    assert (final.exit_code, final.signal, final.reason) == (137, 9, "Error")


async def test_a_slow_shutdown_finishes_within_grace_or_is_killed() -> None:
    runtime = SimRuntime()
    annotations = {"sim.orbit.dev/shutdown-seconds": "3", "sim.orbit.dev/sigterm-exit-code": "0"}
    quick = await runtime.start(make_launch(annotations=annotations))
    began = vnow()
    final = await runtime.stop(quick.id, grace_s=10)
    assert (vnow() - began, final.exit_code, final.reason) == (3, 0, "Completed")
    slow = await runtime.start(make_launch(pod="p2", annotations=annotations))
    began = vnow()
    final = await runtime.stop(slow.id, grace_s=1)
    assert (vnow() - began, final.exit_code, final.signal) == (1, 137, 9)


async def test_a_natural_end_before_the_kill_wins() -> None:
    runtime = SimRuntime()
    annotations = {"sim.orbit.dev/ignore-sigterm": "true", "sim.orbit.dev/run-seconds": "8"}
    report = await runtime.start(make_launch(annotations=annotations))
    await anyio.sleep(3)
    final = await runtime.stop(report.id, grace_s=30)
    assert (vnow(), final.exit_code, final.reason) == (8, 0, "Completed")
    again = await runtime.stop(report.id, grace_s=30)
    assert again == final
    assert vnow() == 8


async def test_a_missing_image_fails_the_start() -> None:
    runtime = SimRuntime()
    annotations = {"sim.orbit.dev/fail-image": "true"}
    with pytest.raises(RuntimeFailure) as info:
        await runtime.start(make_launch(annotations=annotations))
    assert info.value.reason == "ErrImagePull"
    assert "busybox" in info.value.message
    with pytest.raises(RuntimeFailure) as info:
        await runtime.start(make_launch(annotations=annotations, image_pull_policy="Never"))
    assert info.value.reason == "ErrImageNeverPull"
    assert await runtime.list_running("c1") == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sim.orbit.dev/run-seconds", "soon"),
        ("sim.orbit.dev/exit-code", "256"),
        ("sim.orbit.dev/memory", "12XB"),
        ("sim.orbit.dev/app.startup-seconds", "-1"),
        ("sim.orbit.dev/run-secs", "5"),
    ],
)
async def test_a_bad_annotation_is_a_create_error_naming_it(key: str, value: str) -> None:
    with pytest.raises(RuntimeFailure) as info:
        await SimRuntime().start(make_launch(annotations={key: value}))
    assert info.value.reason == "CreateContainerError"
    assert key in info.value.message


async def test_usage_follows_constants_curves_and_requests() -> None:
    def hook(launch: ContainerLaunch) -> Behaviour:
        if launch.name == "curve":
            return Behaviour(cpu_cores=lambda t: t / 100, memory_bytes=lambda t: int(t) * MiB)
        return behaviour_from_annotations(launch.annotations, launch.name)

    runtime = SimRuntime(behaviour=hook)
    constant = await runtime.start(
        make_launch(
            "constant", annotations={"sim.orbit.dev/cpu": "250m", "sim.orbit.dev/memory": "64Mi"}
        )
    )
    curve = await runtime.start(make_launch("curve"))
    requested = await runtime.start(
        make_launch("requested", cpu_request_millis=500, memory_request_bytes=10 * MiB)
    )
    await anyio.sleep(50)
    used = {c.name: await runtime.usage(c.id) for c in (constant, curve, requested)}
    assert (used["constant"].cpu_cores, used["constant"].memory_bytes) == (0.25, 64 * MiB)
    assert (used["curve"].cpu_cores, used["curve"].memory_bytes) == (0.5, 50 * MiB)
    assert (used["requested"].cpu_cores, used["requested"].memory_bytes) == (0.5, 10 * MiB)
    assert used["curve"].at == epoch(vnow())
    await runtime.stop(curve.id, grace_s=0)
    after = await runtime.usage(curve.id)
    assert (after.cpu_cores, after.memory_bytes) == (0.0, 0)


async def test_memory_above_the_limit_is_oom_killed() -> None:
    runtime = SimRuntime()
    launch = make_launch(
        annotations={"sim.orbit.dev/memory": "600Mi"}, memory_limit_bytes=512 * MiB
    )
    report = await runtime.start(launch)
    assert (report.state, report.exit_code, report.reason) == ("terminated", 137, "OOMKilled")


async def test_probes_answer_from_ready_after_until_unhealthy_after() -> None:
    runtime = SimRuntime()
    annotations = {
        "sim.orbit.dev/ready-after-seconds": "10",
        "sim.orbit.dev/unhealthy-after-seconds": "20",
    }
    launch = make_launch(annotations=annotations)
    report = await runtime.start(launch)
    answers = []
    for _ in range(5):
        answers.append((await runtime.probe(report.id, HTTP, launch)).success)
        await anyio.sleep(5)
    assert answers == [False, False, True, True, False]
    failed = await runtime.probe(report.id, Probe(exec=ExecAction(command=("true",))), launch)
    assert "unhealthy" in failed.message
    await runtime.stop(report.id, grace_s=0)
    assert not (await runtime.probe(report.id, HTTP, launch)).success


async def test_a_failed_node_stops_answering_and_comes_back_empty() -> None:
    runtime = SimRuntime()
    report = await runtime.start(make_launch(annotations={"sim.orbit.dev/run-seconds": "100"}))
    finals = []

    async def waiter() -> None:
        finals.append((await runtime.wait(report.id), vnow()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(10)
        runtime.fail_node()
        assert runtime.failed
        for call in (runtime.ping(), runtime.inspect(report.id), runtime.list_running("c1")):
            with pytest.raises(RuntimeFailure, match="NodeUnreachable"):
                await call
        await anyio.sleep(500)  # well past the container's natural end: no news meanwhile
        assert finals == []
        runtime.recover_node()
    await runtime.ping()
    [(final, reported_at)] = finals
    assert reported_at == 510
    assert (final.exit_code, final.reason) == (137, "ContainerStatusUnknown")
    assert final.finished_at == epoch(10)
    assert await runtime.list_running("c1") == []


async def test_a_partitioned_node_reports_what_happened_after_recovery() -> None:
    runtime = SimRuntime()
    report = await runtime.start(make_launch(annotations={"sim.orbit.dev/run-seconds": "100"}))
    runtime.fail_node(lose_containers=False)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_recover_after, runtime, 300.0)
        final = await runtime.wait(report.id)
    assert vnow() == 300
    assert (final.exit_code, final.reason, final.finished_at) == (0, "Completed", epoch(100))


async def _recover_after(runtime: SimRuntime, seconds: float) -> None:
    await anyio.sleep(seconds)
    runtime.recover_node()


async def test_logs_give_the_lines_and_follow_until_the_end() -> None:
    runtime = SimRuntime()
    annotations = {"sim.orbit.dev/logs": "one\ntwo\nthree", "sim.orbit.dev/run-seconds": "42"}
    report = await runtime.start(make_launch(annotations=annotations))
    assert [line async for line in runtime.logs(report.id)] == ["one", "two", "three"]
    assert [line async for line in runtime.logs(report.id, tail=2)] == ["two", "three"]
    assert [line async for line in runtime.logs(report.id, tail=0)] == []
    assert [line async for line in runtime.logs(report.id, follow=True)] == ["one", "two", "three"]
    assert vnow() == 42


async def test_list_running_shows_this_runtimes_containers_of_a_cluster() -> None:
    runtime, other = SimRuntime(), SimRuntime()
    mine = await runtime.start(make_launch(pod="a"))
    await runtime.start(make_launch(pod="b", cluster="c2"))
    done = await runtime.start(make_launch(pod="c", annotations={"sim.orbit.dev/run-seconds": "1"}))
    await other.start(make_launch(pod="d"))
    await runtime.wait(done.id)
    assert [r.id for r in await runtime.list_running("c1")] == [mine.id]


async def test_a_container_key_overrides_the_pod_wide_key() -> None:
    runtime = SimRuntime()
    annotations = {
        "sim.orbit.dev/run-seconds": "10",
        "sim.orbit.dev/sidecar.run-seconds": "forever",
    }
    app = await runtime.start(make_launch("app", annotations=annotations))
    sidecar = await runtime.start(make_launch("sidecar", annotations=annotations))
    await runtime.wait(app.id)
    await anyio.sleep(1000)
    assert (await runtime.inspect(sidecar.id)).state == "running"


async def test_an_init_container_completes_at_once_by_default() -> None:
    report = await SimRuntime().start(make_launch("setup", init=True))
    assert (report.state, report.exit_code, report.reason) == ("terminated", 0, "Completed")


async def test_the_hook_wins_over_annotations() -> None:
    runtime = SimRuntime(behaviour=lambda launch: Behaviour(run_s=7))
    launch = make_launch(annotations={"sim.orbit.dev/run-seconds": "1000"})
    final = await runtime.wait((await runtime.start(launch)).id)
    assert (vnow(), final.reason) == (7, "Completed")


async def test_a_failing_hook_is_a_create_error() -> None:
    def hook(launch: ContainerLaunch) -> Behaviour:
        raise KeyError(launch.name)

    with pytest.raises(RuntimeFailure) as info:
        await SimRuntime(behaviour=hook).start(make_launch())
    assert info.value.reason == "CreateContainerError"


async def test_remove_kills_and_forgets() -> None:
    runtime = SimRuntime()
    report = await runtime.start(make_launch())
    await runtime.remove(report.id)
    await runtime.remove(report.id)  # again: not an error
    with pytest.raises(NotFound):
        await runtime.inspect(report.id)
    assert await runtime.list_running("c1") == []


async def test_unknown_gpu_ids_cannot_run() -> None:
    with pytest.raises(RuntimeFailure) as info:
        await SimRuntime(gpus=1).start(make_launch(gpu_ids=("0", "3")))
    assert info.value.reason == "RunContainerError"
    report = await SimRuntime(gpus=1).start(make_launch(gpu_ids=("0",)))
    assert report.state == "running"
