"""``orbit sim``: a tiny scenario (an hour of virtual time, two policies) runs and
writes its report; a broken scenario is refused with every issue listed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from orbit.cli import _sim
from orbit.whatif import load_scenario, run_policies

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sim.orbit.dev/startup-seconds: "2"
        sim.orbit.dev/ready-after-seconds: "10"
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: web
          image: example/web:1
          resources:
            requests: {cpu: 250m, memory: 128Mi}
"""

SCENARIO = """\
name: tiny
duration: 1h
seed: 7
sample: 60s
nodes:
  - name: base
    count: 1
    capacity: {cpu: "2", memory: 8Gi}
    costPerHour: 0.1
nodePools:
  - name: pool
    capacity: {cpu: "2", memory: 8Gi}
    maxNodes: 2
    costPerHour: 0.1
    bootDelay: 30s
manifests:
  - web.yaml
  - apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: web}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      minReplicas: 1
      maxReplicas: 8
      metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
load:
  selector: app=web
  trough: 0.2
  peak: 1.5
  day: 1h
  spikes: [{at: 20m, duration: 5m, cores: 1}]
policies:
  kubernetes-default: null
  fast:
    scaleDown: {stabilizationWindowSeconds: 60}
"""


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orbit")
    _sim.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["sim", *argv])


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the markdown table in ``text`` (header and rule left out)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


@pytest.mark.anyio
async def test_a_tiny_scenario_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "tiny.yaml").write_text(SCENARIO)
    out = tmp_path / "out"

    code = await _sim.run_sim(parse(str(tmp_path / "tiny.yaml"), "--out", str(out), "--jobs", "1"))

    assert code == 0
    printed = table_rows(capsys.readouterr().out)
    assert [row[0] for row in printed] == ["kubernetes-default", "fast"]
    assert table_rows((out / "report.md").read_text()) == printed
    report = json.loads((out / "report.json").read_text())
    assert [row["policy"] for row in report["rows"]] == ["kubernetes-default", "fast"]
    assert report["scenario"]["duration_s"] == 3600
    for row in report["rows"]:
        # the load needs more than the one starting pod: the HPA scaled up
        assert row["max_replicas"] > 1
        assert row["rescale_events"] >= 1
        # 61 samples a minute apart of at least the fixed node, at $0.1 an hour
        assert row["node_hours"] >= 61 / 60
        assert row["cost"] == pytest.approx(row["node_hours"] * 0.1, abs=0.001)
    assert (out / "timeline.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.anyio
async def test_the_policy_option_runs_only_those(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "tiny.yaml").write_text(SCENARIO.replace("duration: 1h", "duration: 10m"))
    out = tmp_path / "out"

    argv = (str(tmp_path / "tiny.yaml"), "--out", str(out), "--jobs", "1", "--policy", "fast")
    assert await _sim.run_sim(parse(*argv)) == 0

    assert [row[0] for row in table_rows(capsys.readouterr().out)] == ["fast"]


@pytest.mark.anyio
async def test_a_broken_scenario_lists_every_issue_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = (
        SCENARIO.replace("duration: 1h", "duration: 1x")
        .replace("peak: 1.5", "peak: 1.5\n  bogus: 1")
        .replace("  - web.yaml\n", "  - missing.yaml\n")
    )
    (tmp_path / "tiny.yaml").write_text(broken)
    out = tmp_path / "out"

    code = await _sim.run_sim(parse(str(tmp_path / "tiny.yaml"), "--out", str(out)))

    assert code == 1
    err = capsys.readouterr().err
    assert "duration: not a duration: '1x'" in err
    assert "load.bogus: unknown field" in err
    assert "manifests[0]: no such file or directory" in err
    assert "Deployment default/web: not found" in err
    assert not out.exists()


@pytest.mark.anyio
async def test_an_unknown_policy_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "tiny.yaml").write_text(SCENARIO)

    code = await _sim.run_sim(parse(str(tmp_path / "tiny.yaml"), "--policy", "slow"))

    assert code == 1
    assert (
        "unknown policy slow (the scenario has: kubernetes-default, fast)"
        in capsys.readouterr().err
    )


@pytest.mark.anyio
async def test_policies_run_side_by_side_in_worker_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "tiny.yaml").write_text(SCENARIO.replace("duration: 1h", "duration: 20m"))
    out = tmp_path / "out"

    argv = (str(tmp_path / "tiny.yaml"), "--out", str(out), "--jobs", "2")
    assert await _sim.run_sim(parse(*argv)) == 0

    printed = table_rows(capsys.readouterr().out)
    assert [row[0] for row in printed] == ["kubernetes-default", "fast"]
    timelines = json.loads((out / "report.json").read_text())["timelines"]
    # sampled to the end in each worker: 0 to 20 minutes every minute, thinned to 5
    assert [row[0] for row in timelines["fast"]] == [0, 300, 600, 900, 1200]


def test_worker_progress_reaches_the_caller(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "tiny.yaml").write_text(SCENARIO.replace("duration: 1h", "duration: 10m"))
    whatif = load_scenario(tmp_path / "tiny.yaml")
    heard: dict[str, list[float]] = {}
    finished: list[str] = []

    days = run_policies(
        whatif,
        jobs=2,
        progress=lambda policy, t: heard.setdefault(policy, []).append(t),
        done=lambda day: finished.append(day.policy),
    )

    assert [day.policy for day in days] == ["kubernetes-default", "fast"]
    assert sorted(finished) == ["fast", "kubernetes-default"]
    for policy in ("kubernetes-default", "fast"):
        assert heard[policy] == sorted(heard[policy])
        assert heard[policy][0] == 0
        assert heard[policy][-1] == 600
