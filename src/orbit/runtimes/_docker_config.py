"""Turn a :class:`ContainerLaunch` into the Docker engine's create-container JSON.

Pure functions, no I/O and no aiodocker: :mod:`orbit.runtimes._docker` sends what
these build. Kept apart so the mapping from Kubernetes' container spec to the engine's
``HostConfig`` (limits, security, ports, mounts) is unit-tested without an engine.

The mapping follows what the kubelet asks of a container runtime:

- cpu limit -> ``NanoCpus``; cpu request -> ``CpuShares`` with Kubernetes' formula
  (``millis * 1024 / 1000``, at least 2, so a pod without a request gets the minimum
  weight, as a BestEffort pod does). On cgroup v2 the engine turns shares into
  ``cpu.weight`` itself, with the same conversion the kubelet uses.
- memory limit -> ``Memory`` with ``MemorySwap`` equal to it: no swap.
- GPUs -> one ``DeviceRequest`` naming the device ids the scheduler chose: driver
  ``nvidia`` (the engine's nvidia runtime), or ``cdi`` with CDI names
  (``nvidia.com/gpu=<id>``) on an engine that only has CDI specs.
- the pod's ``fsGroup`` and ``supplementalGroups`` -> ``GroupAdd``, as the kubelet's
  dockershim passed them.
- a non-empty argv replaces the image's entrypoint (``argv[0]``) and cmd (the rest);
  an empty argv keeps the image's defaults. The agent passes command + args joined,
  so an image entrypoint is never prepended.
- securityContext: ``User`` from runAsUser[:runAsGroup], ``ReadonlyRootfs``,
  ``no-new-privileges`` unless allowPrivilegeEscalation is true or the container is
  privileged, capabilities added and dropped.
- host networking: the container listens on the allocated port it finds in ``PORT``;
  bridge networking: each declared port is published on ``host_ip:host_port`` (on
  every address of a remote engine's host, which orbit reaches from outside).
- a remote engine (``tcp://`` to another machine) cannot bind-mount the directories
  orbit writes on its own machine (emptyDir, configMap, secret volumes):
  :func:`remote_mount_problem` says why such a container is refused.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from orbit.api import SecurityContext

from ._protocol import (
    CONTAINER_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_LABEL,
    ContainerLaunch,
    NetworkMode,
    PortBinding,
)

__all__ = [
    "INIT_LABEL",
    "PORTS_LABEL",
    "RESTART_COUNT_LABEL",
    "container_config",
    "container_labels",
    "container_name",
    "cpu_shares",
    "decode_ports",
    "encode_ports",
    "engine_base",
    "engine_host",
    "is_remote_engine",
    "port_env",
    "remote_mount_problem",
    "run_as_root_problem",
]

GpuDriver = Literal["nvidia", "cdi"]

PORTS_LABEL = "orbit.dev/ports"
"""The launch's port bindings as JSON: a container adopted later still reports them."""
INIT_LABEL = "orbit.dev/init"

_MIN_SHARES = 2  # Kubernetes' MinShares
_MAX_SHARES = 262_144  # Kubernetes' MaxShares
_SHARES_PER_CPU = 1024
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def cpu_shares(request_millis: int) -> int:
    """cgroup cpu shares for a cpu request, as the kubelet computes them."""
    shares = request_millis * _SHARES_PER_CPU // 1000
    return max(_MIN_SHARES, min(_MAX_SHARES, shares))


def container_name(launch: ContainerLaunch) -> str:
    """``orbit-<namespace>-<pod>-<container>-<restart>-<uid8>``: unique per pod uid and
    attempt, readable in ``docker ps``, valid as an engine name."""
    uid8 = launch.pod_uid.replace("-", "")[:8]
    parts = (launch.namespace, launch.pod_name, launch.name, str(launch.restart_count), uid8)
    return "orbit-" + "-".join(_NAME_UNSAFE.sub("_", part) for part in parts)


def encode_ports(ports: Sequence[PortBinding]) -> str:
    """The port bindings as a compact JSON label value."""
    return json.dumps(
        [[p.name, p.container_port, p.host_port, p.host_ip, p.protocol] for p in ports],
        separators=(",", ":"),
    )


def decode_ports(text: str) -> tuple[PortBinding, ...]:
    """Inverse of :func:`encode_ports`; an absent or garbled label gives no ports."""
    try:
        rows = json.loads(text) if text else []
        return tuple(
            PortBinding(
                name=str(name),
                container_port=int(container_port),
                host_port=int(host_port),
                host_ip=str(host_ip),
                protocol=protocol,
            )
            for name, container_port, host_port, host_ip, protocol in rows
        )
    except (ValueError, TypeError):
        return ()


def container_labels(launch: ContainerLaunch) -> dict[str, str]:
    """The launch's labels (the agent's, with the cluster id) plus orbit's own: pod uid,
    name and namespace, container name, attempt, ports. They make adoption possible."""
    labels = dict(launch.labels)
    labels.update(
        {
            POD_UID_LABEL: launch.pod_uid,
            POD_NAME_LABEL: launch.pod_name,
            POD_NAMESPACE_LABEL: launch.namespace,
            CONTAINER_LABEL: launch.name,
            RESTART_COUNT_LABEL: str(launch.restart_count),
            PORTS_LABEL: encode_ports(launch.ports),
        }
    )
    if launch.init:
        labels[INIT_LABEL] = "true"
    return labels


def port_env(ports: Sequence[PortBinding], network: NetworkMode) -> dict[str, str]:
    """``PORT`` for the first declared port, ``ORBIT_PORT_<NAME>`` for each named one.

    The value is the port the container must listen on: the allocated host port in
    host networking, the declared container port in bridge networking.
    """
    env: dict[str, str] = {}
    for index, port in enumerate(ports):
        value = port.host_port if network == "host" else port.container_port
        if not value:
            continue
        if index == 0:
            env["PORT"] = str(value)
        if port.name:
            env["ORBIT_PORT_" + port.name.upper().replace("-", "_")] = str(value)
    return env


def _user(security: SecurityContext) -> str:
    if security.run_as_user is None:
        return ""
    if security.run_as_group is None:
        return str(security.run_as_user)
    return f"{security.run_as_user}:{security.run_as_group}"


def _security(security: SecurityContext | None) -> dict[str, Any]:
    """The HostConfig fields a securityContext sets; no-new-privileges by default."""
    security = security or SecurityContext()
    privileged = bool(security.privileged)
    escalation = security.allow_privilege_escalation
    host: dict[str, Any] = {
        "Privileged": privileged,
        "ReadonlyRootfs": bool(security.read_only_root_filesystem),
        "SecurityOpt": [] if privileged or escalation else ["no-new-privileges"],
    }
    if security.capabilities is not None:
        host["CapAdd"] = list(security.capabilities.add)
        host["CapDrop"] = list(security.capabilities.drop)
    return host


def _device_requests(gpu_ids: Sequence[str], driver: GpuDriver) -> list[dict[str, Any]]:
    """One request for the scheduler's devices: nvidia's ids, or their CDI names."""
    if driver == "cdi":
        return [{"Driver": "cdi", "DeviceIDs": [f"nvidia.com/gpu={i}" for i in gpu_ids]}]
    return [{"Driver": "nvidia", "DeviceIDs": list(gpu_ids), "Capabilities": [["gpu"]]}]


def _resources(launch: ContainerLaunch, gpu_driver: GpuDriver) -> dict[str, Any]:
    host: dict[str, Any] = {"CpuShares": cpu_shares(launch.cpu_request_millis)}
    if launch.cpu_limit_millis:
        host["NanoCpus"] = launch.cpu_limit_millis * 1_000_000
    if launch.memory_limit_bytes:
        host["Memory"] = launch.memory_limit_bytes
        host["MemorySwap"] = launch.memory_limit_bytes
    if launch.gpu_ids:
        host["DeviceRequests"] = _device_requests(launch.gpu_ids, gpu_driver)
    return host


def _networking(
    launch: ContainerLaunch, network: NetworkMode, bridge_network: str, publish_ip: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config fields, HostConfig fields) for host or bridge networking; bridge ports
    are published on ``publish_ip`` (``""``: every address), else on the binding's."""
    if network == "host":
        return {}, {"NetworkMode": "host"}
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in launch.ports:
        key = f"{port.container_port}/{port.protocol.lower()}"
        exposed[key] = {}
        if port.host_port:
            bindings.setdefault(key, []).append(
                {
                    "HostIp": port.host_ip if publish_ip is None else publish_ip,
                    "HostPort": str(port.host_port),
                }
            )
    config = {"ExposedPorts": exposed, "Hostname": launch.pod_name[:63]}
    return config, {"NetworkMode": bridge_network, "PortBindings": bindings}


def container_config(
    launch: ContainerLaunch,
    *,
    network: NetworkMode = "host",
    bridge_network: str = "orbit",
    gpu_driver: GpuDriver = "nvidia",
    publish_ip: str | None = None,
) -> dict[str, Any]:
    """The body of ``POST /containers/create`` for ``launch``.

    ``network`` is the node's networking mode; in bridge mode the container joins the
    user-defined ``bridge_network`` (an engine started with ``--bridge=none`` has no
    default bridge) and its ports are published on ``publish_ip`` when given (a remote
    engine: ``""``, every address), else where the bindings say. ``gpu_driver`` is how
    the engine hands out GPUs.
    """
    env = {**launch.env, **port_env(launch.ports, network)}
    net_config, net_host = _networking(launch, network, bridge_network, publish_ip)
    config: dict[str, Any] = {
        "Image": launch.image,
        "Env": [f"{key}={value}" for key, value in env.items()],
        "Labels": container_labels(launch),
        "Tty": False,
        "OpenStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        **net_config,
        "HostConfig": {
            **_resources(launch, gpu_driver),
            **_security(launch.security),
            **net_host,
            "Binds": [
                f"{m.source}:{m.target}{':ro' if m.read_only else ''}" for m in launch.mounts
            ],
            "RestartPolicy": {"Name": "no"},  # the node agent restarts, with backoff
        },
    }
    if launch.argv:
        config["Entrypoint"] = [launch.argv[0]]
        config["Cmd"] = list(launch.argv[1:])
    if launch.working_dir:
        config["WorkingDir"] = launch.working_dir
    if launch.security is not None and launch.security.run_as_user is not None:
        config["User"] = _user(launch.security)
    if launch.group_add:
        config["HostConfig"]["GroupAdd"] = [str(group) for group in launch.group_add]
    return config


def run_as_root_problem(security: SecurityContext | None, image_user: str) -> str:
    """Kubernetes' runAsNonRoot check: why this container may not run, or ``""``.

    ``image_user`` is the image's configured ``User`` (``""`` means root).
    """
    if security is None or not security.run_as_non_root:
        return ""
    if security.run_as_user is not None:
        return "container's runAsUser breaks non-root policy" if security.run_as_user == 0 else ""
    user = image_user.split(":", 1)[0]
    if user in {"", "0", "root"}:
        return "container has runAsNonRoot and image will run as root"
    if not user.isdigit():
        return (
            f"container has runAsNonRoot and image has non-numeric user ({user}), "
            "cannot verify user is non-root"
        )
    return ""


def engine_base(url: str | None, env: Mapping[str, str], *, tls: bool) -> tuple[str, str]:
    """Where the engine is: ``("unix", socket path)`` or ``("tcp", base URL)``.

    ``url`` None means ``DOCKER_HOST``, else the local socket. ``tcp://`` becomes
    ``https://`` when TLS is configured and ``http://`` otherwise.
    """
    target = url or env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    scheme, sep, rest = target.partition("://")
    if not sep or not rest:
        raise ValueError(f"Docker engine address {target!r} has no scheme (unix:// or tcp://)")
    if scheme == "unix":
        return "unix", "/" + rest.lstrip("/")
    if scheme in {"tcp", "http", "https"}:
        secure = tls or scheme == "https"
        return "tcp", f"{'https' if secure else 'http'}://{rest.rstrip('/')}"
    raise ValueError(f"Docker engine address {target!r}: only unix:// and tcp:// are supported")


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def engine_host(endpoint: tuple[str, str]) -> str:
    """The host of an :func:`engine_base` endpoint (``""`` for a unix socket)."""
    kind, address = endpoint
    if kind == "unix":
        return ""
    authority = address.partition("://")[2].partition("/")[0]
    if authority.startswith("["):  # [v6]:port
        return authority[1:].partition("]")[0]
    return authority.rpartition(":")[0] if ":" in authority else authority


def is_remote_engine(endpoint: tuple[str, str]) -> bool:
    """Whether the engine runs on another machine: a ``tcp://`` engine whose host is
    not a loopback address or name (a unix socket is this machine's)."""
    host = engine_host(endpoint)
    if not host or host.lower() in _LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name other than localhost: another machine


def remote_mount_problem(launch: ContainerLaunch, engine: str) -> str:
    """Why ``launch`` cannot run on a remote engine, or ``""``: a mount of a directory
    orbit writes on its own machine, which the engine's host does not have."""
    local = [m for m in launch.mounts if m.materialised]
    if not local:
        return ""
    names = ", ".join(sorted({f'"{m.volume or m.target}"' for m in local}))
    return (
        f"volume {names} cannot be mounted: orbit writes emptyDir, configMap and secret "
        f"volumes on its own machine, which the remote Docker engine {engine} cannot "
        "bind-mount; use hostPath volumes present on the engine's host, or put the files "
        "in the image"
    )
