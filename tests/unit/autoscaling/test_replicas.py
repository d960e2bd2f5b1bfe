"""The HPA replica calculation, against Kubernetes' own expectations.

The tables are transcribed from kubernetes/kubernetes
``pkg/controller/podautoscaler/replica_calculator_test.go`` (TestReplicaCalcResourceScale,
TestReplicaCalc*CM*, TestReplicaCalcConfigurableTolerance, TestGroupPods,
TestCalculateRequests, the overflow tests...). :func:`scenario` rebuilds that file's
fake pods and metrics clients: every pod has two containers (``container1``,
``container2``) requesting the same cpu, a Ready condition whose transition time is
Go's zero time, and metric samples timestamped at Go's zero time; Kubernetes' test
constants are a 2-minute cpu initialization period and a 10 s readiness delay.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.autoscaling._replicas import (
    MAX_INT32,
    MAX_INT64,
    PodGroups,
    PodInfo,
    Proposal,
    ReplicaCalcError,
    Sample,
    Tuning,
    external_per_pod_replicas,
    external_replicas,
    group_pods,
    object_per_pod_replicas,
    object_replicas,
    pod_requests,
    pods_metric_replicas,
    raw_resource_replicas,
    resource_replicas,
)

NOW = 1_767_225_600.0
GO_ZERO = -62_135_596_800.0  # time.Time{} (0001-01-01T00:00:00Z) in Unix seconds
HOT = NOW  # hotCPUCreationTime(): time.Now()
COOL = NOW - 180.0  # coolCPUCreationTime(): 3 minutes ago
K8S_TUNING = Tuning(
    tolerance=0.1, cpu_initialization_period_s=120.0, initial_readiness_delay_s=10.0
)
CONTAINERS = ("container1", "container2")


def levels(*per_pod: int) -> list[list[int]]:
    """``makePodMetricLevels``: both containers of pod i use ``per_pod[i]``."""
    return [[value, value] for value in per_pod]


@attrs.frozen(kw_only=True)
class Scenario:
    """replica_calculator_test.go's ``calcScenario``: ``requests[i]`` is each container's
    cpu request (milli) of pod i, ``levels[i][j]`` container j's usage."""

    current: int
    requests: Sequence[int] = ()
    levels: Sequence[Sequence[int]] = ()
    pod_names: Sequence[str] = ()
    container: str = ""
    ready: Sequence[bool] | None = None
    start: Sequence[float] | None = None
    phase: Sequence[str] | None = None
    deleting: Sequence[bool] | None = None

    def pods(self) -> list[PodInfo]:
        count = max(self.current, len(self.phase or ()))
        return [self._pod(i) for i in range(count)]

    def _pod(self, i: int) -> PodInfo:
        request = {"cpu": self.requests[i]} if i < len(self.requests) else {}
        return PodInfo(
            name=f"test-pod-{i}",
            phase=self.phase[i] if self.phase else "Running",
            deleting=bool(self.deleting and self.deleting[i]),
            ready=self.ready[i] if self.ready and i < len(self.ready) else True,
            ready_transition=GO_ZERO,
            start_time=self.start[i] if self.start else GO_ZERO,
            requests=dict.fromkeys(CONTAINERS, request),
        )

    def samples(self) -> dict[str, Sample]:
        """The resource metrics client's answer: per pod the sum over its containers,
        or ``container``'s value (a pod without it has no sample)."""
        result: dict[str, Sample] = {}
        for i, values in enumerate(self.levels):
            name = self.pod_names[i] if i < len(self.pod_names) else f"test-pod-{i}"
            if not self.container:
                result[name] = Sample(value=sum(values), timestamp=GO_ZERO)
                continue
            index = CONTAINERS.index(self.container)
            if index < len(values):
                result[name] = Sample(value=values[index], timestamp=GO_ZERO)
        return result


def cpu(sc: Scenario, target: int, **tolerances: float) -> Proposal:
    return resource_replicas(
        sc.current,
        target,
        "cpu",
        sc.samples(),
        sc.pods(),
        NOW,
        K8S_TUNING,
        container=sc.container,
        **tolerances,
    )


C2 = "container2"
RUNNING, PENDING, FAILED = "Running", "Pending", "Failed"
T, F = True, False

# (name, scenario, target, replicas, utilization, raw value): TestReplicaCalcResourceScale
RESOURCE_SCALE = [
    ("scale up", Scenario(current=3, requests=[1000] * 3, levels=levels(300, 500, 700)),
     30, 5, 50, 2 * 500),
    ("scale up: container metric",
     Scenario(current=3, requests=[1000] * 3, container=C2,
              levels=[[1000, 300], [1000, 500], [1000, 700]]),
     30, 5, 50, 500),
    ("scale up: unready pod scales less",
     Scenario(current=3, requests=[1000] * 3, ready=[F, T, T], levels=levels(300, 500, 700)),
     30, 4, 60, 2 * 600),
    ("scale up: hot-CPU container scales less",
     Scenario(current=3, requests=[1000] * 3, start=[HOT, COOL, COOL], container=C2,
              levels=[[0, 300], [0, 500], [0, 700]]),
     30, 4, 60, 600),
    ("scale up: hot-CPU pod scales less",
     Scenario(current=3, requests=[1000] * 3, start=[HOT, COOL, COOL],
              levels=levels(300, 500, 700)),
     30, 4, 60, 2 * 600),
    ("no scale: unready pods ignored",
     Scenario(current=3, requests=[1000] * 3, ready=[T, F, F], levels=levels(400, 500, 700)),
     30, 3, 40, 2 * 400),
    ("no scale: hot-CPU pods ignored",
     Scenario(current=3, requests=[1000] * 3, ready=[T, F, F], start=[COOL, HOT, HOT],
              levels=levels(400, 500, 700)),
     30, 3, 40, 2 * 400),
    ("scale up: failed pods ignored",
     Scenario(current=2, requests=[1000] * 4, ready=[T, T, F, F],
              phase=[RUNNING, RUNNING, FAILED, FAILED], levels=levels(500, 700)),
     30, 4, 60, 2 * 600),
    ("scale up: failed pods ignored with missing container metric",
     Scenario(current=2, requests=[1000] * 4, ready=[T, T, F, F], container=C2,
              phase=[RUNNING, RUNNING, FAILED, FAILED],
              levels=[[1000, 500], [9000, 700], [1000], [9000]]),
     30, 4, 60, 600),
    ("scale up: container metrics with failed pods ignored",
     Scenario(current=2, requests=[1000] * 4, ready=[T, T, F, F], container=C2,
              phase=[RUNNING, RUNNING, FAILED, FAILED], levels=[[1000, 500], [9000, 700]]),
     30, 4, 60, 600),
    ("scale up: pods being deleted are ignored",
     Scenario(current=2, requests=[1000] * 4, ready=[T, T, F, F], phase=[RUNNING] * 4,
              deleting=[F, F, T, T], levels=levels(500, 700)),
     30, 4, 60, 2 * 600),
    ("scale up: container metrics with pods being deleted ignored",
     Scenario(current=2, requests=[1000] * 4, ready=[T, T, F, F], phase=[RUNNING] * 4,
              deleting=[F, F, T, T], container="container1", levels=levels(500, 700)),
     30, 4, 60, 600),
    ("scale down",
     Scenario(current=5, requests=[1000] * 5, levels=levels(100, 300, 500, 250, 250)),
     50, 3, 28, 2 * 280),
    ("scale down: container metric",
     Scenario(current=5, requests=[1000] * 5, container=C2,
              levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]]),
     50, 3, 28, 280),
    ("scale down: exclude unready pods",
     Scenario(current=5, requests=[1000] * 5, ready=[T, T, T, F, F],
              levels=levels(100, 300, 500, 250, 250)),
     50, 2, 30, 2 * 300),
    ("scale down: container metric excludes unready pods",
     Scenario(current=5, requests=[1000] * 5, ready=[T, T, T, F, F], container=C2,
              levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]]),
     50, 2, 30, 300),
    ("scale down: exclude unscheduled pods",
     Scenario(current=5, requests=[1000] * 5, ready=[T, F, F, F, F],
              phase=[RUNNING, PENDING, PENDING, PENDING, PENDING], levels=levels(100)),
     50, 1, 10, 2 * 100),
    ("scale down: container metric excludes unscheduled pods",
     Scenario(current=5, requests=[1000] * 5, ready=[T, F, F, F, F], container=C2,
              phase=[RUNNING, PENDING, PENDING, PENDING, PENDING],
              levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]]),
     50, 1, 10, 100),
    ("scale down: ignore hot-CPU pods",
     Scenario(current=5, requests=[1000] * 5, start=[COOL, COOL, COOL, HOT, HOT],
              levels=levels(100, 300, 500, 250, 250)),
     50, 2, 30, 2 * 300),
    ("scale down: container metric ignores hot-CPU pods",
     Scenario(current=5, requests=[1000] * 5, start=[COOL, COOL, COOL, HOT, HOT], container=C2,
              levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 1000], [1000, 1000]]),
     50, 2, 30, 300),
    ("scale down: failed pods ignored",
     Scenario(current=5, requests=[1000] * 7, ready=[T, T, T, T, T, F, F],
              phase=[RUNNING] * 5 + [FAILED] * 2, levels=levels(100, 300, 500, 250, 250)),
     50, 3, 28, 2 * 280),
    ("scale down: container metric with failed pods ignored",
     Scenario(current=5, requests=[1000] * 7, ready=[T, T, T, T, T, F, F], container=C2,
              phase=[RUNNING] * 5 + [FAILED] * 2,
              levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]]),
     50, 3, 28, 280),
    ("scale down: pods being deleted are ignored",
     Scenario(current=5, requests=[1000] * 7, ready=[T, T, T, T, T, F, F],
              phase=[RUNNING] * 7, deleting=[F] * 5 + [T, T],
              levels=levels(100, 300, 500, 250, 250)),
     50, 3, 28, 2 * 280),
    ("scale down: still-running pods being deleted are ignored",
     Scenario(current=5, requests=[1000] * 7, ready=[T, T, T, T, T, F, F], container=C2,
              phase=[RUNNING] * 7, deleting=[F] * 5 + [T, T],
              levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]]),
     50, 3, 28, 280),
    # TestReplicaCalcTolerance, TestReplicaCalcSuperfluousMetrics, TestReplicaCalcMissingMetrics*
    ("tolerance", Scenario(current=3, requests=[900, 1000, 1100], levels=levels(1010, 1030, 1020)),
     100, 3, 102, 2 * 1020),
    ("superfluous metrics",
     Scenario(current=4, requests=[1000] * 4, levels=levels(4000, 9500, 3000, 7000, 3200, 2000)),
     100, 24, 587, 2 * 5875),
    ("missing metrics", Scenario(current=4, requests=[1000] * 4, levels=levels(400, 95)),
     100, 3, 24, 495),
    ("missing metrics, no change (equal)",
     Scenario(current=2, requests=[1000] * 2, levels=levels(1000)), 100, 2, 100, 2 * 1000),
    ("missing metrics, no change (greater)",
     Scenario(current=2, requests=[1000] * 2, levels=levels(1900)), 100, 2, 190, 2 * 1900),
    ("missing metrics, no change (less)",
     Scenario(current=2, requests=[1000] * 2, levels=levels(600)), 100, 2, 60, 2 * 600),
    ("missing metrics, unready: no change",
     Scenario(current=3, requests=[1000] * 3, ready=[F, T, T], levels=levels(100, 450)),
     50, 3, 45, 2 * 450),
    ("missing metrics, hot cpu: no change",
     Scenario(current=3, requests=[1000] * 3, start=[HOT, COOL, COOL], levels=levels(100, 450)),
     50, 3, 45, 2 * 450),
    ("missing metrics, unready: scale up",
     Scenario(current=3, requests=[1000] * 3, ready=[F, T, T], levels=levels(100, 2000)),
     50, 4, 200, 2 * 2000),
    ("missing metrics, hot cpu: scale up",
     Scenario(current=3, requests=[1000] * 3, ready=[F, T, T], start=[HOT, COOL, COOL],
              levels=levels(100, 2000)),
     50, 4, 200, 2 * 2000),
    ("missing metrics, unready: scale down",
     Scenario(current=4, requests=[1000] * 4, ready=[F, T, T, T], levels=levels(100, 100, 100)),
     50, 3, 10, 2 * 100),
    ("missing metrics: scale down with a target over 100 %",
     Scenario(current=4, requests=[1000, 1000, 2000, 2000], ready=[F, T, T, T],
              levels=levels(200, 100, 100)),
     300, 2, 6, 2 * 100),
    ("rolling update with max surge",
     Scenario(current=2, requests=[1000] * 3, phase=[RUNNING] * 3, levels=levels(100, 100)),
     50, 2, 10, 2 * 100),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scenario", "target", "replicas", "utilization", "raw"),
    [pytest.param(*case[1:], id=case[0]) for case in RESOURCE_SCALE],
)
def test_resource_replicas_as_kubernetes(
    scenario: Scenario, target: int, replicas: int, utilization: int, raw: int
) -> None:
    assert cpu(scenario, target) == Proposal(
        replicas=replicas, utilization=utilization, raw_value=raw, timestamp=GO_ZERO
    )


@pytest.mark.parametrize(
    ("up", "down", "usage", "replicas", "utilization"),
    [
        pytest.param(0.0, 0.0, (909, 1010, 1111), 4, 101, id="outside a 0% tolerance"),
        pytest.param(2.0, 0.1, (1890, 1910, 1900), 3, 190, id="within a 200% scale-up tolerance"),
        pytest.param(0.08, 2.0, (1100, 1080, 1090), 4, 109, id="outside an 8% scale-up tolerance"),
        pytest.param(0.1, 0.36, (660, 640, 650), 3, 65, id="within a 36% scale-down tolerance"),
        pytest.param(0.1, 0.34, (660, 640, 650), 2, 65, id="outside a 34% scale-down tolerance"),
    ],
)
def test_configurable_tolerance(
    up: float, down: float, usage: tuple[int, int, int], replicas: int, utilization: int
) -> None:
    """TestReplicaCalcConfigurableTolerance (KEP-4951): separate up and down bands."""
    sc = Scenario(current=3, requests=[900, 1000, 1100], levels=levels(*usage))
    proposal = cpu(sc, 100, scale_up_tolerance=up, scale_down_tolerance=down)
    assert (proposal.replicas, proposal.utilization) == (replicas, utilization)


def test_computed_tolerance_boundary() -> None:
    """TestReplicaCalcComputedToleranceAlgImplementation: a target just past the
    tolerance scales down; one just inside it does not."""
    start_pods, used = 10, 10 * 150
    requested = 2 * used
    per_pod = requested // start_pods
    requests = [per_pod + d for d in (100, -100, 10, -10, 2, -2, 1, -1, 0, 0)]
    sc = Scenario(current=start_pods, requests=requests, levels=levels(*[used // 10] * 10))
    target = abs(1 / (2.0 * (1 - 0.1))) + 0.01
    final_pods = math.ceil(used / (requested * target) * start_pods)
    proposal = cpu(sc, int(target * 100))
    assert (proposal.replicas, proposal.utilization) == (final_pods, used * 100 // requested)
    assert final_pods < start_pods
    close = abs(1 / (2.0 * (1 - 0.1))) + 0.004
    assert cpu(sc, int(close * 100)).replicas == start_pods


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        pytest.param(
            Scenario(current=1, requests=[1000], levels=levels(100), pod_names=["an-older-pod"]),
            "no metrics returned matched known pods",
            id="disjoint resources and metrics",
        ),
        pytest.param(
            Scenario(current=4, requests=[1000] * 3, levels=[]),
            "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
            id="empty metrics",
        ),
        pytest.param(
            Scenario(current=1, requests=[], levels=levels(200)),
            "missing request for cpu in container container1 of Pod test-pod-0",
            id="empty cpu request",
        ),
        pytest.param(
            Scenario(current=2, requests=[1000] * 2, ready=[F, F], levels=levels(500, 500)),
            "did not receive metrics for targeted pods (pods might be unready)",
            id="only unready pods have metrics",
        ),
        pytest.param(
            Scenario(current=0, requests=[1000], levels=levels(500)),
            "no pods returned by selector while calculating replica count",
            id="no pods",
        ),
    ],
)
def test_resource_replicas_errors(scenario: Scenario, message: str) -> None:
    with pytest.raises(ReplicaCalcError) as caught:
        cpu(scenario, 100)
    assert str(caught.value) == message


def test_container_missing_from_a_pod() -> None:
    """A ContainerResource metric names a container some pod does not have."""
    sc = Scenario(current=1, requests=[1000], levels=levels(500))
    with pytest.raises(ReplicaCalcError) as caught:
        resource_replicas(
            1, 100, "cpu", {"test-pod-0": Sample(value=5, timestamp=NOW)}, sc.pods(), NOW,
            container="sidecar",
        )  # fmt: skip
    assert str(caught.value) == "container sidecar not found in Pod test-pod-0"


def test_utilization_outside_int32_is_an_error() -> None:
    """utilization.go's exact path: a percentage that does not fit an int32."""
    sc = Scenario(current=1, requests=[1], levels=levels(MAX_INT64 // 4))
    with pytest.raises(ReplicaCalcError, match="is outside the int32 range"):
        cpu(sc, 100)


def test_utilization_sums_beyond_int64_are_exact() -> None:
    """What Kubernetes' big.Int fallback computes: int64-overflowing totals still give
    the exact truncated percentage and average."""
    big = MAX_INT64 // 2 + 1
    samples = {"a": Sample(value=big, timestamp=NOW), "b": Sample(value=big, timestamp=NOW)}
    pods = [
        PodInfo(name=n, phase="Running", ready=True, requests={"c": {"memory": big * 4}})
        for n in ("a", "b")
    ]
    proposal = resource_replicas(2, 25, "memory", samples, pods, NOW)
    assert (proposal.utilization, proposal.raw_value, proposal.replicas) == (25, big, 2)


def test_missing_pods_on_scale_down_use_their_request() -> None:
    """A missing pod counts as 100 % of its request on a scale-down: with one idle pod
    and one without metrics, 2 pods at 50 % target stay 2, not 1."""
    sc = Scenario(current=2, requests=[1000, 1000], levels=levels(0))
    assert cpu(sc, 50).replicas == 2


def test_raw_resource_replicas_average_value() -> None:
    """AverageValue on a resource: the mean usage, requests ignored (no request needed)."""
    pods = [PodInfo(name=f"p{i}", phase="Running", ready=True) for i in range(3)]
    samples = {f"p{i}": Sample(value=v, timestamp=NOW) for i, v in enumerate((600, 800, 1000))}
    proposal = raw_resource_replicas(3, 400, "memory", samples, pods, NOW)
    assert proposal == Proposal(replicas=6, raw_value=800, timestamp=NOW)
    with pytest.raises(ReplicaCalcError, match="no metrics returned from resource metrics API"):
        raw_resource_replicas(3, 400, "memory", {}, pods, NOW)


def pod_scenario(current: int, ready: Sequence[bool] = (), start: Sequence[float] = ()) -> Scenario:
    return Scenario(current=current, ready=list(ready) or None, start=list(start) or None)


def pod_samples(*values: int) -> dict[str, Sample]:
    return {f"test-pod-{i}": Sample(value=v, timestamp=GO_ZERO) for i, v in enumerate(values)}


@pytest.mark.parametrize(
    ("scenario", "values", "target", "replicas", "usage", "tolerance_up"),
    [
        pytest.param(pod_scenario(3), (20000, 10000, 30000), 15000, 4, 20000, None, id="scale up"),
        pytest.param(
            pod_scenario(3, [T, T, F], [COOL, COOL, HOT]),
            (50000, 10000, 30000), 15000, 6, 30000, None,
            id="unready hot cpu: no less scale",
        ),
        pytest.param(
            pod_scenario(3, [F, T, F], [HOT, COOL, HOT]),
            (50000, 15000, 30000), 15000, 7, 31666, None,
            id="unready hot cpu: would scale down",
        ),
        pytest.param(
            pod_scenario(5), (12000,) * 5, 20000, 3, 12000, None, id="scale down"
        ),
        pytest.param(
            pod_scenario(3), (20000, 21000, 21000), 20000, 3, 20666, None, id="tolerance"
        ),
        pytest.param(
            pod_scenario(3), (20000, 21000, 21000), 20000, 4, 20666, 0.01,
            id="configurable tolerance",
        ),
        pytest.param(
            pod_scenario(5), (20000, 19000, 21000), 20000, 5, 20000, None,
            id="missing metrics, no change",
        ),
        pytest.param(
            Scenario(current=2, phase=[RUNNING] * 3), (10000, 10000), 17000, 2, 10000, None,
            id="rolling update with max surge",
        ),
    ],
)  # fmt: skip
def test_pods_metric_replicas_as_kubernetes(
    scenario: Scenario,
    values: tuple[int, ...],
    target: int,
    replicas: int,
    usage: int,
    tolerance_up: float | None,
) -> None:
    """TestReplicaCalc*CM (podMetric): only Pending pods are unready for non-cpu metrics."""
    proposal = pods_metric_replicas(
        scenario.current,
        target,
        pod_samples(*values),
        scenario.pods(),
        NOW,
        K8S_TUNING,
        scale_up_tolerance=tolerance_up,
    )
    assert proposal == Proposal(replicas=replicas, raw_value=usage, timestamp=GO_ZERO)


def test_pods_metric_without_samples() -> None:
    with pytest.raises(ReplicaCalcError) as caught:
        pods_metric_replicas(3, 1000, {}, pod_scenario(3).pods(), NOW, metric="qps")
    assert str(caught.value) == (
        "unable to get metric qps: no metrics returned from custom metrics API"
    )


@pytest.mark.parametrize(
    ("current", "ready", "usage", "target", "replicas", "tolerance_up"),
    [
        pytest.param(3, (), 20000, 15000, 4, None, id="scale up"),
        pytest.param(3, (F, T, F), 50000, 10000, 5, None, id="ignores unready pods"),
        pytest.param(5, (), 12000, 20000, 3, None, id="scale down"),
        pytest.param(3, (), 20666, 20000, 3, None, id="tolerance"),
        pytest.param(3, (), 20666, 20000, 4, 0.01, id="configurable tolerance"),
        pytest.param(3, (), MAX_INT64, 1, MAX_INT32, None, id="overflow"),
    ],
)
def test_object_value(
    current: int,
    ready: tuple[bool, ...],
    usage: int,
    target: int,
    replicas: int,
    tolerance_up: float | None,
) -> None:
    """TestReplicaCalc*CMObject and TestReplicaCalcScaleUpOverflow (Value target)."""
    pods = pod_scenario(current, ready).pods()
    proposal = object_replicas(
        current, target, usage, pods, K8S_TUNING, scale_up_tolerance=tolerance_up, timestamp=NOW
    )
    assert proposal == Proposal(replicas=replicas, raw_value=usage, timestamp=NOW)


@pytest.mark.parametrize(
    ("current", "usage", "target", "replicas", "per_pod", "tolerance_up"),
    [
        pytest.param(3, 20000, 5000, 4, 6667, None, id="scale up"),
        pytest.param(5, 6000, 2000, 3, 1200, None, id="scale down"),
        pytest.param(4, 20166, 5000, 4, 5042, None, id="tolerance"),
        pytest.param(4, 20208, 5000, 5, 5052, 0.01, id="configurable tolerance"),
    ],
)
def test_object_average_value(
    current: int, usage: int, target: int, replicas: int, per_pod: int, tolerance_up: float | None
) -> None:
    """TestReplicaCalc*PerPodCMObject (AverageValue target)."""
    proposal = object_per_pod_replicas(
        current, target, usage, K8S_TUNING, scale_up_tolerance=tolerance_up
    )
    assert (proposal.replicas, proposal.raw_value) == (replicas, per_pod)


@pytest.mark.parametrize(
    ("current", "ready", "values", "target", "replicas", "usage", "tolerance_up"),
    [
        pytest.param(3, (F, T, F), [8600], 4400, 2, 8600, None, id="ignores unready pods"),
        pytest.param(5, (), [8600], 14334, 3, 8600, None, id="scale down"),
        pytest.param(3, (), [8600], 8888, 3, 8600, None, id="tolerance"),
        pytest.param(3, (), [8900], 8800, 4, 8900, 0.01, id="configurable tolerance"),
        pytest.param(
            3, (), [MAX_INT64 // 2 + 1] * 2, MAX_INT64, 3, MAX_INT64, None, id="usage overflow"
        ),
    ],
)
def test_external_value(
    current: int,
    ready: tuple[bool, ...],
    values: list[int],
    target: int,
    replicas: int,
    usage: int,
    tolerance_up: float | None,
) -> None:
    """TestReplicaCalc*CMExternal and TestReplicaCalcExternalMetricUsageOverflow."""
    pods = pod_scenario(current, ready).pods()
    proposal = external_replicas(
        current, target, values, pods, K8S_TUNING, scale_up_tolerance=tolerance_up
    )
    assert (proposal.replicas, proposal.raw_value) == (replicas, usage)


@pytest.mark.parametrize(
    ("current", "values", "target", "replicas", "per_pod", "tolerance_up"),
    [
        pytest.param(3, [8600], 2150, 4, 2867, None, id="scale up"),
        pytest.param(5, [8600], 2867, 3, 1720, None, id="scale down"),
        pytest.param(3, [8600], 2900, 3, 2867, None, id="tolerance"),
        pytest.param(3, [8600], 2800, 4, 2867, 0.01, id="configurable tolerance"),
        pytest.param(1, [MAX_INT64], 1, MAX_INT32, MAX_INT64, None, id="replica overflow"),
        pytest.param(1, [MAX_INT64], MAX_INT64, 1, MAX_INT64, None, id="usage overflow"),
        pytest.param(1, [MAX_INT64, 5], 1, MAX_INT32, MAX_INT64, None, id="sum wraps"),
    ],
)
def test_external_average_value(
    current: int,
    values: list[int],
    target: int,
    replicas: int,
    per_pod: int,
    tolerance_up: float | None,
) -> None:
    """TestReplicaCalc*PerPodCMExternal and TestExternalPerPodMetric*Overflow."""
    proposal = external_per_pod_replicas(
        current, target, values, K8S_TUNING, scale_up_tolerance=tolerance_up
    )
    assert (proposal.replicas, proposal.raw_value) == (replicas, per_pod)


@pytest.mark.parametrize(
    ("usage", "target", "replicas"),
    [(0, 1000, 0), (1, 1000, 1), (999, 1000, 1), (1000, 1000, 1), (1001, 1000, 2), (5500, 1000, 6)],
)
def test_scale_from_zero_ignores_tolerance_and_pods(usage: int, target: int, replicas: int) -> None:
    """getUsageRatioReplicaCount at zero replicas: ceil(usage / target), no pods needed."""
    assert object_replicas(0, target, usage, [], scale_up_tolerance=10.0).replicas == replicas
    assert external_replicas(0, target, usage, []).replicas == replicas


def test_value_targets_need_pods_outside_tolerance() -> None:
    with pytest.raises(ReplicaCalcError) as caught:
        object_replicas(2, 1000, 5000, [])
    assert str(caught.value) == (
        "unable to calculate ready pods: "
        "no pods returned by selector while calculating replica count"
    )
    assert object_replicas(2, 1000, 1050, []).replicas == 2  # within tolerance: no pods read
    assert object_replicas(2, 1000, 5000, 3).replicas == 15  # a counted number is used as is


def test_average_value_targets_at_zero_replicas() -> None:
    """Scale from zero on an AverageValue target: usage / target, and the per-pod value
    (undefined in Kubernetes at zero pods) reported as the total."""
    assert object_per_pod_replicas(0, 1000, 2500) == Proposal(replicas=3, raw_value=2500)
    assert object_per_pod_replicas(0, 1000, 0) == Proposal(replicas=0, raw_value=0)
    assert external_per_pod_replicas(0, 1000, [1200, 300]).replicas == 2


def cond_pod(
    name: str,
    *,
    phase: str = "Succeeded",
    start: float | None = None,
    ready: bool | None = None,
    transition: float = GO_ZERO,
    deleting: bool = False,
) -> PodInfo:
    """A TestGroupPods pod; ``ready`` None means no Ready condition."""
    return PodInfo(
        name=name,
        phase=phase,
        deleting=deleting,
        ready=bool(ready),
        ready_transition=None if ready is None else transition,
        start_time=start,
    )


def sample(timestamp: float = GO_ZERO, window: float = 60.0) -> Sample:
    return Sample(value=1, timestamp=timestamp, window=window)


GROUP_PODS = [
    ("void", [], {}, "cpu", PodGroups(0, frozenset(), frozenset(), frozenset())),
    ("count in a ready pod - memory",
     [cond_pod("bentham")], {"bentham": sample(NOW)}, "memory",
     PodGroups(1, frozenset(), frozenset(), frozenset())),
    ("unready a pod without ready condition - CPU",
     [cond_pod("lucretius", start=NOW)], {"lucretius": sample()}, "cpu",
     PodGroups(0, frozenset({"lucretius"}), frozenset(), frozenset())),
    ("count in a ready pod with fresh metrics during initialization period - CPU",
     [cond_pod("bentham", start=NOW - 60, ready=True, transition=NOW - 30)],
     {"bentham": sample(NOW, 30)}, "cpu",
     PodGroups(1, frozenset(), frozenset(), frozenset())),
    ("unready a ready pod without fresh metrics during initialization period - CPU",
     [cond_pod("bentham", start=NOW - 60, ready=True, transition=NOW - 30)],
     {"bentham": sample(NOW, 60)}, "cpu",
     PodGroups(0, frozenset({"bentham"}), frozenset(), frozenset())),
    ("unready an unready pod during initialization period - CPU",
     [cond_pod("lucretius", start=NOW - 600, ready=False, transition=NOW - 594)],
     {"lucretius": sample()}, "cpu",
     PodGroups(0, frozenset({"lucretius"}), frozenset(), frozenset())),
    ("count in a ready pod without fresh metrics after initialization period - CPU",
     [cond_pod("bentham", start=NOW - 180, ready=True, transition=NOW - 180)],
     {"bentham": sample(NOW - 120)}, "cpu",
     PodGroups(1, frozenset(), frozenset(), frozenset())),
    ("count in an unready pod that was ready after initialization period - CPU",
     [cond_pod("lucretius", start=NOW - 600, ready=False, transition=NOW - 540)],
     {"lucretius": sample()}, "cpu",
     PodGroups(1, frozenset(), frozenset(), frozenset())),
    ("unready pod that has never been ready after initialization period - CPU",
     [cond_pod("lucretius", start=NOW - 600, ready=False, transition=NOW - 590)],
     {"lucretius": sample()}, "cpu",
     PodGroups(1, frozenset(), frozenset(), frozenset())),
    ("a missing pod", [cond_pod("epicurus", start=NOW - 180)], {}, "cpu",
     PodGroups(0, frozenset(), frozenset({"epicurus"}), frozenset())),
    ("several pods",
     [cond_pod("lucretius", start=NOW),
      cond_pod("niccolo", start=NOW - 180, ready=True, transition=NOW - 180),
      cond_pod("epicurus", start=NOW - 180)],
     {"lucretius": sample(), "niccolo": sample()}, "cpu",
     PodGroups(1, frozenset({"lucretius"}), frozenset({"epicurus"}), frozenset())),
    ("pending pods are unreadied", [cond_pod("unscheduled", phase="Pending")], {}, "cpu",
     PodGroups(0, frozenset({"unscheduled"}), frozenset(), frozenset())),
    ("ignore pods with deletion timestamps",
     [cond_pod("deleted", phase="Pending", deleting=True)], {"deleted": sample()}, "cpu",
     PodGroups(0, frozenset(), frozenset(), frozenset({"deleted"}))),
    ("ignore pods in a failed state", [cond_pod("failed", phase="Failed")],
     {"failed": sample()}, "cpu",
     PodGroups(0, frozenset(), frozenset(), frozenset({"failed"}))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("pods", "samples", "resource", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in GROUP_PODS],
)
def test_group_pods_as_kubernetes(
    pods: list[PodInfo], samples: dict[str, Sample], resource: str, expected: PodGroups
) -> None:
    assert group_pods(pods, samples, resource, NOW, K8S_TUNING) == expected


def test_default_tuning_is_kube_controller_managers() -> None:
    """300 s cpu initialization and 30 s readiness delay: a pod that started 200 s ago
    and turned ready 20 s ago is still initializing, so a 60 s sample taken now is
    too fresh; once the period is over the sample counts."""
    pod = PodInfo(
        name="p", phase="Running", ready=True, ready_transition=NOW - 20, start_time=NOW - 200
    )
    samples = {"p": Sample(value=1, timestamp=NOW)}
    assert group_pods([pod], samples, "cpu", NOW).unready == {"p"}
    assert group_pods([pod], samples, "cpu", NOW + 101).ready_count == 1


def req_pod(*containers: tuple[str, int | None]) -> PodInfo:
    return PodInfo(
        name="test-pod",
        phase="Running",
        requests={n: ({} if v is None else {"cpu": v}) for n, v in containers},
    )


def test_pod_requests_as_kubernetes() -> None:
    """TestCalculateRequests (the cases without pod-level resources) and
    TestCalculatePodRequestsFromContainers_NonExistentContainer."""
    both = req_pod(("container1", 100), ("container2", 50))
    assert pod_requests([], "cpu") == {}
    assert pod_requests([both], "cpu") == {"test-pod": 150}
    assert pod_requests([both], "cpu", "container1") == {"test-pod": 100}
    with pytest.raises(ReplicaCalcError) as caught:
        pod_requests([req_pod(("container1", None), ("container2", 50))], "cpu")
    assert str(caught.value) == "missing request for cpu in container container1 of Pod test-pod"
    # A named container needs only its own request.
    assert pod_requests([req_pod(("a", None), ("b", 7))], "cpu", "b") == {"test-pod": 7}
    with pytest.raises(ReplicaCalcError) as caught:
        pod_requests([req_pod(("container1", 100))], "cpu", "non-existent-container")
    assert str(caught.value) == "container non-existent-container not found in Pod test-pod"


# -- properties -----------------------------------------------------------------------

pod_state = st.tuples(
    st.sampled_from(["Running", "Pending"]),  # phase
    st.booleans(),  # ready
    st.booleans(),  # has a sample
    st.integers(min_value=1, max_value=4000),  # request
    st.integers(min_value=0, max_value=8000),  # usage
)


@given(
    states=st.lists(pod_state, min_size=1, max_size=8),
    target=st.integers(min_value=1, max_value=300),
    tolerance=st.floats(min_value=0.0, max_value=0.5),
)
def test_never_scales_against_the_usage(
    states: list[tuple[str, bool, bool, int, int]], target: int, tolerance: float
) -> None:
    """With the pods being exactly the current replicas, the proposal moves in the
    direction of usage/target or not at all, whatever the unready and missing pods."""
    pods = [
        PodInfo(
            name=f"p{i}",
            phase=phase,
            ready=ready,
            ready_transition=NOW - 1000,
            start_time=NOW - 2000,
            requests={"c": {"cpu": request}},
        )
        for i, (phase, ready, _, request, _) in enumerate(states)
    ]
    samples = {
        f"p{i}": Sample(value=usage, timestamp=NOW)
        for i, (_, _, has, _, usage) in enumerate(states)
        if has
    }
    try:
        proposal = resource_replicas(
            len(pods), target, "cpu", samples, pods, NOW, Tuning(tolerance=tolerance)
        )
    except ReplicaCalcError:
        return
    assert proposal.utilization is not None
    ratio = proposal.utilization / target
    change = proposal.replicas - len(pods)
    assert change == 0 or (change > 0) == (ratio > 1.0)


@given(
    usages=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=10),
    target=st.integers(min_value=1, max_value=10_000),
    up=st.floats(min_value=0.0, max_value=1.0),
    down=st.floats(min_value=0.0, max_value=1.0),
)
def test_all_ready_pods_follow_the_formula(
    usages: list[int], target: int, up: float, down: float
) -> None:
    """All pods ready with samples: ``current`` within ``[1-down, 1+up]`` of the ratio
    of the (truncated) mean to the target, else ``ceil(ratio * pods)``."""
    pods = [PodInfo(name=f"p{i}", phase="Running", ready=True) for i in range(len(usages))]
    samples = {f"p{i}": Sample(value=u, timestamp=NOW) for i, u in enumerate(usages)}
    proposal = pods_metric_replicas(
        len(pods), target, samples, pods, NOW, scale_up_tolerance=up, scale_down_tolerance=down
    )
    mean = sum(usages) // len(usages)
    ratio = mean / target
    within = 1.0 - down <= ratio <= 1.0 + up
    assert proposal.raw_value == mean
    assert proposal.replicas == (len(pods) if within else math.ceil(ratio * len(pods)))
