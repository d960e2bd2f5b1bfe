"""The store's admission seam: plugins that see every create and update before it is
written, as the Kubernetes API server's admission chain does.

A store holds an ordered chain of :class:`AdmissionPlugin`. On ``create`` (once the
name is decided and found free) and on ``update`` it runs them in order, each given
an :class:`AdmissionRequest` carrying the object as the plugins before it left it; a
plugin returns the object to store (changed, for a mutating plugin such as
LimitRange defaulting) or raises (``Forbidden``, ``ValidationError``) to refuse the
write, which then changes nothing. Mutating plugins go first, validating ones (quota)
last, as Kubernetes orders them. Status writes (``update_status``) and deletes are not
admitted: Kubernetes skips subresources, and quota usage is released by the quota
controller.

**Dry runs.** ``store.admit(obj, old=..., batch=...)`` runs the chain without writing
anything: it returns the object as it would be stored and raises as the write would.
Several dry runs sharing an :class:`AdmissionBatch` see one another: each object
admitted in the batch, and each status a plugin would have written (a quota's new
usage), counts for the later ones as though it were stored. That lets an
all-or-nothing ``apply`` admit a whole batch before storing any of it, with the same
outcome the writes will have.

The store imports no plugin: they live in :mod:`orbit.admission`, above the store.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import attrs

from orbit.api import KindInfo, kind_info

if TYPE_CHECKING:
    from ._protocol import Store

__all__ = ["AdmissionBatch", "AdmissionPlugin", "AdmissionRequest", "Operation", "run_admission"]

T = TypeVar("T")

Operation = Literal["CREATE", "UPDATE"]
"""The writes admission sees (Kubernetes' ``admission.Create`` / ``admission.Update``)."""


class AdmissionBatch:
    """The state of a dry run of several writes that land together (an ``apply``):
    every object admitted in it, and every status its plugins would have written, as
    they will be once stored. Later dry runs of the batch see them in place of (or in
    addition to) what the store holds."""

    def __init__(self) -> None:
        # (kind, namespace) -> name -> object: a plugin's list of one kind in one
        # namespace touches only those, so a batch of n objects costs O(n), not O(n^2).
        self._objects: dict[tuple[str, str], dict[str, Any]] = {}
        self._count = 0

    def record(self, obj: Any) -> None:
        """Count ``obj`` as stored for the rest of the batch."""
        meta = obj.metadata
        bucket = self._objects.setdefault((kind_info(obj).kind, meta.namespace), {})
        if meta.name not in bucket:
            self._count += 1
        bucket[meta.name] = obj

    def __len__(self) -> int:
        return self._count

    def get(self, obj: Any) -> Any | None:
        """The batch's version of the object ``obj`` names (same kind, namespace and
        name), if it holds one."""
        meta = obj.metadata
        return self._objects.get((kind_info(obj).kind, meta.namespace), {}).get(meta.name)

    def overlay(self, info: KindInfo, namespace: str, stored: Iterable[T]) -> builtins.list[T]:
        """``stored`` (objects of one kind and namespace) with the batch's versions put
        in, sorted by name."""
        batch = self._objects.get((info.kind, namespace))
        if not batch:
            return builtins.list(stored)
        items = {obj.metadata.name: obj for obj in stored}  # type: ignore[attr-defined]
        items.update(batch)
        return [items[name] for name in sorted(items)]


@attrs.frozen(kw_only=True)
class AdmissionRequest:
    """One write as the admission chain sees it (Kubernetes' ``admission.Attributes``).

    ``object`` carries the name the store chose (``generateName`` resolved) and the
    changes of the plugins before this one; ``old`` is the stored object an UPDATE
    replaces. ``now`` is the store clock's time, in epoch seconds. Plugins read through
    :meth:`list` and write through :meth:`write_status` so that dry runs stay dry.
    """

    operation: Operation
    object: Any
    old: Any | None
    info: KindInfo
    store: Store
    now: float
    dry_run: bool = False
    batch: AdmissionBatch | None = None

    @property
    def namespace(self) -> str:
        return self.object.metadata.namespace  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        """The object's name (its ``generateName`` in a dry run that has no name yet)."""
        meta = self.object.metadata
        return meta.name or meta.generate_name  # type: ignore[no-any-return]

    def list(self, kind: type[T], namespace: str) -> builtins.list[T]:
        """The objects of ``kind`` in ``namespace``, sorted by name, as they will be
        once the earlier writes of the batch have landed."""
        stored = self.store.list(kind, namespace=namespace).items
        if self.batch is None or not len(self.batch):
            return stored
        return self.batch.overlay(kind_info(kind), namespace, stored)

    def write_status(self, obj: Any) -> None:
        """Write another object's status as part of this admission (a quota's usage,
        as Kubernetes' quota admission does before the object is stored): to the store,
        or, in a dry run, only to the batch."""
        if not self.dry_run:
            self.store.update_status(obj)
        elif self.batch is not None:
            self.batch.record(obj)


class AdmissionPlugin(Protocol):
    """One admission plugin (Kubernetes' ``admission.Interface``)."""

    @property
    def name(self) -> str:
        """Names the plugin (``LimitRanger``, ``ResourceQuota``)."""
        ...

    def admit(self, request: AdmissionRequest) -> Any:
        """The object to store (``request.object``, changed or not), or raise
        ``Forbidden`` / ``ValidationError`` to refuse the write. A plugin writes nothing
        but through ``request.write_status``."""
        ...


def run_admission(plugins: Sequence[AdmissionPlugin], request: AdmissionRequest) -> Any:
    """Run ``plugins`` in order over ``request``; the object as the last one left it."""
    obj = request.object
    for plugin in plugins:
        if obj is not request.object:
            request = attrs.evolve(request, object=obj)
        obj = plugin.admit(request)
    return obj
