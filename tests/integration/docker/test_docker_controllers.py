"""The workload controllers against a real Docker engine: a Deployment heals a
container killed from outside orbit and a pod deleted under it, and rolls out a new
template with real containers (each serving HTTP on the port orbit allocated, with
an httpGet readiness probe) without ever dropping below its availability bound."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiodocker
import anyio
import pytest
from docker_helpers import IMAGE

import orbit
from orbit.api import Pod

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

SERVE = (
    "trap 'exit 0' TERM; mkdir -p /tmp/www; echo \"$VERSION\" > /tmp/www/index.html; "
    'httpd -f -p "$PORT" -h /tmp/www & wait $!'
)


def web(version: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "terminationGracePeriodSeconds": 2,
                    "containers": [
                        {
                            "name": "web",
                            "image": IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", SERVE],
                            "env": [{"name": "VERSION", "value": version}],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {
                                "httpGet": {"path": "/", "port": "http"},
                                "periodSeconds": 1,
                            },
                        }
                    ],
                },
            },
        },
    }


@pytest.fixture
async def cluster(
    runtime: orbit.DockerRuntime, cluster_id: str, tmp_path: Path
) -> AsyncIterator[orbit.Cluster]:
    nodes = [
        orbit.Node(name, runtime=runtime, capacity={"cpu": "2", "memory": "2Gi"})
        for name in ("d1", "d2")
    ]
    async with orbit.Cluster(
        nodes=nodes, cluster_id=cluster_id, state_dir=tmp_path / "state"
    ) as running:
        yield running


def ready(pod: Pod) -> bool:
    condition = pod.status.condition("Ready")
    return (
        pod.metadata.deletion_timestamp is None
        and condition is not None
        and condition.status == "True"
    )


async def served_version(pod: Pod) -> str:
    """What the pod's container answers where orbit says its port is reached
    (the ``orbit.dev/ports`` annotation), over real TCP."""
    host, port = json.loads(pod.metadata.annotations["orbit.dev/ports"])["http"].rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        with anyio.fail_after(5):
            async for chunk in stream:
                data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode().strip()


async def test_a_container_killed_outside_orbit_and_a_deleted_pod_are_healed(
    cluster: orbit.Cluster, engine: aiodocker.Docker
) -> None:
    await cluster.apply(web("v1", 2))
    await cluster.rollout_status("deployment/web", timeout_s=60)
    pods = [p for p in await cluster.list("pods", selector="app=web") if ready(p)]
    assert len(pods) == 2
    victim = pods[0]
    container_id = victim.status.container_statuses[0].container_id.split("://", 1)[1]
    await engine.containers.container(container_id).kill()
    healed = await cluster.wait_for(
        "pod",
        victim.metadata.name,
        lambda p: ready(p) and p.status.container_statuses[0].restart_count == 1,
        timeout_s=60,
    )
    assert (
        healed.status.container_statuses[0].container_id
        != victim.status.container_statuses[0].container_id
    )
    # Deleted: the ReplicaSet makes a replacement, on a real container that is Ready.
    await cluster.delete("pod", victim.metadata.name, grace_period_s=0)
    d = await cluster.wait_for(
        "deployment", "web", "jsonpath={.status.availableReplicas}=2", timeout_s=60
    )
    names = {p.metadata.name for p in await cluster.list("pods", selector="app=web") if ready(p)}
    assert victim.metadata.name not in names
    assert len(names) == 2
    assert d.status.replicas == 2


async def test_a_rolling_update_of_real_containers_keeps_serving(cluster: orbit.Cluster) -> None:
    await cluster.apply(web("v1", 3))
    await cluster.rollout_status("deployment/web", timeout_s=60)
    lowest_ready, peak = 3, 0

    async def census() -> None:
        nonlocal lowest_ready, peak
        async with cluster.watch("pods", selector="app=web") as watch:
            async for _ in watch:
                pods = [
                    p
                    for p in await cluster.list("pods", selector="app=web")
                    if p.metadata.deletion_timestamp is None
                ]
                peak = max(peak, len(pods))
                lowest_ready = min(lowest_ready, sum(1 for p in pods if ready(p)))

    async with anyio.create_task_group() as group:
        group.start_soon(census)
        await anyio.lowlevel.checkpoint()
        await cluster.apply(web("v2", 3))
        d = await cluster.rollout_status("deployment/web", timeout_s=120)
        group.cancel_scope.cancel()
    assert d.status.updated_replicas == d.status.available_replicas == 3
    assert peak <= 4  # replicas + maxSurge
    assert lowest_ready >= 2  # replicas - maxUnavailable
    pods = [p for p in await cluster.list("pods", selector="app=web") if ready(p)]
    assert len(pods) == 3
    for pod in pods:
        assert await served_version(pod) == "v2"
    history = await cluster.rollout_history("deployment/web")
    assert [h.revision for h in history] == [1, 2]
