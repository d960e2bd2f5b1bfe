"""The taints the node lifecycle controller owns, as pure functions over Node objects.

Kubernetes' node lifecycle controller keeps two sets of taints in step with a node:

- **NoSchedule, from conditions** (``doNoScheduleTaintingPass``, run on every node
  change): ``Ready=False`` gives ``node.kubernetes.io/not-ready``, ``Ready=Unknown``
  ``node.kubernetes.io/unreachable``, ``MemoryPressure`` / ``DiskPressure`` /
  ``PIDPressure`` / ``NetworkUnavailable`` ``=True`` their ``*-pressure`` /
  ``network-unavailable`` taints, and ``spec.unschedulable`` (``kubectl cordon``)
  ``node.kubernetes.io/unschedulable``. Only taints with those keys and the NoSchedule
  effect are the controller's; others are left alone.
- **NoExecute, from the Ready condition** (``doNoExecuteTaintingPass``, rate limited
  per zone): ``not-ready`` while Ready is False, ``unreachable`` while it is Unknown,
  never both (one is swapped for the other); both go when the node is Ready again.

Taints match by key and effect (``Taint.MatchTaint``); an added taint gets a
``timeAdded`` stamp and goes after the node's other taints, a taint that is already
there is kept as it is (position and stamp).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from orbit.api import Node, Taint

__all__ = [
    "CONDITION_TAINTS",
    "NOT_READY_TAINT",
    "NO_EXECUTE_KEYS",
    "OUT_OF_SERVICE_TAINT",
    "UNREACHABLE_TAINT",
    "UNSCHEDULABLE_TAINT",
    "has_taint",
    "no_execute_taints",
    "no_schedule_taints",
    "ready_status",
    "swap_taints",
    "with_no_schedule_taints",
]

NOT_READY_TAINT: Final = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT: Final = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT: Final = "node.kubernetes.io/unschedulable"
OUT_OF_SERVICE_TAINT: Final = "node.kubernetes.io/out-of-service"
"""Put on a node by its operator once it is known to be shut down: the pod garbage
collector then force-deletes the node's terminating pods."""

CONDITION_TAINTS: Final[Mapping[str, Mapping[str, str]]] = {
    "Ready": {"False": NOT_READY_TAINT, "Unknown": UNREACHABLE_TAINT},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
"""Kubernetes' ``nodeConditionToTaintKeyStatusMap``: condition type -> status -> key."""

_NO_SCHEDULE_KEYS: Final = frozenset(
    {UNSCHEDULABLE_TAINT, *(key for keys in CONDITION_TAINTS.values() for key in keys.values())}
)
NO_EXECUTE_KEYS: Final = (NOT_READY_TAINT, UNREACHABLE_TAINT)


def ready_status(node: Node) -> str:
    """The node's Ready condition status ("True", "False", "Unknown"), "" when none."""
    ready = node.status.condition("Ready")
    return "" if ready is None else ready.status


def no_schedule_taints(node: Node) -> list[Taint]:
    """The NoSchedule taints the node's conditions and ``spec.unschedulable`` call for,
    in Kubernetes' order (conditions in the node's order, then unschedulable)."""
    wanted = []
    for condition in node.status.conditions:
        key = CONDITION_TAINTS.get(condition.type, {}).get(condition.status)
        if key is not None:
            wanted.append(Taint(key=key, effect="NoSchedule"))
    if node.spec.unschedulable:
        wanted.append(Taint(key=UNSCHEDULABLE_TAINT, effect="NoSchedule"))
    return wanted


def with_no_schedule_taints(node: Node, stamp: str) -> tuple[Taint, ...]:
    """The node's taints with the controller's NoSchedule taints brought in line with
    its conditions (``doNoScheduleTaintingPass``); added ones are stamped ``stamp``."""
    owned = [t for t in node.spec.taints if t.effect == "NoSchedule" and t.key in _NO_SCHEDULE_KEYS]
    wanted = no_schedule_taints(node)
    return swap_taints(
        node.spec.taints,
        add=[t for t in wanted if not _contains(owned, t)],
        remove=[t for t in owned if not _contains(wanted, t)],
        stamp=stamp,
    )


def no_execute_taints(node: Node) -> list[Taint]:
    """The node's NoExecute taints (every key, not only the controller's)."""
    return [t for t in node.spec.taints if t.effect == "NoExecute"]


def has_taint(taints: Iterable[Taint], key: str, effect: str) -> bool:
    """Whether a taint with that key and effect is present (``TaintExists``)."""
    return any(t.key == key and t.effect == effect for t in taints)


def swap_taints(
    taints: Sequence[Taint], *, add: Iterable[Taint], remove: Iterable[Taint], stamp: str
) -> tuple[Taint, ...]:
    """``taints`` without those matching ``remove`` (by key and effect) and with those
    of ``add`` that are not there yet appended, stamped ``stamp``
    (``SwapNodeControllerTaint``, in one write instead of two)."""
    removing = list(remove)
    kept = [t for t in taints if not _contains(removing, t)]
    for taint in add:
        if not _contains(kept, taint):
            kept.append(
                Taint(key=taint.key, value=taint.value, effect=taint.effect, time_added=stamp)
            )
    return tuple(kept)


def _contains(taints: Iterable[Taint], taint: Taint) -> bool:
    return has_taint(taints, taint.key, taint.effect)
