"""The cluster's heartbeat loop: one loop for every node agent, not one per node.

Every ``period_s`` (Kubernetes' lease renewal: 10 s) it pings each distinct runtime
once, renews the lease (:class:`orbit.store.Leases`) of every node whose runtime
answered and keeps each node's Ready condition in the store: ``True`` while its runtime
answers, ``False`` (``KubeletNotReady``, "container runtime is down: ...") while it
does not. The condition is written only when it changes, or when a node the lifecycle
controller had declared lost is back.

Pings of real backends run concurrently, each within a timeout, so one hung Docker
engine delays nobody else; the simulator's pings (``kind == "sim"``) answer from memory
and are awaited in turn, which keeps a 1,000-node simulation's heartbeats cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import anyio
import anyio.abc

from orbit.clock import Clock
from orbit.runtimes import Runtime
from orbit.store import Leases

from ._agent import NodeAgent

__all__ = ["Heartbeat"]

_log = logging.getLogger("orbit.node")


class Heartbeat:
    """Renews the leases of the cluster's nodes (see the module docstring).

    Args:
        leases: the cluster's lease table.
        clock: the cluster's clock (leases hold ``clock.monotonic()`` readings).
        period_s: time between rounds.
        timeout_s: how long a runtime may take to answer a ping.
    """

    def __init__(
        self,
        leases: Leases,
        clock: Clock,
        *,
        period_s: float = 10.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.leases = leases
        self.clock = clock
        self.period_s = period_s
        self.timeout_s = timeout_s
        self._groups: dict[int, tuple[Runtime, list[NodeAgent]]] = {}

    def add(self, agent: NodeAgent) -> None:
        """Beat for ``agent`` from the next round on."""
        self._groups.setdefault(id(agent.runtime), (agent.runtime, []))[1].append(agent)

    def remove(self, agent: NodeAgent) -> None:
        """Stop beating for ``agent``."""
        group = self._groups.get(id(agent.runtime))
        if group is not None and agent in group[1]:
            group[1].remove(agent)
            if not group[1]:
                del self._groups[id(agent.runtime)]

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Beat every ``period_s`` until cancelled."""
        task_status.started()
        while True:
            await self.clock.sleep(self.period_s)
            await self.beat()

    async def beat(self) -> None:
        """One round: ping each runtime once, renew and report for its nodes."""
        answered: list[NodeAgent] = []
        remote = []
        for runtime, agents in list(self._groups.values()):
            if runtime.kind != "sim":
                remote.append((runtime, agents))
                continue
            try:
                await runtime.ping()
            except Exception as error:
                self._down(agents, f"container runtime is down: {error}")
            else:
                answered.extend(agents)
        self._up(answered)
        if remote:
            async with anyio.create_task_group() as tasks:
                for runtime, agents in remote:
                    tasks.start_soon(self._ping_remote, runtime, agents)

    async def _ping_remote(self, runtime: Runtime, agents: Sequence[NodeAgent]) -> None:
        problem = f"container runtime did not answer within {self.timeout_s:g}s"
        with anyio.move_on_after(self.timeout_s):
            try:
                await runtime.ping()
            except Exception as error:
                problem = f"container runtime is down: {error}"
            else:
                problem = ""
        if problem:
            self._down(agents, problem)
        else:
            self._up(agents)

    def _up(self, agents: Sequence[NodeAgent]) -> None:
        """Renew the leases of nodes whose runtime answered; report those not known
        Ready (or back from being declared lost) Ready."""
        back = self.leases.renew_many([agent.name for agent in agents], self.clock.monotonic())
        for agent in agents:
            if not agent.ready_reported or agent.name in back:
                agent.set_ready(True, force=agent.name in back)

    def _down(self, agents: Sequence[NodeAgent], problem: str) -> None:
        for agent in agents:
            agent.set_ready(False, problem)
