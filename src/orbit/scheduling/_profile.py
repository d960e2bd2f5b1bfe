"""Profiles: which plugins a scheduler runs, with which weights and arguments.

A pod picks its profile by ``spec.schedulerName``. orbit ships four:

``default`` (also ``default-scheduler``, the name pods get by default)
    Kubernetes' default plugins in Kubernetes' order and weights, scoring by
    ``LeastAllocated``, plus GPU device assignment and the GPU-avoidance policy.
``binpack``
    Fill nodes before opening new ones: ``MostAllocated`` over cpu, memory and GPUs,
    no balanced-allocation score.
``spread``
    Keep nodes evenly loaded: ``LeastAllocated`` weighted up, with balanced allocation.
``optimal``
    CP-SAT placement of windows of pending pods (``batch_strategy="optimal"``, wired by
    the scheduler loop); a pod scheduled on its own uses the ``binpack`` plugins.

Plugins are enabled at every extension point they implement (Kubernetes'
``multiPoint``); ``disabled`` switches one off at a single point, e.g.
``{"score": frozenset({"TaintToleration"})}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from orbit.api import CPU, GPU, MEMORY

from .plugins._allocation import ResourceSpec
from .plugins._fit import NodeResourcesFitArgs, ScoringStrategy
from .plugins._gpu import GPU_AVOIDANCE_WEIGHT

__all__ = ["PluginRef", "Profile", "default_profiles"]


@attrs.frozen
class PluginRef:
    """A plugin enabled in a profile, with its score weight (1 when not scoring)."""

    name: str
    weight: int = 1

    def __attrs_post_init__(self) -> None:
        if self.weight < 1:
            raise ValueError(f"plugin {self.name!r}: weight must be at least 1")


def _refs(plugins: Iterable[PluginRef | str]) -> tuple[PluginRef, ...]:
    return tuple(p if isinstance(p, PluginRef) else PluginRef(p) for p in plugins)


def _disabled(value: Mapping[str, Iterable[str]]) -> Mapping[str, frozenset[str]]:
    return {point: frozenset(names) for point, names in value.items()}


@attrs.frozen
class Profile:
    """A named scheduler configuration (Kubernetes' ``KubeSchedulerProfile``).

    ``plugins`` in order (the order filters and scores run in), each a PluginRef or a
    bare name (weight 1); ``disabled`` maps an extension point to plugins switched off
    there; ``plugin_args`` maps a plugin name to its args (the plugin's args object or
    a Kubernetes-style mapping); ``percentage_of_nodes_to_score`` bounds how many
    feasible nodes are scored (0: Kubernetes' adaptive default); ``batch_strategy``
    names a ``pack()`` strategy the scheduler loop uses to place pending pods in
    windows ("" for one pod at a time).
    """

    name: str
    plugins: tuple[PluginRef, ...] = attrs.field(converter=_refs)
    disabled: Mapping[str, frozenset[str]] = attrs.field(factory=dict, converter=_disabled)
    plugin_args: Mapping[str, Any] = attrs.field(factory=dict)
    percentage_of_nodes_to_score: int = 0
    batch_strategy: str = ""

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.percentage_of_nodes_to_score <= 100:
            raise ValueError("percentage_of_nodes_to_score must be in 0-100")
        names = [p.name for p in self.plugins]
        if len(set(names)) != len(names):
            raise ValueError(f"profile {self.name!r} enables a plugin twice")

    def weight(self, plugin: str) -> int:
        """The score weight of ``plugin``."""
        for ref in self.plugins:
            if ref.name == plugin:
                return ref.weight
        raise KeyError(plugin)

    def renamed(self, name: str) -> Profile:
        """The same profile under another scheduler name."""
        return attrs.evolve(self, name=name)


def _fit(strategy: str, resources: tuple[ResourceSpec, ...]) -> NodeResourcesFitArgs:
    return NodeResourcesFitArgs(
        scoring_strategy=ScoringStrategy(type=strategy, resources=resources)  # type: ignore[arg-type]
    )


_CPU_MEMORY: Final = (ResourceSpec(CPU, 1), ResourceSpec(MEMORY, 1))
_WITH_GPU: Final = (*_CPU_MEMORY, ResourceSpec(GPU, 3))


def _plugins(fit_weight: int, balanced: bool) -> list[PluginRef]:
    refs = [
        PluginRef("PrioritySort"),
        PluginRef("NodeUnschedulable"),
        PluginRef("NodeName"),
        PluginRef("TaintToleration", 3),
        PluginRef("NodeAffinity", 2),
        PluginRef("NodeResourcesFit", fit_weight),
        PluginRef("PodTopologySpread", 2),
        PluginRef("InterPodAffinity", 2),
        PluginRef("DefaultPreemption"),
    ]
    if balanced:
        refs.append(PluginRef("NodeResourcesBalancedAllocation", 1))
    refs += [
        PluginRef("GPUDevices"),
        PluginRef("GPUAvoidance", GPU_AVOIDANCE_WEIGHT),
        PluginRef("DefaultBinder"),
    ]
    return refs


def default_profiles() -> dict[str, Profile]:
    """The shipped profiles by scheduler name (a fresh dict; see the module docstring)."""
    default = Profile(
        name="default",
        plugins=_plugins(fit_weight=1, balanced=True),
        plugin_args={"NodeResourcesFit": _fit("LeastAllocated", _CPU_MEMORY)},
    )
    binpack = Profile(
        name="binpack",
        plugins=_plugins(fit_weight=1, balanced=False),
        plugin_args={"NodeResourcesFit": _fit("MostAllocated", _WITH_GPU)},
    )
    spread = Profile(
        name="spread",
        plugins=_plugins(fit_weight=3, balanced=True),
        plugin_args={"NodeResourcesFit": _fit("LeastAllocated", _WITH_GPU)},
    )
    optimal = attrs.evolve(binpack, name="optimal", batch_strategy="optimal")
    profiles = [default, default.renamed("default-scheduler"), binpack, spread, optimal]
    return {profile.name: profile for profile in profiles}
