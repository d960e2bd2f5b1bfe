"""PodTopologySpread: maxSkew by topology domain, DoNotSchedule / ScheduleAnyway,
minDomains, inclusion policies, matchLabelKeys; Kubernetes' words."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import attrs
import numpy as np
import pytest
from pod_aware import HOST, ZONE, harness, labelled, on, profile, registry, spread, with_spread
from sched_harness import make_node, make_pod

from orbit.api import LabelSelector, Node, Pod
from orbit.scheduling import Code, CycleState, Framework, Snapshot
from orbit.scheduling.plugins._spread import PodTopologySpread

REASON = "node(s) didn't match pod topology spread constraints"
MISSING = f"{REASON} (missing required label)"


def zones(*layout: str, **node_kwargs: Any) -> list[Node]:
    return [make_node(f"n{i}", labels={ZONE: zone}, **node_kwargs) for i, zone in enumerate(layout)]


def web(name: str, *constraints: Any, **labels: str) -> Pod:
    pod = labelled(make_pod(name), app="web", **labels)
    return with_spread(pod, *(constraints or (spread(ZONE, 1, app="web"),)))


def zone_counts(snapshot: Snapshot) -> Counter[str]:
    return Counter(
        info.labels[ZONE] for info in snapshot for p in info.pods if p.pod.metadata.labels
    )


def verdicts(snapshot: Snapshot, pod: Pod) -> dict[str, str]:
    """Node -> "" (fits) or its PodTopologySpread reason, from the plugin alone."""
    plugin, state = PodTopologySpread(), CycleState()
    assert plugin.pre_filter(state, pod, snapshot).is_success
    return {info.name: plugin.filter(state, pod, info).message for info in snapshot}


@pytest.mark.parametrize("vectorised", [True, False])
def test_max_skew_one_spreads_replicas_evenly_over_zones(vectorised: bool) -> None:
    h = harness(zones("a", "a", "b", "b", "c", "c"), vectorised=vectorised)
    h.schedule_all([web(f"w{i}") for i in range(6)])
    assert zone_counts(h.snapshot) == {"a": 2, "b": 2, "c": 2}


def test_skew_rejection_is_unschedulable_in_kubernetes_words() -> None:
    full = make_node("n1", cpu="100m", labels={ZONE: "b"})
    existing = [on(labelled(make_pod(f"e{i}"), app="web"), "n0") for i in range(2)]
    h = harness([*zones("a"), full], existing)
    assert h.message(web("w")).startswith(
        f"0/2 nodes are available: 1 Insufficient cpu, 1 {REASON}."
    )
    plugin, state = PodTopologySpread(), CycleState()
    plugin.pre_filter(state, web("w"), h.snapshot)
    status = plugin.filter(state, web("w"), h.snapshot["n0"])
    assert (status.code, status.reasons) == (Code.UNSCHEDULABLE, (REASON,))


def test_a_node_without_the_key_is_unresolvable() -> None:
    snapshot = Snapshot([*zones("a"), make_node("bare")])
    plugin, state, pod = PodTopologySpread(), CycleState(), web("w")
    plugin.pre_filter(state, pod, snapshot)
    status = plugin.filter(state, pod, snapshot["bare"])
    assert (status.code, status.reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (MISSING,))


def test_min_domains_counts_the_minimum_as_zero_while_domains_are_missing() -> None:
    existing = [on(labelled(make_pod("e0"), app="web"), "n0")]
    strict = web("w", spread(ZONE, 1, min_domains=3, app="web"))
    lenient = web("w", spread(ZONE, 1, app="web"))
    snapshot = Snapshot(zones("a", "b"), [*existing, on(labelled(make_pod("e1"), app="web"), "n1")])
    assert verdicts(snapshot, lenient) == {"n0": "", "n1": ""}
    assert verdicts(snapshot, strict) == {"n0": REASON, "n1": REASON}


@pytest.mark.parametrize(("policy", "fits"), [("Honor", True), ("Ignore", False)])
def test_node_affinity_policy_decides_whether_unwanted_nodes_are_domains(
    policy: str, fits: bool
) -> None:
    nodes = [
        make_node("n0", labels={ZONE: "a", "disk": "ssd"}),
        make_node("n1", labels={ZONE: "b", "disk": "ssd"}),
        make_node("n2", labels={ZONE: "c", "disk": "hdd"}),
    ]
    existing = [on(labelled(make_pod(f"e{i}"), app="web"), f"n{i}") for i in range(2)]
    pod = web("w", spread(ZONE, 1, node_affinity_policy=policy, app="web"))
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_selector={"disk": "ssd"}))
    assert (harness(nodes, existing).schedule(pod).node_name is not None) == fits


@pytest.mark.parametrize(("policy", "fits"), [("Honor", True), ("Ignore", False)])
def test_node_taints_policy_decides_whether_tainted_nodes_are_domains(
    policy: str, fits: bool
) -> None:
    nodes = [*zones("a", "b"), make_node("n2", labels={ZONE: "c"}, taints=["gpu=yes:NoSchedule"])]
    existing = [on(labelled(make_pod(f"e{i}"), app="web"), f"n{i}") for i in range(2)]
    pod = web("w", spread(ZONE, 1, node_taints_policy=policy, app="web"))
    assert (harness(nodes, existing).schedule(pod).node_name is not None) == fits


def test_match_label_keys_counts_only_pods_of_the_same_revision() -> None:
    existing = [on(labelled(make_pod(f"e{i}"), app="web", rev="r1"), "n0") for i in range(2)]
    snapshot = Snapshot(zones("a", "b"), existing)
    plain = web("w", spread(ZONE, 1, app="web"), rev="r2")
    keyed = web("w", spread(ZONE, 1, match_label_keys=["rev"], app="web"), rev="r2")
    assert verdicts(snapshot, plain) == {"n0": REASON, "n1": ""}
    assert verdicts(snapshot, keyed) == {"n0": "", "n1": ""}


def test_terminating_pods_and_other_namespaces_do_not_count() -> None:
    dying = on(labelled(make_pod("e0"), app="web"), "n0")
    dying = attrs.evolve(
        dying,
        metadata=attrs.evolve(dying.metadata, deletion_timestamp=datetime(2026, 1, 1, tzinfo=UTC)),
    )
    strangers = [
        on(labelled(make_pod(f"s{i}", namespace="other"), app="web"), "n0") for i in range(2)
    ]
    snapshot = Snapshot(zones("a", "b"), [dying, *strangers])
    assert verdicts(snapshot, web("w")) == {"n0": "", "n1": ""}


def test_an_empty_selector_counts_no_pod_but_matches_the_pod_itself() -> None:
    existing = [on(labelled(make_pod(f"e{i}"), app="web"), "n0") for i in range(3)]
    pod = web("w", spread(ZONE, 1, selector=LabelSelector()))
    assert verdicts(Snapshot(zones("a", "b"), existing), pod) == {"n0": "", "n1": ""}


def test_pods_without_hard_constraints_skip_the_filter() -> None:
    pod = web("w", spread(ZONE, 1, when="ScheduleAnyway", app="web"))
    assert PodTopologySpread().pre_filter(CycleState(), pod, Snapshot(zones("a"))).is_skip


def test_remove_pod_and_add_pod_follow_what_if_changes() -> None:
    existing = [on(labelled(make_pod(f"e{i}"), app="web"), "n0") for i in range(2)]
    snapshot = Snapshot(zones("a", "b"), existing)
    plugin, state, pod = PodTopologySpread(), CycleState(), web("w")
    plugin.pre_filter(state, pod, snapshot)
    info = snapshot["n0"]
    assert not plugin.filter(state, pod, info).is_success
    what_if = state.clone()
    for victim in info.pods:
        info = info.without_pod(victim.key)
        assert plugin.remove_pod(what_if, pod, victim, info).is_success
    assert plugin.filter(what_if, pod, info).is_success
    assert not plugin.filter(state, pod, snapshot["n0"]).is_success  # original untouched
    victim = snapshot["n0"].pods[0]
    assert plugin.add_pod(what_if, pod, victim, info.with_pod(victim)).is_success
    back = info.with_pod(victim)
    assert plugin.filter(what_if, pod, back).reasons == (REASON,)  # 1 + 1 - 0 > 1
    assert plugin.remove_pod(what_if, pod, victim, info).is_success
    assert plugin.filter(what_if, pod, info).is_success


# -- ScheduleAnyway (score) ---------------------------------------------------------------


def _scores(nodes: list[Node], pods: list[Pod], pod: Pod) -> dict[str, int]:
    framework = Framework(profile(only=["NodeResourcesFit"]), registry=registry())
    result = framework.schedule_one(pod, Snapshot(nodes, pods))
    assert result.scores is not None
    names = result.scores.totals()
    return {n: result.scores.by_plugin(n).get("PodTopologySpread", 0) for n in names}


def test_schedule_anyway_prefers_the_emptiest_domain_with_kubernetes_arithmetic() -> None:
    existing = [
        on(labelled(make_pod(f"e{i}"), app="web"), n) for i, n in enumerate(["n0", "n0", "n1"])
    ]
    pod = web("w", spread(ZONE, 1, when="ScheduleAnyway", app="web"))
    # raw: round(count * ln(3 + 2)): a = round(3.22) = 3, c = round(1.61) = 2, b = 0;
    # normalised 100 * (max + min - s) // max: a 0, b 100, c 33; weight 2
    assert _scores(zones("a", "c", "b"), existing, pod) == {"n0": 0, "n1": 66, "n2": 200}


def test_schedule_anyway_by_hostname_counts_each_nodes_own_pods() -> None:
    existing = [on(labelled(make_pod(f"e{i}"), app="web"), "n0") for i in range(2)]
    pod = web("w", spread(HOST, 3, when="ScheduleAnyway", app="web"))
    # raw: 2 * ln(2 + 2) + 2 = 4.77 -> 5 and 0 * ... + 2 = 2; normalised: 100 * 2 // 5 = 40
    assert _scores([make_node("n0"), make_node("n1")], existing, pod) == {"n0": 80, "n1": 200}


def test_nodes_missing_a_key_score_zero() -> None:
    pod = web("w", spread(ZONE, 1, when="ScheduleAnyway", app="web"))
    assert _scores([*zones("a"), make_node("bare")], [], pod) == {"n0": 200, "bare": 0}


def test_vector_and_per_node_scores_agree_on_a_small_case() -> None:
    existing = [on(labelled(make_pod(f"e{i}"), app="web"), f"n{i % 3}") for i in range(5)]
    snapshot = Snapshot([*zones("a", "b", "b"), make_node("bare")], existing)
    pod = web("w", spread(ZONE, 2, when="ScheduleAnyway", app="web"))
    plugin, state = PodTopologySpread(), CycleState()
    candidates = np.arange(len(snapshot), dtype=np.intp)
    assert plugin.pre_score(state, pod, snapshot, candidates).is_success
    per_node = [plugin.score(state, pod, snapshot.at(i)) for i in candidates.tolist()]
    assert plugin.score_all(state, pod, snapshot, candidates).tolist() == per_node
