"""orbit's demo: a small data pipeline that really computes something, on local processes.

Run it with ``python examples/demo.py``. ``orbit.Cluster()`` starts one local node on
ProcessRuntime and ``examples/primes.yaml`` counts the primes below a million: a
``generate`` Job writes input shards to a shared hostPath directory (a temporary
directory the demo creates and removes), an Indexed Job ``count`` runs one pod per shard
(two at a time; each finds its shard in ``JOB_COMPLETION_INDEX``), a ``reduce`` Job adds
the counts up, and a Deployment of two web servers, Ready once their readiness probes
answer, serves the result. One web server is then killed and its Deployment replaces
it. A table of the pods is kept up to date meanwhile (redrawn in place on a terminal, a
line per change otherwise). Then a broken manifest is refused with every problem at
once, and leaving the cluster stops every process it started.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio
import yaml

import orbit
from orbit.api import Pod

HERE = Path(__file__).parent
COLUMNS = (("NAME", 24), ("PHASE", 9), ("READY", 5), ("RESTARTS", 8), ("NODE", 12), ("AGE", 0))


class PodTable:
    """The pods as a table: redrawn in place when ``out`` is a terminal, otherwise a
    line each time a pod's row changes. Messages go above the table."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()
        self.pods: dict[str, Pod] = {}
        self.first_seen: dict[str, float] = {}
        self.printed: dict[str, tuple[str, ...]] = {}
        self.height = 0  # lines of the table now on screen (live mode)

    def say(self, text: str) -> None:
        """Print a message (above the table on a terminal)."""
        self._erase()
        print(text, file=self.out, flush=not self.live)
        self.height = 0
        self._draw()

    def update(self, event_type: str, pod: Pod) -> None:
        """Take in one watch event."""
        name = pod.metadata.name
        self.first_seen.setdefault(name, time.monotonic())
        if event_type == "DELETED":
            self.pods.pop(name, None)
        else:
            self.pods[name] = pod
        if self.live:
            self._draw()
            return
        row = self._row(pod)
        if row[:-1] != self.printed.get(name, ())[:-1]:
            if not self.printed:
                print(_line(tuple(title for title, _ in COLUMNS)), file=self.out)
            self.printed[name] = row
            print(_line(row), file=self.out, flush=True)

    async def follow(self, cluster: orbit.Cluster) -> None:
        """Keep the table current from a watch on pods (and the ages ticking)."""
        async with anyio.create_task_group() as group:
            if self.live:
                group.start_soon(self._tick)
            async with cluster.watch("pods") as watch:
                async for event in watch:
                    self.update(event.type, event.object)

    async def _tick(self) -> None:
        while True:
            await anyio.sleep(0.2)
            self._draw()

    def _row(self, pod: Pod) -> tuple[str, ...]:
        statuses = pod.status.container_statuses
        ready = sum(status.ready for status in statuses)
        age = time.monotonic() - self.first_seen[pod.metadata.name]
        return (
            pod.metadata.name,
            pod.status.phase,
            f"{ready}/{len(pod.spec.containers)}",
            str(sum(status.restart_count for status in statuses)),
            pod.spec.node_name or "<none>",
            f"{age:.1f}s",
        )

    def _erase(self) -> None:
        if self.live and self.height:
            self.out.write(f"\x1b[{self.height}F\x1b[J")  # up to the table's top, clear below

    def _draw(self) -> None:
        if not self.live or not self.pods:
            return
        self._erase()
        lines = [_line(tuple(title for title, _ in COLUMNS))]
        lines += [_line(self._row(pod)) for pod in self.pods.values()]
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        self.height = len(lines)


def _line(cells: tuple[str, ...]) -> str:
    cells = tuple(cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True))
    return "   ".join(cells)


def load_manifests(data_dir: Path) -> dict[str, dict[str, Any]]:
    """primes.yaml's documents by name, their hostPath volumes pointed at ``data_dir``
    and ``python3`` at the interpreter running the demo (so a virtualenv works)."""
    documents: dict[str, dict[str, Any]] = {}
    for document in yaml.safe_load_all((HERE / "primes.yaml").read_text()):
        spec = document.get("spec", {}).get("template", {}).get("spec", {})
        for volume in spec.get("volumes", ()):
            volume["hostPath"]["path"] = str(data_dir)
        for container in spec.get("containers", ()):
            if container["command"][0] == "python3":
                container["command"][0] = sys.executable
        documents[document["metadata"]["name"]] = document
    return documents


async def apply(
    cluster: orbit.Cluster, say: Callable[[str], None], documents: Sequence[dict[str, Any]]
) -> None:
    for result in await cluster.apply(documents):
        say(str(result))


async def run_pipeline(
    cluster: orbit.Cluster, docs: dict[str, dict[str, Any]], say: Callable[[str], None]
) -> str:
    """Generate, count per shard, reduce; read the result from the reducer's log and
    from a web server; kill one web server and watch it replaced. Returns the URL."""
    say("$ orbit apply -f examples/primes.yaml   (settings, generate Job, web Deployment)")
    await apply(cluster, say, [docs["primes"], docs["generate"], docs["results"]])
    await cluster.wait_for("job", "generate", "Complete", timeout_s=30)

    shards = int(docs["primes"]["data"]["SHARDS"])
    say(f"$ orbit apply   (Indexed Job count: {shards} pods, one per shard, 2 at a time)")
    await apply(cluster, say, [docs["count"]])
    await cluster.wait_for("job", "count", "Complete", timeout_s=60)

    say("$ orbit apply   (the reduce Job)")
    await apply(cluster, say, [docs["reduce"]])
    await cluster.wait_for("job", "reduce", "Complete", timeout_s=30)

    (reducer,) = await cluster.list("pods", selector="batch.kubernetes.io/job-name=reduce")
    say(f"$ orbit logs job/reduce   ({reducer.metadata.name})")
    for line in await cluster.logs(reducer):
        say(line)

    await cluster.rollout_status("deployment/results", timeout_s=30)
    url = await result_url(cluster)
    say(f"$ curl {url}   (served by the results Deployment)")
    say(await anyio.to_thread.run_sync(fetch, url))

    victim = (await cluster.list("pods", selector="step=serve"))[0].metadata.name
    say(f"$ orbit delete pod {victim}   (the Deployment replaces it)")
    await cluster.delete("pod", victim)
    await cluster.wait_for("pod", victim, "deleted", timeout_s=30)
    await cluster.wait_for(
        "deployment", "results", "jsonpath={.status.availableReplicas}=2", timeout_s=30
    )
    return await result_url(cluster)


async def result_url(cluster: orbit.Cluster) -> str:
    """Where a ready web server of the results Deployment serves result.json."""
    for pod in await cluster.list("pods", selector="step=serve"):
        ready = pod.status.condition("Ready")
        if ready is not None and ready.status == "True" and not pod.metadata.deletion_timestamp:
            address = json.loads(pod.metadata.annotations["orbit.dev/ports"])["http"]
            return f"http://{address}/result.json"
    raise RuntimeError("no web server is ready")


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
    return body.decode()


async def refuse_broken(cluster: orbit.Cluster, docs: dict[str, dict[str, Any]]) -> None:
    """A broken manifest is refused whole, with every problem at once."""
    print("\n$ orbit apply -f broken.yaml   (one bad document: nothing is stored)")
    good = copy.deepcopy(docs["count"])
    good["metadata"]["name"] = "recount"
    broken = copy.deepcopy(docs["count"])
    broken["metadata"]["name"] = "Count_2"
    pod_spec = broken["spec"]["template"]["spec"]
    pod_spec["restartPolicy"] = "Sometimes"
    container = pod_spec["containers"][0]
    container["resources"]["limits"]["memory"] = "12XB"
    container["ports"] = [{"name": "http", "containerPort": 70000}]
    before = len(await cluster.list("jobs"))
    try:
        await cluster.apply([good, broken])
    except orbit.ValidationError as error:
        print(error)
    print(f"jobs: {len(await cluster.list('jobs'))} (was {before}; recount not created)")


async def main() -> None:
    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="orbit-demo-"))
    try:
        docs = load_manifests(data_dir)
        async with orbit.Cluster() as cluster:
            table = PodTable(sys.stdout)
            async with anyio.create_task_group() as group:
                group.start_soon(table.follow, cluster)
                url = await run_pipeline(cluster, docs, table.say)
                group.cancel_scope.cancel()
            await refuse_broken(cluster, docs)
            print("\nleaving the cluster stops every pod it started")
    finally:
        shutil.rmtree(data_dir)
    try:
        await anyio.to_thread.run_sync(fetch, url)
    except OSError as error:
        print(f"$ curl {url}\n{error}   (the web server is gone)")
    print(f"done in {time.monotonic() - started:.1f}s; removed {data_dir}")


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:  # the cluster has stopped its pods on the way out
        sys.exit(130)
