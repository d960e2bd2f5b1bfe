"""The plugin registry: plugin names to factories, so profiles can name plugins.

A factory is called as ``factory(args, handle)``: ``args`` is the profile's
``plugin_args`` entry for the plugin (None when it has none) and ``handle`` the
:class:`~orbit.scheduling.FrameworkHandle` of the framework being built. A user plugin
is one ``register`` away::

    registry = default_registry()
    registry.register("PreferSSD", lambda args, handle: PreferSSD(**(args or {})))
    profile = attrs.evolve(default_profiles()["default"], plugins=(..., PluginRef("PreferSSD", 2)))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import plugins
from ._interfaces import FrameworkHandle

__all__ = ["PluginFactory", "Registry", "default_registry"]

PluginFactory = Callable[[Any, FrameworkHandle], Any]


class Registry(Mapping[str, PluginFactory]):
    """Plugin name -> factory; a mapping with :meth:`register` and :meth:`create`."""

    def __init__(self, factories: Mapping[str, PluginFactory] | None = None) -> None:
        self._factories: dict[str, PluginFactory] = dict(factories or {})

    def __getitem__(self, name: str) -> PluginFactory:
        return self._factories[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def register(self, name: str, factory: PluginFactory) -> None:
        """Add a plugin (ValueError when the name is taken: unregister it first)."""
        if name in self._factories:
            raise ValueError(f"a plugin named {name!r} is already registered")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        """Remove a plugin (KeyError when absent)."""
        del self._factories[name]

    def copy(self) -> Registry:
        """An independent copy."""
        return Registry(self._factories)

    def create(self, name: str, args: Any, handle: FrameworkHandle) -> Any:
        """A new instance of plugin ``name``; its ``name`` attribute must match."""
        factory = self._factories.get(name)
        if factory is None:
            raise ValueError(f"no plugin named {name!r} in the registry")
        plugin = factory(args, handle)
        if getattr(plugin, "name", None) != name:
            raise ValueError(f"the factory of {name!r} made a plugin named {plugin.name!r}")
        return plugin


def default_registry() -> Registry:
    """A fresh registry holding every built-in plugin."""
    built_in: list[Any] = [
        plugins.PrioritySort,
        plugins.NodeUnschedulable,
        plugins.NodeName,
        plugins.TaintToleration,
        plugins.NodeAffinity,
        plugins.NodeResourcesFit,
        plugins.NodeResourcesBalancedAllocation,
        plugins.PodTopologySpread,
        plugins.InterPodAffinity,
        plugins.DefaultPreemption,
        plugins.GPUDevices,
        plugins.GPUAvoidance,
        plugins.DefaultBinder,
    ]
    return Registry({cls.name: cls.new for cls in built_in})
