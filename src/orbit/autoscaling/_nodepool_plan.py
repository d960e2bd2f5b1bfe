"""Scale-up planning for node pools: which pool to grow, by how many nodes, for which pods.

A pure function of the cluster as it stands, reproducing cluster-autoscaler's
``ScaleUp`` with orbit's real scheduler (every filter plugin of the pod's profile:
resources, taints and tolerations, node selectors and affinity, inter-pod affinity,
topology spread...):

1. **Filter out what already fits** (``FilterOutSchedulable``): the pending pods, in
   scheduling-queue order (priority, then age), are placed on the existing nodes *and
   the upcoming ones* (nodes being provisioned, as template nodes): a pod that fits
   needs no new node, and a pod arriving while nodes boot does not ask again.
2. **Estimate per pool** (``BinpackingNodeEstimator``): on a copy of that snapshot the
   rest are placed, largest first (``cpu/node_cpu + memory/node_memory``), first on the
   pool's new nodes opened so far, else on a fresh empty template node, until the pool's
   ``max_nodes`` is reached. A pod that does not fit even an empty template node is
   rejected by that pool, with the scheduler's reasons.
3. **Expand**: the expander picks one option (one pool per decision, as
   cluster-autoscaler grows one node group per loop); pods another pool could host wait
   for the next decision, which sees the chosen pool's nodes as upcoming.

Pods no pool can host are reported with cluster-autoscaler's aggregated message: each
reason counted over the pools that gave it, ``"pod didn't trigger scale-up: 1 max node
group size reached, 2 Insufficient cpu"``. Pods below the expendable priority cutoff
(-10) never trigger a scale-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from orbit.api import (
    CPU,
    MEMORY,
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    ObjectMeta,
    Pod,
)
from orbit.scheduling import (
    CycleState,
    Framework,
    Frameworks,
    Snapshot,
    node_allocatable,
    pod_key,
    pod_priority,
    pod_resources,
)

from ._expanders import Expander, Option, least_waste
from ._nodepool import HOSTNAME_LABEL

__all__ = [
    "BACKOFF_REASON",
    "EXPENDABLE_PRIORITY_CUTOFF",
    "MAX_SIZE_REASON",
    "NoScaleUp",
    "PoolState",
    "ScaleUpPlan",
    "plan_scale_up",
    "template_from_node",
    "template_named",
]

EXPENDABLE_PRIORITY_CUTOFF: Final = -10
"""cluster-autoscaler's ``--expendable-pods-priority-cutoff``: lower priorities never
trigger a scale-up and need not be moved on scale-down."""

MAX_SIZE_REASON: Final = "max node group size reached"
BACKOFF_REASON: Final = "in backoff after failed scale-up"


@attrs.frozen
class PoolState:
    """What scale-up planning knows of one pool.

    ``template`` is the Node a new node would register as (any name: each new node is
    a renamed copy); ``size`` counts its registered nodes and upcoming ones, not those
    being removed; ``backed_off``: a recent scale-up of it failed.
    """

    name: str
    template: Node
    size: int
    max_nodes: int
    cost_per_hour: float = 0.0
    backed_off: bool = False


@attrs.frozen
class NoScaleUp:
    """A pod no pool can host, and why: reason -> how many pools gave it."""

    pod: Pod
    reasons: Mapping[str, int]

    @property
    def message(self) -> str:
        """cluster-autoscaler's NotTriggerScaleUp message."""
        parts = sorted(f"{count} {reason}" for reason, count in self.reasons.items())
        if not parts:
            return "pod didn't trigger scale-up: no node pool"
        return f"pod didn't trigger scale-up: {', '.join(parts)}"


@attrs.frozen
class ScaleUpPlan:
    """The decision: ``chosen`` (None: no scale-up) among ``options``.

    ``schedulable``: pods that fit existing or upcoming nodes; ``unhelped``: pods no
    pool can host. Pods in an option other than the chosen one are in neither.
    """

    schedulable: tuple[Pod, ...] = ()
    options: tuple[Option, ...] = ()
    chosen: Option | None = None
    unhelped: tuple[NoScaleUp, ...] = ()


def template_named(template: Node, name: str) -> Node:
    """``template`` as node ``name`` (its hostname label too)."""
    labels = {**template.metadata.labels, HOSTNAME_LABEL: name}
    return attrs.evolve(
        template, metadata=attrs.evolve(template.metadata, name=name, labels=labels)
    )


def template_from_node(node: Node) -> Node:
    """A pool's template taken from one of its registered nodes (cluster-autoscaler's
    ``SanitizeNodeInfo``): its labels, capacity and taints, without what is about this
    node only (cordon, the ``node.kubernetes.io/*`` condition taints, identity)."""
    taints = tuple(t for t in node.spec.taints if not t.key.startswith("node.kubernetes.io/"))
    return Node(
        metadata=ObjectMeta(name=node.metadata.name, labels=dict(node.metadata.labels)),
        spec=NodeSpec(taints=taints),
        status=NodeStatus(
            capacity=node.status.capacity,
            allocatable=node.status.allocatable,
            conditions=(NodeCondition(type="Ready", status="True", reason="KubeletReady"),),
        ),
    )


def _queue_order(pods: Iterable[Pod]) -> list[Pod]:
    """The scheduling queue's order: priority first, then age, then name."""
    return sorted(
        pods,
        key=lambda p: (
            -pod_priority(p),
            p.metadata.creation_timestamp.timestamp() if p.metadata.creation_timestamp else 0.0,
            pod_key(p),
        ),
    )


def plan_scale_up(
    pending: Sequence[Pod],
    nodes: Sequence[Node],
    placed: Sequence[Pod],
    pools: Sequence[PoolState],
    frameworks: Frameworks,
    *,
    expander: Expander = least_waste,
    expendable_priority_cutoff: int = EXPENDABLE_PRIORITY_CUTOFF,
) -> ScaleUpPlan:
    """Plan one scale-up (module docstring).

    Args:
        pending: the unschedulable pods.
        nodes: the registered nodes plus the upcoming ones (as template nodes).
        placed: the pods bound to nodes.
        pools: every pool, with its size and limit.
        frameworks: the scheduler's profiles (a pod of no profile is ignored).
        expander: picks among the pools that can help.
    """
    snapshot = Snapshot(nodes, placed)
    waiting: list[tuple[Pod, Framework]] = []
    schedulable: list[Pod] = []
    for pod in _queue_order(pending):
        framework = frameworks.for_pod(pod)
        if framework is None or pod_priority(pod) < expendable_priority_cutoff:
            continue
        # cluster-autoscaler's simulation runs PreFilter and Filter only: no preemption
        if framework.place(pod, snapshot, post_filter=False).scheduled:
            schedulable.append(pod)
        else:
            waiting.append((pod, framework))
    if not waiting:
        return ScaleUpPlan(schedulable=tuple(schedulable))
    options: list[Option] = []
    rejections: dict[str, dict[str, int]] = {pod_key(pod): {} for pod, _ in waiting}
    for pool in pools:
        option, rejected = _estimate(pool, waiting, snapshot)
        if option is not None:
            options.append(option)
        for key, reasons in rejected.items():
            counts = rejections[key]
            for reason in reasons:
                counts[reason] = counts.get(reason, 0) + 1
    helped = {pod_key(pod) for option in options for pod in option.pods}
    unhelped = tuple(
        NoScaleUp(pod, rejections[pod_key(pod)]) for pod, _ in waiting if pod_key(pod) not in helped
    )
    return ScaleUpPlan(
        schedulable=tuple(schedulable),
        options=tuple(options),
        chosen=expander(options) if options else None,
        unhelped=unhelped,
    )


def _size_score(pod: Pod, allocatable: Mapping[str, int]) -> float:
    """cluster-autoscaler's ``calculatePodScore``: the pod's share of a node."""
    requests = pod_resources(pod)
    score = 0.0
    for resource in (CPU, MEMORY):
        if allocatable.get(resource, 0) > 0:
            score += requests.get(resource) / allocatable[resource]
    return score


def _estimate(
    pool: PoolState, waiting: Sequence[tuple[Pod, Framework]], snapshot: Snapshot
) -> tuple[Option | None, dict[str, tuple[str, ...]]]:
    """How many nodes of ``pool`` host which of the waiting pods, and why the others
    do not fit it (pod key -> reasons)."""
    room = pool.max_nodes - pool.size
    if pool.backed_off or room <= 0:
        reason = BACKOFF_REASON if pool.backed_off else MAX_SIZE_REASON
        return None, {pod_key(pod): (reason,) for pod, _ in waiting}
    allocatable = node_allocatable(pool.template)
    ordered = sorted(waiting, key=lambda entry: -_size_score(entry[0], allocatable))
    trial = snapshot.fork()
    opened: list[str] = []
    spare = _add_spare(pool, trial, 0)
    hosted: list[Pod] = []
    rejected: dict[str, tuple[str, ...]] = {}
    for pod, framework in ordered:
        if any(framework.place_on(pod, trial, name) is not None for name in opened):
            hosted.append(pod)
        elif len(opened) >= room:
            rejected[pod_key(pod)] = (MAX_SIZE_REASON,)
        elif framework.place_on(pod, trial, spare) is not None:
            hosted.append(pod)
            opened.append(spare)
            spare = _add_spare(pool, trial, len(opened))
        else:
            rejected[pod_key(pod)] = _reasons_on(framework, pod, trial, spare)
    if not opened:
        return None, rejected
    option = Option(
        pool=pool.name,
        node_count=len(opened),
        pods=tuple(hosted),
        node_cpu_milli=allocatable.get(CPU, 0),
        node_memory_milli=allocatable.get(MEMORY, 0),
        cost_per_hour=pool.cost_per_hour,
    )
    return option, rejected


def _add_spare(pool: PoolState, trial: Snapshot, serial: int) -> str:
    """Add an empty template node of ``pool`` to ``trial``; returns its name."""
    name = f"{pool.name}-template-{serial}"
    while name in trial:
        name += "x"
    trial.add_node(template_named(pool.template, name))
    return name


def _reasons_on(framework: Framework, pod: Pod, trial: Snapshot, node: str) -> tuple[str, ...]:
    """Why ``pod`` does not fit the empty node ``node``, in the scheduler's words."""
    result = framework.schedule_one(pod, trial, CycleState(post_filter=False))
    status = result.diagnosis.node_statuses.get(node)
    if status is not None and status.reasons:
        return status.reasons
    if result.diagnosis.pre_filter_message:
        return (result.diagnosis.pre_filter_message,)
    return (result.message or "does not fit a new node",)
