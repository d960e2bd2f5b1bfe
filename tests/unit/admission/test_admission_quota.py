"""ResourceQuota at admission, through MemoryStore.create / update / admit: refusals
with Kubernetes' messages, charges written to status.used before the object lands,
usage computed when a quota has no status yet, and dry-run batches."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from admission_builders import NS, START, admitting_store, container, item, limit_range, pod, quota

from orbit.admission import is_current
from orbit.api import (
    ConfigMap,
    Deployment,
    Event,
    ObjectMeta,
    Pod,
    Quantity,
    ResourceQuota,
    ResourceQuotaStatus,
    Service,
    ServicePort,
    ServiceSpec,
)
from orbit.errors import AlreadyExists, Forbidden
from orbit.store import AdmissionBatch, MemoryStore


def used(store: MemoryStore, name: str = "team-a") -> dict[str, str]:
    return {k: str(v) for k, v in store.get(ResourceQuota, name, NS).status.used.items()}


def with_status(q: ResourceQuota, **used_values: str) -> ResourceQuota:
    names = {k.replace("_", "."): Quantity(v) for k, v in used_values.items()}
    return attrs.evolve(q, status=ResourceQuotaStatus(hard=dict(q.spec.hard), used=names))


def test_the_issue_example_is_refused_word_for_word_and_nothing_changes() -> None:
    store, _ = admitting_store()
    team = store.create(quota(requests_cpu="8"))
    store.update_status(with_status(team, requests_cpu="7"))
    version = store.resource_version
    with pytest.raises(Forbidden) as refused:
        store.create(pod("web-1", cpu="2"))
    assert str(refused.value) == (
        'pods "web-1" is forbidden: exceeded quota: team-a, requested: requests.cpu=2, '
        "used: requests.cpu=7, limited: requests.cpu=8"
    )
    assert refused.value.reason.startswith("exceeded quota: team-a,")
    assert store.resource_version == version  # no write at all
    assert store.list(Pod, namespace=NS).items == []


def test_admission_charges_status_used_so_back_to_back_creates_cannot_overrun() -> None:
    store, _ = admitting_store()
    store.create(quota(requests_cpu="2", pods="5"))
    store.create(pod("a", cpu="1"))
    assert used(store) == {"requests.cpu": "1", "pods": "1"}
    store.create(pod("b", cpu="1"))
    assert used(store) == {"requests.cpu": "2", "pods": "2"}
    with pytest.raises(Forbidden, match=r"requested: requests\.cpu=1, used: requests\.cpu=2,"):
        store.create(pod("c", cpu="1"))
    assert used(store) == {"requests.cpu": "2", "pods": "2"}


def test_a_quota_without_status_is_computed_from_the_store_at_admission() -> None:
    """Kubernetes refuses with "status unknown for quota"; orbit counts instead."""
    store, _ = admitting_store()
    store.create(pod("a", cpu="1", memory="1Gi"))
    store.create(pod("done", cpu="4", phase="Succeeded"))
    store.create(quota(requests_cpu="4", requests_memory="4Gi", pods="10"))
    assert not is_current(store.get(ResourceQuota, "team-a", NS))
    store.create(pod("b", cpu="500m", memory="512Mi"))
    team = store.get(ResourceQuota, "team-a", NS)
    assert is_current(team)
    assert used(store) == {"requests.cpu": "1500m", "requests.memory": "1536Mi", "pods": "2"}


def test_an_edited_quota_is_recounted_against_its_new_limits() -> None:
    store, _ = admitting_store()
    team = store.create(quota(pods="5"))
    store.create(pod("a"))
    store.create(pod("b"))
    team = store.get(ResourceQuota, "team-a", NS)  # admission wrote its status since
    store.update(attrs.evolve(team, spec=attrs.evolve(team.spec, hard={"pods": Quantity("2")})))
    with pytest.raises(Forbidden) as refused:
        store.create(pod("c"))
    assert refused.value.reason == (
        "exceeded quota: team-a, requested: pods=1, used: pods=2, limited: pods=2"
    )


def test_object_counts_refuse_with_the_group_qualified_resource() -> None:
    store, _ = admitting_store()
    store.create(quota("apps", count__deployments_apps="1"))
    store.create(Deployment(metadata=ObjectMeta(name="a", namespace=NS)))
    with pytest.raises(Forbidden) as refused:
        store.create(Deployment(metadata=ObjectMeta(name="b", namespace=NS)))
    assert str(refused.value) == (
        'deployments.apps "b" is forbidden: exceeded quota: apps, '
        "requested: count/deployments.apps=1, used: count/deployments.apps=1, "
        "limited: count/deployments.apps=1"
    )


def test_legacy_names_count_config_maps() -> None:
    store, _ = admitting_store()
    store.create(quota("configs", configmaps="1"))
    store.create(ConfigMap(metadata=ObjectMeta(name="a", namespace=NS)))
    with pytest.raises(Forbidden, match=r'^configmaps "b" is forbidden: exceeded quota: configs'):
        store.create(ConfigMap(metadata=ObjectMeta(name="b", namespace=NS)))


def test_a_pod_must_state_tracked_cpu_and_memory() -> None:
    store, _ = admitting_store()
    store.create(quota(requests_cpu="8", requests_memory="8Gi"))
    with pytest.raises(Forbidden) as refused:
        store.create(pod("x", containers=[container("web", requests={"cpu": "1"})]))
    assert str(refused.value) == (
        'pods "x" is forbidden: failed quota: team-a: must specify requests.memory for: web'
    )


def test_limit_range_defaults_are_charged_and_satisfy_must_specify() -> None:
    """The chain runs LimitRanger first, so quota charges the defaulted pod."""
    store, _ = admitting_store()
    store.create(
        limit_range("limits", item("Container", default={"cpu": "500m", "memory": "256Mi"}))
    )
    store.create(quota(requests_cpu="1", limits_memory="1Gi"))
    store.create(pod("a", containers=[container("web")]))
    assert used(store) == {"requests.cpu": "500m", "limits.memory": "256Mi"}


def test_scoped_quotas_charge_only_pods_in_scope() -> None:
    store, _ = admitting_store()
    store.create(quota("best-effort", scopes=["BestEffort"], pods="1"))
    store.create(pod("a"))
    store.create(pod("sized", cpu="1"))  # not BestEffort: not charged
    with pytest.raises(Forbidden, match="exceeded quota: best-effort"):
        store.create(pod("b"))
    assert used(store, "best-effort") == {"pods": "1"}


def test_generated_names_appear_in_the_refusal() -> None:
    store, _ = admitting_store()
    store.create(quota(pods="0"))
    generated = attrs.evolve(pod(), metadata=ObjectMeta(generate_name="web-", namespace=NS))
    with pytest.raises(Forbidden) as refused:
        store.create(generated)
    assert refused.value.name.startswith("web-")
    assert len(refused.value.name) == len("web-") + 5


def test_name_conflicts_are_reported_before_quota_and_charge_nothing() -> None:
    store, _ = admitting_store()
    store.create(quota(pods="1"))
    store.create(pod("a"))
    with pytest.raises(AlreadyExists):
        store.create(pod("a"))
    assert used(store) == {"pods": "1"}


def test_other_namespaces_and_events_are_not_charged() -> None:
    store, _ = admitting_store(NS, "other")
    store.create(quota(pods="0", count__events="0"))
    store.create(pod("a", namespace="other"))
    store.create(Event(metadata=ObjectMeta(name="e", namespace=NS)))
    assert store.get(ResourceQuota, "team-a", NS).status == ResourceQuotaStatus()


def test_service_updates_charge_what_they_add() -> None:
    store, _ = admitting_store()
    store.create(quota("ports", services_nodeports="2"))
    ports = (ServicePort(port=80), ServicePort(port=81))
    svc = store.create(
        Service(metadata=ObjectMeta(name="svc", namespace=NS), spec=ServiceSpec(ports=ports))
    )
    assert used(store, "ports") == {}  # it charged nothing: no write
    node_port = attrs.evolve(svc, spec=attrs.evolve(svc.spec, type="NodePort"))
    svc = store.update(node_port)
    assert used(store, "ports") == {"services.nodeports": "2"}
    three = attrs.evolve(svc, spec=attrs.evolve(svc.spec, ports=(*ports, ServicePort(port=82))))
    with pytest.raises(
        Forbidden, match=r"requested: services\.nodeports=1, used: services\.nodeports=2"
    ):
        store.update(three)


def test_a_pod_stuck_terminating_past_its_grace_no_longer_counts() -> None:
    store, clock = admitting_store()
    stuck = attrs.evolve(
        pod("stuck", cpu="1"),
        metadata=ObjectMeta(
            name="stuck",
            namespace=NS,
            finalizers=("example.com/hold",),
            deletion_timestamp=datetime.fromtimestamp(START, tz=UTC),
        ),
    )
    store.create(stuck)
    store.delete(Pod, "stuck", NS, grace_period_s=30)  # marks it: deletion at START + 30
    store.create(quota(requests_cpu="1"))
    with pytest.raises(Forbidden):
        store.admit(pod("next", cpu="1"))
    clock.advance(61)  # past deletionTimestamp + grace
    store.create(pod("next", cpu="1"))
    assert used(store) == {"requests.cpu": "1"}


# --- dry runs ------------------------------------------------------------------------------


def test_admit_is_a_dry_run() -> None:
    store, _ = admitting_store()
    store.create(limit_range("limits", item("Container", default={"cpu": "1"})))
    store.create(quota(requests_cpu="2"))
    version = store.resource_version
    admitted = store.admit(pod("a", containers=[container("web")]))
    assert str(admitted.spec.containers[0].resources.limits["cpu"]) == "1"
    assert store.resource_version == version
    assert store.get(ResourceQuota, "team-a", NS).status == ResourceQuotaStatus()


def test_a_batch_counts_its_earlier_objects_and_their_charges() -> None:
    store, _ = admitting_store()
    store.create(quota(pods="2"))
    batch = AdmissionBatch()
    store.admit(pod("a"), batch=batch)
    store.admit(pod("b"), batch=batch)
    with pytest.raises(Forbidden, match="requested: pods=1, used: pods=2, limited: pods=2"):
        store.admit(pod("c"), batch=batch)
    store.admit(pod("c"))  # without the batch, the store alone is consulted
    assert store.list(Pod, namespace=NS).items == []


def test_a_batch_sees_quotas_and_limit_ranges_it_creates() -> None:
    store, _ = admitting_store()
    batch = AdmissionBatch()
    store.admit(limit_range("limits", item("Container", default_request={"cpu": "1"})), batch=batch)
    store.admit(quota(requests_cpu="1"), batch=batch)
    admitted = store.admit(pod("a", containers=[container("web")]), batch=batch)
    assert str(admitted.spec.containers[0].resources.requests["cpu"]) == "1"
    with pytest.raises(Forbidden, match=r"used: requests\.cpu=1, limited: requests\.cpu=1"):
        store.admit(pod("b", containers=[container("web")]), batch=batch)


def test_a_quota_updated_in_a_batch_keeps_the_charges_made_before() -> None:
    """An update keeps the stored status: in a batch, the status as charged so far."""
    store, _ = admitting_store()
    team = store.create(quota(pods="2"))
    team = store.update_status(with_status(team, pods="0"))
    batch = AdmissionBatch()
    store.admit(pod("a"), batch=batch)
    relabelled = attrs.evolve(team, metadata=attrs.evolve(team.metadata, labels={"tier": "1"}))
    assert store.admit(relabelled, old=team, batch=batch).status.used == {"pods": Quantity("1")}
    store.admit(pod("b"), batch=batch)
    with pytest.raises(Forbidden, match=r"used: pods=2, limited: pods=2"):
        store.admit(pod("c"), batch=batch)
