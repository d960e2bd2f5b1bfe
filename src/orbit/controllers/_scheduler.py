"""The scheduler loop: pending pods from the store, through the framework, to bindings.

This is kube-scheduler's outer loop around :mod:`orbit.scheduling` (which decides but
never touches the store):

```
 store ── watch pods ──► pending & ours? ──► SchedulingQueue ──pop──► Framework.place
   ▲    └ watch nodes ─► Snapshot (assume / forget)  ▲                    │
   │                                                 │ requeue            ▼
   └──── binding: spec.nodeName + PodScheduled ◄─────┴──── fit? ── no: FailedScheduling
                                                            (preemption: evict victims)
```

The snapshot follows the store through watches: bound pods are assumed onto their node,
deleted or finished pods forgotten, nodes added, changed and removed. A pod that fits
nowhere is parked until a change that may help (a node added or changed, a pod gone),
exactly as kube-scheduler parks it, and gets a ``PodScheduled=False`` condition and a
``FailedScheduling`` event in Kubernetes' words.

**Gangs**: pods annotated ``scheduling.orbit.dev/gang: NAME`` (and optionally
``scheduling.orbit.dev/gang-min-members: N``, default: every member seen) are placed
all-or-nothing: members are tried together on a fork of the snapshot and bound only if
at least the minimum fit. A partial gang therefore never holds resources; its members
wait, parked, with a reason saying how many are missing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import anyio.abc
import attrs

from orbit.api import Namespace, Node, Pod, PodCondition, PodDisruptionBudget
from orbit.clock import Clock, to_datetime
from orbit.errors import Conflict, NotFound, ResourceExpired
from orbit.scheduling import (
    Framework,
    Frameworks,
    QueuedPod,
    Registry,
    ScheduleResult,
    SchedulingQueue,
    Snapshot,
    bound_pod,
    default_registry,
    place_batch,
)
from orbit.scheduling.plugins import DefaultPreemptionArgs, InterPodAffinityArgs
from orbit.store import EventRecorder, Store

__all__ = [
    "GANG_ANNOTATION",
    "GANG_MIN_ANNOTATION",
    "Scheduler",
    "gang_of",
    "store_aware_registry",
]

GANG_ANNOTATION = "scheduling.orbit.dev/gang"
GANG_MIN_ANNOTATION = "scheduling.orbit.dev/gang-min-members"
_TERMINAL = frozenset({"Succeeded", "Failed"})
_log = logging.getLogger("orbit.scheduler")


def gang_of(pod: Pod) -> tuple[str, int] | None:
    """The pod's gang (namespace-qualified name) and minimum size (0: all members)."""
    name = pod.metadata.annotations.get(GANG_ANNOTATION)
    if not name:
        return None
    raw = pod.metadata.annotations.get(GANG_MIN_ANNOTATION, "0")
    minimum = int(raw) if raw.isdigit() else 0
    return f"{pod.metadata.namespace}/{name}", minimum


def store_aware_registry(store: Store, base: Registry | None = None) -> Registry:
    """The plugin registry with the plugins that read other objects wired to the store:
    DefaultPreemption sees the PodDisruptionBudgets, InterPodAffinity the namespaces'
    labels (``namespaceSelector``). The scheduling layer never imports the store; the
    loop hands it read-only views instead."""
    registry = (base if base is not None else default_registry()).copy()

    def pdbs() -> list[PodDisruptionBudget]:
        return list(store.list(PodDisruptionBudget).items)

    def namespace_labels() -> dict[str, Mapping[str, str]]:
        return {ns.metadata.name: ns.metadata.labels for ns in store.list(Namespace).items}

    if "DefaultPreemption" in registry:
        preemption = registry["DefaultPreemption"]

        def new_preemption(args: Any, handle: Any) -> Any:
            if args is None:
                args = DefaultPreemptionArgs(pdbs=pdbs)
            return preemption(args, handle)

        registry.unregister("DefaultPreemption")
        registry.register("DefaultPreemption", new_preemption)
    if "InterPodAffinity" in registry:
        interpod = registry["InterPodAffinity"]

        def new_interpod(args: Any, handle: Any) -> Any:
            if args is None:
                args = InterPodAffinityArgs(namespaces=namespace_labels)
            return interpod(args, handle)

        registry.unregister("InterPodAffinity")
        registry.register("InterPodAffinity", new_interpod)
    return registry


def _scheduling_view(node: Node | None) -> object:
    """What of a node the scheduler reads: a change elsewhere (a heartbeat's timestamps)
    does not rebuild the snapshot."""
    if node is None:
        return None
    meta = node.metadata
    return (meta.labels, meta.annotations, node.spec, node.status.allocatable)


def _pending(pod: Pod) -> bool:
    return (
        not pod.spec.node_name
        and pod.metadata.deletion_timestamp is None
        and pod.status.phase not in _TERMINAL
    )


class Scheduler:
    """Schedules every pending pod whose ``spec.schedulerName`` names one of its
    profiles, and binds it through the store.

    Args:
        store: the cluster's store.
        clock: for timestamps and backoff (the queue's time is ``clock.monotonic()``).
        frameworks: one framework per profile (default: orbit's built-in profiles).
        recorder: where Scheduled / FailedScheduling events go.
        batch_window: how many pending pods of a batch profile (``optimal``) are placed
            together at most.
        batch_time_limit_s: the CP-SAT budget for one batch (greedy on timeout).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        frameworks: Frameworks | None = None,
        recorder: EventRecorder | None = None,
        batch_window: int = 256,
        batch_time_limit_s: float = 1.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.frameworks = frameworks if frameworks is not None else Frameworks()
        self.recorder = recorder or EventRecorder(store, clock, component="default-scheduler")
        self.snapshot = Snapshot()
        self.queue = SchedulingQueue()
        self._wake = anyio.Event()
        self._node_changes: dict[str, Node | None] = {}
        self.batch_window = batch_window
        self.batch_time_limit_s = batch_time_limit_s
        self.attempts = 0  # scheduling cycles run (for metrics and tests)

    # -- wiring ---------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until cancelled: list, then watch nodes and pods, and schedule."""
        node_rv, pod_rv = self._resync()
        async with anyio.create_task_group() as group:
            group.start_soon(self._follow, Node, node_rv)
            group.start_soon(self._follow, Pod, pod_rv)
            task_status.started()
            await self._schedule_forever()

    def _resync(self) -> tuple[str, str]:
        """Rebuild the snapshot and the queue from a fresh list of nodes and pods."""
        nodes = self.store.list(Node)
        pods = self.store.list(Pod)
        placed = [p for p in pods.items if p.spec.node_name and p.status.phase not in _TERMINAL]
        self.snapshot = Snapshot(nodes.items, placed)
        now = self.clock.monotonic()
        for pod in pods.items:
            if _pending(pod) and self.frameworks.for_pod(pod) is not None:
                self.queue.add(pod, now)
        self._poke()
        return nodes.resource_version, pods.resource_version

    async def _follow(self, kind: type[Any], resource_version: str) -> None:
        while True:
            try:
                async with self.store.watch(kind, resource_version=resource_version) as watch:
                    async for event in watch:
                        if kind is Node:
                            self._on_node(event.type, event.object)
                        else:
                            self._on_pod(event.type, event.object)
            except ResourceExpired:
                _log.warning("scheduler watch on %s expired: re-listing", kind.kind)
                node_rv, pod_rv = self._resync()
                resource_version = node_rv if kind is Node else pod_rv

    def _poke(self) -> None:
        self._wake.set()

    def _on_node(self, event_type: str, node: Node) -> None:
        """Node changes are applied in batches before the next cycle: a burst of new
        nodes costs one snapshot rebuild, not one per node."""
        name = node.metadata.name
        self._node_changes[name] = None if event_type == "DELETED" else node
        self._poke()

    def _apply_node_changes(self) -> None:
        changes, self._node_changes = self._node_changes, {}
        relevant = {
            name: node
            for name, node in changes.items()
            if node is None or _scheduling_view(node) != _scheduling_view(self._node(name))
        }
        if not relevant:
            return
        if len(relevant) == 1:
            ((name, node),) = relevant.items()
            if node is None:
                self.snapshot.remove_node(name)
            elif name in self.snapshot:
                self.snapshot.update_node(node)
            else:
                self.snapshot.add_node(node)
        else:
            nodes = {info.name: info.node for info in self.snapshot}
            for name, node in relevant.items():
                if node is None:
                    nodes.pop(name, None)
                else:
                    nodes[name] = node
            placed = [info.pod for info in self.snapshot.pods() if info.pod.spec.node_name in nodes]
            self.snapshot = Snapshot(nodes.values(), placed)
        self.queue.move_all_to_active(self.clock.monotonic())

    def _node(self, name: str) -> Node | None:
        info = self.snapshot.get(name)
        return info.node if info is not None else None

    def _on_pod(self, event_type: str, pod: Pod) -> None:
        key = (pod.metadata.namespace, pod.metadata.name)
        now = self.clock.monotonic()
        if event_type == "DELETED" or pod.status.phase in _TERMINAL:
            self.queue.delete(key)
            if self.snapshot.forget(pod) is not None:
                self.queue.move_all_to_active(now)  # room was freed
                self._poke()
            return
        if pod.spec.node_name:
            self.queue.delete(key)
            if pod.spec.node_name not in self.snapshot and pod.spec.node_name in self._node_changes:
                self._apply_node_changes()  # its node is new: take it in first
            if self.snapshot.node_of(pod) is None and pod.spec.node_name in self.snapshot:
                self.snapshot.assume(pod, pod.spec.node_name)  # bound by someone else
            return
        if _pending(pod) and self.frameworks.for_pod(pod) is not None:
            self.queue.add(pod, now)
            self._poke()

    # -- the loop --------------------------------------------------------------------

    async def _schedule_forever(self) -> None:
        while True:
            self._apply_node_changes()
            item = self.queue.pop(self.clock.monotonic())
            if item is None:
                await self._wait()
                continue
            self.schedule(item)
            await anyio.lowlevel.checkpoint()

    async def _wait(self) -> None:
        self._wake = anyio.Event()
        deadline = self.queue.next_deadline()
        if deadline is None:
            await self._wake.wait()
            return
        with anyio.move_on_after(max(0.0, deadline - self.clock.monotonic())):
            await self._wake.wait()

    def schedule(self, item: QueuedPod) -> None:
        """One scheduling attempt for a popped pod (a whole gang for a gang member)."""
        self.attempts += 1
        framework = self.frameworks.for_pod(item.pod)
        if framework is None:
            self.queue.done(item.key)
            return
        gang = gang_of(item.pod)
        if gang is not None:
            self._schedule_gang(framework, item, *gang)
            return
        if framework.profile.batch_strategy == "optimal":
            self._schedule_batch(framework, item)
            return
        result = framework.place(item.pod, self.snapshot)
        if result.scheduled:
            self._commit(framework, item, result)
        else:
            self._unschedulable(item, result.message, result)

    # -- outcomes --------------------------------------------------------------------

    def _commit(self, framework: Framework, item: QueuedPod, result: ScheduleResult) -> bool:
        """Write the binding; on failure undo the reservation and retry later."""
        node = result.node_name
        assert node is not None
        pod = item.pod
        try:
            current = self.store.get(Pod, pod.metadata.name, pod.metadata.namespace)
            if current.spec.node_name or current.metadata.uid != pod.metadata.uid:
                raise Conflict("Pod", pod.metadata.name, expected="unbound", actual="bound")
            status = framework.bind(result.state, current, node)
            if not (status.is_success or status.is_skip):
                raise RuntimeError(status.message)
            stored = self.store.update(bound_pod(result.state, current, node))
        except (Conflict, NotFound, RuntimeError) as error:
            _log.info("binding %s/%s failed: %s", *item.key, error)
            self.snapshot.forget(pod)
            framework.unreserve(result.state, pod, node)
            if isinstance(error, NotFound):
                self.queue.done(item.key)
            else:
                self.queue.requeue_error(item, self.clock.monotonic())
            return False
        self.queue.done(item.key)
        self._set_condition(stored, "True", "", "")
        message = f"Successfully assigned {item.key[0]}/{item.key[1]} to {node}"
        self.recorder.record(stored, "Normal", "Scheduled", message)
        return True

    def _unschedulable(self, item: QueuedPod, message: str, result: ScheduleResult | None) -> None:
        self.queue.requeue_unschedulable(item, self.clock.monotonic())
        try:
            current = self.store.get(Pod, item.pod.metadata.name, item.pod.metadata.namespace)
        except NotFound:
            self.queue.delete(item.key)
            return
        nominated = result.nominated_node_name if result is not None else ""
        for victim in result.victims if result is not None else ():
            self._evict(victim, current)
        updated = self._set_condition(current, "False", "Unschedulable", message, nominated)
        self.recorder.record(updated, "Warning", "FailedScheduling", message)

    def _evict(self, victim: Pod, preemptor: Pod) -> None:
        try:
            self.store.delete(
                Pod,
                victim.metadata.name,
                victim.metadata.namespace,
                grace_period_s=victim.spec.termination_grace_period_seconds
                if victim.spec.node_name
                else 0,
            )
        except NotFound:
            return
        message = f"Preempted by pod {preemptor.metadata.uid} on node {victim.spec.node_name}"
        self.recorder.record(victim, "Normal", "Preempted", message)

    def _set_condition(
        self, pod: Pod, status: str, reason: str, message: str, nominated: str = ""
    ) -> Pod:
        now = to_datetime(self.clock.now())
        old = pod.status.condition("PodScheduled")
        unchanged = old is not None and (old.status, old.reason, old.message) == (
            status,
            reason,
            message,
        )
        if unchanged and (not nominated or pod.status.nominated_node_name == nominated):
            return pod
        condition = PodCondition(
            type="PodScheduled",
            status=status,  # type: ignore[arg-type]
            reason=reason,
            message=message,
            last_transition_time=now
            if old is None or old.status != status
            else old.last_transition_time,
        )
        others = tuple(c for c in pod.status.conditions if c.type != "PodScheduled")
        new_status = attrs.evolve(
            pod.status,
            conditions=(*others, condition),
            nominated_node_name=nominated or pod.status.nominated_node_name,
        )
        try:
            updated: Pod = self.store.update_status(attrs.evolve(pod, status=new_status))
        except (Conflict, NotFound):
            return pod
        return updated

    # -- batches (the optimal profile) -----------------------------------------------

    def _schedule_batch(self, framework: Framework, first: QueuedPod) -> None:
        """Place ``first`` and every other pod waiting for the same profile (up to
        ``batch_window``) together with CP-SAT (:func:`place_batch`)."""
        profile = framework.profile.name
        keys = [
            item.key
            for item in self.queue.pending()
            if item.key != first.key
            and item.pod.spec.scheduler_name == profile
            and gang_of(item.pod) is None
        ][: self.batch_window - 1]
        taken = [self.queue.take(key) for key in keys]
        items = [first, *(item for item in taken if item is not None)]
        outcome = place_batch(
            framework,
            [item.pod for item in items],
            self.snapshot,
            time_limit_s=self.batch_time_limit_s,
            seed=framework.seed,
        )
        for item, result in zip(items, outcome.results, strict=True):
            if result.scheduled:
                self._commit(framework, item, result)
            else:
                self._unschedulable(item, result.message, result)

    # -- gangs -----------------------------------------------------------------------

    def _schedule_gang(
        self, framework: Framework, first: QueuedPod, gang: str, minimum: int
    ) -> None:
        members = [first, *self._take_gang_members(gang, exclude=first.key)]
        wanted = minimum or len(members)
        if len(members) < wanted:
            message = f"gang {gang}: waiting for members ({len(members)} of {wanted} pending)"
            self._park_gang(members, message)
            return
        trial = self.snapshot.fork()
        placed = [(m, framework.place(m.pod, trial)) for m in members]
        fitting = [(m, r) for m, r in placed if r.scheduled]
        if len(fitting) < wanted:
            for member, result in fitting:
                framework.unreserve(result.state, member.pod, result.node_name or "")
            reasons = {r.message for _, r in placed if not r.scheduled}
            message = f"gang {gang}: only {len(fitting)} of {wanted} members fit: " + "; ".join(
                sorted(reasons)
            )
            self._park_gang(members, message)
            return
        for member, result in fitting:
            assert result.node_name is not None
            assert result.bound_pod is not None
            self.snapshot.assume(result.bound_pod, result.node_name)
            self._commit(framework, member, result)
        for member, result in placed:
            if not result.scheduled:
                self._unschedulable(member, result.message, result)

    def _take_gang_members(self, gang: str, exclude: tuple[str, str]) -> list[QueuedPod]:
        """Pop every other queued member of ``gang``, wherever it waits."""
        keys = [
            item.key
            for item in self.queue.pending()
            if item.key != exclude and (gang_of(item.pod) or ("",))[0] == gang
        ]
        taken = [self.queue.take(key) for key in keys]
        return [item for item in taken if item is not None]

    def _park_gang(self, members: Sequence[QueuedPod], message: str) -> None:
        for member in members:
            self._unschedulable(member, message, None)
