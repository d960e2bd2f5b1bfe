"""Pod (anti-)affinity terms, compiled once per pod: what InterPodAffinity matches.

Kubernetes' ``framework.AffinityTerm`` semantics:

- a term selects pods by ``labelSelector`` (absent: no pod; empty: every pod) in a set
  of namespaces: those listed in ``namespaces``, plus those whose labels match
  ``namespaceSelector`` (absent: none; empty: every namespace). A term with neither
  field selects the pod's own namespace;
- an *existing* pod's term is matched against an incoming pod with the labels of the
  incoming pod's namespace (:meth:`AffinityTerm.matches`);
- an *incoming* pod's terms are first resolved (:meth:`AffinityTerm.resolved`): a
  non-empty namespace selector is replaced by the names of the namespaces it selects,
  so matching existing pods needs no namespace lookup per pod.

Terms are memoised by the identity of the pod's ``spec.affinity`` and its namespace:
the replicas of one template share one Affinity object, so they compile it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from orbit.api import (
    Pod,
    PodAffinityTerm,
    Selector,
    WeightedPodAffinityTerm,
    selector_from_label_selector,
)
from orbit.errors import ValidationError

__all__ = [
    "AffinityTerm",
    "PodTerms",
    "WeightedTerm",
    "pod_terms",
    "resolve_namespaces",
]

NamespaceLabels = Mapping[str, Mapping[str, str]]
_EMPTY_LABELS: Mapping[str, str] = {}
_NOTHING: Final = Selector.nothing()
_CACHE: dict[tuple[int, str], tuple[object, PodTerms]] = {}
_CACHE_MAX: Final = 65_536


@attrs.frozen(slots=True)
class AffinityTerm:
    """One PodAffinityTerm, compiled; hashable so equal terms of many pods share counts."""

    namespaces: frozenset[str]
    namespace_selector: Selector
    selector: Selector
    topology_key: str

    def matches(self, pod: Pod, namespace_labels: Mapping[str, str] = _EMPTY_LABELS) -> bool:
        """Whether ``pod`` (whose namespace has ``namespace_labels``) is selected."""
        meta = pod.metadata
        if meta.namespace in self.namespaces or self.namespace_selector.matches(namespace_labels):
            return self.selector.matches(meta.labels)
        return False

    @property
    def every_namespace(self) -> bool:
        """Whether the term selects pods of every namespace."""
        return self.namespace_selector.empty

    def resolved(self, namespaces: NamespaceLabels) -> AffinityTerm:
        """The term with a non-empty namespace selector replaced by the namespaces it
        selects (Kubernetes' ``mergeAffinityTermNamespacesIfNotEmpty``)."""
        if self.namespace_selector.empty or self.namespace_selector.matches_nothing:
            return self
        chosen = resolve_namespaces(self.namespace_selector, namespaces)
        return attrs.evolve(self, namespaces=self.namespaces | chosen, namespace_selector=_NOTHING)


def resolve_namespaces(selector: Selector, namespaces: NamespaceLabels) -> frozenset[str]:
    """The names of the known namespaces whose labels ``selector`` matches."""
    return frozenset(name for name, labels in namespaces.items() if selector.matches(labels))


@attrs.frozen(slots=True)
class WeightedTerm:
    """A preferred term and its weight."""

    weight: int
    term: AffinityTerm


@attrs.frozen(slots=True)
class PodTerms:
    """A pod's four lists of terms; ``error`` is set (and the lists empty) when a
    selector is invalid."""

    required_affinity: tuple[AffinityTerm, ...] = ()
    required_anti_affinity: tuple[AffinityTerm, ...] = ()
    preferred_affinity: tuple[WeightedTerm, ...] = ()
    preferred_anti_affinity: tuple[WeightedTerm, ...] = ()
    error: str = ""

    @property
    def any(self) -> bool:
        """Whether the pod has any term at all."""
        return bool(
            self.required_affinity
            or self.required_anti_affinity
            or self.preferred_affinity
            or self.preferred_anti_affinity
        )


_NO_TERMS: Final = PodTerms()


def _term(namespace: str, term: PodAffinityTerm) -> AffinityTerm:
    if not term.namespaces and term.namespace_selector is None:
        namespaces = frozenset((namespace,))
    else:
        namespaces = frozenset(term.namespaces)
    return AffinityTerm(
        namespaces=namespaces,
        namespace_selector=selector_from_label_selector(term.namespace_selector),
        selector=selector_from_label_selector(term.label_selector),
        topology_key=term.topology_key,
    )


def _weighted(
    namespace: str, terms: tuple[WeightedPodAffinityTerm, ...]
) -> tuple[WeightedTerm, ...]:
    return tuple(WeightedTerm(t.weight, _term(namespace, t.pod_affinity_term)) for t in terms)


def _compile(pod: Pod) -> PodTerms:
    affinity = pod.spec.affinity
    if affinity is None:
        return _NO_TERMS
    namespace = pod.metadata.namespace
    positive, negative = affinity.pod_affinity, affinity.pod_anti_affinity
    try:
        return PodTerms(
            required_affinity=tuple(
                _term(namespace, t)
                for t in (
                    positive.required_during_scheduling_ignored_during_execution if positive else ()
                )
            ),
            required_anti_affinity=tuple(
                _term(namespace, t)
                for t in (
                    negative.required_during_scheduling_ignored_during_execution if negative else ()
                )
            ),
            preferred_affinity=_weighted(
                namespace,
                positive.preferred_during_scheduling_ignored_during_execution if positive else (),
            ),
            preferred_anti_affinity=_weighted(
                namespace,
                negative.preferred_during_scheduling_ignored_during_execution if negative else (),
            ),
        )
    except ValidationError as error:
        return PodTerms(error=str(error))


def pod_terms(pod: Pod) -> PodTerms:
    """The compiled terms of ``pod`` (memoised; see the module docstring)."""
    affinity = pod.spec.affinity
    if affinity is None:
        return _NO_TERMS
    key = (id(affinity), pod.metadata.namespace)
    entry = _CACHE.get(key)
    if entry is not None and entry[0] is affinity:
        return entry[1]
    terms = _compile(pod)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = (affinity, terms)
    return terms
