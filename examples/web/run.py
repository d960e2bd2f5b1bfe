"""A web service on Docker: a Deployment behind a Service, autoscaled on cpu by an HPA.

Run it with ``python examples/web/run.py`` (it needs a Docker engine and the local
``orbit-busybox:1`` image, built by ``python tools/busybox_image.py``; without them it
says so and exits with status 2). It applies ``web.yaml``: busybox httpd in one
container, a Service that orbit's service proxy serves on a loopback port, and a
HorizontalPodAutoscaler that keeps the pods' cpu near half their request. Then three
clients keep the service busy with a request that burns cpu; the HPA reads the
containers' cpu from the engine, scales the Deployment up to three pods, the proxy
spreads the requests over them, and once the load stops the HPA scales back down to
one. Leaving the cluster removes every container it started.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiodocker
import anyio

import orbit
from orbit.api import Deployment, HorizontalPodAutoscaler

HERE = Path(__file__).resolve().parent
IMAGE = "orbit-busybox:1"
NO_ENGINE = 2  # exit status when this machine cannot run the example
CLIENTS = 3


async def preflight() -> str:
    """Why the example cannot run here ("" when it can): no engine, or no image."""
    try:
        async with aiodocker.Docker() as docker:
            await docker.version()
            try:
                await docker.images.inspect(IMAGE)
            except aiodocker.DockerError as error:
                if error.status != 404:
                    raise
                return f"the image {IMAGE} is missing: run `python tools/busybox_image.py`"
    except (aiodocker.DockerError, ValueError, OSError) as error:
        return f"no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): {error}"
    return ""


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
    return body.decode().strip()


class Load:
    """``clients`` threads requesting ``url`` back to back; counts who answered."""

    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.clients = clients
        self.running = True
        self._lock = threading.Lock()
        self._served: collections.Counter[str] = collections.Counter()
        self.errors = 0

    def served(self) -> dict[str, int]:
        """Requests answered per pod since the last ``reset``."""
        with self._lock:
            return dict(self._served)

    def reset(self) -> None:
        with self._lock:
            self._served.clear()

    def _client(self) -> None:
        while self.running:
            try:
                answer = get(self.url)  # "worked <pod name>"
            except OSError:
                with self._lock:
                    self.errors += 1
                continue
            with self._lock:
                self._served[answer.removeprefix("worked ")] += 1

    async def run(self) -> None:
        """Until ``running`` is cleared (each client finishes its request in flight)."""
        async with anyio.create_task_group() as group:
            for _ in range(self.clients):
                group.start_soon(anyio.to_thread.run_sync, self._client)


class Clock:
    """Seconds since the example started, for the log lines."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __str__(self) -> str:
        return f"[{time.monotonic() - self.start:5.1f}s]"


def cpu_utilization(hpa: HorizontalPodAutoscaler) -> int | None:
    """The pods' average cpu, in percent of their request, as the HPA last read it."""
    for metric in hpa.status.current_metrics:
        if metric.resource is not None and metric.resource.name == "cpu":
            return metric.resource.current.average_utilization
    return None


async def follow_hpa(cluster: orbit.Cluster, clock: Clock) -> None:
    """Print the HPA's view each time it changes: cpu against target, replicas."""
    last: tuple[int | None, ...] = ()
    async with cluster.watch("hpa") as watch:
        async for event in watch:
            status = event.object.status
            cpu = cpu_utilization(event.object)
            now = (cpu, status.current_replicas, status.desired_replicas)
            if now != last and cpu is not None:
                last = now
                print(
                    f"{clock} hpa/web: cpu {cpu}% of request (target 50%), "
                    f"replicas {status.current_replicas}, desired {status.desired_replicas}",
                    flush=True,
                )


def ready_replicas(count: int) -> Callable[[Deployment], bool]:
    """A ``wait_for`` condition: the Deployment wants ``count`` pods, has them, all ready."""

    def check(deployment: Deployment) -> bool:
        return (
            deployment.spec.replicas == count
            and deployment.status.replicas == count
            and (deployment.status.ready_replicas or 0) == count
        )

    check.__name__ = f"{count} ready replicas"
    return check


async def run(cluster: orbit.Cluster, clock: Clock) -> None:
    """Apply, check the service, load it until it has scaled up, then let it rest."""
    print("$ orbit apply -f examples/web/web.yaml")
    for result in await cluster.apply(HERE / "web.yaml"):
        print(result)
    await cluster.rollout_status("deployment/web", timeout_s=60)
    url = await cluster.service_url("web")
    # The proxy runs on this event loop: blocking calls go to a thread.
    answer = await anyio.to_thread.run_sync(get, url + "/")
    print(f"$ curl {url}/   (the Service, through orbit's proxy)\n{answer}")

    async with anyio.create_task_group() as group:
        group.start_soon(follow_hpa, cluster, clock)
        load = Load(url + "/cgi-bin/work", CLIENTS)
        print(f"{clock} load: {CLIENTS} clients requesting /cgi-bin/work back to back", flush=True)
        group.start_soon(load.run)
        await cluster.wait_for("deployment", "web", ready_replicas(3), timeout_s=60)
        print(f"{clock} deployment/web: 3 of 3 pods ready; counting who serves now", flush=True)
        load.reset()
        with anyio.move_on_after(20):  # until each of the 3 pods has served 3 requests
            while len(load.served()) < 3 or min(load.served().values()) < 3:  # noqa: ASYNC110
                await anyio.sleep(0.2)  # the counts are kept by the client threads
        load.running = False
        served = load.served()
        total = sum(served.values())
        print(f"{clock} load stopped; since scale-up {total} requests, {load.errors} errors")
        for pod, count in sorted(served.items()):
            print(f"  served by {pod}: {count}")
        await cluster.wait_for("deployment", "web", ready_replicas(1), timeout_s=60)
        print(f"{clock} deployment/web: back to 1 pod", flush=True)
        group.cancel_scope.cancel()

    hpa = await cluster.get("hpa", "web")
    print("$ orbit events --for hpa/web")
    for event in await cluster.events(involved=hpa):
        print(f"  {event.type:<8} {event.reason:<28} {event.message}")


async def main() -> int:
    problem = await preflight()
    if problem:
        print(f"examples/web needs Docker: {problem}", file=sys.stderr)
        return NO_ENGINE
    clock = Clock()
    node = orbit.Node(
        "docker-0", runtime=orbit.DockerRuntime(), capacity={"cpu": "2", "memory": "2Gi"}
    )
    # The HPA's sync period is 15 s by default, as in Kubernetes; 2 s keeps this short.
    async with orbit.Cluster(nodes=[node], hpa_sync_period_s=2) as cluster:
        await run(cluster, clock)
    print(f"done in {time.monotonic() - clock.start:.1f}s; every container removed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(anyio.run(main))
    except KeyboardInterrupt:  # the cluster has removed its containers on the way out
        sys.exit(130)
