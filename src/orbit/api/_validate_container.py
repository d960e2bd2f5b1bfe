"""Validation of one container: image, ports, resources, probes, mounts (and, through
``_validate_env``, its environment).

Kubernetes' ``validateContainers`` and friends (``pkg/apis/core/validation``) with their
messages. The pod-level rules (unique names across init and app containers, volumes
that mounts refer to) live in ``_validate_pod``, which calls :func:`validate_container`
for each container with the set of volume names the pod defines.

Two rules go beyond Kubernetes because orbit acts on them: a probe's named port must be
one of the container's ports (the node agent resolves it there), and probe periods,
timeouts and thresholds must be at least 1 (Kubernetes silently turns a 0 into the
default; orbit keeps what the manifest says, so it refuses a 0).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from orbit.errors import Issue

from ._container import (
    Container,
    ContainerPort,
    HTTPGetAction,
    Probe,
    ResourceRequirements,
    SecurityContext,
    TCPSocketAction,
    VolumeMount,
)
from ._names import (
    is_dns1123_label,
    is_valid_port_name,
    is_valid_port_num,
)
from ._validate_env import validate_env, validate_env_from
from ._validate_meta import (
    child,
    duplicate,
    forbidden,
    invalid,
    invalid_omit,
    not_found,
    required,
    validate_name,
)
from ._validate_resources import (
    container_resource_name_issues,
    is_overcommit_allowed,
    validate_resource_list,
)

__all__ = ["validate_container", "validate_security_ids"]

_MAX_INT32 = 2**31 - 1


def validate_container(
    container: Container, path: str, *, volumes: Collection[str], init: bool = False
) -> list[Issue]:
    """Every problem with one container (its name's uniqueness is the pod's business)."""
    issues = validate_name(container.name, child(path, "name"), is_dns1123_label)
    if not container.image:
        issues.append(required(child(path, "image")))
    elif container.image != container.image.strip():
        detail = "must not have leading or trailing whitespace"
        issues.append(invalid(child(path, "image"), container.image, detail))
    issues.extend(_validate_ports(container.ports, child(path, "ports")))
    issues.extend(validate_env(container.env, child(path, "env")))
    issues.extend(validate_env_from(container.env_from, child(path, "envFrom")))
    issues.extend(_validate_resources(container.resources, child(path, "resources")))
    issues.extend(_validate_probes(container, path, init=init))
    issues.extend(_validate_mounts(container.volume_mounts, child(path, "volumeMounts"), volumes))
    if container.security_context is not None:
        sc_path = child(path, "securityContext")
        issues.extend(_validate_security_context(container.security_context, sc_path))
    return issues


def _validate_ports(ports: tuple[ContainerPort, ...], path: str) -> list[Issue]:
    """Kubernetes' ``validateContainerPorts``: names unique within the container."""
    issues: list[Issue] = []
    names: set[str] = set()
    for index, port in enumerate(ports):
        where = child(path, index)
        if port.name:
            messages = is_valid_port_name(port.name)
            issues.extend(invalid(child(where, "name"), port.name, msg) for msg in messages)
            if not messages and port.name in names:
                issues.append(duplicate(child(where, "name"), port.name))
            names.add(port.name)
        if port.container_port == 0:
            issues.append(required(child(where, "containerPort")))
        else:
            issues.extend(
                invalid(child(where, "containerPort"), port.container_port, msg)
                for msg in is_valid_port_num(port.container_port)
            )
        if port.host_port:
            issues.extend(
                invalid(child(where, "hostPort"), port.host_port, msg)
                for msg in is_valid_port_num(port.host_port)
            )
    return issues


def _validate_resources(resources: ResourceRequirements, path: str) -> list[Issue]:
    """Kubernetes' ``ValidateResourceRequirements``: names, amounts, requests <= limits,
    and requests == limits for resources that cannot be overcommitted."""
    limits_path, requests_path = child(path, "limits"), child(path, "requests")
    issues = validate_resource_list(resources.limits, limits_path, container_resource_name_issues)
    requests = resources.requests if resources.requests is not resources.limits else {}
    issues.extend(validate_resource_list(requests, requests_path, container_resource_name_issues))
    for name, request in requests.items():
        limit = resources.limits.get(name)
        if limit is None:
            if not is_overcommit_allowed(name):
                issues.append(
                    required(limits_path, "Limit must be set for non overcommitable resources")
                )
        elif request != limit and not is_overcommit_allowed(name):
            issues.append(
                invalid(requests_path, request, f"must be equal to {name} limit of {limit}")
            )
        elif request > limit:
            issues.append(
                invalid(
                    requests_path, request, f"must be less than or equal to {name} limit of {limit}"
                )
            )
    return issues


def _validate_probes(container: Container, path: str, *, init: bool) -> list[Issue]:
    ports = {port.name for port in container.ports if port.name}
    issues: list[Issue] = []
    for field, probe in (
        ("livenessProbe", container.liveness_probe),
        ("readinessProbe", container.readiness_probe),
        ("startupProbe", container.startup_probe),
    ):
        if probe is None:
            continue
        where = child(path, field)
        if init:
            issues.append(
                forbidden(where, "may not be set for init containers without restartPolicy=Always")
            )
            continue
        issues.extend(_validate_probe(probe, where, ports))
        if field != "readinessProbe" and probe.success_threshold != 1:
            issues.append(
                invalid(child(where, "successThreshold"), probe.success_threshold, "must be 1")
            )
    return issues


def _validate_probe(probe: Probe, path: str, ports: Collection[str]) -> list[Issue]:
    """Kubernetes' ``validateProbe`` and ``validateHandler``: exactly one handler."""
    handlers = probe.handlers()
    issues: list[Issue] = []
    if not handlers:
        issues.append(required(path, "must specify a handler type"))
    issues.extend(
        forbidden(child(path, h), "may not specify more than 1 handler type") for h in handlers[1:]
    )
    if probe.http_get is not None:
        issues.extend(_validate_probe_port(probe.http_get, child(path, "httpGet"), ports))
    if probe.tcp_socket is not None:
        issues.extend(_validate_probe_port(probe.tcp_socket, child(path, "tcpSocket"), ports))
    if probe.grpc is not None:
        where = child(child(path, "grpc"), "port")
        issues.extend(
            invalid(where, probe.grpc.port, m) for m in is_valid_port_num(probe.grpc.port)
        )
    if probe.initial_delay_seconds < 0:
        issues.append(
            invalid(
                child(path, "initialDelaySeconds"),
                probe.initial_delay_seconds,
                "must be greater than or equal to 0",
            )
        )
    for field, value in (
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ):
        if value < 1:
            issues.append(invalid(child(path, field), value, "must be greater than or equal to 1"))
    grace = probe.termination_grace_period_seconds
    if grace is not None and grace <= 0:
        issues.append(
            invalid(child(path, "terminationGracePeriodSeconds"), grace, "must be greater than 0")
        )
    return issues


def _validate_probe_port(
    action: HTTPGetAction | TCPSocketAction, path: str, ports: Collection[str]
) -> list[Issue]:
    """Kubernetes' ``ValidatePortNumOrName``; a name must also be one of the
    container's ports, where the node agent looks it up."""
    where = child(path, "port")
    port = action.port
    if isinstance(port, int):
        return [invalid(where, port, msg) for msg in is_valid_port_num(port)]
    messages = is_valid_port_name(port)
    if messages:
        return [invalid(where, port, msg) for msg in messages]
    if port not in ports:
        return [invalid(where, port, "must be the name of one of the container's ports")]
    return []


def _validate_mounts(
    mounts: tuple[VolumeMount, ...], path: str, volumes: Collection[str]
) -> list[Issue]:
    """Kubernetes' ``ValidateVolumeMounts``: a mount names a volume of the pod."""
    issues: list[Issue] = []
    seen: set[str] = set()
    for index, mount in enumerate(mounts):
        where = child(path, index)
        if not mount.name:
            issues.append(required(child(where, "name")))
        elif mount.name not in volumes:
            issues.append(not_found(child(where, "name"), mount.name))
        if not mount.mount_path:
            issues.append(required(child(where, "mountPath")))
        elif mount.mount_path in seen:
            issues.append(invalid(child(where, "mountPath"), mount.mount_path, "must be unique"))
        seen.add(mount.mount_path)
        if mount.sub_path:
            issues.extend(_validate_sub_path(mount.sub_path, child(where, "subPath")))
    return issues


def _validate_sub_path(sub_path: str, path: str) -> list[Issue]:
    """Kubernetes' ``validateLocalDescendingPath``."""
    issues = []
    if sub_path.startswith("/"):
        issues.append(invalid(path, sub_path, "must be a relative path"))
    if ".." in sub_path.replace("\\", "/").split("/"):
        issues.append(invalid(path, sub_path, "must not contain '..'"))
    return issues


def validate_security_ids(ids: Iterable[tuple[str, int | None]]) -> list[Issue]:
    """User and group ids, each ``(path, id)``: 0 to 2147483647, as Kubernetes'
    ``ValidateNonnegativeField`` plus its int32 bound on ``runAsUser`` and friends."""
    return [
        invalid(path, value, f"must be between 0 and {_MAX_INT32}, inclusive")
        for path, value in ids
        if value is not None and not 0 <= value <= _MAX_INT32
    ]


def _validate_security_context(sc: SecurityContext, path: str) -> list[Issue]:
    issues = validate_security_ids(
        [(child(path, "runAsUser"), sc.run_as_user), (child(path, "runAsGroup"), sc.run_as_group)]
    )
    if sc.privileged and sc.allow_privilege_escalation is False:
        detail = "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"
        issues.append(invalid_omit(path, detail))
    return issues
