"""The one seam through which orbit reads time.

Everything that needs "now" (timestamps on objects, backoff deadlines, probe periods)
asks a :class:`Clock`; nothing else calls ``time.time()`` or sleeps directly. The
simulator swaps in a virtual clock, so the same control loops run a day of cluster
life in seconds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol

import anyio

__all__ = ["Clock", "ManualClock", "RealClock", "current_clock", "to_datetime"]


class Clock(Protocol):
    """What orbit needs of time: wall time for timestamps, a monotonic reading for
    durations, and a way to sleep."""

    def now(self) -> float:
        """Seconds since the Unix epoch (wall time, for object timestamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations and deadlines)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for ``seconds`` of this clock's time."""
        ...


class RealClock:
    """The machine's clock."""

    def now(self) -> float:
        return time.time()  # noqa: TID251 - the clock module is the one place allowed

    def monotonic(self) -> float:
        """``time.monotonic()``: the reading asyncio's default loop uses for its timers."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def current_clock() -> Clock:
    """The clock of the running event loop: virtual under ``orbit.simulate``, else real.

    A simulation loop (``orbit.simulation.SimulationLoop``) carries its virtual clock as
    the attribute ``orbit_clock``; this looks it up by duck typing, so this module stays
    free of the simulator. Outside a running loop, or on an ordinary loop, it is a
    :class:`RealClock`. The Cluster uses it as its default clock, which is what lets the
    whole control plane run unmodified in virtual time.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return RealClock()
    clock: Clock | None = getattr(loop, "orbit_clock", None)
    return clock if clock is not None else RealClock()


class ManualClock:
    """A clock that moves only when told to: for unit tests of pure timestamp logic.

    ``sleep`` advances the clock by the requested amount at once.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._start = start

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._start

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await anyio.lowlevel.checkpoint()


def to_datetime(epoch_seconds: float) -> datetime:
    """A timezone-aware UTC datetime for an epoch reading of a :class:`Clock`."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)
