"""Named placement strategies, and the registry users add their own to.

A strategy takes a :class:`PlacementProblem` (integers only) and returns an assignment:
per item, a node index or ``None``. It may instead return a
:class:`PlacementSolution`, which also carries a proved lower bound (``optimal``
does). ``pack()`` looks strategies up here by name, checks every answer against the
problem's constraints and measures it, so a strategy only has to place.

Built in:

=============  ================================================================
``first-fit``  items in the given order, each on the lowest-index node it fits
``best-fit``   the node left with the least capacity, normalised per dimension
``spread``     the least allocated node (Kubernetes' LeastAllocated)
``balanced``   the most even utilisation across dimensions (BalancedAllocation)
``ffd``        first-fit decreasing: items by decreasing normalised size
``optimal``    CP-SAT, warm-started by the better of ffd and best-fit (see _cpsat)
=============  ================================================================

Greedy strategies are deterministic without a seed: ties go to the lowest node index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ._greedy import Rule, decreasing_order, greedy
from ._placement import PlacementProblem, PlacementSolution

__all__ = ["Strategy", "get_strategy", "register_strategy", "strategies", "unregister_strategy"]


class Strategy(Protocol):
    """Places the items of an integer problem.

    Called as ``strategy(problem, seed=..., time_limit_s=...)``; returns one entry per
    item (a node index or ``None``), or a :class:`PlacementSolution`. ``seed`` is for
    strategies that draw random numbers (same seed, same answer); ``time_limit_s`` is
    the caller's budget. The answer must respect every constraint of ``problem``.
    """

    def __call__(
        self, problem: PlacementProblem, /, *, seed: int, time_limit_s: float
    ) -> Sequence[int | None] | PlacementSolution: ...


def _greedy_strategy(rule: Rule, *, decreasing: bool = False) -> Strategy:
    def place(
        problem: PlacementProblem, /, *, seed: int, time_limit_s: float
    ) -> Sequence[int | None]:
        order = decreasing_order(problem) if decreasing else range(problem.num_items)
        return greedy(problem, order, rule)

    return place


def _optimal(problem: PlacementProblem, /, *, seed: int, time_limit_s: float) -> PlacementSolution:
    from ._cpsat import solve_placement  # noqa: PLC0415 - keeps ortools out of import orbit

    return solve_placement(
        problem, objective="fewest-nodes", time_limit_s=time_limit_s, seed=seed, hint=None
    )


_BUILTIN: dict[str, Strategy] = {
    "first-fit": _greedy_strategy("first"),
    "best-fit": _greedy_strategy("best"),
    "spread": _greedy_strategy("least"),
    "balanced": _greedy_strategy("balanced"),
    "ffd": _greedy_strategy("first", decreasing=True),
    "optimal": _optimal,
}
_REGISTRY: dict[str, Strategy] = dict(_BUILTIN)


def register_strategy(name: str, func: Strategy, *, replace: bool = False) -> None:
    """Make ``func`` available to ``pack(strategy=name)``.

    Raises:
        ValueError: ``name`` is empty, or taken and ``replace`` is False.
    """
    if not name:
        raise ValueError("a strategy needs a name")
    if name in _REGISTRY and not replace:
        raise ValueError(f"strategy {name!r} is already registered (pass replace=True)")
    _REGISTRY[name] = func


def unregister_strategy(name: str) -> None:
    """Remove a user strategy (built-in ones come back as they were)."""
    if name in _BUILTIN:
        _REGISTRY[name] = _BUILTIN[name]
    else:
        _REGISTRY.pop(name, None)


def strategies() -> tuple[str, ...]:
    """The registered strategy names, sorted."""
    return tuple(sorted(_REGISTRY))


def get_strategy(name: str) -> Strategy:
    """The strategy registered as ``name``.

    Raises:
        ValueError: no such strategy; the message lists the registered names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(strategies())
        raise ValueError(f"unknown placement strategy {name!r}; registered: {known}") from None
