"""The service proxy over real TCP on 127.0.0.1: balancing, affinity, retries on dead
endpoints, refusal without endpoints, draining, half-close, a large transfer, and the
listen address in the Service's status."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket

import anyio
import attrs
import pytest
from proxy_helpers import (
    NS,
    Backend,
    closed_port,
    connect,
    eventually,
    make_endpoints,
    make_service,
    put,
)

from orbit.api import (
    ClientIPConfig,
    Event,
    Service,
    ServicePort,
    ServiceSpec,
    SessionAffinityConfig,
)
from orbit.net import LB_POLICY_ANNOTATION, LISTEN_PORT_ANNOTATION, NotServed, ServiceProxy
from orbit.net._relay import REPLAY_LIMIT
from orbit.store import MemoryStore

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def serve(
    store: MemoryStore, proxy: ServiceProxy, name: str, backends: list[Backend], **kw: object
) -> int:
    """Store a Service and its Endpoints; the port the proxy listens on once it balances
    over exactly those backends."""
    put(store, make_service(name, **kw))  # type: ignore[arg-type]
    put(store, make_endpoints(name, [b.port for b in backends]))
    _, port = await proxy.wait_address(NS, name)
    await eventually(lambda: len(proxy.endpoints(NS, name)) == len(backends))
    return port


async def greeted_by(port: int, count: int) -> list[str]:
    """Open ``count`` connections one after the other; who greeted each."""
    names = []
    for _ in range(count):
        client = await connect(port)
        names.append(client.name)
        await client.finish()
    return names


async def test_connections_go_round_robin(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    port = await serve(store, proxy, "web", backends)
    names = await greeted_by(port, 9)
    assert sorted(names[:3]) == ["a", "b", "c"]
    assert names == names[:3] * 3  # the same cycle, connection after connection


async def test_least_connections_prefers_the_idlest_endpoint(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    two = backends[:2]
    policy = {LB_POLICY_ANNOTATION: "least-connections"}
    port = await serve(store, proxy, "web", two, annotations=policy)
    first, second, third = [await connect(port) for _ in range(3)]
    assert first.name != second.name
    assert third.name == first.name  # a tie: round-robin order
    busy = second.name
    for client in (first, third):  # now `busy` has 1 open connection, the other none
        await client.finish()
    await eventually(lambda: sorted(proxy.open_connections(NS, "web").values()) == [1])
    fourth = await connect(port)
    assert fourth.name != busy  # round-robin would have picked `busy` here
    more = [await connect(port) for _ in range(4)]  # 1 + 1 open: they go 2 and 2
    counts = {b.name: b.open for b in two}
    assert counts == {"a": 3, "b": 3}
    for client in [second, fourth, *more]:
        client.close()


async def test_client_ip_affinity_pins_a_client_to_one_endpoint(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    affinity = SessionAffinityConfig(client_ip=ClientIPConfig(timeout_seconds=60))
    port = await serve(
        store,
        proxy,
        "web",
        backends,
        session_affinity="ClientIP",
        session_affinity_config=affinity,
    )
    names = await greeted_by(port, 6)
    assert len(set(names)) == 1  # every connection comes from 127.0.0.1
    put(store, make_service("web"))  # affinity off: round-robin again, same listener
    await eventually(lambda: not proxy._port(NS, "web", None).balancer.affinity_timeout_s)
    assert proxy.address(NS, "web")[1] == port
    assert len(set(await greeted_by(port, 3))) == 3


async def test_affinity_moves_when_the_pinned_endpoint_leaves(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    port = await serve(store, proxy, "web", backends[:2], session_affinity="ClientIP")
    (pinned,) = set(await greeted_by(port, 2))
    rest = [b for b in backends[:2] if b.name != pinned]
    put(store, make_endpoints("web", [b.port for b in rest]))
    await eventually(lambda: len(proxy.endpoints(NS, "web")) == 1)
    assert await greeted_by(port, 2) == [rest[0].name] * 2


async def test_a_dead_endpoint_is_skipped_without_a_client_error(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    put(store, make_service("web"))
    put(store, make_endpoints("web", [closed_port(), backends[0].port, closed_port()]))
    _, port = await proxy.wait_address(NS, "web")
    await eventually(lambda: len(proxy.endpoints(NS, "web")) == 3)
    assert await greeted_by(port, 9) == ["a"] * 9


async def test_an_endpoint_too_slow_to_accept_is_skipped(
    store: MemoryStore, backends: list[Backend]
) -> None:
    with socket.socket() as silent:  # a full accept queue: SYNs go unanswered
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)
        stuck = [socket.socket() for _ in range(3)]
        for sock in stuck:
            sock.setblocking(False)
            sock.connect_ex(silent.getsockname())
        proxy = ServiceProxy(store, connect_timeout_s=0.1)
        async with anyio.create_task_group() as group:
            await group.start(proxy.run)
            put(store, make_service("web"))
            put(store, make_endpoints("web", [silent.getsockname()[1], backends[0].port]))
            _, port = await proxy.wait_address(NS, "web")
            await eventually(lambda: len(proxy.endpoints(NS, "web")) == 2)
            assert await greeted_by(port, 4) == ["a"] * 4
            group.cancel_scope.cancel()
        for sock in stuck:
            sock.close()


async def test_no_endpoint_answering_resets_the_client(
    store: MemoryStore, proxy: ServiceProxy
) -> None:
    put(store, make_service("web"))
    put(store, make_endpoints("web", [closed_port(), closed_port()]))
    _, port = await proxy.wait_address(NS, "web")
    await eventually(lambda: len(proxy.endpoints(NS, "web")) == 2)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    with pytest.raises(ConnectionResetError):
        await reader.read()  # a reset, not a clean (empty) reply
    writer.close()


async def test_without_endpoints_connections_are_refused_on_the_same_port(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    put(store, make_service("web"))
    _, port = await proxy.wait_address(NS, "web")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    put(store, make_endpoints("web", [backends[0].port]))
    await eventually(lambda: len(proxy.endpoints(NS, "web")) == 1)
    assert await greeted_by(port, 1) == ["a"]
    put(store, make_endpoints("web", []))
    await eventually(lambda: not proxy.endpoints(NS, "web"))
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    put(store, make_endpoints("web", [backends[1].port]))
    await eventually(lambda: len(proxy.endpoints(NS, "web")) == 1)
    assert await greeted_by(port, 1) == ["b"]
    assert proxy.address(NS, "web")[1] == port


async def test_a_removed_endpoint_drains_its_open_connections(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    port = await serve(store, proxy, "web", backends[:2])
    long = await connect(port)
    assert await long.echo(b"before") == b"before"
    rest = [b for b in backends[:2] if b.name != long.name]
    put(store, make_endpoints("web", [b.port for b in rest]))
    await eventually(lambda: len(proxy.endpoints(NS, "web")) == 1)
    assert await greeted_by(port, 3) == [rest[0].name] * 3  # new connections go elsewhere
    assert await long.echo(b"during the drain") == b"during the drain"
    assert await long.finish() == b""  # then it ends cleanly, when the client ends it


async def test_connections_outliving_the_drain_are_cut(
    store: MemoryStore, backends: list[Backend]
) -> None:
    proxy = ServiceProxy(store, drain_s=0.2)
    async with anyio.create_task_group() as group:
        await group.start(proxy.run)
        port = await serve(store, proxy, "web", backends[:1])
        long = await connect(port)
        put(store, make_endpoints("web", [backends[1].port]))
        with anyio.fail_after(5):
            try:
                rest = await long.reader.read()
            except ConnectionResetError:
                rest = b""
        assert rest == b""
        long.close()
        await eventually(lambda: backends[0].open == 0)
        group.cancel_scope.cancel()


async def test_half_close_reaches_the_endpoint_and_the_reply_still_arrives(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    port = await serve(store, proxy, "web", backends[:1])
    client = await connect(port)
    client.writer.write(b"a request without a length, ended by EOF")
    client.writer.write_eof()
    # the backend echoes only after reading our EOF through the proxy
    assert await client.reader.read() == b"a request without a length, ended by EOF"
    client.close()


async def test_fifty_megabytes_arrive_intact(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    port = await serve(store, proxy, "web", backends[:1])
    client = await connect(port)
    payload = os.urandom(50 * 1024 * 1024)

    async def send() -> None:
        view = memoryview(payload)
        for start in range(0, len(view), 1 << 20):
            client.writer.write(view[start : start + (1 << 20)])
            await client.writer.drain()
        client.writer.write_eof()

    async with anyio.create_task_group() as group:
        group.start_soon(send)
        echoed = await client.reader.read()
    assert len(echoed) == len(payload)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
    client.close()


async def test_status_and_url_tell_where_each_port_listens(
    store: MemoryStore, proxy: ServiceProxy
) -> None:
    spec = ServiceSpec(
        ports=(
            ServicePort(name="http", port=80),
            ServicePort(name="dns", port=53, protocol="UDP"),
            ServicePort(name="admin", port=9000, app_protocol="https"),
        )
    )
    put(store, attrs.evolve(make_service("web"), spec=spec))
    http_url = await proxy.wait_url(NS, "web", "http")
    _, http = await proxy.wait_address(NS, "web", "http")
    assert http_url == f"http://127.0.0.1:{http}"
    _, admin = await proxy.wait_address(NS, "web", "admin")
    (ingress,) = store.get(Service, "web", NS).status.load_balancer.ingress
    assert ingress.ip == "127.0.0.1"
    assert [(p.port, p.protocol, p.error) for p in ingress.ports] == [
        (http, "TCP", None),
        (53, "UDP", "orbit.dev/UnsupportedProtocol"),
        (admin, "TCP", None),
    ]
    assert proxy.url(NS, "web", "http") == f"http://127.0.0.1:{http}"
    assert proxy.url(NS, "web", "admin") == f"https://127.0.0.1:{admin}"
    with pytest.raises(ValueError, match="several TCP ports"):
        proxy.url(NS, "web")
    with pytest.raises(NotServed):
        proxy.url(NS, "web", "dns")


async def test_a_taken_listen_port_is_reported_and_retried(
    store: MemoryStore, proxy: ServiceProxy
) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    wanted = holder.getsockname()[1]
    put(store, make_service("web", annotations={LISTEN_PORT_ANNOTATION: str(wanted)}))

    def error() -> str | None:
        ingress = store.get(Service, "web", NS).status.load_balancer.ingress
        return ingress[0].ports[0].error if ingress else None

    await eventually(lambda: error() is not None)
    assert error() == "orbit.dev/PortInUse"
    assert store.get(Service, "web", NS).status.load_balancer.ingress[0].ports[0].port == wanted
    reasons = [e.reason for e in store.list(Event, namespace=NS).items]
    assert "ListenFailed" in reasons
    with pytest.raises(NotServed, match="cannot listen"):
        proxy.address(NS, "web")
    holder.close()
    assert await proxy.wait_address(NS, "web") == ("127.0.0.1", wanted)
    await eventually(lambda: error() is None)


async def test_the_listener_stays_across_changes_and_goes_with_the_service(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    port = await serve(store, proxy, "web", backends[:1])
    for subset in ([0, 1], [2], [1, 2], [0]):
        ports = [backends[i].port for i in subset]
        put(store, make_endpoints("web", ports))
        await eventually(
            lambda ports=ports: [e.port for e in proxy.endpoints(NS, "web")] == sorted(ports)
        )
        assert proxy.address(NS, "web")[1] == port
    policy = {LB_POLICY_ANNOTATION: "least-connections"}
    put(store, make_service("web", annotations=policy))
    await eventually(lambda: proxy._port(NS, "web", None).balancer.policy == "least-connections")
    assert proxy.address(NS, "web")[1] == port
    assert await greeted_by(port, 1) == ["a"]
    store.delete(Service, "web", NS)
    await eventually(lambda: _refused(port))
    with pytest.raises(NotServed):
        proxy.address(NS, "web")


async def test_stopping_the_proxy_clears_the_status_it_wrote(store: MemoryStore) -> None:
    put(store, make_service("web"))
    proxy = ServiceProxy(store)
    async with anyio.create_task_group() as group:
        await group.start(proxy.run)
        assert store.get(Service, "web", NS).status.load_balancer.ingress
        group.cancel_scope.cancel()
    assert store.get(Service, "web", NS).status.load_balancer.ingress == ()


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class Hangup:
    """An endpoint that accepts, reads the request and closes without a byte of answer
    (a server killed with the request in flight, or one that closed its listening socket
    with the connection still in its backlog)."""

    def __init__(self, *, reset: bool) -> None:
        self.reset = reset
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Hangup:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        await reader.read(100)
        if self.reset:
            writer.transport.abort()
        else:
            writer.close()


async def request(port: int, body: bytes) -> bytes:
    """A client that speaks first: send, half-close, read the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(body)
    await writer.drain()
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
async def test_an_endpoint_that_ends_without_answering_is_replaced_unseen(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend], reset: bool
) -> None:
    async with Hangup(reset=reset) as hangup:
        put(store, make_service("web"))
        put(store, make_endpoints("web", [hangup.port, backends[0].port]))
        _, port = await proxy.wait_address(NS, "web")
        await eventually(lambda: len(proxy.endpoints(NS, "web")) == 2)
        answers = [await request(port, f"request {i}".encode()) for i in range(6)]
    # Every request reached the good endpoint, whole, though half went first to the
    # one that hung up on them.
    assert answers == [f"a\nrequest {i}".encode() for i in range(6)]
    assert hangup.accepted == 3
    assert backends[0].accepted == 6


async def test_with_no_other_endpoint_the_client_sees_the_hangup(
    store: MemoryStore, proxy: ServiceProxy
) -> None:
    async with Hangup(reset=False) as hangup:
        put(store, make_service("web"))
        put(store, make_endpoints("web", [hangup.port]))
        _, port = await proxy.wait_address(NS, "web")
        await eventually(lambda: len(proxy.endpoints(NS, "web")) == 1)
        assert await request(port, b"x" * 10) == b""
        assert hangup.accepted == 1


async def test_a_request_larger_than_the_replay_limit_is_not_sent_again(
    store: MemoryStore, proxy: ServiceProxy, backends: list[Backend]
) -> None:
    async with Hangup(reset=False) as hangup:
        put(store, make_service("web"))
        put(store, make_endpoints("web", [hangup.port, backends[0].port]))
        _, port = await proxy.wait_address(NS, "web")
        await eventually(lambda: len(proxy.endpoints(NS, "web")) == 2)
        if proxy.endpoints(NS, "web")[0].port != hangup.port:
            # Endpoints go round robin in (ip, port) order: make it the hangup's turn.
            assert await request(port, b"warm") == b"a\nwarm"
        before = backends[0].accepted
        big = b"y" * (REPLAY_LIMIT + 1)
        try:
            answer = await request(port, big)
        except ConnectionError:
            answer = b""
        assert answer == b""  # not replayed: the client sees the failure
        assert hangup.accepted == 1
        assert backends[0].accepted == before
