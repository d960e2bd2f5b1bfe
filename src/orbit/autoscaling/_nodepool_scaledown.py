"""Scale-down planning for node pools: which nodes are unneeded, and which go now.

Pure functions reproducing cluster-autoscaler's scale-down planner and its rules:

- **Utilization** (``utilization.Calculate``): per resource, the node's pods' requests
  over its allocatable; a node's utilization is the larger of cpu and memory (of GPUs
  alone for a GPU node). Every pod counts, DaemonSet and mirror pods included.
- **Unneeded** (``Planner.categorizeNodes`` / ``SimulateNodeRemoval``): a pool node
  under the threshold (0.5) whose pods may all be moved and fit elsewhere. Pods
  that need no moving: mirror, DaemonSet, terminating and expendable (priority below
  -10) pods. A pod blocks the node when it is annotated
  ``cluster-autoscaler.kubernetes.io/safe-to-evict: "false"``; unless it is annotated
  ``"true"``, also when it is a kube-system pod without a PodDisruptionBudget, has
  local storage (hostPath, or emptyDir not in memory, unless named in
  ``safe-to-evict-local-volumes``) or has no controller. The disruption budgets must
  allow moving every pod (``RemainingPdbTracker``: a budget's ``disruptionsAllowed``
  covers the node's pods it selects, and is spent as nodes are chosen). Pods are moved
  with the scheduler onto the other nodes, never onto a node already found unneeded:
  candidates are examined one after another on one snapshot (the emptiest first), so
  two unneeded nodes never count on the same free room.
- **Removal** (``Planner.NodesToDelete``): nodes unneeded long enough (10 min; 20 min
  for a node not Ready), never below the pool's ``min_nodes``: every empty one (up to
  10 at a time), and one non-empty one when no drain is in progress.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Final

import attrs

from orbit.api import (
    CPU,
    GPU,
    MEMORY,
    Node,
    Pod,
    PodDisruptionBudget,
    Selector,
    selector_from_label_selector,
)
from orbit.errors import ValidationError
from orbit.scheduling import (
    Frameworks,
    NodeInfo,
    Snapshot,
    node_allocatable,
    pod_priority,
    pod_resources,
)

from ._nodepool_plan import EXPENDABLE_PRIORITY_CUTOFF

__all__ = [
    "SAFE_TO_EVICT_ANNOTATION",
    "SAFE_TO_EVICT_LOCAL_VOLUMES_ANNOTATION",
    "SCALE_DOWN_DISABLED_ANNOTATION",
    "ScaleDownRules",
    "Unneeded",
    "find_unneeded",
    "node_utilization",
    "select_removals",
    "track_unneeded",
]

SAFE_TO_EVICT_ANNOTATION: Final = "cluster-autoscaler.kubernetes.io/safe-to-evict"
SAFE_TO_EVICT_LOCAL_VOLUMES_ANNOTATION: Final = (
    "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"
)
SCALE_DOWN_DISABLED_ANNOTATION: Final = "cluster-autoscaler.kubernetes.io/scale-down-disabled"
MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"


@attrs.frozen(kw_only=True)
class ScaleDownRules:
    """cluster-autoscaler's scale-down flags (defaults as there)."""

    utilization_threshold: float = 0.5
    skip_nodes_with_system_pods: bool = True
    skip_nodes_with_local_storage: bool = True
    expendable_priority_cutoff: int = EXPENDABLE_PRIORITY_CUTOFF


@attrs.frozen
class Unneeded:
    """A node that could go now: its utilization and the pods that must move."""

    node: str
    utilization: float
    pods_to_move: tuple[Pod, ...]

    @property
    def empty(self) -> bool:
        """No pod needs moving (only DaemonSet, mirror or expendable pods are left)."""
        return not self.pods_to_move


def node_utilization(node: Node, pods: Iterable[Pod]) -> float:
    """The node's requested share (module docstring): max of cpu and memory, or the
    GPUs' share for a node with GPUs. A resource the node does not offer counts 0."""
    allocatable = node_allocatable(node)
    requested: dict[str, int] = {}
    for pod in pods:
        for resource, amount in pod_resources(pod).requests.items():
            requested[resource] = requested.get(resource, 0) + amount
    resources = (GPU,) if allocatable.get(GPU, 0) > 0 else (CPU, MEMORY)
    shares = [
        requested.get(resource, 0) / allocatable[resource]
        for resource in resources
        if allocatable.get(resource, 0) > 0
    ]
    return max(shares, default=0.0)


def _needs_no_move(pod: Pod, rules: ScaleDownRules) -> bool:
    controller = pod.metadata.controller_ref()
    return (
        MIRROR_ANNOTATION in pod.metadata.annotations
        or (controller is not None and controller.kind == "DaemonSet")
        or pod.metadata.deletion_timestamp is not None
        or pod.status.phase in ("Succeeded", "Failed")
        or pod_priority(pod) < rules.expendable_priority_cutoff
    )


def _local_storage(pod: Pod) -> bool:
    allowed = pod.metadata.annotations.get(SAFE_TO_EVICT_LOCAL_VOLUMES_ANNOTATION, "")
    safe = {name.strip() for name in allowed.split(",") if name.strip()}
    return any(
        volume.name not in safe
        and (
            volume.host_path is not None
            or (volume.empty_dir is not None and volume.empty_dir.medium != "Memory")
        )
        for volume in pod.spec.volumes
    )


def _blocker(pod: Pod, budgets: Sequence[_Budget], rules: ScaleDownRules) -> str | None:
    """Why ``pod`` keeps its node (cluster-autoscaler's drainability rules), or None."""
    name = f"{pod.metadata.namespace}/{pod.metadata.name}"
    safe = pod.metadata.annotations.get(SAFE_TO_EVICT_ANNOTATION)
    if safe == "true":
        return None
    if safe == "false":
        return f"pod annotated as not safe to evict present: {name}"
    if (
        rules.skip_nodes_with_system_pods
        and pod.metadata.namespace == "kube-system"
        and not any(budget.selects(pod) for budget in budgets)
    ):
        return f"non-daemonset, non-mirrored, non-pdb-assigned kube-system pod present: {name}"
    if rules.skip_nodes_with_local_storage and _local_storage(pod):
        return f"pod with local storage present: {name}"
    if pod.metadata.controller_ref() is None:
        return f"{name} is not replicated"
    return None


@attrs.define
class _Budget:
    """A PodDisruptionBudget's remaining disruptions while nodes are chosen."""

    namespace: str
    selector: Selector
    remaining: int

    def selects(self, pod: Pod) -> bool:
        return pod.metadata.namespace == self.namespace and self.selector.matches(
            pod.metadata.labels
        )


def _budgets(pdbs: Iterable[PodDisruptionBudget]) -> list[_Budget]:
    budgets = []
    for pdb in pdbs:
        try:
            selector = selector_from_label_selector(pdb.spec.selector)
        except ValidationError:
            continue
        budgets.append(_Budget(pdb.metadata.namespace, selector, pdb.status.disruptions_allowed))
    return budgets


def _budget_blocker(pods: Sequence[Pod], budgets: Sequence[_Budget]) -> str | None:
    """``CanRemovePods``: None when every budget allows moving its pods among these."""
    for budget in budgets:
        count = 0
        for pod in pods:
            if budget.selects(pod):
                count += 1
                if budget.remaining < count:
                    meta = pod.metadata
                    return f"not enough pod disruption budget to move {meta.namespace}/{meta.name}"
    return None


def _unbound(pod: Pod) -> Pod:
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=""))


def _examine(info: NodeInfo, rules: ScaleDownRules) -> tuple[float, list[Pod]] | str:
    """A node's utilization and the pods that would have to move, or why it stays."""
    if info.node.metadata.annotations.get(SCALE_DOWN_DISABLED_ANNOTATION) == "true":
        return "scale-down disabled by annotation"
    pods = [p.pod for p in info.pods]
    utilization = node_utilization(info.node, pods)
    if utilization >= rules.utilization_threshold:
        return f"not underutilized ({utilization:.2f})"
    return utilization, [pod for pod in pods if not _needs_no_move(pod, rules)]


def find_unneeded(
    candidates: Collection[str],
    nodes: Sequence[Node],
    placed: Sequence[Pod],
    pdbs: Sequence[PodDisruptionBudget],
    frameworks: Frameworks,
    *,
    rules: ScaleDownRules = ScaleDownRules(),
) -> tuple[list[Unneeded], dict[str, str]]:
    """The unneeded nodes among ``candidates`` (pool nodes that may be removed), in the
    order found, and why each other candidate is not (node -> reason).

    Candidates are ranked once (no pod to move first, then by utilization, then name)
    and examined in turn on one snapshot that already lacks the nodes found unneeded
    and holds their pods where they moved, so a node that received pods is judged with
    them.
    """
    snapshot = Snapshot(nodes, placed)
    budgets = _budgets(pdbs)
    reasons: dict[str, str] = {}
    ranked: list[tuple[bool, float, str]] = []
    for name in sorted(candidates):
        info = snapshot.get(name)
        if info is None:
            continue
        examined = _examine(info, rules)
        if isinstance(examined, str):
            reasons[name] = examined
        else:
            ranked.append((bool(examined[1]), examined[0], name))
    unneeded: list[Unneeded] = []
    for _, _, name in sorted(ranked):
        examined = _examine(snapshot[name], rules)
        if isinstance(examined, str):
            reasons[name] = examined
            continue
        utilization, movable = examined
        blocker = next(
            (b for pod in movable if (b := _blocker(pod, budgets, rules)) is not None), None
        ) or _budget_blocker(movable, budgets)
        if blocker is None:
            moved, blocker = _move(movable, name, snapshot, frameworks)
        if blocker is not None:
            reasons[name] = blocker
            continue
        snapshot = moved  # the node is gone and its pods are placed elsewhere
        for budget in budgets:
            budget.remaining -= sum(budget.selects(pod) for pod in movable)
        unneeded.append(Unneeded(name, utilization, tuple(movable)))
    return unneeded, reasons


def _move(
    pods: Sequence[Pod], node: str, snapshot: Snapshot, frameworks: Frameworks
) -> tuple[Snapshot, str | None]:
    """A copy of ``snapshot`` without ``node`` and with its ``pods`` placed on the other
    nodes; else ``snapshot`` and which pod fits nowhere."""
    trial = snapshot.fork()
    trial.remove_node(node)
    default = frameworks.get("default-scheduler")
    for pod in pods:
        framework = frameworks.for_pod(pod) or default
        if framework is None or not framework.place(_unbound(pod), trial).scheduled:
            meta = pod.metadata
            return snapshot, f"no place to move pod {meta.namespace}/{meta.name}"
    return trial, None


def track_unneeded(
    since: Mapping[str, float], unneeded: Iterable[str], now: float
) -> dict[str, float]:
    """When each node became unneeded: kept for nodes still unneeded, ``now`` for new
    ones; a node no longer unneeded is forgotten (its clock restarts)."""
    return {name: since.get(name, now) for name in unneeded}


def select_removals(
    unneeded: Sequence[Unneeded],
    since: Mapping[str, float],
    now: float,
    *,
    pool_of: Mapping[str, str],
    room: Mapping[str, int],
    unready: Collection[str] = (),
    unneeded_s: float = 600.0,
    unready_s: float = 1200.0,
    max_empty_bulk: int = 10,
    drains_in_progress: int = 0,
    max_drain_parallelism: int = 1,
) -> list[Unneeded]:
    """The nodes to remove now (module docstring): unneeded for ``unneeded_s``
    (``unready_s`` when not Ready), at most ``room[pool]`` per pool (size - min
    nodes), the empty ones first (up to ``max_empty_bulk``), then non-empty ones while
    fewer than ``max_drain_parallelism`` drains run."""
    left = dict(room)
    ripe = [
        u
        for u in unneeded
        if now - since.get(u.node, now) >= (unready_s if u.node in unready else unneeded_s)
    ]
    chosen: list[Unneeded] = []
    slots = {True: max_empty_bulk, False: max_drain_parallelism - drains_in_progress}
    for empty in (True, False):
        for candidate in ripe:
            pool = pool_of.get(candidate.node)
            if candidate.empty != empty or pool is None or slots[empty] <= 0:
                continue
            if left.get(pool, 0) <= 0:
                continue
            left[pool] -= 1
            slots[empty] -= 1
            chosen.append(candidate)
    return chosen
