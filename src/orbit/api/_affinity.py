"""Where a pod may and would like to run: node affinity, pod (anti-)affinity,
tolerations and topology spread constraints (the inputs of the scheduler's filter and
score plugins)."""

from __future__ import annotations

from typing import Literal

import attrs

from ._selector import LabelSelector

__all__ = [
    "Affinity",
    "NodeAffinity",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "PodAffinity",
    "PodAffinityTerm",
    "PodAntiAffinity",
    "PreferredSchedulingTerm",
    "Taint",
    "Toleration",
    "TopologySpreadConstraint",
    "WeightedPodAffinityTerm",
]

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


@attrs.frozen(kw_only=True)
class NodeSelectorRequirement:
    """``key op values`` over node labels (or ``metadata.name`` in ``matchFields``)."""

    key: str = ""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] = "In"
    values: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class NodeSelectorTerm:
    """All requirements of a term must hold (terms of a NodeSelector are ORed)."""

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()


@attrs.frozen(kw_only=True)
class NodeSelector:
    node_selector_terms: tuple[NodeSelectorTerm, ...] = ()


@attrs.frozen(kw_only=True)
class PreferredSchedulingTerm:
    weight: int = 0
    preference: NodeSelectorTerm = attrs.field(factory=NodeSelectorTerm)


@attrs.frozen(kw_only=True)
class NodeAffinity:
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: tuple[PreferredSchedulingTerm, ...] = ()


@attrs.frozen(kw_only=True)
class PodAffinityTerm:
    """Pods matching ``label_selector`` (in ``namespaces``, default: the pod's own)
    and the nodes sharing their ``topology_key`` value."""

    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None
    topology_key: str = ""

    __orbit_ignored__ = ("matchLabelKeys", "mismatchLabelKeys")


@attrs.frozen(kw_only=True)
class WeightedPodAffinityTerm:
    weight: int = 0
    pod_affinity_term: PodAffinityTerm = attrs.field(factory=PodAffinityTerm)


@attrs.frozen(kw_only=True)
class PodAffinity:
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = ()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = ()


@attrs.frozen(kw_only=True)
class PodAntiAffinity:
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = ()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = ()


@attrs.frozen(kw_only=True)
class Affinity:
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


@attrs.frozen(kw_only=True)
class Taint:
    """A node's repellent: pods without a matching toleration stay off (NoSchedule),
    avoid it (PreferNoSchedule) or are evicted (NoExecute)."""

    key: str = ""
    value: str = ""
    effect: TaintEffect = "NoSchedule"
    time_added: str | None = None


@attrs.frozen(kw_only=True)
class Toleration:
    """Lets a pod onto nodes with a matching taint. An empty ``effect`` matches every
    effect; ``operator: Exists`` with an empty ``key`` tolerates everything."""

    key: str = ""
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""
    toleration_seconds: int | None = None

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' ``ToleratesTaint``."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


@attrs.frozen(kw_only=True)
class TopologySpreadConstraint:
    max_skew: int = 0
    topology_key: str = ""
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    match_label_keys: tuple[str, ...] = ()
    node_affinity_policy: Literal["Honor", "Ignore"] = "Honor"
    node_taints_policy: Literal["Honor", "Ignore"] = "Ignore"
