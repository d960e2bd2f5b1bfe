"""``simulate``: run a coroutine function on a fresh simulation loop, like ``asyncio.run``.

The entry point for what-if runs and benchmarks: everything ``main`` starts, a Cluster
included, sees virtual time (the Cluster's default clock is the running loop's virtual
clock, see :func:`orbit.clock.current_clock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar, TypeVarTuple

from ._clock import SIMULATION_START
from ._loop import SimulationLoop

__all__ = ["simulate"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_library: ContextVar[str | None] | None
try:  # sniffio is optional (newer anyio runs without it): a dynamic import keeps it so
    _library = importlib.import_module("sniffio").current_async_library_cvar
except ImportError:  # anyio runs without sniffio, and then asks asyncio directly
    _library = None

_GEN0_THRESHOLD = 50_000
"""Allocations between young collections while simulating (CPython's default: 700)."""


def simulate(
    main: Callable[[*_Ts], Coroutine[Any, Any, _T]],
    *args: *_Ts,
    start: float = SIMULATION_START,
    seed: int = 0,
) -> _T:
    """Run ``main(*args)`` to completion in virtual time and return its result.

    Like ``asyncio.run`` (and ``anyio.run`` on the asyncio backend): a new
    :class:`SimulationLoop` is made, ``main`` runs on it, leftover tasks are cancelled,
    async generators and the default executor are shut down and the loop is closed. A
    day of ``anyio.sleep`` takes as long as the work done in it.

    Args:
        main: a coroutine function; anyio (asyncio backend) works inside unmodified.
        start: the epoch second virtual time 0 stands for (default 2026-01-01Z).
        seed: the simulation's seed (``loop.random``; SimRuntime mixes it into its
            draws); the same seed and the same ``main`` give the same run.

    While it runs, the garbage collector's youngest-generation threshold is raised
    (restored afterwards): a simulated cluster allocates millions of short-lived
    objects, and the default threshold made collection a third of the run time. The
    async library is named to sniffio up front, as ``anyio.run`` does: otherwise anyio
    sniffs for it (through ``asyncio.current_task``) every time it makes an Event or
    a cancel scope, a tenth of a simulation's time.
    """

    def factory() -> SimulationLoop:
        return SimulationLoop(start=start, seed=seed)

    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], _GEN0_THRESHOLD), *thresholds[1:])
    try:
        with _named_library(), asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main(*args))
    finally:
        gc.set_threshold(*thresholds)


@contextlib.contextmanager
def _named_library() -> Iterator[None]:
    """Tell sniffio (when installed) that asyncio runs, for the runner's context."""
    if _library is None:
        yield
        return
    token = _library.set("asyncio")
    try:
        yield
    finally:
        _library.reset(token)
