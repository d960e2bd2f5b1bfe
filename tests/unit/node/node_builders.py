"""Builders for the node agent's tests: pods, ConfigMaps, Secrets and config sources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from orbit.api import ConfigMap, Pod, Quantity, Secret, decode_object


def pod_from(manifest: Mapping[str, Any]) -> Pod:
    """A Pod from a manifest dict (defaults applied, as ``apply`` would)."""
    obj, issues, _ = decode_object({"apiVersion": "v1", "kind": "Pod", **manifest})
    assert not issues, issues
    assert isinstance(obj, Pod)
    return obj


def make_pod(
    name: str = "web",
    *,
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    restart_policy: str = "Always",
    node: str = "n1",
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> Pod:
    manifest: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "annotations": dict(annotations or {}),
            "labels": dict(labels or {}),
        },
        "spec": {
            "containers": containers or [{"name": "app", "image": "busybox"}],
            "restartPolicy": restart_policy,
            "nodeName": node,
            **spec,
        },
    }
    if init:
        manifest["spec"]["initContainers"] = init
    return pod_from(manifest)


@attrs.define
class Sources:
    """ConfigMaps and Secrets by (namespace, name), as the store would answer."""

    config_maps: dict[tuple[str, str], ConfigMap] = attrs.field(factory=dict)
    secrets: dict[tuple[str, str], Secret] = attrs.field(factory=dict)

    def config_map(self, namespace: str, name: str) -> ConfigMap | None:
        return self.config_maps.get((namespace, name))

    def secret(self, namespace: str, name: str) -> Secret | None:
        return self.secrets.get((namespace, name))

    def add(self, obj: ConfigMap | Secret) -> Sources:
        key = (obj.metadata.namespace or "default", obj.metadata.name)
        if isinstance(obj, ConfigMap):
            self.config_maps[key] = obj
        else:
            self.secrets[key] = obj
        return self


@attrs.define
class Context:
    """A LaunchContext."""

    cluster_id: str = "c1"
    node_name: str = "n1"
    network: Any = "host"
    node_allocatable: Mapping[str, Quantity] = attrs.field(
        factory=lambda: {"cpu": Quantity("4"), "memory": Quantity("8Gi")}
    )
    host_ip: str = "127.0.0.1"
