"""Pod counts per topology pair (key, value), as numpy arrays over label codes.

Kubernetes keeps InterPodAffinity's pre-filter counts in a map from (topologyKey,
value) to a count. Here each key has a dense array over the snapshot's codes for that
label (:class:`~orbit.scheduling.LabelColumn`), so "is the count of this node's domain
positive?" is one indexing operation for every node at once. What preemption's what-if
reasoning adds and removes goes to a small sparse overlay, so a clone costs a dict copy,
not an array copy, and a what-if node whose label value no snapshot node has still
counts correctly.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from orbit.scheduling._snapshot import LabelColumn

__all__ = ["TopologyCounts"]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class TopologyCounts:
    """Counts per (topology key, value); see the module docstring.

    The dense arrays are built once (:meth:`add_dense`, before the counts are shared)
    and never written afterwards; :meth:`add` writes to the overlay only.
    """

    __slots__ = ("_delta", "_dense", "_nonzero")

    def __init__(self) -> None:
        self._dense: dict[str, tuple[LabelColumn, Int64Array]] = {}
        self._delta: dict[tuple[str, str], int] = {}
        self._nonzero: int | None = None

    def add_dense(self, key: str, column: LabelColumn, values: Int64Array) -> None:
        """Add ``values`` (one per code of ``column``) to the counts of ``key``."""
        current = self._dense.get(key)
        summed = values.copy() if current is None else current[1] + values
        self._dense[key] = (column, summed)
        self._nonzero = None

    def add(self, key: str, value: str, amount: int) -> None:
        """Add ``amount`` to the count of ``(key, value)``."""
        pair = (key, value)
        self._delta[pair] = self._delta.get(pair, 0) + amount
        self._nonzero = None

    def add_node(self, key: str, labels: Mapping[str, str], amount: int) -> None:
        """:meth:`add` for the node with ``labels``, when it has the label ``key``."""
        value = labels.get(key)
        if value is not None:
            self.add(key, value, amount)

    def get(self, key: str, value: str) -> int:
        """The count of ``(key, value)``."""
        base = 0
        entry = self._dense.get(key)
        if entry is not None:
            code = entry[0].vocabulary.get(value)
            if code is not None:
                base = int(entry[1][code])
        return base + self._delta.get((key, value), 0)

    def keys(self) -> list[str]:
        """The topology keys with counts (in first-written order)."""
        keys = dict.fromkeys(self._dense)
        keys.update(dict.fromkeys(k for k, _ in self._delta))
        return list(keys)

    def _values(self, key: str, column: LabelColumn) -> Int64Array:
        """The counts of ``key`` per code of ``column``, overlay included."""
        entry = self._dense.get(key)
        size = len(column.vocabulary)
        if entry is None:
            values = np.zeros(size, dtype=np.int64)
        elif entry[0] is column:
            values = entry[1].copy() if self._delta else entry[1]
        else:  # a column of another snapshot: map by value
            values = np.zeros(size, dtype=np.int64)
            for value, code in column.vocabulary.items():
                values[code] = self.get(key, value) - self._delta.get((key, value), 0)
        for (k, value), amount in self._delta.items():
            position = column.vocabulary.get(value) if k == key else None
            if position is not None:
                values[position] += amount
        return values

    def positive(self, key: str, column: LabelColumn) -> BoolArray:
        """Per node of ``column``: whether the count of its ``key`` domain is positive
        (False for a node without the label)."""
        table = np.append(self._values(key, column) > 0, False)  # slot -1: no label
        return table[column.codes]

    def empty(self) -> bool:
        """Whether no pair has a non-zero count (Kubernetes' ``len(map) == 0``)."""
        if self._nonzero is None:
            nonzero = 0
            for key, (column, _) in self._dense.items():
                nonzero += int(np.count_nonzero(self._values(key, column)))
            for (key, value), amount in self._delta.items():
                entry = self._dense.get(key)
                if entry is None or value not in entry[0].vocabulary:
                    nonzero += amount != 0
            self._nonzero = nonzero
        return self._nonzero == 0

    def clone(self) -> TopologyCounts:
        """A copy whose :meth:`add` does not show in this one."""
        other = TopologyCounts()
        other._dense = self._dense
        other._delta = dict(self._delta)
        other._nonzero = self._nonzero
        return other
