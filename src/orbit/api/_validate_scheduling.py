"""Validation of where a pod may run: node affinity, pod (anti-)affinity, tolerations,
topology spread constraints, and a node's taints.

The rules and messages are Kubernetes' (``ValidateAffinity``, ``ValidateTolerations``,
``validateTopologySpreadConstraints``, ``validateNodeTaints``). One addition: a ``Gt`` or
``Lt`` node selector requirement must hold a single integer, which Kubernetes only
discovers when it matches (and then never matches); orbit says so up front.
"""

from __future__ import annotations

from orbit.errors import Issue

from ._affinity import (
    Affinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    Taint,
    Toleration,
    TopologySpreadConstraint,
    WeightedPodAffinityTerm,
)
from ._names import is_dns1123_label, is_valid_label_value
from ._selector import validate_label_selector
from ._validate_meta import (
    child,
    duplicate,
    forbidden,
    invalid,
    required,
    validate_qualified_name,
)

__all__ = [
    "validate_affinity",
    "validate_taints",
    "validate_tolerations",
    "validate_topology_spread",
]

_EXISTS_OR_NOT = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"


def _validate_requirement(req: NodeSelectorRequirement, path: str) -> list[Issue]:
    """Kubernetes' ``ValidateNodeSelectorRequirement`` (over node labels)."""
    values = child(path, "values")
    issues: list[Issue] = []
    if req.operator in ("In", "NotIn") and not req.values:
        issues.append(required(values, "must be specified when `operator` is 'In' or 'NotIn'"))
    elif req.operator in ("Exists", "DoesNotExist") and req.values:
        issues.append(forbidden(values, _EXISTS_OR_NOT))
    elif req.operator in ("Gt", "Lt"):
        if len(req.values) != 1:
            detail = "must be specified single value when `operator` is 'Lt' or 'Gt'"
            issues.append(required(values, detail))
        elif not req.values[0].lstrip("+-").isdigit() or not req.values[0].isascii():
            detail = "must be an integer when `operator` is 'Lt' or 'Gt'"
            issues.append(invalid(child(values, 0), req.values[0], detail))
    issues.extend(validate_qualified_name(req.key, child(path, "key")))
    return issues


def _validate_field_requirement(req: NodeSelectorRequirement, path: str) -> list[Issue]:
    """Kubernetes' ``validateNodeFieldSelectorRequirement``: ``metadata.name In [one]``."""
    issues = []
    if req.operator not in ("In", "NotIn"):
        issues.append(
            invalid(child(path, "operator"), req.operator, "not a valid selector operator")
        )
    elif len(req.values) != 1:
        detail = "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"
        issues.append(required(child(path, "values"), detail))
    if req.key != "metadata.name":
        issues.append(invalid(child(path, "key"), req.key, "not a valid field selector key"))
    return issues


def _validate_term(term: NodeSelectorTerm, path: str) -> list[Issue]:
    issues: list[Issue] = []
    for index, req in enumerate(term.match_expressions):
        issues.extend(_validate_requirement(req, child(child(path, "matchExpressions"), index)))
    for index, req in enumerate(term.match_fields):
        issues.extend(_validate_field_requirement(req, child(child(path, "matchFields"), index)))
    return issues


def _validate_node_selector(selector: NodeSelector, path: str) -> list[Issue]:
    terms_path = child(path, "nodeSelectorTerms")
    if not selector.node_selector_terms:
        return [required(terms_path, "must have at least one node selector term")]
    issues: list[Issue] = []
    for index, term in enumerate(selector.node_selector_terms):
        issues.extend(_validate_term(term, child(terms_path, index)))
    return issues


def _validate_weight(weight: int, path: str) -> list[Issue]:
    if 1 <= weight <= 100:
        return []
    return [invalid(path, weight, "must be in the range 1-100")]


def _validate_pod_affinity_term(term: PodAffinityTerm, path: str) -> list[Issue]:
    """Kubernetes' ``validatePodAffinityTerm``: selectors, namespaces, topology key."""
    issues = validate_label_selector(term.label_selector, child(path, "labelSelector"))
    issues.extend(
        validate_label_selector(term.namespace_selector, child(path, "namespaceSelector"))
    )
    for name in term.namespaces:
        issues.extend(invalid(child(path, "namespace"), name, m) for m in is_dns1123_label(name))
    if not term.topology_key:
        issues.append(required(child(path, "topologyKey"), "can not be empty"))
    else:
        issues.extend(validate_qualified_name(term.topology_key, child(path, "topologyKey")))
    return issues


def _validate_pod_affinity(affinity: PodAffinity | PodAntiAffinity, path: str) -> list[Issue]:
    issues: list[Issue] = []
    required_path = child(path, "requiredDuringSchedulingIgnoredDuringExecution")
    for index, term in enumerate(affinity.required_during_scheduling_ignored_during_execution):
        issues.extend(_validate_pod_affinity_term(term, child(required_path, index)))
    preferred_path = child(path, "preferredDuringSchedulingIgnoredDuringExecution")
    weighted: WeightedPodAffinityTerm
    for index, weighted in enumerate(affinity.preferred_during_scheduling_ignored_during_execution):
        where = child(preferred_path, index)
        issues.extend(_validate_weight(weighted.weight, child(where, "weight")))
        issues.extend(
            _validate_pod_affinity_term(weighted.pod_affinity_term, child(where, "podAffinityTerm"))
        )
    return issues


def validate_affinity(affinity: Affinity | None, path: str) -> list[Issue]:
    """Kubernetes' ``validateAffinity``: node, pod and anti-pod affinity."""
    if affinity is None:
        return []
    issues: list[Issue] = []
    node = affinity.node_affinity
    if node is not None:
        node_path = child(path, "nodeAffinity")
        hard = node.required_during_scheduling_ignored_during_execution
        if hard is not None:
            where = child(node_path, "requiredDuringSchedulingIgnoredDuringExecution")
            issues.extend(_validate_node_selector(hard, where))
        soft_path = child(node_path, "preferredDuringSchedulingIgnoredDuringExecution")
        for index, soft in enumerate(node.preferred_during_scheduling_ignored_during_execution):
            where = child(soft_path, index)
            issues.extend(_validate_weight(soft.weight, child(where, "weight")))
            issues.extend(_validate_term(soft.preference, child(where, "preference")))
    if affinity.pod_affinity is not None:
        issues.extend(_validate_pod_affinity(affinity.pod_affinity, child(path, "podAffinity")))
    if affinity.pod_anti_affinity is not None:
        where = child(path, "podAntiAffinity")
        issues.extend(_validate_pod_affinity(affinity.pod_anti_affinity, where))
    return issues


def validate_tolerations(tolerations: tuple[Toleration, ...], path: str) -> list[Issue]:
    """Kubernetes' ``ValidateTolerations``."""
    issues: list[Issue] = []
    for index, toleration in enumerate(tolerations):
        where = child(path, index)
        operator = child(where, "operator")
        if toleration.key:
            issues.extend(validate_qualified_name(toleration.key, child(where, "key")))
        elif toleration.operator != "Exists":
            detail = (
                'operator must be Exists when `key` is empty, which means "match all values '
                'and all keys"'
            )
            issues.append(invalid(operator, toleration.operator, detail))
        if toleration.toleration_seconds is not None and toleration.effect != "NoExecute":
            detail = "effect must be 'NoExecute' when `tolerationSeconds` is set"
            issues.append(invalid(child(where, "effect"), toleration.effect, detail))
        if toleration.operator == "Exists" and toleration.value:
            detail = "value must be empty when `operator` is 'Exists'"
            issues.append(invalid(operator, toleration.value, detail))
        elif toleration.operator == "Equal":
            messages = is_valid_label_value(toleration.value)
            if messages:
                issues.append(invalid(operator, toleration.value, ";".join(messages)))
    return issues


def validate_topology_spread(
    constraints: tuple[TopologySpreadConstraint, ...], path: str
) -> list[Issue]:
    """Kubernetes' ``validateTopologySpreadConstraints``."""
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for index, constraint in enumerate(constraints):
        where = child(path, index)
        if constraint.max_skew <= 0:
            issues.append(
                invalid(child(where, "maxSkew"), constraint.max_skew, "must be greater than zero")
            )
        key = constraint.topology_key
        if not key:
            issues.append(required(child(where, "topologyKey"), "can not be empty"))
        else:
            issues.extend(validate_qualified_name(key, child(where, "topologyKey")))
        pair = (key, constraint.when_unsatisfiable)
        if pair in seen:
            issues.append(
                duplicate(child(where, "{topologyKey, whenUnsatisfiable}"), f"{{{key}, {pair[1]}}}")
            )
        seen.add(pair)
        issues.extend(_validate_min_domains(constraint, child(where, "minDomains")))
        issues.extend(
            validate_label_selector(constraint.label_selector, child(where, "labelSelector"))
        )
        for key_index, label_key in enumerate(constraint.match_label_keys):
            issues.extend(
                validate_qualified_name(label_key, child(child(where, "matchLabelKeys"), key_index))
            )
    return issues


def _validate_min_domains(constraint: TopologySpreadConstraint, path: str) -> list[Issue]:
    value = constraint.min_domains
    if value is None:
        return []
    issues = []
    if value <= 0:
        issues.append(invalid(path, value, "must be greater than zero"))
    if constraint.when_unsatisfiable != "DoNotSchedule":
        detail = (
            "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not "
            f"{constraint.when_unsatisfiable}"
        )
        issues.append(invalid(path, value, detail))
    return issues


def validate_taints(taints: tuple[Taint, ...], path: str) -> list[Issue]:
    """Kubernetes' ``validateNodeTaints``: keys, values, and unique (key, effect)."""
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for index, taint in enumerate(taints):
        where = child(path, index)
        issues.extend(validate_qualified_name(taint.key, child(where, "key")))
        messages = is_valid_label_value(taint.value)
        if messages:
            issues.append(invalid(child(where, "value"), taint.value, ";".join(messages)))
        if (taint.key, taint.effect) in seen:
            detail = "taints must be unique by key and effect pair"
            issues.append(duplicate(where, f"{taint.key}:{taint.effect}", detail))
        seen.add((taint.key, taint.effect))
    return issues
