"""Cordon, uncordon and drain a node, as ``kubectl`` does them.

- :func:`cordon` sets ``spec.unschedulable``: the scheduler's NodeUnschedulable filter
  keeps new pods off, and the node lifecycle controller adds the
  ``node.kubernetes.io/unschedulable:NoSchedule`` taint. :func:`uncordon` undoes it.
- :func:`drain` is ``kubectl drain``: cordon, then pick the node's pods as kubectl's
  filters do (:func:`drain_plan`: mirror pods and, with ``ignore_daemonsets``,
  DaemonSet pods are left alone; pods with no controller need ``force``, pods with
  ``emptyDir`` volumes ``delete_emptydir_data``, finished pods always go), evict each
  through the Eviction API (:func:`~orbit.controllers.evict`), all at once, retrying
  every 5 s an eviction a PodDisruptionBudget refuses, and wait (polling every second)
  until every evicted pod is gone, all within ``timeout_s``.

A drain respects disruption budgets only as well as their status is current: the
disruption controller must run (the Cluster runs it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Final, Literal

import anyio
import attrs

from orbit.api import Node, Pod
from orbit.clock import Clock
from orbit.errors import Conflict, NotFound, OrbitError, TooManyRequests
from orbit.store import Store

from ._eviction import evict
from ._pods import FINISHED_PHASES

__all__ = [
    "MIRROR_ANNOTATION",
    "DrainPlan",
    "cordon",
    "drain",
    "drain_plan",
    "uncordon",
]

MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"
DAEMON_SET_FATAL: Final = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMON_SET_WARNING: Final = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL: Final = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING: Final = "deleting Pods with local storage"
UNMANAGED_FATAL: Final = "Pods declare no controller (use --force to override)"
UNMANAGED_WARNING: Final = "deleting Pods that declare no controller"
_log = logging.getLogger("orbit.controllers")

Verdict = Literal["okay", "skip", "warning", "error"]


def cordon(store: Store, node_name: str) -> Node:
    """Mark the node unschedulable (``kubectl cordon``); returns it as stored."""
    return _set_unschedulable(store, node_name, True)


def uncordon(store: Store, node_name: str) -> Node:
    """Mark the node schedulable again (``kubectl uncordon``)."""
    return _set_unschedulable(store, node_name, False)


def _set_unschedulable(store: Store, node_name: str, value: bool) -> Node:
    while True:
        node = store.get(Node, node_name)
        if node.spec.unschedulable == value:
            return node
        try:
            updated: Node = store.update(
                attrs.evolve(node, spec=attrs.evolve(node.spec, unschedulable=value))
            )
        except Conflict:
            continue
        return updated


@attrs.frozen
class DrainPlan:
    """What a drain will do with a node's pods (kubectl's ``PodDeleteList``)."""

    evict: tuple[Pod, ...] = ()
    errors: tuple[str, ...] = ()
    """"cannot delete <why>: ns/name, ..." for each reason that stops the drain."""
    warnings: tuple[str, ...] = ()


def _verdict(
    pod: Pod, *, force: bool, delete_emptydir_data: bool, ignore_daemonsets: bool
) -> tuple[Verdict, str]:
    """kubectl's filters in order (daemonSet, mirror, localStorage, unreplicated); the
    first that does not let the pod be deleted decides."""
    finished = pod.status.phase in FINISHED_PHASES
    controller = pod.metadata.controller_ref()
    warning = ""
    if controller is not None and controller.kind == "DaemonSet" and not finished:
        if not ignore_daemonsets:
            return "error", DAEMON_SET_FATAL
        return "warning", DAEMON_SET_WARNING  # a warning that keeps the pod
    if MIRROR_ANNOTATION in pod.metadata.annotations:
        return "skip", ""
    if any(v.empty_dir is not None for v in pod.spec.volumes) and not finished:
        if not delete_emptydir_data:
            return "error", LOCAL_STORAGE_FATAL
        warning = LOCAL_STORAGE_WARNING
    if controller is None and not finished:
        if not force:
            return "error", UNMANAGED_FATAL
        warning = UNMANAGED_WARNING
    return ("warning", warning) if warning else ("okay", "")


def drain_plan(
    pods: Sequence[Pod],
    *,
    force: bool = False,
    delete_emptydir_data: bool = False,
    ignore_daemonsets: bool = True,
) -> DrainPlan:
    """Which pods a drain evicts, and what stops or warns (``GetPodsForDeletion``)."""
    evicting: list[Pod] = []
    failed: dict[str, list[str]] = {}
    warned: dict[str, list[str]] = {}
    for pod in pods:
        verdict, message = _verdict(
            pod,
            force=force,
            delete_emptydir_data=delete_emptydir_data,
            ignore_daemonsets=ignore_daemonsets,
        )
        name = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if verdict == "error":
            failed.setdefault(message, []).append(name)
        elif verdict == "warning":
            warned.setdefault(message, []).append(name)
        if verdict == "okay" or (verdict == "warning" and message != DAEMON_SET_WARNING):
            evicting.append(pod)
    return DrainPlan(
        evict=tuple(evicting),
        errors=tuple(f"cannot delete {m}: {', '.join(n)}" for m, n in failed.items()),
        warnings=tuple(f"{m}: {', '.join(n)}" for m, n in warned.items()),
    )


async def drain(
    store: Store,
    clock: Clock,
    node_name: str,
    *,
    timeout_s: float,
    grace_s: int | None = None,
    force: bool = False,
    delete_emptydir_data: bool = False,
    ignore_daemonsets: bool = True,
    retry_interval_s: float = 5.0,
    poll_interval_s: float = 1.0,
) -> list[Pod]:
    """Cordon the node and evict its pods (module docstring); returns the pods evicted
    once they are all gone.

    Raises:
        NotFound: no such node.
        OrbitError: pods kubectl would refuse to delete (nothing is evicted), or an
            eviction failed for another reason than a disruption budget.
        TimeoutError: not every pod was evicted and gone within ``timeout_s``
            (``math.inf``: no limit); the node stays cordoned.
    """
    cordon(store, node_name)
    bound = store.list(Pod, field_selector={"spec.nodeName": node_name}).items
    plan = drain_plan(
        bound,
        force=force,
        delete_emptydir_data=delete_emptydir_data,
        ignore_daemonsets=ignore_daemonsets,
    )
    if plan.errors:
        raise OrbitError("\n".join(plan.errors))
    for warning in plan.warnings:
        _log.warning("drain %s: %s", node_name, warning)
    run = _Drain(store, clock, clock.monotonic() + timeout_s, timeout_s, grace_s)
    run.retry_interval_s, run.poll_interval_s = retry_interval_s, poll_interval_s
    async with anyio.create_task_group() as group:
        for pod in plan.evict:
            group.start_soon(run.evict_and_wait, pod)
    if run.errors:
        error = TimeoutError if all(run.timeouts) else OrbitError
        raise error("\n".join(run.errors))
    return run.evicted


class _Drain:
    """One drain's evictions: each pod's task retries, waits and reports here."""

    def __init__(
        self, store: Store, clock: Clock, deadline: float, timeout_s: float, grace_s: int | None
    ) -> None:
        self.store, self.clock, self.deadline, self.grace_s = store, clock, deadline, grace_s
        self.timeout = "none" if math.isinf(timeout_s) else f"{timeout_s:g}s"
        self.retry_interval_s = 5.0
        self.poll_interval_s = 1.0
        self.evicted: list[Pod] = []
        self.errors: list[str] = []
        self.timeouts: list[bool] = []

    def _fail(self, message: str, *, timeout: bool) -> None:
        self.errors.append(message)
        self.timeouts.append(timeout)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, but not past the deadline; False when the deadline has passed."""
        left = self.deadline - self.clock.monotonic()
        if left <= 0:
            return False
        await self.clock.sleep(min(seconds, left))
        return True

    async def evict_and_wait(self, pod: Pod) -> None:
        meta = pod.metadata
        subject = f'pods/"{meta.name}" -n "{meta.namespace}"'
        while True:
            if self._gone(pod):
                return  # gone already (or replaced by a pod of the same name)
            try:
                evict(self.store, self.clock, pod, grace_s=self.grace_s)
            except NotFound:
                return  # gone already: nothing to evict
            except TooManyRequests as refused:
                _log.info("error when evicting %s (will retry after 5s): %s", subject, refused)
                if not await self._sleep(self.retry_interval_s):
                    reason = f"global timeout reached: {self.timeout}"
                    self._fail(f"error when evicting {subject}: {reason}", timeout=True)
                    return
                continue
            except OrbitError as error:
                self._fail(f"error when evicting {subject}: {error}", timeout=False)
                return
            break
        while not self._gone(pod):
            if not await self._sleep(self.poll_interval_s):
                reason = f"global timeout reached: {self.timeout}"
                message = f'error when waiting for pod "{meta.name}" terminating: {reason}'
                self._fail(message, timeout=True)
                return
        self.evicted.append(pod)

    def _gone(self, pod: Pod) -> bool:
        meta = pod.metadata
        try:
            current = self.store.get(Pod, meta.name, meta.namespace)
        except NotFound:
            return True
        return current.metadata.uid != meta.uid
