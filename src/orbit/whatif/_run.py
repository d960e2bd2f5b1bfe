"""Running a what-if: one simulated cluster per policy, sampled as it runs.

Each policy gets a fresh :class:`orbit.Cluster` of simulated nodes (and node pools)
inside :func:`orbit.simulate`, so a day of virtual time takes seconds and the same seed
gives the same day. The load (an :class:`~orbit.autoscaling.SharedLoad`) is the
SimRuntime behaviour of every node, so pod cpu follows the demand over the ready pods:
what the HPA's Resource metric reads. A :class:`Recorder` samples the cluster every
``sample_s`` and follows every change of the scaled Deployment's replicas through a
watch; :func:`run_policies` runs the policies in worker processes side by side and
relays their progress (virtual seconds done) to the caller.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import queue as queues
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import attrs

from orbit.api import Deployment, HorizontalPodAutoscaler, Node, Pod
from orbit.autoscaling import NODE_POOL_LABEL, NodePool, SharedLoad, SimNodeProvider
from orbit.cluster import Cluster
from orbit.errors import ResourceExpired
from orbit.node import Node as NodeConfig
from orbit.runtimes import SimRuntime
from orbit.simulation import simulate

from ._spec import WhatIf, hpa_ref, manifests_for, scale_target
from ._summary import summarise

__all__ = ["Day", "Progress", "Recorder", "run_day", "run_policies", "run_policy"]

Progress = Callable[[float], None]
"""Called with the virtual seconds a run has done, at every sample."""

Row = tuple[float, float, int, int, int, int]


@attrs.define(kw_only=True)
class Day:
    """One policy's run: the sampled timeline, the scalings and what was counted.

    Attributes:
        policy: the policy's name.
        timeline: one row per sample, columns :attr:`Recorder.COLUMNS`: virtual
            seconds, cores of demand, the Deployment's replicas, ready serving pods,
            pods not bound to a node, nodes.
        cost_rates: per sample, what the nodes present cost an hour together.
        scalings: every change of the Deployment's replicas: (t, from, to).
        rescale_events: the HPA's ``SuccessfulRescale`` events (repeats counted).
        hpa_warnings: the HPA's Warning events (repeats counted).
        nodes_added, nodes_removed: nodes the node-pool autoscaler created and deleted.
        wall_s: wall-clock seconds the run took.
        summary: the row :func:`~orbit.whatif.summarise` made of it.
    """

    policy: str
    timeline: list[Row]
    cost_rates: list[float]
    scalings: list[tuple[float, int, int]]
    rescale_events: int
    hpa_warnings: int
    nodes_added: int
    nodes_removed: int
    wall_s: float = 0.0
    summary: dict[str, Any] = attrs.field(factory=dict)


def _unbound(pod: Pod) -> bool:
    return (
        not pod.spec.node_name
        and pod.metadata.deletion_timestamp is None
        and pod.status.phase not in ("Succeeded", "Failed")
    )


class Recorder:
    """Samples the cluster on a period and follows every change of the scaled
    Deployment's replicas, in the simulation's virtual time."""

    COLUMNS = ("t", "demand", "replicas", "ready", "unbound", "nodes")

    def __init__(self, cluster: Cluster, load: SharedLoad, whatif: WhatIf) -> None:
        self.cluster = cluster
        self.load = load
        self.whatif = whatif
        self.target = scale_target(whatif)
        self.timeline: list[Row] = []
        self.cost_rates: list[float] = []
        self.scalings: list[tuple[float, int, int]] = []  # (t, from, to)
        self._current = 0

    def sample(self) -> None:
        """Append one row (and the nodes' cost rate) for now."""
        store = self.cluster.store
        t = self.load.now()
        target: Deployment = store.get(Deployment, *self.target)
        pods = store.list(Pod, namespace=self.load.namespace, label_selector=self.load.selector)
        nodes = store.list(Node).items
        self.timeline.append(
            (
                round(t, 3),
                round(self.load.demand(t), 4),
                target.spec.replicas or 0,
                self.load.ready_pods(),
                sum(1 for pod in pods.items if _unbound(pod)),
                len(nodes),
            )
        )
        self.cost_rates.append(
            sum(
                self.whatif.price_of(n.metadata.name, n.metadata.labels.get(NODE_POOL_LABEL))
                for n in nodes
            )
        )

    async def sample_every(self, period_s: float, progress: Progress | None = None) -> None:
        """Sample now and every ``period_s``, telling ``progress`` the time done."""
        while True:
            self.sample()
            if progress is not None:
                progress(self.load.now())
            await anyio.sleep(period_s)

    async def follow_scale(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Record each change of the target's spec.replicas (relisting if the watch
        expires)."""
        store = self.cluster.store
        name, namespace = self.target
        self._current = store.get(Deployment, name, namespace).spec.replicas or 0
        version = store.resource_version
        task_status.started()
        while True:
            try:
                async with store.watch(Deployment, resource_version=version) as watch:
                    async for event in watch:
                        version = event.object.metadata.resource_version
                        meta = event.object.metadata
                        if (meta.name, meta.namespace) == (name, namespace):
                            self._seen(event.object)
            except ResourceExpired:
                version = store.resource_version
                self._seen(store.get(Deployment, name, namespace))

    def _seen(self, target: Deployment) -> None:
        replicas = target.spec.replicas or 0
        if replicas != self._current:
            self.scalings.append((self.load.now(), self._current, replicas))
            self._current = replicas


def _fixed_nodes(whatif: WhatIf, load: SharedLoad) -> list[NodeConfig]:
    return [
        NodeConfig(
            f"{group.prefix}-{i}",
            runtime=SimRuntime(group.capacity, gpus=group.gpus, behaviour=load.behaviour),
            labels=dict(group.labels),
        )
        for group in whatif.nodes
        for i in range(group.count)
    ]


def _pools(whatif: WhatIf, load: SharedLoad) -> tuple[list[NodePool], list[SimNodeProvider]]:
    pools: list[NodePool] = []
    providers: list[SimNodeProvider] = []
    for spec in whatif.pools:
        provider = SimNodeProvider(boot_delay_s=spec.boot_delay_s, behaviour=load.behaviour)
        template = NodeConfig("template", capacity=dict(spec.capacity), labels=dict(spec.labels))
        pools.append(
            NodePool(
                spec.name,
                template,
                min_nodes=spec.min_nodes,
                max_nodes=spec.max_nodes,
                cost_per_hour=spec.cost_per_hour,
                provider=provider,
            )
        )
        providers.append(provider)
    return pools, providers


async def run_day(whatif: WhatIf, policy: str, progress: Progress | None = None) -> Day:
    """One policy's run (call inside :func:`orbit.simulate`): the cluster is built,
    the manifests applied with the policy's HPA behavior, and the run sampled for
    ``duration_s`` of virtual time."""
    load = SharedLoad(whatif.load.selector, whatif.load.curve, namespace=whatif.load.namespace)
    pools, providers = _pools(whatif, load)
    cluster = Cluster(
        nodes=_fixed_nodes(whatif, load),
        node_pools=pools,
        node_pool_expander=whatif.expander,
        seed=whatif.seed,
    )
    async with cluster:
        load.bind(cluster.store, cluster.clock)
        await cluster.apply(manifests_for(whatif, whatif.policies[policy]))
        recorder = Recorder(cluster, load, whatif)
        async with anyio.create_task_group() as group:
            await group.start(recorder.follow_scale)
            group.start_soon(recorder.sample_every, whatif.sample_s, progress)
            await anyio.sleep(whatif.duration_s - load.now())
            group.cancel_scope.cancel()
        autoscaler: HorizontalPodAutoscaler = await cluster.get("hpa", *hpa_ref(whatif))
        events = await cluster.events(involved=autoscaler)
    return Day(
        policy=policy,
        timeline=recorder.timeline,
        cost_rates=recorder.cost_rates,
        scalings=recorder.scalings,
        rescale_events=sum(e.count for e in events if e.reason == "SuccessfulRescale"),
        hpa_warnings=sum(e.count for e in events if e.type == "Warning"),
        nodes_added=sum(len(p.created) for p in providers),
        nodes_removed=sum(len(p.deleted) for p in providers),
    )


def run_policy(whatif: WhatIf, policy: str, progress: Progress | None = None) -> Day:
    """Simulate one policy (in this process); the day with its wall time and summary."""
    began = time.perf_counter()
    day = simulate(run_day, whatif, policy, progress, seed=whatif.seed)
    day.wall_s = round(time.perf_counter() - began, 2)
    day.summary = summarise(day, whatif) | {"wall_s": day.wall_s}
    return day


@attrs.define
class _Relay:
    """A worker's progress callback: puts (policy, t) on a shared queue, at most once
    per ``step_s`` of virtual time (picklable, so it crosses to the worker)."""

    queue: Any
    policy: str
    step_s: float
    last: float = -float("inf")

    def __call__(self, t: float) -> None:
        if t - self.last >= self.step_s:
            self.last = t
            self.queue.put((self.policy, t))


def run_policies(
    whatif: WhatIf,
    policies: Sequence[str] | None = None,
    *,
    jobs: int = 1,
    progress: Callable[[str, float], None] | None = None,
    done: Callable[[Day], None] | None = None,
) -> list[Day]:
    """Every policy's day, ``jobs`` worker processes at a time, in the order given.

    ``progress(policy, t)`` hears the virtual seconds each run has done (at every
    sample in one process; about every 1 % of the duration from workers); ``done``
    hears each day as it finishes (in completion order).
    """
    names = list(whatif.policies if policies is None else policies)
    if jobs <= 1 or len(names) <= 1:
        days = []
        for name in names:
            tell = None if progress is None else _bind(progress, name)
            day = run_policy(whatif, name, tell)
            if done is not None:
                done(day)
            days.append(day)
        return days
    with multiprocessing.Manager() as manager:
        relay = manager.Queue()
        step_s = whatif.duration_s / 100
        with concurrent.futures.ProcessPoolExecutor(min(jobs, len(names))) as pool:
            futures = [
                pool.submit(run_policy, whatif, name, _Relay(relay, name, step_s)) for name in names
            ]
            pending: set[concurrent.futures.Future[Day]] = set(futures)
            while pending:
                finished, pending = concurrent.futures.wait(
                    pending, timeout=0.1, return_when=concurrent.futures.FIRST_COMPLETED
                )
                _drain(relay, progress)
                for future in finished:
                    if done is not None:
                        done(future.result())
            _drain(relay, progress)
            return [f.result() for f in futures]


def _bind(progress: Callable[[str, float], None], policy: str) -> Progress:
    return lambda t: progress(policy, t)


def _drain(relay: Any, progress: Callable[[str, float], None] | None) -> None:
    while True:
        try:
            policy, t = relay.get_nowait()
        except queues.Empty:
            return
        if progress is not None:
            progress(policy, t)
