"""The kubectl-style verbs driven as a user drives them: ``python -m orbit --socket
... VERB`` in a subprocess, against a cluster serving its control socket from
another process (two simulated nodes on the real clock, so no Docker is needed).
Checked: the columns and lines kubectl would print, and the exit statuses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from orbit.control import ControlClient

pytestmark = pytest.mark.integration

ORBIT = [sys.executable, "-m", "orbit"]
DEADLINE_S = 30.0

SERVER = """\
import sys

import anyio

import orbit


async def main() -> None:
    capacity = {"cpu": "4", "memory": "8Gi"}
    nodes = [orbit.Node(name, runtime=orbit.SimRuntime(capacity)) for name in ("n1", "n2")]
    async with orbit.Cluster(nodes=nodes, control_socket=sys.argv[1]):
        print("ready", flush=True)
        await anyio.sleep_forever()


try:
    anyio.run(main)
except KeyboardInterrupt:
    pass
"""

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: busybox
          resources:
            requests: {cpu: 100m, memory: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080}
"""


@pytest.fixture(scope="module")
def socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A cluster serving its control socket from another process, for the module."""
    where = tmp_path_factory.mktemp("cli")
    script = where / "serve.py"
    script.write_text(SERVER)
    path = str(where / "orbit.sock")
    server = subprocess.Popen(
        [sys.executable, str(script), path], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready", "the cluster did not start"
        yield path
    finally:
        if server.stdout is not None:
            server.stdout.close()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise


Orbit = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def orbit(socket: str) -> Orbit:
    """Run ``orbit --socket SOCKET ARGS...``; the finished process."""

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "ORBIT_SOCKET"}
        return subprocess.run(
            [*ORBIT, "--socket", socket, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=DEADLINE_S + 10,
            check=False,
        )

    return run


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must succeed."""
    assert result.returncode == 0, result.stderr
    return result.stdout


def rows(text: str) -> list[list[str]]:
    """A table's lines split into cells (cells hold no spaces in these tests)."""
    return [line.split() for line in text.splitlines()]


def wait_until(socket: str, check: Callable[[ControlClient], Any]) -> None:
    """Poll the cluster until ``check`` returns true (or fail after the deadline)."""

    async def poll() -> None:
        client = ControlClient(socket)
        with anyio.fail_after(DEADLINE_S):
            while not await check(client):  # noqa: ASYNC110 - the cluster is another process
                await anyio.sleep(0.1)

    anyio.run(poll)


@pytest.fixture(scope="module")
def web(socket: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web Deployment and Service applied and rolled out."""
    manifest = tmp_path_factory.mktemp("web") / "web.yaml"
    manifest.write_text(WEB)
    run = [*ORBIT, "--socket", socket]
    applied = subprocess.run(
        [*run, "apply", "-f", str(manifest)], capture_output=True, text=True, check=False
    )
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout == "deployment.apps/web created\nservice/web created\n"
    status = subprocess.run(
        [*run, "rollout", "status", "deployment/web", "--timeout", "30s"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[-1] == 'deployment "web" successfully rolled out'
    return manifest


def test_apply_again_reports_unchanged(orbit: Orbit, web: Path) -> None:
    assert ok(orbit("apply", "-f", str(web))) == (
        "deployment.apps/web unchanged\nservice/web unchanged\n"
    )
    assert ok(orbit("apply", "-f", "-", stdin=web.read_text())) == (
        "deployment.apps/web unchanged\nservice/web unchanged\n"
    )


def test_get_pods_has_kubectls_columns(orbit: Orbit, web: Path) -> None:
    table = rows(ok(orbit("get", "pods", "-l", "app=web")))
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(table) == 4
    assert all(r[0].startswith("web-") and r[1:4] == ["1/1", "Running", "0"] for r in table[1:])
    wide = rows(ok(orbit("get", "po", "-o", "wide", "-A", "-l", "app=web")))
    assert wide[0] == [
        "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
        "NOMINATED", "NODE", "READINESS", "GATES",
    ]  # fmt: skip
    assert {r[7] for r in wide[1:]} <= {"n1", "n2"}
    assert all(r[0] == "default" for r in wide[1:])


def test_get_other_kinds_and_outputs(orbit: Orbit, socket: str, web: Path) -> None:
    deployments = rows(ok(orbit("get", "deploy")))
    assert deployments == [["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], deployments[1]]
    assert deployments[1][:4] == ["web", "3/3", "3", "3"]
    replica_sets = rows(ok(orbit("get", "rs")))
    assert replica_sets[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    nodes = rows(ok(orbit("get", "nodes")))
    assert nodes[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [r[:2] for r in nodes[1:]] == [["n1", "Ready"], ["n2", "Ready"]]

    def proxied(client: ControlClient) -> Any:
        return client.service_url("web", timeout_s=DEADLINE_S)

    wait_until(socket, proxied)
    services = rows(ok(orbit("get", "svc", "web")))
    assert services[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services[1][:4] == ["web", "ClusterIP", "<none>", "127.0.0.1"]
    assert services[1][4].startswith("80:")
    assert services[1][4].endswith("/TCP")

    document = json.loads(ok(orbit("get", "deployment", "web", "-o", "json")))
    assert (document["kind"], document["status"]["readyReplicas"]) == ("Deployment", 3)
    listed = json.loads(ok(orbit("get", "pods", "-l", "app=web", "-o", "json")))
    assert listed["kind"] == "List"
    assert len(listed["items"]) == 3
    names = ok(orbit("get", "deploy,svc", "-o", "name")).splitlines()
    assert names == ["deployment.apps/web", "service/web"]
    both = ok(orbit("get", "deploy,svc"))
    assert "\ndeployment.apps/web " in f"\n{both}"
    assert "\nservice/web " in both


def test_describe_shows_details_and_events(orbit: Orbit, web: Path) -> None:
    text = ok(orbit("describe", "deployment", "web"))
    lines = text.splitlines()
    assert lines[0].split() == ["Name:", "web"]
    assert (
        "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable"
        in lines
    )
    assert any(
        line.startswith("NewReplicaSet:") and "(3/3 replicas created)" in line for line in lines
    )
    events = lines[lines.index("Events:") + 1 :]
    assert events[0].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert any("ScalingReplicaSet" in line for line in events)


def test_scale_and_rollouts(orbit: Orbit, web: Path) -> None:
    assert ok(orbit("scale", "deployment/web", "--replicas", "2")) == "deployment.apps/web scaled\n"
    ok(orbit("rollout", "status", "deploy/web", "--timeout", "30s"))
    assert rows(ok(orbit("get", "deploy", "web")))[1][1] == "2/2"

    assert ok(orbit("set", "image", "deploy/web", "web=busybox:2")) == (
        "deployment.apps/web image updated\n"
    )
    status = ok(orbit("rollout", "status", "deploy/web", "--timeout", "30s")).splitlines()
    assert status[-1] == 'deployment "web" successfully rolled out'
    assert all(line.startswith("Waiting for deployment") for line in status[:-1])
    assert ok(orbit("rollout", "history", "deploy/web")) == (
        "deployment.apps/web\nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
    )
    assert ok(orbit("rollout", "undo", "deploy/web")) == "deployment.apps/web rolled back\n"
    ok(orbit("rollout", "status", "deploy/web", "--timeout", "30s"))
    image = json.loads(ok(orbit("get", "deploy", "web", "-o", "json")))
    assert image["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"

    assert ok(orbit("rollout", "pause", "deploy/web")) == "deployment.apps/web paused\n"
    assert ok(orbit("rollout", "pause", "deploy/web")) == "deployment.apps/web already paused\n"
    assert ok(orbit("rollout", "resume", "deploy/web")) == "deployment.apps/web resumed\n"
    ok(orbit("scale", "deploy/web", "--replicas", "3"))
    ok(orbit("rollout", "status", "deploy/web", "--timeout", "30s"))


PODS = """\
apiVersion: v1
kind: Pod
metadata:
  name: talker
  annotations:
    sim.orbit.dev/logs: "hello\\nworld"
spec:
  containers: [{name: main, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata:
  name: brief
  annotations:
    sim.orbit.dev/logs: "one\\ntwo"
    sim.orbit.dev/run-seconds: "1"
spec:
  restartPolicy: Never
  containers: [{name: main, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata:
  name: no-image
  annotations: {sim.orbit.dev/fail-image: "true"}
spec:
  containers: [{name: main, image: missing:v9}]
"""


def test_logs_and_pod_statuses(orbit: Orbit, socket: str) -> None:
    assert ok(orbit("apply", "-f", "-", stdin=PODS)) == (
        "pod/talker created\npod/brief created\npod/no-image created\n"
    )

    async def settled(client: ControlClient) -> bool:
        talker = await client.get("Pod", "talker")
        broken = await client.get("Pod", "no-image")
        waiting = broken.get("status", {}).get("containerStatuses", [{}])[0].get("state", {})
        return talker.get("status", {}).get("phase") == "Running" and "waiting" in waiting

    wait_until(socket, settled)
    assert ok(orbit("logs", "talker")) == "hello\nworld\n"
    assert ok(orbit("logs", "pod/talker", "-c", "main", "--tail", "1")) == "world\n"
    # -f follows the container until it ends (brief runs for a second).
    assert ok(orbit("logs", "-f", "brief")) == "one\ntwo\n"
    table = {r[0]: r for r in rows(ok(orbit("get", "pods", "talker", "no-image")))[1:]}
    assert table["talker"][1:3] == ["1/1", "Running"]
    assert table["no-image"][1:3] in (["0/1", "ErrImagePull"], ["0/1", "ImagePullBackOff"])
    assert ok(orbit("delete", "pod", "talker", "brief", "no-image")) == (
        'pod "talker" deleted\npod "brief" deleted\npod "no-image" deleted\n'
    )


def test_events_and_top(orbit: Orbit, web: Path) -> None:
    events = rows(ok(orbit("events", "--for", "deployment/web")))
    assert events[0][:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert all(r[3] == "deployment/web" for r in events[1:])
    everything = rows(ok(orbit("events", "-A")))
    assert everything[0][0] == "NAMESPACE"
    assert any(r[3] == "Scheduled" for r in everything[1:])

    pods = rows(ok(orbit("top", "pods")))
    assert pods[0] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert {tuple(r[1:]) for r in pods[1:] if r[0].startswith("web-")} == {("100m", "64Mi")}
    nodes = rows(ok(orbit("top", "nodes")))
    assert nodes[0] == ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    assert [r[0] for r in nodes[1:]] == ["n1", "n2"]


def test_cordon_drain_uncordon(orbit: Orbit, socket: str, web: Path) -> None:
    assert ok(orbit("cordon", "n2")) == "node/n2 cordoned\n"
    assert ok(orbit("cordon", "n2")) == "node/n2 already cordoned\n"
    assert rows(ok(orbit("get", "node", "n2")))[1][1] == "Ready,SchedulingDisabled"
    assert ok(orbit("uncordon", "n2")) == "node/n2 uncordoned\n"

    drained = ok(orbit("drain", "n1", "--ignore-daemonsets", "--timeout", "30s")).splitlines()
    assert drained[0] == "node/n1 cordoned"
    assert drained[-1] == "node/n1 drained"
    for evicting, evicted in zip(drained[1:-1:2], drained[2:-1:2], strict=True):
        name = evicting.removeprefix("evicting pod default/")
        assert evicted == f"pod/{name} evicted"

    async def replaced(client: ControlClient) -> bool:
        pods = (await client.get("Pod", selector="app=web"))["items"]
        running = [p for p in pods if p.get("status", {}).get("phase") == "Running"]
        return len(pods) == len(running) == 3

    wait_until(socket, replaced)
    wide = rows(ok(orbit("get", "pods", "-l", "app=web", "-o", "wide")))
    assert wide[0][6] == "NODE"
    assert {r[6] for r in wide[1:]} == {"n2"}
    assert ok(orbit("uncordon", "n1")) == "node/n1 uncordoned\n"


def test_errors_are_one_line_with_kubectls_exit_statuses(orbit: Orbit, tmp_path: Path) -> None:
    missing = orbit("get", "deployment", "nope")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    gone = orbit("delete", "svc", "nope")
    assert (gone.returncode, gone.stderr) == (
        1,
        'Error from server (NotFound): services "nope" not found\n',
    )
    assert orbit("delete", "svc", "nope", "--ignore-not-found").returncode == 0
    unknown = orbit("get", "gadgets")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        'error: the server doesn\'t have a resource type "gadgets"\n',
    )
    empty = orbit("get", "jobs")
    assert (empty.returncode, empty.stdout, empty.stderr) == (
        0,
        "",
        "No resources found in default namespace.\n",
    )
    assert orbit("scale", "deploy/web").returncode == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {replicas: -1}\n"
    )
    invalid = orbit("apply", "-f", str(bad))
    assert invalid.returncode == 1
    assert invalid.stderr.startswith(f'error: error validating "{bad}": spec.replicas: ')
    assert len(invalid.stderr.splitlines()) == 1
    assert orbit("get", "deployment", "bad").returncode == 1  # nothing was applied
    nowhere = subprocess.run(
        [*ORBIT, "--socket", str(tmp_path / "none.sock"), "get", "pods"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (nowhere.returncode, nowhere.stderr) == (
        1,
        f"error: no orbit is running at {tmp_path / 'none.sock'} (start one with `orbit up`)\n",
    )


def test_delete_by_file(orbit: Orbit, web: Path) -> None:
    assert ok(orbit("delete", "-f", str(web))) == (
        'deployment.apps "web" deleted\nservice "web" deleted\n'
    )
    left = orbit("get", "deploy,svc")
    assert (left.returncode, left.stdout) == (0, "")


def test_get_watch_prints_a_row_for_each_change(orbit: Orbit, socket: str) -> None:
    """``orbit get configmaps -w``: the list, then one row (no new header) per change;
    Ctrl-C ends it with kubectl's status 130."""
    env = {k: v for k, v in os.environ.items() if k != "ORBIT_SOCKET"}
    ok(orbit("apply", "-f", "-", stdin=_config_map("watched", "1")))
    watcher = subprocess.Popen(
        [*ORBIT, "--socket", socket, "get", "configmaps", "-w", "-l", "test=watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert watcher.stdout is not None
        header = watcher.stdout.readline().split()
        assert header == ["NAME", "DATA", "AGE"]
        assert watcher.stdout.readline().split()[:2] == ["watched", "1"]
        ok(orbit("apply", "-f", "-", stdin=_config_map("watched", "2", keys=2)))
        assert watcher.stdout.readline().split()[:2] == ["watched", "2"]
        ok(orbit("apply", "-f", "-", stdin=_config_map("second", "1")))
        assert watcher.stdout.readline().split()[:2] == ["second", "1"]
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=DEADLINE_S) == 130
    finally:
        if watcher.poll() is None:
            watcher.kill()
        watcher.communicate()  # waits, and closes its pipes
        ok(orbit("delete", "configmap", "watched"))
        ok(orbit("delete", "configmap", "second"))


def _config_map(name: str, value: str, *, keys: int = 1) -> str:
    data = "".join(f'  k{i}: "{value}"\n' for i in range(keys))
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        f"  labels: {{test: watch}}\ndata:\n{data}"
    )
