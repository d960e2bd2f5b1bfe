"""Resource names and amounts: the rules shared by container resources, ResourceQuota
and LimitRange.

The codec has already turned every value into a :class:`~orbit.api._quantity.Quantity`
(and reported the ones that are not quantities, ``invalid quantity "12XB"``), so what
is left is Kubernetes' ``validateResourceName`` family and
``ValidateResourceQuantityValue``: a name must be standard for its use or fully
qualified, an amount must not be negative, and countable resources (``pods``,
extended resources such as ``nvidia.com/gpu``) must be whole numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from orbit.errors import Issue

from ._names import is_qualified_name
from ._quantity import INTEGER_RESOURCE_NAMES, Quantity, is_extended_resource_name
from ._validate_meta import child, invalid

__all__ = [
    "container_resource_name_issues",
    "is_overcommit_allowed",
    "limit_range_resource_name_issues",
    "quantity_value_issues",
    "is_standard_quota_resource",
    "quota_resource_name_issues",
    "validate_resource_list",
]

_COMPUTE = ("cpu", "memory", "ephemeral-storage")
_STANDARD = frozenset(
    {*_COMPUTE, "storage", "pods", "services", "replicationcontrollers", "resourcequotas"}
    | {"secrets", "configmaps", "persistentvolumeclaims", "services.nodeports"}
    | {"services.loadbalancers", "requests.storage"}
    | {f"{kind}.{name}" for kind in ("requests", "limits") for name in _COMPUTE}
)
_QUOTA = _STANDARD - {"storage"}
_HUGEPAGES_PREFIXES = ("hugepages-", "requests.hugepages-", "limits.hugepages-")


def _is_hugepages(name: str, prefixes: tuple[str, ...] = _HUGEPAGES_PREFIXES) -> bool:
    return any(name.startswith(prefix) and name != prefix for prefix in prefixes)


def is_overcommit_allowed(name: str) -> bool:
    """Kubernetes' ``IsOvercommitAllowed``: native resources except huge pages may
    request less than their limit; extended resources (``nvidia.com/gpu``) may not."""
    native = "/" not in name or "kubernetes.io/" in name
    return native and not _is_hugepages(name)


def _resource_name_messages(name: str, standard: frozenset[str]) -> list[str]:
    """Kubernetes' ``validateResourceName``: qualified, and standard unless prefixed."""
    messages = is_qualified_name(name)
    if messages:
        return messages
    if "/" not in name and name not in standard and not _is_hugepages(name):
        return ["must be a standard resource type or fully qualified"]
    return []


def container_resource_name_issues(name: str, path: str) -> list[Issue]:
    """Kubernetes' ``validateContainerResourceName``: ``cpu``, ``memory``,
    ``ephemeral-storage``, ``hugepages-<size>`` or an extended resource."""
    messages = _resource_name_messages(name, _STANDARD)
    if "/" not in name:
        if name not in _COMPUTE and not _is_hugepages(name, ("hugepages-",)):
            messages.append("must be a standard resource for containers")
    elif "kubernetes.io/" not in name and not is_extended_resource_name(name):
        messages.append("doesn't follow extended resource name standard")
    return [invalid(path, name, msg) for msg in messages]


def is_standard_quota_resource(name: str) -> bool:
    """Kubernetes' ``IsStandardQuotaResourceName``."""
    return name in _QUOTA or _is_hugepages(name)


def quota_resource_name_issues(name: str, path: str) -> list[Issue]:
    """Kubernetes' ``ValidateResourceQuotaResourceName``."""
    messages = _resource_name_messages(name, _STANDARD)
    if "/" not in name and not is_standard_quota_resource(name):
        messages.append("must be a standard resource for quota")
    return [invalid(path, name, msg) for msg in messages]


def limit_range_resource_name_issues(name: str, path: str, limit_type: str) -> list[Issue]:
    """Kubernetes' ``validateLimitRangeResourceName``: container resources for
    ``Container`` and ``Pod`` items, any standard resource for claims."""
    if limit_type in ("Container", "Pod"):
        return container_resource_name_issues(name, path)
    return [invalid(path, name, msg) for msg in _resource_name_messages(name, _STANDARD)]


def quantity_value_issues(name: str, quantity: Quantity, path: str) -> list[Issue]:
    """Kubernetes' ``ValidateResourceQuantityValue``: not negative; whole for counts
    and extended resources."""
    issues = []
    if quantity.sign() < 0:
        issues.append(invalid(path, quantity, "must be greater than or equal to 0"))
    countable = name in INTEGER_RESOURCE_NAMES or is_extended_resource_name(name)
    if countable and quantity.milli_value() % 1000:
        issues.append(invalid(path, quantity, "must be an integer"))
    return issues


def validate_resource_list(
    resources: Mapping[str, Quantity],
    path: str,
    name_issues: Callable[[str, str], list[Issue]],
) -> list[Issue]:
    """Every name and amount of a resource map, each at ``path.<name>`` (or
    ``path[<name>]`` when the name is not an identifier, as the codec writes it)."""
    issues = []
    for name, quantity in resources.items():
        where = child(path, name)
        issues.extend(name_issues(name, where))
        issues.extend(quantity_value_issues(name, quantity, where))
    return issues
