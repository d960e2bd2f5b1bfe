"""``orbit.Node``: how a user describes a node to add to a cluster.

A node is a name and a runtime (``ProcessRuntime`` when none is given); capacity is
discovered from the runtime unless given, labels and taints are added to the ones
orbit sets. ``Cluster(nodes=[...])`` and ``await cluster.add_node(...)`` take these and
start a node agent for each; the API object that lands in the store is
:class:`orbit.api.Node`.

Several nodes may share one runtime instance (one Docker engine backing several logical
nodes, so multi-node placement is testable on one machine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from orbit.api import Quantity, Taint
from orbit.clock import Clock
from orbit.runtimes import ProcessRuntime, Runtime

__all__ = ["Node", "parse_taint"]


def parse_taint(spec: str | Taint) -> Taint:
    """A Taint from ``key=value:Effect`` (value optional; effect NoSchedule when left
    out), or the Taint itself."""
    if isinstance(spec, Taint):
        return spec
    head, colon, effect = spec.rpartition(":")
    if not colon:
        head, effect = spec, "NoSchedule"
    key, _, value = head.partition("=")
    if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise ValueError(
            f"taint {spec!r}: effect must be NoSchedule, PreferNoSchedule or NoExecute"
        )
    return Taint(key=key, value=value, effect=effect)  # type: ignore[arg-type]


def _capacity(value: Mapping[str, Any] | None) -> dict[str, Quantity] | None:
    if value is None:
        return None
    return {name: Quantity.parse(amount) for name, amount in value.items()}


def _labels(value: Mapping[str, str] | None) -> dict[str, str]:
    return dict(value or {})


def _taints(value: Iterable[str | Taint] | None) -> tuple[Taint, ...]:
    return tuple(parse_taint(taint) for taint in value or ())


@attrs.frozen
class Node:
    """A node to run pods on.

    Args:
        name: the node's name (``kubernetes.io/hostname``).
        runtime: what runs its containers; ``None`` means a new ``ProcessRuntime``.
        capacity: resources as quantities (``{"cpu": "4", "memory": "8Gi",
            "nvidia.com/gpu": 1}``); ``None`` asks the runtime (``discover()``).
            ``pods`` defaults to 110, Kubernetes' default.
        labels: added to orbit's (``kubernetes.io/hostname``, ``kubernetes.io/os``,
            ``kubernetes.io/arch``, ``orbit.dev/runtime``), which they may override.
        taints: ``Taint`` objects or ``"key=value:Effect"`` strings.
    """

    name: str
    runtime: Runtime | None = attrs.field(default=None, eq=False)
    capacity: dict[str, Quantity] | None = attrs.field(
        default=None, converter=_capacity, kw_only=True
    )
    labels: dict[str, str] = attrs.field(factory=dict, converter=_labels, kw_only=True)
    taints: tuple[Taint, ...] = attrs.field(default=(), converter=_taints, kw_only=True)

    def resolved_runtime(self, state_dir: str, clock: Clock) -> Runtime:
        """The runtime, or a new ProcessRuntime keeping its files in ``state_dir``."""
        if self.runtime is not None:
            return self.runtime
        return ProcessRuntime(state_dir, clock=clock)
