"""The shared network probe against real servers on 127.0.0.1 (started by each test on
a free port): what the server receives, and the kubelet's words for each outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest

from orbit.api import HTTPGetAction, HTTPHeader, Probe, TCPSocketAction
from orbit.runtimes import ContainerLaunch, PortBinding, ProbeOutcome
from orbit.runtimes._probing import _http_get, network_probe

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

Handler = Callable[[anyio.abc.SocketStream], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    """A TCP server on a free loopback port for the block's duration; yields the port."""
    async with (
        await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0) as listener,
        anyio.create_task_group() as group,
    ):
        group.start_soon(listener.serve, handler)
        yield listener.extra(anyio.abc.SocketAttribute.local_port)
        group.cancel_scope.cancel()


def replying(status: bytes, seen: list[bytes]) -> Handler:
    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            seen.append(await stream.receive())
            await stream.send(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")

    return handle


def launch_on(port: int) -> ContainerLaunch:
    return ContainerLaunch(
        pod_uid="u",
        pod_name="web",
        namespace="default",
        name="app",
        ports=(PortBinding(name="http", container_port=8080, host_port=port),),
    )


async def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    async with await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0) as listener:
        return listener.extra(anyio.abc.SocketAttribute.local_port)


async def test_http_get_success_sends_path_and_headers() -> None:
    seen: list[bytes] = []
    async with serving(replying(b"200 OK", seen)) as port:
        probe = Probe(
            http_get=HTTPGetAction(
                path="/healthz?deep=1",
                port=8080,
                http_headers=(HTTPHeader(name="X-Probe", value="liveness"),),
            )
        )
        outcome = await network_probe(probe, launch_on(port))
    assert outcome == ProbeOutcome(success=True)
    request = seen[0].decode()
    assert request.startswith("GET /healthz?deep=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{port}\r\n" in request
    assert "X-Probe: liveness\r\n" in request


async def test_http_redirect_counts_as_success() -> None:
    async with serving(replying(b"301 Moved Permanently", [])) as port:
        probe = Probe(http_get=HTTPGetAction(path="/", port="http"))
        assert (await network_probe(probe, launch_on(port))) == ProbeOutcome(success=True)


async def test_http_error_status() -> None:
    async with serving(replying(b"503 Service Unavailable", [])) as port:
        probe = Probe(http_get=HTTPGetAction(path="/healthz", port="http"))
        outcome = await network_probe(probe, launch_on(port))
    assert outcome == ProbeOutcome(success=False, message="HTTP probe failed with statuscode: 503")


async def test_http_connection_refused() -> None:
    port = await free_port()
    probe = Probe(http_get=HTTPGetAction(path="/healthz", port=8080))
    outcome = await network_probe(probe, launch_on(port))
    assert outcome == ProbeOutcome(
        success=False,
        message=(
            f'Get "http://127.0.0.1:{port}/healthz": '
            f"dial tcp 127.0.0.1:{port}: connect: connection refused"
        ),
    )


async def test_http_server_that_hangs_up() -> None:
    async def hang_up(stream: anyio.abc.SocketStream) -> None:
        await stream.aclose()

    async with serving(hang_up) as port:
        outcome = await network_probe(Probe(http_get=HTTPGetAction(port=8080)), launch_on(port))
    assert outcome == ProbeOutcome(success=False, message=f'Get "http://127.0.0.1:{port}/": EOF')


async def test_http_timeout_awaiting_headers() -> None:
    async def never_answer(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await anyio.sleep_forever()

    async with serving(never_answer) as port:
        outcome = await _http_get(HTTPGetAction(path="/slow"), "127.0.0.1", port, timeout_s=0.2)
    assert outcome == ProbeOutcome(
        success=False,
        message=(
            f'Get "http://127.0.0.1:{port}/slow": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)"
        ),
    )


async def test_tcp_socket_open_and_refused() -> None:
    async def accept(stream: anyio.abc.SocketStream) -> None:
        await stream.aclose()

    async with serving(accept) as port:
        probe = Probe(tcp_socket=TCPSocketAction(port="http"))
        assert await network_probe(probe, launch_on(port)) == ProbeOutcome(success=True)
    closed = await free_port()
    outcome = await network_probe(Probe(tcp_socket=TCPSocketAction(port=closed)), launch_on(1))
    assert outcome == ProbeOutcome(
        success=False, message=f"dial tcp 127.0.0.1:{closed}: connect: connection refused"
    )
