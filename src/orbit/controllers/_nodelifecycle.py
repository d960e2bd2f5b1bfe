"""The node lifecycle controller: silent nodes turn Unknown, and node conditions become
taints.

It does what Kubernetes' node lifecycle controller does, in three parts:

- **Leases** (``monitorNodeHealth``, every ``monitor_period_s``): a node whose lease is
  older than the grace period (40 s) gets every condition set to ``Unknown`` (reason
  ``NodeStatusUnknown``, "Kubelet stopped posting node status."); when it had been
  Ready, a ``NodeNotReady`` event is recorded and its pods' Ready condition turned
  False (``MarkPodsNotReady``), so Services stop sending them traffic. The node agent
  writes Ready again once the lease is renewed (the lease table tells it the node had
  been declared lost). Leases live in memory (:class:`orbit.store.Leases`), renewed
  by the cluster's heartbeat loop; only nodes that ever renewed one are monitored.
- **NoSchedule taints** follow each node's conditions and ``spec.unschedulable`` on
  every change of the node (:func:`~._node_taints.with_no_schedule_taints`): this is
  how a cordoned node gets ``node.kubernetes.io/unschedulable:NoSchedule`` and a lost
  one ``node.kubernetes.io/unreachable:NoSchedule`` (set before the node is marked
  Unknown, so no pod is bound to it in between).
- **NoExecute taints** (``processTaintBaseEviction``, on every monitor pass for the
  nodes that are not Ready or carry one): ``not-ready`` while Ready is False,
  ``unreachable`` while it is Unknown, swapped for each other at once, added through
  a rate-limited queue per zone (:mod:`~._zones`: 0.1 nodes/s, less or none when a
  zone is largely down, none at all when every zone is), removed as soon as the node
  is Ready. The taint eviction controller then evicts the pods that do not tolerate
  them.

Node objects without a lease (created directly in the store) are never marked
Unknown, but their conditions still become taints, as in Kubernetes.
"""

from __future__ import annotations

import logging
import math
from collections import Counter

import anyio
import anyio.abc
import attrs

from orbit.api import Node, NodeCondition, Pod, Taint
from orbit.clock import Clock, to_datetime
from orbit.errors import Conflict, NotFound
from orbit.store import EventRecorder, Leases, Store

from ._loop import ControllerLoop, Key, Watched, own_key
from ._node_taints import (
    NO_EXECUTE_KEYS,
    NOT_READY_TAINT,
    UNREACHABLE_TAINT,
    has_taint,
    ready_status,
    swap_taints,
    with_no_schedule_taints,
)
from ._zones import TaintQueue, TokenBucket, ZoneState, zone_key, zone_state

__all__ = [
    "UNKNOWN_MESSAGE",
    "UNREACHABLE_TAINT",
    "NodeLifecycleController",
]

UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
_NOT_READY_NO_EXECUTE = Taint(key=NOT_READY_TAINT, effect="NoExecute")
_UNREACHABLE_NO_EXECUTE = Taint(key=UNREACHABLE_TAINT, effect="NoExecute")
_log = logging.getLogger("orbit.controllers")


class NodeLifecycleController:
    """Marks nodes with stale leases Unknown and keeps node taints in step with node
    conditions (module docstring). ``run`` starts its node watch and its monitor.

    Args:
        store: the cluster's store.
        clock: the clock the leases are read on (``clock.monotonic()``).
        leases: the cluster's lease table.
        grace_period_s: how old a lease may get (node-monitor-grace-period, 40 s).
        monitor_period_s: how often leases are checked (node-monitor-period, 5 s).
        eviction_rate: nodes tainted NoExecute per second per zone (0.1).
        secondary_eviction_rate: the rate in a partially disrupted large zone (0.01).
        unhealthy_zone_threshold: the share of not-Ready nodes (of more than 2) that
            makes a zone partially disrupted (0.55).
        large_cluster_threshold: zones of more nodes than this keep tainting, at the
            secondary rate, when partially disrupted (50).
        recorder: where events go (default: component ``node-controller``).
    """

    name = "node-lifecycle-controller"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        leases: Leases,
        *,
        grace_period_s: float = 40.0,
        monitor_period_s: float = 5.0,
        eviction_rate: float = 0.1,
        secondary_eviction_rate: float = 0.01,
        unhealthy_zone_threshold: float = 0.55,
        large_cluster_threshold: int = 50,
        recorder: EventRecorder | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.leases = leases
        self.grace_period_s = grace_period_s
        self.monitor_period_s = monitor_period_s
        self.eviction_rate = eviction_rate
        self.secondary_eviction_rate = secondary_eviction_rate
        self.unhealthy_zone_threshold = unhealthy_zone_threshold
        self.large_cluster_threshold = large_cluster_threshold
        self.recorder = recorder or EventRecorder(store, clock, component="node-controller")
        self.unreachable: set[str] = set()
        """Nodes declared lost (stale lease) and not renewed since."""
        self._seen: dict[str, tuple[str, bool]] = {}  # node -> (zone, Ready is True)
        self._zone_size: Counter[str] = Counter()
        self._zone_not_ready: Counter[str] = Counter()
        self._zone_states: dict[str, ZoneState] = {}
        self._queues: dict[str, TaintQueue] = {}
        self._attention: set[str] = set()  # not Ready, NoExecute-tainted or queued
        self.loop = ControllerLoop(store, clock, self)

    # -- running -------------------------------------------------------------------

    @property
    def watches(self) -> tuple[Watched, ...]:
        """Nodes: each change re-derives the node's NoSchedule taints."""
        return (Watched(Node, own_key),)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Watch nodes, and monitor leases every ``monitor_period_s``, until cancelled;
        between monitor passes, taint queued nodes as the zones' rates allow."""
        async with anyio.create_task_group() as group:
            await group.start(self.loop.run)
            task_status.started()
            next_monitor = self.clock.monotonic() + self.monitor_period_s
            while True:
                now = self.clock.monotonic()
                wake = min(next_monitor, self._next_taint_attempt(now))
                await self.clock.sleep(max(0.0, wake - now))
                now = self.clock.monotonic()
                if now >= next_monitor:
                    self.monitor()
                    while next_monitor <= now:
                        next_monitor += self.monitor_period_s
                else:
                    self._taint_pass(now)

    def monitor(self) -> None:
        """One pass: mark nodes whose lease went stale, note those renewed since, then
        add or remove NoExecute taints and update the zones' states."""
        now = self.clock.monotonic()
        horizon = now - self.grace_period_s
        for name in list(self.unreachable):
            renewed = self.leases.renewed_at(name)
            if renewed is None:
                self.unreachable.discard(name)
            elif renewed >= horizon:
                self._restore(name)
        for name, _ in self.leases.stale(horizon):
            if name not in self.unreachable:
                self._lose(name)
        for name in sorted(self._attention):
            self._process_taint_based_eviction(name)
        self._handle_disruption(now)
        self._taint_pass(now)

    # -- node events: NoSchedule taints and bookkeeping ------------------------------

    def reconcile(self, key: Key) -> float | None:
        """Bring the node's NoSchedule taints in line with its conditions."""
        name = key[1]
        try:
            node = self.store.get(Node, name)
        except NotFound:
            self._forget(name)
            return None
        if name not in self._seen:
            node = self._mark_reachable(node)  # a node seen first: Kubernetes starts clean
        self._observe(node)
        taints = with_no_schedule_taints(node, self._stamp())
        if taints != node.spec.taints:
            self.store.update(attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints)))
        return None

    def _observe(self, node: Node) -> None:
        """Note the node's zone and readiness (for the zone states) and whether it needs
        looking at in monitor passes."""
        name = node.metadata.name
        zone, ready = zone_key(node), ready_status(node) == "True"
        self._forget(name, keep_attention=True)
        self._seen[name] = (zone, ready)
        self._zone_size[zone] += 1
        self._zone_not_ready[zone] += not ready
        if zone not in self._queues:
            self._queues[zone] = TaintQueue(TokenBucket(self.eviction_rate, self.clock.monotonic()))
        if not ready or any(has_taint(node.spec.taints, k, "NoExecute") for k in NO_EXECUTE_KEYS):
            self._attention.add(name)

    def _forget(self, name: str, *, keep_attention: bool = False) -> None:
        seen = self._seen.pop(name, None)
        if seen is not None:
            zone, ready = seen
            self._zone_size[zone] -= 1
            self._zone_not_ready[zone] -= not ready
            if not keep_attention:
                self._queues[zone].remove(name)
        if not keep_attention:
            self._attention.discard(name)

    # -- leases ---------------------------------------------------------------------

    def _lose(self, name: str) -> None:
        try:
            node = self.store.get(Node, name)
        except NotFound:
            self.leases.forget(name)
            return
        observed = ready_status(node)
        lost = attrs.evolve(node, status=attrs.evolve(node.status, conditions=self._unknown(node)))
        taints = with_no_schedule_taints(lost, self._stamp())
        try:
            if taints != node.spec.taints:  # first: no Unknown without the taint
                node = self.store.update(
                    attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints))
                )
            node = self.store.update_status(attrs.evolve(node, status=lost.status))
        except (Conflict, NotFound) as error:
            _log.info("marking node %s unreachable failed (%s); retrying", name, error)
            return
        self.leases.mark_expired(name)
        self.unreachable.add(name)
        self._observe(node)
        _log.warning("node %s stopped posting status: marked Unknown", name)
        if observed == "True":
            message = f"Node {name} status is now: NodeNotReady"
            self.recorder.record(node, "Normal", "NodeNotReady", message)
            self._mark_pods_not_ready(name)

    def _unknown(self, node: Node) -> tuple[NodeCondition, ...]:
        now = to_datetime(int(self.clock.now()))
        conditions = tuple(
            attrs.evolve(
                condition,
                status="Unknown",
                reason="NodeStatusUnknown",
                message=UNKNOWN_MESSAGE,
                last_transition_time=now
                if condition.status != "Unknown"
                else condition.last_transition_time,
            )
            for condition in node.status.conditions
        )
        if node.status.condition("Ready") is None:
            conditions += (
                NodeCondition(
                    type="Ready",
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message=UNKNOWN_MESSAGE,
                    last_transition_time=now,
                ),
            )
        return conditions

    def _mark_pods_not_ready(self, node_name: str) -> None:
        """Turn the Ready condition of every pod on the node False
        (``MarkPodsNotReady``), with a ``NodeNotReady`` event on each."""
        now = to_datetime(int(self.clock.now()))
        pods = self.store.list(Pod, field_selector={"spec.nodeName": node_name}).items
        for pod in pods:
            ready = pod.status.condition("Ready")
            if ready is None or ready.status == "False":
                continue
            changed = attrs.evolve(ready, status="False", last_transition_time=now)
            conditions = tuple(changed if c is ready else c for c in pod.status.conditions)
            try:
                self.store.update_status(
                    attrs.evolve(pod, status=attrs.evolve(pod.status, conditions=conditions))
                )
            except (Conflict, NotFound):
                continue
            self.recorder.record(pod, "Warning", "NodeNotReady", "Node is not ready")

    def _restore(self, name: str) -> None:
        self.unreachable.discard(name)
        try:
            node = self.store.get(Node, name)
        except NotFound:
            return
        self.recorder.record(node, "Normal", "NodeReady", f"Node {name} status is now: NodeReady")

    # -- NoExecute taints -------------------------------------------------------------

    def _process_taint_based_eviction(self, name: str) -> None:
        """``processTaintBaseEviction`` for one node, by its Ready condition."""
        try:
            node = self.store.get(Node, name)
        except NotFound:
            self._forget(name)
            return
        status = ready_status(node)
        taints = node.spec.taints
        if status == "False" and has_taint(taints, UNREACHABLE_TAINT, "NoExecute"):
            self._write_taints(node, add=_NOT_READY_NO_EXECUTE, remove=_UNREACHABLE_NO_EXECUTE)
        elif status == "Unknown" and has_taint(taints, NOT_READY_TAINT, "NoExecute"):
            self._write_taints(node, add=_UNREACHABLE_NO_EXECUTE, remove=_NOT_READY_NO_EXECUTE)
        elif status in ("False", "Unknown"):
            wanted = NOT_READY_TAINT if status == "False" else UNREACHABLE_TAINT
            queue = self._queues[zone_key(node)]
            if not has_taint(taints, wanted, "NoExecute"):
                queue.remove(name)  # queue it afresh: it lacks the taint it needs now
            queue.add(name)
        else:  # Ready, or no Ready condition to go by
            if status == "True":
                self._mark_reachable(node)
            self._attention.discard(name)

    def _mark_reachable(self, node: Node) -> Node:
        """Remove both NoExecute taints and forget any queued tainting
        (``markNodeAsReachable``)."""
        queue = self._queues.get(zone_key(node))
        if queue is not None:
            queue.remove(node.metadata.name)
        return self._write_taints(node, remove=_NOT_READY_NO_EXECUTE, also=_UNREACHABLE_NO_EXECUTE)

    def _write_taints(
        self,
        node: Node,
        *,
        remove: Taint,
        add: Taint | None = None,
        also: Taint | None = None,
    ) -> Node:
        removing = [remove] if also is None else [remove, also]
        taints = swap_taints(
            node.spec.taints, add=[] if add is None else [add], remove=removing, stamp=self._stamp()
        )
        if taints == node.spec.taints:
            return node
        try:
            updated: Node = self.store.update(
                attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints))
            )
        except (Conflict, NotFound) as error:
            _log.info("updating taints of node %s failed (%s)", node.metadata.name, error)
            return node
        return updated

    def _taint(self, name: str) -> bool:
        """The queue's work (``doNoExecuteTaintingPass``): taint by the Ready condition
        now; False to try again later."""
        try:
            node = self.store.get(Node, name)
        except NotFound:
            return True
        status = ready_status(node)
        if status == "False":
            self._write_taints(node, add=_NOT_READY_NO_EXECUTE, remove=_UNREACHABLE_NO_EXECUTE)
        elif status == "Unknown":
            self._write_taints(node, add=_UNREACHABLE_NO_EXECUTE, remove=_NOT_READY_NO_EXECUTE)
        return status != ""

    def _taint_pass(self, now: float) -> None:
        for queue in self._queues.values():
            queue.process(now, self._taint)

    def _next_taint_attempt(self, now: float) -> float:
        return min((q.next_attempt_at(now) for q in self._queues.values()), default=math.inf)

    # -- zones --------------------------------------------------------------------------

    def _handle_disruption(self, now: float) -> None:
        """Zone states and their tainting rates (``handleDisruption``)."""
        sizes = {zone: size for zone, size in self._zone_size.items() if size > 0}
        for zone in [z for z in self._zone_states if z not in sizes]:
            del self._zone_states[zone]
        new = {
            zone: zone_state(size, self._zone_not_ready[zone], self.unhealthy_zone_threshold)
            for zone, size in sizes.items()
        }
        for zone in new:
            self._zone_states.setdefault(zone, ZoneState.INITIAL)
        all_are = all(s is ZoneState.FULL_DISRUPTION for s in new.values())
        all_were = all(s is ZoneState.FULL_DISRUPTION for s in self._zone_states.values())
        if all_are and all_were:
            return
        if all_are:
            _log.warning("every node is not Ready: NoExecute tainting stops (master disruption)")
            for name in sorted(self._attention):
                try:
                    self._mark_reachable(self.store.get(Node, name))
                except NotFound:
                    continue
            for zone in self._zone_states:
                self._queues[zone].limiter = self._queues[zone].limiter.swapped(0.0, now)
                self._zone_states[zone] = ZoneState.FULL_DISRUPTION
            return
        for zone, state in list(self._zone_states.items()):
            if all_were or state is not new[zone]:
                self._set_rate(zone, sizes[zone], new[zone], now)
                self._zone_states[zone] = new[zone]

    def _set_rate(self, zone: str, size: int, state: ZoneState, now: float) -> None:
        rate = self.eviction_rate
        if state is ZoneState.PARTIAL_DISRUPTION:
            large = size > self.large_cluster_threshold
            rate = self.secondary_eviction_rate if large else 0.0
        queue = self._queues[zone]
        queue.limiter = queue.limiter.swapped(rate, now)

    def _stamp(self) -> str:
        return to_datetime(int(self.clock.now())).strftime("%Y-%m-%dT%H:%M:%SZ")
