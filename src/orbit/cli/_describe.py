"""``kubectl describe`` for orbit's kinds: :func:`describe_object` picks the
describer of a kind (Deployment, ReplicaSet, Service, Node, Job, CronJob,
HorizontalPodAutoscaler, Pod; every other kind gets the generic one) and renders it
with the object's events.

Ported from kubectl's ``pkg/describe/describe.go``; the shared parts (writer,
containers, pod templates, events) are in :mod:`orbit.cli._describe_pod`. Pure: the
object, its events and whatever else a describer shows (a Deployment's ReplicaSets, a
Service's Endpoints, a Node's pods) come in as JSON dicts, ``now`` as a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orbit.api import (
    CronJob,
    Deployment,
    Endpoints,
    Event,
    HorizontalPodAutoscaler,
    Job,
    KindInfo,
    Node,
    Pod,
    ReplicaSet,
    Service,
    resolve_kind,
)

from ._describe_kinds import describe_config, describe_generic, describe_hpa, describe_node
from ._describe_pod import Writer, describe_events, describe_pod, describe_pod_template, rfc1123
from ._format import format_labels, since
from ._printers import decode
from ._rows_cluster import endpoints_cell

__all__ = ["describe_object"]

_REVISION = "deployment.kubernetes.io/revision"
_EVENT = resolve_kind(Event)


def _conditions(w: Writer, conditions: Sequence[Any]) -> None:
    """A workload's Type Status Reason table."""
    if not conditions:
        return
    w.line(0, "Conditions:")
    w.line(1, "Type\tStatus\tReason")
    w.line(1, "----\t------\t------")
    for condition in conditions:
        w.line(1, f"{condition.type} \t{condition.status}\t{condition.reason}")


def _header(w: Writer, obj: Any, *, created: bool = False) -> None:
    meta = obj.metadata
    w.line(0, f"Name:\t{meta.name}")
    w.line(0, f"Namespace:\t{meta.namespace}")
    if created:
        w.line(0, f"CreationTimestamp:\t{rfc1123(meta.creation_timestamp)}")


def _sets_line(sets: Sequence[ReplicaSet]) -> str:
    """kubectl's ``printReplicaSetsByLabels``."""
    shown = [
        f"{rs.metadata.name} ({rs.status.replicas}/{rs.spec.replicas} replicas created)"
        for rs in sets
    ]
    return ", ".join(shown) or "<none>"


def describe_deployment(
    d: Deployment, events: Sequence[Event], now: float, sets: Sequence[ReplicaSet]
) -> str:
    """``kubectl describe deployment``: its ReplicaSets are those it controls; the new
    one carries the Deployment's revision, the old ones listed still have replicas."""
    w = Writer()
    _header(w, d, created=True)
    w.labels("Labels", d.metadata.labels)
    w.annotations("Annotations", d.metadata.annotations)
    selector = str(d.spec.selector.to_selector()) if d.spec.selector is not None else ""
    w.line(0, f"Selector:\t{selector}")
    status = d.status
    w.line(
        0,
        f"Replicas:\t{d.spec.replicas} desired | {status.updated_replicas} updated | "
        f"{status.replicas} total | {status.available_replicas} available | "
        f"{status.unavailable_replicas} unavailable",
    )
    strategy = d.spec.strategy
    w.line(0, f"StrategyType:\t{strategy.type}")
    w.line(0, f"MinReadySeconds:\t{d.spec.min_ready_seconds}")
    if strategy.rolling_update is not None:
        rolling = strategy.rolling_update
        w.line(
            0,
            f"RollingUpdateStrategy:\t{rolling.max_unavailable} max unavailable, "
            f"{rolling.max_surge} max surge",
        )
    describe_pod_template(w, d.spec.template)
    _conditions(w, status.conditions)
    owned = [
        s
        for s in sets
        if (ref := s.metadata.controller_ref()) is not None and ref.uid == d.metadata.uid
    ]
    revision = d.metadata.annotations.get(_REVISION)
    new = [
        s
        for s in owned
        if revision is not None and s.metadata.annotations.get(_REVISION) == revision
    ]
    old = [s for s in owned if s not in new and s.spec.replicas != 0]
    w.line(0, f"OldReplicaSets:\t{_sets_line(old)}")
    w.line(0, f"NewReplicaSet:\t{_sets_line(new)}")
    describe_events(w, events, now)
    return w.render()


def describe_replicaset(
    rs: ReplicaSet, events: Sequence[Event], now: float, pods: Sequence[Pod]
) -> str:
    """``kubectl describe replicaset``."""
    w = Writer()
    _header(w, rs)
    selector = str(rs.spec.selector.to_selector()) if rs.spec.selector is not None else ""
    w.line(0, f"Selector:\t{selector}")
    w.labels("Labels", rs.metadata.labels)
    w.annotations("Annotations", rs.metadata.annotations)
    owner = rs.metadata.controller_ref()
    if owner is not None:
        w.line(0, f"Controlled By:\t{owner.kind}/{owner.name}")
    w.line(0, f"Replicas:\t{rs.status.replicas} current / {rs.spec.replicas} desired")
    phases = [p.status.phase for p in pods]
    w.line(
        0,
        f"Pods Status:\t{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
        f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed",
    )
    describe_pod_template(w, rs.spec.template)
    _conditions(w, rs.status.conditions)
    describe_events(w, events, now)
    return w.render()


def describe_service(
    svc: Service, events: Sequence[Event], now: float, endpoints: Endpoints | None
) -> str:
    """``kubectl describe service``, with where orbit's proxy listens for each port
    (``Proxy Port``, after kubectl's ``NodePort``)."""
    w = Writer()
    _header(w, svc)
    w.labels("Labels", svc.metadata.labels)
    w.annotations("Annotations", svc.metadata.annotations)
    spec = svc.spec
    w.line(0, f"Selector:\t{format_labels(spec.selector)}")
    w.line(0, f"Type:\t{spec.type}")
    w.line(0, f"IP:\t{spec.cluster_ip or '<none>'}")  # orbit assigns no cluster IPs
    if spec.external_name:
        w.line(0, f"External Name:\t{spec.external_name}")
    ingress = svc.status.load_balancer.ingress
    if ingress:
        w.line(0, f"LoadBalancer Ingress:\t{', '.join(i.ip or i.hostname for i in ingress)}")
    served = ingress[0].ports if ingress else ()
    for index, port in enumerate(spec.ports):
        name = port.name or "<unset>"
        w.line(0, f"Port:\t{name}\t{port.port}/{port.protocol}")
        w.line(0, f"TargetPort:\t{port.target_port}/{port.protocol}")
        if port.node_port:
            w.line(0, f"NodePort:\t{name}\t{port.node_port}/{port.protocol}")
        if index < len(served):
            listen = served[index]
            where = (
                f"<error: {listen.error}>" if listen.error else f"{listen.port}/{listen.protocol}"
            )
            w.line(0, f"Proxy Port:\t{name}\t{where}")
        w.line(0, f"Endpoints:\t{endpoints_cell(endpoints, port.name)}")
    w.line(0, f"Session Affinity:\t{spec.session_affinity}")
    describe_events(w, events, now)
    return w.render()


def describe_job(job: Job, events: Sequence[Event], now: float) -> str:
    """``kubectl describe job``."""
    w = Writer()
    _header(w, job)
    w.line(0, f"Selector:\t{job.spec.selector.to_selector() if job.spec.selector else '<unset>'}")
    w.labels("Labels", job.metadata.labels)
    w.annotations("Annotations", job.metadata.annotations)
    owner = job.metadata.controller_ref()
    if owner is not None:
        w.line(0, f"Controlled By:\t{owner.kind}/{owner.name}")
    spec, status = job.spec, job.status
    w.line(0, f"Parallelism:\t{spec.parallelism if spec.parallelism is not None else '<unset>'}")
    w.line(0, f"Completions:\t{spec.completions if spec.completions is not None else '<unset>'}")
    w.line(0, f"Completion Mode:\t{spec.completion_mode}")
    w.line(0, f"Suspend:\t{str(spec.suspend).lower()}")
    w.line(0, f"Backoff Limit:\t{spec.backoff_limit}")
    if spec.ttl_seconds_after_finished is not None:
        w.line(0, f"TTL Seconds After Finished:\t{spec.ttl_seconds_after_finished}")
    if status.start_time is not None:
        w.line(0, f"Start Time:\t{rfc1123(status.start_time)}")
    if status.completion_time is not None:
        w.line(0, f"Completed At:\t{rfc1123(status.completion_time)}")
        if status.start_time is not None:
            w.line(0, f"Duration:\t{since(status.start_time, status.completion_time.timestamp())}")
    if spec.active_deadline_seconds is not None:
        w.line(0, f"Active Deadline Seconds:\t{spec.active_deadline_seconds}s")
    w.line(
        0,
        f"Pods Statuses:\t{status.active} Active ({status.ready or 0} Ready) / "
        f"{status.succeeded} Succeeded / {status.failed} Failed",
    )
    describe_pod_template(w, spec.template)
    describe_events(w, events, now)
    return w.render()


def describe_cronjob(cj: CronJob, events: Sequence[Event], now: float) -> str:
    """``kubectl describe cronjob``."""
    w = Writer()
    _header(w, cj)
    w.labels("Labels", cj.metadata.labels)
    w.annotations("Annotations", cj.metadata.annotations)
    spec = cj.spec
    job = spec.job_template.spec
    w.line(0, f"Schedule:\t{spec.schedule}")
    if spec.time_zone is not None:
        w.line(0, f"Time Zone:\t{spec.time_zone}")
    w.line(0, f"Concurrency Policy:\t{spec.concurrency_policy}")
    w.line(0, f"Suspend:\t{'True' if spec.suspend else 'False'}")
    w.line(0, f"Successful Job History Limit:\t{spec.successful_jobs_history_limit}")
    w.line(0, f"Failed Job History Limit:\t{spec.failed_jobs_history_limit}")
    deadline = spec.starting_deadline_seconds
    w.line(
        0, f"Starting Deadline Seconds:\t{f'{deadline}s' if deadline is not None else '<unset>'}"
    )
    w.line(0, f"Selector:\t{job.selector.to_selector() if job.selector else '<unset>'}")
    w.line(0, f"Parallelism:\t{job.parallelism if job.parallelism is not None else '<unset>'}")
    w.line(0, f"Completions:\t{job.completions if job.completions is not None else '<unset>'}")
    describe_pod_template(w, job.template)
    last = cj.status.last_schedule_time
    w.line(0, f"Last Schedule Time:\t{rfc1123(last) if last is not None else '<unset>'}")
    active = ", ".join(ref.name for ref in cj.status.active)
    w.line(0, f"Active Jobs:\t{active or '<none>'}")
    describe_events(w, events, now)
    return w.render()


def describe_object(
    data: Mapping[str, Any],
    info: KindInfo,
    *,
    events: Sequence[Mapping[str, Any]],
    now: float,
    replicasets: Sequence[Mapping[str, Any]] = (),
    endpoints: Mapping[str, Any] | None = None,
    pods: Sequence[Mapping[str, Any]] = (),
) -> str:
    """``kubectl describe`` text for one object (a dict) and its events (dicts)."""
    obj = decode(data, info)
    seen = [decode(e, _EVENT) for e in events]
    kind = info.kind
    if kind == "Pod":
        return describe_pod(obj, seen, now)
    if kind == "Deployment":
        sets = [decode(s, resolve_kind(ReplicaSet)) for s in replicasets]
        return describe_deployment(obj, seen, now, sets)
    if kind == "ReplicaSet":
        return describe_replicaset(obj, seen, now, [decode(p, resolve_kind(Pod)) for p in pods])
    if kind == "Service":
        found = decode(endpoints, resolve_kind(Endpoints)) if endpoints is not None else None
        return describe_service(obj, seen, now, found)
    if kind == "Job":
        return describe_job(obj, seen, now)
    if kind == "CronJob":
        return describe_cronjob(obj, seen, now)
    if kind == "HorizontalPodAutoscaler":
        assert isinstance(obj, HorizontalPodAutoscaler)
        return describe_hpa(obj, seen, now)
    if kind == "Node":
        assert isinstance(obj, Node)
        return describe_node(obj, seen, now, [decode(p, resolve_kind(Pod)) for p in pods])
    if kind in ("ConfigMap", "Secret"):
        return describe_config(obj, seen, now)
    return describe_generic(data, obj, seen, now)
