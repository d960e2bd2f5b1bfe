"""Each built-in plugin against Kubernetes' formulas, reasons and test vectors."""

from __future__ import annotations

import numpy as np
import pytest
from sched_harness import GPU, Harness, make_node, make_pod, requirement, taint

from orbit.api import Toleration
from orbit.errors import ValidationError
from orbit.scheduling import Code, CycleState, NodeInfo, PreFilterResult, Snapshot, Status
from orbit.scheduling.plugins import (
    GPUAvoidance,
    GPUDevices,
    NodeAffinity,
    NodeName,
    NodeResourcesBalancedAllocation,
    NodeResourcesFit,
    NodeResourcesFitArgs,
    NodeUnschedulable,
    ResourceSpec,
    ScoringStrategy,
    TaintToleration,
    UtilizationShapePoint,
)
from orbit.scheduling.plugins._allocation import _shape_value

# Kubernetes' scoring test fixture: "nothing scheduled, resources requested, differently
# sized nodes" — a pod of cpu 1000m + 2000m and memory 2000 + 3000 bytes.
K8S_NODES = [
    make_node("node1", cpu="4000m", memory="10000"),
    make_node("node2", cpu="6000m", memory="10000"),
]
K8S_POD = make_pod("p", cpu="3000m", memory="5000")


def scores(plugin: object, pod: object = K8S_POD, nodes: list = K8S_NODES) -> list[int]:
    """Per-node scores (after pre_score, before normalising) in snapshot order."""
    snapshot = Snapshot(nodes)
    state = CycleState()
    candidates = np.arange(len(snapshot), dtype=np.intp)
    status = plugin.pre_score(state, pod, snapshot, candidates)  # type: ignore[attr-defined]
    assert status.is_success, status
    return [plugin.score(state, pod, info) for info in snapshot]  # type: ignore[attr-defined]


def fit(strategy: str, shape: tuple[UtilizationShapePoint, ...] = ()) -> NodeResourcesFit:
    extra = {"shape": shape} if shape else {}
    return NodeResourcesFit(
        NodeResourcesFitArgs(scoring_strategy=ScoringStrategy(type=strategy, **extra))  # type: ignore[arg-type]
    )


# -- NodeResourcesFit ------------------------------------------------------------------


def test_least_allocated_matches_kubernetes() -> None:
    # node1: cpu (4000-3000)*100/4000 = 25, memory (10000-5000)*100/10000 = 50 -> 37
    assert scores(fit("LeastAllocated")) == [37, 50]


def test_most_allocated_matches_kubernetes() -> None:
    # node1: cpu 3000*100/4000 = 75, memory 50 -> 62; node2: 50, 50 -> 50
    assert scores(fit("MostAllocated")) == [62, 50]


def test_requested_to_capacity_ratio_matches_kubernetes() -> None:
    # shape (0 -> 10, 100 -> 0): node1 cpu 75% -> 25, memory 50% -> 50, round(37.5) = 38
    shape = (UtilizationShapePoint(0, 10), UtilizationShapePoint(100, 0))
    assert scores(fit("RequestedToCapacityRatio", shape)) == [38, 50]


def test_shape_division_truncates_toward_zero_like_go() -> None:
    shape = (UtilizationShapePoint(0, 10), UtilizationShapePoint(30, 0))
    assert _shape_value(shape, 10) == 67  # 100 + trunc(-1000 / 30); floor would give 66
    assert _shape_value(shape, 0) == 100
    assert _shape_value(shape, 90) == 0


def test_weights_and_resources_absent_from_a_node_are_left_out_of_the_mean() -> None:
    args = NodeResourcesFitArgs(
        scoring_strategy=ScoringStrategy(
            type="MostAllocated",
            resources=(ResourceSpec("cpu", 1), ResourceSpec("memory", 1), ResourceSpec(GPU, 3)),
        )
    )
    plugin = NodeResourcesFit(args)
    nodes = [
        make_node("cpu-only", cpu="4", memory="8Gi"),
        make_node("gpu", cpu="4", memory="8Gi", gpus=4),
    ]
    pod = make_pod("g", cpu="2", memory="4Gi", gpus=1)
    # cpu-only: (50 + 50) / 2; gpu node: (50 + 50 + 25 * 3) / 5
    assert scores(plugin, pod, nodes) == [50, 35]
    # a pod that asks for no GPU leaves the GPU out everywhere
    assert scores(plugin, make_pod("c", cpu="2", memory="4Gi"), nodes) == [50, 50]


def test_scoring_counts_containers_without_requests_at_the_defaults() -> None:
    nodes = [make_node("n", cpu="1", memory="1000Mi")]
    # 100m of 1000m and 200Mi of 1000Mi: least allocated (90 + 80) / 2
    assert scores(fit("LeastAllocated"), make_pod(cpu=None, memory=None), nodes) == [85]


def test_fit_args_validate_and_load_from_kubernetes_mappings() -> None:
    with pytest.raises(ValidationError, match="weight"):
        ScoringStrategy(resources=(ResourceSpec("cpu", 0),))
    with pytest.raises(ValidationError, match="utilization"):
        ScoringStrategy(shape=(UtilizationShapePoint(50, 1), UtilizationShapePoint(40, 2)))
    args = NodeResourcesFitArgs.from_mapping(
        {
            "scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "resources": [{"name": "cpu", "weight": 2}],
                "requestedToCapacityRatio": {
                    "shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]
                },
            },
            "ignoredResources": ["example.com/x"],
        }
    )
    assert args.scoring_strategy.resources == (ResourceSpec("cpu", 2),)
    assert args.ignored_resources == {"example.com/x"}
    assert isinstance(
        NodeResourcesFit.new({"scoringStrategy": {"type": "MostAllocated"}}, None), NodeResourcesFit
    )


def test_fit_filter_reasons_and_codes() -> None:
    h = Harness(
        [
            make_node("small", cpu="1", memory="1Gi"),
            make_node("full", pods="1"),
            make_node("plenty", cpu="64", memory="256Gi"),
        ],
        [make_pod("x", cpu="0", memory=None, node_name="full")],
    )
    state = CycleState()
    pod = make_pod("p", cpu="2", memory="2Gi", extended={"example.com/fpga": "1"})
    plugin = h.framework.plugins["NodeResourcesFit"]
    plugin.pre_filter(state, pod, h.snapshot)
    statuses = [plugin.filter(state, pod, info) for info in h.snapshot]
    assert h.snapshot.names == ("full", "plenty", "small")
    assert [s.reasons for s in statuses] == [
        ("Too many pods", "Insufficient example.com/fpga"),
        ("Insufficient example.com/fpga",),
        ("Insufficient cpu", "Insufficient memory", "Insufficient example.com/fpga"),
    ]
    assert all(s.code is Code.UNSCHEDULABLE for s in statuses)
    ignoring = NodeResourcesFit(
        NodeResourcesFitArgs(ignored_resource_groups=frozenset({"example.com"}))
    )
    assert ignoring.filter(state, pod, h.snapshot["plenty"]).is_success


def test_zero_requests_fit_even_an_overcommitted_node() -> None:
    snapshot = Snapshot([make_node("n", cpu="1")], [make_pod("big", cpu="2", node_name="n")])
    plugin = NodeResourcesFit()
    state = CycleState()
    assert plugin.filter(state, make_pod("free", cpu=None, memory="1Mi"), snapshot["n"]).is_success
    assert not plugin.filter(state, make_pod("some", cpu="1m"), snapshot["n"]).is_success


# -- BalancedAllocation ---------------------------------------------------------------


def test_balanced_allocation_matches_kubernetes() -> None:
    # node1: cpu 0.75, memory 0.5 -> std 0.125 -> 87; node2: 0.5, 0.5 -> 100
    assert scores(NodeResourcesBalancedAllocation()) == [87, 100]


def test_balanced_allocation_uses_the_deviation_for_three_resources() -> None:
    plugin = NodeResourcesBalancedAllocation.new(
        {"resources": [{"name": "cpu"}, {"name": "memory"}, {"name": GPU}]}, None
    )
    nodes = [make_node("g", cpu="4", memory="4Gi", gpus=4)]
    # fractions 0.5, 0.25, 1.0: mean 7/12, variance (1/144 + 1/9 + 25/144) / 3
    got = scores(plugin, make_pod(cpu="2", memory="1Gi", gpus=4), nodes)
    fractions = [0.5, 0.25, 1.0]
    mean = sum(fractions) / 3
    std = (sum((f - mean) ** 2 for f in fractions) / 3) ** 0.5
    assert got == [int((1 - std) * 100)]


def test_balanced_allocation_skips_pods_that_request_nothing() -> None:
    plugin = NodeResourcesBalancedAllocation()
    snapshot = Snapshot(K8S_NODES)
    status = plugin.pre_score(CycleState(), make_pod(cpu=None, memory=None), snapshot, np.arange(2))
    assert status.is_skip


# -- NodeName, NodeUnschedulable, TaintToleration ----------------------------------------


def test_node_name() -> None:
    plugin = NodeName()
    snapshot = Snapshot([make_node("a"), make_node("b")])
    state = CycleState()
    assert plugin.pre_filter(state, make_pod(), snapshot).is_skip
    pinned = make_pod(node_name="b")
    assert plugin.filter(state, pinned, snapshot["b"]).is_success
    assert plugin.filter(state, pinned, snapshot["a"]) == Status(
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("node(s) didn't match the requested node name",)
    )


def test_node_unschedulable_and_its_toleration() -> None:
    info = NodeInfo.build(make_node("cordoned", unschedulable=True))
    plugin = NodeUnschedulable()
    assert plugin.filter(CycleState(), make_pod(), info).reasons == ("node(s) were unschedulable",)
    tolerating = make_pod(
        tolerations=[
            Toleration(
                key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule"
            )
        ]
    )
    assert plugin.filter(CycleState(), tolerating, info).is_success


def test_taint_toleration_filter_reports_the_first_untolerated_taint() -> None:
    info = NodeInfo.build(
        make_node(
            "t", taints=["soft:PreferNoSchedule", "gpu=true:NoSchedule", "evict=now:NoExecute"]
        )
    )
    plugin = TaintToleration()
    status = plugin.filter(CycleState(), make_pod(), info)
    assert status == Status.unresolvable("node(s) had untolerated taint {gpu: true}")
    gpu_ok = make_pod(tolerations=[Toleration(key="gpu", value="true", effect="NoSchedule")])
    assert plugin.filter(CycleState(), gpu_ok, info).reasons == (
        "node(s) had untolerated taint {evict: now}",
    )
    everything = make_pod(tolerations=[Toleration(operator="Exists")])
    assert plugin.filter(CycleState(), everything, info).is_success


def test_taint_toleration_scores_prefer_no_schedule_taints_in_reverse() -> None:
    nodes = [
        make_node("clean"),
        make_node("one", taints=["a:PreferNoSchedule"]),
        make_node("two", taints=["a:PreferNoSchedule", "b=x:PreferNoSchedule", "c:NoSchedule"]),
    ]
    plugin = TaintToleration()
    raw = scores(plugin, make_pod(), nodes)
    assert raw == [0, 1, 2]
    assert plugin.normalize_scores(CycleState(), make_pod(), np.asarray(raw)).tolist() == [
        100,
        50,
        0,
    ]
    tolerant = make_pod(
        tolerations=[Toleration(key="a", operator="Exists", effect="PreferNoSchedule")]
    )
    assert scores(plugin, tolerant, nodes) == [0, 0, 1]
    # a NoSchedule toleration does not tolerate PreferNoSchedule taints
    wrong_effect = make_pod(
        tolerations=[Toleration(key="a", operator="Exists", effect="NoSchedule")]
    )
    assert scores(plugin, wrong_effect, nodes) == [0, 1, 2]


# -- NodeAffinity ------------------------------------------------------------------------


LABELED = [
    make_node("a", labels={"zone": "z1", "disk": "ssd", "cores": "8"}),
    make_node("b", labels={"zone": "z2", "cores": "16"}),
    make_node("c", labels={"zone": "z3", "cores": "x"}),
]


def matching(pod: object) -> list[str]:
    snapshot = Snapshot(LABELED)
    plugin = NodeAffinity()
    state = CycleState()
    plugin.pre_filter(state, pod, snapshot)  # type: ignore[arg-type]
    return [i.name for i in snapshot if plugin.filter(state, pod, i).is_success]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expressions", "expected"),
    [
        ([requirement("zone", "In", "z1", "z3")], ["a", "c"]),
        ([requirement("zone", "NotIn", "z1")], ["b", "c"]),
        ([requirement("disk", "Exists")], ["a"]),
        ([requirement("disk", "DoesNotExist")], ["b", "c"]),
        ([requirement("cores", "Gt", "8")], ["b"]),
        ([requirement("cores", "Lt", "16")], ["a"]),
        ([requirement("zone", "In", "z1"), requirement("disk", "Exists")], ["a"]),
        ([requirement("cores", "Gt", "eight")], []),  # invalid term: matches nothing
        ([requirement("disk", "In")], []),  # In without values is invalid
        ([requirement("nodisk", "NotIn", "ssd")], ["a", "b", "c"]),
    ],
)
def test_node_affinity_operators(expressions: list, expected: list[str]) -> None:
    assert matching(make_pod(required=[expressions])) == expected


def test_terms_are_ored_and_an_empty_term_matches_nothing() -> None:
    pod = make_pod(required=[[requirement("zone", "In", "z1")], [requirement("zone", "In", "z2")]])
    assert matching(pod) == ["a", "b"]
    assert matching(make_pod(required=[[]])) == []
    assert matching(make_pod(required=[])) == []


def test_node_selector_and_match_fields() -> None:
    assert matching(make_pod(node_selector={"zone": "z2"})) == ["b"]
    assert matching(make_pod(node_selector={"zone": "z2", "disk": "ssd"})) == []
    by_name = make_pod(required_fields=[[requirement("metadata.name", "In", "c")]])
    assert matching(by_name) == ["c"]
    not_a = make_pod(required_fields=[[requirement("metadata.name", "NotIn", "a")]])
    assert matching(not_a) == ["b", "c"]


def test_pre_filter_narrows_to_pinned_names_and_detects_conflicts() -> None:
    plugin = NodeAffinity()
    snapshot = Snapshot(LABELED)
    pinned = make_pod(
        required_fields=[
            [requirement("metadata.name", "In", "a")],
            [requirement("metadata.name", "In", "b")],
        ]
    )
    assert plugin.pre_filter(CycleState(), pinned, snapshot) == PreFilterResult(
        frozenset({"a", "b"})
    )
    conflict = make_pod(
        required_fields=[
            [requirement("metadata.name", "In", "a"), requirement("metadata.name", "In", "b")]
        ]
    )
    assert plugin.pre_filter(CycleState(), conflict, snapshot) == Status.unresolvable(
        "pod affinity terms conflict"
    )
    assert plugin.pre_filter(CycleState(), make_pod(), snapshot).is_skip


def test_preferred_terms_score_and_normalise() -> None:
    pod = make_pod(
        preferred=[
            (10, [requirement("zone", "In", "z1")]),
            (30, [requirement("cores", "Gt", "4")]),
            (0, [requirement("zone", "In", "z3")]),
        ]
    )
    plugin = NodeAffinity()
    raw = scores(plugin, pod, LABELED)
    assert raw == [40, 30, 0]
    assert plugin.normalize_scores(CycleState(), pod, np.asarray(raw)).tolist() == [100, 75, 0]


# -- GPUs -------------------------------------------------------------------------------


def test_gpu_devices_reserve_the_lowest_free_ids_and_unreserve() -> None:
    snapshot = Snapshot([make_node("g", gpus=4)], [make_pod("old", gpus=1, node_name="g")])
    plugin = GPUDevices()
    state = CycleState()
    pod = make_pod("new", gpus=2)
    assert plugin.reserve(state, pod, snapshot["g"]).is_success
    assert state.binding_annotations == {"orbit.dev/gpu-devices": "1,2"}
    plugin.unreserve(state, pod, "g")
    plugin.unreserve(state, pod, "g")  # idempotent
    assert state.binding_annotations == {}
    too_many = plugin.reserve(CycleState(), make_pod("big", gpus=4), snapshot["g"])
    assert too_many.code is Code.UNSCHEDULABLE
    assert "3 free nvidia.com/gpu devices" in too_many.message
    assert plugin.reserve(CycleState(), make_pod("cpu"), snapshot["g"]).is_success


def test_gpu_avoidance_ranks_gpu_nodes_last_for_pods_without_gpus() -> None:
    nodes = [make_node("cpu"), make_node("gpu", gpus=8)]
    plugin = GPUAvoidance()
    assert scores(plugin, make_pod(), nodes) == [100, 0]
    snapshot = Snapshot(nodes)
    assert plugin.pre_score(CycleState(), make_pod(gpus=1), snapshot, np.arange(2)).is_skip
    cpu_only = Snapshot([make_node("x")])
    assert plugin.pre_score(CycleState(), make_pod(), cpu_only, np.arange(1)).is_skip


def test_taint_helper() -> None:
    assert taint("k=v:NoExecute").effect == "NoExecute"
    assert taint("k:NoSchedule").value == ""
