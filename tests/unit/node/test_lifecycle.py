"""Pod phase and conditions from container statuses: the kubelet's getPhase and
condition generation, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from node_builders import make_pod

from orbit.api import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    PodCondition,
)
from orbit.node import pod_conditions, pod_phase
from orbit.node._lifecycle import merge_conditions, qos_class


def running(name: str, ready: bool = True) -> ContainerStatus:
    return ContainerStatus(
        name=name, ready=ready, state=ContainerState(running=ContainerStateRunning())
    )


def exited(name: str, code: int) -> ContainerStatus:
    return ContainerStatus(
        name=name, state=ContainerState(terminated=ContainerStateTerminated(exit_code=code))
    )


def waiting(
    name: str, reason: str = "ContainerCreating", last_code: int | None = None
) -> ContainerStatus:
    last = (
        ContainerState(terminated=ContainerStateTerminated(exit_code=last_code))
        if last_code is not None
        else ContainerState()
    )
    return ContainerStatus(
        name=name,
        state=ContainerState(waiting=ContainerStateWaiting(reason=reason)),
        last_state=last,
    )


TWO = [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]
INIT = [{"name": "i1", "image": "x"}, {"name": "i2", "image": "x"}]

PHASES = [
    # (restartPolicy, init statuses, statuses, phase)
    ("Always", [], [], "Pending"),
    ("Always", [], [waiting("a"), waiting("b")], "Pending"),
    ("Always", [], [running("a"), waiting("b")], "Pending"),
    ("Always", [], [running("a"), running("b")], "Running"),
    ("Always", [], [running("a")], "Pending"),  # b unknown
    ("Always", [], [running("a"), exited("b", 0)], "Running"),
    ("Always", [], [exited("a", 0), exited("b", 0)], "Running"),  # will restart
    ("Always", [], [waiting("a", "CrashLoopBackOff", 1), running("b")], "Running"),
    ("OnFailure", [], [exited("a", 0), exited("b", 0)], "Succeeded"),
    ("OnFailure", [], [exited("a", 0), exited("b", 1)], "Running"),
    ("OnFailure", [], [exited("a", 0), waiting("b", "CrashLoopBackOff", 1)], "Running"),
    ("Never", [], [exited("a", 0), exited("b", 0)], "Succeeded"),
    ("Never", [], [exited("a", 0), exited("b", 2)], "Failed"),
    ("Never", [], [running("a"), exited("b", 2)], "Running"),
    ("Never", [exited("i1", 0), running("i2")], [waiting("a", "PodInitializing")] * 2, "Pending"),
    ("Never", [exited("i1", 1)], [], "Failed"),
    ("OnFailure", [exited("i1", 1)], [], "Pending"),
    ("Always", [waiting("i1", "CrashLoopBackOff", 1)], [], "Pending"),
    ("Always", [exited("i1", 0), exited("i2", 0)], [running("a"), running("b")], "Running"),
]


@pytest.mark.parametrize(("policy", "init", "statuses", "phase"), PHASES)
def test_phase(
    policy: str, init: list[ContainerStatus], statuses: list[ContainerStatus], phase: str
) -> None:
    pod = make_pod(containers=TWO, init=INIT if init else None, restart_policy=policy)
    assert pod_phase(pod.spec, init, statuses) == phase


def test_conditions_name_the_unready_and_uninitialized_containers() -> None:
    pod = make_pod(containers=TWO, init=INIT)
    init = [exited("i1", 0), running("i2")]
    initialized, containers_ready, ready = pod_conditions(
        pod.spec, "Pending", init, [waiting("a"), waiting("b")]
    )
    assert (initialized.type, initialized.status, initialized.reason) == (
        "Initialized",
        "False",
        "ContainersNotInitialized",
    )
    assert initialized.message == "containers with incomplete status: [i2]"
    assert (containers_ready.status, containers_ready.reason) == ("False", "ContainersNotReady")
    assert containers_ready.message == "containers with unready status: [a b]"
    assert (ready.type, ready.status, ready.message) == (
        "Ready",
        "False",
        "containers with unready status: [a b]",
    )


def test_all_ready_makes_the_pod_ready() -> None:
    pod = make_pod(containers=TWO)
    conditions = pod_conditions(pod.spec, "Running", [], [running("a"), running("b")])
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("Initialized", "True", ""),
        ("ContainersReady", "True", ""),
        ("Ready", "True", ""),
    ]
    one = pod_conditions(pod.spec, "Running", [], [running("a"), running("b", ready=False)])
    assert one[2].message == "containers with unready status: [b]"


def test_a_succeeded_pod_is_initialized_and_completed() -> None:
    pod = make_pod(containers=TWO, restart_policy="Never")
    conditions = pod_conditions(pod.spec, "Succeeded", [], [exited("a", 0), exited("b", 0)])
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("Initialized", "True", "PodCompleted"),
        ("ContainersReady", "False", "PodCompleted"),
        ("Ready", "False", "PodCompleted"),
    ]


def test_merging_keeps_foreign_conditions_and_unchanged_transition_times() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    t1 = datetime(2026, 1, 2, tzinfo=UTC)
    old = (
        PodCondition(type="PodScheduled", status="True", last_transition_time=t0),
        PodCondition(type="Initialized", status="True", last_transition_time=t0),
        PodCondition(type="Ready", status="False", last_transition_time=t0),
    )
    own = (
        PodCondition(type="Initialized", status="True"),
        PodCondition(type="ContainersReady", status="True"),
        PodCondition(type="Ready", status="True"),
    )
    merged = merge_conditions(old, own, t1)
    assert [(c.type, c.status, c.last_transition_time) for c in merged] == [
        ("PodScheduled", "True", t0),
        ("Initialized", "True", t0),
        ("Ready", "True", t1),
        ("ContainersReady", "True", t1),
    ]


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({}, "BestEffort"),
        ({"requests": {"cpu": "1"}}, "Burstable"),
        ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
        (
            {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "Burstable",
        ),
        ({"limits": {"cpu": "1"}}, "Burstable"),
    ],
)
def test_qos_class(resources: dict[str, dict[str, str]], qos: str) -> None:
    pod = make_pod(containers=[{"name": "a", "image": "x", "resources": resources}])
    assert qos_class(pod.spec) == qos
