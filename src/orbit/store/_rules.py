"""Kubernetes' rules for what the store decides itself, as plain functions: which kind
a caller means, generated names, namespace scoping, and which metadata changes an
update may make. The store (``_memory``) applies them; they hold no state.
"""

from __future__ import annotations

import random
from typing import Any

from orbit.api import KindInfo, resolve_kind
from orbit.errors import AlreadyExists, ValidationError

from ._index import Key

__all__ = [
    "NAME_ALPHABET",
    "check_update",
    "generate_name",
    "namespace_issue",
    "object_key",
    "parse_resource_version",
    "resolve_kind",
    "subject",
]

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The characters Kubernetes appends to a generateName (no vowels, no look-alikes)."""

_MAX_GENERATED_PREFIX = 58  # 63 - 5 random characters
_GENERATE_ATTEMPTS = 8  # Kubernetes retries a colliding generated name a few times


def subject(info: KindInfo, meta: Any) -> str:
    """How errors name an object: ``Pod "web"`` (``Pod "web-*"`` before its name is
    generated)."""
    name = meta.name or f"{meta.generate_name}*"
    return f'{info.kind} "{name}"'


def namespace_issue(info: KindInfo, namespace: str) -> tuple[str, str] | None:
    """What is wrong with ``namespace`` on a new object of this kind, if anything: a
    namespaced kind needs one, a cluster-scoped kind must have none."""
    if info.namespaced and not namespace:
        return ("metadata.namespace", f"required: {info.kind} is namespaced")
    if namespace and not info.namespaced:
        return ("metadata.namespace", f"must be empty: {info.kind} is cluster-scoped")
    return None


def object_key(info: KindInfo, name: str, namespace: str | None) -> Key:
    """The store key for a get / update / delete: a namespaced kind needs a namespace;
    a cluster-scoped one ignores it, so a caller's default namespace does no harm."""
    if not info.namespaced:
        return ("", name)
    if not namespace:
        raise ValidationError([("metadata.namespace", f"required: {info.kind} is namespaced")])
    return (namespace, name)


def generate_name(
    info: KindInfo,
    prefix: str,
    rng: random.Random,
    taken: set[Key] | dict[Key, Any],
    namespace: str,
) -> str:
    """``prefix`` plus five random characters, not yet ``taken`` in ``namespace``.

    The prefix is cut to 58 characters so the name fits 63. ``ValidationError`` when
    there is no prefix (an object needs a name or a generateName); ``AlreadyExists``
    when every attempt collided.
    """
    if not prefix:
        raise ValidationError(
            [("metadata.name", "name or generateName is required")], subject=info.kind
        )
    prefix = prefix[:_MAX_GENERATED_PREFIX]
    for _ in range(_GENERATE_ATTEMPTS):
        name = prefix + "".join(rng.choices(NAME_ALPHABET, k=5))
        if (namespace, name) not in taken:
            return name
    raise AlreadyExists(info.kind, f"{prefix}*****", namespace or None)


def check_update(info: KindInfo, new: Any, old: Any) -> None:
    """Kubernetes' ObjectMeta update rules the store enforces (``new`` and ``old`` are
    metadata): the uid is immutable, and no finalizer may be added to an object being
    deleted. ``ValidationError`` listing every violation."""
    issues = []
    if new.uid and new.uid != old.uid:
        issues.append(("metadata.uid", f'field is immutable (is "{old.uid}")'))
    if old.deletion_timestamp is not None:
        added = [f for f in new.finalizers if f not in old.finalizers]
        if added:
            message = "no new finalizers can be added if the object is being deleted"
            issues.append(("metadata.finalizers", f"{message}, found {added}"))
    if issues:
        raise ValidationError(issues, subject=subject(info, new))


def parse_resource_version(text: str, current: int) -> int:
    """A watch's starting resourceVersion as an int; ``ValidationError`` when it is not
    a non-negative integer or lies in the future of the store (``current``)."""
    try:
        rv = int(text)
    except ValueError:
        rv = -1
    if rv < 0:
        problem = f'invalid resourceVersion "{text}"'
    elif rv > current:
        problem = f"resourceVersion {rv} is newer than the store's ({current})"
    else:
        return rv
    raise ValidationError([("resourceVersion", problem)])
