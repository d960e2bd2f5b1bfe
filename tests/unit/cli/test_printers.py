"""``orbit get`` tables: objects built with orbit's API, sent through JSON the way the
control socket sends them (``orbit.dump``), rendered; the text must be kubectl's."""

# ruff: noqa: E501  (the expected tables are as wide as kubectl prints them)

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orbit.api import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    CronJob,
    CronJobSpec,
    CronJobStatus,
    CrossVersionObjectReference,
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Event,
    EventSeries,
    EventSource,
    ExternalMetricSource,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerSpec,
    HorizontalPodAutoscalerStatus,
    Job,
    JobCondition,
    JobSpec,
    JobStatus,
    JobTemplateSpec,
    LabelSelector,
    LoadBalancerIngress,
    MetricIdentifier,
    MetricSpec,
    MetricStatus,
    MetricTarget,
    MetricValueStatus,
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    NodeSystemInfo,
    ObjectMeta,
    ObjectReference,
    Pod,
    PodCondition,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    PodDisruptionBudgetStatus,
    PodsMetricSource,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    PortStatus,
    Quantity,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
    ResourceMetricSource,
    ResourceMetricStatus,
    ResourceQuota,
    ResourceQuotaStatus,
    Service,
    ServicePort,
    ServiceSpec,
    ServiceStatus,
    dump,
    resolve_kind,
)
from orbit.api import LoadBalancerStatus as LBStatus
from orbit.cli._format import human_duration, tabwrite
from orbit.cli._output import (
    as_list,
    no_resources,
    render_history,
    render_json,
    render_names,
    render_top_nodes,
    render_top_pods,
    render_yaml,
)
from orbit.cli._printers import render_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0.timestamp() + 185  # every object below was created 3m5s ago


def wire(obj: Any) -> dict[str, Any]:
    """The object as the control socket sends it."""
    result: dict[str, Any] = json.loads(json.dumps(dump(obj)))
    return result


def table(*objects: Any, **options: Any) -> str:
    kind = resolve_kind(type(objects[0]))
    return render_table([wire(o) for o in objects], kind, now=NOW, **options)


def meta(name: str, namespace: str = "default", **more: Any) -> ObjectMeta:
    return ObjectMeta(name=name, namespace=namespace, creation_timestamp=T0, **more)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- ages and alignment ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-2.5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (59.9, "59s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (599, "9m59s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (7 * 3600 + 59 * 60, "7h59m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (51 * 3600, "2d3h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (740 * 86400, "2y10d"),
        (8 * 365 * 86400, "8y"),
    ],
)
def test_ages_read_as_kubectl_human_duration(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_tab_writer_aligns_each_block_of_lines_on_its_own() -> None:
    text = "Name:\tweb\nLabels:\tapp=web\n\ttier=db\nIPs:\n  IP:\t10.0.0.1\nControlled By:\tRS/x\n"
    assert tabwrite(text, padding=2) == (
        "Name:    web\n"
        "Labels:  app=web\n"
        "         tier=db\n"
        "IPs:\n"
        "  IP:           10.0.0.1\n"
        "Controlled By:  RS/x\n"
    )


def test_tables_pad_columns_to_the_widest_cell_plus_three_never_under_six() -> None:
    pod = Pod(metadata=meta("a"), spec=PodSpec(containers=(Container(name="c", image="i"),)))
    assert table(pod) == (
        "NAME   READY   STATUS    RESTARTS   AGE\na      0/1     Pending   0          3m5s\n"
    )


# -- pods ------------------------------------------------------------------------------

ONE = (Container(name="app", image="busybox"),)
TWO = (Container(name="app", image="busybox"), Container(name="side", image="busybox"))
RUNNING = ContainerState(running=ContainerStateRunning(started_at=T0))


def waiting(reason: str) -> ContainerState:
    return ContainerState(waiting=ContainerStateWaiting(reason=reason))


def terminated(code: int, reason: str = "", signal: int = 0, finished: float = 0) -> ContainerState:
    done = ContainerStateTerminated(
        exit_code=code, reason=reason, signal=signal, finished_at=at(finished)
    )
    return ContainerState(terminated=done)


def pod_with(
    statuses: tuple[ContainerStatus, ...],
    *,
    containers: tuple[Container, ...] = ONE,
    phase: str = "Running",
    init: tuple[Container, ...] = (),
    init_statuses: tuple[ContainerStatus, ...] = (),
    conditions: tuple[PodCondition, ...] = (),
    deleting: bool = False,
    reason: str = "",
) -> Pod:
    return Pod(
        metadata=meta("p", deletion_timestamp=at(180) if deleting else None),
        spec=PodSpec(containers=containers, init_containers=init),
        status=PodStatus(
            phase=phase,  # type: ignore[arg-type]
            reason=reason,
            conditions=conditions,
            container_statuses=statuses,
            init_container_statuses=init_statuses,
        ),
    )


def status_cells(pod: Pod) -> list[str]:
    """READY, STATUS and RESTARTS of the pod's row."""
    row = table(pod).splitlines()[1].split()
    return row[1:-1]


@pytest.mark.parametrize(
    ("pod", "cells"),
    [
        pytest.param(
            pod_with((ContainerStatus(name="app", ready=True, state=RUNNING),)),
            ["1/1", "Running", "0"],
            id="running",
        ),
        pytest.param(
            pod_with(
                (ContainerStatus(name="app", state=waiting("ContainerCreating")),), phase="Pending"
            ),
            ["0/1", "ContainerCreating", "0"],
            id="creating",
        ),
        pytest.param(
            pod_with(
                (ContainerStatus(name="app", state=waiting("ImagePullBackOff")),), phase="Pending"
            ),
            ["0/1", "ImagePullBackOff", "0"],
            id="image-pull-backoff",
        ),
        pytest.param(
            pod_with(
                (
                    ContainerStatus(
                        name="app",
                        restart_count=4,
                        state=waiting("CrashLoopBackOff"),
                        last_state=terminated(1, "Error", finished=170),
                    ),
                )
            ),
            ["0/1", "CrashLoopBackOff", "4", "(15s", "ago)"],
            id="crash-loop-with-last-restart",
        ),
        pytest.param(
            pod_with(
                (ContainerStatus(name="app", state=terminated(0, "Completed")),), phase="Succeeded"
            ),
            ["0/1", "Completed", "0"],
            id="completed",
        ),
        pytest.param(
            pod_with((ContainerStatus(name="app", state=terminated(137)),), phase="Failed"),
            ["0/1", "ExitCode:137", "0"],
            id="exit-code-without-reason",
        ),
        pytest.param(
            pod_with((ContainerStatus(name="app", state=terminated(0, signal=9)),), phase="Failed"),
            ["0/1", "Signal:9", "0"],
            id="signal",
        ),
        pytest.param(
            pod_with(
                (
                    ContainerStatus(name="app", ready=True, state=RUNNING),
                    ContainerStatus(name="side", state=terminated(0, "Completed")),
                ),
                containers=TWO,
            ),
            ["1/2", "NotReady", "0"],
            id="completed-beside-running-not-ready",
        ),
        pytest.param(
            pod_with(
                (
                    ContainerStatus(name="app", ready=True, state=RUNNING),
                    ContainerStatus(name="side", state=terminated(0, "Completed")),
                ),
                containers=TWO,
                conditions=(PodCondition(type="Ready", status="True"),),
            ),
            ["1/2", "Running", "0"],
            id="completed-beside-running-ready",
        ),
        pytest.param(
            pod_with(
                (ContainerStatus(name="app", state=waiting("PodInitializing")),),
                phase="Pending",
                init=(Container(name="a", image="i"), Container(name="b", image="i")),
                init_statuses=(
                    ContainerStatus(name="a", state=terminated(0, "Completed")),
                    ContainerStatus(name="b", state=RUNNING),
                ),
            ),
            ["0/1", "Init:1/2", "0"],
            id="init-progress",
        ),
        pytest.param(
            pod_with(
                (),
                phase="Pending",
                init=(Container(name="a", image="i"),),
                init_statuses=(
                    ContainerStatus(name="a", restart_count=2, state=waiting("CrashLoopBackOff")),
                ),
            ),
            ["0/1", "Init:CrashLoopBackOff", "2"],
            id="init-crash-loop",
        ),
        pytest.param(
            pod_with(
                (),
                phase="Failed",
                init=(Container(name="a", image="i"),),
                init_statuses=(ContainerStatus(name="a", state=terminated(3)),),
            ),
            ["0/1", "Init:ExitCode:3", "0"],
            id="init-failed",
        ),
        pytest.param(
            pod_with((ContainerStatus(name="app", ready=True, state=RUNNING),), deleting=True),
            ["1/1", "Terminating", "0"],
            id="terminating",
        ),
        pytest.param(
            pod_with(
                (ContainerStatus(name="app", state=terminated(0, "Completed")),),
                phase="Succeeded",
                deleting=True,
            ),
            ["0/1", "Completed", "0"],
            id="finished-pods-are-not-terminating",
        ),
        pytest.param(
            pod_with(
                (ContainerStatus(name="app", ready=True, state=RUNNING),),
                deleting=True,
                reason="NodeLost",
            ),
            ["1/1", "Unknown", "0"],
            id="node-lost",
        ),
    ],
)
def test_pod_ready_status_and_restarts_are_kubectls(pod: Pod, cells: list[str]) -> None:
    assert status_cells(pod) == cells


def test_pods_across_namespaces_and_wide() -> None:
    pod = Pod(
        metadata=meta("web-1", "team-a"),
        spec=PodSpec(containers=ONE, node_name="n1"),
        status=PodStatus(
            phase="Running",
            pod_ip="127.0.0.1",
            container_statuses=(ContainerStatus(name="app", ready=True, state=RUNNING),),
        ),
    )
    pending = Pod(metadata=meta("web-2", "team-b"), spec=PodSpec(containers=ONE))
    assert table(pod, pending, wide=True, all_namespaces=True) == (
        "NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE    IP          NODE     NOMINATED NODE   READINESS GATES\n"
        "team-a      web-1   1/1     Running   0          3m5s   127.0.0.1   n1       <none>           <none>\n"
        "team-b      web-2   0/1     Pending   0          3m5s   <none>      <none>   <none>           <none>\n"
    )


def test_several_kinds_name_rows_kind_slash_name() -> None:
    pod = Pod(metadata=meta("web-1"), spec=PodSpec(containers=ONE))
    assert table(pod, with_kind=True).splitlines()[1].startswith("pod/web-1   ")


# -- workloads -------------------------------------------------------------------------

TEMPLATE = PodTemplateSpec(
    metadata=ObjectMeta(labels={"app": "web"}),
    spec=PodSpec(
        containers=(Container(name="web", image="web:v2"), Container(name="log", image="fluent"))
    ),
)
SELECTOR = LabelSelector(match_labels={"app": "web"})


def test_deployments_show_ready_of_desired_then_up_to_date_and_available() -> None:
    d = Deployment(
        metadata=meta("web"),
        spec=DeploymentSpec(replicas=4, selector=SELECTOR, template=TEMPLATE),
        status=DeploymentStatus(
            replicas=5, updated_replicas=2, ready_replicas=3, available_replicas=3
        ),
    )
    assert table(d, wide=True) == (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE    CONTAINERS   IMAGES          SELECTOR\n"
        "web    3/4     2            3           3m5s   web,log      web:v2,fluent   app=web\n"
    )


def test_replicasets_show_desired_current_ready() -> None:
    rs = ReplicaSet(
        metadata=meta("web-5d8f"),
        spec=ReplicaSetSpec(replicas=3, selector=SELECTOR, template=TEMPLATE),
        status=ReplicaSetStatus(replicas=3, ready_replicas=1),
    )
    assert table(rs) == (
        "NAME       DESIRED   CURRENT   READY   AGE\nweb-5d8f   3         3         1       3m5s\n"
    )


def job(name: str, spec: JobSpec, status: JobStatus, deleting: bool = False) -> Job:
    job_meta = meta(name, deletion_timestamp=at(10) if deleting else None)
    return Job(metadata=job_meta, spec=spec, status=status)


JOB_TEMPLATE = PodTemplateSpec(spec=PodSpec(containers=ONE, restart_policy="Never"))


def test_jobs_show_status_completions_and_duration() -> None:
    done = job(
        "done",
        JobSpec(completions=3, template=JOB_TEMPLATE),
        JobStatus(
            succeeded=3,
            start_time=at(0),
            completion_time=at(75),
            conditions=(JobCondition(type="Complete", status="True"),),
        ),
    )
    running = job(
        "queue",
        JobSpec(parallelism=4, template=JOB_TEMPLATE),
        JobStatus(active=4, start_time=at(5)),
    )
    failed = job(
        "bad",
        JobSpec(template=JOB_TEMPLATE),
        JobStatus(
            failed=7, start_time=at(0), conditions=(JobCondition(type="Failed", status="True"),)
        ),
    )
    waiting_job = job(
        "later",
        JobSpec(template=JOB_TEMPLATE, suspend=True),
        JobStatus(conditions=(JobCondition(type="Suspended", status="True"),)),
    )
    leaving = job(
        "gone", JobSpec(template=JOB_TEMPLATE), JobStatus(start_time=at(0)), deleting=True
    )
    assert table(done, running, failed, waiting_job, leaving) == (
        "NAME    STATUS        COMPLETIONS   DURATION   AGE\n"
        "done    Complete      3/3           75s        3m5s\n"
        "queue   Running       0/1 of 4      3m         3m5s\n"
        "bad     Failed        0/1           3m5s       3m5s\n"
        "later   Suspended     0/1                      3m5s\n"
        "gone    Terminating   0/1           3m5s       3m5s\n"
    )


def test_cronjobs_show_schedule_timezone_suspend_active_and_last_schedule() -> None:
    template = JobTemplateSpec(spec=JobSpec(template=JOB_TEMPLATE))
    nightly = CronJob(
        metadata=meta("nightly"),
        spec=CronJobSpec(schedule="0 3 * * *", time_zone="Europe/Paris", job_template=template),
        status=CronJobStatus(
            active=(ObjectReference(kind="Job", name="nightly-1"),), last_schedule_time=at(125)
        ),
    )
    paused = CronJob(
        metadata=meta("paused"),
        spec=CronJobSpec(schedule="*/5 * * * *", suspend=True, job_template=template),
    )
    assert table(nightly, paused) == (
        "NAME      SCHEDULE      TIMEZONE       SUSPEND   ACTIVE   LAST SCHEDULE   AGE\n"
        "nightly   0 3 * * *     Europe/Paris   False     1        60s             3m5s\n"
        "paused    */5 * * * *   <none>         True      0        <none>          3m5s\n"
    )


# -- services and autoscalers ----------------------------------------------------------


def test_services_show_the_proxy_address_and_the_port_it_listens_on() -> None:
    proxied = Service(
        metadata=meta("web"),
        spec=ServiceSpec(
            selector={"app": "web"},
            ports=(ServicePort(name="http", port=80), ServicePort(name="admin", port=9000)),
        ),
        status=ServiceStatus(
            load_balancer=LBStatus(
                ingress=(
                    LoadBalancerIngress(
                        ip="127.0.0.1",
                        ports=(PortStatus(port=41235), PortStatus(port=9000)),
                    ),
                )
            )
        ),
    )
    waiting_lb = Service(
        metadata=meta("lb"),
        spec=ServiceSpec(type="LoadBalancer", ports=(ServicePort(port=443, node_port=30443),)),
    )
    external = Service(
        metadata=meta("db"), spec=ServiceSpec(type="ExternalName", external_name="db.example.com")
    )
    assert table(proxied, waiting_lb, external, wide=True) == (
        "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP      PORT(S)                 AGE    SELECTOR\n"
        "web    ClusterIP      <none>       127.0.0.1        80:41235/TCP,9000/TCP   3m5s   app=web\n"
        "lb     LoadBalancer   <none>       <pending>        443:30443/TCP           3m5s   <none>\n"
        "db     ExternalName   <none>       db.example.com   <none>                  3m5s   <none>\n"
    )


def hpa(
    metrics: tuple[MetricSpec, ...], current: tuple[MetricStatus, ...] = ()
) -> HorizontalPodAutoscaler:
    return HorizontalPodAutoscaler(
        metadata=meta("web"),
        spec=HorizontalPodAutoscalerSpec(
            scale_target_ref=CrossVersionObjectReference(
                kind="Deployment", name="web", api_version="apps/v1"
            ),
            min_replicas=2,
            max_replicas=10,
            metrics=metrics,
        ),
        status=HorizontalPodAutoscalerStatus(current_replicas=3, current_metrics=current),
    )


CPU_60 = MetricSpec(
    type="Resource",
    resource=ResourceMetricSource(
        name="cpu", target=MetricTarget(type="Utilization", average_utilization=60)
    ),
)
CPU_AT_45 = MetricStatus(
    type="Resource",
    resource=ResourceMetricStatus(
        name="cpu", current=MetricValueStatus(average_utilization=45, average_value=Quantity("45m"))
    ),
)
MEMORY_AVG = MetricSpec(
    type="Resource",
    resource=ResourceMetricSource(
        name="memory", target=MetricTarget(type="AverageValue", average_value=Quantity("200Mi"))
    ),
)
QUEUE = MetricSpec(
    type="External",
    external=ExternalMetricSource(
        metric=MetricIdentifier(name="queue_depth"),
        target=MetricTarget(type="AverageValue", average_value=Quantity("30")),
    ),
)
RPS = MetricSpec(
    type="Pods",
    pods=PodsMetricSource(
        metric=MetricIdentifier(name="rps"),
        target=MetricTarget(type="AverageValue", average_value=Quantity("10")),
    ),
)


def test_hpa_targets_read_as_kubectl_1_30() -> None:
    assert table(hpa((CPU_60,), (CPU_AT_45,))) == (
        "NAME   REFERENCE        TARGETS        MINPODS   MAXPODS   REPLICAS   AGE\n"
        "web    Deployment/web   cpu: 45%/60%   2         10        3          3m5s\n"
    )


@pytest.mark.parametrize(
    ("metrics", "current", "targets"),
    [
        ((CPU_60,), (), "cpu: <unknown>/60%"),
        ((MEMORY_AVG,), (), "memory: <unknown>/200Mi"),
        ((QUEUE,), (), "<unknown>/30 (avg)"),
        ((RPS,), (), "<unknown>/10"),
        (
            (CPU_60, MEMORY_AVG, QUEUE),
            (CPU_AT_45,),
            "cpu: 45%/60%, memory: <unknown>/200Mi + 1 more...",
        ),
    ],
)
def test_hpa_targets_for_each_metric_type(
    metrics: tuple[MetricSpec, ...], current: tuple[MetricStatus, ...], targets: str
) -> None:
    row = table(hpa(metrics, current)).splitlines()[1]
    assert f"   {targets}   " in row


# -- nodes, events, the rest -----------------------------------------------------------


def node(
    name: str, ready: str | None, *, cordoned: bool = False, labels: dict[str, str] | None = None
) -> Node:
    conditions = () if ready is None else (NodeCondition(type="Ready", status=ready),)  # type: ignore[arg-type]
    return Node(
        metadata=ObjectMeta(name=name, creation_timestamp=T0, labels=labels or {}),
        spec=NodeSpec(unschedulable=cordoned),
        status=NodeStatus(conditions=conditions, node_info=NodeSystemInfo(kubelet_version="orbit")),
    )


def test_nodes_show_readiness_cordoning_and_roles() -> None:
    roles = {"node-role.kubernetes.io/gpu": "", "kubernetes.io/role": "batch"}
    rows = [
        node("n1", "True", labels=roles),
        node("n2", "False"),
        node("n3", "Unknown", cordoned=True),
        node("n4", None),
    ]
    assert table(*rows, all_namespaces=True) == (
        "NAME   STATUS                        ROLES       AGE    VERSION\n"
        "n1     Ready                         batch,gpu   3m5s   orbit\n"
        "n2     NotReady                      <none>      3m5s   orbit\n"
        "n3     NotReady,SchedulingDisabled   <none>      3m5s   orbit\n"
        "n4     Unknown                       <none>      3m5s   orbit\n"
    )


def test_events_show_last_seen_type_reason_object_and_message() -> None:
    first = Event(
        metadata=meta("web.1"),
        involved_object=ObjectReference(kind="Pod", name="web-1", namespace="default"),
        reason="BackOff",
        message="Back-off restarting failed container\n",
        type="Warning",
        first_timestamp=at(5),
        last_timestamp=at(180),
        count=12,
        source=EventSource(component="kubelet", host="n1"),
    )
    series = Event(
        metadata=meta("web.2"),
        involved_object=ObjectReference(kind="Deployment", name="web"),
        reason="ScalingReplicaSet",
        message="Scaled up",
        type="Normal",
        event_time=at(0),
        series=EventSeries(count=3, last_observed_time=at(125)),
    )
    assert table(first, series) == (
        "LAST SEEN   TYPE      REASON              OBJECT           MESSAGE\n"
        "5s          Warning   BackOff             pod/web-1        Back-off restarting failed container\n"
        "60s         Normal    ScalingReplicaSet   deployment/web   Scaled up\n"
    )
    assert table(first, wide=True).splitlines() == [
        "LAST SEEN   TYPE      REASON    OBJECT      SUBOBJECT   SOURCE        MESSAGE                                FIRST SEEN   COUNT   NAME",
        "5s          Warning   BackOff   pod/web-1               kubelet, n1   Back-off restarting failed container   3m           12      web.1",
    ]


def test_smaller_kinds() -> None:
    endpoints = Endpoints(
        metadata=meta("web"),
        subsets=(
            EndpointSubset(
                addresses=tuple(EndpointAddress(ip=f"10.0.0.{i}") for i in range(1, 5)),
                ports=(EndpointPort(port=8080),),
            ),
        ),
    )
    assert table(endpoints) == (
        "NAME   ENDPOINTS" + " " * 47 + "AGE\n"
        "web    10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...   3m5s\n"
    )
    budget = PodDisruptionBudget(
        metadata=meta("web"),
        spec=PodDisruptionBudgetSpec(min_available="50%", selector=SELECTOR),
        status=PodDisruptionBudgetStatus(disruptions_allowed=1),
    )
    assert table(budget) == (
        "NAME   MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE\n"
        "web    50%             N/A               1                     3m5s\n"
    )
    quota = ResourceQuota(
        metadata=meta("team"),
        status=ResourceQuotaStatus(
            hard={
                "requests.cpu": Quantity("4"),
                "limits.memory": Quantity("8Gi"),
                "pods": Quantity("10"),
            },
            used={"requests.cpu": Quantity("500m"), "pods": Quantity("3")},
        ),
    )
    assert table(quota) == (
        "NAME   REQUEST                            LIMIT                  AGE\n"
        "team   pods: 3/10, requests.cpu: 500m/4   limits.memory: 0/8Gi   3m5s\n"
    )


# -- other outputs ---------------------------------------------------------------------


def test_output_name_json_and_yaml() -> None:
    pod = wire(Pod(metadata=meta("web-1"), spec=PodSpec(containers=ONE)))
    deployment = wire(
        Deployment(metadata=meta("web"), spec=DeploymentSpec(selector=SELECTOR, template=TEMPLATE))
    )
    assert render_names([pod, deployment]) == "pod/web-1\ndeployment.apps/web\n"
    listed = json.loads(render_json(as_list([pod])))
    assert listed == {
        "apiVersion": "v1",
        "items": [pod],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    assert render_json(pod).startswith('{\n    "apiVersion": "v1",\n    "kind": "Pod",\n')
    assert render_yaml(pod).splitlines()[:3] == ["apiVersion: v1", "kind: Pod", "metadata:"]
    annotated = {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}}}
    assert render_yaml(annotated) == (
        'metadata:\n  annotations:\n    deployment.kubernetes.io/revision: "1"\n'
    )


def test_no_resources_line() -> None:
    assert no_resources("default") == "No resources found in default namespace."
    assert no_resources(None) == "No resources found"


def test_top_pods_and_nodes() -> None:
    pods = [
        {
            "namespace": "default",
            "pod": "web-1",
            "cpu_millis": 12,
            "memory_bytes": 45 * 1024 * 1024 + 5,
        },
        {"namespace": "batch", "pod": "etl-7", "cpu_millis": 1500, "memory_bytes": 3 * 1024**3},
    ]
    assert render_top_pods(pods, all_namespaces=False) == (
        "NAME    CPU(cores)   MEMORY(bytes)\n"
        "web-1   12m          45Mi\n"
        "etl-7   1500m        3072Mi\n"
    )
    assert render_top_pods(pods[:1], all_namespaces=True).splitlines()[0] == (
        "NAMESPACE   NAME    CPU(cores)   MEMORY(bytes)"
    )
    nodes = [
        {
            "node": "n1",
            "cpu_millis": 250,
            "cpu_percent": 12,
            "memory_bytes": 1106 * 1024**2,
            "memory_percent": 56,
        },
        {
            "node": "bare",
            "cpu_millis": 0,
            "cpu_percent": None,
            "memory_bytes": 0,
            "memory_percent": None,
        },
    ]
    assert render_top_nodes(nodes) == (
        "NAME   CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%\n"
        "n1     250m         12%         1106Mi          56%\n"
        "bare   0m           <unknown>   0Mi             <unknown>\n"
    )


def test_rollout_history() -> None:
    revisions = [
        {"revision": 1, "change_cause": ""},
        {"revision": 2, "change_cause": "orbit set image deployment/web web=web:v2"},
    ]
    assert render_history(resolve_kind("deploy"), "web", revisions) == (
        "deployment.apps/web\n"
        "REVISION  CHANGE-CAUSE\n"
        "1         <none>\n"
        "2         orbit set image deployment/web web=web:v2\n"
        "\n"
    )
