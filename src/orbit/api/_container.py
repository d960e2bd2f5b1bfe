"""Containers: image, command, env, ports, resources, probes and security settings.

These are the fields of Kubernetes' ``core/v1.Container`` that users really write;
those Kubernetes has but orbit does not honour are named in ``__orbit_ignored__`` so a
manifest using them loads with a warning instead of a silent drop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from ._meta import EMPTY_MAP
from ._quantity import Quantity

__all__ = [
    "Capabilities",
    "ConfigMapEnvSource",
    "ConfigMapKeySelector",
    "Container",
    "ContainerPort",
    "EnvFromSource",
    "EnvVar",
    "EnvVarSource",
    "ExecAction",
    "GRPCAction",
    "HTTPGetAction",
    "HTTPHeader",
    "ObjectFieldSelector",
    "Probe",
    "ResourceFieldSelector",
    "ResourceRequirements",
    "SecretEnvSource",
    "SecretKeySelector",
    "SecurityContext",
    "TCPSocketAction",
    "VolumeMount",
]

PullPolicy = Literal["Always", "IfNotPresent", "Never"]
Protocol = Literal["TCP", "UDP", "SCTP"]


@attrs.frozen(kw_only=True)
class ConfigMapKeySelector:
    name: str = ""
    key: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretKeySelector:
    name: str = ""
    key: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class ObjectFieldSelector:
    """A field of the pod itself: ``metadata.name``, ``metadata.namespace``,
    ``metadata.labels['k']``, ``spec.nodeName``, ``status.podIP``..."""

    field_path: str = ""
    api_version: str = "v1"


@attrs.frozen(kw_only=True)
class ResourceFieldSelector:
    """A container's own request or limit (``limits.cpu``, ``requests.memory``)."""

    container_name: str = ""
    resource: str = ""
    divisor: Quantity = attrs.field(factory=lambda: Quantity.parse("1"))


@attrs.frozen(kw_only=True)
class EnvVarSource:
    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None


@attrs.frozen(kw_only=True)
class EnvVar:
    """One environment variable; ``value`` may reference earlier ones as ``$(NAME)``."""

    name: str = ""
    value: str = ""
    value_from: EnvVarSource | None = None


@attrs.frozen(kw_only=True)
class ConfigMapEnvSource:
    name: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretEnvSource:
    name: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class EnvFromSource:
    prefix: str = ""
    config_map_ref: ConfigMapEnvSource | None = None
    secret_ref: SecretEnvSource | None = None


@attrs.frozen(kw_only=True)
class ContainerPort:
    """A port the container listens on. orbit allocates the real host port and passes
    it in (``PORT``, ``ORBIT_PORT_<NAME>``); ``container_port`` is what Services'
    ``targetPort`` refers to."""

    name: str = ""
    container_port: int = 0
    host_port: int = 0
    host_ip: str = ""
    protocol: Protocol = "TCP"


def _requests_default(self: ResourceRequirements) -> Mapping[str, Quantity]:
    """the limits (a resource with a limit but no request requests its limit)"""
    return self.limits


@attrs.frozen(kw_only=True)
class ResourceRequirements:
    """Requests (what the scheduler reserves) and limits (what the runtime enforces).

    As in Kubernetes, a resource with a limit but no request requests its limit.
    """

    limits: Mapping[str, Quantity] = EMPTY_MAP
    requests: Mapping[str, Quantity] = attrs.field(
        default=attrs.Factory(_requests_default, takes_self=True)
    )

    def __attrs_post_init__(self) -> None:
        missing = {name: q for name, q in self.limits.items() if name not in self.requests}
        if missing and self.requests is not self.limits:
            object.__setattr__(self, "requests", {**missing, **self.requests})


NO_RESOURCES = ResourceRequirements()


@attrs.frozen(kw_only=True)
class ExecAction:
    command: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class HTTPHeader:
    name: str = ""
    value: str = ""


@attrs.frozen(kw_only=True)
class HTTPGetAction:
    path: str = ""
    port: int | str = 0
    host: str = ""
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    http_headers: tuple[HTTPHeader, ...] = ()


@attrs.frozen(kw_only=True)
class TCPSocketAction:
    port: int | str = 0
    host: str = ""


@attrs.frozen(kw_only=True)
class GRPCAction:
    port: int = 0
    service: str | None = None


@attrs.frozen(kw_only=True)
class Probe:
    """A liveness, readiness or startup check: exactly one handler, and its timings
    (Kubernetes' defaults: every 10 s, 1 s timeout, 3 failures, 1 success)."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int = 0
    timeout_seconds: int = 1
    period_seconds: int = 10
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_period_seconds: int | None = None

    def handlers(self) -> list[str]:
        """The wire names of the handlers that are set (valid probes have one)."""
        found = []
        for name, value in (
            ("exec", self.exec),
            ("httpGet", self.http_get),
            ("tcpSocket", self.tcp_socket),
            ("grpc", self.grpc),
        ):
            if value is not None:
                found.append(name)
        return found


@attrs.frozen(kw_only=True)
class VolumeMount:
    name: str = ""
    mount_path: str = ""
    read_only: bool = False
    sub_path: str = ""

    __orbit_ignored__ = ("mountPropagation", "subPathExpr", "recursiveReadOnly")


@attrs.frozen(kw_only=True)
class Capabilities:
    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class SecurityContext:
    """Container security settings orbit enforces (Docker runtime; partly on processes)."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    privileged: bool | None = None
    capabilities: Capabilities | None = None

    __orbit_ignored__ = ("seccompProfile", "seLinuxOptions", "appArmorProfile", "procMount")


def _pull_policy_default(self: Container) -> PullPolicy:
    """`Always` for `:latest` or an untagged image, else `IfNotPresent`."""
    image = self.image
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


@attrs.frozen(kw_only=True)
class Container:
    """One container of a pod (also used for init containers)."""

    name: str = ""
    image: str = ""
    image_pull_policy: PullPolicy = attrs.field(
        default=attrs.Factory(_pull_policy_default, takes_self=True)
    )
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str = ""
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvFromSource, ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    resources: ResourceRequirements = NO_RESOURCES
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    volume_mounts: tuple[VolumeMount, ...] = ()
    security_context: SecurityContext | None = None

    __orbit_ignored__ = (
        "lifecycle",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "stdin",
        "stdinOnce",
        "tty",
        "volumeDevices",
        "resizePolicy",
        "restartPolicy",
    )
