"""One kind's table: its objects keyed by (namespace, name) and the indexes that let a
list touch only the objects a query can match.

Every index maps a value to the set of keys holding it, and is kept exact on every
write (insert, replace, remove), so a list never scans the whole kind unless the
query restricts nothing:

- namespace -> keys;
- labels: label key -> value -> keys, plus how many objects carry each label key;
- fields: ``spec.nodeName`` and ``status.phase`` where the kind has them (the node
  agent lists its pods by node, the scheduler lists pending ones), and
  ``metadata.ownerReferences.uid`` for every kind (orbit's own field selector, which
  Kubernetes lacks: controllers and the garbage collector find an owner's dependents
  with it). An object with several owners is found under each.

A query starts from the smallest candidate set these offer (its most selective
namespace, ``=``, ``in``, ``exists`` or indexed-field requirement), checks each
candidate against the whole query, and sorts the survivors by (namespace, name), the
order Kubernetes lists in. All the key tuples are shared: one per object.
"""

from __future__ import annotations

import itertools
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from orbit.api import FieldSelector, KindInfo, Requirement, Selector
from orbit.errors import ValidationError

__all__ = [
    "INDEXED_FIELDS",
    "OWNER_UID_FIELD",
    "Key",
    "KindTable",
    "Query",
    "compile_query",
    "field_getters",
]

Key = tuple[str, str]
"""(namespace, name); the namespace is "" for cluster-scoped kinds."""

FieldGetter = Callable[[Any], str]
"""Reads a field's value; multi-valued fields (owner uids) return a tuple of them."""

OWNER_UID_FIELD = "metadata.ownerReferences.uid"
INDEXED_FIELDS = ("spec.nodeName", "status.phase", OWNER_UID_FIELD)

_NO_KEYS: frozenset[Key] = frozenset()


def _get_name(obj: Any) -> str:
    return obj.metadata.name  # type: ignore[no-any-return]


def _get_namespace(obj: Any) -> str:
    return obj.metadata.namespace  # type: ignore[no-any-return]


def _get_node_name(obj: Any) -> str:
    return obj.spec.node_name or ""


def _get_phase(obj: Any) -> str:
    return obj.status.phase or ""


def _get_owner_uids(obj: Any) -> Any:
    """Every owner's uid (a tuple: the one multi-valued field)."""
    return tuple(ref.uid for ref in obj.metadata.owner_references)


def _struct_fields(cls: type[Any], name: str) -> frozenset[str]:
    """The attribute names of the attrs class in field ``name`` of ``cls`` (empty when
    the field is missing or its type cannot be resolved)."""
    try:
        hint = typing.get_type_hints(cls).get(name)
    except (NameError, TypeError):
        return frozenset()
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and attrs.has(candidate):
            return frozenset(attrs.fields_dict(candidate))
    return frozenset()


def field_getters(cls: type[Any]) -> dict[str, FieldGetter]:
    """The field selectors a kind supports, each with the function reading it.

    ``metadata.name``, ``metadata.namespace`` and ``metadata.ownerReferences.uid``
    work for every kind; ``spec.nodeName`` and ``status.phase`` for kinds whose spec /
    status have those fields (Pod).
    """
    getters: dict[str, FieldGetter] = {
        "metadata.name": _get_name,
        "metadata.namespace": _get_namespace,
        OWNER_UID_FIELD: _get_owner_uids,
    }
    if "node_name" in _struct_fields(cls, "spec"):
        getters["spec.nodeName"] = _get_node_name
    if "phase" in _struct_fields(cls, "status"):
        getters["status.phase"] = _get_phase
    return getters


def _field_values(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def _field_matches(value: str | tuple[str, ...], wanted: str) -> bool:
    return wanted in value if isinstance(value, tuple) else value == wanted


def _bucket_add(buckets: dict[str, set[Key]], value: str, key: Key) -> None:
    bucket = buckets.get(value)
    if bucket is None:
        buckets[value] = {key}
    else:
        bucket.add(key)


def _bucket_discard(buckets: dict[str, set[Key]], value: str, key: Key) -> None:
    bucket = buckets.get(value)
    if bucket is not None:
        bucket.discard(key)
        if not bucket:
            del buckets[value]


@attrs.frozen
class Query:
    """A compiled list / watch filter: namespace ("" = all), label selector and field
    requirements ``(path, operator, value)`` with the getter for each path."""

    namespace: str
    selector: Selector
    fields: tuple[tuple[str, str, str], ...]
    getters: tuple[FieldGetter, ...]

    @property
    def everything(self) -> bool:
        """True when the query restricts nothing."""
        return not self.namespace and self.selector.empty and not self.fields

    def matches(self, obj: Any) -> bool:
        """Whether ``obj`` passes every part of the query."""
        meta = obj.metadata
        if self.namespace and meta.namespace != self.namespace:
            return False
        if not self.selector.empty and not self.selector.matches(meta.labels):
            return False
        for (_, operator, value), getter in zip(self.fields, self.getters, strict=True):
            if _field_matches(getter(obj), value) != (operator == "="):
                return False
        return True


def compile_query(
    info: KindInfo,
    getters: Mapping[str, FieldGetter],
    *,
    namespace: str | None,
    selector: Selector,
    fields: FieldSelector,
) -> Query:
    """A :class:`Query` for a kind; ``ValidationError`` naming every field selector
    the kind does not support. Cluster-scoped kinds ignore ``namespace``."""
    unsupported = [term.field for term in fields.requirements if term.field not in getters]
    if unsupported:
        supported = ", ".join(getters)
        raise ValidationError(
            [
                ("fieldSelector", f'field label not supported: "{field}" (use {supported})')
                for field in unsupported
            ],
            subject=f"{info.kind} list",
        )
    terms = fields.requirements
    return Query(
        namespace=(namespace or "") if info.namespaced else "",
        selector=selector,
        fields=tuple((term.field, term.operator, term.value) for term in terms),
        getters=tuple(getters[term.field] for term in terms),
    )


class _LabelIndex:
    """label key -> value -> keys, and how many objects carry each label key."""

    __slots__ = ("_counts", "_values")

    def __init__(self) -> None:
        self._values: dict[str, dict[str, set[Key]]] = {}
        self._counts: dict[str, int] = {}

    def add(self, labels: Mapping[str, str], key: Key) -> None:
        for label, value in labels.items():
            self._add_one(label, value, key)

    def remove(self, labels: Mapping[str, str], key: Key) -> None:
        for label, value in labels.items():
            self._remove_one(label, value, key)

    def replace(self, old: Mapping[str, str], new: Mapping[str, str], key: Key) -> None:
        if old is new or old == new:
            return
        for label, value in old.items():
            if new.get(label) != value:
                self._remove_one(label, value, key)
        for label, value in new.items():
            if old.get(label) != value:
                self._add_one(label, value, key)

    def _add_one(self, label: str, value: str, key: Key) -> None:
        buckets = self._values.get(label)
        if buckets is None:
            self._values[label] = {value: {key}}
            self._counts[label] = 1
        else:
            _bucket_add(buckets, value, key)
            self._counts[label] += 1

    def _remove_one(self, label: str, value: str, key: Key) -> None:
        _bucket_discard(self._values[label], value, key)
        count = self._counts[label] - 1
        if count:
            self._counts[label] = count
        else:
            del self._counts[label], self._values[label]

    def estimate(self, requirement: Requirement) -> int | None:
        """How many keys :meth:`members` would give; ``None`` when the requirement
        cannot seed a query (``!=``, ``notin`` and ``!`` match by absence)."""
        operator = requirement.operator
        if operator == "exists":
            return self._counts.get(requirement.key, 0)
        if operator not in ("=", "in"):
            return None
        buckets = self._values.get(requirement.key)
        if buckets is None:
            return 0
        return sum(len(buckets.get(value, _NO_KEYS)) for value in requirement.values)

    def members(self, requirement: Requirement) -> Iterable[Key]:
        """The keys satisfying an ``=``, ``in`` or ``exists`` requirement (the buckets
        of one label key are disjoint, so chaining them never repeats a key)."""
        buckets = self._values.get(requirement.key, {})
        if requirement.operator == "exists":
            return itertools.chain.from_iterable(buckets.values())
        found = [buckets[value] for value in requirement.values if value in buckets]
        return found[0] if len(found) == 1 else itertools.chain.from_iterable(found)


class KindTable:
    """The objects of one kind and their indexes; no versioning, no events.

    The store calls :meth:`insert`, :meth:`replace` and :meth:`remove` on every write
    and :meth:`select` to answer lists. Objects are immutable, so the table holds the
    very instances the store hands out.
    """

    __slots__ = ("_field_indexes", "_labels", "_namespaces", "_sorted", "getters", "objects")

    def __init__(self, getters: Mapping[str, FieldGetter]) -> None:
        self.objects: dict[Key, Any] = {}
        self.getters: dict[str, FieldGetter] = dict(getters)
        self._namespaces: dict[str, set[Key]] = {}
        self._labels = _LabelIndex()
        self._field_indexes: dict[str, tuple[FieldGetter, dict[str, set[Key]]]] = {
            path: (getter, {}) for path, getter in getters.items() if path in INDEXED_FIELDS
        }
        self._sorted: list[Key] | None = None  # every key, sorted; rebuilt on demand

    def __len__(self) -> int:
        return len(self.objects)

    def insert(self, key: Key, obj: Any) -> None:
        """Add a new object (its key must be free)."""
        self.objects[key] = obj
        _bucket_add(self._namespaces, key[0], key)
        self._labels.add(obj.metadata.labels, key)
        for getter, buckets in self._field_indexes.values():
            for value in _field_values(getter(obj)):
                _bucket_add(buckets, value, key)
        self._sorted = None

    def replace(self, key: Key, old: Any, new: Any) -> None:
        """Swap the object at ``key`` for a newer version of it."""
        self.objects[key] = new
        self._labels.replace(old.metadata.labels, new.metadata.labels, key)
        for getter, buckets in self._field_indexes.values():
            before, after = getter(old), getter(new)
            if before != after:
                for value in _field_values(before):
                    _bucket_discard(buckets, value, key)
                for value in _field_values(after):
                    _bucket_add(buckets, value, key)

    def remove(self, key: Key, old: Any) -> None:
        """Drop the object at ``key``; ``old`` must be the one stored there."""
        del self.objects[key]
        _bucket_discard(self._namespaces, key[0], key)
        self._labels.remove(old.metadata.labels, key)
        for getter, buckets in self._field_indexes.values():
            for value in _field_values(getter(old)):
                _bucket_discard(buckets, value, key)
        self._sorted = None

    def select(self, query: Query) -> list[Any]:
        """The objects matching ``query``, sorted by (namespace, name)."""
        objects = self.objects
        if query.everything:
            return [objects[key] for key in self._sorted_keys()]
        candidates, exact = self._plan(query)
        if candidates is None:  # no index narrows it: filter everything, in order
            matches = query.matches
            return [obj for obj in map(objects.__getitem__, self._sorted_keys()) if matches(obj)]
        if exact:
            keys = sorted(candidates)
        else:
            matches = query.matches
            keys = sorted(key for key in candidates if matches(objects[key]))
        return [objects[key] for key in keys]

    def _sorted_keys(self) -> list[Key]:
        """Every key in (namespace, name) order; cached until a create or delete."""
        if self._sorted is None:
            self._sorted = sorted(self.objects)
        return self._sorted

    def _plan(self, query: Query) -> tuple[Iterable[Key] | None, bool]:
        """The smallest candidate set the indexes give for ``query`` (``None`` when
        none does), and whether every candidate is known to match (the query had
        nothing else to check)."""
        if query.selector.matches_nothing:
            return (), True
        best: tuple[int, Iterable[Key]] | None = None
        sources = 0
        for source in self._sources(query):
            sources += 1
            if best is None or source[0] < best[0]:
                best = source
        if best is None:
            return None, False
        if best[0] == 0:
            return (), True
        parts = bool(query.namespace) + len(query.selector.requirements) + len(query.fields)
        return best[1], parts == 1 and sources == 1

    def _sources(self, query: Query) -> Iterable[tuple[int, Iterable[Key]]]:
        """Every candidate set the indexes offer, with its size. Sets are the index's
        own (never mutated while a list runs); label sets are chained lazily."""
        if query.namespace:
            keys = self._namespaces.get(query.namespace, _NO_KEYS)
            yield len(keys), keys
        for requirement in query.selector.requirements:
            size = self._labels.estimate(requirement)
            if size is not None:
                yield size, self._labels.members(requirement)
        for path, operator, value in query.fields:
            if operator != "=":
                continue
            if path in self._field_indexes:
                keys = self._field_indexes[path][1].get(value, _NO_KEYS)
                yield len(keys), keys
            elif path == "metadata.namespace":
                keys = self._namespaces.get(value, _NO_KEYS)
                yield len(keys), keys
            elif path == "metadata.name":
                named = [(ns, value) for ns in self._namespaces if (ns, value) in self.objects]
                yield len(named), named
