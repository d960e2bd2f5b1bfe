"""Prometheus' naming conventions, checked on everything OrbitMetrics exposes: the
``orbit_`` prefix, base units, ``_total`` counters, HELP text; one registry per
cluster, never prometheus_client's global one."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from metrics_builders import make_hpa, make_node, make_pod, make_store
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import Metric

from orbit.metrics import (
    RECONCILE_BUCKETS,
    SCHEDULING_BUCKETS,
    OrbitMetrics,
    StateCollector,
    exponential_buckets,
)

NAME = re.compile(r"^orbit_[a-z][a-z0-9_]*[a-z0-9]$")
UNIT_WORDS = ("milliseconds", "microseconds", "minutes", "hours", "kilobytes", "megabytes")


class Proxy:
    def connection_counts(self) -> Mapping[tuple[str, str, str], tuple[int, int]]:
        return {("default", "web", "http"): (1, 1)}


def populated() -> OrbitMetrics:
    """Metrics with a sample in every family (so every sample name is seen)."""
    store = make_store()
    store.create(make_pod("a", restarts={"main": 1}))
    store.create(make_hpa("web", current=1, desired=1, low=1, high=2))
    store.create(make_node("n1", "pool-a"))
    metrics = OrbitMetrics(store)
    metrics.bind_proxy(Proxy())
    metrics.observe_reconcile("job-controller", 0.001, True)
    metrics.events.attempt("default", "scheduled", 0.002)
    return metrics


def families(metrics: OrbitMetrics) -> list[Metric]:
    return list(metrics.registry.collect())


EXPECTED = {
    "orbit_controller_reconcile_duration_seconds": "histogram",
    "orbit_controller_reconcile_errors": "counter",
    "orbit_hpa_current_replicas": "gauge",
    "orbit_hpa_desired_replicas": "gauge",
    "orbit_hpa_max_replicas": "gauge",
    "orbit_hpa_min_replicas": "gauge",
    "orbit_nodepool_nodes": "gauge",
    "orbit_pod_container_restarts": "counter",
    "orbit_pods": "gauge",
    "orbit_proxy_active_connections": "gauge",
    "orbit_proxy_connections": "counter",
    "orbit_scheduler_pending_pods": "gauge",
    "orbit_scheduler_schedule_attempts": "counter",
    "orbit_scheduler_scheduling_attempt_duration_seconds": "histogram",
}


def test_the_families_are_the_documented_ones() -> None:
    got = {family.name: family.type for family in families(populated())}
    assert got == EXPECTED


def test_names_have_the_prefix_help_and_base_units() -> None:
    for family in families(populated()):
        assert NAME.match(family.name), family.name
        assert family.documentation.strip(), family.name
        assert not any(word in family.name for word in UNIT_WORDS), family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name


def test_counters_end_in_total_and_nothing_else_does() -> None:
    for family in families(populated()):
        names = {s.name for s in family.samples if not s.name.endswith("_created")}
        assert names, family.name
        if family.type == "counter":
            assert names == {f"{family.name}_total"}
        else:
            assert not any(name.endswith("_total") for name in names), family.name


def test_two_clusters_have_two_registries_and_the_global_one_has_neither() -> None:
    first, second = populated(), populated()
    assert first.registry is not second.registry
    first.observe_reconcile("job-controller", 0.001, True)
    errors = ("orbit_controller_reconcile_errors_total", {"controller": "job-controller"})
    assert first.registry.get_sample_value(*errors) == 2
    assert second.registry.get_sample_value(*errors) == 1
    global_names = {family.name for family in REGISTRY.collect()}
    assert not any(name.startswith("orbit_") for name in global_names)


def test_a_registry_refuses_the_same_names_twice() -> None:
    metrics = populated()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        metrics.registry.register(StateCollector(make_store()))
    fresh = CollectorRegistry()
    fresh.register(StateCollector(make_store()))  # the names are free in another one


def test_buckets_are_kubernetes_exponential_ones() -> None:
    assert exponential_buckets(0.001, 2, 3) == (0.001, 0.002, 0.004)
    assert SCHEDULING_BUCKETS[:-1] == exponential_buckets(0.001, 2, 15)
    assert SCHEDULING_BUCKETS[-2] == pytest.approx(16.384)
    assert RECONCILE_BUCKETS[0] == 0.0001
    assert SCHEDULING_BUCKETS[-1] == RECONCILE_BUCKETS[-1] == float("inf")
    with pytest.raises(ValueError, match="exponential buckets"):
        exponential_buckets(0, 2, 3)
