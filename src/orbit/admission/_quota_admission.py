"""The ResourceQuota admission plugin: refuses a create (or an update that charges
more) that would take a namespace beyond a quota, and charges what it admits to the
quota's ``status.used`` (Kubernetes' ``plugin/pkg/admission/resourcequota``,
``CheckRequest``).

For each quota of the object's namespace, by name: a quota the object is not charged
to (it tracks nothing the kind consumes, or the object is outside one of its scopes)
is skipped; a pod must state every cpu / memory request or limit a matching quota
tracks (``failed quota: team-a: must specify requests.cpu for: web``). Then the
object's usage (for an update: what it adds to the old object's, never negative) is
added to each matching quota's usage; the first quota it would exceed refuses the
write with Kubernetes' message::

    exceeded quota: team-a, requested: requests.cpu=2, used: requests.cpu=7, limited: requests.cpu=8

Otherwise every matching quota's status is written with its new usage before the
object is stored, as Kubernetes does, so that writes following each other closely
cannot together overrun a quota; the quota controller later recomputes usage from
what is stored (releasing what deleted and finished objects held).

One difference: Kubernetes refuses objects while a quota's status is not yet computed
("status unknown for quota"); orbit instead computes the namespace's usage there and
then (its store can list), and writes it along with the charge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from orbit.api import ResourceQuota, ResourceQuotaStatus
from orbit.store import AdmissionRequest, Operation

from ._forbidden import forbidden
from ._quota import Evaluator, calculate_usage, evaluator_for, quota_matches, tracked_resources
from ._resources import (
    ResourceMap,
    add,
    exceeded,
    mask,
    pretty_print,
    remove_zeros,
    subtract_non_negative,
)

__all__ = ["QuotaDecision", "ResourceQuotaAdmission", "check_request", "is_current"]


@attrs.frozen
class QuotaDecision:
    """The outcome of :func:`check_request`: why the write is refused, or the new usage
    of every quota it is charged to."""

    refusal: str | None = None
    charges: tuple[tuple[ResourceQuota, ResourceMap], ...] = ()


def is_current(quota: ResourceQuota) -> bool:
    """Whether the quota's status can be charged as it is: it enforces the spec's hard
    limits and has a usage for every resource it tracks."""
    status = quota.status
    if status.hard != quota.spec.hard:
        return False
    return tracked_resources(quota.spec.hard).issubset(status.used)


def _exceeded_message(
    quota: ResourceQuota, requested: ResourceMap, used: ResourceMap, names: list[str]
) -> str:
    return (
        f"exceeded quota: {quota.metadata.name}, "
        f"requested: {pretty_print(mask(requested, names))}, "
        f"used: {pretty_print(mask(used, names))}, "
        f"limited: {pretty_print(mask(quota.spec.hard, names))}"
    )


def check_request(
    evaluator: Evaluator,
    quotas: Sequence[ResourceQuota],
    *,
    operation: Operation,
    obj: Any,
    old: Any | None,
    now: float,
    used_of: Callable[[ResourceQuota], ResourceMap],
) -> QuotaDecision:
    """Decide a write against the quotas of its namespace (module docstring).

    ``used_of(quota)`` is the quota's usage before this write; it is asked only for
    quotas the object is charged to.
    """
    charged: list[ResourceQuota] = []
    for quota in sorted(quotas, key=lambda q: q.metadata.name):
        if not quota_matches(quota, evaluator, obj):
            continue
        restricted = evaluator.matching_resources(quota.spec.hard)
        problem = evaluator.constraints(restricted, obj)
        if problem is not None:
            return QuotaDecision(refusal=f"failed quota: {quota.metadata.name}: {problem}")
        charged.append(quota)
    if not charged:
        return QuotaDecision()
    delta = evaluator.usage(obj, now)
    if operation == "UPDATE" and old is not None:
        delta = subtract_non_negative(delta, evaluator.usage(old, now))
    delta = remove_zeros(delta)
    charges: list[tuple[ResourceQuota, ResourceMap]] = []
    for quota in charged:
        requested = mask(delta, quota.spec.hard)
        if not requested:
            continue
        used = used_of(quota)
        new_used = add(used, requested)
        over = exceeded(mask(new_used, requested), quota.spec.hard)
        if over:
            return QuotaDecision(refusal=_exceeded_message(quota, requested, used, over))
        charges.append((quota, new_used))
    return QuotaDecision(charges=tuple(charges))


class ResourceQuotaAdmission:
    """The ResourceQuota admission plugin (validating: put it last in the chain)."""

    name = "ResourceQuota"

    def admit(self, request: AdmissionRequest) -> Any:
        obj = request.object
        evaluator = evaluator_for(request.info)
        if evaluator is None or not evaluator.handles(request.operation, obj, request.old):
            return obj
        namespace = request.namespace
        quotas = request.list(ResourceQuota, namespace)
        if not quotas:
            return obj

        def used_of(quota: ResourceQuota) -> ResourceMap:
            if is_current(quota):
                return dict(quota.status.used)
            return calculate_usage(
                quota, lambda info: request.list(info.cls, namespace), request.now
            )

        decision = check_request(
            evaluator,
            quotas,
            operation=request.operation,
            obj=obj,
            old=request.old,
            now=request.now,
            used_of=used_of,
        )
        if decision.refusal is not None:
            raise forbidden(request.info, request.name, decision.refusal)
        for quota, used in decision.charges:
            status = ResourceQuotaStatus(hard=dict(quota.spec.hard), used=used)
            request.write_status(attrs.evolve(quota, status=status))
        return obj
