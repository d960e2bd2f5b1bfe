"""What ``orbit up``'s live status shows: pure functions from the cluster's objects (a
:class:`Snapshot`) to rows of text (a :class:`View`).

The columns are kubectl's (``get deployments``, ``get pods -o wide`` trimmed to NODE,
``get hpa``, ``events``), computed by the same judgements ``orbit get`` uses
(:func:`orbit.cli._rows_workloads.pod_status`,
:func:`orbit.cli._rows_cluster.hpa_targets`).
Two things kubectl does not show: a Service's URLs on orbit's service proxy, and for a
pod that is not running yet *why*, in words: the scheduler's reason (the pod's
``PodScheduled=False`` condition, else its latest ``FailedScheduling`` event:
``0/3 nodes are available: 3 Insufficient cpu.``) or its container's waiting message
(an image that cannot be pulled). Rendering (rich tables) is in :mod:`orbit.cli._live`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import tzinfo

import attrs

from orbit.api import Deployment, Event, HorizontalPodAutoscaler, Pod, Service

from ._format import since
from ._rows_cluster import event_times, hpa_targets
from ._rows_workloads import pod_status

__all__ = [
    "DEPLOYMENT_HEADER",
    "EVENT_HEADER",
    "HPA_HEADER",
    "POD_HEADER",
    "SERVICE_HEADER",
    "Snapshot",
    "View",
    "build_view",
    "event_line",
    "pending_reason",
]

Row = tuple[str, ...]

DEPLOYMENT_HEADER: Row = ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
POD_HEADER: Row = ("NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE")
SERVICE_HEADER: Row = ("NAME", "TYPE", "PORT(S)", "URL")
HPA_HEADER: Row = ("NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS")
EVENT_HEADER: Row = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")

WAITING_FOR_SCHEDULER = "waiting for the scheduler"


@attrs.frozen(kw_only=True)
class Snapshot:
    """The objects the view is made of, read at ``now`` (epoch seconds).

    ``urls`` maps (namespace, Service name) to the proxy's URL by port name, for the
    ports it serves already.
    """

    now: float
    deployments: Sequence[Deployment] = ()
    pods: Sequence[Pod] = ()
    services: Sequence[Service] = ()
    hpas: Sequence[HorizontalPodAutoscaler] = ()
    events: Sequence[Event] = ()
    urls: Mapping[tuple[str, str], Mapping[str, str]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class View:
    """Rows per section (headers are the ``*_HEADER`` constants), the pods not running
    yet with the reason in words, and a one-line summary of the pods."""

    deployments: tuple[Row, ...]
    pods: tuple[Row, ...]
    pending: tuple[tuple[str, str], ...]
    services: tuple[Row, ...]
    hpas: tuple[Row, ...]
    events: tuple[Row, ...]
    summary: str
    hidden_pods: int = 0


def _display(namespace: str, name: str) -> str:
    """``name`` in the default namespace, ``namespace/name`` elsewhere."""
    return name if namespace in ("", "default") else f"{namespace}/{name}"


def _key(obj: Deployment | Pod | Service | HorizontalPodAutoscaler) -> tuple[str, str]:
    return obj.metadata.namespace, obj.metadata.name


def _deployment_row(deployment: Deployment, now: float) -> Row:
    status = deployment.status
    return (
        _display(*_key(deployment)),
        f"{status.ready_replicas}/{deployment.spec.replicas}",
        str(status.updated_replicas),
        str(status.available_replicas),
        since(deployment.metadata.creation_timestamp, now),
    )


def _pod_row(pod: Pod, now: float) -> Row:
    reason, ready, restarts, last_restart = pod_status(pod)
    shown = str(restarts)
    if restarts and last_restart is not None:
        shown = f"{restarts} ({since(last_restart, now)} ago)"
    return (
        _display(*_key(pod)),
        f"{ready}/{len(pod.spec.containers)}",
        reason,
        shown,
        since(pod.metadata.creation_timestamp, now),
        pod.spec.node_name or "<none>",
    )


def _event_time(event: Event) -> float:
    stamp = event.last_timestamp or event.first_timestamp or event.event_time
    return stamp.timestamp() if stamp is not None else 0.0


def pending_reason(pod: Pod, events: Sequence[Event] = ()) -> str | None:
    """Why ``pod`` is not running yet, in words, or None when it is (or is done).

    An unscheduled pod: the message of its ``PodScheduled=False`` condition (what the
    scheduler wrote), else of its latest ``FailedScheduling`` event, else that it waits
    for the scheduler. A scheduled pod still Pending: its first waiting container's
    reason and message (``ErrImagePull: ...``), when there is a message.
    """
    if pod.metadata.deletion_timestamp is not None or pod.status.phase != "Pending":
        return None
    if not pod.spec.node_name:
        condition = pod.status.condition("PodScheduled")
        if condition is not None and condition.status == "False" and condition.message:
            return condition.message
        failed = max(
            [
                e
                for e in events
                if e.reason == "FailedScheduling" and e.involved_object.uid == pod.metadata.uid
            ],
            key=_event_time,
            default=None,
        )
        return failed.message if failed is not None else WAITING_FOR_SCHEDULER
    for status in (*pod.status.init_container_statuses, *pod.status.container_statuses):
        waiting = status.state.waiting
        if waiting is not None and waiting.message:
            return f"{status.name}: {waiting.reason}: {waiting.message}"
    return None


def _service_row(service: Service, urls: Mapping[str, str]) -> Row:
    ports = ",".join(f"{p.port}/{p.protocol}" for p in service.spec.ports) or "<none>"
    served = [urls[p.name] for p in service.spec.ports if p.name in urls]
    return (
        _display(*_key(service)),
        service.spec.type,
        ports,
        " ".join(served) if served else "<pending>",
    )


def _hpa_row(hpa: HorizontalPodAutoscaler) -> Row:
    ref = hpa.spec.scale_target_ref
    return (
        _display(*_key(hpa)),
        f"{ref.kind}/{ref.name}",
        hpa_targets(hpa),
        str(hpa.spec.min_replicas),
        str(hpa.spec.max_replicas),
        str(hpa.status.current_replicas),
    )


def _event_object(event: Event) -> str:
    ref = event.involved_object
    target = f"{ref.kind.lower()}/{ref.name}" if ref.name else ref.kind.lower()
    return target if ref.namespace in ("", "default") else f"{ref.namespace}/{target}"


def _event_row(event: Event, now: float) -> Row:
    last, _, count = event_times(event, now)
    message = event.message.strip()
    if count > 1:
        message = f"{message} (x{count})"
    return (last, event.type, event.reason, _event_object(event), message)


def event_line(event: Event, tz: tzinfo | None = None) -> str:
    """One event as a line of ``orbit up --no-view``'s log: the wall-clock time of its
    last occurrence (in ``tz``, default local time), type, reason, object, message."""
    stamp = event.last_timestamp or event.first_timestamp or event.event_time
    shown = stamp.astimezone(tz).strftime("%H:%M:%S") if stamp is not None else "--:--:--"
    count = f" (x{event.count})" if event.count > 1 else ""
    message = event.message.strip()
    return f"{shown} {event.type:<7} {event.reason:<18} {_event_object(event)}: {message}{count}"


def _summary(pods: Sequence[Pod]) -> str:
    if not pods:
        return "no pods"
    counts = Counter(pod_status(pod)[0] for pod in pods)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{len(pods)} pod{'s' if len(pods) != 1 else ''}: {parts}"


def build_view(snapshot: Snapshot, *, max_events: int = 8, max_pods: int = 40) -> View:
    """The rows to show for ``snapshot``: each section sorted by namespace and name,
    the last ``max_events`` events (oldest first) and at most ``max_pods`` pods (the
    ones not running first; ``hidden_pods`` counts the rest)."""
    now = snapshot.now
    pods = sorted(snapshot.pods, key=_key)
    failures: dict[str, list[Event]] = {}  # FailedScheduling events by pod uid
    for e in snapshot.events:
        if e.reason == "FailedScheduling":
            failures.setdefault(e.involved_object.uid, []).append(e)
    reasons = {p.metadata.uid: pending_reason(p, failures.get(p.metadata.uid, ())) for p in pods}
    shown = sorted(pods, key=lambda p: (reasons[p.metadata.uid] is None, _key(p)))[:max_pods]
    shown_uids = {p.metadata.uid for p in shown}
    events = sorted(snapshot.events, key=lambda e: (_event_time(e), e.metadata.name))
    return View(
        deployments=tuple(_deployment_row(d, now) for d in sorted(snapshot.deployments, key=_key)),
        pods=tuple(_pod_row(p, now) for p in pods if p.metadata.uid in shown_uids),
        pending=tuple(
            (_display(*_key(p)), reason)
            for p in pods
            if p.metadata.uid in shown_uids and (reason := reasons[p.metadata.uid]) is not None
        ),
        services=tuple(
            _service_row(s, snapshot.urls.get(_key(s), {}))
            for s in sorted(snapshot.services, key=_key)
        ),
        hpas=tuple(_hpa_row(h) for h in sorted(snapshot.hpas, key=_key)),
        events=tuple(_event_row(e, now) for e in events[-max_events:] if max_events > 0),
        summary=_summary(pods),
        hidden_pods=len(pods) - len(shown),
    )
