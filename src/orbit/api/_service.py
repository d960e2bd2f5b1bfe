"""Services and Endpoints: a stable address in front of a changing set of ready pods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from ._event import ObjectReference
from ._meta import EMPTY_MAP, ObjectMeta, TypedObject, register_kind

__all__ = [
    "ClientIPConfig",
    "EndpointAddress",
    "EndpointPort",
    "EndpointSubset",
    "Endpoints",
    "LoadBalancerIngress",
    "LoadBalancerStatus",
    "PortStatus",
    "Service",
    "ServicePort",
    "ServiceSpec",
    "ServiceStatus",
    "SessionAffinityConfig",
]

Protocol = Literal["TCP", "UDP", "SCTP"]


def _target_port_default(self: ServicePort) -> int | str:
    """the same number as `port`"""
    return self.port


@attrs.frozen(kw_only=True)
class ServicePort:
    """One port of a Service; ``target_port`` names or numbers the container port
    (default: the same number as ``port``)."""

    name: str = ""
    protocol: Protocol = "TCP"
    app_protocol: str | None = None
    port: int = 0
    target_port: int | str = attrs.field(
        default=attrs.Factory(_target_port_default, takes_self=True)
    )
    node_port: int = 0


@attrs.frozen(kw_only=True)
class ClientIPConfig:
    timeout_seconds: int = 10800


@attrs.frozen(kw_only=True)
class SessionAffinityConfig:
    client_ip: ClientIPConfig | None = attrs.field(default=None, metadata={"key": "clientIP"})


@attrs.frozen(kw_only=True)
class ServiceSpec:
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    selector: Mapping[str, str] = EMPTY_MAP
    ports: tuple[ServicePort, ...] = ()
    cluster_ip: str = ""
    session_affinity: Literal["None", "ClientIP"] = "None"
    session_affinity_config: SessionAffinityConfig | None = None
    external_name: str = ""
    publish_not_ready_addresses: bool = False

    __orbit_ignored__ = (
        "clusterIPs",
        "externalIPs",
        "externalTrafficPolicy",
        "internalTrafficPolicy",
        "ipFamilies",
        "ipFamilyPolicy",
        "loadBalancerIP",
        "loadBalancerSourceRanges",
        "loadBalancerClass",
        "allocateLoadBalancerNodePorts",
        "healthCheckNodePort",
        "trafficDistribution",
    )


@attrs.frozen(kw_only=True)
class PortStatus:
    port: int = 0
    protocol: Protocol = "TCP"
    error: str | None = None


@attrs.frozen(kw_only=True)
class LoadBalancerIngress:
    """Where a Service can be reached: orbit's proxy reports its listen address here."""

    ip: str = ""
    hostname: str = ""
    ports: tuple[PortStatus, ...] = ()


@attrs.frozen(kw_only=True)
class LoadBalancerStatus:
    ingress: tuple[LoadBalancerIngress, ...] = ()


@attrs.frozen(kw_only=True)
class ServiceStatus:
    load_balancer: LoadBalancerStatus = LoadBalancerStatus()


@register_kind("v1", plural="services", short_names=("svc",))
@attrs.frozen(kw_only=True)
class Service(TypedObject):
    """A stable, load-balanced address for the ready pods its selector matches."""

    metadata: ObjectMeta = ObjectMeta()
    spec: ServiceSpec = ServiceSpec()
    status: ServiceStatus = ServiceStatus()


@attrs.frozen(kw_only=True)
class EndpointAddress:
    ip: str = ""
    hostname: str = ""
    node_name: str | None = None
    target_ref: ObjectReference | None = None


@attrs.frozen(kw_only=True)
class EndpointPort:
    name: str = ""
    port: int = 0
    protocol: Protocol = "TCP"
    app_protocol: str | None = None


@attrs.frozen(kw_only=True)
class EndpointSubset:
    """Addresses that all serve the same ports. orbit allocates host ports per pod, so
    it writes one subset per distinct port set."""

    addresses: tuple[EndpointAddress, ...] = ()
    not_ready_addresses: tuple[EndpointAddress, ...] = ()
    ports: tuple[EndpointPort, ...] = ()


@register_kind("v1", plural="endpoints", short_names=("ep",))
@attrs.frozen(kw_only=True)
class Endpoints(TypedObject):
    """The reachable addresses behind a Service (written by the endpoints controller,
    or by hand for a Service without a selector)."""

    metadata: ObjectMeta = ObjectMeta()
    subsets: tuple[EndpointSubset, ...] = ()
