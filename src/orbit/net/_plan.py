"""What the proxy should do for a Service, read from the API objects: pure functions.

``plan_service`` turns a Service into one :class:`PortPlan` per ``spec.ports`` entry:
where to listen, or why orbit cannot serve that port. ``ready_endpoints`` picks one
port's ready addresses out of an Endpoints object; ``diff_endpoints`` says which left
and which arrived, for draining.

Where a port listens (the first rule that applies):

1. the annotation ``service.orbit.dev/listen-port``: ``auto`` (a free port), ``port``
   (each port's ``port``), a number (a one-port Service), or ``name=number`` pairs
   separated by commas (the ports not named fall through to the next rules);
2. ``nodePort``, when set (NodePort and LoadBalancer Services): Kubernetes serves a
   NodePort on every node's address, and orbit's nodes share the host's;
3. ``port``, when the proxy was made with ``use_service_port=True``;
4. a free port (``0`` here: the proxy allocates it).

Kubernetes serves ``port`` on the Service's own cluster IP, an address no other Service
uses; orbit has no cluster IPs, so two Services with ``port: 80`` would collide (and
ports below 1024 need privileges): free ports by default, reported in the Service's
``status.loadBalancer.ingress``.

Headless Services (``clusterIP: None``) and ExternalName Services are not proxied, as
kube-proxy skips them. Only TCP is proxied; a UDP or SCTP port gets a ``PortStatus``
error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

import attrs

from orbit.api import Endpoints, Service, ServicePort

from ._balance import POLICIES, Endpoint, Policy

__all__ = [
    "DEFAULT_AFFINITY_TIMEOUT_S",
    "LB_POLICY_ANNOTATION",
    "LISTEN_PORT_ANNOTATION",
    "UNSUPPORTED_PROTOCOL",
    "EndpointDiff",
    "PortPlan",
    "ServicePlan",
    "diff_endpoints",
    "plan_service",
    "ready_endpoints",
]

LISTEN_PORT_ANNOTATION = "service.orbit.dev/listen-port"
LB_POLICY_ANNOTATION = "service.orbit.dev/lb-policy"
DEFAULT_AFFINITY_TIMEOUT_S = 10800  # Kubernetes' DefaultClientIPServiceAffinitySeconds
Protocol = Literal["TCP", "UDP", "SCTP"]
UNSUPPORTED_PROTOCOL = "orbit.dev/UnsupportedProtocol"
"""``PortStatus.error`` for a port orbit does not proxy (Kubernetes asks for CamelCase
reasons, prefixed by a domain when not built in)."""


@attrs.frozen(kw_only=True)
class PortPlan:
    """One Service port: ``listen_port`` 0 means a free port; ``error`` (a
    ``PortStatus.error`` reason) means the port is not served."""

    name: str
    protocol: Protocol
    port: int
    listen_port: int = 0
    app_protocol: str | None = None
    error: str | None = None


@attrs.frozen(kw_only=True)
class ServicePlan:
    """Every port of a Service in ``spec.ports`` order, the balancing, and what was
    wrong with its annotations (for a Warning event)."""

    ports: tuple[PortPlan, ...]
    policy: Policy = "round-robin"
    affinity_timeout_s: float | None = None
    problems: tuple[str, ...] = ()


class EndpointDiff(NamedTuple):
    """Endpoints that arrived and endpoints that left, each in their list's order."""

    added: tuple[Endpoint, ...]
    removed: tuple[Endpoint, ...]


def plan_service(
    service: Service, *, use_service_port: bool = False, default_policy: Policy = "round-robin"
) -> ServicePlan | None:
    """The proxy's plan for ``service``, or ``None`` when it is not proxied (headless
    or ExternalName)."""
    spec = service.spec
    if spec.type == "ExternalName" or spec.cluster_ip == "None":
        return None
    annotations = service.metadata.annotations
    problems: list[str] = []
    chosen = _listen_annotation(annotations.get(LISTEN_PORT_ANNOTATION), spec.ports, problems)
    ports = tuple(
        _port_plan(port, chosen.get(port.name), use_service_port=use_service_port)
        for port in spec.ports
    )
    policy = _policy(annotations, default_policy, problems)
    affinity: float | None = None
    if spec.session_affinity == "ClientIP":
        config = spec.session_affinity_config
        client_ip = config.client_ip if config is not None else None
        affinity = client_ip.timeout_seconds if client_ip else DEFAULT_AFFINITY_TIMEOUT_S
    return ServicePlan(
        ports=ports, policy=policy, affinity_timeout_s=affinity, problems=tuple(problems)
    )


def _port_plan(port: ServicePort, chosen: int | None, *, use_service_port: bool) -> PortPlan:
    plan = PortPlan(
        name=port.name, protocol=port.protocol, port=port.port, app_protocol=port.app_protocol
    )
    if port.protocol != "TCP":
        return attrs.evolve(plan, error=UNSUPPORTED_PROTOCOL)
    if chosen is not None:
        listen = chosen
    elif port.node_port:
        listen = port.node_port
    else:
        listen = port.port if use_service_port else 0
    return attrs.evolve(plan, listen_port=listen)


def _listen_annotation(
    value: str | None, ports: tuple[ServicePort, ...], problems: list[str]
) -> dict[str, int]:
    """Port name -> listen port (0: a free one) for the ports the annotation names."""
    if value is None:
        return {}
    text = value.strip()
    if text == "auto":
        return {port.name: 0 for port in ports}
    if text == "port":
        return {port.name: port.port for port in ports}
    if text.isdigit():
        if len(ports) == 1 and _valid_port(int(text)):
            return {ports[0].name: int(text)}
        problems.append(
            f"{LISTEN_PORT_ANNOTATION}: {text!r} needs a Service with one port and a "
            "number from 1 to 65535; name the ports (name=port,...) instead"
        )
        return {}
    names = {port.name for port in ports}
    chosen: dict[str, int] = {}
    for item in text.split(","):
        name, sep, number = (part.strip() for part in item.partition("="))
        if not sep or name not in names or not number.isdigit() or not _valid_port(int(number)):
            problems.append(
                f"{LISTEN_PORT_ANNOTATION}: {item.strip()!r} is not name=port for a port "
                f"of this Service (ports: {', '.join(sorted(names)) or '<unnamed>'}); "
                "the values are auto, port, a number, or name=port pairs"
            )
            continue
        chosen[name] = int(number)
    return chosen


def _valid_port(number: int) -> bool:
    return 1 <= number <= 65535


def _policy(annotations: Mapping[str, str], default: Policy, problems: list[str]) -> Policy:
    value = annotations.get(LB_POLICY_ANNOTATION)
    if value is None:
        return default
    for policy in POLICIES:
        if value.strip() == policy:
            return policy
    problems.append(
        f"{LB_POLICY_ANNOTATION}: unknown policy {value!r} (known: {', '.join(POLICIES)}); "
        f"using {default}"
    )
    return default


def ready_endpoints(endpoints: Endpoints | None, port_name: str) -> tuple[Endpoint, ...]:
    """The ready addresses serving the Service port ``port_name``, with the port each
    serves it on, sorted and without duplicates.

    Endpoint ports are matched to Service ports by name (and TCP), as kube-proxy does;
    ``notReadyAddresses`` never get traffic (the endpoints controller puts not-ready
    pods into ``addresses`` itself when the Service publishes them).
    """
    if endpoints is None:
        return ()
    found: set[Endpoint] = set()
    for subset in endpoints.subsets:
        numbers = [p.port for p in subset.ports if p.name == port_name and p.protocol == "TCP"]
        for number in numbers:
            found.update(Endpoint(address.ip, number) for address in subset.addresses)
    return tuple(sorted(found))


def diff_endpoints(old: tuple[Endpoint, ...], new: tuple[Endpoint, ...]) -> EndpointDiff:
    """Which endpoints of ``new`` are not in ``old``, and which of ``old`` left."""
    before, after = set(old), set(new)
    return EndpointDiff(
        added=tuple(e for e in new if e not in before),
        removed=tuple(e for e in old if e not in after),
    )
