"""The virtual clock: :class:`orbit.clock.Clock` read off a simulation loop's time.

The loop owns virtual time (``loop.time()``, which only its selector moves); this object
only translates it for orbit: ``monotonic()`` is the loop's time and ``now()`` the epoch
second it stands for. Sleeping is ``anyio.sleep``, which under the simulation loop
returns as soon as every other task is blocked and the clock has jumped.
"""

from __future__ import annotations

import asyncio

import anyio

__all__ = ["SIMULATION_START", "VirtualClock"]

SIMULATION_START = 1_767_225_600.0
"""2026-01-01T00:00:00Z: the epoch second a simulation starts at unless told otherwise."""


class VirtualClock:
    """The :class:`orbit.clock.Clock` of a simulation loop.

    ``monotonic()`` starts at 0.0 when the loop is made and moves only when the loop
    jumps or runs; ``now()`` is ``start + monotonic()``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, start: float) -> None:
        self._loop = loop
        self.start = start

    def now(self) -> float:
        """Virtual seconds since the Unix epoch."""
        return self.start + self._loop.time()

    def monotonic(self) -> float:
        """Virtual seconds since the simulation began."""
        return self._loop.time()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time (``anyio.sleep`` on the simulation loop)."""
        await anyio.sleep(seconds)
