"""ResourceQuota and LimitRange (core ``v1``): per-namespace caps and per-container
defaults, both enforced by admission before an object reaches the store.

A ResourceQuota caps what a namespace may hold in total (``requests.cpu``,
``limits.memory``, ``pods``, ``count/deployments.apps``...); its status records the
hard limits in force and what is used. A LimitRange bounds each container, pod or
claim, and fills in a container's missing limits and requests.

LimitRange defaults follow ``SetDefaults_LimitRangeItem``: for ``type: Container``,
``default`` (the limit) takes ``max`` for every resource it does not name, and
``defaultRequest`` takes ``default``, then ``min``, for every resource it does not name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from ._meta import EMPTY_MAP, ObjectMeta, TypedObject, register_kind
from ._quantity import Quantity

__all__ = [
    "LimitRange",
    "LimitRangeItem",
    "LimitRangeSpec",
    "ResourceQuota",
    "ResourceQuotaSpec",
    "ResourceQuotaStatus",
]

ResourceQuotaScope = Literal[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
]
# "" is Go's zero value: the field is required, and validation reports it when unset.
LimitType = Literal["", "Container", "Pod", "PersistentVolumeClaim"]


@attrs.frozen(kw_only=True)
class ResourceQuotaSpec:
    """``hard`` caps per resource name; ``scopes`` restrict the quota to matching pods."""

    hard: Mapping[str, Quantity] = EMPTY_MAP
    scopes: tuple[ResourceQuotaScope, ...] = ()

    __orbit_ignored__ = ("scopeSelector",)


@attrs.frozen(kw_only=True)
class ResourceQuotaStatus:
    hard: Mapping[str, Quantity] = EMPTY_MAP
    used: Mapping[str, Quantity] = EMPTY_MAP


@register_kind("v1", plural="resourcequotas", short_names=("quota",))
@attrs.frozen(kw_only=True)
class ResourceQuota(TypedObject):
    """Caps the total resources and object counts of one namespace."""

    metadata: ObjectMeta = ObjectMeta()
    spec: ResourceQuotaSpec = ResourceQuotaSpec()
    status: ResourceQuotaStatus = ResourceQuotaStatus()


def _merged_default(item: LimitRangeItem) -> Mapping[str, Quantity]:
    return {**item.max, **item.default}


def _default_limit(self: LimitRangeItem) -> Mapping[str, Quantity]:
    """`max` (for type Container)"""
    return self.max if self.type == "Container" else EMPTY_MAP


def _default_request(self: LimitRangeItem) -> Mapping[str, Quantity]:
    """`default`, else `min` (for type Container)"""
    if self.type != "Container":
        return EMPTY_MAP
    return {**self.min, **_merged_default(self)}


@attrs.frozen(kw_only=True)
class LimitRangeItem:
    """Bounds and defaults for one kind of thing (``Container``, ``Pod`` or
    ``PersistentVolumeClaim``).

    For containers, ``default`` and ``default_request`` are completed from ``max`` and
    ``min`` as Kubernetes does (see the module docstring); admission applies them to
    containers that leave a limit or request out.
    """

    type: LimitType = ""
    max: Mapping[str, Quantity] = EMPTY_MAP
    min: Mapping[str, Quantity] = EMPTY_MAP
    default: Mapping[str, Quantity] = attrs.field(
        default=attrs.Factory(_default_limit, takes_self=True)
    )
    default_request: Mapping[str, Quantity] = attrs.field(
        default=attrs.Factory(_default_request, takes_self=True)
    )
    max_limit_request_ratio: Mapping[str, Quantity] = EMPTY_MAP

    def __attrs_post_init__(self) -> None:
        if self.type != "Container":
            return
        default = _merged_default(self)
        if default != self.default:
            object.__setattr__(self, "default", default)
        request = {**self.min, **default, **self.default_request}
        if request != self.default_request:
            object.__setattr__(self, "default_request", request)


@attrs.frozen(kw_only=True)
class LimitRangeSpec:
    limits: tuple[LimitRangeItem, ...] = ()


@register_kind("v1", plural="limitranges", short_names=("limits",))
@attrs.frozen(kw_only=True)
class LimitRange(TypedObject):
    """Per-object resource bounds and defaults in one namespace."""

    metadata: ObjectMeta = ObjectMeta()
    spec: LimitRangeSpec = LimitRangeSpec()
