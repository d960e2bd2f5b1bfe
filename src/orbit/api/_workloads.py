"""Deployments and ReplicaSets: keep N copies of a pod template running, and move
between templates by rolling update or recreate."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from ._meta import ObjectMeta, TypedObject, register_kind
from ._pod import PodTemplateSpec
from ._selector import LabelSelector

__all__ = [
    "Deployment",
    "DeploymentCondition",
    "DeploymentSpec",
    "DeploymentStatus",
    "DeploymentStrategy",
    "ReplicaSet",
    "ReplicaSetCondition",
    "ReplicaSetSpec",
    "ReplicaSetStatus",
    "RollingUpdateDeployment",
]

ConditionStatus = Literal["True", "False", "Unknown"]


@attrs.frozen(kw_only=True)
class ReplicaSetSpec:
    replicas: int = 1
    min_ready_seconds: int = 0
    selector: LabelSelector | None = None
    template: PodTemplateSpec = PodTemplateSpec()


@attrs.frozen(kw_only=True)
class ReplicaSetCondition:
    type: str = ""
    status: ConditionStatus = "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


@attrs.frozen(kw_only=True)
class ReplicaSetStatus:
    replicas: int = 0
    fully_labeled_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    terminating_replicas: int | None = None
    observed_generation: int = 0
    conditions: tuple[ReplicaSetCondition, ...] = ()


@register_kind("apps/v1", plural="replicasets", short_names=("rs",))
@attrs.frozen(kw_only=True)
class ReplicaSet(TypedObject):
    """Keeps ``spec.replicas`` pods matching its selector."""

    metadata: ObjectMeta = ObjectMeta()
    spec: ReplicaSetSpec = ReplicaSetSpec()
    status: ReplicaSetStatus = ReplicaSetStatus()


@attrs.frozen(kw_only=True)
class RollingUpdateDeployment:
    """How far a rolling update may go above (surge, rounded up) and below
    (unavailable, rounded down) the desired count: counts or percentages."""

    max_unavailable: int | str = "25%"
    max_surge: int | str = "25%"


def _rolling_update_default(self: DeploymentStrategy) -> RollingUpdateDeployment | None:
    """`{maxSurge: 25%, maxUnavailable: 25%}` when the type is RollingUpdate"""
    return RollingUpdateDeployment() if self.type == "RollingUpdate" else None


@attrs.frozen(kw_only=True)
class DeploymentStrategy:
    type: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    rolling_update: RollingUpdateDeployment | None = attrs.field(
        default=attrs.Factory(_rolling_update_default, takes_self=True)
    )


@attrs.frozen(kw_only=True)
class DeploymentSpec:
    replicas: int = 1
    selector: LabelSelector | None = None
    template: PodTemplateSpec = PodTemplateSpec()
    strategy: DeploymentStrategy = DeploymentStrategy()
    min_ready_seconds: int = 0
    revision_history_limit: int = 10
    progress_deadline_seconds: int = 600
    paused: bool = False


@attrs.frozen(kw_only=True)
class DeploymentCondition:
    type: str = ""
    status: ConditionStatus = "Unknown"
    reason: str = ""
    message: str = ""
    last_update_time: datetime | None = None
    last_transition_time: datetime | None = None


@attrs.frozen(kw_only=True)
class DeploymentStatus:
    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    terminating_replicas: int | None = None
    collision_count: int | None = None
    conditions: tuple[DeploymentCondition, ...] = ()


@register_kind("apps/v1", plural="deployments", short_names=("deploy",))
@attrs.frozen(kw_only=True)
class Deployment(TypedObject):
    """Declarative updates for pods: one ReplicaSet per template revision."""

    metadata: ObjectMeta = ObjectMeta()
    spec: DeploymentSpec = DeploymentSpec()
    status: DeploymentStatus = DeploymentStatus()
