"""How ``Cluster.apply`` turns manifests into stored objects, all or none, as
``kubectl apply`` does (client-side apply, its last-applied-configuration annotation
and three-way merge).

:func:`plan_objects` decides what every object becomes without touching the store:
its namespace must exist (or come in the same apply), and an existing object is
merged with the live one and validated again. :func:`dry_run_admission` runs the
store's admission chain over the whole batch, storing nothing, so a refusal leaves the
store as it was. :func:`commit` then creates or updates each object and says what it
did (created, configured, unchanged) in an :class:`ApplyResult`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from orbit.api import (
    Decoded,
    Namespace,
    decode_object,
    dump,
    kind_info,
    prefixed,
    three_way_merge,
)
from orbit.errors import Issue, NotFound
from orbit.store import AdmissionBatch, Store

__all__ = [
    "LAST_APPLIED_ANNOTATION",
    "ApplyAction",
    "ApplyResult",
    "Plan",
    "commit",
    "dry_run_admission",
    "plan_objects",
]

LAST_APPLIED_ANNOTATION = "orbit.dev/last-applied-configuration"
"""Where ``apply`` keeps the manifest it last applied, for the next three-way merge."""


ApplyAction = Literal["created", "configured", "unchanged"]


@attrs.frozen
class Plan:
    """One object of an apply, decided but not yet stored."""

    object: Any
    live: Any | None  # the stored object it replaces, if any
    warnings: tuple[str, ...]


@attrs.frozen
class ApplyResult:
    """What ``apply`` did to one object, kubectl-style: ``deployment.apps/web created``."""

    kind: str
    namespace: str
    name: str
    action: ApplyAction
    object: Any
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        info = kind_info(self.object)
        resource = f"{info.kind.lower()}.{info.group}" if info.group else info.kind.lower()
        return f"{resource}/{self.name} {self.action}"


def dry_run_admission(store: Store, plans: Sequence[Plan]) -> None:
    """Admit the batch as the commit will, storing nothing: each object (in commit
    order) is admitted with the earlier ones of the batch counted as stored, and
    the quota usage their admission would charge counted too. A refusal raises
    (``Forbidden``, ``ValidationError``); since nothing awaits between this and
    the commit, the commit's own admission then accepts every object."""
    batch = AdmissionBatch()
    for plan in plans:
        if plan.object != plan.live:  # "unchanged" objects are not written
            store.admit(plan.object, old=plan.live, batch=batch)


def plan_objects(store: Store, decoded: Sequence[Decoded]) -> tuple[list[Plan], list[Issue]]:
    """Admit every object and compute what it becomes, touching nothing."""
    issues: list[Issue] = []
    plans: list[Plan] = []
    seen: set[tuple[str, str, str]] = set()
    new_namespaces = {d.object.metadata.name for d in decoded if isinstance(d.object, Namespace)}
    for doc in decoded:
        prefix = doc.document.prefix
        obj, problems = _admit(store, doc.object, new_namespaces)
        key = (obj.kind, obj.metadata.namespace, obj.metadata.name)
        if key in seen:
            problems.append(Issue("metadata.name", "Duplicate value: applied twice"))
        seen.add(key)
        plan = None if problems else _merge(store, obj, doc.warnings, problems)
        issues.extend(Issue(prefixed(prefix, i.path), i.message) for i in problems)
        if plan is not None:
            plans.append(plan)
    return plans, issues


def _admit(store: Store, obj: Any, new_namespaces: set[str]) -> tuple[Any, list[Issue]]:
    issues: list[Issue] = []
    info = kind_info(obj)
    meta = obj.metadata
    if not meta.name:
        issues.append(Issue("metadata.name", "Required value: apply needs a name"))
    namespace = meta.namespace
    if info.namespaced:
        namespace = namespace or "default"
        state = "active" if namespace in new_namespaces else _namespace_state(store, namespace)
        if state == "missing":
            message = f'Not found: namespace "{namespace}" does not exist'
            issues.append(Issue("metadata.namespace", message))
        elif state == "terminating":
            message = (
                f"Forbidden: unable to create new content in namespace {namespace} "
                "because it is being terminated"
            )
            issues.append(Issue("metadata.namespace", message))
    elif namespace:
        issues.append(Issue("metadata.namespace", f"Forbidden: {info.kind} is not namespaced"))
    return attrs.evolve(obj, metadata=attrs.evolve(meta, namespace=namespace)), issues


def _namespace_state(store: Store, name: str) -> Literal["active", "terminating", "missing"]:
    try:
        namespace = store.get(Namespace, name)
    except NotFound:
        return "missing"
    return "active" if namespace.metadata.deletion_timestamp is None else "terminating"


def _merge(store: Store, obj: Any, warnings: Sequence[str], issues: list[Issue]) -> Plan | None:
    """What ``obj`` becomes: itself when new, else the three-way merge with the live
    object (validated again: fields kept from the live object take part)."""
    info = kind_info(obj)
    meta = obj.metadata
    manifest = dump(obj)
    manifest.pop("status", None)
    applied = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    annotations = {**meta.annotations, LAST_APPLIED_ANNOTATION: applied}
    desired = attrs.evolve(obj, metadata=attrs.evolve(meta, annotations=annotations))
    try:
        live = store.get(info, meta.name, meta.namespace)
    except NotFound:
        return Plan(desired, None, tuple(warnings))
    last = json.loads(live.metadata.annotations.get(LAST_APPLIED_ANNOTATION, "{}"))
    new = dump(desired)
    new.pop("status", None)
    merged, problems, _ = decode_object(three_way_merge(dump(live), last, new))
    issues.extend(problems)
    if merged is None or problems:
        return None
    return Plan(merged, live, tuple(warnings))


def commit(store: Store, plan: Plan) -> ApplyResult:
    """Store one planned object (create it, update it or leave it as it is) and say
    which; an update keeps the live object's status."""
    obj, live = plan.object, plan.live
    info = kind_info(obj)
    meta = obj.metadata

    def result(action: ApplyAction, stored: Any) -> ApplyResult:
        return ApplyResult(info.kind, meta.namespace, meta.name, action, stored, plan.warnings)

    if live is None:
        return result("created", store.create(obj))
    if obj == live:
        return result("unchanged", live)
    updated = store.update(obj)
    if info.has_status and updated.status != live.status:
        updated = store.update_status(attrs.evolve(updated, status=live.status))
    return result("configured", updated)
