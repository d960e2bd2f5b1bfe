"""A simulated day, small: ``benchmarks/simulation.py``'s scenario (the whole control
plane on SimRuntime nodes: pods arriving, running, crashing, restarting, deleted)
replays exactly for a seed, and another seed gives another day."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
BENCHMARK = ROOT / "benchmarks" / "simulation.py"


@pytest.fixture(scope="module")
def day_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orbit_benchmark_simulation", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_day(day_script: ModuleType, seed: int) -> dict[str, Any]:
    result: dict[str, Any] = day_script.run_day(nodes=20, pods=200, hours=2, seed=seed)
    return result


def test_the_same_seed_replays_the_same_day(day_script: ModuleType) -> None:
    first = small_day(day_script, seed=3)
    again = small_day(day_script, seed=3)
    assert first["lifecycles_completed"] == 200
    assert first["unexpected_outcomes"] == 0
    assert first["succeeded"] > 0
    assert first["failed"] > 0
    assert first["restarts"] > 0
    assert first["simulated_s"] == 2 * 3600
    # arrival, phases and deletion of every pod: several entries each
    assert len(first["history"]) >= 3 * 200
    assert first["history"] == again["history"]
    assert first["digest"] == again["digest"]
    assert first["clock_jumps"] == again["clock_jumps"]


def test_another_seed_gives_another_day(day_script: ModuleType) -> None:
    one = small_day(day_script, seed=3)
    other = small_day(day_script, seed=4)
    assert other["lifecycles_completed"] == 200
    assert one["history"] != other["history"]
    assert one["digest"] != other["digest"]


def test_another_process_replays_the_same_day(day_script: ModuleType, tmp_path: Path) -> None:
    """Nothing depends on the process: string hashing (set order) is salted differently
    in the child, and its digest is still the same."""
    here = small_day(day_script, seed=3)
    out = tmp_path / "day.json"
    args = ["--nodes", "20", "--pods", "200", "--hours", "2", "--seed", "3", "--json", str(out)]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(
        [sys.executable, str(BENCHMARK), *args], check=True, env=env, capture_output=True
    )
    assert json.loads(out.read_text())["digest"] == here["digest"]
