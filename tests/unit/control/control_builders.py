"""Builders for the control API's tests: a real Cluster served by a real ControlServer
on a Unix socket, raw HTTP exchanges for what the client never sends, manifests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs

import orbit
from orbit.control import ControlClient, ControlServer

SIM_CAPACITY = {"cpu": "4", "memory": "8Gi"}


@attrs.frozen
class Served:
    cluster: orbit.Cluster
    server: ControlServer
    client: ControlClient


@asynccontextmanager
async def serving(
    path: str,
    *,
    nodes: list[orbit.Node] | None = None,
    tcp: tuple[str, int] | None = None,
    token: str | None = None,
) -> AsyncIterator[Served]:
    """A cluster (one sim node "n1" unless ``nodes``) served on ``path``."""
    if nodes is None:
        nodes = [orbit.Node("n1", runtime=orbit.SimRuntime(SIM_CAPACITY))]
    async with orbit.Cluster(nodes=nodes) as cluster, anyio.create_task_group() as group:
        server = ControlServer(cluster, path=path, tcp=tcp, token=token)
        await group.start(server.run)
        yield Served(cluster, server, ControlClient(path))
        group.cancel_scope.cancel()


async def raw_exchange(path: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer: (status, headers, body)."""
    async with await anyio.connect_unix(path) as stream:
        await stream.send(request)
        parts = []
        try:
            while True:
                parts.append(await stream.receive())
        except anyio.EndOfStream:
            pass
    head, _, body = b"".join(parts).partition(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(first.split(" ")[1]), headers, body


async def raw_post(path: str, verb: str, body: bytes) -> tuple[int, Any]:
    """POST ``body`` as it is to /v1/<verb>: (status, decoded JSON answer)."""
    request = (
        f"POST /v1/{verb} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    status, _, answer = await raw_exchange(path, request)
    return status, json.loads(answer)


def deployment(
    name: str = "web", *, replicas: int = 2, image: str = "web:1", sim: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Deployment of simulated pods (``sim``: their sim.orbit.dev/ annotations)."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {f"sim.orbit.dev/{k}": v for k, v in (sim or {}).items()},
                },
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def service(name: str = "web", port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": port}]},
    }


def process_pod(name: str, script: str) -> dict[str, Any]:
    """A bare pod running ``sh -c script`` as a local process."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}],
        },
    }
