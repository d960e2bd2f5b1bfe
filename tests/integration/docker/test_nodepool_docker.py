"""The node-pool autoscaler with real containers: a pod no node can take makes the
DockerNodeProvider add a logical node on the local engine, and the pod runs there in a
real container; once the pod is gone, the idle node is drained and removed.

Every container carries the test's cluster id; the ``runtime`` fixture force-removes
them all afterwards, whatever the test did.
"""

from __future__ import annotations

from pathlib import Path

import aiodocker
import anyio
import pytest
from docker_helpers import IMAGE

import orbit
from orbit.autoscaling._docker_provider import DockerNodeProvider
from orbit.autoscaling._nodepool import NODE_POOL_LABEL, NodePool
from orbit.autoscaling._nodepool_autoscaler import NodePoolAutoscaler
from orbit.node import NODE_LABEL
from orbit.runtimes import CLUSTER_LABEL, POD_UID_LABEL

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

IDLE = "trap 'exit 0' TERM; echo up; while :; do sleep 1 & wait $!; done"


def worker(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {
                    "name": "main",
                    "image": IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", IDLE],
                    "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}},
                }
            ],
        },
    }


async def test_a_pending_pod_brings_a_docker_node_and_runs_there(
    runtime: orbit.DockerRuntime,
    engine: aiodocker.Docker,
    cluster_id: str,
    tmp_path: Path,
) -> None:
    pool = NodePool(
        "docker",
        orbit.Node("template", capacity={"cpu": "1", "memory": "1Gi"}),
        max_nodes=2,
        provider=DockerNodeProvider(),
    )
    async with orbit.Cluster(
        nodes=[], cluster_id=cluster_id, state_dir=tmp_path / "state", service_proxy=False
    ) as cluster:
        scaler = NodePoolAutoscaler(
            cluster.store,
            cluster.clock,
            [pool],
            cluster,
            scan_interval_s=1.0,
            scale_down_unneeded_s=2.0,
            scale_down_delay_after_add_s=0.0,
        )
        async with anyio.create_task_group() as group:
            await group.start(scaler.run)
            await cluster.apply(worker("job-1"))
            live = await cluster.wait_for("pod", "job-1", "Running", timeout_s=30)
            assert live.spec.node_name == "docker-1"
            (node,) = await cluster.list("nodes")
            assert node.metadata.labels[NODE_POOL_LABEL] == "docker"
            assert node.metadata.labels["orbit.dev/runtime"] == "docker"
            found = await engine.containers.list(
                filters={"label": [f"{POD_UID_LABEL}={live.metadata.uid}"]}
            )
            (container,) = [await c.show() for c in found]
            assert container["State"]["Running"] is True
            assert container["Config"]["Labels"][NODE_LABEL] == "docker-1"
            assert container["Config"]["Labels"][CLUSTER_LABEL] == cluster_id
            assert await cluster.logs(live) == ["up"]

            await cluster.delete("pod", "job-1")
            with anyio.fail_after(30):
                while await cluster.list("nodes"):  # noqa: ASYNC110 - real time passes
                    await anyio.sleep(0.2)
            assert scaler.sizes() == {"docker": 0}
            group.cancel_scope.cancel()
