"""Defaults and codec round trips of HorizontalPodAutoscaler, PodDisruptionBudget,
ResourceQuota, LimitRange, Event, ConfigMap and Secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from orbit.api._autoscaling import (
    DEFAULT_METRICS,
    DEFAULT_SCALE_DOWN_RULES,
    DEFAULT_SCALE_UP_RULES,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior,
    HorizontalPodAutoscalerSpec,
    HPAScalingPolicy,
    HPAScalingRules,
)
from orbit.api._codec import DecodeContext, decode_into, encode
from orbit.api._config import ConfigMap, Secret
from orbit.api._event import Event
from orbit.api._meta import kind_for, lookup_kind
from orbit.api._policy import PodDisruptionBudget
from orbit.api._quantity import Quantity
from orbit.api._quota import LimitRange, LimitRangeItem, ResourceQuota


def q(text: str) -> Quantity:
    return Quantity.parse(text)


def load(cls: type[Any], data: dict[str, Any]) -> Any:
    ctx = DecodeContext()
    obj = decode_into(cls, data, "", ctx)
    assert ctx.issues == []
    assert ctx.warnings == []
    return obj


def round_trips(obj: Any) -> None:
    assert load(type(obj), encode(obj)) == obj


# --- HorizontalPodAutoscaler ---------------------------------------------------------


def test_hpa_defaults() -> None:
    spec = HorizontalPodAutoscaler().spec
    assert spec.min_replicas == 1
    assert spec.max_replicas == 0
    assert spec.behavior is None
    (metric,) = spec.metrics
    assert metric.type == "Resource"
    assert metric.resource is not None
    assert metric.resource.name == "cpu"
    assert metric.resource.target.type == "Utilization"
    assert metric.resource.target.average_utilization == 80


def test_hpa_empty_metrics_list_means_cpu_80_and_dumps_clean() -> None:
    hpa = load(
        HorizontalPodAutoscaler,
        {
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 5,
                "metrics": [],
            }
        },
    )
    assert hpa.spec.metrics == DEFAULT_METRICS
    assert encode(hpa.spec) == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 5,
    }
    round_trips(hpa)


def test_hpa_given_metrics_are_kept() -> None:
    spec = load(
        HorizontalPodAutoscalerSpec,
        {
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "512Mi"},
                    },
                }
            ]
        },
    )
    (metric,) = spec.metrics
    assert metric.resource.target.average_value == q("512Mi")
    assert encode(spec)["metrics"][0]["type"] == "Resource"
    round_trips(spec)


def test_hpa_behavior_absent_stays_none() -> None:
    spec = load(HorizontalPodAutoscalerSpec, {"maxReplicas": 3})
    assert spec.behavior is None


def test_hpa_empty_behavior_gets_both_default_directions() -> None:
    behavior = load(HorizontalPodAutoscalerBehavior, {})
    assert behavior.scale_up == DEFAULT_SCALE_UP_RULES
    assert behavior.scale_down == DEFAULT_SCALE_DOWN_RULES
    assert behavior.scale_up.stabilization_window_seconds == 0
    assert behavior.scale_up.select_policy == "Max"
    assert behavior.scale_up.policies == (
        HPAScalingPolicy(type="Pods", value=4, period_seconds=15),
        HPAScalingPolicy(type="Percent", value=100, period_seconds=15),
    )
    # Kubernetes leaves the scale-down window unset: the controller flag (300 s) applies.
    assert behavior.scale_down.stabilization_window_seconds is None
    assert behavior.scale_down.select_policy == "Max"
    assert behavior.scale_down.policies == (
        HPAScalingPolicy(type="Percent", value=100, period_seconds=15),
    )
    assert encode(behavior) == {}


def test_hpa_partial_behavior_is_completed_field_by_field() -> None:
    behavior = load(
        HorizontalPodAutoscalerBehavior,
        {"scaleDown": {"stabilizationWindowSeconds": 60}, "scaleUp": {"selectPolicy": "Min"}},
    )
    assert behavior.scale_down.stabilization_window_seconds == 60
    assert behavior.scale_down.policies == DEFAULT_SCALE_DOWN_RULES.policies
    assert behavior.scale_up.select_policy == "Min"
    assert behavior.scale_up.stabilization_window_seconds == 0
    assert behavior.scale_up.policies == DEFAULT_SCALE_UP_RULES.policies
    round_trips(behavior)


def test_hpa_given_policies_replace_the_defaults() -> None:
    mine = (HPAScalingPolicy(type="Pods", value=1, period_seconds=60),)
    behavior = HorizontalPodAutoscalerBehavior(scale_up=HPAScalingRules(policies=mine))
    assert behavior.scale_up.policies == mine
    assert behavior.scale_up.stabilization_window_seconds == 0


def test_hpa_tolerance_is_a_quantity() -> None:
    behavior = load(HorizontalPodAutoscalerBehavior, {"scaleUp": {"tolerance": "0.05"}})
    assert behavior.scale_up.tolerance == q("50m")
    assert behavior.scale_down.tolerance is None


def test_hpa_status_defaults() -> None:
    status = HorizontalPodAutoscaler().status
    assert status.observed_generation is None
    assert status.last_scale_time is None
    assert (status.current_replicas, status.desired_replicas) == (0, 0)
    assert status.current_metrics == ()
    assert status.conditions == ()


# --- PodDisruptionBudget -------------------------------------------------------------


def test_pdb_has_no_defaults() -> None:
    pdb = PodDisruptionBudget()
    assert pdb.spec.min_available is None
    assert pdb.spec.max_unavailable is None
    assert pdb.spec.selector is None
    assert pdb.spec.unhealthy_pod_eviction_policy is None
    assert pdb.status.disruptions_allowed == 0
    assert pdb.status.observed_generation == 0


@pytest.mark.parametrize("value", [2, "50%"])
def test_pdb_int_or_string(value: int | str) -> None:
    pdb = load(
        PodDisruptionBudget,
        {"spec": {"maxUnavailable": value, "selector": {"matchLabels": {"app": "web"}}}},
    )
    assert pdb.spec.max_unavailable == value
    assert pdb.spec.selector is not None
    assert pdb.spec.selector.match_labels == {"app": "web"}
    round_trips(pdb)


# --- ResourceQuota and LimitRange ----------------------------------------------------


def test_resource_quota_defaults_and_round_trip() -> None:
    assert ResourceQuota().spec.hard == {}
    assert ResourceQuota().spec.scopes == ()
    quota = load(
        ResourceQuota,
        {"spec": {"hard": {"requests.cpu": "4", "pods": 10}, "scopes": ["BestEffort"]}},
    )
    assert quota.spec.hard == {"requests.cpu": q("4"), "pods": q("10")}
    round_trips(quota)


def test_resource_quota_scope_selector_is_ignored_with_a_warning() -> None:
    ctx = DecodeContext()
    decode_into(ResourceQuota, {"spec": {"scopeSelector": {}}}, "", ctx)
    assert ctx.warnings == ["spec.scopeSelector: ignored: orbit does not honour this field"]


def test_limit_range_container_defaults_come_from_max_and_min() -> None:
    item = LimitRangeItem(
        type="Container",
        max={"cpu": q("2"), "memory": q("1Gi")},
        min={"cpu": q("100m"), "ephemeral-storage": q("1Gi")},
        default={"cpu": q("1")},
    )
    # default (the limit): given cpu, memory from max
    assert item.default == {"cpu": q("1"), "memory": q("1Gi")}
    # defaultRequest: from default, then min for what default lacks
    assert item.default_request == {
        "cpu": q("1"),
        "memory": q("1Gi"),
        "ephemeral-storage": q("1Gi"),
    }


def test_limit_range_explicit_default_request_wins() -> None:
    item = LimitRangeItem(type="Container", max={"cpu": q("2")}, default_request={"cpu": q("250m")})
    assert item.default == {"cpu": q("2")}
    assert item.default_request == {"cpu": q("250m")}


def test_limit_range_only_containers_are_defaulted() -> None:
    item = LimitRangeItem(type="Pod", max={"cpu": q("2")}, min={"cpu": q("1")})
    assert item.default == {}
    assert item.default_request == {}


def test_limit_range_dump_leaves_derived_defaults_out() -> None:
    limits = load(
        LimitRange,
        {"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"cpu": "100m"}}]}},
    )
    assert encode(limits) == {
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"cpu": "100m"}}]},
    }
    round_trips(limits)


def test_limit_range_partial_default_round_trips() -> None:
    limits = load(
        LimitRange,
        {
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "max": {"cpu": "2", "memory": "1Gi"},
                        "min": {"cpu": "100m"},
                        "default": {"cpu": "1"},
                    }
                ]
            }
        },
    )
    round_trips(limits)


# --- Event ---------------------------------------------------------------------------


def test_event_defaults_are_go_zero_values() -> None:
    event = Event()
    assert event.count == 0
    assert event.type == ""
    assert event.first_timestamp is None
    assert event.series is None
    assert event.involved_object.name == ""


def test_event_round_trip() -> None:
    event = load(
        Event,
        {
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
            "reason": "FailedScheduling",
            "message": "0/3 nodes are available",
            "type": "Warning",
            "count": 2,
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "source": {"component": "default-scheduler"},
            "reportingComponent": "default-scheduler",
        },
    )
    assert event.source.component == "default-scheduler"
    assert event.first_timestamp is not None
    round_trips(event)


# --- ConfigMap and Secret ------------------------------------------------------------


def test_config_map_defaults_and_binary_data() -> None:
    cm = ConfigMap()
    assert (cm.data, cm.binary_data, cm.immutable) == ({}, {}, None)
    cm = load(ConfigMap, {"data": {"a": "1"}, "binaryData": {"b": "AAE="}})
    assert cm.decoded_binary_data() == {"b": b"\x00\x01"}
    round_trips(cm)


def test_secret_type_defaults_to_opaque() -> None:
    assert Secret().type == "Opaque"
    assert encode(Secret()) == {}


def test_secret_string_data_is_merged_into_data_and_never_kept() -> None:
    secret = load(
        Secret,
        {"data": {"a": "b2xk", "keep": "eA=="}, "stringData": {"a": "new", "pw": "hunter2"}},
    )
    assert secret.string_data == {}
    assert secret.data == {
        "a": base64.b64encode(b"new").decode(),
        "keep": "eA==",
        "pw": base64.b64encode(b"hunter2").decode(),
    }
    assert secret.decoded_data() == {"a": b"new", "keep": b"x", "pw": b"hunter2"}
    assert "stringData" not in encode(secret)
    round_trips(secret)


# --- registry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("hpa", HorizontalPodAutoscaler),
        ("horizontalpodautoscalers.autoscaling", HorizontalPodAutoscaler),
        ("pdb", PodDisruptionBudget),
        ("quota", ResourceQuota),
        ("limits", LimitRange),
        ("ev", Event),
        ("cm", ConfigMap),
        ("secrets", Secret),
    ],
)
def test_kubectl_names(name: str, cls: type[Any]) -> None:
    info = lookup_kind(name)
    assert info is not None
    assert info.cls is cls


def test_aliases() -> None:
    hpa = kind_for("autoscaling/v2beta2", "HorizontalPodAutoscaler")
    pdb = kind_for("policy/v1beta1", "PodDisruptionBudget")
    assert hpa is not None
    assert hpa.cls is HorizontalPodAutoscaler
    assert pdb is not None
    assert pdb.cls is PodDisruptionBudget
