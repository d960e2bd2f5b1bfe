"""The node lifecycle controller: nodes whose heartbeats stopped turn NotReady.

Kubernetes' node lifecycle controller watches node leases; when a node's lease is
older than the node-monitor grace period (40 s) it sets every node condition to
``Unknown`` (reason ``NodeStatusUnknown``, "Kubelet stopped posting node status.") and
taints the node ``node.kubernetes.io/unreachable:NoSchedule`` so nothing new lands on
it. When the lease is renewed again the taint goes; the node agent writes Ready again
(the lease table tells it the node had been declared lost).

Leases live in memory (:class:`orbit.store.Leases`), renewed by the cluster's heartbeat
loop; only nodes that ever renewed one are monitored, so Node objects created directly
in the store (tests, external nodes) are left alone. Evicting the pods of a lost node
is the job of a later controller (``NoExecute`` taint-based eviction).
"""

from __future__ import annotations

import logging

import anyio
import anyio.abc
import attrs

from orbit.api import Node, NodeCondition, Taint
from orbit.clock import Clock, to_datetime
from orbit.errors import Conflict, NotFound
from orbit.store import EventRecorder, Leases, Store

__all__ = [
    "UNKNOWN_MESSAGE",
    "UNREACHABLE_TAINT",
    "NodeLifecycleController",
]

UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
_log = logging.getLogger("orbit.controllers")


class NodeLifecycleController:
    """Marks nodes with stale leases Unknown and unreachable (module docstring).

    Args:
        store: the cluster's store.
        clock: the clock the leases are read on (``clock.monotonic()``).
        leases: the cluster's lease table.
        grace_period_s: how old a lease may get (node-monitor-grace-period, 40 s).
        monitor_period_s: how often leases are checked (node-monitor-period, 5 s).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        leases: Leases,
        *,
        grace_period_s: float = 40.0,
        monitor_period_s: float = 5.0,
        recorder: EventRecorder | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.leases = leases
        self.grace_period_s = grace_period_s
        self.monitor_period_s = monitor_period_s
        self.recorder = recorder or EventRecorder(store, clock, component="node-controller")
        self.unreachable: set[str] = set()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Check leases every ``monitor_period_s`` until cancelled."""
        task_status.started()
        while True:
            await self.clock.sleep(self.monitor_period_s)
            self.monitor()

    def monitor(self) -> None:
        """One pass: mark nodes whose lease went stale, restore those renewed since."""
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

    def _lose(self, name: str) -> None:
        try:
            node = self.store.get(Node, name)
        except NotFound:
            self.leases.forget(name)
            return
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
        try:
            node = self._set_taint(node, present=True)  # first: no Unknown without it
            node = self.store.update_status(
                attrs.evolve(node, status=attrs.evolve(node.status, conditions=conditions))
            )
        except (Conflict, NotFound) as error:
            _log.info("marking node %s unreachable failed (%s); retrying", name, error)
            return
        self.leases.mark_expired(name)
        self.unreachable.add(name)
        self.recorder.record(
            node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady"
        )
        _log.warning("node %s stopped posting status: marked Unknown and unreachable", name)

    def _restore(self, name: str) -> None:
        try:
            node = self.store.get(Node, name)
            self._set_taint(node, present=False)
        except NotFound:
            self.unreachable.discard(name)
            return
        except Conflict:
            return
        self.unreachable.discard(name)
        self.recorder.record(node, "Normal", "NodeReady", f"Node {name} status is now: NodeReady")

    def _set_taint(self, node: Node, *, present: bool) -> Node:
        others = tuple(t for t in node.spec.taints if t.key != UNREACHABLE_TAINT)
        if present and len(others) < len(node.spec.taints):
            return node  # already tainted
        if present:
            stamp = to_datetime(int(self.clock.now())).strftime("%Y-%m-%dT%H:%M:%SZ")
            taint = Taint(key=UNREACHABLE_TAINT, effect="NoSchedule", time_added=stamp)
            taints = (*others, taint)
        else:
            taints = others
        if taints == node.spec.taints:
            return node
        updated: Node = self.store.update(
            attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints))
        )
        return updated
