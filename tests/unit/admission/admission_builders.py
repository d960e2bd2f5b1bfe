"""Builders for the admission tests: pods with given requests and limits, quotas,
LimitRanges, and a MemoryStore running orbit's admission chain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orbit.admission import default_admission
from orbit.api import (
    Container,
    LimitRange,
    LimitRangeItem,
    LimitRangeSpec,
    Namespace,
    ObjectMeta,
    Pod,
    PodSpec,
    PodStatus,
    Quantity,
    ResourceQuota,
    ResourceQuotaSpec,
    ResourceRequirements,
)
from orbit.clock import ManualClock
from orbit.store import MemoryStore

NS = "team-a"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def quantities(values: Mapping[str, str] | None) -> dict[str, Quantity]:
    return {name: Quantity(value) for name, value in (values or {}).items()}


def container(
    name: str = "web",
    *,
    requests: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
) -> Container:
    resources = ResourceRequirements(limits=quantities(limits))
    if requests is not None:
        resources = ResourceRequirements(limits=quantities(limits), requests=quantities(requests))
    return Container(name=name, image="busybox", resources=resources)


def pod(
    name: str = "web",
    *,
    containers: Sequence[Container] | None = None,
    init: Sequence[Container] = (),
    namespace: str = NS,
    phase: str = "Pending",
    cpu: str | None = None,
    memory: str | None = None,
    active_deadline_s: int | None = None,
    priority_class: str = "",
) -> Pod:
    """A pod; ``cpu`` / ``memory`` give its one container those requests."""
    if containers is None:
        requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
        containers = [container(requests=requests)]
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=PodSpec(
            containers=tuple(containers),
            init_containers=tuple(init),
            active_deadline_seconds=active_deadline_s,
            priority_class_name=priority_class,
        ),
        status=PodStatus(phase=phase),  # type: ignore[arg-type]
    )


def quota(
    name: str = "team-a",
    namespace: str = NS,
    *,
    scopes: Sequence[str] = (),
    **hard: str,
) -> ResourceQuota:
    """A quota; keyword names use ``_`` for ``.`` and ``__`` for ``/``
    (``requests_cpu="8"``, ``count__deployments_apps="1"``)."""
    names = {key.replace("__", "/").replace("_", "."): value for key, value in hard.items()}
    return ResourceQuota(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=ResourceQuotaSpec(hard=quantities(names), scopes=tuple(scopes)),  # type: ignore[arg-type]
    )


def limit_range(name: str = "limits", *items: LimitRangeItem, namespace: str = NS) -> LimitRange:
    return LimitRange(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=LimitRangeSpec(limits=items),
    )


def item(kind: str = "Container", **fields: Mapping[str, str]) -> LimitRangeItem:
    """A LimitRange item: ``item("Container", max={"cpu": "1"}, default_request=...)``."""
    return LimitRangeItem(type=kind, **{k: quantities(v) for k, v in fields.items()})  # type: ignore[arg-type]


def admitting_store(*namespaces: str) -> tuple[MemoryStore, ManualClock]:
    """A store running orbit's admission chain, with the namespaces (``team-a``)."""
    clock = ManualClock(START)
    store = MemoryStore(clock=clock, seed=3, admission=default_admission())
    for name in namespaces or (NS,):
        store.create(Namespace(metadata=ObjectMeta(name=name)))
    return store, clock
