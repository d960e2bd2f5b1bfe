"""Object / External metrics: which PromQL a metric runs, and instant queries against
a loopback server that answers like Prometheus' HTTP API."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from loopback_http import Request, api_response, closed_port, response, serve

from orbit.api import LabelSelector, LabelSelectorRequirement, MetricIdentifier
from orbit.autoscaling._http import MetricsError, parse_base_url
from orbit.autoscaling._promql import instant_query, parse_query_response, promql_for

# --- promql_for -------------------------------------------------------------------------


def _expr(key: str, operator: str, *values: str) -> LabelSelectorRequirement:
    return LabelSelectorRequirement(key=key, operator=operator, values=values)


def test_annotation_wins() -> None:
    metric = MetricIdentifier(name="queue", selector=LabelSelector(match_labels={"a": "b"}))
    notes = {"autoscaling.orbit.dev/promql.queue": ' sum(rate(jobs_total{q="x"}[1m])) '}
    assert promql_for(metric, notes) == 'sum(rate(jobs_total{q="x"}[1m]))'
    assert promql_for(metric, {"autoscaling.orbit.dev/promql.other": "1"}) == 'queue{a="b"}'


def test_plain_name_without_selector() -> None:
    assert promql_for(MetricIdentifier(name="queue_depth"), {}) == "queue_depth"
    empty = MetricIdentifier(name="job:rate5m", selector=LabelSelector())
    assert promql_for(empty, {}) == "job:rate5m"


def test_selector_renders_as_label_matchers() -> None:
    selector = LabelSelector(
        match_labels={"queue": "jobs", "env": "prod"},
        match_expressions=(
            _expr("region", "In", "eu-west.1", "us"),
            _expr("tier", "NotIn", "batch"),
            _expr("shard", "Exists"),
            _expr("canary", "DoesNotExist"),
        ),
    )
    query = promql_for(MetricIdentifier(name="queue_depth", selector=selector), {})
    assert query == (
        'queue_depth{env="prod",queue="jobs",region=~"eu-west\\\\.1|us",'
        'tier!~"batch",shard!="",canary=""}'
    )


def test_label_values_are_escaped() -> None:
    selector = LabelSelector(match_labels={"path": 'a"b\\c'})
    query = promql_for(MetricIdentifier(name="hits", selector=selector), {})
    assert query == 'hits{path="a\\"b\\\\c"}'


def test_expression_as_metric_name() -> None:
    name = "sum(rate(http_requests_total[1m]))"
    assert promql_for(MetricIdentifier(name=name), {}) == name
    with_selector = MetricIdentifier(name=name, selector=LabelSelector(match_labels={"a": "b"}))
    with pytest.raises(MetricsError, match="is not a Prometheus metric name"):
        promql_for(with_selector, {})


def test_label_keys_must_be_prometheus_label_names() -> None:
    selector = LabelSelector(match_labels={"app.kubernetes.io/name": "web"})
    with pytest.raises(MetricsError, match="is not a Prometheus label name"):
        promql_for(MetricIdentifier(name="hits", selector=selector), {})


# --- parse_query_response ---------------------------------------------------------------


def _vector(*values: str, at: float = 1700000000.5) -> bytes:
    result = [{"metric": {"i": str(i)}, "value": [at + i, v]} for i, v in enumerate(values)]
    return api_response({"status": "success", "data": {"resultType": "vector", "result": result}})


def _body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]


def test_vector_sums_each_series_milli_value() -> None:
    # each series truncated to milli first, as the HPA sums MilliValue()s
    assert parse_query_response(200, _body(_vector("1.0009", "2.0009")), "q") == (
        3000,
        1700000000.5,
    )
    assert parse_query_response(200, _body(_vector("42")), "q") == (42000, 1700000000.5)


def test_scalar() -> None:
    document = {"status": "success", "data": {"resultType": "scalar", "result": [17.0, "0.25"]}}
    assert parse_query_response(200, _body(api_response(document)), "q") == (250, 17.0)


def test_empty_vector_is_no_data() -> None:
    with pytest.raises(MetricsError) as caught:
        parse_query_response(200, _body(_vector()), 'up{job="x"}')
    assert str(caught.value) == 'query returned no data: up{job="x"}'


@pytest.mark.parametrize("raw", ["NaN", "+Inf", "-Inf"])
def test_non_finite_values(raw: str) -> None:
    with pytest.raises(MetricsError, match=f"non-finite value {re.escape(raw)}: q$"):
        parse_query_response(200, _body(_vector("1", raw)), "q")


def test_error_status_carries_prometheus_message() -> None:
    document = {
        "status": "error",
        "errorType": "bad_data",
        "error": 'invalid parameter "query": 1:5: parse error: unexpected end of input',
    }
    with pytest.raises(MetricsError) as caught:
        parse_query_response(400, _body(api_response(document, status=400)), "sum(")
    assert str(caught.value) == (
        'query failed (bad_data): invalid parameter "query": 1:5: parse error: '
        "unexpected end of input: sum("
    )


def test_other_result_types_and_non_json() -> None:
    matrix = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    with pytest.raises(MetricsError, match="query returned a matrix, not an instant vector"):
        parse_query_response(200, _body(api_response(matrix)), "up[5m]")
    with pytest.raises(MetricsError, match="Prometheus answered HTTP 502: '<html>bad gateway"):
        parse_query_response(502, b"<html>bad gateway</html>", "up")


@pytest.mark.parametrize(
    "document",
    [
        {"status": "success", "data": []},
        {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}},
        {"status": "success", "data": {"resultType": "vector", "result": {"a": 1}}},
        {"status": "success", "data": {"resultType": "scalar", "result": ["x", "1"]}},
        {"status": "success", "data": {"resultType": "scalar", "result": [1, "one"]}},
    ],
)
def test_malformed_api_answers(document: object) -> None:
    with pytest.raises(MetricsError, match="malformed"):
        parse_query_response(200, _body(api_response(document)), "q")


# --- instant_query over HTTP ------------------------------------------------------------


@pytest.mark.anyio
async def test_instant_query_sends_the_encoded_query() -> None:
    seen: list[dict[str, list[str]]] = []

    def answer(request: Request) -> bytes:
        parts = urlsplit(request.target)
        assert parts.path == "/prom/api/v1/query"
        seen.append(parse_qs(parts.query))
        return _vector("5", "1.5")

    async with serve(answer) as server:
        url = parse_base_url(f"http://127.0.0.1:{server.port}/prom/")
        query = 'sum(rate(http_requests_total{code=~"2..", path="/a b&c"}[1m]))'
        assert await instant_query(url, query, timeout_s=2) == (6500, 1700000000.5)
    assert seen == [{"query": [query], "timeout": ["2"]}]


@pytest.mark.anyio
async def test_instant_query_error_body_from_a_real_server() -> None:
    document = {"status": "error", "errorType": "execution", "error": "query timed out"}
    async with serve(lambda _: api_response(document, status=503)) as server:
        url = parse_base_url(f"http://127.0.0.1:{server.port}")
        with pytest.raises(
            MetricsError, match=r"^query failed \(execution\): query timed out: up$"
        ):
            await instant_query(url, "up", timeout_s=2)


@pytest.mark.anyio
async def test_instant_query_timeout_and_refused() -> None:
    async with serve(lambda _: None) as server:
        url = parse_base_url(f"http://127.0.0.1:{server.port}")
        with pytest.raises(MetricsError) as caught:
            await instant_query(url, "up", timeout_s=0.2)
    assert str(caught.value) == (
        f'Get "http://127.0.0.1:{server.port}/api/v1/query": timeout after 0.2s'
    )
    port = await closed_port()
    with pytest.raises(MetricsError, match=r"/api/v1/query\": dial tcp .*connection refused$"):
        await instant_query(parse_base_url(f"http://127.0.0.1:{port}"), "up", timeout_s=2)


@pytest.mark.anyio
async def test_instant_query_html_error_page() -> None:
    async with serve(lambda _: response("<h1>not found</h1>", status=404)) as server:
        url = parse_base_url(f"http://127.0.0.1:{server.port}")
        with pytest.raises(MetricsError, match="Prometheus answered HTTP 404"):
            await instant_query(url, "up", timeout_s=2)
