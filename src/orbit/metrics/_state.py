"""The state metrics: read from the store (and the proxy) when Prometheus scrapes.

kube-state-metrics' way: nothing is counted in the hot path; each scrape lists the
objects and turns what they say into samples. So the numbers can never drift from the
store, and a cluster that nobody scrapes pays nothing for them.

- ``orbit_pods{namespace, phase}``: pods per phase (every phase of a namespace that
  has pods, zeros included, so a query for Failed pods reads 0, not nothing);
- ``orbit_scheduler_pending_pods``: pods not bound to a node yet, neither finished nor
  being deleted (kube-scheduler's ``pending_pods``, counted from the store);
- ``orbit_pod_container_restarts_total{namespace, pod, container}``: each container
  status' ``restartCount`` (kube-state-metrics'
  ``kube_pod_container_status_restarts_total``: a counter whose source is the kubelet);
- ``orbit_hpa_{current,desired,min,max}_replicas{namespace, hpa}``
  (kube-state-metrics' ``kube_horizontalpodautoscaler_*``);
- ``orbit_nodepool_nodes{pool}``: nodes labelled ``orbit.dev/node-pool=<pool>``, and 0
  for known pools without a node;
- ``orbit_proxy_connections_total`` / ``orbit_proxy_active_connections``
  ``{namespace, service, port}``: from the service proxy's own counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final, Protocol

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from orbit.api import HorizontalPodAutoscaler, Node, Pod
from orbit.store import Store

__all__ = ["NODE_POOL_LABEL", "PHASES", "ConnectionCounts", "StateCollector"]

NODE_POOL_LABEL: Final = "orbit.dev/node-pool"
"""The label naming a node's pool (set by the node-pool autoscaler)."""

PHASES: Final = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
_FINISHED: Final = frozenset({"Succeeded", "Failed"})


class ConnectionCounts(Protocol):
    """What the collector reads of a service proxy (``orbit.net.ServiceProxy``)."""

    def connection_counts(self) -> Mapping[tuple[str, str, str], tuple[int, int]]:
        """(namespace, service, port) -> (connections accepted, open now)."""
        ...


Family = GaugeMetricFamily | CounterMetricFamily


def _families() -> dict[str, Family]:
    """Every family this collector yields, without samples."""
    hpa = ("namespace", "hpa")
    proxy = ("namespace", "service", "port")
    families: list[Family] = [
        GaugeMetricFamily(
            "orbit_pods", "Number of pods per namespace and phase.", labels=("namespace", "phase")
        ),
        GaugeMetricFamily(
            "orbit_scheduler_pending_pods",
            "Number of pods not bound to a node yet (neither finished nor being deleted).",
            labels=(),
        ),
        CounterMetricFamily(
            "orbit_pod_container_restarts",
            "Number of container restarts per container (its status' restartCount).",
            labels=("namespace", "pod", "container"),
        ),
        GaugeMetricFamily(
            "orbit_hpa_current_replicas",
            "Current number of replicas of the pods managed by this autoscaler.",
            labels=hpa,
        ),
        GaugeMetricFamily(
            "orbit_hpa_desired_replicas",
            "Desired number of replicas of the pods managed by this autoscaler.",
            labels=hpa,
        ),
        GaugeMetricFamily(
            "orbit_hpa_min_replicas",
            "Lower limit for the number of pods that can be set by the autoscaler.",
            labels=hpa,
        ),
        GaugeMetricFamily(
            "orbit_hpa_max_replicas",
            "Upper limit for the number of pods that can be set by the autoscaler.",
            labels=hpa,
        ),
        GaugeMetricFamily(
            "orbit_nodepool_nodes", "Number of nodes in each node pool.", labels=("pool",)
        ),
        CounterMetricFamily(
            "orbit_proxy_connections",
            "Number of connections the service proxy accepted per Service port.",
            labels=proxy,
        ),
        GaugeMetricFamily(
            "orbit_proxy_active_connections",
            "Number of connections open through the service proxy per Service port.",
            labels=proxy,
        ),
    ]
    return {family.name: family for family in families}


class StateCollector:
    """A prometheus_client collector over one cluster's store (module docstring).

    Args:
        store: the cluster's store, listed at every scrape.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.proxy: ConnectionCounts | None = None
        self.pools: Callable[[], Iterable[str]] | None = None

    def describe(self) -> Iterator[Metric]:
        """The families (no samples): lets the registry refuse duplicate names."""
        return iter(_families().values())

    def collect(self) -> Iterator[Metric]:
        """Fresh samples from the store as it is now."""
        families = _families()
        self._pods(families)
        self._hpas(families)
        self._pools(families)
        self._proxy(families)
        return iter(families.values())

    def _pods(self, families: dict[str, Family]) -> None:
        phases: Counter[tuple[str, str]] = Counter()
        namespaces: set[str] = set()
        pending = 0
        restarts = families["orbit_pod_container_restarts"]
        for pod in self.store.list(Pod).items:
            meta, status = pod.metadata, pod.status
            namespaces.add(meta.namespace)
            phases[meta.namespace, status.phase] += 1
            if (
                not pod.spec.node_name
                and meta.deletion_timestamp is None
                and status.phase not in _FINISHED
            ):
                pending += 1
            for container in status.container_statuses:
                labels = (meta.namespace, meta.name, container.name)
                _add(restarts, labels, container.restart_count)
        by_phase = families["orbit_pods"]
        for namespace in sorted(namespaces):
            for phase in PHASES:
                _add(by_phase, (namespace, phase), phases[namespace, phase])
        _add(families["orbit_scheduler_pending_pods"], (), pending)

    def _hpas(self, families: dict[str, Family]) -> None:
        for hpa in self.store.list(HorizontalPodAutoscaler).items:
            labels = (hpa.metadata.namespace, hpa.metadata.name)
            _add(families["orbit_hpa_current_replicas"], labels, hpa.status.current_replicas)
            _add(families["orbit_hpa_desired_replicas"], labels, hpa.status.desired_replicas)
            _add(families["orbit_hpa_min_replicas"], labels, hpa.spec.min_replicas)
            _add(families["orbit_hpa_max_replicas"], labels, hpa.spec.max_replicas)

    def _pools(self, families: dict[str, Family]) -> None:
        sizes: Counter[str] = Counter()
        for pool in self.pools() if self.pools is not None else ():
            sizes[pool] += 0
        for node in self.store.list(Node).items:
            label = node.metadata.labels.get(NODE_POOL_LABEL)
            if label:
                sizes[label] += 1
        for pool in sorted(sizes):
            _add(families["orbit_nodepool_nodes"], (pool,), sizes[pool])

    def _proxy(self, families: dict[str, Family]) -> None:
        if self.proxy is None:
            return
        counts = self.proxy.connection_counts()
        for labels in sorted(counts):
            accepted, active = counts[labels]
            _add(families["orbit_proxy_connections"], labels, accepted)
            _add(families["orbit_proxy_active_connections"], labels, active)


def _add(family: Family, labels: tuple[str, ...], value: float) -> None:
    family.add_metric(list(labels), value)
