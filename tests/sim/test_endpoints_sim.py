"""Endpoints on simulated nodes in virtual time: they follow scaling, readiness,
rolling updates, label changes and deletions, list each pod at the host port orbit
allocated for it, and a deleted pod leaves them before its container gets SIGTERM."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest

import orbit
from orbit import ServiceEndpoint
from orbit.api import Endpoints, Pod
from orbit.clock import current_clock
from orbit.controllers import ControllerLoop
from orbit.controllers._endpoints import EndpointsController
from orbit.node import Node
from orbit.node._endpoints_wait import lists_pod
from orbit.runtimes import ContainerReport
from orbit.runtimes._sim import SimRuntime

pytestmark = pytest.mark.anyio


class RecordingSim(SimRuntime):
    """A SimRuntime that notes, at every stop, the time and whether any Endpoints
    still listed the stopped container's pod at that moment."""

    def __init__(self, store_of: list[Any], **kwargs: Any) -> None:
        super().__init__({"cpu": "16", "memory": "64Gi"}, **kwargs)
        self._store_of = store_of
        self.stops: list[tuple[str, float, bool]] = []  # (pod uid, time, still listed)

    async def stop(self, container_id: str, grace_s: float) -> ContainerReport:
        uid = (await self.inspect(container_id)).pod_uid
        store = self._store_of[0]
        listed = any(lists_pod(e, uid) for e in store.list(Endpoints).items)
        self.stops.append((uid, now(), listed))
        return await super().stop(container_id, grace_s)


def now() -> float:
    return current_clock().monotonic()


def nodes(count: int = 2) -> list[Node]:
    return [
        Node(f"sim-{i}", runtime=SimRuntime({"cpu": "16", "memory": "64Gi"})) for i in range(count)
    ]


def pod_spec(image: str = "web:v1", behaviour: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "labels": {"app": "web"},
            "annotations": {f"sim.orbit.dev/{k}": v for k, v in (behaviour or {}).items()},
        },
        "spec": {
            "terminationGracePeriodSeconds": 10,
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "ports": [
                        {"name": "http", "containerPort": 8080},
                        {"containerPort": 9100},
                    ],
                    "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
                }
            ],
        },
    }


def deployment(replicas: int = 3, **template: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": pod_spec(**template),
        },
    }


def bare_pod(name: str, labels: dict[str, str] | None = None, **behaviour: str) -> dict[str, Any]:
    spec = pod_spec(behaviour={k.replace("_", "-"): v for k, v in behaviour.items()})
    spec["metadata"].update(name=name, labels=labels or {"app": "web"})
    return {"apiVersion": "v1", "kind": "Pod", **spec}


def service(name: str = "web", app: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": app},
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "metrics", "port": 9100},
            ],
        },
    }


async def start(cluster: orbit.Cluster) -> ControllerLoop:
    return await cluster.start_controller(EndpointsController(cluster.store, cluster.clock))


async def until(cluster: orbit.Cluster, test: Any, service: str = "web") -> list[ServiceEndpoint]:
    """The endpoints of ``service`` once ``test`` holds for them."""
    with anyio.fail_after(600):
        async with aclosing(cluster.watch_endpoints(service)) as lists:
            async for endpoints in lists:
                if test(endpoints):
                    return endpoints
    raise AssertionError("the watch ended")


def ready_pods(endpoints: list[ServiceEndpoint]) -> set[str]:
    return {e.pod for e in endpoints if e.ready}


async def expected(cluster: orbit.Cluster) -> set[tuple[str, str, int, int]]:
    """(pod, host, http port, metrics port) for every live, ready pod labelled app=web,
    from the pods' own ``orbit.dev/ports`` annotations."""
    found = set()
    for pod in await cluster.list("pods", selector="app=web"):
        ready = pod.status.condition("Ready")
        if pod.metadata.deletion_timestamp or ready is None or ready.status != "True":
            continue
        where = json.loads(pod.metadata.annotations["orbit.dev/ports"])
        host, http = where["http"].rsplit(":", 1)
        metrics = where["9100"].rsplit(":", 1)[1]
        found.add((pod.metadata.name, host, int(http), int(metrics)))
    return found


def listed(endpoints: list[ServiceEndpoint]) -> set[tuple[str, str, int, int]]:
    return {(e.pod, e.host, e.ports["http"], e.ports["metrics"]) for e in endpoints if e.ready}


async def test_endpoints_follow_scale_up_and_down_at_each_pods_own_port() -> None:
    async with orbit.Cluster(nodes=nodes(), seed=1) as cluster:
        await start(cluster)
        await cluster.apply([service(), deployment(3)])
        eps = await until(cluster, lambda e: len(ready_pods(e)) == 3)
        assert listed(eps) == await expected(cluster)
        ports = [e.ports["http"] for e in eps]
        assert len(set(ports)) == 3  # a host port of its own per pod
        assert eps[0].address("http") == f"127.0.0.1:{eps[0].ports['http']}"
        assert await cluster.endpoints("web") == eps

        await cluster.scale("deployment/web", 5)
        eps = await until(cluster, lambda e: len(ready_pods(e)) == 5)
        assert listed(eps) == await expected(cluster)

        await cluster.scale("deployment/web", 2)
        eps = await until(cluster, lambda e: len(e) == 2)
        assert listed(eps) == await expected(cluster)
        assert all(e.ready for e in eps)
        stored: Endpoints = await cluster.get("endpoints", "web")
        assert len(stored.subsets) == 2  # one subset per pod: their host ports differ
        assert {a.target_ref.kind for s in stored.subsets for a in s.addresses} == {"Pod"}


async def test_readiness_flips_move_a_pod_between_ready_and_not_ready() -> None:
    async with orbit.Cluster(nodes=nodes(1), seed=1) as cluster:
        await start(cluster)
        await cluster.apply(
            [service(), bare_pod("p", ready_after_seconds="5", unhealthy_after_seconds="20")]
        )
        began = now()
        seen: list[tuple[float, bool]] = []
        async with aclosing(cluster.watch_endpoints("web")) as lists:
            async for eps in lists:
                states = [e.ready for e in eps]
                if states and (not seen or seen[-1][1] != states[0]):
                    seen.append((now() - began, states[0]))
                if len(seen) == 3:
                    break
        # ready 5 s after start; unready after three failed probes from 20 s on
        assert seen == [(0.0, False), (5.0, True), (22.0, False)]


async def test_a_rolling_update_never_drops_ready_endpoints_and_ends_on_new_pods() -> None:
    async with orbit.Cluster(nodes=nodes(3), seed=2) as cluster:
        await start(cluster)
        await cluster.apply([service(), deployment(4, behaviour={"ready-after-seconds": "2"})])
        await until(cluster, lambda e: len(ready_pods(e)) == 4)
        fewest = [4]

        async def observe() -> None:
            async for eps in cluster.watch_endpoints("web"):
                fewest[0] = min(fewest[0], len(ready_pods(eps)))

        async with anyio.create_task_group() as group:
            group.start_soon(observe)
            await cluster.set_image("deployment/web", web="web:v2")
            await cluster.rollout_status("deployment/web", timeout_s=600)
            group.cancel_scope.cancel()
        # maxUnavailable 0: some 4 pods are ready in every version of the Endpoints
        assert fewest == [4]
        eps = await until(cluster, lambda e: len(e) == 4)
        pods = {p.metadata.name: p for p in await cluster.list("pods", selector="app=web")}
        assert {pods[e.pod].spec.containers[0].image for e in eps} == {"web:v2"}
        assert listed(eps) == await expected(cluster)


async def test_a_deleted_pod_leaves_the_endpoints_before_its_container_is_stopped() -> None:
    stores: list[Any] = []
    runtime = RecordingSim(stores)
    async with orbit.Cluster(nodes=[Node("sim-0", runtime=runtime)], seed=1) as cluster:
        stores.append(cluster.store)
        await start(cluster)
        await cluster.apply([service(), bare_pod("p"), bare_pod("q")])
        await until(cluster, lambda e: ready_pods(e) == {"p", "q"})
        uid = (await cluster.get("pod", "p")).metadata.uid
        unlisted_at: list[float] = []

        async def observe() -> None:
            async for eps in cluster.watch_endpoints("web"):
                if "p" not in {e.pod for e in eps}:
                    unlisted_at.append(now())
                    return

        async with anyio.create_task_group() as group:
            group.start_soon(observe)
            await anyio.lowlevel.checkpoint()
            await cluster.delete("pod", "p")
            await cluster.wait_for("pod", "p", "deleted", timeout_s=60)
        ((stopped_uid, stopped_at, still_listed),) = runtime.stops
        assert stopped_uid == uid
        assert still_listed is False  # no Endpoints named the pod when it got SIGTERM
        assert unlisted_at[0] <= stopped_at
        assert [e.pod for e in await cluster.endpoints("web")] == ["q"]


async def test_a_label_change_moves_a_pod_between_services() -> None:
    async with orbit.Cluster(nodes=nodes(1), seed=1) as cluster:
        await start(cluster)
        await cluster.apply([service("web", "web"), service("api", "api"), bare_pod("p")])
        await until(cluster, lambda e: ready_pods(e) == {"p"})
        assert await cluster.endpoints("api") == []

        await cluster.apply(bare_pod("p", labels={"app": "api"}))
        await until(cluster, lambda e: e == [])
        moved = await until(cluster, lambda e: ready_pods(e) == {"p"}, service="api")
        # the pod kept its ports: the same host port, under the other Service
        pod = await cluster.get("pod", "p")
        where = json.loads(pod.metadata.annotations["orbit.dev/ports"])
        assert moved[0].address("http") == where["http"]


async def test_services_own_their_endpoints_and_selectorless_ones_are_left_alone() -> None:
    async with orbit.Cluster(nodes=nodes(1), seed=1) as cluster:
        await start(cluster)
        manual = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "db"},
            "spec": {"ports": [{"port": 5432}]},
        }
        manual_endpoints = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "db"},
            "subsets": [{"addresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 5432}]}],
        }
        await cluster.apply([service(), bare_pod("p"), manual, manual_endpoints])
        await until(cluster, lambda e: ready_pods(e) == {"p"})
        assert await cluster.endpoints("db") == [
            ServiceEndpoint(host="10.0.0.9", ports={"": 5432}, ready=True)
        ]

        # a manual edit of a managed Endpoints is put right
        stored: Endpoints = await cluster.get("endpoints", "web")
        cluster.store.update(Endpoints(metadata=stored.metadata, subsets=()))
        await until(cluster, lambda e: ready_pods(e) == {"p"})

        # a Service that goes takes its Endpoints along (selector or not)
        await cluster.delete("service", "web")
        await until(cluster, lambda e: e == [])
        await cluster.delete("service", "db")
        await until(cluster, lambda e: e == [], service="db")
        assert await cluster.list("endpoints", "default") == []


async def test_a_pod_change_that_moves_no_address_wakes_no_reconcile() -> None:
    async with orbit.Cluster(nodes=nodes(1), seed=1) as cluster:
        loop = await start(cluster)
        await cluster.apply([service(), bare_pod("p")])
        await until(cluster, lambda e: ready_pods(e) == {"p"})
        await anyio.sleep(5)
        settled = loop.reconciles
        pod: Pod = await cluster.get("pod", "p")
        noted = {**pod.metadata.annotations, "note": "hello"}
        cluster.store.update(
            attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, annotations=noted))
        )
        await anyio.sleep(5)
        assert loop.reconciles == settled
        await cluster.apply(bare_pod("p", labels={"app": "web", "tier": "x"}))  # still selected
        await anyio.sleep(5)
        assert loop.reconciles == settled
        await cluster.delete("pod", "p")
        await until(cluster, lambda e: e == [])
        assert loop.reconciles > settled
