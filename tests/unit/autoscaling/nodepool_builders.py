"""Builders for the node-pool planning tests: nodes, pods, budgets, pool states."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from orbit.api import (
    Container,
    EmptyDirVolumeSource,
    LabelSelector,
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    PodDisruptionBudgetStatus,
    PodSpec,
    PodStatus,
    Quantity,
    ResourceRequirements,
    Taint,
    Toleration,
    Volume,
)
from orbit.autoscaling._nodepool_plan import PoolState


def make_node(
    name: str,
    *,
    cpu: str = "2",
    memory: str = "4Gi",
    gpus: int = 0,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    annotations: Mapping[str, str] | None = None,
    ready: bool = True,
) -> Node:
    allocatable = {"cpu": Quantity(cpu), "memory": Quantity(memory), "pods": Quantity("110")}
    if gpus:
        allocatable["nvidia.com/gpu"] = Quantity(str(gpus))
    return Node(
        metadata=ObjectMeta(
            name=name,
            labels={"kubernetes.io/hostname": name, **(labels or {})},
            annotations=dict(annotations or {}),
        ),
        spec=NodeSpec(taints=tuple(taints)),
        status=NodeStatus(
            capacity=allocatable,
            allocatable=allocatable,
            conditions=(NodeCondition(type="Ready", status="True" if ready else "False"),),
        ),
    )


def make_pod(
    name: str,
    *,
    cpu: str = "500m",
    memory: str = "512Mi",
    gpus: int = 0,
    node: str = "",
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    owner: str | None = "ReplicaSet",
    annotations: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Iterable[Toleration] = (),
    volumes: Iterable[Volume] = (),
    priority: int | None = None,
    scheduler_name: str = "default-scheduler",
) -> Pod:
    """A one-container pod; ``owner`` is its controller's kind (None: no controller)."""
    requests = {"cpu": Quantity(cpu), "memory": Quantity(memory)}
    if gpus:
        requests["nvidia.com/gpu"] = Quantity(str(gpus))
    owners = ()
    if owner is not None:
        owners = (
            OwnerReference(
                api_version="apps/v1", kind=owner, name="owner", uid="uid-owner", controller=True
            ),
        )
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            labels=dict(labels or {}),
            annotations=dict(annotations or {}),
            owner_references=owners,
        ),
        spec=PodSpec(
            containers=(
                Container(
                    name="app", image="app", resources=ResourceRequirements(requests=requests)
                ),
            ),
            node_name=node,
            node_selector=dict(node_selector or {}),
            tolerations=tuple(tolerations),
            volumes=tuple(volumes),
            priority=priority,
            scheduler_name=scheduler_name,
        ),
        status=PodStatus(phase="Running" if node else "Pending"),
    )


def empty_dir(name: str, medium: str = "") -> Volume:
    return Volume(name=name, empty_dir=EmptyDirVolumeSource(medium=medium))  # type: ignore[arg-type]


def make_pdb(
    name: str, labels: Mapping[str, str], allowed: int, namespace: str = "default"
) -> PodDisruptionBudget:
    return PodDisruptionBudget(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=PodDisruptionBudgetSpec(
            min_available=1, selector=LabelSelector(match_labels=dict(labels))
        ),
        status=PodDisruptionBudgetStatus(disruptions_allowed=allowed),
    )


def pool_state(
    name: str,
    *,
    cpu: str = "2",
    memory: str = "4Gi",
    size: int = 0,
    max_nodes: int = 10,
    cost_per_hour: float = 0.0,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    backed_off: bool = False,
) -> PoolState:
    return PoolState(
        name=name,
        template=make_node(
            f"{name}-template", cpu=cpu, memory=memory, labels=labels, taints=taints
        ),
        size=size,
        max_nodes=max_nodes,
        cost_per_hour=cost_per_hour,
        backed_off=backed_off,
    )
