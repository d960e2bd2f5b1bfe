"""orbit's default admission chain, in Kubernetes' order: mutating plugins first."""

from __future__ import annotations

from orbit.store import AdmissionPlugin

from ._limitrange import LimitRanger
from ._namespace_lifecycle import NamespaceLifecycle
from ._quota_admission import ResourceQuotaAdmission

__all__ = ["default_admission"]


def default_admission() -> tuple[AdmissionPlugin, ...]:
    """NamespaceLifecycle (nothing new in a terminating namespace), LimitRanger
    (defaults, then its bounds), then ResourceQuota (last, so it charges the object as
    it will be stored)."""
    return (NamespaceLifecycle(), LimitRanger(), ResourceQuotaAdmission())
