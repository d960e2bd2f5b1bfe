"""The cluster's heartbeat loop: one loop for every node agent, not one per node.

Every ``period_s`` (Kubernetes' lease renewal: 10 s) it pings each distinct runtime
once, renews the lease (:class:`orbit.store.Leases`) of every node whose runtime
answered and keeps each node's Ready condition in the store: ``True`` while its runtime
answers, ``False`` (``KubeletNotReady``, "container runtime is down: ...") while it
does not. The condition is written only when it changes, or when a node the lifecycle
controller had declared lost is back.

Pings of real backends run concurrently, each within a timeout, so one hung Docker
engine delays nobody else. Simulated nodes (:class:`~orbit.runtimes.SimRuntime`) answer
from memory, and their answers change only when one of them fails or recovers
(``SimRuntime.reachability_epoch``): they are pinged again only then, and otherwise a
round renews their leases from the answers it remembers. A day of a 1,000-node
simulation is 8,640 rounds; each costs little more than the lease renewals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import filterfalse
from operator import attrgetter

import anyio
import anyio.abc

from orbit.clock import Clock
from orbit.runtimes import Runtime, SimRuntime
from orbit.store import Leases

from ._agent import NodeAgent

__all__ = ["Heartbeat"]

_log = logging.getLogger("orbit.node")
_reported = attrgetter("ready_reported")


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
        self._sim: dict[int, tuple[SimRuntime, list[NodeAgent]]] = {}
        self._survey: _SimSurvey | None = None  # the simulated nodes' last answers

    def add(self, agent: NodeAgent) -> None:
        """Beat for ``agent`` from the next round on."""
        runtime = agent.runtime
        if isinstance(runtime, SimRuntime):
            self._sim.setdefault(id(runtime), (runtime, []))[1].append(agent)
        else:
            self._groups.setdefault(id(runtime), (runtime, []))[1].append(agent)
        self._survey = None

    def remove(self, agent: NodeAgent) -> None:
        """Stop beating for ``agent``."""
        for groups in (self._sim, self._groups):
            group = groups.get(id(agent.runtime))
            if group is not None and agent in group[1]:
                group[1].remove(agent)
                if not group[1]:
                    del groups[id(agent.runtime)]
        self._survey = None

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
        if self._sim:
            survey = self._survey
            if survey is None or survey.epoch != SimRuntime.reachability_epoch:
                survey = self._survey = await self._survey_sim()
            for agents, problem in survey.down:
                self._down(agents, problem)
            self._up(survey.up, survey.names)
        if self._groups:
            async with anyio.create_task_group() as tasks:
                for runtime, agents in list(self._groups.values()):
                    tasks.start_soon(self._ping_remote, runtime, agents)

    async def _survey_sim(self) -> _SimSurvey:
        """Ping every simulated runtime (from memory) and remember the answers."""
        survey = _SimSurvey(SimRuntime.reachability_epoch)
        for runtime, agents in list(self._sim.values()):
            try:
                await runtime.ping()
            except Exception as error:
                survey.down.append((agents, f"container runtime is down: {error}"))
            else:
                survey.up.extend(agents)
        survey.names = [agent.name for agent in survey.up]
        return survey

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

    def _up(self, agents: Sequence[NodeAgent], names: Sequence[str] | None = None) -> None:
        """Renew the leases of nodes whose runtime answered; report those not known
        Ready (or back from being declared lost) Ready."""
        if names is None:
            names = [agent.name for agent in agents]
        back = self.leases.renew_many(names, self.clock.monotonic())
        for agent in filterfalse(_reported, agents):  # the usual round: none
            if agent.name not in back:
                agent.set_ready(True)
        if back:
            for agent in agents:
                if agent.name in back:
                    agent.set_ready(True, force=True)

    def _down(self, agents: Sequence[NodeAgent], problem: str) -> None:
        for agent in agents:
            agent.set_ready(False, problem)


class _SimSurvey:
    """Which simulated nodes answered, as of one ``SimRuntime.reachability_epoch``."""

    __slots__ = ("down", "epoch", "names", "up")

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.up: list[NodeAgent] = []
        self.names: list[str] = []
        self.down: list[tuple[list[NodeAgent], str]] = []
