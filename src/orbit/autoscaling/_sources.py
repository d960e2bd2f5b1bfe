"""Where the HPA's numbers come from: the :class:`MetricsClient` protocol and orbit's
implementation of it, :class:`ClusterMetrics`.

Kubernetes' HPA reads three APIs: ``metrics.k8s.io`` (metrics-server: cpu and memory of
each pod), ``custom.metrics.k8s.io`` (Pods and Object metrics) and
``external.metrics.k8s.io``. orbit has no aggregated API server, so the controller talks
to one small protocol instead, and :class:`ClusterMetrics` answers it from:

- the node agents' usage readings (``Resource`` / ``ContainerResource``);
- each pod's own Prometheus endpoint (``Pods``, see :mod:`._scrape`);
- a Prometheus server's query API (``Object`` / ``External``, see :mod:`._promql`).

Tests of the controller pass a fake that implements the protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

import anyio

from orbit.api import LabelSelector, Pod, Selector, selector_from_label_selector
from orbit.clock import Clock, current_clock
from orbit.errors import ValidationError
from orbit.runtimes import Usage
from orbit.store import Store

from ._http import MetricsError, parse_base_url
from ._promql import instant_query
from ._replicas import Sample
from ._scrape import scrape_pod

__all__ = [
    "DEFAULT_WINDOW_S",
    "ClusterMetrics",
    "MetricsClient",
    "MetricsError",
    "UsageSource",
    "resource_milli",
]

_log = logging.getLogger(__name__)

UsageSource = Callable[[], Awaitable[Mapping[tuple[str, str], Mapping[str, Usage]]]]
"""The cluster's current usage: (namespace, pod) -> container name -> :class:`Usage`
(the node agents' ``usage()`` merged)."""

DEFAULT_WINDOW_S = 60.0
"""The window reported for a container's first usage reading, whose span is unknown
(metrics-server's historical ``--metric-resolution``)."""

_RESOURCES = ("cpu", "memory")
_REUSE_S = 1.0
_Key = tuple[str, str, str]  # (namespace, pod, container)
_MAX_CONCURRENT_SCRAPES = 32


class MetricsClient(Protocol):
    """What the HPA controller asks for. Values are milli-units (Kubernetes'
    ``MilliValue``); a pod absent from a result has no metric (the replica calculator
    decides what that means). Failures raise :class:`MetricsError`."""

    async def pod_resources(
        self, namespace: str, pods: Sequence[Pod], resource: str, container: str = ""
    ) -> dict[str, Sample]:
        """Pod name -> current use of ``resource`` (``cpu`` millicores, ``memory``
        milli-bytes) by the pod's containers, or by ``container`` only."""
        ...

    async def pod_metric(
        self, namespace: str, pods: Sequence[Pod], metric: str, selector: LabelSelector | None
    ) -> dict[str, Sample]:
        """Pod name -> value of ``metric`` (series matching ``selector``) of each pod."""
        ...

    async def query(self, promql: str) -> tuple[int, float]:
        """(value milli, timestamp) of a PromQL instant query."""
        ...


def resource_milli(resource: str, usage: Usage) -> int:
    """A container's use of ``resource`` in milli-units as the HPA reads
    metrics-server's: cpu cores become nanocores (``int64``) and then millicores rounded
    up (``Quantity.MilliValue``); memory bytes times 1000."""
    if resource == "cpu":
        nanocores = int(usage.cpu_cores * 1e9)
        return -(-nanocores // 1_000_000)
    if resource == "memory":
        return usage.memory_bytes * 1000
    raise MetricsError(f"resource {resource} is not measured (orbit measures cpu and memory)")


def _metric_selector(selector: LabelSelector | None) -> Selector:
    """An absent metric selector selects every series: Kubernetes compiles it to
    ``labels.Nothing()``, whose empty string form the metrics APIs read as no filter."""
    if selector is None:
        return Selector.everything()
    try:
        return selector_from_label_selector(selector)
    except ValidationError as exc:
        raise MetricsError(f"invalid metric selector: {exc}") from exc


class ClusterMetrics:
    """:class:`MetricsClient` over the cluster's usage readings, its pods' endpoints
    and an optional Prometheus server at ``prometheus_url`` (``http://host:port``,
    optionally with a path prefix). ``timeout_s`` bounds each scrape and each query.

    Resource samples: the timestamp is the reading's ``at``; the window is the time
    since this client's previous reading of the same container, which is the span the
    runtimes average cpu over ("since the previous sample") when the autoscaler is
    their only reader, and :data:`DEFAULT_WINDOW_S` for a first reading. Readings are
    reused for a second, so the metrics of one HPA sync (say cpu and memory) share one
    reading. Pods samples are instantaneous: window 0, timestamp the scrape's time.
    """

    def __init__(
        self,
        store: Store,
        *,
        usage: UsageSource,
        prometheus_url: str | None = None,
        timeout_s: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self._usage = usage
        self._server = parse_base_url(prometheus_url) if prometheus_url else None
        self.prometheus_url = prometheus_url
        self.timeout_s = timeout_s
        self._clock = clock or current_clock()
        self._limiter = anyio.CapacityLimiter(_MAX_CONCURRENT_SCRAPES)
        self._cache: tuple[float, dict[_Key, tuple[Usage, float]]] | None = None
        self._previous_at: dict[_Key, float] = {}
        self._reading = anyio.Lock()  # one reading at a time: the others share it

    # -- Resource ----------------------------------------------------------------------

    async def _readings(self) -> dict[_Key, tuple[Usage, float]]:
        """(namespace, pod, container) -> (usage, window), read at most once a second.
        Concurrent callers (the metrics of one HPA, several HPAs) wait for one reading
        and share it: two readings at one instant would make each other's window 0."""
        async with self._reading:
            return await self._read_or_reuse()

    async def _read_or_reuse(self) -> dict[_Key, tuple[Usage, float]]:
        cached = self._cache
        if cached is not None and self._clock.monotonic() - cached[0] < _REUSE_S:
            return cached[1]
        try:
            found = await self._usage()
        except MetricsError:
            raise
        except Exception as exc:
            raise MetricsError(f"unable to read resource usage: {exc}") from exc
        readings: dict[_Key, tuple[Usage, float]] = {}
        for (namespace, pod), containers in found.items():
            for name, usage in containers.items():
                key = (namespace, pod, name)
                previous = self._previous_at.get(key)
                window = usage.at - previous if previous is not None else DEFAULT_WINDOW_S
                readings[key] = (usage, window if window > 0 else DEFAULT_WINDOW_S)
        self._previous_at = {key: usage.at for key, (usage, _) in readings.items()}
        self._cache = (self._clock.monotonic(), readings)
        return readings

    async def pod_resources(
        self, namespace: str, pods: Sequence[Pod], resource: str, container: str = ""
    ) -> dict[str, Sample]:
        """Each pod's use of ``resource`` (cpu or memory), summed over its running
        containers, or of ``container`` only; a pod without a reading (or without that
        container) is missing, as in metrics-server's answer."""
        if resource not in _RESOURCES:
            raise MetricsError(
                f"resource {resource} is not measured (orbit measures cpu and memory)"
            )
        readings = await self._readings()
        by_pod: dict[str, list[tuple[Usage, float]]] = {}
        for (ns, pod, name), reading in readings.items():
            if ns == namespace and (not container or name == container):
                by_pod.setdefault(pod, []).append(reading)
        samples: dict[str, Sample] = {}
        for pod_object in pods:
            name = pod_object.metadata.name
            found = by_pod.get(name)
            if not found:
                continue
            samples[name] = Sample(
                value=sum(resource_milli(resource, usage) for usage, _ in found),
                timestamp=max(usage.at for usage, _ in found),
                window=max(window for _, window in found),
            )
        return samples

    # -- Pods --------------------------------------------------------------------------

    async def pod_metric(
        self, namespace: str, pods: Sequence[Pod], metric: str, selector: LabelSelector | None
    ) -> dict[str, Sample]:
        """Scrape every running pod at once (each within ``timeout_s``). A pod that
        fails or lacks the metric is missing; when no pod yields a value and some
        failed, the first failure is raised (it says more than "no metrics")."""
        series = _metric_selector(selector)
        samples: dict[str, Sample] = {}
        errors: list[str] = []

        async def scrape(pod: Pod) -> None:
            async with self._limiter:
                try:
                    value = await scrape_pod(pod, metric, series, timeout_s=self.timeout_s)
                except MetricsError as exc:
                    errors.append(str(exc))
                    _log.debug("scraping %s/%s: %s", namespace, pod.metadata.name, exc)
                    return
            if value is not None:
                samples[pod.metadata.name] = Sample(
                    value=value, timestamp=self._clock.now(), window=0.0
                )

        async with anyio.create_task_group() as group:
            for pod in pods:
                if pod.metadata.namespace == namespace and pod.status.phase == "Running":
                    group.start_soon(scrape, pod)
        if not samples and errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise MetricsError(f"unable to scrape metric {metric}: {errors[0]}{more}")
        return samples

    # -- Object / External -------------------------------------------------------------

    async def query(self, promql: str) -> tuple[int, float]:
        """Run ``promql`` on the configured Prometheus server."""
        if self._server is None:
            raise MetricsError("no Prometheus server configured (Cluster(prometheus_url=...))")
        return await instant_query(self._server, promql, timeout_s=self.timeout_s)
