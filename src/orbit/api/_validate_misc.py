"""Validation of the smaller kinds: Namespace, Node, ConfigMap, Secret, Event and
PodDisruptionBudget (Kubernetes' rules and wording for each).

ConfigMap and Secret keys become file names in volumes, so they are config-map keys;
together the values may hold at most 1 MiB, as in Kubernetes. A Secret's ``data`` (and a
ConfigMap's ``binaryData``) is base64 text on the wire; a value that does not decode is
refused here, so nothing downstream ever meets one. Messages about secret values never
quote the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from orbit.errors import Issue

from ._config import ConfigMap, Secret
from ._event import Event
from ._names import is_config_map_key, is_dns1123_label, is_qualified_name
from ._node import Namespace, Node
from ._policy import PodDisruptionBudget
from ._selector import validate_label_selector
from ._validate_meta import (
    child,
    invalid,
    invalid_omit,
    required,
    too_long,
    validate_int_or_percent,
    validate_map_keys,
    validate_object_meta,
)
from ._validate_scheduling import validate_taints
from ._validation import validator

__all__: list[str] = []

MAX_CONFIG_SIZE_BYTES = 1024 * 1024  # Kubernetes' MaxSecretSize, also for ConfigMaps
_BASE64_CHAR = re.compile("[A-Za-z0-9+/]")
_STANDARD_NAMESPACE_FINALIZERS = frozenset({"kubernetes"})


@validator(Namespace)
def _validate_namespace(namespace: Namespace) -> list[Issue]:
    issues = validate_object_meta(namespace.metadata, name_rule=is_dns1123_label, namespaced=False)
    for index, finalizer in enumerate(namespace.spec.finalizers):
        where = child("spec.finalizers", index)
        messages = is_qualified_name(finalizer)
        if (
            not messages
            and "/" not in finalizer
            and finalizer not in _STANDARD_NAMESPACE_FINALIZERS
        ):
            messages = ["name is neither a standard finalizer name nor is it fully qualified"]
        issues.extend(invalid(where, finalizer, msg) for msg in messages)
    return issues


@validator(Node)
def _validate_node(node: Node) -> list[Issue]:
    issues = validate_object_meta(node.metadata, namespaced=False)
    issues.extend(validate_taints(node.spec.taints, "spec.taints"))
    return issues


def _base64_problem(value: str) -> int | None:
    """Where Go's ``base64.StdEncoding`` stops decoding ``value`` (ignoring ``\\r`` and
    ``\\n``, as Kubernetes' JSON decoding does), or ``None`` if it decodes."""
    text = value.replace("\r", "").replace("\n", "")
    body = text.split("=", 1)[0]
    for index, char in enumerate(body):
        if not _BASE64_CHAR.fullmatch(char):
            return index
    padding = text[len(body) :]
    if padding.strip("="):
        return len(body) + len(padding) - len(padding.lstrip("="))
    quantum_start = len(body) - len(body) % 4
    if len(body) % 4 == 0:
        return len(body) if padding else None
    if len(body) % 4 == 1 or len(padding) != 4 - len(body) % 4:
        return quantum_start
    return None


def _validate_base64(data: Mapping[str, str], path: str) -> list[Issue]:
    issues = []
    for key, value in data.items():
        position = _base64_problem(value)
        if position is not None:
            detail = f"illegal base64 data at input byte {position}"
            issues.append(invalid_omit(child(path, key), detail))
    return issues


def _decoded_size(value: str) -> int:
    text = value.replace("\r", "").replace("\n", "")
    return len(text) * 3 // 4 - (len(text) - len(text.rstrip("=")))


@validator(ConfigMap)
def _validate_config_map(config_map: ConfigMap) -> list[Issue]:
    issues = validate_object_meta(config_map.metadata)
    issues.extend(validate_map_keys(config_map.data, "data", is_config_map_key))
    issues.extend(
        invalid(child("data", key), key, "duplicate of key present in binaryData")
        for key in config_map.data
        if key in config_map.binary_data
    )
    issues.extend(validate_map_keys(config_map.binary_data, "binaryData", is_config_map_key))
    issues.extend(_validate_base64(config_map.binary_data, "binaryData"))
    size = sum(len(value.encode()) for value in config_map.data.values())
    size += sum(_decoded_size(value) for value in config_map.binary_data.values())
    if size > MAX_CONFIG_SIZE_BYTES:
        issues.append(too_long("", MAX_CONFIG_SIZE_BYTES))
    return issues


@validator(Secret)
def _validate_secret(secret: Secret) -> list[Issue]:
    issues = validate_object_meta(secret.metadata)
    issues.extend(validate_map_keys(secret.data, "data", is_config_map_key))
    issues.extend(_validate_base64(secret.data, "data"))
    if sum(_decoded_size(value) for value in secret.data.values()) > MAX_CONFIG_SIZE_BYTES:
        issues.append(too_long("data", MAX_CONFIG_SIZE_BYTES))
    return issues


@validator(Event)
def _validate_event(event: Event) -> list[Issue]:
    """The object an event is about must be named, and be in the event's namespace."""
    issues = validate_object_meta(event.metadata)
    involved = event.involved_object
    for field, value in (("kind", involved.kind), ("name", involved.name)):
        if not value:
            issues.append(required(child("involvedObject", field)))
    namespace = event.metadata.namespace
    if involved.namespace and namespace and involved.namespace != namespace:
        where = "involvedObject.namespace"
        issues.append(invalid(where, involved.namespace, "does not match event.namespace"))
    return issues


@validator(PodDisruptionBudget)
def _validate_pdb(pdb: PodDisruptionBudget) -> list[Issue]:
    """At most one of ``minAvailable`` / ``maxUnavailable`` (Kubernetes accepts
    neither: the budget then allows every disruption), each a count or a percentage."""
    spec = pdb.spec
    issues = validate_object_meta(pdb.metadata)
    if spec.min_available is not None and spec.max_unavailable is not None:
        issues.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    for field, value in (
        ("minAvailable", spec.min_available),
        ("maxUnavailable", spec.max_unavailable),
    ):
        issues.extend(validate_int_or_percent(value, f"spec.{field}", at_most_100_percent=True))
    issues.extend(validate_label_selector(spec.selector, "spec.selector"))
    return issues
