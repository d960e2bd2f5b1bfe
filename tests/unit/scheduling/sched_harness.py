"""A scheduler harness (Nomad's ``scheduler/tests``): builders for nodes and pods, a
snapshot in, placements and reasons out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from orbit.api import (
    Affinity,
    Container,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    NodeSpec,
    NodeStatus,
    ObjectMeta,
    Pod,
    PodSpec,
    PodStatus,
    PreferredSchedulingTerm,
    Quantity,
    ResourceRequirements,
    Taint,
    Toleration,
)
from orbit.scheduling import (
    GPU_DEVICES_ANNOTATION,
    Framework,
    Profile,
    Registry,
    ScheduleResult,
    Snapshot,
    default_profiles,
)

GPU = "nvidia.com/gpu"


def taint(spec: str) -> Taint:
    """``key=value:Effect`` (value optional) as a Taint."""
    head, _, effect = spec.rpartition(":")
    key, _, value = head.partition("=")
    return Taint(key=key, value=value, effect=effect)  # type: ignore[arg-type]


def make_node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str | None = "110",
    gpus: int = 0,
    gpu_devices: str | None = None,
    ephemeral_storage: str | None = None,
    extended: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[str | Taint] = (),
    unschedulable: bool = False,
) -> Node:
    allocatable: dict[str, Quantity] = {"cpu": Quantity(cpu), "memory": Quantity(memory)}
    if pods is not None:
        allocatable["pods"] = Quantity(pods)
    if gpus:
        allocatable[GPU] = Quantity(str(gpus))
    if ephemeral_storage is not None:
        allocatable["ephemeral-storage"] = Quantity(ephemeral_storage)
    for resource, amount in (extended or {}).items():
        allocatable[resource] = Quantity(amount)
    annotations = {GPU_DEVICES_ANNOTATION: gpu_devices} if gpu_devices is not None else {}
    return Node(
        metadata=ObjectMeta(
            name=name,
            labels={"kubernetes.io/hostname": name, **(labels or {})},
            annotations=annotations,
        ),
        spec=NodeSpec(
            unschedulable=unschedulable,
            taints=tuple(t if isinstance(t, Taint) else taint(t) for t in taints),
        ),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


def requirement(key: str, operator: str, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key=key, operator=operator, values=values)  # type: ignore[arg-type]


def make_pod(
    name: str = "pod",
    *,
    cpu: str | None = "500m",
    memory: str | None = "256Mi",
    gpus: int = 0,
    extended: Mapping[str, str] | None = None,
    namespace: str = "default",
    node_name: str = "",
    node_selector: Mapping[str, str] | None = None,
    required: Sequence[Sequence[NodeSelectorRequirement]] | None = None,
    required_fields: Sequence[Sequence[NodeSelectorRequirement]] | None = None,
    preferred: Sequence[tuple[int, Sequence[NodeSelectorRequirement]]] = (),
    tolerations: Iterable[Toleration] = (),
    scheduler_name: str = "default-scheduler",
    priority: int | None = None,
    phase: str = "Pending",
    annotations: Mapping[str, str] | None = None,
    init: Mapping[str, str] | None = None,
) -> Pod:
    requests: dict[str, Quantity] = {}
    if cpu is not None:
        requests["cpu"] = Quantity(cpu)
    if memory is not None:
        requests["memory"] = Quantity(memory)
    if gpus:
        requests[GPU] = Quantity(str(gpus))
    for resource, amount in (extended or {}).items():
        requests[resource] = Quantity(amount)
    containers = (
        Container(name="main", image="app", resources=ResourceRequirements(requests=requests)),
    )
    init_containers: tuple[Container, ...] = ()
    if init:
        init_requests = {k: Quantity(v) for k, v in init.items()}
        init_containers = (
            Container(
                name="init", image="app", resources=ResourceRequirements(requests=init_requests)
            ),
        )
    affinity = None
    if required is not None or required_fields is not None or preferred:
        terms: list[NodeSelectorTerm] = []
        for exprs in required or ():
            terms.append(NodeSelectorTerm(match_expressions=tuple(exprs)))
        for fields in required_fields or ():
            terms.append(NodeSelectorTerm(match_fields=tuple(fields)))
        affinity = Affinity(
            node_affinity=NodeAffinity(
                required_during_scheduling_ignored_during_execution=NodeSelector(
                    node_selector_terms=tuple(terms)
                )
                if (required is not None or required_fields is not None)
                else None,
                preferred_during_scheduling_ignored_during_execution=tuple(
                    PreferredSchedulingTerm(
                        weight=weight, preference=NodeSelectorTerm(match_expressions=tuple(exprs))
                    )
                    for weight, exprs in preferred
                ),
            )
        )
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, annotations=dict(annotations or {})),
        spec=PodSpec(
            containers=containers,
            init_containers=init_containers,
            node_name=node_name,
            node_selector=dict(node_selector or {}),
            affinity=affinity,
            tolerations=tuple(tolerations),
            scheduler_name=scheduler_name,
            priority=priority,
        ),
        status=PodStatus(phase=phase),  # type: ignore[arg-type]
    )


class Harness:
    """A snapshot and one framework: schedule pods one after another (``place``)."""

    def __init__(
        self,
        nodes: Iterable[Node],
        pods: Iterable[Pod] = (),
        *,
        profile: str | Profile = "default",
        seed: int = 0,
        vectorised: bool = True,
        registry: Registry | None = None,
        preemption: bool = False,
    ) -> None:
        self.snapshot = Snapshot(nodes, pods)
        chosen = default_profiles()[profile] if isinstance(profile, str) else profile
        if isinstance(profile, str) and not preemption:
            # a shipped profile minus preemption: node-local tests see only their reasons
            disabled = {**chosen.disabled, "post_filter": frozenset({"DefaultPreemption"})}
            chosen = attrs.evolve(chosen, disabled=disabled)
        self.framework = Framework(chosen, seed=seed, vectorised=vectorised, registry=registry)
        self.results: list[ScheduleResult] = []

    def schedule(self, pod: Pod) -> ScheduleResult:
        result = self.framework.place(pod, self.snapshot)
        self.results.append(result)
        return result

    def schedule_all(self, pods: Iterable[Pod]) -> dict[str, str | None]:
        return {pod.metadata.name: self.schedule(pod).node_name for pod in pods}

    def message(self, pod: Pod) -> str:
        """Why ``pod`` does not fit now (the snapshot is not changed)."""
        return self.framework.schedule_one(pod, self.snapshot).message

    def pods_on(self, node: str) -> list[str]:
        return [info.pod.metadata.name for info in self.snapshot.pods_on(node)]
