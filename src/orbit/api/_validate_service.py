"""Validation of Services and Endpoints (Kubernetes' ``ValidateService`` and
``ValidateEndpoints``).

A Service needs ports unless it is headless (``clusterIP: None``) or an ExternalName;
with more than one port each needs a unique name; ``targetPort`` is a port number or an
IANA service name that the selected pods' containers must define (checked when they
are matched, as in Kubernetes, since the pods may not exist yet). Service names are
DNS-1035 labels, because they become DNS names and environment variable prefixes.
"""

from __future__ import annotations

import ipaddress

from orbit.errors import Issue

from ._names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_name,
    is_valid_port_num,
    validate_labels,
)
from ._service import EndpointAddress, EndpointPort, Endpoints, Service, ServicePort, ServiceSpec
from ._validate_meta import (
    child,
    duplicate,
    forbidden,
    invalid,
    required,
    validate_name,
    validate_object_meta,
)
from ._validation import validator

__all__: list[str] = []

_MAX_AFFINITY_SECONDS = 86400
_IP_DETAIL = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _validate_port(port: ServicePort, path: str, *, name_required: bool) -> list[Issue]:
    """Kubernetes' ``validateServicePort`` (name uniqueness is checked by the caller)."""
    issues = _validate_name_and_number(port.name, port.port, path, name_required=name_required)
    target, where = port.target_port, child(path, "targetPort")
    if isinstance(target, int):
        issues.extend(invalid(where, target, msg) for msg in is_valid_port_num(target))
    else:
        issues.extend(invalid(where, target, msg) for msg in is_valid_port_name(target))
    if port.app_protocol is not None:
        where = child(path, "appProtocol")
        issues.extend(
            invalid(where, port.app_protocol, m) for m in is_qualified_name(port.app_protocol)
        )
    if port.node_port:
        where = child(path, "nodePort")
        issues.extend(
            invalid(where, port.node_port, msg) for msg in is_valid_port_num(port.node_port)
        )
    return issues


def _validate_ports(spec: ServiceSpec, path: str) -> list[Issue]:
    headless = spec.cluster_ip == "None"
    if not spec.ports and not headless and spec.type != "ExternalName":
        return [required(path)]
    issues: list[Issue] = []
    names: set[str] = set()
    pairs: set[tuple[str, int]] = set()
    for index, port in enumerate(spec.ports):
        where = child(path, index)
        issues.extend(_validate_port(port, where, name_required=len(spec.ports) > 1))
        if port.name and port.name in names:
            issues.append(duplicate(child(where, "name"), port.name))
        names.add(port.name)
        if (port.protocol, port.port) in pairs:
            issues.append(duplicate(where, {"port": port.port, "protocol": port.protocol}))
        pairs.add((port.protocol, port.port))
        if port.node_port and spec.type == "ClusterIP":
            detail = "may not be used when `type` is 'ClusterIP'"
            issues.append(forbidden(child(where, "nodePort"), detail))
    return issues


def _validate_type(spec: ServiceSpec, path: str) -> list[Issue]:
    """``clusterIP`` and ``externalName`` as the Service's type allows them."""
    issues: list[Issue] = []
    ip_path = child(path, "clusterIP")
    if spec.type == "ExternalName":
        if spec.cluster_ip:
            issues.append(forbidden(ip_path, "may not be set for ExternalName services"))
        cname = spec.external_name.removesuffix(".")
        issues.extend(validate_name(cname, child(path, "externalName"), is_dns1123_subdomain))
    elif spec.cluster_ip and spec.cluster_ip != "None" and not _is_ip(spec.cluster_ip):
        issues.append(invalid(ip_path, spec.cluster_ip, _IP_DETAIL))
    if spec.cluster_ip == "None" and spec.type in ("NodePort", "LoadBalancer"):
        detail = f"may not be set to 'None' for {spec.type} services"
        issues.append(invalid(ip_path, spec.cluster_ip, detail))
    return issues


def _validate_session_affinity(spec: ServiceSpec, path: str) -> list[Issue]:
    config = spec.session_affinity_config
    where = child(path, "sessionAffinityConfig")
    if spec.session_affinity == "None":
        if config is not None:
            return [forbidden(where, "must not be set when session affinity is None")]
        return []
    if config is None or config.client_ip is None:
        return []  # Kubernetes defaults the timeout to 10800 s, as orbit does
    timeout = config.client_ip.timeout_seconds
    if 0 < timeout <= _MAX_AFFINITY_SECONDS:
        return []
    detail = f"must be greater than 0 and less than {_MAX_AFFINITY_SECONDS}"
    return [invalid(child(child(where, "clientIP"), "timeoutSeconds"), timeout, detail)]


@validator(Service)
def _validate_service(service: Service) -> list[Issue]:
    spec = service.spec
    issues = validate_object_meta(service.metadata, name_rule=is_dns1035_label)
    issues.extend(_validate_type(spec, "spec"))
    issues.extend(_validate_ports(spec, "spec.ports"))
    issues.extend(validate_labels(spec.selector, "spec.selector"))
    issues.extend(_validate_session_affinity(spec, "spec"))
    return issues


def _validate_address(address: EndpointAddress, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if not _is_ip(address.ip):
        issues.append(invalid(child(path, "ip"), address.ip, _IP_DETAIL))
    if address.hostname:
        issues.extend(validate_name(address.hostname, child(path, "hostname"), is_dns1123_label))
    if address.node_name is not None:
        issues.extend(validate_name(address.node_name, child(path, "nodeName")))
    return issues


def _validate_endpoint_port(port: EndpointPort, path: str, *, name_required: bool) -> list[Issue]:
    return _validate_name_and_number(port.name, port.port, path, name_required=name_required)


def _validate_name_and_number(
    name: str, number: int, path: str, *, name_required: bool
) -> list[Issue]:
    """A port's name (a DNS-1123 label, required when there are several) and number."""
    issues: list[Issue] = []
    if name_required and not name:
        issues.append(required(child(path, "name")))
    elif name:
        issues.extend(invalid(child(path, "name"), name, m) for m in is_dns1123_label(name))
    issues.extend(invalid(child(path, "port"), number, m) for m in is_valid_port_num(number))
    return issues


@validator(Endpoints)
def _validate_endpoints(endpoints: Endpoints) -> list[Issue]:
    issues = validate_object_meta(endpoints.metadata)
    for index, subset in enumerate(endpoints.subsets):
        where = child("subsets", index)
        if not subset.addresses and not subset.not_ready_addresses:
            issues.append(required(where, "must specify `addresses` or `notReadyAddresses`"))
        for field, addresses in (
            ("addresses", subset.addresses),
            ("notReadyAddresses", subset.not_ready_addresses),
        ):
            for address_index, address in enumerate(addresses):
                issues.extend(_validate_address(address, child(child(where, field), address_index)))
        for port_index, port in enumerate(subset.ports):
            port_path = child(child(where, "ports"), port_index)
            issues.extend(
                _validate_endpoint_port(port, port_path, name_required=len(subset.ports) > 1)
            )
    return issues
