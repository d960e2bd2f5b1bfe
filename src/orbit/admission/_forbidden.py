"""How admission words a refusal: Kubernetes' ``admission.NewForbidden`` (the
resource as ``<plural>[.<group>]``, the object's name, the reason) and
``utilerrors.NewAggregate`` (several reasons, de-duplicated, in brackets)."""

from __future__ import annotations

from collections.abc import Iterable

from orbit.api import KindInfo
from orbit.errors import Forbidden

__all__ = ["aggregate", "forbidden", "resource_name"]


def resource_name(info: KindInfo) -> str:
    """The group-qualified plural a Kubernetes message names a kind by: ``pods``,
    ``deployments.apps``, ``cronjobs.batch``."""
    return f"{info.plural}.{info.group}" if info.group else info.plural


def forbidden(info: KindInfo, name: str, reason: str) -> Forbidden:
    """``pods "web-1" is forbidden: <reason>``."""
    return Forbidden(resource_name(info), name, reason)


def aggregate(messages: Iterable[str]) -> str:
    """One message for several (``NewAggregate(...).Error()``): each once, in order,
    comma-joined; in brackets when there is more than one."""
    distinct = list(dict.fromkeys(messages))
    if len(distinct) == 1:
        return distinct[0]
    return "[" + ", ".join(distinct) + "]"
