"""The README's demo (examples/demo.py) runs its pipeline on ProcessRuntime, prints the
right answer and leaves nothing behind.

The demo runs under a small harness process that makes itself a child subreaper
(``prctl(PR_SET_CHILD_SUBREAPER)``): any process the demo started that outlives it is
re-parented to the harness instead of to init, so after the demo exits the harness's
remaining children are exactly what leaked. The harness reports them (and kills them,
so a failing run does not leak either)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"

HARNESS = r"""
import ctypes, json, os, signal, subprocess, sys

PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
demo = subprocess.run(
    [sys.executable, sys.argv[1]], capture_output=True, text=True, timeout=float(sys.argv[2])
)
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
    state, ppid = stat.rpartition(")")[2].split()[:2]
    if int(ppid) == os.getpid():
        leftovers.append({"pid": int(entry), "state": state, "cmdline": cmdline})
        try:
            os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
json.dump({"rc": demo.returncode, "out": demo.stdout, "err": demo.stderr, "leftovers": leftovers},
          sys.stdout)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="child subreaper is Linux-only")
def test_the_demo_computes_its_result_and_stops_everything() -> None:
    harness = subprocess.run(
        [sys.executable, "-c", HARNESS, str(DEMO), "40"],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    report = json.loads(harness.stdout)
    out = report["out"]
    assert report["rc"] == 0, report["err"] + out
    assert report["leftovers"] == [], out

    # the reducer's log line, read through cluster.logs; pi(10**6) = 78,498
    assert "primes below 1,000,000: 78,498 (largest 999,983), counted in 4 shards" in out
    # the same result, served over HTTP by the Deployment's pods with readiness probes
    served = re.search(r'^\{"limit".*\}$', out, re.MULTILINE)
    assert served is not None, out
    assert json.loads(served.group()) == {
        "limit": 1_000_000,
        "primes": 78_498,
        "largest": 999_983,
        "shards": 4,
    }
    # stdout is a pipe, so the pod table comes as plain lines, one per change
    assert "\x1b[" not in out
    # the Indexed Job's four pods, one per shard, and the Deployment's web servers
    for index in range(4):
        assert re.search(rf"^count-{index}-[a-z0-9]{{5}} +Succeeded +0/1 +0 ", out, re.MULTILINE), (
            out
        )
    assert re.search(r"^results-[a-z0-9]+-[a-z0-9]{5} +Running +1/1 ", out, re.MULTILINE), out
    # a deleted web server is replaced by its Deployment: three distinct pods seen
    servers = set(re.findall(r"^(results-[a-z0-9]+-[a-z0-9]{5}) ", out, re.MULTILINE))
    assert len(servers) == 3, out
    # the broken manifest: every problem at once, nothing stored
    assert "invalid (4 issues):" in out
    assert "recount not created" in out
    # after the cluster is left, the web server no longer answers and the data is gone
    assert "Connection refused" in out
    removed = re.search(r"removed (\S+)$", out.rstrip())
    assert removed is not None, out
    assert not Path(removed.group(1)).exists()
