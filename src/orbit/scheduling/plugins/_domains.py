"""Matching-pod counts per domain of one topology key: PodTopologySpread's pre-filter state.

Kubernetes keeps a map from topology value to count, whose keys are the *eligible*
domains (a domain with no matching pod still counts as a domain, for the minimum and
for ``minDomains``). Here the counts and the "is a domain" flags are dense arrays over
the snapshot's label codes, and preemption's add/remove goes to a sparse overlay, as in
:class:`~orbit.scheduling.plugins._topology_counts.TopologyCounts`. A value the overlay
touches becomes a domain, as a map entry would.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from orbit.scheduling._snapshot import LabelColumn

__all__ = ["DomainCounts", "MAX_INT32"]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
MAX_INT32: Final = 2**31 - 1
"""Kubernetes' minimum when there is no domain at all (``criticalPaths`` start there)."""


class DomainCounts:
    """Counts per domain of one key; the dense arrays are never written after init."""

    __slots__ = ("_column", "_counts", "_delta", "_min", "_present")

    def __init__(self, column: LabelColumn, counts: Int64Array, present: BoolArray) -> None:
        self._column, self._counts, self._present = column, counts, present
        self._delta: dict[str, int] = {}
        self._min: tuple[int, int] | None = None  # (minimum, number of domains)

    def get(self, value: str) -> int:
        """The count of domain ``value``."""
        code = self._column.vocabulary.get(value)
        base = 0 if code is None else int(self._counts[code])
        return base + self._delta.get(value, 0)

    def add(self, value: str, amount: int) -> None:
        """Add ``amount`` to domain ``value`` (which becomes a domain if it was not)."""
        self._delta[value] = self._delta.get(value, 0) + amount
        self._min = None

    def values(self, column: LabelColumn) -> Int64Array:
        """The counts per code of ``column`` (the pre-filter's column), overlay applied."""
        if column is not self._column:
            return np.asarray([self.get(v) for v in column.vocabulary], dtype=np.int64)
        if not self._delta:
            return self._counts
        out = self._counts.copy()
        for value, amount in self._delta.items():
            code = column.vocabulary.get(value)
            if code is not None:
                out[code] += amount
        return out

    def _summary(self) -> tuple[int, int]:
        if self._min is None:
            present = self._present
            outside: list[int] = []
            if self._delta:
                present = present.copy()
                for value, amount in self._delta.items():
                    code = self._column.vocabulary.get(value)
                    if code is None:
                        outside.append(amount)
                    else:
                        present[code] = True
            counts = self.values(self._column)[present]
            number = len(counts) + len(outside)
            lows = ([int(counts.min())] if len(counts) else []) + outside
            self._min = (min(lows) if lows else MAX_INT32, number)
        return self._min

    def min_match(self, min_domains: int) -> int:
        """The global minimum: the smallest domain count, or 0 when there are fewer
        domains than ``min_domains`` (Kubernetes' ``minMatchNum``)."""
        minimum, number = self._summary()
        return 0 if number < min_domains else minimum

    def clone(self) -> DomainCounts:
        """A copy whose :meth:`add` does not show in this one."""
        other = DomainCounts(self._column, self._counts, self._present)
        other._delta = dict(self._delta)
        other._min = self._min
        return other
