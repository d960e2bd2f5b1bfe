"""Object metadata and the kind registry: what every stored object has in common.

Every top-level kind is a frozen attrs class with a ``metadata: ObjectMeta`` field and
``ClassVar`` type information (``api_version``, ``kind``), registered with
:func:`register_kind`. The store, the manifest loader and ``Cluster`` look kinds up here
by any name kubectl accepts ("Deployment", "deployment", "deployments", "deploy").

Conventions shared by all API classes:

- Python names are snake_case; the wire (manifest) name is the camelCase Kubernetes
  name, derived automatically or given as ``metadata={"key": ...}`` on the field.
- Lists are tuples; maps are plain dicts typed ``Mapping`` (read-only by contract);
  an absent optional struct is ``None``.
- Defaults are Kubernetes' defaults, as attrs defaults (``Factory(takes_self=True)``
  where a default depends on another field), so a loaded object is already defaulted
  and ``dump`` leaves out every field equal to its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, TypeVar

import attrs

from orbit.errors import UnsupportedKind

__all__ = [
    "EMPTY_MAP",
    "ApiObject",
    "KindInfo",
    "ObjectMeta",
    "OwnerReference",
    "TypedObject",
    "all_kinds",
    "kind_info",
    "lookup_kind",
    "register_kind",
    "resolve_kind",
]

EMPTY_MAP: Mapping[str, Any] = MappingProxyType({})
"""The shared empty mapping used as the default of every map field (no per-object cost)."""


@attrs.frozen(kw_only=True)
class OwnerReference:
    """Points at the object that owns this one (garbage collection, adoption)."""

    api_version: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None
    block_owner_deletion: bool | None = None


@attrs.frozen(kw_only=True)
class ObjectMeta:
    """Kubernetes' ObjectMeta: identity, labels, ownership and the store's bookkeeping.

    ``uid``, ``resource_version``, ``generation`` and ``creation_timestamp`` are set by
    the store; a manifest may leave them out.
    """

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    labels: Mapping[str, str] = EMPTY_MAP
    annotations: Mapping[str, str] = EMPTY_MAP
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    deletion_grace_period_seconds: int | None = None
    owner_references: tuple[OwnerReference, ...] = ()
    finalizers: tuple[str, ...] = ()

    def controller_ref(self) -> OwnerReference | None:
        """The owner reference with ``controller: true``, if any."""
        for ref in self.owner_references:
            if ref.controller:
                return ref
        return None


class TypedObject:
    """Base of every top-level kind: the type information a manifest's ``apiVersion``
    and ``kind`` carry, as class variables (set by :func:`register_kind`), so they cost
    nothing per object."""

    __slots__ = ()
    api_version: ClassVar[str]
    kind: ClassVar[str]


class ApiObject(Protocol):
    """What every top-level kind offers: type information and metadata."""

    api_version: ClassVar[str]
    kind: ClassVar[str]

    @property
    def metadata(self) -> ObjectMeta: ...


@attrs.frozen
class KindInfo:
    """Type information for one kind: how manifests and kubectl name it."""

    cls: type[Any]
    api_version: str
    kind: str
    plural: str
    short_names: tuple[str, ...]
    namespaced: bool
    aliases: tuple[str, ...]  # other apiVersions accepted for this kind
    has_spec: bool
    has_status: bool

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]


_BY_NAME: dict[str, KindInfo] = {}
_BY_VERSION_KIND: dict[tuple[str, str], KindInfo] = {}
_BY_CLASS: dict[type[Any], KindInfo] = {}

_T = TypeVar("_T")


def register_kind(
    api_version: str,
    *,
    plural: str,
    short_names: tuple[str, ...] = (),
    namespaced: bool = True,
    aliases: tuple[str, ...] = (),
) -> Any:
    """Class decorator: register a top-level kind under every name kubectl accepts."""

    def decorate(cls: type[_T]) -> type[_T]:
        kind = cls.__name__
        cls.api_version = api_version  # type: ignore[attr-defined]
        cls.kind = kind  # type: ignore[attr-defined]
        if not issubclass(cls, TypedObject):
            raise TypeError(f"{kind} must derive from TypedObject")
        names = {field.name for field in attrs.fields(cls)}  # type: ignore[arg-type]
        info = KindInfo(
            cls=cls,
            api_version=api_version,
            kind=kind,
            plural=plural,
            short_names=short_names,
            namespaced=namespaced,
            aliases=aliases,
            has_spec="spec" in names,
            has_status="status" in names,
        )
        group = info.group
        for name in (kind, kind.lower(), plural, *short_names):
            _BY_NAME[name.lower()] = info
            if group:
                _BY_NAME[f"{name.lower()}.{group}"] = info
        for version in (api_version, *aliases):
            _BY_VERSION_KIND[(version, kind)] = info
        _BY_CLASS[cls] = info
        return cls

    return decorate


def lookup_kind(name: str) -> KindInfo | None:
    """Find a kind by any name kubectl accepts: "Deployment", "deployments", "deploy",
    "deployments.apps"; case-insensitive. ``None`` when orbit has no such kind."""
    return _BY_NAME.get(name.strip().lower())


def kind_info(obj_or_cls: object) -> KindInfo:
    """Type information for an API object or class (``KeyError`` if not a kind)."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return _BY_CLASS[cls]


def resolve_kind(ref: object) -> KindInfo:
    """The kind ``ref`` names: a KindInfo, an API class or any name kubectl accepts
    ("Deployment", "deploy", "deployments.apps"); ``UnsupportedKind`` when orbit has
    none. Every layer that takes a kind from a caller resolves it here."""
    info: KindInfo | None
    if isinstance(ref, KindInfo):
        info = ref
    elif isinstance(ref, str):
        info = lookup_kind(ref)
    else:
        try:
            info = kind_info(ref)
        except KeyError:
            info = None
    if info is None:
        raise UnsupportedKind(f'orbit has no kind "{getattr(ref, "__name__", ref)}"')
    return info


def kind_for(api_version: str, kind: str) -> KindInfo | None:
    """The kind a manifest's ``apiVersion``/``kind`` pair names (aliases included)."""
    return _BY_VERSION_KIND.get((api_version, kind))


def all_kinds() -> list[KindInfo]:
    """Every registered kind, in registration order."""
    return list(_BY_CLASS.values())
