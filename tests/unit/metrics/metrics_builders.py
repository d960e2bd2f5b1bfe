"""Builders for the metrics tests: a store and pods, nodes and HPAs in given states."""

from __future__ import annotations

from collections.abc import Mapping

from orbit.api import (
    Container,
    ContainerStatus,
    CrossVersionObjectReference,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerSpec,
    HorizontalPodAutoscalerStatus,
    Node,
    NodeStatus,
    ObjectMeta,
    Pod,
    PodSpec,
    PodStatus,
    Quantity,
    ResourceRequirements,
)
from orbit.clock import ManualClock
from orbit.metrics import NODE_POOL_LABEL
from orbit.store import MemoryStore

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def make_store() -> MemoryStore:
    return MemoryStore(clock=ManualClock(START), seed=7)


def make_pod(
    name: str,
    namespace: str = "default",
    *,
    phase: str = "Running",
    node: str = "n1",
    restarts: Mapping[str, int] | None = None,
    finalizers: tuple[str, ...] = (),
) -> Pod:
    """A pod in ``phase`` on ``node`` ("" for unbound), its containers restarted as
    ``restarts`` says (container name -> restartCount)."""
    names = list(restarts or {"main": 0})
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, finalizers=finalizers),
        spec=PodSpec(
            containers=tuple(Container(name=c, image="busybox") for c in names), node_name=node
        ),
        status=PodStatus(
            phase=phase,  # type: ignore[arg-type]
            container_statuses=tuple(
                ContainerStatus(name=c, restart_count=n) for c, n in (restarts or {}).items()
            ),
        ),
    )


def make_hpa(
    name: str, *, current: int, desired: int, low: int, high: int, namespace: str = "shop"
) -> HorizontalPodAutoscaler:
    return HorizontalPodAutoscaler(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=HorizontalPodAutoscalerSpec(
            scale_target_ref=CrossVersionObjectReference(
                kind="Deployment", name=name, api_version="apps/v1"
            ),
            min_replicas=low,
            max_replicas=high,
        ),
        status=HorizontalPodAutoscalerStatus(current_replicas=current, desired_replicas=desired),
    )


def make_node(name: str, pool: str | None = None) -> Node:
    """A node, in ``pool`` when one is given (the ``orbit.dev/node-pool`` label)."""
    labels = {NODE_POOL_LABEL: pool} if pool else {}
    return Node(metadata=ObjectMeta(name=name, labels=labels))


def make_sched_node(name: str, *, cpu: str = "2") -> Node:
    """A schedulable node with ``cpu`` cores, 8 GiB and room for 110 pods."""
    allocatable = {"cpu": Quantity(cpu), "memory": Quantity("8Gi"), "pods": Quantity("110")}
    return Node(
        metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name}),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


def make_sched_pod(
    name: str,
    *,
    cpu: str = "1",
    scheduler_name: str = "default-scheduler",
    annotations: Mapping[str, str] | None = None,
) -> Pod:
    """A pending, unbound pod requesting ``cpu``."""
    requests = {"cpu": Quantity(cpu)}
    container = Container(
        name="main", image="app", resources=ResourceRequirements(requests=requests)
    )
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", annotations=dict(annotations or {})),
        spec=PodSpec(containers=(container,), scheduler_name=scheduler_name),
    )


class StepTimer:
    """A fake ``perf_counter``: each reading is ``step_s`` later than the one before."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now
