"""The /metrics endpoint over real loopback TCP: served, fetched, parsed back with
prometheus_client's parser; other paths and methods refused; two clusters' endpoints
apart. And the service proxy's real connection counts, scraped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import anyio
import pytest
from metrics_builders import make_hpa, make_pod, make_store
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from orbit.api import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    ObjectMeta,
    Service,
    ServicePort,
    ServiceSpec,
)
from orbit.metrics import OrbitMetrics
from orbit.metrics._server import MAX_HEAD_BYTES, respond
from orbit.net import ServiceProxy

pytestmark = pytest.mark.anyio


async def http(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` raw to 127.0.0.1:port; (status, headers, body) of the answer."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(request)
        data = b""
        try:
            while True:
                data += await stream.receive()
        except anyio.EndOfStream:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert int(headers["content-length"]) == len(body) or request.startswith(b"HEAD")
    return status, headers, body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n".encode()


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, parsed back: (name, sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_get_metrics_serves_the_registry_in_text_format() -> None:
    store = make_store()
    store.create(make_pod("web-1"))
    store.create(make_pod("web-2", phase="Pending", node=""))
    store.create(make_hpa("web", current=2, desired=3, low=1, high=5))
    metrics = OrbitMetrics(store)
    metrics.observe_reconcile("replicaset-controller", 0.0004, False)
    metrics.observe_reconcile("replicaset-controller", 0.0009, True)
    assert metrics.url is None
    async with anyio.create_task_group() as group:
        port = await group.start(metrics.serve)
        assert metrics.url == f"http://127.0.0.1:{port}/metrics"
        status, headers, body = await http(port, get("/metrics"))
        group.cancel_scope.cancel()
    assert metrics.url is None
    assert status == 200
    assert headers["content-type"] == CONTENT_TYPE_LATEST
    assert headers["connection"] == "close"
    got = samples(body)
    assert got["orbit_pods", (("namespace", "default"), ("phase", "Running"))] == 1
    assert got["orbit_pods", (("namespace", "default"), ("phase", "Pending"))] == 1
    assert got["orbit_scheduler_pending_pods", ()] == 1
    assert got["orbit_hpa_desired_replicas", (("hpa", "web"), ("namespace", "shop"))] == 3
    controller = (("controller", "replicaset-controller"),)
    assert got["orbit_controller_reconcile_errors_total", controller] == 1
    assert got["orbit_controller_reconcile_duration_seconds_count", controller] == 2
    le_1ms = (*controller, ("le", "0.0008"))  # 0.1 ms doubling: 0.0004 in, 0.0009 out
    assert got["orbit_controller_reconcile_duration_seconds_bucket", le_1ms] == 1


async def test_other_paths_methods_and_bad_requests_are_refused() -> None:
    metrics = OrbitMetrics(make_store())
    async with anyio.create_task_group() as group:
        port = await group.start(metrics.serve)
        status, _, body = await http(port, get("/"))
        assert status == 404
        assert b"/metrics" in body
        status, headers, _ = await http(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 405
        assert headers["allow"] == "GET, HEAD"
        status, headers, body = await http(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200
        assert body == b""
        assert int(headers["content-length"]) > 0
        status, _, body = await http(port, get("/metrics?name[]=orbit_pods"))
        assert status == 200  # a query string is ignored, as by prometheus_client's server
        assert b"orbit_scheduler_pending_pods" in body
        status, _, _ = await http(port, b"nonsense\r\n\r\n")
        assert status == 400
        group.cancel_scope.cancel()


async def test_an_oversized_request_head_gets_431() -> None:
    metrics = OrbitMetrics(make_store())
    padding = b"X-Padding: " + b"x" * (MAX_HEAD_BYTES + 1) + b"\r\n"
    async with anyio.create_task_group() as group:
        port = await group.start(metrics.serve)
        status, _, body = await http(port, b"GET /metrics HTTP/1.1\r\n" + padding + b"\r\n")
        group.cancel_scope.cancel()
    assert status == 431
    assert b"orbit_" not in body


def test_the_answer_is_a_pure_function_of_the_request_head() -> None:
    registry = CollectorRegistry()
    assert respond(b"GET /metrics HTTP/1.0", registry).startswith(b"HTTP/1.1 200 OK\r\n")
    assert respond(b"GET /metrics/ HTTP/1.1", registry).startswith(b"HTTP/1.1 404 ")
    assert respond(b"DELETE /metrics HTTP/1.1", registry).startswith(b"HTTP/1.1 405 ")
    assert respond(b"GET /metrics", registry).startswith(b"HTTP/1.1 400 ")
    assert respond(None, registry).startswith(b"HTTP/1.1 431 ")


async def test_two_clusters_serve_their_own_metrics_on_their_own_ports() -> None:
    one, two = make_store(), make_store()
    one.create(make_pod("only-in-one"))
    first, second = OrbitMetrics(one), OrbitMetrics(two)
    first.observe_reconcile("job-controller", 0.001, True)
    running = ("orbit_pods", (("namespace", "default"), ("phase", "Running")))
    errors = ("orbit_controller_reconcile_errors_total", (("controller", "job-controller"),))
    async with anyio.create_task_group() as group:
        port_one = await group.start(first.serve)
        port_two = await group.start(second.serve)
        assert port_one != port_two
        _, _, body_one = await http(port_one, get("/metrics"))
        _, _, body_two = await http(port_two, get("/metrics"))
        group.cancel_scope.cancel()
    assert samples(body_one)[running] == 1
    assert running not in samples(body_two)
    assert samples(body_one)[errors] == 1
    assert errors not in samples(body_two)


async def test_a_port_given_is_the_port_bound() -> None:
    metrics = OrbitMetrics(make_store())
    async with anyio.create_task_group() as group:
        port = await group.start(metrics.serve)
        group.cancel_scope.cancel()
    async with anyio.create_task_group() as group:  # the port is free again: take it
        again = await group.start(metrics.serve, "127.0.0.1", port)
        assert again == port
        status, _, _ = await http(port, get("/metrics"))
        assert status == 200
        group.cancel_scope.cancel()


# -- the service proxy's counts, for real ------------------------------------------------


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    with anyio.fail_after(timeout_s):
        while not predicate():  # noqa: ASYNC110 - the proxy's state has no event to wait on
            await anyio.sleep(0.005)


@pytest.fixture
async def backend_port() -> AsyncIterator[int]:
    """A loopback server that greets each connection and holds it until EOF."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\n")
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


async def test_proxy_connections_accepted_and_open_are_scraped(backend_port: int) -> None:
    store = make_store()
    meta = ObjectMeta(name="web", namespace="default")
    store.create(
        Service(metadata=meta, spec=ServiceSpec(ports=(ServicePort(name="http", port=80),)))
    )
    subset = EndpointSubset(
        addresses=(EndpointAddress(ip="127.0.0.1"),),
        ports=(EndpointPort(name="http", port=backend_port),),
    )
    store.create(Endpoints(metadata=meta, subsets=(subset,)))
    proxy = ServiceProxy(store)
    metrics = OrbitMetrics(store)
    metrics.bind_proxy(proxy)
    labels = {"namespace": "default", "service": "web", "port": "http"}

    def value(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    async with anyio.create_task_group() as group:
        await group.start(proxy.run)
        host, port = await proxy.wait_address("default", "web", "http")
        assert value("orbit_proxy_connections_total") == 0
        clients = [await asyncio.open_connection(host, port) for _ in range(3)]
        for reader, _ in clients:
            assert await reader.readline() == b"hello\n"
        assert value("orbit_proxy_connections_total") == 3
        assert value("orbit_proxy_active_connections") == 3
        clients[0][1].close()
        await eventually(lambda: value("orbit_proxy_active_connections") == 2)
        assert value("orbit_proxy_connections_total") == 3
        for _, writer in clients[1:]:
            writer.close()
        await eventually(lambda: value("orbit_proxy_active_connections") == 0)
        group.cancel_scope.cancel()
