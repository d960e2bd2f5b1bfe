"""The HPA's replica calculation: Kubernetes' ``replica_calculator.go`` as pure functions.

For each metric of an HPA the controller (``._hpa``) fetches samples and calls one
function here; the largest proposal wins. Each function takes plain data (pods as
:class:`PodInfo`, per-pod :class:`Sample` values in milli-units, targets in milli-units
or percent) and returns a :class:`Proposal`, or raises :class:`ReplicaCalcError` with
Kubernetes' message. No clock, no store, no I/O: ``now`` is an argument.

The arithmetic is Go's: milli-values are integers and integer division truncates
towards zero; ratios are float64 (``float(a) / float(b)``, never Python's exact
``int / int``); replica counts are ``int32(math.Ceil(x))``. Python integers do not
overflow, which is what Kubernetes' ``big.Int`` fallback in ``metrics/utilization.go``
computes; the deliberate int64 caps of the External metrics are reproduced. Where Go
would convert an out-of-range float to int32 (undefined by Go's spec) the count
saturates at int32's bounds, as upstream itself now does for Object and External
metrics.

Ported from kubernetes/kubernetes ``pkg/controller/podautoscaler/replica_calculator.go``
and ``metrics/utilization.go`` (1.35 line, with KEP-4951's separate scale-up and
scale-down tolerances). Pod-level resource requests (KEP-2837) and restartable init
containers have no orbit counterpart: a pod's request is the sum of its containers'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import attrs

from orbit.errors import OrbitError

__all__ = [
    "MAX_INT32",
    "MAX_INT64",
    "PodGroups",
    "PodInfo",
    "Proposal",
    "ReplicaCalcError",
    "Sample",
    "Tuning",
    "external_per_pod_replicas",
    "external_replicas",
    "group_pods",
    "metric_usage_ratio",
    "object_per_pod_replicas",
    "object_replicas",
    "pod_requests",
    "pods_metric_replicas",
    "raw_resource_replicas",
    "resource_replicas",
    "resource_utilization_ratio",
]

MAX_INT32 = 2**31 - 1
MIN_INT32 = -(2**31)
MAX_INT64 = 2**63 - 1
_NO_PODS = "no pods returned by selector while calculating replica count"
_NO_READY_METRICS = "did not receive metrics for targeted pods (pods might be unready)"


@attrs.frozen(kw_only=True)
class PodInfo:
    """What the calculator needs of one pod selected by the scale target.

    ``ready`` is the Ready condition's status being ``True``; ``ready_transition`` its
    ``lastTransitionTime`` (epoch seconds), ``None`` when the pod has no Ready condition.
    ``requests`` maps container name to resource to request in milli-units (cpu
    millicores; memory in thousandths of a byte, Kubernetes' ``MilliValue``), in the
    pod's container order.
    """

    name: str
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    deleting: bool = False  # metadata.deletionTimestamp is set
    ready: bool = False
    ready_transition: float | None = None
    start_time: float | None = None  # status.startTime (epoch seconds)
    requests: Mapping[str, Mapping[str, int]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Sample:
    """One pod's metric value in milli-units, when it was taken and over how long a
    window it averages (metrics.k8s.io ``PodMetrics.window``)."""

    value: int
    timestamp: float
    window: float = 60.0


class ReplicaCalcError(OrbitError):
    """No replica count can be computed from this data; the message is Kubernetes'
    (``did not receive metrics for targeted pods (pods might be unready)``...)."""


@attrs.frozen(kw_only=True)
class Tuning:
    """kube-controller-manager's HPA flags: ``--horizontal-pod-autoscaler-tolerance``,
    ``-cpu-initialization-period`` and ``-initial-readiness-delay``."""

    tolerance: float = 0.1
    cpu_initialization_period_s: float = 300.0
    initial_readiness_delay_s: float = 30.0


DEFAULT_TUNING = Tuning()


@attrs.frozen(kw_only=True)
class Proposal:
    """One metric's replica count, with what the status reports: ``utilization`` (whole
    percent of requests, Resource Utilization targets only) and ``raw_value`` (milli:
    the average per pod, or the Object / External value)."""

    replicas: int
    utilization: int | None = None
    raw_value: int | None = None
    timestamp: float = 0.0


@attrs.frozen
class PodGroups:
    """``groupPods``' verdict: how many pods count as ready, and the names of the
    unready ones, the ones without a sample and the ignored ones."""

    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


class _Band(NamedTuple):
    """Kubernetes' ``Tolerances``: no change while ``1-down <= ratio <= 1+up``."""

    up: float
    down: float

    def within(self, ratio: float) -> bool:
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)


def _band(tuning: Tuning, up: float | None, down: float | None) -> _Band:
    return _Band(
        up=tuning.tolerance if up is None else up,
        down=tuning.tolerance if down is None else down,
    )


def _quo(a: int, b: int) -> int:
    """Go's integer division: truncates towards zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _fdiv(a: float, b: float) -> float:
    """IEEE-754 float64 division as Go does it: ``x/0`` is ±Inf and ``0/0`` NaN."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _int32(x: float) -> int:
    """``int32(x)`` for an integral float, saturating where Go's result is undefined."""
    if math.isnan(x):
        return MIN_INT32  # amd64's "integer indefinite"
    if x >= MAX_INT32:
        return MAX_INT32
    if x <= MIN_INT32:
        return MIN_INT32
    return int(x)


def _ceil32(x: float) -> int:
    """``int32(math.Ceil(x))``."""
    return _int32(x if math.isinf(x) or math.isnan(x) else float(math.ceil(x)))


def _usable(samples: Mapping[str, Sample], groups: PodGroups) -> dict[str, int]:
    """The sample values less the ignored and unready pods' (``removeMetricsForPods``)."""
    dropped = groups.ignored | groups.unready
    return {name: s.value for name, s in samples.items() if name not in dropped}


def _first_timestamp(samples: Mapping[str, Sample]) -> float:
    """The metrics client's timestamp: the first item's (``metrics.Items[0]``)."""
    return next(iter(samples.values())).timestamp if samples else 0.0


def group_pods(
    pods: Sequence[PodInfo],
    samples: Mapping[str, Sample],
    resource: str,
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
) -> PodGroups:
    """Sort pods as Kubernetes' ``groupPods`` does.

    Pods being deleted or ``Failed`` are ignored; ``Pending`` pods are unready; pods
    without a sample are missing. For ``cpu`` only, a pod is also unready when it has
    no Ready condition or start time; within ``cpu_initialization_period_s`` of its
    start when it is not ready or its sample began before the last readiness
    transition (``timestamp < ready_transition + window``); after it, when it is not
    ready and has never been ready (its readiness last changed within
    ``initial_readiness_delay_s`` of its start). Kubernetes tests the Ready condition
    for ``False``; here ``ready=False`` stands for both ``False`` and ``Unknown``.
    """
    ready_count = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            unready.add(pod.name)
            continue
        sample = samples.get(pod.name)
        if sample is None:
            missing.add(pod.name)
            continue
        if resource == "cpu" and _cpu_unready(pod, sample, now, tuning):
            unready.add(pod.name)
            continue
        ready_count += 1
    return PodGroups(ready_count, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_unready(pod: PodInfo, sample: Sample, now: float, tuning: Tuning) -> bool:
    if pod.ready_transition is None or pod.start_time is None:
        return True
    if pod.start_time + tuning.cpu_initialization_period_s > now:
        # Still initializing: a sample must cover a full window since readiness changed.
        return not pod.ready or sample.timestamp < pod.ready_transition + sample.window
    # Unready and never ready since start (the delay absorbs the initial transition).
    return (
        not pod.ready and pod.start_time + tuning.initial_readiness_delay_s > pod.ready_transition
    )


def pod_requests(pods: Sequence[PodInfo], resource: str, container: str = "") -> dict[str, int]:
    """Each pod's request for ``resource`` in milli-units: the sum over its containers,
    or only ``container``'s (Kubernetes' ``calculateRequests`` /
    ``calculatePodRequestsFromContainers``).

    Raises:
        ReplicaCalcError: ``missing request for cpu in container app of Pod web-1``, or
            ``container app not found in Pod web-1``.
    """
    requests: dict[str, int] = {}
    for pod in pods:
        total = 0
        found = False
        for name, resources in pod.requests.items():
            if container in ("", name):
                if resource not in resources:
                    raise ReplicaCalcError(
                        f"missing request for {resource} in container {name} of Pod {pod.name}"
                    )
                total += resources[resource]
            if container == name:  # container names are unique inside the pod
                found = True
                break
        if container and not found:
            raise ReplicaCalcError(f"container {container} not found in Pod {pod.name}")
        requests[pod.name] = total
    return requests


def resource_utilization_ratio(
    metrics: Mapping[str, int], requests: Mapping[str, int], target_utilization: int
) -> tuple[float, int, int]:
    """``(usage ratio, utilization %, average value)`` over the pods that have both a
    value and a request (``GetResourceUtilizationRatio``). Utilization is truncated to
    a whole percent, ``int32(total*100/requests)``, before the ratio is taken.

    Raises:
        ReplicaCalcError: ``no metrics returned matched known pods``.
    """
    metrics_total = requests_total = entries = 0
    for name, value in metrics.items():
        request = requests.get(name)
        if request is None:  # a sample for a pod not in the list: extraneous
            continue
        metrics_total += value
        requests_total += request
        entries += 1
    if requests_total == 0:
        raise ReplicaCalcError("no metrics returned matched known pods")
    percentage = _quo(metrics_total * 100, requests_total)
    if not MIN_INT32 <= percentage <= MAX_INT32:
        raise ReplicaCalcError(f"resource utilization {percentage} is outside the int32 range")
    ratio = _fdiv(float(percentage), float(target_utilization))
    return ratio, percentage, _quo(metrics_total, entries)


def metric_usage_ratio(metrics: Mapping[str, int], target_usage: int) -> tuple[float, int]:
    """``(usage ratio, average value)``: the truncated integer mean of the values over
    the target (``GetMetricUsageRatio``)."""
    usage = _quo(sum(metrics.values()), len(metrics))
    return _fdiv(float(usage), float(target_usage)), usage


def resource_replicas(  # noqa: PLR0917 -- Kubernetes' argument order
    current: int,
    target_utilization: int,
    resource: str,
    samples: Mapping[str, Sample],
    pods: Sequence[PodInfo],
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
    container: str = "",
    scale_up_tolerance: float | None = None,
    scale_down_tolerance: float | None = None,
) -> Proposal:
    """Replicas for a ``Resource`` / ``ContainerResource`` metric with a ``Utilization``
    target: percent of the pods' requests (``GetResourceReplicas``).

    ``samples`` maps pod name to usage (milli), summed over the pod's containers or
    ``container``'s alone. Without unready or missing pods the answer is
    ``ceil(ratio * ready pods)``, or ``current`` within tolerance. Otherwise the ratio
    is recomputed with missing pods at ``max(100, target)`` % of their request on a
    scale-down and 0 on a scale-up, and unready pods at 0 on a scale-up; ``current``
    stays if the new ratio is within tolerance, flips direction, or the new count
    would move the other way. Tolerances default to ``tuning.tolerance`` (KEP-4951's
    ``behavior.scaleUp/scaleDown.tolerance`` override them).
    """
    if not samples:
        raise ReplicaCalcError(
            f"unable to get metrics for resource {resource}: "
            "no metrics returned from resource metrics API"
        )
    if not pods:
        raise ReplicaCalcError(_NO_PODS)
    band = _band(tuning, scale_up_tolerance, scale_down_tolerance)
    groups = group_pods(pods, samples, resource, now, tuning)
    metrics = _usable(samples, groups)
    if not metrics:
        raise ReplicaCalcError(_NO_READY_METRICS)
    requests = pod_requests(pods, resource, container)
    ratio, utilization, raw = resource_utilization_ratio(metrics, requests, target_utilization)
    timestamp = _first_timestamp(samples)

    def proposal(replicas: int) -> Proposal:
        return Proposal(
            replicas=replicas, utilization=utilization, raw_value=raw, timestamp=timestamp
        )

    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if band.within(ratio):
            return proposal(current)
        return proposal(_ceil32(ratio * groups.ready_count))
    if groups.missing:
        fallback = max(100, target_utilization)  # targets above 100 % count as met
        for name in groups.missing:
            if ratio < 1.0:
                metrics[name] = _quo(requests[name] * fallback, 100)
            elif ratio > 1.0:
                metrics[name] = 0
    if scale_up_with_unready:
        metrics.update(dict.fromkeys(groups.unready, 0))
    new_ratio, _, _ = resource_utilization_ratio(metrics, requests, target_utilization)
    return proposal(_rebalanced(current, ratio, new_ratio, len(metrics), band))


def _rebalanced(current: int, ratio: float, new_ratio: float, count: int, band: _Band) -> int:
    """The end of both pod-metric calculations once missing / unready pods are filled in."""
    if band.within(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current  # too small a change, or the fill-in flipped the direction
    replicas = _ceil32(new_ratio * count)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current  # counting more pods would move the other way
    return replicas


def _plain_replicas(
    current: int,
    target: int,
    samples: Mapping[str, Sample],
    pods: Sequence[PodInfo],
    *,
    resource: str,
    now: float,
    tuning: Tuning,
    band: _Band,
) -> Proposal:
    """Kubernetes' ``calcPlainMetricReplicas``: average value per pod against a target."""
    if not pods:
        raise ReplicaCalcError(_NO_PODS)
    groups = group_pods(pods, samples, resource, now, tuning)
    metrics = _usable(samples, groups)
    if not metrics:
        raise ReplicaCalcError(_NO_READY_METRICS)
    ratio, usage = metric_usage_ratio(metrics, target)
    timestamp = _first_timestamp(samples)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        replicas = current if band.within(ratio) else _ceil32(ratio * groups.ready_count)
        return Proposal(replicas=replicas, raw_value=usage, timestamp=timestamp)
    if groups.missing:
        for name in groups.missing:
            if ratio < 1.0:
                metrics[name] = target  # exactly the target on a scale-down
            elif ratio > 1.0:
                metrics[name] = 0
    if scale_up_with_unready:
        metrics.update(dict.fromkeys(groups.unready, 0))
    new_ratio, _ = metric_usage_ratio(metrics, target)
    replicas = _rebalanced(current, ratio, new_ratio, len(metrics), band)
    return Proposal(replicas=replicas, raw_value=usage, timestamp=timestamp)


def raw_resource_replicas(  # noqa: PLR0917 -- Kubernetes' argument order
    current: int,
    target_average_milli: int,
    resource: str,
    samples: Mapping[str, Sample],
    pods: Sequence[PodInfo],
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
    container: str = "",
    scale_up_tolerance: float | None = None,
    scale_down_tolerance: float | None = None,
) -> Proposal:
    """Replicas for a ``Resource`` / ``ContainerResource`` metric with an
    ``AverageValue`` target (``GetRawResourceReplicas``): the pods' mean usage
    against the target, with the same unready / missing rules as
    :func:`pods_metric_replicas` (missing pods count as exactly the target on a
    scale-down); requests play no part. ``container`` only documents which usage
    ``samples`` holds."""
    del container  # the samples were taken for it; Kubernetes ignores it here too
    if not samples:
        raise ReplicaCalcError(
            f"unable to get metrics for resource {resource}: "
            "no metrics returned from resource metrics API"
        )
    band = _band(tuning, scale_up_tolerance, scale_down_tolerance)
    return _plain_replicas(
        current,
        target_average_milli,
        samples,
        pods,
        resource=resource,
        now=now,
        tuning=tuning,
        band=band,
    )


def pods_metric_replicas(  # noqa: PLR0917 -- Kubernetes' argument order
    current: int,
    target_average_milli: int,
    samples: Mapping[str, Sample],
    pods: Sequence[PodInfo],
    now: float,
    tuning: Tuning = DEFAULT_TUNING,
    scale_up_tolerance: float | None = None,
    scale_down_tolerance: float | None = None,
    *,
    metric: str = "",
) -> Proposal:
    """Replicas for a ``Pods`` metric (``GetMetricReplicas``): the mean of each pod's
    own value against an ``AverageValue`` target. Only ``Pending`` pods are unready
    (the cpu readiness rules do not apply); a missing pod counts as exactly the
    target on a scale-down and 0 on a scale-up. ``metric`` names the metric in the
    error when there are no samples."""
    if not samples:
        raise ReplicaCalcError(
            f"unable to get metric {metric}: no metrics returned from custom metrics API"
        )
    band = _band(tuning, scale_up_tolerance, scale_down_tolerance)
    return _plain_replicas(
        current, target_average_milli, samples, pods, resource="", now=now, tuning=tuning, band=band
    )


def _ready_count(ready_pods: int | Sequence[PodInfo]) -> int:
    """``getReadyPodsCount``: Running pods whose Ready condition is True."""
    if isinstance(ready_pods, int):
        return ready_pods
    if not ready_pods:
        raise ReplicaCalcError(f"unable to calculate ready pods: {_NO_PODS}")
    return sum(1 for p in ready_pods if p.phase == "Running" and p.ready)


def _usage_ratio_replicas(
    current: int, ratio: float, band: _Band, ready_pods: int | Sequence[PodInfo]
) -> int:
    """``getUsageRatioReplicaCount``: at zero replicas, ``ceil(ratio)`` with no
    tolerance (scale from zero); otherwise ``ceil(ratio * ready pods)``."""
    if current == 0:
        return _ceil32(ratio)
    if band.within(ratio):
        return current
    replicas = ratio * float(_ready_count(ready_pods))
    return MAX_INT32 if replicas > MAX_INT32 else _ceil32(replicas)


def object_replicas(  # noqa: PLR0917 -- Kubernetes' argument order
    current: int,
    target_value_milli: int,
    usage_milli: int,
    ready_pods: int | Sequence[PodInfo],
    tuning: Tuning = DEFAULT_TUNING,
    scale_up_tolerance: float | None = None,
    scale_down_tolerance: float | None = None,
    *,
    timestamp: float = 0.0,
) -> Proposal:
    """Replicas for an ``Object`` metric with a ``Value`` target
    (``GetObjectMetricReplicas``): ``ceil(usage/target * ready pods)`` outside
    tolerance, ``ceil(usage/target)`` from zero replicas.

    ``ready_pods`` is the target's pods (Running and Ready ones are counted, and none
    at all is Kubernetes' error) or an already counted number.
    """
    band = _band(tuning, scale_up_tolerance, scale_down_tolerance)
    ratio = _fdiv(float(usage_milli), float(target_value_milli))
    replicas = _usage_ratio_replicas(current, ratio, band, ready_pods)
    return Proposal(replicas=replicas, raw_value=usage_milli, timestamp=timestamp)


def _per_pod_usage(usage: int, replicas: int) -> int:
    """``int64(math.Ceil(usage / statusReplicas))``. At zero replicas Go's result is
    undefined (a float ±Inf or NaN converted to int64); orbit reports the total."""
    if replicas == 0:
        return usage
    return math.ceil(float(usage) / float(replicas))


def _per_pod_replicas(current: int, target: int, usage: int, band: _Band) -> int:
    ratio = _fdiv(float(usage), float(target) * float(current))
    if band.within(ratio):
        return current
    return _ceil32(_fdiv(float(usage), float(target)))


def object_per_pod_replicas(  # noqa: PLR0917 -- Kubernetes' argument order
    current: int,
    target_average_milli: int,
    usage_milli: int,
    tuning: Tuning = DEFAULT_TUNING,
    scale_up_tolerance: float | None = None,
    scale_down_tolerance: float | None = None,
    *,
    timestamp: float = 0.0,
) -> Proposal:
    """Replicas for an ``Object`` metric with an ``AverageValue`` target
    (``GetObjectPerPodMetricReplicas``): ``ceil(usage/target)`` when
    ``usage / (target * current)`` is outside tolerance, else ``current``.

    ``current`` is the target's ``status.replicas`` (Kubernetes uses the observed
    count here, not ``spec.replicas``); ``raw_value`` is the per-pod average, rounded up.
    """
    band = _band(tuning, scale_up_tolerance, scale_down_tolerance)
    replicas = _per_pod_replicas(current, target_average_milli, usage_milli, band)
    return Proposal(
        replicas=replicas, raw_value=_per_pod_usage(usage_milli, current), timestamp=timestamp
    )


def _external_sum(values: int | Sequence[int]) -> int:
    """``GetExternalMetricReplicas``' sum, capped at MaxInt64 on positive overflow."""
    if isinstance(values, int):
        return min(values, MAX_INT64)
    usage = 0
    for value in values:
        if value > 0 and usage > MAX_INT64 - value:
            return MAX_INT64
        usage += value
    return usage


def _external_sum_per_pod(values: int | Sequence[int]) -> int:
    """``GetExternalPerPodMetricReplicas``' sum: int64 arithmetic, MaxInt64 once it
    wraps negative."""
    if isinstance(values, int):
        return min(values, MAX_INT64)
    usage = 0
    for value in values:
        usage = (usage + value + 2**63) % 2**64 - 2**63
        if usage < 0:
            return MAX_INT64
    return usage


def external_replicas(  # noqa: PLR0917 -- Kubernetes' argument order
    current: int,
    target_value_milli: int,
    usage_milli: int | Sequence[int],
    ready_pods: int | Sequence[PodInfo],
    tuning: Tuning = DEFAULT_TUNING,
    scale_up_tolerance: float | None = None,
    scale_down_tolerance: float | None = None,
    *,
    timestamp: float = 0.0,
) -> Proposal:
    """Replicas for an ``External`` metric with a ``Value`` target
    (``GetExternalMetricReplicas``): like :func:`object_replicas` on the sum of the
    metric's series (``usage_milli``: the sum, or the series' values to sum as
    Kubernetes does, capped at int64's maximum)."""
    usage = _external_sum(usage_milli)
    band = _band(tuning, scale_up_tolerance, scale_down_tolerance)
    ratio = _fdiv(float(usage), float(target_value_milli))
    replicas = _usage_ratio_replicas(current, ratio, band, ready_pods)
    return Proposal(replicas=replicas, raw_value=usage, timestamp=timestamp)


def external_per_pod_replicas(  # noqa: PLR0917 -- Kubernetes' argument order
    current: int,
    target_average_milli: int,
    usage_milli: int | Sequence[int],
    tuning: Tuning = DEFAULT_TUNING,
    scale_up_tolerance: float | None = None,
    scale_down_tolerance: float | None = None,
    *,
    timestamp: float = 0.0,
) -> Proposal:
    """Replicas for an ``External`` metric with an ``AverageValue`` target
    (``GetExternalPerPodMetricReplicas``): like :func:`object_per_pod_replicas`
    (``current`` is ``status.replicas``), capped at int32's maximum; a sum that
    reaches int64's maximum is reported as it."""
    usage = _external_sum_per_pod(usage_milli)
    band = _band(tuning, scale_up_tolerance, scale_down_tolerance)
    replicas = _per_pod_replicas(current, target_average_milli, usage, band)
    per_pod = MAX_INT64 if float(usage) >= float(MAX_INT64) else _per_pod_usage(usage, current)
    return Proposal(replicas=replicas, raw_value=per_pod, timestamp=timestamp)
