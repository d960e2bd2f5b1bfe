"""Carrying out node-pool decisions: making nodes and taking them away, in the background.

The node-pool autoscaler decides in a scan that never awaits; this module does what
takes time, as cluster-autoscaler's actuators do, each node change a task in the
autoscaler's task group:

- **making a node**: ``provider.create`` (a cloud boots a machine), then
  ``host.add_node``. Until the node is registered its name is *upcoming*: planning counts
  it, so no pod asks twice. A failure backs the pool off (no scale-up of it for
  ``failure_backoff_s``) and wakes the autoscaler, so the pods may go to another pool.
- **taking a node away**: events first (``ScaleDown`` on the node and on every pod to
  move), then ``host.drain`` (cordon and evict through the Eviction API, so
  PodDisruptionBudgets hold), ``host.remove_node`` and ``provider.delete``. A drain that
  fails uncordons the node (``ScaleDownFailed``) and starts the failure cool-down.

The host is whatever adds and removes nodes: :class:`orbit.Cluster` is one
(:class:`NodeHost`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from typing import Protocol

import anyio
import anyio.abc

from orbit.api import Node
from orbit.clock import Clock
from orbit.controllers import uncordon
from orbit.errors import NotFound, OrbitError
from orbit.node import Node as NodeConfig
from orbit.store import EventRecorder, Store

from ._nodepool import NodePool
from ._nodepool_scaledown import Unneeded

__all__ = ["NodeActuator", "NodeHost"]

_log = logging.getLogger("orbit.autoscaling")


class NodeHost(Protocol):
    """What adds and removes nodes: :class:`orbit.Cluster` implements it."""

    async def add_node(self, node: NodeConfig, /) -> object:
        """Register ``node`` and start running pods on it."""
        ...

    async def remove_node(self, node: str, /) -> object:
        """Stop node ``node`` and delete its Node object."""
        ...

    async def drain(
        self, node: str, /, *, timeout_s: float, force: bool, delete_emptydir_data: bool
    ) -> object:
        """Cordon node ``node`` and evict its pods through the Eviction API; raise
        ``OrbitError`` or ``TimeoutError`` when that cannot be done."""
        ...


class NodeActuator:
    """Makes and removes pool nodes in the background (module docstring).

    ``upcoming`` / ``departing`` map node names to their pool while they are being made
    or taken away; ``draining`` holds the departing nodes that had pods to move;
    ``last_failure`` is when a removal last failed (monotonic seconds).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        host: NodeHost,
        recorder: EventRecorder,
        *,
        drain_timeout_s: float,
        failure_backoff_s: float,
        on_failure: Callable[[], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.host = host
        self.recorder = recorder
        self.drain_timeout_s = drain_timeout_s
        self.failure_backoff_s = failure_backoff_s
        self.on_failure = on_failure
        self.upcoming: dict[str, str] = {}
        self.departing: dict[str, str] = {}
        self.draining: set[str] = set()
        self.last_failure = -math.inf
        self.group: anyio.abc.TaskGroup | None = None
        self._serial: dict[str, int] = {}
        self._backoff_until: dict[str, float] = {}

    def backed_off(self, pool: str, now: float) -> bool:
        """Whether a recent failure to make a node of ``pool`` keeps it from growing."""
        return now < self._backoff_until.get(pool, -math.inf)

    # -- making nodes ----------------------------------------------------------------

    def provision(self, pool: NodePool, taken: set[str]) -> str:
        """Start making one node of ``pool``, named ``<pool>-<n>`` with the next ``n``
        not in ``taken`` (nor upcoming); returns the name, now upcoming."""
        assert self.group is not None, "the autoscaler's run() hosts node changes"
        serial = self._serial.get(pool.name, 0)
        while True:
            serial += 1
            name = pool.node_name(serial)
            if name not in taken and name not in self.upcoming:
                break
        self._serial[pool.name] = serial
        self.upcoming[name] = pool.name
        self.group.start_soon(self._create, pool, name)
        return name

    async def _create(self, pool: NodePool, name: str) -> None:
        try:
            node = await pool.provider.create(pool, name)
            if node.name != name:
                raise OrbitError(f"provider made node {node.name!r}, not {name!r}")
        except Exception:
            _log.exception("node pool %s: creating node %s failed", pool.name, name)
            self._fail_scale_up(pool, name)
            return
        try:
            await self.host.add_node(node)
        except Exception:
            _log.exception("node pool %s: adding node %s failed", pool.name, name)
            self._fail_scale_up(pool, name)
            with anyio.CancelScope(shield=True):
                await self._release(pool, name)
            return
        self.upcoming.pop(name, None)
        _log.info("node pool %s: node %s is up", pool.name, name)

    async def _release(self, pool: NodePool, name: str) -> None:
        try:
            await pool.provider.delete(pool, name)
        except Exception:
            _log.exception("node pool %s: releasing node %s failed", pool.name, name)

    def _fail_scale_up(self, pool: NodePool, name: str) -> None:
        self.upcoming.pop(name, None)
        self._backoff_until[pool.name] = self.clock.monotonic() + self.failure_backoff_s
        self.on_failure()

    # -- taking nodes away -----------------------------------------------------------

    def remove(self, pool: NodePool, candidate: Unneeded, node: Node) -> None:
        """Start taking ``node`` (an unneeded node of ``pool``) away."""
        assert self.group is not None, "the autoscaler's run() hosts node changes"
        name = candidate.node
        self.departing[name] = pool.name
        if not candidate.empty:
            self.draining.add(name)
        kind = "empty node" if candidate.empty else "node"
        _log.info("node pool %s: removing %s %s", pool.name, kind, name)
        marked = "marked the node as toBeDeleted/unschedulable"
        self.recorder.record(node, "Normal", "ScaleDown", marked)
        for pod in candidate.pods_to_move:
            self.recorder.record(pod, "Normal", "ScaleDown", "deleting pod for node scale down")
        self.group.start_soon(self._remove, pool, node)

    async def _remove(self, pool: NodePool, node: Node) -> None:
        name = node.metadata.name
        try:
            try:
                # The scale-down planner already judged every pod movable (emptyDir in
                # memory, safe-to-evict, no controller): kubectl's refusals would only
                # undo that judgement, so the drain is forced as cluster-autoscaler's is.
                await self.host.drain(
                    name, timeout_s=self.drain_timeout_s, force=True, delete_emptydir_data=True
                )
            except (OrbitError, TimeoutError) as error:
                _log.warning("node pool %s: draining %s failed: %s", pool.name, name, error)
                self.last_failure = self.clock.monotonic()
                with contextlib.suppress(NotFound):
                    uncordon(self.store, name)
                failed = "failed to drain the node, aborting ScaleDown"
                self.recorder.record(node, "Warning", "ScaleDownFailed", failed)
                return
            await self.host.remove_node(name)
            self.recorder.record(node, "Normal", "ScaleDown", "nodes removed by cluster autoscaler")
            await pool.provider.delete(pool, name)
            _log.info("node pool %s: node %s removed", pool.name, name)
        except Exception:
            _log.exception("node pool %s: removing node %s failed", pool.name, name)
            self.last_failure = self.clock.monotonic()
        finally:
            self.departing.pop(name, None)
            self.draining.discard(name)
