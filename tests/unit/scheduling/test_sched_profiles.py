"""The shipped profiles: default spreads, binpack packs, GPU nodes stay for GPU pods."""

from __future__ import annotations

from collections import Counter

import pytest
from sched_harness import Harness, make_node, make_pod

from orbit.scheduling import default_profiles
from orbit.scheduling.plugins import GPU_AVOIDANCE_WEIGHT


def spread_of(placements: dict[str, str | None]) -> list[int]:
    return sorted(Counter(placements.values()).values())


def test_default_spreads_and_binpack_fills_one_node_first() -> None:
    nodes = [make_node(f"n{i}", cpu="4", memory="16Gi") for i in range(4)]
    pods = [make_pod(f"p{i}", cpu="1", memory="1Gi") for i in range(8)]
    assert spread_of(Harness(nodes).schedule_all(pods)) == [2, 2, 2, 2]
    assert spread_of(Harness(nodes, profile="spread").schedule_all(pods)) == [2, 2, 2, 2]
    assert spread_of(Harness(nodes, profile="binpack").schedule_all(pods)) == [4, 4]
    assert spread_of(Harness(nodes, profile="optimal").schedule_all(pods)) == [4, 4]


def test_binpack_prefers_the_fullest_node_that_fits() -> None:
    nodes = [make_node("half", cpu="4"), make_node("empty", cpu="4")]
    h = Harness(nodes, [make_pod("x", cpu="2", node_name="half")], profile="binpack")
    assert h.schedule(make_pod("p", cpu="1")).node_name == "half"
    assert (
        Harness(nodes, [make_pod("x", cpu="2", node_name="half")])
        .schedule(make_pod("q", cpu="1"))
        .node_name
        == "empty"
    )


@pytest.mark.parametrize("profile", ["default", "binpack", "spread", "optimal"])
def test_cpu_pods_stay_off_gpu_nodes_while_other_nodes_fit(profile: str) -> None:
    nodes = [
        make_node("gpu-big", cpu="64", memory="256Gi", gpus=8),
        make_node("cpu", cpu="4", memory="8Gi"),
    ]
    h = Harness(nodes, profile=profile)
    placements = h.schedule_all(make_pod(f"c{i}", cpu="1", memory="1Gi") for i in range(4))
    assert set(placements.values()) == {"cpu"}
    # the CPU node is full: the policy only ranks, it never makes a pod unschedulable
    assert h.schedule(make_pod("overflow", cpu="1")).node_name == "gpu-big"
    assert h.schedule(make_pod("train", gpus=8)).node_name == "gpu-big"


def test_gpu_pods_pack_onto_partly_used_gpu_nodes_in_binpack() -> None:
    nodes = [make_node("g1", gpus=4), make_node("g2", gpus=4)]
    h = Harness(nodes, profile="binpack")
    first = h.schedule(make_pod("a", cpu="100m", memory="100Mi", gpus=1)).node_name
    assert h.schedule(make_pod("b", cpu="100m", memory="100Mi", gpus=1)).node_name == first
    assert h.snapshot[first].free_gpu_devices == ("2", "3")  # type: ignore[index]


def test_profiles_follow_kubernetes_order_and_weights() -> None:
    profiles = default_profiles()
    default = profiles["default"]
    assert [(p.name, p.weight) for p in default.plugins] == [
        ("PrioritySort", 1),
        ("NodeUnschedulable", 1),
        ("NodeName", 1),
        ("TaintToleration", 3),
        ("NodeAffinity", 2),
        ("NodeResourcesFit", 1),
        ("PodTopologySpread", 2),
        ("InterPodAffinity", 2),
        ("DefaultPreemption", 1),
        ("NodeResourcesBalancedAllocation", 1),
        ("GPUDevices", 1),
        ("GPUAvoidance", GPU_AVOIDANCE_WEIGHT),
        ("DefaultBinder", 1),
    ]
    assert profiles["default-scheduler"].plugins == default.plugins
    assert default.plugin_args["NodeResourcesFit"].scoring_strategy.type == "LeastAllocated"
    assert (
        profiles["binpack"].plugin_args["NodeResourcesFit"].scoring_strategy.type == "MostAllocated"
    )
    assert profiles["optimal"].plugins == profiles["binpack"].plugins
    # the GPU policy outweighs every other default score put together
    others = sum(p.weight for p in default.plugins if p.name != "GPUAvoidance")
    assert others < GPU_AVOIDANCE_WEIGHT
