"""Properties over random clusters: the vectorised plugins agree with the per-node ones,
no placement overcommits or breaks a hard constraint, the same seed places the same."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sched_harness import GPU, Harness, make_node, make_pod, requirement

from orbit.api import Node, Pod, Toleration
from orbit.scheduling import (
    GPU_DEVICES_ANNOTATION,
    CycleState,
    Framework,
    PreFilterResult,
    Snapshot,
    default_profiles,
    pod_resources,
)
from orbit.scheduling.plugins import (
    NodeResourcesBalancedAllocation,
    NodeResourcesFit,
    NodeResourcesFitArgs,
    ResourceSpec,
    ScoringStrategy,
    UtilizationShapePoint,
)
from orbit.scheduling.plugins._node_selector import RequiredNodeAffinity
from orbit.scheduling.plugins._taints import UNSCHEDULABLE_TAINT, tolerated

FPGA = "example.com/fpga"
TAINTS = [
    "gpu=true:NoSchedule",
    "spot=yes:PreferNoSchedule",
    "evict:NoExecute",
    "x=1:PreferNoSchedule",
]
KEYS = ["zone", "disk", "cores"]
VALUES = ["z1", "z2", "ssd", "4", "16", "x"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def nodes(draw: Any) -> list[Node]:
    count = draw(st.integers(1, 8))
    out = []
    for i in range(count):
        labels = draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3))
        out.append(
            make_node(
                f"n{i}",
                cpu=f"{draw(st.integers(0, 8000))}m",
                memory=f"{draw(st.integers(0, 16))}Gi",
                pods=str(draw(st.integers(0, 6))),
                gpus=draw(st.integers(0, 4)),
                extended={FPGA: str(draw(st.integers(0, 2)))} if draw(st.booleans()) else None,
                labels=labels,
                taints=draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique=True)),
                unschedulable=draw(st.booleans()) and draw(st.booleans()),
            )
        )
    return out


def expressions(draw: Any) -> list[Any]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]))
        key = draw(st.sampled_from(KEYS))
        if op in ("Exists", "DoesNotExist"):
            out.append(requirement(key, op))
        elif op in ("Gt", "Lt"):
            out.append(requirement(key, op, draw(st.sampled_from(["5", "-1", "x"]))))
        else:
            out.append(
                requirement(
                    key, op, *draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=2))
                )
            )
    return out


TOLERATIONS = [
    Toleration(key="gpu", value="true", effect="NoSchedule"),
    Toleration(key="spot", operator="Exists"),
    Toleration(key="evict", operator="Exists", effect="NoExecute"),
    Toleration(key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule"),
    Toleration(operator="Exists"),
]


@st.composite
def pods(draw: Any, name: str = "p") -> Pod:
    required = None
    if draw(st.booleans()):
        required = [expressions(draw) for _ in range(draw(st.integers(0, 2)))]
    fields = None
    if draw(st.integers(0, 5)) == 0:
        fields = [
            [
                requirement(
                    "metadata.name",
                    draw(st.sampled_from(["In", "NotIn"])),
                    f"n{draw(st.integers(0, 8))}",
                )
            ]
        ]
    preferred = [
        (draw(st.integers(0, 100)), expressions(draw)) for _ in range(draw(st.integers(0, 2)))
    ]
    return make_pod(
        name,
        cpu=draw(st.sampled_from([None, "0", "100m", "1", "2500m"])),
        memory=draw(st.sampled_from([None, "128Mi", "1Gi", "6Gi"])),
        gpus=draw(st.integers(0, 2)),
        extended={FPGA: "1"} if draw(st.integers(0, 4)) == 0 else None,
        node_selector=draw(
            st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=1)
        ),
        required=required,
        required_fields=fields,
        preferred=preferred,
        tolerations=draw(st.lists(st.sampled_from(TOLERATIONS), max_size=2)),
        node_name=f"n{draw(st.integers(0, 8))}" if draw(st.integers(0, 6)) == 0 else "",
        init={"cpu": draw(st.sampled_from(["0", "3"]))} if draw(st.booleans()) else None,
    )


@st.composite
def clusters(draw: Any) -> tuple[list[Node], list[Pod]]:
    cluster = draw(nodes())
    bound = []
    for i in range(draw(st.integers(0, 6))):
        pod = draw(pods(name=f"bound{i}"))
        target = draw(st.sampled_from(cluster)).metadata.name
        bound.append(
            make_pod(
                f"bound{i}",
                cpu="500m",
                memory="1Gi",
                gpus=pod_resources(pod).gpus,
                node_name=target,
            )
        )
    return cluster, bound


def all_plugin_variants() -> list[Any]:
    """Every built-in filter / score plugin, plus Fit's other strategies."""
    framework = Framework(default_profiles()["default"])
    # the pod-aware plugins (inter-pod affinity, topology spread) need their pre-filter
    # state and have their own agreement properties (test_*_properties.py)
    pod_aware = {"InterPodAffinity", "PodTopologySpread"}
    plugins = [p for name, p in framework.plugins.items() if name not in pod_aware]
    shape = (
        UtilizationShapePoint(0, 10),
        UtilizationShapePoint(30, 2),
        UtilizationShapePoint(100, 7),
    )
    for kind in ("MostAllocated", "RequestedToCapacityRatio"):
        strategy = ScoringStrategy(
            type=kind,  # type: ignore[arg-type]
            resources=(
                ResourceSpec("cpu", 2),
                ResourceSpec("memory", 1),
                ResourceSpec(GPU, 3),
                ResourceSpec(FPGA, 1),
            ),
            shape=shape,
        )
        plugins.append(NodeResourcesFit(NodeResourcesFitArgs(scoring_strategy=strategy)))
    plugins.append(
        NodeResourcesBalancedAllocation.new(
            {"resources": [{"name": "cpu"}, {"name": "memory"}, {"name": GPU}]}, None
        )
    )
    return plugins


PLUGINS = all_plugin_variants()


@SETTINGS
@given(cluster=clusters(), pod=pods(), data=st.data())
def test_vectorised_plugins_agree_with_their_per_node_methods(
    cluster: tuple[list[Node], list[Pod]], pod: Pod, data: st.DataObject
) -> None:
    snapshot = Snapshot(*cluster)
    n = len(snapshot)
    candidates = np.asarray(
        data.draw(st.permutations(range(n)).map(lambda p: p[: max(1, len(p) // 2 + 1)])),
        dtype=np.intp,
    )
    for plugin in PLUGINS:
        state = CycleState()
        if hasattr(plugin, "pre_filter"):
            out = plugin.pre_filter(state, pod, snapshot)
            assert isinstance(out, PreFilterResult) or not out.is_rejected or out.reasons
        if hasattr(plugin, "filter_all"):
            result = plugin.filter_all(state, pod, snapshot)
            codes = result.codes() if result.codes is not None else np.arange(n)
            for i, info in enumerate(snapshot):
                status = plugin.filter(state, pod, info)
                assert bool(result.mask[i]) == status.is_success, (plugin.name, info.name)
                if not status.is_success:
                    assert result.reason(int(codes[i])) == status, (plugin.name, info.name)
        if hasattr(plugin, "score_all"):
            if (
                hasattr(plugin, "pre_score")
                and plugin.pre_score(state, pod, snapshot, candidates).is_skip
            ):
                state = CycleState()  # the per-node fallbacks must still agree
            fast = plugin.score_all(state, pod, snapshot, candidates)
            slow = [plugin.score(state, pod, snapshot.at(int(i))) for i in candidates]
            assert fast.tolist() == slow, plugin.name
            if getattr(plugin, "scores_bounded", False) and not hasattr(plugin, "normalize_scores"):
                assert all(0 <= s <= 100 for s in slow), plugin.name
            if hasattr(plugin, "normalize_scores"):
                normalised = plugin.normalize_scores(state, pod, np.asarray(slow, dtype=np.int64))
                assert int(np.min(normalised)) >= 0
                assert int(np.max(normalised)) <= 100


@SETTINGS
@given(
    cluster=clusters(), incoming=st.lists(pods(), min_size=1, max_size=8), seed=st.integers(0, 3)
)
def test_the_whole_framework_decides_the_same_vectorised_or_not(
    cluster: tuple[list[Node], list[Pod]], incoming: list[Pod], seed: int
) -> None:
    incoming = [make_pod_named(p, f"in{i}") for i, p in enumerate(incoming)]
    for profile in ("default", "binpack"):
        fast = Harness(*cluster, profile=profile, seed=seed)
        slow = Harness(*cluster, profile=profile, seed=seed, vectorised=False)
        for pod in incoming:
            a, b = fast.schedule(pod), slow.schedule(pod)
            assert (a.node_name, a.message, a.status.code) == (
                b.node_name,
                b.message,
                b.status.code,
            )
            if a.bound_pod is not None:
                assert a.bound_pod == b.bound_pod


def make_pod_named(pod: Pod, name: str) -> Pod:
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, name=name))


def hard_constraints_hold(node: Node, pod: Pod) -> bool:
    spec = pod.spec
    if spec.node_name and spec.node_name != node.metadata.name:
        return False
    if node.spec.unschedulable and not tolerated(spec.tolerations, UNSCHEDULABLE_TAINT):
        return False
    for t in node.spec.taints:
        if t.effect in ("NoSchedule", "NoExecute") and not tolerated(spec.tolerations, t):
            return False
    return RequiredNodeAffinity.of(pod).matches(node)


@SETTINGS
@given(cluster=nodes(), incoming=st.lists(pods(), min_size=1, max_size=12), seed=st.integers(0, 5))
def test_no_placement_overcommits_or_breaks_a_hard_constraint(
    cluster: list[Node], incoming: list[Pod], seed: int
) -> None:
    profile = ["default", "binpack", "spread"][seed % 3]
    h = Harness(cluster, profile=profile, seed=seed)
    for i, pod in enumerate(incoming):
        result = h.schedule(make_pod_named(pod, f"in{i}"))
        if result.node_name is None:
            assert result.message.startswith(f"0/{len(cluster)} nodes are available:")
            continue
        node = h.snapshot[result.node_name].node
        assert hard_constraints_hold(node, result.pod)
    for info in h.snapshot:
        for resource, used in info.requested.items():
            if used:
                assert used <= info.allocatable.get(resource, 0), (info.name, resource)
        held: list[str] = []
        for placed in info.pods:
            devices = placed.pod.metadata.annotations.get(GPU_DEVICES_ANNOTATION, "")
            ids = [d for d in devices.split(",") if d]
            assert len(ids) == placed.resources.gpus
            held += ids
        assert len(held) == len(set(held))
        assert set(held) <= set(info.gpu_devices)


@settings(max_examples=25, deadline=None)
@given(
    cluster=nodes(), incoming=st.lists(pods(), min_size=1, max_size=10), seed=st.integers(0, 100)
)
def test_same_seed_same_placements(cluster: list[Node], incoming: list[Pod], seed: int) -> None:
    named = [make_pod_named(p, f"in{i}") for i, p in enumerate(incoming)]
    runs = []
    for order in (cluster, list(reversed(cluster))):  # node listing order does not matter
        h = Harness(order, seed=seed)
        runs.append([h.schedule(p).node_name for p in named])
    assert runs[0] == runs[1]


def test_different_seeds_break_ties_differently() -> None:
    nodes_ = [make_node(f"n{i}") for i in range(20)]
    firsts = {Harness(nodes_, seed=seed).schedule(make_pod()).node_name for seed in range(12)}
    assert len(firsts) > 1
