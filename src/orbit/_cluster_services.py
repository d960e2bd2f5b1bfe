"""The Cluster's Service verbs: ``service_url`` (where the service proxy listens) and,
for finding a Service's pods in-process, ``endpoints`` and ``watch_endpoints``.

Embedding code that routes requests itself (a client pool, a work dispatcher) needs
what the service proxy uses, without the proxy: where each of a Service's pods is
reached and whether it is ready. Both verbs read the Service's Endpoints object
(written by the endpoints controller, or by hand for a Service without a selector)
and flatten its subsets into one :class:`ServiceEndpoint` per address, with its ports by the
Service port's name. ``watch_endpoints`` is the store's watch on that one object (list,
then watch from the list's resourceVersion; no polling).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, Mapping

import attrs

from orbit.api import Endpoints
from orbit.errors import OrbitError, ResourceExpired
from orbit.store import Store

from ._cluster_parts import ClusterParts

__all__ = ["ServiceEndpoint", "ServicesMixin", "flatten_endpoints"]


@attrs.frozen(kw_only=True)
class ServiceEndpoint:
    """One address behind a Service.

    Attributes:
        host: where the pod is reached (``127.0.0.1``, or a remote Docker engine's
            address).
        ports: host port by Service port name (``""`` for a Service's one unnamed
            port); orbit allocates host ports per pod, so they differ between pods.
        ready: whether it takes traffic (``notReadyAddresses`` are listed as not ready).
        pod: the pod's name (``""`` for a manual address that names no pod).
    """

    host: str
    ports: Mapping[str, int]
    ready: bool
    pod: str = ""

    def address(self, port_name: str = "") -> str:
        """``host:port`` of the named port (``[host]:port`` for IPv6); ``KeyError``
        when this endpoint does not serve it."""
        port = self.ports[port_name]
        return f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"


def flatten_endpoints(endpoints: Endpoints | None) -> list[ServiceEndpoint]:
    """One :class:`ServiceEndpoint` per (address, readiness) of ``endpoints`` (an address
    split over several subsets is merged), sorted by pod name, host and ports."""
    if endpoints is None:
        return []
    merged: dict[tuple[str, str, bool], dict[str, int]] = {}
    names: dict[tuple[str, str, bool], str] = {}
    for subset in endpoints.subsets:
        ports = {port.name: port.port for port in subset.ports}
        for ready, addresses in ((True, subset.addresses), (False, subset.not_ready_addresses)):
            for address in addresses:
                ref = address.target_ref
                key = (address.ip, ref.uid if ref is not None else "", ready)
                merged.setdefault(key, {}).update(ports)
                names[key] = ref.name if ref is not None else ""
    found = [
        ServiceEndpoint(host=key[0], ports=ports, ready=key[2], pod=names[key])
        for key, ports in merged.items()
    ]
    return sorted(found, key=lambda e: (e.pod, e.host, sorted(e.ports.items()), not e.ready))


def _get(store: Store, name: str, namespace: str) -> tuple[Endpoints | None, str]:
    """The Endpoints (or None) and the resourceVersion to watch from."""
    listed = store.list(Endpoints, namespace=namespace, field_selector={"metadata.name": name})
    return (listed.items[0] if listed.items else None), listed.resource_version


async def _follow(
    store: Store, name: str, namespace: str
) -> AsyncGenerator[list[ServiceEndpoint], None]:
    last: list[ServiceEndpoint] | None = None
    while True:
        current, resource_version = _get(store, name, namespace)
        flat = flatten_endpoints(current)
        if flat != last:
            last = flat
            yield flat
        try:
            async with store.watch(
                Endpoints,
                namespace=namespace,
                field_selector={"metadata.name": name},
                resource_version=resource_version,
            ) as watch:
                async for event in watch:
                    flat = flatten_endpoints(None if event.type == "DELETED" else event.object)
                    if flat != last:
                        last = flat
                        yield flat
            return  # the store closed its watches
        except ResourceExpired:
            continue  # fell behind: list again


class ServicesMixin(ClusterParts):
    """The Service verbs of :class:`orbit.Cluster`: where the proxy serves a Service,
    and its endpoints for routing in-process."""

    async def service_url(
        self,
        name: str,
        port_name: str | None = None,
        *,
        namespace: str = "default",
        timeout_s: float = 10.0,
    ) -> str:
        """``http://127.0.0.1:<port>`` where orbit's service proxy serves a Service port
        (``port_name`` may be left out for a Service with one port; ``https`` when the
        port's name or appProtocol says so). Waits up to ``timeout_s`` for a Service
        applied a moment ago to be listening."""
        if self.proxy is None:
            raise OrbitError(
                "this cluster runs no service proxy (service_proxy=False, or the simulator)"
            )
        await self.proxy.wait_address(namespace, name, port_name, timeout_s=timeout_s)
        return self.proxy.url(namespace, name, port_name)

    async def endpoints(
        self, service: str, namespace: str = "default"
    ) -> builtins.list[ServiceEndpoint]:
        """The addresses behind a Service now, ready or not (``ServiceEndpoint.ready``); empty
        when it has no Endpoints (yet). Route to the ready ones."""
        current, _ = _get(self.store, service, namespace)
        return flatten_endpoints(current)

    def watch_endpoints(
        self, service: str, namespace: str = "default"
    ) -> AsyncGenerator[builtins.list[ServiceEndpoint], None]:
        """An async iterator of a Service's endpoints: the current list first, then
        the new list whenever it changes (an empty list when the Endpoints go).

        ::

            async for endpoints in cluster.watch_endpoints("web"):
                pool.update([e.address("http") for e in endpoints if e.ready])

        It is an async generator: leave it with ``break`` inside ``async with
        contextlib.aclosing(...)`` to stop its watch at once. A consumer that falls
        far behind skips to the latest list (it is listed again), never a stale one.
        """
        return _follow(self.store, service, namespace)
