"""Expanders: which node pool a scale-up grows, when several could host the pods.

Scale-up planning (:mod:`orbit.autoscaling._nodepool_plan`) gives one :class:`Option`
per pool that can host some of the pending pods: how many nodes it needs and which
pods they would run. An expander picks one, as cluster-autoscaler's ``--expander``
does. Every expander here is a pure function of the options, and every tie falls
through to another rule and finally to the pool name, so the same options always give
the same choice (cluster-autoscaler ends its chains in ``random``):

- ``least-waste`` (cluster-autoscaler's default since 1.22): the option leaving the
  least of its new nodes' cpu and memory unrequested, as cluster-autoscaler scores it:
  ``(avail_cpu - requested_cpu) / avail_cpu + (avail_mem - requested_mem) / avail_mem``
  over the option's nodes and pods; ties: fewest nodes.
- ``fewest-nodes`` (cluster-autoscaler's ``least-nodes``): the fewest new nodes; ties:
  least waste.
- ``cheapest`` (a plain form of ``price``): the lowest ``cost_per_hour x nodes``; ties:
  fewest nodes, then least waste.
- ``most-pods``: the option that schedules the most pods; ties: least waste.

A pod's request is Kubernetes' ``PodRequests`` (the larger of the app containers' sum
and the largest init container), as the scheduler counts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs

from orbit.api import CPU, MEMORY, Pod
from orbit.scheduling import pod_resources

__all__ = [
    "EXPANDERS",
    "Expander",
    "Option",
    "cheapest",
    "fewest_nodes",
    "least_waste",
    "most_pods",
    "resolve_expander",
    "waste",
]


@attrs.frozen
class Option:
    """Growing ``pool`` by ``node_count`` nodes would schedule ``pods``.

    ``node_cpu_milli`` / ``node_memory_milli`` are one new node's allocatable cpu
    (millicores) and memory (milli-bytes); ``cost_per_hour`` one node's price.
    """

    pool: str
    node_count: int
    pods: tuple[Pod, ...]
    node_cpu_milli: int
    node_memory_milli: int
    cost_per_hour: float = 0.0

    @property
    def cost(self) -> float:
        """What the new nodes cost per hour together."""
        return self.cost_per_hour * self.node_count


Expander = Callable[[Sequence[Option]], Option]
"""Picks one of several (non-empty) options."""


def _wasted(available: int, requested: int) -> float:
    return 0.0 if available <= 0 else (available - requested) / available


def waste(option: Option) -> float:
    """cluster-autoscaler's least-waste score: the unrequested fraction of the new
    nodes' cpu plus that of their memory (0 for a resource the nodes lack)."""
    cpu = sum(pod_resources(pod).get(CPU) for pod in option.pods)
    memory = sum(pod_resources(pod).get(MEMORY) for pod in option.pods)
    return _wasted(option.node_cpu_milli * option.node_count, cpu) + _wasted(
        option.node_memory_milli * option.node_count, memory
    )


def _pick(options: Sequence[Option], key: Callable[[Option], tuple[object, ...]]) -> Option:
    if not options:
        raise ValueError("an expander needs at least one option")
    return min(options, key=lambda option: (*key(option), option.pool))


def least_waste(options: Sequence[Option]) -> Option:
    """The option wasting the least cpu + memory; ties: fewest nodes, pool name."""
    return _pick(options, lambda o: (waste(o), o.node_count))


def fewest_nodes(options: Sequence[Option]) -> Option:
    """The option adding the fewest nodes; ties: least waste, pool name."""
    return _pick(options, lambda o: (o.node_count, waste(o)))


def cheapest(options: Sequence[Option]) -> Option:
    """The option costing the least per hour; ties: fewest nodes, least waste."""
    return _pick(options, lambda o: (o.cost, o.node_count, waste(o)))


def most_pods(options: Sequence[Option]) -> Option:
    """The option scheduling the most pods; ties: least waste, fewest nodes."""
    return _pick(options, lambda o: (-len(o.pods), waste(o), o.node_count))


EXPANDERS: Final[Mapping[str, Expander]] = {
    "cheapest": cheapest,
    "fewest-nodes": fewest_nodes,
    "least-waste": least_waste,
    "most-pods": most_pods,
}


def resolve_expander(expander: str | Expander) -> Expander:
    """An expander by name (``least-waste``, ``fewest-nodes``, ``cheapest``,
    ``most-pods``), or the callable itself."""
    if callable(expander):
        return expander
    try:
        return EXPANDERS[expander]
    except KeyError:
        known = ", ".join(sorted(EXPANDERS))
        raise ValueError(f"unknown expander {expander!r} (known: {known})") from None
