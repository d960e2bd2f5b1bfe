"""Admission: what every create and update passes before the store writes it, as in
Kubernetes' API server. Nothing new in a terminating namespace
(``NamespaceLifecycle``), LimitRange defaults and bounds (``LimitRanger``), then
ResourceQuota (``ResourceQuotaAdmission``), run by the store's admission chain
(:mod:`orbit.store._admission`); the usage arithmetic is shared with the quota
controller.
"""

from ._chain import default_admission as default_admission
from ._forbidden import resource_name as resource_name
from ._limitrange import LIMIT_RANGER_ANNOTATION as LIMIT_RANGER_ANNOTATION
from ._limitrange import LimitRanger as LimitRanger
from ._limitrange import apply_defaults as apply_defaults
from ._limitrange import limit_violations as limit_violations
from ._namespace_lifecycle import NAMESPACE_FINALIZER as NAMESPACE_FINALIZER
from ._namespace_lifecycle import NamespaceLifecycle as NamespaceLifecycle
from ._quota import IGNORED_KINDS as IGNORED_KINDS
from ._quota import Evaluator as Evaluator
from ._quota import calculate_usage as calculate_usage
from ._quota import counts_for_quota as counts_for_quota
from ._quota import evaluator_for as evaluator_for
from ._quota import evaluators as evaluators
from ._quota import quota_matches as quota_matches
from ._quota import stops_counting_at as stops_counting_at
from ._quota import tracked_resources as tracked_resources
from ._quota_admission import QuotaDecision as QuotaDecision
from ._quota_admission import ResourceQuotaAdmission as ResourceQuotaAdmission
from ._quota_admission import check_request as check_request
from ._quota_admission import is_current as is_current
from ._resources import pod_limits as pod_limits
from ._resources import pod_requests as pod_requests

__all__ = [
    "Evaluator",
    "IGNORED_KINDS",
    "LIMIT_RANGER_ANNOTATION",
    "LimitRanger",
    "NAMESPACE_FINALIZER",
    "NamespaceLifecycle",
    "QuotaDecision",
    "ResourceQuotaAdmission",
    "apply_defaults",
    "calculate_usage",
    "check_request",
    "counts_for_quota",
    "default_admission",
    "evaluator_for",
    "evaluators",
    "is_current",
    "limit_violations",
    "pod_limits",
    "pod_requests",
    "quota_matches",
    "resource_name",
    "stops_counting_at",
    "tracked_resources",
]
