"""A pod's host ports: allocated once per pod, published on the pod as an annotation.

Every declared container port gets a host port from the node's allocator (a declared
``hostPort`` is used as it is); the pod keeps them across container restarts and gives
them back when it is gone. Where each port can be reached is written on the Pod as the
annotation ``orbit.dev/ports``, a JSON object from the port's name (or, for an unnamed
port, its ``containerPort`` number) to ``"<node address>:<host port>"`` (the node's
address is ``127.0.0.1`` but for a remote Docker engine)::

    orbit.dev/ports: '{"8080": "127.0.0.1:41234", "metrics": "127.0.0.1:41235"}'

An annotation because Kubernetes' PodStatus has no field for it (a Kubernetes pod is
reached at podIP:containerPort); the service proxy and users read it from there. A
pod restarted by a new orbit process reuses the ports its annotation names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import attrs

from orbit.api import PORTS_ANNOTATION, Pod, parse_port_addresses
from orbit.errors import Conflict, NotFound
from orbit.runtimes import NetworkMode, PortBinding
from orbit.store import Store

from ._launch import HOST_IP
from ._ports import PortAllocator

__all__ = ["PORTS_ANNOTATION", "PodPorts", "parse_ports_annotation"]


def parse_ports_annotation(text: str | None) -> dict[str, int]:
    """Port key -> host port from an ``orbit.dev/ports`` value (junk is ignored)."""
    return {key: port for key, (_, port) in parse_port_addresses(text).items()}


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class PodPorts:
    """The host ports of one pod (see the module docstring)."""

    def __init__(
        self, allocator: PortAllocator, pod: Pod, network: NetworkMode, host_ip: str = HOST_IP
    ) -> None:
        self._allocator = allocator
        self._owned: list[int] = []
        previous = parse_ports_annotation(pod.metadata.annotations.get(PORTS_ANNOTATION))
        reused = list(previous.values())
        if reused:
            allocator.reserve(reused)
        self.bindings: dict[str, tuple[PortBinding, ...]] = {}
        where: dict[str, str] = {}
        for container in pod.spec.all_containers():
            bindings = []
            for declared in container.ports:
                key = declared.name or str(declared.container_port)
                host_port = declared.host_port or previous.get(key) or allocator.allocate()
                if not declared.host_port:
                    self._owned.append(host_port)
                bindings.append(
                    PortBinding(
                        name=declared.name,
                        container_port=declared.container_port,
                        host_port=host_port,
                        host_ip=host_ip,
                        protocol=declared.protocol,
                    )
                )
                where[key] = _hostport(host_ip, host_port)
            self.bindings[container.name] = tuple(bindings)
        unused = set(reused) - set(self._owned)
        if unused:
            allocator.release(unused)
        self.annotation = json.dumps(where, sort_keys=True) if where else ""
        self.network = network

    def for_container(self, name: str) -> tuple[PortBinding, ...]:
        return self.bindings.get(name, ())

    def release(self) -> None:
        """Give the pod's ports back to the allocator (once)."""
        owned, self._owned = self._owned, []
        self._allocator.release(owned)

    def publish(self, store: Store, pod: Pod) -> Pod:
        """Write the ``orbit.dev/ports`` annotation on the stored pod if it differs;
        returns the pod as stored (or as given when it is gone)."""
        if not self.annotation or pod.metadata.annotations.get(PORTS_ANNOTATION) == self.annotation:
            return pod
        meta = pod.metadata
        for _ in range(5):
            try:
                current = store.get(Pod, meta.name, meta.namespace)
            except NotFound:
                return pod
            if current.metadata.uid != meta.uid:
                return pod
            annotations: Mapping[str, str] = {
                **current.metadata.annotations,
                PORTS_ANNOTATION: self.annotation,
            }
            updated = attrs.evolve(
                current, metadata=attrs.evolve(current.metadata, annotations=annotations)
            )
            try:
                stored: Pod = store.update(updated)
            except Conflict:
                continue
            except NotFound:
                return pod
            return stored
        return pod
