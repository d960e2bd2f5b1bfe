"""Scale-down planning: utilization, cluster-autoscaler's drainability rules, moving pods
with the real scheduler, disruption budgets, and which unneeded nodes go when."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from nodepool_builders import empty_dir, make_node, make_pdb, make_pod

from orbit.api import Node, Pod, PodDisruptionBudget
from orbit.autoscaling._nodepool_scaledown import (
    SAFE_TO_EVICT_ANNOTATION,
    SAFE_TO_EVICT_LOCAL_VOLUMES_ANNOTATION,
    SCALE_DOWN_DISABLED_ANNOTATION,
    ScaleDownRules,
    Unneeded,
    find_unneeded,
    node_utilization,
    select_removals,
    track_unneeded,
)
from orbit.scheduling import Frameworks

DEFAULT_RULES = ScaleDownRules()


def unneeded_of(
    nodes: Sequence[Node],
    placed: Sequence[Pod],
    *,
    candidates: Sequence[str] | None = None,
    pdbs: Sequence[PodDisruptionBudget] = (),
    rules: ScaleDownRules = DEFAULT_RULES,
) -> tuple[list[str], dict[str, str]]:
    names = [n.metadata.name for n in nodes] if candidates is None else candidates
    found, reasons = find_unneeded(names, nodes, placed, pdbs, Frameworks(), rules=rules)
    return [u.node for u in found], reasons


# -- utilization -----------------------------------------------------------------------


def test_utilization_is_the_larger_of_cpu_and_memory() -> None:
    node = make_node("n", cpu="2", memory="4Gi")
    assert node_utilization(node, [make_pod("a", cpu="1", memory="1Gi")]) == 0.5
    assert node_utilization(node, [make_pod("b", cpu="200m", memory="3Gi")]) == 0.75
    assert node_utilization(node, []) == 0.0


def test_a_gpu_node_is_as_used_as_its_gpus() -> None:
    node = make_node("g", cpu="8", memory="32Gi", gpus=2)
    busy_cpu = make_pod("cpu-heavy", cpu="7", memory="1Gi")
    assert node_utilization(node, [busy_cpu]) == 0.0
    assert node_utilization(node, [busy_cpu, make_pod("train", cpu="1", gpus=1)]) == 0.5


# -- which nodes are unneeded ----------------------------------------------------------


def test_an_underused_node_whose_pods_fit_elsewhere_is_unneeded() -> None:
    nodes = [make_node("a"), make_node("b")]
    placed = [make_pod("pa", cpu="500m", node="a"), make_pod("pb", cpu="500m", node="b")]
    found, reasons = unneeded_of(nodes, placed)
    # a goes first (same use, name order); its pod moves to b, which is then half used
    assert found == ["a"]
    assert reasons == {"b": "not underutilized (0.50)"}


def test_the_emptiest_node_is_examined_first() -> None:
    nodes = [make_node("a"), make_node("b")]
    placed = [make_pod("pa", cpu="800m", node="a"), make_pod("pb", cpu="200m", node="b")]
    found, _ = unneeded_of(nodes, placed)
    assert found == ["b"]


def test_a_busy_node_is_not_underutilized() -> None:
    nodes = [make_node("a"), make_node("b")]
    placed = [make_pod("pa", cpu="1", node="a")]
    found, reasons = unneeded_of(nodes, placed, candidates=["a"])
    assert found == []
    assert reasons == {"a": "not underutilized (0.50)"}
    lower = ScaleDownRules(utilization_threshold=0.6)
    assert unneeded_of(nodes, placed, candidates=["a"], rules=lower)[0] == ["a"]


def test_pods_move_only_where_the_scheduler_would_put_them() -> None:
    nodes = [make_node("a"), make_node("b", labels={"disk": "hdd"})]
    placed = [make_pod("db", cpu="100m", node="a", node_selector={"disk": "ssd"})]
    found, reasons = unneeded_of(nodes, placed, candidates=["a"])
    assert found == []
    assert reasons == {"a": "no place to move pod default/db"}


def test_daemonset_mirror_and_expendable_pods_need_no_moving() -> None:
    nodes = [make_node("a"), make_node("b", cpu="100m")]
    placed = [
        make_pod("ds", cpu="300m", node="a", owner="DaemonSet"),
        make_pod(
            "mirror",
            cpu="100m",
            node="a",
            owner=None,
            annotations={"kubernetes.io/config.mirror": "x"},
        ),
        make_pod("cheap", cpu="100m", node="a", priority=-20),
    ]
    found, _ = find_unneeded(["a"], nodes, placed, [], Frameworks())
    assert [(u.node, u.empty) for u in found] == [("a", True)]
    assert found[0].utilization == pytest.approx(0.375)  # 3 x 512Mi of 4Gi: they all count


@pytest.mark.parametrize(
    ("pod", "reason"),
    [
        (make_pod("loner", owner=None, node="a"), "default/loner is not replicated"),
        (
            make_pod("cache", node="a", volumes=[empty_dir("scratch")]),
            "pod with local storage present: default/cache",
        ),
        (
            make_pod("dns", namespace="kube-system", node="a"),
            "non-daemonset, non-mirrored, non-pdb-assigned kube-system pod present: "
            "kube-system/dns",
        ),
        (
            make_pod("pinned", node="a", annotations={SAFE_TO_EVICT_ANNOTATION: "false"}),
            "pod annotated as not safe to evict present: default/pinned",
        ),
    ],
)
def test_pods_that_keep_their_node(pod: Pod, reason: str) -> None:
    found, reasons = unneeded_of([make_node("a"), make_node("b")], [pod], candidates=["a"])
    assert found == []
    assert reasons == {"a": reason}


@pytest.mark.parametrize(
    "pod",
    [
        make_pod("loner", owner=None, node="a", annotations={SAFE_TO_EVICT_ANNOTATION: "true"}),
        make_pod("tmpfs", node="a", volumes=[empty_dir("shm", medium="Memory")]),
        make_pod(
            "scratch",
            node="a",
            volumes=[empty_dir("scratch")],
            annotations={SAFE_TO_EVICT_LOCAL_VOLUMES_ANNOTATION: "scratch"},
        ),
    ],
)
def test_pods_that_may_move_after_all(pod: Pod) -> None:
    found, _ = unneeded_of([make_node("a"), make_node("b")], [pod], candidates=["a"])
    assert found == ["a"]


def test_a_kube_system_pod_with_a_budget_may_move() -> None:
    pod = make_pod("dns", namespace="kube-system", node="a", labels={"k8s-app": "dns"})
    pdb = make_pdb("dns", {"k8s-app": "dns"}, allowed=1, namespace="kube-system")
    found, _ = unneeded_of([make_node("a"), make_node("b")], [pod], candidates=["a"], pdbs=[pdb])
    assert found == ["a"]


def test_rules_can_let_system_pods_and_local_storage_move() -> None:
    pods = [
        make_pod("dns", cpu="200m", namespace="kube-system", node="a"),
        make_pod("cache", cpu="200m", node="a", volumes=[empty_dir("scratch")]),
    ]
    relaxed = ScaleDownRules(skip_nodes_with_system_pods=False, skip_nodes_with_local_storage=False)
    found, _ = unneeded_of([make_node("a"), make_node("b")], pods, candidates=["a"], rules=relaxed)
    assert found == ["a"]


def test_a_budget_with_no_disruption_left_keeps_the_node() -> None:
    nodes = [make_node("a"), make_node("b")]
    placed = [make_pod("web-0", node="a", labels={"app": "web"})]
    blocked = make_pdb("web", {"app": "web"}, allowed=0)
    found, reasons = unneeded_of(nodes, placed, candidates=["a"], pdbs=[blocked])
    assert found == []
    assert reasons == {"a": "not enough pod disruption budget to move default/web-0"}
    other_namespace = make_pdb("web", {"app": "web"}, allowed=0, namespace="prod")
    assert unneeded_of(nodes, placed, candidates=["a"], pdbs=[other_namespace])[0] == ["a"]


def test_a_budget_is_spent_across_the_nodes_chosen() -> None:
    nodes = [make_node("a"), make_node("b"), make_node("c", cpu="4", memory="8Gi")]
    placed = [
        make_pod("web-0", cpu="200m", node="a", labels={"app": "web"}),
        make_pod("web-1", cpu="200m", node="b", labels={"app": "web"}),
    ]
    one = make_pdb("web", {"app": "web"}, allowed=1)
    found, reasons = unneeded_of(nodes, placed, candidates=["a", "b"], pdbs=[one])
    assert found == ["a"]
    assert reasons == {"b": "not enough pod disruption budget to move default/web-1"}


def test_two_unneeded_nodes_never_count_on_the_same_room() -> None:
    nodes = [make_node("a"), make_node("b"), make_node("c")]
    placed = [
        make_pod("pa", cpu="900m", node="a"),
        make_pod("pb", cpu="900m", node="b"),
        make_pod("pc", cpu="900m", node="c"),
    ]
    found, reasons = unneeded_of(nodes, placed, candidates=["a", "b"])
    # pa moves to b or c: either b now holds 1800m (busy) or c does (no room for pb)
    assert found == ["a"]
    assert reasons["b"] in ("not underutilized (0.90)", "no place to move pod default/pb")


def test_a_node_annotated_scale_down_disabled_stays() -> None:
    nodes = [make_node("a", annotations={SCALE_DOWN_DISABLED_ANNOTATION: "true"}), make_node("b")]
    found, reasons = unneeded_of(nodes, [], candidates=["a"])
    assert found == []
    assert reasons == {"a": "scale-down disabled by annotation"}


# -- how long, and how many at once ----------------------------------------------------


def test_track_unneeded_keeps_the_first_time_and_forgets_the_needed() -> None:
    since = track_unneeded({}, ["a", "b"], 10.0)
    assert since == {"a": 10.0, "b": 10.0}
    since = track_unneeded(since, ["b", "c"], 20.0)
    assert since == {"b": 10.0, "c": 20.0}


def empty(name: str) -> Unneeded:
    return Unneeded(name, 0.0, ())


def busy(name: str) -> Unneeded:
    return Unneeded(name, 0.3, (make_pod(f"{name}-pod", node=name),))


def removals(
    candidates: Sequence[Unneeded], since: dict[str, float], now: float, **kw
) -> list[str]:
    pool_of = kw.pop("pool_of", {u.node: "pool" for u in candidates})
    room = kw.pop("room", {"pool": 100})
    chosen = select_removals(candidates, since, now, pool_of=pool_of, room=room, **kw)
    return [u.node for u in chosen]


def test_a_node_goes_only_after_the_unneeded_time() -> None:
    since = {"a": 0.0, "b": 100.0}
    assert removals([empty("a"), empty("b")], since, 599.0) == []
    assert removals([empty("a"), empty("b")], since, 600.0) == ["a"]
    assert removals([empty("a"), empty("b")], since, 600.0, unneeded_s=60.0) == ["a", "b"]


def test_a_node_that_is_not_ready_waits_the_unready_time() -> None:
    since = {"a": 0.0}
    assert removals([empty("a")], since, 900.0, unready={"a"}) == []
    assert removals([empty("a")], since, 1200.0, unready={"a"}) == ["a"]


def test_empty_nodes_go_in_bulk_and_busy_ones_one_at_a_time() -> None:
    candidates = [busy("b1"), empty("e1"), busy("b2"), empty("e2"), empty("e3")]
    since = {u.node: 0.0 for u in candidates}
    assert removals(candidates, since, 600.0) == ["e1", "e2", "e3", "b1"]
    assert removals(candidates, since, 600.0, max_empty_bulk=2) == ["e1", "e2", "b1"]
    assert removals(candidates, since, 600.0, drains_in_progress=1) == ["e1", "e2", "e3"]


def test_never_below_the_minimum_of_each_pool() -> None:
    candidates = [empty("a1"), empty("a2"), empty("b1")]
    since = {u.node: 0.0 for u in candidates}
    pool_of = {"a1": "a", "a2": "a", "b1": "b"}
    chosen = removals(candidates, since, 600.0, pool_of=pool_of, room={"a": 1, "b": 0})
    assert chosen == ["a1"]
