"""Validation of Deployments and ReplicaSets (Kubernetes' ``pkg/apis/apps/validation``).

Both need a non-empty selector that matches their template's labels, a template whose
pods restart ``Always``, and non-negative counts; a Deployment also checks its rollout
strategy (``maxSurge`` / ``maxUnavailable`` as a count or a percentage, not both 0) and
that its progress deadline exceeds ``minReadySeconds``.
"""

from __future__ import annotations

from orbit.errors import Issue

from ._validate_meta import (
    child,
    forbidden,
    invalid,
    nonnegative,
    required,
    validate_int_or_percent,
    validate_object_meta,
)
from ._validate_pod import validate_pod_template, validate_template_selector
from ._validation import validator
from ._workloads import Deployment, DeploymentSpec, DeploymentStrategy, ReplicaSet, ReplicaSetSpec

__all__: list[str] = []

_EMPTY_SELECTOR = "empty selector is invalid for deployment"  # Kubernetes says so for both


def _validate_replicated_template(spec: DeploymentSpec | ReplicaSetSpec) -> list[Issue]:
    """Selector, template (``restartPolicy: Always``; no ``activeDeadlineSeconds``)."""
    issues = validate_template_selector(
        spec.selector, spec.template, "spec", empty_message=_EMPTY_SELECTOR
    )
    issues.extend(
        validate_pod_template(spec.template, "spec.template", restart_policies=("Always",))
    )
    deadline = spec.template.spec.active_deadline_seconds
    if deadline is not None:
        where = "spec.template.spec.activeDeadlineSeconds"
        issues.append(
            invalid(where, deadline, "activeDeadlineSeconds in ReplicaSet is not Supported")
        )
    return issues


@validator(ReplicaSet)
def _validate_replica_set(rs: ReplicaSet) -> list[Issue]:
    issues = validate_object_meta(rs.metadata)
    issues.extend(nonnegative(rs.spec.replicas, "spec.replicas"))
    issues.extend(nonnegative(rs.spec.min_ready_seconds, "spec.minReadySeconds"))
    issues.extend(_validate_replicated_template(rs.spec))
    return issues


def _validate_strategy(strategy: DeploymentStrategy, path: str) -> list[Issue]:
    """Kubernetes' ``ValidateDeploymentStrategy`` and ``ValidateRollingUpdateDeployment``."""
    rolling = strategy.rolling_update
    where = child(path, "rollingUpdate")
    if strategy.type == "Recreate":
        if rolling is not None:
            return [forbidden(where, "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if rolling is None:
        return [required(where, "this should be defaulted and never be nil")]
    unavailable_path = child(where, "maxUnavailable")
    issues = validate_int_or_percent(
        rolling.max_unavailable, unavailable_path, at_most_100_percent=True
    )
    issues.extend(validate_int_or_percent(rolling.max_surge, child(where, "maxSurge")))
    if _is_zero(rolling.max_unavailable) and _is_zero(rolling.max_surge):
        issues.append(
            invalid(unavailable_path, rolling.max_unavailable, "may not be 0 when `maxSurge` is 0")
        )
    return issues


def _is_zero(value: int | str) -> bool:
    """Kubernetes' ``getIntOrPercentValue(v) == 0``: ``0`` or ``"0%"``."""
    if isinstance(value, int):
        return value == 0
    return value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) == 0


@validator(Deployment)
def _validate_deployment(deployment: Deployment) -> list[Issue]:
    spec = deployment.spec
    issues = validate_object_meta(deployment.metadata)
    issues.extend(nonnegative(spec.replicas, "spec.replicas"))
    issues.extend(_validate_replicated_template(spec))
    issues.extend(_validate_strategy(spec.strategy, "spec.strategy"))
    issues.extend(nonnegative(spec.min_ready_seconds, "spec.minReadySeconds"))
    issues.extend(nonnegative(spec.revision_history_limit, "spec.revisionHistoryLimit"))
    deadline = spec.progress_deadline_seconds
    issues.extend(nonnegative(deadline, "spec.progressDeadlineSeconds"))
    if deadline <= spec.min_ready_seconds:
        where = "spec.progressDeadlineSeconds"
        issues.append(invalid(where, deadline, "must be greater than minReadySeconds"))
    return issues
