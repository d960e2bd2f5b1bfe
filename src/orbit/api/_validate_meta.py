"""Shared pieces of semantic validation: Kubernetes' error wording and ObjectMeta.

Every ``_validate_*`` module builds its issues with the constructors here, so messages
read exactly as ``k8s.io/apimachinery/pkg/util/validation/field`` prints them
(``Required value``, ``Invalid value: "x": <why>``, ``Unsupported value: "x": supported
values: "a", "b"``, ``Duplicate value: "x"``, ``Forbidden: <why>``, ``Not found: "x"``).
Paths are built with the codec's :func:`~orbit.api._codec.child_path`, so a semantic
issue and a decoding issue about the same field carry the same path.

Where Kubernetes reports a problem at a less precise path than the field itself (an
owner reference's ``uid`` at ``metadata.ownerReferences``), orbit names the field
(``metadata.ownerReferences[0].uid``); where Kubernetes' message for an empty value
is a regular-expression lecture, orbit says ``Required value``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from orbit.errors import Issue

from ._codec import child_path, encode
from ._meta import ObjectMeta
from ._names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    regex_error,
    validate_annotations,
    validate_labels,
)
from ._quantity import Quantity

__all__ = [
    "NameRule",
    "child",
    "duplicate",
    "forbidden",
    "invalid",
    "invalid_omit",
    "nonnegative",
    "not_found",
    "required",
    "show",
    "too_long",
    "unsupported",
    "validate_int_or_percent",
    "validate_labels_and_annotations",
    "validate_map_keys",
    "validate_name",
    "validate_object_meta",
    "validate_qualified_name",
]

NameRule = Callable[[str], list[str]]
"""A name check from :mod:`orbit.api._names`: the messages, empty when valid."""

child = child_path

_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def show(value: object) -> str:
    """A bad value as Kubernetes prints it: strings and quantities quoted, numbers and
    booleans bare, structures as compact JSON of their manifest form."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Quantity):
        return f'"{value}"'
    if attrs.has(type(value)) or isinstance(value, Mapping | tuple | list):
        return json.dumps(encode(value), separators=(",", ":"), sort_keys=True)
    return str(value)


def required(path: str, detail: str = "") -> Issue:
    """``Required value[: detail]``."""
    return Issue(path, f"Required value: {detail}" if detail else "Required value")


def invalid(path: str, value: object, detail: str) -> Issue:
    """``Invalid value: <value>: detail``."""
    return Issue(path, f"Invalid value: {show(value)}: {detail}")


def invalid_omit(path: str, detail: str) -> Issue:
    """``Invalid value: detail`` (Kubernetes' ``OmitValueType``: no value shown)."""
    return Issue(path, f"Invalid value: {detail}")


def unsupported(path: str, value: object, supported: Iterable[str]) -> Issue:
    """``Unsupported value: <value>: supported values: "a", "b"``."""
    choices = ", ".join(f'"{choice}"' for choice in supported)
    return Issue(path, f"Unsupported value: {show(value)}: supported values: {choices}")


def duplicate(path: str, value: object, detail: str = "") -> Issue:
    """``Duplicate value: <value>[: detail]``."""
    suffix = f": {detail}" if detail else ""
    return Issue(path, f"Duplicate value: {show(value)}{suffix}")


def forbidden(path: str, detail: str) -> Issue:
    """``Forbidden: detail``."""
    return Issue(path, f"Forbidden: {detail}")


def not_found(path: str, value: object) -> Issue:
    """``Not found: <value>``: a reference that does not resolve."""
    return Issue(path, f"Not found: {show(value)}")


def too_long(path: str, max_bytes: int) -> Issue:
    """``Too long: may not be more than N bytes``."""
    return Issue(path, f"Too long: may not be more than {max_bytes} bytes")


def nonnegative(value: int | None, path: str) -> list[Issue]:
    """Kubernetes' ``ValidateNonnegativeField`` (``None`` means unset: valid)."""
    if value is None or value >= 0:
        return []
    return [invalid(path, value, "must be greater than or equal to 0")]


def validate_name(value: str, path: str, rule: NameRule = is_dns1123_subdomain) -> list[Issue]:
    """``Required value`` for an empty name, else every message of ``rule``."""
    if not value:
        return [required(path)]
    return [invalid(path, value, msg) for msg in rule(value)]


def validate_qualified_name(value: str, path: str) -> list[Issue]:
    """Kubernetes' ``ValidateQualifiedName`` (label keys, condition types)."""
    return [invalid(path, value, msg) for msg in is_qualified_name(value)]


_PERCENT_FMT = "[0-9]+%"
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"


def validate_int_or_percent(
    value: int | str | None, path: str, *, at_most_100_percent: bool = False
) -> list[Issue]:
    """Apps' ``ValidatePositiveIntOrPercent`` (and ``IsNotMoreThan100Percent``): an
    integer >= 0 or a string such as ``"25%"``."""
    if value is None:
        return []
    if isinstance(value, int):
        return nonnegative(value, path)
    digits = value[:-1]
    if not value.endswith("%") or not digits.isascii() or not digits.isdigit():
        return [invalid(path, value, regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%"))]
    if at_most_100_percent and int(digits) > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def _generate_name_messages(prefix: str, rule: NameRule) -> list[str]:
    """Kubernetes' ``maskTrailingDash``: a generateName may end in ``-``."""
    if len(prefix) > 1 and prefix.endswith("-"):
        prefix = prefix[:-1] + "a"
    return rule(prefix)


def _validate_finalizers(finalizers: tuple[str, ...], path: str) -> list[Issue]:
    issues: list[Issue] = []
    for index, finalizer in enumerate(finalizers):
        where = child(path, index)
        messages = is_qualified_name(finalizer)
        issues.extend(invalid(where, finalizer, msg) for msg in messages)
        if not messages and "/" not in finalizer and finalizer not in _STANDARD_FINALIZERS:
            detail = "name is neither a standard finalizer name nor is it fully qualified"
            issues.append(invalid(where, finalizer, detail))
    return issues


def _validate_owner_references(meta: ObjectMeta, path: str) -> list[Issue]:
    issues = []
    first_controller = ""
    for index, ref in enumerate(meta.owner_references):
        where = child(path, index)
        version = ref.api_version.rpartition("/")[2]
        for field, value, noun in (
            ("apiVersion", version, "version"),
            ("kind", ref.kind, "kind"),
            ("name", ref.name, "name"),
            ("uid", ref.uid, "uid"),
        ):
            if not value:
                issues.append(invalid(child(where, field), value, f"{noun} must not be empty"))
        if ref.controller:
            current = f"{ref.kind}/{ref.name}"
            if first_controller:
                detail = (
                    'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {first_controller} and {current}"
                )
                issues.append(invalid(path, meta.owner_references, detail))
            else:
                first_controller = current
    return issues


def validate_labels_and_annotations(meta: ObjectMeta, path: str) -> list[Issue]:
    """The labels and annotations of ``meta`` (a template's metadata needs no name)."""
    issues = validate_labels(meta.labels, child(path, "labels"))
    issues.extend(validate_annotations(meta.annotations, child(path, "annotations")))
    return issues


def validate_object_meta(
    meta: ObjectMeta,
    *,
    name_rule: NameRule = is_dns1123_subdomain,
    namespaced: bool = True,
    path: str = "metadata",
) -> list[Issue]:
    """Kubernetes' ``ValidateObjectMeta``: name (or generateName), namespace, labels,
    annotations, owner references and finalizers.

    A namespaced object may leave ``namespace`` empty (``apply`` puts it in
    ``default``); that a cluster-scoped one sets none is admission's check (``Cluster``).
    """
    issues: list[Issue] = []
    if meta.generate_name:
        issues.extend(
            invalid(child(path, "generateName"), meta.generate_name, msg)
            for msg in _generate_name_messages(meta.generate_name, name_rule)
        )
    if meta.name:
        issues.extend(validate_name(meta.name, child(path, "name"), name_rule))
    elif not meta.generate_name:
        issues.append(required(child(path, "name"), "name or generateName is required"))
    if meta.namespace and namespaced:
        issues.extend(validate_name(meta.namespace, child(path, "namespace"), is_dns1123_label))
    issues.extend(nonnegative(meta.generation, child(path, "generation")))
    issues.extend(validate_labels_and_annotations(meta, path))
    issues.extend(_validate_owner_references(meta, child(path, "ownerReferences")))
    issues.extend(_validate_finalizers(meta.finalizers, child(path, "finalizers")))
    return issues


def validate_map_keys(mapping: Mapping[str, Any], path: str, rule: NameRule) -> list[Issue]:
    """Each key of ``mapping`` checked by ``rule``, reported at ``path[key]``."""
    return [invalid(child(path, key), key, msg) for key in mapping for msg in rule(key)]
