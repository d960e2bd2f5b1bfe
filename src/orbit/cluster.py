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

This module keeps the constructor, the lifecycle, the controllers, ``apply``, ``get``,
``list`` and ``delete``; the other verbs come from one mixin per group:
:mod:`orbit._cluster_nodes` (``add_node``, ``remove_node``, ``cordon``, ``uncordon``,
``drain``), :mod:`orbit._cluster_workloads` (``scale``, ``set_image``,
``rollout_*``) and :mod:`orbit._cluster_observe` (``watch``, ``events``, ``logs``,
``wait_for``). ``apply``'s planning is in :mod:`orbit._cluster_apply`, what a new
cluster starts with in :mod:`orbit._cluster_setup`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc

from orbit.api import Namespace, ObjectMeta, decode_documents, read_documents, resolve_kind
from orbit.autoscaling import (
    ClusterMetrics,
    Expander,
    HPAController,
    NodePool,
    NodePoolAutoscaler,
)
from orbit.clock import Clock, current_clock
from orbit.control import ControlServer
from orbit.controllers import (
    ControllerLoop,
    Informers,
    NodeLifecycleController,
    PropagationPolicy,
    Reconciler,
    Scheduler,
    delete_object,
    store_aware_registry,
)
from orbit.errors import NotFound, ValidationError
from orbit.metrics import OrbitMetrics
from orbit.net import ServiceProxy
from orbit.node import (
    CountingPorts,
    Heartbeat,
    Node,
    NodeAgent,
    PodDispatcher,
    RestartBackoff,
    host_ports,
)
from orbit.runtimes import Usage
from orbit.scheduling import Frameworks, Profile, Registry
from orbit.store import Leases, MemoryStore, Store

from ._cluster_apply import (
    LAST_APPLIED_ANNOTATION,
    ApplyResult,
    Plan,
    commit,
    dry_run_admission,
    plan_objects,
)
from ._cluster_nodes import NodesMixin
from ._cluster_services import ServicesMixin
from ._cluster_setup import (
    admission_chain,
    default_controllers,
    host_name,
    in_simulation,
    new_cluster_id,
    selected,
    simulation_seed,
)
from ._cluster_workloads import WorkloadsMixin

__all__ = ["LAST_APPLIED_ANNOTATION", "ApplyResult", "Cluster"]

_log = logging.getLogger("orbit")

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_FINISHED = ("Succeeded", "Failed")


class Cluster(NodesMixin, WorkloadsMixin, ServicesMixin):
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
        service_proxy: bool = True,
        prometheus_url: str | None = None,
        hpa_sync_period_s: float = 15.0,
        hpa_options: Mapping[str, Any] | None = None,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        node_pools: Iterable[NodePool] = (),
        node_pool_expander: str | Expander = "least-waste",
        node_autoscaler_options: Mapping[str, Any] | None = None,
        control_socket: str | bool | None = None,
        control_tcp: tuple[str, int] | None = None,
        control_token: str | None = None,
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
            service_proxy: run orbit's service proxy (every Service port listens on
                127.0.0.1; see ``service_url``). Never under the simulator, whose
                pods have no real ports.
            prometheus_url: the Prometheus server (``http://127.0.0.1:9090``) that
                HorizontalPodAutoscalers' Object and External metrics query.
            hpa_sync_period_s: how often every HPA is evaluated (Kubernetes' 15 s).
            hpa_options: more keyword arguments of
                :class:`orbit.autoscaling.HPAController` (kube-controller-manager's
                HPA flags: ``tolerance``, ``cpu_initialization_period_s``,
                ``initial_readiness_delay_s``, ``downscale_stabilization_s``).
            metrics_port: serve orbit's own metrics (``orbit_*``) on this port at
                ``/metrics`` (0: any free port; see ``metrics_url``); ``None``: not
                served (they are still kept, in ``cluster.metrics.registry``).
            metrics_host: the address the metrics endpoint binds (loopback by default).
            node_pools: pools of identical nodes the node-pool autoscaler grows when
                pods are unschedulable and shrinks when nodes stay underused
                (:class:`orbit.NodePool`); none: no node-pool autoscaler.
            node_pool_expander: how it picks a pool to grow: ``least-waste``,
                ``fewest-nodes``, ``cheapest``, ``most-pods`` or an Expander.
            node_autoscaler_options: more keyword arguments of
                :class:`orbit.autoscaling.NodePoolAutoscaler` (``scan_interval_s``,
                ``scale_down_unneeded_s``, ``scale_down_utilization_threshold``...).
            control_socket: serve the control API (what the ``orbit`` command talks
                to) on this Unix socket (mode 0600 in a 0700 directory); ``True``: the
                default path (``orbit.control.default_socket_path()``). Not under
                the simulator.
            control_tcp: also serve it on this (host, port), every request needing
                ``control_token`` (one is generated when not given; see
                ``cluster.control.token``).
            control_token: the bearer token the TCP listener requires.
        """
        self.clock: Clock = clock or current_clock()
        if seed is None:
            seed = simulation_seed()
        self.store: Store = store or MemoryStore(clock=self.clock, seed=seed)
        if not self.store.admission:
            self.store.admission = admission_chain(default_toleration_seconds)
        self.metrics = OrbitMetrics(self.store)
        self._metrics_port = metrics_port
        self._metrics_host = metrics_host
        self.scheduler = Scheduler(
            self.store,
            self.clock,
            frameworks=Frameworks(
                scheduler_profiles,
                registry=store_aware_registry(self.store, scheduler_registry),
                seed=seed or 0,
                instruments=[self.metrics.scheduling_instrument],
            ),
        )
        self.node_pools = list(node_pools)
        self.node_autoscaler: NodePoolAutoscaler | None = None
        if self.node_pools:
            self.node_autoscaler = NodePoolAutoscaler(
                self.store,
                self.clock,
                self.node_pools,
                self,
                expander=node_pool_expander,
                # Its own frameworks: they carry state between cycles.
                frameworks=Frameworks(
                    scheduler_profiles,
                    registry=store_aware_registry(self.store, scheduler_registry),
                    seed=seed or 0,
                ),
                **dict(node_autoscaler_options or {}),
            )
            self.metrics.bind_node_pools(lambda: [pool.name for pool in self.node_pools])
        self.control: ControlServer | None = None
        if control_socket or control_tcp is not None:
            path = control_socket if isinstance(control_socket, str) else None
            self.control = ControlServer(self, path=path, tcp=control_tcp, token=control_token)
        self.cluster_id = cluster_id or new_cluster_id(seed)
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
        self._nodes = [Node(host_name())] if nodes is None else list(nodes)
        self._state_dir_given = state_dir is not None
        self.state_dir = os.fspath(state_dir) if state_dir is not None else ""
        self._task_group: anyio.abc.TaskGroup | None = None
        self.controller_loops: dict[str, ControllerLoop] = {}
        self.informers = Informers(self.store)
        # The service proxy binds real loopback sockets: not under the simulator,
        # whose pods have no real ports to forward to.
        self.proxy: ServiceProxy | None = (
            ServiceProxy(self.store, clock=self.clock, ports=self._host_ports)
            if service_proxy
            else None
        )
        defaults = default_controllers(
            self.store,
            self.clock,
            default_toleration_seconds=default_toleration_seconds,
            terminated_pod_gc_threshold=terminated_pod_gc_threshold,
        )
        self.resource_metrics = ClusterMetrics(
            self.store, usage=self.pod_usage, prometheus_url=prometheus_url, clock=self.clock
        )
        defaults.append(
            HPAController(
                self.store,
                self.clock,
                self.resource_metrics,
                sync_period_s=hpa_sync_period_s,
                **dict(hpa_options or {}),
            )
        )
        self._pending_controllers = selected(defaults, controllers)
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
            if self.proxy is not None and in_simulation():
                self.proxy = None
            if self.proxy is not None:
                self.metrics.bind_proxy(self.proxy)
                await self._task_group.start(self.proxy.run)
            if self._metrics_port is not None and not in_simulation():
                await self._task_group.start(
                    self.metrics.serve, self._metrics_host, self._metrics_port
                )
            await self._task_group.start(self.scheduler.run)
            await self._task_group.start(self._pods.run)
            await self._task_group.start(self.node_lifecycle.run)
            await self._task_group.start(self.heartbeat.run)
            for reconciler in self._pending_controllers:
                await self.start_controller(reconciler)
            await self._start_nodes(self._nodes)
            if self.node_autoscaler is not None:
                await self._task_group.start(self.node_autoscaler.run)
            if self.control is not None and in_simulation():
                self.control = None
            if self.control is not None:
                await self._task_group.start(self.control.run)
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
        if self.control is not None:
            self.control.stop()  # no requests while the pods stop
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

    # -- usage and metrics ---------------------------------------------------------

    async def pod_usage(self) -> dict[tuple[str, str], dict[str, Usage]]:
        """Every running container's cpu and memory use now, by (namespace, pod) then
        container: what ``kubectl top pods`` shows and the HPA's Resource metrics read."""
        found: dict[tuple[str, str], dict[str, Usage]] = {}

        async def read(agent: NodeAgent) -> None:
            for key, containers in (await agent.usage()).items():
                found.setdefault(key, {}).update(containers)

        async with anyio.create_task_group() as group:
            for agent in list(self.agents.values()):
                group.start_soon(read, agent)
        return found

    @property
    def control_path(self) -> str | None:
        """The control API's Unix socket while it is served (``control_socket=``)."""
        return self.control.path if self.control is not None else None

    @property
    def metrics_url(self) -> str:
        """Where orbit's own metrics are served (``metrics_port=``), once entered."""
        url = self.metrics.url
        if not url:
            raise RuntimeError("orbit's metrics are not served: Cluster(metrics_port=0)")
        return url

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
        loop = ControllerLoop(
            self.store,
            self.clock,
            reconciler,
            informers=self.informers,
            observe=self.metrics.observe_reconcile,
        )
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
        plans: list[Plan] = []
        if not issues:
            plans, issues = plan_objects(self.store, decoded)
        if issues:
            raise ValidationError(issues)
        dry_run_admission(self.store, plans)
        for note in (w for d in decoded for w in d.warnings):
            _log.warning("%s", note)
        # No await from here on: the whole batch lands atomically for other tasks.
        results = [commit(self.store, plan) for plan in plans]
        await anyio.lowlevel.checkpoint()
        return results

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
