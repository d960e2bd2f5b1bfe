"""``orbit.NodePool``: a group of identical nodes the node-pool autoscaler grows and shrinks.

A pool is cluster-autoscaler's *node group*: a template (an :class:`orbit.Node` whose
capacity, labels and taints every new node copies; its name is ignored), a size range
``[min_nodes, max_nodes]``, a price and a :class:`~orbit.autoscaling.NodeProvider` that
makes and releases the machines. Every node a pool creates is named ``<pool>-<n>`` and
labelled ``orbit.dev/node-pool=<pool>``; that label is how the autoscaler tells a pool's
nodes from the others (nodes given to ``Cluster(nodes=...)`` with the label belong to the
pool too, so a pool may start with nodes it did not create).

Scale-up planning needs to know what a node of the pool *would* look like before it
exists: :meth:`NodePool.node_object` builds that Node API object (cluster-autoscaler's
template NodeInfo) from the template, with the labels the node agent would set.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import attrs

from orbit.api import PODS, Node, NodeCondition, NodeSpec, NodeStatus, ObjectMeta, Quantity
from orbit.node import Node as NodeConfig
from orbit.runtimes import Runtime

if TYPE_CHECKING:
    from ._providers import NodeProvider

__all__ = ["HOSTNAME_LABEL", "NODE_POOL_LABEL", "NodePool", "node_pool_of"]

NODE_POOL_LABEL: Final = "orbit.dev/node-pool"
"""The label naming the pool a node belongs to."""

HOSTNAME_LABEL: Final = "kubernetes.io/hostname"
_OS_LABEL: Final = "kubernetes.io/os"
_ARCH_LABEL: Final = "kubernetes.io/arch"
_ARCH: Final = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _default_provider() -> NodeProvider:
    from ._providers import SimNodeProvider  # noqa: PLC0415 (the providers import this module)

    return SimNodeProvider()


def _check_name(_pool: object, _attribute: object, name: str) -> None:
    if len(name) > 50 or not _DNS_LABEL.match(name):
        raise ValueError(
            f"node pool name {name!r}: a lowercase DNS label of at most 50 characters "
            "(node names <pool>-<n> must stay valid)"
        )


def _check_template(_pool: object, _attribute: object, template: NodeConfig) -> None:
    if template.capacity is None:
        raise ValueError(
            "a node pool's template needs its capacity (e.g. {'cpu': '4', 'memory': '16Gi'}):"
            " scale-up is planned on template nodes before any exists"
        )


@attrs.frozen
class NodePool:
    """A group of identical nodes between ``min_nodes`` and ``max_nodes``.

    Args:
        name: the pool's name (a DNS label; node names are ``<name>-<n>``).
        template: what every node of the pool is: capacity (required), labels, taints.
            Its name and runtime are ignored; the provider makes the runtime.
        min_nodes: the autoscaler keeps at least this many nodes (creating them when
            fewer exist) and never scales below it.
        max_nodes: the autoscaler never grows the pool beyond this.
        cost_per_hour: the price of one node for an hour (the ``cheapest`` expander
            and what-if reports use it).
        provider: makes and releases the pool's nodes (default: simulated nodes).
    """

    name: str = attrs.field(validator=_check_name)
    template: NodeConfig = attrs.field(validator=_check_template)
    min_nodes: int = attrs.field(default=0, kw_only=True)
    max_nodes: int = attrs.field(default=10, kw_only=True)
    cost_per_hour: float = attrs.field(default=0.0, kw_only=True)
    provider: NodeProvider = attrs.field(factory=_default_provider, kw_only=True, eq=False)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.min_nodes <= self.max_nodes:
            raise ValueError(
                f"node pool {self.name!r}: need 0 <= min_nodes ({self.min_nodes}) <= "
                f"max_nodes ({self.max_nodes})"
            )
        if self.cost_per_hour < 0:
            raise ValueError(f"node pool {self.name!r}: cost_per_hour must not be negative")

    @property
    def labels(self) -> dict[str, str]:
        """The labels every node of the pool gets (the template's and the pool label)."""
        return {**self.template.labels, NODE_POOL_LABEL: self.name}

    def node_name(self, serial: int) -> str:
        """The name of the pool's node number ``serial``: ``<pool>-<serial>``."""
        return f"{self.name}-{serial}"

    def node_config(self, name: str, runtime: Runtime) -> NodeConfig:
        """The :class:`orbit.Node` for a new node of this pool on ``runtime``: what a
        provider hands the cluster."""
        return NodeConfig(
            name,
            runtime=runtime,
            capacity=self.template.capacity,
            labels=self.labels,
            taints=self.template.taints,
        )

    def node_object(self, name: str) -> Node:
        """The Node API object a new node named ``name`` would register as (Ready,
        capacity = allocatable = the template's, ``pods`` 110 unless given), with the
        labels the node agent sets (hostname, os, arch) under the pool's."""
        capacity: dict[str, Quantity] = dict(self.template.capacity or {})
        capacity.setdefault(PODS, Quantity.parse("110"))
        machine = platform.machine().lower()
        labels = {
            HOSTNAME_LABEL: name,
            _OS_LABEL: platform.system().lower(),
            _ARCH_LABEL: _ARCH.get(machine, machine or "amd64"),
            **self.labels,
        }
        return Node(
            metadata=ObjectMeta(name=name, labels=labels),
            spec=NodeSpec(taints=self.template.taints),
            status=NodeStatus(
                capacity=capacity,
                allocatable=dict(capacity),
                conditions=(NodeCondition(type="Ready", status="True", reason="KubeletReady"),),
            ),
        )


def node_pool_of(node: Node, pools: Mapping[str, NodePool]) -> NodePool | None:
    """The pool ``node`` belongs to by its ``orbit.dev/node-pool`` label, or None."""
    name = node.metadata.labels.get(NODE_POOL_LABEL)
    return pools.get(name) if name is not None else None
