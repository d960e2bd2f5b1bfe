"""Quota usage, pure: what one object charges (pkg/quota/v1/evaluator/core), scopes,
a namespace's total, and CheckRequest's decisions and messages, case by case against
Kubernetes' evaluators and resource_quota controller.go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from admission_builders import NS, START, container, pod, quota
from hypothesis import given, settings
from hypothesis import strategies as st

from orbit.admission import (
    calculate_usage,
    check_request,
    counts_for_quota,
    evaluator_for,
    pod_limits,
    pod_requests,
    quota_matches,
    resource_name,
    stops_counting_at,
    tracked_resources,
)
from orbit.admission._resources import ResourceMap, subtract_non_negative
from orbit.api import (
    Affinity,
    ConfigMap,
    CronJob,
    Deployment,
    Event,
    Job,
    KindInfo,
    LabelSelector,
    Namespace,
    ObjectMeta,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    Quantity,
    ResourceQuota,
    Secret,
    Service,
    ServicePort,
    ServiceSpec,
    WeightedPodAffinityTerm,
    kind_info,
)


def usage(obj: Any, now: float = START) -> dict[str, str]:
    evaluator = evaluator_for(kind_info(obj))
    assert evaluator is not None
    return {name: str(q) for name, q in evaluator.usage(obj, now).items()}


def text(items: ResourceMap) -> dict[str, str]:
    return {name: str(q) for name, q in items.items()}


# --- what a pod charges ---------------------------------------------------------------


def test_a_pod_charges_requests_limits_their_aliases_and_counts() -> None:
    web = container("web", requests={"cpu": "500m", "memory": "256Mi"}, limits={"cpu": "1"})
    side = container("side", requests={"cpu": "250m", "memory": "1Gi"}, limits={"memory": "1Gi"})
    assert usage(pod(containers=[web, side])) == {
        "count/pods": "1",
        "pods": "1",
        "cpu": "750m",
        "requests.cpu": "750m",
        "limits.cpu": "1",
        "memory": "1280Mi",
        "requests.memory": "1280Mi",
        "limits.memory": "1Gi",
    }


def test_init_containers_raise_the_total_to_their_largest() -> None:
    """PodRequests: app containers summed, then max with each init container."""
    app = [container("a", requests={"cpu": "1"}), container("b", requests={"cpu": "1"})]
    init = [container("setup", requests={"cpu": "3", "memory": "64Mi"})]
    charged = pod(containers=app, init=init)
    assert text(pod_requests(charged)) == {"cpu": "3", "memory": "64Mi"}
    assert text(pod_limits(charged)) == {}
    assert usage(charged)["requests.cpu"] == "3"
    small_init = pod(containers=app, init=[container("setup", requests={"cpu": "500m"})])
    assert usage(small_init)["requests.cpu"] == "2"


def test_extended_resources_and_hugepages_charge_requests_names() -> None:
    gpu = container(requests={"nvidia.com/gpu": "2", "hugepages-2Mi": "4Mi"})
    charged = usage(pod(containers=[gpu]))
    assert charged["requests.nvidia.com/gpu"] == "2"
    assert "nvidia.com/gpu" not in charged  # extended resources only as requests.<name>
    assert charged["hugepages-2Mi"] == charged["requests.hugepages-2Mi"] == "4Mi"


def test_a_pod_without_resources_charges_only_counts() -> None:
    assert usage(pod()) == {"count/pods": "1", "pods": "1"}


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_a_finished_pod_charges_only_its_object_count(phase: str) -> None:
    done = pod(cpu="2", phase=phase)
    assert usage(done) == {"count/pods": "1"}
    assert not counts_for_quota(done, START)


def test_a_pod_stuck_terminating_stops_counting_after_deadline_plus_grace() -> None:
    """QuotaV1Pod: charged until now is after deletionTimestamp + grace period."""
    deleted_at = datetime.fromtimestamp(START + 30, tz=UTC)
    meta = ObjectMeta(
        name="web", namespace=NS, deletion_timestamp=deleted_at, deletion_grace_period_seconds=30
    )
    stuck = attrs.evolve(pod(cpu="1"), metadata=meta)
    assert stops_counting_at(stuck) == START + 60
    assert counts_for_quota(stuck, START + 60)
    assert usage(stuck, START + 60)["requests.cpu"] == "1"
    assert not counts_for_quota(stuck, START + 60.5)
    assert usage(stuck, START + 61) == {"count/pods": "1"}
    assert stops_counting_at(pod()) is None


# --- services and object counts -----------------------------------------------------------


def service(kind: str = "ClusterIP", ports: int = 2) -> Service:
    return Service(
        metadata=ObjectMeta(name="svc", namespace=NS),
        spec=ServiceSpec(type=kind, ports=tuple(ServicePort(port=80 + i) for i in range(ports))),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("kind", "balancers", "node_ports"),
    [("ClusterIP", "0", "0"), ("NodePort", "0", "2"), ("LoadBalancer", "1", "2")],
)
def test_a_service_charges_its_count_balancer_and_node_ports(
    kind: str, balancers: str, node_ports: str
) -> None:
    assert usage(service(kind)) == {
        "count/services": "1",
        "services": "1",
        "services.loadbalancers": balancers,
        "services.nodeports": node_ports,
    }


@pytest.mark.parametrize(
    ("cls", "charged"),
    [
        (Deployment, {"count/deployments.apps": "1"}),
        (Job, {"count/jobs.batch": "1"}),
        (CronJob, {"count/cronjobs.batch": "1"}),
        (ConfigMap, {"count/configmaps": "1", "configmaps": "1"}),
        (Secret, {"count/secrets": "1", "secrets": "1"}),
        (ResourceQuota, {"count/resourcequotas": "1", "resourcequotas": "1"}),
    ],
)
def test_other_kinds_charge_their_object_count(cls: type[Any], charged: dict[str, str]) -> None:
    assert usage(cls(metadata=ObjectMeta(name="x", namespace=NS))) == charged


def test_events_and_cluster_scoped_kinds_are_never_charged() -> None:
    assert evaluator_for(kind_info(Event)) is None
    assert evaluator_for(kind_info(Namespace)) is None


def test_resource_names_are_plural_and_group_qualified() -> None:
    assert resource_name(kind_info(Pod)) == "pods"
    assert resource_name(kind_info(Deployment)) == "deployments.apps"
    assert resource_name(kind_info(CronJob)) == "cronjobs.batch"


def test_tracked_resources_are_those_an_evaluator_computes() -> None:
    hard = ["requests.cpu", "count/jobs.batch", "services", "count/widgets.example.com"]
    assert tracked_resources(hard) == {"requests.cpu", "count/jobs.batch", "services"}


def test_an_update_charges_only_what_it_adds() -> None:
    """SubtractWithNonNegativeResult: a NodePort -> ClusterIP change charges nothing."""
    node_port = {name: Quantity(v) for name, v in usage(service("NodePort")).items()}
    cluster_ip = {name: Quantity(v) for name, v in usage(service("ClusterIP")).items()}
    assert text(subtract_non_negative(cluster_ip, node_port))["services.nodeports"] == "0"
    assert text(subtract_non_negative(node_port, cluster_ip))["services.nodeports"] == "2"


# --- scopes ----------------------------------------------------------------------------------


def cross_namespace(anti: bool) -> Affinity:
    term = PodAffinityTerm(namespace_selector=LabelSelector(), topology_key="zone")
    weighted = WeightedPodAffinityTerm(weight=1, pod_affinity_term=term)
    if anti:
        return Affinity(
            pod_anti_affinity=PodAntiAffinity(
                preferred_during_scheduling_ignored_during_execution=(weighted,)
            )
        )
    return Affinity(
        pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=(term,))
    )


@pytest.mark.parametrize(
    ("scope", "matching", "other"),
    [
        ("BestEffort", pod(), pod(cpu="1")),
        ("NotBestEffort", pod(memory="1Gi"), pod()),
        ("Terminating", pod(active_deadline_s=60), pod()),
        ("NotTerminating", pod(), pod(active_deadline_s=0)),
        ("PriorityClass", pod(priority_class="high"), pod()),
        (
            "CrossNamespacePodAffinity",
            attrs.evolve(pod(), spec=attrs.evolve(pod().spec, affinity=cross_namespace(True))),
            attrs.evolve(pod(), spec=attrs.evolve(pod().spec, affinity=Affinity())),
        ),
    ],
)
def test_scoped_quotas_match_pods_in_scope_only(scope: str, matching: Pod, other: Pod) -> None:
    scoped = quota(scopes=[scope], pods="10")
    evaluator = evaluator_for(kind_info(Pod))
    assert evaluator is not None
    assert quota_matches(scoped, evaluator, matching)
    assert not quota_matches(scoped, evaluator, other)


def test_cross_namespace_affinity_counts_required_terms_too() -> None:
    evaluator = evaluator_for(kind_info(Pod))
    assert evaluator is not None
    affine = attrs.evolve(pod(), spec=attrs.evolve(pod().spec, affinity=cross_namespace(False)))
    assert evaluator.matches_scope("CrossNamespacePodAffinity", affine)


def test_a_zero_request_is_still_best_effort() -> None:
    evaluator = evaluator_for(kind_info(Pod))
    assert evaluator is not None
    assert evaluator.matches_scope("BestEffort", pod(cpu="0"))


def test_scoped_quotas_never_match_other_kinds() -> None:
    evaluator = evaluator_for(kind_info(ConfigMap))
    assert evaluator is not None
    cm = ConfigMap(metadata=ObjectMeta(name="cm", namespace=NS))
    assert quota_matches(quota(configmaps="3"), evaluator, cm)
    assert not quota_matches(quota(scopes=["NotTerminating"], configmaps="3"), evaluator, cm)


# --- a namespace's usage ---------------------------------------------------------------------


def lister(*objects: Any) -> Any:
    def objects_of(info: KindInfo) -> list[Any]:
        return [obj for obj in objects if kind_info(obj) == info]

    return objects_of


def test_usage_sums_what_counts_and_starts_every_tracked_resource_at_zero() -> None:
    hard = quota(requests_cpu="8", requests_memory="8Gi", pods="10", count__jobs_batch="2")
    hard = attrs.evolve(
        hard, spec=attrs.evolve(hard.spec, hard={**hard.spec.hard, "x/y": Quantity("1")})
    )
    objects = lister(
        pod("a", cpu="1", memory="1Gi"),
        pod("b", cpu="500m", memory="512Mi"),
        pod("done", cpu="4", phase="Succeeded"),
        Job(metadata=ObjectMeta(name="j", namespace=NS)),
    )
    assert text(calculate_usage(hard, objects, START)) == {
        "requests.cpu": "1500m",
        "requests.memory": "1536Mi",
        "pods": "2",
        "count/jobs.batch": "1",
    }
    empty = calculate_usage(hard, lister(), START)
    assert text(empty) == {
        "requests.cpu": "0",
        "requests.memory": "0",
        "pods": "0",
        "count/jobs.batch": "0",
    }


def test_usage_of_a_scoped_quota_counts_pods_in_scope() -> None:
    best_effort = quota(scopes=["BestEffort"], pods="5")
    objects = lister(pod("a"), pod("b", cpu="1"), pod("c"))
    assert text(calculate_usage(best_effort, objects, START)) == {"pods": "2"}


# --- CheckRequest ---------------------------------------------------------------------------


def decide(quotas: list[ResourceQuota], obj: Any, used: dict[str, dict[str, str]]) -> Any:
    evaluator = evaluator_for(kind_info(obj))
    assert evaluator is not None

    def used_of(q: ResourceQuota) -> ResourceMap:
        return {name: Quantity(v) for name, v in used[q.metadata.name].items()}

    return check_request(
        evaluator, quotas, operation="CREATE", obj=obj, old=None, now=START, used_of=used_of
    )


def test_exceeding_a_quota_is_refused_with_kubernetes_message() -> None:
    team = quota(requests_cpu="8", pods="10")
    decision = decide([team], pod("web-1", cpu="2"), {"team-a": {"requests.cpu": "7", "pods": "3"}})
    assert decision.refusal == (
        "exceeded quota: team-a, requested: requests.cpu=2, used: requests.cpu=7, "
        "limited: requests.cpu=8"
    )
    assert decision.charges == ()


def test_every_exceeded_resource_is_named_sorted_and_comma_joined() -> None:
    team = quota(requests_cpu="2", requests_memory="1Gi", pods="10")
    used = {"team-a": {"requests.cpu": "1500m", "requests.memory": "768Mi", "pods": "1"}}
    decision = decide([team], pod(cpu="1", memory="512Mi"), used)
    assert decision.refusal == (
        "exceeded quota: team-a, requested: requests.cpu=1,requests.memory=512Mi, "
        "used: requests.cpu=1500m,requests.memory=768Mi, "
        "limited: requests.cpu=2,requests.memory=1Gi"
    )


def test_within_quota_every_matching_quota_is_charged() -> None:
    team = quota(requests_cpu="8")
    counts = quota("counts", pods="4")
    other = quota("configs", configmaps="1")
    used = {"team-a": {"requests.cpu": "7"}, "counts": {"pods": "3"}}
    decision = decide([team, counts, other], pod(cpu="1"), used)
    assert decision.refusal is None
    charged = {q.metadata.name: text(u) for q, u in decision.charges}
    assert charged == {"counts": {"pods": "4"}, "team-a": {"requests.cpu": "8"}}


def test_the_first_quota_by_name_that_is_exceeded_is_reported() -> None:
    a, b = quota("a", pods="1"), quota("b", pods="1")
    decision = decide([b, a], pod(), {"a": {"pods": "1"}, "b": {"pods": "1"}})
    assert decision.refusal is not None
    assert decision.refusal.startswith("exceeded quota: a,")


def test_a_pod_must_state_the_cpu_and_memory_a_quota_tracks() -> None:
    team = quota(requests_cpu="8", limits_memory="8Gi")
    web = container("web", requests={"cpu": "1"})
    side = container("side")
    setup = container("setup", limits={"memory": "64Mi"})
    decision = decide([team], pod(containers=[web, side], init=[setup]), {"team-a": {}})
    assert decision.refusal == (
        "failed quota: team-a: must specify "
        "limits.memory for: side,web; requests.cpu for: setup,side"
    )


def test_a_quota_tracking_only_counts_needs_no_requests() -> None:
    decision = decide([quota(pods="2")], pod(), {"team-a": {"pods": "0"}})
    assert decision.refusal is None


# --- charges add up to what the controller computes ------------------------------------


cpu_values = st.sampled_from(["100m", "250m", "1", "1500m", "2"])
memory_values = st.sampled_from(["64Mi", "128Mi", "1Gi", "500M"])
phases = st.sampled_from(["Pending", "Running", "Succeeded", "Failed"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cpu_values, memory_values, phases), min_size=1, max_size=8))
def test_admitting_pods_one_by_one_charges_what_calculate_usage_finds(
    specs: list[tuple[str, str, str]],
) -> None:
    """Property: the usage admission charges pod by pod equals the usage recomputed
    over all of them (for pods that count when admitted)."""
    hard = quota(requests_cpu="1000", requests_memory="1000Gi", pods="1000", count__pods="1000")
    evaluator = evaluator_for(kind_info(Pod))
    assert evaluator is not None
    pods = [pod(f"p{i}", cpu=c, memory=m, phase="Pending") for i, (c, m, _) in enumerate(specs)]
    used = calculate_usage(hard, lister(), START)
    for admitted in pods:
        decision = check_request(
            evaluator,
            [hard],
            operation="CREATE",
            obj=admitted,
            old=None,
            now=START,
            used_of=lambda _q, used=used: used,
        )
        assert decision.refusal is None
        ((_, used),) = decision.charges
    assert used == calculate_usage(hard, lister(*pods), START)
    finished = [
        attrs.evolve(p, status=attrs.evolve(p.status, phase=ph))
        for p, (_, _, ph) in zip(pods, specs, strict=True)
    ]
    released = calculate_usage(hard, lister(*finished), START)
    running = [p for p in finished if p.status.phase not in ("Succeeded", "Failed")]
    assert released["pods"] == Quantity(len(running))
    assert released["count/pods"] == Quantity(len(pods))
