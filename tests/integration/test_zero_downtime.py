"""Zero downtime through a Service, measured: 4 replicas of an HTTP server behind a
Service, a steady load of requests through orbit's proxy, and meanwhile a rolling
update, a scale 4 -> 8 -> 2 and a container killed from outside orbit. Not one request
may fail, out of at least 2,000.

Runs on ProcessRuntime (a small Python server that finishes its open requests on
SIGTERM) and on Docker (busybox httpd, given a second after SIGTERM to finish, as a
preStop sleep would). Each request is its own TCP connection through the proxy
(``GET / HTTP/1.0``), so every one is routed afresh.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest

import orbit
from orbit.api import Pod

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

MIN_REQUESTS = 2000
WORKERS = 8

# A server that answers with its VERSION, and on SIGTERM stops accepting, lets open
# requests finish, then exits 0: what a well-behaved service does.
PY_SERVER = r"""
import asyncio, os, signal
VERSION = os.environ["VERSION"]
PORT = int(os.environ["PORT"])
BODY = VERSION.encode()
async def handle(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
        await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    await asyncio.sleep(0.5)
asyncio.run(main())
"""

# busybox httpd serves /www; on SIGTERM wait a second (open requests finish), then go.
SH_SERVER = (
    'mkdir -p /tmp/www && echo -n "$VERSION" > /tmp/www/index.html && '
    'httpd -f -p "$PORT" -h /tmp/www & pid=$!; '
    "trap 'sleep 1; kill $pid; exit 0' TERM; wait $pid"
)


def web(runtime: str, version: str, replicas: int) -> dict[str, Any]:
    if runtime == "docker":
        from docker_helpers import IMAGE  # noqa: PLC0415 - only the docker variant needs it

        container: dict[str, Any] = {
            "image": IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", SH_SERVER],
        }
    else:
        container = {"image": "python", "command": [sys.executable, "-c", PY_SERVER]}
    container.update(
        name="web",
        env=[{"name": "VERSION", "value": version}],
        ports=[{"name": "http", "containerPort": 8080}],
        readinessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 1},
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [container]},
            },
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
    },
}


class Load:
    """``WORKERS`` clients sending one request per connection, back to back."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.ok = 0
        self.failures: list[str] = []
        self.versions: dict[str, int] = {}

    async def run(self) -> None:
        async with anyio.create_task_group() as group:
            for _ in range(WORKERS):
                group.start_soon(self._client)

    async def _client(self) -> None:
        while True:
            try:
                with anyio.fail_after(10):
                    async with await anyio.connect_tcp(self.host, self.port) as stream:
                        await stream.send(b"GET /index.html HTTP/1.0\r\nHost: web\r\n\r\n")
                        data = b""
                        async for chunk in stream:
                            data += chunk
            except Exception as error:  # every failure is counted, none is retried
                self.failures.append(f"{type(error).__name__}: {error}")
                continue
            head, _, body = data.partition(b"\r\n\r\n")
            if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")) or not body:
                self.failures.append(f"bad response: {data[:80]!r}")
                continue
            self.ok += 1
            version = body.decode().strip()
            self.versions[version] = self.versions.get(version, 0) + 1


async def ready_pods(cluster: orbit.Cluster) -> list[Pod]:
    pods = await cluster.list("pods", selector="app=web")
    return [
        p
        for p in pods
        if p.metadata.deletion_timestamp is None
        and (c := p.status.condition("Ready")) is not None
        and c.status == "True"
    ]


async def kill_one(runtime: str, pod: Pod) -> None:
    """Kill the pod's container from outside orbit."""
    status = pod.status.container_statuses[0]
    if runtime == "docker":
        await anyio.run_process(["docker", "kill", status.container_id.split("://", 1)[1]])
        return
    pid = _server_pid(pod)
    if pid is None:
        raise AssertionError(f"no process for pod {pod.metadata.name}")
    os.kill(pid, signal.SIGKILL)


def _server_pid(pod: Pod) -> int | None:
    """The pid of the pod's Python server: its environment holds the pod's port."""
    port = f"PORT={_port(pod)}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ_file:
                environ = environ_file.read().split(b"\0")
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read()
        except OSError:
            continue
        if port in environ and b"asyncio" in cmdline:
            return int(entry)
    return None


def _port(pod: Pod) -> str:
    import json  # noqa: PLC0415

    return json.loads(pod.metadata.annotations["orbit.dev/ports"])["http"].rsplit(":", 1)[1]


@pytest.fixture
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[orbit.Cluster]:
    runtime_kind: str = request.param
    if runtime_kind == "docker":
        sys.path.insert(0, str(Path(__file__).parent / "docker"))
        runtime: Any = orbit.DockerRuntime()
    else:
        runtime = orbit.ProcessRuntime(tmp_path / "process")
    node = orbit.Node(f"{runtime_kind}-0", runtime=runtime)
    async with orbit.Cluster(nodes=[node], state_dir=tmp_path / "state") as running:
        running.runtime_kind = runtime_kind  # type: ignore[attr-defined]
        yield running


@pytest.mark.parametrize("cluster", ["process", "docker"], indirect=True)
async def test_not_one_request_fails_through_updates_scaling_and_a_kill(
    cluster: orbit.Cluster,
) -> None:
    runtime = cluster.runtime_kind  # type: ignore[attr-defined]
    await cluster.apply([web(runtime, "v1", 4), SERVICE])
    await cluster.rollout_status("deployment/web", timeout_s=60)
    url = urlsplit(await cluster.service_url("web"))
    assert url.hostname == "127.0.0.1"
    assert url.port is not None
    load = Load(url.hostname, url.port)
    began = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(load.run)
        await anyio.sleep(1)
        await cluster.apply(web(runtime, "v2", 4))  # a rolling update
        await cluster.rollout_status("deployment/web", timeout_s=120)
        await cluster.scale("deployment/web", 8)
        await cluster.rollout_status("deployment/web", timeout_s=120)
        await cluster.scale("deployment/web", 2)
        await cluster.rollout_status("deployment/web", timeout_s=120)
        await cluster.wait_for("deployment", "web", "jsonpath={.status.replicas}=2", timeout_s=60)
        victim = (await ready_pods(cluster))[0]
        await kill_one(runtime, victim)
        await cluster.wait_for(
            "pod",
            victim.metadata.name,
            lambda p: (
                p.status.container_statuses[0].restart_count >= 1
                and (c := p.status.condition("Ready")) is not None
                and c.status == "True"
            ),
            timeout_s=60,
        )
        while load.ok + len(load.failures) < MIN_REQUESTS:  # noqa: ASYNC110 - a counter
            await anyio.sleep(0.1)
        await anyio.sleep(0.5)
        group.cancel_scope.cancel()
    took = time.monotonic() - began
    assert load.failures == [], (load.failures[:10], len(load.failures), load.ok)
    assert load.ok >= MIN_REQUESTS
    assert load.versions.get("v1", 0) > 0
    assert load.versions.get("v2", 0) > 0
    print(f"{runtime}: {load.ok} requests in {took:.1f}s, none failed; {load.versions}")
