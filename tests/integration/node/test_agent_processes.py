"""The node agent with ProcessRuntime through a real Cluster: pods run as processes to
Succeeded, crash and restart with backoff, get Ready through an httpGet probe, are
killed by a liveness probe, deleted gracefully, read ConfigMaps as env and files, and
are adopted by a second Cluster."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

import orbit
from conftest import FAST
from orbit.api import Pod
from orbit.node import Node
from orbit.runtimes._process import ProcessRuntime

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

PY = sys.executable
SERVE = f"exec {PY} -m http.server $PORT --bind 127.0.0.1"
TERM_OK = "trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done"
STUBBORN = "trap '' TERM; echo up; while :; do sleep 0.05; done"


def pod(name: str, script: str, *, restart: str = "Always", **container: Any) -> dict[str, Any]:
    spec: dict[str, Any] = container.pop("spec", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 5,
            "containers": [
                {"name": "main", "image": "busybox", "command": ["sh", "-c", script], **container}
            ],
            **spec,
        },
    }


async def test_a_pod_runs_to_succeeded_and_its_logs_are_read(cluster: orbit.Cluster) -> None:
    await cluster.apply(
        pod(
            "hello",
            "echo hello from $POD; exit 0",
            restart="Never",
            env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        )
    )
    done = await cluster.wait_for("pod", "hello", "Succeeded", timeout_s=10)
    terminated = done.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert terminated.container_id.startswith("process://")
    assert await cluster.logs("hello") == ["hello from hello"]


async def test_a_crashing_pod_restarts_with_backoff(cluster: orbit.Cluster) -> None:
    await cluster.apply(pod("crash", "echo crash; exit 3"))

    def crash_looping(p: Pod) -> bool:
        return any(
            c.restart_count >= 3 and c.state.waiting is not None
            for c in p.status.container_statuses
        )

    live = await cluster.wait_for("pod", "crash", crash_looping, timeout_s=15)
    (main,) = live.status.container_statuses
    assert main.state.waiting.reason == "CrashLoopBackOff"
    assert main.state.waiting.message.startswith("back-off 400ms restarting failed container=main")
    assert main.last_state.terminated.exit_code == 3
    assert live.status.phase == "Running"
    reasons = {e.reason for e in await cluster.events(involved=live)}
    assert {"Created", "Started", "BackOff"} <= reasons
    assert await cluster.logs("crash", previous=True) == ["crash"]


async def test_readiness_through_an_http_probe_on_the_allocated_port(
    cluster: orbit.Cluster,
) -> None:
    probe = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}
    await cluster.apply(
        pod("web", SERVE, ports=[{"name": "http", "containerPort": 8080}], readinessProbe=probe)
    )
    ready = await cluster.wait_for("pod", "web", "Ready", timeout_s=15)
    ports = json.loads(ready.metadata.annotations["orbit.dev/ports"])
    address = ports["http"]
    assert address.startswith("127.0.0.1:")
    host, _, port = address.partition(":")
    with anyio.fail_after(5):
        async with await anyio.connect_tcp(host, int(port)) as stream:
            await stream.send(b"GET / HTTP/1.0\r\n\r\n")
            head = await stream.receive()
    assert head.startswith(b"HTTP/1.0 200")
    assert ready.status.container_statuses[0].ready is True


async def test_a_failing_liveness_probe_restarts_the_container(cluster: orbit.Cluster) -> None:
    probe = {"exec": {"command": ["sh", "-c", "exit 1"]}, "periodSeconds": 1, "failureThreshold": 1}
    await cluster.apply(pod("sick", TERM_OK, livenessProbe=probe))

    def restarted(p: Pod) -> bool:
        return any(c.restart_count >= 1 for c in p.status.container_statuses)

    live = await cluster.wait_for("pod", "sick", restarted, timeout_s=15)
    events = await cluster.events(involved=live)
    assert "Container main failed liveness probe, will be restarted" in [e.message for e in events]
    assert any(e.message.startswith("Liveness probe failed") for e in events)


async def test_graceful_deletion_stops_the_process_and_removes_the_pod(
    cluster: orbit.Cluster,
) -> None:
    await cluster.apply(
        [
            pod("polite", TERM_OK),
            pod("stubborn", STUBBORN, spec={"terminationGracePeriodSeconds": 1}),
        ]
    )
    await cluster.wait_for("pod", "polite", "Running", timeout_s=10)
    await cluster.wait_for("pod", "stubborn", "Running", timeout_s=10)
    await cluster.delete("pod", "polite")
    await cluster.delete("pod", "stubborn")
    with anyio.fail_after(10):
        await cluster.wait_for("pod", "polite", "deleted")
        await cluster.wait_for("pod", "stubborn", "deleted")
    runtime = cluster.agents["local"].runtime
    # stopped before the pod went; removed (records, logs) by its worker right after
    assert {r.state for r in await runtime.list_running(cluster.cluster_id)} <= {"terminated"}
    with anyio.fail_after(5):
        while await runtime.list_running(cluster.cluster_id):  # noqa: ASYNC110 - files
            await anyio.sleep(0.02)


async def test_config_maps_as_env_and_as_files(cluster: orbit.Cluster) -> None:
    await cluster.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"greeting": "hi", "app.conf": "answer=42"},
            },
            pod(
                "reader",
                'echo "$GREETING"; cat config/app.conf; echo; ls config',
                restart="Never",
                env=[
                    {
                        "name": "GREETING",
                        "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}},
                    }
                ],
                volumeMounts=[{"name": "cfg", "mountPath": "/config"}],
                spec={"volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}]},
            ),
        ]
    )
    await cluster.wait_for("pod", "reader", "Succeeded", timeout_s=10)
    assert await cluster.logs("reader") == ["hi", "answer=42", "app.conf", "greeting"]


async def test_a_second_cluster_adopts_running_processes(tmp_path: Path) -> None:
    state = tmp_path / "shared"
    first = orbit.Cluster(
        nodes=[Node("local")],
        state_dir=state,
        cluster_id="adopt-1",
        keep_running=True,
        restart_backoff=FAST,
    )
    async with first:
        await first.apply(pod("long", TERM_OK))
        before = await first.wait_for("pod", "long", "Running", timeout_s=10)
    container_id = before.status.container_statuses[0].container_id
    second = orbit.Cluster(
        nodes=[Node("local")],
        store=first.store,
        state_dir=state,
        cluster_id="adopt-1",
        restart_backoff=FAST,
    )
    async with second:
        await anyio.sleep(0.5)
        live: Pod = await second.get("pod", "long")
        (main,) = live.status.container_statuses
        assert main.container_id == container_id
        assert main.state.running is not None
        assert main.restart_count == 0
        running = await second.agents["local"].runtime.list_running("adopt-1")
        assert len(running) == 1
    # leaving the second cluster stopped what it adopted
    assert not await ProcessRuntime(state / "process").list_running("adopt-1")


# waits for a file the test writes once the first Cluster has exited, then exits 3
EXIT_3_ON_GO = "echo up; while [ ! -e go ]; do sleep 0.02; done; rm go; exit 3"


async def exit_while_no_orbit_runs(
    tmp_path: Path, cluster_id: str, manifest: dict[str, Any]
) -> tuple[orbit.Cluster, Path, Pod]:
    """Run ``manifest`` on a Cluster left with ``keep_running``; once that Cluster has
    exited, let the container exit 3 and wait until its shim has recorded the end."""
    state = tmp_path / "shared"
    first = orbit.Cluster(
        nodes=[Node("local")],
        state_dir=state,
        cluster_id=cluster_id,
        keep_running=True,
        restart_backoff=FAST,
    )
    async with first:
        await first.apply(manifest)
        before: Pod = await first.wait_for("pod", manifest["metadata"]["name"], "Running")
    uid = before.metadata.uid
    (state / "nodes" / "local" / "pods" / uid / "containers" / "main" / "go").write_text("")
    observer = ProcessRuntime(state / "process")  # reads the records, as a new orbit would
    with anyio.fail_after(10):
        # the shim writes a file: nothing to wait on but the file system
        while {r.state for r in await observer.list_running(cluster_id)} != {"terminated"}:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    return first, state, before


async def test_a_never_pod_that_ended_while_no_orbit_ran_fails_with_its_exit_code(
    tmp_path: Path,
) -> None:
    first, state, before = await exit_while_no_orbit_runs(
        tmp_path, "adopt-never", pod("once", EXIT_3_ON_GO, restart="Never")
    )
    second = orbit.Cluster(
        nodes=[Node("local")],
        store=first.store,
        state_dir=state,
        cluster_id="adopt-never",
        restart_backoff=FAST,
    )
    async with second:
        failed: Pod = await second.wait_for("pod", "once", "Failed", timeout_s=10)
        (main,) = failed.status.container_statuses
        terminated = main.state.terminated
        assert terminated is not None
        assert (terminated.exit_code, terminated.reason) == (3, "Error")
        assert terminated.container_id == before.status.container_statuses[0].container_id
        assert main.restart_count == 0
        await anyio.sleep(0.5)  # time enough for a wrongful restart (backoff is 0.2 s)
        runtime = second.agents["local"].runtime
        assert [r.id for r in await runtime.list_running("adopt-never")] == [
            terminated.container_id.removeprefix("process://")
        ]
        started = [e for e in await second.events(involved=failed) if e.reason == "Started"]
        assert [e.count for e in started] == [1]  # by the first cluster, once
        assert await second.logs("once") == ["up"]


async def test_an_always_pod_that_ended_while_no_orbit_ran_is_restarted(
    tmp_path: Path,
) -> None:
    first, state, before = await exit_while_no_orbit_runs(
        tmp_path, "adopt-always", pod("again", EXIT_3_ON_GO, restart="Always")
    )
    second = orbit.Cluster(
        nodes=[Node("local")],
        store=first.store,
        state_dir=state,
        cluster_id="adopt-always",
        restart_backoff=FAST,
    )
    async with second:

        def restarted(live: Pod) -> bool:
            (main,) = live.status.container_statuses
            return main.restart_count == 1 and main.state.running is not None

        live: Pod = await second.wait_for("pod", "again", restarted, timeout_s=10)
        (main,) = live.status.container_statuses
        assert main.last_state.terminated is not None
        assert main.last_state.terminated.exit_code == 3
        assert main.container_id.endswith("/main/1")
        assert main.container_id != before.status.container_statuses[0].container_id
    assert not await ProcessRuntime(state / "process").list_running("adopt-always")


async def test_fs_group_owns_the_volumes_and_the_groups_reach_the_process(
    cluster: orbit.Cluster,
) -> None:
    await cluster.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}}
    )
    script = "id -G; touch data/new; stat -L -c '%g %a' data data/new cfg/k"
    manifest = pod(
        "groups",
        script,
        restart="Never",
        volumeMounts=[
            {"name": "data", "mountPath": "/data"},
            {"name": "cfg", "mountPath": "/cfg"},
        ],
        spec={
            "securityContext": {"fsGroup": 2345, "supplementalGroups": [3456]},
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "cfg", "configMap": {"name": "cfg"}},
            ],
        },
    )
    await cluster.apply(manifest)
    await cluster.wait_for("pod", "groups", "Succeeded", timeout_s=10)
    groups, data, new, cfg = await cluster.logs("groups")
    if os.geteuid() != 0:  # neither setgroups nor chown to another group is allowed
        assert "2345" not in groups.split()
        return
    assert groups.split()[-2:] == ["2345", "3456"]  # fsGroup, then supplementalGroups
    assert data == "2345 2777"  # the kubelet's emptyDir (0777) with setgid
    assert new == "2345 644"  # inherited from the setgid directory
    assert cfg == "2345 644"  # configMap files: group-readable (read-only volume)
