"""Regenerate the generated part of docs/manifest-reference.md from the API classes.

The field tables (what orbit reads, with Kubernetes' defaults) and the list of fields
orbit accepts but does not honour come from the code itself, so the reference cannot
drift: ``tests/unit/test_docs.py`` fails when the document is out of date.

Usage: ``python tools/gen_manifest_reference.py`` (rewrites the file in place).
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import attrs

from orbit.api import Quantity, all_kinds
from orbit.api._codec import encode, ignored_fields, wire_name

DOC = Path(__file__).resolve().parent.parent / "docs" / "manifest-reference.md"
BEGIN = "<!-- BEGIN GENERATED: tools/gen_manifest_reference.py -->"
END = "<!-- END GENERATED -->"


def _type_name(hint: Any) -> str:
    origin = get_origin(hint)
    if hint is str:
        return "string"
    if hint is int:
        return "integer"
    if hint is bool:
        return "boolean"
    if hint is float:
        return "number"
    if hint is Quantity:
        return "quantity"
    if hint is datetime:
        return "timestamp"
    if origin is Literal:
        return " \\| ".join(f"`{a}`" if a else '`""`' for a in get_args(hint))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if set(args) == {int, str}:
            return "int-or-string"
        return " \\| ".join(_type_name(a) for a in args)
    if origin is tuple:
        return f"list of {_type_name(get_args(hint)[0])}"
    if origin in (Mapping, dict):
        return f"map of {_type_name(get_args(hint)[1])}"
    if attrs.has(hint):
        return "object"
    return str(hint)


def _default_text(field: attrs.Attribute[Any]) -> str:
    """The default as the docs show it; empty for zero values (empty, 0, false, none)."""
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            doc = (default.factory.__doc__ or "").strip().splitlines()
            return doc[0] if doc else "derived from other fields"
        default = default.factory()
    if attrs.has(type(default)) or not default:
        return ""
    if default is True:
        return "`true`"
    return f"`{encode(default)}`"


def _rows(cls: type[Any], prefix: str, seen: set[type[Any]], out: list[str]) -> None:
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        key = field.metadata.get("key") or wire_name(field.name)
        path = f"{prefix}.{key}" if prefix else key
        hint = hints[field.name]
        out.append(f"| `{path}` | {_type_name(hint)} | {_default_text(field)} |")
        for inner in _struct_types(hint):
            if inner not in seen:
                _rows(
                    inner, path + ("[]" if get_origin(hint) is tuple else ""), seen | {inner}, out
                )


def _struct_types(hint: Any) -> list[type[Any]]:
    if attrs.has(hint):
        return [hint]
    return [t for arg in get_args(hint) for t in _struct_types(arg)]


_SHARED = (
    "metadata",
    "spec.template.metadata",
    "spec.template.spec",
    "spec.jobTemplate.metadata",
    "spec.jobTemplate.spec.template",
)


def _kind_section(info: Any) -> list[str]:
    aliases = f" (also accepted: {', '.join(info.aliases)})" if info.aliases else ""
    names = ", ".join(f"`{n}`" for n in (info.plural, *info.short_names))
    out = [
        f"### {info.kind}",
        "",
        f"`apiVersion: {info.api_version}`{aliases}; kubectl names: {names}; "
        f"{'namespaced' if info.namespaced else 'cluster-scoped'}.",
        "",
        "| field | type | default |",
        "| --- | --- | --- |",
    ]
    rows: list[str] = []
    _rows(info.cls, "", {info.cls}, rows)
    shared = _SHARED[1:] if info.kind == "Pod" else _SHARED
    out += [r for r in rows if not any(r.startswith(f"| `{s}.") for s in shared)]
    return [*out, ""]


def _ignored_section() -> list[str]:
    out = [
        "## Fields orbit accepts but does not honour",
        "",
        "A manifest may carry these Kubernetes fields: orbit loads it with a "
        "`ManifestWarning` naming the field (`...: ignored: orbit does not honour "
        "this field`) and otherwise ignores the field. Any other unknown field gets "
        '`unknown field "<path>"`.',
        "",
        "| object | ignored fields |",
        "| --- | --- |",
    ]
    classes: dict[str, type[Any]] = {}
    for info in all_kinds():
        for cls in _all_structs(info.cls, set()):
            classes[cls.__name__] = cls
    for name in sorted(classes):
        ignored = sorted(ignored_fields(classes[name]))
        if ignored:
            out.append(f"| {name} | {', '.join(f'`{f}`' for f in ignored)} |")
    return [*out, ""]


def _all_structs(cls: type[Any], seen: set[type[Any]]) -> set[type[Any]]:
    seen.add(cls)
    for hint in typing.get_type_hints(cls).values():
        for inner in _struct_types(hint):
            if inner not in seen:
                _all_structs(inner, seen)
    return seen


def generate() -> str:
    lines = [
        BEGIN,
        "",
        "## Kinds and fields",
        "",
        "Generated from the API classes. `metadata` (ObjectMeta) is the same for "
        "every kind and listed once, under Pod; a pod template's fields are those "
        "of Pod's `spec`.",
        "",
    ]
    for info in all_kinds():
        lines += _kind_section(info)
    lines += _ignored_section()
    lines.append(END)
    return "\n".join(lines)


def render(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + generate() + tail


def main() -> int:
    text = DOC.read_text()
    DOC.write_text(render(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
