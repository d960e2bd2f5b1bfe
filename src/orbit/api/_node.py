"""Nodes and Namespaces: the cluster-scoped kinds that everything else lives on or in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import attrs

from ._affinity import Taint
from ._meta import EMPTY_MAP, ObjectMeta, TypedObject, register_kind
from ._quantity import Quantity

__all__ = [
    "Namespace",
    "NamespaceSpec",
    "NamespaceStatus",
    "Node",
    "NodeAddress",
    "NodeCondition",
    "NodeSpec",
    "NodeStatus",
    "NodeSystemInfo",
]

ConditionStatus = Literal["True", "False", "Unknown"]


@attrs.frozen(kw_only=True)
class NodeSpec:
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()
    provider_id: str = ""

    __orbit_ignored__ = ("podCIDR", "podCIDRs", "configSource", "externalID")


@attrs.frozen(kw_only=True)
class NodeCondition:
    type: str = ""
    status: ConditionStatus = "Unknown"
    reason: str = ""
    message: str = ""
    last_heartbeat_time: datetime | None = None
    last_transition_time: datetime | None = None


@attrs.frozen(kw_only=True)
class NodeAddress:
    type: str = ""
    address: str = ""


@attrs.frozen(kw_only=True)
class NodeSystemInfo:
    architecture: str = ""
    operating_system: str = ""
    kernel_version: str = ""
    os_image: str = ""
    container_runtime_version: str = ""
    kubelet_version: str = ""
    machine_id: str = ""
    system_uuid: str = ""
    boot_id: str = ""
    kube_proxy_version: str = ""


@attrs.frozen(kw_only=True)
class NodeStatus:
    capacity: Mapping[str, Quantity] = EMPTY_MAP
    allocatable: Mapping[str, Quantity] = EMPTY_MAP
    conditions: tuple[NodeCondition, ...] = ()
    addresses: tuple[NodeAddress, ...] = ()
    node_info: NodeSystemInfo = NodeSystemInfo()

    __orbit_ignored__ = ("images", "volumesInUse", "volumesAttached", "daemonEndpoints")

    def condition(self, type_: str) -> NodeCondition | None:
        """The condition of that type, if the node reports it."""
        for condition in self.conditions:
            if condition.type == type_:
                return condition
        return None


@register_kind("v1", plural="nodes", short_names=("no",), namespaced=False)
@attrs.frozen(kw_only=True)
class Node(TypedObject):
    """A machine (or a logical slice of one) that runs pods through a runtime."""

    metadata: ObjectMeta = ObjectMeta()
    spec: NodeSpec = NodeSpec()
    status: NodeStatus = NodeStatus()


@attrs.frozen(kw_only=True)
class NamespaceSpec:
    finalizers: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class NamespaceStatus:
    phase: Literal["Active", "Terminating"] = "Active"


@register_kind("v1", plural="namespaces", short_names=("ns",), namespaced=False)
@attrs.frozen(kw_only=True)
class Namespace(TypedObject):
    """A name scope: objects in different namespaces may share names; deleting one
    removes everything in it."""

    metadata: ObjectMeta = ObjectMeta()
    spec: NamespaceSpec = NamespaceSpec()
    status: NamespaceStatus = NamespaceStatus()
