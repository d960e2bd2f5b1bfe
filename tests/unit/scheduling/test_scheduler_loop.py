"""The scheduler loop inside a Cluster: pending pods in the store get bound, pods that
fit nowhere get Kubernetes' condition and event and wait for a change that may help,
gangs go all-or-nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from sched_harness import make_node, make_pod

import orbit
from orbit.api import Pod
from orbit.controllers import GANG_ANNOTATION, GANG_MIN_ANNOTATION

pytestmark = pytest.mark.anyio


async def until(check: Callable[[], Any], timeout_s: float = 5.0) -> Any:
    """Poll (yielding to the loop) until ``check()`` is truthy; return its value."""
    with anyio.fail_after(timeout_s):
        while not (value := check()):
            await anyio.lowlevel.checkpoint()
        return value


def node_of(cluster: orbit.Cluster, name: str) -> str:
    pod: Pod = cluster.store.get(Pod, name, "default")
    return pod.spec.node_name


async def test_pending_pods_are_bound_with_condition_and_event() -> None:
    async with orbit.Cluster(seed=1, nodes=[]) as cluster:
        cluster.store.create(make_node("n1", cpu="2"))
        cluster.store.create(make_node("n2", cpu="2"))
        for i in range(3):
            cluster.store.create(make_pod(f"p{i}", cpu="1"))
        await until(lambda: all(node_of(cluster, f"p{i}") for i in range(3)))
        pod = await cluster.get("pod", "p0")
        condition = pod.status.condition("PodScheduled")
        assert condition is not None
        assert condition.status == "True"
        events = await cluster.events(involved=pod)
        assert [e.reason for e in events] == ["Scheduled"]
        assert events[0].message == f"Successfully assigned default/p0 to {pod.spec.node_name}"
        placed = [node_of(cluster, f"p{i}") for i in range(3)]
        assert sorted(placed.count(n) for n in ("n1", "n2")) == [1, 2]


async def test_a_pod_that_fits_nowhere_waits_then_runs_when_a_node_arrives() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        cluster.store.create(make_node("small", cpu="1"))
        cluster.store.create(make_node("tainted", cpu="8", taints=["gpu=true:NoSchedule"]))
        cluster.store.create(make_pod("big", cpu="4"))

        def failed() -> Any:
            pod = cluster.store.get(Pod, "big", "default")
            condition = pod.status.condition("PodScheduled")
            return condition if condition and condition.status == "False" else None

        condition = await until(failed)
        assert condition.reason == "Unschedulable"
        # kube-scheduler's words; preemption, when enabled, appends its own sentence
        assert condition.message.startswith(
            "0/2 nodes are available: 1 Insufficient cpu, "
            "1 node(s) had untolerated taint {gpu: true}."
        )
        events = await cluster.events(involved=await cluster.get("pod", "big"))
        assert [e.reason for e in events] == ["FailedScheduling"]
        assert events[0].type == "Warning"
        cluster.store.create(make_node("large", cpu="8"))
        assert await until(lambda: node_of(cluster, "big")) == "large"


async def test_pods_of_other_schedulers_are_left_alone() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        cluster.store.create(make_node("n1"))
        cluster.store.create(make_pod("mine"))
        cluster.store.create(make_pod("theirs", scheduler_name="someone-else"))
        await until(lambda: node_of(cluster, "mine"))
        await anyio.sleep(0.05)
        assert node_of(cluster, "theirs") == ""


async def test_deleting_a_pod_frees_room_for_a_parked_one() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        cluster.store.create(make_node("n1", cpu="2"))
        cluster.store.create(make_pod("first", cpu="2"))
        await until(lambda: node_of(cluster, "first"))
        cluster.store.create(make_pod("second", cpu="2"))
        await until(lambda: cluster.scheduler.queue.counts()["unschedulable"] == 1)
        cluster.store.delete(Pod, "first", "default")
        assert await until(lambda: node_of(cluster, "second")) == "n1"


def gang_pod(name: str, gang: str, minimum: int, cpu: str = "2") -> Pod:
    return make_pod(
        name,
        cpu=cpu,
        annotations={GANG_ANNOTATION: gang, GANG_MIN_ANNOTATION: str(minimum)},
    )


async def test_a_gang_is_placed_all_or_nothing() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        for i in range(3):
            cluster.store.create(make_node(f"n{i}", cpu="2"))
        for i in range(4):  # 4 members of 2 cpu on 3 nodes of 2 cpu: cannot all fit
            cluster.store.create(gang_pod(f"train-{i}", "train", minimum=4))
        await until(lambda: cluster.scheduler.queue.counts()["unschedulable"] == 4)
        assert all(node_of(cluster, f"train-{i}") == "" for i in range(4))
        pod = await cluster.get("pod", "train-0")
        condition = pod.status.condition("PodScheduled")
        assert condition is not None
        assert condition.message.startswith("gang default/train: only 3 of 4 members fit")
        cluster.store.create(make_node("n3", cpu="2"))
        await until(lambda: all(node_of(cluster, f"train-{i}") for i in range(4)))
        assert sorted(node_of(cluster, f"train-{i}") for i in range(4)) == ["n0", "n1", "n2", "n3"]


async def test_a_gang_waits_for_its_minimum_members() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        cluster.store.create(make_node("n0", cpu="8"))
        cluster.store.create(gang_pod("a", "pair", minimum=2, cpu="1"))
        await until(lambda: cluster.scheduler.queue.counts()["unschedulable"] == 1)
        pod = await cluster.get("pod", "a")
        condition = pod.status.condition("PodScheduled")
        assert condition is not None
        assert condition.message == "gang default/pair: waiting for members (1 of 2 pending)"
        cluster.store.create(gang_pod("b", "pair", minimum=2, cpu="1"))
        await until(lambda: node_of(cluster, "a") and node_of(cluster, "b"))


async def test_a_higher_priority_pod_preempts_a_lower_one() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        cluster.store.create(make_node("n1", cpu="2"))
        cluster.store.create(make_pod("batch", cpu="2", priority=0))
        await until(lambda: node_of(cluster, "batch"))
        cluster.store.create(make_pod("urgent", cpu="2", priority=1000))

        def victim_terminating() -> bool:
            victim: Pod = cluster.store.get(Pod, "batch", "default")
            return victim.metadata.deletion_timestamp is not None

        await until(victim_terminating)
        urgent = await cluster.get("pod", "urgent")
        assert urgent.status.nominated_node_name == "n1"
        reasons = [e.reason for e in await cluster.events()]
        assert "Preempted" in reasons
        # the node agent (a later milestone) finishes the graceful deletion:
        cluster.store.delete(Pod, "batch", "default", grace_period_s=0)
        assert await until(lambda: node_of(cluster, "urgent")) == "n1"


async def nodes_used(profile: str, sizes: list[str]) -> int:
    async with orbit.Cluster(nodes=[]) as cluster:
        for i in range(len(sizes)):
            cluster.store.create(make_node(f"n{i}", cpu="10", memory="64Gi"))
        for i, cpu in enumerate(sizes):
            cluster.store.create(make_pod(f"p{i}", cpu=cpu, memory="1Gi", scheduler_name=profile))
        names = [f"p{i}" for i in range(len(sizes))]
        await until(lambda: all(node_of(cluster, n) for n in names), timeout_s=20)
        return len({node_of(cluster, n) for n in names})


async def test_the_optimal_profile_packs_a_window_better_than_greedy() -> None:
    """cpu 3,3,3,3,4,4 on nodes of 10 in that order: best-fit one at a time (binpack)
    opens three nodes; the optimal profile places the window at once: 3+3+4 twice."""
    sizes = ["3", "3", "3", "3", "4", "4"]
    assert await nodes_used("binpack", sizes) == 3
    assert await nodes_used("optimal", sizes) == 2


async def test_preemption_respects_pod_disruption_budgets_from_the_store() -> None:
    """Two nodes each running one low-priority pod. Without budgets preemption picks
    the pod on n2 (checked first below); a budget protecting it moves the choice to n1."""
    for protect in (False, True):
        async with orbit.Cluster(nodes=[]) as cluster:
            cluster.store.create(make_node("n1", cpu="2"))
            cluster.store.create(make_node("n2", cpu="2"))
            cluster.store.create(make_pod("on-n1", cpu="2", priority=0, node_name="n1"))
            on_n2 = make_pod("on-n2", cpu="2", priority=0, node_name="n2")
            labelled = attrs.evolve(on_n2.metadata, labels={"app": "db"})
            cluster.store.create(attrs.evolve(on_n2, metadata=labelled))
            if protect:
                await cluster.apply(
                    {
                        "apiVersion": "policy/v1",
                        "kind": "PodDisruptionBudget",
                        "metadata": {"name": "db"},
                        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}},
                    }
                )
            cluster.store.create(make_pod("urgent", cpu="2", priority=1000))

            def terminating(name: str, cluster: orbit.Cluster = cluster) -> bool:
                pod: Pod = cluster.store.get(Pod, name, "default")
                return pod.metadata.deletion_timestamp is not None

            await until(lambda: terminating("on-n1") or terminating("on-n2"))
            assert terminating("on-n1") is protect
            assert terminating("on-n2") is not protect
