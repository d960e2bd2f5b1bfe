"""ClusterMetrics: resource samples from usage readings, pod metrics scraped from real
loopback endpoints, and queries without a Prometheus server."""

from __future__ import annotations

from collections.abc import Mapping

import anyio
import anyio.lowlevel
import pytest
from loopback_http import closed_port, make_pod, response, serve

from orbit.api import LabelSelector, LabelSelectorRequirement, Pod
from orbit.autoscaling._replicas import Sample
from orbit.autoscaling._sources import DEFAULT_WINDOW_S, ClusterMetrics, MetricsError
from orbit.clock import ManualClock
from orbit.runtimes import Usage
from orbit.store import MemoryStore

pytestmark = pytest.mark.anyio

Readings = dict[tuple[str, str], dict[str, Usage]]


class FakeUsage:
    """The cluster's usage callable, returning what the test sets and counting calls."""

    def __init__(self, readings: Readings) -> None:
        self.readings = readings
        self.calls = 0

    async def __call__(self) -> Mapping[tuple[str, str], Mapping[str, Usage]]:
        self.calls += 1
        return self.readings


def _metrics(
    usage: FakeUsage,
    clock: ManualClock,
    *,
    prometheus_url: str | None = None,
    timeout_s: float = 5.0,
) -> ClusterMetrics:
    return ClusterMetrics(
        MemoryStore(clock=clock),
        usage=usage,
        prometheus_url=prometheus_url,
        timeout_s=timeout_s,
        clock=clock,
    )


def _use(cpu: float, memory: int, at: float) -> Usage:
    return Usage(cpu_cores=cpu, memory_bytes=memory, at=at)


# --- Resource -----------------------------------------------------------------------------


async def test_pod_resources_sum_containers_in_milli_units() -> None:
    clock = ManualClock()
    t = clock.now()
    usage = FakeUsage(
        {
            ("default", "web-1"): {"app": _use(0.25, 100, t), "sidecar": _use(0.0001, 28, t - 2)},
            ("default", "web-2"): {"app": _use(0.5, 200, t)},
            ("other", "web-3"): {"app": _use(9.0, 999, t)},
        }
    )
    metrics = _metrics(usage, clock)
    pods = [make_pod("web-1"), make_pod("web-2"), make_pod("web-3"), make_pod("web-4")]
    cpu = await metrics.pod_resources("default", pods, "cpu")
    # 0.0001 cores = 100000 nanocores: rounded up to 1 millicore, as MilliValue() does
    assert cpu == {
        "web-1": Sample(value=251, timestamp=t, window=DEFAULT_WINDOW_S),
        "web-2": Sample(value=500, timestamp=t, window=DEFAULT_WINDOW_S),
    }
    memory = await metrics.pod_resources("default", pods, "memory")
    assert {name: s.value for name, s in memory.items()} == {"web-1": 128_000, "web-2": 200_000}


async def test_container_resource_reads_one_container() -> None:
    clock = ManualClock()
    t = clock.now()
    usage = FakeUsage(
        {
            ("default", "web-1"): {"app": _use(0.25, 100, t), "sidecar": _use(0.1, 28, t)},
            ("default", "web-2"): {"sidecar": _use(0.5, 200, t)},
        }
    )
    metrics = _metrics(usage, clock)
    found = await metrics.pod_resources(
        "default", [make_pod("web-1"), make_pod("web-2")], "cpu", "app"
    )
    assert {name: s.value for name, s in found.items()} == {"web-1": 250}  # web-2 has no "app"


async def test_window_is_the_time_since_the_previous_reading() -> None:
    clock = ManualClock()
    t = clock.now()
    usage = FakeUsage({("default", "web-1"): {"app": _use(0.25, 100, t)}})
    metrics = _metrics(usage, clock)
    pods = [make_pod("web-1")]
    first = await metrics.pod_resources("default", pods, "cpu")
    # within a second the same reading serves (one HPA sync reading cpu and memory)
    await metrics.pod_resources("default", pods, "memory")
    assert usage.calls == 1
    await clock.sleep(15)
    usage.readings = {("default", "web-1"): {"app": _use(0.75, 100, t + 15)}}
    second = await metrics.pod_resources("default", pods, "cpu")
    assert usage.calls == 2
    assert first["web-1"].window == DEFAULT_WINDOW_S
    assert second["web-1"] == Sample(value=750, timestamp=t + 15, window=15.0)


class SlowUsage(FakeUsage):
    """A usage read that yields to the loop (as reading many containers does)."""

    async def __call__(self) -> Mapping[tuple[str, str], Mapping[str, Usage]]:
        await anyio.lowlevel.checkpoint()
        return await super().__call__()


async def test_concurrent_callers_share_one_reading() -> None:
    """The cpu and memory metrics of one HPA sync (and other HPAs) ask at once: one
    reading serves them all, so none sees a zero-length window from its twin."""
    clock = ManualClock()
    t = clock.now()
    usage = SlowUsage({("default", "web-1"): {"app": _use(0.25, 100, t)}})
    metrics = _metrics(usage, clock)
    pods = [make_pod("web-1")]
    await metrics.pod_resources("default", pods, "cpu")
    await clock.sleep(15)
    usage.readings = {("default", "web-1"): {"app": _use(0.5, 100, t + 15)}}
    found: list[Sample] = []

    async def ask(resource: str) -> None:
        found.append((await metrics.pod_resources("default", pods, resource))["web-1"])

    async with anyio.create_task_group() as group:
        for resource in ("cpu", "memory", "cpu"):
            group.start_soon(ask, resource)
    assert usage.calls == 2
    assert [sample.window for sample in found] == [15.0, 15.0, 15.0]


async def test_unknown_resource_and_failing_usage() -> None:
    clock = ManualClock()
    metrics = _metrics(FakeUsage({}), clock)
    with pytest.raises(MetricsError, match=r"resource nvidia\.com/gpu is not measured"):
        await metrics.pod_resources("default", [make_pod()], "nvidia.com/gpu")

    async def broken() -> Mapping[tuple[str, str], Mapping[str, Usage]]:
        raise RuntimeError("node n1 is gone")

    failing = ClusterMetrics(MemoryStore(clock=clock), usage=broken, clock=clock)
    with pytest.raises(MetricsError, match="unable to read resource usage: node n1 is gone"):
        await failing.pod_resources("default", [make_pod()], "cpu")


# --- Pods -------------------------------------------------------------------------------------

PAGE = (
    "# TYPE queue_depth gauge\n"
    'queue_depth{queue="jobs"} 3\n'
    'queue_depth{queue="mail"} 4\n'
    'queue_depth{queue="sms"} 0.5\n'
)


def _on(name: str, port: int, phase: str = "Running") -> Pod:
    return make_pod(name, phase=phase, published={"metrics": f"127.0.0.1:{port}"})


async def test_pod_metric_scrapes_running_pods() -> None:
    clock = ManualClock()
    metrics = _metrics(FakeUsage({}), clock, timeout_s=2)
    async with (
        serve(lambda _: response(PAGE)) as full,
        serve(lambda _: response("# TYPE other gauge\nother 1\n")) as empty,
        serve(lambda _: response(PAGE)) as pending,
    ):
        pods = [
            _on("web-1", full.port),
            _on("web-2", empty.port),
            _on("web-3", pending.port, "Pending"),
        ]
        selector = LabelSelector(
            match_expressions=(
                LabelSelectorRequirement(key="queue", operator="In", values=("jobs", "sms")),
            )
        )
        found = await metrics.pod_metric("default", pods, "queue_depth", selector)
        everything = await metrics.pod_metric("default", pods, "queue_depth", None)
    assert found == {"web-1": Sample(value=3500, timestamp=clock.now(), window=0.0)}
    assert everything["web-1"].value == 7500
    assert len(pending.requests) == 0  # a Pending pod is not scraped
    assert len(empty.requests) == 2  # scraped; lacking the metric, it is missing


async def test_pod_metric_partial_failures_leave_pods_missing() -> None:
    clock = ManualClock()
    metrics = _metrics(FakeUsage({}), clock, timeout_s=0.2)
    down = await closed_port()
    async with serve(lambda _: response(PAGE)) as up, serve(lambda _: None) as hung:
        pods = [_on("web-1", up.port), _on("web-2", down), _on("web-3", hung.port)]
        found = await metrics.pod_metric("default", pods, "queue_depth", None)
    assert set(found) == {"web-1"}


async def test_pod_metric_raises_when_every_scrape_fails() -> None:
    clock = ManualClock()
    metrics = _metrics(FakeUsage({}), clock, timeout_s=2)
    down = await closed_port()
    async with serve(lambda _: response("oops", status=500)) as broken:
        pods = [_on("web-1", down), _on("web-2", broken.port)]
        with pytest.raises(MetricsError) as caught:
            await metrics.pod_metric("default", pods, "queue_depth", None)
    message = str(caught.value)
    assert message.startswith('unable to scrape metric queue_depth: Get "http://127.0.0.1:')
    assert message.endswith("(and 1 more)")


async def test_pod_metric_without_the_metric_anywhere_is_empty() -> None:
    clock = ManualClock()
    metrics = _metrics(FakeUsage({}), clock, timeout_s=2)
    async with serve(lambda _: response(PAGE)) as server:
        found = await metrics.pod_metric("default", [_on("web-1", server.port)], "absent", None)
    assert found == {}


async def test_pod_metric_invalid_selector() -> None:
    metrics = _metrics(FakeUsage({}), ManualClock())
    bad = LabelSelector(match_expressions=(LabelSelectorRequirement(key="q", operator="In"),))
    with pytest.raises(MetricsError, match="invalid metric selector"):
        await metrics.pod_metric("default", [make_pod()], "queue_depth", bad)


# --- Object / External --------------------------------------------------------------------


async def test_query_without_a_server() -> None:
    metrics = _metrics(FakeUsage({}), ManualClock())
    with pytest.raises(MetricsError) as caught:
        await metrics.query("up")
    assert str(caught.value) == "no Prometheus server configured (Cluster(prometheus_url=...))"


async def test_query_with_a_server_that_is_down() -> None:
    port = await closed_port()
    metrics = _metrics(FakeUsage({}), ManualClock(), prometheus_url=f"http://127.0.0.1:{port}")
    with pytest.raises(MetricsError, match="connection refused"):
        await metrics.query("up")


def test_bad_prometheus_url_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="only http://"):
        _metrics(FakeUsage({}), ManualClock(), prometheus_url="https://prom:9090")
