"""What the parts of :class:`orbit.Cluster` share: the state its constructor sets up,
``resolve_kind``, and ``list`` as the parts call it.

``Cluster`` (in :mod:`orbit.cluster`) keeps its constructor, lifecycle, ``apply``,
``get`` / ``list`` / ``delete`` and controllers; its other verbs come from mixins,
one module per group (``_cluster_nodes``, ``_cluster_observe``,
``_cluster_workloads``), each deriving from :class:`ClusterParts`. ``list`` is
declared here for the type checker only, so at run time it is Cluster's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orbit.api import resolve_kind

if TYPE_CHECKING:  # the state's types, for its annotations only
    import builtins

    import anyio.abc

    from orbit import node
    from orbit.clock import Clock
    from orbit.net import ServiceProxy
from orbit.store import Leases, Store

__all__ = ["ClusterParts", "resolve_kind"]


class ClusterParts:
    """The Cluster's state the verb mixins use (set by ``Cluster.__init__``)."""

    store: Store
    clock: Clock
    cluster_id: str
    keep_running: bool
    restart_backoff: node.RestartBackoff
    stop_grace_s: float | None
    state_dir: str
    leases: Leases
    heartbeat: node.Heartbeat
    agents: dict[str, node.NodeAgent]
    _pods: node.PodDispatcher
    _host_ports: node.SocketPorts
    proxy: ServiceProxy | None
    _sim_ports: node.CountingPorts
    _nodes: builtins.list[node.Node]
    _task_group: anyio.abc.TaskGroup | None

    if TYPE_CHECKING:
        # Cluster.list (orbit.cluster), as the parts call it.
        async def list(self, kind: Any, namespace: str | None = None) -> builtins.list[Any]: ...
