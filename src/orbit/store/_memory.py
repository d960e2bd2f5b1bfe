"""The in-memory store: every object of a cluster, versioned, indexed and watchable.

Semantics (Kubernetes' API server and etcd, in one process):

- **resourceVersion** is one cluster-wide counter, bumped by every write and carried
  by the written object as a decimal string. ``create`` also sets ``uid``,
  ``creation_timestamp`` (whole seconds, UTC, from the store's clock) and
  ``generation`` (1 for kinds with a spec; kinds without one, such as ConfigMap, keep
  0), and makes up the name from ``generate_name`` when there is none. Bookkeeping
  fields a caller passes in are ignored.
- **update** is optimistic: a non-empty ``metadata.resource_version`` that is no
  longer current raises :class:`~orbit.errors.Conflict`; an empty one updates
  unconditionally. Status is a subresource: ``update`` keeps the stored status and
  ``update_status`` changes nothing else. ``generation`` is bumped when, and only
  when, the spec changes. An update that changes nothing returns the stored object
  with no new resourceVersion and no event.
- **delete** of an object with finalizers, or with ``grace_period_s > 0``, only marks
  it (``deletion_timestamp``, ``deletion_grace_period_seconds``); it goes once its
  last finalizer is removed (with no grace period pending) or a later delete with
  ``grace_period_s=0`` finds no finalizers. A pending grace period can only be
  shortened. The store never deletes on its own when a grace period ends: the node
  agent does.
- **admission**: an ordered chain of plugins (LimitRange defaults, ResourceQuota...)
  sees every create, once its name is decided and found free, and every update, and
  may change the object or refuse the write before anything is stored; ``admit`` is
  the same as a dry run. See :mod:`orbit.store._admission`.
- Objects are immutable (frozen attrs): the store hands out the instances it holds.
- **watch**: see :mod:`orbit.store._watch` (bounded history, slow watchers are cut off
  with ``ResourceExpired`` rather than allowed to block writers or grow memory).
"""

from __future__ import annotations

import builtins
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

from orbit.api import KindInfo, as_field_selector, as_selector
from orbit.clock import Clock, RealClock, to_datetime
from orbit.errors import AlreadyExists, Conflict, NotFound, ValidationError

from ._admission import (
    AdmissionBatch,
    AdmissionPlugin,
    AdmissionRequest,
    Operation,
    run_admission,
)
from ._index import Key, KindTable, Query, compile_query, field_getters
from ._protocol import FieldSelectorLike, KindRef, LabelSelectorLike, ListResult, Store
from ._rules import (
    check_update,
    generate_name,
    namespace_issue,
    object_key,
    parse_resource_version,
    resolve_kind,
    subject,
)
from ._watch import Feed, Watch, WatchEvent, with_resource_version

__all__ = ["MemoryStore"]

T = TypeVar("T")


class _Kind:
    """Everything the store keeps for one kind."""

    __slots__ = ("feed", "generation", "info", "table")

    def __init__(self, info: KindInfo, history: int) -> None:
        self.info = info
        self.table = KindTable(field_getters(info.cls))
        self.feed = Feed(info.plural, history)
        self.generation = 1 if info.has_spec else 0  # generation of a new object


class MemoryStore:
    """The default :class:`~orbit.store.Store`: all objects in memory.

    Args:
        clock: where timestamps come from (``RealClock`` by default).
        history: events kept per kind for watches resuming from a resourceVersion.
        watch_buffer: events a watcher may have pending before it is cut off.
        uid_factory: makes uids (default: random UUID4 strings).
        seed: seeds generated names and uids, for reproducible runs.
        admission: the admission plugins every create and update runs through, in
            order (mutating first); none by default.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        history: int = 10_000,
        watch_buffer: int = 10_000,
        uid_factory: Callable[[], str] | None = None,
        seed: int | None = None,
        admission: Iterable[AdmissionPlugin] = (),
    ) -> None:
        if history < 0 or watch_buffer < 1:
            raise ValueError("history must be >= 0 and watch_buffer >= 1")
        self._clock: Clock = clock if clock is not None else RealClock()
        self._history = history
        self._watch_buffer = watch_buffer
        self._rng = random.Random(seed)
        if uid_factory is not None:
            self._uid: Callable[[], str] = uid_factory
        elif seed is not None:
            self._uid = self._seeded_uid
        else:
            self._uid = _random_uid
        self._rv = 0
        self._kinds: dict[KindInfo, _Kind] = {}
        self._by_ref: dict[Any, _Kind] = {}  # class / KindInfo / name -> kind state
        self._second = -1  # the second _timestamp has cached
        self._second_dt = to_datetime(0)
        self._admission: tuple[AdmissionPlugin, ...] = tuple(admission)

    # --- bookkeeping ------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The resourceVersion of the latest write ("0" before any)."""
        return str(self._rv)

    @property
    def admission(self) -> Sequence[AdmissionPlugin]:
        """The admission chain (settable; an empty chain admits everything as it is)."""
        return self._admission

    @admission.setter
    def admission(self, plugins: Sequence[AdmissionPlugin]) -> None:
        self._admission = tuple(plugins)

    def _seeded_uid(self) -> str:
        return uuid4_text(self._rng.getrandbits(128))

    def _timestamp(self, offset_s: int = 0) -> datetime:
        """Now plus ``offset_s``, truncated to the second (Kubernetes' metav1.Time)."""
        second = int(self._clock.now())
        if second != self._second:
            self._second, self._second_dt = second, to_datetime(second)
        return self._second_dt + timedelta(seconds=offset_s) if offset_s else self._second_dt

    def _kind(self, ref: KindRef) -> _Kind:
        state = self._by_ref.get(ref)
        if state is None:
            info = resolve_kind(ref)
            state = self._kinds.get(info)
            if state is None:
                state = self._kinds[info] = _Kind(info, self._history)
            self._by_ref[ref] = state
        return state

    def _key(self, state: _Kind, name: str, namespace: str | None) -> Key:
        return object_key(state.info, name, namespace)

    def _existing(self, state: _Kind, key: Key) -> Any:
        obj = state.table.objects.get(key)
        if obj is None:
            raise NotFound(state.info.kind, key[1], key[0] or None)
        return obj

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    # --- writes -----------------------------------------------------------------------

    def create(self, obj: T) -> T:
        """Store a new object and return it as stored (name, uid, resourceVersion,
        generation and creation timestamp set). ``AlreadyExists`` if the name is taken;
        ``ValidationError`` if the namespace is missing (namespaced kinds) or set
        (cluster-scoped kinds), or if there is neither a name nor a generateName."""
        state = self._kind(type(obj))
        meta = obj.metadata  # type: ignore[attr-defined]
        namespace = meta.namespace
        issue = namespace_issue(state.info, namespace)
        if issue is not None:
            raise ValidationError([issue], subject=subject(state.info, meta))
        name = meta.name or generate_name(
            state.info, meta.generate_name, self._rng, state.table.objects, namespace
        )
        key = (namespace, name)
        if key in state.table.objects:
            raise AlreadyExists(state.info.kind, name, namespace or None)
        if self._admission:
            if name != meta.name:  # plugins see the generated name
                obj = attrs.evolve(obj, metadata=attrs.evolve(meta, name=name))  # type: ignore[misc]
            obj = self._run_admission("CREATE", state.info, obj, None)
            meta = obj.metadata  # type: ignore[attr-defined]
            if meta.namespace != namespace:  # a plugin may not move the object
                meta = attrs.evolve(meta, namespace=namespace)
        rv = self._next_rv()
        stored = attrs.evolve(
            obj,  # type: ignore[misc]
            metadata=attrs.evolve(
                meta,
                name=name,
                uid=self._uid(),
                resource_version=rv,
                generation=state.generation,
                creation_timestamp=self._timestamp(),
                deletion_timestamp=None,
                deletion_grace_period_seconds=None,
            ),
        )
        state.table.insert(key, stored)
        state.feed.publish(self._rv, "ADDED", stored, None)
        return stored

    def update(self, obj: T) -> T:
        """Replace an object's metadata and spec (everything but its status).

        ``Conflict`` if ``metadata.resource_version`` is set and stale; ``NotFound``
        if the object is gone; ``ValidationError`` for a different uid, or new
        finalizers on an object being deleted. Removing the last finalizer of an
        object being deleted (no grace period pending) deletes it.
        """
        state = self._kind(type(obj))
        meta = obj.metadata  # type: ignore[attr-defined]
        key = self._key(state, meta.name, meta.namespace)
        stored = self._existing(state, key)
        old = stored.metadata
        self._check_precondition(state, stored, meta.resource_version)
        check_update(state.info, meta, old)
        if self._admission:
            obj = self._run_admission("UPDATE", state.info, obj, stored)
            meta = obj.metadata  # type: ignore[attr-defined]
            check_update(state.info, meta, old)
        info = state.info
        spec_changed = info.has_spec and obj.spec != stored.spec  # type: ignore[attr-defined]
        changes: dict[str, Any] = {
            "metadata": attrs.evolve(
                meta,
                namespace=old.namespace,  # a cluster-scoped kind ignores the one given
                uid=old.uid,
                resource_version=old.resource_version,
                generation=old.generation + 1 if spec_changed else old.generation,
                creation_timestamp=old.creation_timestamp,
                deletion_timestamp=old.deletion_timestamp,
                deletion_grace_period_seconds=old.deletion_grace_period_seconds,
            )
        }
        if info.has_status:
            changes["status"] = stored.status
        candidate = attrs.evolve(obj, **changes)  # type: ignore[misc]
        if candidate == stored:
            return stored  # type: ignore[no-any-return]
        return self._commit(state, key, stored, candidate)  # type: ignore[no-any-return]

    def update_status(self, obj: T) -> T:
        """Replace an object's status, and nothing else.

        ``Conflict`` if ``metadata.resource_version`` is set and stale; ``NotFound`` if
        the object is gone; ``ValidationError`` if the kind has no status.
        """
        state = self._kind(type(obj))
        meta = obj.metadata  # type: ignore[attr-defined]
        if not state.info.has_status:
            raise ValidationError(
                [("status", f"{state.info.kind} has no status")],
                subject=subject(state.info, meta),
            )
        key = self._key(state, meta.name, meta.namespace)
        stored = self._existing(state, key)
        self._check_precondition(state, stored, meta.resource_version)
        if obj.status == stored.status:  # type: ignore[attr-defined]
            return stored  # type: ignore[no-any-return]
        candidate = attrs.evolve(stored, status=obj.status)  # type: ignore[attr-defined]
        return self._commit(state, key, stored, candidate)  # type: ignore[no-any-return]

    def admit(self, obj: T, *, old: Any | None = None, batch: AdmissionBatch | None = None) -> T:
        """Dry-run the admission chain: ``obj`` as ``create`` (``old`` None) or an
        ``update`` of ``old`` would store it after admission, or the error the write
        would raise (``Forbidden``, ``ValidationError``); nothing is written. With a
        ``batch``, objects admitted earlier in it (and the statuses their admission
        would have written) count as stored, and ``obj`` joins it."""
        info = self._kind(type(obj)).info
        operation: Operation = "CREATE" if old is None else "UPDATE"
        admitted: T = self._run_admission(operation, info, obj, old, dry_run=True, batch=batch)
        if batch is not None:
            if old is not None and info.has_status:  # update keeps the status it finds
                current = batch.get(old) or old
                admitted = attrs.evolve(admitted, status=current.status)  # type: ignore[misc]
            batch.record(admitted)
        return admitted

    def _run_admission(
        self,
        operation: Operation,
        info: KindInfo,
        obj: Any,
        old: Any | None,
        *,
        dry_run: bool = False,
        batch: AdmissionBatch | None = None,
    ) -> Any:
        request = AdmissionRequest(
            operation=operation,
            object=obj,
            old=old,
            info=info,
            store=self,
            now=self._clock.now(),
            dry_run=dry_run,
            batch=batch,
        )
        return run_admission(self._admission, request)

    def _check_precondition(self, state: _Kind, stored: Any, expected: str | None) -> None:
        actual = stored.metadata.resource_version
        if expected and expected != actual:
            raise Conflict(state.info.kind, stored.metadata.name, expected=expected, actual=actual)

    def _commit(self, state: _Kind, key: Key, old: Any, new: Any) -> Any:
        """Store ``new`` in place of ``old`` under a new resourceVersion, or delete it
        if it is being deleted and nothing holds it any more."""
        new = with_resource_version(new, self._next_rv())
        meta = new.metadata
        if meta.deletion_timestamp is not None and not (
            meta.finalizers or meta.deletion_grace_period_seconds
        ):
            state.table.remove(key, old)
            state.feed.publish(self._rv, "DELETED", new, old)
        else:
            state.table.replace(key, old, new)
            state.feed.publish(self._rv, "MODIFIED", new, old)
        return new

    @overload
    def delete(
        self,
        kind: type[T],
        name: str,
        namespace: str = "",
        *,
        grace_period_s: int = 0,
        resource_version: str | None = None,
    ) -> T: ...
    @overload
    def delete(
        self,
        kind: KindInfo | str,
        name: str,
        namespace: str = "",
        *,
        grace_period_s: int = 0,
        resource_version: str | None = None,
    ) -> Any: ...
    def delete(
        self,
        kind: KindRef,
        name: str,
        namespace: str = "",
        *,
        grace_period_s: int = 0,
        resource_version: str | None = None,
    ) -> Any:
        """Delete an object, or mark it for deletion; return its latest state.

        Removed at once (DELETED event) unless it has finalizers or ``grace_period_s``
        is positive: then ``deletion_timestamp`` (now + grace) and
        ``deletion_grace_period_seconds`` are set (MODIFIED event) and it stays. A
        delete of an object already marked may only shorten its grace period.
        ``Conflict`` if ``resource_version`` is given and stale.
        """
        state = self._kind(kind)
        if grace_period_s < 0:
            raise ValidationError([("gracePeriodSeconds", "must be greater than or equal to 0")])
        key = self._key(state, name, namespace)
        stored = self._existing(state, key)
        self._check_precondition(state, stored, resource_version)
        meta = stored.metadata
        if meta.deletion_timestamp is None:
            if not meta.finalizers and not grace_period_s:
                return self._remove(state, key, stored)
            deadline = self._timestamp(grace_period_s)
        else:
            pending = meta.deletion_grace_period_seconds or 0
            if grace_period_s >= pending:
                return stored  # only a shorter grace period changes anything
            deadline = meta.deletion_timestamp - timedelta(seconds=pending - grace_period_s)
        marked = attrs.evolve(
            meta, deletion_timestamp=deadline, deletion_grace_period_seconds=grace_period_s
        )
        return self._commit(state, key, stored, attrs.evolve(stored, metadata=marked))

    def _remove(self, state: _Kind, key: Key, stored: Any) -> Any:
        final = with_resource_version(stored, self._next_rv())
        state.table.remove(key, stored)
        state.feed.publish(self._rv, "DELETED", final, stored)
        return final

    # --- reads ------------------------------------------------------------------------

    @overload
    def get(self, kind: type[T], name: str, namespace: str = "") -> T: ...
    @overload
    def get(self, kind: KindInfo | str, name: str, namespace: str = "") -> Any: ...
    def get(self, kind: KindRef, name: str, namespace: str = "") -> Any:
        """The stored object, or ``NotFound``. ``namespace`` is required for namespaced
        kinds and ignored for cluster-scoped ones."""
        state = self._kind(kind)
        return self._existing(state, self._key(state, name, namespace))

    @overload
    def list(
        self,
        kind: type[T],
        *,
        namespace: str | None = None,
        label_selector: LabelSelectorLike = None,
        field_selector: FieldSelectorLike = None,
    ) -> ListResult[T]: ...
    @overload
    def list(
        self,
        kind: KindInfo | str,
        *,
        namespace: str | None = None,
        label_selector: LabelSelectorLike = None,
        field_selector: FieldSelectorLike = None,
    ) -> ListResult[Any]: ...
    def list(
        self,
        kind: KindRef,
        *,
        namespace: str | None = None,
        label_selector: LabelSelectorLike = None,
        field_selector: FieldSelectorLike = None,
    ) -> ListResult[Any]:
        """The matching objects, sorted by (namespace, name), and the current
        resourceVersion. ``namespace`` None or "" means every namespace. Field
        selectors: ``metadata.name``, ``metadata.namespace``, and ``spec.nodeName`` /
        ``status.phase`` for kinds that have them (others raise ``ValidationError``).
        The namespace, label and indexed-field requirements are answered from indexes.
        """
        state = self._kind(kind)
        query = self._query(state, namespace, label_selector, field_selector)
        return ListResult(state.table.select(query), str(self._rv))

    def _query(
        self,
        state: _Kind,
        namespace: str | None,
        label_selector: LabelSelectorLike,
        field_selector: FieldSelectorLike,
    ) -> Query:
        return compile_query(
            state.info,
            state.table.getters,
            namespace=namespace,
            selector=as_selector(label_selector),
            fields=as_field_selector(field_selector),
        )

    # --- watch ------------------------------------------------------------------------

    @overload
    def watch(
        self,
        kind: type[T],
        *,
        namespace: str | None = None,
        label_selector: LabelSelectorLike = None,
        field_selector: FieldSelectorLike = None,
        resource_version: str | None = None,
    ) -> Watch[T]: ...
    @overload
    def watch(
        self,
        kind: KindInfo | str,
        *,
        namespace: str | None = None,
        label_selector: LabelSelectorLike = None,
        field_selector: FieldSelectorLike = None,
        resource_version: str | None = None,
    ) -> Watch[Any]: ...
    def watch(
        self,
        kind: KindRef,
        *,
        namespace: str | None = None,
        label_selector: LabelSelectorLike = None,
        field_selector: FieldSelectorLike = None,
        resource_version: str | None = None,
    ) -> Watch[Any]:
        """Watch changes to matching objects of a kind.

        ``resource_version``: ``None`` (or "") starts from now, with no replay (list
        first, then watch from the list's resourceVersion); ``"0"`` first sends every
        matching object as ADDED, then live events; any other value replays every
        change after it, or raises ``ResourceExpired`` when the kind's history no
        longer reaches back that far.
        """
        state = self._kind(kind)
        query = self._query(state, namespace, label_selector, field_selector)
        initial: builtins.list[WatchEvent[Any]] = []
        replay = ()
        start = str(self._rv)
        if resource_version == "0":
            initial = [WatchEvent("ADDED", obj) for obj in state.table.select(query)]
        elif resource_version:
            replay = state.feed.since(parse_resource_version(resource_version, self._rv))  # type: ignore[assignment]
            start = resource_version
        return Watch(
            state.feed,
            matches=None if query.everything else query.matches,
            limit=self._watch_buffer,
            resource_version=start,
            initial=initial,
            replay=replay,
        )

    def close(self) -> None:
        """End every open watch (their iterators stop); the store stays usable."""
        for state in self._kinds.values():
            state.feed.close_all()


def _random_uid() -> str:
    return str(uuid.uuid4())


_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))`` without building a UUID (a seeded
    store makes one per write of a new object: Events included, that is most writes)."""
    text = f"{(bits & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


if TYPE_CHECKING:

    def _implements_store(store: MemoryStore) -> Store:
        return store  # mypy checks that MemoryStore satisfies the Store protocol
