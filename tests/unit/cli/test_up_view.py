"""``orbit up``'s view model: which rows the live status shows, and why a pod waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from orbit.api import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    CrossVersionObjectReference,
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    Event,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerSpec,
    HorizontalPodAutoscalerStatus,
    MetricSpec,
    MetricStatus,
    MetricTarget,
    MetricValueStatus,
    ObjectMeta,
    ObjectReference,
    Pod,
    PodCondition,
    PodSpec,
    PodStatus,
    ResourceMetricSource,
    ResourceMetricStatus,
    Service,
    ServicePort,
    ServiceSpec,
    read_documents,
)
from orbit.cli._up import images_of
from orbit.cli._view import (
    DEPLOYMENT_HEADER,
    EVENT_HEADER,
    HPA_HEADER,
    POD_HEADER,
    SERVICE_HEADER,
    WAITING_FOR_SCHEDULER,
    Snapshot,
    build_view,
    event_line,
    pending_reason,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0.timestamp() + 150  # every object below was created 2m30s ago
UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient cpu."


def meta(name: str, namespace: str = "default", **more: Any) -> ObjectMeta:
    return ObjectMeta(
        name=name, namespace=namespace, uid=f"uid-{namespace}-{name}", creation_timestamp=T0, **more
    )


def running(
    name: str = "web", restarts: int = 0, finished: datetime | None = None
) -> ContainerStatus:
    last = ContainerState(
        terminated=ContainerStateTerminated(exit_code=1, reason="Error", finished_at=finished)
        if finished
        else None
    )
    return ContainerStatus(
        name=name,
        ready=True,
        restart_count=restarts,
        state=ContainerState(running=ContainerStateRunning(started_at=T0)),
        last_state=last,
    )


def pod(
    name: str,
    *,
    namespace: str = "default",
    node: str = "",
    phase: str = "Pending",
    conditions: tuple[PodCondition, ...] = (),
    statuses: tuple[ContainerStatus, ...] = (),
    deleting: bool = False,
) -> Pod:
    extra = {"deletion_timestamp": T0} if deleting else {}
    return Pod(
        metadata=meta(name, namespace, **extra),
        spec=PodSpec(containers=(Container(name="web", image="web:1"),), node_name=node),
        status=PodStatus(phase=phase, conditions=conditions, container_statuses=statuses),  # type: ignore[arg-type]
    )


def event(
    reason: str,
    about: Pod,
    message: str,
    *,
    at_s: float = 0.0,
    count: int = 1,
    kind: str = "Warning",
    name: str = "",
) -> Event:
    ref = about.metadata
    return Event(
        metadata=ObjectMeta(name=name or f"{ref.name}.{reason}.{at_s}", namespace=ref.namespace),
        involved_object=ObjectReference(
            kind="Pod", name=ref.name, namespace=ref.namespace, uid=ref.uid
        ),
        reason=reason,
        message=message,
        type=kind,  # type: ignore[arg-type]
        count=count,
        first_timestamp=T0,
        last_timestamp=T0 + timedelta(seconds=at_s),
    )


# -- why a pod is not running -------------------------------------------------------------


def test_an_unschedulable_pod_shows_the_schedulers_condition_message() -> None:
    condition = PodCondition(
        type="PodScheduled", status="False", reason="Unschedulable", message=UNSCHEDULABLE
    )
    waiting = pod("big", conditions=(condition,))
    # the condition is what the scheduler wrote last: it wins over older events
    old = event("FailedScheduling", waiting, "0/1 nodes are available: 1 Insufficient memory.")

    assert pending_reason(waiting, [old]) == UNSCHEDULABLE
    view = build_view(Snapshot(now=NOW, pods=[waiting], events=[old]))
    assert view.pending == (("big", UNSCHEDULABLE),)
    assert view.pods == (("big", "0/1", "Pending", "0", "2m30s", "<none>"),)


def test_without_a_condition_the_latest_failed_scheduling_event_of_that_pod_says_why() -> None:
    waiting = pod("big")
    other = pod("other")
    events = [
        event("FailedScheduling", waiting, "older reason", at_s=10),
        event("FailedScheduling", waiting, UNSCHEDULABLE, at_s=20),
        event("FailedScheduling", other, "not about this pod", at_s=30),
        event("Scheduled", waiting, "not a failure", at_s=40, kind="Normal"),
    ]

    assert pending_reason(waiting, events) == UNSCHEDULABLE


def test_a_pod_the_scheduler_has_not_looked_at_waits_for_it() -> None:
    assert pending_reason(pod("new")) == WAITING_FOR_SCHEDULER


def test_a_scheduled_pending_pod_shows_its_waiting_containers_message() -> None:
    pulling = ContainerStatus(
        name="web",
        state=ContainerState(
            waiting=ContainerStateWaiting(
                reason="ErrImagePull", message='image "web:9" not found locally'
            )
        ),
    )
    creating = ContainerStatus(
        name="web", state=ContainerState(waiting=ContainerStateWaiting(reason="ContainerCreating"))
    )

    assert (
        pending_reason(pod("a", node="n1", statuses=(pulling,)))
        == 'web: ErrImagePull: image "web:9" not found locally'
    )
    assert pending_reason(pod("b", node="n1", statuses=(creating,))) is None


def test_running_finished_and_terminating_pods_have_no_pending_reason() -> None:
    assert pending_reason(pod("a", node="n1", phase="Running", statuses=(running(),))) is None
    assert pending_reason(pod("b", node="n1", phase="Succeeded")) is None
    assert pending_reason(pod("c", deleting=True)) is None


# -- the tables ---------------------------------------------------------------------------


def test_pod_rows_are_kubectls_columns_with_the_node() -> None:
    crashed_at = datetime.fromtimestamp(NOW - 30, UTC)
    pods = [
        pod(
            "web-b",
            node="n2",
            phase="Running",
            statuses=(running(restarts=2, finished=crashed_at),),
        ),
        pod("web-a", node="n1", phase="Running", statuses=(running(),)),
        pod("db", namespace="team", node="n1", phase="Running", statuses=(running(),)),
        pod("old", node="n1", phase="Running", statuses=(running(),), deleting=True),
    ]

    view = build_view(Snapshot(now=NOW, pods=pods))

    assert len(POD_HEADER) == 6
    assert view.pods == (
        ("old", "1/1", "Terminating", "0", "2m30s", "n1"),
        ("web-a", "1/1", "Running", "0", "2m30s", "n1"),
        ("web-b", "1/1", "Running", "2 (30s ago)", "2m30s", "n2"),
        ("team/db", "1/1", "Running", "0", "2m30s", "n1"),
    )
    assert view.pending == ()
    assert view.summary == "4 pods: 3 Running, 1 Terminating"


def test_pods_not_running_come_first_when_there_are_too_many_to_show() -> None:
    pods = [pod(f"run-{i}", node="n1", phase="Running", statuses=(running(),)) for i in range(5)]
    pods.append(pod("stuck"))

    view = build_view(Snapshot(now=NOW, pods=pods), max_pods=3)

    assert [row[0] for row in view.pods] == ["run-0", "run-1", "stuck"]
    assert view.pending == (("stuck", WAITING_FOR_SCHEDULER),)
    assert view.hidden_pods == 3
    assert view.summary == "6 pods: 1 Pending, 5 Running"


def test_deployment_rows() -> None:
    deployment = Deployment(
        metadata=meta("web"),
        spec=DeploymentSpec(replicas=3),
        status=DeploymentStatus(
            replicas=3, ready_replicas=2, updated_replicas=3, available_replicas=2
        ),
    )

    view = build_view(Snapshot(now=NOW, deployments=[deployment]))

    assert DEPLOYMENT_HEADER == ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
    assert view.deployments == (("web", "2/3", "3", "2", "2m30s"),)


def test_service_rows_carry_the_proxys_urls_once_served() -> None:
    web = Service(
        metadata=meta("web"),
        spec=ServiceSpec(
            selector={"app": "web"},
            ports=(ServicePort(name="http", port=80), ServicePort(name="https", port=443)),
        ),
    )
    db = Service(metadata=meta("db"), spec=ServiceSpec(ports=(ServicePort(port=5432),)))
    urls = {
        ("default", "web"): {"http": "http://127.0.0.1:41000", "https": "https://127.0.0.1:41001"}
    }

    view = build_view(Snapshot(now=NOW, services=[web, db], urls=urls))

    assert SERVICE_HEADER == ("NAME", "TYPE", "PORT(S)", "URL")
    assert view.services == (
        ("db", "ClusterIP", "5432/TCP", "<pending>"),
        ("web", "ClusterIP", "80/TCP,443/TCP", "http://127.0.0.1:41000 https://127.0.0.1:41001"),
    )


def test_hpa_rows_show_targets_and_replicas() -> None:
    target = MetricTarget(type="Utilization", average_utilization=60)
    hpa = HorizontalPodAutoscaler(
        metadata=meta("web"),
        spec=HorizontalPodAutoscalerSpec(
            scale_target_ref=CrossVersionObjectReference(kind="Deployment", name="web"),
            min_replicas=2,
            max_replicas=10,
            metrics=(
                MetricSpec(
                    type="Resource", resource=ResourceMetricSource(name="cpu", target=target)
                ),
            ),
        ),
        status=HorizontalPodAutoscalerStatus(
            current_replicas=4,
            current_metrics=(
                MetricStatus(
                    type="Resource",
                    resource=ResourceMetricStatus(
                        name="cpu", current=MetricValueStatus(average_utilization=45)
                    ),
                ),
            ),
        ),
    )

    view = build_view(Snapshot(now=NOW, hpas=[hpa]))

    assert HPA_HEADER == ("NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS")
    assert view.hpas == (("web", "Deployment/web", "cpu: 45%/60%", "2", "10", "4"),)


def test_the_last_events_are_shown_oldest_first_with_repeats_counted() -> None:
    web = pod("web")
    team = pod("db", namespace="team")
    events = [event("BackOff", web, f"message {i}", at_s=i, kind="Normal") for i in range(10)]
    events.append(event("FailedScheduling", team, UNSCHEDULABLE, at_s=100, count=3))

    view = build_view(Snapshot(now=NOW, events=list(reversed(events))), max_events=3)

    assert len(EVENT_HEADER) == 5
    assert view.events == (
        ("2m22s", "Normal", "BackOff", "pod/web", "message 8"),
        ("2m21s", "Normal", "BackOff", "pod/web", "message 9"),
        ("50s", "Warning", "FailedScheduling", "team/pod/db", f"{UNSCHEDULABLE} (x3)"),
    )


def test_an_empty_cluster() -> None:
    view = build_view(Snapshot(now=NOW))

    assert (view.deployments, view.pods, view.services, view.hpas, view.events) == ((),) * 5
    assert view.summary == "no pods"


def test_event_lines_for_the_log_without_a_view() -> None:
    web = pod("web")
    repeated = event("FailedScheduling", web, UNSCHEDULABLE, at_s=75, count=2)
    once = event("Scheduled", web, "Successfully assigned default/web to n1", kind="Normal")

    assert (
        event_line(repeated, UTC)
        == f"00:01:15 Warning FailedScheduling   pod/web: {UNSCHEDULABLE} (x2)"
    )
    assert (
        event_line(once, UTC)
        == "00:00:00 Normal  Scheduled          pod/web: Successfully assigned default/web to n1"
    )


def test_images_of_lists_every_pod_template_image_once() -> None:
    text = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers: [{name: init, image: "busybox:1"}]
      containers: [{name: web, image: "web:v1"}, {name: side, image: "busybox:1"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: job, image: "etl:2"}]
---
apiVersion: v1
kind: Pod
metadata: {name: one}
spec:
  containers: [{name: main, image: "web:v1"}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""
    documents = [d.data for d in read_documents(text)]
    assert images_of(documents) == ["busybox:1", "web:v1", "etl:2"]
