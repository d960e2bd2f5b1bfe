"""The expanders: cluster-autoscaler's choice among node pools, as pure functions."""

from __future__ import annotations

import pytest
from nodepool_builders import make_pod

from orbit.autoscaling._expanders import (
    EXPANDERS,
    Option,
    cheapest,
    fewest_nodes,
    least_waste,
    most_pods,
    resolve_expander,
    waste,
)

GiB_MILLI = 1024**3 * 1000


def pods(count: int, cpu: str = "1", memory: str = "2Gi") -> tuple:
    return tuple(make_pod(f"p{i}", cpu=cpu, memory=memory) for i in range(count))


def option(
    pool: str,
    nodes: int,
    *,
    cpu: int = 2,
    memory_gib: int = 4,
    cost: float = 0.0,
    served: tuple = (),
) -> Option:
    return Option(
        pool=pool,
        node_count=nodes,
        pods=served,
        node_cpu_milli=cpu * 1000,
        node_memory_milli=memory_gib * GiB_MILLI,
        cost_per_hour=cost,
    )


# four pods of 1 cpu / 2Gi: two small nodes (2 cpu, 4Gi) or one big one (8 cpu, 16Gi)
SMALL = option("small", 2, cpu=2, memory_gib=4, cost=0.10, served=pods(4))
BIG = option("big", 1, cpu=8, memory_gib=16, cost=0.15, served=pods(4))


def test_waste_is_the_unrequested_cpu_fraction_plus_the_memory_fraction() -> None:
    assert waste(SMALL) == 0.0
    assert waste(BIG) == pytest.approx(0.5 + 0.5)
    half_cpu = option("x", 1, cpu=4, memory_gib=8, served=pods(1, cpu="1", memory="6Gi"))
    assert waste(half_cpu) == pytest.approx(0.75 + 0.25)


def test_a_resource_the_nodes_lack_wastes_nothing() -> None:
    no_memory = Option("x", 1, pods(1, cpu="1"), node_cpu_milli=2000, node_memory_milli=0)
    assert waste(no_memory) == pytest.approx(0.5)


def test_least_waste_prefers_the_tightly_packed_small_nodes() -> None:
    assert least_waste([BIG, SMALL]) is SMALL


def test_fewest_nodes_prefers_the_one_big_node() -> None:
    assert fewest_nodes([SMALL, BIG]) is BIG


def test_cheapest_compares_price_times_nodes() -> None:
    assert cheapest([SMALL, BIG]) is BIG  # 0.15 < 2 x 0.10
    pricier_big = option("big", 1, cpu=8, memory_gib=16, cost=0.25, served=pods(4))
    assert cheapest([SMALL, pricier_big]) is SMALL


def test_most_pods_prefers_the_option_serving_more_pods() -> None:
    fewer = option("gpu", 1, cpu=8, memory_gib=16, served=pods(1))
    assert most_pods([fewer, BIG]) is BIG


def test_least_waste_ties_go_to_fewest_nodes_then_the_pool_name() -> None:
    two = option("b-two", 2, served=pods(4))
    one = option("z-one", 1, cpu=4, memory_gib=8, served=pods(4))
    assert waste(two) == waste(one) == 0.0
    assert least_waste([two, one]) is one
    twin = option("a-one", 1, cpu=4, memory_gib=8, served=pods(4))
    assert least_waste([one, twin, two]) is twin


def test_fewest_nodes_ties_go_to_least_waste() -> None:
    loose = option("a", 1, cpu=8, memory_gib=16, served=pods(4))
    tight = option("b", 1, cpu=4, memory_gib=8, served=pods(4))
    assert fewest_nodes([loose, tight]) is tight


def test_cheapest_ties_go_to_fewest_nodes() -> None:
    free_two = option("a", 2, served=pods(4))
    free_one = option("b", 1, cpu=8, memory_gib=16, served=pods(4))
    assert cheapest([free_two, free_one]) is free_one


def test_expanders_by_name_and_by_function() -> None:
    assert sorted(EXPANDERS) == ["cheapest", "fewest-nodes", "least-waste", "most-pods"]
    assert resolve_expander("least-waste") is least_waste
    assert resolve_expander(fewest_nodes) is fewest_nodes
    with pytest.raises(ValueError, match="unknown expander 'random'"):
        resolve_expander("random")


def test_an_expander_needs_an_option() -> None:
    with pytest.raises(ValueError, match="at least one option"):
        least_waste([])
