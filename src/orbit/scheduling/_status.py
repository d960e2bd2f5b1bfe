"""What plugins answer: a frozen :class:`Status`, and the richer results of some points.

Kubernetes' ``framework.Status`` as a value: a code, the human-readable reasons (the
words that end up in "0/3 nodes are available: 2 Insufficient cpu, ...") and the
plugin that produced it. An unschedulable pod is a Status, never an exception.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import Pod

__all__ = [
    "SUCCESS",
    "Code",
    "FilterAllResult",
    "PostFilterResult",
    "PreFilterResult",
    "Status",
]


class Code(enum.Enum):
    """Kubernetes' status codes.

    ``UNSCHEDULABLE``: the pod does not fit now, but might after preemption (or once
    pods leave). ``UNSCHEDULABLE_AND_UNRESOLVABLE``: it will not fit however many pods
    are evicted (a taint, a selector), so preemption skips the node. ``SKIP``: from a
    pre-filter or pre-score, "my filter / score has nothing to do for this pod".
    ``WAIT``: a permit-style postponement (reserved for gangs).
    """

    SUCCESS = "Success"
    ERROR = "Error"
    UNSCHEDULABLE = "Unschedulable"
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    WAIT = "Wait"
    SKIP = "Skip"


@attrs.frozen(slots=True)
class Status:
    """A plugin's verdict: ``code``, ``reasons`` and the ``plugin`` that gave it."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @classmethod
    def unschedulable(cls, *reasons: str, plugin: str = "") -> Status:
        """Does not fit now (preemption may help)."""
        return cls(Code.UNSCHEDULABLE, reasons, plugin)

    @classmethod
    def unresolvable(cls, *reasons: str, plugin: str = "") -> Status:
        """Will not fit whatever is evicted (``UnschedulableAndUnresolvable``)."""
        return cls(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)

    @classmethod
    def error(cls, *reasons: str, plugin: str = "") -> Status:
        """Something went wrong (not a verdict about the pod)."""
        return cls(Code.ERROR, reasons, plugin)

    @classmethod
    def skip(cls, plugin: str = "") -> Status:
        """From a pre-filter or pre-score: skip this plugin's filter or score."""
        return _SKIP if not plugin else cls(Code.SKIP, (), plugin)

    @property
    def is_success(self) -> bool:
        """The code is ``SUCCESS``."""
        return self.code is Code.SUCCESS

    @property
    def is_rejected(self) -> bool:
        """The code is ``UNSCHEDULABLE`` or ``UNSCHEDULABLE_AND_UNRESOLVABLE``."""
        return self.code in _REJECTED

    @property
    def is_skip(self) -> bool:
        """The code is ``SKIP``."""
        return self.code is Code.SKIP

    @property
    def message(self) -> str:
        """The reasons joined by ", " (Kubernetes' ``Status.Message``)."""
        return ", ".join(self.reasons)

    def with_plugin(self, plugin: str) -> Status:
        """This status, attributed to ``plugin``."""
        return self if self.plugin == plugin else attrs.evolve(self, plugin=plugin)


_REJECTED: Final = frozenset({Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE})

SUCCESS: Final = Status()
"""The shared success status."""
_SKIP: Final = Status(Code.SKIP)


@attrs.frozen(slots=True)
class PreFilterResult:
    """A successful pre-filter that narrows the nodes to consider to ``node_names``
    (None: every node). Results of several plugins intersect."""

    node_names: frozenset[str] | None = None

    def merge(self, other: PreFilterResult | None) -> PreFilterResult:
        """The intersection of two results."""
        if other is None or other.node_names is None:
            return self
        if self.node_names is None:
            return other
        return PreFilterResult(self.node_names & other.node_names)


@attrs.frozen(slots=True)
class PostFilterResult:
    """A post-filter's answer when no node fit: its ``status`` (Success when it made
    room, e.g. by preemption), the node the pod is nominated to, if any, and the pods
    to evict from it (the scheduler loop deletes them; plugins never touch the store)."""

    status: Status
    nominated_node_name: str = ""
    victims: tuple[Pod, ...] = ()


@attrs.frozen(slots=True, eq=False)
class FilterAllResult:
    """A vectorised filter's verdict on every node of the snapshot at once.

    ``mask[i]`` is True when node i (snapshot order) passes. For a node that fails,
    ``reason`` gives its Status: called with the node's index, or, when ``codes`` is
    given, with ``codes()[i]`` — a small integer shared by nodes that fail for the same
    reason, so folding thousands of failures costs one ``reason`` call per distinct
    code. ``codes`` is a callable so that it is only computed when a pod turns out
    unschedulable. ``mask`` may be a snapshot-owned array: nobody writes to it.
    ``everywhere`` is a hint that every node passes (``mask`` all True), which spares
    the framework combining the mask.
    """

    mask: npt.NDArray[np.bool_]
    reason: Callable[[int], Status]
    codes: Callable[[], npt.NDArray[np.int64]] | None = None
    everywhere: bool = False
