"""One proxied Service port: its listener, its balancer and its open connections.

A :class:`PortProxy` accepts connections in a reader callback on its listening socket,
and dials each in a short task of its own (``connect``): the endpoints in the balancer's
plan, one after the other, each at most once, each with a short connect timeout
(kube-proxy's old userspace mode retried the same way, with growing dial timeouts). The
first that answers is joined to the client by a :class:`~orbit.net._relay.Relay`, and from then on
the connection is callbacks only. When none answers the client gets a reset.

Endpoint changes never touch the listener: the balancer gets the new list, new
connections go to the new endpoints, and connections to an endpoint that left keep
going (draining) until they end or ``drain_s`` passes, then they are aborted. With no
endpoint at all the listener refuses connections (see :mod:`orbit.net._listener`) and
accepts again when one comes back, on the same port.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs

from orbit.api import PortStatus
from orbit.clock import Clock

from ._balance import Balancer, Endpoint, Policy
from ._listener import Listener, PortSource, reset
from ._plan import PortPlan, diff_endpoints
from ._relay import Relay

__all__ = ["PortProxy", "Settings", "listen_error"]

_log = logging.getLogger("orbit.net")

Spawn = Callable[..., None]
"""Starts ``async_fn(*args)`` in a task the proxy owns (``TaskSet.spawn``)."""

_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


@attrs.frozen(kw_only=True)
class Settings:
    """The proxy-wide knobs every port shares (see ``ServiceProxy``)."""

    address: str
    ports: PortSource
    clock: Clock
    backlog: int = 1024
    connect_timeout_s: float = 1.0
    drain_s: float = 30.0
    high_water: int = 256 * 1024
    low_water: int = 64 * 1024


def listen_error(exc: OSError) -> str:
    """The ``PortStatus.error`` reason for a failed bind (CamelCase, domain-prefixed)."""
    if exc.errno == errno.EADDRINUSE:
        return "orbit.dev/PortInUse"
    if exc.errno == errno.EACCES:
        return "orbit.dev/PermissionDenied"
    return "orbit.dev/ListenFailed"


class PortProxy:
    """Serves one Service port (module docstring). ``name`` is ``ns/svc:port`` for logs."""

    def __init__(self, name: str, plan: PortPlan, settings: Settings, spawn: Spawn) -> None:
        self.name = name
        self.plan = plan
        self._settings = settings
        self._spawn = spawn
        self.balancer = Balancer(settings.clock)
        self.listener: Listener | None = None
        self.error: str | None = None
        self.error_message = ""
        self.connections: dict[Endpoint, set[Relay]] = {}
        self._draining: dict[Endpoint, float] = {}  # endpoint that left -> drain deadline
        self._reading = False  # the loop watches the listening socket
        self._failing = False  # the last connection found no endpoint answering
        self.closed = False
        self.accepted = 0  # connections accepted since the listener opened (for metrics)

    # -- control (called from the proxy's watch handlers; never blocks) -----------------

    def open(self) -> bool:
        """Bind the listener (again, after a failure) and start accepting; False (with
        ``error`` set) when the port cannot be had."""
        if self.listener is not None or self.closed:
            return self.listener is not None
        settings = self._settings
        try:
            self.listener = Listener.open(
                settings.address,
                self.plan.listen_port,
                ports=settings.ports,
                backlog=settings.backlog,
            )
        except OSError as exc:
            self.error = listen_error(exc)
            port = self.plan.listen_port or "a free port"
            self.error_message = f"cannot listen on {settings.address}:{port}: {exc.strerror}"
            return False
        self.error, self.error_message = None, ""
        self._set_accepting(bool(self.balancer))
        return True

    def configure(self, policy: Policy, affinity_timeout_s: float | None) -> None:
        self.balancer.configure(policy=policy, affinity_timeout_s=affinity_timeout_s)

    def set_endpoints(self, endpoints: tuple[Endpoint, ...]) -> None:
        """New endpoints for new connections; connections to ones that left drain."""
        if self.closed or endpoints == self.balancer.endpoints:
            return
        diff = diff_endpoints(self.balancer.endpoints, endpoints)
        self.balancer.update(endpoints)
        for endpoint in diff.added:
            self._draining.pop(endpoint, None)
        for endpoint in diff.removed:
            if self.connections.get(endpoint):
                self._drain(endpoint)
        self._set_accepting(bool(endpoints))

    def close(self, *, abort: bool = False) -> None:
        """Stop listening; open connections drain (or are aborted at once)."""
        if not self.closed:
            self._watch_socket(False)
            self.closed = True
            if self.listener is not None:
                self.listener.close()
            self.balancer.update(())
            for endpoint in list(self.connections):
                self._drain(endpoint)
        if abort:
            for relays in list(self.connections.values()):
                for relay in list(relays):
                    relay.abort()

    def status(self) -> PortStatus:
        """This port's entry in ``status.loadBalancer.ingress[].ports``."""
        if self.listener is not None:
            return PortStatus(port=self.listener.port, protocol="TCP")
        return PortStatus(port=self.plan.listen_port, protocol="TCP", error=self.error)

    @property
    def open_connections(self) -> int:
        """Connections joined to an endpoint and open now (draining ones included)."""
        return sum(len(relays) for relays in self.connections.values())

    @property
    def listen_port(self) -> int | None:
        return self.listener.port if self.listener is not None and not self.closed else None

    # -- accepting ---------------------------------------------------------------------
    # A reader callback on the listening socket, not a task awaiting ``sock_accept``:
    # adding and removing a reader takes effect at once, so refusing (or closing) never
    # races with an accept the loop has already scheduled.

    def _set_accepting(self, accepting: bool) -> None:
        listener = self.listener
        if listener is None or self.closed:
            return
        if accepting:
            try:
                listener.resume()
            except OSError as exc:  # someone bound the port while we refused
                _log.warning("%s: cannot listen again on %s: %s", self.name, listener, exc)
                return
            self._watch_socket(True)
        elif listener.can_refuse:
            self._watch_socket(False)
            if not listener.refuse():  # this system cannot: accept and reset instead
                self._watch_socket(True)

    def _watch_socket(self, on: bool) -> None:
        listener = self.listener
        if listener is None or on == self._reading:
            return
        loop = asyncio.get_running_loop()
        if on:
            loop.add_reader(listener.sock.fileno(), self._accept)
        else:
            loop.remove_reader(listener.sock.fileno())
        self._reading = on

    def _accept(self) -> None:
        """The listening socket is readable: accept what is pending, as asyncio's own
        servers do (at most ``backlog`` at a time)."""
        listener = self.listener
        if listener is None:
            return
        for _ in range(listener.backlog):
            try:
                sock, address = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                self._accept_failed(exc)
                return
            sock.setblocking(False)
            self.accepted += 1
            if not self.balancer:  # no endpoint, and the listener cannot refuse
                reset(sock)
                continue
            self._spawn(self._connect, sock, str(address[0]))

    def _accept_failed(self, exc: OSError) -> None:
        if exc.errno not in _OUT_OF_RESOURCES:
            _log.warning("%s: accept failed: %s", self.name, exc)
            return
        # out of file descriptors or memory: pause a second, as asyncio's servers do
        _log.warning("%s: accept failed (%s); pausing for 1 s", self.name, exc)
        self._watch_socket(False)
        self._spawn(self._accept_later, 1.0)

    async def _accept_later(self, delay_s: float) -> None:
        await self._settings.clock.sleep(delay_s)
        if self.listener is not None and self.listener.listening and not self.closed:
            self._watch_socket(True)

    # -- one connection ----------------------------------------------------------------

    async def _connect(self, sock: socket.socket, client_ip: str) -> None:
        """Dial an endpoint for an accepted socket and join the two, or reset it."""
        owned: socket.socket | None = sock
        try:
            relay = await self._dial(client_ip)
            if relay is None:
                level = logging.INFO if self._failing else logging.WARNING
                _log.log(level, "%s: no endpoint answered; connection reset", self.name)
                self._failing = True  # warn once per outage, not once per connection
                return
            self._failing = False
            client = relay.client
            await asyncio.get_running_loop().connect_accepted_socket(lambda: client, sock)
            owned = None  # the transport has it now
            if relay.done:  # aborted (drained) or lost while the client was wrapped
                relay.abort()
                return
            settings = self._settings
            relay.start(high_water=settings.high_water, low_water=settings.low_water)
        finally:
            if owned is not None:
                reset(owned)

    async def _dial(self, client_ip: str) -> Relay | None:
        """The first endpoint of the plan that accepts a connection, joined to a new
        relay; each endpoint is tried once."""
        for endpoint in self.balancer.plan(client_ip):
            if endpoint not in self.balancer:
                continue  # it left while an earlier one was being tried
            relay = Relay(endpoint, self._relay_closed, self._redispatch, client_ip)
            if not await self._connect_one(relay.upstream, endpoint):
                continue
            self._attach(relay, endpoint)
            return relay
        return None

    async def _connect_one(self, protocol: asyncio.Protocol, endpoint: Endpoint) -> bool:
        """Connect ``protocol`` to ``endpoint`` within the connect timeout, counting it
        on the endpoint (released again when the connection fails)."""
        balancer = self.balancer
        balancer.acquire(endpoint)
        try:
            with anyio.fail_after(self._settings.connect_timeout_s):
                await _connect_to(asyncio.get_running_loop(), protocol, endpoint)
        except (OSError, TimeoutError) as exc:
            balancer.release(endpoint)
            _log.info("%s: endpoint %s failed (%s); trying another", self.name, endpoint, exc)
            return False
        except BaseException:
            balancer.release(endpoint)
            raise
        return True

    def _attach(self, relay: Relay, endpoint: Endpoint) -> None:
        """Count ``relay`` as a connection to ``endpoint``."""
        self.connections.setdefault(endpoint, set()).add(relay)
        if endpoint not in self.balancer:  # left while we dialled: drains with the rest
            self._drain(endpoint)
        self.balancer.connected(relay.client_ip, endpoint)

    def _redispatch(self, relay: Relay) -> bool:
        """``relay``'s endpoint ended before answering: move it to another endpoint
        (in a task); ``False`` when none is left to try."""
        candidates = [e for e in self.balancer.plan(relay.client_ip) if e not in relay.tried]
        if not candidates:
            return False
        self._spawn(self._reconnect, relay)
        return True

    async def _reconnect(self, relay: Relay) -> None:
        _log.info(
            "%s: %s ended without an answer; sending the request to another",
            self.name,
            relay.endpoint,
        )
        for endpoint in self.balancer.plan(relay.client_ip):
            if endpoint in relay.tried or endpoint not in self.balancer or relay.done:
                continue
            relay.tried.add(endpoint)
            if not await self._connect_one(relay.upstream, endpoint):
                continue
            if _ended(relay):  # the client went meanwhile
                self.balancer.release(endpoint)
                relay.abort()
                return
            self._forget(relay)  # the endpoint that failed
            self._attach(relay, endpoint)
            relay.reconnected(endpoint)
            return
        relay.give_up()

    def _forget(self, relay: Relay) -> None:
        """``relay`` no longer uses its endpoint."""
        endpoint = relay.endpoint
        relays = self.connections.get(endpoint)
        if relays is not None:
            relays.discard(relay)
            if not relays:
                del self.connections[endpoint]
                self._draining.pop(endpoint, None)
        self.balancer.release(endpoint)

    def _relay_closed(self, relay: Relay) -> None:
        self._forget(relay)

    # -- draining ----------------------------------------------------------------------

    def _drain(self, endpoint: Endpoint) -> None:
        """Give the open connections to ``endpoint`` ``drain_s`` to end on their own."""
        if endpoint in self._draining:
            return
        drain_s = self._settings.drain_s
        deadline = self._settings.clock.monotonic() + drain_s
        self._draining[endpoint] = deadline
        if drain_s <= 0:
            self._cut(endpoint, deadline)
        else:
            self._spawn(self._drain_after, endpoint, deadline)

    async def _drain_after(self, endpoint: Endpoint, deadline: float) -> None:
        await self._settings.clock.sleep(self._settings.drain_s)
        self._cut(endpoint, deadline)

    def _cut(self, endpoint: Endpoint, deadline: float) -> None:
        """Abort what is left of a drain, unless the endpoint came back meanwhile."""
        if self._draining.get(endpoint) != deadline:
            return
        del self._draining[endpoint]
        relays = list(self.connections.get(endpoint, ()))
        if relays:
            _log.info(
                "%s: %d connection(s) to %s outlived the drain; aborted",
                self.name,
                len(relays),
                endpoint,
            )
        for relay in relays:
            relay.abort()


def _ended(relay: Relay) -> bool:
    """Whether the relay ended (read fresh: it changes while a dial is awaited)."""
    return relay.done


def _connect_to(
    loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol, endpoint: Endpoint
) -> Awaitable[Any]:
    """Connect ``protocol`` (made already: the relay's upstream side) to ``endpoint``."""
    return loop.create_connection(lambda: protocol, endpoint.ip, endpoint.port)
