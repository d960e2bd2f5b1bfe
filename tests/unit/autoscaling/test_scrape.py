"""Pods metrics: where a pod is scraped, which series count, and real scrapes of
exposition pages served on loopback by prometheus-client."""

from __future__ import annotations

import pytest
from loopback_http import closed_port, make_pod, response, serve
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from orbit.api import ContainerPort, LabelSelector, LabelSelectorRequirement, Pod, Selector
from orbit.autoscaling._http import MetricsError
from orbit.autoscaling._scrape import (
    ScrapeTarget,
    scrape_pod,
    scrape_target,
    select_value,
    to_milli,
)

ALL = Selector.everything()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    queue = Gauge("queue_depth", "jobs waiting", ["queue", "shard"], registry=registry)
    queue.labels(queue="jobs", shard="a").set(3)
    queue.labels(queue="jobs", shard="b").set(4.25)
    queue.labels(queue="mail", shard="a").set(100)
    requests = Counter("http_requests", "requests served", ["code"], registry=registry)
    requests.labels(code="200").inc(7)
    requests.labels(code="500").inc(2)
    Gauge("in_flight", "requests in flight", registry=registry).set(1.5)
    return registry


PAGE = generate_latest(_registry()).decode()


# --- where to scrape ------------------------------------------------------------------


def test_port_annotation_number_finds_the_named_port() -> None:
    pod = make_pod(
        ports=(
            ContainerPort(name="http", container_port=8080),
            ContainerPort(name="metrics", container_port=9100),
        ),
        published={"http": "127.0.0.1:41000", "metrics": "127.0.0.1:41001"},
        annotations={"prometheus.io/port": "9100", "prometheus.io/path": "stats"},
    )
    assert scrape_target(pod) == ScrapeTarget("127.0.0.1", 41001, "/stats")


def test_without_annotations_the_first_declared_port_and_default_path() -> None:
    pod = make_pod(
        ports=(ContainerPort(container_port=8080), ContainerPort(name="m", container_port=9100)),
        published={"8080": "127.0.0.1:41000", "m": "127.0.0.1:41001"},
    )
    target = scrape_target(pod)
    assert target == ScrapeTarget("127.0.0.1", 41000, "/metrics")
    assert target.url == "http://127.0.0.1:41000/metrics"


def test_port_annotation_may_name_the_port() -> None:
    pod = make_pod(
        ports=(ContainerPort(name="http", container_port=80), ContainerPort(container_port=9100)),
        published={"http": "10.0.0.5:41000", "9100": "10.0.0.5:41001"},
        annotations={"prometheus.io/port": "http", "prometheus.io/scheme": "HTTP"},
    )
    assert scrape_target(pod) == ScrapeTarget("10.0.0.5", 41000, "/metrics")


def test_host_falls_back_to_host_ip_then_loopback() -> None:
    ports = (ContainerPort(container_port=9100),)
    on_node = make_pod(ports=ports, published={"9100": ":41001"}, host_ip="192.168.1.20")
    assert scrape_target(on_node).host == "192.168.1.20"
    anywhere = make_pod(ports=ports, published={"9100": ":41001"})
    assert scrape_target(anywhere).host == "127.0.0.1"


@pytest.mark.parametrize(
    ("pod", "problem"),
    [
        (
            make_pod(annotations={"prometheus.io/scheme": "https"}),
            'pod default/web-1: prometheus.io/scheme "https" is not supported (only http)',
        ),
        (
            make_pod(annotations={"prometheus.io/port": "9999"}, published={}),
            "pod default/web-1: prometheus.io/port 9999 is not a declared container port",
        ),
        (make_pod(ports=()), "pod default/web-1 declares no container port to scrape"),
        (
            make_pod(published={"other": "127.0.0.1:1"}),
            'pod default/web-1: port "metrics" has no host port yet (orbit.dev/ports)',
        ),
    ],
)
def test_unscrapable_pods(pod: Pod, problem: str) -> None:
    with pytest.raises(MetricsError) as caught:
        scrape_target(pod)
    assert str(caught.value) == problem


# --- which series count ---------------------------------------------------------------


def test_series_matching_the_selector_are_summed() -> None:
    jobs = LabelSelector(match_labels={"queue": "jobs"}).to_selector()
    assert select_value(PAGE, "queue_depth", jobs) == 7.25
    assert select_value(PAGE, "queue_depth", ALL) == 107.25
    shard_a = LabelSelector(
        match_expressions=(LabelSelectorRequirement(key="shard", operator="In", values=("a",)),)
    ).to_selector()
    assert select_value(PAGE, "queue_depth", shard_a) == 103
    not_mail = LabelSelector(
        match_expressions=(
            LabelSelectorRequirement(key="queue", operator="NotIn", values=("mail",)),
        )
    ).to_selector()
    assert select_value(PAGE, "queue_depth", not_mail) == 7.25


def test_no_matching_series_is_none() -> None:
    assert select_value(PAGE, "no_such_metric", ALL) is None
    nobody = LabelSelector(match_labels={"queue": "sms"}).to_selector()
    assert select_value(PAGE, "queue_depth", nobody) is None
    no_key = LabelSelector(
        match_expressions=(LabelSelectorRequirement(key="region", operator="Exists"),)
    ).to_selector()
    assert select_value(PAGE, "queue_depth", no_key) is None


def test_counters_by_family_name_or_sample_name() -> None:
    ok = LabelSelector(match_labels={"code": "200"}).to_selector()
    assert select_value(PAGE, "http_requests", ok) == 7
    assert select_value(PAGE, "http_requests_total", ALL) == 9
    # the parser's other counter samples are not the counter's value
    assert select_value(PAGE, "http_requests", ALL) == 9


def test_old_style_counter_without_total_suffix() -> None:
    page = "# TYPE hits counter\nhits 12\n"
    assert select_value(page, "hits", ALL) == 12
    assert select_value(page, "hits_total", ALL) == 12


def test_histogram_samples_are_named_exactly() -> None:
    page = (
        "# TYPE latency histogram\n"
        'latency_bucket{le="1"} 1\nlatency_bucket{le="+Inf"} 3\n'
        "latency_sum 4.5\nlatency_count 3\n"
    )
    assert select_value(page, "latency", ALL) is None
    assert select_value(page, "latency_count", ALL) == 3


def test_openmetrics_pages_are_parsed_too() -> None:
    page = generate_openmetrics(_registry()).decode()
    assert page.rstrip().endswith("# EOF")
    value = select_value(
        page, "in_flight", ALL, content_type="application/openmetrics-text; version=1.0.0"
    )
    assert value == 1.5


def test_unparsable_page_is_an_error() -> None:
    with pytest.raises(MetricsError, match="cannot parse the metrics page"):
        select_value("queue_depth{queue= 3\n", "queue_depth", ALL)


@pytest.mark.parametrize(
    ("value", "milli"),
    [(0.1234, 123), (2.0005, 2000), (-1.5, -1500), (1e-4, 0), (250.0, 250_000)],
)
def test_to_milli_truncates_like_int64(value: float, milli: int) -> None:
    assert to_milli(value) == milli


# --- real scrapes -----------------------------------------------------------------------


def _pod_on(port: int, annotations: dict[str, str] | None = None) -> Pod:
    return make_pod(published={"metrics": f"127.0.0.1:{port}"}, annotations=annotations)


@pytest.mark.anyio
async def test_scrape_reads_the_pods_page() -> None:
    async with serve(lambda _: response(PAGE)) as server:
        pod = _pod_on(server.port, annotations={"prometheus.io/path": "/custom"})
        jobs = LabelSelector(match_labels={"queue": "jobs"}).to_selector()
        value = await scrape_pod(pod, "queue_depth", jobs, timeout_s=2)
    assert value == 7250
    [request] = server.requests
    assert request.target == "/custom"
    assert request.headers["accept"].startswith("text/plain;version=0.0.4")


@pytest.mark.anyio
async def test_scrape_of_a_missing_metric_or_nan_is_none() -> None:
    page = PAGE + "# TYPE broken gauge\nbroken NaN\n"
    async with serve(lambda _: response(page)) as server:
        pod = _pod_on(server.port)
        assert await scrape_pod(pod, "nothing_here", ALL, timeout_s=2) is None
        assert await scrape_pod(pod, "broken", ALL, timeout_s=2) is None


@pytest.mark.anyio
async def test_scrape_error_status() -> None:
    async with serve(lambda _: response("boom", status=500)) as server:
        pod = _pod_on(server.port)
        with pytest.raises(MetricsError) as caught:
            await scrape_pod(pod, "in_flight", ALL, timeout_s=2)
    assert str(caught.value) == (
        f'Get "http://127.0.0.1:{server.port}/metrics": '
        "server returned HTTP status 500 Internal Server Error"
    )


@pytest.mark.anyio
async def test_scrape_of_garbage_names_the_url() -> None:
    async with serve(lambda _: response("{{{ not metrics")) as server:
        pod = _pod_on(server.port)
        with pytest.raises(MetricsError, match=rf"^http://127.0.0.1:{server.port}/metrics: cannot"):
            await scrape_pod(pod, "in_flight", ALL, timeout_s=2)


@pytest.mark.anyio
async def test_scrape_timeout_and_refused() -> None:
    async with serve(lambda _: None) as server:
        pod = _pod_on(server.port)
        with pytest.raises(MetricsError, match=r"timeout after 0\.2s$"):
            await scrape_pod(pod, "in_flight", ALL, timeout_s=0.2)
    port = await closed_port()
    with pytest.raises(MetricsError, match=r"connect: connection refused$"):
        await scrape_pod(_pod_on(port), "in_flight", ALL, timeout_s=2)
