"""``orbit bench placement``: the placement benchmark of the checkout, on a sample."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from orbit.cli import _bench

pytestmark = pytest.mark.anyio


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orbit")
    _bench.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["bench", "placement", *argv])


async def test_a_sample_prints_the_table_with_best_fit_as_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "placement.json"
    argv = (
        "--dataset",
        "falkenauer-u",
        "--strategy",
        "ffd",
        "--limit",
        "2",
        "--json",
        str(results),
    )

    assert await _bench.run_bench_placement(parse(*argv)) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["set", "strategy", "n"]
    rows = [line.split() for line in lines[2:] if line.startswith("falkenauer-u")]
    assert [(row[1], row[2]) for row in rows] == [("ffd", "2"), ("best-fit", "2")]
    written = json.loads(results.read_text())
    assert {row["strategy"] for row in written["rows"]} == {"ffd", "best-fit"}
    assert all(row["nodes_used"] >= row["optimum"] for row in written["rows"])


async def test_unknown_names_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert await _bench.run_bench_placement(parse("--strategy", "magic")) == 1
    assert "unknown strategy magic; known: balanced, best-fit" in capsys.readouterr().err
    assert await _bench.run_bench_placement(parse("--dataset", "nope")) == 1
    assert "unknown dataset nope; known: falkenauer-u" in capsys.readouterr().err


def test_the_checkout_is_found_from_anywhere_below_it() -> None:
    here = Path(__file__).resolve()
    root = next(p for p in here.parents if (p / "benchmarks" / "placement.py").is_file())
    assert _bench.find_benchmarks(root / "src" / "orbit") == root / "benchmarks"
