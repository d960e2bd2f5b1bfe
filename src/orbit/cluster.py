"""``Cluster``: orbit's composition root and its public verbs.

A Cluster owns the store, the clock and one anyio task group in which every control
loop runs: the scheduler, the node lifecycle controller, the node agents (one per
node, fed by one shared pod watch) and their heartbeat loop. Leaving
``async with Cluster() as cluster`` stops every pod the cluster started (unless
``keep_running=True``), then every loop. Its verbs are what kubectl is to Kubernetes:
``apply`` (validate every document, then store them all or none), ``get``, ``list``,
``delete``, ``watch``, ``events``, ``logs``, ``wait_for``. Kinds are named as kubectl
names them ("Deployment", "deploy").

Nodes: ``Cluster()`` gets one node named after the host, running pods as local
processes; ``Cluster(nodes=[orbit.Node("a", runtime=...), ...])`` gets those instead,
``Cluster(nodes=[])`` none (a bare control plane). Everything a runtime starts is
labelled with the cluster id (``cluster_id=``, a fresh uuid by default); node agents
keep files under the cluster's state directory (``state_dir=``, a temporary directory
removed on exit by default). A new Cluster given the same store, cluster id and state
directory adopts the containers an earlier one left running (``keep_running=True``).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import os
import random
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self, overload

import anyio
import anyio.abc
import attrs

from orbit.admission import default_admission
from orbit.api import (
    Decoded,
    Event,
    KindInfo,
    Namespace,
    ObjectMeta,
    Pod,
    decode_documents,
    decode_object,
    dump,
    kind_info,
    lookup_kind,
    prefixed,
    read_documents,
    three_way_merge,
)
from orbit.api import Node as NodeObject
from orbit.clock import Clock, current_clock
from orbit.controllers import (
    ControllerLoop,
    CronJobController,
    DefaultTolerationSeconds,
    DeploymentController,
    DisruptionController,
    GarbageCollector,
    Informers,
    JobController,
    NamespaceController,
    NodeLifecycleController,
    PodGCController,
    PropagationPolicy,
    Reconciler,
    ReplicaSetController,
    ResourceQuotaController,
    Scheduler,
    TaintEvictionController,
    delete_object,
    store_aware_registry,
)
from orbit.controllers import cordon as cordon_node
from orbit.controllers import drain as drain_node
from orbit.controllers import uncordon as uncordon_node
from orbit.errors import (
    AlreadyExists,
    Issue,
    NotFound,
    OrbitError,
    ResourceExpired,
    UnsupportedKind,
    ValidationError,
)
from orbit.node import (
    CountingPorts,
    Heartbeat,
    Node,
    NodeAgent,
    PodDispatcher,
    RestartBackoff,
    host_ports,
)
from orbit.scheduling import Frameworks, Profile, Registry
from orbit.store import AdmissionBatch, Leases, MemoryStore, Store, Watch

from . import _rollout
from ._wait import Condition, compile_condition, describe

__all__ = ["LAST_APPLIED_ANNOTATION", "ApplyResult", "Cluster"]

LAST_APPLIED_ANNOTATION = "orbit.dev/last-applied-configuration"
"""Where ``apply`` keeps the manifest it last applied, for the next three-way merge."""

_log = logging.getLogger("orbit")

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_FINISHED = ("Succeeded", "Failed")

ApplyAction = Literal["created", "configured", "unchanged"]


@attrs.frozen
class _Plan:
    """One object of an apply, decided but not yet stored."""

    object: Any
    live: Any | None  # the stored object it replaces, if any
    warnings: tuple[str, ...]


@attrs.frozen
class ApplyResult:
    """What ``apply`` did to one object, kubectl-style: ``deployment.apps/web created``."""

    kind: str
    namespace: str
    name: str
    action: ApplyAction
    object: Any
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        info = kind_info(self.object)
        resource = f"{info.kind.lower()}.{info.group}" if info.group else info.kind.lower()
        return f"{resource}/{self.name} {self.action}"


def resolve_kind(kind: str | type[Any] | KindInfo) -> KindInfo:
    """A KindInfo for a kind given as kubectl would name it, or as a class."""
    if isinstance(kind, KindInfo):
        return kind
    if isinstance(kind, type):
        return kind_info(kind)
    info = lookup_kind(kind)
    if info is None:
        raise UnsupportedKind(f'orbit has no kind "{kind}"')
    return info


class Cluster:
    """An orbit cluster: the store, the control loops and the verbs to drive them.

    Use it as an async context manager::

        async with orbit.Cluster() as cluster:
            await cluster.apply("manifests/")
            pods = await cluster.list("pods", selector="app=web")
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        scheduler_profiles: Iterable[Profile] | None = None,
        scheduler_registry: Registry | None = None,
        nodes: Iterable[Node] | None = None,
        cluster_id: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        keep_running: bool = False,
        restart_backoff: RestartBackoff | None = None,
        heartbeat_period_s: float = 10.0,
        node_grace_period_s: float = 40.0,
        default_toleration_seconds: int | None = 300,
        terminated_pod_gc_threshold: int = 12500,
        stop_grace_s: float | None = None,
        controllers: Iterable[str] = ("*",),
    ) -> None:
        """Set up the store, the loops and the nodes (they start on ``async with``).

        Args:
            store: the object store (default: a new MemoryStore).
            clock: the clock (default: the running loop's, virtual under simulation).
            seed: seeds the store's names and uids, the scheduler and the cluster id;
                default: the simulation's seed under ``orbit.simulate`` (so a seeded
                simulation replays exactly), else none (random).
            scheduler_profiles: the scheduler's profiles (default: orbit's).
            scheduler_registry: the scheduler's plugin registry.
            nodes: the nodes to start with; ``None`` means one local node named after
                the host on ProcessRuntime, ``[]`` none.
            cluster_id: labels everything the runtimes start (default: a new uuid,
                derived from ``seed`` when one is given).
            state_dir: where node agents and the default ProcessRuntime keep files;
                default: a temporary directory, removed on exit (kept with
                ``keep_running``, since what still runs keeps its logs there).
            keep_running: leave pods running on exit (for adoption by a later Cluster
                with the same store, cluster id and state directory).
            restart_backoff: crash backoff for every pod (pods may override it with
                ``orbit.dev/restart-backoff-*`` annotations).
            heartbeat_period_s: how often node leases are renewed.
            node_grace_period_s: how stale a lease may get before its node is marked
                Unknown and unreachable.
            default_toleration_seconds: how long a pod without tolerations of its own
                stays on a not-ready or unreachable node (Kubernetes'
                DefaultTolerationSeconds); ``None``: it leaves at once.
            terminated_pod_gc_threshold: how many finished pods the pod garbage
                collector keeps (0: all).
            stop_grace_s: caps the grace of the pods stopped on exit (default: each
                pod's ``terminationGracePeriodSeconds``).
            controllers: which of orbit's controllers run, as kube-controller-manager's
                ``--controllers``: ``"*"`` for all, a name to add one, ``"-name"`` to
                leave one out (``["*", "-job"]``); names as in Kubernetes (``job``,
                ``cronjob``, ``deployment``, ``replicaset``, ``garbagecollector``,
                ``namespace``, ``resourcequota``) or orbit's (``job-controller``).
        """
        self.clock: Clock = clock or current_clock()
        if seed is None:
            seed = _simulation_seed()
        self.store: Store = store or MemoryStore(clock=self.clock, seed=seed)
        if not self.store.admission:
            plugins = builtins.list(default_admission())
            if default_toleration_seconds is not None:
                at = next(
                    (i for i, p in enumerate(plugins) if p.name == "ResourceQuota"), len(plugins)
                )
                plugins.insert(at, DefaultTolerationSeconds(default_toleration_seconds))
            self.store.admission = plugins
        self.scheduler = Scheduler(
            self.store,
            self.clock,
            frameworks=Frameworks(
                scheduler_profiles,
                registry=store_aware_registry(self.store, scheduler_registry),
                seed=seed or 0,
            ),
        )
        self.cluster_id = cluster_id or _new_cluster_id(seed)
        self.keep_running = keep_running
        self.restart_backoff = restart_backoff or RestartBackoff()
        self.stop_grace_s = stop_grace_s
        self.leases = Leases()
        self.agents: dict[str, NodeAgent] = {}
        self.node_lifecycle = NodeLifecycleController(
            self.store, self.clock, self.leases, grace_period_s=node_grace_period_s
        )
        self.heartbeat = Heartbeat(self.leases, self.clock, period_s=heartbeat_period_s)
        self._pods = PodDispatcher(self.store)
        self._host_ports = host_ports()
        self._sim_ports = CountingPorts()
        self._nodes = [Node(_host_name())] if nodes is None else list(nodes)
        self._state_dir_given = state_dir is not None
        self.state_dir = os.fspath(state_dir) if state_dir is not None else ""
        self._task_group: anyio.abc.TaskGroup | None = None
        self.controller_loops: dict[str, ControllerLoop] = {}
        self.informers = Informers(self.store)
        defaults: builtins.list[Reconciler] = [
            ReplicaSetController(self.store, self.clock),
            DeploymentController(self.store, self.clock),
            GarbageCollector(self.store, self.clock),
            NamespaceController(self.store, self.clock),
            JobController(self.store, self.clock, collect_orphans=False),
            CronJobController(self.store, self.clock),
            ResourceQuotaController(self.store, self.clock),
            TaintEvictionController(
                self.store, self.clock, default_toleration_seconds=default_toleration_seconds
            ),
            PodGCController(
                self.store, self.clock, terminated_pod_threshold=terminated_pod_gc_threshold
            ),
            DisruptionController(self.store, self.clock),
        ]
        self._pending_controllers = _selected(defaults, controllers)
        for name in INITIAL_NAMESPACES:
            self._ensure_namespace(name)

    def _ensure_namespace(self, name: str) -> None:
        try:
            self.store.get(Namespace, name)
        except NotFound:
            self.store.create(Namespace(metadata=ObjectMeta(name=name)))

    async def __aenter__(self) -> Self:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            if self._state_dir_given:
                os.makedirs(self.state_dir, exist_ok=True)
            else:
                self.state_dir = tempfile.mkdtemp(prefix="orbit-")
            await self._task_group.start(self.informers.run)
            await self._task_group.start(self.scheduler.run)
            await self._task_group.start(self._pods.run)
            await self._task_group.start(self.node_lifecycle.run)
            await self._task_group.start(self.heartbeat.run)
            for reconciler in self._pending_controllers:
                await self.start_controller(reconciler)
            await self._start_nodes(self._nodes)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._task_group is not None
        task_group, self._task_group = self._task_group, None
        try:
            with anyio.CancelScope(shield=True):
                await self._stop_nodes()
        finally:
            task_group.cancel_scope.cancel()
            # The body's own exception propagates as it is (not wrapped in an
            # ExceptionGroup); only a failing control loop raises from here.
            await task_group.__aexit__(None, None, None)
            with anyio.CancelScope(shield=True):
                await self._close_runtimes()
            if self.state_dir and not self._state_dir_given and not self.keep_running:
                shutil.rmtree(self.state_dir, ignore_errors=True)
        return None

    async def _stop_nodes(self) -> None:
        """Stop the node agents; unless ``keep_running``, stop every pod they run."""
        async with anyio.create_task_group() as group:
            for agent in self.agents.values():
                group.start_soon(self._stop_node, agent)

    async def _stop_node(self, agent: NodeAgent) -> None:
        await agent.shutdown(stop=not self.keep_running, grace_cap_s=self.stop_grace_s)

    async def _close_runtimes(self) -> None:
        closed: set[int] = set()
        for agent in self.agents.values():
            if id(agent.runtime) in closed:
                continue
            closed.add(id(agent.runtime))
            try:
                await agent.runtime.close()
            except Exception:
                _log.exception("closing the runtime of node %s failed", agent.name)

    # -- controllers -----------------------------------------------------------------

    async def start_controller(self, reconciler: Reconciler) -> ControllerLoop:
        """Run a controller (a :class:`~orbit.controllers.Reconciler`) in this cluster's
        task group, fed by watches of the kinds it names; returns its loop. One loop
        per controller name: starting a name that already runs returns that loop.
        Before the cluster is entered the controller is remembered (replacing orbit's
        default of that name) and starts on entry.
        This is how orbit's own controllers run, and how a user adds an operator."""
        loop = self.controller_loops.get(reconciler.name)
        if loop is not None:
            return loop
        loop = ControllerLoop(self.store, self.clock, reconciler, informers=self.informers)
        if self._task_group is None:
            # Before entry a controller replaces orbit's default of the same name
            # (e.g. a JobController with another backoff).
            self._pending_controllers = [
                r for r in self._pending_controllers if r.name != reconciler.name
            ]
            self._pending_controllers.append(reconciler)
            return loop
        self.controller_loops[reconciler.name] = loop
        await self._task_group.start(loop.run)
        return loop

    # -- nodes -----------------------------------------------------------------------

    async def add_node(self, node: Node) -> NodeObject:
        """Register a node and start its agent; returns the Node as stored.

        Capacity is discovered from the node's runtime unless given. Before the
        cluster is entered the node is only remembered (it starts on entry).
        """
        if self._task_group is None:
            self._nodes.append(node)
            return NodeObject(metadata=ObjectMeta(name=node.name))
        (stored,) = await self._start_nodes([node])
        return stored

    async def _start_nodes(self, nodes: Sequence[Node]) -> builtins.list[NodeObject]:
        """Register the nodes, then start their agents: registered together, a
        thousand nodes reach the scheduler as one batch."""
        assert self._task_group is not None
        names = [node.name for node in nodes]
        for name in names:
            if name in self.agents or names.count(name) > 1:
                raise AlreadyExists("Node", name)
        agents = [self._agent_for(node) for node in nodes]
        stored = [await agent.register() for agent in agents]
        now = self.clock.monotonic()
        for agent in agents:
            self.leases.renew(agent.name, now)
            self.agents[agent.name] = agent
            self.heartbeat.add(agent)
        for agent in agents:
            await self._task_group.start(agent.run)
            self._pods.add(agent)
        return stored

    async def remove_node(self, node: str) -> None:
        """Stop a node's agent (and, unless ``keep_running``, its containers) and
        delete its Node; its pods are force-deleted by the pod garbage collector 40 s
        later and their controllers replace them. Drain first to move them gracefully."""
        if self._task_group is None:
            self._nodes = [n for n in self._nodes if n.name != node]
            return
        agent = self.agents.pop(node, None)
        if agent is not None:
            self.heartbeat.remove(agent)
            self._pods.remove(node)
            with anyio.CancelScope(shield=True):
                await agent.shutdown(stop=not self.keep_running, grace_cap_s=self.stop_grace_s)
            if all(other.runtime is not agent.runtime for other in self.agents.values()):
                try:
                    await agent.runtime.close()
                except Exception:
                    _log.exception("closing the runtime of node %s failed", node)
        self.leases.forget(node)
        try:
            self.store.delete(NodeObject, node)
        except NotFound:
            if agent is None:
                raise

    async def cordon(self, node: str) -> NodeObject:
        """Mark a node unschedulable (``kubectl cordon``): no new pod lands on it."""
        return cordon_node(self.store, node)

    async def uncordon(self, node: str) -> NodeObject:
        """Make a cordoned node schedulable again (``kubectl uncordon``)."""
        return uncordon_node(self.store, node)

    async def drain(
        self,
        node: str,
        *,
        timeout_s: float = 300.0,
        grace_s: int | None = None,
        force: bool = False,
        delete_emptydir_data: bool = False,
    ) -> builtins.list[Pod]:
        """``kubectl drain --ignore-daemonsets``: cordon, evict every pod through the
        Eviction API (retrying PodDisruptionBudget refusals every 5 s), wait until
        they are gone; returns them. ``TimeoutError`` past ``timeout_s``;
        ``OrbitError`` for pods kubectl would refuse (unmanaged pods unless ``force``,
        emptyDir data unless ``delete_emptydir_data``)."""
        return await drain_node(
            self.store,
            self.clock,
            node,
            timeout_s=timeout_s,
            grace_s=grace_s,
            force=force,
            delete_emptydir_data=delete_emptydir_data,
        )

    def _agent_for(self, node: Node) -> NodeAgent:
        runtime = node.resolved_runtime(os.path.join(self.state_dir, "process"), self.clock)
        return NodeAgent(
            node,
            runtime,
            store=self.store,
            clock=self.clock,
            cluster_id=self.cluster_id,
            state_dir=os.path.join(self.state_dir, "nodes", node.name),
            ports=self._sim_ports if runtime.kind == "sim" else self._host_ports,
            backoff=self.restart_backoff,
        )

    # -- apply ---------------------------------------------------------------------

    async def apply(self, source: Any) -> list[ApplyResult]:
        """Create or update every object in ``source``, or none of them.

        ``source`` is anything :func:`orbit.load_manifests` takes. Every document is
        decoded, defaulted, validated, admitted (its namespace must exist or be created
        by the same apply) and merged with the live object before any is stored; any
        issue raises :class:`~orbit.ValidationError` listing them all and leaves the
        store as it was. Then the store's admission chain (LimitRange, ResourceQuota)
        dry-runs the batch: an object it refuses raises :class:`~orbit.Forbidden` with
        Kubernetes' message, and nothing is stored. Existing objects are updated by a
        three-way merge with the manifest applied last time, so fields others set
        (replicas scaled by an autoscaler) are kept unless the manifest names them.
        Warnings (unknown or ignored fields) are logged and returned on each result.
        """
        decoded = decode_documents(read_documents(source))
        issues = [issue for d in decoded for issue in d.issues]
        plans: list[_Plan] = []
        if not issues:
            plans, issues = self._plan(decoded)
        if issues:
            raise ValidationError(issues)
        self._dry_run_admission(plans)
        for note in (w for d in decoded for w in d.warnings):
            _log.warning("%s", note)
        # No await from here on: the whole batch lands atomically for other tasks.
        results = [self._commit(plan) for plan in plans]
        await anyio.lowlevel.checkpoint()
        return results

    def _dry_run_admission(self, plans: Sequence[_Plan]) -> None:
        """Admit the batch as the commit will, storing nothing: each object (in commit
        order) is admitted with the earlier ones of the batch counted as stored, and
        the quota usage their admission would charge counted too. A refusal raises
        (``Forbidden``, ``ValidationError``); since nothing awaits between this and
        the commit, the commit's own admission then accepts every object."""
        batch = AdmissionBatch()
        for plan in plans:
            if plan.object != plan.live:  # "unchanged" objects are not written
                self.store.admit(plan.object, old=plan.live, batch=batch)

    def _plan(self, decoded: Sequence[Decoded]) -> tuple[list[_Plan], list[Issue]]:
        """Admit every object and compute what it becomes, touching nothing."""
        issues: list[Issue] = []
        plans: list[_Plan] = []
        seen: set[tuple[str, str, str]] = set()
        new_namespaces = {
            d.object.metadata.name for d in decoded if isinstance(d.object, Namespace)
        }
        for doc in decoded:
            prefix = doc.document.prefix
            obj, problems = self._admit(doc.object, new_namespaces)
            key = (obj.kind, obj.metadata.namespace, obj.metadata.name)
            if key in seen:
                problems.append(Issue("metadata.name", "Duplicate value: applied twice"))
            seen.add(key)
            plan = None if problems else self._merge(obj, doc.warnings, problems)
            issues.extend(Issue(prefixed(prefix, i.path), i.message) for i in problems)
            if plan is not None:
                plans.append(plan)
        return plans, issues

    def _admit(self, obj: Any, new_namespaces: set[str]) -> tuple[Any, list[Issue]]:
        issues: list[Issue] = []
        info = kind_info(obj)
        meta = obj.metadata
        if not meta.name:
            issues.append(Issue("metadata.name", "Required value: apply needs a name"))
        namespace = meta.namespace
        if info.namespaced:
            namespace = namespace or "default"
            state = "active" if namespace in new_namespaces else self._namespace_state(namespace)
            if state == "missing":
                message = f'Not found: namespace "{namespace}" does not exist'
                issues.append(Issue("metadata.namespace", message))
            elif state == "terminating":
                message = (
                    f"Forbidden: unable to create new content in namespace {namespace} "
                    "because it is being terminated"
                )
                issues.append(Issue("metadata.namespace", message))
        elif namespace:
            issues.append(Issue("metadata.namespace", f"Forbidden: {info.kind} is not namespaced"))
        return attrs.evolve(obj, metadata=attrs.evolve(meta, namespace=namespace)), issues

    def _namespace_state(self, name: str) -> Literal["active", "terminating", "missing"]:
        try:
            namespace = self.store.get(Namespace, name)
        except NotFound:
            return "missing"
        return "active" if namespace.metadata.deletion_timestamp is None else "terminating"

    def _merge(self, obj: Any, warnings: Sequence[str], issues: list[Issue]) -> _Plan | None:
        """What ``obj`` becomes: itself when new, else the three-way merge with the live
        object (validated again: fields kept from the live object take part)."""
        info = kind_info(obj)
        meta = obj.metadata
        manifest = dump(obj)
        manifest.pop("status", None)
        applied = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
        annotations = {**meta.annotations, LAST_APPLIED_ANNOTATION: applied}
        desired = attrs.evolve(obj, metadata=attrs.evolve(meta, annotations=annotations))
        try:
            live = self.store.get(info, meta.name, meta.namespace)
        except NotFound:
            return _Plan(desired, None, tuple(warnings))
        last = json.loads(live.metadata.annotations.get(LAST_APPLIED_ANNOTATION, "{}"))
        new = dump(desired)
        new.pop("status", None)
        merged, problems, _ = decode_object(three_way_merge(dump(live), last, new))
        issues.extend(problems)
        if merged is None or problems:
            return None
        return _Plan(merged, live, tuple(warnings))

    def _commit(self, plan: _Plan) -> ApplyResult:
        obj, live = plan.object, plan.live
        info = kind_info(obj)
        meta = obj.metadata

        def result(action: ApplyAction, stored: Any) -> ApplyResult:
            return ApplyResult(info.kind, meta.namespace, meta.name, action, stored, plan.warnings)

        if live is None:
            return result("created", self.store.create(obj))
        if obj == live:
            return result("unchanged", live)
        updated = self.store.update(obj)
        if info.has_status and updated.status != live.status:
            updated = self.store.update_status(attrs.evolve(updated, status=live.status))
        return result("configured", updated)

    # -- read and delete -------------------------------------------------------------

    async def get(self, kind: str | type[Any], name: str, namespace: str = "default") -> Any:
        """The object of that kind and name (``NotFound`` if there is none)."""
        info = resolve_kind(kind)
        return self.store.get(info, name, namespace if info.namespaced else "")

    async def list(
        self,
        kind: str | type[Any],
        namespace: str | None = None,
        selector: str | Mapping[str, str] | None = None,
        *,
        field_selector: str | Mapping[str, str] | None = None,
    ) -> list[Any]:
        """Objects of a kind, optionally in one namespace (``None``: all namespaces),
        matching a label selector (``"app=web,tier in (a,b)"`` or a dict) and a field
        selector (``metadata.name``, ``spec.nodeName``, ``status.phase``)."""
        info = resolve_kind(kind)
        result = self.store.list(
            info,
            namespace=namespace if info.namespaced else None,
            label_selector=selector,
            field_selector=field_selector,
        )
        return list(result.items)

    async def delete(
        self,
        kind: str | type[Any],
        name: str,
        namespace: str = "default",
        *,
        propagation_policy: PropagationPolicy | None = "Background",
        grace_period_s: int | None = None,
    ) -> Any:
        """Delete an object as ``kubectl delete`` does; returns its state after the
        request. Dependents follow ``propagation_policy``: "Background" (kubectl's
        default: it goes at once, the garbage collector deletes its dependents),
        "Foreground" (it stays until its blocking dependents are gone) or "Orphan"
        (they stay, without their reference to it); None is the API's default for the
        kind (batch/v1 Jobs orphan). A pod on a node goes gracefully (``grace_period_s``,
        default its terminationGracePeriodSeconds); an unscheduled or finished one at
        once. A Namespace turns Terminating, is emptied, then goes."""
        info = resolve_kind(kind)
        return delete_object(
            self.store,
            info,
            name,
            namespace if info.namespaced else "",
            propagation_policy=propagation_policy,
            grace_period_s=grace_period_s,
        )

    def watch(
        self,
        kind: str | type[Any],
        namespace: str | None = None,
        selector: str | Mapping[str, str] | None = None,
        *,
        resource_version: str | None = None,
    ) -> Watch[Any]:
        """An async iterator of ADDED / MODIFIED / DELETED events for a kind. Without a
        ``resource_version`` it starts now; list first, then watch from the list's
        resource version to miss nothing."""
        info = resolve_kind(kind)
        return self.store.watch(
            info,
            namespace=namespace if info.namespaced else None,
            label_selector=selector,
            resource_version=resource_version,
        )

    async def events(
        self,
        namespace: str | None = None,
        *,
        involved: Any | None = None,
    ) -> Sequence[Event]:
        """Events, oldest first; only those about ``involved`` (an object) if given."""
        events: list[Event] = await self.list(Event, namespace)
        if involved is not None:
            uid = involved.metadata.uid
            events = [e for e in events if e.involved_object.uid == uid]
        return sorted(events, key=_event_time)

    # -- logs and waiting ------------------------------------------------------------

    @overload
    async def logs(
        self,
        pod: str | Pod,
        container: str | None = None,
        *,
        namespace: str = "default",
        follow: Literal[False] = False,
        tail: int | None = None,
        previous: bool = False,
    ) -> builtins.list[str]: ...
    @overload
    async def logs(
        self,
        pod: str | Pod,
        container: str | None = None,
        *,
        namespace: str = "default",
        follow: Literal[True],
        tail: int | None = None,
        previous: bool = False,
    ) -> AsyncIterator[str]: ...
    async def logs(
        self,
        pod: str | Pod,
        container: str | None = None,
        *,
        namespace: str = "default",
        follow: bool = False,
        tail: int | None = None,
        previous: bool = False,
    ) -> builtins.list[str] | AsyncIterator[str]:
        """A container's output lines (stdout and stderr interleaved), as
        ``kubectl logs``: a list of lines, the last ``tail`` of them if given; with
        ``follow=True`` an async iterator that keeps yielding until the container ends.
        ``previous`` reads the container's previous instance (before its last restart).

        ``pod`` is a name (in ``namespace``) or a Pod. ``container`` may be left out
        when the pod has one container; otherwise a ``ValueError`` lists them.
        """
        obj = pod if isinstance(pod, Pod) else self.store.get(Pod, pod, namespace)
        name = obj.metadata.name
        container = _pick_container(obj, container)
        agent = self.agents.get(obj.spec.node_name)
        if agent is None:
            where = obj.spec.node_name
            raise OrbitError(
                f'pod "{name}" is not on a node of this cluster'
                if where
                else f'pod "{name}" is not scheduled yet'
            )
        current, before = agent.container_ids(obj.metadata.uid, container)
        container_id = before if previous else current
        if not container_id:
            if previous:
                message = f'previous terminated container "{container}" in pod "{name}" not found'
                raise OrbitError(message)
            reason = _waiting_reason(obj, container)
            raise OrbitError(
                f'container "{container}" in pod "{name}" is waiting to start: {reason}'
            )
        lines = agent.runtime.logs(container_id, tail=tail, follow=follow)
        if follow:
            return lines
        return [line async for line in lines]

    # -- workloads: kubectl scale, set image, rollout --------------------------------

    async def scale(self, target: str, replicas: int, *, namespace: str = "default") -> Any:
        """Set the replicas of a Deployment or ReplicaSet (``"deployment/web"``), as
        ``kubectl scale``; returns the updated object. The controllers do the rest."""
        return _rollout.set_replicas(self.store, target, replicas, namespace)

    async def set_image(
        self,
        target: str,
        images: Mapping[str, str] | None = None,
        *,
        namespace: str = "default",
        **by_container: str,
    ) -> Any:
        """Change container images of a Deployment's template, as ``kubectl set
        image``: ``set_image("deployment/web", web="web:v2")`` or a mapping
        (``{"*": "web:v2"}`` sets every container); starts a rollout."""
        wanted = {**(images or {}), **by_container}
        if not wanted:
            raise ValueError("name at least one container and its image")
        return _rollout.set_image(self.store, target, wanted, namespace)

    async def rollout_pause(self, target: str, *, namespace: str = "default") -> Any:
        """Pause a Deployment's rollout (template changes wait; scaling still works)."""
        return _rollout.set_paused(self.store, target, True, namespace)

    async def rollout_resume(self, target: str, *, namespace: str = "default") -> Any:
        """Resume a paused Deployment's rollout."""
        return _rollout.set_paused(self.store, target, False, namespace)

    async def rollout_history(
        self, target: str, *, namespace: str = "default"
    ) -> builtins.list[_rollout.Revision]:
        """The revisions a Deployment keeps (``revisionHistoryLimit``), oldest first."""
        return _rollout.rollout_history(self.store, target, namespace)

    async def rollout_undo(
        self, target: str, to_revision: int | None = None, *, namespace: str = "default"
    ) -> Any:
        """Roll a Deployment back to ``to_revision`` (default: the previous one), as
        ``kubectl rollout undo``; returns the Deployment with the restored template."""
        return _rollout.rollout_undo(self.store, target, namespace, to_revision)

    async def rollout_status(
        self,
        target: str,
        *,
        namespace: str = "default",
        timeout_s: float = 600.0,
        on_progress: Callable[[str], None] | None = None,
    ) -> Any:
        """Wait until a Deployment's rollout completes, as ``kubectl rollout status``;
        returns the Deployment. Raises :class:`~orbit.RolloutFailed` when it exceeds
        its progress deadline or orbit rolls it back (the reason says why), and
        ``TimeoutError`` after ``timeout_s``. ``on_progress`` gets kubectl's
        "Waiting for ..." lines as they change."""
        info, name = _rollout.parse_target(target)
        if info.kind != "Deployment":
            raise UnsupportedKind(f"{info.kind} has no rollout (only Deployments do)")
        start = self.store.get(info, name, namespace)
        before = start.metadata.annotations.get(_rollout.ROLLED_BACK_FROM)
        said = ""

        def done(d: Any) -> bool:
            nonlocal said
            state = _rollout.rollout_state(d, before)
            if on_progress is not None and state.message != said:
                said = state.message
                on_progress(state.message)
            return state.done

        return await self.wait_for(info.kind, name, done, timeout_s=timeout_s, namespace=namespace)

    async def wait_for(
        self,
        kind: str | type[Any],
        name: str,
        condition: Condition,
        *,
        timeout_s: float = 60.0,
        namespace: str = "default",
    ) -> Any:
        """Wait until an object meets ``condition``, as ``kubectl wait``; returns the
        object (``None`` for ``"deleted"``).

        ``condition`` is ``"deleted"``, a phase or condition type (``"Ready"``,
        ``"Complete"``, ``"Running"``, ``"Succeeded"``, ``"Failed"``),
        ``"condition=Ready=False"``, a field path and value (``"status.phase=Running"``,
        ``"jsonpath={.status.readyReplicas}=3"``) or a predicate over the object; see
        :mod:`orbit._wait`. Watch-based: no polling. ``TimeoutError`` names what was
        awaited and the last state seen.
        """
        info = resolve_kind(kind)
        namespace = namespace if info.namespaced else ""
        check, wanted = compile_condition(condition)
        last: Any = None
        with anyio.move_on_after(timeout_s):
            while True:
                listed = self.store.list(
                    info, namespace=namespace, field_selector={"metadata.name": name}
                )
                last = listed.items[0] if listed.items else None
                if check(last):
                    return last
                try:
                    async with self.store.watch(
                        info,
                        namespace=namespace,
                        field_selector={"metadata.name": name},
                        resource_version=listed.resource_version,
                    ) as watch:
                        async for event in watch:
                            last = None if event.type == "DELETED" else event.object
                            if check(last):
                                return last
                except ResourceExpired:
                    continue
        subject = f"{info.kind.lower()}/{name}"
        raise TimeoutError(
            f"timed out after {timeout_s:g}s waiting for {subject} to be {wanted}; {describe(last)}"
        )


def _controller_key(name: str) -> str:
    """``job-controller``, ``job`` and ``Job`` all name the same controller;
    ``garbage-collector`` and ``garbagecollector`` too."""
    return name.lower().removesuffix("-controller").replace("-", "")


def _selected(defaults: Sequence[Reconciler], wanted: Iterable[str]) -> builtins.list[Reconciler]:
    """The default controllers ``wanted`` names (kube-controller-manager's rules)."""
    wanted = builtins.list(wanted)
    known = {_controller_key(r.name): r for r in defaults}
    chosen: set[str] = set()
    for item in wanted:
        off = item.startswith("-")
        key = _controller_key(item.lstrip("-"))
        if key == "*":
            if off:
                raise ValueError('"-*" is not a controller selection; leave "*" out instead')
            chosen.update(known)
            continue
        if key not in known:
            names = ", ".join(sorted(known))
            raise ValueError(f'no controller named "{item.lstrip("-")}" (orbit has: {names})')
        (chosen.discard if off else chosen.add)(key)
    for item in wanted:  # "-x" wins over "*" wherever it stands
        if item.startswith("-"):
            chosen.discard(_controller_key(item[1:]))
    return [r for r in defaults if _controller_key(r.name) in chosen]


def _pick_container(pod: Pod, container: str | None) -> str:
    """The container ``logs`` reads: the one named, or the pod's only one."""
    names = [c.name for c in pod.spec.containers]
    init = [c.name for c in pod.spec.init_containers]
    if container is None:
        if len(names) == 1:
            return names[0]
        message = (
            f"a container name must be specified for pod {pod.metadata.name}, "
            f"choose one of: [{' '.join(names)}]"
        )
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise ValueError(message)
    if container not in names and container not in init:
        raise ValueError(
            f"container {container} is not valid for pod {pod.metadata.name}; "
            f"its containers: [{' '.join(init + names)}]"
        )
    return container


def _waiting_reason(pod: Pod, container: str) -> str:
    for status in (*pod.status.init_container_statuses, *pod.status.container_statuses):
        if status.name == container and status.state.waiting is not None:
            return status.state.waiting.reason or "ContainerCreating"
    return "ContainerCreating"


def _simulation_seed() -> int | None:
    """The running simulation loop's seed (duck-typed: ``orbit_seed``), else None."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    seed = getattr(loop, "orbit_seed", None)
    return seed if isinstance(seed, int) else None


def _new_cluster_id(seed: int | None) -> str:
    if seed is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4))


def _host_name() -> str:
    """The local node's name: the host's name, lower-cased (node names are DNS names)."""
    return socket.gethostname().lower() or "localhost"


def _event_time(event: Event) -> tuple[float, str]:
    stamp = event.last_timestamp or event.first_timestamp or event.metadata.creation_timestamp
    return (stamp.timestamp() if stamp else 0.0, event.metadata.name)
