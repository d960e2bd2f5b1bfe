"""The proxy's short-lived tasks: one per connection being dialled, one per drain.

Connections are accepted in a reader callback of the event loop, and anyio cannot be
entered from a plain callback on every loop (uvloop's, for one), so these are asyncio
tasks, kept in a set the proxy owns: a failure is logged, and when the proxy stops it
cancels them all and waits for them (nothing is left running behind it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["TaskSet"]

_log = logging.getLogger("orbit.net")


class TaskSet:
    """Tasks started with :meth:`spawn`, until they end or :meth:`aclose` ends them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, function: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        """Run ``function(*args)`` in a task of the running loop."""
        task = asyncio.get_running_loop().create_task(function(*args))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            _log.error("a service proxy task failed", exc_info=exc)

    async def aclose(self) -> None:
        """Cancel every task and wait until all have ended."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)
