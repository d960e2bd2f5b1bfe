"""The framework: the cycle's points, Kubernetes' folded messages, registry, profiles,
trace hooks, reserve / unreserve / bind."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import pytest
from sched_harness import GPU, Harness, make_node, make_pod, requirement

from orbit.api import Pod
from orbit.scheduling import (
    SUCCESS,
    Code,
    CycleState,
    Framework,
    Frameworks,
    NodeInfo,
    PluginRef,
    PostFilterResult,
    Profile,
    QueuedPod,
    ScheduleResult,
    SchedulingInstrument,
    Snapshot,
    Status,
    default_profiles,
    default_registry,
    fit_error_message,
    num_feasible_nodes_to_find,
)


def without_preemption(profile: Profile) -> Profile:
    """A shipped profile minus DefaultPreemption (these tests bring their own)."""
    plugins = tuple(p for p in profile.plugins if p.name != "DefaultPreemption")
    return attrs.evolve(profile, plugins=plugins)


def test_the_issue_example_folds_in_kubernetes_words_and_order() -> None:
    h = Harness(
        [
            make_node("a", cpu="1"),
            make_node("b", cpu="1"),
            make_node("g", cpu="8", taints=["gpu=true:NoSchedule"]),
        ],
        preemption=True,
    )
    result = h.framework.schedule_one(make_pod("big", cpu="2"), h.snapshot)
    assert not result.scheduled
    assert result.node_name is None
    # kube-scheduler sorts the "count reason" strings: "1 node(s)..." before "2 Insufficient"
    expected = (
        "0/3 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 2 Insufficient cpu."
        # the default profile preempts, as Kubernetes' does, and says why it could not
        " preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling,"
        " 2 No preemption victims found for incoming pod."
    )
    assert result.message == expected
    assert result.status == Status(Code.UNSCHEDULABLE, (expected,))
    assert result.diagnosis.reasons == {
        "Insufficient cpu": 2,
        "node(s) had untolerated taint {gpu: true}": 1,
    }
    assert result.diagnosis.unschedulable_plugins == {"NodeResourcesFit", "TaintToleration"}
    statuses = result.diagnosis.node_statuses
    assert statuses["a"] == Status.unschedulable("Insufficient cpu", plugin="NodeResourcesFit")
    assert statuses["g"].plugin == "TaintToleration"
    assert len(statuses) == 3


def test_first_failing_plugin_in_profile_order_is_reported_per_node() -> None:
    # cordoned and too small: NodeUnschedulable comes first in the default order
    h = Harness([make_node("c", cpu="1", unschedulable=True), make_node("d", cpu="1")])
    message = h.message(make_pod(cpu="2", memory="100Gi"))
    assert message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, "
        "1 node(s) were unschedulable."
    )


def test_reasons_sort_as_strings_like_go() -> None:
    reasons = {"Insufficient cpu": 10, "Too many pods": 2, "node(s) were unschedulable": 1}
    assert fit_error_message(13, reasons) == (
        "0/13 nodes are available: "
        "1 node(s) were unschedulable, 10 Insufficient cpu, 2 Too many pods."
    )
    assert fit_error_message(3, {}, pre_filter_message="x") == "0/3 nodes are available: x."
    assert fit_error_message(3, {"r": 3}, post_filter_message="preemption: no.") == (
        "0/3 nodes are available: 3 r. preemption: no."
    )


def test_no_nodes_at_all() -> None:
    result = Harness([]).framework.schedule_one(make_pod(), Snapshot())
    assert result.message == "no nodes available to schedule pods"


def test_pre_filter_rejection_and_narrowing_messages() -> None:
    nodes = [make_node("a"), make_node("b", cpu="1"), make_node("c")]
    h = Harness(nodes)
    conflict = make_pod(
        required_fields=[
            [requirement("metadata.name", "In", "a"), requirement("metadata.name", "In", "b")]
        ]
    )
    assert h.message(conflict) == "0/3 nodes are available: pod affinity terms conflict."
    two_names = make_pod(required_fields=[[requirement("metadata.name", "In", "a", "b")]])
    # matchFields takes exactly one value, so the term is invalid and matches nothing
    # (the pre-filter still narrows to the names, as kube-scheduler does)
    assert h.message(two_names) == (
        "0/3 nodes are available: 1 node(s) didn't satisfy plugin(s) [NodeAffinity], "
        "2 node(s) didn't match Pod's node affinity/selector."
    )
    pinned = make_pod(
        cpu="2",
        required_fields=[
            [requirement("metadata.name", "In", "b")],
            [requirement("metadata.name", "In", "zz")],
        ],
    )
    assert h.message(pinned) == (
        "0/3 nodes are available: "
        "1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
    )
    result = h.framework.schedule_one(pinned, h.snapshot)
    assert result.diagnosis.node_statuses["a"].code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    ok = make_pod(required_fields=[[requirement("metadata.name", "In", "c")]])
    assert h.schedule(ok).node_name == "c"


def test_percentage_of_nodes_to_score() -> None:
    assert num_feasible_nodes_to_find(0, 50) == 50
    assert num_feasible_nodes_to_find(0, 1000) == 420  # 50 - 1000/125 = 42%
    assert num_feasible_nodes_to_find(0, 5000) == 500  # 10%
    assert num_feasible_nodes_to_find(0, 10_000) == 500  # 5% minimum
    assert num_feasible_nodes_to_find(0, 150) == 100  # at least 100 nodes
    assert num_feasible_nodes_to_find(100, 5000) == 5000
    assert num_feasible_nodes_to_find(1, 5000) == 100


def test_a_cycle_evaluates_just_enough_nodes_and_rotates() -> None:
    nodes = [make_node(f"n{i:03d}") for i in range(300)]
    profile = attrs.evolve(default_profiles()["default"], percentage_of_nodes_to_score=50)
    h = Harness(nodes, profile=profile)
    first = h.framework.schedule_one(make_pod("p"), h.snapshot)
    assert first.diagnosis.evaluated_nodes == 150
    assert first.diagnosis.feasible_nodes == 150
    assert first.scores is not None
    assert len(first.scores.candidates) == 150
    second = h.framework.schedule_one(make_pod("q"), h.snapshot)
    assert set(second.scores.candidates.tolist()).isdisjoint(first.scores.candidates.tolist())


def test_scores_are_weighted_and_reported() -> None:
    h = Harness([make_node("a", cpu="4"), make_node("b", cpu="8")])
    result = h.schedule(make_pod("p", cpu="1", memory="1Gi"))
    assert result.node_name == "b"
    assert result.scores is not None
    by_plugin = result.scores.by_plugin("b")
    assert set(by_plugin) == {"NodeResourcesFit", "NodeResourcesBalancedAllocation"}
    assert sum(by_plugin.values()) == result.scores.totals()["b"]
    with pytest.raises(KeyError):
        result.scores.by_plugin("zz")


class Recorder(SchedulingInstrument):
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def before_cycle(self, profile: str, pod: Pod) -> None:
        self.events.append(("before", pod.metadata.name))

    def after_cycle(self, profile: str, pod: Pod, result: ScheduleResult) -> None:
        self.events.append(("after", pod.metadata.name, str(result.node_name)))

    def after_reserve(self, profile: str, pod: Pod, node_name: str, status: Status) -> None:
        self.events.append(("reserve", node_name, status.code.value))

    def after_unreserve(self, profile: str, pod: Pod, node_name: str) -> None:
        self.events.append(("unreserve", node_name))

    def after_bind(self, profile: str, pod: Pod, node_name: str, status: Status) -> None:
        self.events.append(("bind", node_name, status.code.value))


def test_trace_hooks_see_every_decision() -> None:
    recorder = Recorder()
    framework = Framework(default_profiles()["default"], instruments=[recorder])
    snapshot = Snapshot([make_node("a", cpu="1")])
    placed = framework.place(make_pod("p", cpu="1"), snapshot)
    framework.bind(placed.state, placed.pod, "a")
    framework.place(make_pod("q", cpu="1"), snapshot)
    assert recorder.events == [
        ("before", "p"),
        ("after", "p", "a"),
        ("reserve", "a", "Success"),
        ("bind", "a", "Success"),
        ("before", "q"),
        ("after", "q", "None"),
    ]


class Flaky:
    """A user plugin written per node only: a filter, a score, a failing reserve."""

    name = "Flaky"

    def __init__(self, args: Mapping[str, str] | None) -> None:
        self.banned = (args or {}).get("banned", "")
        self.released: list[str] = []

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if node_info.name == self.banned:
            return Status.unschedulable("node(s) were banned")
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        return 100 if node_info.name.endswith("2") else 0

    def reserve(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        return Status.unschedulable("no luck") if pod.metadata.name == "unlucky" else SUCCESS

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None:
        self.released.append(node_name)


def flaky_profile(**args: str) -> tuple[Profile, object]:
    registry = default_registry()
    registry.register("Flaky", lambda a, handle: Flaky(a))
    base = without_preemption(default_profiles()["default"])
    profile = attrs.evolve(
        base,
        name="flaky",
        plugins=(*base.plugins, PluginRef("Flaky", 50)),
        plugin_args={**base.plugin_args, "Flaky": args},
    )
    return profile, registry


def test_user_plugins_register_and_run_per_node() -> None:
    profile, registry = flaky_profile(banned="n1")
    nodes = [make_node("n1", cpu="16"), make_node("n2"), make_node("n3")]
    h = Harness(nodes, profile=profile, registry=registry)  # type: ignore[arg-type]
    assert h.schedule(make_pod("p")).node_name == "n2"  # Flaky's weight 50 wins
    assert h.message(make_pod("big", cpu="8")) == (
        "0/3 nodes are available: 1 node(s) were banned, 2 Insufficient cpu."
    )
    unlucky = h.schedule(make_pod("unlucky"))
    assert unlucky.node_name is None
    assert unlucky.status.plugin == "Flaky"
    assert h.framework.plugins["Flaky"].released == ["n2"]
    assert h.snapshot.node_of(make_pod("unlucky")) is None


def test_registry_rejects_duplicates_unknown_names_and_misnamed_plugins() -> None:
    registry = default_registry()
    with pytest.raises(ValueError, match="already registered"):
        registry.register("NodeName", lambda a, h: None)
    registry.register("Liar", lambda a, h: Flaky(None))
    profile = Profile(name="p", plugins=("Liar",))
    with pytest.raises(ValueError, match="made a plugin named 'Flaky'"):
        Framework(profile, registry=registry)
    with pytest.raises(ValueError, match="no plugin named 'Nope'"):
        Framework(Profile(name="p", plugins=("Nope",)))
    with pytest.raises(ValueError, match="twice"):
        Profile(name="p", plugins=("NodeName", "NodeName"))
    with pytest.raises(ValueError, match="weight"):
        PluginRef("x", 0)
    assert "NodeResourcesFit" in registry
    assert len(registry.copy()) == len(registry)


def test_a_plugin_can_be_disabled_at_one_extension_point() -> None:
    base = default_profiles()["default"]
    profile = attrs.evolve(base, disabled={"filter": {"TaintToleration"}})
    h = Harness([make_node("t", taints=["x:NoSchedule"])], profile=profile)
    assert h.schedule(make_pod()).node_name == "t"
    nothing = attrs.evolve(base, disabled={"score": {"*"}})
    assert Harness([make_node("a")], profile=nothing).schedule(make_pod()).scores is None


class Preempt:
    """A post-filter that nominates the first node it may free."""

    name = "Preempt"

    def __init__(self) -> None:
        self.seen: dict[str, Status] = {}

    def post_filter(
        self, state: CycleState, pod: Pod, snapshot: Snapshot, statuses: Mapping[str, Status]
    ) -> PostFilterResult:
        self.seen = dict(statuses)
        candidates = [n for n, s in statuses.items() if s.code is Code.UNSCHEDULABLE]
        if not candidates:
            return PostFilterResult(Status.unschedulable("preemption: 0/2 nodes are available."))
        return PostFilterResult(SUCCESS, nominated_node_name=sorted(candidates)[0])


def test_post_filter_sees_every_rejection_and_its_message_is_appended() -> None:
    registry = default_registry()
    registry.register("Preempt", lambda a, h: Preempt())
    base = without_preemption(default_profiles()["default"])
    profile = attrs.evolve(base, plugins=(*base.plugins, PluginRef("Preempt")))
    h = Harness(
        [make_node("a", cpu="1"), make_node("b", cpu="1", unschedulable=True)],
        profile=profile,
        registry=registry,
    )
    result = h.framework.schedule_one(make_pod(cpu="2"), h.snapshot)
    assert result.nominated_node_name == "a"
    assert not result.scheduled
    assert set(h.framework.plugins["Preempt"].seen) == {"a", "b"}
    tainted = h.framework.schedule_one(make_pod(cpu="2", node_selector={"no": "such"}), h.snapshot)
    assert tainted.message == (
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) were unschedulable. preemption: 0/2 nodes are available."
    )


class OutOfRange:
    name = "OutOfRange"

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int:
        return 101


def test_a_score_outside_0_100_is_an_error() -> None:
    registry = default_registry()
    registry.register("OutOfRange", lambda a, h: OutOfRange())
    profile = Profile(name="p", plugins=("NodeResourcesFit", "OutOfRange"))
    h = Harness([make_node("a"), make_node("b")], profile=profile, registry=registry)
    result = h.framework.schedule_one(make_pod(), h.snapshot)
    assert result.status.code is Code.ERROR
    assert "invalid score 101" in result.status.message


def test_frameworks_pick_the_profile_by_scheduler_name() -> None:
    frameworks = Frameworks(seed=3)
    assert set(frameworks) == {"default", "default-scheduler", "binpack", "spread", "optimal"}
    assert frameworks.for_pod(make_pod()) is frameworks["default-scheduler"]
    assert frameworks.for_pod(make_pod(scheduler_name="binpack")).profile.name == "binpack"  # type: ignore[union-attr]
    assert frameworks.for_pod(make_pod(scheduler_name="someone-else")) is None
    assert frameworks["optimal"].profile.batch_strategy == "optimal"


def test_queue_order_comes_from_the_queue_sort_plugin() -> None:
    framework = Framework(default_profiles()["default"])
    high = QueuedPod(pod=make_pod("h", priority=10), key=("default", "h"), added_at=5.0)
    low = QueuedPod(pod=make_pod("l"), key=("default", "l"), added_at=1.0)
    assert framework.less(high, low)
    assert not framework.less(low, high)


def test_place_assumes_the_bound_pod_with_its_gpu_devices() -> None:
    h = Harness([make_node("g", gpus=2), make_node("c")])
    result = h.schedule(make_pod("train", gpus=2))
    assert result.node_name == "g"
    assert result.bound_pod is not None
    assert result.bound_pod.spec.node_name == "g"
    assert result.bound_pod.metadata.annotations == {"orbit.dev/gpu-devices": "0,1"}
    assert h.snapshot["g"].free_gpu_devices == ()
    assert (
        h.message(make_pod("more", gpus=1))
        == "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
    )
    assert GPU in h.snapshot.resources


def test_bind_runs_the_binder_and_skips_without_bind_plugins() -> None:
    bound: list[Pod] = []
    base = default_profiles()["default"]
    profile = attrs.evolve(base, plugin_args={**base.plugin_args, "DefaultBinder": bound.append})
    h = Harness([make_node("a", gpus=1)], profile=profile)
    result = h.schedule(make_pod("p", gpus=1))
    assert h.framework.bind(result.state, result.pod, "a") == Status(plugin="DefaultBinder")
    assert bound == [result.bound_pod]
    bare = Framework(Profile(name="bare", plugins=("NodeResourcesFit",)))
    assert bare.bind(CycleState(), make_pod(), "a").is_skip


def test_vectorised_masks_agree_with_filter_all_being_absent() -> None:
    # the per-node path (vectorised=False) folds exactly the same message
    nodes = [
        make_node("a", cpu="1"),
        make_node("b", taints=["k=v:NoExecute"]),
        make_node("c", unschedulable=True),
    ]
    pod = make_pod(cpu="2", memory="20Gi")
    fast = Harness(nodes).message(pod)
    slow = Harness(nodes, vectorised=False).message(pod)
    assert (
        fast
        == slow
        == (
            "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, "
            "1 node(s) had untolerated taint {k: v}, 1 node(s) were unschedulable."
        )
    )
    assert np.array_equal(Snapshot(nodes).node_index.schedulable, [True, True, False])


def test_the_bound_pod_equals_what_attrs_evolve_would_build() -> None:
    """bound_pod copies fields without ``__init__``: the result must be the same object
    value as the validated evolve, and the original must be untouched."""
    from orbit.scheduling._binding import bound_pod  # noqa: PLC0415 (private helper)
    from orbit.scheduling._cycle import CycleState  # noqa: PLC0415

    pod = make_pod("p", cpu="250m")
    state = CycleState()
    state.binding_annotations["orbit.dev/gpu-devices"] = "3"
    bound = bound_pod(state, pod, "n7")
    expected = attrs.evolve(
        pod,
        metadata=attrs.evolve(pod.metadata, annotations={"orbit.dev/gpu-devices": "3"}),
        spec=attrs.evolve(pod.spec, node_name="n7"),
    )
    assert bound == expected
    assert type(bound.spec) is type(pod.spec)
    assert not pod.spec.node_name
    assert pod.metadata.annotations == {}
