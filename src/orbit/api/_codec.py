"""Manifest codec: Kubernetes-shaped dicts to typed attrs objects and back.

One generic decoder and encoder serve every kind, driven by the attrs fields and
their type hints, so adding a field to an API class is all it takes to read and write
it. Decoding never stops at the first problem: each wrong type is recorded as an
:class:`~orbit.errors.Issue` with its field path and the field keeps its default, so
semantic validation can still run and the user sees every error at once. Unknown
fields become warnings naming their path; fields Kubernetes has but orbit does not
honour (listed per class in ``__orbit_ignored__``) get a warning saying so.

Encoding leaves out every field equal to its default (static defaults and defaults
computed from other fields alike), which keeps dumps free of defaulted noise while
``load(dump(x)) == x`` holds.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args, get_origin

import attrs

from orbit.errors import Issue

from ._quantity import Quantity

__all__ = [
    "DecodeContext",
    "child_path",
    "decode_into",
    "encode",
    "format_time",
    "ignored_fields",
    "wire_name",
]

_ACRONYMS = {
    "ip": "IP",
    "ips": "IPs",
    "cidr": "CIDR",
    "cidrs": "CIDRs",
    "uid": "UID",
    "pid": "PID",
    "ipc": "IPC",
    "url": "URL",
}


@functools.cache
def wire_name(python_name: str) -> str:
    """The manifest key for a snake_case attribute: ``pod_ip`` -> ``podIP``."""
    first, *rest = python_name.split("_")
    return first + "".join(_ACRONYMS.get(part, part.capitalize()) for part in rest)


_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def child_path(path: str, key: str | int) -> str:
    """Extend a field path: ``spec`` + ``replicas`` -> ``spec.replicas``, ``[0]`` for
    list indices, ``[app.kubernetes.io/name]`` for map keys that are not identifiers."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not _SIMPLE_KEY.match(key):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as Kubernetes writes timestamps."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


class DecodeContext:
    """Collects issues and warnings while a document is decoded."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.warnings: list[str] = []

    def issue(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_Decoder = Callable[[Any, str, DecodeContext], Any]
_MISSING = object()


def _decode_str(value: Any, path: str, ctx: DecodeContext) -> Any:
    if isinstance(value, str):
        return value
    ctx.issue(path, f"Invalid value: {_describe(value)}: must be a string")
    return _MISSING


def _decode_int(value: Any, path: str, ctx: DecodeContext) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    ctx.issue(path, f"Invalid value: {_describe(value)}: must be an integer")
    return _MISSING


def _decode_float(value: Any, path: str, ctx: DecodeContext) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    ctx.issue(path, f"Invalid value: {_describe(value)}: must be a number")
    return _MISSING


def _decode_bool(value: Any, path: str, ctx: DecodeContext) -> Any:
    if isinstance(value, bool):
        return value
    ctx.issue(path, f"Invalid value: {_describe(value)}: must be true or false")
    return _MISSING


def _decode_quantity(value: Any, path: str, ctx: DecodeContext) -> Any:
    if isinstance(value, Quantity):
        return value
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return Quantity.parse(value)
        except ValueError:
            ctx.issue(path, f'invalid quantity "{value}"')
            return _MISSING
    ctx.issue(path, f"Invalid value: {_describe(value)}: must be a quantity")
    return _MISSING


def _decode_datetime(value: Any, path: str, ctx: DecodeContext) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    ctx.issue(path, f"Invalid value: {_describe(value)}: must be an RFC 3339 timestamp")
    return _MISSING


def _decode_any(value: Any, path: str, ctx: DecodeContext) -> Any:
    return value


_SCALARS: dict[Any, _Decoder] = {
    str: _decode_str,
    int: _decode_int,
    float: _decode_float,
    bool: _decode_bool,
    Quantity: _decode_quantity,
    datetime: _decode_datetime,
    Any: _decode_any,
    object: _decode_any,
}


def _literal_decoder(choices: tuple[Any, ...]) -> _Decoder:
    supported = ", ".join(f'"{choice}"' for choice in choices)

    def decode(value: Any, path: str, ctx: DecodeContext) -> Any:
        if value in choices and type(value) is type(choices[0]):
            return value
        ctx.issue(path, f"Unsupported value: {_describe(value)}: supported values: {supported}")
        return _MISSING

    return decode


def _union_decoder(members: tuple[Any, ...]) -> _Decoder:
    optional = type(None) in members
    rest = tuple(member for member in members if member is not type(None))
    if len(rest) == 1:
        inner = _decoder_for(rest[0])

        def decode_optional(value: Any, path: str, ctx: DecodeContext) -> Any:
            return None if value is None else inner(value, path, ctx)

        return decode_optional
    # int | str (Kubernetes' IntOrString) and similar unions of scalars
    allowed = set(rest)

    def decode_union(value: Any, path: str, ctx: DecodeContext) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool):
            kinds: set[Any] = {bool}
        elif isinstance(value, int):
            kinds = {int}
        else:
            kinds = {type(value)}
        if kinds & allowed:
            return value
        names = " or ".join(sorted(getattr(m, "__name__", str(m)) for m in rest))
        ctx.issue(path, f"Invalid value: {_describe(value)}: must be {names}")
        return _MISSING

    return decode_union


def _tuple_decoder(item_type: Any) -> _Decoder:
    inner = _decoder_for(item_type)

    def decode(value: Any, path: str, ctx: DecodeContext) -> Any:
        if not isinstance(value, list | tuple):
            ctx.issue(path, f"Invalid value: {_describe(value)}: must be a list")
            return _MISSING
        items = []
        for index, item in enumerate(value):
            decoded = inner(item, child_path(path, index), ctx)
            if decoded is not _MISSING:
                items.append(decoded)
        return tuple(items)

    return decode


def _mapping_decoder(value_type: Any) -> _Decoder:
    inner = _decoder_for(value_type)

    def decode(value: Any, path: str, ctx: DecodeContext) -> Any:
        if not isinstance(value, Mapping):
            ctx.issue(path, f"Invalid value: {_describe(value)}: must be an object")
            return _MISSING
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                ctx.issue(child_path(path, str(key)), "keys must be strings")
                continue
            decoded = inner(item, child_path(path, key), ctx)
            if decoded is not _MISSING:
                result[key] = decoded
        return result

    return decode


def _decoder_for(hint: Any) -> _Decoder:
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin = get_origin(hint)
    if origin is Literal:
        return _literal_decoder(get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(get_args(hint))
    if origin is tuple:
        return _tuple_decoder(get_args(hint)[0])
    if origin in (Mapping, dict, typing.Mapping):
        return _mapping_decoder(get_args(hint)[1])
    if attrs.has(hint):
        return functools.partial(decode_into, hint)
    raise TypeError(f"orbit's codec has no decoder for type {hint!r}")


@attrs.frozen
class _FieldPlan:
    name: str
    key: str
    decoder: _Decoder


@functools.cache
def _plan(cls: type[Any]) -> dict[str, _FieldPlan]:
    hints = typing.get_type_hints(cls)
    plan = {}
    for field in attrs.fields(cls):
        if field.metadata.get("skip"):
            continue
        key = field.metadata.get("key") or wire_name(field.name)
        plan[key] = _FieldPlan(field.name, key, _decoder_for(hints[field.name]))
    return plan


def ignored_fields(cls: type[Any]) -> frozenset[str]:
    """Wire names Kubernetes defines on this class that orbit accepts but ignores."""
    return frozenset(getattr(cls, "__orbit_ignored__", ()))


def decode_into(cls: type[Any], data: Any, path: str, ctx: DecodeContext) -> Any:
    """Decode ``data`` (a mapping) into an instance of the attrs class ``cls``.

    Problems are recorded in ``ctx``; a field with a problem keeps its default, so the
    result is always a usable object (check ``ctx.issues`` before trusting it).
    """
    if not isinstance(data, Mapping):
        ctx.issue(path, f"Invalid value: {_describe(data)}: must be an object")
        return cls()
    plan = _plan(cls)  # type: ignore[arg-type]  # classes are hashable
    ignored = ignored_fields(cls)
    skip = getattr(cls, "__orbit_skip_keys__", ())
    kwargs = {}
    for key, value in data.items():
        field = plan.get(key)
        if field is None:
            if key in skip:
                continue
            where = child_path(path, str(key))
            if key in ignored:
                ctx.warnings.append(f"{where}: ignored: orbit does not honour this field")
            else:
                ctx.warnings.append(f'unknown field "{where}"')
            continue
        if value is None:
            continue  # null means "not set": the default applies, as in Kubernetes
        decoded = field.decoder(value, child_path(path, key), ctx)
        if decoded is not _MISSING:
            kwargs[field.name] = decoded
    return cls(**kwargs)


def _default_of(field: attrs.Attribute[Any], obj: object) -> Any:
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory(obj) if default.takes_self else default.factory()
    return default


def encode(value: Any) -> Any:
    """A Kubernetes-shaped plain value for an API value: attrs objects become dicts
    without their defaulted fields, tuples lists, quantities canonical strings and
    timestamps RFC 3339."""
    if attrs.has(type(value)):
        result: dict[str, Any] = {}
        omit_hook = getattr(value, "__orbit_omit__", None)
        omit: frozenset[str] = omit_hook() if omit_hook is not None else frozenset()
        for field in attrs.fields(type(value)):
            if field.metadata.get("skip") or field.name in omit:
                continue
            item = getattr(value, field.name)
            if field.default is not attrs.NOTHING and item == _default_of(field, value):
                continue
            result[field.metadata.get("key") or wire_name(field.name)] = encode(item)
        return result
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    return value
