"""Real HorizontalPodAutoscaler manifests (public charts and docs, in
``tests/unit/manifests/valid/hpa-*.yaml``) apply unchanged to a simulated cluster and
the HPA controller evaluates each of them.

Each file is applied as written, next to a Deployment built here under the name its
``scaleTargetRef`` names (with the containers its ContainerResource metrics name).
The controller must write conditions as Kubernetes does; a target orbit cannot scale
(a StatefulSet) is ``AbleToScale=False/FailedGetScale`` with a message naming it, as
Kubernetes reports a scale it cannot read. No error is logged, and dump -> load keeps
every HPA, its behavior block included.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

import orbit
from orbit.api import (
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerCondition,
    load_manifests,
)
from orbit.autoscaling import SCALABLE_KINDS

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).parents[1] / "unit" / "manifests" / "valid"
FILES = sorted(CORPUS.glob("hpa-*.yaml"))

# Metric failures Kubernetes reports in ScalingActive (horizontal.go's reasons).
METRIC_FAILURES = {
    "FailedGetResourceMetric",
    "FailedGetContainerResourceMetric",
    "FailedGetPodsMetric",
    "FailedGetObjectMetric",
    "FailedGetExternalMetric",
}
RESOURCE_TYPES = {"Resource", "ContainerResource"}

# autoscaling/v2beta1 (a different schema: metricName, targetAverageValue), as the
# prometheus-adapter walkthrough wrote it before autoscaling/v2
# (kubernetes-sigs/prometheus-adapter docs/walkthrough.md, Apache-2.0).
V2BETA1_SAMPLE_APP = """\
kind: HorizontalPodAutoscaler
apiVersion: autoscaling/v2beta1
metadata:
  name: sample-app
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: sample-app
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Pods
    pods:
      metricName: http_requests
      targetAverageValue: 500m
"""


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def containers_named(hpa: HorizontalPodAutoscaler) -> list[str]:
    """The container names the HPA's ContainerResource metrics need (or one ``app``)."""
    named = [m.container_resource.container for m in hpa.spec.metrics if m.container_resource]
    return sorted(set(named)) or ["app"]


def target_for(hpa: HorizontalPodAutoscaler) -> dict[str, Any]:
    """A Deployment (or ReplicaSet) under the name and namespace the HPA targets, its
    pods requesting cpu and memory so Utilization targets have something to divide."""
    ref = hpa.spec.scale_target_ref
    labels = {"hpa-target": ref.name}
    containers = [
        {
            "name": name,
            "image": "app:v1",
            "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}},
        }
        for name in containers_named(hpa)
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": ref.kind,
        "metadata": {"name": ref.name, "namespace": namespace_of(hpa)},
        "spec": {
            "replicas": hpa.spec.min_replicas or 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    # half the request: 50% cpu and memory utilization
                    "annotations": {"sim.orbit.dev/cpu": "100m", "sim.orbit.dev/memory": "64Mi"},
                },
                "spec": {"containers": containers},
            },
        },
    }


def namespace_of(hpa: HorizontalPodAutoscaler) -> str:
    """Where ``apply`` puts it: its own namespace, else ``default``."""
    return hpa.metadata.namespace or "default"


def conditions_of(hpa: HorizontalPodAutoscaler) -> dict[str, HorizontalPodAutoscalerCondition]:
    return {c.type: c for c in hpa.status.conditions}


def sim_cluster(seed: int) -> orbit.Cluster:
    node = orbit.Node("sim-0", runtime=orbit.SimRuntime({"cpu": "64", "memory": "256Gi"}))
    return orbit.Cluster(nodes=[node], seed=seed)


def test_the_corpus_has_real_hpas_of_every_shape() -> None:
    """The files (read as plain YAML) cover v2 and v2beta2, every metric source,
    behavior blocks with each selectPolicy, and a target orbit cannot scale."""
    raw = [doc for path in FILES for doc in documents(path)]
    assert len(FILES) >= 8
    assert {doc["apiVersion"] for doc in raw} == {"autoscaling/v2", "autoscaling/v2beta2"}
    assert {m["type"] for doc in raw for m in doc["spec"]["metrics"]} == {
        "Resource", "ContainerResource", "Pods", "Object", "External",
    }  # fmt: skip
    written = [doc["spec"]["behavior"] for doc in raw if "behavior" in doc["spec"]]
    policies = {rules.get("selectPolicy") for b in written for rules in b.values()}
    assert policies >= {"Max", "Min", "Disabled"}
    kinds = {doc["spec"]["scaleTargetRef"]["kind"] for doc in raw}
    assert kinds >= {"Deployment", "StatefulSet"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_applies_unchanged_and_the_controller_evaluates_it(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="orbit")
    hpas: list[HorizontalPodAutoscaler] = load_manifests(path, on_warning=lambda _: None)
    scalable = [h for h in hpas if h.spec.scale_target_ref.kind in SCALABLE_KINDS]
    async with sim_cluster(seed=11) as cluster:
        await cluster.apply([target_for(h) for h in scalable])
        results = await cluster.apply(path)
        assert [r.action for r in results] == ["created"] * len(hpas)
        await anyio.sleep(40)  # the first sync at creation, then two sync periods

        for hpa in hpas:
            live: HorizontalPodAutoscaler = await cluster.get(
                "hpa", hpa.metadata.name, namespace_of(hpa)
            )
            assert live.spec == hpa.spec  # stored as written (defaults filled in)
            conditions = conditions_of(live)
            able = conditions["AbleToScale"]
            ref = hpa.spec.scale_target_ref
            if ref.kind not in SCALABLE_KINDS:
                # Kubernetes: FailedGetScale, "the HPA controller was unable to get the
                # target's current scale: <why>", and a Warning event with the reason.
                assert (able.status, able.reason) == ("False", "FailedGetScale")
                assert able.message.startswith(
                    "the HPA controller was unable to get the target's current scale: "
                )
                assert ref.kind in able.message
                assert set(conditions) == {"AbleToScale"}
                events = await cluster.events(involved=live)
                assert any(e.reason == "FailedGetScale" for e in events)
                continue

            assert able.status == "True", able
            active = conditions["ScalingActive"]
            if active.status == "True":
                assert active.reason == "ValidMetricFound", active
                assert "ScalingLimited" in conditions
                # every metric has a status entry, an empty one for a failed metric
                assert [m.type for m in live.status.current_metrics] == [
                    m.type for m in hpa.spec.metrics
                ]
                assert live.status.current_replicas >= hpa.spec.min_replicas
            else:
                # a Pods/Object/External metric has no source here (no scrapeable
                # endpoint, no Prometheus server): reported, not crashed on; cpu and
                # memory (50% of request in every simulated pod) always have one
                assert {m.type for m in hpa.spec.metrics} - RESOURCE_TYPES, active
                assert active.reason in METRIC_FAILURES, active
                assert active.message.startswith("the HPA was unable to compute the replica count")
                events = await cluster.events(involved=live)
                assert any(e.reason == active.reason for e in events)

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def _written_rules_survive(written: dict[str, Any], dumped: dict[str, Any]) -> None:
    """Every field of a written scaling-rules block is in the dump with its value,
    except ``selectPolicy: Max``, the default, which ``dump`` leaves out."""
    for key, value in written.items():
        if key == "selectPolicy" and value == "Max":
            assert dumped.get(key, "Max") == "Max"
            continue
        assert dumped[key] == value, (key, dumped)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_dump_and_load_keep_every_hpa_and_its_behavior(path: Path) -> None:
    raw = documents(path)
    hpas: list[HorizontalPodAutoscaler] = load_manifests(path, on_warning=lambda _: None)
    async with sim_cluster(seed=12) as cluster:
        await cluster.apply(path)
        await anyio.sleep(1)
        for doc, hpa in zip(raw, hpas, strict=True):
            live = await cluster.get("hpa", hpa.metadata.name, namespace_of(hpa))
            for obj in (hpa, live):
                dumped = orbit.dump(obj)
                (back,) = load_manifests(dumped)
                assert back == obj
                assert dumped["apiVersion"] == "autoscaling/v2"
            written = doc["spec"].get("behavior")
            dumped_spec = orbit.dump(live)["spec"]
            if written is None:
                assert live.spec.behavior is None
                assert "behavior" not in dumped_spec
                continue
            assert live.spec.behavior is not None
            for direction, rules in written.items():
                _written_rules_survive(rules, dumped_spec["behavior"][direction])


def test_autoscaling_v2beta1_is_refused_naming_the_api_version() -> None:
    """v2beta1's schema (``metricName``, ``targetAverageValue``) is not v2's: orbit
    does not convert it and says which apiVersions it serves (Kubernetes removed
    v2beta1 in 1.25 and answers ``no matches for kind "HorizontalPodAutoscaler" in
    version "autoscaling/v2beta1"``)."""
    with pytest.raises(orbit.ValidationError) as caught:
        load_manifests(V2BETA1_SAMPLE_APP)
    (issue,) = caught.value.issues
    assert issue.path == "apiVersion"
    assert issue.message == (
        'Unsupported value: "autoscaling/v2beta1": orbit serves HorizontalPodAutoscaler'
        " as autoscaling/v2, autoscaling/v2beta2, autoscaling/v1"
    )


# kubernetes/website content/en/examples/application/hpa/php-apache.yaml (CC BY 4.0):
# the HPA walkthrough's autoscaling/v1 object, as written.
PHP_APACHE_V1 = """\
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: php-apache
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: php-apache
  minReplicas: 1
  maxReplicas: 10
  targetCPUUtilizationPercentage: 50
"""


async def test_autoscaling_v1_is_converted_as_kube_apiserver_does() -> None:
    """v1's ``targetCPUUtilizationPercentage`` becomes one cpu Utilization metric; the
    controller evaluates it like any v2 HPA; a bad v1 value is reported at its v1 path."""
    (hpa,) = load_manifests(PHP_APACHE_V1)
    (metric,) = hpa.spec.metrics
    assert metric.resource is not None
    assert (metric.resource.name, metric.resource.target.average_utilization) == ("cpu", 50)
    async with sim_cluster(seed=12) as cluster:
        await cluster.apply(target_for(hpa))
        (result,) = await cluster.apply(PHP_APACHE_V1)
        assert result.action == "created"
        await anyio.sleep(40)
        live: HorizontalPodAutoscaler = await cluster.get("hpa", "php-apache")
        active = conditions_of(live)["ScalingActive"]
        assert (active.status, active.reason) == ("True", "ValidMetricFound")
    bad = PHP_APACHE_V1.replace(
        "targetCPUUtilizationPercentage: 50", "targetCPUUtilizationPercentage: 0"
    )
    with pytest.raises(orbit.ValidationError) as caught:
        load_manifests(bad)
    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("spec.targetCPUUtilizationPercentage", "Invalid value: 0: must be greater than 0")
    ]
