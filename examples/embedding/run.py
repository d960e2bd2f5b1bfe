"""orbit inside an asyncio service: run the front of ``front.py`` and send it requests.

Run it with ``python examples/embedding/run.py``. Plain ``asyncio.run``: the front's
lifespan starts an ``orbit.Cluster`` with two backend pods, ``asyncio.start_server``
serves the front, and a few requests show which backend pod answered each. Then the
backend is scaled to three pods (the new one is routed to as soon as it is ready) and
one pod is deleted (it leaves the routing table before it is stopped, so no request
fails). Leaving the lifespan stops the cluster and every backend process.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # front.py, next to this file

from front import Front, lifespan


def fetch(url: str) -> tuple[int, str, str]:
    """GET ``url``: (status, the front's X-Backend-Pod, the pod named in the body)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
        return response.status, response.headers["X-Backend-Pod"], body["pod"]


async def send(front_url: str, count: int, label: str) -> set[str]:
    """Send ``count`` requests through the front; print who answered each."""
    answered: set[str] = set()
    for index in range(count):
        path = f"/{label}/{index}"
        status, routed_to, pod = await asyncio.to_thread(fetch, front_url + path)
        mark = "" if routed_to == pod else f"   (routed to {routed_to}!)"
        print(f"GET {path:<16} {status}  answered by {pod}{mark}")
        answered.add(pod)
    pods = ", ".join(sorted(answered))
    print(f"{label}: {count} requests answered by {len(answered)} pods: {pods}")
    return answered


async def demo(front: Front, front_url: str) -> None:
    """Route with two backends, with three, and with one of them deleted."""
    cluster, router = front.cluster, front.router
    print(f"routing to {len(router.ready)} ready backends: {', '.join(sorted(router.pods()))}")
    await send(front_url, 4, "two")

    print("$ orbit scale deployment/backend --replicas=3")
    await cluster.scale("deployment/backend", 3)
    async with asyncio.timeout(30):
        await router.wait(lambda ready: len(ready) == 3)
    print(f"routing to {len(router.ready)} ready backends: {', '.join(sorted(router.pods()))}")
    await send(front_url, 6, "three")

    victim = sorted(router.pods())[0]
    print(f"$ orbit delete pod {victim}")
    await cluster.delete("pod", victim)
    async with asyncio.timeout(30):
        await router.wait(lambda ready: victim not in {e.pod for e in ready})
    print(f"{victim} left the routing table; routing to {', '.join(sorted(router.pods()))}")
    await send(front_url, 4, "after-delete")


async def main() -> None:
    started = time.monotonic()
    async with lifespan(replicas=2) as front:
        server = await asyncio.start_server(front.handle, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            front_url = f"http://127.0.0.1:{port}"
            print(f"front listening on {front_url}")
            await demo(front, front_url)
    print(f"front and cluster stopped; done in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # the cluster has stopped its pods on the way out
        sys.exit(130)
