"""``Cluster``: orbit's composition root and its public verbs.

A Cluster owns the store, the clock and one anyio task group in which every control
loop (for now: the scheduler) runs; leaving ``async with Cluster() as cluster`` stops
them all. Its verbs are what kubectl is to Kubernetes: ``apply`` (validate every
document, then store them all or none), ``get``, ``list``, ``delete``, ``watch``,
``events``. Kinds are named as kubectl names them ("Deployment", "deploy").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import anyio.abc
import attrs

from orbit.api import (
    Decoded,
    Event,
    KindInfo,
    Namespace,
    ObjectMeta,
    Pod,
    decode_documents,
    decode_object,
    dump,
    kind_info,
    lookup_kind,
    prefixed,
    read_documents,
    three_way_merge,
)
from orbit.clock import Clock, RealClock
from orbit.controllers import Scheduler, store_aware_registry
from orbit.errors import Issue, NotFound, UnsupportedKind, ValidationError
from orbit.scheduling import Frameworks, Profile, Registry
from orbit.store import MemoryStore, Store, Watch

__all__ = ["LAST_APPLIED_ANNOTATION", "ApplyResult", "Cluster"]

LAST_APPLIED_ANNOTATION = "orbit.dev/last-applied-configuration"
"""Where ``apply`` keeps the manifest it last applied, for the next three-way merge."""

_log = logging.getLogger("orbit")

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

ApplyAction = Literal["created", "configured", "unchanged"]


@attrs.frozen
class _Plan:
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


def resolve_kind(kind: str | type[Any] | KindInfo) -> KindInfo:
    """A KindInfo for a kind given as kubectl would name it, or as a class."""
    if isinstance(kind, KindInfo):
        return kind
    if isinstance(kind, type):
        return kind_info(kind)
    info = lookup_kind(kind)
    if info is None:
        raise UnsupportedKind(f'orbit has no kind "{kind}"')
    return info


class Cluster:
    """An orbit cluster: the store, the control loops and the verbs to drive them.

    Use it as an async context manager::

        async with orbit.Cluster() as cluster:
            await cluster.apply("manifests/")
            pods = await cluster.list("pods", selector="app=web")
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        scheduler_profiles: Iterable[Profile] | None = None,
        scheduler_registry: Registry | None = None,
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.store: Store = store or MemoryStore(clock=self.clock, seed=seed)
        self.scheduler = Scheduler(
            self.store,
            self.clock,
            frameworks=Frameworks(
                scheduler_profiles,
                registry=store_aware_registry(self.store, scheduler_registry),
                seed=seed or 0,
            ),
        )
        self._task_group: anyio.abc.TaskGroup | None = None
        for name in INITIAL_NAMESPACES:
            self._ensure_namespace(name)

    def _ensure_namespace(self, name: str) -> None:
        try:
            self.store.get(Namespace, name)
        except NotFound:
            self.store.create(Namespace(metadata=ObjectMeta(name=name)))

    async def __aenter__(self) -> Self:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            await self._task_group.start(self.scheduler.run)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._task_group is not None
        task_group, self._task_group = self._task_group, None
        task_group.cancel_scope.cancel()
        # The body's own exception propagates as it is (not wrapped in an
        # ExceptionGroup); only a failing control loop raises from here.
        await task_group.__aexit__(None, None, None)
        return None

    # -- apply ---------------------------------------------------------------------

    async def apply(self, source: Any) -> list[ApplyResult]:
        """Create or update every object in ``source``, or none of them.

        ``source`` is anything :func:`orbit.load_manifests` takes. Every document is
        decoded, defaulted, validated, admitted (its namespace must exist or be created
        by the same apply) and merged with the live object before any is stored; any
        issue raises :class:`~orbit.ValidationError` listing them all and leaves the
        store as it was. Existing objects are updated by a three-way merge with the
        manifest applied last time, so fields others set (replicas scaled by an
        autoscaler) are kept unless the manifest names them. Warnings (unknown or
        ignored fields) are logged and returned on each result.
        """
        decoded = decode_documents(read_documents(source))
        issues = [issue for d in decoded for issue in d.issues]
        plans: list[_Plan] = []
        if not issues:
            plans, issues = self._plan(decoded)
        if issues:
            raise ValidationError(issues)
        for note in (w for d in decoded for w in d.warnings):
            _log.warning("%s", note)
        # No await from here on: the whole batch lands atomically for other tasks.
        results = [self._commit(plan) for plan in plans]
        await anyio.lowlevel.checkpoint()
        return results

    def _plan(self, decoded: Sequence[Decoded]) -> tuple[list[_Plan], list[Issue]]:
        """Admit every object and compute what it becomes, touching nothing."""
        issues: list[Issue] = []
        plans: list[_Plan] = []
        seen: set[tuple[str, str, str]] = set()
        new_namespaces = {
            d.object.metadata.name for d in decoded if isinstance(d.object, Namespace)
        }
        for doc in decoded:
            prefix = doc.document.prefix
            obj, problems = self._admit(doc.object, new_namespaces)
            key = (obj.kind, obj.metadata.namespace, obj.metadata.name)
            if key in seen:
                problems.append(Issue("metadata.name", "Duplicate value: applied twice"))
            seen.add(key)
            plan = None if problems else self._merge(obj, doc.warnings, problems)
            issues.extend(Issue(prefixed(prefix, i.path), i.message) for i in problems)
            if plan is not None:
                plans.append(plan)
        return plans, issues

    def _admit(self, obj: Any, new_namespaces: set[str]) -> tuple[Any, list[Issue]]:
        issues: list[Issue] = []
        info = kind_info(obj)
        meta = obj.metadata
        if not meta.name:
            issues.append(Issue("metadata.name", "Required value: apply needs a name"))
        namespace = meta.namespace
        if info.namespaced:
            namespace = namespace or "default"
            if namespace not in new_namespaces and not self._namespace_active(namespace):
                message = f'Not found: namespace "{namespace}" does not exist'
                issues.append(Issue("metadata.namespace", message))
        elif namespace:
            issues.append(Issue("metadata.namespace", f"Forbidden: {info.kind} is not namespaced"))
        return attrs.evolve(obj, metadata=attrs.evolve(meta, namespace=namespace)), issues

    def _namespace_active(self, name: str) -> bool:
        try:
            namespace = self.store.get(Namespace, name)
        except NotFound:
            return False
        return namespace.metadata.deletion_timestamp is None

    def _merge(self, obj: Any, warnings: Sequence[str], issues: list[Issue]) -> _Plan | None:
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
            live = self.store.get(info, meta.name, meta.namespace)
        except NotFound:
            return _Plan(desired, None, tuple(warnings))
        last = json.loads(live.metadata.annotations.get(LAST_APPLIED_ANNOTATION, "{}"))
        new = dump(desired)
        new.pop("status", None)
        merged, problems, _ = decode_object(three_way_merge(dump(live), last, new))
        issues.extend(problems)
        if merged is None or problems:
            return None
        return _Plan(merged, live, tuple(warnings))

    def _commit(self, plan: _Plan) -> ApplyResult:
        obj, live = plan.object, plan.live
        info = kind_info(obj)
        meta = obj.metadata

        def result(action: ApplyAction, stored: Any) -> ApplyResult:
            return ApplyResult(info.kind, meta.namespace, meta.name, action, stored, plan.warnings)

        if live is None:
            return result("created", self.store.create(obj))
        if obj == live:
            return result("unchanged", live)
        updated = self.store.update(obj)
        if info.has_status and updated.status != live.status:
            updated = self.store.update_status(attrs.evolve(updated, status=live.status))
        return result("configured", updated)

    # -- read and delete -------------------------------------------------------------

    async def get(self, kind: str | type[Any], name: str, namespace: str = "default") -> Any:
        """The object of that kind and name (``NotFound`` if there is none)."""
        info = resolve_kind(kind)
        return self.store.get(info, name, namespace if info.namespaced else "")

    async def list(
        self,
        kind: str | type[Any],
        namespace: str | None = None,
        selector: str | Mapping[str, str] | None = None,
        *,
        field_selector: str | Mapping[str, str] | None = None,
    ) -> list[Any]:
        """Objects of a kind, optionally in one namespace (``None``: all namespaces),
        matching a label selector (``"app=web,tier in (a,b)"`` or a dict) and a field
        selector (``metadata.name``, ``spec.nodeName``, ``status.phase``)."""
        info = resolve_kind(kind)
        result = self.store.list(
            info,
            namespace=namespace if info.namespaced else None,
            label_selector=selector,
            field_selector=field_selector,
        )
        return list(result.items)

    async def delete(self, kind: str | type[Any], name: str, namespace: str = "default") -> Any:
        """Delete an object; returns its last state. A pod already bound to a node is
        deleted gracefully (its ``terminationGracePeriodSeconds``): it keeps a deletion
        timestamp until its node agent has stopped it."""
        info = resolve_kind(kind)
        namespace = namespace if info.namespaced else ""
        obj = self.store.get(info, name, namespace)
        grace = 0
        if isinstance(obj, Pod) and obj.spec.node_name:
            grace = obj.spec.termination_grace_period_seconds
        return self.store.delete(info, name, namespace, grace_period_s=grace)

    def watch(
        self,
        kind: str | type[Any],
        namespace: str | None = None,
        selector: str | Mapping[str, str] | None = None,
        *,
        resource_version: str | None = None,
    ) -> Watch[Any]:
        """An async iterator of ADDED / MODIFIED / DELETED events for a kind. Without a
        ``resource_version`` it starts now; list first, then watch from the list's
        resource version to miss nothing."""
        info = resolve_kind(kind)
        return self.store.watch(
            info,
            namespace=namespace if info.namespaced else None,
            label_selector=selector,
            resource_version=resource_version,
        )

    async def events(
        self,
        namespace: str | None = None,
        *,
        involved: Any | None = None,
    ) -> Sequence[Event]:
        """Events, oldest first; only those about ``involved`` (an object) if given."""
        events: list[Event] = await self.list(Event, namespace)
        if involved is not None:
            uid = involved.metadata.uid
            events = [e for e in events if e.involved_object.uid == uid]
        return sorted(events, key=_event_time)


def _event_time(event: Event) -> tuple[float, str]:
    stamp = event.last_timestamp or event.first_timestamp or event.metadata.creation_timestamp
    return (stamp.timestamp() if stamp else 0.0, event.metadata.name)
