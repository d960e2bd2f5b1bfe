"""The LimitRanger admission plugin: fills in the requests and limits a pod's
containers leave out from its namespace's LimitRanges, then checks every container
and the pod against their bounds (Kubernetes' ``plugin/pkg/admission/limitranger``).

Pods only, on create only (Kubernetes skips pod updates: containers' resources cannot
change). LimitRanges are taken by name; in each, ``type: Container`` items give
``default`` (limits) and ``defaultRequest`` (requests), already completed from ``max``
and ``min`` when the LimitRange was loaded (``SetDefaults_LimitRangeItem``). A
container gets every default it does not state, and the pod is annotated
``kubernetes.io/limit-ranger: LimitRanger plugin set: cpu, memory request for
container web; cpu limit for container web``.

Defaults can make a container's request exceed its limit; such a pod is invalid
(``ValidationError``), as Kubernetes' validation, which runs after its mutating
admission, finds it. Bounds are then checked per LimitRange: ``min`` against
requests and limits, ``max`` against limits and requests, ``maxLimitRequestRatio``
against limit / request, for each container (``Container``) and for the pod's total
(``Pod``). The first LimitRange a pod breaks refuses it with every violation
Kubernetes words, e.g. ``pods "web" is forbidden: [maximum cpu usage per Container is
1, but limit is 2, minimum memory usage per Container is 64Mi, but request is 32Mi]``.
Violations are listed in a fixed order (resources by name); Kubernetes' order follows
Go map iteration and varies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import attrs

from orbit.api import (
    Container,
    LimitRange,
    LimitRangeItem,
    Pod,
    Quantity,
    ResourceRequirements,
    validate,
)
from orbit.errors import Issue, ValidationError
from orbit.store import AdmissionRequest

from ._forbidden import aggregate, forbidden
from ._resources import pod_limits, pod_requests

__all__ = ["LIMIT_RANGER_ANNOTATION", "LimitRanger", "apply_defaults", "limit_violations"]

LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger"
_MAX_MILLI_VALUE = (2**63 - 1) // 1000  # resource.MaxMilliValue

_Check = Callable[[str, str, Quantity, Mapping[str, Quantity], Mapping[str, Quantity]], str | None]
"""A bound's check: (kind, resource name, bound, requests, limits) -> the violation."""


# --- defaults ----------------------------------------------------------------------------


def _container_defaults(limit_range: LimitRange) -> tuple[dict[str, Quantity], dict[str, Quantity]]:
    """(default limits, default requests) of the LimitRange's Container items."""
    limits: dict[str, Quantity] = {}
    requests: dict[str, Quantity] = {}
    for item in limit_range.spec.limits:
        if item.type == "Container":
            requests.update(item.default_request)
            limits.update(item.default)
    return limits, requests


def _merge_container(
    container: Container,
    limits: Mapping[str, Quantity],
    requests: Mapping[str, Quantity],
    prefix: str,
    notes: list[str],
) -> Container:
    """``container`` with the defaults it lacks (``mergeContainerResources``)."""
    resources = container.resources
    set_limits = sorted(name for name in limits if name not in resources.limits)
    set_requests = sorted(name for name in requests if name not in resources.requests)
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {prefix} {container.name}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {prefix} {container.name}")
    if not set_limits and not set_requests:
        return container
    merged = ResourceRequirements(
        limits={**resources.limits, **{name: limits[name] for name in set_limits}},
        requests={**resources.requests, **{name: requests[name] for name in set_requests}},
    )
    return attrs.evolve(container, resources=merged)


def apply_defaults(limit_range: LimitRange, pod: Pod) -> Pod:
    """``pod`` with the LimitRange's container defaults filled in and the
    ``kubernetes.io/limit-ranger`` annotation saying what was set
    (``PodMutateLimitFunc``); the same pod when nothing was missing."""
    limits, requests = _container_defaults(limit_range)
    if not limits and not requests:
        return pod
    notes: list[str] = []
    spec = pod.spec
    containers = tuple(
        _merge_container(c, limits, requests, "container", notes) for c in spec.containers
    )
    inits = tuple(
        _merge_container(c, limits, requests, "init container", notes) for c in spec.init_containers
    )
    if not notes:
        return pod
    annotations = {
        **pod.metadata.annotations,
        LIMIT_RANGER_ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes),
    }
    return attrs.evolve(
        pod,
        metadata=attrs.evolve(pod.metadata, annotations=annotations),
        spec=attrs.evolve(spec, containers=containers, init_containers=inits),
    )


# --- bounds --------------------------------------------------------------------------------


def _comparable(
    request: Quantity | None, limit: Quantity | None, enforced: Quantity
) -> tuple[int, int, int]:
    """The three values at a common precision: thousandths unless one would overflow
    (``requestLimitEnforcedValues``); a missing value is zero."""
    values = [q.int_value() if q is not None else 0 for q in (request, limit, enforced)]
    if all(v <= _MAX_MILLI_VALUE for v in values):
        values = [q.milli_value() if q is not None else 0 for q in (request, limit, enforced)]
    return values[0], values[1], values[2]


def _bound_violation(
    kind: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
    *,
    bound: Literal["minimum", "maximum"],
) -> str | None:
    """``minConstraint`` and ``maxConstraint``, one the mirror of the other: a minimum
    needs a request and bounds the request, then the limit, from below; a maximum
    needs a limit and bounds the limit, then the request, from above."""
    request, limit = requests.get(name), limits.get(name)
    observed_request, observed_limit, value = _comparable(request, limit, enforced)
    sides = [("request", request, observed_request), ("limit", limit, observed_limit)]
    if bound == "maximum":
        sides.reverse()
    head = f"{bound} {name} usage per {kind} is {enforced}"
    (needed, present, _), _ = sides
    if present is None:
        return f"{head}.  No {needed} is specified"
    for side, quantity, observed in sides:
        beyond = observed < value if bound == "minimum" else observed > value
        if quantity is not None and beyond:
            return f"{head}, but {side} is {quantity}"
    return None


def _ratio_violation(
    kind: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> str | None:
    request, limit = requests.get(name), limits.get(name)
    observed_request, observed_limit, _ = _comparable(request, limit, enforced)
    head = f"{name} max limit to request ratio per {kind} is {enforced}"
    if request is None or observed_request == 0:
        return f"{head}, but no request is specified or request is 0"
    if limit is None or observed_limit == 0:
        return f"{head}, but no limit is specified or limit is 0"
    ratio = shown = observed_limit / observed_request
    allowed = float(enforced.int_value())
    if enforced.int_value() <= _MAX_MILLI_VALUE:
        ratio, allowed = ratio * 1000, float(enforced.milli_value())
    if ratio > allowed:
        return f"{head}, but provided ratio is {shown:f}"
    return None


def _item_violations(
    item: LimitRangeItem, requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]
) -> Iterator[str]:
    kind = item.type
    checks: tuple[tuple[Mapping[str, Quantity], _Check], ...] = (
        (item.min, functools.partial(_bound_violation, bound="minimum")),
        (item.max, functools.partial(_bound_violation, bound="maximum")),
        (item.max_limit_request_ratio, _ratio_violation),
    )
    for bounds, check in checks:
        for name in sorted(bounds):
            problem = check(kind, name, bounds[name], requests, limits)
            if problem is not None:
                yield problem


def limit_violations(limit_range: LimitRange, pod: Pod) -> list[str]:
    """Every way ``pod`` breaks the LimitRange's bounds (``PodValidateLimitFunc``)."""
    problems: list[str] = []
    for item in limit_range.spec.limits:
        if item.type == "Container":
            for container in (*pod.spec.containers, *pod.spec.init_containers):
                resources = container.resources
                problems.extend(_item_violations(item, resources.requests, resources.limits))
        elif item.type == "Pod":
            problems.extend(_item_violations(item, pod_requests(pod), pod_limits(pod)))
    return problems


# --- the plugin ----------------------------------------------------------------------------


def _overcommit_allowed(name: str) -> bool:
    """``IsOvercommitAllowed``: native resources but huge pages."""
    return ("/" not in name or "kubernetes.io/" in name) and not name.startswith("hugepages-")


def _may_be_invalid(pod: Pod) -> bool:
    """Whether some container's requests and limits disagree (a request above its
    limit; for resources that cannot be overcommitted, any difference): the cheap
    test that spares full validation of every defaulted pod."""
    for container in pod.spec.all_containers():
        limits = container.resources.limits
        for name, request in container.resources.requests.items():
            limit = limits.get(name)
            if _overcommit_allowed(name):
                if limit is not None and request > limit:
                    return True
            elif limit is None or limit != request:
                return True
    return False


def _resource_issues(pod: Pod) -> list[Issue]:
    """The validation issues defaults can cause: those about containers' resources,
    worded by orbit's validation (Kubernetes validates after mutating admission)."""
    if not _may_be_invalid(pod):
        return []
    return [issue for issue in validate(pod) if ".resources" in issue.path]


class LimitRanger:
    """The LimitRanger admission plugin (mutating, then validating its own bounds:
    put it before quota in the chain)."""

    name = "LimitRanger"

    def admit(self, request: AdmissionRequest) -> Any:
        pod = request.object
        if request.operation != "CREATE" or not isinstance(pod, Pod):
            return pod
        limit_ranges = request.list(LimitRange, request.namespace)
        if not limit_ranges:
            return pod
        defaulted = pod
        for limit_range in limit_ranges:
            defaulted = apply_defaults(limit_range, defaulted)
        if defaulted is not pod:
            issues = _resource_issues(defaulted)
            if issues:
                raise ValidationError(issues, subject=f'Pod "{request.name}"')
        for limit_range in limit_ranges:
            problems = limit_violations(limit_range, defaulted)
            if problems:
                raise forbidden(request.info, request.name, aggregate(problems))
        return defaulted
