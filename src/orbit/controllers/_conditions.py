"""One status condition set in a list, as Kubernetes' ``meta.SetStatusCondition`` does
it: the condition of that type is replaced (or appended), and its
``lastTransitionTime`` moves only when its status changes. Every condition kind orbit
keeps this way (PodDisruptionBudget's, HorizontalPodAutoscaler's) is an attrs class
with ``type``, ``status`` and ``last_transition_time``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

__all__ = ["set_status_condition"]

C = TypeVar("C")


def set_status_condition(conditions: Sequence[C], wanted: C, when: datetime) -> tuple[C, ...]:
    """``conditions`` with ``wanted`` in place of the condition of its type (appended
    when there is none); ``when`` becomes its transition time if the status changed (or
    had no time), else the old time is kept."""
    want: Any = wanted
    items = tuple(conditions)
    for i, old in enumerate(items):
        current: Any = old
        if current.type == want.type:
            moved = current.status != want.status or current.last_transition_time is None
            since = when if moved else current.last_transition_time
            return (*items[:i], attrs.evolve(want, last_transition_time=since), *items[i + 1 :])
    return (*items, attrs.evolve(want, last_transition_time=when))
