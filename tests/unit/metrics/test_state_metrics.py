"""The state collector: pods by phase, pending pods, restarts, HPAs, node pools and
proxy connections, read from a real MemoryStore at scrape time (exact samples)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from metrics_builders import make_hpa, make_node, make_pod, make_store
from prometheus_client import CollectorRegistry

from orbit.api import Pod
from orbit.metrics import OrbitMetrics, StateCollector
from orbit.store import MemoryStore


def registry_for(store: MemoryStore) -> tuple[CollectorRegistry, StateCollector]:
    registry = CollectorRegistry()
    collector = StateCollector(store)
    registry.register(collector)
    return registry, collector


def test_pods_by_phase_per_namespace_with_every_phase_reported() -> None:
    store = make_store()
    store.create(make_pod("a", phase="Running"))
    store.create(make_pod("b", phase="Running"))
    store.create(make_pod("c", phase="Failed"))
    store.create(make_pod("d", "batch", phase="Succeeded"))
    registry, _ = registry_for(store)
    value = registry.get_sample_value
    assert value("orbit_pods", {"namespace": "default", "phase": "Running"}) == 2
    assert value("orbit_pods", {"namespace": "default", "phase": "Failed"}) == 1
    assert value("orbit_pods", {"namespace": "default", "phase": "Pending"}) == 0
    assert value("orbit_pods", {"namespace": "default", "phase": "Unknown"}) == 0
    assert value("orbit_pods", {"namespace": "batch", "phase": "Succeeded"}) == 1
    assert value("orbit_pods", {"namespace": "batch", "phase": "Running"}) == 0
    assert value("orbit_pods", {"namespace": "empty", "phase": "Running"}) is None


def test_pending_pods_are_unbound_unfinished_and_not_being_deleted() -> None:
    store = make_store()
    store.create(make_pod("bound", phase="Pending", node="n1"))  # bound, not started yet
    store.create(make_pod("waiting-1", phase="Pending", node=""))
    store.create(make_pod("waiting-2", "other", phase="Pending", node=""))
    store.create(make_pod("failed", phase="Failed", node=""))  # e.g. rejected by a kubelet
    store.create(make_pod("leaving", phase="Pending", node="", finalizers=("example.com/hold",)))
    store.delete(Pod, "leaving", "default")  # held by its finalizer, deletionTimestamp set
    assert store.get(Pod, "leaving", "default").metadata.deletion_timestamp is not None
    registry, _ = registry_for(store)
    assert registry.get_sample_value("orbit_scheduler_pending_pods") == 2
    pending = {"namespace": "default", "phase": "Pending"}
    assert registry.get_sample_value("orbit_pods", pending) == 3


def test_container_restarts_come_from_restart_count_per_container() -> None:
    store = make_store()
    store.create(make_pod("web", restarts={"app": 3, "sidecar": 0}))
    store.create(make_pod("job", "batch", restarts={"main": 1}))
    store.create(make_pod("new", phase="Pending", node=""))  # no container status yet
    registry, _ = registry_for(store)
    name = "orbit_pod_container_restarts_total"
    web = {"namespace": "default", "pod": "web"}
    assert registry.get_sample_value(name, {**web, "container": "app"}) == 3
    assert registry.get_sample_value(name, {**web, "container": "sidecar"}) == 0
    job = {"namespace": "batch", "pod": "job", "container": "main"}
    assert registry.get_sample_value(name, job) == 1
    fresh = {"namespace": "default", "pod": "new", "container": "main"}
    assert registry.get_sample_value(name, fresh) is None


def test_hpa_replicas_and_limits_per_autoscaler() -> None:
    store = make_store()
    store.create(make_hpa("web", current=3, desired=5, low=2, high=10))
    store.create(make_hpa("api", current=0, desired=0, low=0, high=4))
    registry, _ = registry_for(store)
    web = {"namespace": "shop", "hpa": "web"}
    api = {"namespace": "shop", "hpa": "api"}
    value = registry.get_sample_value
    assert value("orbit_hpa_current_replicas", web) == 3
    assert value("orbit_hpa_desired_replicas", web) == 5
    assert value("orbit_hpa_min_replicas", web) == 2
    assert value("orbit_hpa_max_replicas", web) == 10
    assert value("orbit_hpa_current_replicas", api) == 0
    assert value("orbit_hpa_desired_replicas", api) == 0
    assert value("orbit_hpa_min_replicas", api) == 0
    assert value("orbit_hpa_max_replicas", api) == 4


def test_node_pool_sizes_count_labelled_nodes_and_known_empty_pools() -> None:
    store = make_store()
    store.create(make_node("a-1", "general"))
    store.create(make_node("a-2", "general"))
    store.create(make_node("g-1", "gpu"))
    store.create(make_node("loose"))  # in no pool
    metrics = OrbitMetrics(store)
    value = metrics.registry.get_sample_value
    assert value("orbit_nodepool_nodes", {"pool": "spot"}) is None
    metrics.bind_node_pools(lambda: ["general", "spot"])
    assert value("orbit_nodepool_nodes", {"pool": "general"}) == 2
    assert value("orbit_nodepool_nodes", {"pool": "gpu"}) == 1  # labelled, though not named
    assert value("orbit_nodepool_nodes", {"pool": "spot"}) == 0
    assert value("orbit_nodepool_nodes", {"pool": ""}) is None


class FakeProxy:
    """Stands in for ServiceProxy.connection_counts (the real one: test_server)."""

    def __init__(self) -> None:
        self.counts = {("shop", "web", "http"): (7, 2), ("shop", "db", "5432"): (1, 0)}

    def connection_counts(self) -> Mapping[tuple[str, str, str], tuple[int, int]]:
        return self.counts


def test_proxy_connections_are_read_from_the_bound_proxy_at_each_scrape() -> None:
    metrics = OrbitMetrics(make_store())
    value = metrics.registry.get_sample_value
    web = {"namespace": "shop", "service": "web", "port": "http"}
    db = {"namespace": "shop", "service": "db", "port": "5432"}
    assert value("orbit_proxy_connections_total", web) is None
    proxy = FakeProxy()
    metrics.bind_proxy(proxy)
    assert value("orbit_proxy_connections_total", web) == 7
    assert value("orbit_proxy_active_connections", web) == 2
    assert value("orbit_proxy_connections_total", db) == 1
    assert value("orbit_proxy_active_connections", db) == 0
    proxy.counts = {("shop", "web", "http"): (9, 0)}
    assert value("orbit_proxy_connections_total", web) == 9
    assert value("orbit_proxy_active_connections", web) == 0
    assert value("orbit_proxy_connections_total", db) is None


def test_every_scrape_reads_the_store_as_it_is_now() -> None:
    store = make_store()
    registry, _ = registry_for(store)
    running = {"namespace": "default", "phase": "Running"}
    succeeded = {"namespace": "default", "phase": "Succeeded"}
    assert registry.get_sample_value("orbit_pods", running) is None
    store.create(make_pod("a"))
    assert registry.get_sample_value("orbit_pods", running) == 1
    current = store.get(Pod, "a", "default")
    finished = attrs.evolve(current.status, phase="Succeeded")
    store.update_status(attrs.evolve(current, status=finished))
    assert registry.get_sample_value("orbit_pods", running) == 0
    assert registry.get_sample_value("orbit_pods", succeeded) == 1
    store.delete(Pod, "a", "default")
    assert registry.get_sample_value("orbit_pods", succeeded) is None
