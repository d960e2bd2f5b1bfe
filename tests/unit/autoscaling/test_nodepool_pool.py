"""NodePool (what a pool's nodes look like) and the simulated node provider."""

from __future__ import annotations

import pytest

import orbit
from orbit.api import Quantity
from orbit.autoscaling._nodepool import NODE_POOL_LABEL, NodePool, node_pool_of
from orbit.autoscaling._providers import SimNodeProvider
from orbit.clock import ManualClock
from orbit.runtimes import SimRuntime

TEMPLATE = orbit.Node(
    "ignored",
    capacity={"cpu": "4", "memory": "16Gi"},
    labels={"tier": "batch"},
    taints=["spot=true:NoSchedule"],
)


def test_a_pool_node_copies_the_template_and_carries_the_pool_label() -> None:
    pool = NodePool("batch", TEMPLATE, max_nodes=3)
    runtime = SimRuntime()
    config = pool.node_config(pool.node_name(7), runtime)
    assert config.name == "batch-7"
    assert config.runtime is runtime
    assert config.capacity == {"cpu": Quantity("4"), "memory": Quantity("16Gi")}
    assert config.labels == {"tier": "batch", NODE_POOL_LABEL: "batch"}
    assert [(t.key, t.value, t.effect) for t in config.taints] == [("spot", "true", "NoSchedule")]


def test_the_node_object_a_new_node_would_register_as() -> None:
    node = NodePool("batch", TEMPLATE).node_object("batch-1")
    labels = node.metadata.labels
    assert node.metadata.name == "batch-1"
    assert labels["kubernetes.io/hostname"] == "batch-1"
    assert labels[NODE_POOL_LABEL] == "batch"
    assert labels["tier"] == "batch"
    assert {"kubernetes.io/os", "kubernetes.io/arch"} <= set(labels)
    assert node.status.allocatable["pods"] == Quantity("110")  # Kubernetes' default
    assert node.status.allocatable["cpu"] == Quantity("4")
    assert node.spec.taints == TEMPLATE.taints
    assert node_pool_of(node, {"batch": NodePool("batch", TEMPLATE)}) is not None
    assert node_pool_of(node, {}) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Batch"}, "lowercase DNS label"),
        ({"name": "x" * 51}, "at most 50 characters"),
        ({"template": orbit.Node("t")}, "template needs its capacity"),
        ({"min_nodes": 3, "max_nodes": 2}, "min_nodes \\(3\\) <= max_nodes \\(2\\)"),
        ({"min_nodes": -1}, "0 <= min_nodes"),
        ({"cost_per_hour": -0.5}, "cost_per_hour must not be negative"),
    ],
)
def test_a_pool_refuses_what_cannot_work(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"name": "pool", "template": TEMPLATE, **kwargs}
    with pytest.raises(ValueError, match=message):
        NodePool(**args)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_the_sim_provider_boots_after_its_delay_on_the_clock() -> None:
    clock = ManualClock()
    provider = SimNodeProvider(boot_delay_s=45.0, clock=clock)
    pool = NodePool("batch", TEMPLATE, provider=provider)
    node = await provider.create(pool, "batch-1")
    assert clock.monotonic() == 45.0
    assert node.name == "batch-1"
    assert isinstance(node.runtime, SimRuntime)
    discovered = await node.runtime.discover()
    assert discovered.capacity == {"cpu": "4", "memory": "16Gi"}
    await provider.delete(pool, "batch-1")
    assert (provider.created, provider.deleted) == (["batch-1"], ["batch-1"])


@pytest.mark.anyio
async def test_the_sim_provider_can_refuse_a_node() -> None:
    provider = SimNodeProvider(fail=frozenset({"batch-2"}))
    pool = NodePool("batch", TEMPLATE, provider=provider)
    with pytest.raises(RuntimeError, match="refused to create node 'batch-2'"):
        await provider.create(pool, "batch-2")
    assert provider.created == []
