"""An asyncio event loop on a virtual clock that jumps whenever every task is blocked.

This is the approach of trio's ``MockClock(autojump_threshold=0)`` and kopf's
``looptime``, done through the one seam asyncio offers for it: the selector. Each turn
of the loop asks the selector to wait for I/O for ``timeout`` seconds, the time left
until the next timer (``None`` when there is none, ``0`` when callbacks are ready). The
:class:`_VirtualSelector` polls the real file descriptors without waiting and, when
nothing is ready, moves the virtual clock forward by ``timeout`` instead of sleeping; the
loop then finds its next timer due and runs it. ``loop.time()`` reads the virtual clock,
so ``asyncio.sleep``, ``call_later``, ``asyncio.timeout`` and everything anyio builds on
them (``anyio.sleep``, ``move_on_after``, ``fail_after``) run in virtual time unmodified.

Real I/O keeps working: sockets are still polled on every turn, and the virtual clock
only moves when none of them is ready. Two kinds of real work are waited for in wall
time instead of being jumped over, because their results come from outside the loop at
a pace the loop cannot know: calls running in an executor (``loop.run_in_executor``,
``asyncio.to_thread``, ``loop.getaddrinfo``) and child processes that have not exited.
While any is in flight the loop sleeps really and the virtual clock advances by the wall
time that passed. Work in anyio's own worker threads (``anyio.to_thread.run_sync``) is
not seen: time may jump while it runs. With no timer left and nothing ready the loop
blocks as an ordinary one would (a simulation that waits for nothing at all hangs, as it
would under trio's autojump).

A run is deterministic when its inputs are: timers due at the same instant run in the
order they were scheduled, and nothing here reads the wall clock unless real work is in
flight.
"""

from __future__ import annotations

import asyncio
import os
import random
import selectors
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar, TypeVarTuple

from ._clock import SIMULATION_START, VirtualClock

__all__ = ["SimulationLoop"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_FileObj = Any  # selectors' FileDescriptorLike: an int or an object with fileno()


class _VirtualSelector(selectors.BaseSelector):
    """A selector that turns a wait with nothing to wait for into a jump of virtual time.

    It delegates registrations to a real selector. ``now`` is the virtual clock reading
    the loop returns from ``time()``; only :meth:`select` moves it, and only forwards.
    """

    def __init__(self, real: selectors.BaseSelector, *, io_grace_s: float) -> None:
        self._real = real
        self._own_fds = 0
        self._io_grace_s = io_grace_s
        self.now = 0.0
        self.jumps = 0
        self.real_work_in_flight: Callable[[], bool] = lambda: False

    def seal(self) -> None:
        """Mark what is registered now (the loop's self-pipe) as the loop's own."""
        self._own_fds = len(self._real.get_map())

    def register(self, fileobj: _FileObj, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: _FileObj) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: _FileObj, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[_FileObj, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Ready I/O; with none, advance the virtual clock by ``timeout`` and return []."""
        if timeout is None or timeout <= 0:
            return self._real.select(timeout)
        ready = self._real.select(0)
        if ready:
            return ready
        if self.real_work_in_flight():
            return self._wait_really(timeout)
        if len(self._real.get_map()) > self._own_fds:
            ready = self._settle_sockets(timeout)
            if ready:
                return ready
        self.now += timeout
        self.jumps += 1
        return []

    def _wait_really(self, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
        """Wait in wall time; the virtual clock follows the wall clock meanwhile."""
        began = time.monotonic()
        ready = self._real.select(timeout)
        self.now += min(timeout, time.monotonic() - began)
        return ready

    def _settle_sockets(self, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
        """Give the kernel a moment to deliver loopback data before time jumps.

        Loopback delivery normally completes inside the sender's system call; yielding
        the CPU once covers the case where it was deferred to a kernel thread. A
        positive ``io_grace_s`` waits that long in wall time (for slower real peers).
        """
        if self._io_grace_s > 0:
            return self._real.select(min(timeout, self._io_grace_s))
        os.sched_yield()
        return self._real.select(0)


class SimulationLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is virtual and jumps to the next deadline.

    Use it through :func:`orbit.simulate`, or as a loop factory:
    ``anyio.run(main, backend_options={"loop_factory": SimulationLoop})`` or
    ``asyncio.Runner(loop_factory=SimulationLoop)``. Virtual time starts at 0.0; the
    epoch it stands for is ``start`` (``orbit_clock.now()`` is ``start + time()``).

    Attributes:
        orbit_clock: the :class:`VirtualClock` reading this loop (found by
            ``orbit.clock.current_clock()``, so a Cluster built inside uses it).
        orbit_seed: the simulation's seed (SimRuntime mixes it into its draws).
        random: a ``random.Random(seed)`` for code that wants the simulation's stream.
    """

    def __init__(
        self, *, start: float = SIMULATION_START, seed: int = 0, io_grace_s: float = 0.0
    ) -> None:
        """Args:
        start: the epoch second virtual time 0 stands for (default 2026-01-01Z).
        seed: the simulation's seed.
        io_grace_s: wall seconds to wait for real sockets before each jump of time
            when any are registered (0: only yield the CPU once; see module notes).
        """
        self._virtual = _VirtualSelector(selectors.DefaultSelector(), io_grace_s=io_grace_s)
        super().__init__(self._virtual)
        self._virtual.seal()
        self._virtual.real_work_in_flight = self._real_work_in_flight
        self._executor_jobs = 0
        self._children: list[asyncio.SubprocessTransport] = []
        self.orbit_clock = VirtualClock(self, start)
        self.orbit_seed = seed
        self.random = random.Random(seed)

    def time(self) -> float:
        """Virtual seconds since the loop was made."""
        return self._virtual.now

    @property
    def jumps(self) -> int:
        """How many times the virtual clock jumped ahead (for benchmarks)."""
        return self._virtual.jumps

    def run_in_executor(
        self,
        executor: Executor | None,
        func: Callable[[*_Ts], _T],
        *args: *_Ts,
    ) -> asyncio.Future[_T]:
        """As asyncio's, and the virtual clock waits in wall time until it is done."""
        future = super().run_in_executor(executor, func, *args)
        self._executor_jobs += 1
        future.add_done_callback(self._executor_job_done)
        return future

    def _executor_job_done(self, _future: asyncio.Future[Any]) -> None:
        self._executor_jobs -= 1

    async def _make_subprocess_transport(
        self, *args: Any, **kwargs: Any
    ) -> asyncio.SubprocessTransport:
        """As asyncio's, and the virtual clock waits in wall time while the child lives."""
        # asyncio's private hook (not in typeshed) through which every child is made
        make = super()._make_subprocess_transport  # type: ignore[misc]
        transport: asyncio.SubprocessTransport = await make(*args, **kwargs)
        self._children.append(transport)
        return transport

    def _real_work_in_flight(self) -> bool:
        if self._children:
            self._children = [c for c in self._children if c.get_returncode() is None]
        return self._executor_jobs > 0 or bool(self._children)
