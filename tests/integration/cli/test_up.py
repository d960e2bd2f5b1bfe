"""``orbit up`` driven as a user drives it: a subprocess running manifests on local
processes, its control socket answering, and Ctrl-C (SIGINT) or SIGTERM stopping
everything it started: exit status 0, no pod process left, the socket removed.

Every pod process carries a marker unique to the test (in its command line and its
environment), so "nothing left behind" is checked against every process on the
machine, in ``/proc``.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from orbit.control import ControlClient

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ORBIT = [sys.executable, "-m", "orbit"]
DEADLINE_S = 30.0


def manifests(marker: str) -> str:
    """Two sleeping replicas tagged with ``marker``, and a pod no node can hold."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleeper
spec:
  replicas: 2
  selector:
    matchLabels: {{app: sleeper}}
  template:
    metadata:
      labels: {{app: sleeper}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: main
          image: busybox
          command: ["sleep", "{marker}"]
          env:
            - {{name: ORBIT_TEST_MARKER, value: "{marker}"}}
---
apiVersion: v1
kind: Pod
metadata:
  name: too-big
spec:
  containers:
    - name: main
      image: busybox
      command: ["sleep", "3600"]
      resources:
        requests: {{cpu: "4000"}}
"""


def marked_processes(marker: str) -> list[int]:
    """Pids of every process whose command line or environment holds ``marker``."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        for name in ("cmdline", "environ"):
            try:
                if needle in (entry / name).read_bytes():
                    found.append(int(entry.name))
                    break
            except OSError:  # gone, or not ours to read
                continue
    return found


async def until(check: Callable[[], Any], what: str, deadline_s: float = DEADLINE_S) -> Any:
    """Poll ``check`` (a function or a coroutine function) until it returns something
    true, and return that; fail naming ``what`` after ``deadline_s``."""
    with anyio.move_on_after(deadline_s):
        while True:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            await anyio.sleep(0.05)
    pytest.fail(f"timed out after {deadline_s:g}s waiting for {what}")


@pytest.fixture
def marker() -> str:
    # sleep takes a fractional number of seconds: the marker is a valid duration
    return f"3600.{uuid.uuid4().int % 10**12:012d}"


@pytest.fixture
def started(tmp_path: Path, marker: str) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    """``orbit up`` in the background; (process, socket, its output file)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "sleeper.yaml").write_text(manifests(marker))
    socket = tmp_path / "s.sock"
    output = tmp_path / "up.log"
    argv = [*ORBIT, "up", "-f", str(tmp_path / "app"), "--runtime", "process", "--no-view"]
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*argv, "--socket", str(socket)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        yield process, socket, output
    finally:
        if process.poll() is None:  # the test failed midway: do not leave it running
            process.kill()
            process.wait()
        for pid in marked_processes(marker):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_up_runs_the_manifests_and_a_signal_stops_everything(
    started: tuple[subprocess.Popen[bytes], Path, Path], marker: str, signum: signal.Signals
) -> None:
    process, socket, output = started
    # the line comes once the server accepts (the file exists a moment earlier)
    await until(lambda: f"control socket at {socket}" in output.read_text(), "the socket")

    client = ControlClient(str(socket))

    async def both_running() -> bool:
        pods = (await client.get("pods", selector="app=sleeper"))["items"]
        phases = [pod.get("status", {}).get("phase") for pod in pods]
        return phases == ["Running", "Running"]

    await until(both_running, "both replicas Running (asked through the control socket)")
    too_big = await client.get("pods", "too-big")
    assert too_big.get("spec", {}).get("nodeName") is None
    await until(lambda: len(marked_processes(marker)) >= 2, "both pod processes")

    def log_with_reason() -> str:
        text = output.read_text()
        return text if "Insufficient cpu" in text else ""

    log = await until(log_with_reason, "the scheduler's reason for the pending pod")
    assert "deployment.apps/sleeper created" in log
    assert "FailedScheduling" in log
    assert "pod/too-big: 0/1 nodes are available: 1 Insufficient cpu." in log

    process.send_signal(signum)
    await until(lambda: process.poll() is not None, f"orbit up to exit after {signum.name}")

    assert process.returncode == 0, output.read_text()
    assert marked_processes(marker) == []
    assert not socket.exists()
    assert f"orbit: {signum.name}: stopping" in output.read_text()


async def test_invalid_manifests_are_listed_and_nothing_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec:\n  replicas: -1\n  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers: [{name: web, image: busybox, "
        "resources: {limits: {memory: 12XB}}}]\n"
    )
    socket = tmp_path / "s.sock"

    result = await anyio.run_process(
        [*ORBIT, "up", "-f", str(bad), "--no-view", "--socket", str(socket)], check=False
    )

    assert result.returncode == 1
    err = result.stderr.decode()
    assert "error: the manifests are invalid (2 issues); nothing was applied:" in err
    assert f"{bad}: spec.replicas:" in err
    assert f"{bad}: spec.template.spec.containers[0].resources.limits.memory:" in err
    assert not socket.exists()


def docker_manifests(namespace: str) -> str:
    """A namespace of its own and two busybox replicas in it (Docker's image)."""
    return f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: sleeper, namespace: {namespace}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: sleeper}}
  template:
    metadata:
      labels: {{app: sleeper}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: main
          image: orbit-busybox:1
          imagePullPolicy: Never
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
"""


def docker_containers(namespace: str) -> list[str]:
    """Ids of every container (running or not) orbit started for a pod of ``namespace``."""
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=orbit.dev/pod-namespace={namespace}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


@pytest.fixture
def docker_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path, str]]:
    """``orbit up --runtime docker`` in the background, its pods in a namespace of their
    own; (process, socket, output file, namespace). Whatever is left is removed."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "docker"))
    from docker_helpers import ensure_busybox_image  # noqa: PLC0415 - a sibling test folder

    anyio.run(ensure_busybox_image)
    namespace = f"up-{uuid.uuid4().hex[:10]}"
    (tmp_path / "app.yaml").write_text(docker_manifests(namespace))
    socket = tmp_path / "s.sock"
    output = tmp_path / "up.log"
    argv = [*ORBIT, "up", "-f", str(tmp_path / "app.yaml"), "--runtime", "docker", "--no-view"]
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*argv, "--socket", str(socket)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        yield process, socket, output, namespace
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for container in docker_containers(namespace):
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


async def test_up_on_docker_leaves_no_container_after_ctrl_c(
    docker_up: tuple[subprocess.Popen[bytes], Path, Path, str],
) -> None:
    process, socket, output, namespace = docker_up
    await until(lambda: f"control socket at {socket}" in output.read_text(), "the socket")
    client = ControlClient(str(socket))

    async def both_running() -> bool:
        pods = (await client.get("pods", namespace=namespace))["items"]
        return [p.get("status", {}).get("phase") for p in pods] == ["Running", "Running"]

    await until(both_running, "both replicas Running in Docker", deadline_s=60)
    assert len(docker_containers(namespace)) == 2
    assert "orbit: 1 image present" in output.read_text()  # checked before the pods ran

    process.send_signal(signal.SIGINT)
    await until(lambda: process.poll() is not None, "orbit up to exit after SIGINT", 60)
    assert process.returncode == 0, output.read_text()
    assert docker_containers(namespace) == []
    assert not socket.exists()
