"""``ServiceProxy``: orbit's kube-proxy, in-process.

It watches Services and Endpoints and keeps one :class:`~orbit.net._port.PortProxy` (a
TCP listener and its balancer) per TCP port of every proxied Service. Where each port
listens is written to the Service's ``status.loadBalancer.ingress`` (one entry, ``ip``
the listen address, ``ports[i]`` for ``spec.ports[i]``: the port listened on, or the
port that could not be served with ``error`` set) and answered by :meth:`url` and
:meth:`address`. A Service change re-plans its ports (a listener is only replaced when
the port it should listen on changes); an Endpoints change only updates the balancers.

A port that cannot be bound (taken, privileged) gets a Warning event ``ListenFailed``
and an ``error`` in its status, and is tried again every ``retry_s``.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.abc
import attrs

from orbit.api import (
    Endpoints,
    LoadBalancerIngress,
    LoadBalancerStatus,
    PortStatus,
    Service,
)
from orbit.clock import Clock, current_clock
from orbit.errors import Conflict, NotFound, OrbitError
from orbit.store import EventRecorder, EventType, Store

from ._balance import Endpoint, Policy
from ._listener import KernelPorts, PortSource
from ._plan import ServicePlan, plan_service, ready_endpoints
from ._port import PortProxy, Settings
from ._tasks import TaskSet
from ._watching import follow

__all__ = ["NotServed", "ServiceProxy"]

_log = logging.getLogger("orbit.net")

Key = tuple[str, str]  # (namespace, name)


class NotServed(OrbitError, LookupError):
    """A Service port the proxy does not serve (now): no such Service or port, a
    headless or ExternalName Service, or a port that could not be bound."""


@attrs.define
class _Proxied:
    """A proxied Service: its plan, its served ports by name, the problems reported."""

    plan: ServicePlan
    ports: dict[str, PortProxy] = attrs.Factory(dict)
    reported: tuple[str, ...] = ()


class ServiceProxy:
    """Listens for every TCP port of every ClusterIP, NodePort and LoadBalancer Service
    and spreads the connections over the Service's ready endpoints.

    Run it in a task group: ``await group.start(proxy.run)``; when ``start`` returns,
    the Services that existed are listening. See ``docs/services.md``.

    Args:
        store: where Services and Endpoints are read and Service statuses written.
        address: the address every listener binds (loopback by default; ``"0.0.0.0"``
            serves every interface, which is a choice to make on purpose).
        clock: drain deadlines, affinity expiry and bind retries (default: the loop's).
        use_service_port: listen on each Service port's ``port`` instead of a free port
            (see :mod:`orbit.net._plan` for the order of the rules).
        policy: the balancing of Services without a ``service.orbit.dev/lb-policy``
            annotation: ``round-robin`` or ``least-connections``.
        ports: where free ports come from (default: the kernel); pass the cluster's
            ``orbit.node.SocketPorts`` so proxy ports and pod ports never collide.
        connect_timeout_s: how long one endpoint may take to accept a connection before
            the next is tried.
        drain_s: how long connections to an endpoint that left may go on.
        retry_s: how often a port that could not be bound is tried again.
        backlog: the listen backlog.
        high_water: write-buffer bytes per connection and direction above which the
            other side stops being read (``low_water``: where reading resumes).
    """

    def __init__(
        self,
        store: Store,
        *,
        address: str = "127.0.0.1",
        clock: Clock | None = None,
        use_service_port: bool = False,
        policy: Policy = "round-robin",
        ports: PortSource | None = None,
        connect_timeout_s: float = 1.0,
        drain_s: float = 30.0,
        retry_s: float = 5.0,
        backlog: int = 1024,
        high_water: int = 256 * 1024,
        low_water: int = 64 * 1024,
    ) -> None:
        self.store = store
        self.listen_address = address
        self.clock = clock or current_clock()
        self.use_service_port = use_service_port
        self.policy: Policy = policy
        self.retry_s = retry_s
        self._settings = Settings(
            address=address,
            ports=ports if ports is not None else KernelPorts(address),
            clock=self.clock,
            backlog=backlog,
            connect_timeout_s=connect_timeout_s,
            drain_s=drain_s,
            high_water=high_water,
            low_water=low_water,
        )
        self._events = EventRecorder(store, self.clock, component="service-proxy")
        self._services: dict[Key, Service] = {}
        self._endpoints: dict[Key, Endpoints] = {}
        self._proxied: dict[Key, _Proxied] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._tasks = TaskSet()  # the ports' dial and drain tasks
        self._changed: anyio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Proxy until cancelled; then close every listener and connection and clear
        the statuses this proxy wrote."""
        self._changed = anyio.Event()
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                services = self.store.list(Service)
                endpoints = self.store.list(Endpoints)
                self._endpoints_listed(endpoints.items)
                self._services_listed(services.items)
                group.start_soon(self._follow, Service, services.resource_version)
                group.start_soon(self._follow, Endpoints, endpoints.resource_version)
                group.start_soon(self._retry_binds)
                task_status.started()
        finally:
            self._group = None
            self._stop()
            with anyio.CancelScope(shield=True):
                await self._tasks.aclose()

    async def _follow(self, kind: type[Any], resource_version: str) -> None:
        if kind is Service:
            await follow(
                self.store,
                Service,
                resource_version,
                listed=self._services_listed,
                changed=self._service_changed,
            )
        else:
            await follow(
                self.store,
                Endpoints,
                resource_version,
                listed=self._endpoints_listed,
                changed=self._endpoints_changed,
            )

    def _stop(self) -> None:
        for key, proxied in list(self._proxied.items()):
            for port in proxied.ports.values():
                port.close(abort=True)
            service = self._services.get(key)
            if service is not None:
                self._write_status(service, None)
        self._proxied.clear()
        self._notify()

    # -- where Services are served -----------------------------------------------------

    def address(self, namespace: str, name: str, port_name: str | None = None) -> tuple[str, int]:
        """The host and port where a Service port is served now.

        ``port_name`` may be left out when the Service has one TCP port. ``NotServed``
        when the Service is not proxied (yet) or its port is not listening.
        """
        port = self._port(namespace, name, port_name)
        if port.listen_port is None:
            detail = port.error_message or "not listening yet"
            raise NotServed(f"service {namespace}/{name} port {port.plan.name!r}: {detail}")
        return self._client_host(), port.listen_port

    def url(
        self,
        namespace: str,
        name: str,
        port_name: str | None = None,
        *,
        scheme: str | None = None,
    ) -> str:
        """``scheme://host:port`` of a Service port (see :meth:`address`). The scheme is
        ``https`` when the port's ``appProtocol`` or name says so, else ``http``."""
        port = self._port(namespace, name, port_name)
        host, number = self.address(namespace, name, port.plan.name)
        if scheme is None:
            https = "https" in (port.plan.app_protocol, port.plan.name)
            scheme = "https" if https else "http"
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{number}"

    async def wait_address(
        self,
        namespace: str,
        name: str,
        port_name: str | None = None,
        *,
        timeout_s: float = 10.0,
    ) -> tuple[str, int]:
        """:meth:`address`, once the proxy serves the port (``TimeoutError`` after
        ``timeout_s``): for a Service applied a moment ago."""
        with anyio.fail_after(timeout_s):
            while True:
                changed = self._changed
                if changed is None:
                    raise RuntimeError("ServiceProxy.wait_address before run() started")
                try:
                    return self.address(namespace, name, port_name)
                except NotServed:
                    await changed.wait()

    def endpoints(
        self, namespace: str, name: str, port_name: str | None = None
    ) -> tuple[Endpoint, ...]:
        """The endpoints new connections to a Service port go to now."""
        return self._port(namespace, name, port_name).balancer.endpoints

    def open_connections(
        self, namespace: str, name: str, port_name: str | None = None
    ) -> dict[Endpoint, int]:
        """Connections open (or being dialled) through a Service port, per endpoint;
        endpoints that left appear while their connections drain."""
        return dict(self._port(namespace, name, port_name).balancer.active)

    def connection_counts(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(namespace, service, port name or number) -> (connections accepted, open
        now) for every served port, read-only (orbit's metrics read it at scrape time).
        A port's count starts again when its listener is replaced."""
        counts = {}
        for (namespace, name), proxied in self._proxied.items():
            for port_name, port in proxied.ports.items():
                label = port_name or str(port.plan.port)
                counts[namespace, name, label] = (port.accepted, port.open_connections)
        return counts

    async def wait_url(
        self,
        namespace: str,
        name: str,
        port_name: str | None = None,
        *,
        scheme: str | None = None,
        timeout_s: float = 10.0,
    ) -> str:
        """:meth:`url`, once the proxy serves the port (see :meth:`wait_address`)."""
        await self.wait_address(namespace, name, port_name, timeout_s=timeout_s)
        return self.url(namespace, name, port_name, scheme=scheme)

    def _port(self, namespace: str, name: str, port_name: str | None) -> PortProxy:
        proxied = self._proxied.get((namespace, name))
        if proxied is None:
            raise NotServed(
                f"service {namespace}/{name} is not proxied "
                "(no such Service, or it is headless or an ExternalName)"
            )
        if port_name is None:
            if len(proxied.ports) != 1:
                names = ", ".join(sorted(proxied.ports)) or "none"
                raise ValueError(
                    f"service {namespace}/{name} has several TCP ports ({names}): name one"
                )
            (port,) = proxied.ports.values()
            return port
        found = proxied.ports.get(port_name)
        if found is None:
            raise NotServed(f"service {namespace}/{name} has no TCP port named {port_name!r}")
        return found

    def _client_host(self) -> str:
        """The address clients dial: loopback when listening on every interface."""
        address = self.listen_address
        if address in ("", "0.0.0.0"):
            return "127.0.0.1"
        return "::1" if address == "::" else address

    # -- watch handlers ----------------------------------------------------------------

    def _services_listed(self, items: list[Service]) -> None:
        now = {_key(service): service for service in items}
        gone = [key for key in self._services if key not in now]
        self._services = now
        for key in [*gone, *now]:
            self._sync(key)

    def _service_changed(self, event: EventType, service: Service) -> None:
        key = _key(service)
        if event == "DELETED":
            self._services.pop(key, None)
        else:
            self._services[key] = service
        self._sync(key)

    def _endpoints_listed(self, items: list[Endpoints]) -> None:
        now = {_key(endpoints): endpoints for endpoints in items}
        gone = [key for key in self._endpoints if key not in now]
        self._endpoints = now
        for key in [*gone, *now]:
            self._sync_endpoints(key)

    def _endpoints_changed(self, event: EventType, endpoints: Endpoints) -> None:
        key = _key(endpoints)
        if event == "DELETED":
            self._endpoints.pop(key, None)
        else:
            self._endpoints[key] = endpoints
        self._sync_endpoints(key)

    def _sync_endpoints(self, key: Key) -> None:
        proxied = self._proxied.get(key)
        if proxied is None:
            return
        endpoints = self._endpoints.get(key)
        for name, port in proxied.ports.items():
            port.set_endpoints(ready_endpoints(endpoints, name))

    # -- reconciling one Service -------------------------------------------------------

    def _sync(self, key: Key) -> None:
        """Make the listeners of one Service match its spec, then its status."""
        service = self._services.get(key)
        plan = None
        if service is not None:
            plan = plan_service(
                service, use_service_port=self.use_service_port, default_policy=self.policy
            )
        proxied = self._proxied.get(key)
        if plan is None:
            if proxied is not None:
                for port in proxied.ports.values():
                    port.close()
                del self._proxied[key]
                self._notify()
            if service is not None:
                self._write_status(service, None)
            return
        assert service is not None
        if proxied is None:
            proxied = self._proxied[key] = _Proxied(plan)
        proxied.plan = plan
        if plan.problems != proxied.reported:
            proxied.reported = plan.problems
            for problem in plan.problems:
                self._event(service, "InvalidAnnotation", problem)
        self._sync_ports(service, proxied)
        self._write_status(service, self._ingress(proxied))
        self._notify()

    def _sync_ports(self, service: Service, proxied: _Proxied) -> None:
        plan = proxied.plan
        wanted = {port.name: port for port in plan.ports if port.error is None}
        for name, port in list(proxied.ports.items()):
            if name not in wanted or wanted[name].listen_port != port.plan.listen_port:
                port.close()  # removed, or asked to listen elsewhere
                del proxied.ports[name]
        endpoints = self._endpoints.get(_key(service))
        for name, port_plan in wanted.items():
            known = proxied.ports.get(name)
            if known is not None:
                known.plan = port_plan
                known.configure(plan.policy, plan.affinity_timeout_s)
                continue
            label = f"{service.metadata.namespace}/{service.metadata.name}:{name or port_plan.port}"
            port = PortProxy(label, port_plan, self._settings, self._tasks.spawn)
            proxied.ports[name] = port
            port.configure(plan.policy, plan.affinity_timeout_s)
            port.set_endpoints(ready_endpoints(endpoints, name))
            if not port.open():
                self._event(service, "ListenFailed", f"port {label}: {port.error_message}")

    async def _retry_binds(self) -> None:
        """Try the ports that could not be bound again, every ``retry_s``."""
        while True:
            await self.clock.sleep(self.retry_s)
            for key, proxied in list(self._proxied.items()):
                failed = [port for port in proxied.ports.values() if port.listener is None]
                opened = [port.open() for port in failed]
                service = self._services.get(key)
                if any(opened) and service is not None:
                    _log.info("service %s/%s: a port failed before listens now", *key)
                    self._write_status(service, self._ingress(proxied))
                    self._notify()

    # -- status and events -------------------------------------------------------------

    def _ingress(self, proxied: _Proxied) -> LoadBalancerIngress:
        ports: list[PortStatus] = []
        for plan in proxied.plan.ports:
            port = proxied.ports.get(plan.name) if plan.error is None else None
            if port is None:
                ports.append(PortStatus(port=plan.port, protocol=plan.protocol, error=plan.error))
            else:
                ports.append(port.status())
        return LoadBalancerIngress(ip=self.listen_address, ports=tuple(ports))

    def _write_status(self, service: Service, ingress: LoadBalancerIngress | None) -> None:
        """Set (or clear) the Service's ``status.loadBalancer`` if it differs."""
        wanted = LoadBalancerStatus(ingress=() if ingress is None else (ingress,))
        meta = service.metadata
        try:
            current = self.store.get(Service, meta.name, meta.namespace)
            if current.status.load_balancer == wanted:
                return
            status = attrs.evolve(current.status, load_balancer=wanted)
            self.store.update_status(attrs.evolve(current, status=status))
        except (NotFound, Conflict):
            pass  # deleted, or changed since: its own event brings it back here

    def _event(self, service: Service, reason: str, message: str) -> None:
        meta = service.metadata
        _log.warning("service %s/%s: %s", meta.namespace, meta.name, message)
        try:
            self._events.record(service, "Warning", reason, message)
        except Exception:  # an event is a courtesy: never let it stop the proxy
            _log.exception("could not record a %s event", reason)

    def _notify(self) -> None:
        """Wake :meth:`wait_address` callers: listeners changed."""
        if self._changed is not None:
            self._changed.set()
            self._changed = anyio.Event()


def _key(obj: Any) -> Key:
    return (obj.metadata.namespace, obj.metadata.name)
