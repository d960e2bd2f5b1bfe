"""The Job controller in a whole simulated cluster: pods really run (on SimRuntime, in
virtual time), so completions, backoff delays, deadlines and TTLs are exact seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import orbit
from orbit.api import Job, Pod
from orbit.clock import current_clock
from orbit.controllers._gc import GarbageCollector
from orbit.controllers._job import JobController
from orbit.runtimes import Behaviour, ContainerLaunch, SimRuntime, behaviour_from_annotations

pytestmark = pytest.mark.anyio

INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def now() -> float:
    return current_clock().now()


def job(name: str, *, run: str | None = None, exit_code: int = 0, **spec: Any) -> dict[str, Any]:
    """A Job manifest; its pods run ``run`` seconds on SimRuntime then exit with
    ``exit_code`` (without ``run``, as :func:`behaviour` decides)."""
    metadata: dict[str, Any] = {}
    if run is not None:
        metadata["annotations"] = {
            "sim.orbit.dev/run-seconds": run,
            "sim.orbit.dev/exit-code": str(exit_code),
        }
    template = {
        "metadata": metadata,
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "sim"}]},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": template, **spec},
    }


def behaviour(launch: ContainerLaunch) -> Behaviour:
    """Annotations when the pod has them; else a worker that runs 10 s per unit of its
    ``JOB_COMPLETION_INDEX`` (plus 10) and logs the index it was given."""
    if "sim.orbit.dev/run-seconds" in launch.annotations:
        return behaviour_from_annotations(launch.annotations, launch.name, init=launch.init)
    index = int(launch.env["JOB_COMPLETION_INDEX"])
    return Behaviour(run_s=10.0 * (index + 1), log_lines=(f"index={index}",))


@pytest.fixture
async def cluster() -> AsyncIterator[orbit.Cluster]:
    nodes = [orbit.Node(f"n{i}", runtime=SimRuntime(behaviour=behaviour)) for i in range(2)]
    async with orbit.Cluster(nodes=nodes, seed=3) as running:
        await running.start_controller(JobController(running.store, running.clock))
        yield running


async def pods_of(cluster: orbit.Cluster, name: str) -> list[Pod]:
    pods: list[Pod] = await cluster.list("pods", "default", selector={JOB_NAME_LABEL: name})
    return sorted(pods, key=lambda p: (p.metadata.creation_timestamp, p.metadata.name))


async def reasons(cluster: orbit.Cluster, obj: Any) -> list[str]:
    return [e.reason for e in await cluster.events(involved=obj)]


def created_at(pod: Pod, began: float) -> float:
    assert pod.metadata.creation_timestamp is not None
    return pod.metadata.creation_timestamp.timestamp() - began


async def test_ten_completions_three_at_a_time(cluster: orbit.Cluster) -> None:
    began = now()
    await cluster.apply(job("work", run="30", completions=10, parallelism=3))
    done: Job = await cluster.wait_for("job", "work", "Complete", timeout_s=3600)
    assert now() - began == 120  # waves of 3, 3, 3 and 1 pods of 30 s
    status = done.status
    assert (status.succeeded, status.failed, status.active, status.ready) == (10, 0, 0, 0)
    assert status.start_time is not None
    assert status.completion_time is not None
    assert (status.completion_time - status.start_time).total_seconds() == 120
    pods = await pods_of(cluster, "work")
    assert len(pods) == 10
    assert all(p.status.phase == "Succeeded" for p in pods)
    assert all(p.metadata.finalizers == () for p in pods)  # each counted, then released
    assert all(p.metadata.name.startswith("work-") for p in pods)
    assert sorted({created_at(p, began) for p in pods}) == [0, 30, 60, 90]
    events = await reasons(cluster, done)
    assert events.count("SuccessfulCreate") == 10
    assert events[-1] == "Completed"


async def test_a_work_queue_is_done_when_one_succeeded_and_all_finished(
    cluster: orbit.Cluster,
) -> None:
    began = now()
    await cluster.apply(job("queue", run="20", parallelism=4))
    done: Job = await cluster.wait_for("job", "queue", "Complete", timeout_s=600)
    assert now() - began == 20
    assert done.spec.completions is None
    assert done.status.succeeded == 4
    assert len(await pods_of(cluster, "queue")) == 4


async def test_indexed_pods_see_their_completion_index(cluster: orbit.Cluster) -> None:
    began = now()
    await cluster.apply(job("shard", completions=4, parallelism=2, completionMode="Indexed"))
    done: Job = await cluster.wait_for("job", "shard", "Complete", timeout_s=600)
    # index i runs 10(i+1) s: 0 and 1 start at 0; 2 starts at 10 (ends 40), 3 at 20 (ends 60)
    assert now() - began == 60
    assert done.status.completed_indexes == "0-3"
    assert done.status.succeeded == 4
    pods = await pods_of(cluster, "shard")
    assert sorted(p.metadata.labels[INDEX_LABEL] for p in pods) == ["0", "1", "2", "3"]
    for pod in pods:
        index = pod.metadata.annotations[INDEX_LABEL]
        assert pod.metadata.name.startswith(f"shard-{index}-")
        assert pod.spec.hostname == f"shard-{index}"
        assert await cluster.logs(pod) == [f"index={index}"]
        assert created_at(pod, began) == {"0": 0, "1": 0, "2": 10, "3": 20}[index]


async def test_failures_back_off_then_exceed_the_backoff_limit(cluster: orbit.Cluster) -> None:
    began = now()
    await cluster.apply(job("flaky", run="5", exit_code=1, backoffLimit=3))
    failed: Job = await cluster.wait_for("job", "flaky", "Failed", timeout_s=3600)
    pods = await pods_of(cluster, "flaky")
    # each pod fails 5 s after it starts; replacements wait 10, 20, 40 s after a failure
    assert [created_at(p, began) for p in pods] == [0, 15, 40, 85]
    assert now() - began == 90  # the fourth failure is one more than backoffLimit
    (condition,) = failed.status.conditions
    assert (condition.type, condition.reason) == ("Failed", "BackoffLimitExceeded")
    assert condition.message == "Job has reached the specified backoff limit"
    assert (failed.status.failed, failed.status.succeeded, failed.status.active) == (4, 0, 0)
    assert failed.status.completion_time is None
    assert (await reasons(cluster, failed))[-1] == "BackoffLimitExceeded"
    await anyio.sleep(600)
    assert len(await pods_of(cluster, "flaky")) == 4  # nothing more once failed


async def test_the_backoff_is_configurable() -> None:
    nodes = [orbit.Node("m0", runtime=SimRuntime(behaviour=behaviour))]
    quick = orbit.Cluster(nodes=nodes, seed=4)
    # registered before the cluster starts: it is the cluster's job-controller
    await quick.start_controller(
        JobController(quick.store, quick.clock, backoff_base_s=2, backoff_max_s=5)
    )
    async with quick:
        began = now()
        await quick.apply(job("flaky", run="1", exit_code=1, backoffLimit=4))
        await quick.wait_for("job", "flaky", "Failed", timeout_s=600)
        pods = await pods_of(quick, "flaky")
        # fail at 1; +2 -> 3..4; +4 -> 8..9; +5 (capped) -> 14..15; +5 -> 20..21
        assert [created_at(p, began) for p in pods] == [0, 3, 8, 14, 20]


async def test_active_deadline_fails_the_job_and_stops_its_pods(cluster: orbit.Cluster) -> None:
    began = now()
    await cluster.apply(
        job("slow", run="forever", parallelism=2, completions=4, activeDeadlineSeconds=100)
    )
    failed: Job = await cluster.wait_for("job", "slow", "Failed", timeout_s=3600)
    assert now() - began == 100
    (condition,) = failed.status.conditions
    assert (condition.reason, condition.message) == (
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
    )
    # the two pods it had to kill count as failed
    assert (failed.status.active, failed.status.failed, failed.status.terminating) == (0, 2, 2)
    events = await reasons(cluster, failed)
    assert events.count("SuccessfulDelete") == 2
    assert events[-1] == "DeadlineExceeded"
    await anyio.sleep(60)  # SIGTERM, exit, deletion; nothing holds them
    assert await pods_of(cluster, "slow") == []


async def test_ttl_after_finished_deletes_the_job_and_its_pods(cluster: orbit.Cluster) -> None:
    began = now()
    await cluster.apply(job("once", run="10", ttlSecondsAfterFinished=60))
    await cluster.wait_for("job", "once", "Complete", timeout_s=600)
    assert now() - began == 10
    assert len(await pods_of(cluster, "once")) == 1
    await cluster.wait_for("job", "once", "deleted", timeout_s=600)
    assert now() - began == 70
    assert await pods_of(cluster, "once") == []


async def test_suspend_and_resume(cluster: orbit.Cluster) -> None:
    began = now()
    manifest = job("paused", run="30", completions=2, parallelism=2, suspend=True)
    await cluster.apply(manifest)
    await anyio.sleep(50)
    held: Job = await cluster.get("job", "paused")
    assert await pods_of(cluster, "paused") == []
    assert held.status.start_time is None
    assert [(c.type, c.status, c.reason) for c in held.status.conditions] == [
        ("Suspended", "True", "JobSuspended")
    ]
    manifest["spec"]["suspend"] = False
    await cluster.apply(manifest)  # resume at 50
    await anyio.sleep(10)
    running: Job = await cluster.get("job", "paused")
    assert running.status.active == 2
    assert running.status.start_time is not None
    assert running.status.start_time.timestamp() - began == 50
    manifest["spec"]["suspend"] = True
    await cluster.apply(manifest)  # suspend again at 60: its pods go, uncounted
    await anyio.sleep(10)
    again: Job = await cluster.get("job", "paused")
    assert (again.status.active, again.status.failed, again.status.succeeded) == (0, 0, 0)
    assert await pods_of(cluster, "paused") == []  # stopped and gone
    manifest["spec"]["suspend"] = False
    await cluster.apply(manifest)  # resume at 70: new pods, 30 s
    done: Job = await cluster.wait_for("job", "paused", "Complete", timeout_s=600)
    assert now() - began == 100
    assert done.status.succeeded == 2
    suspended = next(c for c in done.status.conditions if c.type == "Suspended")
    assert (suspended.status, suspended.reason) == ("False", "JobResumed")
    counts = {e.reason: e.count for e in await cluster.events(involved=done)}
    assert (counts["Suspended"], counts["Resumed"]) == (2, 2)  # repeats fold into one event


async def test_pod_failure_policy_fails_the_job_on_exit_code_42(cluster: orbit.Cluster) -> None:
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}
    began = now()
    await cluster.apply(
        job("strict", run="5", exit_code=42, backoffLimit=6, podFailurePolicy=policy)
    )
    failed: Job = await cluster.wait_for("job", "strict", "Failed", timeout_s=600)
    assert now() - began == 5  # at the first failure, without backing off and retrying
    (pod,) = await pods_of(cluster, "strict")
    kinds = [(c.type, c.status, c.reason) for c in failed.status.conditions]
    assert kinds == [
        ("FailureTarget", "True", "PodFailurePolicy"),
        ("Failed", "True", "PodFailurePolicy"),
    ]
    assert failed.status.conditions[1].message == (
        f"Container main for pod default/{pod.metadata.name} failed with exit code 42 "
        "matching FailJob rule at index 0"
    )
    assert failed.status.failed == 1


async def test_a_deleted_pod_counts_as_a_failure_and_is_replaced(cluster: orbit.Cluster) -> None:
    began = now()
    await cluster.apply(job("steady", run="100", completions=1))
    await anyio.sleep(10)
    (first,) = await pods_of(cluster, "steady")
    await cluster.delete("pod", first.metadata.name)
    await anyio.sleep(1)
    live: Job = await cluster.get("job", "steady")
    assert (live.status.failed, live.status.active) == (1, 0)  # backing off
    done: Job = await cluster.wait_for("job", "steady", "Complete", timeout_s=600)
    (second,) = await pods_of(cluster, "steady")
    assert created_at(second, began) == 20  # deleted at 10, then the 10 s backoff
    assert now() - began == 120
    assert (done.status.succeeded, done.status.failed) == (1, 1)


async def test_deleting_a_job_deletes_its_pods(cluster: orbit.Cluster) -> None:
    await cluster.apply(job("doomed", run="forever", parallelism=3, completions=3))
    await anyio.sleep(5)
    assert len(await pods_of(cluster, "doomed")) == 3
    assert all(p.status.phase == "Running" for p in await pods_of(cluster, "doomed"))
    await cluster.delete("job", "doomed")
    await anyio.sleep(60)
    assert await pods_of(cluster, "doomed") == []


async def test_with_a_garbage_collector_pods_are_its_to_delete() -> None:
    nodes = [orbit.Node("g0", runtime=SimRuntime(behaviour=behaviour))]
    async with orbit.Cluster(nodes=nodes, seed=5) as gc_cluster:
        await gc_cluster.start_controller(GarbageCollector(gc_cluster.store, gc_cluster.clock))
        jobs = JobController(gc_cluster.store, gc_cluster.clock, collect_orphans=False)
        await gc_cluster.start_controller(jobs)
        began = now()
        await gc_cluster.apply(job("once", run="10", ttlSecondsAfterFinished=60))
        await gc_cluster.wait_for("job", "once", "deleted", timeout_s=600)
        assert now() - began == 70
        assert await pods_of(gc_cluster, "once") == []
        await gc_cluster.apply(job("kept", run="forever", parallelism=2, completions=2))
        await anyio.sleep(5)
        await gc_cluster.delete("job", "kept", propagation_policy="Orphan")
        await anyio.sleep(5)
        orphans = await pods_of(gc_cluster, "kept")
        assert len(orphans) == 2
        for pod in orphans:  # still running, no owner, no longer held by the Job
            assert pod.status.phase == "Running"
            assert pod.metadata.owner_references == ()
            assert pod.metadata.finalizers == ()
