"""orbit.whatif's pure parts: scenario files, the policy manifests, the threshold
above which the load counts as above target, and the summary of a run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from orbit.autoscaling import Diurnal
from orbit.errors import ValidationError
from orbit.whatif import (
    Day,
    Load,
    NodeGroup,
    PoolSpec,
    WhatIf,
    above_target_cores,
    load_scenario,
    manifests_for,
    markdown_table,
    parse_duration,
    reversals,
    summarise,
)

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "a", "image": "a", "resources": {"requests": {"cpu": "200m"}}},
                    {"name": "b", "image": "b", "resources": {"requests": {"cpu": "50m"}}},
                ]
            },
        },
    },
}


def hpa(target: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
            **spec,
        },
    }


UTILIZATION = {"type": "Utilization", "averageUtilization": 60}


def what_if(*manifests: dict[str, Any], **more: Any) -> WhatIf:
    fields: dict[str, Any] = {
        "manifests": manifests or (DEPLOYMENT, hpa(UTILIZATION)),
        "load": Load(selector="app=web", curve=Diurnal(trough=1.0, peak=1.0)),
        "nodes": (NodeGroup(prefix="base", count=2, capacity={"cpu": "2"}, cost_per_hour=0.5),),
        "pools": (PoolSpec(name="pool", capacity={"cpu": "2"}, max_nodes=3, cost_per_hour=2.0),),
        "duration_s": 600.0,
        "policies": {"default": None},
        "sample_s": 60.0,
    }
    return WhatIf(**(fields | more))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800), ("250ms", 0.25), (45, 45)],
)
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1x", "h", "1h 30m", "-5s", -5, True, ""])
def test_bad_durations(text: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_a_policy_replaces_only_the_hpas_behavior_and_copies_everything() -> None:
    given = hpa(UTILIZATION, behavior={"scaleDown": {"stabilizationWindowSeconds": 600}})
    whatif = what_if(DEPLOYMENT, given)
    before = copy.deepcopy(whatif.manifests)
    fast = {"scaleDown": {"stabilizationWindowSeconds": 60}}

    deployment, changed = manifests_for(whatif, fast)
    _, kept = manifests_for(whatif, None)

    assert changed["spec"]["behavior"] == fast
    assert kept["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 600}}
    assert deployment == DEPLOYMENT
    changed["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] = 1
    assert whatif.manifests == before
    assert fast == {"scaleDown": {"stabilizationWindowSeconds": 60}}


def test_above_target_is_the_target_per_pod_plus_the_hpas_tolerance() -> None:
    # 60 % of the pod's 250m (both containers) is 150m; 10 % tolerance on top
    assert above_target_cores(what_if()) == pytest.approx(0.165)
    average = hpa({"type": "AverageValue", "averageValue": "200m"})
    assert above_target_cores(what_if(DEPLOYMENT, average)) == pytest.approx(0.22)
    memory = hpa(UTILIZATION)
    memory["spec"]["metrics"][0]["resource"]["name"] = "memory"
    assert above_target_cores(what_if(DEPLOYMENT, memory)) is None


def test_the_policies_need_exactly_one_hpa_or_its_name() -> None:
    other = hpa(UTILIZATION)
    other["metadata"] = {"name": "other"}
    two = what_if(DEPLOYMENT, hpa(UTILIZATION), other)
    with pytest.raises(ValueError, match="exactly one HorizontalPodAutoscaler"):
        manifests_for(two, None)
    named = what_if(DEPLOYMENT, hpa(UTILIZATION), other, hpa="other")
    assert manifests_for(named, {"x": 1})[2]["spec"]["behavior"] == {"x": 1}


def test_reversals_and_flaps() -> None:
    scalings = [(0.0, 2, 4), (100.0, 4, 3), (500.0, 3, 5), (600.0, 5, 6), (1000.0, 6, 4)]
    # down after up at 100 s (a flap: < 5 min), up after down at 500 s (400 s later),
    # down after up at 1000 s (400 s after the scaling at 600 s)
    assert reversals(scalings) == (3, 1)
    assert reversals([]) == (0, 0)


def test_the_summary_integrates_the_timeline() -> None:
    whatif = what_if()
    # t, demand, replicas, ready, unbound, nodes; every 60 s
    timeline = [
        (0.0, 0.1, 2, 2, 0, 2),  # 0.05 per pod: below 0.165
        (60.0, 1.0, 2, 2, 1, 2),  # 0.5 per pod: above
        (120.0, 1.0, 4, 3, 1, 3),  # 0.33 per pod: above
        (180.0, 1.0, 8, 8, 0, 3),  # 0.125: below
    ]
    day = Day(
        policy="p",
        timeline=timeline,
        cost_rates=[1.0, 1.0, 3.0, 3.0],  # two fixed nodes at 0.5, then a pool node at 2
        scalings=[(100.0, 2, 4), (150.0, 4, 8)],
        rescale_events=2,
        hpa_warnings=0,
        nodes_added=1,
        nodes_removed=0,
    )

    row = summarise(day, whatif)

    assert row["above_target_s"] == 120
    assert row["above_target_share"] == pytest.approx(0.5)
    assert row["pod_hours"] == round((2 + 2 + 4 + 8) / 60, 2)
    assert row["node_hours"] == round(10 / 60, 2)
    assert row["cost"] == round(8 * 60 / 3600, 3)
    assert row["pending_pod_s"] == 120
    assert (row["max_replicas"], row["max_nodes"], row["reversals"]) == (8, 3, 0)
    assert markdown_table([row])[2] == (
        "| p | 120 s | 2 | 0 | 0 | 0.3 | 0.17 | 0.13 | 120 | 8 | 3 | 1/0 |"
    )


def test_node_prices_come_from_the_pool_label_or_the_group_name() -> None:
    whatif = what_if()
    assert whatif.price_of("base-1", None) == 0.5
    assert whatif.price_of("pool-3", "pool") == 2.0
    assert whatif.price_of("elsewhere", None) == 0.0
    assert whatif.max_nodes == 5


SCENARIO = """\
duration: 2h
seed: 4
nodes: [{name: base, count: 2, capacity: {cpu: "4", memory: 8Gi}, costPerHour: 0.2}]
nodePools: [{name: gpu, capacity: {cpu: "8"}, maxNodes: 2, bootDelay: 90s}]
manifests:
  - web.yaml
  - apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: web}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      maxReplicas: 5
load:
  selector: app=web
  trough: 0.5
  peak: 3
  noise: 0.1
  spikes: {count: 3, cores: [1, 2], duration: [1m, 5m]}
policies:
  default: null
  slow: {scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 60}]}}
"""


def test_a_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(DEPLOYMENT))
    (tmp_path / "day.yaml").write_text(SCENARIO)

    whatif = load_scenario(tmp_path / "day.yaml")

    assert whatif.name == "day"
    assert (whatif.duration_s, whatif.seed, whatif.sample_s) == (7200, 4, 30)
    assert whatif.nodes == (
        NodeGroup(
            prefix="base", count=2, capacity={"cpu": "4", "memory": "8Gi"}, cost_per_hour=0.2
        ),
    )
    assert whatif.pools == (
        PoolSpec(name="gpu", capacity={"cpu": "8"}, max_nodes=2, boot_delay_s=90),
    )
    assert [m["kind"] for m in whatif.manifests] == ["Deployment", "HorizontalPodAutoscaler"]
    assert list(whatif.policies) == ["default", "slow"]
    curve = whatif.load.curve
    assert isinstance(curve, Diurnal)
    assert (curve.trough, curve.peak, curve.noise, curve.seed) == (0.5, 3.0, 0.1, 4)
    assert len(curve.spikes) == 3
    assert all(0 <= s.start_s < 7200 and 60 <= s.duration_s <= 300 for s in curve.spikes)
    assert load_scenario(tmp_path / "day.yaml", seed=9).load.curve.seed == 9  # type: ignore[attr-defined]


def test_a_broken_scenario_reports_every_issue(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "duration: soon\nnodes: [{name: a, count: -1, capacity: {cpu: '1'}}]\n"
        "manifests: [{apiVersion: v1, kind: Pod, metadata: {name: x}, spec: {containers: []}}]\n"
        "load: {selector: 'app in', trough: 2, peak: 1}\nexpander: random\nextra: 1\n"
    )

    with pytest.raises(ValidationError) as caught:
        load_scenario(tmp_path / "bad.yaml")

    paths = {issue.path for issue in caught.value.issues}
    assert {
        "duration",
        "extra",
        "nodes[0].count",
        "load.selector",
        "load",
        "expander",
        "manifests[0].spec.containers",
        "hpa",
    } <= paths
