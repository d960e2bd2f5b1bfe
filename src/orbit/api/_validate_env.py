"""Validation of a container's environment: ``env`` and ``envFrom``.

Kubernetes' ``ValidateEnv``, ``validateEnvVarValueFrom`` and ``ValidateEnvFrom``: names
follow the relaxed rule of current Kubernetes (printable ASCII without ``=``), each
``valueFrom`` and each ``envFrom`` entry names exactly one source, and the downward
API may expose only the fields Kubernetes allows.
"""

from __future__ import annotations

from orbit.errors import Issue

from ._container import EnvFromSource, EnvVar, EnvVarSource, ResourceFieldSelector
from ._names import is_config_map_key, is_env_var_name, is_qualified_name
from ._quantity import Quantity
from ._validate_meta import child, invalid, required, unsupported, validate_name

__all__ = ["validate_env", "validate_env_from"]

_ENV_FIELD_PATHS = (
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
    "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP",
    "status.podIPs",
)  # fmt: skip
_RESOURCE_FIELDS = (
    "limits.cpu", "limits.ephemeral-storage", "limits.memory",
    "requests.cpu", "requests.ephemeral-storage", "requests.memory",
)  # fmt: skip
_CPU_DIVISORS = frozenset(Quantity.parse(q) for q in ("1m", "1"))
_MEMORY_DIVISORS = frozenset(
    Quantity.parse(q) for q in ("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi")
) | frozenset(Quantity.parse(q) for q in ("1Ti", "1Pi", "1Ei"))


def validate_env(env: tuple[EnvVar, ...], path: str) -> list[Issue]:
    issues: list[Issue] = []
    for index, var in enumerate(env):
        where = child(path, index)
        if not var.name:
            issues.append(required(child(where, "name")))
        else:
            issues.extend(
                invalid(child(where, "name"), var.name, m) for m in is_env_var_name(var.name)
            )
        if var.value_from is not None:
            issues.extend(_validate_value_from(var, var.value_from, child(where, "valueFrom")))
    return issues


def _validate_value_from(var: EnvVar, source: EnvVarSource, path: str) -> list[Issue]:
    """Kubernetes' ``validateEnvVarValueFrom``: exactly one source, and no ``value``."""
    issues: list[Issue] = []
    count = 0
    for field, ref in (
        ("configMapKeyRef", source.config_map_key_ref),
        ("secretKeyRef", source.secret_key_ref),
    ):
        if ref is not None:
            count += 1
            issues.extend(validate_name(ref.name, child(child(path, field), "name")))
            issues.extend(_validate_key(ref.key, child(child(path, field), "key")))
    if source.field_ref is not None:
        count += 1
        issues.extend(
            _validate_field_ref(
                source.field_ref.api_version, source.field_ref.field_path, child(path, "fieldRef")
            )
        )
    if source.resource_field_ref is not None:
        count += 1
        issues.extend(
            _validate_resource_field_ref(source.resource_field_ref, child(path, "resourceFieldRef"))
        )
    if count == 0:
        detail = (
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
            "`secretKeyRef`"
        )
        issues.append(invalid(path, "", detail))
    elif var.value:
        issues.append(invalid(path, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        issues.append(invalid(path, "", "may not have more than one field specified at a time"))
    return issues


def _validate_key(key: str, path: str) -> list[Issue]:
    if not key:
        return [required(path)]
    return [invalid(path, key, msg) for msg in is_config_map_key(key)]


def _validate_field_ref(api_version: str, field_path: str, path: str) -> list[Issue]:
    """Kubernetes' ``validateObjectFieldSelector`` for environment variables."""
    if not api_version:
        return [required(child(path, "apiVersion"))]
    if not field_path:
        return [required(child(path, "fieldPath"))]
    base, bracket, rest = field_path.partition("[")
    if bracket:
        if base not in ("metadata.labels", "metadata.annotations") or not (
            rest.startswith("'") and rest.endswith("']") and len(rest) > 3
        ):
            return [invalid(path, base, "does not support subscript")]
        key = rest[1:-2]
        key = key.lower() if base == "metadata.annotations" else key
        return [invalid(path, key, msg) for msg in is_qualified_name(key)]
    if field_path not in _ENV_FIELD_PATHS:
        return [unsupported(child(path, "fieldPath"), field_path, sorted(_ENV_FIELD_PATHS))]
    return []


def _validate_resource_field_ref(ref: ResourceFieldSelector, path: str) -> list[Issue]:
    """Kubernetes' ``validateContainerResourceFieldSelector`` and its divisor rule."""
    resource = ref.resource
    if not resource:
        return [required(child(path, "resource"))]
    hugepages = resource.startswith(("limits.hugepages-", "requests.hugepages-"))
    if resource not in _RESOURCE_FIELDS and not hugepages:
        return [unsupported(child(path, "resource"), resource, _RESOURCE_FIELDS)]
    where = child(path, "divisor")
    if resource.endswith(".cpu") and ref.divisor not in _CPU_DIVISORS:
        detail = "only divisor's values 1m and 1 are supported with the cpu resource"
        return [invalid(where, ref.divisor, detail)]
    if resource.endswith((".memory", ".ephemeral-storage")) and ref.divisor not in _MEMORY_DIVISORS:
        kind = resource.partition(".")[2]
        detail = (
            "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei "
            f"are supported with the {kind} resource"
        )
        return [invalid(where, ref.divisor, detail)]
    return []


def validate_env_from(sources: tuple[EnvFromSource, ...], path: str) -> list[Issue]:
    """Kubernetes' ``ValidateEnvFrom``: one source per entry; prefix an env name."""
    issues: list[Issue] = []
    for index, source in enumerate(sources):
        where = child(path, index)
        if source.prefix:
            issues.extend(
                invalid(child(where, "prefix"), source.prefix, m)
                for m in is_env_var_name(source.prefix)
            )
        refs = [
            (f, r)
            for f, r in (("configMapRef", source.config_map_ref), ("secretRef", source.secret_ref))
            if r is not None
        ]
        for field, ref in refs:
            issues.extend(validate_name(ref.name, child(child(where, field), "name")))
        if not refs:
            issues.append(invalid(where, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(refs) > 1:
            issues.append(
                invalid(where, "", "may not have more than one field specified at a time")
            )
    return issues
