"""Every example under ``examples/`` runs as its README says and prints what it should.

Each example's ``run.py`` runs as a subprocess of this interpreter, from the repository
root, with a timeout, under a small harness that makes itself a child subreaper
(``prctl(PR_SET_CHILD_SUBREAPER)``, as ``tests/integration/test_demo.py`` does): a
process the example started that outlives it is re-parented to the harness, so the
harness's remaining children are exactly what leaked (it reports and kills them).
The assertions are on the output: the ETL's warehouse rows, the GPU ids and the gang's
start, the packing table, the HPA's rescale events, which backend pod answered.

The Docker example needs an engine: its test is marked ``integration`` and skipped,
with how to start one, only when no engine answers (the image is built if missing).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the harness's child subreaper is Linux-only"
)

HARNESS = r"""
import ctypes, json, os, signal, subprocess, sys

PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
try:
    run = subprocess.run(
        [sys.executable, sys.argv[1]], capture_output=True, text=True, timeout=float(sys.argv[2])
    )
    rc, out, err = run.returncode, run.stdout, run.stderr
except subprocess.TimeoutExpired as expired:
    rc, out, err = "timeout", expired.stdout or "", expired.stderr or ""
    out, err = [s.decode() if isinstance(s, bytes) else s for s in (out, err)]
leftovers = []
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        with open(f"/proc/{entry}/stat") as f:
            stat = f.read()
        with open(f"/proc/{entry}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        continue
    ppid = stat.rpartition(")")[2].split()[1]
    if int(ppid) == os.getpid():
        leftovers.append(cmdline)
        try:
            os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
json.dump({"rc": rc, "out": out, "err": err, "leftovers": leftovers}, sys.stdout)
"""


@attrs.frozen
class Run:
    """How an example's run ended: exit status, output, processes it left behind."""

    rc: int | str
    out: str
    err: str
    leftovers: list[str]

    def check(self) -> str:
        """The output of a run that succeeded and left nothing running."""
        assert self.rc == 0, f"exit status {self.rc}\n{self.err}\n{self.out}"
        assert self.leftovers == [], self.out
        return self.out


def run_example(name: str, timeout_s: float, env: dict[str, str] | None = None) -> Run:
    """Run ``examples/<name>/run.py`` under the harness, from the repository root."""
    harness = subprocess.run(
        [sys.executable, "-c", HARNESS, str(EXAMPLES / name / "run.py"), str(timeout_s)],
        capture_output=True,
        text=True,
        timeout=timeout_s + 15,
        check=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    return Run(**json.loads(harness.stdout))


def lines(out: str, pattern: str) -> Iterator[re.Match[str]]:
    """Every output line matching ``pattern`` whole."""
    for line in out.splitlines():
        match = re.fullmatch(pattern, line)
        if match is not None:
            yield match


# -- etl: Jobs and a CronJob on ProcessRuntime ------------------------------------------


def test_the_etl_pipeline_loads_the_valid_orders_into_the_warehouse() -> None:
    out = run_example("etl", timeout_s=60).check()

    # extract: one pod per shop export, each found its shard by its completion index
    for index, rows in enumerate((5, 4, 4)):
        said = rf"\[extract-{index}-\w+\] shop-{index}: extracted {rows} rows$"
        assert re.search(said, out, re.M), out
    # transform: 3 of the 13 rows are rejected, each for its own reason
    assert "13 rows from 3 sources: 10 valid" in out
    rejected = [m.groups() for m in lines(out, r"  \[transform-\w+\] rejected order (\d+): (.*)")]
    assert rejected == [("1004", "no city"), ("2002", "quantity 0"), ("3003", "quantity -1")]
    # load: the run started from the CronJob's template, with its Job's name
    assert "job.batch/load-now created   (from cronjob/load)" in out
    assert re.search(r"\[load-now-\w+\] loaded 4 cities \(10 orders, 357\.25\)", out)
    assert "load run: job load-now loaded 4 cities" in out
    # the warehouse, read back with sqlite3: totals per city, by revenue
    table = [m.groups() for m in lines(out, r"(\w+) +(\d+) +(\d+\.\d\d)")]
    assert table == [
        ("Berlin", "3", "160.00"),
        ("Paris", "3", "110.00"),
        ("Lyon", "3", "47.25"),
        ("Madrid", "1", "40.00"),
        ("TOTAL", "10", "357.25"),
    ]
    removed = re.search(r"removed (\S+)$", out.rstrip())
    assert removed is not None, out
    assert not Path(removed.group(1)).exists()


# -- gpu: GPU devices and a gang on simulated nodes ------------------------------------

ROW = (
    r"(?P<pod>\S+) +(?P<node>\S+) +(?P<gpus>\S+) +(?P<started>\d+)s +(?P<finished>\d+s|-)"
    r" +CUDA_VISIBLE_DEVICES=(?P<saw>\S+)"
)


def test_gpu_pods_get_their_own_devices_and_the_gang_starts_together() -> None:
    out = run_example("gpu", timeout_s=60).check()
    pods = {m["pod"]: m.groupdict() for m in lines(out, ROW)}
    web = [p for name, p in pods.items() if name.startswith("web-")]
    (infer,) = [p for name, p in pods.items() if name.startswith("infer-")]
    (finetune,) = [p for name, p in pods.items() if name.startswith("finetune-")]
    train = [p for name, p in pods.items() if name.startswith("train-")]

    # CPU-only pods keep off the GPU machines, and see no GPU
    assert len(web) == 2
    assert all(p["node"] == "cpu-0" and p["gpus"] == "-" and p["saw"] == "(unset)" for p in web)
    # every GPU pod got as many device ids as it asked for, and its container saw them
    for pod, wanted in [(infer, 1), (finetune, 2), *((p, 2) for p in train)]:
        assert pod["node"] in ("gpu-a", "gpu-b"), pod
        assert len(set(pod["gpus"].split(","))) == wanted, pod
        assert pod["saw"] == pod["gpus"], pod
    # no device is held by two pods of a node at the same time
    gpu_pods = [infer, finetune, *train]
    for a in gpu_pods:
        for b in gpu_pods:
            if a is b or a["node"] != b["node"]:
                continue
            overlap = int(a["started"]) < int(b["finished"][:-1]) and int(b["started"]) < int(
                a["finished"][:-1]
            )
            if overlap:
                assert not set(a["gpus"].split(",")) & set(b["gpus"].split(",")), (a, b)
    # the gang: 4 members, held back while too few GPUs were free, then all at once,
    # when finetune's 2 GPUs came free
    assert len(train) == 4
    assert "gang default/train: only 2 of 4 members fit: 0/3 nodes are available" in out
    assert "gang default/train: only 3 of 4 members fit: 0/3 nodes are available" in out
    assert {p["started"] for p in train} == {finetune["finished"][:-1]} == {"120"}
    assert "gang train: 4 members started at 120s on gpu-a, gpu-b with 8 GPUs" in out
    # more GPUs than any node has: Pending, in kube-scheduler's words
    assert "too-big is Pending: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu." in out
    # a seeded simulation: a second run prints the same (but for the wall-clock time)
    again = run_example("gpu", timeout_s=60).check()
    assert again.splitlines()[:-1] == out.splitlines()[:-1]


# -- placement: a user-defined strategy next to the built-ins ---------------------------

INSTANCE = r"(?P<name>\S+): (?P<dims>\d)-D, (?P<items>\d+) items, optimum (?P<optimum>\d+) nodes"
STRATEGY_ROW = (
    r"  (?P<strategy>[\w-]+(?: \*)?) +(?P<nodes>\d+) +[+-]\d+ +(?P<bound>\d+) +(yes|no) +\d+ms"
)


def packing_tables(out: str) -> dict[str, tuple[int, dict[str, int], dict[str, int]]]:
    """Per instance: the optimum, nodes used and lower bound per strategy."""
    tables: dict[str, tuple[int, dict[str, int], dict[str, int]]] = {}
    current: tuple[int, dict[str, int], dict[str, int]] | None = None
    for line in out.splitlines():
        if (header := re.fullmatch(INSTANCE, line)) is not None:
            current = (int(header["optimum"]), {}, {})
            tables[header["name"]] = current
        elif (row := re.fullmatch(STRATEGY_ROW, line)) is not None:
            assert current is not None, line
            current[1][row["strategy"]] = int(row["nodes"])
            current[2][row["strategy"]] = int(row["bound"])
    return tables


def test_a_registered_strategy_is_compared_with_the_built_in_ones() -> None:
    out = run_example("placement", timeout_s=60).check()
    assert "strategies: balanced, best-fit, dot-product, ffd, first-fit, optimal, spread" in out
    tables = packing_tables(out)
    assert list(tables) == [
        "Falkenauer_u120_00",
        "Panigrahy/class1_60_3_0",
        "Panigrahy/class7_60_3_0",
    ]
    built_in = ["balanced", "best-fit", "ffd", "first-fit", "optimal", "spread"]
    for name, (optimum, nodes, bounds) in tables.items():
        assert sorted(nodes) == sorted([*built_in, "dot-product *"]), name
        # nobody beats a proved optimum, and no bound claims more than it
        assert all(used >= optimum for used in nodes.values()), (name, nodes)
        assert all(bound <= optimum for bound in bounds.values()), (name, bounds)
        # CP-SAT is warm-started from the greedy answers: never worse than any of them
        assert nodes["optimal"] == min(nodes.values()), (name, nodes)
    # the user's strategy, DotProduct, is deterministic: these are its answers
    dot = [nodes["dot-product *"] for _, nodes, _ in tables.values()]
    assert dot == [49, 18, 27]
    # on the 1-D instance CP-SAT finds and proves the optimum of 48
    assert tables["Falkenauer_u120_00"][1]["optimal"] == 48


# -- embedding: orbit inside an asyncio service ----------------------------------------

GET = r"GET /(?P<phase>[\w-]+)/(?P<index>\d+) +(?P<status>\d{3})  answered by (?P<pod>\S+)"


def test_the_asyncio_front_routes_to_the_ready_backends_in_process() -> None:
    out = run_example("embedding", timeout_s=60).check()
    answers: dict[str, list[str]] = {}
    for match in lines(out, GET):
        assert match["status"] == "200", match.group()
        answers.setdefault(match["phase"], []).append(match["pod"])
    assert "(routed to" not in out  # the pod the front chose is the one that answered
    assert [len(answers[phase]) for phase in ("two", "three", "after-delete")] == [4, 6, 4]

    # round robin over two backends, then over three once the new one is ready
    two = answers["two"]
    assert len(set(two)) == 2
    assert two[0::2] == [two[0]] * 2
    assert two[1::2] == [two[1]] * 2
    assert len(set(answers["three"])) == 3
    assert set(two) < set(answers["three"])
    # the deleted pod left the routing table first: every request after was answered
    # by the others
    deleted = re.search(r"^\$ orbit delete pod (\S+)$", out, re.M)
    assert deleted is not None, out
    assert deleted.group(1) in answers["three"]
    assert deleted.group(1) not in answers["after-delete"]
    assert len(set(answers["after-delete"])) == 2
    assert "front and cluster stopped" in out


# -- web: a Service and an HPA on Docker ---------------------------------------------


async def _docker_problem() -> str:
    """Why no engine can be used ("" when one answers), after the conftest of
    ``tests/integration/docker``; the busybox image is built when it is missing."""
    import aiodocker  # noqa: PLC0415 - only this test talks to the engine

    try:
        async with aiodocker.Docker() as docker:
            await docker.version()
    except (aiodocker.DockerError, ValueError, OSError) as error:
        return str(error)
    sys.path.insert(0, str(ROOT / "tools"))
    from busybox_image import ensure_busybox_image  # noqa: PLC0415

    await ensure_busybox_image()
    return ""


async def _orbit_containers() -> set[str]:
    """Ids of every container, running or not, that an orbit cluster started."""
    import aiodocker  # noqa: PLC0415

    from orbit.runtimes import CLUSTER_LABEL  # noqa: PLC0415

    async with aiodocker.Docker() as docker:
        found = await docker.containers.list(all=True, filters={"label": [CLUSTER_LABEL]})
    return {container.id for container in found}


@pytest.mark.integration
@pytest.mark.timeout(150)
def test_the_web_service_scales_up_under_load_and_back_down() -> None:
    problem = asyncio.run(_docker_problem())
    if problem:
        pytest.skip(
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); start one "
            f"with `.ci/docker-up` (as root). ({problem})"
        )
    before = asyncio.run(_orbit_containers())
    out = run_example("web", timeout_s=120).check()

    assert re.search(r"^hello from web-[a-z0-9]+-[a-z0-9]{5}$", out, re.M), out
    # under load the HPA scaled up to the maximum, from the containers' cpu (in one
    # step when its first valid reading saw the full load), then back down to 1
    rescales = [
        m.groups() for m in lines(out, r"  Normal +SuccessfulRescale +New size: (\d); (.*)")
    ]
    up = "reason: cpu resource utilization (percentage of request) above target"
    down = "reason: All metrics below target"
    ups = [int(size) for size, reason in rescales if reason == up]
    downs = [int(size) for size, reason in rescales if reason == down]
    assert rescales == [(str(n), up) for n in ups] + [(str(n), down) for n in downs], out
    assert ups == sorted(ups), out
    assert ups[-1] == 3, out
    assert downs[-1] == 1, out
    # ... and the service spread the requests over the three pods, none failing
    assert re.search(r"load stopped; since scale-up \d+ requests, 0 errors$", out, re.M), out
    served = [m[1] for m in lines(out, r"  served by (web-\S+): \d+")]
    assert len(set(served)) == 3, out
    assert "deployment/web: back to 1 pod" in out
    # leaving the cluster removed every container it started
    assert asyncio.run(_orbit_containers()) <= before


def test_the_web_example_exits_2_and_says_why_without_an_engine(tmp_path: Path) -> None:
    run = run_example("web", timeout_s=30, env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert run.rc == 2, run
    assert run.err.startswith("examples/web needs Docker: no Docker engine answers"), run.err
    assert run.out == ""
    assert run.leftovers == []


# -- whatif: orbit sim on the example scenario --------------------------------------------


def test_the_what_if_scenario_compares_its_policies(tmp_path: Path) -> None:
    """``orbit sim examples/whatif/day.yaml``, the day cut to two hours (same file
    otherwise): one table row and one timeline per policy, and the report files."""
    scenario = (EXAMPLES / "whatif" / "day.yaml").read_text()
    assert "duration: 24h" in scenario
    (tmp_path / "web.yaml").write_text((EXAMPLES / "whatif" / "web.yaml").read_text())
    (tmp_path / "day.yaml").write_text(scenario.replace("duration: 24h", "duration: 2h"))
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "orbit", "sim", str(tmp_path / "day.yaml"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    rows = list(lines(done.stdout, r"\| (kubernetes-default|fast|conservative) \|.*"))
    assert [row.group(1) for row in rows] == ["kubernetes-default", "fast", "conservative"]
    report = json.loads((out / "report.json").read_text())
    assert list(report["policies"]) == ["kubernetes-default", "fast", "conservative"]
    assert list(report["timelines"]) == list(report["policies"])
    assert (out / "timeline.png").read_bytes().startswith(b"\x89PNG")
    assert "web-day" in (out / "report.md").read_text()
