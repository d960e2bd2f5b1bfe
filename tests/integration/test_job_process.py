"""Jobs whose pods are real local processes (ProcessRuntime): Kubernetes' documented
Job example computes pi to Complete, and an Indexed Job's workers each print the
``JOB_COMPLETION_INDEX`` they were given."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import orbit
from orbit.api import Job, Pod
from orbit.controllers._job import JobController
from orbit.node import Node

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

# Kubernetes' docs run ``print bpi(2000)``; Debian's perl 5.36 Math::BigInt dies on 2000
# digits ("Can't use an undefined value as an ARRAY reference"), so 1000 it is.
PI = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "pi"},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "pi",
                        "image": "perl:5.34.0",
                        "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(1000)"],
                    }
                ],
                "restartPolicy": "Never",
            }
        },
        "backoffLimit": 4,
    },
}


def indexed_job(completions: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "shard"},
        "spec": {
            "completions": completions,
            "parallelism": completions,
            "completionMode": "Indexed",
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "worker",
                            "image": "busybox",
                            "command": ["sh", "-c", "echo $JOB_COMPLETION_INDEX"],
                        }
                    ],
                }
            },
        },
    }


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[orbit.Cluster]:
    async with orbit.Cluster(nodes=[Node("local")], state_dir=tmp_path / "state") as running:
        await running.start_controller(JobController(running.store, running.clock))
        yield running


async def test_the_kubernetes_pi_job_runs_to_complete(cluster: orbit.Cluster) -> None:
    assert shutil.which("perl"), "perl is needed (Debian: apt-get install perl)"
    await cluster.apply(PI)
    done: Job = await cluster.wait_for("job", "pi", "Complete", timeout_s=60)
    assert (done.status.succeeded, done.status.failed) == (1, 0)
    (pod,) = await cluster.list("pods", "default", selector={"job-name": "pi"})
    lines = await cluster.logs(pod)
    assert len(lines) == 1
    assert lines[0].startswith("3.14159265358979323846264338327950288419716939937510")
    assert len(lines[0]) == 1001  # "3." and 999 more digits


async def test_indexed_workers_print_their_completion_index(cluster: orbit.Cluster) -> None:
    await cluster.apply(indexed_job(3))
    done: Job = await cluster.wait_for("job", "shard", "Complete", timeout_s=60)
    assert done.status.completed_indexes == "0-2"
    pods: list[Pod] = await cluster.list(
        "pods", "default", selector={"batch.kubernetes.io/job-name": "shard"}
    )
    assert len(pods) == 3
    for pod in pods:
        index = pod.metadata.labels["batch.kubernetes.io/job-completion-index"]
        assert await cluster.logs(pod) == [index]
