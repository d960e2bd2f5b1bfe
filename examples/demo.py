"""orbit's demo: a small data pipeline that really computes something, on local processes.

Run it with ``python examples/demo.py``. ``orbit.Cluster()`` starts one local node on
ProcessRuntime and ``examples/primes.yaml`` counts the primes below a million: a
generator pod writes input shards to a shared hostPath directory (a temporary directory
the demo creates and removes), one worker pod per shard counts the primes in it, a
reducer pod adds the counts up, and a long-running web server pod, Ready once its
readiness probe answers, serves the result. A table of the pods is kept up to date
meanwhile (redrawn in place on a terminal, a line per change otherwise). Then a broken
manifest is refused with every problem at once, and leaving the cluster stops every
process it started.

The workers are Pods stamped out from one template, each with its index in the
``batch.kubernetes.io/job-completion-index`` annotation (read into
``JOB_COMPLETION_INDEX``), as an Indexed Job's pods are. Once orbit's Job controller
lands they become a single ``kind: Job`` with ``completionMode: Indexed``.
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
INDEX = "batch.kubernetes.io/job-completion-index"
COLUMNS = (("NAME", 8), ("PHASE", 9), ("READY", 5), ("RESTARTS", 8), ("NODE", 12), ("AGE", 0))


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
        spec = document.get("spec", {})
        for volume in spec.get("volumes", ()):
            volume["hostPath"]["path"] = str(data_dir)
        for container in spec.get("containers", ()):
            if container["command"][0] == "python3":
                container["command"][0] = sys.executable
        documents[document["metadata"]["name"]] = document
    return documents


def worker(template: dict[str, Any], index: int) -> dict[str, Any]:
    """Pod ``worker-<index>`` from the worker template, as an Indexed Job stamps it."""
    pod = copy.deepcopy(template)
    pod["metadata"]["name"] = f"worker-{index}"
    pod["metadata"]["annotations"][INDEX] = str(index)
    return pod


async def apply(
    cluster: orbit.Cluster, say: Callable[[str], None], documents: Sequence[dict[str, Any]]
) -> None:
    for result in await cluster.apply(documents):
        say(str(result))


async def run_pipeline(
    cluster: orbit.Cluster, docs: dict[str, dict[str, Any]], say: Callable[[str], None]
) -> str:
    """Generate, count per shard, reduce; read the result from the reducer's log and
    from the web server. Returns the result's URL."""
    say("$ orbit apply -f examples/primes.yaml   (settings, generator, web server)")
    await apply(cluster, say, [docs["primes"], docs["generate"], docs["results"]])
    await cluster.wait_for("pod", "generate", "Succeeded", timeout_s=30)

    shards = int(docs["primes"]["data"]["SHARDS"])
    say(f"$ orbit apply   ({shards} workers, one per shard, as an Indexed Job's pods)")
    await apply(cluster, say, [worker(docs["worker"], i) for i in range(shards)])
    for i in range(shards):
        await cluster.wait_for("pod", f"worker-{i}", "Succeeded", timeout_s=60)

    say("$ orbit apply   (the reducer)")
    await apply(cluster, say, [docs["reduce"]])
    await cluster.wait_for("pod", "reduce", "Succeeded", timeout_s=30)

    say("$ orbit logs reduce")
    for line in await cluster.logs("reduce"):
        say(line)

    server = await cluster.wait_for("pod", "results", "Ready", timeout_s=30)
    address = json.loads(server.metadata.annotations["orbit.dev/ports"])["http"]
    url = f"http://{address}/result.json"
    say(f"$ curl {url}   (served by pod results, Ready)")
    say(await anyio.to_thread.run_sync(fetch, url))
    return url


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
    return body.decode()


async def refuse_broken(cluster: orbit.Cluster, docs: dict[str, dict[str, Any]]) -> None:
    """A broken manifest is refused whole, with every problem at once."""
    print("\n$ orbit apply -f broken.yaml   (one bad document: nothing is stored)")
    good = worker(docs["worker"], 99)
    broken = worker(docs["worker"], 100)
    broken["metadata"]["name"] = "Worker_100"
    broken["spec"]["restartPolicy"] = "Sometimes"
    container = broken["spec"]["containers"][0]
    container["resources"]["limits"]["memory"] = "12XB"
    container["ports"] = [{"name": "http", "containerPort": 70000}]
    before = len(await cluster.list("pods"))
    try:
        await cluster.apply([good, broken])
    except orbit.ValidationError as error:
        print(error)
    print(f"pods: {len(await cluster.list('pods'))} (was {before}; worker-99 not created)")


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
