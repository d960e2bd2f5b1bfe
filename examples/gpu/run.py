"""GPU placement and gang scheduling on simulated nodes, in virtual time.

Run it with ``python examples/gpu/run.py``. Three simulated nodes (two with 4 GPUs,
one without) take the workloads of ``gpu.yaml``: a CPU-only Deployment (kept off the
GPU nodes, which orbit saves for GPU work), two GPU Jobs (each pod bound to specific
device ids, which the container sees as ``CUDA_VISIBLE_DEVICES``), a training gang of
4 workers x 2 GPUs that must start together and so waits, holding nothing, until 8
GPUs are free at once, and a pod asking for more GPUs than any node has, which stays
Pending with the scheduler's reason. ``orbit.simulate`` runs it all on a virtual
clock: seven minutes of cluster time take well under a second.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import attrs
import yaml

import orbit
from orbit.api import Pod
from orbit.runtimes import Behaviour, ContainerLaunch, behaviour_from_annotations
from orbit.scheduling import GPU_DEVICES_ANNOTATION

HERE = Path(__file__).resolve().parent
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def behaviour(launch: ContainerLaunch) -> Behaviour:
    """The pod's ``sim.orbit.dev/*`` behaviour, logging the GPUs the container was
    given, as a CUDA program would find them in ``CUDA_VISIBLE_DEVICES``."""
    base = behaviour_from_annotations(launch.annotations, launch.name, init=launch.init)
    seen = ",".join(launch.gpu_ids) or "(unset)"
    return attrs.evolve(base, log_lines=(*base.log_lines, f"CUDA_VISIBLE_DEVICES={seen}"))


def nodes() -> list[orbit.Node]:
    """Two GPU machines and a CPU-only one."""
    gpu = {"cpu": "32", "memory": "128Gi", "pods": "110"}
    cpu = {"cpu": "16", "memory": "64Gi", "pods": "110"}
    return [
        orbit.Node("gpu-a", runtime=orbit.SimRuntime(gpu, gpus=4, behaviour=behaviour)),
        orbit.Node("gpu-b", runtime=orbit.SimRuntime(gpu, gpus=4, behaviour=behaviour)),
        orbit.Node("cpu-0", runtime=orbit.SimRuntime(cpu, behaviour=behaviour)),
    ]


class Timeline:
    """Seconds of virtual time since the run began."""

    def __init__(self, cluster: orbit.Cluster) -> None:
        self.start = cluster.clock.now()
        self.cluster = cluster

    def now(self) -> str:
        """Now, as ``"62s"``."""
        return self.at(None)

    def at(self, moment: datetime | None) -> str:
        """A timestamp of the cluster (``None``: now), as seconds since the start."""
        seconds = (moment.timestamp() if moment else self.cluster.clock.now()) - self.start
        return f"{seconds:.0f}s"


async def apply(
    cluster: orbit.Cluster, clock: Timeline, documents: Sequence[dict[str, Any]]
) -> None:
    """Apply documents, printing kubectl's line for each, stamped with the time."""
    for result in await cluster.apply(list(documents)):
        print(f"[{clock.now():>5}] {result}")


def devices(pod: Pod) -> str:
    """The GPU ids the scheduler bound the pod to ("-" for none)."""
    return pod.metadata.annotations.get(GPU_DEVICES_ANNOTATION, "") or "-"


def started_finished(pod: Pod) -> tuple[datetime | None, datetime | None]:
    """When the pod's container started and finished (``None`` for not yet)."""
    (status,) = pod.status.container_statuses or (None,)
    if status is None:
        return None, None
    if status.state.terminated is not None:
        return status.state.terminated.started_at, status.state.terminated.finished_at
    if status.state.running is not None:
        return status.state.running.started_at, None
    return None, None


async def print_pods(cluster: orbit.Cluster, clock: Timeline) -> None:
    """Where every pod landed, its GPU ids, when it ran and what its container saw."""
    pods: list[Pod] = await cluster.list("pods")
    pods.sort(key=lambda p: (p.spec.node_name, p.metadata.name))
    print(f"{'POD':<22}{'NODE':<8}{'GPUS':<6}{'STARTED':>8}{'FINISHED':>9}   CONTAINER SAW")
    for pod in pods:
        started, finished = started_finished(pod)
        (line,) = await cluster.logs(pod)
        print(
            f"{pod.metadata.name:<22}{pod.spec.node_name:<8}{devices(pod):<6}"
            f"{clock.at(started) if started else '-':>8}"
            f"{clock.at(finished) if finished else '-':>9}   {line}"
        )


async def pending_reason(cluster: orbit.Cluster, job: str) -> str:
    """Why the Job's first pod is not scheduled (its PodScheduled condition)."""
    pods: list[Pod] = await cluster.list("pods", selector={JOB_NAME_LABEL: job})
    condition = pods[0].status.condition("PodScheduled")
    assert condition is not None, pods[0].status
    assert condition.status == "False", condition
    return condition.message


async def summarise_gang(cluster: orbit.Cluster, clock: Timeline) -> None:
    """The gang's members: all bound together, on which nodes, with how many GPUs."""
    members: list[Pod] = await cluster.list("pods", selector={JOB_NAME_LABEL: "train"})
    starts = sorted({clock.at(started_finished(pod)[0]) for pod in members})
    where = sorted({pod.spec.node_name for pod in members})
    gpus = sum(len(devices(pod).split(",")) for pod in members)
    print(
        f"gang train: {len(members)} members started at {', '.join(starts)} "
        f"on {', '.join(where)} with {gpus} GPUs"
    )


async def main() -> None:
    wall = time.monotonic()
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all((HERE / "gpu.yaml").read_text())}
    async with orbit.Cluster(nodes=nodes()) as cluster:
        clock = Timeline(cluster)
        await apply(cluster, clock, [docs["web"], docs["infer"], docs["finetune"]])
        await anyio.sleep(1)

        await apply(cluster, clock, [docs["train"], docs["too-big"]])
        await anyio.sleep(1)
        print(f"[{clock.now():>5}] train is Pending: {await pending_reason(cluster, 'train')}")
        print(f"[{clock.now():>5}] too-big is Pending: {await pending_reason(cluster, 'too-big')}")
        await cluster.delete("job", "too-big")
        await anyio.sleep(60)  # infer has finished: its GPU is free, still not enough
        print(f"[{clock.now():>5}] train is Pending: {await pending_reason(cluster, 'train')}")

        await cluster.wait_for("job", "train", "Complete", timeout_s=3600)
        print(f"[{clock.now():>5}] job.batch/train complete")
        await print_pods(cluster, clock)
        await summarise_gang(cluster, clock)
        print(f"{clock.now()} of cluster time in {time.monotonic() - wall:.1f}s")


if __name__ == "__main__":
    orbit.simulate(main, seed=1)
