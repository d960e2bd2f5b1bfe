"""The Cluster's node verbs: ``add_node``, ``remove_node``, ``cordon``, ``uncordon``,
``drain`` (kubectl's node verbs), and starting and stopping node agents.

A node is a :class:`~orbit.node.NodeAgent` (orbit's kubelet) on a runtime, its Node
object, a lease renewed by the shared heartbeat and a feed from the shared pod watch;
adding one sets all four up, removing one takes them down. Draining goes through the
Eviction API (:func:`orbit.controllers.drain`), so PodDisruptionBudgets hold.
"""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Sequence

import anyio

from orbit.api import Node as NodeObject
from orbit.api import ObjectMeta, Pod
from orbit.controllers import cordon as cordon_node
from orbit.controllers import drain as drain_node
from orbit.controllers import uncordon as uncordon_node
from orbit.errors import AlreadyExists, NotFound
from orbit.node import Node, NodeAgent

from ._cluster_parts import ClusterParts

__all__ = ["NodesMixin"]

_log = logging.getLogger("orbit")


class NodesMixin(ClusterParts):
    """The node verbs of :class:`orbit.Cluster`."""

    async def add_node(self, node: Node) -> NodeObject:
        """Register a node and start its agent; returns the Node as stored.

        Capacity is discovered from the node's runtime unless given. Before the
        cluster is entered the node is only remembered (it starts on entry).
        """
        if self._task_group is None:
            self._nodes.append(node)
            return NodeObject(metadata=ObjectMeta(name=node.name))
        (stored,) = await self._start_nodes([node])
        return stored

    async def _start_nodes(self, nodes: Sequence[Node]) -> builtins.list[NodeObject]:
        """Register the nodes, then start their agents: registered together, a
        thousand nodes reach the scheduler as one batch."""
        assert self._task_group is not None
        names = [node.name for node in nodes]
        for name in names:
            if name in self.agents or names.count(name) > 1:
                raise AlreadyExists("Node", name)
        agents = [self._agent_for(node) for node in nodes]
        stored = [await agent.register() for agent in agents]
        now = self.clock.monotonic()
        for agent in agents:
            self.leases.renew(agent.name, now)
            self.agents[agent.name] = agent
            self.heartbeat.add(agent)
        for agent in agents:
            await self._task_group.start(agent.run)
            self._pods.add(agent)
        return stored

    async def remove_node(self, node: str) -> None:
        """Stop a node's agent (and, unless ``keep_running``, its containers) and
        delete its Node; its pods are force-deleted by the pod garbage collector 40 s
        later and their controllers replace them. Drain first to move them gracefully."""
        if self._task_group is None:
            self._nodes = [n for n in self._nodes if n.name != node]
            return
        agent = self.agents.pop(node, None)
        if agent is not None:
            self.heartbeat.remove(agent)
            self._pods.remove(node)
            with anyio.CancelScope(shield=True):
                await agent.shutdown(stop=not self.keep_running, grace_cap_s=self.stop_grace_s)
            if all(other.runtime is not agent.runtime for other in self.agents.values()):
                try:
                    await agent.runtime.close()
                except Exception:
                    _log.exception("closing the runtime of node %s failed", node)
        self.leases.forget(node)
        try:
            self.store.delete(NodeObject, node)
        except NotFound:
            if agent is None:
                raise

    async def cordon(self, node: str) -> NodeObject:
        """Mark a node unschedulable (``kubectl cordon``): no new pod lands on it."""
        return cordon_node(self.store, node)

    async def uncordon(self, node: str) -> NodeObject:
        """Make a cordoned node schedulable again (``kubectl uncordon``)."""
        return uncordon_node(self.store, node)

    async def drain(
        self,
        node: str,
        *,
        timeout_s: float = 300.0,
        grace_s: int | None = None,
        force: bool = False,
        delete_emptydir_data: bool = False,
    ) -> builtins.list[Pod]:
        """``kubectl drain --ignore-daemonsets``: cordon, evict every pod through the
        Eviction API (retrying PodDisruptionBudget refusals every 5 s), wait until
        they are gone; returns them. ``TimeoutError`` past ``timeout_s``;
        ``OrbitError`` for pods kubectl would refuse (unmanaged pods unless ``force``,
        emptyDir data unless ``delete_emptydir_data``)."""
        return await drain_node(
            self.store,
            self.clock,
            node,
            timeout_s=timeout_s,
            grace_s=grace_s,
            force=force,
            delete_emptydir_data=delete_emptydir_data,
        )

    def _agent_for(self, node: Node) -> NodeAgent:
        runtime = node.resolved_runtime(os.path.join(self.state_dir, "process"), self.clock)
        return NodeAgent(
            node,
            runtime,
            store=self.store,
            clock=self.clock,
            cluster_id=self.cluster_id,
            state_dir=os.path.join(self.state_dir, "nodes", node.name),
            ports=self._sim_ports if runtime.kind == "sim" else self._host_ports,
            backoff=self.restart_backoff,
        )

    # -- stopping (on exit) ----------------------------------------------------------

    async def _stop_nodes(self) -> None:
        """Stop the node agents; unless ``keep_running``, stop every pod they run."""
        async with anyio.create_task_group() as group:
            for agent in self.agents.values():
                group.start_soon(self._stop_node, agent)

    async def _stop_node(self, agent: NodeAgent) -> None:
        await agent.shutdown(stop=not self.keep_running, grace_cap_s=self.stop_grace_s)

    async def _close_runtimes(self) -> None:
        closed: set[int] = set()
        for agent in self.agents.values():
            if id(agent.runtime) in closed:
                continue
            closed.add(id(agent.runtime))
            try:
                await agent.runtime.close()
            except Exception:
                _log.exception("closing the runtime of node %s failed", agent.name)
