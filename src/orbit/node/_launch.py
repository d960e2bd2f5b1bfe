"""From a pod's container spec to a :class:`~orbit.runtimes.ContainerLaunch`: pure.

The node agent resolves everything a runtime must not have to know about: the env
(``envFrom``, then ``env`` in order; ``valueFrom`` ConfigMap / Secret keys, the pod's own
fields through ``fieldRef``, the container's requests and limits through
``resourceFieldRef``; ``$(VAR)`` expanded as Kubernetes expands it), resources as plain
numbers, the host ports orbit allocated (``PORT`` for the first declared port,
``ORBIT_PORT_<NAME>`` for named ones, Nomad-style), GPU device ids and mounts of the
volumes already materialised on the host (:mod:`orbit.node._volumes`).

A reference that cannot be resolved (a missing ConfigMap, Secret or key that is not
``optional``) raises :class:`~orbit.runtimes.RuntimeFailure` with Kubernetes' reason
``CreateContainerConfigError`` and message (``configmap "x" not found``,
``couldn't find key k in ConfigMap default/x``); the agent shows it as the container's
waiting reason and retries.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

import attrs

from orbit.api import (
    CPU,
    GPU,
    MEMORY,
    ConfigMap,
    ConfigMapKeySelector,
    Container,
    EnvVar,
    Pod,
    Quantity,
    ResourceFieldSelector,
    Secret,
    SecretKeySelector,
    SecurityContext,
)
from orbit.runtimes import (
    CLUSTER_LABEL,
    CONTAINER_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_LABEL,
    ContainerLaunch,
    Mount,
    NetworkMode,
    PortBinding,
    RuntimeFailure,
)

from ._expand import expand

__all__ = [
    "CONFIG_ERROR",
    "GPU_DEVICES_ANNOTATION",
    "HOST_IP",
    "NODE_LABEL",
    "ConfigSources",
    "LaunchContext",
    "build_launch",
    "container_env",
    "container_gpu_ids",
    "effective_security",
    "field_value",
    "group_add",
    "port_env",
]

CONFIG_ERROR = "CreateContainerConfigError"
HOST_IP = "127.0.0.1"
"""Where the pods of a process node, or of a local Docker engine, are reachable (host
networking); a remote engine's pods are reached at its address instead."""
NODE_LABEL = "orbit.dev/node"
"""Label on what a runtime starts: the node it was started for (for adoption)."""
GPU_DEVICES_ANNOTATION = "orbit.dev/gpu-devices"
"""The GPU ids the scheduler bound the pod to (``orbit.scheduling`` writes it; the
node layer does not import the scheduler, so the name is repeated here)."""


class ConfigSources(Protocol):
    """Where ConfigMaps and Secrets are read from (the store, or a dict in tests)."""

    def config_map(self, namespace: str, name: str) -> ConfigMap | None: ...

    def secret(self, namespace: str, name: str) -> Secret | None: ...


class LaunchContext(Protocol):
    """Everything about the pod's placement a launch needs besides the pod.

    ``host_ip`` is where the node's pods are reached (the downward API's
    ``status.podIP`` and ``status.hostIP``)."""

    cluster_id: str
    node_name: str
    network: NetworkMode
    node_allocatable: Mapping[str, Quantity]
    host_ip: str


def _missing(kind: str, name: str) -> RuntimeFailure:
    return RuntimeFailure(CONFIG_ERROR, f'{kind.lower()} "{name}" not found')


def _missing_key(kind: str, namespace: str, name: str, key: str) -> RuntimeFailure:
    return RuntimeFailure(CONFIG_ERROR, f"couldn't find key {key} in {kind} {namespace}/{name}")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _config_map_data(config_map: ConfigMap) -> dict[str, str]:
    data = {key: _text(value) for key, value in config_map.decoded_binary_data().items()}
    data.update(config_map.data)
    return data


def _secret_data(secret: Secret) -> dict[str, str]:
    return {key: _text(value) for key, value in secret.decoded_data().items()}


def _source_data(
    sources: ConfigSources, kind: str, namespace: str, name: str, optional: bool | None
) -> dict[str, str] | None:
    """A ConfigMap's or Secret's data as text; ``None`` when it is absent and the
    reference is optional (RuntimeFailure CreateContainerConfigError when required)."""
    if kind == "ConfigMap":
        config_map = sources.config_map(namespace, name)
        data = None if config_map is None else _config_map_data(config_map)
    else:
        secret = sources.secret(namespace, name)
        data = None if secret is None else _secret_data(secret)
    if data is None and not optional:
        raise _missing(kind, name)
    return data


def _env_from(pod: Pod, container: Container, sources: ConfigSources) -> dict[str, str]:
    env: dict[str, str] = {}
    namespace = pod.metadata.namespace
    for source in container.env_from:
        data: dict[str, str] | None = None
        if source.config_map_ref is not None:
            ref = source.config_map_ref
            data = _source_data(sources, "ConfigMap", namespace, ref.name, ref.optional)
        elif source.secret_ref is not None:
            secret_ref = source.secret_ref
            data = _source_data(sources, "Secret", namespace, secret_ref.name, secret_ref.optional)
        for key, value in (data or {}).items():
            env[source.prefix + key] = value
    return env


_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def field_value(pod: Pod, path: str, pod_ip: str = HOST_IP) -> str:
    """The value of a ``fieldRef`` path on ``pod`` (the downward API's env fields)."""
    meta = pod.metadata
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: meta.name,
        "metadata.namespace": lambda: meta.namespace,
        "metadata.uid": lambda: meta.uid,
        "metadata.labels": lambda: _format_map(meta.labels),
        "metadata.annotations": lambda: _format_map(meta.annotations),
        "spec.nodeName": lambda: pod.spec.node_name,
        "spec.serviceAccountName": lambda: "default",
        "status.podIP": lambda: pod_ip,
        "status.podIPs": lambda: pod_ip,
        "status.hostIP": lambda: pod_ip,
        "status.hostIPs": lambda: pod_ip,
    }
    getter = simple.get(path)
    if getter is not None:
        return getter()
    match = _SUBSCRIPT.match(path)
    if match is not None:
        which, key = match.groups()
        values = meta.labels if which == "labels" else meta.annotations
        return values.get(key, "")
    raise RuntimeFailure(CONFIG_ERROR, f"unsupported fieldRef fieldPath: {path}")


def _format_map(values: Mapping[str, str]) -> str:
    """``key="value"`` lines, sorted, as the downward API prints a map."""
    return "\n".join(f'{key}="{values[key]}"' for key in sorted(values))


def _resource_value(
    pod: Pod, container: Container, ref: ResourceFieldSelector, allocatable: Mapping[str, Quantity]
) -> str:
    """``ceil(quantity / divisor)`` of a container's request or limit; a limit that is
    not set is the node's allocatable amount (Kubernetes' rule)."""
    target = container
    if ref.container_name:
        named = [c for c in pod.spec.all_containers() if c.name == ref.container_name]
        if not named:
            raise RuntimeFailure(CONFIG_ERROR, f"container {ref.container_name} not found")
        target = named[0]
    kind, _, resource = ref.resource.partition(".")
    if kind not in ("limits", "requests") or not resource:
        raise RuntimeFailure(CONFIG_ERROR, f"unsupported resourceFieldRef: {ref.resource}")
    table = target.resources.limits if kind == "limits" else target.resources.requests
    quantity = table.get(resource)
    if quantity is None and kind == "limits":
        quantity = allocatable.get(resource)
    value = quantity.value if quantity is not None else Decimal(0)
    divisor = ref.divisor.value if not ref.divisor.is_zero() else Decimal(1)
    ratio = (value / divisor).to_integral_value(rounding=decimal.ROUND_CEILING)
    return str(int(ratio))


def _value_from(
    pod: Pod,
    container: Container,
    var: EnvVar,
    sources: ConfigSources,
    *,
    allocatable: Mapping[str, Quantity],
    pod_ip: str,
) -> str | None:
    """The value of an ``env`` entry with ``valueFrom``; ``None`` to leave it unset (an
    optional reference that does not resolve)."""
    source = var.value_from
    assert source is not None
    namespace = pod.metadata.namespace
    key_ref: ConfigMapKeySelector | SecretKeySelector | None = None
    kind = "ConfigMap"
    if source.config_map_key_ref is not None:
        key_ref = source.config_map_key_ref
    elif source.secret_key_ref is not None:
        key_ref, kind = source.secret_key_ref, "Secret"
    if key_ref is not None:
        data = _source_data(sources, kind, namespace, key_ref.name, key_ref.optional)
        if data is None:
            return None
        if key_ref.key not in data:
            if key_ref.optional:
                return None
            raise _missing_key(kind, namespace, key_ref.name, key_ref.key)
        return data[key_ref.key]
    if source.field_ref is not None:
        return field_value(pod, source.field_ref.field_path, pod_ip)
    if source.resource_field_ref is not None:
        return _resource_value(pod, container, source.resource_field_ref, allocatable)
    return None


def port_env(bindings: Sequence[PortBinding], network: NetworkMode = "host") -> dict[str, str]:
    """``PORT`` (the first declared port) and ``ORBIT_PORT_<NAME>`` for named ones: the
    port the container must listen on (the host port in host networking, its own
    ``containerPort`` in bridge mode, where the runtime publishes it)."""
    env: dict[str, str] = {}
    for index, binding in enumerate(bindings):
        port = str(binding.host_port if network == "host" else binding.container_port)
        if index == 0:
            env["PORT"] = port
        if binding.name:
            env["ORBIT_PORT_" + re.sub(r"[^A-Za-z0-9]", "_", binding.name).upper()] = port
    return env


def container_env(
    pod: Pod,
    container: Container,
    sources: ConfigSources,
    *,
    ports: Sequence[PortBinding] = (),
    network: NetworkMode = "host",
    allocatable: Mapping[str, Quantity] | None = None,
    pod_ip: str = HOST_IP,
) -> dict[str, str]:
    """The container's environment, resolved and expanded as the kubelet does it.

    ``envFrom`` sources first (later ones win), then ``env`` in order; each ``value``
    is expanded against everything defined before it. orbit's port variables are
    defined first (so ``$(PORT)`` works anywhere) and win over a user's own, since
    they are where orbit and its probes expect the container to listen.
    """
    ports_env = port_env(ports, network)
    env: dict[str, str] = dict(ports_env)
    env.update(_env_from(pod, container, sources))
    for var in container.env:
        if var.value_from is not None:
            value = _value_from(
                pod, container, var, sources, allocatable=allocatable or {}, pod_ip=pod_ip
            )
            if value is None:
                continue
            env[var.name] = value
        else:
            env[var.name] = expand(var.value, env)
    env.update(ports_env)
    return env


def container_gpu_ids(pod: Pod, container: Container) -> tuple[str, ...]:
    """The GPU ids of ``container``: the pod's devices (the scheduler's annotation) cut
    in spec order by each app container's GPU limit; an init container gets the first
    ones it asks for (init containers run before the others, as Kubernetes reuses
    their devices)."""
    annotation = pod.metadata.annotations.get(GPU_DEVICES_ANNOTATION, "")
    devices = [d.strip() for d in annotation.split(",") if d.strip()]
    wanted = _gpus(container)
    if not devices or not wanted:
        return ()
    if container in pod.spec.init_containers:
        return tuple(devices[:wanted])
    offset = 0
    for other in pod.spec.containers:
        count = _gpus(other)
        if other is container or other == container:
            return tuple(devices[offset : offset + count])
        offset += count
    return ()


def _gpus(container: Container) -> int:
    quantity = container.resources.limits.get(GPU) or container.resources.requests.get(GPU)
    return quantity.int_value() if quantity is not None else 0


def _amount(table: Mapping[str, Quantity], name: str, *, milli: bool) -> int:
    quantity = table.get(name)
    if quantity is None:
        return 0
    return quantity.milli_value() if milli else quantity.int_value()


def build_launch(
    pod: Pod,
    container: Container,
    sources: ConfigSources,
    context: LaunchContext,
    *,
    ports: Sequence[PortBinding] = (),
    volume_paths: Mapping[str, str] | None = None,
    init: bool = False,
    restart_count: int = 0,
    state_dir: str = "",
) -> ContainerLaunch:
    """The :class:`ContainerLaunch` for one container of a bound pod.

    ``volume_paths`` maps each volume name to the host path it was materialised at;
    ``ports`` are the container's :class:`PortBinding` (host ports allocated).
    """
    env = container_env(
        pod,
        container,
        sources,
        ports=ports,
        network=context.network,
        allocatable=context.node_allocatable,
        pod_ip=context.host_ip,
    )
    meta = pod.metadata
    resources = container.resources
    return ContainerLaunch(
        pod_uid=meta.uid,
        pod_name=meta.name,
        namespace=meta.namespace,
        name=container.name,
        image=container.image,
        image_pull_policy=container.image_pull_policy,
        argv=tuple(expand(part, env) for part in (*container.command, *container.args)),
        working_dir=container.working_dir,
        env=env,
        ports=tuple(ports),
        mounts=_mounts(container, volume_paths or {}, pod),
        cpu_request_millis=_amount(resources.requests, CPU, milli=True),
        cpu_limit_millis=_amount(resources.limits, CPU, milli=True),
        memory_request_bytes=_amount(resources.requests, MEMORY, milli=False),
        memory_limit_bytes=_amount(resources.limits, MEMORY, milli=False),
        gpu_ids=container_gpu_ids(pod, container),
        security=effective_security(pod, container),
        group_add=group_add(pod),
        network=context.network,
        init=init,
        restart_count=restart_count,
        labels={
            CLUSTER_LABEL: context.cluster_id,
            POD_UID_LABEL: meta.uid,
            POD_NAME_LABEL: meta.name,
            POD_NAMESPACE_LABEL: meta.namespace,
            CONTAINER_LABEL: container.name,
            NODE_LABEL: context.node_name,
            RESTART_COUNT_LABEL: str(restart_count),
        },
        annotations=meta.annotations,
        state_dir=state_dir,
    )


def _mounts(container: Container, volume_paths: Mapping[str, str], pod: Pod) -> tuple[Mount, ...]:
    """The container's mounts; every volume but a ``hostPath`` is a directory orbit
    wrote under its state directory (``materialised``)."""
    host_paths = {v.name for v in pod.spec.volumes if v.host_path is not None}
    mounts = []
    for mount in container.volume_mounts:
        source = volume_paths.get(mount.name)
        if source is None:
            raise RuntimeFailure(CONFIG_ERROR, f'volume "{mount.name}" not found')
        if mount.sub_path:
            source = f"{source.rstrip('/')}/{mount.sub_path}"
        mounts.append(
            Mount(
                source=source,
                target=mount.mount_path,
                read_only=mount.read_only,
                volume=mount.name,
                materialised=mount.name not in host_paths,
            )
        )
    return tuple(mounts)


def group_add(pod: Pod) -> tuple[int, ...]:
    """The supplementary groups of every container of the pod: ``fsGroup``, then
    ``supplementalGroups``, without repeats, in the order the kubelet's
    ``determineEffectiveSecurityContext`` appends them."""
    context = pod.spec.security_context
    if context is None:
        return ()
    groups = [] if context.fs_group is None else [context.fs_group]
    groups.extend(context.supplemental_groups)
    return tuple(dict.fromkeys(groups))


def effective_security(pod: Pod, container: Container) -> SecurityContext | None:
    """The container's securityContext with the pod's ``runAsUser``, ``runAsGroup``
    and ``runAsNonRoot`` filled in where the container leaves them unset, as the
    kubelet's DetermineEffectiveSecurityContext does (the container's own win)."""
    pod_level = pod.spec.security_context
    own = container.security_context
    if pod_level is None:
        return own
    if own is None:
        own = SecurityContext()
    merged = attrs.evolve(
        own,
        run_as_user=own.run_as_user if own.run_as_user is not None else pod_level.run_as_user,
        run_as_group=own.run_as_group if own.run_as_group is not None else pod_level.run_as_group,
        run_as_non_root=(
            own.run_as_non_root if own.run_as_non_root is not None else pod_level.run_as_non_root
        ),
    )
    if merged == SecurityContext() and container.security_context is None:
        return None
    return merged
