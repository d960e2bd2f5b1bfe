"""DefaultPreemption: the fewest, least important victims on the best node, budgets,
preemptionPolicy, and Kubernetes' words when preemption cannot help."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from pod_aware import HOST, harness, labelled, on, started, term, with_affinity
from sched_harness import make_node, make_pod

from orbit.api import (
    LabelSelector,
    ObjectMeta,
    Pod,
    PodCondition,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    PodDisruptionBudgetStatus,
)
from orbit.scheduling import ScheduleResult
from orbit.scheduling.plugins._preemption import (
    PREEMPTION_VICTIMS,
    Candidate,
    DefaultPreemption,
    DefaultPreemptionArgs,
    pick_candidate,
)

NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"


def pod(name: str, priority: int, cpu: str = "1", node: str = "", **labels: str) -> Pod:
    made = labelled(make_pod(name, cpu=cpu, memory=None, priority=priority), **labels)
    return on(made, node) if node else made


def pdb(allowed: int, *, disrupted: Sequence[str] = (), **labels: str) -> PodDisruptionBudget:
    return PodDisruptionBudget(
        metadata=ObjectMeta(name="budget", namespace="default"),
        spec=PodDisruptionBudgetSpec(selector=LabelSelector(match_labels=labels)),
        status=PodDisruptionBudgetStatus(
            disruptions_allowed=allowed,
            disrupted_pods={name: datetime(2026, 1, 1, tzinfo=UTC) for name in disrupted},
        ),
    )


def preempt(
    nodes: Sequence[Any], pods: Sequence[Pod], incoming: Pod, **args: Any
) -> ScheduleResult:
    options = {"DefaultPreemption": DefaultPreemptionArgs(**args)} if args else None
    h = harness(nodes, pods, args=options)
    return h.framework.schedule_one(incoming, h.snapshot)


def victims(result: ScheduleResult) -> list[str]:
    return [p.metadata.name for p in result.state.get(PREEMPTION_VICTIMS) or ()]


def test_the_fewest_lowest_priority_victims_are_chosen() -> None:
    existing = [pod("low1", 1, node="n0"), pod("low2", 2, node="n0")]
    existing += [pod("low3", 3, node="n0"), pod("mid", 5, node="n0")]
    result = preempt([make_node("n0", cpu="4")], existing, pod("vip", 10, cpu="2"))
    assert result.nominated_node_name == "n0"
    assert victims(result) == ["low2", "low1"]  # mid and low3 reprieved, most important first
    assert result.message == "0/1 nodes are available: 1 Insufficient cpu."


def test_preemption_policy_never_is_honoured() -> None:
    incoming = pod("vip", 10)
    incoming = attrs.evolve(incoming, spec=attrs.evolve(incoming.spec, preemption_policy="Never"))
    result = preempt([make_node("n0", cpu="1")], [pod("low", 1, node="n0")], incoming)
    assert result.nominated_node_name == ""
    assert result.message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to preemptionPolicy=Never."
    )


def test_no_lower_priority_pods_means_no_victims() -> None:
    result = preempt([make_node("n0", cpu="1")], [pod("peer", 10, node="n0")], pod("vip", 10))
    assert result.nominated_node_name == ""
    assert result.message.endswith(f"preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.")


def test_unresolvable_nodes_are_not_tried() -> None:
    nodes = [make_node("n0", cpu="1"), make_node("n1", cpu="4", taints=["k=v:NoSchedule"])]
    result = preempt(nodes, [pod("peer", 10, node="n0")], pod("vip", 10))
    assert result.message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. "
        f"preemption: 0/2 nodes are available: 1 {NO_VICTIMS}, 1 {NOT_HELPFUL}."
    )


def test_a_node_too_small_even_when_emptied_reports_the_filters_reason() -> None:
    result = preempt([make_node("n0", cpu="4")], [pod("low", 1, node="n0")], pod("vip", 10, "8"))
    assert result.message.endswith("preemption: 0/1 nodes are available: 1 Insufficient cpu.")


# -- which node ----------------------------------------------------------------------------


def two_nodes() -> list[Any]:
    return [make_node("n0", cpu="1"), make_node("n1", cpu="1")]


def test_fewest_pdb_violations_win_over_lower_priorities() -> None:
    existing = [pod("guarded", 1, node="n0", app="db"), pod("free", 5, node="n1")]
    result = preempt(two_nodes(), existing, pod("vip", 10), pdbs=[pdb(0, app="db")])
    assert (result.nominated_node_name, victims(result)) == ("n1", ["free"])


def test_lowest_highest_victim_priority_wins() -> None:
    existing = [pod("a", 5, node="n0"), pod("b", 3, node="n1")]
    assert preempt(two_nodes(), existing, pod("vip", 10)).nominated_node_name == "n1"


def test_smallest_priority_sum_then_latest_start_win() -> None:
    nodes = [make_node("n0", cpu="2"), make_node("n1", cpu="2")]
    existing = [pod("a1", 3, node="n0"), pod("a2", 3, node="n0")]
    existing += [pod("b1", 3, node="n1"), pod("b2", 1, node="n1")]
    result = preempt(nodes, existing, pod("vip", 10, cpu="2"))
    assert (result.nominated_node_name, sorted(victims(result))) == ("n1", ["b1", "b2"])
    old, new = started(pod("old", 3, node="n0"), 1), started(pod("new", 3, node="n1"), 30)
    assert preempt(two_nodes(), [old, new], pod("vip", 10)).nominated_node_name == "n1"


def test_pick_candidate_breaks_equal_sums_by_fewest_victims() -> None:
    lowest = -(2**31)
    one = Candidate("n0", (pod("x", lowest),), 0)
    two = Candidate("n1", (pod("y", lowest), pod("z", lowest)), 0)
    assert pick_candidate([two, one]) is one
    assert pick_candidate([one, Candidate("n2", one.victims, 0)]) is one  # then the first


# -- budgets -------------------------------------------------------------------------------


def test_budget_violating_victims_are_reprieved_first() -> None:
    existing = [pod("v1", 1, node="n0", app="db"), pod("v2", 2, node="n0")]
    node = [make_node("n0", cpu="2")]
    assert victims(preempt(node, existing, pod("vip", 10))) == ["v1"]
    guarded = preempt(node, existing, pod("vip", 10), pdbs=[pdb(0, app="db")])
    assert victims(guarded) == ["v2"]


def test_pods_already_being_disrupted_do_not_spend_the_budget() -> None:
    existing = [pod("v1", 1, node="n0", app="db"), pod("v2", 2, node="n0")]
    budgets = [pdb(0, disrupted=["v1"], app="db")]
    result = preempt([make_node("n0", cpu="2")], existing, pod("vip", 10), pdbs=lambda: budgets)
    assert victims(result) == ["v1"]


def test_a_budget_with_an_empty_selector_protects_nothing() -> None:
    existing = [pod("v1", 1, node="n0", app="db"), pod("v2", 2, node="n0")]
    result = preempt([make_node("n0", cpu="2")], existing, pod("vip", 10), pdbs=[pdb(0)])
    assert victims(result) == ["v1"]


# -- with the pod-aware plugins -----------------------------------------------------------


def test_preemption_evicts_a_pod_whose_anti_affinity_blocks_the_newcomer() -> None:
    guard = with_affinity(pod("guard", 1, node="n0"), anti=[term(HOST, app="db")])
    result = preempt([make_node("n0", cpu="8")], [guard], pod("db", 10, app="db"))
    assert (result.nominated_node_name, victims(result)) == ("n0", ["guard"])


def test_preemption_evicts_pods_the_newcomers_anti_affinity_avoids() -> None:
    existing = [pod("web0", 1, node="n0", app="web"), pod("other", 1, node="n0")]
    incoming = with_affinity(pod("web1", 10, app="web"), anti=[term(HOST, app="web")])
    result = preempt([make_node("n0", cpu="8")], existing, incoming)
    assert victims(result) == ["web0"]


def test_a_pod_waiting_for_its_victims_to_leave_does_not_preempt_again() -> None:
    dying = pod("low", 1, node="n0")
    dying = attrs.evolve(
        dying,
        metadata=attrs.evolve(dying.metadata, deletion_timestamp=datetime(2026, 1, 1, tzinfo=UTC)),
        status=attrs.evolve(
            dying.status,
            conditions=(
                PodCondition(
                    type="DisruptionTarget", status="True", reason="PreemptionByScheduler"
                ),
            ),
        ),
    )
    incoming = pod("vip", 10)
    incoming = attrs.evolve(
        incoming, status=attrs.evolve(incoming.status, nominated_node_name="n0")
    )
    result = preempt([make_node("n0", cpu="1")], [dying], incoming)
    assert result.message.endswith(
        "preemption: not eligible due to a terminating pod on the nominated node."
    )


def test_the_dry_run_looks_for_ten_percent_of_the_nodes_but_at_least_a_hundred() -> None:
    plugin = DefaultPreemption(None, handle=None)  # type: ignore[arg-type]
    assert [plugin.num_candidates(n) for n in (50, 1000, 5000)] == [50, 100, 500]


def test_a_what_if_cycle_without_post_filter_does_not_preempt() -> None:
    """The node-pool autoscaler asks only whether a pod fits (cluster-autoscaler's
    simulation runs PreFilter and Filter): no victims, no nomination, no preemption
    message, and the snapshot unchanged."""
    h = harness([make_node("n0", cpu="1")], [pod("low", 1, node="n0")])
    result = h.framework.place(pod("vip", 10), h.snapshot, post_filter=False)
    assert not result.scheduled
    assert result.nominated_node_name == ""
    assert victims(result) == []
    assert result.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert result.diagnosis.post_filter_message == ""
    # the same pod in a real cycle does preempt (the flag is what differs)
    assert h.framework.place(pod("vip", 10), h.snapshot).nominated_node_name == "n0"
