"""Validation of HorizontalPodAutoscalers (Kubernetes' ``pkg/apis/autoscaling/validation``).

``minReplicas`` may be 0 only when a metric can wake the workload from zero: an
``Object`` or ``External`` metric, which does not depend on running pods. Kubernetes
allows that behind its ``HPAScaleToZero`` feature gate; orbit always supports it, so
scale-to-zero needs no switch. Each metric must set exactly the source its ``type``
names, and each target the value its ``type`` names: ``Utilization`` (a percentage of
the pods' requests) only for ``Resource`` and ``ContainerResource`` metrics.
"""

from __future__ import annotations

from orbit.errors import Issue, ValidationError

from ._autoscaling import (
    ACTIVATION_THRESHOLD_ANNOTATION_PREFIX,
    PROMQL_ANNOTATION_PREFIX,
    CrossVersionObjectReference,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior,
    MetricIdentifier,
    MetricSpec,
    MetricTarget,
)
from ._names import is_dns1123_label
from ._quantity import Quantity
from ._selector import validate_label_selector
from ._validate_meta import (
    child,
    forbidden,
    invalid,
    required,
    unsupported,
    validate_object_meta,
)
from ._validate_resources import container_resource_name_issues
from ._validation import validator

__all__: list[str] = []

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
_SOURCE_FIELDS = {
    "Object": "object",
    "Pods": "pods",
    "Resource": "resource",
    "ContainerResource": "containerResource",
    "External": "external",
}
_TARGET_TYPES = ("Utilization", "Value", "AverageValue")


def _path_segment_messages(name: str) -> list[str]:
    """Kubernetes' ``IsValidPathSegmentName``: the name goes into a URL path."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{char}'" for char in ("/", "%") if char in name]


def _validate_reference(ref: CrossVersionObjectReference, path: str) -> list[Issue]:
    issues: list[Issue] = []
    for field, value in (("kind", ref.kind), ("name", ref.name)):
        where = child(path, field)
        if not value:
            issues.append(required(where))
        issues.extend(invalid(where, value, msg) for msg in _path_segment_messages(value))
    return issues


def _validate_identifier(metric: MetricIdentifier, path: str) -> list[Issue]:
    where = child(path, "name")
    if not metric.name:
        return [required(where, "must specify a metric name")]
    issues = [invalid(where, metric.name, msg) for msg in _path_segment_messages(metric.name)]
    issues.extend(validate_label_selector(metric.selector, child(path, "selector")))
    return issues


def _validate_target(target: MetricTarget, path: str, *, source: str) -> list[Issue]:
    """Kubernetes' ``validateMetricTarget`` and the per-source target checks of
    ``pkg/apis/autoscaling/validation``: any of the three types on any source (the
    controller reads the values, not the type: a Pods metric written ``type: Value``
    with an ``averageValue``, as prometheus-adapter's walkthrough does, is valid), the
    values positive, and the values each source needs set."""
    issues: list[Issue] = []
    type_path = child(path, "type")
    if not target.type:
        issues.append(required(type_path, "must specify a metric target type"))
    if target.type not in _TARGET_TYPES:
        message = "must be either Utilization, Value, or AverageValue"
        issues.append(invalid(type_path, target.type, message))
    for field, value in (("value", target.value), ("averageValue", target.average_value)):
        if value is not None and value.sign() != 1:
            issues.append(invalid(child(path, field), value, "must be positive"))
    utilization = target.average_utilization
    if utilization is not None and utilization < 1:
        where = child(path, "averageUtilization")
        issues.append(invalid(where, utilization, "must be greater than 0"))
    has_value, has_average = target.value is not None, target.average_value is not None
    if source in ("Resource", "ContainerResource"):
        if utilization is None and not has_average:
            where = child(path, "averageUtilization")
            issues.append(
                required(where, "must set either a target raw value or a target utilization")
            )
        if utilization is not None and has_average:
            where = child(path, "averageValue")
            issues.append(
                forbidden(where, "may not set both a target raw value and a target utilization")
            )
    elif source == "Object" and not has_value and not has_average:
        where = child(path, "averageValue")
        issues.append(required(where, "must set either a target value or averageValue"))
    elif source == "External":
        if not has_value and not has_average:
            where = child(path, "averageValue")
            message = "must set either a target value for metric or a per-pod target"
            issues.append(required(where, message))
        if has_value and has_average:
            message = "may not set both a target value for metric and a per-pod target"
            issues.append(forbidden(child(path, "value"), message))
    return issues


def _validate_source(metric: MetricSpec, path: str) -> list[Issue]:
    """The checks of the one source that matches the metric's type."""
    issues: list[Issue] = []
    if metric.object is not None and metric.type == "Object":
        issues.extend(
            _validate_reference(metric.object.described_object, child(path, "describedObject"))
        )
        issues.extend(_validate_identifier(metric.object.metric, child(path, "metric")))
        issues.extend(
            _validate_target(metric.object.target, child(path, "target"), source="Object")
        )
    elif metric.pods is not None and metric.type == "Pods":
        issues.extend(_validate_identifier(metric.pods.metric, child(path, "metric")))
        issues.extend(_validate_target(metric.pods.target, child(path, "target"), source="Pods"))
        if metric.pods.target.average_value is None:
            where = child(child(path, "target"), "averageValue")
            issues.append(required(where, "must specify a positive target averageValue"))
    elif metric.external is not None and metric.type == "External":
        issues.extend(_validate_identifier(metric.external.metric, child(path, "metric")))
        issues.extend(
            _validate_target(metric.external.target, child(path, "target"), source="External")
        )
    elif metric.resource is not None and metric.type == "Resource":
        source = metric.resource
        if not source.name:
            issues.append(required(child(path, "name"), "must specify a resource name"))
        issues.extend(_validate_target(source.target, child(path, "target"), source="Resource"))
    elif metric.container_resource is not None and metric.type == "ContainerResource":
        source_c = metric.container_resource
        if not source_c.name:
            issues.append(required(child(path, "name"), "must specify a resource name"))
        else:
            issues.extend(container_resource_name_issues(source_c.name, child(path, "name")))
        if not source_c.container:
            issues.append(required(child(path, "container"), "must specify a container"))
        else:
            where = child(path, "container")
            issues.extend(
                invalid(where, source_c.container, m) for m in is_dns1123_label(source_c.container)
            )
        issues.extend(
            _validate_target(source_c.target, child(path, "target"), source="ContainerResource")
        )
    return issues


def _validate_metric(metric: MetricSpec, path: str) -> list[Issue]:
    """Kubernetes' ``validateMetricSpec``: the source ``type`` names is set, no other."""
    present = {
        field
        for field, value in (
            ("object", metric.object),
            ("pods", metric.pods),
            ("resource", metric.resource),
            ("containerResource", metric.container_resource),
            ("external", metric.external),
        )
        if value is not None
    }
    issues: list[Issue] = []
    expected = _SOURCE_FIELDS.get(metric.type)
    if expected is None:
        issues.append(required(child(path, "type"), "must specify a metric source type"))
    elif expected not in present:
        detail = "must populate information for the given metric source"
        issues.append(required(child(path, expected), detail))
    else:
        issues.extend(_validate_source(metric, child(path, expected)))
    if len(present) > 1:
        for field in sorted(present - {expected}):
            issues.append(
                forbidden(child(path, field), "must populate the given metric source only")
            )
    return issues


def _validate_behavior(behavior: HorizontalPodAutoscalerBehavior | None, path: str) -> list[Issue]:
    if behavior is None:
        return []
    issues: list[Issue] = []
    for field, rules in (("scaleUp", behavior.scale_up), ("scaleDown", behavior.scale_down)):
        where = child(path, field)
        window = rules.stabilization_window_seconds
        if window is not None and window < 0:
            issues.append(
                invalid(
                    child(where, "stabilizationWindowSeconds"),
                    window,
                    "must be greater than or equal to zero",
                )
            )
        elif window is not None and window > MAX_STABILIZATION_WINDOW_SECONDS:
            detail = f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"
            issues.append(invalid(child(where, "stabilizationWindowSeconds"), window, detail))
        for index, policy in enumerate(rules.policies):
            policy_path = child(child(where, "policies"), index)
            if policy.type not in ("Pods", "Percent"):
                issues.append(
                    unsupported(child(policy_path, "type"), policy.type, ("Percent", "Pods"))
                )
            if policy.value <= 0:
                issues.append(
                    invalid(child(policy_path, "value"), policy.value, "must be greater than zero")
                )
            period, period_path = policy.period_seconds, child(policy_path, "periodSeconds")
            if period <= 0:
                issues.append(invalid(period_path, period, "must be greater than zero"))
            elif period > MAX_PERIOD_SECONDS:
                issues.append(
                    invalid(
                        period_path, period, f"must be less than or equal to {MAX_PERIOD_SECONDS}"
                    )
                )
    return issues


@validator(HorizontalPodAutoscaler)
def _validate_hpa(hpa: HorizontalPodAutoscaler) -> list[Issue]:
    spec = hpa.spec
    issues = validate_object_meta(hpa.metadata)
    if spec.min_replicas < 0:
        issues.append(
            invalid("spec.minReplicas", spec.min_replicas, "must be greater than or equal to 0")
        )
    if spec.max_replicas < 1:
        issues.append(invalid("spec.maxReplicas", spec.max_replicas, "must be greater than 0"))
    if spec.max_replicas < spec.min_replicas:
        detail = "must be greater than or equal to `minReplicas`"
        issues.append(invalid("spec.maxReplicas", spec.max_replicas, detail))
    issues.extend(_validate_reference(spec.scale_target_ref, "spec.scaleTargetRef"))
    for index, metric in enumerate(spec.metrics):
        issues.extend(_validate_metric(metric, child("spec.metrics", index)))
    if spec.min_replicas == 0 and not any(m.type in ("Object", "External") for m in spec.metrics):
        detail = (
            "must specify at least one Object or External metric to support scaling to zero "
            "replicas"
        )
        issues.append(forbidden("spec.metrics", detail))
    issues.extend(_validate_behavior(spec.behavior, "spec.behavior"))
    issues.extend(_validate_orbit_annotations(hpa))
    return issues


def _validate_orbit_annotations(hpa: HorizontalPodAutoscaler) -> list[Issue]:
    """orbit's HPA annotations: an activation threshold is a non-negative quantity and a
    PromQL query is not empty, each for a metric the HPA names (checked at apply, so a
    typo is an error then rather than a controller that cannot sync)."""
    issues: list[Issue] = []
    names = {
        source.metric.name
        for metric in hpa.spec.metrics
        if (source := metric.object or metric.external or metric.pods) is not None
    }
    for key, value in hpa.metadata.annotations.items():
        path = f"metadata.annotations[{key}]"
        for prefix in (ACTIVATION_THRESHOLD_ANNOTATION_PREFIX, PROMQL_ANNOTATION_PREFIX):
            if not key.startswith(prefix):
                continue
            metric = key.removeprefix(prefix)
            if metric not in names:
                detail = (
                    f"names no metric of this HPA (it has: {', '.join(sorted(names)) or 'none'})"
                )
                issues.append(invalid(path, metric, detail))
            if prefix == PROMQL_ANNOTATION_PREFIX and not value.strip():
                issues.append(required(path, "must be a PromQL expression"))
        if key.startswith(ACTIVATION_THRESHOLD_ANNOTATION_PREFIX):
            try:
                quantity = Quantity(value)
            except ValidationError:
                issues.append(invalid(path, value, "must be a quantity (e.g. 5, 0.5, 100m)"))
                continue
            if quantity.sign() < 0:
                issues.append(invalid(path, value, "must be greater than or equal to 0"))
    return issues
