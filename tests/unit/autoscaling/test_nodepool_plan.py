"""Scale-up planning: the real scheduler on template nodes decides which pool grows by
how many nodes, and which pods no pool can host (and why)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from nodepool_builders import make_node, make_pod, pool_state

from orbit.api import Pod, Taint, Toleration
from orbit.autoscaling._expanders import fewest_nodes, least_waste
from orbit.autoscaling._nodepool_plan import (
    BACKOFF_REASON,
    MAX_SIZE_REASON,
    PoolState,
    ScaleUpPlan,
    plan_scale_up,
    template_from_node,
    template_named,
)
from orbit.scheduling import Frameworks

GPU_TAINT = Taint(key="gpu", value="true", effect="NoSchedule")


def plan(
    pending: Sequence[Pod],
    pools: Sequence[PoolState],
    *,
    nodes: Sequence = (),
    placed: Sequence[Pod] = (),
    expander=least_waste,
) -> ScaleUpPlan:
    return plan_scale_up(pending, nodes, placed, pools, Frameworks(), expander=expander)


def names(pods: Sequence[Pod]) -> list[str]:
    return sorted(pod.metadata.name for pod in pods)


def test_the_fewest_nodes_that_fit_every_pod() -> None:
    pending = [make_pod(f"web-{i}", cpu="700m") for i in range(5)]
    result = plan(pending, [pool_state("small", cpu="2")])
    assert result.chosen is not None
    assert (result.chosen.pool, result.chosen.node_count) == ("small", 3)  # 2 + 2 + 1
    assert names(result.chosen.pods) == names(pending)
    assert result.unhelped == ()


def test_largest_pods_are_packed_first() -> None:
    # first-fit in queue order would need 3 nodes (1+1 | 3 | 3); largest first needs 2
    pending = [make_pod("a", cpu="1"), make_pod("b", cpu="1")]
    pending += [make_pod("c", cpu="3"), make_pod("d", cpu="3")]
    result = plan(pending, [pool_state("pool", cpu="4", memory="8Gi")])
    assert result.chosen is not None
    assert result.chosen.node_count == 2


def test_memory_counts_as_much_as_cpu() -> None:
    pending = [make_pod(f"m-{i}", cpu="100m", memory="3Gi") for i in range(3)]
    result = plan(pending, [pool_state("pool", cpu="8", memory="4Gi")])
    assert result.chosen is not None
    assert result.chosen.node_count == 3


def test_pods_that_fit_existing_room_need_no_node() -> None:
    nodes = [make_node("n1", cpu="2")]
    placed = [make_pod("old", cpu="1", node="n1")]
    pending = [make_pod("fits", cpu="1"), make_pod("big", cpu="1500m")]
    result = plan(pending, [pool_state("pool", cpu="2")], nodes=nodes, placed=placed)
    assert names(result.schedulable) == ["fits"]
    assert result.chosen is not None
    assert names(result.chosen.pods) == ["big"]
    assert result.chosen.node_count == 1


def test_upcoming_nodes_count_so_nothing_is_asked_twice() -> None:
    template = pool_state("pool", cpu="2").template
    upcoming = [template_named(template, "pool-1")]
    pending = [make_pod(f"p{i}", cpu="1") for i in range(2)]
    result = plan(pending, [pool_state("pool", cpu="2", size=1)], nodes=upcoming)
    assert names(result.schedulable) == ["p0", "p1"]
    assert result.chosen is None
    assert result.options == ()


def test_max_nodes_limits_the_option_and_the_rest_are_told_why() -> None:
    pending = [make_pod(f"p{i}", cpu="1500m") for i in range(3)]
    result = plan(pending, [pool_state("pool", cpu="2", size=3, max_nodes=5)])
    assert result.chosen is not None
    assert result.chosen.node_count == 2
    assert len(result.chosen.pods) == 2
    (left,) = result.unhelped
    assert left.message == f"pod didn't trigger scale-up: 1 {MAX_SIZE_REASON}"


def test_a_pool_at_its_maximum_or_backed_off_helps_no_pod() -> None:
    pending = [make_pod("p", cpu="1")]
    result = plan(
        pending,
        [pool_state("full", size=2, max_nodes=2), pool_state("flaky", backed_off=True)],
    )
    assert result.chosen is None
    (left,) = result.unhelped
    assert left.message == (f"pod didn't trigger scale-up: 1 {BACKOFF_REASON}, 1 {MAX_SIZE_REASON}")


def test_a_pod_too_big_for_every_template_gets_the_schedulers_reasons() -> None:
    pending = [make_pod("huge", cpu="16"), make_pod("fine", cpu="1")]
    result = plan(pending, [pool_state("a", cpu="2"), pool_state("b", cpu="4", memory="8Gi")])
    assert result.chosen is not None
    assert names(result.chosen.pods) == ["fine"]
    (huge,) = result.unhelped
    assert huge.pod.metadata.name == "huge"
    assert huge.message == "pod didn't trigger scale-up: 2 Insufficient cpu"


def test_taints_keep_pods_without_a_toleration_off_a_pool() -> None:
    gpu = pool_state("gpu", cpu="8", memory="16Gi", taints=[GPU_TAINT])
    plain = make_pod("plain", cpu="1")
    tolerant = make_pod(
        "tolerant",
        cpu="1",
        tolerations=[Toleration(key="gpu", operator="Exists", effect="NoSchedule")],
    )
    result = plan([plain, tolerant], [gpu])
    assert result.chosen is not None
    assert names(result.chosen.pods) == ["tolerant"]
    (left,) = result.unhelped
    assert left.message == (
        "pod didn't trigger scale-up: 1 node(s) had untolerated taint {gpu: true}"
    )


def test_node_selectors_pick_the_pool_with_the_label() -> None:
    ssd = pool_state("ssd", labels={"disk": "ssd"}, cost_per_hour=9.0)
    hdd = pool_state("hdd", labels={"disk": "hdd"})
    pending = [make_pod("db", cpu="1", node_selector={"disk": "ssd"})]
    result = plan(pending, [hdd, ssd])
    assert [o.pool for o in result.options] == ["ssd"]
    assert result.chosen is not None
    assert result.chosen.pool == "ssd"
    nowhere = plan([make_pod("x", node_selector={"disk": "nvme"})], [hdd, ssd])
    assert nowhere.unhelped[0].message == (
        "pod didn't trigger scale-up: 2 node(s) didn't match Pod's node affinity/selector"
    )


def test_the_expander_chooses_between_pools() -> None:
    pending = [make_pod(f"p{i}", cpu="1", memory="2Gi") for i in range(4)]
    pools = [
        pool_state("small", cpu="2", memory="4Gi"),
        pool_state("big", cpu="8", memory="16Gi"),
    ]
    by_waste = plan(pending, pools, expander=least_waste)
    assert by_waste.chosen is not None
    assert (by_waste.chosen.pool, by_waste.chosen.node_count) == ("small", 2)
    by_count = plan(pending, pools, expander=fewest_nodes)
    assert by_count.chosen is not None
    assert (by_count.chosen.pool, by_count.chosen.node_count) == ("big", 1)
    assert sorted((o.pool, o.node_count) for o in by_count.options) == [
        ("big", 1),
        ("small", 2),
    ]


def test_pods_another_pool_could_host_wait_for_the_next_decision() -> None:
    ssd = pool_state("ssd", cpu="1", memory="1Gi", labels={"disk": "ssd"})
    roomy = pool_state("roomy", cpu="4", memory="8Gi")
    db = make_pod("db", cpu="1", memory="1Gi", node_selector={"disk": "ssd"})
    big = make_pod("big", cpu="2", memory="1Gi")
    result = plan([db, big], [roomy, ssd])
    assert result.chosen is not None
    assert (result.chosen.pool, names(result.chosen.pods)) == ("ssd", ["db"])  # no waste
    assert {o.pool: names(o.pods) for o in result.options} == {"roomy": ["big"], "ssd": ["db"]}
    assert result.unhelped == ()  # big waits: the next decision grows roomy


def test_expendable_pods_and_other_schedulers_pods_are_ignored() -> None:
    pending = [
        make_pod("expendable", priority=-11),
        make_pod("foreign", scheduler_name="someone-else"),
    ]
    result = plan(pending, [pool_state("pool")])
    assert result == ScaleUpPlan()


def test_a_template_taken_from_a_registered_node_drops_its_condition_taints() -> None:
    node = make_node(
        "pool-7",
        labels={"orbit.dev/node-pool": "pool"},
        taints=[GPU_TAINT, Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")],
    )
    template = template_from_node(node)
    assert template.spec.taints == (GPU_TAINT,)
    assert not template.spec.unschedulable
    renamed = template_named(template, "pool-8")
    assert renamed.metadata.name == "pool-8"
    assert renamed.metadata.labels["kubernetes.io/hostname"] == "pool-8"
    assert renamed.metadata.labels["orbit.dev/node-pool"] == "pool"


@pytest.mark.parametrize("count", [1, 7, 20])
def test_every_pod_lands_within_first_fit_bounds(count: int) -> None:
    pending = [make_pod(f"p{i}", cpu=f"{300 + 100 * (i % 5)}m") for i in range(count)]
    result = plan(pending, [pool_state("pool", cpu="2")])
    assert result.chosen is not None
    assert names(result.chosen.pods) == names(pending)
    total = sum(300 + 100 * (i % 5) for i in range(count))
    assert result.chosen.node_count >= -(-total // 2000)  # never fewer than the cpu bound
    assert result.chosen.node_count <= -(-total // 1000)  # first fit: each node over half
