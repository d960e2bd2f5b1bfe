"""Builders for the pod-aware plugins' tests: pod affinity terms, spread constraints, and
a profile with InterPodAffinity, PodTopologySpread and DefaultPreemption (registered
through the public Registry / Profile API)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from sched_harness import Harness

from orbit.api import (
    Affinity,
    LabelSelector,
    Node,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    TopologySpreadConstraint,
    WeightedPodAffinityTerm,
)
from orbit.scheduling import PluginRef, Profile, Registry, default_profiles, default_registry
from orbit.scheduling.plugins._interpod import InterPodAffinity
from orbit.scheduling.plugins._preemption import DefaultPreemption
from orbit.scheduling.plugins._spread import PodTopologySpread

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
OURS = (InterPodAffinity, PodTopologySpread, DefaultPreemption)


def registry() -> Registry:
    """The built-in registry plus the three plugins (when not built in yet)."""
    reg = default_registry()
    for cls in OURS:
        if cls.name not in reg:
            reg.register(cls.name, cls.new)
    return reg


def profile(
    name: str = "default",
    *,
    args: Mapping[str, Any] | None = None,
    disabled: Mapping[str, Iterable[str]] | None = None,
    only: Sequence[str] | None = None,
) -> Profile:
    """A shipped profile with the three plugins in Kubernetes' order (after
    NodeResourcesFit): PodTopologySpread (2), InterPodAffinity (2), DefaultPreemption.
    ``only`` keeps just the named plugins (plus the three)."""
    base = default_profiles()[name]
    refs = [r for r in base.plugins if r.name not in {c.name for c in OURS}]
    if only is not None:
        refs = [r for r in refs if r.name in only]
    names = [r.name for r in refs]
    at = names.index("NodeResourcesFit") + 1 if "NodeResourcesFit" in names else len(refs)
    ours = [PluginRef("PodTopologySpread", 2), PluginRef("InterPodAffinity", 2)]
    ours.append(PluginRef("DefaultPreemption"))
    refs[at:at] = ours
    return attrs.evolve(
        base,
        plugins=tuple(refs),
        plugin_args={**base.plugin_args, **(args or {})},
        disabled={k: frozenset(v) for k, v in (disabled or {}).items()},
    )


def harness(
    nodes: Iterable[Node], pods: Iterable[Pod] = (), *, vectorised: bool = True, **kwargs: Any
) -> Harness:
    return Harness(
        nodes, pods, profile=profile(**kwargs), registry=registry(), vectorised=vectorised
    )


def labelled(pod: Pod, **labels: str) -> Pod:
    """``pod`` with ``labels`` (keys with ``_`` for ``-`` are not needed in these tests)."""
    meta = attrs.evolve(pod.metadata, labels={**pod.metadata.labels, **labels})
    return attrs.evolve(pod, metadata=meta)


def term(
    key: str = HOST,
    *,
    namespaces: Sequence[str] = (),
    namespace_selector: Mapping[str, str] | None = None,
    selector: LabelSelector | None = None,
    **labels: str,
) -> PodAffinityTerm:
    """A PodAffinityTerm selecting pods with ``labels`` (or ``selector``)."""
    return PodAffinityTerm(
        label_selector=selector if selector is not None else LabelSelector(match_labels=labels),
        namespaces=tuple(namespaces),
        namespace_selector=None
        if namespace_selector is None
        else LabelSelector(match_labels=namespace_selector),
        topology_key=key,
    )


def with_affinity(
    pod: Pod,
    *,
    required: Sequence[PodAffinityTerm] = (),
    anti: Sequence[PodAffinityTerm] = (),
    preferred: Sequence[tuple[int, PodAffinityTerm]] = (),
    preferred_anti: Sequence[tuple[int, PodAffinityTerm]] = (),
) -> Pod:
    """``pod`` with pod affinity and anti-affinity terms."""

    def weighted(
        terms: Sequence[tuple[int, PodAffinityTerm]],
    ) -> tuple[WeightedPodAffinityTerm, ...]:
        return tuple(WeightedPodAffinityTerm(weight=w, pod_affinity_term=t) for w, t in terms)

    affinity = Affinity(
        node_affinity=pod.spec.affinity.node_affinity if pod.spec.affinity else None,
        pod_affinity=PodAffinity(
            required_during_scheduling_ignored_during_execution=tuple(required),
            preferred_during_scheduling_ignored_during_execution=weighted(preferred),
        )
        if required or preferred
        else None,
        pod_anti_affinity=PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=tuple(anti),
            preferred_during_scheduling_ignored_during_execution=weighted(preferred_anti),
        )
        if anti or preferred_anti
        else None,
    )
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, affinity=affinity))


def spread(
    key: str = ZONE,
    max_skew: int = 1,
    *,
    when: str = "DoNotSchedule",
    min_domains: int | None = None,
    match_label_keys: Sequence[str] = (),
    node_affinity_policy: str = "Honor",
    node_taints_policy: str = "Ignore",
    selector: LabelSelector | None = None,
    **labels: str,
) -> TopologySpreadConstraint:
    """A TopologySpreadConstraint counting pods with ``labels`` (or ``selector``)."""
    return TopologySpreadConstraint(
        max_skew=max_skew,
        topology_key=key,
        when_unsatisfiable=when,  # type: ignore[arg-type]
        label_selector=selector if selector is not None else LabelSelector(match_labels=labels),
        min_domains=min_domains,
        match_label_keys=tuple(match_label_keys),
        node_affinity_policy=node_affinity_policy,  # type: ignore[arg-type]
        node_taints_policy=node_taints_policy,  # type: ignore[arg-type]
    )


def with_spread(pod: Pod, *constraints: TopologySpreadConstraint) -> Pod:
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, topology_spread_constraints=constraints))


def started(pod: Pod, minute: int) -> Pod:
    """``pod`` running since ``minute`` minutes past 2026-01-01T00:00Z."""
    when = datetime(2026, 1, 1, 0, minute, tzinfo=UTC)
    return attrs.evolve(pod, status=attrs.evolve(pod.status, phase="Running", start_time=when))


def on(pod: Pod, node: str) -> Pod:
    """``pod`` bound to ``node``."""
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=node))
