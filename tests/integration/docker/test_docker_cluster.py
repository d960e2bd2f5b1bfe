"""A whole ``orbit.Cluster`` on DockerRuntime nodes, through the public API: one engine
backing two logical nodes, an absent image (ErrImagePull / ImagePullBackOff), a crash
loop with backoff, an OOM kill, adoption by a second Cluster and an httpGet readiness
probe on the port orbit allocated.

Every container carries the test's cluster id; the ``runtime`` fixture force-removes
them all afterwards, whatever the test did.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiodocker
import anyio
import pytest
from docker_helpers import IMAGE, eventually

import orbit
from orbit.api import ContainerStatus, Pod
from orbit.errors import OrbitError
from orbit.node import NODE_LABEL
from orbit.runtimes import CLUSTER_LABEL, POD_UID_LABEL

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

BACKOFF = orbit.RestartBackoff(initial_s=0.25, max_s=1.0, reset_after_s=600)
CAPACITY = {"cpu": "1", "memory": "1Gi"}
MiB = 1024 * 1024

# PID 1 of a container ignores signals it has no handler for: trap TERM, so stopping
# takes no grace period; `sleep & wait` lets the trap run at once
IDLE = "trap 'exit 0' TERM; echo up; while :; do sleep 1 & wait $!; done"
SERVE = (
    'trap \'exit 0\' TERM; echo "$PORT" > /www/index.html; httpd -f -p "$PORT" -h /www & wait $!'
)


def pod(name: str, script: str, *, restart: str = "Always", **container: Any) -> dict[str, Any]:
    """A one-container busybox Pod running ``sh -c script``; ``spec=`` adds pod fields."""
    spec: dict[str, Any] = container.pop("spec", {})
    labels: dict[str, str] = container.pop("labels", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {
                    "name": "main",
                    "image": IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", script],
                    **container,
                }
            ],
            **spec,
        },
    }


def docker_nodes(runtime: orbit.DockerRuntime, *names: str) -> list[orbit.Node]:
    """Logical nodes all backed by ``runtime`` (one engine)."""
    return [orbit.Node(name, runtime=runtime, capacity=CAPACITY) for name in names]


@pytest.fixture
async def cluster(
    runtime: orbit.DockerRuntime, cluster_id: str, tmp_path: Path
) -> AsyncIterator[orbit.Cluster]:
    """Two Docker nodes, d1 and d2, on one engine; short crash backoff."""
    async with orbit.Cluster(
        nodes=docker_nodes(runtime, "d1", "d2"),
        cluster_id=cluster_id,
        state_dir=tmp_path / "state",
        restart_backoff=BACKOFF,
    ) as running:
        yield running


async def containers_of(engine: aiodocker.Docker, pod_uid: str) -> list[dict[str, Any]]:
    """The engine's inspect answer for every container (any state) of a pod."""
    found = await engine.containers.list(
        all=True, filters={"label": [f"{POD_UID_LABEL}={pod_uid}"]}
    )
    return [await container.show() for container in found]


def main_status(live: Pod) -> ContainerStatus:
    (status,) = live.status.container_statuses
    return status


async def test_one_engine_backs_two_nodes_and_pods_spread_over_them(
    cluster: orbit.Cluster, engine: aiodocker.Docker, cluster_id: str
) -> None:
    apart = {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": {"app": "spread"}},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ]
            }
        }
    }
    names = ("spread-a", "spread-b", "spread-c")
    await cluster.apply([pod(n, IDLE, labels={"app": "spread"}, spec=apart) for n in names])
    running = [await cluster.wait_for("pod", n, "Running", timeout_s=15) for n in names[:2]]
    # two nodes, three pods that refuse to share one: the third cannot be placed
    stuck = await cluster.wait_for("pod", "spread-c", "condition=PodScheduled=False", timeout_s=5)
    assert stuck.status.phase == "Pending"
    assert not stuck.spec.node_name
    unscheduled = stuck.status.condition("PodScheduled")
    assert unscheduled is not None
    assert unscheduled.reason == "Unschedulable"

    nodes = sorted(live.spec.node_name for live in running)
    assert nodes == ["d1", "d2"]
    assert sorted(n.metadata.name for n in await cluster.list("nodes")) == ["d1", "d2"]
    for live in running:
        (found,) = await containers_of(engine, live.metadata.uid)
        labels = found["Config"]["Labels"]
        assert labels[CLUSTER_LABEL] == cluster_id
        assert labels[NODE_LABEL] == live.spec.node_name
        assert found["State"]["Running"] is True
        assert main_status(live).container_id == f"docker://{found['Id']}"
        assert main_status(live).state.running is not None
        assert await cluster.logs(live) == ["up"]


async def test_an_absent_image_backs_off_and_the_cluster_keeps_working(
    cluster: orbit.Cluster, engine: aiodocker.Docker
) -> None:
    absent = "orbit-absent-image:1"
    manifest = pod("ghost", "true")
    manifest["spec"]["containers"][0]["image"] = absent
    await cluster.apply(manifest)
    reasons: list[str] = []

    def backing_off(live: Pod) -> bool:
        for status in live.status.container_statuses:
            waiting = status.state.waiting
            if waiting is not None and (not reasons or reasons[-1] != waiting.reason):
                reasons.append(waiting.reason)
        return "ImagePullBackOff" in reasons

    ghost = await cluster.wait_for("pod", "ghost", backing_off, timeout_s=15)
    assert reasons.index("ErrImagePull") < reasons.index("ImagePullBackOff"), reasons
    assert ghost.status.phase == "Pending"
    waiting = main_status(ghost).state.waiting
    assert waiting is not None
    assert waiting.message == f'Back-off pulling image "{absent}"'

    await cluster.apply(pod("alive", IDLE))
    await cluster.wait_for("pod", "alive", "Running", timeout_s=15)
    ghost = await cluster.get("pod", "ghost")
    assert ghost.status.phase == "Pending"
    assert main_status(ghost).state.waiting is not None
    assert main_status(ghost).restart_count == 0
    assert await containers_of(engine, ghost.metadata.uid) == []
    events = await cluster.events(involved=ghost)
    messages = [(e.reason, e.message) for e in events]
    assert any(
        r == "Failed" and m.startswith(f'Failed to pull image "{absent}"') for r, m in messages
    ), messages
    assert ("Failed", "Error: ErrImagePull") in messages
    assert ("BackOff", f'Back-off pulling image "{absent}"') in messages
    with pytest.raises(OrbitError, match="is waiting to start"):
        await cluster.logs("ghost")


async def test_a_crashing_container_restarts_with_backoff(cluster: orbit.Cluster) -> None:
    await cluster.apply(pod("crash", "echo crash; exit 3"))
    counts: list[int] = []

    def crash_looping(live: Pod) -> bool:
        for status in live.status.container_statuses:  # none before the agent's first write
            counts.append(status.restart_count)
            if status.restart_count >= 2 and status.state.waiting is not None:
                return True
        return False

    live = await cluster.wait_for("pod", "crash", crash_looping, timeout_s=20)
    assert counts == sorted(counts), counts  # the count only grows
    status = main_status(live)
    assert status.restart_count == 2
    waiting = status.state.waiting
    assert waiting is not None
    assert waiting.reason == "CrashLoopBackOff"
    # exits: the 1st restarts at once, the 2nd after 250 ms, the 3rd waits 500 ms
    assert waiting.message.startswith("back-off 500ms restarting failed container=main")
    terminated = status.last_state.terminated
    assert terminated is not None
    assert (terminated.exit_code, terminated.reason) == (3, "Error")
    assert terminated.container_id.startswith("docker://")
    assert live.status.phase == "Running"
    assert not status.ready
    counts_by_reason = {e.reason: e.count for e in await cluster.events(involved=live)}
    assert {"Created", "Started", "BackOff"} <= set(counts_by_reason)
    assert counts_by_reason["Started"] >= 3  # repeats fold into one event's count
    assert await cluster.logs("crash", previous=True) == ["crash"]


async def test_a_container_beyond_its_memory_limit_is_oom_killed(
    cluster: orbit.Cluster, engine: aiodocker.Docker
) -> None:
    hog = 'x=$(head -c 100m /dev/zero | tr "\\0" a); echo survived'
    limits = {"limits": {"memory": "24Mi"}}
    await cluster.apply(pod("hog", hog, restart="Never", resources=limits))
    failed = await cluster.wait_for("pod", "hog", "Failed", timeout_s=20)
    status = main_status(failed)
    terminated = status.state.terminated
    assert terminated is not None
    assert (terminated.reason, terminated.exit_code) == ("OOMKilled", 137)
    assert status.restart_count == 0
    assert "survived" not in await cluster.logs("hog")
    (found,) = await containers_of(engine, failed.metadata.uid)
    assert found["HostConfig"]["Memory"] == found["HostConfig"]["MemorySwap"] == 24 * MiB
    assert found["State"]["OOMKilled"] is True


async def test_a_second_cluster_adopts_running_containers(
    runtime: orbit.DockerRuntime, engine: aiodocker.Docker, cluster_id: str, tmp_path: Path
) -> None:
    state = tmp_path / "shared"
    names = {"long-1": "d1", "long-2": "d2"}  # one pod on each node of the engine
    first = orbit.Cluster(
        nodes=docker_nodes(runtime, "d1", "d2"),  # the fixture removes what is left
        cluster_id=cluster_id,
        state_dir=state,
        keep_running=True,
        restart_backoff=BACKOFF,
    )
    async with first:
        await first.apply([pod(n, IDLE, spec={"nodeName": node}) for n, node in names.items()])
        before = {n: await first.wait_for("pod", n, "Running", timeout_s=15) for n in names}
    kept: dict[str, dict[str, Any]] = {}
    for name, left in before.items():
        (kept[name],) = await containers_of(engine, left.metadata.uid)
        assert kept[name]["State"]["Running"] is True  # keep_running: left running on exit
        assert main_status(left).container_id == f"docker://{kept[name]['Id']}"

    second = orbit.Cluster(
        nodes=docker_nodes(orbit.DockerRuntime(), "d1", "d2"),  # a new orbit process
        store=first.store,
        cluster_id=cluster_id,
        state_dir=state,
        restart_backoff=BACKOFF,
    )
    async with second:
        for name in names:

            async def attached(name: str = name) -> bool:
                with contextlib.suppress(OrbitError):  # no pod worker holds it yet
                    return await second.logs(name) == ["up"]
                return False

            await eventually(attached)
        for name, node in names.items():
            live: Pod = await second.get("pod", name)
            assert live.spec.node_name == node
            status = main_status(live)
            assert status.container_id == f"docker://{kept[name]['Id']}"
            assert status.state.running is not None
            assert status.restart_count == 0
            (still,) = await containers_of(engine, live.metadata.uid)
            assert still["Id"] == kept[name]["Id"]
            assert still["State"]["Running"] is True
            assert still["State"]["StartedAt"] == kept[name]["State"]["StartedAt"]
            started = [e for e in await second.events(involved=live) if e.reason == "Started"]
            assert [e.count for e in started] == [1]  # by the first cluster, once
    # leaving the second cluster (keep_running off) stopped and removed what it adopted
    for left in before.values():
        assert await containers_of(engine, left.metadata.uid) == []


async def test_an_http_readiness_probe_on_the_allocated_port_makes_the_pod_ready(
    cluster: orbit.Cluster,
) -> None:
    probe = {"httpGet": {"path": "/index.html", "port": "http"}, "periodSeconds": 1}
    ports = [{"name": "http", "containerPort": 8080}]
    await cluster.apply(pod("web", SERVE, ports=ports, readinessProbe=probe))
    ready = await cluster.wait_for("pod", "web", "Ready", timeout_s=15)
    assert main_status(ready).ready is True
    containers_ready = ready.status.condition("ContainersReady")
    assert containers_ready is not None
    assert containers_ready.status == "True"
    address = json.loads(ready.metadata.annotations["orbit.dev/ports"])["http"]
    host, _, port = address.partition(":")
    assert host == "127.0.0.1"
    with anyio.fail_after(5):
        async with await anyio.connect_tcp(host, int(port)) as stream:
            await stream.send(b"GET /index.html HTTP/1.0\r\n\r\n")
            response = b""
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    response += await stream.receive()
    head, _, body = response.decode().partition("\r\n\r\n")
    assert head.split()[1] == "200", head
    assert body == f"{port}\n"  # the container listens on the port orbit allocated


async def test_fs_group_and_supplemental_groups_reach_the_container_and_its_volumes(
    cluster: orbit.Cluster,
) -> None:
    await cluster.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}}
    )
    script = "id -G; touch /data/new; stat -c '%g %a' /data /data/new /cfg/k"
    manifest = pod(
        "groups",
        script,
        restart="Never",
        volumeMounts=[
            {"name": "data", "mountPath": "/data"},
            {"name": "cfg", "mountPath": "/cfg", "readOnly": True},
        ],
        spec={
            "securityContext": {
                "runAsUser": 65534,
                "fsGroup": 2000,
                "supplementalGroups": [3000],
            },
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "cfg", "configMap": {"name": "cfg"}},
            ],
        },
    )
    await cluster.apply(manifest)
    await cluster.wait_for("pod", "groups", "Succeeded", timeout_s=15)
    assert await cluster.logs("groups") == [
        "65534 2000 3000",  # nobody's own group, then fsGroup and supplementalGroups
        "2000 2777",  # the emptyDir: 0777 as the kubelet makes it, setgid, fsGroup's
        "2000 644",  # a file nobody made there belongs to the fsGroup
        "2000 644",  # configMap files too
    ]


async def test_a_remote_engine_is_reached_at_its_address_and_refuses_local_volumes(
    busybox_image: str, cluster_id: str, engine: aiodocker.Docker, tmp_path: Path
) -> None:
    # This machine's engine, taken as a remote one reached at 127.0.0.2 (any 127/8
    # address reaches this host, and a container in host mode listening on all
    # addresses answers there): what changes for a remote engine is exercised for real.
    far = orbit.DockerRuntime(remote=True, address="127.0.0.2")
    served = (
        'trap \'exit 0\' TERM; echo "$ME" > /www/index.html; httpd -f -p "$PORT" -h /www & wait $!'
    )
    me = [{"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    probe = {"httpGet": {"path": "/index.html", "port": "http"}, "periodSeconds": 1}
    volumes = {
        "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
        "nodeName": "far",
    }
    try:
        async with orbit.Cluster(
            nodes=[orbit.Node("far", runtime=far, capacity=CAPACITY)],
            cluster_id=cluster_id,
            state_dir=tmp_path / "state",
            restart_backoff=BACKOFF,
        ) as cluster:
            await cluster.apply(
                [
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}},
                    pod(
                        "web",
                        served,
                        env=me,
                        ports=[{"name": "http", "containerPort": 8080}],
                        readinessProbe=probe,
                    ),
                    pod(
                        "configured",
                        IDLE,
                        volumeMounts=[{"name": "cfg", "mountPath": "/cfg"}],
                        spec=volumes,
                    ),
                ]
            )
            ready: Pod = await cluster.wait_for("pod", "web", "Ready", timeout_s=15)
            assert (ready.status.host_ip, ready.status.pod_ip) == ("127.0.0.2", "127.0.0.2")
            where = json.loads(ready.metadata.annotations["orbit.dev/ports"])["http"]
            host, _, port = where.partition(":")
            assert host == "127.0.0.2"
            with anyio.fail_after(5):
                async with await anyio.connect_tcp(host, int(port)) as stream:
                    await stream.send(b"GET /index.html HTTP/1.0\r\n\r\n")
                    response = b""
                    with contextlib.suppress(anyio.EndOfStream):
                        while True:
                            response += await stream.receive()
            assert response.decode().endswith("\r\n\r\n127.0.0.2\n")  # status.podIP
            node = await cluster.get("node", "far")
            internal = [a.address for a in node.status.addresses if a.type == "InternalIP"]
            assert internal == ["127.0.0.2"]

            def refused(live: Pod) -> bool:
                waiting = main_status(live).state.waiting
                return waiting is not None and waiting.reason == "CreateContainerConfigError"

            configured: Pod = await cluster.wait_for("pod", "configured", refused, timeout_s=15)
            waiting = main_status(configured).state.waiting
            assert waiting is not None
            assert waiting.message.startswith('volume "cfg" cannot be mounted: ')
            assert "remote Docker engine" in waiting.message
            assert configured.status.phase == "Pending"
            events = await cluster.events(involved=configured)
            failed = [e.message for e in events if e.reason == "Failed"]
            assert f"Error: {waiting.message}" in failed
            assert await containers_of(engine, configured.metadata.uid) == []  # none created
    finally:
        await far.close()
