"""The store's contract: what every backend (memory today, persistent later) offers.

CRUD is synchronous (a store call never waits for anything but its own bookkeeping);
watching is asynchronous. ``kind`` arguments accept an API class (``Pod``, which also
types the result), a :class:`~orbit.api.KindInfo`, or any name kubectl accepts
("Pod", "pods", "po"). A backend may reuse :mod:`orbit.store._watch` (feeds, watch
streams) and :mod:`orbit.store._index` (tables, indexes) as the memory store does.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Generic, NamedTuple, Protocol, TypeAlias, TypeVar, overload

from orbit.api import FieldSelector, KindInfo, LabelSelector, Selector

from ._admission import AdmissionBatch, AdmissionPlugin
from ._watch import Watch

__all__ = ["FieldSelectorLike", "KindRef", "LabelSelectorLike", "ListResult", "Store"]

T = TypeVar("T")

KindRef: TypeAlias = type[Any] | KindInfo | str
"""A kind named by its class, its KindInfo, or any name kubectl accepts."""

LabelSelectorLike: TypeAlias = Selector | LabelSelector | str | Mapping[str, str] | None
"""A label selector in any form ``as_selector`` accepts (``None``: everything)."""

FieldSelectorLike: TypeAlias = FieldSelector | str | Mapping[str, str] | None
"""A field selector in any form ``as_field_selector`` accepts (``None``: everything)."""


class ListResult(NamedTuple, Generic[T]):
    """A list's objects, sorted by (namespace, name), and the store's resourceVersion
    when it was taken: watch from there to see every later change exactly once."""

    items: builtins.list[T]
    resource_version: str


class Store(Protocol):
    """A versioned object store with watch (see :class:`~orbit.store.MemoryStore` for
    the semantics every backend follows)."""

    @property
    def resource_version(self) -> str:
        """The resourceVersion of the latest write ("0" before any)."""
        ...

    @property
    def admission(self) -> Sequence[AdmissionPlugin]:
        """The admission chain every create and update runs through (see
        :mod:`orbit.store._admission`); empty: nothing is admitted."""
        ...

    @admission.setter
    def admission(self, plugins: Sequence[AdmissionPlugin]) -> None: ...

    def admit(self, obj: T, *, old: Any | None = None, batch: AdmissionBatch | None = None) -> T:
        """Dry-run the admission chain: ``obj`` as ``create`` (``old`` None) or
        ``update`` of ``old`` would store it, or the error the write would raise;
        nothing is written. Dry runs sharing a ``batch`` see one another's results."""
        ...

    def create(self, obj: T) -> T: ...

    @overload
    def get(self, kind: type[T], name: str, namespace: str = "") -> T: ...
    @overload
    def get(self, kind: KindInfo | str, name: str, namespace: str = "") -> Any: ...

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

    def update(self, obj: T) -> T: ...

    def update_status(self, obj: T) -> T: ...

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

    def close(self) -> None:
        """End every open watch (their iterators stop)."""
        ...
