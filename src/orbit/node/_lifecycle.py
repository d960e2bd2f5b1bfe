"""A pod's phase and conditions from its container statuses: pure, as the kubelet does it.

The pod worker (:mod:`orbit.node._worker`) keeps container statuses up to date; these
functions turn them into what ``status.phase`` and ``status.conditions`` say, following
the kubelet's ``getPhase`` and ``generateAPIPodStatus``:

- **phase**: Pending while an init container has not succeeded or an app container
  waits for its first start; Running while any container runs (or, under
  ``restartPolicy: Always``, while stopped ones will be restarted); Succeeded when every
  container exited 0 and none will restart; Failed when one exited non-zero and none
  will restart, or an init container failed under ``Never``.
- **conditions**: Initialized, ContainersReady and Ready (no readiness gates in orbit,
  so Ready follows ContainersReady) computed here; PodScheduled and any other condition
  written by someone else are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from orbit.api import CPU, MEMORY, ContainerStatus, PodCondition, PodSpec

__all__ = [
    "OWN_CONDITIONS",
    "TERMINAL_PHASES",
    "merge_conditions",
    "pod_conditions",
    "pod_phase",
    "qos_class",
]

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
OWN_CONDITIONS = ("Initialized", "ContainersReady", "Ready")
"""The conditions the node agent owns; every other one (PodScheduled...) is kept."""


def _by_name(statuses: Sequence[ContainerStatus]) -> dict[str, ContainerStatus]:
    return {status.name: status for status in statuses}


def _failed_before(status: ContainerStatus) -> bool:
    last = status.last_state.terminated
    return last is not None and last.exit_code != 0


def _init_counts(spec: PodSpec, statuses: Sequence[ContainerStatus]) -> tuple[int, int]:
    """(pending, failed) init containers, as ``getPhase`` counts them."""
    known = _by_name(statuses)
    pending = failed = 0
    for container in spec.init_containers:
        status = known.get(container.name)
        state = status.state if status is not None else None
        if status is None or state is None:
            pending += 1
        elif state.terminated is not None:
            failed += state.terminated.exit_code != 0
        elif state.waiting is not None and _failed_before(status):
            failed += 1
        else:
            pending += 1  # running, waiting for its first start, or unknown
    return pending, failed


def pod_phase(
    spec: PodSpec,
    init_statuses: Sequence[ContainerStatus],
    statuses: Sequence[ContainerStatus],
) -> str:
    """The pod's phase for these container statuses (Kubernetes' ``getPhase``)."""
    pending_init, failed_init = _init_counts(spec, init_statuses)
    if failed_init and spec.restart_policy == "Never":
        return "Failed"
    if pending_init or failed_init:
        return "Pending"
    known = _by_name(statuses)
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.containers:
        status = known.get(container.name)
        if status is None:
            unknown += 1
        elif status.state.running is not None:
            running += 1
        elif status.state.terminated is not None:
            stopped += 1
            succeeded += status.state.terminated.exit_code == 0
        elif status.state.waiting is not None:
            if status.last_state.terminated is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if spec.restart_policy == "Always":
            return "Running"  # they will be restarted (CrashLoopBackOff is Running)
        if stopped == succeeded:
            return "Succeeded"
        if spec.restart_policy == "Never":
            return "Failed"
        return "Running"  # OnFailure: the failed ones will be restarted
    return "Pending"


def _condition(type_: str, ok: bool, reason: str, message: str) -> PodCondition:
    if ok:
        return PodCondition(type=type_, status="True")
    return PodCondition(type=type_, status="False", reason=reason, message=message)


def _names(names: Sequence[str]) -> str:
    return "[" + " ".join(names) + "]"


def pod_conditions(
    spec: PodSpec,
    phase: str,
    init_statuses: Sequence[ContainerStatus],
    statuses: Sequence[ContainerStatus],
) -> tuple[PodCondition, ...]:
    """Initialized, ContainersReady and Ready, without transition times (see
    :func:`merge_conditions`), in Kubernetes' words."""
    known_init = _by_name(init_statuses)
    incomplete = []
    for container in spec.init_containers:
        status = known_init.get(container.name)
        terminated = status.state.terminated if status is not None else None
        if terminated is None or terminated.exit_code != 0:
            incomplete.append(container.name)
    initialized = _condition(
        "Initialized",
        not incomplete,
        "ContainersNotInitialized",
        f"containers with incomplete status: {_names(incomplete)}",
    )
    if phase == "Succeeded":
        initialized = PodCondition(type="Initialized", status="True", reason="PodCompleted")
        ready = _condition("ContainersReady", False, "PodCompleted", "")
        return (initialized, ready, attrs.evolve(ready, type="Ready"))
    known = _by_name(statuses)
    unready = [c.name for c in spec.containers if not (known.get(c.name) or _UNREADY).ready]
    message = f"containers with unready status: {_names(unready)}"
    containers_ready = _condition("ContainersReady", not unready, "ContainersNotReady", message)
    ready = attrs.evolve(containers_ready, type="Ready")
    return (initialized, containers_ready, ready)


_UNREADY = ContainerStatus()


def merge_conditions(
    old: Sequence[PodCondition], own: Sequence[PodCondition], now: datetime
) -> tuple[PodCondition, ...]:
    """The pod's conditions with ``own`` (the agent's) replacing theirs: other
    conditions are kept in place, a condition whose status did not change keeps its
    ``last_transition_time``, a changed or new one gets ``now``."""
    previous = {c.type: c for c in old}
    stamped = {}
    for condition in own:
        before = previous.get(condition.type)
        when: datetime | None = now
        if before is not None and before.status == condition.status:
            same = (before.reason, before.message, before.last_probe_time) == (
                condition.reason,
                condition.message,
                condition.last_probe_time,
            )
            if same:
                stamped[condition.type] = before  # unchanged: the very object, no copy
                continue
            when = before.last_transition_time
        stamped[condition.type] = attrs.evolve(condition, last_transition_time=when)
    merged = [stamped.pop(c.type, c) for c in old]
    merged.extend(stamped.values())
    return tuple(merged)


def qos_class(spec: PodSpec) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits
    (Kubernetes' ``GetPodQOS``, over cpu and memory)."""
    containers = spec.all_containers()
    requested = limited = False
    guaranteed = True
    for container in containers:
        resources = container.resources
        for name in (CPU, MEMORY):
            request = resources.requests.get(name)
            limit = resources.limits.get(name)
            if request is not None and not request.is_zero():
                requested = True
            if limit is not None and not limit.is_zero():
                limited = True
            if limit is None or limit.is_zero() or (request is not None and request != limit):
                guaranteed = False
    if not requested and not limited:
        return "BestEffort"
    if guaranteed and containers:
        return "Guaranteed"
    return "Burstable"
