"""The node-pool autoscaler: cluster-autoscaler's loop over orbit's node pools.

```
 pod watch ── a pod turns Unschedulable ──► wake (then 0.2 s to gather the burst)
                                               │          every scan_interval_s (10 s)
                                               ▼                   │
 scan: list nodes, pods, PDBs ◄────────────────┴───────────────────┘
   1. min_nodes: a pool below it gets the missing nodes
   2. scale-up: plan_scale_up (the real scheduler on template nodes) ─► the expander's
      pool grows: provider.create ─► host.add_node, in the background; until
      registered the nodes are *upcoming* (planning counts them, nothing asks twice);
      events TriggeredScaleUp on the pods it serves, NotTriggerScaleUp (with the
      reasons) on pods no pool can host
   3. scale-down: find_unneeded (utilization < 0.5, pods fit elsewhere, budgets allow)
      ─► unneeded for 10 min, no scale-up for 10 min (nor a delete / failure just
      before) ─► cordon + drain (Eviction API: PodDisruptionBudgets hold) ─►
      host.remove_node ─► provider.delete; events ScaleDown on the node and its pods
```

The pure decisions live in :mod:`orbit.autoscaling._nodepool_plan` and
:mod:`orbit.autoscaling._nodepool_scaledown`; node changes are carried out by
:mod:`orbit.autoscaling._nodepool_actuator` as tasks in the autoscaler's own task group
(upcoming and departing nodes, failure backoff), so one slow cloud call never holds the
loop: a scan never awaits. This module keeps the rest of the state that spans scans
(when each node became unneeded, the last scale-up and removal) and reads the store.

The host is whatever adds and removes nodes: :class:`orbit.Cluster` is one
(:class:`~orbit.autoscaling.NodeHost`). Every duration is configurable; the defaults
are cluster-autoscaler's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

import anyio
import anyio.abc

from orbit.api import Node, Pod, PodDisruptionBudget
from orbit.clock import Clock
from orbit.controllers import store_aware_registry
from orbit.errors import ResourceExpired
from orbit.scheduling import Frameworks
from orbit.store import EventRecorder, Store

from ._expanders import Expander, resolve_expander
from ._nodepool import NODE_POOL_LABEL, NodePool
from ._nodepool_actuator import NodeActuator, NodeHost
from ._nodepool_plan import PoolState, plan_scale_up, template_from_node, template_named
from ._nodepool_scaledown import (
    ScaleDownRules,
    Unneeded,
    find_unneeded,
    select_removals,
    track_unneeded,
)

__all__ = ["COMPONENT", "NodePoolAutoscaler", "is_unschedulable"]

COMPONENT: Final = "cluster-autoscaler"
_TERMINAL = frozenset({"Succeeded", "Failed"})
_log = logging.getLogger("orbit.autoscaling")


def is_unschedulable(pod: Pod) -> bool:
    """A pending pod the scheduler found no node for (``PodScheduled=False``,
    reason ``Unschedulable``)."""
    if pod.spec.node_name or pod.metadata.deletion_timestamp is not None:
        return False
    if pod.status.phase in _TERMINAL:
        return False
    condition = pod.status.condition("PodScheduled")
    return (
        condition is not None
        and condition.status == "False"
        and (condition.reason == "Unschedulable")
    )


def _versions(objects: Sequence[Any]) -> tuple[tuple[str, str, str], ...]:
    """Who and which version each object is: equal tuples, unchanged objects."""
    return tuple(
        (o.metadata.namespace, o.metadata.name, o.metadata.resource_version) for o in objects
    )


def _ready(node: Node) -> bool:
    condition = node.status.condition("Ready")
    return condition is not None and condition.status == "True"


class NodePoolAutoscaler:
    """Grows and shrinks node pools (module docstring).

    Args:
        store: the cluster's store.
        clock: the cluster's clock.
        pools: the node pools (names must differ).
        host: adds, drains and removes nodes (the Cluster).
        expander: ``least-waste``, ``fewest-nodes``, ``cheapest``, ``most-pods`` or a
            function of the options.
        scan_interval_s: the periodic scan (``--scan-interval``, 10 s).
        new_pods_batch_s: after a pod turns unschedulable, how long to wait for the
            rest of its burst before deciding (within the 1 s scale-up objective).
        scale_down_enabled: whether idle nodes are removed at all.
        scale_down_utilization_threshold: below this a node may be unneeded (0.5).
        scale_down_unneeded_s: how long a node stays unneeded before it goes (10 min).
        scale_down_unready_s: the same for a node that is not Ready (20 min).
        scale_down_delay_after_add_s: no scale-down this long after a scale-up (10 min).
        scale_down_delay_after_delete_s: ... after a removal started (default: the
            scan interval).
        scale_down_delay_after_failure_s: ... after a failed removal (3 min).
        max_empty_bulk_delete: empty nodes removed at once at most (10).
        max_drain_parallelism: non-empty nodes drained at once at most (1).
        drain_timeout_s: a drain not done by then fails; the node is uncordoned.
        scale_up_failure_backoff_s: a pool whose node could not be made is not grown
            for this long (5 min).
        frameworks: the scheduler's profiles to plan with (default: orbit's, reading
            the store's budgets and namespaces as the cluster's scheduler does).
        recorder: where events go (component ``cluster-autoscaler``).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        pools: Iterable[NodePool],
        host: NodeHost,
        *,
        expander: str | Expander = "least-waste",
        scan_interval_s: float = 10.0,
        new_pods_batch_s: float = 0.2,
        scale_down_enabled: bool = True,
        scale_down_utilization_threshold: float = 0.5,
        scale_down_unneeded_s: float = 600.0,
        scale_down_unready_s: float = 1200.0,
        scale_down_delay_after_add_s: float = 600.0,
        scale_down_delay_after_delete_s: float | None = None,
        scale_down_delay_after_failure_s: float = 180.0,
        max_empty_bulk_delete: int = 10,
        max_drain_parallelism: int = 1,
        drain_timeout_s: float = 600.0,
        scale_up_failure_backoff_s: float = 300.0,
        frameworks: Frameworks | None = None,
        recorder: EventRecorder | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.pools: dict[str, NodePool] = {}
        for pool in pools:
            if pool.name in self.pools:
                raise ValueError(f"two node pools are named {pool.name!r}")
            self.pools[pool.name] = pool
        self.host = host
        self.expander = resolve_expander(expander)
        self.scan_interval_s = scan_interval_s
        self.new_pods_batch_s = new_pods_batch_s
        self.scale_down_enabled = scale_down_enabled
        self.rules = ScaleDownRules(utilization_threshold=scale_down_utilization_threshold)
        self.scale_down_unneeded_s = scale_down_unneeded_s
        self.scale_down_unready_s = scale_down_unready_s
        self.scale_down_delay_after_add_s = scale_down_delay_after_add_s
        self.scale_down_delay_after_delete_s = (
            scan_interval_s
            if scale_down_delay_after_delete_s is None
            else scale_down_delay_after_delete_s
        )
        self.scale_down_delay_after_failure_s = scale_down_delay_after_failure_s
        self.max_empty_bulk_delete = max_empty_bulk_delete
        self.max_drain_parallelism = max_drain_parallelism
        self.frameworks = frameworks or Frameworks(registry=store_aware_registry(store))
        self.recorder = recorder or EventRecorder(store, clock, component=COMPONENT)
        self.actuator = NodeActuator(
            store,
            clock,
            host,
            self.recorder,
            drain_timeout_s=drain_timeout_s,
            failure_backoff_s=scale_up_failure_backoff_s,
            on_failure=self._poke,
        )
        self.unneeded_since: dict[str, float] = {}  # node -> monotonic time
        self.unneeded_reasons: dict[str, str] = {}  # pool node -> why it is needed
        self._last_scale_up = -math.inf
        self._last_delete = -math.inf
        self._seen: object = None
        self._found: tuple[list[Unneeded], dict[str, str]] = ([], {})
        self._wake = anyio.Event()
        self.scans = 0

    @property
    def upcoming(self) -> dict[str, str]:
        """Nodes being made (node -> pool), not registered yet."""
        return self.actuator.upcoming

    @property
    def departing(self) -> dict[str, str]:
        """Nodes being drained and removed (node -> pool)."""
        return self.actuator.departing

    def _poke(self) -> None:
        self._wake.set()

    # -- the loop --------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Scan until cancelled: at once, every ``scan_interval_s``, and soon after a
        pod turns unschedulable."""
        async with anyio.create_task_group() as group:
            self.actuator.group = group
            group.start_soon(self._follow_pods, self.store.list(Pod).resource_version)
            task_status.started()
            while True:
                self._wake = anyio.Event()
                try:
                    self.scan()
                except Exception:  # one bad scan must not take the cluster down
                    _log.exception(
                        "node-pool autoscaler: scan failed; next in %gs", self.scan_interval_s
                    )
                woke = False
                with anyio.move_on_after(self.scan_interval_s):
                    await self._wake.wait()
                    woke = True
                if woke and self.new_pods_batch_s > 0:
                    await self.clock.sleep(self.new_pods_batch_s)

    async def _follow_pods(self, resource_version: str | None) -> None:
        while True:
            try:
                async with self.store.watch(Pod, resource_version=resource_version) as watch:
                    async for event in watch:
                        if event.type != "DELETED" and is_unschedulable(event.object):
                            self._wake.set()
            except ResourceExpired:
                _log.warning("node-pool autoscaler: pod watch expired, watching again")
                resource_version = None
                self._wake.set()  # the scan lists every pod again

    def sizes(self) -> dict[str, int]:
        """Each pool's size: its registered nodes not being removed, plus upcoming."""
        members = self._members(self.store.list(Node).items)
        return {name: len(members[name]) for name in self.pools}

    def scan(self) -> None:
        """One pass: min sizes, scale-up, scale-down (module docstring). Needs
        :meth:`run`'s task group for the node changes it starts."""
        self.scans += 1
        now = self.clock.monotonic()
        nodes = self.store.list(Node).items
        pods = self.store.list(Pod).items
        members = self._members(nodes)
        registered = {node.metadata.name for node in nodes}
        self._ensure_min_sizes(members, registered, now)
        pending = [pod for pod in pods if is_unschedulable(pod)]
        scaled_up = bool(pending) and self._scale_up(pending, nodes, pods, members, now)
        if self.scale_down_enabled:
            self._scale_down(nodes, pods, members, now, scaled_up=scaled_up)

    def _members(self, nodes: Sequence[Node]) -> dict[str, list[str]]:
        """Pool -> its nodes (registered and not departing, then upcoming)."""
        members: dict[str, list[str]] = {name: [] for name in self.pools}
        registered = set()
        for node in nodes:
            name = node.metadata.name
            registered.add(name)
            pool = node.metadata.labels.get(NODE_POOL_LABEL)
            if pool in members and name not in self.departing:
                members[pool].append(name)
        for name, pool in self.upcoming.items():
            if name not in registered:
                members[pool].append(name)
        return members

    # -- scale-up --------------------------------------------------------------------

    def _ensure_min_sizes(
        self, members: dict[str, list[str]], registered: set[str], now: float
    ) -> None:
        for pool in self.pools.values():
            missing = pool.min_nodes - len(members[pool.name])
            if missing <= 0 or self.actuator.backed_off(pool.name, now):
                continue
            _log.info("node pool %s: below its minimum, adding %d node(s)", pool.name, missing)
            for _ in range(missing):
                members[pool.name].append(self.actuator.provision(pool, registered))

    def _template(self, pool: NodePool, nodes: Sequence[Node]) -> Node:
        """A registered Ready node of the pool as the template, else the pool's own."""
        for node in nodes:
            ours = node.metadata.labels.get(NODE_POOL_LABEL) == pool.name
            if ours and _ready(node) and node.metadata.name not in self.departing:
                return template_from_node(node)
        return pool.node_object(pool.node_name(0))

    def _scale_up(
        self,
        pending: Sequence[Pod],
        nodes: Sequence[Node],
        pods: Sequence[Pod],
        members: dict[str, list[str]],
        now: float,
    ) -> bool:
        registered = {node.metadata.name for node in nodes}
        templates = {name: self._template(pool, nodes) for name, pool in self.pools.items()}
        states = [
            PoolState(
                name=name,
                template=templates[name],
                size=len(members[name]),
                max_nodes=pool.max_nodes,
                cost_per_hour=pool.cost_per_hour,
                backed_off=self.actuator.backed_off(name, now),
            )
            for name, pool in self.pools.items()
        ]
        upcoming = [
            template_named(templates[pool], name)
            for name, pool in self.upcoming.items()
            if name not in registered
        ]
        staying = [node for node in nodes if node.metadata.name not in self.departing]
        placed = [pod for pod in pods if pod.spec.node_name]
        plan = plan_scale_up(
            pending, [*staying, *upcoming], placed, states, self.frameworks, expander=self.expander
        )
        chosen = plan.chosen
        if chosen is None:
            for item in plan.unhelped:
                self.recorder.record(item.pod, "Normal", "NotTriggerScaleUp", item.message)
            return False
        pool = self.pools[chosen.pool]
        current = len(members[pool.name])
        info = f"[{{{pool.name} {current}->{current + chosen.node_count} (max: {pool.max_nodes})}}]"
        _log.info("node-pool scale-up: %s for %d pod(s)", info, len(chosen.pods))
        for _ in range(chosen.node_count):
            members[pool.name].append(self.actuator.provision(pool, registered))
        for pod in chosen.pods:
            self.recorder.record(
                pod, "Normal", "TriggeredScaleUp", f"pod triggered scale-up: {info}"
            )
        self._last_scale_up = now
        return True

    # -- scale-down ------------------------------------------------------------------

    def _in_cooldown(self, now: float) -> bool:
        return (
            now < self._last_scale_up + self.scale_down_delay_after_add_s
            or now < self._last_delete + self.scale_down_delay_after_delete_s
            or now < self.actuator.last_failure + self.scale_down_delay_after_failure_s
        )

    def _scale_down(
        self,
        nodes: Sequence[Node],
        pods: Sequence[Pod],
        members: dict[str, list[str]],
        now: float,
        *,
        scaled_up: bool,
    ) -> None:
        pool_of = {name: pool for pool, names in members.items() for name in names}
        registered = {node.metadata.name: node for node in nodes}
        candidates = [name for name in pool_of if name in registered]
        placed = [pod for pod in pods if pod.spec.node_name]
        pdbs = self.store.list(PodDisruptionBudget).items
        seen = (_versions(nodes), _versions(placed), _versions(pdbs), tuple(candidates))
        if seen != self._seen:  # the same cluster gives the same answer: skip the work
            self._seen = seen
            self._found = find_unneeded(
                candidates, nodes, placed, pdbs, self.frameworks, rules=self.rules
            )
        unneeded, reasons = self._found
        self.unneeded_reasons = reasons
        self.unneeded_since = track_unneeded(self.unneeded_since, (u.node for u in unneeded), now)
        if scaled_up or self._in_cooldown(now):
            return
        room = {name: len(members[name]) - pool.min_nodes for name, pool in self.pools.items()}
        chosen = select_removals(
            unneeded,
            self.unneeded_since,
            now,
            pool_of=pool_of,
            room=room,
            unready={name for name in candidates if not _ready(registered[name])},
            unneeded_s=self.scale_down_unneeded_s,
            unready_s=self.scale_down_unready_s,
            max_empty_bulk=self.max_empty_bulk_delete,
            drains_in_progress=len(self.actuator.draining),
            max_drain_parallelism=self.max_drain_parallelism,
        )
        for candidate in chosen:
            self.unneeded_since.pop(candidate.node, None)
            pool = self.pools[pool_of[candidate.node]]
            self.actuator.remove(pool, candidate, registered[candidate.node])
        if chosen:
            self._last_delete = now
