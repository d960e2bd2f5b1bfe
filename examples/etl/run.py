"""An ETL pipeline on local processes: Jobs in sequence, then a CronJob's load step.

Run it with ``python examples/etl/run.py``. ``orbit.Cluster()`` starts one local node
on ProcessRuntime and ``etl.yaml`` does the rest: an Indexed Job extracts three shop
exports at once into a shared hostPath directory (a temporary directory made here), a
Job validates and totals them per city, and a CronJob loads the totals into a SQLite
warehouse every minute. Rather than wait up to a minute for the schedule, the script
starts one run at once from the CronJob's template, as ``kubectl create job load-now
--from=cronjob/load`` does. Each step's output is read back with ``cluster.logs``,
then the warehouse is printed; leaving the cluster stops whatever still runs.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import yaml

import orbit
from orbit.api import CronSchedule, Job, Pod

HERE = Path(__file__).resolve().parent
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
MANUAL_ANNOTATION = "cronjob.kubernetes.io/instantiate"


def pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    """The pod spec inside a Job or a CronJob manifest ({} for other kinds)."""
    spec = document.get("spec", {})
    spec = spec.get("jobTemplate", {}).get("spec", spec)
    return dict(spec.get("template", {}).get("spec", {}))


def load_manifests(data_dir: Path) -> dict[str, dict[str, Any]]:
    """etl.yaml's documents by name: the ``app`` hostPath pointed at this directory, the
    ``data`` one at ``data_dir``, ``python3`` at the interpreter running this script."""
    documents: dict[str, dict[str, Any]] = {}
    for document in yaml.safe_load_all((HERE / "etl.yaml").read_text()):
        spec = pod_spec(document)
        for volume in spec.get("volumes", ()):
            volume["hostPath"]["path"] = str(HERE if volume["name"] == "app" else data_dir)
        for container in spec.get("containers", ()):
            if container["command"][0] == "python3":
                container["command"][0] = sys.executable
        documents[document["metadata"]["name"]] = document
    return documents


async def finished(cluster: orbit.Cluster, job: str, *, timeout_s: float = 30) -> Job:
    """Wait until a Job is Complete; raise if it Failed instead."""

    def done(obj: Job) -> bool:
        return any(
            c.type in ("Complete", "Failed") and c.status == "True" for c in obj.status.conditions
        )

    found: Job = await cluster.wait_for("job", job, done, timeout_s=timeout_s)
    for condition in found.status.conditions:
        if condition.type == "Failed" and condition.status == "True":
            raise RuntimeError(f"job/{job} failed: {condition.reason}: {condition.message}")
    return found


async def show_logs(cluster: orbit.Cluster, job: str) -> None:
    """Print the output of a Job's pods (by completion index), as ``kubectl logs``."""
    pods: list[Pod] = await cluster.list("pods", selector={JOB_NAME_LABEL: job})
    pods.sort(key=lambda p: (int(p.metadata.labels.get(INDEX_LABEL, 0)), p.metadata.name))
    for pod in pods:
        if pod.status.phase != "Succeeded":
            continue
        for line in await cluster.logs(pod):
            print(f"  [{pod.metadata.name}] {line}")


async def run_now(cluster: orbit.Cluster, cron_job: str, name: str) -> None:
    """Start a Job from a CronJob's template at once: what ``kubectl create job NAME
    --from=cronjob/CRONJOB`` does (the template's labels, annotations and spec, the
    ``cronjob.kubernetes.io/instantiate: manual`` annotation, and the CronJob as the
    Job's controller, so deleting the CronJob deletes it)."""
    owner = await cluster.get("cronjob", cron_job)
    template = orbit.dump(owner)["spec"]["jobTemplate"]
    metadata = template.get("metadata", {})
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": metadata.get("labels", {}),
            "annotations": {**metadata.get("annotations", {}), MANUAL_ANNOTATION: "manual"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": owner.metadata.name,
                    "uid": owner.metadata.uid,
                    "controller": True,
                }
            ],
        },
        "spec": template["spec"],
    }
    for result in await cluster.apply(job):
        print(f"{result}   (from cronjob/{cron_job})")


def print_warehouse(database: Path) -> None:
    """The warehouse's tables, as a SQL client would show them."""
    connection = sqlite3.connect(database)
    try:
        totals = connection.execute(
            "SELECT city, orders, revenue_cents FROM city_totals ORDER BY revenue_cents DESC"
        ).fetchall()
        loads = connection.execute("SELECT job, cities FROM loads ORDER BY rowid").fetchall()
    finally:
        connection.close()
    print(f"{'CITY':<10}{'ORDERS':>8}{'REVENUE':>12}")
    for city, orders, cents in totals:
        print(f"{city:<10}{orders:>8}{cents / 100:>12.2f}")
    print(f"{'TOTAL':<10}{sum(t[1] for t in totals):>8}{sum(t[2] for t in totals) / 100:>12.2f}")
    for job, cities in loads:
        print(f"load run: job {job} loaded {cities} cities")


async def main() -> None:
    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="orbit-etl-"))
    try:
        docs = load_manifests(data_dir)
        async with orbit.Cluster() as cluster:
            print("$ orbit apply   (ConfigMap etl, Indexed Job extract: 3 pods at once)")
            for result in await cluster.apply([docs["etl"], docs["extract"]]):
                print(result)
            await finished(cluster, "extract")
            await show_logs(cluster, "extract")

            print("$ orbit apply   (Job transform, once every extract pod has succeeded)")
            for result in await cluster.apply(docs["transform"]):
                print(result)
            await finished(cluster, "transform")
            await show_logs(cluster, "transform")

            print("$ orbit apply   (CronJob load, every minute)")
            for result in await cluster.apply(docs["load"]):
                print(result)
            schedule = CronSchedule.parse(docs["load"]["spec"]["schedule"])
            upcoming = schedule.next_after(datetime.now(UTC))
            assert upcoming is not None
            print(f"next scheduled run at {upcoming:%H:%M:%S} UTC; one run now instead:")
            print("$ orbit create job load-now --from=cronjob/load")
            await run_now(cluster, "load", "load-now")
            await finished(cluster, "load-now")
            await show_logs(cluster, "load-now")

            print(f"$ sqlite3 {data_dir / 'warehouse.db'}")
            print_warehouse(data_dir / "warehouse.db")
    finally:
        shutil.rmtree(data_dir)
    print(f"done in {time.monotonic() - started:.1f}s; removed {data_dir}")


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:  # the cluster has stopped its pods on the way out
        sys.exit(130)
