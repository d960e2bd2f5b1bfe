"""The garbage collector: deletes objects whose owners are gone, and finishes the
foreground and orphan deletions the API server starts (:func:`delete_object`).

Kubernetes' ``pkg/controller/garbagecollector`` in one reconcile per object:

- **A dependent** (an object with ownerReferences, not being deleted) is looked at
  when it appears, when its references change and when an owner goes. Each reference
  is resolved in the dependent's namespace (or cluster-wide for cluster-scoped owner
  kinds): an owner that is missing or has another uid is *dangling*, one being
  deleted in the foreground is *waiting*, any other is *solid*. With a solid owner
  the dependent stays and loses its dangling and waiting references; without one it
  is deleted (in the foreground when a waiting owner needs its own subtree gone
  first). Pods go gracefully. See :func:`~._gc_plan.decide`.
- **An owner deleted in the foreground** (marked, ``foregroundDeletion`` finalizer)
  loses the finalizer, and so goes, once no dependent with ``blockOwnerDeletion``
  remains; its dependents are deleted meanwhile, recursively.
- **An owner deleted with orphan** (``orphan`` finalizer) first has its reference
  removed from every dependent, then loses the finalizer.

**Keys.** :class:`~._loop.ControllerLoop` queues ``(namespace, name)`` keys of one
primary kind; the garbage collector's primary kind is every kind, so its keys carry
the kind in their first element: ``("Pod/default", "web-1")``, ``("Node", "n1")`` for a
cluster-scoped kind (:func:`gc_key`). Neither a kind nor a namespace can hold a "/", so
the key splits back exactly. Keys by name rather than uid fit the store (it looks up
by name) and the semantics: a reconcile re-reads whatever object holds the name now
and re-checks every owner's uid, as Kubernetes' GC re-reads before it acts.

**The graph.** Kubernetes keeps a uid graph of every object. Here the store's owner
uid index answers "which objects does this uid own" at decision time, and the loop's
key mappers keep a small cache (uid, ownerReferences, deletion state and finalizers of
every object that has owners or is being deleted, plus owner uid -> dependents) only
to decide which keys an event concerns: a pod status update that changes none of that
enqueues nothing, an owner's deletion enqueues its dependents, a dependent's change or
deletion enqueues an owner waiting for it. Decisions never trust the cache.

Differences from Kubernetes: no absent-owner cache or periodic resync (the store is
in memory and read synchronously); an owner reference to a kind orbit does not know
leaves the dependent untouched without retrying (Kubernetes retries forever); kinds
registered after the collector was built are not watched.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from orbit.api import KindInfo, OwnerReference, all_kinds, lookup_kind, resolve_kind
from orbit.clock import Clock
from orbit.errors import NotFound
from orbit.store import OWNER_UID_FIELD, EventRecorder, EventType, KindRef, Store

from ._base import BaseController
from ._deletion import delete_object
from ._gc_plan import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    Decision,
    blocks,
    decide,
    deleting_dependents,
    needs_dependents,
    owner_kind,
    owner_state,
    unblocked,
    without_owners,
)
from ._loop import Key, KeyMapper, Watched

__all__ = ["GarbageCollector", "delete_object", "gc_key", "parse_gc_key"]

_log = logging.getLogger("orbit.controllers")


def gc_key(info: KindInfo, namespace: str, name: str) -> Key:
    """The garbage collector's queue key for an object: ``("Kind/namespace", name)``,
    or ``("Kind", name)`` for a cluster-scoped kind."""
    return (f"{info.kind}/{namespace}" if info.namespaced else info.kind, name)


def parse_gc_key(key: Key) -> tuple[KindInfo, str, str] | None:
    """``(kind, namespace, name)`` from a :func:`gc_key`; ``None`` for a key naming no
    kind orbit knows."""
    kind, _, namespace = key[0].partition("/")
    info = lookup_kind(kind)
    if info is None or info.kind != kind:
        return None
    return info, namespace, key[1]


@attrs.frozen
class _Seen:
    """What the key mappers last saw of an object that has owners or is being
    deleted: just enough to tell which events matter to the collector."""

    uid: str
    owners: tuple[OwnerReference, ...]
    deleting: bool
    finalizers: tuple[str, ...]

    @property
    def waiting(self) -> bool:
        """Deleting in the foreground: waiting for its blocking dependents."""
        return self.deleting and FOREGROUND_FINALIZER in self.finalizers


class GarbageCollector(BaseController):
    """Cascading deletion through ownerReferences (module docstring).

    Args:
        store: the cluster's store.
        clock: the cluster's clock (for events).
        kinds: the kinds to collect (default: every registered kind).
        recorder: where events go (``OwnerRefInvalidNamespace``).
    """

    name = "garbage-collector"
    event_component = "garbage-collector-controller"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        kinds: Iterable[KindRef] | None = None,
        recorder: EventRecorder | None = None,
    ) -> None:
        super().__init__(store, clock, recorder=recorder)
        chosen = all_kinds() if kinds is None else [resolve_kind(k) for k in kinds]
        self.kinds: tuple[KindInfo, ...] = tuple(chosen)
        self._seen: dict[Key, _Seen] = {}
        # owner uid -> keys of the objects referring to it (dicts: ordered, so the
        # enqueue order, and with it a simulation, is the same on every run)
        self._dependents: dict[str, dict[Key, None]] = {}

    @property
    def watches(self) -> Sequence[Watched]:
        return tuple(Watched(info, self._mapper(info)) for info in self.kinds)

    # -- which keys an event concerns -------------------------------------------------

    def _mapper(self, info: KindInfo) -> KeyMapper:
        def keys(event: EventType, obj: Any) -> list[Key]:
            return self._keys(info, event, obj)

        return keys

    def _keys(self, info: KindInfo, event: EventType, obj: Any) -> list[Key]:
        meta = obj.metadata
        key = gc_key(info, meta.namespace, meta.name)
        old = self._seen.get(key)
        if event == "DELETED":
            self._link(key, old, None)
            found = self._waiting_owners(meta.namespace, meta.owner_references)
            found.update(self._dependents.get(meta.uid, {}))  # may be garbage now
            return list(found)
        new = _Seen(
            meta.uid, meta.owner_references, meta.deletion_timestamp is not None, meta.finalizers
        )
        if new == old and event != "ADDED":
            return []
        self._link(key, old, new if new.owners or new.deleting else None)
        found = {key: None} if new.owners or new.deleting else {}
        # an owner waiting for this one must count its dependents again
        refs = new.owners if old is None else (*old.owners, *new.owners)
        found.update(self._waiting_owners(meta.namespace, refs))
        if new.waiting:  # a foreground deletion began: its dependents go first
            found.update(self._dependents.get(new.uid, {}))
        return list(found)

    def _link(self, key: Key, old: _Seen | None, new: _Seen | None) -> None:
        """Replace what is remembered of ``key`` (``None``: forget it), keeping the
        owner uid -> dependents index in step."""
        if old is not None and (new is None or new.owners != old.owners):
            for ref in old.owners:
                dependents = self._dependents.get(ref.uid)
                if dependents is not None:
                    dependents.pop(key, None)
                    if not dependents:
                        del self._dependents[ref.uid]
        if new is None:
            self._seen.pop(key, None)
            return
        if old is None or new.owners != old.owners:
            for ref in new.owners:
                self._dependents.setdefault(ref.uid, {})[key] = None
        self._seen[key] = new

    def _waiting_owners(self, namespace: str, refs: Iterable[OwnerReference]) -> dict[Key, None]:
        """The keys of those owners in ``refs`` last seen deleting in the foreground."""
        found: dict[Key, None] = {}
        for ref in refs:
            info = owner_kind(ref)
            if info is None:
                continue
            key = gc_key(info, namespace if info.namespaced else "", ref.name)
            seen = self._seen.get(key)
            if seen is not None and seen.uid == ref.uid and seen.waiting:
                found[key] = None
        return found

    # -- reconcile --------------------------------------------------------------------

    def reconcile(self, key: Key) -> float | None:
        """Collect, orphan or finish the object at ``key`` (module docstring)."""
        parsed = parse_gc_key(key)
        if parsed is None:
            return None
        info, namespace, name = parsed
        obj = self._get(info, name, namespace)
        if obj is None:
            return None
        meta = obj.metadata
        if meta.deletion_timestamp is not None:
            if ORPHAN_FINALIZER in meta.finalizers:
                self._orphan_dependents(obj)
                obj = self._get(info, name, namespace)
            if obj is not None and FOREGROUND_FINALIZER in obj.metadata.finalizers:
                self._finish_foreground(obj)
            return None  # being deleted is a one-way trip: nothing else to decide
        if meta.owner_references:
            self._collect(info, obj)
        return None

    def _collect(self, info: KindInfo, obj: Any) -> None:
        """``attemptToDeleteItem`` for a dependent that is not being deleted."""
        meta = obj.metadata
        states = []
        for ref in meta.owner_references:
            owner_info = owner_kind(ref)
            if owner_info is None:
                _log.warning(
                    "%s: %s %s/%s refers to owner %s %r of a kind orbit does not know; left alone",
                    self.name,
                    info.kind,
                    meta.namespace,
                    meta.name,
                    ref.kind,
                    ref.name,
                )
                return
            if owner_info.namespaced and not info.namespaced:
                self._invalid_namespace(obj, ref)
                return
            owner_ns = meta.namespace if owner_info.namespaced else ""
            states.append(owner_state(ref, self._get(owner_info, ref.name, owner_ns)))
        has_dependents = dependent_deleting = False
        if needs_dependents(states):
            dependents = self._stored_dependents(meta.uid)
            has_dependents = bool(dependents)
            dependent_deleting = any(deleting_dependents(d.metadata) for d in dependents)
        decision = decide(
            meta.owner_references,
            states,
            meta.finalizers,
            has_dependents=has_dependents,
            dependent_deleting_dependents=dependent_deleting,
        )
        self._carry_out(info, obj, decision)

    def _carry_out(self, info: KindInfo, obj: Any, decision: Decision) -> None:
        meta = obj.metadata
        if decision.action == "remove_refs":
            self._set_owners(obj, without_owners(meta.owner_references, decision.owner_uids))
        elif decision.action == "delete":
            if decision.unblock:
                self._set_owners(obj, unblocked(meta.owner_references))
            with contextlib.suppress(NotFound):
                delete_object(
                    self.store, info, meta.name, meta.namespace, propagation_policy=decision.policy
                )

    def _finish_foreground(self, obj: Any) -> None:
        """``processDeletingDependentsItem``: drop ``foregroundDeletion`` once no
        dependent blocks the owner (its dependents were queued when the deletion
        began, and each of their changes queues the owner again)."""
        uid = obj.metadata.uid
        if any(blocks(d.metadata, uid) for d in self._stored_dependents(uid)):
            return
        self._remove_finalizer(obj, FOREGROUND_FINALIZER)

    def _orphan_dependents(self, obj: Any) -> None:
        """``attemptToOrphanWorker``: remove the owner's references from every
        dependent, then the ``orphan`` finalizer."""
        uid = obj.metadata.uid
        for dependent in self._stored_dependents(uid):
            refs = without_owners(dependent.metadata.owner_references, (uid,))
            try:
                self._set_owners(dependent, refs)
            except NotFound:
                continue
        current = self._get_like(obj)
        if current is not None and current.metadata.uid == uid:
            self._remove_finalizer(current, ORPHAN_FINALIZER)

    # -- store helpers ----------------------------------------------------------------

    def _get(self, info: KindInfo, name: str, namespace: str) -> Any | None:
        try:
            return self.store.get(info, name, namespace)
        except NotFound:
            return None

    def _get_like(self, obj: Any) -> Any | None:
        meta = obj.metadata
        return self._get(resolve_kind(type(obj)), meta.name, meta.namespace)

    def _stored_dependents(self, uid: str) -> list[Any]:
        """Every object (of the collected kinds, in any namespace) with an owner
        reference to ``uid``, from the store's owner index."""
        found: list[Any] = []
        for info in self.kinds:
            found.extend(self.store.list(info, field_selector={OWNER_UID_FIELD: uid}).items)
        return found

    def _set_owners(self, obj: Any, refs: tuple[OwnerReference, ...]) -> None:
        meta = obj.metadata
        if refs != meta.owner_references:
            self.store.update(attrs.evolve(obj, metadata=attrs.evolve(meta, owner_references=refs)))

    def _remove_finalizer(self, obj: Any, finalizer: str) -> None:
        meta = obj.metadata
        if finalizer in meta.finalizers:
            kept = tuple(f for f in meta.finalizers if f != finalizer)
            self.store.update(attrs.evolve(obj, metadata=attrs.evolve(meta, finalizers=kept)))

    def _invalid_namespace(self, obj: Any, ref: OwnerReference) -> None:
        """A cluster-scoped object cannot have a namespaced owner: Kubernetes leaves
        it alone and says so in a Warning event."""
        meta = obj.metadata
        owner = f"[{ref.api_version}/{ref.kind}, namespace: , name: {ref.name}, uid: {ref.uid}]"
        message = f'ownerRef {owner} does not exist in namespace "{meta.namespace}"'
        self.recorder.record(obj, "Warning", "OwnerRefInvalidNamespace", message)
