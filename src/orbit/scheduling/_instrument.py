"""Trace hooks: optional callbacks on scheduling decisions (trio's ``Instrument``).

Subclass :class:`SchedulingInstrument`, override the hooks you need and pass instances
to the framework; benchmarks, tracing and metrics attach without edits to core code.
Hooks a subclass does not override cost nothing: the framework only calls overridden
ones. A hook must not raise or change what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from orbit.api import Pod

from ._status import Status

if TYPE_CHECKING:
    from ._result import ScheduleResult

__all__ = ["SchedulingInstrument"]


class SchedulingInstrument:
    """Base class of scheduling instruments: every hook does nothing."""

    def before_cycle(self, profile: str, pod: Pod) -> None:
        """A scheduling cycle for ``pod`` starts."""

    def after_cycle(self, profile: str, pod: Pod, result: ScheduleResult) -> None:
        """The cycle ended: a node was chosen, or ``result.message`` says why not."""

    def after_reserve(self, profile: str, pod: Pod, node_name: str, status: Status) -> None:
        """Reserve plugins ran for ``pod`` on ``node_name``."""

    def after_unreserve(self, profile: str, pod: Pod, node_name: str) -> None:
        """A reservation was undone (a reserve plugin or the binding failed)."""

    def after_bind(self, profile: str, pod: Pod, node_name: str, status: Status) -> None:
        """Bind plugins ran."""


def hooks(instruments: Sequence[Any], name: str) -> list[Callable[..., None]]:
    """The bound ``name`` hooks of the instruments that override it."""
    base = getattr(SchedulingInstrument, name)
    found = []
    for instrument in instruments:
        method = getattr(type(instrument), name, None)
        if method is not None and method is not base:
            found.append(getattr(instrument, name))
    return found
