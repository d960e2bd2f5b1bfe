"""Validation of ResourceQuota and LimitRange (Kubernetes' ``ValidateResourceQuota``
and ``ValidateLimitRange``).

Quota names are standard quota resources (``requests.cpu``, ``pods``...) or qualified
(``count/deployments.apps``, ``requests.nvidia.com/gpu``), amounts non-negative. A
LimitRange item's bounds must nest: ``min <= defaultRequest <= default <= max``, with
requests equal to limits for resources that cannot be overcommitted. The checks run
after defaulting (``default`` filled from ``max``, ``defaultRequest`` from ``default``
and ``min``), as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Mapping

from orbit.errors import Issue

from ._quantity import Quantity
from ._quota import LimitRange, LimitRangeItem, ResourceQuota
from ._validate_meta import (
    child,
    duplicate,
    forbidden,
    invalid,
    required,
    validate_object_meta,
)
from ._validate_resources import (
    is_overcommit_allowed,
    is_standard_quota_resource,
    limit_range_resource_name_issues,
    quota_resource_name_issues,
    validate_resource_list,
)
from ._validation import validator

__all__: list[str] = []

_COMPUTE_SCOPE_RESOURCES = frozenset(
    {"pods", "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
)
_SCOPE_RESOURCES: Mapping[str, frozenset[str]] = {
    "BestEffort": frozenset({"pods"}),
    "CrossNamespacePodAffinity": frozenset({"pods"}),
}
_CONFLICTING_SCOPES = (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating"))
_ONE = Quantity.parse("1")


@validator(ResourceQuota)
def _validate_resource_quota(quota: ResourceQuota) -> list[Issue]:
    spec = quota.spec
    issues = validate_object_meta(quota.metadata)
    issues.extend(validate_resource_list(spec.hard, "spec.hard", quota_resource_name_issues))
    scopes = list(spec.scopes)
    for scope in scopes:
        supported = _SCOPE_RESOURCES.get(scope, _COMPUTE_SCOPE_RESOURCES)
        if any(is_standard_quota_resource(n) and n not in supported for n in spec.hard):
            detail = "unsupported scope applied to resource"
            issues.append(invalid("spec.scopes", scopes, detail))
    for pair in _CONFLICTING_SCOPES:
        if set(pair) <= set(scopes):
            issues.append(invalid("spec.scopes", scopes, "conflicting scopes"))
    return issues


def _validate_item_resources(item: LimitRangeItem, path: str) -> list[Issue]:
    def names(resource_name: str, where: str) -> list[Issue]:
        return limit_range_resource_name_issues(resource_name, where, item.type)

    issues: list[Issue] = []
    fields: list[tuple[str, Mapping[str, Quantity]]] = [("max", item.max), ("min", item.min)]
    if item.type == "Pod":
        for field, given in (("default", item.default), ("defaultRequest", item.default_request)):
            if given:
                issues.append(
                    forbidden(child(path, field), "may not be specified when `type` is 'Pod'")
                )
    else:
        fields += [("default", item.default), ("defaultRequest", item.default_request)]
    fields.append(("maxLimitRequestRatio", item.max_limit_request_ratio))
    for field, resources in fields:
        issues.extend(validate_resource_list(resources, child(path, field), names))
    return issues


def _bound_issues(item: LimitRangeItem, name: str, path: str) -> list[Issue]:
    """Kubernetes' pairwise checks of one resource's bounds in one item."""
    low, high = item.min.get(name), item.max.get(name)
    limit, request = item.default.get(name), item.default_request.get(name)
    ratio = item.max_limit_request_ratio.get(name)
    issues: list[Issue] = []

    def at(field: str) -> str:
        return child(child(path, field), name)

    if low is not None and high is not None and low > high:
        issues.append(invalid(at("min"), low, f"min value {low} is greater than max value {high}"))
    if request is not None and low is not None and low > request:
        detail = f"min value {low} is greater than default request value {request}"
        issues.append(invalid(at("defaultRequest"), request, detail))
    if request is not None and high is not None and request > high:
        detail = f"default request value {request} is greater than max value {high}"
        issues.append(invalid(at("defaultRequest"), request, detail))
    if request is not None and limit is not None and request > limit:
        detail = f"default request value {request} is greater than default limit value {limit}"
        issues.append(invalid(at("defaultRequest"), request, detail))
    if limit is not None and low is not None and low > limit:
        detail = f"min value {low} is greater than default value {limit}"
        issues.append(invalid(at("default"), low, detail))
    if limit is not None and high is not None and limit > high:
        detail = f"default value {limit} is greater than max value {high}"
        issues.append(invalid(at("default"), high, detail))
    if ratio is not None and ratio < _ONE:
        issues.append(invalid(at("maxLimitRequestRatio"), ratio, f"ratio {ratio} is less than 1"))
    unequal = limit is not None and request is not None and limit != request
    if unequal and not is_overcommit_allowed(name):
        detail = f"default value {limit} must equal to defaultRequest value {request} in {name}"
        issues.append(invalid(at("defaultRequest"), request, detail))
    return issues


@validator(LimitRange)
def _validate_limit_range(limit_range: LimitRange) -> list[Issue]:
    issues = validate_object_meta(limit_range.metadata)
    seen: set[str] = set()
    for index, item in enumerate(limit_range.spec.limits):
        where = child("spec.limits", index)
        if not item.type:
            issues.append(required(child(where, "type")))
        elif item.type in seen:
            issues.append(duplicate(child(where, "type"), item.type))
        seen.add(item.type)
        issues.extend(_validate_item_resources(item, where))
        if item.type == "PersistentVolumeClaim" and "storage" not in {*item.min, *item.max}:
            detail = "either minimum or maximum storage value is required, but neither was provided"
            issues.append(required(child(where, "limits"), detail))
        keys = {*item.max, *item.min, *item.default, *item.default_request}
        for name in sorted(keys | set(item.max_limit_request_ratio)):
            issues.extend(_bound_issues(item, name, where))
    return issues
