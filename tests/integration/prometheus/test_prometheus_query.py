"""Instant queries against a real Prometheus server scraping a real exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_harness import JOB, PrometheusServer

from orbit.autoscaling._promql import instant_query
from orbit.autoscaling._sources import ClusterMetrics, MetricsError
from orbit.runtimes import Usage
from orbit.store import MemoryStore

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class Exporter:
    """A prometheus-client exporter on loopback with one gauge the test sets."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.gauge = Gauge("work_queue_depth", "jobs waiting", ["queue"], registry=self.registry)
        self.server, self.thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.address = f"127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    running = Exporter()
    try:
        yield running
    finally:
        running.close()


async def _no_usage() -> dict[tuple[str, str], dict[str, Usage]]:
    return {}


async def test_query_returns_what_the_exporter_serves(
    prometheus: PrometheusServer, exporter: Exporter
) -> None:
    exporter.gauge.labels(queue="jobs").set(42.5)
    exporter.gauge.labels(queue="mail").set(1)
    prometheus.set_targets([exporter.address], {"team": "a"})
    query = f'work_queue_depth{{job="{JOB}",team="a",queue="jobs"}}'
    assert await prometheus.query_until_present(query) == 42500

    metrics = ClusterMetrics(MemoryStore(), usage=_no_usage, prometheus_url=prometheus.url)
    value, timestamp = await metrics.query(query)
    assert value == 42500
    assert timestamp > 1.7e9
    # a vector of several series: the HPA's sum
    total, _ = await metrics.query(f'work_queue_depth{{job="{JOB}"}}')
    assert total == 43500

    exporter.gauge.labels(queue="jobs").set(7)
    assert await prometheus.query_until(query, lambda v: v != 42500) == 7000


async def test_query_with_no_data_and_a_bad_query(prometheus: PrometheusServer) -> None:
    with pytest.raises(MetricsError) as caught:
        await instant_query(prometheus.base, "no_such_metric_anywhere", timeout_s=5)
    assert str(caught.value) == "query returned no data: no_such_metric_anywhere"
    with pytest.raises(MetricsError, match=r"^query failed \(bad_data\): .*parse error"):
        await instant_query(prometheus.base, "sum(", timeout_s=5)


async def test_stopped_prometheus_is_a_connection_error(prometheus: PrometheusServer) -> None:
    metrics = ClusterMetrics(MemoryStore(), usage=_no_usage, prometheus_url=prometheus.url)
    assert await metrics.query("vector(3)") == (3000, pytest.approx(1.7e9, rel=0.5))
    await prometheus.stop()
    with pytest.raises(MetricsError) as caught:
        await metrics.query("vector(3)")
    assert str(caught.value) == (
        f'Get "{prometheus.url}/api/v1/query": '
        f"dial tcp 127.0.0.1:{prometheus.port}: connect: connection refused"
    )
