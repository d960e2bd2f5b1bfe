"""Adoption after orbit restarts, against a scripted runtime in virtual time: a
container that ended while no orbit ran is judged by its pod's restart policy (not
started again under Never), the latest of several instances is the one adopted, a
finished pod keeps its containers for their logs, and a runtime's own address becomes
the pods' hostIP and podIP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from fake_runtime import FakeRuntime, Script

import orbit
from orbit.api import ContainerStatus, Pod
from orbit.node import Node
from orbit.store import MemoryStore

pytestmark = pytest.mark.anyio


def pod(name: str = "p", *, restart_policy: str = "Always", **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart_policy,
            "containers": [{"name": "app", "image": "x", "command": ["run"], **container}],
        },
    }


@asynccontextmanager
async def orbit_process(
    runtime: FakeRuntime, store: MemoryStore, state: Path, **options: Any
) -> AsyncIterator[orbit.Cluster]:
    """One orbit process's life over a shared store and state directory."""
    async with orbit.Cluster(
        nodes=[Node("n1", runtime=runtime)],
        store=store,
        state_dir=state,
        cluster_id="c-1",
        **options,
    ) as cluster:
        yield cluster


def app(live: Pod) -> ContainerStatus:
    (status,) = live.status.container_statuses
    return status


async def test_an_exit_while_no_orbit_ran_fails_a_never_pod_without_a_restart(
    tmp_path: Path,
) -> None:
    runtime, store = FakeRuntime(), MemoryStore()
    async with orbit_process(runtime, store, tmp_path, keep_running=True) as first:
        await first.apply(pod(restart_policy="Never"))
        await first.wait_for("pod", "p", "Running")
    runtime.crash("app-1", 3)  # no orbit is running
    async with orbit_process(runtime, store, tmp_path) as second:
        failed = await second.wait_for("pod", "p", "Failed", timeout_s=5)
        terminated = app(failed).state.terminated
        assert terminated is not None
        assert (terminated.exit_code, terminated.reason) == (3, "Error")
        assert terminated.container_id == "fake://app-1"
        assert app(failed).restart_count == 0
        await anyio.sleep(30)
        assert [name for _, name in runtime.starts] == ["app"]  # never started again
        assert await second.logs("p") == [f"app line {i}" for i in range(5)]


async def test_an_exit_while_no_orbit_ran_restarts_an_always_pod(tmp_path: Path) -> None:
    runtime, store = FakeRuntime(), MemoryStore()
    async with orbit_process(runtime, store, tmp_path, keep_running=True) as first:
        await first.apply(pod())
        await first.wait_for("pod", "p", "Running")
    runtime.crash("app-1", 3)
    async with orbit_process(runtime, store, tmp_path) as second:
        await anyio.sleep(0.1)  # the first restart of a streak is at once
        live: Pod = await second.get("pod", "p")
        status = app(live)
        assert (status.restart_count, status.container_id) == (1, "fake://app-2")
        assert status.state.running is not None
        assert status.last_state.terminated is not None
        assert status.last_state.terminated.exit_code == 3
        assert [name for _, name in runtime.starts] == ["app", "app"]


async def test_the_latest_instance_is_adopted_and_the_one_before_is_its_last_state(
    tmp_path: Path,
) -> None:
    runtime, store = FakeRuntime(), MemoryStore()
    backoff = orbit.RestartBackoff(initial_s=10, max_s=10, reset_after_s=600)
    async with orbit_process(
        runtime, store, tmp_path, keep_running=True, restart_backoff=backoff
    ) as first:
        await first.apply(pod())
        await first.wait_for("pod", "p", "Running")
        runtime.crash("app-1", 1)  # restarted at once: app-2
        await anyio.sleep(1)
        runtime.crash("app-2", 2)  # restarted after the 10 s backoff: app-3
        await anyio.sleep(11)
        assert app(await first.get("pod", "p")).container_id == "fake://app-3"
    # left behind: app-2 (ended, the last state) and app-3 (running); app-1 was removed
    assert [c.id for c in runtime.containers.values() if not c.removed] == ["app-2", "app-3"]
    async with orbit_process(runtime, store, tmp_path, restart_backoff=backoff) as second:
        await anyio.sleep(1)
        status = app(await second.get("pod", "p"))
        assert (status.container_id, status.restart_count) == ("fake://app-3", 2)
        assert status.state.running is not None
        assert status.last_state.terminated is not None
        assert status.last_state.terminated.exit_code == 2
        assert len(runtime.starts) == 3  # nothing started again


async def test_a_finished_pod_keeps_its_container_for_logs_after_adoption(
    tmp_path: Path,
) -> None:
    runtime, store = FakeRuntime({"app": Script(run_s=2, exit_codes=[0])}), MemoryStore()
    async with orbit_process(runtime, store, tmp_path, keep_running=True) as first:
        await first.apply(pod(restart_policy="Never"))
        await first.wait_for("pod", "p", "Succeeded")
    async with orbit_process(runtime, store, tmp_path) as second:
        await anyio.sleep(1)
        done: Pod = await second.get("pod", "p")
        assert done.status.phase == "Succeeded"
        assert not runtime.containers["app-1"].removed
        assert await second.logs("p", tail=1) == ["app line 4"]
        await second.delete("pod", "p")
        await second.wait_for("pod", "p", "deleted")
        await anyio.sleep(0.1)
        assert runtime.containers["app-1"].removed
    assert len(runtime.starts) == 1


class AddressedRuntime(FakeRuntime):
    """A runtime on another machine, reached at its own address (as a remote engine)."""

    async def node_address(self) -> str:
        return "10.1.2.3"


async def test_a_runtime_address_is_the_pods_host_and_pod_ip_and_where_ports_are() -> None:
    runtime = AddressedRuntime()
    env = [{"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    ports = [{"name": "http", "containerPort": 8080}]
    async with orbit.Cluster(nodes=[Node("far", runtime=runtime)]) as cluster:
        await cluster.apply(pod(env=env, ports=ports))
        running: Pod = await cluster.wait_for("pod", "p", "Running")
        assert (running.status.host_ip, running.status.pod_ip) == ("10.1.2.3", "10.1.2.3")
        where = json.loads(running.metadata.annotations["orbit.dev/ports"])
        assert where["http"].startswith("10.1.2.3:")
        (container,) = runtime.containers.values()
        assert container.launch.env["ME"] == "10.1.2.3"
        assert container.launch.ports[0].host_ip == "10.1.2.3"
        node = await cluster.get("node", "far")
        internal = [a.address for a in node.status.addresses if a.type == "InternalIP"]
        assert internal == ["10.1.2.3"]
