"""HorizontalPodAutoscaler (``autoscaling/v2``): what to scale, on which metrics, how fast.

The HPA controller in ``orbit.autoscaling`` reads ``spec`` and writes ``status``. The
defaults mirror ``pkg/apis/autoscaling/v2/defaults.go``:

- ``minReplicas`` 1; an empty ``metrics`` list means one Resource metric, cpu at 80 %
  average utilization (filled in at construction, so ``dump`` leaves it out when it is
  the default and the controller never sees an empty list);
- ``behavior`` stays ``None`` when absent. When present, each direction is completed
  field by field: scale up gets window 0 s and policies Pods 4 / 15 s and Percent
  100 / 15 s; scale down gets Percent 100 / 15 s and *no* window (Kubernetes leaves it
  unset so the controller's ``--horizontal-pod-autoscaler-downscale-stabilization``
  flag, 300 s by default, applies: see :data:`DEFAULT_DOWNSCALE_STABILIZATION_SECONDS`);
  both select ``Max``. An empty ``policies`` list counts as unset.

``autoscaling/v2beta2`` has the same shape and is accepted as an alias;
``autoscaling/v1`` manifests (``targetCPUUtilizationPercentage``) are converted on load
as kube-apiserver converts them (:func:`from_autoscaling_v1`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import attrs

from orbit.errors import Issue

from ._meta import ObjectMeta, TypedObject, register_kind
from ._quantity import Quantity
from ._selector import LabelSelector

__all__ = [
    "ACTIVATION_THRESHOLD_ANNOTATION_PREFIX",
    "AUTOSCALING_V1",
    "DEFAULT_DOWNSCALE_STABILIZATION_SECONDS",
    "DEFAULT_METRICS",
    "DEFAULT_SCALE_DOWN_RULES",
    "DEFAULT_SCALE_UP_RULES",
    "ContainerResourceMetricSource",
    "ContainerResourceMetricStatus",
    "CrossVersionObjectReference",
    "ExternalMetricSource",
    "ExternalMetricStatus",
    "HPAScalingPolicy",
    "HPAScalingRules",
    "HorizontalPodAutoscaler",
    "HorizontalPodAutoscalerBehavior",
    "HorizontalPodAutoscalerCondition",
    "HorizontalPodAutoscalerSpec",
    "HorizontalPodAutoscalerStatus",
    "MetricIdentifier",
    "MetricSpec",
    "MetricStatus",
    "MetricTarget",
    "MetricValueStatus",
    "ObjectMetricSource",
    "ObjectMetricStatus",
    "PROMQL_ANNOTATION_PREFIX",
    "PodsMetricSource",
    "PodsMetricStatus",
    "ResourceMetricSource",
    "ResourceMetricStatus",
    "from_autoscaling_v1",
]

AUTOSCALING_V1 = "autoscaling/v1"

ConditionStatus = Literal["True", "False", "Unknown"]
# "" is Go's zero value: the field is required, and validation reports it when unset.
MetricSourceType = Literal["", "Object", "Pods", "Resource", "ContainerResource", "External"]
MetricTargetType = Literal["", "Utilization", "Value", "AverageValue"]
ScalingPolicySelect = Literal["Max", "Min", "Disabled"]

ACTIVATION_THRESHOLD_ANNOTATION_PREFIX = "autoscaling.orbit.dev/activation-threshold."
"""``autoscaling.orbit.dev/activation-threshold.<metric name>: "5"`` on an HPA: the value
an Object or External metric must exceed for the workload to be active (KEDA's
``activationThreshold``); below it, an HPA with ``minReplicas: 0`` scales to zero."""

PROMQL_ANNOTATION_PREFIX = "autoscaling.orbit.dev/promql."
"""``autoscaling.orbit.dev/promql.<metric name>: <PromQL>`` on an HPA: the query an
Object or External metric of that name runs against the cluster's Prometheus."""

DEFAULT_DOWNSCALE_STABILIZATION_SECONDS = 300
"""The scale-down window the controller uses when ``stabilizationWindowSeconds`` is
unset (kube-controller-manager's ``--horizontal-pod-autoscaler-downscale-stabilization``)."""


@attrs.frozen(kw_only=True)
class CrossVersionObjectReference:
    """The object to scale (or to read a metric from): ``apps/v1`` ``Deployment`` ``web``."""

    kind: str = ""
    name: str = ""
    api_version: str = ""


@attrs.frozen(kw_only=True)
class MetricTarget:
    """The target value of a metric: ``Utilization`` uses ``average_utilization`` (a
    percentage of the pods' requests), ``Value`` uses ``value``, ``AverageValue`` uses
    ``average_value``."""

    type: MetricTargetType = ""
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


@attrs.frozen(kw_only=True)
class MetricIdentifier:
    name: str = ""
    selector: LabelSelector | None = None


@attrs.frozen(kw_only=True)
class ResourceMetricSource:
    """A resource of the target's pods (``cpu``, ``memory``), averaged over the pods."""

    name: str = ""
    target: MetricTarget = MetricTarget()


@attrs.frozen(kw_only=True)
class ContainerResourceMetricSource:
    """A resource of one named container in each of the target's pods."""

    name: str = ""
    target: MetricTarget = MetricTarget()
    container: str = ""


@attrs.frozen(kw_only=True)
class PodsMetricSource:
    """A custom metric of each of the target's pods (e.g. requests per second)."""

    metric: MetricIdentifier = MetricIdentifier()
    target: MetricTarget = MetricTarget()


@attrs.frozen(kw_only=True)
class ObjectMetricSource:
    """A metric describing another object in the namespace (e.g. an Ingress's hits)."""

    described_object: CrossVersionObjectReference = CrossVersionObjectReference()
    target: MetricTarget = MetricTarget()
    metric: MetricIdentifier = MetricIdentifier()


@attrs.frozen(kw_only=True)
class ExternalMetricSource:
    """A metric from outside the cluster (e.g. a queue's length)."""

    metric: MetricIdentifier = MetricIdentifier()
    target: MetricTarget = MetricTarget()


@attrs.frozen(kw_only=True)
class MetricSpec:
    """One metric to scale on; ``type`` names the source that is set."""

    type: MetricSourceType = ""
    object: ObjectMetricSource | None = None
    pods: PodsMetricSource | None = None
    resource: ResourceMetricSource | None = None
    container_resource: ContainerResourceMetricSource | None = None
    external: ExternalMetricSource | None = None


DEFAULT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        type="Resource",
        resource=ResourceMetricSource(
            name="cpu", target=MetricTarget(type="Utilization", average_utilization=80)
        ),
    ),
)
"""Kubernetes' metrics when a spec lists none: cpu at 80 % average utilization."""


@attrs.frozen(kw_only=True)
class HPAScalingPolicy:
    """At most ``value`` pods (``Pods``) or ``value`` percent (``Percent``) of change
    per ``period_seconds``."""

    type: Literal["", "Pods", "Percent"] = ""
    value: int = 0
    period_seconds: int = 0


@attrs.frozen(kw_only=True)
class HPAScalingRules:
    """Rate limits for one direction of scaling.

    ``None`` / empty fields are completed by :class:`HorizontalPodAutoscalerBehavior`
    with that direction's defaults; ``tolerance`` (KEP-4951) unset means the
    controller's global tolerance (0.1).
    """

    stabilization_window_seconds: int | None = None
    select_policy: ScalingPolicySelect = "Max"
    policies: tuple[HPAScalingPolicy, ...] = ()
    tolerance: Quantity | None = None


DEFAULT_SCALE_UP_RULES = HPAScalingRules(
    stabilization_window_seconds=0,
    select_policy="Max",
    policies=(
        HPAScalingPolicy(type="Pods", value=4, period_seconds=15),
        HPAScalingPolicy(type="Percent", value=100, period_seconds=15),
    ),
)
DEFAULT_SCALE_DOWN_RULES = HPAScalingRules(
    stabilization_window_seconds=None,
    select_policy="Max",
    policies=(HPAScalingPolicy(type="Percent", value=100, period_seconds=15),),
)


def _complete_rules(given: HPAScalingRules, defaults: HPAScalingRules) -> HPAScalingRules:
    """Kubernetes' ``copyHPAScalingRules``: every unset field of ``given`` takes the
    default's value (``select_policy`` always has one: ``Max`` in both directions)."""
    window = given.stabilization_window_seconds
    if window is None:
        window = defaults.stabilization_window_seconds
    policies = given.policies or defaults.policies
    tolerance = given.tolerance if given.tolerance is not None else defaults.tolerance
    if (window, policies, tolerance) == (
        given.stabilization_window_seconds,
        given.policies,
        given.tolerance,
    ):
        return given
    return attrs.evolve(
        given, stabilization_window_seconds=window, policies=policies, tolerance=tolerance
    )


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerBehavior:
    """Scaling velocity in both directions; each side is completed with its defaults
    (see the module docstring), as ``SetDefaults_HorizontalPodAutoscalerBehavior`` does."""

    scale_up: HPAScalingRules = DEFAULT_SCALE_UP_RULES
    scale_down: HPAScalingRules = DEFAULT_SCALE_DOWN_RULES

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "scale_up", _complete_rules(self.scale_up, DEFAULT_SCALE_UP_RULES))
        object.__setattr__(
            self, "scale_down", _complete_rules(self.scale_down, DEFAULT_SCALE_DOWN_RULES)
        )


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerSpec:
    """Scale ``scale_target_ref`` between ``min_replicas`` and ``max_replicas`` so each
    metric meets its target.

    ``min_replicas`` 0 (scale to zero) is left for validation to allow or refuse; an
    empty ``metrics`` becomes :data:`DEFAULT_METRICS`. ``behavior`` ``None`` means the
    controller's classic limits (scale up at most to max(2x current, 4) per sync; the
    default downscale stabilization window), as in Kubernetes.
    """

    scale_target_ref: CrossVersionObjectReference = CrossVersionObjectReference()
    min_replicas: int = 1
    max_replicas: int = 0
    metrics: tuple[MetricSpec, ...] = DEFAULT_METRICS
    behavior: HorizontalPodAutoscalerBehavior | None = None

    __orbit_ignored__ = ("selectionStrategy",)

    def __attrs_post_init__(self) -> None:
        if not self.metrics:
            object.__setattr__(self, "metrics", DEFAULT_METRICS)


@attrs.frozen(kw_only=True)
class MetricValueStatus:
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


@attrs.frozen(kw_only=True)
class ResourceMetricStatus:
    name: str = ""
    current: MetricValueStatus = MetricValueStatus()


@attrs.frozen(kw_only=True)
class ContainerResourceMetricStatus:
    name: str = ""
    current: MetricValueStatus = MetricValueStatus()
    container: str = ""


@attrs.frozen(kw_only=True)
class PodsMetricStatus:
    metric: MetricIdentifier = MetricIdentifier()
    current: MetricValueStatus = MetricValueStatus()


@attrs.frozen(kw_only=True)
class ObjectMetricStatus:
    metric: MetricIdentifier = MetricIdentifier()
    current: MetricValueStatus = MetricValueStatus()
    described_object: CrossVersionObjectReference = CrossVersionObjectReference()


@attrs.frozen(kw_only=True)
class ExternalMetricStatus:
    metric: MetricIdentifier = MetricIdentifier()
    current: MetricValueStatus = MetricValueStatus()


@attrs.frozen(kw_only=True)
class MetricStatus:
    """The last observed value of one metric; ``type`` names the part that is set."""

    type: MetricSourceType = ""
    object: ObjectMetricStatus | None = None
    pods: PodsMetricStatus | None = None
    resource: ResourceMetricStatus | None = None
    container_resource: ContainerResourceMetricStatus | None = None
    external: ExternalMetricStatus | None = None


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerCondition:
    """``AbleToScale``, ``ScalingActive`` or ``ScalingLimited``, with why."""

    type: str = ""
    status: ConditionStatus = "Unknown"
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerStatus:
    observed_generation: int | None = None
    last_scale_time: datetime | None = None
    current_replicas: int = 0
    desired_replicas: int = 0
    current_metrics: tuple[MetricStatus, ...] = ()
    conditions: tuple[HorizontalPodAutoscalerCondition, ...] = ()

    def condition(self, type_: str) -> HorizontalPodAutoscalerCondition | None:
        """The condition of that type, if the autoscaler reports it."""
        for condition in self.conditions:
            if condition.type == type_:
                return condition
        return None


@register_kind(
    "autoscaling/v2",
    plural="horizontalpodautoscalers",
    short_names=("hpa",),
    aliases=("autoscaling/v2beta2", "autoscaling/v1"),
)
@attrs.frozen(kw_only=True)
class HorizontalPodAutoscaler(TypedObject):
    """Keeps a workload's replica count matched to its load."""

    metadata: ObjectMeta = ObjectMeta()
    spec: HorizontalPodAutoscalerSpec = HorizontalPodAutoscalerSpec()
    status: HorizontalPodAutoscalerStatus = HorizontalPodAutoscalerStatus()


def from_autoscaling_v1(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
    """An ``autoscaling/v1`` HPA (everything but apiVersion and kind) as ``autoscaling/v2``,
    as kube-apiserver converts it: ``spec.targetCPUUtilizationPercentage`` becomes one
    Resource metric, cpu at that average utilization (unset: v2's default, 80 %);
    ``status`` is dropped (the controller writes v2 status). Returns the body and the
    issues of the v1 field, at its v1 path."""
    converted = dict(body)
    spec = body.get("spec")
    converted.pop("status", None)
    if not isinstance(spec, Mapping):
        return converted, []
    spec = dict(spec)
    target = spec.pop("targetCPUUtilizationPercentage", None)
    issues: list[Issue] = []
    if target is not None:
        path = "spec.targetCPUUtilizationPercentage"
        if isinstance(target, bool) or not isinstance(target, int):
            issues.append(Issue(path, f"Invalid value: {target!r}: must be an integer"))
        elif target < 1:
            issues.append(Issue(path, f"Invalid value: {target}: must be greater than 0"))
        else:
            target_spec = {"type": "Utilization", "averageUtilization": target}
            spec["metrics"] = [
                {"type": "Resource", "resource": {"name": "cpu", "target": target_spec}}
            ]
    converted["spec"] = spec
    return converted, issues
