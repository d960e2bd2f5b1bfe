"""What a what-if run is: the nodes, the node pools, the manifests, the load and the
HPA behavior policies to compare, as plain frozen data.

A :class:`WhatIf` is everything one run needs and nothing live: it is pickled to the
worker processes that run the policies side by side, so every field is data (the load
curve is a picklable :class:`~orbit.autoscaling.Diurnal`, or any picklable callable).
The functions here derive what the run and the summary need from the manifests (the
HPA the policies change, the Deployment it scales, the per-pod cpu above which the load
counts as above target) without touching a cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from orbit.api import Quantity

__all__ = [
    "DEFAULT_TOLERANCE",
    "Curve",
    "Load",
    "NodeGroup",
    "PoolSpec",
    "WhatIf",
    "above_target_cores",
    "hpa_manifest",
    "hpa_ref",
    "manifests_for",
    "scale_target",
    "target_cores_per_pod",
]

DEFAULT_TOLERANCE = 0.1
"""The HPA controller's default tolerance (kube-controller-manager's
``--horizontal-pod-autoscaler-tolerance``)."""

Curve = Callable[[float], float]
"""Cores of demand at ``t`` virtual seconds since the start."""
Manifest = Mapping[str, Any]
Behavior = Mapping[str, Any] | None


@attrs.frozen(kw_only=True)
class NodeGroup:
    """``count`` identical simulated nodes named ``<prefix>-0``, ``<prefix>-1``...

    ``cost_per_hour`` is one node's price (for the report's cost column); ``gpus``
    gives the SimRuntime that many GPU devices.
    """

    prefix: str
    count: int
    capacity: Mapping[str, str]
    labels: Mapping[str, str] = attrs.field(factory=dict)
    cost_per_hour: float = 0.0
    gpus: int = 0


@attrs.frozen(kw_only=True)
class PoolSpec:
    """A node pool (:class:`orbit.NodePool`) of simulated nodes that take
    ``boot_delay_s`` to come up."""

    name: str
    capacity: Mapping[str, str]
    max_nodes: int
    min_nodes: int = 0
    cost_per_hour: float = 0.0
    boot_delay_s: float = 60.0
    labels: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Load:
    """``curve(t)`` cores of demand spread over the ready pods ``selector`` matches in
    ``namespace`` (an :class:`orbit.autoscaling.SharedLoad`)."""

    selector: str
    curve: Curve
    namespace: str = "default"


@attrs.frozen(kw_only=True)
class WhatIf:
    """One what-if scenario, run once per policy with everything else the same.

    Attributes:
        manifests: the documents applied at the start (dicts, as in a YAML file).
        load: the demand and which pods serve it.
        nodes: the fixed nodes.
        pools: node pools the node-pool autoscaler grows and shrinks.
        duration_s: virtual seconds each policy runs.
        policies: HPA ``behavior`` blocks by policy name (``None``: the manifest's own
            behavior, or Kubernetes' defaults when it has none).
        hpa: the HorizontalPodAutoscaler the policies change (``""``: the only one).
        seed: the simulation's seed (same seed, same run).
        sample_s: how often the run samples the cluster (virtual seconds).
        expander: the node-pool autoscaler's expander.
        name: a title for reports.
    """

    manifests: tuple[Manifest, ...]
    load: Load
    nodes: tuple[NodeGroup, ...]
    duration_s: float
    policies: Mapping[str, Behavior]
    pools: tuple[PoolSpec, ...] = ()
    hpa: str = ""
    seed: int = 0
    sample_s: float = 30.0
    expander: str = "least-waste"
    name: str = "what-if"

    def price_of(self, node_name: str, pool: str | None) -> float:
        """What one node costs an hour: its pool's price, else its group's (by name)."""
        if pool is not None:
            return next((p.cost_per_hour for p in self.pools if p.name == pool), 0.0)
        for group in self.nodes:
            if node_name.startswith(f"{group.prefix}-"):
                return group.cost_per_hour
        return 0.0

    @property
    def max_nodes(self) -> int:
        """The most nodes the cluster can have (fixed nodes plus every pool's maximum)."""
        return sum(g.count for g in self.nodes) + sum(p.max_nodes for p in self.pools)


def hpa_manifest(whatif: WhatIf) -> Manifest:
    """The HorizontalPodAutoscaler manifest the policies change: the one named
    ``whatif.hpa``, or the only one; ``ValueError`` when that is ambiguous or absent."""
    found = [m for m in whatif.manifests if m.get("kind") == "HorizontalPodAutoscaler"]
    if whatif.hpa:
        found = [m for m in found if (m.get("metadata") or {}).get("name") == whatif.hpa]
    if len(found) != 1:
        wanted = f"named {whatif.hpa!r}" if whatif.hpa else "(name one with hpa:)"
        raise ValueError(
            f"a what-if needs exactly one HorizontalPodAutoscaler {wanted}, found {len(found)}"
        )
    return found[0]


def _name_and_namespace(manifest: Manifest) -> tuple[str, str]:
    meta = manifest.get("metadata") or {}
    return str(meta.get("name", "")), str(meta.get("namespace") or "default")


def hpa_ref(whatif: WhatIf) -> tuple[str, str]:
    """(name, namespace) of the HPA the policies change."""
    return _name_and_namespace(hpa_manifest(whatif))


def scale_target(whatif: WhatIf) -> tuple[str, str]:
    """(name, namespace) of the Deployment the HPA scales (its ``scaleTargetRef``)."""
    hpa = hpa_manifest(whatif)
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    if ref.get("kind") != "Deployment":
        raise ValueError("the what-if's HPA must scale a Deployment (scaleTargetRef.kind)")
    return str(ref.get("name", "")), _name_and_namespace(hpa)[1]


def manifests_for(whatif: WhatIf, behavior: Behavior) -> list[dict[str, Any]]:
    """The manifests to apply for one policy: copies, the HPA's ``spec.behavior``
    replaced by ``behavior`` (left as written when ``behavior`` is None)."""
    chosen = hpa_manifest(whatif)
    result: list[dict[str, Any]] = []
    for manifest in whatif.manifests:
        doc = copy.deepcopy(dict(manifest))
        if manifest is chosen and behavior is not None:
            doc["spec"] = {**doc.get("spec", {}), "behavior": copy.deepcopy(dict(behavior))}
        result.append(doc)
    return result


def _cpu_request_millis(deployment: Manifest) -> int:
    """The cpu one pod of ``deployment`` requests, in millicores (its containers'
    requests summed)."""
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    total = 0
    for container in spec.get("containers") or ():
        cpu = ((container.get("resources") or {}).get("requests") or {}).get("cpu")
        if cpu is not None:
            total += Quantity.parse(str(cpu)).milli_value()
    return total


def target_cores_per_pod(whatif: WhatIf) -> float | None:
    """The cpu per pod the HPA aims at: its cpu ``Utilization`` target times a pod's
    cpu request, or its cpu ``AverageValue``; None when it has no cpu Resource target."""
    hpa = hpa_manifest(whatif)
    for metric in (hpa.get("spec") or {}).get("metrics") or ():
        resource = metric.get("resource") or {}
        if metric.get("type") != "Resource" or resource.get("name") != "cpu":
            continue
        target = resource.get("target") or {}
        if target.get("type") == "Utilization" and target.get("averageUtilization"):
            name, namespace = scale_target(whatif)
            deployment = next(
                (
                    m
                    for m in whatif.manifests
                    if m.get("kind") == "Deployment" and _name_and_namespace(m) == (name, namespace)
                ),
                None,
            )
            millis = _cpu_request_millis(deployment) if deployment is not None else 0
            if millis <= 0:
                return None
            return int(target["averageUtilization"]) / 100 * millis / 1000
        if target.get("type") == "AverageValue" and target.get("averageValue") is not None:
            return Quantity.parse(str(target["averageValue"])).milli_value() / 1000
    return None


def above_target_cores(whatif: WhatIf) -> float | None:
    """The demand per ready pod above which the load counts as above target: the
    target with the HPA's tolerance (10 %) added, the point where it scales up."""
    per_pod = target_cores_per_pod(whatif)
    return None if per_pod is None else per_pod * (1 + DEFAULT_TOLERANCE)
