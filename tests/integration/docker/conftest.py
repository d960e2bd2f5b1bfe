"""Fixtures for the DockerRuntime tests: a real engine, the busybox image, cleanup.

The engine must be running: these tests fail (never skip) with how to start one.
Each test gets its own cluster id; every container it starts carries that id as a
label, and the ``runtime`` fixture force-removes them all afterwards, whatever the
test did.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiodocker
import pytest
from docker_helpers import HOW_TO_START, IMAGE, ensure_busybox_image, remove_cluster

from orbit.runtimes import CLUSTER_LABEL, ContainerLaunch
from orbit.runtimes._docker import DockerRuntime


async def _engine_ready() -> str:
    problem = ""
    try:
        async with aiodocker.Docker() as docker:
            await docker.version()
    except (aiodocker.DockerError, ValueError, OSError) as error:
        problem = str(error)
    if problem:
        pytest.fail(f"{HOW_TO_START}\n({problem})", pytrace=False)
    return await ensure_busybox_image()


@pytest.fixture(scope="session")
def busybox_image() -> str:
    """The engine answers and ``orbit-busybox:1`` exists (built on first use)."""
    asyncio.run(_engine_ready())
    return IMAGE


@pytest.fixture
def cluster_id() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def runtime(busybox_image: str, cluster_id: str) -> AsyncIterator[DockerRuntime]:
    """A host-networking DockerRuntime; the test's containers are removed afterwards."""
    docker_runtime = DockerRuntime()
    try:
        yield docker_runtime
    finally:
        await docker_runtime.close()
        await remove_cluster(cluster_id)


@pytest.fixture
async def engine() -> AsyncIterator[aiodocker.Docker]:
    """A raw aiodocker client, for reading back what the engine was told."""
    async with aiodocker.Docker() as docker:
        yield docker


@pytest.fixture
def make_launch(cluster_id: str, busybox_image: str) -> Callable[..., ContainerLaunch]:
    """``make_launch("sh", "-c", "exit 3", name="c", memory_limit_bytes=...)``."""

    def build(*argv: str, **fields: Any) -> ContainerLaunch:
        uid = str(uuid.uuid4())
        values: dict[str, Any] = {
            "pod_uid": uid,
            "pod_name": f"pod-{uid[:6]}",
            "namespace": "default",
            "name": "main",
            "image": busybox_image,
            "argv": argv,
            "labels": {CLUSTER_LABEL: cluster_id},
        }
        values.update(fields)
        return ContainerLaunch(**values)

    return build
