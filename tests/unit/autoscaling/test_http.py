"""The autoscaler's HTTP/1.0 GET client against real loopback servers."""

from __future__ import annotations

import pytest
from loopback_http import closed_port, response, serve

from orbit.autoscaling._http import BaseUrl, MetricsError, http_get, parse_base_url

pytestmark = pytest.mark.anyio


async def test_get_sends_an_http10_request_and_reads_the_answer() -> None:
    async with serve(lambda _: response("hello", headers={"X-Thing": "1"})) as server:
        answer = await http_get(
            "127.0.0.1", server.port, "/metrics?x=1", timeout_s=2, headers={"accept": "text/plain"}
        )
    assert (answer.status, answer.reason, answer.body) == (200, "OK", b"hello")
    assert answer.headers["x-thing"] == "1"
    [request] = server.requests
    assert (request.method, request.target, request.version) == ("GET", "/metrics?x=1", "HTTP/1.0")
    assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert request.headers["accept"] == "text/plain"  # the caller's header replaced ours
    assert request.headers["connection"] == "close"


async def test_body_read_to_eof_without_content_length() -> None:
    body = "x" * 200_000
    async with serve(lambda _: response(body, length=False)) as server:
        answer = await http_get("127.0.0.1", server.port, "/", timeout_s=2)
    assert answer.body == body.encode()


async def test_content_length_bounds_the_body() -> None:
    raw = response("abc") + b"trailing junk"
    async with serve(lambda _: raw) as server:
        answer = await http_get("127.0.0.1", server.port, "/", timeout_s=2)
    assert answer.body == b"abc"


async def test_chunked_body_is_decoded() -> None:
    chunked = b"4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n"
    raw = response(chunked, length=False, headers={"Transfer-Encoding": "chunked"})
    async with serve(lambda _: raw) as server:
        answer = await http_get("127.0.0.1", server.port, "/", timeout_s=2)
    assert answer.body == b"abcdefg"


async def test_error_statuses_are_returned_not_raised() -> None:
    async with serve(lambda _: response("nope", status=404)) as server:
        answer = await http_get("127.0.0.1", server.port, "/x", timeout_s=2)
    assert (answer.status, answer.reason, answer.body) == (404, "Not Found", b"nope")


async def test_oversized_answer_is_an_error() -> None:
    async with serve(lambda _: response("y" * 5000)) as server:
        with pytest.raises(MetricsError, match="response larger than"):
            await http_get("127.0.0.1", server.port, "/big", timeout_s=2, max_body_bytes=1024)


async def test_connection_refused_reads_like_go() -> None:
    port = await closed_port()
    with pytest.raises(MetricsError) as caught:
        await http_get("127.0.0.1", port, "/api/v1/query?query=up", timeout_s=2)
    assert str(caught.value) == (
        f'Get "http://127.0.0.1:{port}/api/v1/query": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


async def test_server_that_never_answers_times_out() -> None:
    async with serve(lambda _: None) as server:
        with pytest.raises(MetricsError) as caught:
            await http_get("127.0.0.1", server.port, "/metrics", timeout_s=0.2)
    assert str(caught.value) == f'Get "http://127.0.0.1:{server.port}/metrics": timeout after 0.2s'


async def test_garbage_and_empty_answers_are_errors() -> None:
    async with serve(lambda _: b"SSH-2.0-OpenSSH\r\n\r\n") as server:
        with pytest.raises(MetricsError, match=r'malformed HTTP response "SSH-2\.0-OpenSSH"'):
            await http_get("127.0.0.1", server.port, "/", timeout_s=2)
    async with serve(lambda _: b"") as server:
        with pytest.raises(MetricsError, match=r"/\": EOF$"):
            await http_get("127.0.0.1", server.port, "/", timeout_s=2)


def test_parse_base_url() -> None:
    assert parse_base_url("http://127.0.0.1:9090") == BaseUrl("127.0.0.1", 9090, "")
    assert parse_base_url("http://prom.local/prefix/") == BaseUrl("prom.local", 80, "/prefix")
    assert parse_base_url("http://[::1]:9090") == BaseUrl("::1", 9090, "")
    server = parse_base_url("http://[::1]:9090/p")
    assert server.path("/api/v1/query") == "/p/api/v1/query"
    assert server.url("/api") == "http://[::1]:9090/p/api"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1:9090", "only http://"),
        ("127.0.0.1:9090", "only http://"),
        ("http://:9090", "has no host"),
        ("http://h:notaport", "invalid port"),
        ("http://h:9090/?q=1", "query or fragment"),
    ],
)
def test_parse_base_url_rejects(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_base_url(url)
