"""Builders for the node failure, eviction and disruption budget tests: nodes with
conditions, pods that are Ready or not, owners, budgets, and a store on a manual clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orbit.api import (
    Container,
    Deployment,
    DeploymentSpec,
    LabelSelector,
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodCondition,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    PodSpec,
    PodStatus,
    ReplicaSet,
    ReplicaSetSpec,
    Taint,
    Toleration,
)
from orbit.clock import ManualClock
from orbit.controllers._pods import owner_reference
from orbit.store import MemoryStore

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
WEB = LabelSelector(match_labels={"app": "web"})


def make_store() -> tuple[MemoryStore, ManualClock]:
    clock = ManualClock(START)
    return MemoryStore(clock=clock, seed=3), clock


def make_node(
    name: str = "n1",
    *,
    ready: str | None = "True",
    taints: Sequence[Taint] = (),
    unschedulable: bool = False,
    labels: Mapping[str, str] | None = None,
    **conditions: str,
) -> Node:
    """A node with a Ready condition of status ``ready`` (none when ``None``) and other
    conditions given as ``MemoryPressure="True"``."""
    listed = [NodeCondition(type=kind, status=status) for kind, status in conditions.items()]  # type: ignore[arg-type]
    if ready is not None:
        listed.append(NodeCondition(type="Ready", status=ready))  # type: ignore[arg-type]
    return Node(
        metadata=ObjectMeta(name=name, labels=dict(labels or {})),
        spec=NodeSpec(taints=tuple(taints), unschedulable=unschedulable),
        status=NodeStatus(conditions=tuple(listed)),
    )


def owner(obj: Any) -> OwnerReference:
    """A controller reference to a stored ReplicaSet, Deployment or ConfigMap."""
    return owner_reference(obj)


def make_pod(
    name: str,
    *,
    node: str = "n1",
    labels: Mapping[str, str] | None = None,
    ready: bool = True,
    phase: str = "Running",
    owners: Sequence[OwnerReference] = (),
    tolerations: Sequence[Toleration] = (),
    grace: int = 30,
    annotations: Mapping[str, str] | None = None,
    finalizers: tuple[str, ...] = (),
) -> Pod:
    conditions = (PodCondition(type="Ready", status="True" if ready else "False"),)
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            labels=dict(labels if labels is not None else {"app": "web"}),
            annotations=dict(annotations or {}),
            owner_references=tuple(owners),
            finalizers=finalizers,
        ),
        spec=PodSpec(
            containers=(Container(name="main", image="web"),),
            node_name=node,
            tolerations=tuple(tolerations),
            termination_grace_period_seconds=grace,
        ),
        status=PodStatus(phase=phase, conditions=conditions),  # type: ignore[arg-type]
    )


def make_pdb(
    name: str = "web",
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    selector: LabelSelector | None = WEB,
    policy: str | None = None,
) -> PodDisruptionBudget:
    return PodDisruptionBudget(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodDisruptionBudgetSpec(
            min_available=min_available,
            max_unavailable=max_unavailable,
            selector=selector,
            unhealthy_pod_eviction_policy=policy,  # type: ignore[arg-type]
        ),
    )


def make_replicaset(name: str = "web", replicas: int = 3, *, owned_by: Any = None) -> ReplicaSet:
    owners = (owner(owned_by),) if owned_by is not None else ()
    return ReplicaSet(
        metadata=ObjectMeta(name=name, namespace="default", owner_references=owners),
        spec=ReplicaSetSpec(replicas=replicas, selector=WEB),
    )


def make_deployment(name: str = "web", replicas: int = 3) -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=DeploymentSpec(replicas=replicas, selector=WEB),
    )
