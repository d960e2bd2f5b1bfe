"""Builders for the store tests: small real objects (Pod, ConfigMap, Namespace)."""

from __future__ import annotations

from collections.abc import Mapping

from orbit.api import ConfigMap, Container, Namespace, ObjectMeta, Pod, PodSpec, PodStatus
from orbit.clock import ManualClock
from orbit.store import MemoryStore

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def make_pod(
    name: str = "web",
    namespace: str = "default",
    *,
    labels: Mapping[str, str] | None = None,
    node: str = "",
    phase: str = "Pending",
    image: str = "nginx",
    finalizers: tuple[str, ...] = (),
    generate_name: str = "",
) -> Pod:
    return Pod(
        metadata=ObjectMeta(
            name=name,
            generate_name=generate_name,
            namespace=namespace,
            labels=dict(labels or {}),
            finalizers=finalizers,
        ),
        spec=PodSpec(containers=(Container(name="main", image=image),), node_name=node),
        status=PodStatus(phase=phase),  # type: ignore[arg-type]
    )


def make_config_map(name: str = "settings", namespace: str = "default", **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace), data=data)


def make_namespace(name: str = "team-a", *, labels: Mapping[str, str] | None = None) -> Namespace:
    return Namespace(metadata=ObjectMeta(name=name, labels=dict(labels or {})))


def make_store(**kwargs: object) -> tuple[MemoryStore, ManualClock]:
    clock = ManualClock(START)
    return MemoryStore(clock=clock, seed=7, **kwargs), clock  # type: ignore[arg-type]
