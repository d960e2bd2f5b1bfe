"""The node agent against a scripted runtime, in virtual time: phases, restarts with
Kubernetes' backoff, init containers, probes, graceful deletion, deadlines, start
failures, heartbeats and adoption. Every duration is asserted exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from fake_runtime import FakeRuntime, Script

import orbit
from orbit.api import Pod
from orbit.clock import current_clock
from orbit.node import Node, RestartBackoff
from orbit.runtimes import RuntimeFailure
from orbit.store import MemoryStore

pytestmark = pytest.mark.anyio


def now() -> float:
    return current_clock().monotonic()


def pod(
    name: str = "p",
    *,
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    restart_policy: str = "Always",
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "containers": containers or [{"name": "app", "image": "busybox", "command": ["run"]}],
        "restartPolicy": restart_policy,
        **spec,
    }
    if init:
        body["initContainers"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": body,
    }


@asynccontextmanager
async def cluster_on(runtime: FakeRuntime, **options: Any) -> AsyncIterator[orbit.Cluster]:
    async with orbit.Cluster(nodes=[Node("n1", runtime=runtime)], **options) as cluster:
        yield cluster


async def reasons(cluster: orbit.Cluster, name: str = "p") -> list[str]:
    target = await cluster.get("pod", name)
    return [e.reason for e in await cluster.events(involved=target)]


async def test_a_pod_runs_to_succeeded_with_status_and_events() -> None:
    runtime = FakeRuntime({"app": Script(run_s=5, exit_codes=[0])})
    async with cluster_on(runtime) as cluster:
        began = now()
        await cluster.apply(pod(restart_policy="Never"))
        running = await cluster.wait_for("pod", "p", "Running")
        assert now() == began
        status = running.status
        assert (status.host_ip, status.pod_ip) == ("127.0.0.1", "127.0.0.1")
        assert status.start_time is not None
        assert status.qos_class == "BestEffort"
        (app,) = status.container_statuses
        assert app.state.running is not None
        assert (app.ready, app.started, app.restart_count) == (True, True, 0)
        assert app.container_id == "fake://app-1"
        assert running.status.condition("Ready").status == "True"
        done = await cluster.wait_for("pod", "p", "Succeeded")
        assert now() - began == 5
        (app,) = done.status.container_statuses
        terminated = app.state.terminated
        assert (terminated.exit_code, terminated.reason) == (0, "Completed")
        assert terminated.container_id == "fake://app-1"
        assert [(c.type, c.status) for c in done.status.conditions] == [
            ("PodScheduled", "True"),
            ("Initialized", "True"),
            ("ContainersReady", "False"),
            ("Ready", "False"),
        ]
        assert await reasons(cluster) == ["Scheduled", "Created", "Started"]


async def test_a_crashing_container_restarts_with_kubernetes_backoff() -> None:
    runtime = FakeRuntime({"app": Script(run_s=1, exit_codes=[1])})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod())
        await anyio.sleep(80)
        starts = [t for t, _ in runtime.starts]
        # crash at 1 -> restart at once; crash at 2 -> 10 s; at 13 -> 20 s; at 34 -> 40 s
        assert starts == [0, 1, 12, 33, 74]
        live: Pod = await cluster.get("pod", "p")
        (app,) = live.status.container_statuses
        assert app.restart_count == 4
        assert live.status.phase == "Running"
        await anyio.sleep(1.5)  # crashed at 75, next start at 75 + 80
        live = await cluster.get("pod", "p")
        (app,) = live.status.container_statuses
        assert app.state.waiting is not None
        assert app.state.waiting.reason == "CrashLoopBackOff"
        uid = live.metadata.uid
        assert app.state.waiting.message == (
            f"back-off 1m20s restarting failed container=app pod=p_default({uid})"
        )
        assert app.last_state.terminated is not None
        assert (app.last_state.terminated.exit_code, app.last_state.terminated.reason) == (
            1,
            "Error",
        )
        assert live.status.condition("Ready").status == "False"
        events = await cluster.events(involved=live)
        backoff = [e for e in events if e.reason == "BackOff"]
        assert backoff[0].type == "Warning"
        assert (
            backoff[0].message
            == f"Back-off restarting failed container app in pod p_default({uid})"
        )


async def test_a_long_run_resets_the_backoff_and_the_cluster_setting_applies() -> None:
    runtime = FakeRuntime({"app": Script(run_s=1, exit_codes=[1])})
    backoff = RestartBackoff(initial_s=2, max_s=4, reset_after_s=30)
    async with cluster_on(runtime, restart_backoff=backoff) as cluster:
        await cluster.apply(pod())
        await anyio.sleep(20)
        assert [t for t, _ in runtime.starts] == [0, 1, 4, 9, 14, 19]
        runtime.scripts["app"].run_s = 40  # the next run is long: the streak resets
        await anyio.sleep(20 + 45)
        assert [t for t, _ in runtime.starts][5:] == [19, 24, 64]


async def test_pods_may_override_the_backoff_with_annotations() -> None:
    runtime = FakeRuntime({"app": Script(run_s=1, exit_codes=[1])})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(
            pod(
                annotations={
                    "orbit.dev/restart-backoff-initial-seconds": "1",
                    "orbit.dev/restart-backoff-max-seconds": "3",
                }
            )
        )
        await anyio.sleep(12)
        assert [t for t, _ in runtime.starts] == [0, 1, 3, 6, 10]


async def test_on_failure_restarts_failures_only_and_never_restarts_nothing() -> None:
    runtime = FakeRuntime({"app": Script(run_s=1, exit_codes=[3, 0])})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod("on-failure", restart_policy="OnFailure"))
        done = await cluster.wait_for("pod", "on-failure", "Succeeded")
        (app,) = done.status.container_statuses
        assert app.restart_count == 1
        assert app.last_state.terminated.exit_code == 3
    runtime = FakeRuntime({"app": Script(run_s=1, exit_codes=[3])})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod("never", restart_policy="Never"))
        failed = await cluster.wait_for("pod", "never", "Failed")
        assert failed.status.container_statuses[0].state.terminated.exit_code == 3
        await anyio.sleep(60)
        assert len(runtime.starts) == 1


async def test_init_containers_run_in_order_before_the_app() -> None:
    runtime = FakeRuntime({"i1": Script(run_s=3), "i2": Script(run_s=2), "app": Script(run_s=None)})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(
            pod(
                init=[
                    {"name": "i1", "image": "x", "command": ["a"]},
                    {"name": "i2", "image": "x", "command": ["b"]},
                ]
            )
        )
        await anyio.sleep(1)
        live: Pod = await cluster.get("pod", "p")
        assert live.status.phase == "Pending"
        initialized = live.status.condition("Initialized")
        assert initialized.message == "containers with incomplete status: [i1 i2]"
        assert live.status.container_statuses[0].state.waiting.reason == "PodInitializing"
        await cluster.wait_for("pod", "p", "Running")
        assert runtime.starts == [(0, "i1"), (3, "i2"), (5, "app")]
        live = await cluster.get("pod", "p")
        assert [s.state.terminated.reason for s in live.status.init_container_statuses] == [
            "Completed",
            "Completed",
        ]
        assert live.status.condition("Initialized").status == "True"


async def test_a_failing_init_container_fails_a_never_pod_and_is_retried_otherwise() -> None:
    runtime = FakeRuntime({"i1": Script(run_s=1, exit_codes=[1])})
    async with cluster_on(runtime) as cluster:
        init = [{"name": "i1", "image": "x", "command": ["a"]}]
        await cluster.apply(pod("never", init=init, restart_policy="Never"))
        await cluster.apply(pod("always", init=init, restart_policy="Always"))
        failed = await cluster.wait_for("pod", "never", "Failed")
        assert failed.status.init_container_statuses[0].state.terminated.exit_code == 1
        await anyio.sleep(15)
        retried: Pod = await cluster.get("pod", "always")
        assert retried.status.phase == "Pending"
        (i1,) = retried.status.init_container_statuses
        assert i1.restart_count == 2
        assert i1.state.waiting.reason == "CrashLoopBackOff"
        assert retried.status.container_statuses[0].state.waiting.reason == "PodInitializing"
        assert not [n for _, n in runtime.starts if n == "app"]


def http_probe(path: str, **timing: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": 8080}, **timing}


async def test_readiness_gates_ready_and_follows_the_probe() -> None:
    ready_window = lambda elapsed: 15 <= elapsed < 45  # noqa: E731
    runtime = FakeRuntime({"app": Script(probes={"/ready": ready_window})})
    container = {
        "name": "app",
        "image": "x",
        "command": ["serve"],
        "readinessProbe": http_probe("/ready", periodSeconds=5, failureThreshold=2),
    }
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=[container]))
        await cluster.wait_for("pod", "p", "Running")
        live: Pod = await cluster.get("pod", "p")
        assert live.status.condition("Ready").status == "False"
        assert live.status.container_statuses[0].ready is False
        await cluster.wait_for("pod", "p", "Ready")
        assert now() == 15  # probes at 0, 5, 10 fail, 15 passes
        await cluster.wait_for("pod", "p", "condition=Ready=False")
        assert now() == 50  # fails at 45 and 50 (failureThreshold 2)
        assert "Unhealthy" in await reasons(cluster)
        assert runtime.starts == [(0, "app")]  # readiness never restarts


async def test_a_failing_liveness_probe_kills_and_restarts_the_container() -> None:
    runtime = FakeRuntime({"app": Script(probes={"/live": lambda elapsed: elapsed < 20})})
    container = {
        "name": "app",
        "image": "x",
        "command": ["serve"],
        "livenessProbe": http_probe("/live", periodSeconds=10, failureThreshold=3),
    }
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=[container], terminationGracePeriodSeconds=7))
        await anyio.sleep(45)
        # fails at 20, 30, 40: killed at 40 with the pod's grace, restarted at once
        assert runtime.starts == [(0, "app"), (40, "app")]
        assert runtime.stops == [(40, "app-1", 7)]
        live: Pod = await cluster.get("pod", "p")
        (app,) = live.status.container_statuses
        assert app.restart_count == 1
        assert app.last_state.terminated.exit_code == 143
        events = await cluster.events(involved=live)
        unhealthy = [e for e in events if e.reason == "Unhealthy"]
        assert (
            unhealthy[0].message
            == "Liveness probe failed: HTTP probe failed with statuscode: 500 (/live)"
        )
        assert unhealthy[0].count == 3
        killing = [e for e in events if e.reason == "Killing"]
        assert killing[0].message == "Container app failed liveness probe, will be restarted"


async def test_a_startup_probe_gates_liveness_and_readiness() -> None:
    runtime = FakeRuntime(
        {
            "app": Script(
                probes={
                    "/started": lambda elapsed: elapsed >= 30,
                    "/live": lambda elapsed: False,  # would kill at once if not gated
                }
            )
        }
    )
    container = {
        "name": "app",
        "image": "x",
        "command": ["serve"],
        "startupProbe": http_probe("/started", periodSeconds=10, failureThreshold=10),
        "livenessProbe": http_probe("/live", periodSeconds=10, failureThreshold=2),
    }
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=[container]))
        await anyio.sleep(1)
        live: Pod = await cluster.get("pod", "p")
        assert (live.status.container_statuses[0].started, live.status.phase) == (False, "Running")
        await cluster.wait_for("pod", "p", "Ready")
        assert now() == 30
        await anyio.sleep(15)
        # liveness starts after the startup probe passed at 30: fails at 30, 40 -> kill
        assert runtime.starts == [(0, "app"), (40, "app")]


async def test_a_startup_probe_that_never_passes_restarts_the_container() -> None:
    runtime = FakeRuntime({"app": Script(probes={"/started": lambda elapsed: False})})
    container = {
        "name": "app",
        "image": "x",
        "command": ["serve"],
        "startupProbe": http_probe(
            "/started", periodSeconds=5, failureThreshold=3, initialDelaySeconds=2
        ),
    }
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=[container]))
        await anyio.sleep(13)
        assert runtime.starts == [(0, "app"), (12, "app")]  # probes at 2, 7, 12


async def test_graceful_deletion_stops_with_the_grace_then_deletes_the_pod() -> None:
    runtime = FakeRuntime({"app": Script(ignore_sigterm=True), "side": Script()})
    containers = [
        {"name": "app", "image": "x", "command": ["a"]},
        {"name": "side", "image": "x", "command": ["b"]},
    ]
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=containers, terminationGracePeriodSeconds=12))
        live = await cluster.wait_for("pod", "p", "Ready")
        watch = cluster.watch("pod", resource_version=live.metadata.resource_version)
        await cluster.delete("pod", "p")
        began = now()
        await cluster.wait_for("pod", "p", "deleted")
        assert now() - began == 12  # app ignored SIGTERM: killed when the grace ran out
        assert sorted((g, i) for _, i, g in runtime.stops) == [(12, "app-1"), (12, "side-2")]
        assert all(c.removed for c in runtime.containers.values())
        seen = []
        with anyio.fail_after(1):
            async with watch:
                async for event in watch:
                    seen.append(event)
                    if event.type == "DELETED":
                        break
        final = seen[-1].object
        assert final.status.phase == "Failed"
        assert {s.name: s.state.terminated.exit_code for s in final.status.container_statuses} == {
            "app": 137,
            "side": 143,
        }
        events = [e for e in await cluster.events() if e.reason == "Killing"]
        assert sorted(e.message for e in events) == [
            "Stopping container app",
            "Stopping container side",
        ]


async def test_a_force_deleted_pod_still_gets_a_short_grace() -> None:
    runtime = FakeRuntime({"app": Script(ignore_sigterm=True)})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod())
        await cluster.wait_for("pod", "p", "Running")
        cluster.store.delete(Pod, "p", "default", grace_period_s=0)
        await anyio.sleep(5)
        assert [(t, g) for t, _, g in runtime.stops] == [(0, 2.0)]
        assert not runtime.running()


async def test_active_deadline_fails_the_pod() -> None:
    runtime = FakeRuntime()
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(activeDeadlineSeconds=20))
        failed = await cluster.wait_for("pod", "p", "Failed")
        assert now() == 20
        assert (failed.status.reason, failed.status.message) == (
            "DeadlineExceeded",
            "Pod was active on the node longer than the specified deadline",
        )
        assert not runtime.running()
        assert "DeadlineExceeded" in await reasons(cluster)
        await anyio.sleep(100)
        assert len(runtime.starts) == 1


async def test_image_pull_failures_back_off_then_start() -> None:
    """ErrImagePull, then ImagePullBackOff while waiting 10 s, 20 s... as the kubelet
    shows them; pulls that failed do not count as restarts."""
    pull = RuntimeFailure("ErrImagePull", 'pull access denied for "nope"')
    runtime = FakeRuntime({"app": Script(start_failures=[pull, pull])})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=[{"name": "app", "image": "nope:1", "command": ["a"]}]))
        await anyio.sleep(1)
        live: Pod = await cluster.get("pod", "p")
        waiting = live.status.container_statuses[0].state.waiting
        assert (waiting.reason, waiting.message) == (
            "ImagePullBackOff",
            'Back-off pulling image "nope:1"',
        )
        assert live.status.phase == "Pending"
        live = await cluster.wait_for("pod", "p", "Running")
        assert [t for t, _ in runtime.starts] == [0, 10, 30]
        assert live.status.container_statuses[0].restart_count == 0
        events = await cluster.events(involved=live)
        messages = [(e.type, e.reason, e.message) for e in events]
        assert (
            "Warning",
            "Failed",
            'Failed to pull image "nope:1": pull access denied for "nope"',
        ) in messages
        assert ("Warning", "Failed", "Error: ErrImagePull") in messages
        assert ("Normal", "BackOff", 'Back-off pulling image "nope:1"') in messages


async def test_a_container_that_cannot_run_fails_a_never_pod() -> None:
    cannot = RuntimeFailure("ContainerCannotRun", "No command specified")
    runtime = FakeRuntime({"app": Script(start_failures=[cannot])})
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(restart_policy="Never"))
        failed = await cluster.wait_for("pod", "p", "Failed")
        terminated = failed.status.container_statuses[0].state.terminated
        assert (terminated.exit_code, terminated.reason, terminated.message) == (
            128,
            "ContainerCannotRun",
            "No command specified",
        )


async def test_a_missing_config_map_waits_and_the_container_starts_once_it_exists() -> None:
    runtime = FakeRuntime()
    container = {
        "name": "app",
        "image": "x",
        "command": ["a"],
        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}],
    }
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=[container]))
        await anyio.sleep(1)
        live: Pod = await cluster.get("pod", "p")
        waiting = live.status.container_statuses[0].state.waiting
        assert (waiting.reason, waiting.message) == (
            "CreateContainerConfigError",
            'configmap "cfg" not found',
        )
        await cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"a": "1"},
            }
        )
        await cluster.wait_for("pod", "p", "Running")
        assert now() == 10  # the retry after the back-off
        (started,) = runtime.containers.values()
        assert started.launch.env["A"] == "1"


async def test_the_node_is_registered_with_capacity_labels_taints_and_gpus() -> None:
    runtime = FakeRuntime()
    node = Node("n1", runtime=runtime, labels={"zone": "a"}, taints=["gpu=true:NoSchedule"])
    configured = Node("n2", runtime=FakeRuntime(), capacity={"cpu": "2", "memory": "1Gi"})
    async with orbit.Cluster(nodes=[node, configured]) as cluster:
        stored = await cluster.get("node", "n1")
        assert {k: str(v) for k, v in stored.status.capacity.items()} == {
            "cpu": "4",
            "memory": "8Gi",
            "pods": "110",
        }
        assert stored.status.allocatable == stored.status.capacity
        labels = stored.metadata.labels
        assert (labels["kubernetes.io/hostname"], labels["orbit.dev/runtime"], labels["zone"]) == (
            "n1",
            "fake",
            "a",
        )
        assert labels["kubernetes.io/os"] == "linux"
        assert stored.metadata.annotations["orbit.dev/gpu-devices"] == "0,1"
        assert [(t.key, t.value, t.effect) for t in stored.spec.taints] == [
            ("gpu", "true", "NoSchedule")
        ]
        ready = stored.status.condition("Ready")
        assert (ready.status, ready.reason) == ("True", "KubeletReady")
        other = await cluster.get("node", "n2")
        assert str(other.status.capacity["cpu"]) == "2"
        assert "orbit.dev/gpu-devices" not in other.metadata.annotations
        with pytest.raises(orbit.AlreadyExists):
            await cluster.add_node(Node("n1", runtime=FakeRuntime()))


async def test_a_silent_runtime_turns_the_node_not_ready_then_unknown_and_back() -> None:
    runtime = FakeRuntime()
    async with cluster_on(runtime) as cluster:
        await anyio.sleep(25)
        assert cluster.leases.renewed_at("n1") == 20  # beats at 10, 20
        runtime.down = True
        await anyio.sleep(10)  # the beat at 30 fails
        node = await cluster.get("node", "n1")
        ready = node.status.condition("Ready")
        assert (ready.status, ready.reason) == ("False", "KubeletNotReady")
        assert (
            ready.message == "container runtime is down: NodeUnreachable: the fake engine is down"
        )
        await anyio.sleep(31)  # lease of 20 is older than 40 s at 65 (monitor every 5 s)
        node = await cluster.get("node", "n1")
        ready = node.status.condition("Ready")
        assert (ready.status, ready.reason, ready.message) == (
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        )
        assert [(t.key, t.effect) for t in node.spec.taints] == [
            ("node.kubernetes.io/unreachable", "NoSchedule")
        ]
        runtime.down = False
        await anyio.sleep(10)  # the beat at 70 renews; the monitor at 75 restores
        node = await cluster.get("node", "n1")
        assert node.status.condition("Ready").status == "True"
        assert node.spec.taints == ()


async def test_nodes_created_directly_in_the_store_are_not_monitored() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        await cluster.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "external"}})
        await anyio.sleep(120)
        node = await cluster.get("node", "external")
        assert node.spec.taints == ()
        assert node.status.conditions == ()


async def test_one_pod_watch_serves_every_node() -> None:
    nodes = [Node(f"n{i}", runtime=FakeRuntime()) for i in range(20)]
    async with orbit.Cluster(nodes=nodes) as cluster:
        feed = cluster.store._kind(Pod).feed  # type: ignore[attr-defined]
        # The scheduler's, the node agents' shared one, the controllers' shared one.
        assert len(feed) == 3
        for i in range(40):
            await cluster.apply(pod(f"p{i}"))
        for i in range(40):
            await cluster.wait_for("pod", f"p{i}", "Running")
        placed = {(await cluster.get("pod", f"p{i}")).spec.node_name for i in range(40)}
        assert len(placed) > 1


async def test_leaving_the_cluster_stops_every_pod_and_closes_the_runtime() -> None:
    runtime = FakeRuntime({"app": Script(ignore_sigterm=True)})
    async with cluster_on(runtime, stop_grace_s=3) as cluster:
        await cluster.apply([pod("a"), pod("b", terminationGracePeriodSeconds=1)])
        await cluster.wait_for("pod", "a", "Running")
        await cluster.wait_for("pod", "b", "Running")
        began = now()
    assert now() - began == 3  # a's grace (30) capped at 3; b's 1 runs in parallel
    assert sorted(g for _, _, g in runtime.stops) == [1, 3]
    assert not runtime.running()
    assert all(c.removed for c in runtime.containers.values())
    assert runtime.closed


async def test_keep_running_and_a_new_cluster_adopts_the_containers(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    store = orbit.Cluster(nodes=[]).store
    container = {
        "name": "app",
        "image": "x",
        "command": ["serve"],
        "ports": [{"containerPort": 8080}],
    }
    kept_state = {"state_dir": tmp_path, "cluster_id": "c-1"}
    async with cluster_on(runtime, store=store, keep_running=True, **kept_state) as first:
        await first.apply([pod("kept", containers=[container]), pod("gone")])
        kept = await first.wait_for("pod", "kept", "Running")
        await first.wait_for("pod", "gone", "Running")
    assert len(runtime.running()) == 2
    ports = kept.metadata.annotations["orbit.dev/ports"]
    store.delete(Pod, "gone", "default")  # deleted while no orbit ran
    async with cluster_on(runtime, store=store, **kept_state) as second:
        await anyio.sleep(1)
        assert len(runtime.starts) == 2  # nothing new started
        assert [c.launch.pod_name for c in runtime.running()] == ["kept"]
        live: Pod = await second.get("pod", "kept")
        assert live.status.container_statuses[0].container_id == "fake://app-1"
        assert live.metadata.annotations["orbit.dev/ports"] == ports
        runtime.crash("app-1", 1)  # the adopted container exits...
        await anyio.sleep(1)
        assert [n for _, n in runtime.starts] == ["app", "app", "app"]  # ...and restarts
    assert not runtime.running()


async def test_logs_name_the_container_and_follow() -> None:
    runtime = FakeRuntime({"app": Script(run_s=10)})
    two = [
        {"name": "app", "image": "x", "command": ["a"]},
        {"name": "side", "image": "x", "command": ["b"]},
    ]
    async with cluster_on(runtime) as cluster:
        await cluster.apply([pod("one", restart_policy="Never"), pod("two", containers=two)])
        await cluster.wait_for("pod", "one", "Running")
        assert await cluster.logs("one", tail=2) == ["app line 3", "app line 4"]
        live = await cluster.get("pod", "one")
        followed = [line async for line in await cluster.logs(live, follow=True)]
        assert followed[-1] == "bye"
        assert now() == 10
        await cluster.wait_for("pod", "two", "Running")
        with pytest.raises(ValueError, match=r"choose one of: \[app side\]"):
            await cluster.logs("two")
        assert (await cluster.logs("two", "side"))[0] == "side line 0"
        with pytest.raises(ValueError, match="container nope is not valid"):
            await cluster.logs("two", "nope")
        with pytest.raises(orbit.OrbitError, match="previous terminated container"):
            await cluster.logs("two", "side", previous=True)


async def test_wait_for_times_out_naming_the_last_state() -> None:
    runtime = FakeRuntime({"app": Script(probes={"/ready": lambda _: False})})
    container = {
        "name": "app",
        "image": "x",
        "command": ["a"],
        "readinessProbe": http_probe("/ready"),
    }
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod(containers=[container]))
        with pytest.raises(TimeoutError) as caught:
            await cluster.wait_for("pod", "p", "Ready", timeout_s=30)
        assert now() == 30
        message = str(caught.value)
        assert message.startswith("timed out after 30s waiting for pod/p to be Ready; last state: ")
        assert "phase=Running" in message
        assert "Ready=False (ContainersNotReady: containers with unready status: [app])" in message
        assert await cluster.wait_for("pod", "p", "status.phase=Running") is not None
        assert (
            await cluster.wait_for("pod", "p", "jsonpath={.status.qosClass}=BestEffort") is not None
        )
        found = await cluster.wait_for("pod", "p", lambda p: p.status.container_statuses[0].started)
        assert found.metadata.name == "p"
        with pytest.raises(TimeoutError, match="it does not exist"):
            await cluster.wait_for("pod", "absent", "Running", timeout_s=1)
        assert await cluster.wait_for("pod", "absent", "deleted") is None


async def test_usage_per_pod_for_the_autoscaler() -> None:
    runtime = FakeRuntime()
    async with cluster_on(runtime) as cluster:
        await cluster.apply(pod())
        await cluster.wait_for("pod", "p", "Running")
        usage = await cluster.agents["n1"].usage()
        assert usage[("default", "p")]["app"].cpu_cores == 0.5


async def test_an_expired_pod_watch_is_listed_again_and_nothing_is_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = FakeRuntime({"app": Script(run_s=5)})
    tiny = MemoryStore(clock=current_clock(), watch_buffer=3)
    async with cluster_on(runtime, store=tiny) as cluster:
        # a burst of writes with no await in between overflows every pod watcher
        await cluster.apply([pod(f"p{i}", restart_policy="Never") for i in range(10)])
        await anyio.sleep(0.1)
        assert "the node agents' pod watch expired: listing again" in caplog.text
        for i in range(10):
            await cluster.wait_for("pod", f"p{i}", "Succeeded", timeout_s=60)
        cluster.store.delete(Pod, "p0", "default")
        await anyio.sleep(1)
        assert not [
            c for c in runtime.containers.values() if c.launch.pod_name == "p0" and not c.removed
        ]
