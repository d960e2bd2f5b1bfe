"""PodDisruptionBudget (``policy/v1``): how many of a set of pods voluntary disruptions
(drains, evictions, rolling node replacement) may take down at once.

Kubernetes sets no defaults on a PodDisruptionBudget: ``minAvailable`` and
``maxUnavailable`` (an integer or a percentage such as ``"50%"``) stay unset unless
written, and an unset ``unhealthyPodEvictionPolicy`` behaves as ``IfHealthyBudget``.
``policy/v1beta1`` is accepted as an alias; note that there an empty selector selected
no pods, while in ``policy/v1`` (and in orbit) it selects every pod of the namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import attrs

from ._meta import EMPTY_MAP, ObjectMeta, TypedObject, register_kind
from ._selector import LabelSelector

__all__ = [
    "Condition",
    "PodDisruptionBudget",
    "PodDisruptionBudgetSpec",
    "PodDisruptionBudgetStatus",
]

ConditionStatus = Literal["True", "False", "Unknown"]


@attrs.frozen(kw_only=True)
class Condition:
    """Kubernetes' generic ``metav1.Condition`` (the PDB's ``DisruptionAllowed``)."""

    type: str = ""
    status: ConditionStatus = "Unknown"
    observed_generation: int = 0
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class PodDisruptionBudgetSpec:
    """The pods ``selector`` picks, and at most one of ``min_available`` /
    ``max_unavailable`` (validation checks that)."""

    min_available: int | str | None = None
    selector: LabelSelector | None = None
    max_unavailable: int | str | None = None
    unhealthy_pod_eviction_policy: Literal["IfHealthyBudget", "AlwaysAllow"] | None = None


@attrs.frozen(kw_only=True)
class PodDisruptionBudgetStatus:
    """Written by the disruption controller.

    ``disrupted_pods`` maps names of pods being evicted to when the eviction was
    admitted, so they count as gone before the pods' deletion is observed.
    """

    observed_generation: int = 0
    disrupted_pods: Mapping[str, datetime] = EMPTY_MAP
    disruptions_allowed: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0
    conditions: tuple[Condition, ...] = ()

    def condition(self, type_: str) -> Condition | None:
        """The condition of that type, if the budget reports it."""
        for condition in self.conditions:
            if condition.type == type_:
                return condition
        return None


@register_kind(
    "policy/v1",
    plural="poddisruptionbudgets",
    short_names=("pdb",),
    aliases=("policy/v1beta1",),
)
@attrs.frozen(kw_only=True)
class PodDisruptionBudget(TypedObject):
    """A floor under voluntary disruptions of a set of pods."""

    metadata: ObjectMeta = ObjectMeta()
    spec: PodDisruptionBudgetSpec = PodDisruptionBudgetSpec()
    status: PodDisruptionBudgetStatus = PodDisruptionBudgetStatus()
