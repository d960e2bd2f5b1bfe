"""InterPodAffinity: required and preferred (anti-)affinity by topology, Kubernetes' rules
and words; snapshot in, placements and reasons out."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from pod_aware import HOST, ZONE, harness, labelled, on, profile, registry, term, with_affinity
from sched_harness import make_node, make_pod

from orbit.api import LabelSelector, LabelSelectorRequirement, Node, Pod
from orbit.scheduling import Code, CycleState, Framework, Snapshot
from orbit.scheduling.plugins._interpod import InterPodAffinity, InterPodAffinityArgs

ANTI = "node(s) didn't match pod anti-affinity rules"
AFFINITY = "node(s) didn't match pod affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"


def zones(*layout: str) -> list[Node]:
    """Nodes n0, n1... in the given zones."""
    return [make_node(f"n{i}", labels={ZONE: zone}) for i, zone in enumerate(layout)]


def named(pod: Pod, name: str) -> Pod:
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, name=name))


def web(name: str, key: str = HOST, **extra: str) -> Pod:
    """A web replica that keeps away from other web replicas by ``key``."""
    return with_affinity(labelled(make_pod(name), app="web", **extra), anti=[term(key, app="web")])


# -- required anti-affinity --------------------------------------------------------------


@pytest.mark.parametrize("vectorised", [True, False])
def test_anti_affinity_by_hostname_places_one_replica_per_node(vectorised: bool) -> None:
    h = harness([make_node(f"n{i}") for i in range(3)], vectorised=vectorised)
    placed = h.schedule_all([web(f"w{i}") for i in range(4)])
    assert sorted(v for v in placed.values() if v) == ["n0", "n1", "n2"]
    assert placed["w3"] is None
    assert h.results[-1].message.startswith(f"0/3 nodes are available: 3 {ANTI}.")


def test_anti_affinity_by_zone_keeps_replicas_in_distinct_zones() -> None:
    h = harness(zones("a", "a", "b", "b", "c"))
    placed = h.schedule_all([web(f"w{i}", ZONE) for i in range(4)])
    chosen = [v for v in placed.values() if v is not None]
    assert len(chosen) == 3
    zone_of = {f"n{i}": z for i, z in enumerate("aabbc")}
    assert sorted(zone_of[n] for n in chosen) == ["a", "b", "c"]


def test_existing_pods_anti_affinity_keeps_the_newcomer_out_symmetry() -> None:
    guard = with_affinity(labelled(make_pod("guard"), app="guard"), anti=[term(HOST, app="db")])
    h = harness([make_node("n0"), make_node("n1")], [on(guard, "n0")])
    assert h.schedule(labelled(make_pod("db1"), app="db")).node_name == "n1"
    h2 = harness([make_node("n0")], [on(guard, "n0")])
    message = h2.message(labelled(make_pod("db2"), app="db"))
    assert message.startswith(f"0/1 nodes are available: 1 {EXISTING}.")


def test_a_pod_without_terms_and_without_anti_affinity_around_is_skipped() -> None:
    snapshot = Snapshot([make_node("n0")], [on(labelled(make_pod("x"), app="x"), "n0")])
    status = InterPodAffinity().pre_filter(CycleState(), make_pod("plain"), snapshot)
    assert status.is_skip


# -- required affinity -------------------------------------------------------------------


def test_affinity_follows_the_pods_it_wants_by_zone() -> None:
    cache = on(labelled(make_pod("cache"), app="cache"), "n2")
    h = harness(zones("a", "a", "b", "b"), [cache])
    pod = with_affinity(make_pod("api"), required=[term(ZONE, app="cache")])
    placed = h.schedule_all([named(pod, f"api{i}") for i in range(4)])
    assert set(placed.values()) <= {"n2", "n3"}
    assert None not in placed.values()


def test_affinity_rejects_nodes_without_the_pods_as_unresolvable() -> None:
    cache = on(labelled(make_pod("cache"), app="cache"), "n0")
    snapshot = Snapshot([make_node("n0"), make_node("n1")], [cache])
    pod = with_affinity(make_pod("api"), required=[term(HOST, app="cache")])
    plugin = InterPodAffinity()
    state = CycleState()
    assert plugin.pre_filter(state, pod, snapshot).is_success
    assert plugin.filter(state, pod, snapshot["n0"]).is_success
    rejected = plugin.filter(state, pod, snapshot["n1"])
    assert rejected.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert rejected.reasons == (AFFINITY,)


def test_the_first_pod_of_a_self_affine_group_may_land_anywhere_with_the_label() -> None:
    nodes = [*zones("a", "b"), make_node("bare")]
    h = harness(nodes)
    first = with_affinity(labelled(make_pod("p0"), app="band"), required=[term(ZONE, app="band")])
    node = h.schedule(first).node_name
    assert node in {"n0", "n1"}  # "bare" has no zone label
    followers = [named(first, f"p{i}") for i in range(1, 4)]
    assert set(h.schedule_all(followers).values()) == {node}


def test_a_pod_wanting_absent_pods_it_does_not_match_itself_fits_nowhere() -> None:
    h = harness(zones("a", "b"))
    pod = with_affinity(labelled(make_pod("p"), app="x"), required=[term(ZONE, app="cache")])
    assert h.message(pod).startswith(f"0/2 nodes are available: 2 {AFFINITY}.")


def test_anti_affinity_failures_are_unschedulable_so_preemption_may_help() -> None:
    other = on(labelled(make_pod("w0"), app="web"), "n0")
    snapshot = Snapshot([make_node("n0")], [other])
    pod = web("w1")
    plugin = InterPodAffinity()
    state = CycleState()
    plugin.pre_filter(state, pod, snapshot)
    status = plugin.filter(state, pod, snapshot["n0"])
    assert (status.code, status.reasons) == (Code.UNSCHEDULABLE, (ANTI,))


# -- namespaces --------------------------------------------------------------------------


def test_terms_look_in_the_pods_own_namespace_by_default() -> None:
    stranger = on(labelled(make_pod("w0", namespace="other"), app="web"), "n0")
    h = harness([make_node("n0")], [stranger])
    assert h.schedule(web("w1")).node_name == "n0"


def test_terms_may_list_namespaces() -> None:
    stranger = on(labelled(make_pod("w0", namespace="other"), app="web"), "n0")
    pod = with_affinity(make_pod("p"), anti=[term(HOST, namespaces=["other"], app="web")])
    h = harness([make_node("n0"), make_node("n1")], [stranger])
    assert h.schedule(pod).node_name == "n1"


@pytest.mark.parametrize(
    ("selector", "blocked"),
    [({"team": "a"}, True), ({"team": "b"}, False), ({}, True)],
)
def test_namespace_selectors_use_the_namespace_labels(
    selector: dict[str, str], blocked: bool
) -> None:
    stranger = on(labelled(make_pod("w0", namespace="alpha"), app="web"), "n0")
    pod = with_affinity(make_pod("p"), anti=[term(HOST, namespace_selector=selector, app="web")])
    args = InterPodAffinityArgs(namespaces={"alpha": {"team": "a"}, "default": {}})
    h = harness([make_node("n0")], [stranger], args={"InterPodAffinity": args})
    assert (h.schedule(pod).node_name is None) == blocked


def test_existing_terms_match_the_newcomers_namespace_labels() -> None:
    guard = with_affinity(
        make_pod("guard", namespace="ops"),
        anti=[term(HOST, namespace_selector={"tier": "db"}, app="db")],
    )
    namespaces = {"ops": {}, "data": {"tier": "db"}, "default": {}}
    args = {"InterPodAffinity": InterPodAffinityArgs(namespaces=lambda: namespaces)}
    h = harness([make_node("n0")], [on(guard, "n0")], args=args)
    assert h.schedule(labelled(make_pod("a", namespace="default"), app="db")).node_name == "n0"
    assert h.schedule(labelled(make_pod("b", namespace="data"), app="db")).node_name is None


def test_an_invalid_selector_is_reported_as_a_parsing_error() -> None:
    bad = LabelSelector(match_expressions=(LabelSelectorRequirement(key="app", operator="Near"),))
    pod = with_affinity(make_pod("p"), anti=[term(HOST, selector=bad)])
    status = InterPodAffinity().pre_filter(CycleState(), pod, Snapshot([make_node("n0")]))
    assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert status.message.startswith("parsing pod: ")


# -- preferred terms (score) -------------------------------------------------------------


def _scores(nodes: list[Node], pods: list[Pod], pod: Pod, **kwargs: Any) -> dict[str, int]:
    framework = Framework(profile(only=["NodeResourcesFit"], **kwargs), registry=registry())
    result = framework.schedule_one(pod, Snapshot(nodes, pods))
    assert result.scores is not None
    return {
        n: result.scores.by_plugin(n).get("InterPodAffinity", 0) for n in result.scores.totals()
    }


def test_preferred_affinity_and_anti_affinity_scores_are_weighted_and_normalised() -> None:
    nodes = zones("a", "b", "c")
    pods = [
        on(labelled(make_pod("c1"), app="cache"), "n0"),
        on(labelled(make_pod("c2"), app="cache"), "n0"),
        on(labelled(make_pod("b1"), app="batch"), "n1"),
    ]
    pod = with_affinity(
        make_pod("p"),
        preferred=[(10, term(ZONE, app="cache"))],
        preferred_anti=[(30, term(ZONE, app="batch"))],
    )
    # raw: a = 2 * 10 = 20, b = -30, c = 0 -> min-max over [-30, 20], times weight 2
    assert _scores(nodes, pods, pod) == {"n0": 200, "n1": 0, "n2": 120}


def test_existing_pods_required_affinity_attracts_with_the_hard_weight() -> None:
    nodes = zones("a", "b")
    lonely = with_affinity(labelled(make_pod("l"), app="l"), required=[term(ZONE, app="friend")])
    pods = [on(lonely, "n1")]
    pod = labelled(make_pod("p"), app="friend")
    assert _scores(nodes, pods, pod) == {"n0": 0, "n1": 200}
    zero = {"InterPodAffinity": InterPodAffinityArgs(hard_pod_affinity_weight=0)}
    assert _scores(nodes, pods, pod, args=zero) == {"n0": 0, "n1": 0}


def test_existing_pods_preferred_anti_affinity_repels() -> None:
    nodes = zones("a", "b")
    shy = with_affinity(make_pod("s"), preferred_anti=[(5, term(ZONE, app="noisy"))])
    pod = labelled(make_pod("p"), app="noisy")
    assert _scores(nodes, [on(shy, "n0")], pod) == {"n0": 0, "n1": 200}
    ignore = {
        "InterPodAffinity": InterPodAffinityArgs(ignore_preferred_terms_of_existing_pods=True)
    }
    assert _scores(nodes, [on(shy, "n0")], pod, args=ignore) == {"n0": 0, "n1": 0}


# -- preemption's what-if extensions ------------------------------------------------------


def test_remove_pod_and_add_pod_update_the_counts() -> None:
    blocker = on(labelled(make_pod("w0"), app="web"), "n0")
    snapshot = Snapshot([make_node("n0")], [blocker])
    plugin = InterPodAffinity()
    pod = web("w1")
    state = CycleState()
    plugin.pre_filter(state, pod, snapshot)
    info = snapshot["n0"]
    victim = info.pods[0]
    what_if = state.clone()
    emptied = info.without_pod(victim.key)
    assert plugin.remove_pod(what_if, pod, victim, emptied).is_success
    assert plugin.filter(what_if, pod, emptied).is_success
    assert not plugin.filter(state, pod, info).is_success  # the original is untouched
    assert plugin.add_pod(what_if, pod, victim, info).is_success
    assert plugin.filter(what_if, pod, info).reasons == (ANTI,)
