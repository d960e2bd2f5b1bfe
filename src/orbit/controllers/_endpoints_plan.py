"""The endpoints controller's pure decisions: which pods a Service lists, where each
is reached, and how the addresses pack into subsets.

Kubernetes' ``syncService`` (``pkg/controller/endpoint/endpoints_controller.go``) in
plain functions over data:

- a pod is listed when it is neither finished (Succeeded / Failed) nor terminating
  (``deletionTimestamp`` set) and can be reached; ready pods go to ``addresses``, the
  others to ``notReadyAddresses`` unless the Service has
  ``publishNotReadyAddresses`` (Kubernetes' ``ShouldPodBeInEndpoints`` and
  ``addEndpointSubset``). Kubernetes keeps terminating pods when
  ``publishNotReadyAddresses`` is set; orbit never does, so a pod always leaves its
  endpoints before its containers are stopped (docs/services.md);
- where a pod is reached: a Kubernetes pod serves at ``podIP:containerPort``; an orbit
  pod's container port is bound to a host port allocated per pod, published in the
  pod's ``orbit.dev/ports`` annotation (``{"http": "127.0.0.1:41234"}``, keyed by the
  port's name or, unnamed, its number). A Service port's ``targetPort`` picks the
  pod's container port as Kubernetes' ``FindPort`` does (a name: the app container
  port of that name and protocol; a number: the one with that ``containerPort``), and
  the address and port written are the annotation's host and host port. A pod whose
  port is not declared or not yet allocated is left out for that Service port;
- subsets are packed as Kubernetes' ``RepackSubsets`` packs them: each endpoint port
  maps to the set of addresses serving it, and ports served by the same set share a
  subset. orbit's host ports differ per pod, so in practice each pod gets a subset of
  its own. The order is deterministic: addresses by (ip, pod name, uid), ports by
  (name, port, protocol), subsets by their addresses (ready or not) then ports
  (Kubernetes sorts by hashes, which orders nothing a reader can follow).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from orbit.api import (
    PORTS_ANNOTATION,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    ObjectMeta,
    ObjectReference,
    Pod,
    Service,
    ServicePort,
    as_selector,
    parse_port_addresses,
)

from ._pods import FINISHED_PHASES, is_ready

__all__ = [
    "HEADLESS_LABEL",
    "PodPart",
    "desired_endpoints",
    "endpoint_subsets",
    "manages",
    "merge_parts",
    "pod_listed",
    "pod_part",
    "pod_subsets",
    "repack_subsets",
    "target_port_key",
]

HEADLESS_LABEL = "service.kubernetes.io/headless"
"""Kubernetes' label on the Endpoints of a headless Service (``clusterIP: None``)."""


def target_port_key(pod: Pod, port: ServicePort) -> str | None:
    """The ``orbit.dev/ports`` key of the app container port ``port.target_port``
    names (Kubernetes' ``FindPort``: by name and protocol, or by number and protocol);
    ``None`` when no container declares it."""
    target = port.target_port
    for container in pod.spec.containers:
        for declared in container.ports:
            if declared.protocol != port.protocol:
                continue
            if isinstance(target, str):
                if declared.name == target:
                    return declared.name
            elif declared.container_port == target:
                return declared.name or str(declared.container_port)
    return None


def manages(service: Service) -> bool:
    """Whether the controller writes this Service's Endpoints: it has a selector and is
    not an ExternalName (both are left to the user, as in Kubernetes)."""
    return bool(service.spec.selector) and service.spec.type != "ExternalName"


def pod_listed(pod: Pod) -> bool:
    """Whether a pod may appear in any Endpoints: not finished, not terminating."""
    return pod.status.phase not in FINISHED_PHASES and pod.metadata.deletion_timestamp is None


def _address(service: Service, pod: Pod, ip: str) -> EndpointAddress:
    """Kubernetes' ``podToEndpointAddressForService`` (the hostname only when the pod
    names this Service as its subdomain: ``ShouldSetHostname``)."""
    meta, spec = pod.metadata, pod.spec
    hostname = ""
    if spec.hostname and spec.subdomain == service.metadata.name:
        hostname = spec.hostname
    return EndpointAddress(
        ip=ip,
        hostname=hostname,
        node_name=spec.node_name or None,
        target_ref=ObjectReference(
            kind="Pod", namespace=meta.namespace, name=meta.name, uid=meta.uid
        ),
    )


def pod_subsets(service: Service, pod: Pod) -> tuple[EndpointSubset, ...]:
    """What one pod adds to ``service``'s Endpoints before packing: a single-address
    subset per Service port it serves (none when it is not to be listed). The pod is
    taken to be selected by the Service."""
    if not pod_listed(pod):
        return ()
    ready = service.spec.publish_not_ready_addresses or is_ready(pod)

    def subset(address: EndpointAddress, ports: tuple[EndpointPort, ...]) -> EndpointSubset:
        if ready:
            return EndpointSubset(addresses=(address,), ports=ports)
        return EndpointSubset(not_ready_addresses=(address,), ports=ports)

    if not service.spec.ports:
        # only a headless Service may have no ports: the pod's IP, no ports
        ip = pod.status.pod_ip
        if service.spec.cluster_ip != "None" or not ip:
            return ()
        return (subset(_address(service, pod, ip), ()),)
    allocated = {
        key: where
        for key, where in parse_port_addresses(
            pod.metadata.annotations.get(PORTS_ANNOTATION)
        ).items()
        if where[0]  # an address with no host is no place to send traffic
    }
    found = []
    for port in service.spec.ports:
        key = target_port_key(pod, port)
        where = allocated.get(key) if key is not None else None
        if where is None:
            continue  # Kubernetes logs "failed to find port" and skips it, too
        host, host_port = where
        endpoint_port = EndpointPort(
            name=port.name, port=host_port, protocol=port.protocol, app_protocol=port.app_protocol
        )
        found.append(subset(_address(service, pod, host), (endpoint_port,)))
    return tuple(found)


def pod_part(service: Service, pod: Pod) -> tuple[EndpointSubset, ...]:
    """One pod's part of ``service``'s Endpoints, packed on its own (usually one
    subset: its address with every port it serves)."""
    return repack_subsets(pod_subsets(service, pod))


PodPart = Callable[[Service, Pod], tuple[EndpointSubset, ...]]
""":func:`pod_part`, or a memoising stand-in for it (the controller's)."""


def endpoint_subsets(
    service: Service, pods: Iterable[Pod], *, per_pod: PodPart = pod_part
) -> tuple[EndpointSubset, ...] | None:
    """The subsets of ``service``'s Endpoints given the cluster's ``pods`` (those of
    other namespaces or that the selector does not match are ignored); ``None`` when
    the controller does not manage this Service (:func:`manages`)."""
    if not manages(service):
        return None
    namespace = service.metadata.namespace
    selector = as_selector(service.spec.selector)
    parts = [
        per_pod(service, pod)
        for pod in pods
        if pod.metadata.namespace == namespace and selector.matches(pod.metadata.labels)
    ]
    return merge_parts(parts)


def merge_parts(parts: Sequence[tuple[EndpointSubset, ...]]) -> tuple[EndpointSubset, ...]:
    """:func:`repack_subsets` over every pod's part. When no endpoint port is served
    by two pods (orbit's usual case: each pod has host ports of its own), no subset
    can span pods, so that is every pod's own packing, in order: the pods' parts are
    sorted, not packed again."""
    ports: set[EndpointPort | None] = set()
    count = 0
    for part in parts:
        for subset in part:
            served = subset.ports or (None,)
            count += len(served)
            ports.update(served)
    subsets = [subset for part in parts for subset in part]
    if len(ports) != count:  # a port shared between pods: pack them together
        return repack_subsets(subsets)
    return tuple(sorted(subsets, key=_subset_rank))


_AddressKey = tuple[str, str]  # (ip, target uid): Kubernetes' addressKey
_AddressOrder = tuple[str, str, str, str]


def _address_order(address: EndpointAddress) -> _AddressOrder:
    ref = address.target_ref
    if ref is None:
        return (address.ip, "", "", address.hostname)
    return (address.ip, ref.name, ref.uid, address.hostname)


def _port_order(port: EndpointPort) -> tuple[str, int, str, str]:
    return (port.name, port.port, port.protocol, port.app_protocol or "")


def _rank(
    every: Iterable[_AddressOrder], ready: Iterable[_AddressOrder], ports: Iterable[EndpointPort]
) -> tuple[Any, ...]:
    """Subsets follow their addresses (ready or not), then their ports."""
    return (sorted(every), [_port_order(p) for p in ports], list(ready))


def _subset_rank(subset: EndpointSubset) -> tuple[Any, ...]:
    ready = [_address_order(a) for a in subset.addresses]
    every = [*ready, *(_address_order(a) for a in subset.not_ready_addresses)]
    return _rank(every, ready, subset.ports)


def repack_subsets(subsets: Iterable[EndpointSubset]) -> tuple[EndpointSubset, ...]:
    """Kubernetes' ``RepackSubsets``: the fewest subsets that list the same (address,
    port) pairs, each address ready if any input listed it ready for that port."""
    addresses: dict[_AddressKey, EndpointAddress] = {}  # first seen wins, as in Go
    by_port: dict[EndpointPort | None, dict[_AddressKey, bool]] = {}  # None: no ports
    for subset in subsets:
        served: Sequence[EndpointPort | None] = subset.ports or (None,)
        for ready, listed in ((True, subset.addresses), (False, subset.not_ready_addresses)):
            for address in listed:
                ref = address.target_ref
                key = (address.ip, ref.uid if ref is not None else "")
                if key not in addresses:
                    addresses[key] = address
                for port in served:
                    members = by_port.get(port)
                    if members is None:
                        by_port[port] = {key: ready}
                    elif not members.get(key, False):  # unseen, or seen not ready
                        members[key] = ready
    groups: dict[frozenset[tuple[_AddressKey, bool]], list[EndpointPort]] = {}
    for port, members in by_port.items():
        group = groups.setdefault(frozenset(members.items()), [])
        if port is not None:
            group.append(port)
    order = {key: _address_order(address) for key, address in addresses.items()}
    packed: list[tuple[Any, EndpointSubset]] = []
    for group_members, ports in groups.items():
        up = sorted((key for key, serving in group_members if serving), key=order.__getitem__)
        down = sorted((key for key, serving in group_members if not serving), key=order.__getitem__)
        ports.sort(key=_port_order)
        rank = _rank((order[key] for key, _ in group_members), (order[k] for k in up), ports)
        subset = EndpointSubset(
            addresses=tuple(addresses[key] for key in up),
            not_ready_addresses=tuple(addresses[key] for key in down),
            ports=tuple(ports),
        )
        packed.append((rank, subset))
    packed.sort(key=lambda ranked: ranked[0])
    return tuple(subset for _, subset in packed)


def _labels(service: Service) -> Mapping[str, str]:
    """The Service's labels, plus Kubernetes' headless label for ``clusterIP: None``
    (Kubernetes also marks a Service with no cluster IP headless; orbit allocates no
    cluster IPs, so only an explicit ``None`` counts)."""
    labels = dict(service.metadata.labels)
    labels.pop(HEADLESS_LABEL, None)
    if service.spec.cluster_ip == "None":
        labels[HEADLESS_LABEL] = ""
    return labels


def desired_endpoints(
    service: Service, subsets: tuple[EndpointSubset, ...], current: Endpoints | None
) -> Endpoints | None:
    """The Endpoints to write for ``service`` (to create when ``current`` is None,
    else to update, keeping its metadata), or ``None`` when ``current`` already has
    these subsets and labels (Kubernetes writes only on a change, too)."""
    labels = _labels(service)
    if current is None:
        meta = service.metadata
        return Endpoints(
            metadata=ObjectMeta(name=meta.name, namespace=meta.namespace, labels=labels),
            subsets=subsets,
        )
    if current.subsets == subsets and dict(current.metadata.labels) == labels:
        return None
    return attrs.evolve(
        current, metadata=attrs.evolve(current.metadata, labels=labels), subsets=subsets
    )
