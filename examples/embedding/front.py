"""An asyncio HTTP front that runs its own backends with orbit and routes to them itself.

The service owns an :class:`orbit.Cluster` for its lifetime (:func:`lifespan`, shaped
like an ASGI lifespan): on startup it runs the ``backend`` Deployment (a Python web
server per pod, on local processes) behind a Service, and follows the Service's
endpoints in-process with ``cluster.watch_endpoints``; orbit's service proxy is
switched off, since the front picks a ready backend for each request itself (round
robin here; a real service might hash a tenant id or route by load). Pods that start,
stop or turn unready reach the routing table as soon as the Endpoints object changes,
with no polling and no proxy hop.

The HTTP side is ``asyncio.start_server`` and a few lines of HTTP/1.1: each request is
forwarded whole to the chosen backend (``Connection: close``), and its answer comes
back with an ``X-Backend-Pod`` header naming the pod that served it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orbit

if TYPE_CHECKING:  # what cluster.endpoints() yields
    from orbit import ServiceEndpoint

BACKEND = Path(__file__).resolve().parent / "backend.py"
SERVICE = "backend"


def backend_manifests(replicas: int) -> list[dict[str, Any]]:
    """The backend Deployment (a readiness probe on its ``http`` port) and its Service."""
    labels = {"app": SERVICE}
    container = {
        "name": "web",
        "image": "python:3.11-slim",
        "command": [sys.executable, str(BACKEND)],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": SERVICE, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [container]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    return [deployment, service]


class Router:
    """The ready backends, kept current from the Service's endpoints; round robin."""

    def __init__(self) -> None:
        self.ready: list[ServiceEndpoint] = []
        self._next = 0
        self._changed = asyncio.Condition()

    async def follow(self, cluster: orbit.Cluster, service: str) -> None:
        """Replace the table each time the Service's endpoints change (until cancelled:
        the cancellation ends the watch inside ``watch_endpoints`` too)."""
        async for endpoints in cluster.watch_endpoints(service):
            async with self._changed:
                self.ready = [e for e in endpoints if e.ready]
                self._changed.notify_all()

    async def wait(self, check: Callable[[list[ServiceEndpoint]], bool]) -> None:
        """Wait until ``check(ready endpoints)`` holds."""
        async with self._changed:
            await self._changed.wait_for(lambda: check(self.ready))

    def pods(self) -> list[str]:
        return [e.pod for e in self.ready]

    def pick(self) -> ServiceEndpoint | None:
        """The next ready backend, or None when there is none."""
        if not self.ready:
            return None
        self._next = (self._next + 1) % len(self.ready)
        return self.ready[self._next]


class Front:
    """The HTTP front: ``handle`` is the ``asyncio.start_server`` callback."""

    def __init__(self, cluster: orbit.Cluster, router: Router) -> None:
        self.cluster = cluster
        self.router = router

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request, forward it to a ready backend, relay the answer."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.readexactly(_content_length(head))
            endpoint = self.router.pick()
            if endpoint is None:
                answer = _plain(503, "Service Unavailable", "no backend is ready\n")
            else:
                answer = await _forward(endpoint, head, body)
            writer.write(answer)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # the client went away or sent no complete request
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def lifespan(replicas: int = 2) -> AsyncIterator[Front]:
    """The service's startup and shutdown: a cluster, its backends and the router.

    Startup returns once ``replicas`` backends are ready and routed to. Leaving stops the
    router, then the cluster, which stops every backend process it started.
    """
    async with orbit.Cluster(service_proxy=False) as cluster:
        await cluster.apply(backend_manifests(replicas))
        await cluster.rollout_status(f"deployment/{SERVICE}", timeout_s=30)
        router = Router()
        async with asyncio.TaskGroup() as tasks:
            follower = tasks.create_task(router.follow(cluster, SERVICE))
            try:
                async with asyncio.timeout(30):
                    await router.wait(lambda ready: len(ready) >= replicas)
                yield Front(cluster, router)
            finally:
                follower.cancel()


# -- a little HTTP/1.1 -----------------------------------------------------------------


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def _forward(endpoint: ServiceEndpoint, head: bytes, body: bytes) -> bytes:
    """Send the request to ``endpoint`` and return its whole answer, tagged with the pod."""
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    kept = [
        line
        for line in lines[1:]
        if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"host")
    ]
    address = endpoint.address("http").encode()
    request = b"\r\n".join([lines[0], b"Host: " + address, *kept, b"Connection: close", b"", b""])
    try:
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.ports["http"])
    except OSError as error:
        return _plain(502, "Bad Gateway", f"backend {endpoint.pod}: {error}\n")
    try:
        writer.write(request + body)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status, _, rest = answer.partition(b"\r\n")
    return status + b"\r\nX-Backend-Pod: " + endpoint.pod.encode() + b"\r\n" + rest


def _plain(code: int, reason: str, text: str) -> bytes:
    body = text.encode()
    head = (
        f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body
