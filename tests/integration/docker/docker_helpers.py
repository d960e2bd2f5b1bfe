"""Helpers for the DockerRuntime integration tests (imported by conftest and tests)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiodocker
import anyio

from orbit.runtimes import CLUSTER_LABEL, PortBinding

sys.path.insert(0, str(Path(__file__).parents[3] / "tools"))
from busybox_image import IMAGE, ensure_busybox_image

__all__ = [
    "HOW_TO_START",
    "IMAGE",
    "ensure_busybox_image",
    "eventually",
    "free_port",
    "http_port",
    "remove_cluster",
]

HOW_TO_START = (
    "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock). Start one with "
    "`.ci/docker-up` (as root; it needs Debian's docker.io and busybox-static: "
    "`apt-get install docker.io busybox-static`), then re-run the tests."
)


async def remove_cluster(cluster_id: str) -> None:
    """Force-remove every container labelled with ``cluster_id``."""
    async with aiodocker.Docker() as docker:
        found = await docker.containers.list(
            all=True, filters={"label": [f"{CLUSTER_LABEL}={cluster_id}"]}
        )
        for container in found:
            try:
                await container.delete(force=True)
            except aiodocker.DockerError as error:
                if error.status != 404:
                    raise


def free_port() -> int:
    """A loopback port nothing listens on now (what the node agent would allocate)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_port(name: str = "http", container_port: int = 8080) -> PortBinding:
    """A declared port with a freshly allocated host port."""
    return PortBinding(name=name, container_port=container_port, host_port=free_port())


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Poll ``check`` until it is true; fail after ``timeout_s`` (a server starting up)."""
    with anyio.fail_after(timeout_s):
        while not await check():  # noqa: ASYNC110 - polls another process
            await anyio.sleep(0.05)
