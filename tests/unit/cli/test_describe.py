"""``orbit describe``: kubectl's describe text for objects sent through JSON as the
control socket sends them."""

# ruff: noqa: E501  (the expected text is as wide as kubectl prints it)

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from orbit.api import (
    ConfigMap,
    Container,
    ContainerPort,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStatus,
    CrossVersionObjectReference,
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    EnvVar,
    Event,
    EventSource,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerSpec,
    HorizontalPodAutoscalerStatus,
    HTTPGetAction,
    LabelSelector,
    LoadBalancerIngress,
    LoadBalancerStatus,
    MetricIdentifier,
    MetricSpec,
    MetricStatus,
    MetricTarget,
    MetricValueStatus,
    Namespace,
    Node,
    NodeStatus,
    ObjectMeta,
    ObjectReference,
    OwnerReference,
    Pod,
    PodCondition,
    PodsMetricSource,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    PortStatus,
    Probe,
    Quantity,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
    ResourceMetricSource,
    ResourceMetricStatus,
    ResourceRequirements,
    Secret,
    Service,
    ServicePort,
    ServiceSpec,
    ServiceStatus,
    dump,
    resolve_kind,
)
from orbit.cli._describe import describe_object

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0.timestamp() + 185


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def wire(obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(dump(obj)))
    return result


def describe(obj: Any, events: tuple[Event, ...] = (), **related: Any) -> str:
    return describe_object(
        wire(obj),
        resolve_kind(type(obj)),
        events=[wire(e) for e in events],
        now=NOW,
        **related,
    )


def owned_by(kind: str, name: str, uid: str) -> tuple[OwnerReference, ...]:
    ref = OwnerReference(api_version="apps/v1", kind=kind, name=name, uid=uid, controller=True)
    return (ref,)


def test_pod_with_a_restart_and_repeated_events() -> None:
    web = Container(
        name="web",
        image="web:v2",
        ports=(ContainerPort(container_port=8080),),
        env=(EnvVar(name="MODE", value="prod"),),
        resources=ResourceRequirements(
            requests={"cpu": Quantity("100m")}, limits={"cpu": Quantity("500m")}
        ),
        liveness_probe=Probe(http_get=HTTPGetAction(path="/healthz", port=8080)),
    )
    restarted = ContainerStatus(
        name="web",
        ready=True,
        restart_count=1,
        container_id="sim://abc",
        state=ContainerState(running=ContainerStateRunning(started_at=at(60))),
        last_state=ContainerState(
            terminated=ContainerStateTerminated(
                exit_code=1, reason="Error", started_at=at(2), finished_at=at(59)
            )
        ),
    )
    pod = Pod(
        metadata=ObjectMeta(
            name="web-1",
            namespace="default",
            creation_timestamp=T0,
            labels={"app": "web", "pod-template-hash": "5d8f"},
            annotations={"orbit.dev/last-applied-configuration": "{}"},
            owner_references=owned_by("ReplicaSet", "web-5d8f", "u1"),
        ),
        spec=PodSpec(node_name="n1", containers=(web,)),
        status=PodStatus(
            phase="Running",
            host_ip="127.0.0.1",
            pod_ip="127.0.0.1",
            start_time=at(1),
            qos_class="Burstable",
            conditions=(PodCondition(type="Ready", status="True"),),
            container_statuses=(restarted,),
        ),
    )
    about = ObjectReference(kind="Pod", name="web-1")
    backoff = Event(
        metadata=ObjectMeta(name="e1", namespace="default"),
        involved_object=about,
        reason="BackOff",
        message="Back-off restarting",
        type="Warning",
        first_timestamp=at(5),
        last_timestamp=at(125),
        count=4,
        source=EventSource(component="kubelet", host="n1"),
    )
    scheduled = Event(
        metadata=ObjectMeta(name="e2", namespace="default"),
        involved_object=about,
        reason="Scheduled",
        message="Successfully assigned default/web-1 to n1",
        type="Normal",
        first_timestamp=at(0),
        last_timestamp=at(0),
        count=1,
        source=EventSource(component="default-scheduler"),
    )
    assert describe(pod, (backoff, scheduled)) == (
        "Name:         web-1\n"
        "Namespace:    default\n"
        "Priority:     0\n"
        "Node:         n1/127.0.0.1\n"
        "Start Time:   Thu, 01 Jan 2026 00:00:01 +0000\n"
        "Labels:       app=web\n"
        "              pod-template-hash=5d8f\n"
        "Annotations:  <none>\n"
        "Status:       Running\n"
        "IP:           127.0.0.1\n"
        "IPs:\n"
        "  IP:           127.0.0.1\n"
        "Controlled By:  ReplicaSet/web-5d8f\n"
        "Containers:\n"
        "  web:\n"
        "    Container ID:   sim://abc\n"
        "    Image:          web:v2\n"
        "    Image ID:       \n"
        "    Port:           8080/TCP\n"
        "    Host Port:      0/TCP\n"
        "    State:          Running\n"
        "      Started:      Thu, 01 Jan 2026 00:01:00 +0000\n"
        "    Last State:     Terminated\n"
        "      Reason:       Error\n"
        "      Exit Code:    1\n"
        "      Started:      Thu, 01 Jan 2026 00:00:02 +0000\n"
        "      Finished:     Thu, 01 Jan 2026 00:00:59 +0000\n"
        "    Ready:          True\n"
        "    Restart Count:  1\n"
        "    Limits:\n"
        "      cpu:  500m\n"
        "    Requests:\n"
        "      cpu:     100m\n"
        "    Liveness:  http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3\n"
        "    Environment:\n"
        "      MODE:  prod\n"
        "    Mounts:  <none>\n"
        "Conditions:\n"
        "  Type           Status\n"
        "  Ready          True\n"
        "Volumes:         <none>\n"
        "QoS Class:       Burstable\n"
        "Node-Selectors:  <none>\n"
        "Tolerations:     <none>\n"
        "Events:\n"
        "  Type     Reason     Age               From               Message\n"
        "  ----     ------     ----              ----               -------\n"
        "  Normal   Scheduled  3m5s              default-scheduler  Successfully assigned default/web-1 to n1\n"
        "  Warning  BackOff    60s (x4 over 3m)  kubelet            Back-off restarting\n"
    )


TEMPLATE = PodTemplateSpec(
    metadata=ObjectMeta(labels={"app": "web"}),
    spec=PodSpec(containers=(Container(name="web", image="web:v2"),)),
)
REVISION = "deployment.kubernetes.io/revision"


def replica_set(name: str, revision: str, replicas: int, owner: str = "d1") -> ReplicaSet:
    return ReplicaSet(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            creation_timestamp=T0,
            annotations={REVISION: revision},
            owner_references=owned_by("Deployment", "web", owner),
        ),
        spec=ReplicaSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels={"app": "web"}),
            template=TEMPLATE,
        ),
        status=ReplicaSetStatus(replicas=replicas),
    )


def test_deployment_names_its_new_and_old_replica_sets() -> None:
    deployment = Deployment(
        metadata=ObjectMeta(
            name="web",
            namespace="default",
            uid="d1",
            creation_timestamp=T0,
            annotations={REVISION: "2"},
        ),
        spec=DeploymentSpec(
            replicas=3, selector=LabelSelector(match_labels={"app": "web"}), template=TEMPLATE
        ),
        status=DeploymentStatus(
            replicas=4,
            updated_replicas=2,
            ready_replicas=3,
            available_replicas=3,
            unavailable_replicas=1,
        ),
    )
    sets = [
        replica_set("web-new", "2", 2),
        replica_set("web-old", "1", 2),
        replica_set("web-older", "0", 0),  # scaled to zero: kubectl leaves it out
        replica_set("other", "2", 1, owner="someone-else"),
    ]
    lines = describe(deployment, replicasets=[wire(s) for s in sets]).splitlines()
    assert (
        "Replicas:               3 desired | 2 updated | 4 total | 3 available | 1 unavailable"
        in lines
    )
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in lines
    assert lines[-3:] == [
        "OldReplicaSets:    web-old (2/2 replicas created)",
        "NewReplicaSet:     web-new (2/2 replicas created)",
        "Events:            <none>",
    ]
    assert lines[lines.index("Pod Template:") + 1 : lines.index("Pod Template:") + 5] == [
        "  Labels:  app=web",
        "  Containers:",
        "   web:",
        "    Image:         web:v2",
    ]


def test_service_shows_where_the_proxy_listens_for_each_port() -> None:
    service = Service(
        metadata=ObjectMeta(name="web", namespace="default", creation_timestamp=T0),
        spec=ServiceSpec(selector={"app": "web"}, ports=(ServicePort(name="http", port=80),)),
        status=ServiceStatus(
            load_balancer=LoadBalancerStatus(
                ingress=(LoadBalancerIngress(ip="127.0.0.1", ports=(PortStatus(port=41235),)),)
            )
        ),
    )
    assert describe(service, endpoints=None) == (
        "Name:                  web\n"
        "Namespace:             default\n"
        "Labels:                <none>\n"
        "Annotations:           <none>\n"
        "Selector:              app=web\n"
        "Type:                  ClusterIP\n"
        "IP:                    <none>\n"
        "LoadBalancer Ingress:  127.0.0.1\n"
        "Port:                  http  80/TCP\n"
        "TargetPort:            80/TCP\n"
        "Proxy Port:            http  41235/TCP\n"
        "Endpoints:             <none>\n"
        "Session Affinity:      None\n"
        "Events:                <none>\n"
    )


def test_hpa_lists_each_metric_current_over_target() -> None:
    hpa = HorizontalPodAutoscaler(
        metadata=ObjectMeta(name="web", namespace="default", creation_timestamp=T0),
        spec=HorizontalPodAutoscalerSpec(
            scale_target_ref=CrossVersionObjectReference(
                kind="Deployment", name="web", api_version="apps/v1"
            ),
            min_replicas=2,
            max_replicas=10,
            metrics=(
                MetricSpec(
                    type="Resource",
                    resource=ResourceMetricSource(
                        name="cpu", target=MetricTarget(type="Utilization", average_utilization=60)
                    ),
                ),
                MetricSpec(
                    type="Pods",
                    pods=PodsMetricSource(
                        metric=MetricIdentifier(name="rps"),
                        target=MetricTarget(type="AverageValue", average_value=Quantity("10")),
                    ),
                ),
            ),
        ),
        status=HorizontalPodAutoscalerStatus(
            current_replicas=3,
            desired_replicas=4,
            current_metrics=(
                MetricStatus(
                    type="Resource",
                    resource=ResourceMetricStatus(
                        name="cpu",
                        current=MetricValueStatus(
                            average_utilization=45, average_value=Quantity("45m")
                        ),
                    ),
                ),
            ),
            conditions=(
                HorizontalPodAutoscalerCondition(
                    type="AbleToScale",
                    status="True",
                    reason="ReadyForNewScale",
                    message="recommended size matches current size",
                ),
            ),
        ),
    )
    assert describe(hpa) == (
        "Name:                                                  web\n"
        "Namespace:                                             default\n"
        "Labels:                                                <none>\n"
        "Annotations:                                           <none>\n"
        "CreationTimestamp:                                     Thu, 01 Jan 2026 00:00:00 +0000\n"
        "Reference:                                             Deployment/web\n"
        "Metrics:                                               ( current / target )\n"
        "  resource cpu on pods  (as a percentage of request):  45% (45m) / 60%\n"
        '  "rps" on pods:                                       <unknown> / 10\n'
        "Min replicas:                                          2\n"
        "Max replicas:                                          10\n"
        "Deployment pods:                                       3 current / 4 desired\n"
        "Conditions:\n"
        "  Type         Status  Reason            Message\n"
        "  ----         ------  ------            -------\n"
        "  AbleToScale  True    ReadyForNewScale  recommended size matches current size\n"
        "Events:        <none>\n"
    )


def test_node_lists_its_unfinished_pods_with_their_share_of_allocatable() -> None:
    node = Node(
        metadata=ObjectMeta(name="n1", creation_timestamp=T0),
        status=NodeStatus(allocatable={"cpu": Quantity("4"), "memory": Quantity("8Gi")}),
    )

    def pod(name: str, phase: str, cpu: str) -> Pod:
        resources = ResourceRequirements(requests={"cpu": Quantity(cpu), "memory": Quantity("1Gi")})
        return Pod(
            metadata=ObjectMeta(name=name, namespace="default", creation_timestamp=at(65)),
            spec=PodSpec(
                node_name="n1", containers=(Container(name="c", image="i", resources=resources),)
            ),
            status=PodStatus(phase=phase),  # type: ignore[arg-type]
        )

    pods = [
        pod("web-1", "Running", "500m"),
        pod("done", "Succeeded", "1"),
        pod("web-2", "Pending", "1"),
    ]
    text = describe(node, pods=[wire(p) for p in pods])
    start = text.index("Non-terminated Pods:")
    assert text[start:].splitlines()[:12] == [
        "Non-terminated Pods:          (2 in total)",
        "  Namespace                   Name   CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age",
        "  ---------                   ----   ------------  ----------  ---------------  -------------  ---",
        "  default                     web-1  500m (12%)    0 (0%)      1Gi (12%)        0 (0%)         2m",
        "  default                     web-2  1 (25%)       0 (0%)      1Gi (12%)        0 (0%)         2m",
        "Allocated resources:",
        "  (Total limits may be over 100 percent, i.e., overcommitted.)",
        "  Resource  Requests     Limits",
        "  --------  --------     ------",
        "  cpu       1500m (37%)  0 (0%)",
        "  memory    2Gi (25%)    0 (0%)",
        "Events:     <none>",
    ]


def test_configmap_values_and_secret_sizes() -> None:
    config = ConfigMap(
        metadata=ObjectMeta(name="cfg", namespace="default"), data={"mode": "prod", "a": "1"}
    )
    assert describe(config) == (
        "Name:         cfg\n"
        "Namespace:    default\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "\n"
        "Data\n"
        "====\n"
        "a:\n"
        "----\n"
        "1\n"
        "\n"
        "mode:\n"
        "----\n"
        "prod\n"
        "\n"
        "\n"
        "BinaryData\n"
        "====\n"
        "\n"
        "Events:  <none>\n"
    )
    secret = Secret(
        metadata=ObjectMeta(name="s", namespace="default"), data={"password": "cGFzc3dvcmQ="}
    )
    text = describe(secret)
    assert "Type:  Opaque" in text.splitlines()
    assert "password:  8 bytes" in text.splitlines()
    assert "cGFzc3dvcmQ=" not in text


def test_other_kinds_get_the_generic_describer() -> None:
    namespace = Namespace(metadata=ObjectMeta(name="team-a", labels={"team": "a"}))
    assert describe(namespace) == (
        "Name:         team-a\n"
        "Labels:       team=a\n"
        "Annotations:  <none>\n"
        "API Version:  v1\n"
        "Kind:         Namespace\n"
        "Events:       <none>\n"
    )
