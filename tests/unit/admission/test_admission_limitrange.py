"""LimitRange at admission: container defaults, the limit-ranger annotation, and the
min / max / maxLimitRequestRatio bounds with Kubernetes' messages
(plugin/pkg/admission/limitranger/admission.go), pure and through MemoryStore.create."""

from __future__ import annotations

import attrs
import pytest
from admission_builders import NS, admitting_store, container, item, limit_range, pod

from orbit.admission import (
    LIMIT_RANGER_ANNOTATION,
    LimitRanger,
    apply_defaults,
    limit_violations,
)
from orbit.api import ConfigMap, ObjectMeta, Pod
from orbit.errors import Forbidden, ValidationError
from orbit.store import MemoryStore


def resources(
    p: Pod, index: int = 0, *, init: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    c = (p.spec.init_containers if init else p.spec.containers)[index]
    return (
        {k: str(v) for k, v in c.resources.requests.items()},
        {k: str(v) for k, v in c.resources.limits.items()},
    )


# --- defaults ---------------------------------------------------------------------------


def test_missing_requests_and_limits_are_filled_and_annotated() -> None:
    ranges = limit_range(
        "limits",
        item(
            "Container", default={"cpu": "500m", "memory": "256Mi"}, default_request={"cpu": "100m"}
        ),
    )
    defaulted = apply_defaults(ranges, pod(containers=[container("web")]))
    # defaultRequest takes default for memory (SetDefaults_LimitRangeItem)
    assert resources(defaulted) == (
        {"cpu": "100m", "memory": "256Mi"},
        {"cpu": "500m", "memory": "256Mi"},
    )
    assert defaulted.metadata.annotations[LIMIT_RANGER_ANNOTATION] == (
        "LimitRanger plugin set: cpu, memory request for container web; "
        "cpu, memory limit for container web"
    )


def test_stated_values_are_kept_and_only_the_missing_ones_noted() -> None:
    ranges = limit_range("limits", item("Container", default={"cpu": "1", "memory": "1Gi"}))
    web = container("web", requests={"cpu": "200m"}, limits={"memory": "512Mi"})
    setup = container(
        "setup", requests={"cpu": "50m", "memory": "32Mi"}, limits={"cpu": "1", "memory": "1Gi"}
    )
    defaulted = apply_defaults(ranges, pod(containers=[web], init=[setup]))
    assert resources(defaulted) == (
        {"cpu": "200m", "memory": "512Mi"},
        {"cpu": "1", "memory": "512Mi"},
    )
    assert resources(defaulted, init=True) == resources(pod(containers=[setup]))
    assert defaulted.metadata.annotations[LIMIT_RANGER_ANNOTATION] == (
        "LimitRanger plugin set: cpu limit for container web"
    )


def test_init_containers_are_defaulted_with_their_own_wording() -> None:
    ranges = limit_range("limits", item("Container", default_request={"cpu": "100m"}))
    defaulted = apply_defaults(
        ranges, pod(containers=[container("web")], init=[container("setup")])
    )
    assert resources(defaulted, init=True)[0] == {"cpu": "100m"}
    assert defaulted.metadata.annotations[LIMIT_RANGER_ANNOTATION] == (
        "LimitRanger plugin set: cpu request for container web; "
        "cpu request for init container setup"
    )


def test_max_alone_becomes_the_default_limit_and_request() -> None:
    ranges = limit_range("limits", item("Container", max={"cpu": "2"}))
    assert resources(apply_defaults(ranges, pod(containers=[container("web")]))) == (
        {"cpu": "2"},
        {"cpu": "2"},
    )


def test_a_pod_that_needs_nothing_is_returned_unchanged() -> None:
    ranges = limit_range("limits", item("Container", default={"cpu": "1"}))
    complete = pod(containers=[container("web", limits={"cpu": "500m"})])
    assert apply_defaults(ranges, complete) is complete
    assert (
        apply_defaults(limit_range("limits", item("Pod", max={"cpu": "4"})), complete) is complete
    )


# --- bounds -------------------------------------------------------------------------------


def test_max_checks_limits_then_requests() -> None:
    bounds = limit_range("limits", item("Container", max={"cpu": "1", "memory": "1Gi"}))
    over = pod(
        containers=[
            container(
                "web", requests={"cpu": "2", "memory": "2Gi"}, limits={"cpu": "1", "memory": "4Gi"}
            )
        ]
    )
    assert limit_violations(bounds, over) == [
        "maximum cpu usage per Container is 1, but request is 2",
        "maximum memory usage per Container is 1Gi, but limit is 4Gi",
    ]
    unlimited = pod(containers=[container("web", requests={"cpu": "500m", "memory": "1Gi"})])
    assert limit_violations(bounds, unlimited) == [
        "maximum cpu usage per Container is 1.  No limit is specified",
        "maximum memory usage per Container is 1Gi.  No limit is specified",
    ]


def test_min_checks_requests_then_limits() -> None:
    bounds = limit_range("limits", item("Container", min={"cpu": "100m", "memory": "64Mi"}))
    low = pod(containers=[container("web", requests={"cpu": "50m", "memory": "64Mi"})])
    assert limit_violations(bounds, low) == [
        "minimum cpu usage per Container is 100m, but request is 50m"
    ]
    none = pod(containers=[container("web", requests={"memory": "128Mi"})])
    assert limit_violations(bounds, none) == [
        "minimum cpu usage per Container is 100m.  No request is specified"
    ]


def test_max_limit_request_ratio_prints_the_ratio_as_go_does() -> None:
    bounds = limit_range(
        "limits", item("Container", max_limit_request_ratio={"cpu": "2", "memory": "1500m"})
    )
    wide = pod(
        containers=[
            container(
                "web",
                requests={"cpu": "250m", "memory": "1Gi"},
                limits={"cpu": "1", "memory": "1Gi"},
            )
        ]
    )
    assert limit_violations(bounds, wide) == [
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"
    ]
    no_request = pod(
        containers=[
            container("web", limits={"memory": "1Gi"}, requests={"cpu": "0", "memory": "1Gi"})
        ]
    )
    assert limit_violations(bounds, no_request) == [
        "cpu max limit to request ratio per Container is 2, "
        "but no request is specified or request is 0"
    ]
    no_limit = pod(
        containers=[
            container("web", requests={"cpu": "1", "memory": "1Gi"}, limits={"memory": "1Gi"})
        ]
    )
    assert limit_violations(bounds, no_limit) == [
        "cpu max limit to request ratio per Container is 2, but no limit is specified or limit is 0"
    ]


def test_pod_items_bound_the_pods_total() -> None:
    bounds = limit_range("limits", item("Pod", max={"cpu": "2"}))
    app = [container("a", limits={"cpu": "1500m"}), container("b", limits={"cpu": "1"})]
    assert limit_violations(bounds, pod(containers=app)) == [
        "maximum cpu usage per Pod is 2, but limit is 2500m"
    ]
    assert limit_violations(bounds, pod(containers=app[:1])) == []


# --- through the store -----------------------------------------------------------------------


def test_create_applies_defaults_from_every_limit_range_by_name() -> None:
    store, _ = admitting_store()
    store.create(limit_range("a-cpu", item("Container", default={"cpu": "1"})))
    store.create(limit_range("b-memory", item("Container", default_request={"memory": "128Mi"})))
    stored = store.create(pod(containers=[container("web")]))
    assert resources(stored) == ({"cpu": "1", "memory": "128Mi"}, {"cpu": "1"})
    # each LimitRange writes its own note; the last one that set something wins
    assert stored.metadata.annotations[LIMIT_RANGER_ANNOTATION] == (
        "LimitRanger plugin set: memory request for container web"
    )


def test_create_refuses_a_pod_beyond_bounds_with_every_violation() -> None:
    """Per container: min (requests, then limits), then max, then ratios."""
    store, _ = admitting_store()
    store.create(limit_range("limits", item("Container", max={"cpu": "1"}, min={"memory": "64Mi"})))
    greedy = pod("x", containers=[container("web", limits={"cpu": "2", "memory": "32Mi"})])
    with pytest.raises(Forbidden) as refused:
        store.create(greedy)
    assert str(refused.value) == (
        'pods "x" is forbidden: [minimum memory usage per Container is 64Mi, but request '
        "is 32Mi, maximum cpu usage per Container is 1, but limit is 2]"
    )
    assert (refused.value.resource, refused.value.name) == ("pods", "x")
    assert store.list(Pod, namespace=NS).items == []


def test_a_default_limit_below_a_stated_request_makes_the_pod_invalid() -> None:
    store, _ = admitting_store()
    store.create(limit_range("limits", item("Container", default={"cpu": "500m"})))
    with pytest.raises(ValidationError) as invalid:
        store.create(pod("x", containers=[container("web", requests={"cpu": "2"})]))
    assert invalid.value.subject == 'Pod "x"'
    assert [i.path for i in invalid.value.issues] == ["spec.containers[0].resources.requests"]
    assert "must be less than or equal to cpu limit of 500m" in invalid.value.issues[0].message


def test_limit_ranges_of_other_namespaces_and_other_kinds_are_left_alone() -> None:
    store, _ = admitting_store(NS, "other")
    store.create(limit_range("limits", item("Container", max={"cpu": "1"}), namespace="other"))
    stored = store.create(pod(containers=[container("web", limits={"cpu": "4"})]))
    assert resources(stored)[1] == {"cpu": "4"}
    store.create(limit_range("limits", item("Container", max={"cpu": "1"})))
    assert (
        store.create(ConfigMap(metadata=ObjectMeta(name="cm", namespace=NS))).metadata.name == "cm"
    )


def test_pod_updates_are_not_checked() -> None:
    """Kubernetes skips pod updates: containers' resources cannot change."""
    store, _ = admitting_store()
    stored = store.create(pod(containers=[container("web", limits={"cpu": "4"})]))
    store.create(limit_range("limits", item("Container", max={"cpu": "1"})))
    labelled = attrs.evolve(stored, metadata=attrs.evolve(stored.metadata, labels={"a": "b"}))
    assert store.update(labelled).metadata.labels == {"a": "b"}


def test_a_store_without_the_plugin_stores_pods_as_given() -> None:
    store = MemoryStore(admission=())
    store.create(limit_range("limits", item("Container", max={"cpu": "1"})))
    stored = store.create(pod(containers=[container("web", limits={"cpu": "4"})]))
    assert LIMIT_RANGER_ANNOTATION not in stored.metadata.annotations
    assert store.admission == ()
    store.admission = [LimitRanger()]
    with pytest.raises(Forbidden):
        store.create(pod("x", containers=[container("web", limits={"cpu": "4"})]))
