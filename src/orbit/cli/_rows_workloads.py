"""``kubectl get`` rows for pods and workloads (Deployments, ReplicaSets, Jobs,
CronJobs): kubectl's ``printPod``, ``printDeployment``, ``printReplicaSet``,
``printJob`` and ``printCronJob`` (``pkg/printers/internalversion/printers.go``) over
orbit's typed objects. Pure: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orbit.api import (
    ContainerStateTerminated,
    ContainerStatus,
    CronJob,
    Deployment,
    Job,
    LabelSelector,
    Pod,
    ReplicaSet,
)

from ._format import since

__all__ = [
    "age_cell",
    "condition_true",
    "container_cells",
    "cronjob_row",
    "deployment_row",
    "job_row",
    "job_status",
    "pod_row",
    "pod_status",
    "replicaset_row",
    "selector_cell",
]


def age_cell(obj: Any, now: float) -> str:
    """AGE: how long ago the object was created."""
    return since(obj.metadata.creation_timestamp, now)


def container_cells(template_spec: Any) -> tuple[str, str]:
    """kubectl's ``layoutContainerCells``: names and images, comma-separated."""
    containers = template_spec.containers
    return ",".join(c.name for c in containers), ",".join(c.image for c in containers)


def selector_cell(selector: LabelSelector | None) -> str:
    """apimachinery's ``FormatLabelSelector`` (``<none>`` for none or empty)."""
    if selector is None:
        return "<none>"
    return str(selector.to_selector()) or "<none>"


# -- pods ------------------------------------------------------------------------------


def _terminated_reason(terminated: ContainerStateTerminated, prefix: str = "") -> str:
    """A terminated container's STATUS: its reason, else ``Signal:N`` or
    ``ExitCode:N``."""
    if terminated.reason:
        return prefix + terminated.reason
    if terminated.signal:
        return f"{prefix}Signal:{terminated.signal}"
    return f"{prefix}ExitCode:{terminated.exit_code}"


def condition_true(conditions: Sequence[Any], kind: str) -> bool:
    """Whether the condition of type ``kind`` has status True."""
    return any(c.type == kind and c.status == "True" for c in conditions)


def _last_finish(statuses: Sequence[ContainerStatus]) -> Any:
    finished = [
        s.last_state.terminated.finished_at
        for s in statuses
        if s.last_state.terminated is not None and s.last_state.terminated.finished_at
    ]
    return max(finished, default=None)


def _init_status(pod: Pod) -> tuple[str | None, int, Any]:
    """What the init containers say, as kubectl's loop over them: the STATUS an
    unfinished one gives (``Init:1/2``, ``Init:CrashLoopBackOff``; None when all
    finished), and the restarts and last restart of those it looked at."""
    total = len(pod.spec.init_containers)
    seen: list[ContainerStatus] = []
    reason: str | None = None
    for index, status in enumerate(pod.status.init_container_statuses):
        seen.append(status)
        state = status.state
        if state.terminated is not None and state.terminated.exit_code == 0:
            continue
        if state.terminated is not None:
            reason = _terminated_reason(state.terminated, "Init:")
        elif state.waiting is not None and state.waiting.reason not in ("", "PodInitializing"):
            reason = f"Init:{state.waiting.reason}"
        else:
            reason = f"Init:{index}/{total}"
        break
    return reason, sum(s.restart_count for s in seen), _last_finish(seen)


def pod_status(pod: Pod) -> tuple[str, int, int, Any]:
    """kubectl's ``printPod`` judgement: (STATUS, ready containers, restarts, time of
    the last restart or None). orbit has no restartable init containers (sidecars),
    scheduling gates or readiness gates, so those branches never apply."""
    init_reason, restarts, last_restart = _init_status(pod)
    reason = init_reason or pod.status.reason or pod.status.phase
    ready = 0
    if init_reason is None or condition_true(pod.status.conditions, "Initialized"):
        statuses = pod.status.container_statuses
        restarts = sum(s.restart_count for s in statuses)
        last_restart = _last_finish(statuses)
        has_running = False
        for status in reversed(statuses):
            state = status.state
            if state.waiting is not None and state.waiting.reason:
                reason = state.waiting.reason
            elif state.terminated is not None:
                reason = _terminated_reason(state.terminated)
            elif status.ready and state.running is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_pod = condition_true(pod.status.conditions, "Ready")
            reason = "Running" if ready_pod else "NotReady"
    if pod.metadata.deletion_timestamp is not None:
        if pod.status.reason == "NodeLost":  # node.NodeUnreachablePodReason
            reason = "Unknown"
        elif pod.status.phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready, restarts, last_restart


def pod_row(pod: Pod, now: float, wide: bool) -> list[str]:
    """NAME READY STATUS RESTARTS AGE (+ IP NODE NOMINATED NODE READINESS GATES);
    RESTARTS as ``2 (5m ago)`` once a container restarted (kubectl 1.22+)."""
    reason, ready, restarts, last_restart = pod_status(pod)
    shown = str(restarts)
    if restarts and last_restart is not None:
        shown = f"{restarts} ({since(last_restart, now)} ago)"
    cells = [
        pod.metadata.name,
        f"{ready}/{len(pod.spec.containers)}",
        reason,
        shown,
        since(pod.metadata.creation_timestamp, now),
    ]
    if wide:
        cells += [
            pod.status.pod_ip or "<none>",
            pod.spec.node_name or "<none>",
            pod.status.nominated_node_name or "<none>",
            "<none>",  # readiness gates: orbit ignores spec.readinessGates
        ]
    return cells


# -- workloads -------------------------------------------------------------------------


def deployment_row(d: Deployment, now: float, wide: bool) -> list[str]:
    """NAME READY UP-TO-DATE AVAILABLE AGE (+ CONTAINERS IMAGES SELECTOR)."""
    status = d.status
    cells = [
        d.metadata.name,
        f"{status.ready_replicas}/{d.spec.replicas}",
        str(status.updated_replicas),
        str(status.available_replicas),
        since(d.metadata.creation_timestamp, now),
    ]
    if wide:
        selector = str(d.spec.selector.to_selector()) if d.spec.selector is not None else ""
        cells += [*container_cells(d.spec.template.spec), selector]
    return cells


def replicaset_row(rs: ReplicaSet, now: float, wide: bool) -> list[str]:
    """NAME DESIRED CURRENT READY AGE (+ CONTAINERS IMAGES SELECTOR)."""
    cells = [
        rs.metadata.name,
        str(rs.spec.replicas),
        str(rs.status.replicas),
        str(rs.status.ready_replicas),
        since(rs.metadata.creation_timestamp, now),
    ]
    if wide:
        cells += [*container_cells(rs.spec.template.spec), selector_cell(rs.spec.selector)]
    return cells


def job_status(job: Job) -> str:
    """kubectl's Job STATUS: Complete, Failed, Terminating, Suspended,
    FailureTarget or Running, the first that holds."""
    conditions = job.status.conditions
    if condition_true(conditions, "Complete"):
        return "Complete"
    if condition_true(conditions, "Failed"):
        return "Failed"
    if job.metadata.deletion_timestamp is not None:
        return "Terminating"
    if condition_true(conditions, "Suspended"):
        return "Suspended"
    if condition_true(conditions, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_row(job: Job, now: float, wide: bool) -> list[str]:
    """NAME STATUS COMPLETIONS DURATION AGE (kubectl 1.28+); COMPLETIONS as
    ``3/5``, or ``0/1 of 4`` for a work queue (no completions, parallelism > 1)."""
    succeeded = job.status.succeeded
    if job.spec.completions is not None:
        completions = f"{succeeded}/{job.spec.completions}"
    elif (job.spec.parallelism or 0) > 1:
        completions = f"{succeeded}/1 of {job.spec.parallelism}"
    else:
        completions = f"{succeeded}/1"
    start, end = job.status.start_time, job.status.completion_time
    if start is None:
        duration = ""
    elif end is None:
        duration = since(start, now)
    else:
        duration = since(start, end.timestamp())
    cells = [
        job.metadata.name,
        job_status(job),
        completions,
        duration,
        since(job.metadata.creation_timestamp, now),
    ]
    if wide:
        cells += [*container_cells(job.spec.template.spec), selector_cell(job.spec.selector)]
    return cells


def cronjob_row(cj: CronJob, now: float, wide: bool) -> list[str]:
    """NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE."""
    last = cj.status.last_schedule_time
    cells = [
        cj.metadata.name,
        cj.spec.schedule,
        cj.spec.time_zone if cj.spec.time_zone is not None else "<none>",
        "True" if cj.spec.suspend else "False",
        str(len(cj.status.active)),
        since(last, now) if last is not None else "<none>",
        since(cj.metadata.creation_timestamp, now),
    ]
    if wide:
        job_spec = cj.spec.job_template.spec
        cells += [*container_cells(job_spec.template.spec), selector_cell(job_spec.selector)]
    return cells
