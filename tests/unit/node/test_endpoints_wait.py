"""A deleted pod leaves every Endpoints before its containers get SIGTERM: the bounded,
watch-based wait (``orbit.node._endpoints_wait``) and the pod worker using it, in
virtual time (so "no time at all" and "exactly 2 s" are asserted exactly)."""

from __future__ import annotations

import anyio
import pytest
from fake_runtime import FakeRuntime, Script

import orbit
from orbit.api import (
    EndpointAddress,
    Endpoints,
    EndpointSubset,
    ObjectMeta,
    ObjectReference,
    Pod,
)
from orbit.clock import current_clock
from orbit.node import Node
from orbit.node._endpoints_wait import ENDPOINTS_WAIT_S, wait_unlisted
from orbit.store import MemoryStore

pytestmark = pytest.mark.anyio


def now() -> float:
    return current_clock().monotonic()


def endpoints(name: str, *uids: str, namespace: str = "default", ready: bool = True) -> Endpoints:
    listed = tuple(
        EndpointAddress(
            ip="127.0.0.1",
            target_ref=ObjectReference(kind="Pod", namespace=namespace, name=uid, uid=uid),
        )
        for uid in uids
    )
    subset = (
        EndpointSubset(addresses=listed) if ready else EndpointSubset(not_ready_addresses=listed)
    )
    return Endpoints(
        metadata=ObjectMeta(name=name, namespace=namespace), subsets=(subset,) if uids else ()
    )


def the_pod(uid: str = "uid-p") -> Pod:
    return Pod(metadata=ObjectMeta(name="p", namespace="default", uid=uid))


async def test_no_endpoints_listing_the_pod_costs_no_time() -> None:
    store = MemoryStore()
    store.create(endpoints("web", "uid-other"))
    store.create(endpoints("api", "uid-p", namespace="elsewhere"))  # another namespace
    began = now()
    assert await wait_unlisted(store, the_pod(), 2.0) is True
    assert now() == began


async def test_an_endpoints_that_keeps_the_pod_times_out_after_the_limit() -> None:
    store = MemoryStore()
    store.create(endpoints("web", "uid-p"))
    began = now()
    assert await wait_unlisted(store, the_pod(), 2.0) is False
    assert now() - began == 2.0
    began = now()
    assert await wait_unlisted(store, the_pod(), 0.0) is False  # a zero grace: no wait
    assert now() == began


async def test_the_wait_ends_when_the_last_endpoints_drops_the_pod() -> None:
    store = MemoryStore()
    store.create(endpoints("web", "uid-p", "uid-q"))
    store.create(endpoints("admin", "uid-p", ready=False))  # not-ready addresses count
    began = now()
    ended: list[float] = []

    async def waiter() -> None:
        assert await wait_unlisted(store, the_pod(), 10.0) is True
        ended.append(now() - began)

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await anyio.sleep(1)
        web = store.get(Endpoints, "web", "default")
        fresh = endpoints("web", "uid-q")
        store.update(Endpoints(metadata=web.metadata, subsets=fresh.subsets))
        await anyio.sleep(0.5)
        assert ended == []  # "admin" still lists it
        store.delete(Endpoints, "admin", "default")
    assert ended == [1.5]


async def test_a_deleted_pod_that_stays_listed_is_stopped_after_the_bounded_wait() -> None:
    """The timeout path end to end: an Endpoints nobody updates (a manual one, no
    Service) delays the SIGTERM by ENDPOINTS_WAIT_S, or by the grace when shorter."""
    runtime = FakeRuntime({"app": Script()})
    async with orbit.Cluster(nodes=[Node("n1", runtime=runtime)]) as cluster:
        for name, grace in (("slow", 30), ("quick", 1), ("clean", 30)):
            await cluster.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name},
                    "spec": {
                        "terminationGracePeriodSeconds": grace,
                        "containers": [{"name": "app", "image": "busybox"}],
                    },
                }
            )
            await cluster.wait_for("pod", name, "Running")
        uids = [(await cluster.get("pod", n)).metadata.uid for n in ("slow", "quick")]
        cluster.store.create(endpoints("manual", *uids))
        waited = {}
        for name in ("slow", "quick", "clean"):
            runtime.stops.clear()
            began = now()
            await cluster.delete("pod", name)
            await cluster.wait_for("pod", name, "deleted")
            ((stopped_at, _, _),) = runtime.stops
            waited[name] = stopped_at - began
        assert waited == {"slow": ENDPOINTS_WAIT_S, "quick": 1.0, "clean": 0.0}
