"""orbit's demo: apply a small data pipeline and show what the cluster now holds.

Run it with ``python examples/demo.py``. It applies ``examples/pipeline.yaml``, prints
the stored objects kubectl-style, shows an apply that changes one field (and one that
changes nothing), and shows how a broken manifest is refused with every problem at
once and nothing stored. Running the pods needs the runtimes (a later milestone).
"""

from __future__ import annotations

import copy
from pathlib import Path

import anyio
import yaml

import orbit

HERE = Path(__file__).parent


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


async def main() -> None:
    async with orbit.Cluster() as cluster:
        print("$ orbit apply -f examples/pipeline.yaml")
        for result in await cluster.apply(HERE / "pipeline.yaml"):
            print(result)

        print("\n$ orbit get all -n pipeline")
        rows = [("KIND", "NAME", "GENERATION", "RESOURCE-VERSION", "SUMMARY")]
        for kind in ("deployments", "services", "hpa", "jobs", "cronjobs", "configmaps"):
            for obj in await cluster.list(kind, "pipeline"):
                rows.append(
                    (
                        obj.kind,
                        obj.metadata.name,
                        str(obj.metadata.generation),
                        obj.metadata.resource_version,
                        summary(obj),
                    )
                )
        print(table(rows))

        print("\n$ orbit get deployment ingest -n pipeline -o yaml   (defaults left out)")
        deployment = await cluster.get("deploy", "ingest", "pipeline")
        dumped = orbit.dump(deployment)
        dumped["metadata"]["annotations"] = {"...": "(last-applied configuration)"}
        print(yaml.safe_dump(dumped, sort_keys=False).rstrip())

        print("\n$ orbit apply -f examples/pipeline.yaml   (again, replicas changed to 5)")
        docs = list(yaml.safe_load_all((HERE / "pipeline.yaml").read_text()))
        changed = copy.deepcopy(docs)
        changed[2]["spec"]["replicas"] = 5
        for result in await cluster.apply(changed):
            print(result)

        print("\n$ orbit apply -f broken.yaml   (one bad document: nothing is stored)")
        broken = copy.deepcopy(docs[2])
        broken["metadata"]["name"] = "Broken_Name"
        container = broken["spec"]["template"]["spec"]["containers"][0]
        container["resources"]["limits"]["memory"] = "12XB"
        container["ports"].append({"name": "http", "containerPort": 70000})
        try:
            await cluster.apply([docs[1], broken])
        except orbit.ValidationError as error:
            print(error)
        count = len(await cluster.list("deployments", "pipeline"))
        print(f"deployments in namespace pipeline: {count} (unchanged)")


def summary(obj: object) -> str:
    spec = getattr(obj, "spec", None)
    if obj.__class__.__name__ == "Deployment":
        return f"replicas={spec.replicas} strategy={spec.strategy.type}"  # type: ignore[union-attr]
    if obj.__class__.__name__ == "Service":
        ports = ",".join(f"{p.port}->{p.target_port}" for p in spec.ports)  # type: ignore[union-attr]
        return f"type={spec.type} ports={ports}"  # type: ignore[union-attr]
    if obj.__class__.__name__ == "HorizontalPodAutoscaler":
        return f"min={spec.min_replicas} max={spec.max_replicas}"  # type: ignore[union-attr]
    if obj.__class__.__name__ == "Job":
        return f"completions={spec.completions} parallelism={spec.parallelism}"  # type: ignore[union-attr]
    if obj.__class__.__name__ == "CronJob":
        return f"schedule={spec.schedule!r} tz={spec.time_zone}"  # type: ignore[union-attr]
    data = getattr(obj, "data", {})
    return f"keys={','.join(sorted(data))}"


if __name__ == "__main__":
    anyio.run(main)
