"""One pod watch for every node agent of a cluster, dispatched by ``spec.nodeName``.

Kubernetes runs a watch per kubelet (filtered on its node name); in one process that
would be a watch per node, and a thousand simulated nodes would each filter every pod
event. The :class:`PodDispatcher` is the one informer instead: it lists the pods, then
watches from the list's resourceVersion, and hands each bound pod to the agent of its
node (a dict lookup). When the watch expires (it fell behind) it lists again and tells
each agent which of its pods are gone.
"""

from __future__ import annotations

import logging
from typing import Protocol

import anyio
import anyio.abc

from orbit.api import Pod
from orbit.errors import ResourceExpired
from orbit.store import Store

__all__ = ["PodDispatcher", "PodSink"]

_log = logging.getLogger("orbit.node")


class PodSink(Protocol):
    """What the dispatcher feeds: a node agent."""

    @property
    def name(self) -> str: ...

    def on_pod(self, pod: Pod) -> None: ...

    def on_pod_gone(self, uid: str) -> None: ...


class PodDispatcher:
    """The shared pod informer (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._agents: dict[str, PodSink] = {}
        self._where: dict[str, str] = {}  # pod uid -> node it was dispatched to
        self._running = False

    def add(self, agent: PodSink) -> None:
        """Start feeding ``agent`` the pods bound to its node (those already bound
        at once)."""
        self._agents[agent.name] = agent
        if not self._running:
            return
        bound = self.store.list(Pod, field_selector={"spec.nodeName": agent.name})
        for pod in bound.items:
            self._where[pod.metadata.uid] = agent.name
            agent.on_pod(pod)

    def remove(self, name: str) -> None:
        """Stop feeding the agent of node ``name``."""
        self._agents.pop(name, None)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """List, then watch and dispatch, until cancelled."""
        resource_version = self._relist()
        self._running = True
        task_status.started()
        while True:
            try:
                async with self.store.watch(Pod, resource_version=resource_version) as watch:
                    async for event in watch:
                        if event.type == "DELETED":
                            self._gone(event.object)
                        else:
                            self._dispatch(event.object)
            except ResourceExpired:
                _log.warning("the node agents' pod watch expired: listing again")
                resource_version = self._relist()

    def _dispatch(self, pod: Pod) -> None:
        node = pod.spec.node_name
        uid = pod.metadata.uid
        before = self._where.get(uid)
        if before is not None and before != node:
            self._gone(pod)  # moved (should not happen to a bound pod, but be safe)
        if not node:
            return
        agent = self._agents.get(node)
        if agent is None:
            return
        self._where[uid] = node
        agent.on_pod(pod)

    def _gone(self, pod: Pod) -> None:
        uid = pod.metadata.uid
        node = self._where.pop(uid, None) or pod.spec.node_name
        agent = self._agents.get(node)
        if agent is not None:
            agent.on_pod_gone(uid)

    def _relist(self) -> str:
        listed = self.store.list(Pod)
        seen: set[str] = set()
        for pod in listed.items:
            seen.add(pod.metadata.uid)
            self._dispatch(pod)
        for uid, node in list(self._where.items()):
            if uid not in seen:
                del self._where[uid]
                agent = self._agents.get(node)
                if agent is not None:
                    agent.on_pod_gone(uid)
        return listed.resource_version
