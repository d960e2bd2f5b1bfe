"""Workloads for the HPA end-to-end tests: HTTP workers whose load the test controls,
the Prometheus targets they make, and small query helpers.

The load model (:class:`SharedLoad`): the test sets a ``total`` of requests in flight,
spread evenly over the worker pods that are ready, as a Service would spread it; a pod
not ready (or being deleted) serves none. Each worker serves ``worker_inflight`` (a
gauge) on its ``/metrics`` page and asks the test what its share is
(``GET <LOAD_URL>?pod=<its name>``) on every scrape. So the sum over the workers is the
total, whatever their number, and the HPA's arithmetic has one stable answer:
``ceil(total / target per pod)``.

The shares are computed from one snapshot of the ready pods that is reused for
:data:`SNAPSHOT_TTL_S`: the HPA scrapes every pod of one sync at once, and they must all
see the same assignment. (Otherwise a pod turning ready between two of those scrapes
makes the sum briefly wrong, which a real load balancer does too, but which would make
the test's expected replica counts a matter of luck.)

Two worker programs, one per runtime:

- ProcessRuntime: a Python ``http.server`` run with ``sys.executable``, ``/metrics``;
- Docker (``orbit-busybox:1``, no Python): busybox ``httpd`` with a CGI script at
  ``/cgi-bin/metrics`` that fetches the share with busybox ``wget``.

Both listen on ``127.0.0.1:$PORT`` (the host port orbit allocated; Docker containers
run with host networking) and declare the container port 9100, which the pod
template's ``prometheus.io/port`` names by number.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiodocker
import anyio
import anyio.abc
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_harness import PrometheusServer

import orbit
from orbit.api import PORTS_ANNOTATION, Pod, parse_port_addresses
from orbit.autoscaling._http import BaseUrl, MetricsError, http_get
from orbit.store import Store

METRIC = "worker_inflight"
CONTAINER_PORT = 9100
SNAPSHOT_TTL_S = 0.1
"""How long one snapshot of the ready pods serves the share requests (see the module
docstring): much longer than one sync's scrapes take, much shorter than a sync period."""

# Serves worker_inflight, asking the test for its share on every scrape; SIGTERM's
# default action ends it at once.
PY_WORKER = r"""
import os, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
SHARE = os.environ["LOAD_URL"] + "?pod=" + os.environ["POD_NAME"]
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        with OPENER.open(SHARE, timeout=2) as answer:
            value = answer.read().decode()
        body = (
            "# HELP worker_inflight Requests in flight.\n"
            "# TYPE worker_inflight gauge\n"
            f"worker_inflight {value}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

# The CGI script is written with the pod's LOAD_URL and POD_NAME filled in (the unquoted
# here-document expands them; \$ defers the script's own variables to its runs).
SH_WORKER = r"""
mkdir -p /tmp/www/cgi-bin
cat > /tmp/www/cgi-bin/metrics <<EOF
#!/bin/sh
value=\$(wget -q -O - "$LOAD_URL?pod=$POD_NAME") || exit 1
printf 'Content-Type: text/plain; version=0.0.4\r\n\r\n'
printf '# HELP worker_inflight Requests in flight.\n# TYPE worker_inflight gauge\n'
printf 'worker_inflight %s\n' "\$value"
EOF
chmod +x /tmp/www/cgi-bin/metrics
exec httpd -f -p "127.0.0.1:$PORT" -h /tmp/www
"""

METRICS_PATHS = {"process": "/metrics", "docker": "/cgi-bin/metrics"}


def _ready(pod: Pod) -> bool:
    ready = pod.status.condition("Ready")
    return (
        pod.metadata.deletion_timestamp is None
        and pod.status.phase == "Running"
        and ready is not None
        and ready.status == "True"
    )


class SharedLoad:
    """``total`` requests in flight spread over the ready pods matching ``selector``
    (module docstring); :meth:`serve` answers the workers' ``GET /share?pod=NAME``."""

    def __init__(self, selector: str, total: float = 0.0, store: Store | None = None) -> None:
        self.store = store
        """The cluster's store (set once the cluster exists)."""
        self.selector = selector
        self.total = total
        self.url = ""
        """``http://127.0.0.1:<port>/share`` while :meth:`serve` runs."""
        self._snapshot: tuple[float, frozenset[str]] | None = None

    def ready_pods(self) -> frozenset[str]:
        now = time.monotonic()
        if self._snapshot is None or now - self._snapshot[0] > SNAPSHOT_TTL_S:
            assert self.store is not None, "SharedLoad.store is not set"
            pods = self.store.list(Pod, namespace="default", label_selector=self.selector).items
            self._snapshot = (now, frozenset(p.metadata.name for p in pods if _ready(p)))
        return self._snapshot[1]

    def share(self, pod: str) -> float:
        ready = self.ready_pods()
        return self.total / len(ready) if pod in ready else 0.0

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Answer share requests on a free loopback port until cancelled."""
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        async with listener:
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
            self.url = f"http://127.0.0.1:{port}/share"
            task_status.started()
            await listener.serve(self._answer)

    async def _answer(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            request = b""
            with anyio.move_on_after(5):
                while b"\r\n\r\n" not in request and len(request) < 8192:
                    try:
                        request += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        break
            target = request.split(b" ", 2)[1].decode() if request.count(b" ") >= 2 else "/"
            pod = parse_qs(urlsplit(target).query).get("pod", [""])[0]
            body = repr(self.share(pod)).encode()
            head = f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}"
            with contextlib.suppress(anyio.BrokenResourceError, OSError):
                await stream.send(head.encode() + b"\r\n\r\n" + body)


def worker_deployment(
    runtime: str, load_url: str, *, name: str = "worker", replicas: int = 1
) -> dict[str, Any]:
    """A Deployment of workers (module docstring) on ``runtime`` ("process" or
    "docker"), annotated for scraping."""
    if runtime == "docker":
        container: dict[str, Any] = {
            "image": _docker_helpers().IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", SH_WORKER],
        }
    else:
        container = {"image": "python", "command": [sys.executable, "-c", PY_WORKER]}
    container.update(
        name="worker",
        env=[
            {"name": "LOAD_URL", "value": load_url},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        ports=[{"name": "metrics", "containerPort": CONTAINER_PORT}],
        readinessProbe={"tcpSocket": {"port": "metrics"}, "periodSeconds": 1},
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {
                    "labels": {"app": name},
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(CONTAINER_PORT),
                        "prometheus.io/path": METRICS_PATHS[runtime],
                    },
                },
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [container]},
            },
        },
    }


def runtime_node(runtime: str, tmp_path: Path) -> orbit.Node:
    """One node of ``runtime`` ("process" or "docker": call :func:`ensure_docker`
    first)."""
    if runtime == "docker":
        return orbit.Node("docker-0", runtime=orbit.DockerRuntime())
    return orbit.Node("process-0", runtime=orbit.ProcessRuntime(tmp_path / "process"))


async def ensure_docker() -> None:
    """The Docker engine answers and ``orbit-busybox:1`` exists (built if absent)."""
    helpers = _docker_helpers()
    try:
        async with aiodocker.Docker() as docker:
            await docker.version()
    except (aiodocker.DockerError, ValueError, OSError) as error:
        raise AssertionError(f"{helpers.HOW_TO_START}\n({error})") from error
    await helpers.ensure_busybox_image()


def _docker_helpers() -> Any:
    """``tests/integration/docker/docker_helpers`` (the image's name, its builder)."""
    folder = str(Path(__file__).parents[1] / "docker")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("docker_helpers")


# -- Prometheus targets ------------------------------------------------------------------


def pod_target_groups(pods: Sequence[Pod]) -> list[dict[str, Any]]:
    """file_sd groups for the pods Prometheus' ``kubernetes_sd`` plus the usual
    ``prometheus.io/*`` relabelling would scrape: running pods annotated
    ``prometheus.io/scrape``, at the address orbit published for ``prometheus.io/port``,
    on ``prometheus.io/path``, labelled with the pod's name."""
    groups = []
    for pod in sorted(pods, key=lambda p: p.metadata.name):
        annotations = pod.metadata.annotations
        if annotations.get("prometheus.io/scrape") != "true" or pod.status.phase != "Running":
            continue
        if pod.metadata.deletion_timestamp is not None:
            continue
        published = parse_port_addresses(annotations.get(PORTS_ANNOTATION))
        port_key = _port_key(pod, annotations.get("prometheus.io/port", ""))
        if port_key not in published:
            continue
        host, port = published[port_key]
        groups.append(
            {
                "targets": [f"{host or pod.status.host_ip or '127.0.0.1'}:{port}"],
                "labels": {
                    "pod": pod.metadata.name,
                    "__metrics_path__": annotations.get("prometheus.io/path", "/metrics"),
                },
            }
        )
    return groups


def _port_key(pod: Pod, wanted: str) -> str:
    """The ``orbit.dev/ports`` key of the container port ``wanted`` (number or name)."""
    for container in pod.spec.containers:
        for port in container.ports:
            if wanted in (str(port.container_port), port.name):
                return port.name or str(port.container_port)
    return wanted


async def sync_targets(
    prometheus: PrometheusServer,
    store: Store,
    selector: str,
    extra_groups: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Keep Prometheus' file_sd targets equal to the scrapeable pods matching
    ``selector`` plus ``extra_groups``, until cancelled (poll the store every 0.1 s)."""
    written: list[dict[str, Any]] | None = None
    while True:
        pods = store.list(Pod, namespace="default", label_selector=selector).items
        groups = [*map(dict, extra_groups), *pod_target_groups(pods)]
        if groups != written:
            prometheus.set_target_groups(groups)
            written = groups
        await anyio.sleep(0.1)


class QueueExporter:
    """A separate exporter (not a pod) with a ``queue_depth`` gauge the test sets: jobs
    waiting for workers, which exists when no worker does (so it can wake them up)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.gauge = Gauge("queue_depth", "Jobs waiting.", registry=self.registry)
        self.server, self.thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.address = f"127.0.0.1:{self.server.server_port}"

    def group(self) -> dict[str, Any]:
        return {"targets": [self.address], "labels": {"role": "queue"}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


# -- queries -----------------------------------------------------------------------------


async def query_vector(server: BaseUrl, promql: str) -> list[tuple[dict[str, str], float]]:
    """An instant query's series as (labels, value); ``MetricsError`` on failure."""
    path = server.path(f"/api/v1/query?query={quote(promql, safe='')}")
    answer = await http_get(server.host, server.port, path, timeout_s=5.0)
    document = json.loads(answer.body)
    if document.get("status") != "success":
        raise MetricsError(f"{promql}: {document.get('error')}")
    data = document["data"]
    if data["resultType"] != "vector":
        raise MetricsError(f"{promql}: a {data['resultType']}, not a vector")
    return [(series["metric"], float(series["value"][1])) for series in data["result"]]


async def vector_until(
    prometheus: PrometheusServer,
    promql: str,
    accept: Any,
    *,
    deadline_s: float = 20.0,
) -> list[tuple[dict[str, str], float]]:
    """Poll ``promql`` until ``accept(series)`` holds; fail after ``deadline_s`` with
    the last answer."""
    last: object = None
    with anyio.move_on_after(deadline_s):
        while True:
            try:
                series = await query_vector(prometheus.base, promql)
            except MetricsError as exc:
                last = exc
            else:
                if accept(series):
                    return series
                last = series
            await anyio.sleep(0.2)
    raise AssertionError(f"{promql}: still {last!r} after {deadline_s}s")


def by_label(series: Sequence[tuple[dict[str, str], float]], label: str) -> dict[str, float]:
    """``{series[label]: value}``."""
    return {labels.get(label, ""): value for labels, value in series}
