"""One HPA metric, evaluated: its replica proposal, its status entry and its name.

This is ``computeReplicasForMetric`` and the ``computeStatusFor*`` functions of
Kubernetes' ``pkg/controller/podautoscaler/horizontal.go``: fetch the metric through a
:class:`~orbit.autoscaling.MetricsClient`, hand it to the replica calculator
(:mod:`._replicas`) and describe the result the way ``kubectl describe hpa`` shows it.
A metric that cannot be fetched or computed raises :class:`MetricFailure` carrying
Kubernetes' condition reason (``FailedGetResourceMetric``...) and message.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from orbit.api import (
    ACTIVATION_THRESHOLD_ANNOTATION_PREFIX,
    ContainerResourceMetricStatus,
    ExternalMetricStatus,
    HorizontalPodAutoscaler,
    LabelSelector,
    MetricIdentifier,
    MetricSpec,
    MetricStatus,
    MetricTarget,
    MetricValueStatus,
    ObjectMetricSource,
    ObjectMetricStatus,
    Pod,
    PodsMetricStatus,
    Quantity,
    ResourceMetricStatus,
)

from ._promql import promql_for
from ._replicas import (
    PodInfo,
    Proposal,
    ReplicaCalcError,
    Tuning,
    external_per_pod_replicas,
    external_replicas,
    object_per_pod_replicas,
    object_replicas,
    pods_metric_replicas,
    raw_resource_replicas,
    resource_replicas,
)
from ._sources import MetricsClient, MetricsError

__all__ = [
    "MetricFailure",
    "MetricOutcome",
    "Tolerances",
    "activation_threshold_milli",
    "evaluate_metric",
    "pod_info",
]


class MetricFailure(Exception):
    """A metric could not be evaluated: ``reason`` is Kubernetes' condition reason and
    event reason, ``message`` the condition's and event's text."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@attrs.frozen(kw_only=True)
class Tolerances:
    """The HPA's scale-up and scale-down tolerances (KEP-4951; None: the controller's)."""

    up: float | None = None
    down: float | None = None


@attrs.frozen(kw_only=True)
class MetricOutcome:
    """What one metric proposes: ``replicas``, the metric's name for events
    (``cpu resource utilization (percentage of request)``), its status entry, and for
    Object / External metrics the raw value (milli) that activation compares."""

    replicas: int
    name: str
    status: MetricStatus
    timestamp: float
    activation_value_milli: int | None = None


GO_ZERO_TIME = -62135596800.0
"""Go's zero ``time.Time`` in epoch seconds: a condition without a transition time."""


def _epoch(moment: object) -> float | None:
    timestamp = getattr(moment, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else None


def pod_info(pod: Pod) -> PodInfo:
    """What the replica calculator needs of a pod: phase, deletion, readiness and its
    containers' requests in milli-units."""
    ready = pod.status.condition("Ready")
    requests = {
        c.name: {name: q.milli_value() for name, q in c.resources.requests.items()}
        for c in pod.spec.containers
    }
    return PodInfo(
        name=pod.metadata.name,
        phase=pod.status.phase,
        deleting=pod.metadata.deletion_timestamp is not None,
        ready=ready is not None and ready.status == "True",
        ready_transition=(
            (_epoch(ready.last_transition_time) or GO_ZERO_TIME) if ready is not None else None
        ),
        start_time=_epoch(pod.status.start_time),
        requests=requests,
    )


def activation_threshold_milli(hpa: HorizontalPodAutoscaler, metric: str) -> int:
    """The activation threshold of metric ``metric`` (milli; 0 when unset)."""
    text = hpa.metadata.annotations.get(ACTIVATION_THRESHOLD_ANNOTATION_PREFIX + metric)
    return Quantity(text).milli_value() if text else 0


def _selector_text(selector: LabelSelector | None) -> str:
    """The selector as Go's ``%+v`` of a ``*LabelSelector`` reads in Kubernetes'
    messages, shortened to what matters: ``nil`` or ``k=v,k2 in (a,b)``."""
    if selector is None:
        return "nil"
    parts = [f"{k}={v}" for k, v in sorted(selector.match_labels.items())]
    for expr in selector.match_expressions:
        values = ",".join(expr.values)
        parts.append(f"{expr.key} {expr.operator.lower()} ({values})" if values else expr.key)
    return ",".join(parts)


def _q(milli: int) -> Quantity:
    return Quantity.from_milli(milli)


def by_total_value(target: MetricTarget, *, external: bool) -> bool:
    """Whether an Object or External metric uses its ``value`` (the whole, against the
    ready pods) rather than its ``averageValue`` (per pod), as ``computeReplicasForMetric``
    decides: an Object metric by its type; an External one by which value is set,
    ``averageValue`` first (whatever the type says)."""
    if external:
        return target.average_value is None
    return target.type == "Value"


def _target_milli(target: MetricTarget, field: str) -> int:
    value = target.value if field == "value" else target.average_value
    if value is None:
        raise MetricFailure("InvalidMetricSourceType", f"the metric target has no {field}")
    return value.milli_value()


async def evaluate_metric(
    spec: MetricSpec,
    hpa: HorizontalPodAutoscaler,
    current: int,
    pods: Sequence[Pod],
    client: MetricsClient,
    *,
    now: float,
    tuning: Tuning,
    tolerances: Tolerances,
    status_replicas: int | None = None,
) -> MetricOutcome:
    """Evaluate one metric of ``hpa`` for a target at ``current`` replicas (its
    ``spec.replicas``; ``status_replicas`` is its ``status.replicas``, which the
    per-pod Object and External arithmetic uses, as Kubernetes does) whose selector
    matches ``pods``; raises :class:`MetricFailure`."""
    namespace = hpa.metadata.namespace
    infos = [pod_info(p) for p in pods]
    up, down = tolerances.up, tolerances.down
    if spec.type in ("Resource", "ContainerResource"):
        source = spec.resource if spec.type == "Resource" else spec.container_resource
        if source is None:
            raise MetricFailure("InvalidMetricSourceType", f"{spec.type} metric source is missing")
        container = getattr(source, "container", "")
        kind = "container resource" if container else "resource"
        reason = "FailedGetContainerResourceMetric" if container else "FailedGetResourceMetric"
        try:
            samples = await client.pod_resources(namespace, pods, source.name, container)
            if (
                source.target.average_value is None
                and source.target.average_utilization is not None
            ):
                proposal = resource_replicas(
                    current,
                    source.target.average_utilization,
                    source.name,
                    samples,
                    infos,
                    now,
                    tuning,
                    container=container,
                    scale_up_tolerance=up,
                    scale_down_tolerance=down,
                )
                name = f"{source.name} {kind} utilization (percentage of request)"
            else:
                proposal = raw_resource_replicas(
                    current,
                    _target_milli(source.target, "average_value"),
                    source.name,
                    samples,
                    infos,
                    now,
                    tuning,
                    container=container,
                    scale_up_tolerance=up,
                    scale_down_tolerance=down,
                )
                name = f"{source.name} {kind}"
        except (MetricsError, ReplicaCalcError) as exc:
            raise MetricFailure(reason, f"failed to get {source.name} utilization: {exc}") from exc
        current_value = MetricValueStatus(
            average_value=_q(proposal.raw_value or 0), average_utilization=proposal.utilization
        )
        status = (
            MetricStatus(
                type="Resource",
                resource=ResourceMetricStatus(name=source.name, current=current_value),
            )
            if not container
            else MetricStatus(
                type="ContainerResource",
                container_resource=ContainerResourceMetricStatus(
                    name=source.name, container=container, current=current_value
                ),
            )
        )
        return MetricOutcome(
            replicas=proposal.replicas, name=name, status=status, timestamp=proposal.timestamp
        )
    if spec.type == "Pods" and spec.pods is not None:
        metric = spec.pods.metric
        try:
            samples = await client.pod_metric(namespace, pods, metric.name, metric.selector)
            proposal = pods_metric_replicas(
                current,
                _target_milli(spec.pods.target, "average_value"),
                samples,
                infos,
                now,
                tuning,
                up,
                down,
                metric=metric.name,
            )
        except (MetricsError, ReplicaCalcError) as exc:
            raise MetricFailure(
                "FailedGetPodsMetric", f"failed to get pods metric value: {exc}"
            ) from exc
        status = MetricStatus(
            type="Pods",
            pods=PodsMetricStatus(
                metric=metric, current=MetricValueStatus(average_value=_q(proposal.raw_value or 0))
            ),
        )
        return MetricOutcome(
            replicas=proposal.replicas,
            name=f"pods metric {metric.name}",
            status=status,
            timestamp=proposal.timestamp,
        )
    source_q = spec.object if spec.type == "Object" else spec.external
    if spec.type in ("Object", "External") and source_q is not None:
        external = spec.type == "External"
        proposal, usage = await _query_replicas(
            client,
            hpa,
            source_q.metric,
            source_q.target,
            current=current,
            status_replicas=current if status_replicas is None else status_replicas,
            infos=infos,
            tuning=tuning,
            tolerances=tolerances,
            external=external,
        )
        value = (
            MetricValueStatus(value=_q(usage))
            if by_total_value(source_q.target, external=external)
            else MetricValueStatus(average_value=_q(proposal.raw_value or 0))
        )
        metric_id = source_q.metric
        if isinstance(source_q, ObjectMetricSource):
            described = source_q.described_object
            status = MetricStatus(
                type="Object",
                object=ObjectMetricStatus(
                    metric=metric_id, described_object=described, current=value
                ),
            )
            name = f"{described.kind} metric {metric_id.name}"
        else:
            status = MetricStatus(
                type="External", external=ExternalMetricStatus(metric=metric_id, current=value)
            )
            name = f"external metric {metric_id.name}({_selector_text(metric_id.selector)})"
        return MetricOutcome(
            replicas=proposal.replicas,
            name=name,
            status=status,
            timestamp=proposal.timestamp,
            activation_value_milli=usage,
        )
    raise MetricFailure(
        "InvalidMetricSourceType",
        "the HPA was unable to compute the replica count: "
        f'unknown metric source type "{spec.type}"',
    )


async def _query_replicas(
    client: MetricsClient,
    hpa: HorizontalPodAutoscaler,
    metric: MetricIdentifier,
    target: MetricTarget,
    *,
    current: int,
    status_replicas: int,
    infos: Sequence[PodInfo],
    tuning: Tuning,
    tolerances: Tolerances,
    external: bool,
) -> tuple[Proposal, int]:
    """An Object or External metric: run its PromQL, then Kubernetes' Value or
    AverageValue arithmetic. Returns the proposal and the query's value (milli)."""
    what = "external metric" if external else "object metric"
    up, down = tolerances.up, tolerances.down
    try:
        query = promql_for(metric, hpa.metadata.annotations)
        usage, timestamp = await client.query(query)
        if by_total_value(target, external=external):
            by_value = external_replicas if external else object_replicas
            proposal = by_value(
                current,
                _target_milli(target, "value"),
                usage,
                infos,
                tuning,
                up,
                down,
                timestamp=timestamp,
            )
        else:
            per_pod = external_per_pod_replicas if external else object_per_pod_replicas
            proposal = per_pod(
                status_replicas,
                _target_milli(target, "average_value"),
                usage,
                tuning,
                up,
                down,
                timestamp=timestamp,
            )
    except (MetricsError, ReplicaCalcError) as exc:
        reason = "FailedGetExternalMetric" if external else "FailedGetObjectMetric"
        raise MetricFailure(reason, f"failed to get {what} value: {exc}") from exc
    return proposal, usage
